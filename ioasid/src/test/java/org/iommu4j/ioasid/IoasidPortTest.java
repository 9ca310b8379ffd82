package org.iommu4j.ioasid;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.iommu4j.base.Port;
import org.junit.jupiter.api.Test;

/** Every public kernel function of the module names the symbol it ports. */
class IoasidPortTest {
    /** Java-only queries for tests and tools: they port nothing. */
    private static final Set<String> JAVA_ONLY = Set.of("ioasidGetCapacityAvail", "ioasidCount",
            "ioasidRefcount", "ioasidIsFreePending", "ioasidNrSets", "ioasidSetValid",
            "ioasidNrPendingNb");

    @Test
    void publicIoasidFunctionsCarryPort() {
        List<String> missing = new ArrayList<>();
        int checked = 0;
        for (Method m : Ioasid.class.getDeclaredMethods()) {
            if (!Modifier.isPublic(m.getModifiers()) || !m.getName().startsWith("ioasid")
                    || JAVA_ONLY.contains(m.getName())) {
                continue;
            }
            checked++;
            boolean overload = m.getName().equals("ioasidFindBySpid") && m.getParameterCount() == 2;
            if (!overload && m.getAnnotationsByType(Port.class).length == 0) {
                missing.add(m.toString());
            }
        }
        assertThat(missing).isEmpty();
        assertThat(checked).as("ported ioasid functions found by name").isGreaterThan(20);
        assertThat(IoasidSet.class.getAnnotation(Port.class).seed()).isEqualTo("002");
        assertThat(IoasidData.class.getAnnotation(Port.class).value()).isEqualTo("drivers/iommu/ioasid.c:ioasid_data");
    }

    @Test
    void nullArgumentsAreErrorsNotExceptions() {
        Ioasid io = new Ioasid();
        assertThat(io.ioasidRegisterAllocator(null)).isEqualTo(-org.iommu4j.base.Errno.EINVAL);
        io.ioasidUnregisterAllocator(null);
        assertThat(io.ioasidRegisterNotifier(null, null)).isEqualTo(-org.iommu4j.base.Errno.EINVAL);
        assertThat(io.ioasidRegisterNotifierMm(new Object(), null)).isEqualTo(-org.iommu4j.base.Errno.EINVAL);
        assertThat(io.ioasidAdjustSet(null, 5)).isEqualTo(-org.iommu4j.base.Errno.EINVAL);
        assertThat(io.ioasidFindBySpid(null, 1, true)).isEqualTo(Ioasid.INVALID_IOASID);
    }
}
