package org.iommu4j.base.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.*;
import static org.iommu4j.base.device.BusType.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.iommu4j.base.Notifier;
import org.iommu4j.base.NotifierBlock;
import org.iommu4j.base.Printk;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** drivers/base: bus, driver binding, deferred probe, bus notifier, platform devices. */
@ExtendWith(NoWarnings.class)
class DeviceModelTest {
    private BusType bus;
    private final List<String> events = new ArrayList<>();

    /** A driver whose probe result is scripted and whose calls are logged. */
    private static final class TestDriver implements DeviceDriver {
        final String name;
        final List<String> log = new ArrayList<>();
        int probeRet;
        final AtomicInteger probes = new AtomicInteger();

        TestDriver(String name, int probeRet) {
            this.name = name;
            this.probeRet = probeRet;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public int probe(Device dev) {
            probes.incrementAndGet();
            log.add("probe " + dev.devName());
            assertThat(dev.driver).isSameAs(this); // dev->driver is set while probe runs
            if (probeRet == 0) {
                dev.devSetDrvdata("priv-" + dev.devName());
            } else {
                dev.devSetDrvdata("junk");
            }
            return probeRet;
        }

        @Override
        public void remove(Device dev) {
            log.add("remove " + dev.devName() + " " + dev.devGetDrvdata());
        }
    }

    private static String eventName(long action) {
        return switch ((int) action) {
            case (int) BUS_NOTIFY_ADD_DEVICE -> "ADD_DEVICE";
            case (int) BUS_NOTIFY_DEL_DEVICE -> "DEL_DEVICE";
            case (int) BUS_NOTIFY_REMOVED_DEVICE -> "REMOVED_DEVICE";
            case (int) BUS_NOTIFY_BIND_DRIVER -> "BIND_DRIVER";
            case (int) BUS_NOTIFY_BOUND_DRIVER -> "BOUND_DRIVER";
            case (int) BUS_NOTIFY_UNBIND_DRIVER -> "UNBIND_DRIVER";
            case (int) BUS_NOTIFY_UNBOUND_DRIVER -> "UNBOUND_DRIVER";
            case (int) BUS_NOTIFY_DRIVER_NOT_BOUND -> "DRIVER_NOT_BOUND";
            default -> "?" + action;
        };
    }

    @BeforeEach
    void setUp() {
        bus = new BusType("testbus", (dev, drv) -> dev.devName().startsWith(drv.name()));
        bus.busNotifier.blockingNotifierChainRegister(NotifierBlock.of(0, (action, data) -> {
            events.add(eventName(action) + " " + data);
            return Notifier.NOTIFY_DONE;
        }));
    }

    @Test
    void deviceAddBindsAMatchingDriverWithNotifierEvents() {
        TestDriver drv = new TestDriver("smmu", 0);
        assertThat(bus.driverRegister(drv)).isZero();
        Device dev = new Device("smmu0");
        assertThat(bus.deviceAdd(dev)).isZero();
        assertThat(dev.bus).isSameAs(bus);
        assertThat(dev.driver).isSameAs(drv);
        assertThat(dev.devGetDrvdata()).isEqualTo("priv-smmu0");
        assertThat(dev.driverName()).isEqualTo("smmu");
        assertThat(events).containsExactly("ADD_DEVICE smmu0", "BIND_DRIVER smmu0", "BOUND_DRIVER smmu0");
        assertThat(bus.devices()).containsExactly(dev);
        assertThat(bus.drivers()).containsExactly(drv);
        assertThat(bus.deviceAttach(dev)).isEqualTo(1);
        assertThat(drv.probes).hasValue(1);
    }

    @Test
    void driverRegisterBindsDevicesAlreadyOnTheBus() {
        Device a = new Device("pci0"), b = new Device("pci1"), other = new Device("usb0");
        bus.deviceAdd(a);
        bus.deviceAdd(b);
        bus.deviceAdd(other);
        assertThat(a.driver).isNull();
        assertThat(a.driverName()).isEqualTo("testbus");
        TestDriver drv = new TestDriver("pci", 0);
        bus.driverRegister(drv);
        assertThat(a.driver).isSameAs(drv);
        assertThat(b.driver).isSameAs(drv);
        assertThat(other.driver).isNull();
        assertThat(bus.deviceAttach(other)).isZero();
    }

    @Test
    void probeDeferIsRetriedByTheTrigger() {
        TestDriver drv = new TestDriver("dma", -EPROBE_DEFER);
        bus.driverRegister(drv);
        Device dev = new Device("dma0");
        bus.deviceAdd(dev);
        assertThat(dev.driver).isNull();
        assertThat(dev.devGetDrvdata()).isNull();
        assertThat(bus.deferredDevices()).containsExactly(dev);
        assertThat(events).containsExactly("ADD_DEVICE dma0", "BIND_DRIVER dma0", "DRIVER_NOT_BOUND dma0");
        // Deferral is quiet: no "probe failed" line.
        assertThat(Printk.grep("probe of dma0 failed")).isEmpty();

        // Still not ready: stays deferred, listed once.
        bus.driverDeferredProbeTrigger();
        assertThat(bus.deferredDevices()).containsExactly(dev);
        // device_attach swallows probe errors: 0, "no driver took it".
        assertThat(bus.deviceAttach(dev)).isZero();
        assertThat(bus.deferredDevices()).containsExactly(dev);

        drv.probeRet = 0;
        events.clear();
        bus.driverDeferredProbeTrigger();
        assertThat(dev.driver).isSameAs(drv);
        assertThat(bus.deferredDevices()).isEmpty();
        assertThat(events).containsExactly("BIND_DRIVER dma0", "BOUND_DRIVER dma0");
        assertThat(drv.probes).hasValue(4);
    }

    @Test
    void aDeferredDeviceBoundByAnotherPathLeavesTheDeferredList() {
        TestDriver deferring = new TestDriver("gpu", -EPROBE_DEFER);
        bus.driverRegister(deferring);
        Device dev = new Device("gpu0");
        bus.deviceAdd(dev);
        assertThat(bus.deferredDevices()).containsExactly(dev);
        deferring.probeRet = 0;
        assertThat(bus.deviceAttach(dev)).isEqualTo(1);
        assertThat(bus.deferredDevices()).isEmpty();
    }

    @Test
    void probeErrorsOtherThanEnodevAreLogged() {
        TestDriver bad = new TestDriver("bad", -EINVAL);
        bus.driverRegister(bad);
        Device dev = new Device("bad-dev-123");
        bus.deviceAdd(dev);
        assertThat(dev.driver).isNull();
        assertThat(bus.deferredDevices()).isEmpty();
        assertThat(bus.deviceAttach(dev)).isZero();
        assertThat(Printk.grep("bad: probe of bad-dev-123 failed with error -22")).isNotEmpty();

        TestDriver nodev = new TestDriver("quiet", -ENODEV);
        bus.driverRegister(nodev);
        bus.deviceAdd(new Device("quiet-dev-456"));
        assertThat(Printk.grep("quiet-dev-456")).isEmpty();
    }

    @Test
    void deviceDelUnbindsAndRemoves() {
        TestDriver drv = new TestDriver("nic", 0);
        bus.driverRegister(drv);
        Device dev = new Device("nic0");
        bus.deviceAdd(dev);
        // what dma_configure gave it at probe (arm64: the IOMMU DMA ops, the dma-ranges)
        dev.dmaOps = new Object();
        dev.dmaRangeMap = new BusDmaRegion[0];
        events.clear();
        bus.deviceDel(dev);
        assertThat(events).containsExactly("DEL_DEVICE nic0", "UNBIND_DRIVER nic0", "UNBOUND_DRIVER nic0", "REMOVED_DEVICE nic0");
        assertThat(drv.log).containsExactly("probe nic0", "remove nic0 priv-nic0");
        assertThat(dev.driver).isNull();
        assertThat(dev.devGetDrvdata()).isNull();
        assertThat(bus.devices()).isEmpty();
        // __device_release_driver: arch_teardown_dma_ops, dma_range_map freed
        assertThat(dev.dmaOps).isNull();
        assertThat(dev.dmaRangeMap).isNull();
    }

    @Test
    void driverUnregisterReleasesItsDevices() {
        TestDriver drv = new TestDriver("ep", 0);
        bus.driverRegister(drv);
        Device a = new Device("ep0");
        bus.deviceAdd(a);
        bus.driverUnregister(drv);
        assertThat(a.driver).isNull();
        assertThat(drv.log).containsExactly("probe ep0", "remove ep0 priv-ep0");
        assertThat(bus.drivers()).isEmpty();
        bus.deviceReleaseDriver(a); // unbound already: nothing happens
        assertThat(drv.log).hasSize(2);
    }

    /** really_probe: dev->driver is set before BIND_DRIVER and still set for DRIVER_NOT_BOUND. */
    @Test
    void bindNotifiersSeeTheDriverBeingProbed() {
        TestDriver failing = new TestDriver("blk", -EIO);
        bus.driverRegister(failing);
        List<String> seen = new ArrayList<>();
        bus.busNotifier.blockingNotifierChainRegister(NotifierBlock.of(0, (action, data) -> {
            Device d = (Device) data;
            seen.add(eventName(action) + " " + (d.driver == null ? "-" : d.driver.name()) + " " + d.devGetDrvdata());
            return Notifier.NOTIFY_DONE;
        }));
        Device dev = new Device("blk0");
        bus.deviceAdd(dev);
        assertThat(seen).containsExactly("ADD_DEVICE - null", "BIND_DRIVER blk null", "DRIVER_NOT_BOUND blk junk");
        assertThat(dev.driver).isNull();
        assertThat(dev.devGetDrvdata()).isNull();
    }

    /**
     * really_probe runs the bus's dma_configure with dev->driver set, before BIND_DRIVER and the
     * probe; its failure fails the binding without a probe (DRIVER_NOT_BOUND, the DMA setup torn
     * down, the -errno returned as is, -EPROBE_DEFER deferring); a probe failing after a
     * successful dma_configure also undoes the DMA ops (arch_teardown_dma_ops, dma_range_map).
     */
    @Test
    void dmaConfigureRunsBeforeTheProbeAndIsUndoneWhenTheBindingFails() {
        int[] configureRet = {0};
        Object ops = new Object();
        bus.dmaConfigure = dev -> {
            events.add("dma_configure " + dev + " driver=" + dev.driver.name());
            dev.dmaOps = ops;
            dev.dmaRangeMap = new BusDmaRegion[0];
            return configureRet[0];
        };
        TestDriver drv = new TestDriver("net", 0);
        bus.driverRegister(drv);
        Device good = new Device("net0");
        bus.deviceAdd(good);
        assertThat(events).containsExactly("ADD_DEVICE net0", "dma_configure net0 driver=net", "BIND_DRIVER net0",
                "BOUND_DRIVER net0");
        assertThat(good.dmaOps).isSameAs(ops);

        events.clear();
        configureRet[0] = -EINVAL;
        Device bad = new Device("net1");
        bus.deviceAdd(bad);
        assertThat(events).containsExactly("ADD_DEVICE net1", "dma_configure net1 driver=net", "DRIVER_NOT_BOUND net1");
        assertThat(drv.log).containsExactly("probe net0");
        assertThat(bad.driver).isNull();
        assertThat(bad.dmaOps).isNull();
        assertThat(bad.dmaRangeMap).isNull();
        assertThat(bus.deviceAttach(bad)).isEqualTo(-EINVAL);
        assertThat(bus.deferredDevices()).isEmpty();

        configureRet[0] = -EPROBE_DEFER;
        assertThat(bus.deviceAttach(bad)).isEqualTo(-EPROBE_DEFER);
        assertThat(bus.deferredDevices()).containsExactly(bad);

        configureRet[0] = 0;
        drv.probeRet = -EIO;
        Device failing = new Device("net2");
        bus.deviceAdd(failing);
        assertThat(failing.driver).isNull();
        assertThat(failing.dmaOps).isNull();
        assertThat(failing.dmaRangeMap).isNull();
        assertThat(Printk.grep("net: probe of net2 failed with error -5")).hasSize(1);
    }

    /** __device_attach_driver ignores a failed probe so that the next matching driver is tried. */
    @Test
    void aFailedProbeLeavesTheNextMatchingDriverItsChance() {
        TestDriver first = new TestDriver("ser", -ENODEV);
        TestDriver second = new TestDriver("se", -EPROBE_DEFER);
        TestDriver third = new TestDriver("s", 0);
        bus.driverRegister(first);
        bus.driverRegister(second);
        Device dev = new Device("serial0");
        assertThat(bus.deviceAdd(dev)).isZero();
        assertThat(dev.driver).isNull();
        assertThat(bus.deferredDevices()).containsExactly(dev);
        assertThat(bus.deviceAttach(dev)).isZero();
        bus.driverRegister(third);
        assertThat(dev.driver).isSameAs(third);
        assertThat(first.probes).hasValue(2);
        assertThat(second.probes).hasValue(2);
        events.clear();
        bus.deviceReleaseDriver(dev);
        assertThat(bus.deviceAttach(dev)).isEqualTo(1);
        assertThat(dev.driver).isSameAs(third);
        assertThat(first.probes).hasValue(3);
        assertThat(events).containsExactly("UNBIND_DRIVER serial0", "UNBOUND_DRIVER serial0",
                "BIND_DRIVER serial0", "DRIVER_NOT_BOUND serial0", "BIND_DRIVER serial0", "DRIVER_NOT_BOUND serial0",
                "BIND_DRIVER serial0", "BOUND_DRIVER serial0");
        // A device taken off the bus is not probed again.
        bus.deviceDel(dev);
        assertThat(bus.deviceAttach(dev)).isZero();
        assertThat(third.probes).hasValue(2);
    }

    /** driver_register: driver_find refuses a second driver of the same name with -EBUSY. */
    @Test
    void driverRegisterRefusesADuplicateName() {
        TestDriver a = new TestDriver("uart", -ENODEV);
        TestDriver b = new TestDriver("uart", 0);
        Device dev = new Device("uart0");
        bus.deviceAdd(dev);
        assertThat(bus.driverRegister(a)).isZero();
        assertThat(bus.driverRegister(b)).isEqualTo(-EBUSY);
        assertThat(bus.drivers()).containsExactly(a);
        assertThat(b.probes).hasValue(0);
        assertThat(dev.driver).isNull();
        assertThat(Printk.grep("Error: Driver 'uart' is already registered, aborting...")).isNotEmpty();
    }

    /** device_add: a device without a name is refused with -EINVAL and left off the bus. */
    @Test
    void deviceAddRefusesANamelessDevice() {
        Device dev = new Device(null);
        assertThat(bus.deviceAdd(dev)).isEqualTo(-EINVAL);
        assertThat(bus.devices()).isEmpty();
        assertThat(events).isEmpty();
    }

    /** device_add: a second device of the same name on the bus (or the same one again) is -EEXIST. */
    @Test
    void deviceAddRefusesADuplicateName() {
        TestDriver drv = new TestDriver("tty", 0);
        bus.driverRegister(drv);
        Device first = new Device("tty0");
        assertThat(bus.deviceAdd(first)).isZero();
        Device twin = new Device("tty0");
        events.clear();
        assertThat(bus.deviceAdd(twin)).isEqualTo(-EEXIST);
        assertThat(bus.deviceAdd(first)).isEqualTo(-EEXIST);
        assertThat(events).isEmpty();
        assertThat(bus.devices()).containsExactly(first);
        assertThat(twin.driver).isNull();
        assertThat(drv.probes).hasValue(1);
        assertThat(Printk.grep("sysfs: cannot create duplicate filename '/bus/testbus/devices/tty0'")).hasSize(2);
        // Once the first is deleted, the name is free again.
        bus.deviceDel(first);
        assertThat(bus.deviceAdd(twin)).isZero();
        assertThat(twin.driver).isSameAs(drv);
    }

    /** bus_remove_device takes the device off the bus's list before its driver is released. */
    @Test
    void deviceDelLeavesTheBusListBeforeUnbinding() {
        TestDriver drv = new TestDriver("eth", 0);
        bus.driverRegister(drv);
        Device dev = new Device("eth0");
        bus.deviceAdd(dev);
        List<Boolean> onBus = new ArrayList<>();
        bus.busNotifier.blockingNotifierChainRegister(NotifierBlock.of(0, (action, data) -> {
            onBus.add(bus.devices().contains(data));
            return Notifier.NOTIFY_DONE;
        }));
        bus.deviceDel(dev);
        // DEL_DEVICE, UNBIND_DRIVER, UNBOUND_DRIVER, REMOVED_DEVICE
        assertThat(onBus).containsExactly(true, false, false, false);
    }

    /**
     * driver_unregister: the driver leaves the bus's list first, then driver_detach unbinds its
     * devices newest binding first; an unknown driver WARNs.
     */
    @Test
    void driverUnregisterDetachesTheLastBoundFirst() {
        Device a = new Device("fb0"), b = new Device("fb1"), c = new Device("fb2");
        bus.deviceAdd(b);
        bus.deviceAdd(a);
        TestDriver drv = new TestDriver("fb", 0);
        bus.driverRegister(drv); // binds b, then a (bus order)
        bus.deviceAdd(c);
        List<Boolean> registered = new ArrayList<>();
        bus.busNotifier.blockingNotifierChainRegister(NotifierBlock.of(0, (action, data) -> {
            registered.add(bus.drivers().contains(drv));
            return Notifier.NOTIFY_DONE;
        }));
        drv.log.clear();
        bus.driverUnregister(drv);
        assertThat(drv.log).containsExactly("remove fb2 priv-fb2", "remove fb0 priv-fb0", "remove fb1 priv-fb1");
        assertThat(registered).isNotEmpty().containsOnly(false);
        bus.driverUnregister(drv);
        assertThat(org.iommu4j.base.Warn.drain()).singleElement().asString().contains("Unexpected driver unregister!");
    }

    /**
     * deferred_probe_work_func: a device that binds during the pass triggers again, so one that
     * deferred earlier in the same pass is retried and binds.
     */
    @Test
    void aBindingDuringTheTriggerRetriesTheDevicesThatDeferredBeforeIt() {
        TestDriver supplier = new TestDriver("supp", -EPROBE_DEFER);
        Device c = new Device("cons0"), s = new Device("supp0");
        AtomicInteger consumerProbes = new AtomicInteger();
        DeviceDriver consumer = new DeviceDriver() {
            @Override
            public String name() {
                return "cons";
            }

            @Override
            public int probe(Device dev) {
                consumerProbes.incrementAndGet();
                return s.driver == null ? -EPROBE_DEFER : 0;
            }
        };
        bus.driverRegister(consumer);
        bus.driverRegister(supplier);
        bus.deviceAdd(c);
        bus.deviceAdd(s);
        assertThat(bus.deferredDevices()).containsExactly(c, s);
        supplier.probeRet = 0;
        // One pass: the consumer defers again, the supplier binds, the consumer is retried.
        bus.driverDeferredProbeTrigger();
        assertThat(s.driver).isSameAs(supplier);
        assertThat(c.driver).isSameAs(consumer);
        assertThat(consumerProbes).hasValue(3);
        assertThat(bus.deferredDevices()).isEmpty();
    }

    @Test
    void deviceFields() {
        Device parent = new Device("pcie0");
        Device dev = new Device("0000:00:01.0");
        dev.parent = parent;
        assertThat(dev.devName()).isEqualTo("0000:00:01.0");
        assertThat(dev).hasToString("0000:00:01.0");
        assertThat(dev.driverName()).isEmpty();
        assertThat(dev.iommu).isNull();
        // A bare struct device can do no DMA until its bus gives it masks (v5.15: zeroed fields).
        assertThat(dev.dmaMask).isNull();
        assertThat(dev.coherentDmaMask).isZero();
        assertThat(dev.busDmaLimit).isZero();
        assertThat(dev.parent).isSameAs(parent);
        assertThat(new TestDriver("x", 0).ofMatchTable()).isEmpty();
        assertThat(bus).hasToString("testbus");
        assertThat(bus.name()).isEqualTo("testbus");
    }

    /** platform_device_alloc: both masks default to 32 bits, dma_mask points at platform_dma_mask. */
    @Test
    void platformDeviceStartsWith32BitMasks() {
        PlatformDevice pdev = new PlatformDevice("9000000.pl011");
        assertThat(pdev.dmaMask).isSameAs(pdev.platformDmaMask);
        assertThat(pdev.dmaMask[0]).isEqualTo(0xffffffffL);
        assertThat(pdev.coherentDmaMask).isEqualTo(0xffffffffL);
        assertThat(pdev.dmaParms).isSameAs(pdev.platformDmaParms);
    }

    @Test
    void devPrintkPrefixesDriverAndDevice() {
        Device dev = new Device("9050000.smmuv3");
        DevPrintk.devInfo(dev, "devprintk-test ias %d-bit", 44);
        assertThat(Printk.grep("devprintk-test")).containsExactly("9050000.smmuv3: devprintk-test ias 44-bit");
        TestDriver drv = new TestDriver("arm-smmu-v3", 0);
        dev.driver = drv;
        DevPrintk.devErr(dev, "devprintk-test2 %s", "bad");
        DevPrintk.devWarn(dev, "devprintk-test3");
        DevPrintk.devNotice(dev, "devprintk-test4");
        DevPrintk.devDbg(dev, "devprintk-test5");
        assertThat(Printk.grep("devprintk-test2")).containsExactly("arm-smmu-v3 9050000.smmuv3: devprintk-test2 bad");
        assertThat(Printk.grep("devprintk-test3")).hasSize(1);
        assertThat(Printk.grep("devprintk-test4")).hasSize(1);
        assertThat(Printk.grep("devprintk-test5")).isEmpty();
    }

    /**
     * A device without dma_parms has 64 KiB segments and no segment boundary (ULONG_MAX), and
     * refuses limits with -EIO; a platform device has zeroed dma_parms: the same defaults, but
     * its driver can set limits.
     */
    @Test
    void dmaParmsDefaultsAndSetters() {
        Device bare = new Device("bare");
        assertThat(bare.dmaParms).isNull();
        assertThat(DmaMappingH.dmaGetSegBoundary(bare)).isEqualTo(-1L);
        assertThat(DmaMappingH.dmaGetMaxSegSize(bare)).isEqualTo(0x10000);
        assertThat(DmaMappingH.dmaSetSegBoundary(bare, 0xffffL)).isEqualTo(-EIO);
        assertThat(DmaMappingH.dmaSetMaxSegSize(bare, 0x1000)).isEqualTo(-EIO);
        assertThat(bare.dmaParms).isNull();
        assertThat(DmaMappingH.dmaGetSegBoundary(bare)).isEqualTo(-1L);

        PlatformDevice pdev = new PlatformDevice("dma-engine");
        assertThat(pdev.dmaParms).isSameAs(pdev.platformDmaParms);
        assertThat(pdev.dmaParms.segmentBoundaryMask).isZero();
        assertThat(pdev.dmaParms.maxSegmentSize).isZero();
        assertThat(DmaMappingH.dmaGetSegBoundary(pdev)).isEqualTo(-1L);
        assertThat(DmaMappingH.dmaGetMaxSegSize(pdev)).isEqualTo(0x10000);
        assertThat(DmaMappingH.dmaSetSegBoundary(pdev, 0xffffffffL)).isZero();
        assertThat(DmaMappingH.dmaSetMaxSegSize(pdev, 0xffffffff)).isZero();
        assertThat(DmaMappingH.dmaGetSegBoundary(pdev)).isEqualTo(0xffffffffL);
        // u32 UINT_MAX comes back as the same bit pattern
        assertThat(DmaMappingH.dmaGetMaxSegSize(pdev)).isEqualTo(0xffffffff);
        // 0 means "not set": the defaults again
        assertThat(DmaMappingH.dmaSetSegBoundary(pdev, 0)).isZero();
        assertThat(DmaMappingH.dmaGetSegBoundary(pdev)).isEqualTo(-1L);
    }

    @Test
    void platformDeviceResourcesAndIrqs() {
        PlatformDevice pdev = new PlatformDevice("smmu");
        pdev.addResource(new Resource("regs", 0x0905_0000L, 0x0906_ffffL, Resource.IORESOURCE_MEM));
        pdev.addResource(new Resource("eventq", 106, 106, Resource.IORESOURCE_IRQ));
        pdev.addResource(new Resource("pages1", 0x0907_0000L, 0x0907_ffffL, Resource.IORESOURCE_MEM));
        pdev.addResource(new Resource("gerror", 108, 108, Resource.IORESOURCE_IRQ));
        pdev.addResource(new Resource("priq", 107, 107, Resource.IORESOURCE_IRQ));

        Resource mem0 = pdev.platformGetResource(Resource.IORESOURCE_MEM, 0);
        assertThat(mem0.name()).isEqualTo("regs");
        assertThat(mem0.resourceSize()).isEqualTo(0x20000L);
        assertThat(pdev.platformGetResource(Resource.IORESOURCE_MEM, 1).name()).isEqualTo("pages1");
        assertThat(pdev.platformGetResource(Resource.IORESOURCE_MEM, 2)).isNull();
        assertThat(pdev.platformGetResource(Resource.IORESOURCE_IO, 0)).isNull();
        assertThat(pdev.platformGetResourceByname(Resource.IORESOURCE_MEM, "pages1").start()).isEqualTo(0x0907_0000L);
        assertThat(pdev.platformGetResourceByname(Resource.IORESOURCE_IRQ, "regs")).isNull();

        assertThat(pdev.platformGetIrq(0)).isEqualTo(106);
        assertThat(pdev.platformGetIrq(2)).isEqualTo(107);
        assertThat(pdev.platformGetIrq(3)).isEqualTo(-ENXIO);
        assertThat(pdev.platformGetIrqBynameOptional("gerror")).isEqualTo(108);
        assertThat(pdev.platformGetIrqBynameOptional("cmdq-sync")).isEqualTo(-ENXIO);
        assertThat(pdev.platformIrqCount()).isEqualTo(3);
        assertThat(pdev.resources()).hasSize(5);
        assertThat(pdev.resourcesOfType(Resource.IORESOURCE_MEM)).extracting(Resource::name).containsExactly("regs", "pages1");
        // resource_type keeps IORESOURCE_TYPE_BITS only (0x1000 is IORESOURCE_BUS, a type).
        assertThat(new Resource("f", 0x100, 0x1ff, Resource.IORESOURCE_MEM | Resource.IORESOURCE_PREFETCH
                | Resource.IORESOURCE_MEM_64).type()).isEqualTo(Resource.IORESOURCE_MEM);
        assertThat(new Resource("b", 0, 0xff, Resource.IORESOURCE_BUS).type()).isEqualTo(Resource.IORESOURCE_BUS);
    }

    /**
     * platform_get_irq and platform_get_irq_byname log the IRQ they could not find, their
     * _optional twins do not; an IRQ resource of 0 WARNs and is still returned (v5.15).
     */
    @Test
    void platformGetIrqLogsMissingIrqsAndWarnsOnIrqZero() {
        PlatformDevice pdev = new PlatformDevice("9060000.gpio");
        pdev.addResource(new Resource("wake", 0, 0, Resource.IORESOURCE_IRQ));
        pdev.addResource(new Resource("gpio", 40, 40, Resource.IORESOURCE_IRQ));
        assertThat(pdev.platformGetIrq(1)).isEqualTo(40);
        assertThat(pdev.platformGetIrqOptional(2)).isEqualTo(-ENXIO);
        assertThat(Printk.grep("9060000.gpio: IRQ index")).isEmpty();
        assertThat(pdev.platformGetIrq(2)).isEqualTo(-ENXIO);
        assertThat(Printk.grep("9060000.gpio: IRQ index 2 not found")).hasSize(1);
        assertThat(pdev.platformGetIrqBynameOptional("tx")).isEqualTo(-ENXIO);
        assertThat(Printk.grep("9060000.gpio: IRQ tx not found")).isEmpty();
        assertThat(pdev.platformGetIrqByname("tx")).isEqualTo(-ENXIO);
        assertThat(pdev.platformGetIrqByname("gpio")).isEqualTo(40);
        assertThat(Printk.grep("9060000.gpio: IRQ tx not found")).hasSize(1);
        assertThat(org.iommu4j.base.Warn.drain()).isEmpty();

        assertThat(pdev.platformGetIrq(0)).isZero();
        assertThat(pdev.platformGetIrqBynameOptional("wake")).isZero();
        assertThat(org.iommu4j.base.Warn.drain()).hasSize(2).allSatisfy(w -> assertThat(w).contains("0 is an invalid IRQ number"));
    }

    @Test
    void platformBusMatchesByNameOrOfCompatible() {
        BusType pbus = PlatformDevice.newPlatformBus((dev, drv) -> dev.platformData != null && drv.ofMatchTable().contains(dev.platformData));
        assertThat(pbus.name()).isEqualTo("platform");
        TestDriver byName = new TestDriver("serial", 0);
        DeviceDriver byCompat = new DeviceDriver() {
            @Override
            public String name() {
                return "arm-smmu-v3";
            }

            @Override
            public List<String> ofMatchTable() {
                return List.of("arm,smmu-v3");
            }

            @Override
            public int probe(Device dev) {
                return 0;
            }
        };
        pbus.driverRegister(byName);
        pbus.driverRegister(byCompat);
        PlatformDevice uart = new PlatformDevice("serial");
        PlatformDevice smmu = new PlatformDevice("9050000.smmuv3");
        smmu.platformData = "arm,smmu-v3";
        PlatformDevice none = new PlatformDevice("9060000.rtc");
        pbus.deviceAdd(uart);
        pbus.deviceAdd(smmu);
        pbus.deviceAdd(none);
        assertThat(uart.driver).isSameAs(byName);
        assertThat(smmu.driver).isSameAs(byCompat);
        assertThat(none.driver).isNull();
        BusType nameOnly = PlatformDevice.newPlatformBus(null);
        nameOnly.driverRegister(byName);
        PlatformDevice s2 = new PlatformDevice("serial");
        nameOnly.deviceAdd(s2);
        assertThat(s2.driver).isSameAs(byName);
    }
}
