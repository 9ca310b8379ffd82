package org.iommu4j.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import org.iommu4j.base.Errno;
import org.iommu4j.pci.PciDev;
import org.iommu4j.platform.Machine;
import org.junit.jupiter.api.Test;

/** The virtio bus (drivers/virtio/virtio.c) and virtio-pci probe, as v5.15 behaves. */
class VirtioBusV515Test {

    /** register_virtio_device takes the virtioN index: a PCI function whose probe fails uses none. */
    @Test
    void failedPciProbeTakesNoVirtioIndex() {
        try (Machine m = Machine.bootRunB()) {
            assertThat(m.virtio.devices).extracting(VirtioDevice::devName).containsExactly("virtio0", "virtio1");
            // 00:00.0 is the host bridge's own function: no virtio device ID, vp_modern_probe answers -ENODEV
            PciDev gpex = m.pciHostBridge.bus.devices.stream().filter(d -> d.vendor != 0x1af4).findFirst().orElseThrow();
            assertThat(VirtioPciCommon.virtioPciProbe(m.virtio, gpex)).isEqualTo(-Errno.ENODEV);
            VirtioDevice next = m.virtio.allocDevice(null);
            next.config = new VirtioConfigV515Test.LoggingOps();
            assertThat(m.virtio.registerVirtioDevice(next)).isZero();
            assertThat(next.index).isEqualTo(2);
            assertThat(next.devName()).isEqualTo("virtio2");
        }
    }
}
