package org.iommu4j.platform;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceRecord;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuGroup;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciRegs;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.virtio.VirtioBlk;
import org.iommu4j.virtio.VirtioDevice;
import org.iommu4j.virtio.VirtioH;
import org.iommu4j.virtio.VirtioRing;
import org.iommu4j.virtio.Virtqueue;

/**
 * Hot-unplug of run B's virtio-blk function, as {@code echo 1 > /sys/bus/pci/devices/.../remove}
 * does it (pci_stop_and_remove_bus_device), told from the IOMMU's side: what the teardown unmaps
 * and invalidates, in the order v5.15 does it (the driver's remove first: the device reset, its
 * ring freed through the strict DMA domain; then device_del, whose bus notifier releases the
 * device from the IOMMU: its STE left aborting, its group and default domain freed), the STE
 * before and after as the stream table in simulated memory holds it, and what becomes of a DMA
 * the function still attempts. Then {@code echo 1 > /sys/bus/pci/rescan} (pci_rescan_bus) brings
 * it back: a new pci_dev bound through the driver core, a new group and default domain, the STE
 * translating again, and its disk readable.
 */
public final class UnplugDemo {
    /** What the demo observed, for tests. */
    public record Result(long steBefore, long steAfter, List<String> teardown, String dmaAfter, long steRescanned,
                         List<String> rescan, String md5Rescanned, int exit) {}

    /** StreamID of run B's virtio-blk function (0000:00:02.0: the RID, by QEMU virt's iommu-map). */
    static final int BLK_SID = 0x10;

    private UnplugDemo() {}

    /** STE word 0's Config field (bits [3:1]) by name, with V (bit 0). */
    static String steConfig(long ste0) {
        String cfg = switch ((int) (ste0 >>> 1) & 7) {
            case 0b000 -> "abort";
            case 0b100 -> "bypass";
            case 0b101 -> "stage 1 translate";
            case 0b110 -> "stage 2 translate";
            case 0b111 -> "nested";
            default -> "reserved";
        };
        return String.format("V=%d Config=%s", ste0 & 1, cfg);
    }

    public static Result run(Machine m, PrintStream out) {
        Machine.PciFunction f = m.function(BLK_SID);
        VirtioDevice blkDev = null;
        if (m.virtio != null) {
            for (VirtioDevice d : m.virtio.devices) {
                if (d.idDevice == VirtioH.VIRTIO_ID_BLOCK && VirtioBlk.blk(d) != null) {
                    blkDev = d;
                }
            }
        }
        if (f == null || blkDev == null) {
            out.println("demo unplug: needs run B's machine (virtio-blk bound at StreamID 0x10)");
            return new Result(0, 0, List.of(), "", 0, List.of(), "", 1);
        }
        PciDev pdev = f.dev();
        PciEndpointModel model = f.model();
        VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(blkDev);
        long stePa = m.smmu.armSmmuGetStepForSid(m.smmu.smmu, BLK_SID);

        byte[] first = new byte[16384];
        int r = m.virtioBlk.virtblkRead(vblk, 0, first);
        m.board.irqs.quiesce();
        IommuGroup group = Iommu.iommuGroupGet(pdev);
        int groupId = group == null ? -1 : group.iommuGroupId();
        Iommu.iommuGroupPut(group);
        Virtqueue vq = blkDev.vqs.get(0);
        long ringIova = VirtioRing.virtqueueGetDescAddr(vq);
        long ringPa = Iommu.iommuIovaToPhys(Iommu.iommuGetDomainForDev(pdev), ringIova);
        long steBefore = m.board.mem.readq(stePa);
        out.printf("%s: %s (/dev/%s), iommu group %d, StreamID 0x%x%n", pdev.devName(), blkDev.devName(),
                vblk.diskName, groupId, BLK_SID);
        out.printf("read 16 KiB of /dev/%s: %d, md5 %s%n", vblk.diskName, r, VirtioDemo.md5(first));
        out.printf("its ring: IOVA 0x%x -> PA 0x%x; STE at PA 0x%x, word 0 0x%016x (%s)%n", ringIova, ringPa, stePa,
                steBefore, steConfig(steBefore));

        out.printf("pci_stop_and_remove_bus_device(%s): the IOMMU's side, in order%n", pdev.devName());
        List<String> teardown = new ArrayList<>();
        try (Trace.Capture cap = Trace.capture(IOMMU_SIDE)) {
            m.pci.pciStopAndRemoveBusDevice(pdev);
            m.board.irqs.quiesce();
            print(cap, teardown, out);
        }
        long steAfter = m.board.mem.readq(stePa);
        boolean msixOff = !model.msixEnabled();
        boolean masterOff = (model.configRead(PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_MASTER) == 0;
        boolean gone = Iommu.iommuGroupGet(pdev) == null && !m.virtio.devices.contains(blkDev);
        out.printf("after: STE word 0 0x%016x (%s); MSI-X %s, Bus Master %s; in a group: %b, on the virtio bus: %b%n",
                steAfter, steConfig(steAfter), msixOff ? "off" : "ON", masterOff ? "off" : "ON",
                Iommu.iommuGroupGet(pdev) != null, m.virtio.devices.contains(blkDev));

        // the function misbehaves: it turns Bus Master Enable back on and writes to its old ring
        byte[] before = m.board.mem.readBytes(ringPa, 64);
        byte[] junk = new byte[64];
        Arrays.fill(junk, (byte) 0x5a);
        model.configWrite(PciRegs.PCI_COMMAND, PciRegs.PCI_COMMAND_MASTER | PciRegs.PCI_COMMAND_MEMORY, 2);
        String dmaAfter;
        try (Trace.Capture cap = Trace.capture("smmuv3:smmuv3_translate_*")) {
            int ret = model.dmaWrite(ringIova, junk);
            dmaAfter = String.format("ret %d, %s, ring memory %s", ret,
                    cap.records().isEmpty() ? "no translation" : cap.records().get(0).event().name() + " "
                            + cap.records().get(0).message(),
                    Arrays.equals(before, m.board.mem.readBytes(ringPa, 64)) ? "unchanged" : "CHANGED");
        }
        model.configWrite(PciRegs.PCI_COMMAND, 0, 2);
        out.printf("a DMA write by the removed function to IOVA 0x%x: %s%n", ringIova, dmaAfter);

        // echo 1 > /sys/bus/pci/rescan: the function still answers in config space
        out.println("pci_rescan_bus: the IOMMU's side, in order");
        List<String> rescan = new ArrayList<>();
        try (Trace.Capture cap = Trace.capture(IOMMU_SIDE)) {
            m.pciRescan();
            m.board.irqs.quiesce();
            print(cap, rescan, out);
        }
        Machine.PciFunction back = m.function(BLK_SID);
        VirtioDevice blkBack = null;
        for (VirtioDevice d : m.virtio.devices) {
            if (d.idDevice == VirtioH.VIRTIO_ID_BLOCK && VirtioBlk.blk(d) != null) {
                blkBack = d;
            }
        }
        long steRescanned = m.board.mem.readq(stePa);
        String md5Back = "";
        if (back != null && back.dev() != pdev && blkBack != null) {
            IommuGroup g = Iommu.iommuGroupGet(back.dev());
            int gid = g == null ? -1 : g.iommuGroupId();
            Iommu.iommuGroupPut(g);
            VirtioBlk.VirtioBlkDev vb = VirtioBlk.blk(blkBack);
            byte[] again = new byte[16384];
            int r2 = m.virtioBlk.virtblkRead(vb, 0, again);
            m.board.irqs.quiesce();
            md5Back = r2 == 0 ? VirtioDemo.md5(again) : "read failed: " + r2;
            out.printf("back: %s (a new pci_dev): %s (/dev/%s), iommu group %d, STE word 0 0x%016x (%s); "
                    + "read 16 KiB: md5 %s%n", back.dev().devName(), blkBack.devName(), vb.diskName, gid,
                    steRescanned, steConfig(steRescanned), md5Back);
        } else {
            out.println("back: NOT FOUND after the rescan");
        }
        out.println("What happened: virtio_pci_remove unregistered the virtio device, whose virtblk_remove reset it");
        out.println("and deleted its queue: the ring was freed with dma_free_coherent, so the strict domain unmapped");
        out.println("it and invalidated the IOVA (TLBI_NH_VA, then CMD_SYNC) before the pages could be reused; its");
        out.println("MSI-X vectors were freed and the function disabled. Then device_del's BUS_NOTIFY_REMOVED_DEVICE");
        out.println("made iommu_release_device call arm_smmu_release_device: with disable_bypass the StreamID's STE");
        out.println("is left valid and aborting (CFGI_STE, CMD_SYNC), so nothing the function sends is translated;");
        out.println("the group, now empty, was freed with its default domain (TLBI_NH_ASID, CMD_SYNC: the ASID's");
        out.println("entries go before the ASID is reused). The rescan found the function again in config space:");
        out.println("pci_device_add registered a new pci_dev, its BARs were assigned, and pci_bus_add_device let the");
        out.println("driver core bind it: really_probe's pci_dma_configure gave it its fwspec and iommu_probe_device a");
        out.println("new group and default domain (the STE installed again: CFGI_STE, CMD_SYNC), then virtio_pci_probe");
        out.println("built the virtio device anew, taking the index and the disk name the removal had given back.");
        boolean ok = r == 0 && (steBefore >>> 1 & 7) == 0b101 && (steAfter & 1) == 1 && (steAfter >>> 1 & 7) == 0
                && msixOff && masterOff && gone && dmaAfter.contains("smmuv3_translate_abort")
                && dmaAfter.endsWith("unchanged") && !Pci.pciIsEnabled(pdev)
                && (steRescanned >>> 1 & 7) == 0b101 && md5Back.equals(VirtioDemo.md5(first));
        return new Result(steBefore, steAfter, teardown, dmaAfter, steRescanned, rescan, md5Back, ok ? 0 : 1);
    }

    /** The trace events that tell what the IOMMU and the SMMU were asked to do. */
    private static final String[] IOMMU_SIDE = {"smmuv3:smmuv3_cmdq_opcode", "smmuv3:smmuv3_cmdq_tlbi",
        "smmuv3:smmuv3_cmdq_cfgi_ste", "iommu:unmap", "iommu:map", "iommu:add_device_to_group",
        "iommu:remove_device_from_group"};

    private static void print(Trace.Capture cap, List<String> lines, PrintStream out) {
        for (TraceRecord rec : cap.records()) {
            String line = rec.event().name() + ": " + rec.message();
            lines.add(line);
            out.println("  " + line);
        }
    }
}
