package org.iommu4j.smmuv3;

import java.util.BitSet;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.IoMem;

/** struct arm_smmu_device: one SMMUv3 instance. Feature/option bits are in {@link ArmSmmuV3H}. */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_device")
public final class ArmSmmuDevice {
    public Device dev;
    public IoMem base;
    public IoMem page1;

    /** ARM_SMMU_FEAT_* bits. */
    public int features;
    /** ARM_SMMU_OPT_* bits. */
    public int options;

    public final ArmSmmuCmdq cmdq = new ArmSmmuCmdq();
    public final ArmSmmuQueue evtq = new ArmSmmuQueue();
    public final ArmSmmuQueue priq = new ArmSmmuQueue();
    /** evtq.max_stalls (IDR5.STALL_MAX). */
    public int evtqMaxStalls;
    /** evtq.iopf: the IOPF queue of stalled faults (SVA with stalls), null otherwise. */
    public org.iommu4j.iopf.IoPgfault.IopfQueue evtqIopf;
    /** Seed 004 priq.iopf: the IOPF queue of page requests (SVA with PRI), null otherwise. */
    public org.iommu4j.iopf.IoPgfault.IopfQueue priqIopf;
    /**
     * Seed 004 priq.batch and priq.wq: full queues' worth of requests the PRI thread handled,
     * and the wait queue (its lock) flushers sleep on.
     */
    public long priqBatch;
    public final java.util.concurrent.locks.ReentrantLock priqWqLock = new java.util.concurrent.locks.ReentrantLock();
    public final java.util.concurrent.locks.Condition priqWq = priqWqLock.newCondition();

    public int gerrIrq;
    public int combinedIrq;

    /** IPA and PA sizes, in bits. */
    public int ias;
    public int oas;
    public long pgsizeBitmap;

    public int asidBits;
    public int vmidBits;
    /** Protected by its own monitor (the kernel's ida has its own lock). */
    public final BitSet vmidMap = new BitSet();

    public int ssidBits;
    public int sidBits;

    public final ArmSmmuStrtabCfg strtabCfg = new ArmSmmuStrtabCfg();

    /** StreamID -> stream; protected by streams_mutex (the kernel's rb-tree). */
    public final TreeMap<Integer, ArmSmmuStream> streams = new TreeMap<>();
    public final ReentrantLock streamsMutex = new ReentrantLock();

    /** The iommu_device handle registered with the core (set at registration). */
    public Object iommu;
}
