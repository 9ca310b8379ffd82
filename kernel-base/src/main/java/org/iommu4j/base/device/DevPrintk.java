package org.iommu4j.base.device;

import java.util.Locale;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;

/** dev_info/dev_warn/dev_err/dev_dbg (drivers/base/core.c): "driver devname: message". */
public final class DevPrintk {
    private DevPrintk() {}

    /** "driver devname: ", or what __dev_printk prints for a NULL device. */
    private static String prefix(Device dev) {
        if (dev == null) {
            return "(NULL device *): ";
        }
        String drv = dev.driverName();
        return (drv.isEmpty() ? "" : drv + " ") + dev.devName() + ": ";
    }

    @Port("drivers/base/core.c:_dev_info")
    public static void devInfo(Device dev, String fmt, Object... args) {
        Printk.printk(Printk.KERN_INFO, prefix(dev) + String.format(Locale.ROOT, fmt, args));
    }

    @Port("drivers/base/core.c:_dev_notice")
    public static void devNotice(Device dev, String fmt, Object... args) {
        Printk.printk(Printk.KERN_NOTICE, prefix(dev) + String.format(Locale.ROOT, fmt, args));
    }

    @Port("drivers/base/core.c:_dev_warn")
    public static void devWarn(Device dev, String fmt, Object... args) {
        Printk.printk(Printk.KERN_WARNING, prefix(dev) + String.format(Locale.ROOT, fmt, args));
    }

    @Port("drivers/base/core.c:_dev_err")
    public static void devErr(Device dev, String fmt, Object... args) {
        Printk.printk(Printk.KERN_ERR, prefix(dev) + String.format(Locale.ROOT, fmt, args));
    }

    @Port("include/linux/dev_printk.h:dev_dbg")
    public static void devDbg(Device dev, String fmt, Object... args) {
        Printk.printk(Printk.KERN_DEBUG, prefix(dev) + String.format(Locale.ROOT, fmt, args));
    }
}
