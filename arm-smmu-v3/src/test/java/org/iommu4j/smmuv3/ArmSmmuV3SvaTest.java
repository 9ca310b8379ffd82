package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.iommu.IommuH.IOMMU_DEV_FEAT_IOPF;
import static org.iommu4j.iommu.IommuH.IOMMU_DEV_FEAT_SVA;
import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.List;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.ioasid.Ioasid;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuFwspec;
import org.iommu4j.iommu.IommuSva;
import org.iommu4j.iopf.IoPgfault;
import org.iommu4j.mm.ArmContext;
import org.iommu4j.mm.Cpu;
import org.iommu4j.mm.Mm;
import org.iommu4j.mm.MmFault;
import org.iommu4j.mm.MmWorld;
import org.iommu4j.mm.Mmap;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.iommu4j.sva.IommuSvaLib;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Shared Virtual Addressing end to end: the driver binds a process's mm to a stall-capable
 * platform master; the SMMU model walks the process's own page tables through the CD the driver
 * wrote; a DMA to a page the process never touched stalls, the event reaches io-pgfault, the
 * SVA handler faults the page in and the driver's CMD_RESUME lets the held transaction retry;
 * CPU-side unmaps reach the SMMU TLB (by broadcast with BTM, by command without); unbind and
 * process exit leave nothing behind.
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3SvaTest {
    static final int SID = 0x20;
    static final long OA = 0x0000_FFFF_FFFF_F000L;

    SmmuTestBed tb;
    MmWorld cpuWorld;
    Iommu iommu;
    Device dev;
    Mm mm;
    Cpu cpu;

    /** Seed 004's generic library binds instead of v5.15's bonds (the subclass runs every test so). */
    boolean generic() {
        return false;
    }

    /** The handle of the last {@link #enableAndBind}. */
    IommuSva handle;

    /** A machine with the full SMMU (BTM as given), its core, and one stall master with 20-bit SSIDs. */
    void boot(boolean btm) {
        boot(btm, MmWorld.Config.defaults());
    }

    void boot(boolean btm, MmWorld.Config cpuConfig) {
        tb = new SmmuTestBed(SmmuCaps.full().withBtm(btm));
        cpuWorld = MmWorld.create(tb.board, tb.pages, cpuConfig);
        Ioasid ioasid = new Ioasid();
        tb.drv.mmWorld = cpuWorld;
        tb.drv.iommuSva = new IommuSvaLib(ioasid);
        tb.drv.sva.svaGeneric = generic();
        iommu = new Iommu(tb.pages, ioasid, "");
        tb.drv.iommuCore = iommu;
        tb.drv.deviceGroupFn = iommu::genericDeviceGroup;
        BusType bus = tb.platformBus;
        assertThat(tb.probe(1, "dma-coherent")).isZero();
        assertThat(tb.drv.smmu.features & ARM_SMMU_FEAT_SVA).isNotZero();
        assertThat(tb.drv.smmu.evtqIopf).isNotNull();
        dev = new Device("accel");
        assertThat(Iommu.iommuFwspecInit(dev, tb.pdev, tb.drv.armSmmuOps)).isZero();
        assertThat(Iommu.iommuFwspecAddIds(dev, new int[] {SID}, 1)).isZero();
        IommuFwspec fw = DevIommu.devIommuFwspecGet(dev);
        fw.numPasidBits = 20;
        fw.canStall = true; // dma-can-stall
        bus.deviceAdd(dev);
        assertThat(Iommu.iommuGetDomainForDev(dev)).isNotNull();
        mm = cpuWorld.mmAlloc();
        cpu = cpuWorld.cpu(0);
        cpu.switchMm(mm);
    }

    @AfterEach
    void tearDown() {
        if (tb != null) {
            tb.drv.armSmmuDeviceRemove();
        }
    }

    long mmap(long len, int prot) {
        return Mmap.vmMmap(mm, 0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS);
    }

    IommuSva enableAndBind() {
        assertThat(Iommu.iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_IOPF)).isZero();
        assertThat(Iommu.iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_SVA)).isZero();
        handle = Iommu.iommuSvaBindDevice(dev, mm, null);
        return handle;
    }

    ArmSmmuDomain domain() {
        return (ArmSmmuDomain) Iommu.iommuGetDomainForDev(dev);
    }

    long cd(int ssid, int dword) {
        return tb.board.mem.readq(tb.drv.armSmmuGetCdPtr(domain(), ssid) + 8L * dword);
    }

    DmaResult dma(int ssid, long va, int access) {
        DmaTransaction txn = new DmaTransaction().set(SID, ssid, va, 8, access);
        DmaResult res = new DmaResult();
        tb.model.translate(txn, res);
        return res;
    }

    /** A DMA the way a stall-capable device does it: held while stalled, retried when resumed. */
    DmaResult dmaRetrying(int ssid, long va, int access) {
        DmaResult res = dma(ssid, va, access);
        while (res.status == DmaResult.STALLED) {
            if (!res.stall.await()) {
                return res; // terminated
            }
            res = dma(ssid, va, access);
        }
        return res;
    }

    /**
     * arm_smmu_release_device of a master whose SVA is still on (a driver that forgot to turn it
     * off): a WARN, and only then the device is taken out of the fault queue it still sits in.
     * A master released after SVA was turned off is not in any queue, and nothing is asked of it.
     */
    @Test
    void releasingAMasterWithSvaStillOnWarnsAndLeavesTheFaultQueue() {
        boot(false);
        assertThat(Iommu.iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_IOPF)).isZero();
        assertThat(Iommu.iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_SVA)).isZero();
        assertThat(IoPgfault.iopfQueueOf(dev)).isSameAs(tb.drv.smmu.evtqIopf);
        tb.drv.armSmmuReleaseDevice(dev);
        assertThat(org.iommu4j.base.Warn.drain()).singleElement().asString().contains("armSmmuReleaseDevice");
        assertThat(IoPgfault.iopfQueueOf(dev)).isNull();
        assertThat(DevIommu.devIommuFwspecGet(dev)).isNull();
    }

    @Test
    void featuresFollowTheKernelsOrder() {
        boot(true);
        assertThat(Iommu.iommuDevHasFeature(dev, IOMMU_DEV_FEAT_IOPF)).isTrue();
        assertThat(Iommu.iommuDevHasFeature(dev, IOMMU_DEV_FEAT_SVA)).isTrue();
        // A stall master needs IOPF before SVA.
        assertThat(Iommu.iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_SVA)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuDevDisableFeature(dev, IOMMU_DEV_FEAT_SVA)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_IOPF)).isZero();
        assertThat(Iommu.iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_IOPF)).isEqualTo(-EBUSY);
        assertThat(Iommu.iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_SVA)).isZero();
        assertThat(IoPgfault.iopfQueueOf(dev)).isSameAs(tb.drv.smmu.evtqIopf);
        // IOPF stays while SVA is on; the domain cannot change under SVA.
        assertThat(Iommu.iommuDevDisableFeature(dev, IOMMU_DEV_FEAT_IOPF)).isEqualTo(-EBUSY);
        assertThat(tb.drv.armSmmuAttachDev(tb.dmaDomain(), dev)).isEqualTo(-EBUSY);
        IommuSva h = Iommu.iommuSvaBindDevice(dev, mm, null);
        assertThat(Iommu.iommuDevDisableFeature(dev, IOMMU_DEV_FEAT_SVA)).isEqualTo(-EBUSY);
        Iommu.iommuSvaUnbindDevice(h);
        assertThat(Iommu.iommuDevDisableFeature(dev, IOMMU_DEV_FEAT_SVA)).isZero();
        assertThat(IoPgfault.iopfQueueOf(dev)).isNull();
        assertThat(Iommu.iommuDevDisableFeature(dev, IOMMU_DEV_FEAT_IOPF)).isZero();
        // Without SVA enabled, bind is refused.
        assertThatThrownBy(() -> Iommu.iommuSvaBindDevice(dev, mm, null))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.err()).isEqualTo(-ENODEV));
    }

    @Test
    void bindWritesACdOverTheProcessPageTablesWithItsPinnedAsid() {
        boot(true);
        int domainAsid = domain().s1Cfg.cd.asid;
        int prod = tb.prod();
        IommuSva h = enableAndBind();
        int pasid = Iommu.iommuSvaGetPasid(h);
        assertThat(pasid).isPositive();
        if (!generic()) {
            assertThat(pasid).isEqualTo(mm.pasid); // the generic library's PASID is the io_mm's
        }
        int asid = (int) ArmContext.ASID(mm);
        assertThat(mm.context.pinned.refcountRead()).isEqualTo(1);
        long cd0 = cd(pasid, 0);
        assertThat(cd0 & CTXDESC_CD_0_V).isNotZero();
        assertThat(FIELD(cd0, CTXDESC_CD_0_ASID)).isEqualTo(asid);
        assertThat(cd0 & CTXDESC_CD_0_ASET).as("shared ASID").isZero();
        assertThat(FIELD(cd0, CTXDESC_CD_0_TCR_T0SZ)).isEqualTo(64 - cpuWorld.vabitsActual());
        assertThat(cd0 & CTXDESC_CD_0_TCR_EPD1).isNotZero();
        assertThat(cd0 & CTXDESC_CD_0_S).as("stall master").isNotZero();
        assertThat(cd(pasid, 1) & CTXDESC_CD_1_TTB0_MASK).isEqualTo(mm.pgd);
        assertThat(cd(pasid, 3)).isEqualTo(cpuWorld.readMairEl1());
        // Both allocators start at ASID 1: the process's CPU ASID was the DMA domain's SMMU ASID.
        // The domain moved to another one (its CD rewritten) and the old one was invalidated.
        assertThat(asid).isEqualTo(domainAsid);
        assertThat(domain().s1Cfg.cd.asid).isNotEqualTo(asid);
        assertThat(FIELD(cd(0, 0), CTXDESC_CD_0_ASID)).isEqualTo(domain().s1Cfg.cd.asid);
        assertThat(tb.drv.armSmmuAsidXa.get(domain().s1Cfg.cd.asid)).isSameAs(domain().s1Cfg.cd);
        assertThat(tb.commands(prod, tb.prod())).anySatisfy(c -> {
            assertThat(c[0] & 0xff).isEqualTo(CMDQ_OP_TLBI_NH_ASID);
            assertThat(FIELD(c[0], CMDQ_TLBI_0_ASID)).isEqualTo(asid);
        });
        // A second bind of the same pair is the same bond.
        assertThat(Iommu.iommuSvaBindDevice(dev, mm, null)).isSameAs(h);
        Iommu.iommuSvaUnbindDevice(h);
        assertThat(cd(pasid, 0) & CTXDESC_CD_0_V).isNotZero();
        Iommu.iommuSvaUnbindDevice(h);
        // Torn down: CD cleared, ASID unpinned, PASID freed (the generic library frees the
        // io_mm's context after the notifier's SRCU grace period).
        org.iommu4j.mm.MmuNotifier.mmuNotifierSynchronize(cpuWorld);
        assertThat(cd(pasid, 0)).isZero();
        assertThat(mm.context.pinned.refcountRead()).isZero();
        assertThat(mm.pasid).isZero();
        assertThat(tb.drv.armSmmuAsidXa).doesNotContainKey(asid);
    }

    @Test
    void theDeviceReadsWhatTheProcessWrote() {
        boot(true);
        long va = mmap(2 * 4096, PROT_READ | PROT_WRITE);
        cpu.str(va + 0x40, 0x1122_3344_5566_7788L);
        IommuSva h = enableAndBind();
        int pasid = Iommu.iommuSvaGetPasid(h);
        DmaResult r = dma(pasid, va + 0x40, DmaTransaction.ACC_READ);
        assertThat(r.status).isEqualTo(DmaResult.OK);
        assertThat(r.pa).isEqualTo((MmFault.pteOf(mm, va) & OA) | 0x40);
        assertThat(tb.board.mem.readq(r.pa)).isEqualTo(0x1122_3344_5566_7788L);
        // Without the PASID the device is in its DMA domain, where nothing is mapped there.
        assertThat(dma(DmaTransaction.NO_SSID, va + 0x40, DmaTransaction.ACC_READ).status).isNotEqualTo(DmaResult.OK);
        Iommu.iommuSvaUnbindDevice(h);
    }

    @Test
    void aStalledDmaIsFaultedInByIoPgfaultAndRetried() {
        boot(true);
        long va = mmap(4 * 4096, PROT_READ | PROT_WRITE);
        IommuSva h = enableAndBind();
        int pasid = Iommu.iommuSvaGetPasid(h);
        assertThat(MmFault.pteOf(mm, va + 4096)).isZero();
        int prod = tb.prod();
        DmaResult first = dma(pasid, va + 4096 + 8, DmaTransaction.ACC_WRITE);
        assertThat(first.status).isEqualTo(DmaResult.STALLED);
        // The device waits; the event thread, io-pgfault and the SVA handler resolve the fault
        // and the driver resumes the transaction with RETRY.
        assertThat(first.stall.await()).isTrue();
        DmaResult r = dma(pasid, va + 4096 + 8, DmaTransaction.ACC_WRITE);
        assertThat(r.status).isEqualTo(DmaResult.OK);
        tb.board.mem.writeq(r.pa, 0xcafe_f00dL);
        assertThat(cpu.ldr(va + 4096 + 8)).isEqualTo(0xcafe_f00dL);
        List<long[]> cmds = tb.commands(prod, tb.prod());
        assertThat(cmds).anySatisfy(c -> {
            assertThat(c[0] & 0xff).isEqualTo(CMDQ_OP_RESUME);
            assertThat(FIELD(c[0], CMDQ_RESUME_0_SID)).isEqualTo(SID);
            assertThat(FIELD(c[0], CMDQ_RESUME_0_RESP)).isEqualTo(CMDQ_RESUME_0_RESP_RETRY);
        });
        assertThat(tb.model.events()).anySatisfy(e -> assertThat(e.id()).isEqualTo(0x10)); // F_TRANSLATION, stalled
        Iommu.iommuSvaUnbindDevice(h);
    }

    @Test
    void aDmaTheProcessMayNotMakeIsAborted() {
        boot(true);
        long ro = mmap(4096, PROT_READ);
        IommuSva h = enableAndBind();
        int pasid = Iommu.iommuSvaGetPasid(h);
        int prod = tb.prod();
        DmaResult r = dmaRetrying(pasid, ro, DmaTransaction.ACC_WRITE);
        assertThat(r.status).isNotEqualTo(DmaResult.OK);
        assertThat(MmFault.pteOf(mm, ro)).isZero();
        assertThat(tb.commands(prod, tb.prod())).anySatisfy(c -> {
            assertThat(c[0] & 0xff).isEqualTo(CMDQ_OP_RESUME);
            assertThat(FIELD(c[0], CMDQ_RESUME_0_RESP)).isEqualTo(CMDQ_RESUME_0_RESP_ABORT);
        });
        // An unmapped address likewise.
        assertThat(dmaRetrying(pasid, ro + (64L << 20), DmaTransaction.ACC_READ).status).isNotEqualTo(DmaResult.OK);
        Iommu.iommuSvaUnbindDevice(h);
    }

    @Test
    void theSmmuKeepsAccessAndDirtyStateInTheSharedTables() {
        boot(true); // CPUs with hardware AF/DBM, an SMMU with HTTU (access and dirty)
        assertThat(tb.drv.smmu.features & (ARM_SMMU_FEAT_HA | ARM_SMMU_FEAT_HD)).isEqualTo(ARM_SMMU_FEAT_HA | ARM_SMMU_FEAT_HD);
        // A shared mapping the process has read: writable-clean (DBM set, AP[2] read-only).
        long va = Mmap.vmMmap(mm, 0, 4096, PROT_READ | PROT_WRITE, org.iommu4j.mm.MmH.MAP_SHARED | MAP_ANONYMOUS);
        cpu.ldr(va);
        long clean = MmFault.pteOf(mm, va);
        assertThat(clean & org.iommu4j.mm.PgtableH.PTE_DBM).isNotZero();
        assertThat(org.iommu4j.mm.Pgtable.pteDirty(clean)).isFalse();
        int pasid = Iommu.iommuSvaGetPasid(enableAndBind());
        long cd0 = cd(pasid, 0);
        assertThat(cd0 & (CTXDESC_CD_0_TCR_HA | CTXDESC_CD_0_TCR_HD)).isEqualTo(CTXDESC_CD_0_TCR_HA | CTXDESC_CD_0_TCR_HD);
        int events = tb.model.events().size();
        // The device's write dirties the page in the process's table itself: no fault.
        DmaResult w = dma(pasid, va, DmaTransaction.ACC_WRITE);
        assertThat(w.status).isEqualTo(DmaResult.OK);
        assertThat(org.iommu4j.mm.Pgtable.pteDirty(MmFault.pteOf(mm, va))).isTrue();
        // Page aging clears the access flag (and the CPU's TLBI reaches the SMMU by BTM): the
        // device's next access sets it again, without a fault.
        long ptep = cpuWorld.pgtable.followPte(mm.pgd, va);
        assertThat(cpuWorld.pgtable.ptepTestAndClearYoung(ptep)).isTrue();
        cpuWorld.flushTlbMm(mm);
        assertThat(org.iommu4j.mm.Pgtable.pteYoung(MmFault.pteOf(mm, va))).isFalse();
        assertThat(dma(pasid, va, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.OK);
        assertThat(org.iommu4j.mm.Pgtable.pteYoung(MmFault.pteOf(mm, va))).isTrue();
        assertThat(tb.model.events()).hasSize(events);
    }

    @Test
    void withoutHardwareAccessAndDirtyOnTheCpusTheSharedCdHasNoHttu() {
        boot(true, MmWorld.Config.defaults().withHwAfDbm(false));
        int pasid = Iommu.iommuSvaGetPasid(enableAndBind());
        assertThat(cd(pasid, 0) & (CTXDESC_CD_0_TCR_HA | CTXDESC_CD_0_TCR_HD)).isZero();
    }

    @Test
    void devicesFaultingConcurrentlyAllGetTheirPages() throws Exception {
        boot(true);
        int threads = 4, pagesEach = 16;
        long buf = mmap((long) threads * pagesEach * 4096, PROT_READ | PROT_WRITE);
        int pasid = Iommu.iommuSvaGetPasid(enableAndBind());
        var pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            List<java.util.concurrent.Future<Integer>> done = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final int id = t;
                done.add(pool.submit(() -> {
                    // Interleaved pages: neighbours belong to other threads, so faults overlap.
                    for (int k = 0; k < pagesEach; k++) {
                        long va = buf + 4096L * (k * threads + id);
                        DmaResult r = dmaRetrying(pasid, va + 8 * id, DmaTransaction.ACC_WRITE);
                        if (r.status != DmaResult.OK) {
                            return -1;
                        }
                        tb.board.mem.writeq(r.pa, 0x1000L * id + k);
                    }
                    return 0;
                }));
            }
            for (var f : done) {
                assertThat(f.get(60, java.util.concurrent.TimeUnit.SECONDS)).isZero();
            }
        } finally {
            pool.shutdownNow();
        }
        // Every page was faulted in once, in the process's tables, with the device's data.
        for (int t = 0; t < threads; t++) {
            for (int k = 0; k < pagesEach; k++) {
                long va = buf + 4096L * (k * threads + t);
                assertThat(cpu.ldr(va + 8 * t)).isEqualTo(0x1000L * t + k);
            }
        }
        assertThat(IoPgfault.iopfNrPartial(dev)).isZero();
    }

    /** The page of {@link #bindOverAWrittenPage}. */
    long va;

    /**
     * Boots, maps one page the process writes {@code value} into, binds the process: the device
     * reads the value at the page's VA with the PASID. Returns the PASID; the page is at {@code va}.
     */
    int bindOverAWrittenPage(boolean btm, long value) {
        boot(btm);
        va = mmap(4096, PROT_READ | PROT_WRITE);
        cpu.str(va, value);
        int pasid = Iommu.iommuSvaGetPasid(enableAndBind());
        DmaResult r = dma(pasid, va, DmaTransaction.ACC_READ);
        assertThat(r.status).isEqualTo(DmaResult.OK);
        assertThat(tb.board.mem.readq(r.pa)).isEqualTo(value);
        return pasid;
    }

    IommuSva bond() {
        return handle;
    }

    /** munmap on the CPU: the SMMU must not keep using the old translation. */
    void unmapReachesTheSmmuTlb(boolean btm) {
        int pasid = bindOverAWrittenPage(btm, 42);
        IommuSva h = bond();
        assertThat(dma(pasid, va, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.OK); // TLB hit
        int prod = tb.prod();
        assertThat(Mmap.vmMunmap(mm, va, 4096)).isZero();
        List<Integer> ops = tb.opcodes(prod, tb.prod());
        if (btm) {
            // The CPU's broadcast TLBI reached the SMMU: no command needed.
            assertThat(ops).doesNotContain((int) CMDQ_OP_TLBI_NH_VA);
        } else {
            // TLBI_NH_VA of the process's ASID at the page, each batch closed by a CMD_SYNC
            // (which MSI polling overwrites on completion).
            assertThat(tb.commands(prod, tb.prod())).anySatisfy(c -> {
                assertThat(c[0] & 0xff).isEqualTo(CMDQ_OP_TLBI_NH_VA);
                assertThat(FIELD(c[0], CMDQ_TLBI_0_ASID)).isEqualTo(ArmContext.ASID(mm));
                assertThat(c[1] & CMDQ_TLBI_1_VA_MASK).isEqualTo(va);
            });
            assertThat(ops.get(ops.size() - 1)).isIn(0, (int) CMDQ_OP_CMD_SYNC);
        }
        // The page is gone for the device too: its DMA faults and is aborted.
        assertThat(dmaRetrying(pasid, va, DmaTransaction.ACC_READ).status).isNotEqualTo(DmaResult.OK);
        Iommu.iommuSvaUnbindDevice(h);
    }

    @Test
    void unmapWithBroadcastTlbMaintenance() {
        unmapReachesTheSmmuTlb(true);
        // Seed 004: with BTM the SMMU takes part in broadcast TLB maintenance.
        assertThat(lastWrite(ARM_SMMU_CR2) & CR2_PTM).isZero();
    }

    @Test
    void unmapWithoutBroadcastTlbMaintenance() {
        unmapReachesTheSmmuTlb(false);
        assertThat(lastWrite(ARM_SMMU_CR2) & CR2_PTM).isNotZero();
    }

    @Test
    void processExitQuiescesTheCdUntilUnbind() {
        int pasid = bindOverAWrittenPage(true, 7);
        IommuSva h = bond();
        cpu.switchToIdle();
        int prod = tb.prod();
        mm.mmput(); // the process exits while the device is still bound
        // The CD stays valid (no C_BAD_CD) but translates nothing; the ASID was invalidated.
        long cd0 = cd(pasid, 0);
        assertThat(cd0 & CTXDESC_CD_0_V).isNotZero();
        assertThat(cd0 & CTXDESC_CD_0_TCR_EPD0).isNotZero();
        assertThat(tb.opcodes(prod, tb.prod())).contains((int) CMDQ_OP_TLBI_NH_ASID);
        assertThat(dmaRetrying(pasid, va, DmaTransaction.ACC_READ).status).isNotEqualTo(DmaResult.OK);
        assertThat(tb.model.events()).noneSatisfy(e -> assertThat(e.id()).isEqualTo(0x0a));
        Iommu.iommuSvaUnbindDevice(h);
        assertThat(cd(pasid, 0)).isZero();
        assertThat(mm.pasid).isZero();
    }

    @Test
    void bindFailuresLoseNothing() {
        boot(true);
        assertThat(Iommu.iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_IOPF)).isZero();
        assertThat(Iommu.iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_SVA)).isZero();
        int domainAsid = domain().s1Cfg.cd.asid;
        ArmSmmuMaster master = (ArmSmmuMaster) org.iommu4j.iommu.DevIommu.devIommuPrivGet(dev);
        // Fail each allocation of a bind in turn (fail_nth): each failure is reported and undone.
        int failures = 0;
        for (int n = 1; ; n++) {
            org.iommu4j.base.FaultInject.failNth(n);
            IommuSva h;
            try {
                h = Iommu.iommuSvaBindDevice(dev, mm, null);
            } catch (ErrnoException e) {
                assertThat(org.iommu4j.base.FaultInject.fired()).as("n=%d", n).isTrue();
                // (the generic library reports an IOASID allocation failure as -ENOSPC)
                assertThat(e.err()).as("n=%d", n).isIn(-org.iommu4j.base.Errno.ENOMEM, -org.iommu4j.base.Errno.ENOSPC);
                assertThat(mm.pasid).as("n=%d: PASID", n).isZero();
                assertThat(mm.context.pinned.refcountRead()).as("n=%d: ASID pin", n).isZero();
                assertThat(master.bonds).as("n=%d: bonds", n).isEmpty();
                assertThat(domain().mmuNotifiers).as("n=%d: notifiers", n).isEmpty();
                assertThat(org.iommu4j.mm.MmuNotifier.subscriptions(mm)).as("n=%d", n).isZero();
                assertThat(tb.drv.armSmmuAsidXa.values()).as("n=%d: ASIDs", n)
                        .containsExactly(domain().s1Cfg.cd);
                failures++;
                continue;
            } finally {
                org.iommu4j.base.FaultInject.disarm();
            }
            // Nothing failed any more: the bind went through.
            assertThat(Iommu.iommuSvaGetPasid(h)).isPositive();
            Iommu.iommuSvaUnbindDevice(h);
            break;
        }
        assertThat(failures).isGreaterThanOrEqualTo(3); // bond, PASID data, CD, notifier, CD table...
        assertThat(domain().s1Cfg.cd.asid).as("the domain's ASID ends where it started or moved once")
                .isIn(domainAsid, domainAsid + 1);
    }

    @Test
    void bindErrors() {
        // The CPU cannot pin ASIDs: -ESRCH, nothing kept.
        boot(true, MmWorld.Config.defaults().withPinning(false));
        assertThat(Iommu.iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_IOPF)).isZero();
        assertThat(Iommu.iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_SVA)).isZero();
        assertThatThrownBy(() -> Iommu.iommuSvaBindDevice(dev, mm, null))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.err()).isEqualTo(-org.iommu4j.base.Errno.ESRCH));
        assertThat(mm.pasid).isZero();
        // Not an mm, or a domain that is not stage 1: -EINVAL.
        assertThatThrownBy(() -> tb.drv.sva.armSmmuSvaBind(dev, "not an mm", null))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.err()).isEqualTo(-EINVAL));
        ArmSmmuDomain dma = domain();
        int saved = dma.stage;
        dma.stage = ARM_SMMU_DOMAIN_BYPASS;
        try {
            assertThatThrownBy(() -> Iommu.iommuSvaBindDevice(dev, mm, null))
                    .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.err()).isEqualTo(-EINVAL));
        } finally {
            dma.stage = saved;
        }
        if (generic()) {
            return; // the generic library gives each io_mm its own PASID in the device's range
        }
        // A PASID the device's SSIDs cannot hold: -EOVERFLOW from the SVA library.
        Mm other = cpuWorld.mmAlloc();
        assertThat(tb.drv.iommuSva.iommuSvaAllocPasid(other, 1 << 20, 1 << 20)).isZero();
        assertThatThrownBy(() -> Iommu.iommuSvaBindDevice(dev, other, null))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.err()).isEqualTo(-org.iommu4j.base.Errno.EOVERFLOW));
        tb.drv.iommuSva.iommuSvaFreePasid(other);
    }

    @Test
    void aStallNobodyHandlesIsAbortedByTheDriver() {
        boot(true);
        // IOPF not enabled: the stall event reaches the driver, the core has no handler, and the
        // driver answers RESUME ABORT itself.
        int prod = tb.prod();
        DmaResult r = dma(DmaTransaction.NO_SSID, 0x1234_5000L, DmaTransaction.ACC_READ);
        assertThat(r.status).isEqualTo(DmaResult.STALLED);
        assertThat(r.stall.await()).isFalse();
        assertThat(tb.commands(prod, tb.prod())).anySatisfy(c -> {
            assertThat(c[0] & 0xff).isEqualTo(CMDQ_OP_RESUME);
            assertThat(FIELD(c[0], CMDQ_RESUME_0_RESP)).isEqualTo(CMDQ_RESUME_0_RESP_ABORT);
        });
        // page_response: unknown codes and non-stall masters are refused.
        org.iommu4j.iommu.IommuPageResponse bad = new org.iommu4j.iommu.IommuPageResponse(0, 0, 1, 7);
        assertThat(tb.drv.armSmmuPageResponse(dev, null, bad)).isEqualTo(-EINVAL);
        assertThat(tb.drv.armSmmuPageResponse(new Device("nobody"), null, bad)).isEqualTo(-ENODEV);
    }

    /** The last value the driver wrote to a register. */
    long lastWrite(long offset) {
        long v = -1;
        for (MmioRecorder.Access a : tb.rec.log) {
            if (a.write() && a.offset() == offset) {
                v = a.value();
            }
        }
        return v;
    }

    static long FIELD(long v, long mask) {
        return org.iommu4j.base.Bits.FIELD_GET(mask, v);
    }

}
