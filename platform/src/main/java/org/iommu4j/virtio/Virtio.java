package org.iommu4j.virtio;

import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.virtio.VirtioH.*;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.Ida;
import org.iommu4j.base.Port;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.DeviceDriver;
import org.iommu4j.base.hw.IrqController;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.dma.DmaMapping;

/**
 * drivers/virtio/virtio.c (v5.15) with the inline helpers of include/linux/virtio_config.h:
 * the virtio bus, which matches a registered device with a driver by device ID and probes it
 * (status ACKNOWLEDGE, DRIVER, feature negotiation, FEATURES_OK, the driver's probe, DRIVER_OK).
 *
 * <p>The kernel's globals are this object's fields: the device index allocator
 * ({@code virtio_index_ida}), the registered drivers, and what the simulation hands every
 * driver: the CPU's view of memory (rings are written by the CPU in RAM), the DMA API and the
 * interrupt layer.
 */
public final class Virtio {
    public final PhysMem mem;
    public final DmaMapping dma;
    public final IrqController irqs;
    /** {@code virtio_index_ida}: the "virtioN" numbers, the lowest free one taken, given back on unregister. */
    private final Ida virtioIndexIda = new Ida();
    private final List<VirtioDriver> drivers = new CopyOnWriteArrayList<>();
    /** {@code virtio_bus}: only its name is used here (dev_printk's prefix for a device no driver holds). */
    private final BusType virtioBus = new BusType("virtio", null);
    /** Each registered driver's embedded {@code struct device_driver}, the one dev->driver points at. */
    private final Map<VirtioDriver, DeviceDriver> driverCores = new ConcurrentHashMap<>();
    public final List<VirtioDevice> devices = new CopyOnWriteArrayList<>();

    public Virtio(PhysMem mem, DmaMapping dma, IrqController irqs) {
        this.mem = mem;
        this.dma = dma;
        this.irqs = irqs;
    }

    /* ---------------- include/linux/virtio_config.h ---------------- */

    @Port("include/linux/virtio_config.h:__virtio_test_bit")
    public static boolean __virtioTestBit(VirtioDevice vdev, int fbit) {
        return (vdev.features & 1L << fbit) != 0;
    }

    @Port("include/linux/virtio_config.h:__virtio_set_bit")
    public static void __virtioSetBit(VirtioDevice vdev, int fbit) {
        vdev.features |= 1L << fbit;
    }

    @Port("include/linux/virtio_config.h:__virtio_clear_bit")
    public static void __virtioClearBit(VirtioDevice vdev, int fbit) {
        vdev.features &= ~(1L << fbit);
    }

    @Port("include/linux/virtio_config.h:virtio_has_feature")
    public static boolean virtioHasFeature(VirtioDevice vdev, int fbit) {
        return __virtioTestBit(vdev, fbit);
    }

    /** True when the device does not say its DMA goes through the platform (no ACCESS_PLATFORM). */
    @Port("include/linux/virtio_config.h:virtio_has_dma_quirk")
    public static boolean virtioHasDmaQuirk(VirtioDevice vdev) {
        return !virtioHasFeature(vdev, VIRTIO_F_ACCESS_PLATFORM);
    }

    @Port("include/linux/virtio_config.h:virtio_find_vqs")
    public static int virtioFindVqs(VirtioDevice vdev, int nvqs, Virtqueue[] vqs, VirtioRing.VqCallback[] callbacks, String[] names) {
        return vdev.config.findVqs(vdev, nvqs, vqs, callbacks, names);
    }

    @Port("include/linux/virtio_config.h:virtio_device_ready")
    public static void virtioDeviceReady(VirtioDevice dev) {
        int status = dev.config.getStatus(dev);
        // v5.15 BUG_ONs a second DRIVER_OK; a BUG here is a "BUG:" warning and no status write
        if (org.iommu4j.base.Warn.WARN((status & VIRTIO_CONFIG_S_DRIVER_OK) != 0, "BUG: virtio_device_ready with DRIVER_OK already set")) {
            return;
        }
        dev.config.setStatus(dev, status | VIRTIO_CONFIG_S_DRIVER_OK);
    }

    /**
     * {@code virtio_cread8/16/32/64}: a configuration field of {@code len} bytes. As in v5.15, a
     * field of 1, 2 or 4 bytes is one {@code get}; an 8-byte one (two 32-bit accesses on PCI) goes
     * through {@link #__virtioCreadMany}, which repeats it until the generation holds still.
     */
    @Port("include/linux/virtio_config.h:virtio_cread8")
    @Port("include/linux/virtio_config.h:virtio_cread16")
    @Port("include/linux/virtio_config.h:virtio_cread32")
    @Port("include/linux/virtio_config.h:virtio_cread64")
    public static long virtioCread(VirtioDevice vdev, int offset, int len) {
        if (len == 8) {
            return __virtioCreadMany(vdev, offset, len);
        }
        return vdev.config.get(vdev, offset, len);
    }

    /**
     * One field read inside a generation check: generation, field, generation again; on a change,
     * the field again and one more generation (the last generation read is the next one compared).
     */
    @Port("include/linux/virtio_config.h:__virtio_cread_many")
    static long __virtioCreadMany(VirtioDevice vdev, int offset, int len) {
        int gen = vdev.config.generation(vdev);
        int old;
        long v;
        do {
            old = gen;
            v = vdev.config.get(vdev, offset, len);
            gen = vdev.config.generation(vdev);
        } while (gen != old);
        return v;
    }

    /** {@code virtio_cread_feature}: 0 and the field read, or -ENOENT without the feature. */
    @Port("include/linux/virtio_config.h:virtio_cread_feature")
    public static int virtioCreadFeature(VirtioDevice vdev, int fbit, int offset, int len, long[] v) {
        if (!virtioHasFeature(vdev, fbit)) {
            return -org.iommu4j.base.Errno.ENOENT;
        }
        v[0] = virtioCread(vdev, offset, len);
        return 0;
    }

    /* ---------------- drivers/virtio/virtio.c ---------------- */

    @Port("drivers/virtio/virtio.c:virtio_add_status")
    public static void virtioAddStatus(VirtioDevice dev, int status) {
        dev.config.setStatus(dev, dev.config.getStatus(dev) | status);
    }

    @Port("drivers/virtio/virtio.c:virtio_finalize_features")
    static int virtioFinalizeFeatures(VirtioDevice dev) {
        int ret = dev.config.finalizeFeatures(dev);
        if (ret != 0) {
            return ret;
        }
        // arch_has_restricted_virtio_memory_access(): false on arm64 in v5.15
        if (!virtioHasFeature(dev, VIRTIO_F_VERSION_1)) {
            return 0;
        }
        virtioAddStatus(dev, VIRTIO_CONFIG_S_FEATURES_OK);
        int status = dev.config.getStatus(dev);
        if ((status & VIRTIO_CONFIG_S_FEATURES_OK) == 0) {
            DevPrintk.devErr(dev, "virtio: device refuses features: %x", status);
            return -ENODEV;
        }
        return 0;
    }

    /** Delivers a configuration change, or keeps it for later while delivery is off; the caller holds config_lock. */
    @Port("drivers/virtio/virtio.c:__virtio_config_changed")
    private static void __virtioConfigChanged(VirtioDevice dev) {
        if (!dev.configEnabled) {
            dev.configChangePending = true;
        } else if (dev.vdriver != null && dev.vdriver.hasConfigChanged()) {
            dev.vdriver.configChanged(dev);
        }
    }

    /** config_lock is the device's monitor. */
    @Port("drivers/virtio/virtio.c:virtio_config_changed")
    public static void virtioConfigChanged(VirtioDevice dev) {
        synchronized (dev) {
            __virtioConfigChanged(dev);
        }
    }

    /** Turns delivery on; a change kept meanwhile is delivered under config_lock, as v5.15 does. */
    @Port("drivers/virtio/virtio.c:virtio_config_enable")
    static void virtioConfigEnable(VirtioDevice dev) {
        synchronized (dev) {
            dev.configEnabled = true;
            if (dev.configChangePending) {
                __virtioConfigChanged(dev);
            }
            dev.configChangePending = false;
        }
    }

    /** Turns delivery of configuration changes off; one arriving meanwhile is kept as pending. */
    @Port("drivers/virtio/virtio.c:virtio_config_disable")
    static void virtioConfigDisable(VirtioDevice dev) {
        synchronized (dev) {
            dev.configEnabled = false;
        }
    }

    @Port("drivers/virtio/virtio.c:virtio_dev_probe")
    private int virtioDevProbe(VirtioDevice dev, VirtioDriver drv) {
        dev.vdriver = drv;
        // really_probe points dev->driver at the driver before the bus probe, so the probe's
        // dev_printk lines name it ("virtio_blk virtio1: ..."), and clears it if the probe fails
        dev.driver = driverCore(drv);
        // DRIVER: a driver has been matched
        virtioAddStatus(dev, VIRTIO_CONFIG_S_DRIVER);
        long deviceFeatures = dev.config.getFeatures(dev);
        long driverFeatures = 0;
        for (int f : drv.featureTable()) {
            driverFeatures |= 1L << f;
        }
        // no feature_table_legacy in these drivers: the legacy table is the same
        dev.features = driverFeatures & deviceFeatures;
        // offered transport bits (28..37) are kept whatever the table says; the transport's finalize_features filters them
        for (int i = VIRTIO_TRANSPORT_F_START; i < VIRTIO_TRANSPORT_F_END; i++) {
            if ((deviceFeatures & 1L << i) != 0) {
                __virtioSetBit(dev, i);
            }
        }
        int err = virtioFinalizeFeatures(dev);
        if (err == 0) {
            err = drv.probe(dev);
        }
        if (err != 0) {
            virtioAddStatus(dev, VIRTIO_CONFIG_S_FAILED);
            dev.vdriver = null;
            dev.driver = null;
            return err;
        }
        // DRIVER_OK, unless the driver's probe already set it
        if ((dev.config.getStatus(dev) & VIRTIO_CONFIG_S_DRIVER_OK) == 0) {
            virtioDeviceReady(dev);
        }
        if (drv.hasScan()) {
            drv.scan(dev);
        }
        virtioConfigEnable(dev);
        return 0;
    }

    private DeviceDriver driverCore(VirtioDriver drv) {
        return driverCores.computeIfAbsent(drv, d -> new DeviceDriver() {
            @Override
            public String name() {
                return d.name();
            }

            @Override
            public int probe(Device dev) {
                return virtioDevProbe((VirtioDevice) dev, d);
            }

            @Override
            public void remove(Device dev) {
                virtioDevRemove((VirtioDevice) dev);
            }
        });
    }

    /**
     * The bus's remove: configuration changes are no longer delivered, the driver's remove runs
     * (it must reset the device: a status still non-zero afterwards WARNs once), then the device
     * is acknowledged again, as a device no driver has yet. of_node_put: virtio devices here
     * have no devicetree node.
     */
    @Port("drivers/virtio/virtio.c:virtio_dev_remove")
    private static void virtioDevRemove(VirtioDevice dev) {
        VirtioDriver drv = dev.vdriver;
        virtioConfigDisable(dev);
        drv.remove(dev);
        // the driver should have reset the device
        Warn.WARN_ON_ONCE(dev.config.getStatus(dev) != 0);
        // acknowledge the device's existence again
        virtioAddStatus(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    }

    /**
     * {@code device_release_driver} for a virtio device: the bus's remove ({@link
     * #virtioDevRemove}) for a bound device, then dev->driver cleared. Unlike the driver core,
     * the device's driver data is kept: here it stands for the transport's container_of (see
     * VirtioPciDevice.toVpDevice), which the transport still needs after the unregister.
     */
    private void deviceReleaseDriver(VirtioDevice dev) {
        if (dev.driver == null) {
            return;
        }
        dev.driver.remove(dev);
        dev.vdriver = null;
        dev.driver = null;
    }

    /** Binds {@code dev} to the first registered driver with its device ID; 0, or the probe's -errno. */
    private int deviceAttach(VirtioDevice dev) {
        for (VirtioDriver drv : drivers) {
            if (drv.deviceId() == dev.idDevice) {
                int ret = virtioDevProbe(dev, drv);
                org.iommu4j.base.device.BusType.callDriverProbeResult(drv.name(), dev.devName(), ret);
                return ret;
            }
        }
        return 0;
    }

    @Port("drivers/virtio/virtio.c:register_virtio_driver")
    public int registerVirtioDriver(VirtioDriver drv) {
        drivers.add(drv);
        for (VirtioDevice dev : devices) {
            if (dev.vdriver == null && drv.deviceId() == dev.idDevice) {
                // driver_register's attach runs really_probe, whose report is the same as on device_add
                org.iommu4j.base.device.BusType.callDriverProbeResult(drv.name(), dev.devName(), virtioDevProbe(dev, drv));
            }
        }
        return 0;
    }

    /** The new device's struct, unnamed and unnumbered until registered, for the transport to fill. */
    VirtioDevice allocDevice(Device parent) {
        return new VirtioDevice(this, parent);
    }

    /**
     * Numbers the device (the lowest free "virtioN"), resets it, acknowledges it, adds it to the
     * bus (which probes a matching driver). 0 (also when the driver's probe failed: the device
     * stays registered with FAILED set, as device_add keeps it), or -ENOSPC when no index is
     * left (FAILED set, nothing registered).
     */
    @Port("drivers/virtio/virtio.c:register_virtio_device")
    public int registerVirtioDevice(VirtioDevice dev) {
        // the index (and so the name) is taken here: a transport whose probe failed earlier used none
        int err = virtioIndexIda.idaSimpleGet(0, 0);
        if (err < 0) {
            // out: no index, no name: the device is marked FAILED
            virtioAddStatus(dev, VIRTIO_CONFIG_S_FAILED);
            return err;
        }
        dev.index = err;
        dev.devSetName("virtio" + dev.index);
        dev.bus = virtioBus;
        dev.configEnabled = false;
        dev.configChangePending = false;
        // reset first: the device may still hold state from whoever drove it before
        dev.config.reset(dev);
        // ACKNOWLEDGE: the guest has noticed the device
        virtioAddStatus(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE);
        devices.add(dev);
        deviceAttach(dev);
        return 0;
    }

    /** Whether {@code dev} is registered on this bus (its {@code virtio_bus} klist). */
    public boolean virtioDeviceIsRegistered(VirtioDevice dev) {
        return devices.contains(dev);
    }

    /**
     * Takes the device off the bus, which releases its driver ({@code device_unregister}:
     * device_del's bus_remove_device runs {@link #virtioDevRemove}), then gives its index back
     * for the next device registered. A device that is not registered (never, or unregistered
     * before) WARNs and nothing is done: its index may already be another device's.
     */
    @Port("drivers/virtio/virtio.c:unregister_virtio_device")
    public void unregisterVirtioDevice(VirtioDevice dev) {
        // save for after device release
        int index = dev.index;
        // device_unregister -> device_del -> bus_remove_device: off the bus's list, then the driver released
        if (Warn.WARN(!devices.remove(dev), "unregister_virtio_device: " + dev.devName() + " is not registered")) {
            return;
        }
        deviceReleaseDriver(dev);
        virtioIndexIda.idaSimpleRemove(index);
    }
}
