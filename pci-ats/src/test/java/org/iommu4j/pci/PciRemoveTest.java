package org.iommu4j.pci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.pci.Pci.*;
import static org.iommu4j.pci.PciRegs.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.KernelResource;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.pci.hw.PciHostBridgeModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * drivers/pci/remove.c (v5.15): pci_stop_and_remove_bus_device releases the driver first
 * (pci_stop_dev), then deletes the function (pci_destroy_dev: device_del, off the bus list, its
 * BARs' resources out of the host bridge's windows); a second removal does nothing.
 */
@ExtendWith(NoWarnings.class)
class PciRemoveTest {
    final List<String> log = new CopyOnWriteArrayList<>();
    final AutoCloseable follow = Printk.follow(l -> log.add(l.text()));
    final Board board = Board.withRam(1 << 20);
    final PciHostBridgeModel hb = new PciHostBridgeModel("pcie", 0, 0);
    final Pci pci = new Pci();
    final List<String> events = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        follow.close();
    }

    private PciBus boot() {
        pci.pciBusType.busNotifier.blockingNotifierChainRegister((org.iommu4j.base.NotifierBlock) (action, data) -> {
            if (action == BusType.BUS_NOTIFY_UNBIND_DRIVER) {
                events.add("UNBIND " + data);
            } else if (action == BusType.BUS_NOTIFY_DEL_DEVICE) {
                events.add("DEL " + data);
            } else if (action == BusType.BUS_NOTIFY_REMOVED_DEVICE) {
                events.add("REMOVED " + data);
            }
            return 0;
        });
        return PciResourceTest.boot(board, hb, pci);
    }

    /**
     * A driver for Red Hat's functions that enables them in probe and disables them in remove,
     * logging each remove to {@code events}.
     */
    static PciDriver driver(List<String> events) {
        return new PciDriver() {
            @Override
            public int[][] idTable() {
                return new int[][] {{0x1af4, PCI_ANY_ID}};
            }

            @Override
            public String name() {
                return "testdrv";
            }

            @Override
            public int probe(Device dev) {
                int rc = pciEnableDevice(toPciDev(dev));
                if (rc == 0) {
                    pciSetMaster(toPciDev(dev));
                }
                return rc;
            }

            @Override
            public void remove(Device dev) {
                events.add("remove " + dev);
                pciDisableDevice(toPciDev(dev));
            }
        };
    }

    @Test
    void removalReleasesTheDriverThenDeletesTheFunctionAndGivesItsBarsBack() {
        PciEndpointModel rng = hb.add(1, "rng", PciResourceTest.virtio(0x1005, 0x00ff00, 0x20).build());
        hb.add(2, "blk", PciResourceTest.virtio(0x1001, 0x010000, 0x80).build());
        PciBus root = boot();
        pci.pciBusType.driverRegister(driver(events));
        PciDev d = pci.pciGetDomainBusAndSlot(0, 0, PCI_DEVFN(1, 0));
        assertThat(d.driver).isNotNull();
        assertThat(pciDevIsAdded(d)).isTrue();
        assertThat(rng.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MASTER).isNotZero();
        Resource bar4 = d.resource[4];
        Resource window = bar4.parent;
        assertThat(window).isNotNull();
        long start = bar4.start;
        long end = bar4.end;

        pci.pciStopAndRemoveBusDevice(d);

        // the driver first (its remove ran while the function was still registered), then device_del
        assertThat(events).containsExactly("UNBIND 0000:00:01.0", "remove 0000:00:01.0", "DEL 0000:00:01.0",
                "REMOVED 0000:00:01.0");
        assertThat(d.driver).isNull();
        assertThat(pciDevIsAdded(d)).isFalse();
        assertThat(rng.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MASTER).isZero();
        assertThat(pci.pciBusType.devices()).extracting(Device::devName).containsExactly("0000:00:02.0");
        assertThat(root.devices).extracting(Device::devName).containsExactly("0000:00:02.0");
        assertThat(pci.pciGetDomainBusAndSlot(0, 0, PCI_DEVFN(1, 0))).isNull();
        for (Resource r : d.resource) {
            assertThat(r.parent).isNull();
        }
        // the window has the range free again: a new claim of it succeeds
        assertThat(KernelResource.requestResource(window, new Resource("new", start, end, Resource.IORESOURCE_MEM))).isZero();
        // the other function keeps its resources and its driver
        PciDev other = pci.pciGetDomainBusAndSlot(0, 0, PCI_DEVFN(2, 0));
        assertThat(other.resource[4].parent).isSameAs(window);
        assertThat(other.driver).isNotNull();

        // removed again: nothing happens (pci_stop_dev: not added; pci_destroy_dev: not registered)
        events.clear();
        pci.pciStopAndRemoveBusDevice(d);
        assertThat(events).isEmpty();
        assertThat(pci.pciBusType.devices()).hasSize(1);
    }

    @Test
    void aFunctionWithoutDriverIsOnlyDeleted() {
        hb.add(1, "rng", PciResourceTest.virtio(0x1005, 0x00ff00, 0x20).build());
        PciBus root = boot();
        PciDev d = pci.pciGetDomainBusAndSlot(0, 0, PCI_DEVFN(1, 0));
        assertThat(d.driver).isNull();
        pci.pciStopAndRemoveBusDevice(d);
        assertThat(events).containsExactly("DEL 0000:00:01.0", "REMOVED 0000:00:01.0");
        assertThat(root.devices).isEmpty();
        assertThat(d.resource[1].parent).isNull();
    }

    @Test
    void removingTheRootBusRemovesEveryFunctionThroughDeviceDel() {
        hb.add(1, "rng", PciResourceTest.virtio(0x1005, 0x00ff00, 0x20).build());
        hb.add(2, "blk", PciResourceTest.virtio(0x1001, 0x010000, 0x80).build());
        PciBus root = boot();
        pci.pciBusType.driverRegister(driver(events));
        PciHostBridge bridge = root.bridge;
        pci.pciRemoveRootBus(root);
        // no pci_stop_root_bus first: device_del releases each driver (UNBIND inside DEL/REMOVED)
        assertThat(events).containsExactly("DEL 0000:00:01.0", "UNBIND 0000:00:01.0", "remove 0000:00:01.0",
                "REMOVED 0000:00:01.0", "DEL 0000:00:02.0", "UNBIND 0000:00:02.0", "remove 0000:00:02.0",
                "REMOVED 0000:00:02.0");
        assertThat(root.devices).isEmpty();
        assertThat(pci.pciBusType.devices()).isEmpty();
        assertThat(pci.rootBuses()).isEmpty();
        assertThat(bridge.bus).isNull();
    }
}
