package org.iommu4j.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import org.iommu4j.base.Errno;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;
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

    /** vp_setup_vq's list_add puts each queue with a callback at the head of the list vp_vring_interrupt walks. */
    @Test
    void sharedVectorVisitsTheNewestQueueFirst() {
        VirtioDevice vdev = new Virtio(null, null, null).allocDevice(null);
        VirtioPciDevice vpDev = new VirtioPciDevice(vdev, null);
        vdev.devSetDrvdata(vpDev);
        vpDev.vqs = new VirtioPciDevice.VirtioPciVqInfo[3];
        vpDev.setupVq = (d, info, index, callback, name, ctx, msixVec) ->
                new Virtqueue(index, name, vdev, callback, null, 0, 0, 0, 0);
        VirtioRing.VqCallback cb = vq -> {};
        VirtioPciCommon.vpSetupVq(vdev, 0, cb, "q0", false, 0);
        VirtioPciCommon.vpSetupVq(vdev, 1, null, "q1", false, 0);
        VirtioPciCommon.vpSetupVq(vdev, 2, cb, "q2", false, 0);
        assertThat(vpDev.virtqueues).extracting(info -> info.vq.index).containsExactly(2, 0);
    }

    /** virtio_config_enable delivers a change that came while delivery was off with config_lock held. */
    @Test
    void pendingConfigChangeIsDeliveredUnderConfigLock() {
        VirtioDevice vdev = new Virtio(null, null, null).allocDevice(null);
        java.util.List<Boolean> heldAtDelivery = new java.util.ArrayList<>();
        vdev.vdriver = new VirtioDriver() {
            @Override public String name() { return "test"; }
            @Override public int deviceId() { return 0; }
            @Override public int[] featureTable() { return new int[0]; }
            @Override public int probe(VirtioDevice d) { return 0; }
            @Override public void remove(VirtioDevice d) {}
            @Override public boolean hasConfigChanged() { return true; }
            @Override public void configChanged(VirtioDevice d) { heldAtDelivery.add(Thread.holdsLock(d)); }
        };
        Virtio.virtioConfigChanged(vdev);
        assertThat(heldAtDelivery).isEmpty();
        assertThat(vdev.configChangePending).isTrue();
        Virtio.virtioConfigEnable(vdev);
        assertThat(heldAtDelivery).containsExactly(true);
        assertThat(vdev.configChangePending).isFalse();
    }

    /**
     * v5.15's BUG_ONs (vp_set_status(0), vp_get/vp_set past the device region, a second
     * DRIVER_OK) are "BUG:" warnings here, as elsewhere in the project, and the access is not made.
     */
    @Test
    void bugOnsWarnAndDoNotTouchTheDevice() {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice blk = m.virtio.devices.get(1);
            var proxy = m.virtioProxies.get(0x10);
            int status = proxy.status();
            assertThat(status & VirtioH.VIRTIO_CONFIG_S_DRIVER_OK).isNotZero();
            Warn.drain();

            blk.config.setStatus(blk, 0);
            assertThat(proxy.status()).isEqualTo(status);
            assertThat(Warn.drain()).singleElement().asString().contains("BUG: vp_set_status(0)");

            Virtio.virtioDeviceReady(blk);
            assertThat(proxy.status()).isEqualTo(status);
            assertThat(Warn.drain()).singleElement().asString().contains("BUG: virtio_device_ready");

            int past = (int) VirtioPciDevice.toVpDevice(blk).mdev.deviceLen;
            assertThat(blk.config.get(blk, past, 4)).isZero();
            blk.config.set(blk, past, 1, 4);
            assertThat(Warn.drain()).hasSize(2).allSatisfy(w -> assertThat(w).contains("BUG: vp_"));
            assertThat(proxy.status()).isEqualTo(status);
        }
    }

    private static VirtioDriver failingDriver(int err) {
        return new VirtioDriver() {
            @Override public String name() { return "test_drv"; }
            @Override public int deviceId() { return 42; }
            @Override public int[] featureTable() { return new int[0]; }
            @Override public int probe(VirtioDevice d) { return err; }
            @Override public void remove(VirtioDevice d) {}
        };
    }

    private static java.util.List<Printk.Line> probeLines() {
        return Printk.lines().stream().filter(l -> l.text().startsWith("test_drv: probe of")).toList();
    }

    /**
     * The driver core's report of a failed probe (call_driver_probe): -ENODEV/-ENXIO at debug level
     * ("rejects match"), other errors as a warning, both on device_add and on driver_register.
     */
    @Test
    void probeFailuresAreReportedAsTheDriverCoreDoes() {
        Virtio virtio = new Virtio(null, null, null);
        virtio.registerVirtioDriver(failingDriver(-Errno.ENODEV));
        Printk.clear();
        Printk.setDebug(true);
        try {
            VirtioDevice rejected = virtio.allocDevice(null);
            rejected.config = new VirtioConfigV515Test.LoggingOps();
            rejected.idDevice = 42;
            virtio.registerVirtioDevice(rejected);
            assertThat(probeLines()).singleElement().satisfies(l -> {
                assertThat(l.level()).isEqualTo(Printk.KERN_DEBUG);
                assertThat(l.text()).isEqualTo("test_drv: probe of virtio0 rejects match -19");
            });

            Printk.clear();
            Virtio other = new Virtio(null, null, null);
            VirtioDevice failed = other.allocDevice(null);
            failed.config = new VirtioConfigV515Test.LoggingOps();
            failed.idDevice = 42;
            other.registerVirtioDevice(failed);
            // no driver yet: driver_register's attach probes it and reports the failure
            other.registerVirtioDriver(failingDriver(-Errno.ENOMEM));
            assertThat(probeLines()).singleElement().satisfies(l -> {
                assertThat(l.level()).isEqualTo(Printk.KERN_WARNING);
                assertThat(l.text()).isEqualTo("test_drv: probe of virtio0 failed with error -12");
            });
        } finally {
            Printk.setDebug(false);
        }
    }
}
