package org.iommu4j.smmuv3;

import org.iommu4j.base.Port;

/** struct arm_smmu_ctx_desc_cfg: a CD table, linear or 64K_L2 (L1 descriptors to 1024-CD leaves). */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_ctx_desc_cfg")
public final class ArmSmmuCtxDescCfg {
    /** struct arm_smmu_l1_ctx_desc. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_l1_ctx_desc")
    public static final class L1CtxDesc {
        public long l2ptr;
        public long l2ptrDma;
    }

    public long cdtab;
    public long cdtabDma;
    /** Bytes allocated for cdtab (so it can be freed). */
    public long cdtabSize;
    public L1CtxDesc[] l1Desc;
    public int numL1Ents;
}
