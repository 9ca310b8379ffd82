package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EINVAL;

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
}
