package org.iommu4j.base.test;

import java.util.List;
import org.iommu4j.base.Bits;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Warn;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit 5 extension: a test fails if it raised a kernel WARN it did not consume with
 * {@link Warn#drain()}. Also turns on strict FIELD_PREP checking and disarms fault injection.
 * Use with {@code @ExtendWith(NoWarnings.class)}.
 */
public final class NoWarnings implements BeforeEachCallback, AfterEachCallback {
    @Override
    public void beforeEach(ExtensionContext context) {
        Warn.drain();
        Bits.setStrict(true);
        FaultInject.failNth(0);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        FaultInject.failNth(0);
        List<String> w = Warn.drain();
        if (!w.isEmpty() && context.getExecutionException().isEmpty()) {
            throw new AssertionError("unexpected kernel warnings:\n  " + String.join("\n  ", w));
        }
    }
}
