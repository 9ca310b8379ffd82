package org.iommu4j.sva;

import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;
import org.iommu4j.mm.Mm;

/**
 * Seed 004 {@code struct io_mm_ops} (v5): what an IOMMU driver does for the SVA library's
 * address spaces ({@code io_mm}). Every member is required.
 */
@Port(value = "include/linux/iommu.h:io_mm_ops", seed = "004")
public interface IoMmOps {
    /**
     * The driver's context for {@code mm} (its shared context descriptor); may sleep.
     *
     * @throws ErrnoException the driver's error
     */
    Object alloc(Mm mm);

    /**
     * Binds the device to {@code pasid}; {@code attach_domain} is true for the first device of
     * its domain, the one that must write the PASID table entry. 0 or -errno.
     */
    int attach(Device dev, int pasid, Object ctx, boolean attachDomain);

    /** The CPU changed [vaddr, vaddr + size): invalidate the device's TLB entries. Atomic. */
    void invalidate(Device dev, int pasid, Object ctx, long vaddr, long size);

    /**
     * The mm is exiting while bound: stop translating for the PASID, invalidate, but keep the
     * entry valid so the device's accesses (and their faults) are silently aborted.
     */
    void clear(Device dev, int pasid, Object ctx);

    /**
     * Unbinds the device; {@code detach_domain} for the last device of its domain (clear the PASID
     * table entry); {@code cleared} if {@link #clear} already invalidated.
     */
    void detach(Device dev, int pasid, Object ctx, boolean detachDomain, boolean cleared);

    /** Frees the context, after the last unbind. Atomic. */
    void free(Object ctx);
}
