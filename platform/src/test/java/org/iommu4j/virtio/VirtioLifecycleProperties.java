package org.iommu4j.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.iommu4j.base.Warn;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceRecord;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuDmaCookie;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuGroup;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciRegs;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.pci.hw.virtio.VirtioRngModel;
import org.iommu4j.of.Fdt;
import org.iommu4j.platform.Machine;
import org.iommu4j.platform.VirtioPci;
import org.iommu4j.smmuv3.ArmSmmuDomain;

/**
 * Run B's virtio functions through random sequences of hot-unplug
 * (pci_stop_and_remove_bus_device), rescan (pci_rescan_bus), unbinding (device_release_driver)
 * and binding again (device_attach), disk and rng reads, and removals of a function already
 * removed, each step checked against the simulated hardware as well as the kernel's structures.
 * An unbound function stays added, in its group with its STE translating, and a rescan leaves
 * it unbound (pci_bus_add_devices skips added functions); binding it again changes nothing in
 * the IOMMU.
 *
 * <ul>
 *   <li>a function is bound exactly when its STE, read from the stream table in simulated
 *       memory, is V=1 Config=stage-1 translate; a removed one's is V=1 Config=abort
 *       (disable_bypass);
 *   <li>a bound function is in an IOMMU group and on the virtio bus, under the lowest free group
 *       ID and virtio index at the time it was bound (iommu_group_ida, virtio_index_ida: a
 *       reference IDA here), as vda / virtio_rng.0; a removed one is in no group, on no bus,
 *       with no fwspec;
 *   <li>the disk reads the reference disk's bytes, the rng the generator's next bytes (each read
 *       consumes its stream, which a device reset does not rewind), with completions delivered
 *       on the function's MSI-X vectors;
 *   <li>every invalidation command (TLBI_*, CFGI_*, ATC_INV) is followed by a CMD_SYNC before the
 *       next DMA or MSI write any function sends;
 *   <li>no kernel WARN, no SMMU event, no GERROR;
 *   <li>a read maps and unmaps as many bytes (strict domain: no IOVA left mapped); a function
 *       bound again by a rescan has its ring at the boot's IOVA, the same number of IOVA ranges
 *       allocated and the boot's MSI-X message; MSI-X vectors have an action exactly while
 *       their function is bound.
 * </ul>
 *
 * <p>Each try boots QEMU's SMMU, the full one (the functions PCI Express ones with PASID, on
 * from arm_smmu_probe_device), or the full one with a root complex doing ATS: there the
 * functions have ATS on too while in their group (STE.EATS full, PASID enabled before ATS when a
 * rescan binds them), each unmap and the release add their ATC invalidations, and a removed
 * function has both off and its ATC empty.
 */
class VirtioLifecycleProperties {
    private static final int STE_CONFIG_ABORT = 0b000;
    private static final int STE_CONFIG_S1_TRANS = 0b101;
    private static final String MD5_16K = "60e24ea4b8d2da8d8d3aa152630e9f0d";
    private static final String MD5_1M = "53154684e7db82f6a99c39408ed03fd0";
    private static final int[] READ_KIB = {4, 16, 64, 1024};

    enum Kind { REMOVE_BLK, REMOVE_RNG, RESCAN, READ_DISK, READ_RNG, READ_RNG_NOWAIT, REMOVE_AGAIN, UNBIND_BLK, UNBIND_RNG, BIND }

    /** One step; {@code arg} picks the read size and offset, or which removed pci_dev to remove again. */
    record Step(Kind kind, int arg) {
        @Override
        public String toString() {
            return kind == Kind.READ_DISK || kind == Kind.REMOVE_AGAIN ? kind + "(" + arg + ")" : kind.toString();
        }
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        Arbitrary<Kind> kind = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just(Kind.REMOVE_BLK)),
                Tuple.of(3, Arbitraries.just(Kind.REMOVE_RNG)),
                Tuple.of(4, Arbitraries.just(Kind.RESCAN)),
                Tuple.of(3, Arbitraries.just(Kind.READ_DISK)),
                Tuple.of(3, Arbitraries.just(Kind.READ_RNG)),
                Tuple.of(1, Arbitraries.just(Kind.READ_RNG_NOWAIT)),
                Tuple.of(2, Arbitraries.just(Kind.REMOVE_AGAIN)),
                Tuple.of(1, Arbitraries.just(Kind.UNBIND_BLK)),
                Tuple.of(1, Arbitraries.just(Kind.UNBIND_RNG)),
                Tuple.of(2, Arbitraries.just(Kind.BIND)));
        return Combinators.combine(kind, Arbitraries.integers().between(0, 1023)).as(Step::new).list().ofMaxSize(12);
    }

    /** A virtio function of run B, as the test's reference model sees it. */
    private static final class Fn {
        final int sid;
        final String bdf;
        final int virtioId;
        boolean bound = true;
        /** Added to the bus, its driver released (echo > unbind): still in its group. */
        boolean unbound;
        PciDev dev;
        final List<PciDev> removed = new ArrayList<>();
        int virtioIndex;
        int groupId;
        // what the boot left
        long bootRingIova;
        int bootNrIovas;
        long bootMsixAddr;

        Fn(int sid, String bdf, int virtioId) {
            this.sid = sid;
            this.bdf = bdf;
            this.virtioId = virtioId;
        }
    }

    /** The lowest-free ID allocator every ida_simple_get here is (iommu_group_ida, virtio_index_ida). */
    private static int idaGet(BitSet ida) {
        int id = ida.nextClearBit(0);
        ida.set(id);
        return id;
    }

    /** Run B on the full SMMU with a root complex doing ATS: the functions have PASID and ATS enabled. */
    private boolean ats;
    /** The full SMMU: the functions are PCI Express ones with PASID (enabled at probe, with or without ATS). */
    private boolean pasid;

    /** The machine a try boots: QEMU's SMMU; the full one; the full one with a root complex doing ATS. */
    enum Variant { QEMU, FULL, FULL_ATS }
    private final List<String> violations = new ArrayList<>();
    private final Set<Integer> virqsSeen = new TreeSet<>();
    private long mapped;
    /** Where in the generator's stream the bytes of a no-wait read still unclaimed start, or -1. */
    private long rngPendingAt;
    private long unmapped;

    @Property(tries = 60, seed = "20261204")
    void theLifecycleKeepsHardwareAndKernelInStep(@ForAll("steps") List<Step> steps, @ForAll Variant variant) {
        this.ats = variant == Variant.FULL_ATS;
        this.pasid = variant != Variant.QEMU;
        violations.clear();
        virqsSeen.clear();
        pending.clear();
        Warn.drain();
        try (Machine m = pasid ? new Machine(Fdt.bundledVirtSmmuv3(), "full", ats, Machine.VirtioOptions.runB())
                : Machine.bootRunB()) {
            m.board.irqs.quiesce();
            Fn rng = new Fn(0x8, "0000:00:01.0", VirtioH.VIRTIO_ID_RNG);
            Fn blk = new Fn(0x10, "0000:00:02.0", VirtioH.VIRTIO_ID_BLOCK);
            List<Fn> fns = List.of(rng, blk); // bus order
            BitSet groupIda = new BitSet();
            BitSet virtioIda = new BitSet();
            for (Fn f : fns) {
                f.dev = m.function(f.sid).dev();
                f.groupId = idaGet(groupIda);
                f.virtioIndex = idaGet(virtioIda);
                VirtioDevice vdev = virtioDevice(m, f.virtioId);
                f.bootRingIova = vdev.vqs.get(0).queueDmaAddr;
                f.bootNrIovas = nrIovas(f.dev);
                PciEndpointModel model = m.function(f.sid).model();
                f.bootMsixAddr = msixAddr(model);
                virqsSeen.addAll(virqs(f.dev));
            }
            long rngConsumed = 0;
            rngPendingAt = -1;
            long rngBuf = VirtioRng.allocBuffer(m.virtio);
            long bootPages = m.pages.allocatedPages();
            assertThat(m.smmuModel.eventsRecorded()).isZero();
            checkInvariants(m, fns);

            try (Trace.Sink order = Trace.subscribe(Trace.filter("smmuv3:smmuv3_cmdq_opcode", "smmuv3:smmuv3_cmdq_tlbi",
                    "pcidev:pcidev_dma", "pcidev:pcidev_msi"), this::checkSyncedBeforeDma);
                    Trace.Sink maps = Trace.subscribe(Trace.filter("iommu:map", "iommu:unmap"), this::countMapped)) {
                for (Step step : steps) {
                    switch (step.kind()) {
                        case REMOVE_BLK -> remove(m, blk, virtioIda, groupIda);
                        case REMOVE_RNG -> {
                            remove(m, rng, virtioIda, groupIda);
                            rngPendingAt = -1; // what the device wrote goes with the driver
                        }
                        case REMOVE_AGAIN -> {
                            List<PciDev> stale = new ArrayList<>(rng.removed);
                            stale.addAll(blk.removed);
                            if (!stale.isEmpty()) {
                                assertRemovingDoesNothing(m, stale.get(step.arg() % stale.size()));
                            }
                        }
                        case RESCAN -> rescan(m, fns, virtioIda, groupIda);
                        case UNBIND_BLK -> unbind(m, blk, virtioIda);
                        case UNBIND_RNG -> {
                            unbind(m, rng, virtioIda);
                            rngPendingAt = -1;
                        }
                        case BIND -> bind(m, fns, virtioIda);
                        case READ_DISK -> {
                            if (blk.bound) {
                                readDisk(m, blk, step.arg());
                            }
                        }
                        case READ_RNG -> {
                            if (rng.bound && rngPendingAt >= 0) {
                                // the bytes of the buffer the no-wait read gave, no new request
                                VirtioRng.VirtrngInfo vi = VirtioRng.info(virtioDevice(m, rng.virtioId));
                                assertThat(m.virtioRng.virtioRead(vi, rngBuf, 32, true)).isEqualTo(32);
                                byte[] stream = VirtioRngModel.expected(0, (int) rngPendingAt + 32);
                                assertThat(m.board.mem.readBytes(rngBuf, 32))
                                        .isEqualTo(Arrays.copyOfRange(stream, (int) rngPendingAt, stream.length));
                                rngPendingAt = -1;
                            } else if (rng.bound) {
                                readRng(m, rng, rngBuf, rngConsumed);
                                rngConsumed += 32;
                            }
                        }
                        case READ_RNG_NOWAIT -> {
                            if (rng.bound) {
                                // virtio_read without wait: a buffer given if none is in flight, 0 returned
                                VirtioRng.VirtrngInfo vi = VirtioRng.info(virtioDevice(m, rng.virtioId));
                                int vqVirq = virqs(rng.dev).get(1);
                                long irqs = m.board.irqs.count(vqVirq);
                                assertThat(m.virtioRng.virtioRead(vi, rngBuf, 32, false)).isZero();
                                m.board.irqs.quiesce();
                                if (rngPendingAt < 0) {
                                    assertThat(m.board.irqs.count(vqVirq)).isGreaterThan(irqs);
                                    rngPendingAt = rngConsumed;
                                    rngConsumed += 32;
                                }
                            }
                        }
                    }
                    m.board.irqs.quiesce();
                    checkInvariants(m, fns);
                }
            }
            // the generator gave exactly what the reads consumed: no read the test did not make
            assertThat(((VirtioRngModel) m.virtioProxies.get(rng.sid).device()).bytesGiven()).isEqualTo(rngConsumed);

            // nothing leaked in memory: with both functions removed and found again, every page
            // the sequence allocated (rings, tables, domains, CD tables, driver state) is back
            try (Trace.Sink order = Trace.subscribe(Trace.filter("smmuv3:smmuv3_cmdq_opcode", "smmuv3:smmuv3_cmdq_tlbi",
                    "pcidev:pcidev_dma", "pcidev:pcidev_msi"), this::checkSyncedBeforeDma);
                    Trace.Sink maps = Trace.subscribe(Trace.filter("iommu:map", "iommu:unmap"), this::countMapped)) {
                for (Fn f : fns) {
                    remove(m, f, virtioIda, groupIda);
                }
                rescan(m, fns, virtioIda, groupIda);
                checkInvariants(m, fns);
                assertThat(m.pages.allocatedPages()).as("pages allocated").isEqualTo(bootPages);
                readDisk(m, blk, 1);
                readRng(m, rng, rngBuf, rngConsumed);
                checkInvariants(m, fns);
            }
        }
    }

    private void remove(Machine m, Fn f, BitSet virtioIda, BitSet groupIda) {
        if (f.unbound) {
            // no driver to remove: only the IOMMU's release (with ATS, arm_smmu_disable_ats' ATC
            // invalidation first), then the group's domain freed
            List<String> ops = new ArrayList<>();
            try (Trace.Sink sink = Trace.subscribe(Trace.filter("smmuv3:smmuv3_cmdq_opcode"),
                    r -> ops.add((String) r.field("cmd")))) {
                m.pci.pciStopAndRemoveBusDevice(f.dev);
                m.board.irqs.quiesce();
            }
            List<String> want = new ArrayList<>();
            if (ats) {
                want.addAll(List.of("CMD_ATC_INV", "CMD_SYNC"));
            }
            want.addAll(List.of("CMD_CFGI_STE", "CMD_SYNC", "CMD_TLBI_NH_ASID", "CMD_SYNC"));
            assertThat(ops).as("%s removal after unbind", f.bdf).isEqualTo(want);
            f.removed.add(f.dev);
            f.unbound = false;
            groupIda.clear(f.groupId);
            return;
        }
        if (!f.bound) {
            assertRemovingDoesNothing(m, f.dev);
            return;
        }
        PciDev dev = f.dev;
        VirtioDevice vdev = virtioDevice(m, f.virtioId);
        long ringIova = vdev.vqs.get(0).queueDmaAddr;
        IommuDomain domain = Iommu.iommuGetDomainForDev(dev);
        List<String> ops = new ArrayList<>();
        List<Long> tlbiVa = new ArrayList<>();
        commandsOf(m, () -> m.pci.pciStopAndRemoveBusDevice(dev), ops, tlbiVa);
        // v5.15's order: the ring unmapped (strict: TLBI by VA, synced, then with ATS the
        // domain's ATC invalidation, synced), with ATS arm_smmu_disable_ats' ATC invalidation of
        // the master, the STE left aborting (CFGI_STE, synced), the group's domain freed (TLBI
        // by ASID, synced)
        if (ats) {
            assertThat(ops).as("%s removal", f.bdf).containsExactly("CMD_TLBI_NH_VA", "CMD_SYNC", "CMD_ATC_INV", "CMD_SYNC",
                    "CMD_ATC_INV", "CMD_SYNC", "CMD_CFGI_STE", "CMD_SYNC", "CMD_TLBI_NH_ASID", "CMD_SYNC");
        } else {
            assertThat(ops).as("%s removal", f.bdf).containsExactly("CMD_TLBI_NH_VA", "CMD_SYNC", "CMD_CFGI_STE", "CMD_SYNC",
                    "CMD_TLBI_NH_ASID", "CMD_SYNC");
        }
        assertThat(tlbiVa).containsExactly(ringIova);
        assertThat(Iommu.iommuIovaToPhys(domain, ringIova)).isZero();
        f.removed.add(dev);
        f.bound = false;
        virtioIda.clear(f.virtioIndex);
        groupIda.clear(f.groupId);
    }

    /**
     * Runs {@code action} and collects the commands the SMMU consumed meanwhile ({@code ops}, by
     * name) and the addresses of its TLBI_NH_VAs ({@code tlbiVa}), once its interrupts are handled.
     */
    private static void commandsOf(Machine m, Runnable action, List<String> ops, List<Long> tlbiVa) {
        try (Trace.Capture cap = Trace.capture("smmuv3:smmuv3_cmdq_opcode", "smmuv3:smmuv3_cmdq_tlbi")) {
            action.run();
            m.board.irqs.quiesce();
            for (TraceRecord r : cap.records()) {
                if (r.event().name().equals("smmuv3_cmdq_opcode")) {
                    ops.add((String) r.field("cmd"));
                } else if ("CMD_TLBI_NH_VA".equals(r.field("cmd"))) {
                    tlbiVa.add(r.longField("addr"));
                }
            }
        }
    }

    /**
     * device_release_driver (echo > unbind): the driver's whole teardown (the ring unmapped:
     * TLBI_NH_VA, synced, and with ATS the domain's ATC invalidation, synced), while the
     * function stays in its group with its default domain, STE and ATS.
     */
    private void unbind(Machine m, Fn f, BitSet virtioIda) {
        if (!f.bound) {
            return;
        }
        long ringIova = virtioDevice(m, f.virtioId).vqs.get(0).queueDmaAddr;
        List<String> ops = new ArrayList<>();
        List<Long> tlbiVa = new ArrayList<>();
        commandsOf(m, () -> m.pci.pciBusType.deviceReleaseDriver(f.dev), ops, tlbiVa);
        assertThat(ops).as("%s unbind", f.bdf).isEqualTo(ats ? List.of("CMD_TLBI_NH_VA", "CMD_SYNC", "CMD_ATC_INV", "CMD_SYNC")
                : List.of("CMD_TLBI_NH_VA", "CMD_SYNC"));
        assertThat(tlbiVa).containsExactly(ringIova);
        assertThat(Iommu.iommuIovaToPhys(Iommu.iommuGetDomainForDev(f.dev), ringIova)).isZero();
        f.bound = false;
        f.unbound = true;
        virtioIda.clear(f.virtioIndex);
    }

    /**
     * device_attach of each unbound function, in bus order (echo to bind): virtio-pci probes it
     * again in the group and domain it kept (really_probe's dma_configure finds it IOMMU-mapped:
     * no new group, no STE write); it takes the lowest free virtio index.
     */
    private void bind(Machine m, List<Fn> fns, BitSet virtioIda) {
        for (Fn f : fns) {
            if (!f.unbound) {
                continue;
            }
            List<String> ops = new ArrayList<>();
            try (Trace.Sink sink = Trace.subscribe(Trace.filter("smmuv3:smmuv3_cmdq_opcode", "iommu:add_device_to_group"),
                    r -> ops.add(r.event().name().equals("smmuv3_cmdq_opcode") ? (String) r.field("cmd") : r.message()))) {
                assertThat(m.pci.pciBusType.deviceAttach(f.dev)).as("%s bound", f.bdf).isEqualTo(1);
                m.board.irqs.quiesce();
            }
            assertThat(ops).as("%s bind: no IOMMU reconfiguration", f.bdf).isEmpty();
            f.unbound = false;
            f.bound = true;
            f.virtioIndex = idaGet(virtioIda);
            virqsSeen.addAll(virqs(f.dev));
        }
    }

    /** pci_stop_and_remove_bus_device of a pci_dev no longer added nor registered: nothing happens. */
    private static void assertRemovingDoesNothing(Machine m, PciDev stale) {
        int lines = m.dmesg.size();
        try (Trace.Capture cap = Trace.capture("smmuv3:smmuv3_cmdq_opcode", "iommu:*", "virtio:*", "pcidev:*")) {
            m.pci.pciStopAndRemoveBusDevice(stale);
            assertThat(cap.records()).as("removing %s again", stale.devName()).isEmpty();
        }
        assertThat(m.dmesg).hasSize(lines);
    }

    private void rescan(Machine m, List<Fn> fns, BitSet virtioIda, BitSet groupIda) {
        boolean any = fns.stream().anyMatch(f -> !f.bound && !f.unbound);
        List<TraceRecord> cfgWrites;
        try (Trace.Capture cap = Trace.capture("smmuv3:smmuv3_cmdq_opcode", "iommu:*");
                Trace.Capture cfg = Trace.capture("pcidev:pcidev_cfg_write")) {
            m.pciRescan();
            m.board.irqs.quiesce();
            if (!any) {
                assertThat(cap.records()).as("a rescan with nothing removed").isEmpty();
            }
            cfgWrites = cfg.records();
        }
        // bound in bus order, each taking the lowest free IDs then
        for (Fn f : fns) {
            if (f.bound || f.unbound) {
                // an added function is left as it is (pci_bus_add_devices skips it): an unbound one stays so
                assertThat(m.function(f.sid).dev()).isSameAs(f.dev);
                if (f.unbound) {
                    assertThat(f.dev.driver).isNull();
                }
                continue;
            }
            PciDev dev = m.function(f.sid).dev();
            assertThat(dev).isNotIn(f.removed);
            f.dev = dev;
            f.bound = true;
            f.groupId = idaGet(groupIda);
            f.virtioIndex = idaGet(virtioIda);
            // no IOVA space carried over: a new domain allocating as the boot's did
            VirtioDevice vdev = virtioDevice(m, f.virtioId);
            assertThat(vdev.vqs.get(0).queueDmaAddr).as("%s ring IOVA", f.bdf).isEqualTo(f.bootRingIova);
            assertThat(nrIovas(dev)).as("%s IOVA ranges", f.bdf).isEqualTo(f.bootNrIovas);
            PciEndpointModel model = m.function(f.sid).model();
            // the doorbell at the boot's IOVA; the data (the ITS's machine-wide event space, see
            // IrqGicV3Its) may be another block if the other function gave its own back meanwhile
            assertThat(msixAddr(model)).isEqualTo(f.bootMsixAddr);
            virqsSeen.addAll(virqs(dev));
            if (pasid) {
                // PASID enabled before ATS (arm_smmu_probe_device, then the attach's
                // arm_smmu_enable_ats), as PCIe 10.5.1.3 asks, one write each
                int atsCtrl = model.atsCapOffset() + PciRegs.PCI_ATS_CTRL;
                int pasidCtrl = model.pasidCapOffset() + PciRegs.PCI_PASID_CTRL;
                List<String> writes = new ArrayList<>();
                for (TraceRecord r : cfgWrites) {
                    long off = r.longField("off");
                    if (model.name().equals(r.field("dev")) && (off == atsCtrl || off == pasidCtrl)) {
                        writes.add((off == atsCtrl ? "ATS " : "PASID ") + (r.longField("val") & (off == atsCtrl
                                ? PciRegs.PCI_ATS_CTRL_ENABLE : PciRegs.PCI_PASID_CTRL_ENABLE)));
                    }
                }
                assertThat(writes).isEqualTo(ats ? List.of("PASID " + PciRegs.PCI_PASID_CTRL_ENABLE, "ATS " + PciRegs.PCI_ATS_CTRL_ENABLE)
                        : List.of("PASID " + PciRegs.PCI_PASID_CTRL_ENABLE));
            }
        }
    }

    private void readDisk(Machine m, Fn blk, int arg) {
        int kib = READ_KIB[arg % READ_KIB.length];
        // 16 KiB and 1 MiB from the start: the reference's md5s; other sizes anywhere that fits
        long offset = kib == 16 || kib == 1024 ? 0 : (long) (arg / READ_KIB.length) % (1024 - kib + 1) * 1024;
        VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(virtioDevice(m, blk.virtioId));
        int reqVirq = virqs(blk.dev).get(1);
        long irqs = m.board.irqs.count(reqVirq);
        long map0 = mapped;
        long unmap0 = unmapped;
        byte[] got = new byte[kib * 1024];
        assertThat(m.virtioBlk.virtblkRead(vblk, offset, got)).isZero();
        m.board.irqs.quiesce();
        byte[] want = Arrays.copyOfRange(Machine.referenceDisk(), (int) offset, (int) offset + got.length);
        assertThat(VirtioRunBTest.md5(got)).as("%d KiB at %d", kib, offset).isEqualTo(VirtioRunBTest.md5(want));
        if (kib == 16) {
            assertThat(VirtioRunBTest.md5(got)).isEqualTo(MD5_16K);
        } else if (kib == 1024) {
            assertThat(VirtioRunBTest.md5(got)).isEqualTo(MD5_1M);
        }
        assertThat(m.board.irqs.count(reqVirq)).as("completions on the request vector").isGreaterThan(irqs);
        assertThat(mapped - map0).as("bytes mapped and unmapped by the read").isPositive().isEqualTo(unmapped - unmap0);
    }

    private static void readRng(Machine m, Fn rng, long buf, long consumed) {
        VirtioRng.VirtrngInfo vi = VirtioRng.info(virtioDevice(m, rng.virtioId));
        int vqVirq = virqs(rng.dev).get(1);
        long irqs = m.board.irqs.count(vqVirq);
        assertThat(m.virtioRng.virtioRead(vi, buf, 32, true)).isEqualTo(32);
        m.board.irqs.quiesce();
        byte[] stream = VirtioRngModel.expected(0, (int) consumed + 32);
        assertThat(m.board.mem.readBytes(buf, 32)).isEqualTo(Arrays.copyOfRange(stream, (int) consumed, stream.length));
        assertThat(m.board.irqs.count(vqVirq)).as("completion on the rng's vq vector").isGreaterThan(irqs);
    }

    private void checkInvariants(Machine m, List<Fn> fns) {
        Set<Integer> live = new TreeSet<>();
        int boundCount = 0;
        for (Fn f : fns) {
            PciEndpointModel model = m.function(f.sid).model();
            long ste0 = m.board.mem.readq(m.smmu.armSmmuGetStepForSid(m.smmu.smmu, f.sid));
            assertThat(ste0 & 1).as("%s STE.V", f.bdf).isEqualTo(1);
            int config = (int) (ste0 >>> 1) & 0b111;
            VirtioDevice vdev = virtioDevice(m, f.virtioId);
            if (f.bound) {
                boundCount++;
                assertThat(config).as("%s STE.Config", f.bdf).isEqualTo(STE_CONFIG_S1_TRANS);
                assertThat(m.function(f.sid).dev()).isSameAs(f.dev);
                assertThat(f.dev.devName()).isEqualTo(f.bdf);
                assertThat(f.dev.driver).isNotNull();
                assertThat(f.dev.driver.name()).isEqualTo("virtio-pci");
                assertThat(m.pci.pciBusType.devices()).contains(f.dev);
                IommuGroup g = Iommu.iommuGroupGet(f.dev);
                assertThat(g).as("%s group", f.bdf).isNotNull();
                Iommu.iommuGroupPut(g);
                assertThat(g.iommuGroupId()).isEqualTo(f.groupId);
                assertThat(vdev).as("%s on the virtio bus", f.bdf).isNotNull();
                assertThat(m.virtio.virtioDeviceIsRegistered(vdev)).isTrue();
                assertThat(vdev.devName()).isEqualTo("virtio" + f.virtioIndex);
                assertThat(VirtioPciDevice.toVpDevice(vdev).pciDev).isSameAs(f.dev);
                if (f.virtioId == VirtioH.VIRTIO_ID_BLOCK) {
                    assertThat(VirtioBlk.blk(vdev).diskName).isEqualTo("vda");
                } else {
                    assertThat(VirtioRng.info(vdev).name).isEqualTo("virtio_rng.0");
                }
                assertThat(model.msixEnabled()).isTrue();
                assertThat(f.dev.msixEnabled).isTrue();
                long ste1 = m.board.mem.readq(m.smmu.armSmmuGetStepForSid(m.smmu.smmu, f.sid) + 8);
                // STE.EATS (word 1 [29:28]) full ATS exactly when the function has ATS on, PASID before it
                assertThat((int) (ste1 >>> 28) & 3).as("%s STE.EATS", f.bdf).isEqualTo(ats ? 1 : 0);
                assertThat(model.atsEnabled()).isEqualTo(ats);
                assertThat(model.pasidEnabled()).isEqualTo(pasid);
                assertThat(msixAddr(model)).isEqualTo(f.bootMsixAddr);
                live.addAll(virqs(f.dev));
            } else if (f.unbound) {
                // still in its group, its default domain attached: the STE translating, ATS on
                assertThat(config).as("%s STE.Config", f.bdf).isEqualTo(STE_CONFIG_S1_TRANS);
                assertThat(m.function(f.sid).dev()).isSameAs(f.dev);
                assertThat(f.dev.driver).isNull();
                assertThat(m.pci.pciBusType.devices()).contains(f.dev);
                IommuGroup g = Iommu.iommuGroupGet(f.dev);
                assertThat(g).as("%s group", f.bdf).isNotNull();
                Iommu.iommuGroupPut(g);
                assertThat(g.iommuGroupId()).isEqualTo(f.groupId);
                assertThat(vdev).as("%s on the virtio bus", f.bdf).isNull();
                assertThat(model.msixEnabled()).isFalse();
                assertThat(f.dev.msiList).isEmpty();
                assertThat(model.configRead(PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_MASTER).isZero();
                assertThat(model.atsEnabled()).isEqualTo(ats);
                assertThat(model.pasidEnabled()).isEqualTo(pasid);
            } else {
                assertThat(config).as("%s STE.Config", f.bdf).isEqualTo(STE_CONFIG_ABORT);
                assertThat(vdev).as("%s on the virtio bus", f.bdf).isNull();
                assertThat(model.msixEnabled()).isFalse();
                assertThat(model.configRead(PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_MASTER).isZero();
                assertThat(model.atsEnabled()).isFalse();
                assertThat(model.pasidEnabled()).isFalse();
                assertThat(model.atcEntries()).isZero();
            }
            for (PciDev old : f.removed) {
                if (f.bound || f.unbound) {
                    assertThat(old).isNotSameAs(f.dev);
                }
                assertThat(Iommu.iommuGroupGet(old)).as("removed %s group", f.bdf).isNull();
                assertThat(DevIommu.devIommuFwspecGet(old)).isNull();
                assertThat(old.driver).isNull();
                assertThat(old.msixEnabled).isFalse();
                assertThat(old.msiList).isEmpty();
                assertThat(m.pci.pciBusType.devices()).doesNotContain(old);
            }
        }
        assertThat(m.virtio.devices).hasSize(boundCount);
        // each bound function's vectors send their own data values
        Set<Long> data = new TreeSet<>();
        int vectors = 0;
        for (Fn f : fns) {
            if (f.bound) {
                PciEndpointModel model = m.function(f.sid).model();
                for (int e = 0; e < f.dev.msiList.size(); e++) {
                    data.add(model.barRead(VirtioPci.MSIX_BAR, 16L * e + 8, 4));
                    vectors++;
                }
            }
        }
        assertThat(data).as("MSI-X data values").hasSize(vectors);
        for (int virq : virqsSeen) {
            assertThat(m.board.irqs.hasAction(virq)).as("virq %d has an action", virq).isEqualTo(live.contains(virq));
        }
        assertThat(Warn.drain()).as("kernel warnings").isEmpty();
        assertThat(m.smmuModel.eventsRecorded()).as("SMMU events").isZero();
        assertThat(m.smmuModel.gerrorActive()).as("GERROR").isZero();
        synchronized (this) {
            assertThat(violations).as("invalidations not synced before a DMA").isEmpty();
        }
        noInvalidationLeftUnsynced();
        recordAsids(m, fns);
    }

    // ---- trace sinks (on the emitting thread) ----

    /** An invalidation a thread has issued and not yet synced; {@code asid} and the range only for TLBI_NH_VA. */
    private record Pending(String cmd, int asid, long addr, long bytes) {}

    /** Per thread (the SMMU consumes commands on the thread that writes CMDQ_PROD): its unsynced invalidations. */
    private final Map<Thread, List<Pending>> pending = new HashMap<>();
    /** The ASID of each function's default domain, by its model's name (what pcidev_* events carry). */
    private final Map<String, Integer> asidOf = new HashMap<>();

    /**
     * An invalidation is complete only at the CMD_SYNC after it. Two things may not happen before
     * that sync: the issuing thread going on to make a device DMA (v5.15 submits the TLBI and its
     * sync as one batch and waits), and any DMA by a function to a page whose TLBI_NH_VA for its
     * domain's ASID is still pending (it could use the stale translation). A DMA of another
     * thread elsewhere meanwhile is what real hardware sees too, and allowed.
     */
    private synchronized void checkSyncedBeforeDma(TraceRecord r) {
        Thread t = Thread.currentThread();
        switch (r.event().name()) {
            case "smmuv3_cmdq_opcode" -> {
                String cmd = (String) r.field("cmd");
                if (cmd.equals("CMD_SYNC")) {
                    pending.remove(t);
                } else if (cmd.startsWith("CMD_TLBI_") || cmd.startsWith("CMD_CFGI_") || cmd.equals("CMD_ATC_INV")) {
                    pending.computeIfAbsent(t, k -> new ArrayList<>()).add(new Pending(cmd, -1, 0, 0));
                }
            }
            case "smmuv3_cmdq_tlbi" -> {
                if ("CMD_TLBI_NH_VA".equals(r.field("cmd"))) {
                    List<Pending> mine = pending.get(t);
                    long pages = Math.max(1, r.longField("pages"));
                    mine.set(mine.size() - 1, new Pending("CMD_TLBI_NH_VA", (int) r.longField("asid"),
                            r.longField("addr") & ~0xfffL, pages << 12));
                }
            }
            default -> { // a DMA or an MSI write by a function
                List<Pending> mine = pending.get(t);
                if (mine != null) {
                    violations.add(mine + " then, on the same thread, " + r.event().name() + " " + r.message());
                }
                long iova = r.event().name().equals("pcidev_dma") ? r.longField("iova") : r.longField("addr");
                Integer asid = asidOf.get((String) r.field("dev"));
                for (var e : pending.entrySet()) {
                    for (Pending p : e.getValue()) {
                        if (asid != null && p.asid() == asid && Long.compareUnsigned(iova - p.addr(), p.bytes()) < 0) {
                            violations.add(p + " pending on " + e.getKey().getName() + " while " + r.message());
                        }
                    }
                }
            }
        }
    }

    private synchronized void noInvalidationLeftUnsynced() {
        assertThat(pending).as("invalidations never synced").isEmpty();
    }

    private synchronized void recordAsids(Machine m, List<Fn> fns) {
        asidOf.clear();
        for (Fn f : fns) {
            if (f.bound) {
                var d = (ArmSmmuDomain) Iommu.iommuGetDomainForDev(f.dev);
                asidOf.put(m.function(f.sid).model().name(), d.s1Cfg.cd.asid);
            }
        }
    }

    private synchronized void countMapped(TraceRecord r) {
        if (r.event().name().equals("map")) {
            mapped += r.longField("size");
        } else {
            unmapped += r.longField("unmapped_size");
        }
    }

    // ---- helpers ----

    private static VirtioDevice virtioDevice(Machine m, int id) {
        for (VirtioDevice d : m.virtio.devices) {
            if (d.idDevice == id) {
                return d;
            }
        }
        return null;
    }

    /** The Linux IRQ numbers of the function's MSI-X vectors, in entry order. */
    private static List<Integer> virqs(PciDev dev) {
        List<Integer> out = new ArrayList<>();
        for (var desc : dev.msiList) {
            out.add(desc.irq);
        }
        return out;
    }

    /** MSI-X table entry 0's message address, as the function holds it. */
    private static long msixAddr(PciEndpointModel model) {
        return model.barRead(VirtioPci.MSIX_BAR, 0, 4) | model.barRead(VirtioPci.MSIX_BAR, 4, 4) << 32;
    }

    /** IOVA ranges allocated in the function's default DMA domain. */
    private static int nrIovas(PciDev dev) {
        IommuDomain d = Iommu.iommuGetDomainForDev(dev);
        return ((IommuDmaCookie) d.iovaCookie).iovad.nrIovas();
    }
}
