package org.iommu4j.pci;

import org.iommu4j.base.Port;

/** {@code struct pci_bus_region}: an inclusive range of PCI bus addresses (what a BAR holds). */
@Port("include/linux/pci.h:pci_bus_region")
public final class PciBusRegion {
    public long start;
    public long end;

    public PciBusRegion() {}

    public PciBusRegion(long start, long end) {
        this.start = start;
        this.end = end;
    }
}
