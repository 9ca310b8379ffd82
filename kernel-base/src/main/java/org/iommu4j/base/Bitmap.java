package org.iommu4j.base;

import static org.iommu4j.base.Errno.ENOMEM;

/**
 * The region calls of lib/bitmap.c (v5.15) on a bitmap stored as {@code unsigned long}s
 * ({@code long[]}, bit n in word n / 64): the allocators of interrupt controllers (GICv2m's
 * SPIs, an ITS device's events) hand out naturally aligned power-of-two runs with them.
 * Callers hold the lock that guards the bitmap.
 */
public final class Bitmap {
    private Bitmap() {}

    @Port("include/linux/bitops.h:BITS_TO_LONGS")
    public static int BITS_TO_LONGS(int nbits) {
        return (nbits + 63) >>> 6;
    }

    /** A cleared bitmap of {@code nbits} bits. */
    @Port("lib/bitmap.c:bitmap_zalloc")
    public static long[] bitmapZalloc(int nbits) {
        return new long[BITS_TO_LONGS(nbits)];
    }

    @Port("include/asm-generic/bitops/instrumented-non-atomic.h:test_bit")
    public static boolean testBit(int nr, long[] bm) {
        return (bm[nr >>> 6] & 1L << (nr & 63)) != 0;
    }

    /** Whether none of the first {@code nbits} bits is set. */
    @Port("include/linux/bitmap.h:bitmap_empty")
    public static boolean bitmapEmpty(long[] bm, int nbits) {
        for (int i = 0; i < nbits; i++) {
            if (testBit(i, bm)) {
                return false;
            }
        }
        return true;
    }

    /** Sets, clears or checks for all clear the {@code 1 << order} bits from {@code pos}. */
    @Port("lib/bitmap.c:__reg_op")
    private static boolean __regOp(long[] bm, int pos, int order, int op) {
        boolean free = true;
        for (int i = pos; i < pos + (1 << order); i++) {
            long bit = 1L << (i & 63);
            switch (op) {
                case REG_OP_ISFREE -> free &= (bm[i >>> 6] & bit) == 0;
                case REG_OP_ALLOC -> bm[i >>> 6] |= bit;
                default -> bm[i >>> 6] &= ~bit;
            }
        }
        return free;
    }

    private static final int REG_OP_ISFREE = 0;
    private static final int REG_OP_ALLOC = 1;
    private static final int REG_OP_RELEASE = 2;

    /**
     * Finds the first free run of {@code 1 << order} bits starting at a multiple of its size,
     * wholly below {@code bits}, and sets it. Its first bit, or -ENOMEM when there is none.
     */
    @Port("lib/bitmap.c:bitmap_find_free_region")
    public static int bitmapFindFreeRegion(long[] bm, int bits, int order) {
        if (order < 0 || order > 30) {
            return -ENOMEM;
        }
        for (int pos = 0; pos + (1 << order) <= bits; pos += 1 << order) {
            if (__regOp(bm, pos, order, REG_OP_ISFREE)) {
                __regOp(bm, pos, order, REG_OP_ALLOC);
                return pos;
            }
        }
        return -ENOMEM;
    }

    /** Clears the {@code 1 << order} bits from {@code pos}. */
    @Port("lib/bitmap.c:bitmap_release_region")
    public static void bitmapReleaseRegion(long[] bm, int pos, int order) {
        __regOp(bm, pos, order, REG_OP_RELEASE);
    }
}
