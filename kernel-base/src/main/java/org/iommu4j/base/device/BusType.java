package org.iommu4j.base.device;

import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENXIO;
import static org.iommu4j.base.Errno.EPROBE_DEFER;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiPredicate;
import org.iommu4j.base.Notifier;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;

/**
 * {@code struct bus_type} (drivers/base/bus.c, dd.c): devices, drivers, matching, the bus
 * notifier chain ({@code BUS_NOTIFY_ADD_DEVICE} ...), and the {@code iommu_ops} slot
 * ({@code bus->iommu_ops}, typed Object here).
 */
@Port("include/linux/device/bus.h:bus_type")
public class BusType {
    public static final long BUS_NOTIFY_ADD_DEVICE = 0x00000001;
    public static final long BUS_NOTIFY_DEL_DEVICE = 0x00000002;
    public static final long BUS_NOTIFY_REMOVED_DEVICE = 0x00000003;
    public static final long BUS_NOTIFY_BIND_DRIVER = 0x00000004;
    public static final long BUS_NOTIFY_BOUND_DRIVER = 0x00000005;
    public static final long BUS_NOTIFY_UNBIND_DRIVER = 0x00000006;
    public static final long BUS_NOTIFY_UNBOUND_DRIVER = 0x00000007;
    public static final long BUS_NOTIFY_DRIVER_NOT_BOUND = 0x00000008;

    private final String name;
    private final BiPredicate<Device, DeviceDriver> match;
    private final List<Device> devices = new CopyOnWriteArrayList<>();
    private final List<DeviceDriver> drivers = new CopyOnWriteArrayList<>();
    /** {@code deferred_probe_pending_list} (global in the kernel, per bus here). */
    private final List<Device> deferred = new CopyOnWriteArrayList<>();
    /** {@code deferred_probe_active_list}: the devices the running trigger pass retries. */
    private final List<Device> deferredActive = new CopyOnWriteArrayList<>();
    /** Bound devices in binding order: the drivers' {@code klist_devices} together. */
    private final List<Device> bound = new CopyOnWriteArrayList<>();
    /** A {@link #driverDeferredProbeTrigger} pass is running. */
    private boolean deferredWorkRunning;
    /** {@code bus->p->bus_notifier}. */
    public final Notifier.Blocking busNotifier = new Notifier.Blocking();
    /** {@code bus->iommu_ops}. */
    public volatile Object iommuOps;
    /**
     * {@code bus->dma_configure}: run by really_probe before the driver's probe (0 or -errno, a
     * failure failing the probe); null for a bus without one.
     */
    public volatile java.util.function.ToIntFunction<Device> dmaConfigure;

    public BusType(String name, BiPredicate<Device, DeviceDriver> match) {
        this.name = name;
        this.match = match;
    }

    public String name() {
        return name;
    }

    public List<Device> devices() {
        return List.copyOf(devices);
    }

    public List<DeviceDriver> drivers() {
        return List.copyOf(drivers);
    }

    /**
     * Adds a device to the bus ({@code device_add}): -EINVAL and nothing done for a device
     * without a name; -EEXIST and nothing done when the bus already has a device of that name
     * (its sysfs entry, {@code /sys/bus/BUS/devices/NAME}, exists), the device itself included;
     * else on the bus's list ({@code bus_add_device}), then BUS_NOTIFY_ADD_DEVICE, then a
     * driver is looked for ({@code bus_probe_device}).
     */
    @Port("drivers/base/core.c:device_add")
    public int deviceAdd(Device dev) {
        String devName = dev.devName();
        if (devName == null) {
            return -EINVAL;
        }
        for (Device other : devices) {
            if (devName.equals(other.devName())) {
                Printk.prWarn("sysfs: cannot create duplicate filename '/bus/%s/devices/%s'", name, devName);
                return -EEXIST;
            }
        }
        dev.bus = this;
        devices.add(dev);
        busNotifier.blockingNotifierCallChain(BUS_NOTIFY_ADD_DEVICE, dev);
        deviceAttach(dev);
        return 0;
    }

    /**
     * Removes a device ({@code device_del}): BUS_NOTIFY_DEL_DEVICE, then {@code bus_remove_device}
     * takes it off the bus's list before releasing its driver, then it leaves the deferred-probe
     * lists, then BUS_NOTIFY_REMOVED_DEVICE.
     */
    @Port("drivers/base/core.c:device_del")
    public void deviceDel(Device dev) {
        busNotifier.blockingNotifierCallChain(BUS_NOTIFY_DEL_DEVICE, dev);
        devices.remove(dev);
        deviceReleaseDriver(dev);
        driverDeferredProbeDel(dev);
        busNotifier.blockingNotifierCallChain(BUS_NOTIFY_REMOVED_DEVICE, dev);
    }

    /**
     * Registers a driver and binds it to the matching unbound devices, in bus order. A driver
     * of the same name already on the bus is refused with -EBUSY ({@code driver_find}), and
     * the bus is left as it was.
     */
    @Port("drivers/base/driver.c:driver_register")
    public int driverRegister(DeviceDriver drv) {
        for (DeviceDriver other : drivers) {
            if (other.name().equals(drv.name())) {
                Printk.prErr("Error: Driver '%s' is already registered, aborting...", drv.name());
                return -EBUSY;
            }
        }
        drivers.add(drv);
        driverAttach(drv);
        return 0;
    }

    /** {@code bus_for_each_dev(bus, __driver_attach)}: probe errors never stop the walk. */
    @Port("drivers/base/dd.c:driver_attach")
    private void driverAttach(DeviceDriver drv) {
        for (Device d : devices) {
            if (match.test(d, drv)) {
                driverProbeDevice(drv, d);
            }
        }
    }

    /**
     * Unregisters a driver: it leaves the bus's driver list first ({@code bus_remove_driver}),
     * then its devices are unbound, the last bound first ({@code driver_detach}). A driver that
     * is not registered here WARNs and nothing happens.
     */
    @Port("drivers/base/driver.c:driver_unregister")
    public void driverUnregister(DeviceDriver drv) {
        if (!drivers.contains(drv)) {
            Warn.WARN(true, "Unexpected driver unregister!");
            return;
        }
        drivers.remove(drv);
        driverDetach(drv);
    }

    /** Unbinds every device bound to {@code drv}, newest binding first. */
    @Port("drivers/base/dd.c:driver_detach")
    private void driverDetach(DeviceDriver drv) {
        while (true) {
            Device last = null;
            for (Device d : bound) {
                if (d.driver == drv) {
                    last = d;
                }
            }
            if (last == null) {
                return;
            }
            deviceReleaseDriver(last);
        }
    }

    /**
     * Binds {@code dev} to the first matching driver, in registration order, whose probe
     * succeeds: a driver whose probe fails (-EPROBE_DEFER included) leaves the next one its
     * chance. 1 if the device is (or already was) bound, 0 if no driver took it or the device
     * is no longer on the bus (deleted: the kernel's {@code dev->p->dead}).
     */
    @Port("drivers/base/dd.c:device_attach")
    public int deviceAttach(Device dev) {
        if (!devices.contains(dev)) {
            return 0;
        }
        if (dev.driver != null) {
            return 1;
        }
        for (DeviceDriver drv : drivers) {
            if (!match.test(dev, drv)) {
                continue;
            }
            // __device_attach_driver
            int ret = driverProbeDevice(drv, dev);
            if (ret < 0) {
                return ret;
            }
            if (ret == 0) {
                return 1;
            }
        }
        return 0;
    }

    /**
     * {@code __driver_probe_device} and its deferral bookkeeping: -ENODEV for a device not on the
     * bus, -EBUSY for a bound one, else what {@link #reallyProbe} answers (0, or the probe's error
     * as a positive number); a deferral puts the device on the pending list.
     */
    @Port("drivers/base/dd.c:driver_probe_device")
    private int driverProbeDevice(DeviceDriver drv, Device dev) {
        if (!devices.contains(dev)) {
            return -ENODEV;
        }
        if (dev.driver != null) {
            return -EBUSY;
        }
        int ret = reallyProbe(dev, drv);
        if (ret == -EPROBE_DEFER || ret == EPROBE_DEFER) {
            driverDeferredProbeAdd(dev);
        }
        return ret;
    }

    /** Puts a device on the pending list unless it is on a deferred-probe list already. */
    @Port("drivers/base/dd.c:driver_deferred_probe_add")
    private void driverDeferredProbeAdd(Device dev) {
        if (!deferred.contains(dev) && !deferredActive.contains(dev)) {
            deferred.add(dev);
        }
    }

    @Port("drivers/base/dd.c:driver_deferred_probe_del")
    private void driverDeferredProbeDel(Device dev) {
        deferred.remove(dev);
        deferredActive.remove(dev);
    }

    /**
     * Retries the devices whose probe deferred: the pending list moves to the active list and
     * each device there is probed again, oldest first, until the active list is empty. A device
     * that binds meanwhile triggers again ({@code driver_bound}), so the devices that deferred
     * earlier in the same pass are retried once more, as the kernel's deferred-probe work does.
     * Here the trigger is only this explicit call (the kernel's late_initcall and every later
     * binding run it too): a binding outside a pass leaves the pending list alone.
     */
    @Port("drivers/base/dd.c:driver_deferred_probe_trigger")
    public void driverDeferredProbeTrigger() {
        deferredActive.addAll(deferred);
        deferred.clear();
        if (deferredWorkRunning) {
            return;
        }
        deferredProbeWorkFunc();
    }

    @Port("drivers/base/dd.c:deferred_probe_work_func")
    private void deferredProbeWorkFunc() {
        deferredWorkRunning = true;
        try {
            while (!deferredActive.isEmpty()) {
                Device d = deferredActive.remove(0);
                deviceAttach(d);
            }
        } finally {
            deferredWorkRunning = false;
        }
    }

    /** The devices waiting on the pending list for the next trigger. */
    public List<Device> deferredDevices() {
        return List.copyOf(deferred);
    }

    /**
     * What the driver core logs after a driver's probe returned {@code ret}: nothing for 0, a
     * debug line for a deferral and for -ENODEV/-ENXIO (the driver turned the device down), a
     * warning for any other error. For buses whose probe path is not a {@link DeviceDriver}.
     */
    @Port("drivers/base/dd.c:call_driver_probe")
    public static void callDriverProbeResult(String drvName, String devName, int ret) {
        if (ret == 0) {
            return;
        }
        if (ret == -EPROBE_DEFER) {
            Printk.prDebug("Driver %s requests probe deferral", drvName);
        } else if (ret == -ENODEV || ret == -ENXIO) {
            Printk.prDebug("%s: probe of %s rejects match %d", drvName, devName, ret);
        } else {
            Printk.prWarn("%s: probe of %s failed with error %d", drvName, devName, ret);
        }
    }

    /**
     * Probes {@code dev} with {@code drv}: dev->driver is set, the bus's {@link #dmaConfigure}
     * runs, then BUS_NOTIFY_BIND_DRIVER (in {@code driver_sysfs_add}) and the driver's probe.
     * dev->driver is still set for BUS_NOTIFY_DRIVER_NOT_BOUND when either fails; then the DMA
     * setup is undone (arch_teardown_dma_ops, dma_range_map), and dev->driver and the driver
     * data cleared. Returns 0, the DMA configuration's -errno, or the probe's error turned
     * positive, so callers can tell it from their own errors.
     */
    @Port("drivers/base/dd.c:really_probe")
    private int reallyProbe(Device dev, DeviceDriver drv) {
        dev.driver = drv;
        java.util.function.ToIntFunction<Device> configure = dmaConfigure;
        int ret = configure != null ? configure.applyAsInt(dev) : 0;
        if (ret == 0) {
            busNotifier.blockingNotifierCallChain(BUS_NOTIFY_BIND_DRIVER, dev);
            int probed = drv.probe(dev);
            callDriverProbeResult(drv.name(), dev.devName(), probed);
            ret = -probed;
        }
        if (ret != 0) {
            // probe_failed
            busNotifier.blockingNotifierCallChain(BUS_NOTIFY_DRIVER_NOT_BOUND, dev);
            archTeardownDmaOps(dev);
            dev.dmaRangeMap = null;
            dev.driver = null;
            dev.devSetDrvdata(null);
            return ret;
        }
        driverBound(dev);
        return 0;
    }

    /** Records the binding, takes the device off the deferred lists, triggers, notifies BOUND. */
    @Port("drivers/base/dd.c:driver_bound")
    private void driverBound(Device dev) {
        bound.add(dev);
        driverDeferredProbeDel(dev);
        if (deferredWorkRunning) {
            driverDeferredProbeTrigger();
        }
        busNotifier.blockingNotifierCallChain(BUS_NOTIFY_BOUND_DRIVER, dev);
    }

    /**
     * Unbinds {@code dev} ({@code __device_release_driver}): BUS_NOTIFY_UNBIND_DRIVER, the
     * driver's remove, the DMA setup probe made undone (arch_teardown_dma_ops, dma_range_map),
     * dev->driver and the driver data cleared, BUS_NOTIFY_UNBOUND_DRIVER. Nothing for an unbound
     * device.
     */
    @Port("drivers/base/dd.c:device_release_driver")
    public void deviceReleaseDriver(Device dev) {
        DeviceDriver drv = dev.driver;
        if (drv == null) {
            return;
        }
        busNotifier.blockingNotifierCallChain(BUS_NOTIFY_UNBIND_DRIVER, dev);
        drv.remove(dev);
        archTeardownDmaOps(dev);
        dev.dmaRangeMap = null;
        dev.driver = null;
        dev.devSetDrvdata(null);
        bound.remove(dev);
        busNotifier.blockingNotifierCallChain(BUS_NOTIFY_UNBOUND_DRIVER, dev);
    }

    /** arm64 with CONFIG_IOMMU_DMA: the device's DMA ops go back to dma-direct (NULL). */
    @Port("arch/arm64/mm/dma-mapping.c:arch_teardown_dma_ops")
    private static void archTeardownDmaOps(Device dev) {
        dev.dmaOps = null;
    }

    @Override
    public String toString() {
        return name;
    }
}
