package org.iommu4j.iommu;

import org.iommu4j.base.Port;

/**
 * {@code struct iommu_fwspec}: per-device firmware description of how the device reaches its
 * IOMMU (filled by of_iommu from {@code iommus}/{@code iommu-map}).
 */
@Port("include/linux/iommu.h:iommu_fwspec")
public final class IommuFwspec {
    public IommuOps ops;
    public Object iommuFwnode;
    /** IOMMU_FWSPEC_* flags. */
    public int flags;
    /** Seed 000: SubstreamID width for platform devices ({@code pasid-num-bits}). */
    @Port(value = "include/linux/iommu.h:iommu_fwspec.num_pasid_bits", seed = "000")
    public int numPasidBits;
    /** Seed 004: {@code dma-can-stall}. */
    @Port(value = "include/linux/iommu.h:iommu_fwspec.can_stall", seed = "004")
    public boolean canStall;
    public int numIds;
    /** IDs (StreamIDs); length >= numIds. */
    public int[] ids = new int[0];

    IommuFwspec() {}
}
