package org.iommu4j.iommu.pgtable;

import org.iommu4j.base.Port;
import org.iommu4j.iommu.IommuIotlbGather;

/**
 * {@code struct iommu_flush_ops} (include/linux/io-pgtable.h, v5.15: no tlb_flush_leaf): the
 * driver's TLB maintenance callbacks, called by the page-table code with the driver's cookie.
 * {@code tlb_flush_all} is mandatory; {@code tlb_flush_walk} and {@code tlb_add_page} may be
 * absent ({@code io_pgtable_tlb_*} wrappers NULL-check them).
 */
@Port("include/linux/io-pgtable.h:iommu_flush_ops")
public interface IommuFlushOps {
    /** Invalidates everything the TLB holds for this context, and waits. */
    void tlbFlushAll(Object cookie);

    /** Invalidates cached table walks (non-leaf entries) for the range, and waits; used when tables under the range are freed. */
    default void tlbFlushWalk(long iova, long size, long granule, Object cookie) {}

    default boolean hasTlbFlushWalk() {
        return false;
    }

    /** Optional: adds one leaf page to the pending invalidation, completed later by the driver's sync. */
    default void tlbAddPage(IommuIotlbGather gather, long iova, long granule, Object cookie) {}

    default boolean hasTlbAddPage() {
        return false;
    }
}
