package org.iommu4j.smmuv3;

import org.iommu4j.base.Port;

/** struct arm_smmu_cmdq_batch: up to CMDQ_BATCH_ENTRIES raw commands submitted together. */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_cmdq_batch")
public final class ArmSmmuCmdqBatch {
    public final long[] cmds = new long[ArmSmmuV3H.CMDQ_BATCH_ENTRIES * ArmSmmuV3H.CMDQ_ENT_DWORDS];
    public int num;
}
