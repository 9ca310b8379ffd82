package org.iommu4j.base;

import static org.iommu4j.base.Errno.EINVAL;

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
}
