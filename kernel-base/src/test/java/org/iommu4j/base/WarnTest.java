package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;

import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class WarnTest {

    @Test
    void warnOnReturnsTheConditionAndWarnsOnlyWhenTrue() {
        assertThat(Warn.WARN_ON(false)).isFalse();
        assertThat(Warn.warnings()).isEmpty();
        assertThat(Warn.WARN_ON(true)).isTrue();
        assertThat(Warn.drain()).singleElement().asString()
                .startsWith("WARNING: at org.iommu4j.base.WarnTest.warnOnReturnsTheConditionAndWarnsOnlyWhenTrue(WarnTest.java:")
                .endsWith(": WARN_ON");
        assertThat(Warn.warnings()).isEmpty();
    }

    @Test
    void warnOnOnceWarnsOncePerCallSite() {
        for (int i = 0; i < 3; i++) {
            assertThat(Warn.WARN_ON_ONCE(true)).isTrue(); // site A
        }
        assertThat(Warn.drain()).hasSize(1);
        assertThat(Warn.WARN_ON_ONCE(true)).isTrue(); // site B, a different line
        assertThat(Warn.WARN_ON_ONCE(false)).isFalse();
        assertThat(Warn.drain()).singleElement().asString().contains("WARN_ON_ONCE");
    }

    @Test
    void warnAndWarnOnceCarryTheMessage() {
        assertThat(Warn.WARN(true, "bad ste")).isTrue();
        assertThat(Warn.WARN(false, "never")).isFalse();
        for (int i = 0; i < 2; i++) {
            Warn.WARN_ONCE(true, "once only");
        }
        assertThat(Warn.drain()).hasSize(2).satisfiesExactly(
                w -> assertThat(w).endsWith(": bad ste"),
                w -> assertThat(w).endsWith(": once only"));
    }

    @Test
    void warningGoesToTheKernelLogAndTheTraceBus() {
        try (var cap = Trace.capture("kernel:warning")) {
            Warn.WARN(true, "traced-warning-7731");
            assertThat(cap.of("warning")).singleElement().satisfies(r -> {
                assertThat(r.field("msg")).isEqualTo("traced-warning-7731");
                assertThat((String) r.field("site")).startsWith("org.iommu4j.base.WarnTest.warningGoesToTheKernelLogAndTheTraceBus");
            });
        }
        assertThat(Printk.grep("traced-warning-7731")).singleElement().asString().startsWith("WARNING: at ");
        Warn.drain();
    }

    @Test
    void callSiteSkipsTheKernelLibraryFrames() {
        Refcount r = new Refcount(0);
        r.refcountInc();
        // The warning names the caller of Refcount, not Refcount itself.
        assertThat(Warn.drain()).singleElement().asString()
                .contains("WarnTest.callSiteSkipsTheKernelLibraryFrames").contains("addition on 0");
    }
}
