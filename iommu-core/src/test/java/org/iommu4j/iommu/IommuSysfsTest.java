package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOMEM;

import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * iommu-sysfs.c's class device of an IOMMU, iommu_device_register's fields, and what v5.15's
 * bus_set_iommu(bus, NULL) does and leaves.
 */
@ExtendWith(NoWarnings.class)
class IommuSysfsTest {

    @Test
    void sysfsAddNamesTheClassDeviceUnderTheHardwareDeviceAndRemoveTakesItAway() {
        Iommu iommu = new Iommu();
        IommuDevice idev = new IommuDevice();
        Device hw = new Device("9050000.smmuv3");
        assertThat(iommu.iommuSysfs().iommuDeviceSysfsAdd(idev, hw, "smmu3.0x%016x", 0x0905_0000L)).isZero();
        assertThat(idev.dev.devName()).isEqualTo("smmu3.0x0000000009050000");
        assertThat(idev.dev.parent).isSameAs(hw);
        assertThat(idev.dev.devGetDrvdata()).isSameAs(idev);
        assertThat(iommu.iommuSysfs().iommuClassDevices()).containsExactly(idev.dev);

        Device classDev = idev.dev;
        iommu.iommuSysfs().iommuDeviceSysfsRemove(idev);
        assertThat(idev.dev).isNull();
        assertThat(classDev.devGetDrvdata()).isNull();
        assertThat(iommu.iommuSysfs().iommuClassDevices()).isEmpty();
    }

    @Test
    void aNameTakenInTheClassIsRefusedAndAFailedAllocationIsEnomem() {
        Iommu iommu = new Iommu();
        IommuDevice first = new IommuDevice();
        IommuDevice second = new IommuDevice();
        Device hw = new Device("hw");
        assertThat(iommu.iommuSysfs().iommuDeviceSysfsAdd(first, hw, "smmu3.0x%016x", 0x0905_0000L)).isZero();
        assertThat(iommu.iommuSysfs().iommuDeviceSysfsAdd(second, hw, "smmu3.0x%016x", 0x0905_0000L)).isEqualTo(-EEXIST);
        assertThat(Printk.grep("sysfs: cannot create duplicate filename '/class/iommu/smmu3.0x0000000009050000'")).isNotEmpty();
        assertThat(second.dev).isNull();
        assertThat(iommu.iommuSysfs().iommuClassDevices()).containsExactly(first.dev);

        FaultInject.failNth(1);
        int ret = iommu.iommuSysfs().iommuDeviceSysfsAdd(second, hw, "smmu3.0x%016x", 0x0a05_0000L);
        assertThat(FaultInject.disarm()).isTrue();
        assertThat(ret).isEqualTo(-ENOMEM);
        assertThat(second.dev).isNull();
        assertThat(iommu.iommuSysfs().iommuClassDevices()).containsExactly(first.dev);
    }

    /** Each core has its own class: two worlds do not see each other's IOMMUs. */
    @Test
    void theClassIsPerCore() {
        Iommu a = new Iommu();
        Iommu b = new Iommu();
        assertThat(a.iommuSysfs().iommuDeviceSysfsAdd(new IommuDevice(), null, "x")).isZero();
        assertThat(b.iommuSysfs().iommuClassDevices()).isEmpty();
    }

    /** v5.15's iommu_device_register records ops and fwnode; iommu->dev stays the sysfs device's. */
    @Test
    void registerTakesOpsAndFwnodeNotTheDevice() {
        World w = new World();
        IommuDevice idev = new IommuDevice();
        Device hw = new Device("hw");
        Object node = new Object();
        hw.ofNode = node;
        assertThat(w.iommu.iommuDeviceRegister(idev, w.mock, hw)).isZero();
        assertThat(idev.ops).isSameAs(w.mock);
        assertThat(idev.fwnode).isSameAs(node);
        assertThat(idev.dev).isNull();
        assertThat(w.iommu.iommuOpsFromFwnode(node)).isSameAs(w.mock);
        w.iommu.iommuDeviceUnregister(idev);
        assertThat(w.iommu.iommuOpsFromFwnode(node)).isNull();
    }

    /**
     * bus_set_iommu(bus, NULL) clears the bus's ops and nothing else: devices probed before keep
     * their group; a device added after is still offered to iommu_probe_device by the notifier
     * iommu_bus_init left on the bus, which answers -ENODEV: no group, no dev_iommu private data.
     */
    @Test
    void busSetIommuNullOnlyClearsTheOps() {
        World w = new World();
        Device before = w.added("before", 1);
        IommuGroup g = Iommu.iommuGroupGet(before);
        assertThat(g).isNotNull();
        Iommu.iommuGroupPut(g);
        int notifiers = w.mock.log.size();

        assertThat(w.iommu.busSetIommu(w.bus, null)).isZero();
        assertThat(w.bus.iommuOps).isNull();
        assertThat(Iommu.iommuPresent(w.bus)).isFalse();
        assertThat(Iommu.iommuGetDomainForDev(before)).isNotNull();

        Device after = w.dev("after", 2);
        assertThat(w.bus.deviceAdd(after)).isZero();
        assertThat(Iommu.iommuGroupGet(after)).isNull();
        assertThat(w.iommu.iommuProbeDevice(after)).isEqualTo(-ENODEV);
        assertThat(w.mock.log.subList(notifiers, w.mock.log.size())).as("the driver is not called").isEmpty();
        assertThat(Printk.grep("Adding to iommu group").stream().filter(l -> l.contains("after"))).isEmpty();
    }

    /** A bus whose ops were cleared takes ops again (a driver probed anew). */
    @Test
    void aClearedBusTakesOpsAgain() {
        World w = new World();
        BusType bus = w.bus;
        assertThat(w.iommu.busSetIommu(bus, w.mock)).isZero();
        assertThat(w.iommu.busSetIommu(bus, null)).isZero();
        assertThat(w.iommu.busSetIommu(bus, w.mock)).isZero();
        assertThat(bus.iommuOps).isSameAs(w.mock);
    }
}
