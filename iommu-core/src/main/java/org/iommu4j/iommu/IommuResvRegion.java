package org.iommu4j.iommu;

import org.iommu4j.base.Port;

/** {@code struct iommu_resv_region}: a reserved IOVA range reported by the driver. */
@Port("include/linux/iommu.h:iommu_resv_region")
public final class IommuResvRegion {
    public final long start;
    public final long length;
    public final int prot;
    /** IOMMU_RESV_*. */
    public final int type;

    public IommuResvRegion(long start, long length, int prot, int type) {
        this.start = start;
        this.length = length;
        this.prot = prot;
        this.type = type;
    }

    /** {@code iommu_alloc_resv_region}. */
    @Port("drivers/iommu/iommu.c:iommu_alloc_resv_region")
    public static IommuResvRegion iommuAllocResvRegion(long start, long length, int prot, int type) {
        return new IommuResvRegion(start, length, prot, type);
    }
}
