package org.iommu4j.base.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.util.Optional;
import org.iommu4j.base.Bits;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Warn;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionContext;

/** The extension's contract, driven directly through its callbacks. */
class NoWarningsTest {

    /** An ExtensionContext whose only answer is the test's execution exception. */
    private static ExtensionContext context(Throwable failure) {
        return (ExtensionContext) Proxy.newProxyInstance(ExtensionContext.class.getClassLoader(),
                new Class<?>[] {ExtensionContext.class}, (proxy, m, args) -> {
                    if (m.getName().equals("getExecutionException")) {
                        return Optional.ofNullable(failure);
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }

    @Test
    void anUnconsumedWarningFailsTheTest() {
        NoWarnings ext = new NoWarnings();
        ext.beforeEach(context(null));
        Warn.WARN(true, "leftover warning");
        assertThatThrownBy(() -> ext.afterEach(context(null)))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("unexpected kernel warnings")
                .hasMessageContaining("leftover warning");
        assertThat(Warn.warnings()).isEmpty();
    }

    @Test
    void aDrainedWarningDoesNotFailTheTest() throws Exception {
        NoWarnings ext = new NoWarnings();
        ext.beforeEach(context(null));
        Warn.WARN(true, "expected warning");
        assertThat(Warn.drain()).hasSize(1);
        ext.afterEach(context(null));
    }

    @Test
    void anAlreadyFailingTestKeepsItsOwnFailure() throws Exception {
        NoWarnings ext = new NoWarnings();
        ext.beforeEach(context(null));
        Warn.WARN(true, "secondary warning");
        ext.afterEach(context(new AssertionError("primary")));
        assertThat(Warn.warnings()).isEmpty();
    }

    @Test
    void beforeEachForgetsOldWarningsArmsStrictFieldsAndDisarmsFaultInjection() {
        Bits.setStrict(false);
        Warn.WARN(true, "stale");
        FaultInject.failNth(1);
        NoWarnings ext = new NoWarnings();
        ext.beforeEach(context(null));
        assertThat(Warn.warnings()).isEmpty();
        assertThat(FaultInject.shouldFail("kmalloc")).isFalse();
        Bits.FIELD_PREP(0xf, 0x10);
        assertThat(Warn.drain()).hasSize(1);
        ext.afterEach(context(null));
    }
}
