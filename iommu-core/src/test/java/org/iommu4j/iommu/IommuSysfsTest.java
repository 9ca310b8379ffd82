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

    /**
     * __iommu_probe_device links a probed device with its IOMMU (IOMMU/devices/DEV and
     * DEV/iommu) and iommu_release_device takes both links back, as v5.15's
     * iommu_device_link/iommu_device_unlink do; a bus_set_iommu probing the bus's devices links
     * each of them.
     */
    @Test
    void probeLinksTheDeviceWithItsIommuAndReleaseUnlinks() {
        World w = new World(); // its mock IOMMU has its class device, as a driver's has
        IommuSysfs sysfs = w.iommu.iommuSysfs();
        Device early = w.dev("early", 3);
        assertThat(w.bus.deviceAdd(early)).isZero();
        assertThat(sysfs.iommuLinkOf(early)).as("no ops on the bus yet").isNull();

        Device a = w.added("a", 1); // bus_set_iommu probes "early", then the notifier probes "a"
        Device b = w.added("b", 2);
        assertThat(sysfs.iommuDevicesLinks(w.mock.iommuDev)).containsExactly("early", "a", "b");
        assertThat(sysfs.iommuLinkOf(a)).isSameAs(w.mock.iommuDev.dev);
        assertThat(sysfs.iommuLinkOf(early)).isSameAs(w.mock.iommuDev.dev);

        w.bus.deviceDel(a);
        assertThat(Iommu.iommuGroupGet(a)).isNull();
        assertThat(sysfs.iommuLinkOf(a)).isNull();
        assertThat(sysfs.iommuDevicesLinks(w.mock.iommuDev)).containsExactly("early", "b");
    }

    /**
     * A driver's probe_device failing leaves no link; an IOMMU without a class device (a mock
     * that never called iommu_device_sysfs_add, where v5.15 would dereference NULL) gets its
     * devices probed without links; a null IOMMU is -ENODEV.
     */
    @Test
    void linkWithoutAClassDeviceOrIommuMakesNoLink() {
        World w = new World();
        IommuSysfs sysfs = w.iommu.iommuSysfs();
        sysfs.iommuDeviceSysfsRemove(w.mock.iommuDev);
        Device a = w.added("a", 1);
        assertThat(Iommu.iommuGroupGet(a)).isNotNull();
        assertThat(sysfs.iommuLinkOf(a)).isNull();
        assertThat(sysfs.iommuDevicesLinks(w.mock.iommuDev)).isEmpty();
        assertThat(sysfs.iommuDeviceLink(null, a)).isEqualTo(-ENODEV);
        w.bus.deviceDel(a);
        assertThat(Iommu.iommuGroupGet(a)).isNull();
    }

    /** A name in the devices group twice is -EEXIST with sysfs's warning; a second iommu link is -EEXIST quietly, the group's link taken back. */
    @Test
    void duplicateLinksAreRefused() {
        Printk.clear();
        Iommu core = new Iommu();
        IommuSysfs sysfs = core.iommuSysfs();
        IommuDevice one = new IommuDevice();
        IommuDevice two = new IommuDevice();
        assertThat(sysfs.iommuDeviceSysfsAdd(one, null, "one")).isZero();
        assertThat(sysfs.iommuDeviceSysfsAdd(two, null, "two")).isZero();
        Device d = new Device("d");
        assertThat(sysfs.iommuDeviceLink(one, d)).isZero();
        assertThat(sysfs.iommuDeviceLink(one, new Device("d"))).isEqualTo(-EEXIST);
        assertThat(Printk.grep("sysfs: cannot create duplicate filename")).hasSize(1);
        Printk.clear();
        assertThat(sysfs.iommuDeviceLink(two, d)).isEqualTo(-EEXIST);
        assertThat(Printk.grep("sysfs: cannot create duplicate filename")).isEmpty();
        assertThat(sysfs.iommuDevicesLinks(two)).isEmpty();
        assertThat(sysfs.iommuLinkOf(d)).isSameAs(one.dev);
        sysfs.iommuDeviceUnlink(one, d);
        assertThat(sysfs.iommuLinkOf(d)).isNull();
        assertThat(sysfs.iommuDevicesLinks(one)).isEmpty();
    }
}
