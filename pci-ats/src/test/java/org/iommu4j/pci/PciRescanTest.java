package org.iommu4j.pci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.pci.Pci.*;
import static org.iommu4j.pci.PciRegs.*;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.pci.hw.PciHostBridgeModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * drivers/pci/probe.c's pci_rescan_bus (v5.15), the other half of sysfs's remove/rescan: the
 * child bus scanned again (pci_scan_single_device takes a function already on the bus as it is,
 * pci_get_slot), only the new functions' BARs assigned (pci_assign_unassigned_bus_resources,
 * around the space the others hold), then each new function added (pci_bus_add_devices: the
 * driver core binds it). pci_device_add registers a function with match_driver false, so no
 * driver binds before its BARs are assigned.
 */
@ExtendWith(NoWarnings.class)
class PciRescanTest {
    /** The bus notifier's events, the driver's removes, and the scan and BAR lines of the log, in order. */
    final List<String> events = new CopyOnWriteArrayList<>();
    final AutoCloseable follow = Printk.follow(l -> {
        if (l.text().contains(": BAR ") || l.text().contains("] type 00 class")) {
            events.add(l.text());
        }
    });
    final Board board = Board.withRam(1 << 20);
    final PciHostBridgeModel hb = new PciHostBridgeModel("pcie", 0, 0);
    final Pci pci = new Pci();
    PciEndpointModel rng;
    PciEndpointModel blk;
    PciBus root;

    @AfterEach
    void close() throws Exception {
        follow.close();
    }

    /**
     * QEMU virt's windows with virtio-rng at 00:01.0 and virtio-blk at 00:02.0, PciRemoveTest's
     * driver for them (enabling them, bus masters) registered first.
     */
    private void boot() {
        rng = hb.add(1, "rng", PciResourceTest.virtio(0x1005, 0x00ff00, 0x20).build());
        blk = hb.add(2, "blk", PciResourceTest.virtio(0x1001, 0x010000, 0x80).build());
        pci.pciBusType.busNotifier.blockingNotifierChainRegister((org.iommu4j.base.NotifierBlock) (action, data) -> {
            String name = action == BusType.BUS_NOTIFY_ADD_DEVICE ? "ADD"
                    : action == BusType.BUS_NOTIFY_BIND_DRIVER ? "BIND"
                    : action == BusType.BUS_NOTIFY_BOUND_DRIVER ? "BOUND"
                    : action == BusType.BUS_NOTIFY_REMOVED_DEVICE ? "REMOVED" : null;
            if (name != null) {
                events.add(name + " " + data);
            }
            return 0;
        });
        pci.pciBusType.driverRegister(PciRemoveTest.driver(events));
        root = PciResourceTest.boot(board, hb, pci);
    }

    private PciDev dev(int slot) {
        return pci.pciGetDomainBusAndSlot(0, 0, PCI_DEVFN(slot, 0));
    }

    @Test
    void atBootNoDriverBindsBeforeTheBarsAreAssigned() {
        boot();
        // pci_device_add's device_add (match_driver false) for each function, the assignment,
        // then pci_bus_add_devices binds them in bus order
        assertThat(events).containsSubsequence("ADD 0000:00:01.0", "ADD 0000:00:02.0",
                "pci 0000:00:01.0: BAR 4: assigned [mem 0x8000000000-0x8000003fff 64bit pref]",
                "pci 0000:00:01.0: BAR 0: assigned [io  0x1080-0x109f]", "BIND 0000:00:01.0",
                "BOUND 0000:00:01.0", "BIND 0000:00:02.0", "BOUND 0000:00:02.0");
        assertThat(events.indexOf("ADD 0000:00:02.0")).isLessThan(events.indexOf(
                "pci 0000:00:01.0: BAR 4: assigned [mem 0x8000000000-0x8000003fff 64bit pref]"));
    }

    @Test
    void aRescanWithNothingRemovedFindsNothingAndTouchesNothing() {
        boot();
        PciDev r = dev(1);
        PciDev b = dev(2);
        int rngCmd = rng.configRead(PCI_COMMAND, 2);
        events.clear();

        assertThat(pci.pciRescanBus(root)).isZero(); // the highest bus below: the root's own, 0

        assertThat(events).isEmpty();
        assertThat(root.devices).containsExactly(r, b);
        assertThat(pci.pciBusType.devices()).containsExactly(r, b);
        assertThat(r.resource[4].start).isEqualTo(0x80_0000_0000L);
        assertThat(rng.configRead(PCI_COMMAND, 2)).isEqualTo(rngCmd);
        assertThat(rng.configRead(0x20, 4)).isEqualTo(0xc);
    }

    @Test
    void aRemovedFunctionComesBackWithItsBarsWhereTheyWereAndItsDriverBound() {
        boot();
        PciDev old = dev(2);
        pci.pciStopAndRemoveBusDevice(old);
        assertThat(blk.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MASTER).isZero();
        events.clear();

        pci.pciRescanBus(root);

        PciDev d = dev(2);
        assertThat(d).isNotNull().isNotSameAs(old);
        assertThat(d.devName()).isEqualTo("0000:00:02.0");
        // found again (pci_scan_device), its BARs sized; only its BARs assigned, in the holes it
        // left: the lowest free space of each BAR's alignment, where the boot put them; then added
        assertThat(events).containsExactly(
                "pci 0000:00:02.0: [1af4:1001] type 00 class 0x010000",
                "ADD 0000:00:02.0",
                "pci 0000:00:02.0: BAR 4: assigned [mem 0x8000004000-0x8000007fff 64bit pref]",
                "pci 0000:00:02.0: BAR 1: assigned [mem 0x10001000-0x10001fff]",
                "pci 0000:00:02.0: BAR 0: assigned [io  0x1000-0x107f]",
                "BIND 0000:00:02.0", "BOUND 0000:00:02.0");
        assertThat(pciResourceStart(d, 4)).isEqualTo(0x80_0000_4000L);
        assertThat(d.resource[4].parent).isSameAs(dev(1).resource[4].parent);
        assertThat(blk.configRead(0x20, 4)).isEqualTo(0x400c);
        assertThat(blk.configRead(0x24, 4)).isEqualTo(0x80);
        assertThat(blk.configRead(0x14, 4)).isEqualTo(0x1000_1000);
        assertThat(blk.configRead(0x10, 4)).isEqualTo(0x1001);
        assertThat(pciDevIsAdded(d)).isTrue();
        assertThat(d.matchDriver).isTrue();
        assertThat(d.driver).isNotNull();
        assertThat(blk.configRead(PCI_COMMAND, 2)).isEqualTo(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        assertThat(root.devices).extracting(Device::devName).containsExactly("0000:00:01.0", "0000:00:02.0");
        // the other function was left as it was
        assertThat(events).noneMatch(e -> e.contains("00:01.0"));
    }

    @Test
    void removingAndRescanningTwiceInARowGivesTheSameFunctionBackEachTime() {
        boot();
        for (int round = 0; round < 2; round++) {
            PciDev old = dev(2);
            pci.pciStopAndRemoveBusDevice(old);
            assertThat(dev(2)).isNull();
            events.clear();
            pci.pciRescanBus(root);
            PciDev d = dev(2);
            assertThat(d).isNotSameAs(old);
            assertThat(events).containsSubsequence("ADD 0000:00:02.0", "BIND 0000:00:02.0", "BOUND 0000:00:02.0");
            assertThat(pciResourceStart(d, 4)).isEqualTo(0x80_0000_4000L);
            assertThat(pciResourceStart(d, 0)).isEqualTo(0x1000);
            assertThat(pci.pciBusType.devices()).hasSize(2);
        }
    }

    @Test
    void aFunctionHotAddedAfterBootIsFoundAndGivenTheSpaceLeft() {
        boot();
        PciEndpointModel net = hb.add(3, "net", PciResourceTest.virtio(0x1000, 0x020000, 0x20).build());
        events.clear();

        pci.pciRescanBus(root);

        PciDev d = dev(3);
        assertThat(events).containsExactly(
                "pci 0000:00:03.0: [1af4:1000] type 00 class 0x020000",
                "ADD 0000:00:03.0",
                "pci 0000:00:03.0: BAR 4: assigned [mem 0x8000008000-0x800000bfff 64bit pref]",
                "pci 0000:00:03.0: BAR 1: assigned [mem 0x10002000-0x10002fff]",
                "pci 0000:00:03.0: BAR 0: assigned [io  0x10a0-0x10bf]",
                "BIND 0000:00:03.0", "BOUND 0000:00:03.0");
        assertThat(net.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MASTER).isNotZero();
        assertThat(d.resource[1].flags & Resource.IORESOURCE_UNSET).isZero();
    }

    @Test
    void theSysfsRescanAttributeRescansEveryRootBusForANonZeroValue() {
        boot();
        pci.pciStopAndRemoveBusDevice(dev(2));
        assertThat(pci.rescanStore("0\n", 2)).isEqualTo(2);
        assertThat(dev(2)).isNull();
        assertThat(pci.rescanStore("rescan", 6)).isEqualTo(-EINVAL);
        assertThat(pci.rescanStore("-1", 2)).isEqualTo(-EINVAL);
        assertThat(dev(2)).isNull();
        assertThat(pci.rescanStore("1\n", 2)).isEqualTo(2);
        assertThat(dev(2)).isNotNull();
        assertThat(dev(2).driver).isNotNull();
    }

    /**
     * rescan_store reads its value with kstrtoul(buf, 0): an optional '+', then "0x" hex, a
     * leading "0" octal or decimal, the whole unsigned long range; '#' is no prefix of it.
     */
    @Test
    void theSysfsRescanAttributeReadsItsValueAsKstrtoulDoes() {
        boot();
        pci.pciStopAndRemoveBusDevice(dev(2));
        assertThat(pci.rescanStore("#1", 2)).isEqualTo(-EINVAL);
        assertThat(pci.rescanStore("18446744073709551616", 20)).isEqualTo(-EINVAL);
        assertThat(dev(2)).isNull();
        assertThat(pci.rescanStore("18446744073709551615\n", 21)).isEqualTo(21);
        assertThat(dev(2)).isNotNull();
        pci.pciStopAndRemoveBusDevice(dev(2));
        assertThat(pci.rescanStore("+0x1", 4)).isEqualTo(4);
        assertThat(dev(2)).isNotNull();
    }
}
