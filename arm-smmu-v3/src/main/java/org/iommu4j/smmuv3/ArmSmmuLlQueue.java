package org.iommu4j.smmuv3;

import org.iommu4j.base.Port;

/**
 * struct arm_smmu_ll_queue: a (prod, cons) snapshot plus the queue's log2 size. In the kernel the
 * pair is a union with a u64 so the cmdq can cmpxchg both at once; the shared cmdq copy lives in
 * {@link ArmSmmuCmdq#llq} as an AtomicLong ({@link #val()} / {@link #setVal}).
 */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_ll_queue")
public final class ArmSmmuLlQueue {
    public int prod;
    public int cons;
    public int maxNShift;

    public ArmSmmuLlQueue() {}

    public ArmSmmuLlQueue(int maxNShift) {
        this.maxNShift = maxNShift;
    }

    /** The union's u64 view: prod in the low word, cons in the high word. */
    public long val() {
        return Integer.toUnsignedLong(prod) | ((long) cons << 32);
    }

    public void setVal(long v) {
        prod = (int) v;
        cons = (int) (v >>> 32);
    }

    public ArmSmmuLlQueue copy() {
        ArmSmmuLlQueue c = new ArmSmmuLlQueue(maxNShift);
        c.prod = prod;
        c.cons = cons;
        return c;
    }
}
