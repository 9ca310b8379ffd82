package org.iommu4j.smmuv3;

import org.iommu4j.base.Port;

/** struct arm_smmu_strtab_cfg (v5.15 shape): linear or 2-level stream table. */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_strtab_cfg")
public final class ArmSmmuStrtabCfg {
    /** struct arm_smmu_strtab_l1_desc: a lazily allocated level-2 table of 256 STEs. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_strtab_l1_desc")
    public static final class L1Desc {
        public int span;
        /** Virtual (== physical) address of the L2 table, 0 if not allocated yet. */
        public long l2ptr;
        public long l2ptrDma;
    }

    public long strtab;
    public long strtabDma;
    public L1Desc[] l1Desc;
    public int numL1Ents;
    public long strtabBase;
    public int strtabBaseCfg;
}
