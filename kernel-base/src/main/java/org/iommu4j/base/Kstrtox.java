package org.iommu4j.base;

import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ERANGE;

/** lib/kstrtox.c: reading kernel parameters' values. */
public final class Kstrtox {
    private Kstrtox() {}

    /**
     * The v5.15 reading of a boolean parameter: only the first character counts ({@code y Y 1}
     * true, {@code n N 0} false), except that {@code o}/{@code O} needs a second one ({@code n}
     * on, {@code f} off). Anything else (null and "" included) is -EINVAL and {@code res} is not
     * written. (Words such as "true"/"false" are accepted only by later kernels.)
     */
    @Port("lib/kstrtox.c:kstrtobool")
    public static int kstrtobool(String s, boolean[] res) {
        if (s == null || s.isEmpty()) {
            return -EINVAL;
        }
        switch (s.charAt(0)) {
            case 'y', 'Y', '1':
                res[0] = true;
                return 0;
            case 'n', 'N', '0':
                res[0] = false;
                return 0;
            case 'o', 'O':
                char c = s.length() > 1 ? s.charAt(1) : '\0';
                if (c == 'n' || c == 'N') {
                    res[0] = true;
                    return 0;
                }
                if (c == 'f' || c == 'F') {
                    res[0] = false;
                    return 0;
                }
                return -EINVAL;
            default:
                return -EINVAL;
        }
    }

    /* ---------------- unsigned integers ---------------- */

    /** {@code KSTRTOX_OVERFLOW}: _parse_integer's flag for a value past 2^64 - 1. */
    private static final int KSTRTOX_OVERFLOW = 1 << 31;

    /**
     * The base a string's prefix gives when the caller asked for {@code base} (0: "0x"/"0X"
     * followed by a hex digit is 16, another leading "0" is 8, else 10); with base 16 a "0x"
     * prefix is skipped. Returns the index the digits start at; {@code base[0]} is updated.
     */
    @Port("lib/kstrtox.c:_parse_integer_fixup_radix")
    static int _parseIntegerFixupRadix(String s, int start, int[] base) {
        if (base[0] == 0) {
            if (charAt(s, start) == '0') {
                if (Character.toLowerCase(charAt(s, start + 1)) == 'x' && isxdigit(charAt(s, start + 2))) {
                    base[0] = 16;
                } else {
                    base[0] = 8;
                }
            } else {
                base[0] = 10;
            }
        }
        if (base[0] == 16 && charAt(s, start) == '0' && Character.toLowerCase(charAt(s, start + 1)) == 'x') {
            start += 2;
        }
        return start;
    }

    /**
     * Reads the digits of {@code base} from {@code start} into {@code res[0]} (unsigned 64-bit):
     * how many it read, with {@link #KSTRTOX_OVERFLOW} set if the value passed 2^64 - 1.
     */
    @Port("lib/kstrtox.c:_parse_integer")
    static int _parseInteger(String s, int start, int base, long[] res) {
        long r = 0;
        int rv = 0;
        for (int i = start; i < s.length(); i++) {
            char c = s.charAt(i);
            char lc = Character.toLowerCase(c);
            int val;
            if (c >= '0' && c <= '9') {
                val = c - '0';
            } else if (lc >= 'a' && lc <= 'f') {
                val = lc - 'a' + 10;
            } else {
                break;
            }
            if (val >= base) {
                break;
            }
            // r * base + val must fit in 64 bits unsigned
            if (Long.compareUnsigned(r, Long.divideUnsigned(-1L - val, base)) > 0) {
                rv |= KSTRTOX_OVERFLOW;
            }
            r = r * base + val;
            rv++;
        }
        res[0] = r;
        return rv;
    }

    @Port("lib/kstrtox.c:_kstrtoull")
    private static int _kstrtoull(String s, int start, int base, long[] res) {
        int[] b = {base};
        int i = _parseIntegerFixupRadix(s, start, b);
        long[] r = {0};
        int rv = _parseInteger(s, i, b[0], r);
        if ((rv & KSTRTOX_OVERFLOW) != 0) {
            return -ERANGE;
        }
        if (rv == 0) {
            return -EINVAL;
        }
        i += rv;
        if (charAt(s, i) == '\n') {
            i++;
        }
        if (charAt(s, i) != '\0') { // the C string ends at its first NUL
            return -EINVAL;
        }
        res[0] = r[0];
        return 0;
    }

    /**
     * Converts a string to an unsigned long long ({@code res[0]}, read unsigned): an optional
     * '+', then the digits of {@code base} (0: the base from the prefix, "0x" hex, "0" octal,
     * else decimal), then at most one newline. 0, -ERANGE past 2^64 - 1, -EINVAL for anything
     * else ({@code res} is then not written).
     */
    @Port("lib/kstrtox.c:kstrtoull")
    public static int kstrtoull(String s, int base, long[] res) {
        int start = charAt(s, 0) == '+' ? 1 : 0;
        return _kstrtoull(s, start, base, res);
    }

    /** {@link #kstrtoull}: unsigned long is 64 bits on arm64. */
    @Port("include/linux/kernel.h:kstrtoul")
    public static int kstrtoul(String s, int base, long[] res) {
        return kstrtoull(s, base, res);
    }

    /** The C string's character at {@code i}: NUL past the end (and at an embedded NUL, where the C string ends). */
    private static char charAt(String s, int i) {
        return i < s.length() ? s.charAt(i) : '\0';
    }

    private static boolean isxdigit(char c) {
        return Character.digit(c, 16) >= 0 && c < 128;
    }
}
