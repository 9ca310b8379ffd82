package org.iommu4j.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.IoMem;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceRecord;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuGroup;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciMsi;
import org.iommu4j.pci.PciRegs;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.platform.Machine;
import org.junit.jupiter.api.Test;

/**
 * Hot-unplug of run B's virtio functions as v5.15 does it (pci_stop_and_remove_bus_device): the
 * driver's remove first (virtio_pci_remove: unregister_virtio_device, whose virtio_dev_remove
 * runs virtblk_remove / virtrng_remove: reset, then vp_del_vqs frees the rings through the
 * strict DMA domain and the MSI-X vectors; then the windows unmapped and the function
 * disabled), then device_del, whose BUS_NOTIFY_REMOVED_DEVICE makes the IOMMU core release the
 * device: arm_smmu_release_device leaves the StreamID's STE aborting (disable_bypass) with
 * CFGI_STE + CMD_SYNC, and the emptied group goes with its default domain (TLBI_NH_ASID).
 */
class VirtioRemoveTest {
    /** STE word 0: V is bit 0, Config bits [3:1] (SMMUv3 5.2); the encodings the architecture gives them. */
    private static final long STE_V = 1;
    private static final int STE_CONFIG_ABORT = 0b000;
    private static final int STE_CONFIG_S1_TRANS = 0b101;

    private static long steWord0(Machine m, int sid) {
        return m.board.mem.readq(m.smmu.armSmmuGetStepForSid(m.smmu.smmu, sid));
    }

    private static int steConfig(long ste0) {
        return (int) (ste0 >>> 1) & 0b111;
    }

    /** One command as the SMMU model consumed it: its opcode, the TLBI address, the StreamID, the device status then. */
    private record Cmd(String op, long addr, long sid, int blkStatus) {}

    @Test
    void removingVirtioBlkResetsItFreesItsRingsAndVectorsAndLeavesItsStreamAborting() {
        try (Machine m = Machine.bootRunB()) {
            Machine.PciFunction f = m.function(0x10);
            PciDev pdev = f.dev();
            PciEndpointModel model = f.model();
            var proxy = m.virtioProxies.get(0x10);
            VirtioDevice blkDev = m.virtio.devices.get(1);
            assertThat(blkDev.devName()).isEqualTo("virtio1");
            VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(blkDev);
            byte[] first = new byte[16384];
            assertThat(m.virtioBlk.virtblkRead(vblk, 0, first)).isZero();
            assertThat(VirtioRunBTest.md5(first)).isEqualTo("60e24ea4b8d2da8d8d3aa152630e9f0d");
            m.board.irqs.quiesce();

            // what the removal will have to undo
            Virtqueue vq = blkDev.vqs.get(0);
            long ringIova = vq.queueDmaAddr;
            long ringPa = vq.desc;
            long ringBytes = vq.queueSizeInBytes;
            assertThat(ringIova).isNotEqualTo(ringPa); // mapped through the DMA domain
            int[] virqs = {PciMsi.pciIrqVector(pdev, 0), PciMsi.pciIrqVector(pdev, 1)};
            for (int virq : virqs) {
                assertThat(m.board.irqs.hasAction(virq)).isTrue();
            }
            assertThat(model.msixEnabled()).isTrue();
            int msixBar = org.iommu4j.platform.VirtioPci.MSIX_BAR;
            assertThat(model.barRead(msixBar, 0, 4) | model.barRead(msixBar, 4, 4)).isNotZero(); // entry 0's address
            assertThat(steConfig(steWord0(m, 0x10))).isEqualTo(STE_CONFIG_S1_TRANS);
            IommuGroup group = Iommu.iommuGroupGet(pdev);
            Iommu.iommuGroupPut(group);
            assertThat(group.iommuGroupId()).isEqualTo(1);
            IoMem common = VirtioPciDevice.toVpDevice(blkDev).mdev.common;
            assertThat(pdev.resource[1].parent).isNotNull();
            assertThat(pdev.resource[4].parent).isNotNull();
            // vp_modern_probe claimed the modern BAR (pci_request_selected_regions)
            assertThat(pdev.resource[4].child).isNotNull().satisfies(r -> assertThat(r.name).isEqualTo("virtio-pci-modern"));
            Warn.drain();

            List<Cmd> cmds = new ArrayList<>();
            List<String> iommuEvents = new ArrayList<>();
            try (Trace.Sink sink = Trace.subscribe(Trace.filter("smmuv3:smmuv3_cmdq_opcode", "smmuv3:smmuv3_cmdq_tlbi",
                    "smmuv3:smmuv3_cmdq_cfgi_ste"), r -> record(cmds, r, proxy.status()));
                    Trace.Sink groups = Trace.subscribe(Trace.filter("iommu:remove_device_from_group", "iommu:unmap"),
                            r -> iommuEvents.add(r.event().name() + " " + r.message()))) {
                m.pci.pciStopAndRemoveBusDevice(pdev);
            }
            assertThat(Warn.drain()).isEmpty();

            // the driver's remove ran: the device was reset before its ring was unmapped; the
            // virtio core then acknowledged it again (virtio_dev_remove), and nothing more
            List<String> ops = cmds.stream().map(Cmd::op).toList();
            assertThat(ops).containsExactly("CMD_TLBI_NH_VA", "CMD_SYNC", "CMD_CFGI_STE", "CMD_SYNC", "CMD_TLBI_NH_ASID",
                    "CMD_SYNC");
            assertThat(cmds.get(0).blkStatus()).isZero();
            assertThat(proxy.status()).isEqualTo(VirtioH.VIRTIO_CONFIG_S_ACKNOWLEDGE);
            // the ring's IOVA, then the sync that completes its invalidation (strict mode)
            assertThat(cmds.get(0).addr()).isEqualTo(ringIova);
            assertThat(iommuEvents.get(0)).startsWith("unmap").contains(String.format("iova=0x%016x", ringIova))
                    .contains("size=" + ((ringBytes + 4095) & ~4095L) + " ");
            // the STE of the released stream, invalidated, then the emptied group's domain freed
            assertThat(cmds.get(2).sid()).isEqualTo(0x10);
            assertThat(iommuEvents).last().asString().startsWith("remove_device_from_group").contains("groupID=1");
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("pci 0000:00:02.0: Removing from iommu group 1"));

            // MSI-X off in the function's config space, its vectors gone
            int msix = model.msixCapOffset();
            assertThat(model.configRead(msix + PciRegs.PCI_MSIX_FLAGS, 2) & PciRegs.PCI_MSIX_FLAGS_ENABLE).isZero();
            assertThat(model.msixEnabled()).isFalse();
            assertThat(pdev.msixEnabled).isFalse();
            assertThat(pdev.msiList).isEmpty();
            for (int virq : virqs) {
                assertThat(m.board.irqs.hasAction(virq)).isFalse();
            }
            // each entry masked (pci_msix_shutdown), then its message zeroed (msi_domain_deactivate)
            for (int e = 0; e < 2; e++) {
                assertThat(model.barRead(msixBar, 16 * e, 4)).isZero();
                assertThat(model.barRead(msixBar, 16 * e + 4, 4)).isZero();
                assertThat(model.barRead(msixBar, 16 * e + 8, 4)).isZero();
                assertThat(model.barRead(msixBar, 16 * e + 12, 4) & PciRegs.PCI_MSIX_ENTRY_CTRL_MASKBIT).isEqualTo(1);
            }
            // Bus Master Enable off (pci_disable_device), the windows unmapped
            assertThat(model.configRead(PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_MASTER).isZero();
            assertThat(Pci.pciIsEnabled(pdev)).isFalse();
            assertThat(common.mapped()).isFalse();

            // the STE: still valid, Config = abort (disable_bypass), no longer translating
            long ste0 = steWord0(m, 0x10);
            assertThat(ste0 & STE_V).isEqualTo(STE_V);
            assertThat(steConfig(ste0)).isEqualTo(STE_CONFIG_ABORT);

            // gone from the PCI bus, the virtio bus and the IOMMU
            assertThat(m.pci.pciBusType.devices()).doesNotContain(pdev);
            assertThat(pdev.pciBus.devices).doesNotContain(pdev);
            assertThat(m.virtio.devices).doesNotContain(blkDev);
            assertThat(m.virtio.virtioDeviceIsRegistered(blkDev)).isFalse();
            assertThat(blkDev.driver).isNull();
            assertThat(pdev.driver).isNull();
            assertThat(vblk.vdev).isNull();
            assertThat(Iommu.iommuGroupGet(pdev)).isNull();
            assertThat(DevIommu.devIommuFwspecGet(pdev)).isNull();
            assertThat(group.defaultDomain()).isNotNull(); // freed, not unlinked (iommu_group_release)
            // the group's ID is free again: the next group takes it
            IommuGroup next = m.iommu.iommuGroupAlloc();
            assertThat(next.iommuGroupId()).isEqualTo(1);
            Iommu.iommuGroupPut(next);
            // the BARs' resources are out of the host bridge's windows
            for (org.iommu4j.base.device.Resource r : pdev.resource) {
                assertThat(r.parent).isNull();
            }
            // vp_modern_remove gave the region back before (pci_release_selected_regions)
            assertThat(pdev.resource[4].child).isNull();

            // a DMA the function attempts now does not reach memory: without Bus Master Enable it
            // is never issued; a function that turns it back on by itself is aborted by the STE
            byte[] ringBefore = m.board.mem.readBytes(ringPa, 64);
            byte[] junk = new byte[64];
            Arrays.fill(junk, (byte) 0x5a);
            assertThat(model.dmaWrite(ringIova, junk)).isNotZero();
            model.configWrite(PciRegs.PCI_COMMAND, PciRegs.PCI_COMMAND_MASTER | PciRegs.PCI_COMMAND_MEMORY, 2);
            try (Trace.Capture cap = Trace.capture("smmuv3:smmuv3_translate_*")) {
                assertThat(model.dmaWrite(ringIova, junk)).isNotZero();
                assertThat(cap.records()).singleElement().satisfies(r -> {
                    assertThat(r.event().name()).isEqualTo("smmuv3_translate_abort");
                    assertThat(r.longField("sid")).isEqualTo(0x10);
                });
            }
            assertThat(m.board.mem.readBytes(ringPa, 64)).isEqualTo(ringBefore);

            // the other function is untouched: virtio-rng still reads through its STE
            VirtioDevice rng = m.virtio.devices.get(0);
            long buf = VirtioRng.allocBuffer(m.virtio);
            assertThat(m.virtioRng.virtioRead(VirtioRng.info(rng), buf, 32, true)).isEqualTo(32);
            assertThat(steConfig(steWord0(m, 0x8))).isEqualTo(STE_CONFIG_S1_TRANS);
        }
    }

    /**
     * Both functions removed, blk first: each leaves its STE aborting and its group freed; the
     * virtio indexes come back (unregister_virtio_device's ida_simple_remove), so a device
     * registered next is virtio1, then virtio0, as the lowest free index; so do the drivers' own
     * indexes (vd_index_ida: the next disk is vda again; rng_index_ida).
     */
    @Test
    void removingBothFunctionsGivesTheirIndexesBack() {
        try (Machine m = Machine.bootRunB()) {
            PciDev blk = m.function(0x10).dev();
            PciDev rng = m.function(0x8).dev();
            VirtioDevice rngDev = m.virtio.devices.get(0);
            var rngProxy = m.virtioProxies.get(0x8);
            VirtioRng.VirtrngInfo vi = VirtioRng.info(rngDev);
            long buf = VirtioRng.allocBuffer(m.virtio);
            assertThat(m.virtioRng.virtioRead(vi, buf, 16, true)).isEqualTo(16);
            long rngRingIova = rngDev.vqs.get(0).queueDmaAddr;
            Warn.drain();

            m.pci.pciStopAndRemoveBusDevice(blk);
            VirtioDevice second = registerTestDevice(m.virtio, VirtioH.VIRTIO_ID_BLOCK);
            assertThat(second.devName()).isEqualTo("virtio1");
            // the disk index went back too: the new disk is vda again
            assertThat(VirtioBlk.blk(second).diskName).isEqualTo("vda");

            List<Long> tlbiAddrs = new ArrayList<>();
            try (Trace.Capture cap = Trace.capture("smmuv3:smmuv3_cmdq_tlbi", "smmuv3:smmuv3_cmdq_cfgi_ste")) {
                m.pci.pciStopAndRemoveBusDevice(rng);
                for (TraceRecord r : cap.of("smmuv3_cmdq_tlbi")) {
                    if ("CMD_TLBI_NH_VA".equals(r.field("cmd"))) {
                        tlbiAddrs.add(r.longField("addr"));
                    }
                }
                assertThat(cap.of("smmuv3_cmdq_cfgi_ste")).singleElement()
                        .satisfies(r -> assertThat(r.longField("sid")).isEqualTo(0x8));
            }
            assertThat(Warn.drain()).isEmpty();
            // virtrng_remove: the read path sees the device gone, the ring was freed through the IOMMU
            assertThat(vi.hwrngRemoved).isTrue();
            assertThat(vi.busy).isFalse();
            assertThat(m.virtioRng.virtioRead(vi, buf, 16, true)).isEqualTo(-org.iommu4j.base.Errno.ENODEV);
            assertThat(tlbiAddrs).containsExactly(rngRingIova);
            assertThat(rngProxy.status()).isEqualTo(VirtioH.VIRTIO_CONFIG_S_ACKNOWLEDGE);
            for (int sid : new int[] {0x8, 0x10}) {
                long ste0 = steWord0(m, sid);
                assertThat(ste0 & STE_V).isEqualTo(STE_V);
                assertThat(steConfig(ste0)).isEqualTo(STE_CONFIG_ABORT);
            }
            assertThat(Iommu.iommuGroupGet(rng)).isNull();
            assertThat(m.virtio.devices).containsExactly(second);
            VirtioDevice third = registerTestDevice(m.virtio, VirtioH.VIRTIO_ID_RNG);
            assertThat(third.devName()).isEqualTo("virtio0");
            assertThat(VirtioRng.info(third).name).isEqualTo("virtio_rng.0");
            // both group IDs are free again
            IommuGroup g0 = m.iommu.iommuGroupAlloc();
            IommuGroup g1 = m.iommu.iommuGroupAlloc();
            assertThat(List.of(g0.iommuGroupId(), g1.iommuGroupId())).containsExactly(0, 1);
            Iommu.iommuGroupPut(g0);
            Iommu.iommuGroupPut(g1);
        }
    }

    /**
     * A function removed twice: the second pci_stop_and_remove_bus_device finds it neither added
     * (pci_stop_dev) nor registered (pci_destroy_dev) and does nothing: no driver call, no SMMU
     * command, no warning. The function without a driver (the host bridge's own, 00:00.0, StreamID
     * 0, no group) is only deleted: no IOMMU release to do, its STE untouched.
     */
    @Test
    void removingTwiceOrRemovingAnUnboundFunctionDoesNothingMore() {
        try (Machine m = Machine.bootRunB()) {
            PciDev blk = m.function(0x10).dev();
            Warn.drain();
            m.pci.pciStopAndRemoveBusDevice(blk);
            try (Trace.Capture cap = Trace.capture("smmuv3:smmuv3_cmdq_opcode", "iommu:*")) {
                m.pci.pciStopAndRemoveBusDevice(blk);
                assertThat(cap.records()).isEmpty();
            }
            assertThat(Warn.drain()).isEmpty();
            assertThat(m.virtio.devices).hasSize(1);

            PciDev root = m.function(0).dev();
            assertThat(root.driver).isNull();
            long ste0 = steWord0(m, 0);
            try (Trace.Capture cap = Trace.capture("smmuv3:smmuv3_cmdq_opcode", "iommu:*")) {
                m.pci.pciStopAndRemoveBusDevice(root);
                assertThat(cap.records()).isEmpty();
            }
            assertThat(Warn.drain()).isEmpty();
            assertThat(m.pci.pciBusType.devices()).extracting(Device::devName).containsExactly("0000:00:01.0");
            assertThat(steWord0(m, 0)).isEqualTo(ste0);
        }
    }

    /**
     * Unbinding first (device_release_driver: what {@code echo > unbind} does) runs the whole
     * driver teardown while the function stays on the bus in its group, its STE still
     * translating (v5.15 keeps the default domain attached); the later removal finds no driver
     * and only deletes it: the IOMMU release then leaves the STE aborting.
     */
    @Test
    void anUnboundVirtioFunctionIsOnlyDeletedAndReleasedFromTheIommu() {
        try (Machine m = Machine.bootRunB()) {
            PciDev blk = m.function(0x10).dev();
            var proxy = m.virtioProxies.get(0x10);
            Warn.drain();
            List<String> ops = new ArrayList<>();
            try (Trace.Sink sink = Trace.subscribe(Trace.filter("smmuv3:smmuv3_cmdq_opcode"), r -> ops.add((String) r.field("cmd")))) {
                m.pci.pciBusType.deviceReleaseDriver(blk);
                assertThat(ops).containsExactly("CMD_TLBI_NH_VA", "CMD_SYNC");
                assertThat(blk.driver).isNull();
                assertThat(blk.devGetDrvdata()).isNull();
                assertThat(proxy.status()).isEqualTo(VirtioH.VIRTIO_CONFIG_S_ACKNOWLEDGE);
                assertThat(m.virtio.devices).hasSize(1);
                assertThat(m.pci.pciBusType.devices()).contains(blk);
                assertThat(steConfig(steWord0(m, 0x10))).isEqualTo(STE_CONFIG_S1_TRANS);
                IommuGroup g = Iommu.iommuGroupGet(blk);
                assertThat(g).isNotNull();
                Iommu.iommuGroupPut(g);

                ops.clear();
                m.pci.pciStopAndRemoveBusDevice(blk);
                assertThat(ops).containsExactly("CMD_CFGI_STE", "CMD_SYNC", "CMD_TLBI_NH_ASID", "CMD_SYNC");
            }
            assertThat(steConfig(steWord0(m, 0x10))).isEqualTo(STE_CONFIG_ABORT);
            assertThat(Iommu.iommuGroupGet(blk)).isNull();
            assertThat(m.pci.pciBusType.devices()).doesNotContain(blk);
            assertThat(Warn.drain()).isEmpty();
        }
    }

    /**
     * Run A: nothing behind the virtio functions' BARs, the platform bound only the PCI side of
     * virtio-pci. Its removal undoes that (pci_disable_device) and the IOMMU side is the same:
     * STE aborting, group gone.
     */
    @Test
    void runAFunctionIsDisabledAndReleasedFromTheIommu() {
        try (Machine m = Machine.boot("qemu")) {
            Machine.PciFunction f = m.function(0x8);
            assertThat(Pci.pciIsEnabled(f.dev())).isTrue();
            m.pci.pciStopAndRemoveBusDevice(f.dev());
            assertThat(Pci.pciIsEnabled(f.dev())).isFalse();
            assertThat(f.model().configRead(PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_MASTER).isZero();
            assertThat(steConfig(steWord0(m, 0x8))).isEqualTo(STE_CONFIG_ABORT);
            assertThat(Iommu.iommuGroupGet(f.dev())).isNull();
            assertThat(Warn.drain()).isEmpty();
        }
    }

    /** A device on the test transport, registered on {@code virtio} (probed by its driver there). */
    private static VirtioDevice registerTestDevice(Virtio virtio, int id) {
        VirtioDevice vdev = virtio.allocDevice(null);
        vdev.config = new VirtioConfigV515Test.LoggingOps();
        vdev.idDevice = id;
        assertThat(virtio.registerVirtioDevice(vdev)).isZero();
        assertThat(vdev.vdriver).isNotNull();
        return vdev;
    }

    /** A driver whose remove logs what it sees, resetting the device or not. */
    private static VirtioDriver loggingDriver(List<String> log, boolean resets) {
        return new VirtioDriver() {
            @Override public String name() { return "test_drv"; }
            @Override public int deviceId() { return 42; }
            @Override public int[] featureTable() { return new int[0]; }
            @Override public int probe(VirtioDevice d) { return 0; }
            @Override public void remove(VirtioDevice d) {
                log.add("remove config_enabled=" + d.configEnabled + " status=" + d.config.getStatus(d));
                if (resets) {
                    d.config.reset(d);
                }
            }
        };
    }

    /**
     * virtio_dev_remove: configuration changes stop before the driver's remove; after it the
     * device is acknowledged again; the index goes back with unregister_virtio_device. A driver
     * that leaves the status non-zero gets the core's WARN_ON_ONCE. Unregistering a device that
     * is not registered WARNs and leaves the index alone (it may be another device's by then).
     */
    @Test
    void virtioDevRemoveDisablesConfigCallsRemoveAndAcknowledgesAgain() {
        Virtio virtio = new Virtio(null, null, null);
        List<String> log = new ArrayList<>();
        assertThat(virtio.registerVirtioDriver(loggingDriver(log, true))).isZero();
        VirtioDevice vdev = virtio.allocDevice(null);
        VirtioConfigV515Test.LoggingOps ops = new VirtioConfigV515Test.LoggingOps();
        vdev.config = ops;
        vdev.idDevice = 42;
        assertThat(virtio.registerVirtioDevice(vdev)).isZero();
        assertThat(vdev.configEnabled).isTrue();
        int ok = VirtioH.VIRTIO_CONFIG_S_ACKNOWLEDGE | VirtioH.VIRTIO_CONFIG_S_DRIVER | VirtioH.VIRTIO_CONFIG_S_DRIVER_OK;
        assertThat(ops.status).isEqualTo(ok);
        Warn.drain();
        ops.log.clear();

        virtio.unregisterVirtioDevice(vdev);
        assertThat(log).containsExactly("remove config_enabled=false status=" + ok);
        assertThat(ops.log).containsExactly("status " + VirtioH.VIRTIO_CONFIG_S_ACKNOWLEDGE);
        assertThat(Warn.drain()).isEmpty();
        assertThat(vdev.driver).isNull();
        assertThat(vdev.vdriver).isNull();
        assertThat(virtio.virtioDeviceIsRegistered(vdev)).isFalse();

        // the index is free: the next device is virtio0 again, bound to a driver that forgets the reset
        Virtio careless = new Virtio(null, null, null);
        careless.registerVirtioDriver(loggingDriver(log, false));
        VirtioDevice again = careless.allocDevice(null);
        VirtioConfigV515Test.LoggingOps ops2 = new VirtioConfigV515Test.LoggingOps();
        again.config = ops2;
        again.idDevice = 42;
        assertThat(careless.registerVirtioDevice(again)).isZero();
        VirtioDevice reused = virtio.allocDevice(null);
        reused.config = new VirtioConfigV515Test.LoggingOps();
        assertThat(virtio.registerVirtioDevice(reused)).isZero();
        assertThat(reused.devName()).isEqualTo("virtio0");
        careless.unregisterVirtioDevice(again);
        assertThat(Warn.drain()).singleElement().asString().contains("WARN_ON_ONCE").contains("virtioDevRemove");

        // unregistered twice: a warning, and virtio0's index stays taken by `reused`
        virtio.unregisterVirtioDevice(vdev);
        assertThat(Warn.drain()).singleElement().asString().contains("virtio0 is not registered");
        VirtioDevice next = virtio.allocDevice(null);
        next.config = new VirtioConfigV515Test.LoggingOps();
        assertThat(virtio.registerVirtioDevice(next)).isZero();
        assertThat(next.devName()).isEqualTo("virtio1");
    }

    private static void record(List<Cmd> cmds, TraceRecord r, int status) {
        switch (r.event().name()) {
            case "smmuv3_cmdq_opcode" -> cmds.add(new Cmd((String) r.field("cmd"), -1, -1, status));
            case "smmuv3_cmdq_tlbi" -> {
                Cmd last = cmds.remove(cmds.size() - 1);
                cmds.add(new Cmd(last.op(), r.longField("addr"), -1, last.blkStatus()));
            }
            case "smmuv3_cmdq_cfgi_ste" -> {
                Cmd last = cmds.remove(cmds.size() - 1);
                cmds.add(new Cmd(last.op(), -1, r.longField("sid"), last.blkStatus()));
            }
            default -> throw new AssertionError(r);
        }
    }
}
