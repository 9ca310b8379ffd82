package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.base.Errno.*;

import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Map;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class ErrnoTest {

    @Test
    void kernelValues() {
        assertThat(EPERM).isEqualTo(1);
        assertThat(ENOENT).isEqualTo(2);
        assertThat(EIO).isEqualTo(5);
        assertThat(ENXIO).isEqualTo(6);
        assertThat(EAGAIN).isEqualTo(11);
        assertThat(ENOMEM).isEqualTo(12);
        assertThat(EFAULT).isEqualTo(14);
        assertThat(EBUSY).isEqualTo(16);
        assertThat(EEXIST).isEqualTo(17);
        assertThat(ENODEV).isEqualTo(19);
        assertThat(EINVAL).isEqualTo(22);
        assertThat(ENOSPC).isEqualTo(28);
        assertThat(ERANGE).isEqualTo(34);
        assertThat(ENOSYS).isEqualTo(38);
        assertThat(ETIME).isEqualTo(62);
        assertThat(EOVERFLOW).isEqualTo(75);
        assertThat(EOPNOTSUPP).isEqualTo(95);
        assertThat(ETIMEDOUT).isEqualTo(110);
        assertThat(EALREADY).isEqualTo(114);
        assertThat(EINPROGRESS).isEqualTo(115);
        assertThat(ECANCELED).isEqualTo(125);
        assertThat(ERESTARTSYS).isEqualTo(512);
        assertThat(EPROBE_DEFER).isEqualTo(517);
        assertThat(ENOTSUPP).isEqualTo(524);
        assertThat(MAX_ERRNO).isEqualTo(4095);
    }

    @Test
    void everyErrnoHasAUniqueValueAndItsOwnName() throws Exception {
        Map<Integer, String> seen = new HashMap<>();
        for (var f : Errno.class.getFields()) {
            if (f.getType() != int.class || !Modifier.isStatic(f.getModifiers()) || f.getName().equals("MAX_ERRNO")) {
                continue;
            }
            int v = f.getInt(null);
            assertThat(v).as(f.getName()).isBetween(1, MAX_ERRNO);
            assertThat(seen.put(v, f.getName())).as("duplicate value %d", v).isNull();
            assertThat(Errno.name(v)).isEqualTo(f.getName());
            assertThat(Errno.name(-v)).isEqualTo(f.getName());
        }
        assertThat(seen).hasSizeGreaterThan(50);
    }

    @Test
    void unknownErrnoName() {
        assertThat(Errno.name(4000)).isEqualTo("E?4000");
        assertThat(Errno.name(-MAX_ERRNO)).isEqualTo("E?4095");
    }

    @Test
    void isErrValue() {
        assertThat(IS_ERR_VALUE(-1)).isTrue();
        assertThat(IS_ERR_VALUE(-MAX_ERRNO)).isTrue();
        assertThat(IS_ERR_VALUE(-MAX_ERRNO - 1)).isFalse();
        assertThat(IS_ERR_VALUE(0)).isFalse();
        assertThat(IS_ERR_VALUE(Long.MIN_VALUE)).isFalse();
        assertThat(IS_ERR_VALUE(0xffff_0000_0000_0000L)).isFalse();
    }

    @Test
    void errnoExceptionCarriesThePositiveErrnoAndPtrErr() {
        var e = new ErrnoException(-EINVAL);
        assertThat(e.errno()).isEqualTo(EINVAL);
        assertThat(e.err()).isEqualTo(-EINVAL);
        assertThat(e).hasMessage("EINVAL").isInstanceOf(RuntimeException.class);
        var f = new ErrnoException(ENOMEM, "no PASID table");
        assertThat(f.errno()).isEqualTo(ENOMEM);
        assertThat(f.err()).isEqualTo(-12);
        assertThat(f).hasMessage("ENOMEM: no PASID table");
    }

    @Test
    void errPtrOfZeroIsRejected() {
        assertThatThrownBy(() -> new ErrnoException(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
