package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ERANGE;

import org.junit.jupiter.api.Test;

/** lib/kstrtox.c's kstrtobool as v5.15 reads a boolean: the first character, two for on/off. */
class KstrtoxTest {
    @Test
    void kstrtoboolReadsTheFirstCharacterAndLeavesResAloneOnError() {
        boolean[] res = {true};
        assertThat(Kstrtox.kstrtobool(null, res)).isEqualTo(-EINVAL);
        assertThat(Kstrtox.kstrtobool("", res)).isEqualTo(-EINVAL);
        assertThat(Kstrtox.kstrtobool("o", res)).isEqualTo(-EINVAL);
        assertThat(Kstrtox.kstrtobool("true", res)).isEqualTo(-EINVAL);
        assertThat(res[0]).isTrue();
        assertThat(Kstrtox.kstrtobool("oN", res)).isZero();
        assertThat(res[0]).isTrue();
        assertThat(Kstrtox.kstrtobool("N", res)).isZero();
        assertThat(res[0]).isFalse();
        assertThat(Kstrtox.kstrtobool("maybe", res)).isEqualTo(-EINVAL);
        assertThat(res[0]).isFalse();
        assertThat(Kstrtox.kstrtobool("10", res)).isZero();
        assertThat(res[0]).isTrue();
        assertThat(Kstrtox.kstrtobool("Off", res)).isZero();
        assertThat(res[0]).isFalse();
        assertThat(Kstrtox.kstrtobool("yes", res)).isZero();
        assertThat(res[0]).isTrue();
    }

    /** kstrtoull/kstrtoul: '+', base from the prefix with base 0, one newline, the whole u64 range. */
    @Test
    void kstrtoulReadsAnUnsignedLongAsLibKstrtoxDoes() {
        long[] res = {7};
        assertThat(Kstrtox.kstrtoul("0x1f\n", 0, res)).isZero();
        assertThat(res[0]).isEqualTo(0x1f);
        assertThat(Kstrtox.kstrtoul("+017", 0, res)).isZero();
        assertThat(res[0]).isEqualTo(15);
        assertThat(Kstrtox.kstrtoul("18446744073709551615", 0, res)).isZero();
        assertThat(res[0]).isEqualTo(-1L);
        assertThat(Kstrtox.kstrtoul("0", 0, res)).isZero();
        assertThat(res[0]).isZero();
        res[0] = 7;
        assertThat(Kstrtox.kstrtoul("18446744073709551616", 0, res)).isEqualTo(-ERANGE);
        assertThat(Kstrtox.kstrtoul("0x10000000000000000", 0, res)).isEqualTo(-ERANGE);
        for (String bad : new String[] {"", "\n", "#1", "-1", "08", "0x", "0xg", "1\n\n", " 1", "1 ", "++1", "0x+1"}) {
            assertThat(Kstrtox.kstrtoul(bad, 0, res)).as(bad).isEqualTo(-EINVAL);
        }
        assertThat(res[0]).isEqualTo(7);
        assertThat(Kstrtox.kstrtoul("ff", 16, res)).isZero();
        assertThat(res[0]).isEqualTo(255);
        assertThat(Kstrtox.kstrtoul("0xff", 16, res)).isZero();
        assertThat(res[0]).isEqualTo(255);
    }

    /**
     * The C string ends at its first NUL: what follows it is never read, so "1\0junk" and
     * "1\n\0junk" read as "1" (a sysfs store's buffer keeps a NUL the user wrote).
     */
    @Test
    void kstrtoulStopsAtTheFirstNul() {
        long[] res = {7};
        assertThat(Kstrtox.kstrtoul("1\0junk", 0, res)).isZero();
        assertThat(res[0]).isEqualTo(1);
        res[0] = 7;
        assertThat(Kstrtox.kstrtoul("0x2\n\0\n\n", 0, res)).isZero();
        assertThat(res[0]).isEqualTo(2);
        res[0] = 7;
        assertThat(Kstrtox.kstrtoul("\0001", 0, res)).isEqualTo(-EINVAL);
        assertThat(res[0]).isEqualTo(7);
    }
}
