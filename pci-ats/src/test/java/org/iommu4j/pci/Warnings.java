package org.iommu4j.pci;

import static org.assertj.core.api.Assertions.assertThat;

import org.iommu4j.base.Warn;

/** Asserts that a call raised exactly one kernel WARN. */
final class Warnings {
    private Warnings() {}

    /** Runs {@code r} and checks it WARNed once. */
    static void expectWarning(Runnable r) {
        Warn.drain();
        r.run();
        assertThat(Warn.drain()).as("kernel warnings").hasSize(1);
    }
}
