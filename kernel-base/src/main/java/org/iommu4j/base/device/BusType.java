package org.iommu4j.base.device;

import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENXIO;
import static org.iommu4j.base.Errno.EPROBE_DEFER;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiPredicate;
import org.iommu4j.base.Notifier;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;

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
    private final List<Device> deferred = new CopyOnWriteArrayList<>();
    /** {@code bus->p->bus_notifier}. */
    public final Notifier.Blocking busNotifier = new Notifier.Blocking();
    /** {@code bus->iommu_ops}. */
    public volatile Object iommuOps;

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

    /** Adds a device to the bus, notifies, and tries to bind a driver ({@code device_add}). */
    @Port("drivers/base/core.c:device_add")
    public int deviceAdd(Device dev) {
        dev.bus = this;
        devices.add(dev);
        busNotifier.blockingNotifierCallChain(BUS_NOTIFY_ADD_DEVICE, dev);
        deviceAttach(dev);
        return 0;
    }

    /** Unbinds and removes a device ({@code device_del}). */
    @Port("drivers/base/core.c:device_del")
    public void deviceDel(Device dev) {
        busNotifier.blockingNotifierCallChain(BUS_NOTIFY_DEL_DEVICE, dev);
        deviceReleaseDriver(dev);
        devices.remove(dev);
        deferred.remove(dev);
        busNotifier.blockingNotifierCallChain(BUS_NOTIFY_REMOVED_DEVICE, dev);
    }

    /** Registers a driver and binds it to matching unbound devices. */
    @Port("drivers/base/driver.c:driver_register")
    public int driverRegister(DeviceDriver drv) {
        drivers.add(drv);
        for (Device d : devices) {
            if (d.driver == null && match.test(d, drv)) {
                reallyProbe(d, drv);
            }
        }
        return 0;
    }

    @Port("drivers/base/driver.c:driver_unregister")
    public void driverUnregister(DeviceDriver drv) {
        for (Device d : devices) {
            if (d.driver == drv) {
                deviceReleaseDriver(d);
            }
        }
        drivers.remove(drv);
    }

    /** Tries every driver; returns 1 if bound, 0 if none matched, -errno from probe. */
    @Port("drivers/base/dd.c:device_attach")
    public int deviceAttach(Device dev) {
        if (dev.driver != null) {
            return 1;
        }
        for (DeviceDriver drv : drivers) {
            if (match.test(dev, drv)) {
                int ret = reallyProbe(dev, drv);
                return ret == 0 ? 1 : ret;
            }
        }
        return 0;
    }

    /** Retries devices whose probe returned -EPROBE_DEFER ({@code driver_deferred_probe_trigger}). */
    @Port("drivers/base/dd.c:driver_deferred_probe_trigger")
    public void driverDeferredProbeTrigger() {
        List<Device> again = new ArrayList<>(deferred);
        deferred.clear();
        for (Device d : again) {
            deviceAttach(d);
        }
    }

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

    @Port("drivers/base/dd.c:really_probe")
    private int reallyProbe(Device dev, DeviceDriver drv) {
        busNotifier.blockingNotifierCallChain(BUS_NOTIFY_BIND_DRIVER, dev);
        dev.driver = drv;
        int ret = drv.probe(dev);
        if (ret != 0) {
            dev.driver = null;
            dev.devSetDrvdata(null);
            busNotifier.blockingNotifierCallChain(BUS_NOTIFY_DRIVER_NOT_BOUND, dev);
            if (ret == -EPROBE_DEFER) {
                // driver_deferred_probe_add: a device sits on the list at most once.
                if (!deferred.contains(dev)) {
                    deferred.add(dev);
                }
            } else {
                callDriverProbeResult(drv.name(), dev.devName(), ret);
            }
            return ret;
        }
        // driver_bound -> driver_deferred_probe_del: a bound device is no longer deferred.
        deferred.remove(dev);
        busNotifier.blockingNotifierCallChain(BUS_NOTIFY_BOUND_DRIVER, dev);
        return 0;
    }

    @Port("drivers/base/dd.c:device_release_driver")
    public void deviceReleaseDriver(Device dev) {
        DeviceDriver drv = dev.driver;
        if (drv == null) {
            return;
        }
        busNotifier.blockingNotifierCallChain(BUS_NOTIFY_UNBIND_DRIVER, dev);
        drv.remove(dev);
        dev.driver = null;
        dev.devSetDrvdata(null);
        busNotifier.blockingNotifierCallChain(BUS_NOTIFY_UNBOUND_DRIVER, dev);
    }

    @Override
    public String toString() {
        return name;
    }
}
