package org.iommu4j.virtio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.virtio.VirtioH.VIRTIO_PCI_CAP_BAR;
import static org.iommu4j.virtio.VirtioH.VIRTIO_PCI_CAP_CFG_TYPE;
import static org.iommu4j.virtio.VirtioH.VIRTIO_PCI_CAP_LENGTH;
import static org.iommu4j.virtio.VirtioH.VIRTIO_PCI_CAP_OFFSET;

import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciRegs;
import org.iommu4j.platform.Machine;
import org.junit.jupiter.api.Test;

/**
 * vp_modern_map_capability's start and size are u32, as v5.15 declares them: a start past
 * 2^31 (a queue's notification offset, off * notify_off_multiplier, when the notification
 * region is mapped per queue) is compared and added as the large unsigned number it is.
 */
class VirtioPciMapCapabilityV515Test {
    /** QEMU's PCI configuration access capability: its bar, offset and length are writable. */
    private static final int VIRTIO_PCI_CAP_PCI_CFG = 5;

    private static int pciCfgCap(PciDev dev) {
        for (int pos = Pci.pciFindCapability(dev, PciRegs.PCI_CAP_ID_VNDR); pos > 0;
                pos = Pci.pciFindNextCapability(dev, pos, PciRegs.PCI_CAP_ID_VNDR)) {
            if (Pci.pciReadConfigByte(dev, pos + VIRTIO_PCI_CAP_CFG_TYPE) == VIRTIO_PCI_CAP_PCI_CFG) {
                return pos;
            }
        }
        throw new AssertionError("no PCI configuration access capability");
    }

    @Test
    void startAndSizeAreUnsigned() {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice rng = m.virtio.devices.get(0);
            VirtioPciModernDev.VirtioPciModernDevice mdev = VirtioPciDevice.toVpDevice(rng).mdev;
            PciDev dev = mdev.pciDev;
            int pos = pciCfgCap(dev);
            // a region of the modern BAR: 4 KiB at 0
            Pci.pciWriteConfigByte(dev, pos + VIRTIO_PCI_CAP_BAR, 4);
            Pci.pciWriteConfigDword(dev, pos + VIRTIO_PCI_CAP_OFFSET, 0);
            Pci.pciWriteConfigDword(dev, pos + VIRTIO_PCI_CAP_LENGTH, 0x1000);
            assertThat(VirtioPciModernDev.vpModernMapCapability(mdev, pos, 2, 2, 0x8000_0000, 2, null)).isNull();
            assertThat(m.dmesg).anyMatch(l -> l.endsWith(
                    "virtio-pci 0000:00:01.0: virtio_pci: bad capability len 4096 (>2147483648 expected)"));
            // 4 GiB - 1 long at 0x2000: a start of 0xfffff000 wraps the 32-bit offset
            Pci.pciWriteConfigDword(dev, pos + VIRTIO_PCI_CAP_OFFSET, 0x2000);
            Pci.pciWriteConfigDword(dev, pos + VIRTIO_PCI_CAP_LENGTH, 0xffff_ffff);
            assertThat(VirtioPciModernDev.vpModernMapCapability(mdev, pos, 2, 2, 0xffff_f000, 2, null)).isNull();
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("virtio-pci 0000:00:01.0: virtio_pci: map wrap-around 4294963200+8192"));
            // a plain region still maps, its length cut to the size asked for
            Pci.pciWriteConfigDword(dev, pos + VIRTIO_PCI_CAP_OFFSET, 0x3000);
            Pci.pciWriteConfigDword(dev, pos + VIRTIO_PCI_CAP_LENGTH, 0x1000);
            long[] len = {0};
            assertThat(VirtioPciModernDev.vpModernMapCapability(mdev, pos, 2, 2, 4, 2, len)).isNotNull();
            assertThat(len[0]).isEqualTo(2);
        }
    }
}
