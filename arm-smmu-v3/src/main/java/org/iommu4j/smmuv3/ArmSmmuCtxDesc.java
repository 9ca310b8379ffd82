package org.iommu4j.smmuv3;

import org.iommu4j.base.Port;
import org.iommu4j.base.Refcount;

/** struct arm_smmu_ctx_desc: what a CD encodes (ASID, TTB0, TCR, MAIR), refcounted per ASID. */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_ctx_desc")
public final class ArmSmmuCtxDesc {
    public int asid;
    public long ttbr;
    public long tcr;
    public long mair;
    public final Refcount refs = new Refcount(1);
    /** The mm of a shared (SVA) CD; null for a domain's private CD. */
    public Object mm;
    /**
     * The domain whose {@code s1_cfg.cd} this is ({@code container_of} in the kernel); null for a
     * shared CD.
     */
    public ArmSmmuDomain domain;
}
