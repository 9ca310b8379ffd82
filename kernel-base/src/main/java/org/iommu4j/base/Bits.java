package org.iommu4j.base;

/**
 * include/linux/bits.h, bitfield.h, log2.h, align.h and kernel.h helpers with the kernel's
 * semantics on a 64-bit (arm64) kernel: {@code unsigned long} is 64 bits, so {@code BIT} and
 * {@code GENMASK} are {@code long} like their {@code _ULL} twins.
 *
 * <p>Field helpers take a shifted, contiguous mask and derive the shift from its lowest set bit.
 * Runtime values are masked ({@code FIELD_PREP} drops bits that do not fit) exactly like the
 * kernel; in strict mode ({@link #setStrict}) a value that does not {@code FIELD_FIT} raises a
 * {@code WARN}, which a test run treats as a failure. Mask validity (non-zero, contiguous), a
 * build-time check in C, is checked by {@link #checkMask} (used by reflective tests).
 */
public final class Bits {
    private Bits() {}

    public static final int BITS_PER_LONG = 64;
    public static final int BITS_PER_BYTE = 8;

    private static volatile boolean strict;

    /** In strict mode FIELD_PREP warns on values that do not fit the field. */
    public static void setStrict(boolean on) {
        strict = on;
    }

    @Port("include/vdso/bits.h:BIT")
    public static long BIT(int nr) {
        return 1L << nr;
    }

    @Port("include/linux/bits.h:BIT_ULL")
    public static long BIT_ULL(int nr) {
        return 1L << nr;
    }

    /** Bits h..l set, inclusive, 0 <= l <= h <= 63. */
    @Port("include/linux/bits.h:GENMASK")
    public static long GENMASK(int h, int l) {
        return GENMASK_ULL(h, l);
    }

    @Port("include/linux/bits.h:GENMASK_ULL")
    public static long GENMASK_ULL(int h, int l) {
        if (l < 0 || h > 63 || l > h) {
            throw new IllegalArgumentException("GENMASK(" + h + ", " + l + ")");
        }
        return (-1L << l) & (-1L >>> (63 - h));
    }

    /** 32-bit GENMASK for u32 registers. */
    public static int GENMASK32(int h, int l) {
        if (l < 0 || h > 31 || l > h) {
            throw new IllegalArgumentException("GENMASK32(" + h + ", " + l + ")");
        }
        return (int) GENMASK_ULL(h, l);
    }

    /** Shift of a field = index of the mask's lowest set bit ({@code __bf_shf}). */
    public static int bfShf(long mask) {
        return Long.numberOfTrailingZeros(mask);
    }

    /**
     * Prepare {@code val} for insertion into the field {@code mask}; excess bits are dropped.
     * Strict mode warns where the kernel's build-time check ("value too large for the field",
     * {@code ~FIELD_MAX(mask) & val}) would reject a constant.
     */
    @Port("include/linux/bitfield.h:FIELD_PREP")
    public static long FIELD_PREP(long mask, long val) {
        if (strict && (val & ~FIELD_MAX(mask)) != 0) {
            Warn.WARN(true, "FIELD_PREP: value 0x" + Long.toHexString(val) + " too large for the field 0x"
                    + Long.toHexString(mask));
        }
        return (val << bfShf(mask)) & mask;
    }

    /** Extract the field {@code mask} from {@code reg}. */
    @Port("include/linux/bitfield.h:FIELD_GET")
    public static long FIELD_GET(long mask, long reg) {
        return (reg & mask) >>> bfShf(mask);
    }

    /** FIELD_GET for fields known to fit in 31 bits, returned as int. */
    public static int FIELD_GET32(long mask, long reg) {
        return (int) FIELD_GET(mask, reg);
    }

    /** Largest value the field {@code mask} can hold. */
    @Port("include/linux/bitfield.h:FIELD_MAX")
    public static long FIELD_MAX(long mask) {
        return mask >>> bfShf(mask);
    }

    /**
     * True if {@code val} fits the field {@code mask}, computed as the kernel does: shifted into
     * place in the 64-bit type, no bit may land outside the mask. Bits shifted out past bit 63
     * are not seen, so for a field reaching bit 63 a too-large value can still "fit"
     * ({@code FIELD_FIT(GENMASK_ULL(63, 60), 0x10)} is true, as in C).
     */
    @Port("include/linux/bitfield.h:FIELD_FIT")
    public static boolean FIELD_FIT(long mask, long val) {
        return ((val << bfShf(mask)) & ~mask) == 0;
    }

    /** The build-time checks of bitfield.h: non-zero and contiguous. */
    public static boolean checkMask(long mask) {
        if (mask == 0) {
            return false;
        }
        long shifted = mask >>> bfShf(mask);
        return (shifted & (shifted + 1)) == 0;
    }

    /* ---- log2.h / bitops ---- */

    /** {@code ilog2} of an unsigned 64-bit value; -1 for 0 (the kernel leaves 0 undefined). */
    @Port("include/linux/log2.h:ilog2")
    public static int ilog2(long n) {
        return 63 - Long.numberOfLeadingZeros(n);
    }

    @Port("include/linux/log2.h:is_power_of_2")
    public static boolean isPowerOf2(long n) {
        return n != 0 && (n & (n - 1)) == 0;
    }

    @Port("include/linux/log2.h:roundup_pow_of_two")
    public static long roundupPowOfTwo(long n) {
        return n <= 1 ? 1 : 1L << (64 - Long.numberOfLeadingZeros(n - 1));
    }

    @Port("include/linux/log2.h:rounddown_pow_of_two")
    public static long rounddownPowOfTwo(long n) {
        return Long.highestOneBit(n);
    }

    /** The order of the power of two at or above {@code count} (0 for 1); -1 for 0. */
    @Port("include/linux/bitops.h:get_count_order")
    public static int getCountOrder(int count) {
        if (count == 0) {
            return -1;
        }
        int order = 31 - Integer.numberOfLeadingZeros(count);
        if ((count & (count - 1)) != 0) {
            order++;
        }
        return order;
    }

    /** Of an unsigned 64-bit value: 0 for 0 and 1, 64 above 2^63. */
    @Port("include/linux/log2.h:order_base_2")
    public static int orderBase2(long n) {
        return Long.compareUnsigned(n, 1) <= 0 ? 0 : ilog2(n - 1) + 1;
    }

    /** Index of the lowest set bit; undefined (64) for 0. */
    @Port("include/asm-generic/bitops/__ffs.h:__ffs")
    public static int __ffs(long word) {
        return Long.numberOfTrailingZeros(word);
    }

    /** Index of the highest set bit; undefined (-1) for 0. */
    @Port("include/asm-generic/bitops/__fls.h:__fls")
    public static int __fls(long word) {
        return 63 - Long.numberOfLeadingZeros(word);
    }

    /** 1-based index of the highest set bit, 0 for 0. */
    @Port("include/asm-generic/bitops/fls64.h:fls64")
    public static int fls64(long x) {
        return 64 - Long.numberOfLeadingZeros(x);
    }

    @Port("include/asm-generic/bitops/fls.h:fls")
    public static int fls(int x) {
        return 32 - Integer.numberOfLeadingZeros(x);
    }

    @Port("include/asm-generic/bitops/ffs.h:ffs")
    public static int ffs(int x) {
        return x == 0 ? 0 : Integer.numberOfTrailingZeros(x) + 1;
    }

    @Port("include/asm-generic/bitops/const_hweight.h:hweight64")
    public static int hweight64(long w) {
        return Long.bitCount(w);
    }

    /* ---- align.h / kernel.h ---- */

    @Port("include/linux/align.h:ALIGN")
    public static long ALIGN(long x, long a) {
        return (x + a - 1) & -a;
    }

    @Port("include/linux/align.h:ALIGN_DOWN")
    public static long ALIGN_DOWN(long x, long a) {
        return x & -a;
    }

    @Port("include/linux/align.h:IS_ALIGNED")
    public static boolean IS_ALIGNED(long x, long a) {
        return (x & (a - 1)) == 0;
    }

    @Port("include/linux/math.h:DIV_ROUND_UP")
    public static long DIV_ROUND_UP(long n, long d) {
        return Long.divideUnsigned(n + d - 1, d);
    }

    @Port("include/linux/kernel.h:lower_32_bits")
    public static int lower32Bits(long n) {
        return (int) n;
    }

    @Port("include/linux/kernel.h:upper_32_bits")
    public static int upper32Bits(long n) {
        return (int) (n >>> 32);
    }

    /** u32 widened without sign extension. */
    public static long u32(int x) {
        return Integer.toUnsignedLong(x);
    }

    /** Unsigned comparisons for u64 quantities (addresses, IOVAs). */
    public static boolean ult(long a, long b) {
        return Long.compareUnsigned(a, b) < 0;
    }

    public static boolean ule(long a, long b) {
        return Long.compareUnsigned(a, b) <= 0;
    }

    public static boolean ugt(long a, long b) {
        return Long.compareUnsigned(a, b) > 0;
    }

    public static boolean uge(long a, long b) {
        return Long.compareUnsigned(a, b) >= 0;
    }

    public static long umin(long a, long b) {
        return ult(a, b) ? a : b;
    }

    /** The unsigned minimum of the two values that are not zero; 0 when both are. */
    @Port("include/linux/minmax.h:min_not_zero")
    public static long minNotZero(long a, long b) {
        return a == 0 ? b : b == 0 ? a : umin(a, b);
    }

    public static long umax(long a, long b) {
        return ugt(a, b) ? a : b;
    }

    public static String hex(long x) {
        return "0x" + Long.toHexString(x);
    }
}
