package org.iommu4j.pci.hw;

/**
 * One Base Address Register a function implements (PCI 3.0 6.2.5.1): which register, the
 * address space it decodes and its size. A 64-bit memory BAR also takes the next register (its
 * upper half). Immutable; a function's set of BARs is part of its {@link PciEndpointCaps}.
 *
 * @param index        BAR number, 0..5 (a 64-bit BAR: 0..4)
 * @param type         {@link #IO}, {@link #MEM32} or {@link #MEM64}
 * @param prefetchable the Prefetchable bit of a memory BAR
 * @param size         bytes decoded: a power of two, at least 16 for memory (PCI 3.0 6.2.5.1)
 *                     and 4 to 256 for I/O; a 32-bit BAR at most 2 GiB
 */
public record PciBar(int index, int type, boolean prefetchable, long size) {
    public static final int IO = 0;
    public static final int MEM32 = 1;
    public static final int MEM64 = 2;

    public PciBar {
        if (type != IO && type != MEM32 && type != MEM64) {
            throw new IllegalArgumentException("BAR type " + type);
        }
        if (index < 0 || index >= PcieSpec.BAR_COUNT || (type == MEM64 && index == PcieSpec.BAR_COUNT - 1)) {
            throw new IllegalArgumentException("BAR " + index + (type == MEM64 ? " cannot hold a 64-bit BAR" : " does not exist"));
        }
        if (size <= 0 || Long.bitCount(size) != 1) {
            throw new IllegalArgumentException(String.format("BAR %d: size 0x%x is not a power of two", index, size));
        }
        if (type == IO && (size < 4 || size > 256)) {
            throw new IllegalArgumentException(String.format("BAR %d: I/O size 0x%x not in 4..256", index, size));
        }
        if (type != IO && size < 16) {
            throw new IllegalArgumentException(String.format("BAR %d: memory size 0x%x below 16 bytes", index, size));
        }
        if (type == MEM32 && size > 1L << 31) {
            throw new IllegalArgumentException(String.format("BAR %d: 32-bit BAR of 0x%x bytes", index, size));
        }
        if (type == IO && prefetchable) {
            throw new IllegalArgumentException("BAR " + index + ": an I/O BAR has no Prefetchable bit");
        }
    }

    public static PciBar io(int index, long size) {
        return new PciBar(index, IO, false, size);
    }

    public static PciBar mem32(int index, long size, boolean prefetchable) {
        return new PciBar(index, MEM32, prefetchable, size);
    }

    public static PciBar mem64(int index, long size, boolean prefetchable) {
        return new PciBar(index, MEM64, prefetchable, size);
    }

    public boolean isIo() {
        return type == IO;
    }

    /** The read-only low bits of the BAR register (space, type, prefetchable). */
    int typeBits() {
        if (type == IO) {
            return PcieSpec.BAR_SPACE_IO;
        }
        return (type == MEM64 ? PcieSpec.BAR_MEM_TYPE_64 : 0) | (prefetchable ? PcieSpec.BAR_MEM_PREFETCH : 0);
    }

    /** Writable address bits of the BAR's 64-bit value (upper half only for {@link #MEM64}). */
    long addressMask() {
        long m = -size & (type == IO ? 0xffff_fffcL : 0xffff_fff0L | 0xffff_ffff_0000_0000L);
        return type == MEM64 ? m : m & 0xffff_ffffL;
    }
}
