package org.iommu4j.base;

import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.DeviceDriver;

/** The driver core's own log lines. */
public final class DevPrintk0 {
    private DevPrintk0() {}

    public static void probeFailed(Device dev, DeviceDriver drv, int ret) {
        Printk.printk(Printk.KERN_WARNING, drv.name() + ": probe of " + dev.devName() + " failed with error " + ret);
    }
}
