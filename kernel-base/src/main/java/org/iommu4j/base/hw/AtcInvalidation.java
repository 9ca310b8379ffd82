package org.iommu4j.base.hw;

/**
 * An ATS Invalidate Request (PCIe r5 10.3.1) to a device's ATC: the untranslated range
 * [addr, addr + size) for PASID {@code pasid} (or all PASIDs if {@code !pasidValid}); {@code
 * global} also drops global-bit entries of every PASID.
 */
public record AtcInvalidation(int sid, int pasid, boolean pasidValid, long addr, long size, boolean global) {
    /** The whole address space. */
    public boolean all() {
        return size == 0 || size == -1L;
    }
}
