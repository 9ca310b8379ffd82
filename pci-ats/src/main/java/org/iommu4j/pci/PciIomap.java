package org.iommu4j.pci;

import org.iommu4j.base.Port;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.hw.IoMem;

/**
 * lib/pci_iomap.c (v5.15): a driver's mapping of a BAR. Memory BARs are ioremapped at their CPU
 * address on the host bridge's MMIO space. I/O BARs give null: the host bridge's I/O window is
 * not remapped into a CPU port space here (see the platform's PciOf), so there is nothing for
 * {@code ioport_map} to return.
 */
public final class PciIomap {
    private PciIomap() {}

    /**
     * Maps BAR {@code bar} from {@code offset}, at most {@code maxlen} bytes (0: all of it).
     * Null when the BAR is empty or unassigned, {@code offset} is beyond it, or it is an I/O BAR.
     */
    @Port("lib/pci_iomap.c:pci_iomap_range")
    public static IoMem pciIomapRange(PciDev dev, int bar, long offset, long maxlen) {
        long start = Pci.pciResourceStart(dev, bar);
        long len = Pci.pciResourceLen(dev, bar);
        long flags = Pci.pciResourceFlags(dev, bar);
        if (Long.compareUnsigned(len, offset) <= 0 || start == 0) {
            return null;
        }
        len -= offset;
        start += offset;
        if (maxlen != 0 && Long.compareUnsigned(len, maxlen) > 0) {
            len = maxlen;
        }
        if ((flags & Resource.IORESOURCE_IO) != 0) {
            return null; // __pci_ioport_map: no port space (see above)
        }
        if ((flags & Resource.IORESOURCE_MEM) != 0) {
            return IoMem.ioremap(dev.pciBus.sysdata.mmio, start, len);
        }
        return null;
    }

    @Port("lib/pci_iomap.c:pci_iomap")
    public static IoMem pciIomap(PciDev dev, int bar, long maxlen) {
        return pciIomapRange(dev, bar, 0, maxlen);
    }

    /**
     * Undoes a {@link #pciIomapRange}: the memory BAR's mapping goes (iounmap). An I/O port
     * cookie would be left alone, but none is ever handed out here.
     */
    @Port("lib/pci_iomap.c:pci_iounmap")
    public static void pciIounmap(PciDev dev, IoMem addr) {
        IoMem.iounmap(addr);
    }
}
