package org.iommu4j.smmuv3;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.iommu4j.base.Port;

/**
 * struct arm_smmu_cmdq: the command queue plus the state of the kernel's lock-free insertion
 * algorithm (see ArmSmmuV3.arm_smmu_cmdq_issue_cmdlist).
 *
 * <p>Invariants: {@code llqVal} holds (prod | cons << 32) of the shared software queue; prod may
 * carry CMDQ_PROD_OWNED_FLAG while an owner gathers work. {@code valid_map} bit i is the
 * "valid" polarity of slot i, which flips every lap (valid = inverse of the wrap bit).
 * {@code lock} is the "bastardised rwlock": > 0 shared holders (CMD_SYNC waiters), INT_MIN+n when
 * an exclusive holder (a cons updater) owns it.
 */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_cmdq")
public final class ArmSmmuCmdq {
    public final ArmSmmuQueue q = new ArmSmmuQueue();
    /** The atomic view of q.llq.val (prod in the low word, cons in the high word). */
    public final AtomicLong llqVal = new AtomicLong();
    public AtomicLongArray validMap;
    public final AtomicInteger ownerProd = new AtomicInteger();
    public final AtomicInteger lock = new AtomicInteger();
}
