package org.iommu4j.iommu;

import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOENT;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Gfp.GFP_KERNEL;

import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
 * <p>What is modelled: the class device (name, parent, drvdata), the class's device list, which
 * is what {@code ls /sys/class/iommu} shows, the class's {@code devices} group of each class
 * device and the links {@link #iommuDeviceLink} makes: one in that group per device the IOMMU
 * manages, named after it, and an {@code iommu} link in the device's own directory back to the
 * class device. Not modelled: the attribute groups a driver may pass (SMMUv3 passes none) and
 * kernfs's allocation failures.
 */
@Port("drivers/iommu/iommu-sysfs.c")
public final class IommuSysfs {
    /** {@code iommu_class}'s devices, in the order they were added; lock-free reads. */
    private final List<Device> iommuClassDevices = new CopyOnWriteArrayList<>();
    /**
     * The {@code devices} group (iommu_class's dev_groups: {@code devices_attr_group}) of each
     * class device: link name ({@code dev_name} of the linked device) to the linked device.
     * Guarded by {@link #iommuClassDevices}.
     */
    private final Map<Device, Map<String, Device>> devicesGroups = new IdentityHashMap<>();
    /** The {@code iommu} link of each linked device: its target, a class device. Guarded by {@link #iommuClassDevices}. */
    private final Map<Device, Device> iommuLinks = new IdentityHashMap<>();

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
            // device_add -> device_add_groups(class->dev_groups): the empty "devices" group
            devicesGroups.put(dev, new LinkedHashMap<>());
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
            // the directory goes with its "devices" group; "iommu" links to it are left dangling
            devicesGroups.remove(iommu.dev);
        }
        iommu.dev = null;
    }

    /**
     * Records that {@code iommu} manages {@code link}: a link named {@code dev_name(link)} in the
     * {@code devices} group of the IOMMU's class device, and a link {@code iommu} in
     * {@code link}'s directory to that class device. Called by __iommu_probe_device, which
     * ignores the result.
     *
     * <p>Return: 0; -ENODEV for a null {@code iommu} (v5.15's {@code !iommu || IS_ERR(iommu)});
     * -EEXIST when the group has a link of that name already (sysfs warns of the duplicate) or
     * {@code link} has an {@code iommu} link already (no warning: sysfs_create_link_nowarn; the
     * group's link is taken back). An IOMMU whose driver never called
     * {@link #iommuDeviceSysfsAdd} (a test's mock) has no class device: v5.15 would dereference
     * its NULL {@code iommu->dev} here (every v5.15 driver adds its sysfs device before it
     * registers); this model answers -ENOENT instead, sysfs_add_link_to_group's answer for a
     * missing group, and makes no link.
     */
    @Port("drivers/iommu/iommu-sysfs.c:iommu_device_link")
    public int iommuDeviceLink(IommuDevice iommu, Device link) {
        if (iommu == null) {
            return -ENODEV;
        }
        Device dev = iommu.dev;
        String name = link.devName();
        synchronized (iommuClassDevices) {
            Map<String, Device> group = dev == null ? null : devicesGroups.get(dev);
            if (group == null) {
                return -ENOENT;
            }
            // sysfs_add_link_to_group(&iommu->dev->kobj, "devices", &link->kobj, dev_name(link))
            if (group.containsKey(name)) {
                Printk.prWarn("sysfs: cannot create duplicate filename '/class/iommu/%s/devices/%s'", dev.devName(), name);
                return -EEXIST;
            }
            group.put(name, link);
            // sysfs_create_link_nowarn(&link->kobj, &iommu->dev->kobj, "iommu")
            if (iommuLinks.containsKey(link)) {
                group.remove(name); // sysfs_remove_link_from_group
                return -EEXIST;
            }
            iommuLinks.put(link, dev);
        }
        return 0;
    }

    /**
     * Takes back {@link #iommuDeviceLink}'s two links: {@code link}'s {@code iommu} link, then
     * the one named after it in the IOMMU's {@code devices} group. Nothing for a null
     * {@code iommu}; for an IOMMU without a class device (v5.15: a NULL dereference, see
     * {@link #iommuDeviceLink}) only the {@code iommu} link is removed.
     */
    @Port("drivers/iommu/iommu-sysfs.c:iommu_device_unlink")
    public void iommuDeviceUnlink(IommuDevice iommu, Device link) {
        if (iommu == null) {
            return;
        }
        synchronized (iommuClassDevices) {
            iommuLinks.remove(link); // sysfs_remove_link(&link->kobj, "iommu")
            Map<String, Device> group = iommu.dev == null ? null : devicesGroups.get(iommu.dev);
            if (group != null) {
                group.remove(link.devName());
            }
        }
    }

    /**
     * The names in the {@code devices} group of {@code iommu}'s class device
     * ({@code ls /sys/class/iommu/NAME/devices}), in the order they were linked; empty without
     * a class device.
     */
    public List<String> iommuDevicesLinks(IommuDevice iommu) {
        synchronized (iommuClassDevices) {
            Map<String, Device> group = iommu.dev == null ? null : devicesGroups.get(iommu.dev);
            return group == null ? List.of() : List.copyOf(group.keySet());
        }
    }

    /** The class device {@code dev}'s {@code iommu} link points at ({@code /sys/.../DEV/iommu}), or null. */
    public Device iommuLinkOf(Device dev) {
        synchronized (iommuClassDevices) {
            return iommuLinks.get(dev);
        }
    }

    /** The devices of the iommu class ({@code /sys/class/iommu}), in the order they were added. */
    public List<Device> iommuClassDevices() {
        return List.copyOf(iommuClassDevices);
    }
}
