package org.iommu4j.pci;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.Port;

/**
 * {@code struct pci_bus}: a bus number, its config accessors (the host bridge's ECAM window)
 * and the devices found on it. Only root buses exist here ({@code self} is always null).
 */
@Port("include/linux/pci.h:pci_bus")
public final class PciBus {
    /** The PCI world this bus belongs to (its bus type, the noats flag). */
    public final Pci pci;
    public final int domainNr;
    public final int number;
    /** {@code bus->sysdata}: the ECAM window that answers config accesses. */
    public final PciConfigWindow sysdata;
    /** {@code bus->self}: the bridge leading to this bus; null for a root bus. */
    public final PciDev self = null;
    /** {@code bus->parent}: the bus above; null for a root bus (the only kind here). */
    public final PciBus parent = null;
    /** {@code bus_flags}: PCI_BUS_FLAGS_NO_MSI when nothing above the bus can take MSIs. */
    public volatile int busFlags;
    public static final int PCI_BUS_FLAGS_NO_MSI = 1;
    /** {@code bus->bridge}: for a root bus, the host bridge's device. */
    public volatile PciHostBridge bridge;
    public final List<PciDev> devices = new CopyOnWriteArrayList<>();
    /**
     * {@code bus->resources}: the address windows devices on the bus are given space from (for
     * a root bus, the host bridge's I/O and memory windows), in the bridge's order.
     */
    public final List<org.iommu4j.base.device.Resource> resources = new CopyOnWriteArrayList<>();

    PciBus(Pci pci, int domainNr, int number, PciConfigWindow sysdata) {
        this.pci = pci;
        this.domainNr = domainNr;
        this.number = number;
        this.sysdata = sysdata;
    }

    /** The bus device's name, "domain:bus" ({@code dev_name(&bus->dev)}). */
    public String devName() {
        return String.format("%04x:%02x", domainNr, number);
    }

    @Override
    public String toString() {
        return String.format("pci_bus %04x:%02x", domainNr, number);
    }
}
