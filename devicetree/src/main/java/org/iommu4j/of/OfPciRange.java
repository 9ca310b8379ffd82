package org.iommu4j.of;

import org.iommu4j.base.Port;

/**
 * {@code struct of_pci_range} (include/linux/of_address.h, v5.15; {@code of_range} is the same
 * struct): one entry of a {@code ranges} or {@code dma-ranges} property, contiguous entries of
 * the same type merged. Filled by {@link Of#ofPciRangeParserOne}.
 */
@Port("include/linux/of_address.h:of_pci_range")
public final class OfPciRange {
    /** {@code pci_addr} (alias {@code bus_addr}): the address on the child bus. */
    public long pciAddr;
    /** {@code cpu_addr}: the parent-side address translated to a CPU address, or OF_BAD_ADDR. */
    public long cpuAddr;
    public long size;
    /** {@code flags}: IORESOURCE_* from the space code of the first cell (PCI buses), else 0. */
    public long flags;

    @Override
    public String toString() {
        return String.format("of_pci_range{flags 0x%x, pci 0x%x, cpu 0x%x, size 0x%x}", flags, pciAddr, cpuAddr, size);
    }
}
