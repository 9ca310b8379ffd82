package org.iommu4j.smmuv3;

import org.iommu4j.base.Port;

/** struct arm_smmu_stream: one StreamID of a master, indexed in the SMMU's streams tree. */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_stream")
public final class ArmSmmuStream {
    public int id;
    public ArmSmmuMaster master;
}
