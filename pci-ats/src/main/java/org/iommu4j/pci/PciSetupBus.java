package org.iommu4j.pci;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.KernelResource;
import org.iommu4j.base.device.Resource;

/**
 * drivers/pci/setup-bus.c (v5.15), the part a root bus without bridges uses: every function's
 * unassigned BARs in one list, largest alignment first, each given space in that order
 * (pci_host_probe's {@code pci_bus_size_bridges} + {@code pci_bus_assign_resources}). Bridge
 * window sizing, optional (add_size) requests and the release-and-retry of
 * {@code pci_assign_unassigned_root_bus_resources} have nothing to act on here: there are no
 * bridges below a root bus in this model.
 */
public final class PciSetupBus {
    private PciSetupBus() {}

    /** {@code PCI_CLASS_NOT_DEFINED}, {@code PCI_CLASS_BRIDGE_HOST} (include/linux/pci_ids.h, class >> 8). */
    static final int PCI_CLASS_NOT_DEFINED = 0x0000;
    static final int PCI_CLASS_BRIDGE_HOST = 0x0600;

    /** {@code struct pci_dev_resource}: one resource of one device on a to-assign list. */
    @Port("drivers/pci/setup-bus.c:pci_dev_resource")
    private record PciDevResource(PciDev dev, Resource res) {}

    /** Inserts each unassigned resource of {@code dev} before the first one with a smaller alignment. */
    @Port("drivers/pci/setup-bus.c:pdev_sort_resources")
    private static void pdevSortResources(PciDev dev, List<PciDevResource> head) {
        for (int i = 0; i < PciDev.PCI_NUM_RESOURCES; i++) {
            Resource r = dev.resource[i];
            if ((r.flags & Resource.IORESOURCE_PCI_FIXED) != 0) {
                continue;
            }
            if (r.flags == 0 || r.parent != null) {
                continue;
            }
            long rAlign = PciSetupRes.pciResourceAlignment(dev, r);
            if (rAlign == 0) {
                DevPrintk.devWarn(dev, "BAR %d: %s has bogus alignment", i, KernelResource.resourceString(r));
                continue;
            }
            // the fallback is the tail: the smallest so far, or an empty list
            int n = head.size();
            for (int j = 0; j < head.size(); j++) {
                PciDevResource devRes = head.get(j);
                long align = PciSetupRes.pciResourceAlignment(devRes.dev(), devRes.res());
                if (Long.compareUnsigned(rAlign, align) > 0) {
                    n = j;
                    break;
                }
            }
            head.add(n, new PciDevResource(dev, r));
        }
    }

    /** Leaves classless functions and host bridges alone. */
    @Port("drivers/pci/setup-bus.c:__dev_sort_resources")
    private static void __devSortResources(PciDev dev, List<PciDevResource> head) {
        int cls = dev.devClass >> 8;
        if (cls == PCI_CLASS_NOT_DEFINED || cls == PCI_CLASS_BRIDGE_HOST) {
            return;
        }
        pdevSortResources(dev, head);
    }

    /** Empties a resource that could not be assigned: it is not there for the driver. */
    @Port("drivers/pci/setup-bus.c:reset_resource")
    private static void resetResource(Resource res) {
        res.start = 0;
        res.end = 0;
        res.flags = 0;
    }

    @Port("drivers/pci/setup-bus.c:assign_requested_resources_sorted")
    private static void assignRequestedResourcesSorted(List<PciDevResource> head, List<PciDevResource> failHead) {
        for (PciDevResource devRes : head) {
            Resource res = devRes.res();
            int idx = indexOf(devRes.dev(), res);
            if (res.resourceSize() != 0 && PciSetupRes.pciAssignResource(devRes.dev(), idx) != 0) {
                if (failHead != null && !(idx == PciDev.PCI_ROM_RESOURCE
                        && (res.flags & Resource.IORESOURCE_ROM_ENABLE) == 0)) {
                    failHead.add(new PciDevResource(devRes.dev(), res));
                }
                resetResource(res);
            }
        }
    }

    /** {@code res - &dev->resource[0]}. */
    private static int indexOf(PciDev dev, Resource res) {
        for (int i = 0; i < PciDev.DEVICE_COUNT_RESOURCE; i++) {
            if (dev.resource[i] == res) {
                return i;
            }
        }
        throw new AssertionError(res + " is not a resource of " + dev);
    }

    /** Without optional sizes to add (no realloc list), the must-have requests in sorted order. */
    @Port("drivers/pci/setup-bus.c:__assign_resources_sorted")
    private static void __assignResourcesSorted(List<PciDevResource> head, List<PciDevResource> failHead) {
        assignRequestedResourcesSorted(head, failHead);
    }

    @Port("drivers/pci/setup-bus.c:pbus_assign_resources_sorted")
    private static void pbusAssignResourcesSorted(PciBus bus, List<PciDevResource> failHead) {
        List<PciDevResource> head = new ArrayList<>();
        for (PciDev dev : bus.devices) {
            __devSortResources(dev, head);
        }
        __assignResourcesSorted(head, failHead);
    }

    @Port("drivers/pci/setup-bus.c:__pci_bus_assign_resources")
    static void __pciBusAssignResources(PciBus bus, List<PciDevResource> failHead) {
        pbusAssignResourcesSorted(bus, failHead);
        // child buses behind bridges: none on a root bus here
    }

    /** Assigns every unassigned BAR of the bus's functions from the bus's windows. */
    @Port("drivers/pci/setup-bus.c:pci_bus_assign_resources")
    public static void pciBusAssignResources(PciBus bus) {
        __pciBusAssignResources(bus, null);
    }

    /**
     * Gives space to the BARs of {@code bus}'s functions that have none (a rescan's new
     * functions), around the ones already assigned, without moving anything: the bridges'
     * windows would be sized first (no bridges here), then the unassigned resources of the bus
     * assigned as {@link #pciBusAssignResources} does at boot, a BAR without room left empty
     * (reset_resource) with "BAR n: no space for" / "failed to assign".
     */
    @Port("drivers/pci/setup-bus.c:pci_assign_unassigned_bus_resources")
    public static void pciAssignUnassignedBusResources(PciBus bus) {
        // for_each_pci_bridge(dev, bus) __pci_bus_size_bridges(dev->subordinate, &add_list): no
        // bridges, so the add list (realloc_head: the bridges' optional sizes) stays empty and
        // __pci_bus_assign_resources(bus, &add_list, NULL) has no reallocation to do
        __pciBusAssignResources(bus, null);
    }

    /** Sizes the bridge windows below {@code bus}: a root bus has no bridge, so nothing to do. */
    @Port("drivers/pci/setup-bus.c:pci_bus_size_bridges")
    public static void pciBusSizeBridges(PciBus bus) {
        // __pci_bus_size_bridges: no child buses; a root bus's own windows come from firmware
    }
}
