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
    private static final Set<String> JAVA_ONLY = Set.of("ioasid_get_capacity_avail", "ioasid_count",
            "ioasid_refcount", "ioasid_is_free_pending", "ioasid_nr_sets", "ioasid_set_valid",
            "ioasid_nr_pending_nb");

    @Test
    void publicIoasidFunctionsCarryPort() {
        List<String> missing = new ArrayList<>();
        for (Method m : Ioasid.class.getDeclaredMethods()) {
            if (!Modifier.isPublic(m.getModifiers()) || !m.getName().startsWith("ioasid_")
                    || JAVA_ONLY.contains(m.getName())) {
                continue;
            }
            boolean overload = m.getName().equals("ioasid_find_by_spid") && m.getParameterCount() == 2;
            if (!overload && m.getAnnotationsByType(Port.class).length == 0) {
                missing.add(m.toString());
            }
        }
        assertThat(missing).isEmpty();
        assertThat(IoasidSet.class.getAnnotation(Port.class).seed()).isEqualTo("002");
        assertThat(IoasidData.class.getAnnotation(Port.class).value()).isEqualTo("drivers/iommu/ioasid.c:ioasid_data");
    }

    @Test
    void nullArgumentsAreErrorsNotExceptions() {
        Ioasid io = new Ioasid();
        assertThat(io.ioasid_register_allocator(null)).isEqualTo(-org.iommu4j.base.Errno.EINVAL);
        io.ioasid_unregister_allocator(null);
        assertThat(io.ioasid_register_notifier(null, null)).isEqualTo(-org.iommu4j.base.Errno.EINVAL);
        assertThat(io.ioasid_register_notifier_mm(new Object(), null)).isEqualTo(-org.iommu4j.base.Errno.EINVAL);
        assertThat(io.ioasid_adjust_set(null, 5)).isEqualTo(-org.iommu4j.base.Errno.EINVAL);
        assertThat(io.ioasid_find_by_spid(null, 1, true)).isEqualTo(Ioasid.INVALID_IOASID);
    }
}
