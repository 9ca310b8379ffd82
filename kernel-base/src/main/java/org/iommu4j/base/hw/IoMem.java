package org.iommu4j.base.hw;

import org.iommu4j.base.Port;

/**
 * A {@code void __iomem *} cookie returned by {@code ioremap}: the driver's view of a device's
 * registers. The relaxed accessors and the ordered ones behave alike here because the
 * simulated bus is sequentially consistent per device; both are kept so ported code reads like
 * the kernel's.
 */
public final class IoMem {
    /** One ioremap: every cookie offset from it shares it, and iounmap ends it for all of them. */
    private static final class Mapping {
        volatile boolean live = true;
    }

    private final MmioBus bus;
    private final long base;
    private final long size;
    private final Mapping mapping;

    private IoMem(MmioBus bus, long base, long size, Mapping mapping) {
        this.bus = bus;
        this.base = base;
        this.size = size;
        this.mapping = mapping;
    }

    @Port("arch/arm64/include/asm/io.h:ioremap")
    public static IoMem ioremap(MmioBus bus, long phys, long size) {
        return new IoMem(bus, phys, size, new Mapping());
    }

    /**
     * Ends the mapping {@code ioAddr} belongs to (null: nothing, as an address outside the
     * vmalloc range is left alone). An access through any of its cookies afterwards is the
     * kernel's "Unable to handle kernel paging request": a driver bug, thrown as
     * IllegalStateException.
     */
    @Port("arch/arm64/mm/ioremap.c:iounmap")
    public static void iounmap(IoMem ioAddr) {
        if (ioAddr != null) {
            ioAddr.mapping.live = false;
        }
    }

    /** Whether the mapping this cookie belongs to is still there (not iounmapped). */
    public boolean mapped() {
        return mapping.live;
    }

    /** The cookie for base + off ({@code base + off} in C pointer arithmetic). */
    public IoMem offset(long off) {
        return new IoMem(bus, base + off, size - off, mapping);
    }

    /** The bus address of {@code base + off}, through a mapping that must still exist. */
    private long addr(long off) {
        if (!mapping.live) {
            throw new IllegalStateException(String.format(
                    "Unable to handle kernel paging request: MMIO access at %#x through an iounmapped cookie", base + off));
        }
        return base + off;
    }

    public long physBase() {
        return base;
    }

    public long size() {
        return size;
    }

    @Port("arch/arm64/include/asm/io.h:readb")
    public int readb(long off) {
        return (int) bus.read(addr(off), 1) & 0xff;
    }

    @Port("arch/arm64/include/asm/io.h:readw")
    public int readw(long off) {
        return (int) bus.read(addr(off), 2) & 0xffff;
    }

    @Port("arch/arm64/include/asm/io.h:writeb")
    public void writeb(int val, long off) {
        bus.write(addr(off), val & 0xffL, 1);
    }

    @Port("arch/arm64/include/asm/io.h:writew")
    public void writew(int val, long off) {
        bus.write(addr(off), val & 0xffffL, 2);
    }

    @Port("arch/arm64/include/asm/io.h:readl_relaxed")
    public int readlRelaxed(long off) {
        return (int) bus.read(addr(off), 4);
    }

    @Port("arch/arm64/include/asm/io.h:readl")
    public int readl(long off) {
        return (int) bus.read(addr(off), 4);
    }

    @Port("arch/arm64/include/asm/io.h:writel_relaxed")
    public void writelRelaxed(int val, long off) {
        bus.write(addr(off), Integer.toUnsignedLong(val), 4);
    }

    @Port("arch/arm64/include/asm/io.h:writel")
    public void writel(int val, long off) {
        bus.write(addr(off), Integer.toUnsignedLong(val), 4);
    }

    @Port("arch/arm64/include/asm/io.h:readq_relaxed")
    public long readqRelaxed(long off) {
        return bus.read(addr(off), 8);
    }

    @Port("arch/arm64/include/asm/io.h:readq")
    public long readq(long off) {
        return bus.read(addr(off), 8);
    }

    @Port("arch/arm64/include/asm/io.h:writeq_relaxed")
    public void writeqRelaxed(long val, long off) {
        bus.write(addr(off), val, 8);
    }

    @Port("arch/arm64/include/asm/io.h:writeq")
    public void writeq(long val, long off) {
        bus.write(addr(off), val, 8);
    }

    /** {@code lo_hi_writeq}: two 32-bit writes, low half first. */
    @Port("include/linux/io-64-nonatomic-lo-hi.h:lo_hi_writeq")
    public void loHiWriteq(long val, long off) {
        writel((int) val, off);
        writel((int) (val >>> 32), off + 4);
    }
}
