package org.iommu4j.ioasid;

import org.iommu4j.base.Port;

/**
 * {@code struct ioasid_allocator_ops}: a custom IOASID allocator (e.g. a paravirtual one that asks
 * the host for PASIDs). Two ops objects whose {@link #alloc} and {@link #free} are the same
 * function objects "use the same ops" and share one IOASID space, as the kernel compares the
 * function pointers.
 *
 * <p>Both functions are called with {@code ioasid_allocator_lock} held (atomic context in the
 * kernel): they must not block and must not call back into the allocator.
 */
@Port("include/linux/ioasid.h:ioasid_allocator_ops")
public final class IoasidAllocatorOps {
    /** {@code alloc}: an ID in [min, max] (inclusive, unsigned) or INVALID_IOASID. */
    @FunctionalInterface
    public interface AllocFn {
        int alloc(int min, int max, Object pdata);
    }

    /** {@code free}: return the ID to the allocator. */
    @FunctionalInterface
    public interface FreeFn {
        void free(int ioasid, Object pdata);
    }

    public final AllocFn alloc;
    public final FreeFn free;
    /** Private data handed to both functions. */
    public final Object pdata;

    public IoasidAllocatorOps(AllocFn alloc, FreeFn free, Object pdata) {
        if (alloc == null || free == null) {
            throw new IllegalArgumentException("alloc and free are mandatory");
        }
        this.alloc = alloc;
        this.free = free;
        this.pdata = pdata;
    }
}
