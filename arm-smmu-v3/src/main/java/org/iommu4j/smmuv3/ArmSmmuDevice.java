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
    public int evtq_max_stalls;
    /** evtq.iopf: the IOPF queue of stalled faults (SVA with stalls), null otherwise. */
    public org.iommu4j.iopf.IoPgfault.IopfQueue evtq_iopf;
    /** Seed 004 priq.iopf: the IOPF queue of page requests (SVA with PRI), null otherwise. */
    public org.iommu4j.iopf.IoPgfault.IopfQueue priq_iopf;
    /**
     * Seed 004 priq.batch and priq.wq: full queues' worth of requests the PRI thread handled,
     * and the wait queue (its lock) flushers sleep on.
     */
    public long priq_batch;
    public final java.util.concurrent.locks.ReentrantLock priq_wq_lock = new java.util.concurrent.locks.ReentrantLock();
    public final java.util.concurrent.locks.Condition priq_wq = priq_wq_lock.newCondition();

    public int gerr_irq;
    public int combined_irq;

    /** IPA and PA sizes, in bits. */
    public int ias;
    public int oas;
    public long pgsize_bitmap;

    public int asid_bits;
    public int vmid_bits;
    /** Protected by its own monitor (the kernel's ida has its own lock). */
    public final BitSet vmid_map = new BitSet();

    public int ssid_bits;
    public int sid_bits;

    public final ArmSmmuStrtabCfg strtab_cfg = new ArmSmmuStrtabCfg();

    /** StreamID -> stream; protected by streams_mutex (the kernel's rb-tree). */
    public final TreeMap<Integer, ArmSmmuStream> streams = new TreeMap<>();
    public final ReentrantLock streams_mutex = new ReentrantLock();

    /** The iommu_device handle registered with the core (set at registration). */
    public Object iommu;
}
