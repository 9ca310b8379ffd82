package org.iommu4j.of;

import org.iommu4j.base.Port;

/**
 * {@code struct of_pci_range_parser} (include/linux/of_address.h, v5.15): a cursor over the
 * entries of a bus node's {@code ranges} or {@code dma-ranges}, each {@code na} child-address
 * cells, {@code pna} parent-address cells and {@code ns} size cells. Set up by
 * {@link Of#ofPciRangeParserInit} / {@link Of#ofPciDmaRangeParserInit}.
 */
@Port("include/linux/of_address.h:of_pci_range_parser")
public final class OfPciRangeParser {
    public DeviceNode node;
    /** The property's value; {@link #range} and {@link #end} are cell indexes into it. */
    byte[] value;
    /** {@code range}: the next entry's first cell. */
    public int range;
    /** {@code end}: one past the last cell. */
    public int end;
    /** Child-address cells (the node's own #address-cells). */
    public int na;
    /** Size cells (the node's own #size-cells). */
    public int ns;
    /** Parent-address cells (#address-cells that apply to the node). */
    public int pna;
    /** {@code dma}: parsing {@code dma-ranges} (translate with the parents' dma-ranges). */
    public boolean dma;
    /** {@code bus->has_flags}: the PCI bus's first address cell carries the space code. */
    public boolean pci;
}
