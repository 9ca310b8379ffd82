package org.iommu4j.platform;

import static org.assertj.core.api.Assertions.assertThat;

import org.iommu4j.base.Errno;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciRegs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The host bridge's own function at 00:00.0 as QEMU 7.2's gpex builds it, and what Linux does
 * with it (the reference run A: enumerated first, no driver, no IOMMU group).
 */
@ExtendWith(NoWarnings.class)
class GpexRootTest {
    private static final long ECAM = 0x40_1000_0000L;

    @Test
    void configSpaceIsQemusGpexRoot() {
        try (Machine m = Machine.boot("qemu")) {
            /* through the board's ECAM window, as any CPU access would read it */
            assertThat(m.board.mmio.read(ECAM, 4)).isEqualTo(0x0008_1b36L);
            PciDev host = m.functions.get(0).dev();
            assertThat(host.devName()).isEqualTo("0000:00:00.0");
            assertThat(Pci.pciReadConfigDword(host, PciRegs.PCI_CLASS_REVISION)).isEqualTo(0x0600_0000); // revision 0
            assertThat(host.hdrType).isZero();
            assertThat(host.multifunction).isFalse();
            assertThat(host.subsystemVendor).isEqualTo(0x1af4);
            assertThat(host.subsystemDevice).isEqualTo(0x1100);
            /* conventional PCI, no capability at all, no interrupt pin */
            assertThat(Pci.pciReadConfigWord(host, PciRegs.PCI_STATUS)).isZero();
            assertThat(Pci.pciReadConfigByte(host, PciRegs.PCI_CAPABILITY_LIST)).isZero();
            assertThat(Pci.pciIsPcie(host)).isFalse();
            assertThat(host.cfgSize).isEqualTo(256);
            assertThat(Pci.pciReadConfigByte(host, PciRegs.PCI_INTERRUPT_PIN)).isZero();
            /* no BAR: every BAR register (and the ROM BAR) sizes as absent */
            for (int reg = 0x10; reg <= 0x24; reg += 4) {
                Pci.pciWriteConfigDword(host, reg, -1);
                assertThat(Pci.pciReadConfigDword(host, reg)).as("BAR at 0x%x", reg).isZero();
            }
            Pci.pciWriteConfigDword(host, 0x30, -1);
            assertThat(Pci.pciReadConfigDword(host, 0x30)).isZero();
            for (int i = 0; i < 6; i++) {
                assertThat(Pci.pciResourceLen(host, i)).isZero();
            }
            /* no driver enabled it: Command still 0 */
            assertThat(Pci.pciReadConfigWord(host, PciRegs.PCI_COMMAND)).isZero();
        }
    }

    @Test
    void enumeratedFirstWithTheHostBridgeLinesOfTheReference() {
        try (Machine m = Machine.boot("qemu")) {
            assertThat(m.dmesg.stream().map(l -> l.replaceFirst("^\\[[ .0-9]*\\] ", "")).toList()).containsSubsequence(
                    "pci-host-generic 4010000000.pcie: ECAM at [mem 0x4010000000-0x401fffffff] for [bus 00-ff]",
                    "pci-host-generic 4010000000.pcie: PCI host bridge to bus 0000:00",
                    "pci_bus 0000:00: root bus resource [bus 00-ff]",
                    "pci 0000:00:00.0: [1b36:0008] type 00 class 0x060000",
                    "pci 0000:00:01.0: [1af4:1005] type 00 class 0x00ff00",
                    "pci 0000:00:02.0: [1af4:1001] type 00 class 0x010000");
            assertThat(m.dmesg).noneMatch(l -> l.contains("0000:00:00.0: Adding to iommu group"));
            assertThat(m.dmesg).noneMatch(l -> l.contains("0000:00:00.0: enabling device"));
        }
    }

    /**
     * No driver binds, so pci_dma_configure never runs: no fwspec, and the IOMMU core's probe
     * (at device_add, and again if asked) fails with -ENODEV: no group. Linux writes no STE for
     * StreamID 0: it keeps the abort STE arm_smmu_init_l2_strtab wrote for the whole span.
     */
    @Test
    void noDriverNoDmaConfigurationNoGroupNoSte() {
        try (Machine m = Machine.boot("qemu")) {
            Machine.PciFunction f = m.functions.get(0);
            assertThat(f.sid()).isZero();
            assertThat(f.dev().driver).isNull();
            assertThat(DevIommu.devIommuFwspecGet(f.dev())).isNull();
            assertThat(Iommu.iommuGroupGet(f.dev())).isNull();
            assertThat(m.iommu.iommuProbeDevice(f.dev())).isEqualTo(-Errno.ENODEV);
            assertThat(Iommu.iommuGroupGet(f.dev())).isNull();
            long ste = m.smmu.armSmmuGetStepForSid(m.smmu.smmu, 0);
            assertThat(m.board.mem.readq(ste)).isEqualTo(1L); // V, Config = abort
            assertThat(m.board.mem.readq(ste + 8)).isEqualTo(0x0000100000000000L);
            /* the virtio functions are unchanged: their StreamIDs and groups */
            assertThat(m.function(0x8).dev().devName()).isEqualTo("0000:00:01.0");
            assertThat(m.function(0x10).dev().devName()).isEqualTo("0000:00:02.0");
            for (int sid : new int[] {0x8, 0x10}) {
                org.iommu4j.iommu.IommuGroup g = Iommu.iommuGroupGet(m.function(sid).dev());
                assertThat(g.iommuGroupId()).isEqualTo(sid == 0x8 ? 0 : 1);
                Iommu.iommuGroupPut(g);
            }
        }
    }
}
