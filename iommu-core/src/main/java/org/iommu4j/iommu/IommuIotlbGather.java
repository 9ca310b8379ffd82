package org.iommu4j.iommu;

import org.iommu4j.base.Port;

/**
 * {@code struct iommu_iotlb_gather}: the range of IOVAs whose invalidation is deferred to
 * {@code iotlb_sync}. {@code start}/{@code end} are unsigned; {@code end} is inclusive (v5.11+).
 * An empty gather has {@code start == ULONG_MAX}, {@code end == 0}.
 */
@Port("include/linux/iommu.h:iommu_iotlb_gather")
public final class IommuIotlbGather {
    public long start = -1L;
    public long end;
    public long pgsize;
    /** Page-table pages freed by unmap, to release after the flush (v5.15 freelist). */
    public long freelist;
    /** True when the IOVA is queued for lazy flush (flush queue); drivers skip the sync. */
    public boolean queued;

    public IommuIotlbGather() {}

    /** {@code iommu_iotlb_gather_init}. */
    @Port("include/linux/iommu.h:iommu_iotlb_gather_init")
    public void iommuIotlbGatherInit() {
        start = -1L;
        end = 0;
        pgsize = 0;
        freelist = 0;
        queued = false;
    }

    @Override
    public String toString() {
        return String.format("gather{start=0x%x end=0x%x pgsize=0x%x}", start, end, pgsize);
    }
}
