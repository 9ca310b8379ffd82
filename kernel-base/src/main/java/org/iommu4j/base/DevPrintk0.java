package org.iommu4j.base;

import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENXIO;
import static org.iommu4j.base.Errno.EPROBE_DEFER;

import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.DeviceDriver;

/** The driver core's own log lines. */
public final class DevPrintk0 {
    private DevPrintk0() {}

    public static void probeFailed(Device dev, DeviceDriver drv, int ret) {
        probeResult(drv.name(), dev.devName(), ret);
    }

    /**
     * What the driver core logs after a driver's probe returned {@code ret}: nothing for 0, a
     * debug line for a deferral and for -ENODEV/-ENXIO (the driver turned the device down), a
     * warning for any other error. For buses whose probe path is not a {@link DeviceDriver}.
     */
    @Port("drivers/base/dd.c:call_driver_probe")
    public static void probeResult(String drvName, String devName, int ret) {
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
}
