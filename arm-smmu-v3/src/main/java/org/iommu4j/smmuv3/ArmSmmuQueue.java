package org.iommu4j.smmuv3;

import org.iommu4j.base.Port;

/** struct arm_smmu_queue: one of the three in-memory queues and its PROD/CONS registers. */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_queue")
public final class ArmSmmuQueue {
    public final ArmSmmuLlQueue llq = new ArmSmmuLlQueue();
    /** Wired interrupt (virq), 0 if none. */
    public int irq;
    /** Kernel virtual address of the entries (== physical: the linear map is the identity). */
    public long base;
    public long baseDma;
    /** Value for the *_BASE register. */
    public long qBase;
    public int entDwords;
    /** The register page holding PROD/CONS (page 0 for the cmdq, page 1 for evtq/priq). */
    public org.iommu4j.base.hw.IoMem page;
    /** Offsets of the PROD/CONS registers within {@link #page}. */
    public long prodReg;
    public long consReg;
}
