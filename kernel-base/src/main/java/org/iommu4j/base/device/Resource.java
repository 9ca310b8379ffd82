package org.iommu4j.base.device;

import org.iommu4j.base.Port;

/** {@code struct resource}: an inclusive [start, end] range of MMIO or an IRQ number. */
@Port("include/linux/ioport.h:resource")
public record Resource(String name, long start, long end, long flags) {
    /** {@code IORESOURCE_TYPE_BITS}: the resource type field of {@code flags}. */
    public static final long IORESOURCE_TYPE_BITS = 0x00001f00;
    public static final long IORESOURCE_IO = 0x00000100;
    public static final long IORESOURCE_MEM = 0x00000200;
    public static final long IORESOURCE_IRQ = 0x00000400;
    public static final long IORESOURCE_BUS = 0x00001000;
    /** No side effects on reads (a prefetchable PCI window). */
    public static final long IORESOURCE_PREFETCH = 0x00002000;
    /** {@code IORESOURCE_MEM_64}: a 64-bit memory window (a PCI bus flag). */
    public static final long IORESOURCE_MEM_64 = 0x00100000;

    @Port("include/linux/ioport.h:resource_size")
    public long resource_size() {
        return end - start + 1;
    }

    @Port("include/linux/ioport.h:resource_type")
    public long type() {
        return flags & IORESOURCE_TYPE_BITS;
    }
}
