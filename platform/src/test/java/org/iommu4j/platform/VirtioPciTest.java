package org.iommu4j.platform;

import static org.assertj.core.api.Assertions.assertThat;

import org.iommu4j.base.hw.IoMem;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciIomap;
import org.iommu4j.pci.PciRegs;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.pci.hw.PcieSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The platform's virtio functions against what QEMU 7.2 builds for {@code -device
 * virtio-rng-pci -device virtio-blk-pci} on virt (the reference run A): transitional IDs,
 * conventional PCI, the three BARs at the addresses Linux assigned them, MSI-X in BAR 1, the
 * modern capabilities, decode enabled by virtio-pci's probe.
 */
@ExtendWith(NoWarnings.class)
class VirtioPciTest {
    private static int[] capChain(PciDev dev) {
        int[] chain = new int[8];
        int n = 0;
        for (int at = Pci.pciReadConfigByte(dev, PciRegs.PCI_CAPABILITY_LIST); at != 0 && n < 8;
                at = Pci.pciReadConfigByte(dev, at + 1)) {
            chain[n++] = at;
        }
        return java.util.Arrays.copyOf(chain, n);
    }

    @Test
    void configSpaceIsQemus() {
        try (Machine m = Machine.boot("qemu")) {
            PciDev rng = m.function(0x8).dev();
            PciDev blk = m.function(0x10).dev();
            assertThat(Pci.pciReadConfigDword(rng, 0)).isEqualTo(0x1005_1af4);
            assertThat(Pci.pciReadConfigDword(blk, 0)).isEqualTo(0x1001_1af4);
            assertThat(Pci.pciReadConfigDword(rng, PciRegs.PCI_CLASS_REVISION)).isEqualTo(0x00ff_0000); // revision 0
            assertThat(Pci.pciReadConfigDword(blk, PciRegs.PCI_CLASS_REVISION)).isEqualTo(0x0100_0000);
            assertThat(rng.subsystemVendor).isEqualTo(0x1af4);
            assertThat(rng.subsystemDevice).isEqualTo(VirtioPci.VIRTIO_ID_RNG);
            assertThat(blk.subsystemDevice).isEqualTo(VirtioPci.VIRTIO_ID_BLOCK);
            assertThat(Pci.pciReadConfigByte(rng, PciRegs.PCI_INTERRUPT_PIN)).isEqualTo(1);
            // no PCI Express capability on QEMU's root bus: 256 bytes of config space
            assertThat(Pci.pciIsPcie(rng)).isFalse();
            assertThat(rng.cfgSize).isEqualTo(256);
            // MSI-X heads the list, then the modern capabilities from the last QEMU added
            assertThat(capChain(rng)).containsExactly(0x98, 0x84, 0x70, 0x60, 0x50, 0x40);
            int[] types = {VirtioPci.VIRTIO_PCI_CAP_COMMON_CFG, VirtioPci.VIRTIO_PCI_CAP_ISR_CFG,
                VirtioPci.VIRTIO_PCI_CAP_DEVICE_CFG, VirtioPci.VIRTIO_PCI_CAP_NOTIFY_CFG, VirtioPci.VIRTIO_PCI_CAP_PCI_CFG};
            int[] offs = {0x40, 0x50, 0x60, 0x70, 0x84};
            long[] regionOff = {0, 0x1000, 0x2000, 0x3000, 0};
            for (int i = 0; i < 5; i++) {
                assertThat(Pci.pciReadConfigByte(rng, offs[i])).isEqualTo(PcieSpec.CAP_ID_VNDR);
                assertThat(Pci.pciReadConfigByte(rng, offs[i] + VirtioPci.VIRTIO_PCI_CAP_CFG_TYPE)).isEqualTo(types[i]);
                assertThat(Pci.pciReadConfigDword(rng, offs[i] + VirtioPci.VIRTIO_PCI_CAP_OFFSET)).isEqualTo(regionOff[i]);
            }
            assertThat(Pci.pciReadConfigByte(rng, 0x70 + VirtioPci.VIRTIO_PCI_CAP_BAR)).isEqualTo(4);
            assertThat(Pci.pciReadConfigDword(rng, 0x70 + 16)).isEqualTo(4);          // notify_off_multiplier
            // the PCI config access capability's fields are writable, the others are not
            Pci.pciWriteConfigDword(rng, 0x84 + VirtioPci.VIRTIO_PCI_CAP_OFFSET, 0x14);
            Pci.pciWriteConfigDword(rng, 0x40 + VirtioPci.VIRTIO_PCI_CAP_OFFSET, 0x14);
            assertThat(Pci.pciReadConfigDword(rng, 0x84 + VirtioPci.VIRTIO_PCI_CAP_OFFSET)).isEqualTo(0x14);
            assertThat(Pci.pciReadConfigDword(rng, 0x40 + VirtioPci.VIRTIO_PCI_CAP_OFFSET)).isZero();
        }
    }

    @Test
    void barsAreAssignedAsLinuxDidAndDecodeAfterVirtioPciEnabledThem() {
        try (Machine m = Machine.boot("qemu")) {
            PciDev rng = m.function(0x8).dev();
            PciDev blk = m.function(0x10).dev();
            PciEndpointModel rngEp = m.function(0x8).model();
            assertThat(Pci.pciResourceStart(rng, 4)).isEqualTo(0x80_0000_0000L);
            assertThat(Pci.pciResourceStart(blk, 4)).isEqualTo(0x80_0000_4000L);
            assertThat(Pci.pciResourceStart(rng, 1)).isEqualTo(0x1000_0000L);
            assertThat(Pci.pciResourceStart(blk, 1)).isEqualTo(0x1000_1000L);
            assertThat(Pci.pciResourceStart(blk, 0)).isEqualTo(0x1000L);
            assertThat(Pci.pciResourceStart(rng, 0)).isEqualTo(0x1080L);
            assertThat(Pci.pciResourceLen(rng, 0)).isEqualTo(0x20);
            assertThat(Pci.pciResourceLen(blk, 0)).isEqualTo(0x80);
            // virtio-pci's probe: I/O and memory decode, then bus mastering
            assertThat(Pci.pciReadConfigWord(rng, PciRegs.PCI_COMMAND) & 7).isEqualTo(7);
            assertThat(Pci.pciIsEnabled(rng)).isTrue();
            assertThat(rngEp.barAddress(4)).isEqualTo(0x80_0000_0000L);
            assertThat(rngEp.barAddress(0)).isEqualTo(0x1080L);
            assertThat(m.dmesg.stream().map(l -> l.substring(l.indexOf("] ") + 2)).toList()).containsSubsequence("virtio-pci 0000:00:01.0: Adding to iommu group 0",
                    "virtio-pci 0000:00:01.0: enabling device (0000 -> 0003)",
                    "virtio-pci 0000:00:02.0: Adding to iommu group 1");

            // the windows reach the BARs: the MSI-X Table answers at the assigned address (all
            // vectors masked after reset), BAR 4's registers read as zero (no virtio device behind)
            IoMem table = PciIomap.pciIomap(rng, 1, 0);
            assertThat(table.physBase()).isEqualTo(0x1000_0000L);
            assertThat(table.readl(PciRegs.PCI_MSIX_ENTRY_VECTOR_CTRL)).isEqualTo(1);
            IoMem modern = PciIomap.pciIomap(rng, 4, 0);
            modern.writel(0x1234, 0x14);
            assertThat(modern.readl(0x14)).isZero();
            long urBefore = m.hostBridge.unsupportedRequests();
            // a gap in the 32-bit window: no function claims it
            assertThat(IoMem.ioremap(m.board.mmio, 0x1000_2000L, 4).readl(0)).isEqualTo(-1);
            assertThat(m.hostBridge.unsupportedRequests()).isEqualTo(urBefore + 1);
            // the I/O window: CPU 0x3eff0000 is I/O address 0; virtio-rng's legacy BAR at 0x1080
            assertThat(IoMem.ioremap(m.board.mmio, 0x3eff_0000L + 0x1080, 4).readl(0)).isZero();
            assertThat(m.hostBridge.unsupportedRequests()).isEqualTo(urBefore + 1);
        }
    }

    @Test
    void fullCapsMakeThemPcieFunctionsWithPasidAtsAndPriBesides() {
        try (Machine m = Machine.boot("full")) {
            PciDev rng = m.function(0x8).dev();
            assertThat(Pci.pciIsPcie(rng)).isTrue();
            assertThat(rng.cfgSize).isEqualTo(4096);
            assertThat(capChain(rng)).containsExactly(0x40, 0x98, 0xe8, 0xd4, 0xc4, 0xb4, 0xa4);
            assertThat(Pci.pciFindExtCapability(rng, PciRegs.PCI_EXT_CAP_ID_PASID)).isNotZero();
            assertThat(Pci.pciResourceStart(rng, 4)).isEqualTo(0x80_0000_0000L);
        }
    }
}
