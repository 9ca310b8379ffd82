package org.iommu4j.base.device;

import org.iommu4j.base.Port;

/** {@code struct resource}: an inclusive [start, end] range of MMIO or an IRQ number. */
@Port("include/linux/ioport.h:resource")
public record Resource(String name, long start, long end, long flags) {
    public static final long IORESOURCE_IO = 0x00000100;
    public static final long IORESOURCE_MEM = 0x00000200;
    public static final long IORESOURCE_IRQ = 0x00000400;

    @Port("include/linux/ioport.h:resource_size")
    public long resource_size() {
        return end - start + 1;
    }

    public long type() {
        return flags & (IORESOURCE_IO | IORESOURCE_MEM | IORESOURCE_IRQ);
    }
}
