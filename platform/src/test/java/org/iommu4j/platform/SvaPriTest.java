package org.iommu4j.platform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.iommu4j.base.Errno;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.iommu.IommuSva;
import org.iommu4j.iopf.IoPgfault;
import org.iommu4j.mm.Mm;
import org.iommu4j.mm.MmFault;
import org.iommu4j.mm.MmH;
import org.iommu4j.mm.Mmap;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.of.Fdt;
import org.iommu4j.smmuv3.ArmSmmuMaster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * SVA for a PCI function with PASID, ATS and PRI (seed 004): the SVA demo end to end, and the
 * driver's handling of PRI queue entries (groups, Stop Markers, responses with and without the
 * PASID, requests nobody takes).
 */
@ExtendWith(NoWarnings.class)
class SvaPriTest {
    static final int SID = 0x10;

    static Machine boot() {
        return new Machine(Fdt.bundledVirtSmmuv3(), "full", true);
    }

    @Test
    void theSvaDemoSharesTheProcessAddressSpaceWithTheDevice() {
        try (Machine m = boot()) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            SvaDemo.Result r = SvaDemo.run(m, new PrintStream(buf, true));
            assertThat(r.exit()).as(buf.toString()).isZero();
            assertThat(r.pasid()).isEqualTo(1);
            assertThat(r.deviceRead()).isEqualTo("written by the process");
            assertThat(r.processRead()).isEqualTo("written by the device");
            // The fault went through PRI and was answered Success (PCIe code 0b10), the request
            // after munmap Invalid Request (0b01): never Response Failure (0b00).
            assertThat(r.commands()).anyMatch(c -> c.contains("op=PRI_RESP") && c.endsWith("cmd1=0x0000000000002000"));
            assertThat(r.commands()).anyMatch(c -> c.contains("op=PRI_RESP") && c.endsWith("cmd1=0x0000000000001001"));
            assertThat(r.commands()).anyMatch(c -> c.contains("op=ATC_INV"));
            assertThat(r.afterUnmap()).isEqualTo(-Errno.EFAULT);
            assertThat(m.function(SID).model().priEnabled()).as("disabled with SVA").isFalse();
        }
    }

    /** PRIQ entry dwords: SID, SSID (if ssv), perms, last; PRG index and page. */
    static long[] ppr(int sid, int ssid, boolean ssv, boolean read, boolean write, boolean last, int prgi, long addr) {
        long d0 = sid | ((long) ssid << 32) | (read ? PRIQ_0_PERM_READ : 0) | (write ? PRIQ_0_PERM_WRITE : 0)
                | (last ? PRIQ_0_PRG_LAST : 0) | (ssv ? PRIQ_0_SSID_V : 0);
        return new long[] {d0, prgi | (addr & PRIQ_1_ADDR_MASK)};
    }

    @Test
    void pageRequestsAreReportedAsGroupsAndStopMarkersDropped() {
        try (Machine m = boot()) {
            Device dev = m.function(SID).dev();
            ArmSmmuMaster master = (ArmSmmuMaster) DevIommu.devIommuPrivGet(dev);
            assertThat(master.priSupported).isTrue();
            // The function sets "PRG Response PASID Required": its STE has PPAR.
            assertThat(master.prgRespNeedsSsid).isTrue();
            long ste1 = m.board.mem.readq(m.smmu.armSmmuGetStepForSid(m.smmu.smmu, SID) + 8);
            assertThat(ste1 & STRTAB_STE_1_PPAR).isNotZero();
            assertThat(Iommu.iommuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_IOPF)).isZero();
            assertThat(Iommu.iommuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_SVA)).isZero();
            assertThat(IoPgfault.iopfQueueOf(dev)).isSameAs(m.smmu.smmu.priqIopf);
            try (Trace.Capture cap = Trace.capture("arm_smmu:cmdq_cmd")) {
                // Two requests of group 5 for PASID 3, the first not the last: kept as partial.
                m.smmu.armSmmuHandlePpr(m.smmu.smmu, ppr(SID, 3, true, true, false, false, 5, 0x10000));
                assertThat(IoPgfault.iopfNrPartial(dev)).isEqualTo(1);
                // A Stop Marker (last, neither read nor write): dropped.
                m.smmu.armSmmuHandlePpr(m.smmu.smmu, ppr(SID, 3, true, false, false, true, 6, 0));
                assertThat(IoPgfault.iopfNrPartial(dev)).isEqualTo(1);
                // The last request: the group goes to the domain's handler; PASID 3 is nobody's,
                // so the group is answered Invalid Request, with its PASID (PPAR).
                m.smmu.armSmmuHandlePpr(m.smmu.smmu, ppr(SID, 3, true, true, true, true, 5, 0x11000));
                assertThat(IoPgfault.iopfQueueFlushDev(dev)).isZero();
                assertThat(IoPgfault.iopfNrPartial(dev)).isZero();
                List<String> resp = cap.records().stream().map(r -> r.message()).filter(s -> s.contains("PRI_RESP")).toList();
                assertThat(resp).singleElement().satisfies(c -> {
                    assertThat(c).contains("cmd0=0x0000001000003841"); // SID 0x10, SSID 3, SSV
                    assertThat(c).endsWith("cmd1=0x0000000000001005"); // INVALID, PRG index 5
                });
            }
            // A function without the requirement: no PASID in the response.
            master.prgRespNeedsSsid = false;
            try (Trace.Capture cap = Trace.capture("arm_smmu:cmdq_cmd")) {
                m.smmu.armSmmuHandlePpr(m.smmu.smmu, ppr(SID, 3, true, true, false, true, 7, 0x12000));
                assertThat(IoPgfault.iopfQueueFlushDev(dev)).isZero();
                assertThat(cap.records()).anySatisfy(r -> {
                    assertThat(r.message()).contains("op=PRI_RESP");
                    // SSV clear (the SSID field keeps the request's PASID; the SMMU ignores it)
                    assertThat(r.message()).contains("cmd0=0x0000001000003041");
                    assertThat(r.message()).endsWith("cmd1=0x0000000000001007");
                });
            }
            master.prgRespNeedsSsid = true;
            assertThat(Iommu.iommuDevDisableFeature(dev, IommuH.IOMMU_DEV_FEAT_SVA)).isZero();
            assertThat(Iommu.iommuDevDisableFeature(dev, IommuH.IOMMU_DEV_FEAT_IOPF)).isZero();
            m.board.irqs.quiesce();
        }
    }

    /**
     * Seed 004's arm_smmu_enable_pri needs ATS on at the function: behind a bypass (identity)
     * domain ATS stays off, so PRI cannot be enabled (-ENOSYS) and neither can SVA, which leaves
     * the function out of the PRI queue's fault queue with PRI off.
     */
    @Test
    void priNeedsAtsAndWithoutItSvaFailsWithEnosys() {
        try (Machine m = boot()) {
            Device dev = m.function(SID).dev();
            ArmSmmuMaster master = (ArmSmmuMaster) DevIommu.devIommuPrivGet(dev);
            assertThat(master.priSupported).isTrue();
            assertThat(m.smmu.armSmmuAttachDev(m.smmu.armSmmuDomainAlloc(IommuH.IOMMU_DOMAIN_IDENTITY), dev)).isZero();
            assertThat(master.atsEnabled).isFalse();

            assertThat(m.smmu.armSmmuEnablePri(master)).isEqualTo(-Errno.ENOSYS);
            assertThat(Iommu.iommuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_IOPF)).isZero();
            assertThat(Iommu.iommuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_SVA)).isEqualTo(-Errno.ENOSYS);
            assertThat(Iommu.iommuDevFeatureEnabled(dev, IommuH.IOMMU_DEV_FEAT_SVA)).isFalse();
            assertThat(IoPgfault.iopfQueueOf(dev)).isNull();
            assertThat(m.function(SID).model().priEnabled()).isFalse();
            assertThat(Iommu.iommuDevDisableFeature(dev, IommuH.IOMMU_DEV_FEAT_IOPF)).isZero();
            m.board.irqs.quiesce();
        }
    }

    @Test
    void aPageRequestNobodyTakesIsAnsweredWithResponseFailure() {
        try (Machine m = boot()) {
            Device dev = m.function(SID).dev();
            Printk.clear();
            try (Trace.Capture cap = Trace.capture("arm_smmu:cmdq_cmd")) {
                // No fault handler: a partial request is only logged, the last one answered FAILURE.
                m.smmu.armSmmuHandlePpr(m.smmu.smmu, ppr(SID, 0, false, true, false, false, 2, 0x4000));
                assertThat(cap.records()).isEmpty();
                m.smmu.armSmmuHandlePpr(m.smmu.smmu, ppr(SID, 0, false, true, false, true, 2, 0x5000));
                assertThat(cap.records()).singleElement().satisfies(r -> {
                    assertThat(r.message()).contains("op=PRI_RESP");
                    assertThat(r.message()).endsWith("cmd1=0x0000000000000002"); // FAILURE, PRG index 2
                });
            }
            assertThat(Printk.grep("nobody cared, disabling PRI")).hasSize(2);
            assertThat(dev).isNotNull();
        }
    }

    @Test
    void aPriQueueOverflowDiscardsThePartialGroups() {
        try (Machine m = boot()) {
            Device dev = m.function(SID).dev();
            assertThat(Iommu.iommuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_IOPF)).isZero();
            assertThat(Iommu.iommuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_SVA)).isZero();
            // The PRI queue's interrupt off (GERROR and EVTQ stay on): requests pile up.
            long smmuBase = 0x0905_0000L;
            m.board.mmio.write(smmuBase + ARM_SMMU_IRQ_CTRL, IRQ_CTRL_GERROR_IRQEN | IRQ_CTRL_EVTQ_IRQEN, 4);
            // The first request of group 9, then Stop Markers until the queue overflows.
            m.smmuModel.pageRequest(new org.iommu4j.base.hw.PageRequest(SID, 3, true, false, false, true, false,
                    0x10000, 9, false));
            int entries = 1 << m.smmu.smmu.priq.llq.maxNShift;
            for (int i = 0; i < entries; i++) {
                m.smmuModel.pageRequest(new org.iommu4j.base.hw.PageRequest(SID, 3, true, false, false, false, false,
                        0, 1, true));
            }
            Printk.clear();
            m.smmu.armSmmuPriqThread(0, m.smmu.smmu);
            // Group 9's last request may have been lost: its partial request is dropped.
            assertThat(Printk.grep("PRIQ overflow detected -- requests lost")).hasSize(1);
            assertThat(IoPgfault.iopfNrPartial(dev)).isZero();
            m.board.irqs.quiesce();
        }
    }

    /**
     * The function wants the PASID on PRG Responses to PASID-tagged requests, so the driver sets
     * STE.PPAR. The SMMU (IDR3.PPS = 0) reads it when it answers a request lost to overflow
     * itself: the automatic Success carries the PASID, and the function takes it.
     */
    @Test
    void anOverflowAutoResponseCarriesThePasidTheFunctionRequiresBecauseTheDriverSetStePpar() {
        try (Machine m = boot()) {
            Bound b = bindWithPriqIrqOff(m, 1);
            PciEndpointModel ep = b.ep();
            int pasid = b.pasid();
            long ste = m.smmu.armSmmuGetStepForSid(m.smmu.smmu, SID);
            assertThat(m.board.mem.readq(ste + 8) & STRTAB_STE_1_PPAR).isNotZero();
            // The queue filled with Stop Markers: the next request overflows.
            int entries = 1 << m.smmu.smmu.priq.llq.maxNShift;
            for (int i = 0; i < entries; i++) {
                m.smmuModel.pageRequest(new org.iommu4j.base.hw.PageRequest(SID, pasid, true, false, false, false,
                        false, 0, 1, true));
            }
            try (Trace.Capture cap = Trace.capture("smmuv3_pri_auto_response")) {
                assertThat(ep.pageRequest(pasid, b.buf(), DmaTransaction.ACC_WRITE)).isZero();
                assertThat(cap.records()).singleElement()
                        .satisfies(r -> assertThat(r.message()).contains("ssid=0x" + Integer.toHexString(pasid)));
            }
            assertThat(ep.unexpectedPrgIndexes()).isEmpty();
            assertThat(ep.priOutstanding()).isZero();
            assertThat(MmFault.pteOf(b.mm(), b.buf())).as("an automatic Success pages nothing in").isZero();
            Printk.clear();
            m.smmu.armSmmuPriqThread(0, m.smmu.smmu);
            assertThat(Printk.grep("PRIQ overflow detected -- requests lost")).hasSize(1);
            Iommu.iommuSvaUnbindDevice(b.handle());
            m.board.irqs.quiesce();
        }
    }

    /**
     * arm_smmu_flush_priq (seed 004) with a group in the PRI queue: it waits, without returning,
     * until the PRI queue thread has handed every request to the fault queue; the group is then
     * resolved and answered as usual.
     */
    @Test
    void flushingThePriQueueWaitsForTheRequestsInIt() throws Exception {
        try (Machine m = boot()) {
            Bound b = bindWithPriqIrqOff(m, 3);
            PciEndpointModel ep = b.ep();
            int pasid = b.pasid();
            long[] pages = {b.buf(), b.buf() + 4096, b.buf() + 2 * 4096};
            CompletableFuture<Integer> group = CompletableFuture
                    .supplyAsync(() -> ep.pageRequestGroup(pasid, pages, DmaTransaction.ACC_WRITE));
            awaitTrue(() -> m.smmuModel.priRecorded() == 3);
            CompletableFuture<Integer> flush = CompletableFuture
                    .supplyAsync(() -> m.smmu.armSmmuFlushPriq(m.smmu.smmu));
            awaitTrue(() -> {
                m.smmu.smmu.priqWqLock.lock();
                try {
                    return m.smmu.smmu.priqWqLock.hasWaiters(m.smmu.smmu.priqWq);
                } finally {
                    m.smmu.smmu.priqWqLock.unlock();
                }
            });
            assertThat(flush).as("waiting for the PRI queue thread").isNotDone();
            assertThat(group).isNotDone();

            m.smmu.armSmmuPriqThread(0, m.smmu.smmu);
            assertThat(flush.get(10, TimeUnit.SECONDS)).isZero();
            assertThat(group.get(10, TimeUnit.SECONDS)).isZero();
            for (long page : pages) {
                assertThat(MmFault.pteOf(b.mm(), page)).as("paged in").isNotZero();
            }
            assertThat(ep.unexpectedPrgIndexes()).isEmpty();
            Iommu.iommuSvaUnbindDevice(b.handle());
            m.board.irqs.quiesce();
        }
    }

    /** A function's Stop Marker goes through the PRI queue and the driver drops it: no response. */
    @Test
    void aStopMarkerFromTheFunctionIsDroppedByTheDriver() {
        try (Machine m = boot()) {
            Bound b = bind(m, 1, false);
            PciEndpointModel ep = b.ep();
            int pasid = b.pasid();
            try (Trace.Capture cap = Trace.capture("pcidev_pri_response")) {
                assertThat(ep.stopMarker(pasid)).isZero();
                m.board.irqs.quiesce();
                assertThat(m.smmuModel.priRecorded()).isEqualTo(1);
                assertThat(cap.records()).as("never answered").isEmpty();
            }
            assertThat(IoPgfault.iopfNrPartial(m.function(SID).dev())).isZero();
            assertThat(ep.unexpectedPrgIndexes()).isEmpty();
            Iommu.iommuSvaUnbindDevice(b.handle());
            m.board.irqs.quiesce();
        }
    }

    private record Bound(PciEndpointModel ep, Mm mm, long buf, IommuSva handle, int pasid) {}

    /** {@link #bind} with the PRI queue's interrupt off. */
    private static Bound bindWithPriqIrqOff(Machine m, int pages) {
        return bind(m, pages, true);
    }

    /**
     * The function at SID bound (IOPF, SVA) to a new process with {@code pages} pages mapped and
     * untouched; with {@code priqIrqOff} the PRI queue's interrupt is turned off, so that
     * requests wait in the queue.
     */
    private static Bound bind(Machine m, int pages, boolean priqIrqOff) {
        Device dev = m.function(SID).dev();
        assertThat(Iommu.iommuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_IOPF)).isZero();
        assertThat(Iommu.iommuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_SVA)).isZero();
        Mm mm = m.cpus.mmAlloc();
        long buf = Mmap.vmMmap(mm, 0, pages * 4096L, MmH.PROT_READ | MmH.PROT_WRITE,
                MmH.MAP_PRIVATE | MmH.MAP_ANONYMOUS);
        IommuSva handle = Iommu.iommuSvaBindDevice(dev, mm, null);
        if (priqIrqOff) {
            long smmuBase = 0x0905_0000L;
            m.board.mmio.write(smmuBase + ARM_SMMU_IRQ_CTRL, IRQ_CTRL_GERROR_IRQEN | IRQ_CTRL_EVTQ_IRQEN, 4);
        }
        return new Bound(m.function(SID).model(), mm, buf, handle, Iommu.iommuSvaGetPasid(handle));
    }

    /** Spins (no sleep) until {@code cond} holds, failing after ten seconds. */
    private static void awaitTrue(BooleanSupplier cond) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not reached in time").isLessThan(deadline);
            Thread.onSpinWait();
        }
    }

    @Test
    void anUnknownStreamIdIsAWarning() {
        try (Machine m = boot()) {
            m.smmu.armSmmuHandlePpr(m.smmu.smmu, ppr(0x77, 0, false, true, false, true, 1, 0x4000));
            assertThat(org.iommu4j.base.Warn.drain()).hasSize(1);
        }
    }
}
