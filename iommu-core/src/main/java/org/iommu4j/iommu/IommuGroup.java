package org.iommu4j.iommu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.Kref;
import org.iommu4j.base.Notifier;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;

/**
 * {@code struct iommu_group}: devices the IOMMU cannot isolate from each other, sharing one
 * domain. Allocated with {@link Iommu#iommuGroupAlloc()}; the kobject refcount is {@link #kref}
 * ({@code iommu_group_get}/{@code iommu_group_put}); the last put frees the default domain.
 *
 * <p>Invariants (under {@link #mutex}): {@code domain == null} only when no default domain
 * exists and no domain was attached; every device in {@link #devices} has
 * {@code dev.iommuGroup == this}.
 */
@Port("drivers/iommu/iommu.c:iommu_group")
public final class IommuGroup {
    /** {@code struct group_device}. */
    @Port("drivers/iommu/iommu.c:group_device")
    static final class GroupDevice {
        final Device dev;
        final String name;

        GroupDevice(Device dev, String name) {
            this.dev = dev;
            this.name = name;
        }
    }

    final Iommu core;
    final Kref kref = new Kref();
    /** Group devices; guarded by {@link #mutex}. */
    final List<GroupDevice> devices = new ArrayList<>();
    /** Protects devices, domain, default_domain. */
    public final ReentrantLock mutex = new ReentrantLock();
    public final Notifier.Blocking notifier = new Notifier.Blocking();
    public Object iommuData;
    public Runnable iommuDataRelease;
    public String name;
    public final int id;
    IommuDomain defaultDomain;
    IommuDomain domain;
    /** On the bus_iommu_probe group list. */
    boolean onList;

    IommuGroup(Iommu core, int id) {
        this.core = core;
        this.id = id;
        kref.krefInit();
    }

    /** {@code iommu_group_id}. */
    @Port("drivers/iommu/iommu.c:iommu_group_id")
    public int iommuGroupId() {
        return id;
    }

    /** The default domain, or null (reads under the mutex). */
    public IommuDomain defaultDomain() {
        mutex.lock();
        try {
            return defaultDomain;
        } finally {
            mutex.unlock();
        }
    }

    /** The current domain, or null. */
    public IommuDomain domain() {
        mutex.lock();
        try {
            return domain;
        } finally {
            mutex.unlock();
        }
    }

    /** Snapshot of the group's devices. */
    public List<Device> devices() {
        mutex.lock();
        try {
            List<Device> l = new ArrayList<>(devices.size());
            for (GroupDevice g : devices) {
                l.add(g.dev);
            }
            return l;
        } finally {
            mutex.unlock();
        }
    }

    /** Current reference count (tests). */
    public int refcount() {
        return kref.krefRead();
    }

    @Override
    public String toString() {
        return "iommu_group " + id;
    }
}
