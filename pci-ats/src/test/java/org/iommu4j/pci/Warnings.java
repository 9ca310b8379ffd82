package org.iommu4j.pci;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;

/**
 * Asserts that exactly one kernel WARN was raised. While kernel-base's Warn cannot record
 * warnings (its call-site lookup throws), PciAts logs them with printk instead; this helper
 * accepts that form too so the tests keep proving the WARN paths.
 */
final class Warnings {
    private Warnings() {}

    static final boolean WARN_WORKS = probe();

    private static boolean probe() {
        try {
            Warn.WARN_ON(true);
            Warn.drain();
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    private static int logged() {
        return Printk.grep("WARNING: at drivers/pci/ats.c").size();
    }

    /** Runs {@code r} and checks it WARNed once. */
    static void expectWarning(Runnable r) {
        int before = logged();
        r.run();
        List<String> w = Warn.drain();
        if (WARN_WORKS) {
            assertThat(w).as("kernel warnings").hasSize(1);
        } else {
            assertThat(logged() - before).as("WARN lines in the kernel log").isEqualTo(1);
        }
    }
}
