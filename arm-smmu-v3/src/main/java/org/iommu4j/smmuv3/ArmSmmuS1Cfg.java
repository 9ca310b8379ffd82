package org.iommu4j.smmuv3;

import org.iommu4j.base.Port;

/** struct arm_smmu_s1_cfg. */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_s1_cfg")
public final class ArmSmmuS1Cfg {
    public final ArmSmmuCtxDescCfg cdcfg = new ArmSmmuCtxDescCfg();
    public ArmSmmuCtxDesc cd = new ArmSmmuCtxDesc();
    public int s1fmt;
    public int s1cdmax;
}
