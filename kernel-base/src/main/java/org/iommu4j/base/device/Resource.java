package org.iommu4j.base.device;

import java.util.Objects;
import org.iommu4j.base.Port;

/**
 * {@code struct resource}: an inclusive [start, end] range of MMIO, I/O ports, bus numbers or an
 * IRQ number, with its place in a resource tree (kernel/resource.c, {@link KernelResource}):
 * {@code parent}, first {@code child}, next {@code sibling}, children sorted by address and never
 * overlapping.
 *
 * <p>Mutable, as the kernel's is: the PCI core sizes a BAR into one and resource allocation moves
 * it. Two resources are {@link #equals equal} when they describe the same range (name, start, end,
 * flags); their places in a tree do not count. The tree links are written only under
 * {@link KernelResource}'s lock ({@code resource_lock}).
 */
@Port("include/linux/ioport.h:resource")
public final class Resource {
    /** {@code IORESOURCE_BITS}: bus-specific bits (for a PCI BAR, the BAR register's low bits). */
    public static final long IORESOURCE_BITS = 0x000000ff;
    /** {@code IORESOURCE_TYPE_BITS}: the resource type field of {@code flags}. */
    public static final long IORESOURCE_TYPE_BITS = 0x00001f00;
    public static final long IORESOURCE_IO = 0x00000100;
    public static final long IORESOURCE_MEM = 0x00000200;
    public static final long IORESOURCE_REG = 0x00000300;
    public static final long IORESOURCE_IRQ = 0x00000400;
    public static final long IORESOURCE_DMA = 0x00000800;
    public static final long IORESOURCE_BUS = 0x00001000;
    /** No side effects on reads (a prefetchable PCI window). */
    public static final long IORESOURCE_PREFETCH = 0x00002000;
    public static final long IORESOURCE_READONLY = 0x00004000;
    public static final long IORESOURCE_CACHEABLE = 0x00008000;
    public static final long IORESOURCE_RANGELENGTH = 0x00010000;
    public static final long IORESOURCE_SHADOWABLE = 0x00020000;
    /** Alignment is the size (a PCI BAR). */
    public static final long IORESOURCE_SIZEALIGN = 0x00040000;
    /** Alignment is {@code start} (a bridge window being sized). */
    public static final long IORESOURCE_STARTALIGN = 0x00080000;
    /** {@code IORESOURCE_MEM_64}: a 64-bit memory window (a PCI bus flag). */
    public static final long IORESOURCE_MEM_64 = 0x00100000;
    /** Forwarded by a bridge (a window). */
    public static final long IORESOURCE_WINDOW = 0x00200000;
    public static final long IORESOURCE_DISABLED = 0x10000000;
    /** No address assigned yet: {@code start} is meaningless, only the size counts. */
    public static final long IORESOURCE_UNSET = 0x20000000;
    public static final long IORESOURCE_AUTO = 0x40000000;
    public static final long IORESOURCE_BUSY = 0x80000000L;

    /* PCI bus-specific bits (IORESOURCE_BITS) */
    /** {@code IORESOURCE_ROM_ENABLE}: the ROM BAR's enable bit is set. */
    public static final long IORESOURCE_ROM_ENABLE = 1 << 0;
    /** {@code IORESOURCE_PCI_FIXED}: the resource may not be moved. */
    public static final long IORESOURCE_PCI_FIXED = 1 << 4;

    public String name;
    public long start;
    public long end;
    public long flags;
    public Resource parent;
    public Resource sibling;
    public Resource child;

    public Resource(String name, long start, long end, long flags) {
        this.name = name;
        this.start = start;
        this.end = end;
        this.flags = flags;
    }

    /** A zeroed resource (flags 0: nothing there), as a kzalloc'ed or static one starts. */
    public Resource() {
        this(null, 0, 0, 0);
    }

    public String name() {
        return name;
    }

    public long start() {
        return start;
    }

    public long end() {
        return end;
    }

    public long flags() {
        return flags;
    }

    @Port("include/linux/ioport.h:resource_size")
    public long resourceSize() {
        return end - start + 1;
    }

    @Port("include/linux/ioport.h:resource_type")
    public long type() {
        return flags & IORESOURCE_TYPE_BITS;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Resource r && Objects.equals(name, r.name) && start == r.start && end == r.end
                && flags == r.flags;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, start, end, flags);
    }

    @Override
    public String toString() {
        return "Resource[name=" + name + ", start=" + start + ", end=" + end + ", flags=" + flags + "]";
    }
}
