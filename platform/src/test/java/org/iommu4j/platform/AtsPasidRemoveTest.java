package org.iommu4j.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Errno;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.Warn;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceRecord;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.of.Fdt;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciRegs;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.junit.jupiter.api.Test;

/**
 * Hot-unplug of a function that uses ATS and PASID (the full SMMU, a root complex doing ATS:
 * 00:02.0 gets PASID enabled at arm_smmu_probe_device and ATS at its default domain's attach).
 * pci_stop_and_remove_bus_device runs the driver's remove (pci_disable_device), then device_del,
 * whose BUS_NOTIFY_REMOVED_DEVICE makes iommu_release_device call arm_smmu_release_device, which
 * in v5.15 is arm_smmu_detach_dev, then arm_smmu_disable_pasid, then arm_smmu_remove_master:
 *
 * <ol>
 *   <li>arm_smmu_disable_ats: pci_disable_ats first (ATS Enable cleared in the function's ATS
 *       Control register; the wmb() orders it before what follows), then arm_smmu_atc_inv_master
 *       (CMD_ATC_INV for the StreamID, the whole address space, no SSID, then CMD_SYNC), which
 *       empties the function's ATC;
 *   <li>the STE rewritten without a domain (disable_bypass: abort, EATS 0): CMD_CFGI_STE +
 *       CMD_SYNC;
 *   <li>arm_smmu_disable_pasid: pci_disable_pasid (PASID Control written 0) after ATS is off,
 *       as PCIe 10.5.1.3 asks (the comment above arm_smmu_enable_pasid's call);
 * </ol>
 *
 * then iommu_group_remove_device frees the emptied group and its domain (CMD_TLBI_NH_ASID +
 * CMD_SYNC).
 */
class AtsPasidRemoveTest {
    private static final int SID = 0x10;
    private static final long IOVA = 0x7000_0000L;

    @Test
    void removingAnAtsAndPasidFunctionDisablesAtsInvalidatesItsAtcThenDisablesPasid() {
        try (Machine m = new Machine(Fdt.bundledVirtSmmuv3(), "full", true)) {
            Machine.PciFunction f = m.function(SID);
            PciDev pdev = f.dev();
            PciEndpointModel ep = f.model();
            int atsCtrl = ep.atsCapOffset() + PciRegs.PCI_ATS_CTRL;
            int pasidCtrl = ep.pasidCapOffset() + PciRegs.PCI_PASID_CTRL;
            int priCtrl = ep.priCapOffset() + PciRegs.PCI_PRI_CTRL;
            long stePa = m.smmu.armSmmuGetStepForSid(m.smmu.smmu, SID);

            // what probe and attach enabled, in the function's capabilities and in the STE
            assertThat(ep.configRead(atsCtrl, 2) & PciRegs.PCI_ATS_CTRL_ENABLE).isNotZero();
            assertThat(ep.configRead(pasidCtrl, 2) & PciRegs.PCI_PASID_CTRL_ENABLE).isNotZero();
            assertThat(ep.configRead(priCtrl, 2) & PciRegs.PCI_PRI_CTRL_ENABLE).isZero(); // PRI only with IOPF
            assertThat(pdev.atsEnabled).isTrue();
            assertThat(pdev.pasidEnabled).isTrue();
            assertThat(steEats(m, stePa)).as("STE.EATS").isEqualTo(1); // full ATS
            assertThat(steConfig(m, stePa)).isEqualTo(0b101);

            // DMA through the ATC: two pages mapped in the default domain, each read fetches
            // its translation into the ATC (a Translation Request), the reads after hit it
            IommuDomain d = Iommu.iommuGetDomainForDev(pdev);
            for (int p = 0; p < 2; p++) {
                long pa = m.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
                m.board.mem.write(pa, ("page " + p).getBytes(StandardCharsets.US_ASCII));
                assertThat(Iommu.iommuMap(d, IOVA + 4096L * p, pa, 4096, IommuH.IOMMU_READ | IommuH.IOMMU_WRITE)).isZero();
            }
            byte[] b = new byte[6];
            long reqs = ep.atsRequests();
            for (int p = 0; p < 2; p++) {
                assertThat(ep.dmaRead(IOVA + 4096L * p, b)).isZero();
                assertThat(new String(b, StandardCharsets.US_ASCII)).isEqualTo("page " + p);
            }
            assertThat(ep.atsRequests() - reqs).isEqualTo(2);
            long hits = ep.atcHits();
            assertThat(ep.dmaRead(IOVA, b)).isZero();
            assertThat(ep.atcHits()).isEqualTo(hits + 1);
            assertThat(ep.atcContains(DmaTransaction.NO_SSID, IOVA)).isTrue();
            assertThat(ep.atcContains(DmaTransaction.NO_SSID, IOVA + 4096)).isTrue();
            assertThat(ep.atcEntries()).isEqualTo(2);
            Warn.drain();

            // the removal, as the SMMU's command queue and the function's config space saw it;
            // the pages stay mapped (the domain goes with its tables), so only the release's
            // ATC invalidation can empty the ATC
            List<String> seen = new ArrayList<>();
            long syncs = m.smmuModel.syncCount();
            try (Trace.Sink sink = Trace.subscribe(Trace.filter("smmuv3:smmuv3_cmdq_opcode", "smmuv3:smmuv3_cmdq_atc_inv",
                    "pcidev:pcidev_cfg_write", "pcidev:pcidev_atc_inv"), r -> {
                        String s = describe(r, atsCtrl, pasidCtrl, priCtrl);
                        if (s != null && s.startsWith("ATS_CTRL")) {
                            s += " (ATC held " + ep.atcEntries() + ")";
                        }
                        if (s != null) {
                            seen.add(s);
                        }
                    })) {
                m.pci.pciStopAndRemoveBusDevice(pdev);
            }
            assertThat(Warn.drain()).isEmpty();
            assertThat(seen).containsExactly(
                    "COMMAND 0x0003", // pci_disable_device: the driver's remove, Bus Master Enable off
                    "ATS_CTRL 0x0000 (ATC held 2)", // pci_disable_ats: before any ATC invalidation
                    "CMD_ATC_INV",
                    // at the function: ATS off left no entry to drop (PCIe r5 10.5.1.3, the model flushes)
                    "device ATC_INV pasid=-1 dropped=0",
                    "ATC_INV sid=0x10 ssv=false addr=0x0 size=0xffffffffffffffff", // all of it, every PASID
                    "CMD_SYNC",
                    "CMD_CFGI_STE", // the STE without a domain
                    "CMD_SYNC",
                    "PASID_CTRL 0x0000", // pci_disable_pasid, after ATS
                    "CMD_TLBI_NH_ASID", // the emptied group's default domain freed
                    "CMD_SYNC");
            assertThat(m.smmuModel.syncCount() - syncs).isEqualTo(3);

            // the function's capabilities and ATC
            assertThat(ep.configRead(atsCtrl, 2) & PciRegs.PCI_ATS_CTRL_ENABLE).isZero();
            assertThat(ep.configRead(pasidCtrl, 2) & PciRegs.PCI_PASID_CTRL_ENABLE).isZero();
            assertThat(ep.atsEnabled()).isFalse();
            assertThat(ep.pasidEnabled()).isFalse();
            assertThat(ep.atcEntries()).isZero();
            assertThat(pdev.atsEnabled).isFalse();
            assertThat(pdev.pasidEnabled).isFalse();
            // the STE: valid, aborting, no longer allowing translated requests
            assertThat(steConfig(m, stePa)).isEqualTo(0b000);
            assertThat(steEats(m, stePa)).isZero();
            assertThat(Iommu.iommuGroupGet(pdev)).isNull();
            assertThat(DevIommu.devIommuFwspecGet(pdev)).isNull();
            assertThat(m.smmuModel.gerrorActive()).isZero();

            // the function, turning Bus Master Enable and ATS back on by itself, gets nothing:
            // no Translation Request is answered with a translation, the ATC stays empty
            ep.configWrite(PciRegs.PCI_COMMAND, PciRegs.PCI_COMMAND_MASTER | PciRegs.PCI_COMMAND_MEMORY, 2);
            ep.configWrite(atsCtrl, PciRegs.PCI_ATS_CTRL_ENABLE, 2);
            assertThat(ep.dmaRead(IOVA, b)).isEqualTo(-Errno.EFAULT);
            assertThat(ep.atcEntries()).isZero();
        }
    }

    /**
     * The same function found again by a rescan: a new pci_dev whose probe enables PASID and
     * whose attach then enables ATS (PCIe 10.5.1.3's order, one Control write each), STE.EATS
     * full again; nothing of the old domain is reachable: the IOVA the old ATC entry translated
     * faults in the new domain (no stale translation survived, at the function or in the SMMU),
     * and a page mapped in the new domain is fetched into the ATC afresh.
     */
    @Test
    void aRescannedAtsFunctionEnablesPasidThenAtsAndKeepsNothingOfItsOldDomain() {
        try (Machine m = new Machine(Fdt.bundledVirtSmmuv3(), "full", true)) {
            Machine.PciFunction f = m.function(SID);
            PciEndpointModel ep = f.model();
            int atsCtrl = ep.atsCapOffset() + PciRegs.PCI_ATS_CTRL;
            int pasidCtrl = ep.pasidCapOffset() + PciRegs.PCI_PASID_CTRL;
            long stePa = m.smmu.armSmmuGetStepForSid(m.smmu.smmu, SID);
            IommuDomain old = Iommu.iommuGetDomainForDev(f.dev());
            long pa = m.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
            m.board.mem.write(pa, "old page".getBytes(StandardCharsets.US_ASCII));
            assertThat(Iommu.iommuMap(old, IOVA, pa, 4096, IommuH.IOMMU_READ | IommuH.IOMMU_WRITE)).isZero();
            byte[] b = new byte[8];
            assertThat(ep.dmaRead(IOVA, b)).isZero();
            assertThat(ep.atcContains(DmaTransaction.NO_SSID, IOVA)).isTrue();
            m.pci.pciStopAndRemoveBusDevice(f.dev());
            Warn.drain();

            List<String> writes = new ArrayList<>();
            try (Trace.Sink sink = Trace.subscribe(Trace.filter("pcidev:pcidev_cfg_write"), r -> {
                String s = describe(r, atsCtrl, pasidCtrl, -1);
                if (s != null && !s.startsWith("COMMAND")) {
                    writes.add(s);
                }
            })) {
                m.pciRescan();
            }
            assertThat(Warn.drain()).isEmpty();
            Machine.PciFunction back = m.function(SID);
            assertThat(back.dev()).isNotSameAs(f.dev());
            assertThat(back.model()).isSameAs(ep);
            // PASID with the features the function offers (Execute, Privileged), then ATS with STU 0
            assertThat(writes).containsExactly(String.format("PASID_CTRL 0x%04x", PciRegs.PCI_PASID_CTRL_ENABLE
                    | PciRegs.PCI_PASID_CTRL_EXEC | PciRegs.PCI_PASID_CTRL_PRIV), "ATS_CTRL 0x8000");
            assertThat(back.dev().atsEnabled).isTrue();
            assertThat(back.dev().pasidEnabled).isTrue();
            assertThat(steConfig(m, stePa)).isEqualTo(0b101);
            assertThat(steEats(m, stePa)).isEqualTo(1);

            // the old IOVA means nothing in the new domain
            IommuDomain d = Iommu.iommuGetDomainForDev(back.dev());
            assertThat(d).isNotSameAs(old);
            assertThat(Iommu.iommuIovaToPhys(d, IOVA)).isZero();
            assertThat(ep.atcEntries()).isZero();
            assertThat(ep.dmaRead(IOVA, b)).isEqualTo(-Errno.EFAULT);
            assertThat(ep.atcEntries()).isZero();
            // a page of the new domain goes through the ATC as before
            long pa2 = m.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
            m.board.mem.write(pa2, "new page".getBytes(StandardCharsets.US_ASCII));
            assertThat(Iommu.iommuMap(d, IOVA + 4096, pa2, 4096, IommuH.IOMMU_READ | IommuH.IOMMU_WRITE)).isZero();
            long reqs = ep.atsRequests();
            assertThat(ep.dmaRead(IOVA + 4096, b)).isZero();
            assertThat(new String(b, StandardCharsets.US_ASCII)).isEqualTo("new page");
            assertThat(ep.atsRequests()).isEqualTo(reqs + 1);
            assertThat(ep.atcContains(DmaTransaction.NO_SSID, IOVA + 4096)).isTrue();
        }
    }

    /** STE word 0's Config, bits [3:1] (V is bit 0, and stays 1). */
    private static int steConfig(Machine m, long stePa) {
        long ste0 = m.board.mem.readq(stePa);
        assertThat(ste0 & 1).as("STE.V").isEqualTo(1);
        return (int) (ste0 >>> 1) & 0b111;
    }

    /** STE.EATS, bits [93:92]: word 1's [29:28]. */
    private static int steEats(Machine m, long stePa) {
        return (int) (m.board.mem.readq(stePa + 8) >>> 28) & 0b11;
    }

    private static String describe(TraceRecord r, int atsCtrl, int pasidCtrl, int priCtrl) {
        return switch (r.event().name()) {
            case "smmuv3_cmdq_opcode" -> (String) r.field("cmd");
            case "smmuv3_cmdq_atc_inv" -> String.format("ATC_INV sid=0x%x ssv=%b addr=0x%x size=0x%x", r.longField("sid"),
                    r.field("ssv"), r.longField("addr"), r.longField("size"));
            case "pcidev_atc_inv" -> "device ATC_INV pasid=" + r.longField("pasid") + " dropped=" + r.longField("dropped");
            case "pcidev_cfg_write" -> {
                int off = (int) r.longField("off");
                String reg = off == atsCtrl ? "ATS_CTRL" : off == pasidCtrl ? "PASID_CTRL" : off == priCtrl ? "PRI_CTRL"
                        : off == PciRegs.PCI_COMMAND ? "COMMAND" : null;
                yield reg == null ? null : String.format("%s 0x%04x", reg, r.longField("val"));
            }
            default -> throw new AssertionError(r);
        };
    }
}
