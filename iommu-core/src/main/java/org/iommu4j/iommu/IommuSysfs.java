package org.iommu4j.iommu;

import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Gfp.GFP_KERNEL;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Slab;
import org.iommu4j.base.device.Device;

/**
 * drivers/iommu/iommu-sysfs.c: the {@code iommu} device class ({@code /sys/class/iommu}) an IOMMU
 * driver adds its instance's device to, named as the driver likes ({@code smmu3.%pa} for
 * SMMUv3). One instance per IOMMU core ({@link Iommu#iommuSysfs()}): the class is the file's
 * global {@code iommu_class}, registered by {@code iommu_dev_init} when the core comes up.
 *
 * <p>What is modelled: the class device (name, parent, drvdata) and the class's device list,
 * which is what {@code ls /sys/class/iommu} shows. Not modelled: the attribute groups a driver
 * may pass (SMMUv3 passes none) and the {@code devices/} links of {@code iommu_device_link}.
 */
@Port("drivers/iommu/iommu-sysfs.c")
public final class IommuSysfs {
    /** {@code iommu_class}'s devices, in the order they were added; lock-free reads. */
    private final List<Device> iommuClassDevices = new CopyOnWriteArrayList<>();

    IommuSysfs() {}

    /**
     * Creates the sysfs device of {@code iommu} in the iommu class, child of {@code parent} (the
     * IOMMU's hardware device), named by {@code fmt}/{@code args}; sets {@code iommu.dev} to it,
     * with {@code iommu} as its drvdata.
     *
     * <p>Context: may sleep. Return: 0; -ENOMEM (the device's allocation), -EEXIST (a device of
     * that name is in the class already: sysfs refuses the duplicate link and says so), with
     * {@code iommu.dev} left as it was.
     */
    @Port("drivers/iommu/iommu-sysfs.c:iommu_device_sysfs_add")
    public int iommuDeviceSysfsAdd(IommuDevice iommu, Device parent, String fmt, Object... args) {
        String name = String.format(Locale.ROOT, fmt, args);
        // kzalloc + device_initialize + kobject_set_name_vargs: the device carries its name.
        Device dev = Slab.kzalloc(() -> new Device(name), GFP_KERNEL);
        if (dev == null) {
            return -ENOMEM;
        }
        dev.parent = parent;
        // device_add: the class's link /sys/class/iommu/NAME must not exist yet (error: put_device).
        synchronized (iommuClassDevices) {
            for (Device other : iommuClassDevices) {
                if (name.equals(other.devName())) {
                    Printk.prWarn("sysfs: cannot create duplicate filename '/class/iommu/%s'", name);
                    return -EEXIST;
                }
            }
            iommuClassDevices.add(dev);
        }
        iommu.dev = dev;
        dev.devSetDrvdata(iommu);
        return 0;
    }

    /** Unregisters the sysfs device {@link #iommuDeviceSysfsAdd} made; {@code iommu.dev} is null after. */
    @Port("drivers/iommu/iommu-sysfs.c:iommu_device_sysfs_remove")
    public void iommuDeviceSysfsRemove(IommuDevice iommu) {
        iommu.dev.devSetDrvdata(null);
        // device_unregister
        synchronized (iommuClassDevices) {
            iommuClassDevices.remove(iommu.dev);
        }
        iommu.dev = null;
    }

    /** The devices of the iommu class ({@code /sys/class/iommu}), in the order they were added. */
    public List<Device> iommuClassDevices() {
        return List.copyOf(iommuClassDevices);
    }
}
