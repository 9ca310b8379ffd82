package org.iommu4j.pci;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.ResourceEntry;

/**
 * {@code struct pci_host_bridge} (include/linux/pci.h, v5.15): the device standing for a root
 * complex, with the address windows it forwards downstream and the inbound ranges it accepts.
 * The embedded {@code struct device} is the superclass (container_of: {@code (PciHostBridge)
 * bus.bridge}).
 *
 * <p>Invariants: {@link #windows} and {@link #dmaRanges} are filled before the root bus is
 * scanned (by whoever parsed the firmware, e.g. devm_of_pci_bridge_init in the platform) and
 * only read afterwards; {@link #dmaRanges} is sorted by start address, as drivers/pci/of.c
 * inserts its entries.
 */
@Port("include/linux/pci.h:pci_host_bridge")
public final class PciHostBridge extends Device {
    /** {@code bus}: the root bus, set when the bridge is registered. */
    public volatile PciBus bus;
    /** {@code sysdata}: the ECAM window (the generic host's {@code pci_config_window}). */
    public volatile PciConfigWindow sysdata;
    /** {@code domain_nr}. */
    public int domainNr;
    /** {@code windows}: the resources the bridge forwards (bus numbers, I/O, memory), each with its offset. */
    public final List<ResourceEntry> windows = new CopyOnWriteArrayList<>();
    /** {@code dma_ranges}: the inbound (device to memory) ranges, sorted; empty = all addresses. */
    public final List<ResourceEntry> dmaRanges = new CopyOnWriteArrayList<>();
    /** Unnamed until pci_register_host_bridge names it ("pci%04x:%02x", dev_set_name). */
    PciHostBridge() {
        super(null);
    }

    @Override
    public String toString() {
        return devName() == null ? "pci_host_bridge (unregistered)" : devName();
    }
}
