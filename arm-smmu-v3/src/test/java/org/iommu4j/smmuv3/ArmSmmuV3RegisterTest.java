package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.smmuv3.ArmSmmuV3H.ARM_SMMU_CR0;
import static org.iommu4j.smmuv3.ArmSmmuV3H.CR0_SMMUEN;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.ioasid.Ioasid;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuOps;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.hw.PciEndpointCaps;
import org.iommu4j.pci.hw.PciHostBridgeModel;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * arm_smmu_device_probe's tail and arm_smmu_device_remove (v5.15): the SMMU registers itself with
 * the IOMMU core (its sysfs device {@code smmu3.%pa}, the iommu_device, the PCI and platform
 * buses' iommu_ops), in that order after the reset, undoing what it did when a step fails; remove
 * undoes it all before disabling the SMMU, after which a device added to a bus gets no IOMMU.
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3RegisterTest {
    private static final long ECAM = 0x40_1000_0000L;
    private static final String SYSFS_NAME = "smmu3.0x0000000009050000";

    final List<SmmuTestBed> beds = new ArrayList<>();
    final Pci pci = new Pci();

    /** A bed whose driver registers with a core of its own and sets the ops of {@link #pci}'s bus too. */
    SmmuTestBed bed() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        Iommu iommu = new Iommu(tb.pages, new Ioasid(), "");
        tb.drv.iommuCore = iommu;
        tb.drv.pciBusType = pci.pciBusType;
        tb.drv.deviceGroupFn = dev -> Pci.devIsPci(dev) ? iommu.pciDeviceGroup(dev) : iommu.genericDeviceGroup(dev);
        beds.add(tb);
        return tb;
    }

    @AfterEach
    void tearDown() {
        for (SmmuTestBed tb : beds) {
            tb.model.close();
        }
    }

    static List<String> sysfsNames(Iommu iommu) {
        return iommu.iommuSysfs().iommuClassDevices().stream().map(Device::devName).toList();
    }

    /** The SMMU is in its core: its iommu_device, its sysfs device, both buses' ops. */
    void assertRegistered(SmmuTestBed tb, String as) {
        Iommu iommu = tb.drv.iommuCore;
        assertThat(iommu.iommuDevices()).as(as).containsExactly(tb.drv.iommu);
        assertThat(sysfsNames(iommu)).as(as).containsExactly(SYSFS_NAME);
        assertThat(pci.pciBusType.iommuOps).as(as).isSameAs(tb.drv.armSmmuOps);
        assertThat(tb.platformBus.iommuOps).as(as).isSameAs(tb.drv.armSmmuOps);
    }

    /** Nothing of the SMMU is left in its core: no iommu_device, no fwnode lookup, no sysfs device. */
    static void assertUnregistered(SmmuTestBed tb, String as) {
        Iommu iommu = tb.drv.iommuCore;
        assertThat(iommu.iommuDevices()).as(as).isEmpty();
        assertThat(iommu.iommuOpsFromFwnode(tb.pdev.ofNode)).as(as).isNull();
        assertThat(sysfsNames(iommu)).as(as).isEmpty();
        assertThat(tb.drv.iommu.dev).as(as).isNull();
    }

    /** The ops of another IOMMU driver, set on {@code bus} before the SMMU probes. */
    static IommuOps othersOn(SmmuTestBed tb, org.iommu4j.base.device.BusType bus) {
        IommuOps other = new ArmSmmuV3(tb.board.mem, tb.pages, tb.board.mmio, tb.board.irqs, null).armSmmuOps;
        assertThat(tb.drv.iommuCore.busSetIommu(bus, other)).isZero();
        return other;
    }

    /** A platform master of this SMMU (what of_iommu gives it), added to the bed's platform bus. */
    static Device platformMaster(SmmuTestBed tb, String name, int sid) {
        Device dev = new Device(name);
        assertThat(Iommu.iommuFwspecInit(dev, tb.pdev, tb.drv.armSmmuOps)).isZero();
        assertThat(Iommu.iommuFwspecAddIds(dev, new int[] {sid}, 1)).isZero();
        assertThat(tb.platformBus.deviceAdd(dev)).isZero();
        return dev;
    }

    /** Function 00:01.0 scanned onto {@link #pci}'s bus, then configured for the SMMU as of_iommu_configure does. */
    PciDev scanPciFunction(SmmuTestBed tb, int[] probed) {
        PciHostBridgeModel hb = new PciHostBridgeModel("pcie", 0, 0);
        hb.add(1, "ep", PciEndpointCaps.builder().build());
        hb.mapEcam(tb.board.mmio, ECAM);
        pci.pciHostCommonProbe(tb.board.mmio, ECAM, 0, 0);
        PciDev fn = pci.pciGetDomainBusAndSlot(0, 0, Pci.PCI_DEVFN(1, 0));
        assertThat(fn).isNotNull();
        assertThat(Iommu.iommuFwspecInit(fn, tb.pdev, tb.drv.armSmmuOps)).isZero();
        assertThat(Iommu.iommuFwspecAddIds(fn, new int[] {Pci.PCI_DEVFN(1, 0)}, 1)).isZero();
        probed[0] = tb.drv.iommuCore.iommuProbeDevice(fn);
        return fn;
    }

    @Test
    void probeRegistersTheSmmuItsSysfsDeviceAndTheBusesOps() {
        SmmuTestBed tb = bed();
        Iommu iommu = tb.drv.iommuCore;
        assertThat(tb.probe()).isZero();

        // /sys/class/iommu/smmu3.0x0000000009050000, as the reference's ls shows it
        assertRegistered(tb, "after probe");
        assertThat(tb.drv.iommu.ops).isSameAs(tb.drv.armSmmuOps);
        assertThat(tb.drv.iommu.fwnode).isSameAs(tb.pdev.ofNode);
        assertThat(iommu.iommuOpsFromFwnode(tb.pdev.ofNode)).isSameAs(tb.drv.armSmmuOps);
        assertThat(tb.drv.iommu.dev.devName()).isEqualTo(SYSFS_NAME);
        assertThat(tb.drv.iommu.dev.parent).isSameAs(tb.pdev);
        assertThat(tb.drv.iommu.dev.devGetDrvdata()).isSameAs(tb.drv.iommu);
    }

    @Test
    void aPciFunctionProbedWhileRegisteredGetsTheSmmu() {
        SmmuTestBed tb = bed();
        assertThat(tb.probe()).isZero();
        int[] probed = {-1};
        PciDev fn = scanPciFunction(tb, probed);
        assertThat(probed[0]).isZero();
        assertThat(Iommu.iommuGroupGet(fn)).isNotNull();
        assertThat(Iommu.iommuGetDomainForDev(fn)).isNotNull();
        // iommu_device_link: /sys/class/iommu/smmu3.0x0000000009050000/devices/0000:00:01.0 and
        // /sys/bus/pci/devices/0000:00:01.0/iommu
        assertThat(tb.drv.iommuCore.iommuSysfs().iommuDevicesLinks(tb.drv.iommu)).containsExactly(fn.devName());
        assertThat(tb.drv.iommuCore.iommuSysfs().iommuLinkOf(fn)).isSameAs(tb.drv.iommu.dev);
        // iommu_release_device: iommu_device_unlink
        tb.drv.iommuCore.iommuReleaseDevice(fn);
        assertThat(tb.drv.iommuCore.iommuSysfs().iommuDevicesLinks(tb.drv.iommu)).isEmpty();
        assertThat(tb.drv.iommuCore.iommuSysfs().iommuLinkOf(fn)).isNull();
    }

    /**
     * A platform master already on the bus is probed by bus_set_iommu, the probe's last step: by
     * then the SMMU is enabled, registered and in sysfs.
     */
    @Test
    void busOpsAreSetLastAfterTheResetAndTheRegistration() {
        SmmuTestBed tb = bed();
        Iommu iommu = tb.drv.iommuCore;
        Device early = platformMaster(tb, "early", 0x20);
        List<String> seen = new ArrayList<>();
        tb.drv.deviceGroupFn = dev -> {
            seen.add("smmuen=" + ((tb.rec.lastWrite(ARM_SMMU_CR0) & CR0_SMMUEN) != 0)
                    + " registered=" + iommu.iommuDevices().contains(tb.drv.iommu)
                    + " sysfs=" + sysfsNames(iommu));
            return iommu.genericDeviceGroup(dev);
        };
        assertThat(Iommu.iommuGroupGet(early)).isNull();

        assertThat(tb.probe()).isZero();

        assertThat(seen).containsExactly("smmuen=true registered=true sysfs=[" + SYSFS_NAME + "]");
        assertThat(Iommu.iommuGroupGet(early)).isNotNull();
        assertThat(Iommu.iommuGetDomainForDev(early)).isNotNull();
    }

    /** arm_smmu_set_bus_ops's err_reset_pci_ops, then the probe's err_unregister_device and err_sysfs_remove. */
    @Test
    void platformBusBusyUndoesThePciOpsTheRegistrationAndTheSysfsDevice() {
        SmmuTestBed tb = bed();
        IommuOps other = othersOn(tb, tb.platformBus);

        assertThat(tb.probe()).isEqualTo(-EBUSY);

        assertThat(pci.pciBusType.iommuOps).isNull();
        assertThat(tb.platformBus.iommuOps).isSameAs(other);
        assertUnregistered(tb, "platform bus busy");
    }

    @Test
    void pciBusBusyLeavesThePlatformBusAlone() {
        SmmuTestBed tb = bed();
        IommuOps other = othersOn(tb, pci.pciBusType);

        assertThat(tb.probe()).isEqualTo(-EBUSY);

        assertThat(pci.pciBusType.iommuOps).isSameAs(other);
        assertThat(tb.platformBus.iommuOps).isNull();
        assertUnregistered(tb, "PCI bus busy");
    }

    /** A bus that has these very ops already (another SMMU's probe set them) is skipped, not refused. */
    @Test
    void aBusWithTheseOpsAlreadyIsSkipped() {
        SmmuTestBed tb = bed();
        assertThat(tb.drv.iommuCore.busSetIommu(pci.pciBusType, tb.drv.armSmmuOps)).isZero();
        assertThat(tb.probe()).isZero();
        assertRegistered(tb, "PCI ops set before");
    }

    /**
     * iommufd's fail_nth method over the whole probe: whichever allocation fails, the probe either
     * completes (a queue allocation falls back to a smaller size) or leaves the core as it found it.
     */
    @Test
    void failNthEachProbeEitherRegistersFullyOrNotAtAll() {
        int failures = 0;
        for (int n = 1; ; n++) {
            assertThat(n).as("fail-nth sweep ends").isLessThan(500);
            SmmuTestBed tb = bed();
            FaultInject.failNth(n);
            int ret;
            boolean fired;
            try {
                ret = tb.probe();
            } finally {
                fired = FaultInject.disarm();
            }
            if (ret == 0) {
                assertRegistered(tb, "n=" + n);
                tb.drv.armSmmuDeviceRemove();
            } else {
                failures++;
                assertThat(fired).as("n=%d: a failure without an injection", n).isTrue();
                assertUnregistered(tb, "n=" + n + " ret=" + ret);
                assertThat(pci.pciBusType.iommuOps).as("n=%d", n).isNull();
                assertThat(tb.platformBus.iommuOps).as("n=%d", n).isNull();
            }
            tb.model.close();
            beds.remove(tb);
            if (!fired) {
                break;
            }
        }
        assertThat(failures).as("some injection fails the probe").isPositive();
    }

    @Test
    void removeUnregistersEverythingBeforeItDisablesTheSmmu() {
        SmmuTestBed tb = bed();
        Iommu iommu = tb.drv.iommuCore;
        assertThat(tb.probe()).isZero();
        Device before = platformMaster(tb, "before", 0x20);
        assertThat(Iommu.iommuGetDomainForDev(before)).isNotNull();
        List<String> atDisable = new ArrayList<>();
        tb.rec.onWrite = (off, val) -> {
            if (off == ARM_SMMU_CR0 && (val & CR0_SMMUEN) == 0) {
                atDisable.add("pci=" + pci.pciBusType.iommuOps + " platform=" + tb.platformBus.iommuOps
                        + " registered=" + iommu.iommuDevices() + " sysfs=" + sysfsNames(iommu));
            }
        };

        assertThat(tb.drv.armSmmuDeviceRemove()).isZero();

        assertThat(atDisable).containsExactly("pci=null platform=null registered=[] sysfs=[]");
        assertUnregistered(tb, "after remove");
        assertThat(tb.drv.smmu.evtqIopf).isNull();
        assertThat(tb.drv.smmu.priqIopf).isNull();
        // As v5.15: a device probed before keeps its group; one added after gets no IOMMU.
        assertThat(Iommu.iommuGroupGet(before)).isNotNull();
        Device after = platformMaster(tb, "after", 0x28);
        assertThat(Iommu.iommuGroupGet(after)).isNull();
        assertThat(DevIommu.devIommuPrivGet(after)).isNull();
    }

    @Test
    void aPciFunctionProbedAfterRemoveGetsNoIommu() {
        SmmuTestBed tb = bed();
        assertThat(tb.probe()).isZero();
        assertThat(tb.drv.armSmmuDeviceRemove()).isZero();
        assertThat(pci.pciBusType.iommuOps).isNull();

        int[] probed = {0};
        PciDev fn = scanPciFunction(tb, probed);

        assertThat(probed[0]).isEqualTo(-ENODEV);
        assertThat(Iommu.iommuGroupGet(fn)).isNull();
        assertThat(Iommu.iommuGetDomainForDev(fn)).isNull();
        assertThat(DevIommu.devIommuPrivGet(fn)).as("no master: arm_smmu_probe_device never ran").isNull();
    }

    /** The driver core's .remove is arm_smmu_device_remove. */
    @Test
    void theDriversRemoveIsArmSmmuDeviceRemove() {
        SmmuTestBed tb = bed();
        assertThat(tb.probe()).isZero();
        tb.drv.armSmmuDriver.remove(tb.pdev);
        assertUnregistered(tb, "after .remove");
        assertThat(pci.pciBusType.iommuOps).isNull();
        assertThat(tb.platformBus.iommuOps).isNull();
        assertThat(tb.rec.lastWrite(ARM_SMMU_CR0) & CR0_SMMUEN).isZero();
    }
}
