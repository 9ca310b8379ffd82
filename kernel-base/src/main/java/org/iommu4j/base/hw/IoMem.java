package org.iommu4j.base.hw;

import org.iommu4j.base.Port;

/**
 * A {@code void __iomem *} cookie returned by {@code ioremap}: the driver's view of a device's
 * registers. The relaxed accessors and the ordered ones behave alike here because the
 * simulated bus is sequentially consistent per device; both are kept so ported code reads like
 * the kernel's.
 */
public final class IoMem {
    private final MmioBus bus;
    private final long base;
    private final long size;

    private IoMem(MmioBus bus, long base, long size) {
        this.bus = bus;
        this.base = base;
        this.size = size;
    }

    @Port("arch/arm64/include/asm/io.h:ioremap")
    public static IoMem ioremap(MmioBus bus, long phys, long size) {
        return new IoMem(bus, phys, size);
    }

    /** The cookie for base + off ({@code base + off} in C pointer arithmetic). */
    public IoMem offset(long off) {
        return new IoMem(bus, base + off, size - off);
    }

    public long physBase() {
        return base;
    }

    public long size() {
        return size;
    }

    @Port("arch/arm64/include/asm/io.h:readb")
    public int readb(long off) {
        return (int) bus.read(base + off, 1) & 0xff;
    }

    @Port("arch/arm64/include/asm/io.h:readw")
    public int readw(long off) {
        return (int) bus.read(base + off, 2) & 0xffff;
    }

    @Port("arch/arm64/include/asm/io.h:writeb")
    public void writeb(int val, long off) {
        bus.write(base + off, val & 0xffL, 1);
    }

    @Port("arch/arm64/include/asm/io.h:writew")
    public void writew(int val, long off) {
        bus.write(base + off, val & 0xffffL, 2);
    }

    @Port("arch/arm64/include/asm/io.h:readl_relaxed")
    public int readlRelaxed(long off) {
        return (int) bus.read(base + off, 4);
    }

    @Port("arch/arm64/include/asm/io.h:readl")
    public int readl(long off) {
        return (int) bus.read(base + off, 4);
    }

    @Port("arch/arm64/include/asm/io.h:writel_relaxed")
    public void writelRelaxed(int val, long off) {
        bus.write(base + off, Integer.toUnsignedLong(val), 4);
    }

    @Port("arch/arm64/include/asm/io.h:writel")
    public void writel(int val, long off) {
        bus.write(base + off, Integer.toUnsignedLong(val), 4);
    }

    @Port("arch/arm64/include/asm/io.h:readq_relaxed")
    public long readqRelaxed(long off) {
        return bus.read(base + off, 8);
    }

    @Port("arch/arm64/include/asm/io.h:readq")
    public long readq(long off) {
        return bus.read(base + off, 8);
    }

    @Port("arch/arm64/include/asm/io.h:writeq_relaxed")
    public void writeqRelaxed(long val, long off) {
        bus.write(base + off, val, 8);
    }

    @Port("arch/arm64/include/asm/io.h:writeq")
    public void writeq(long val, long off) {
        bus.write(base + off, val, 8);
    }

    /** {@code lo_hi_writeq}: two 32-bit writes, low half first. */
    @Port("include/linux/io-64-nonatomic-lo-hi.h:lo_hi_writeq")
    public void loHiWriteq(long val, long off) {
        writel((int) val, off);
        writel((int) (val >>> 32), off + 4);
    }
}
