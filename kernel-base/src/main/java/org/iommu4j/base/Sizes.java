package org.iommu4j.base;

/** include/linux/sizes.h and the page geometry of the simulated arm64 machine (4 KiB pages). */
@Port("include/linux/sizes.h:SZ_4K")
public final class Sizes {
    private Sizes() {}

    public static final long SZ_1 = 1L;
    public static final long SZ_2 = 2L;
    public static final long SZ_4 = 4L;
    public static final long SZ_8 = 8L;
    public static final long SZ_16 = 16L;
    public static final long SZ_32 = 32L;
    public static final long SZ_64 = 64L;
    public static final long SZ_128 = 128L;
    public static final long SZ_256 = 256L;
    public static final long SZ_512 = 512L;
    public static final long SZ_1K = 1L << 10;
    public static final long SZ_2K = 1L << 11;
    public static final long SZ_4K = 1L << 12;
    public static final long SZ_8K = 1L << 13;
    public static final long SZ_16K = 1L << 14;
    public static final long SZ_32K = 1L << 15;
    public static final long SZ_64K = 1L << 16;
    public static final long SZ_128K = 1L << 17;
    public static final long SZ_256K = 1L << 18;
    public static final long SZ_512K = 1L << 19;
    public static final long SZ_1M = 1L << 20;
    public static final long SZ_2M = 1L << 21;
    public static final long SZ_4M = 1L << 22;
    public static final long SZ_8M = 1L << 23;
    public static final long SZ_16M = 1L << 24;
    public static final long SZ_32M = 1L << 25;
    public static final long SZ_64M = 1L << 26;
    public static final long SZ_128M = 1L << 27;
    public static final long SZ_256M = 1L << 28;
    public static final long SZ_512M = 1L << 29;
    public static final long SZ_1G = 1L << 30;
    public static final long SZ_2G = 1L << 31;
    public static final long SZ_4G = 1L << 32;
    public static final long SZ_64G = 1L << 36;
    public static final long SZ_512G = 1L << 39;

    /** arch/arm64 PAGE_SHIFT for the 4 KiB-page kernel the simulation runs. */
    public static final int PAGE_SHIFT = 12;
    public static final long PAGE_SIZE = 1L << PAGE_SHIFT;
    public static final long PAGE_MASK = ~(PAGE_SIZE - 1);
}
