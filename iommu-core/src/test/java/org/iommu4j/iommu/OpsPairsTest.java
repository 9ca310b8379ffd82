package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import org.iommu4j.iommu.pgtable.IommuFlushOps;
import org.junit.jupiter.api.Test;

/**
 * Each optional op {@code foo} of an ops interface pairs with {@code hasFoo()}; an
 * implementation overrides both or neither (otherwise the core would call a default stub, or skip
 * a real op).
 */
class OpsPairsTest {
    static List<String> unpaired(Class<?> iface, Class<?> impl) {
        List<String> bad = new ArrayList<>();
        for (Method has : iface.getMethods()) {
            if (!isPresenceTest(has.getName())) {
                continue;
            }
            String op = Character.toLowerCase(has.getName().charAt(3)) + has.getName().substring(4);
            Method opM = null;
            for (Method m : iface.getMethods()) {
                if (m.getName().equals(op)) {
                    opM = m;
                }
            }
            assertThat(opM).as("op for " + has.getName()).isNotNull();
            assertThat(opM.isDefault()).as(op + " is a default method").isTrue();
            boolean hasOverridden = declaredAnywhere(impl, has.getName(), has.getParameterTypes());
            boolean opOverridden = declaredAnywhere(impl, op, opM.getParameterTypes());
            if (hasOverridden != opOverridden) {
                bad.add(impl.getSimpleName() + "." + op);
            }
        }
        return bad;
    }

    /** {@code hasFooBar}: the presence test of an optional op {@code fooBar}. */
    static boolean isPresenceTest(String name) {
        return name.length() > 3 && name.startsWith("has") && Character.isUpperCase(name.charAt(3));
    }

    /** The presence test's name of optional op {@code op}. */
    static String presenceTest(String op) {
        return "has" + Character.toUpperCase(op.charAt(0)) + op.substring(1);
    }

    static boolean declaredAnywhere(Class<?> c, String name, Class<?>[] params) {
        for (Class<?> k = c; k != null && k != Object.class; k = k.getSuperclass()) {
            try {
                k.getDeclaredMethod(name, params);
                return true;
            } catch (NoSuchMethodException e) {
                // keep looking
            }
        }
        return false;
    }

    @Test
    void mockDriverOverridesPairsTogether() {
        assertThat(unpaired(IommuOps.class, MockIommu.class)).isEmpty();
        assertThat(unpaired(IommuOps.class, MinimalOps.class)).isEmpty();
    }

    @Test
    void everyOptionalOpHasAPresenceTest() {
        List<String> missing = new ArrayList<>();
        for (Method m : IommuOps.class.getMethods()) {
            if (m.isDefault() && !isPresenceTest(m.getName()) && !m.getName().equals("owner")) {
                try {
                    IommuOps.class.getMethod(presenceTest(m.getName()));
                } catch (NoSuchMethodException e) {
                    missing.add(m.getName());
                }
            }
        }
        assertThat(missing).isEmpty();
        for (Method m : IommuFlushOps.class.getMethods()) {
            if (m.isDefault() && !isPresenceTest(m.getName())) {
                try {
                    IommuFlushOps.class.getMethod(presenceTest(m.getName()));
                } catch (NoSuchMethodException e) {
                    missing.add(m.getName());
                }
            }
        }
        assertThat(missing).isEmpty();
    }
}
