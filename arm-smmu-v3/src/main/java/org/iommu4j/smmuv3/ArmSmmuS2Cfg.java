package org.iommu4j.smmuv3;

import org.iommu4j.base.Port;

/** struct arm_smmu_s2_cfg. */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_s2_cfg")
public final class ArmSmmuS2Cfg {
    public int vmid;
    public long vttbr;
    public long vtcr;
}
