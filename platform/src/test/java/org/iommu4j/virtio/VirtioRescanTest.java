package org.iommu4j.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Warn;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuGroup;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciMsi;
import org.iommu4j.pci.PciRegs;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.platform.Machine;
import org.iommu4j.platform.VirtioPci;
import org.junit.jupiter.api.Test;

/**
 * The other half of sysfs's remove/rescan on run B: after pci_stop_and_remove_bus_device of
 * virtio-blk (00:02.0, StreamID 0x10), {@code echo 1 > /sys/bus/pci/rescan} (pci_rescan_bus)
 * finds the function again, still decoded by the host bridge: a new pci_dev with the same BDF
 * and its BARs where the boot put them; pci_device_add's device_add (BUS_NOTIFY_ADD_DEVICE: the
 * IOMMU core's probe fails, the new function has no fwspec yet), then pci_bus_add_devices binds
 * virtio-pci through the driver core: really_probe's pci_dma_configure (of_iommu_configure:
 * fwspec from iommu-map, iommu_probe_device: a new group, its default DMA domain, the STE
 * installed with CFGI_STE + CMD_SYNC), then virtio_pci_probe, which registers virtio1 again and
 * virtio_blk probes it: MSI-X vectors and their doorbell mapped, fresh rings, the disk readable.
 */
class VirtioRescanTest {
    private static final int STE_CONFIG_ABORT = 0b000;
    private static final int STE_CONFIG_S1_TRANS = 0b101;
    private static final String DISK_MD5 = "53154684e7db82f6a99c39408ed03fd0";

    private static int steConfig(Machine m, int sid) {
        long ste0 = m.board.mem.readq(m.smmu.armSmmuGetStepForSid(m.smmu.smmu, sid));
        assertThat(ste0 & 1).as("STE.V").isEqualTo(1);
        return (int) (ste0 >>> 1) & 0b111;
    }

    /** The virtio device of type {@code id} on the machine's virtio bus, or null. */
    private static VirtioDevice virtioDevice(Machine m, int id) {
        for (VirtioDevice d : m.virtio.devices) {
            if (d.idDevice == id) {
                return d;
            }
        }
        return null;
    }

    private static String readDisk(Machine m) {
        VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(virtioDevice(m, VirtioH.VIRTIO_ID_BLOCK));
        byte[] all = new byte[1 << 20];
        assertThat(m.virtioBlk.virtblkRead(vblk, 0, all)).isZero();
        m.board.irqs.quiesce();
        return VirtioRunBTest.md5(all);
    }

    /** What the boot left for virtio-blk, compared with what a rescan gives. */
    private record Blk(long bar1, long bar4, long ringIova, long msixAddr, long msixData) {
        static Blk of(Machine m) {
            PciDev pdev = m.function(0x10).dev();
            PciEndpointModel model = m.function(0x10).model();
            VirtioDevice vdev = virtioDevice(m, VirtioH.VIRTIO_ID_BLOCK);
            int msixBar = VirtioPci.MSIX_BAR;
            long addr = model.barRead(msixBar, 0, 4) | model.barRead(msixBar, 4, 4) << 32;
            return new Blk(Pci.pciResourceStart(pdev, 1), Pci.pciResourceStart(pdev, 4), vdev.vqs.get(0).queueDmaAddr,
                    addr, model.barRead(msixBar, 8, 4));
        }
    }

    @Test
    void aRemovedVirtioBlkComesBackThroughTheDriverCoreWithANewGroupAndItsDiskReadable() {
        // the commands the boot issued from 00:02.0's joining its group on (its attach; the
        // virtio probes after it map rings and doorbells, which issue none)
        List<String> bootCmds = new ArrayList<>();
        Machine booted;
        try (Trace.Sink sink = Trace.subscribe(Trace.filter("smmuv3:smmuv3_cmdq_opcode", "iommu:add_device_to_group"),
                r -> bootCmds.add(r.event().name().equals("add_device_to_group") ? r.message() : (String) r.field("cmd")))) {
            booted = Machine.bootRunB();
        }
        List<String> blkAttachAtBoot = bootCmds.subList(bootCmds.indexOf("IOMMU: groupID=1 device=0000:00:02.0") + 1,
                bootCmds.size());
        try (Machine m = booted) {
            Machine.PciFunction f = m.function(0x10);
            PciDev old = f.dev();
            PciEndpointModel model = f.model();
            assertThat(readDisk(m)).isEqualTo(DISK_MD5);
            Blk atBoot = Blk.of(m);
            int[] bootVirqs = {PciMsi.pciIrqVector(old, 0), PciMsi.pciIrqVector(old, 1)};
            m.pci.pciStopAndRemoveBusDevice(old);
            assertThat(steConfig(m, 0x10)).isEqualTo(STE_CONFIG_ABORT);
            assertThat(virtioDevice(m, VirtioH.VIRTIO_ID_BLOCK)).isNull();
            Warn.drain();

            List<String> cmds = new ArrayList<>();
            List<Long> steSids = new ArrayList<>();
            List<String> iommuEvents = new ArrayList<>();
            try (Trace.Sink sink = Trace.subscribe(Trace.filter("smmuv3:smmuv3_cmdq_opcode", "smmuv3:smmuv3_cmdq_cfgi_ste"),
                    r -> {
                        if (r.event().name().equals("smmuv3_cmdq_opcode")) {
                            cmds.add((String) r.field("cmd"));
                        } else {
                            steSids.add(r.longField("sid"));
                        }
                    });
                    Trace.Sink groups = Trace.subscribe(Trace.filter("iommu:add_device_to_group", "iommu:attach_device_to_domain"),
                            r -> iommuEvents.add(r.event().name() + " " + r.message()))) {
                m.pciRescan();
            }
            assertThat(Warn.drain()).isEmpty();

            // a new pci_dev with the same BDF, recorded by the machine in the old one's place
            Machine.PciFunction back = m.function(0x10);
            PciDev pdev = back.dev();
            assertThat(pdev).isNotSameAs(old);
            assertThat(back.model()).isSameAs(model);
            assertThat(pdev.devName()).isEqualTo("0000:00:02.0");
            assertThat(m.pci.pciBusType.devices()).contains(pdev).doesNotContain(old);
            assertThat(Pci.pciDevIsAdded(pdev)).isTrue();
            // its BARs where the boot put them (the lowest free space of each one's alignment in
            // the windows is the hole the removal left) and programmed in config space
            assertThat(Pci.pciResourceStart(pdev, 4)).isEqualTo(atBoot.bar4()).isEqualTo(0x80_0000_4000L);
            assertThat(Pci.pciResourceStart(pdev, 1)).isEqualTo(atBoot.bar1()).isEqualTo(0x1000_1000L);
            assertThat(model.configRead(0x14, 4)).isEqualTo(0x1000_1000);
            assertThat(model.configRead(0x24, 4)).isEqualTo(0x80);
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("pci 0000:00:02.0: BAR 4: assigned [mem 0x8000004000-0x8000007fff 64bit pref]"));

            // bound by the driver core to virtio-pci
            assertThat(pdev.driver).isNotNull();
            assertThat(pdev.driver.name()).isEqualTo("virtio-pci");
            assertThat(pdev.devGetDrvdata()).isInstanceOf(VirtioPciDevice.class);

            // a new group: iommu_group_ida's lowest free ID, 1 again (virtio-rng keeps 0)
            IommuGroup group = Iommu.iommuGroupGet(pdev);
            assertThat(group).isNotNull();
            Iommu.iommuGroupPut(group);
            assertThat(group.iommuGroupId()).isEqualTo(1);
            assertThat(group.defaultDomain()).isNotNull();
            assertThat(DevIommu.devIommuFwspecGet(pdev)).isNotNull();
            assertThat(iommuEvents).first().asString().startsWith("add_device_to_group").contains("groupID=1")
                    .contains("0000:00:02.0");
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("virtio-pci 0000:00:02.0: Adding to iommu group 1"));
            // the STE of StreamID 0x10 translating again, after CFGI_STE + CMD_SYNC for it
            assertThat(steConfig(m, 0x10)).isEqualTo(STE_CONFIG_S1_TRANS);
            // what the boot issued for it: the CD (arm_smmu_write_ctx_desc: dwords 1-3, sync,
            // dword 0, sync; no master in the domain yet, so no CFGI_CD), the STE
            // (arm_smmu_write_strtab_ent: dwords 1-3, CFGI_STE + CMD_SYNC, dword 0, CFGI_STE +
            // CMD_SYNC, PREFETCH_CONFIG), then iommu_create_device_direct_mappings' flush of the
            // new domain's ASID
            assertThat(cmds).containsExactly("CMD_SYNC", "CMD_SYNC", "CMD_CFGI_STE", "CMD_SYNC", "CMD_CFGI_STE", "CMD_SYNC",
                    "CMD_PREFETCH_CONFIG", "CMD_TLBI_NH_ASID", "CMD_SYNC");
            assertThat(cmds).isEqualTo(blkAttachAtBoot);
            assertThat(steSids).containsExactly(0x10L, 0x10L);

            // virtio1 again (virtio_index_ida's lowest free index), vda again, driven by virtio_blk
            VirtioDevice vdev = virtioDevice(m, VirtioH.VIRTIO_ID_BLOCK);
            assertThat(vdev).isNotNull();
            assertThat(vdev.devName()).isEqualTo("virtio1");
            assertThat(VirtioBlk.blk(vdev).diskName).isEqualTo("vda");
            assertThat(vdev.vdriver).isSameAs(m.virtioBlk);

            // MSI-X on, its vectors requested, the doorbell mapped: the table's message, and the
            // ring's IOVA, are what the boot gave (the new domain allocates in the same order)
            assertThat(model.msixEnabled()).isTrue();
            assertThat(pdev.msixEnabled).isTrue();
            int[] virqs = {PciMsi.pciIrqVector(pdev, 0), PciMsi.pciIrqVector(pdev, 1)};
            for (int virq : virqs) {
                assertThat(m.board.irqs.hasAction(virq)).isTrue();
            }
            // the removal gave its irq numbers back (irq_free_descs) and the rescan took them again
            assertThat(virqs).containsExactly(bootVirqs);
            Blk now = Blk.of(m);
            assertThat(now).isEqualTo(atBoot);
            assertThat(now.ringIova()).isNotEqualTo(vdev.vqs.get(0).desc); // through the DMA domain

            // the disk reads again, completions delivered by the request queue's vector
            long before = m.board.irqs.count(virqs[1]);
            assertThat(readDisk(m)).isEqualTo(DISK_MD5);
            assertThat(m.board.irqs.count(virqs[1])).isGreaterThan(before);
            // and virtio-rng was left alone
            assertThat(steConfig(m, 0x8)).isEqualTo(STE_CONFIG_S1_TRANS);
            assertThat(Warn.drain()).isEmpty();
        }
    }

    @Test
    void aRescanWithNothingRemovedFindsNothingAndIssuesNoCommand() {
        try (Machine m = Machine.bootRunB()) {
            List<PciDev> devs = m.functions.stream().map(Machine.PciFunction::dev).toList();
            int lines = m.dmesg.size();
            Warn.drain();
            try (Trace.Capture cap = Trace.capture("smmuv3:smmuv3_cmdq_opcode", "iommu:*")) {
                m.pciRescan();
                assertThat(cap.records()).isEmpty();
            }
            assertThat(m.functions.stream().map(Machine.PciFunction::dev).toList()).isEqualTo(devs);
            assertThat(m.virtio.devices).hasSize(2);
            assertThat(m.dmesg).hasSize(lines);
            assertThat(Warn.drain()).isEmpty();
        }
    }

    @Test
    void removingAndRescanningTwiceInARowWorksEachTime() {
        try (Machine m = Machine.bootRunB()) {
            for (int round = 0; round < 2; round++) {
                PciDev old = m.function(0x10).dev();
                m.pci.pciStopAndRemoveBusDevice(old);
                assertThat(steConfig(m, 0x10)).isEqualTo(STE_CONFIG_ABORT);
                m.pciRescan();
                PciDev pdev = m.function(0x10).dev();
                assertThat(pdev).isNotSameAs(old);
                IommuGroup group = Iommu.iommuGroupGet(pdev);
                Iommu.iommuGroupPut(group);
                assertThat(group.iommuGroupId()).isEqualTo(1);
                assertThat(steConfig(m, 0x10)).isEqualTo(STE_CONFIG_S1_TRANS);
                assertThat(virtioDevice(m, VirtioH.VIRTIO_ID_BLOCK).devName()).isEqualTo("virtio1");
                assertThat(readDisk(m)).isEqualTo(DISK_MD5);
            }
            assertThat(m.pci.pciBusType.devices()).hasSize(3);
            assertThat(m.virtio.devices).hasSize(2);
        }
    }

    /**
     * Run A (nothing behind the BARs): the rescanned function is bound to virtio-pci's PCI side
     * only, as at boot: enabled (memory decode), a bus master, in a new group with its STE
     * translating.
     */
    @Test
    void runAFunctionComesBackEnabledInANewGroup() {
        try (Machine m = Machine.boot("qemu")) {
            PciDev old = m.function(0x8).dev();
            int cmdAtBoot = m.function(0x8).model().configRead(PciRegs.PCI_COMMAND, 2);
            m.pci.pciStopAndRemoveBusDevice(old);
            m.pciRescan();
            Machine.PciFunction f = m.function(0x8);
            assertThat(f.dev()).isNotSameAs(old);
            assertThat(f.dev().driver.name()).isEqualTo("virtio-pci");
            assertThat(Pci.pciIsEnabled(f.dev())).isTrue();
            assertThat(f.model().configRead(PciRegs.PCI_COMMAND, 2)).isEqualTo(cmdAtBoot);
            IommuGroup group = Iommu.iommuGroupGet(f.dev());
            Iommu.iommuGroupPut(group);
            assertThat(group.iommuGroupId()).isZero(); // 00:02.0 keeps group 1
            assertThat(steConfig(m, 0x8)).isEqualTo(STE_CONFIG_S1_TRANS);
        }
    }
}
