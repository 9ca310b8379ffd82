package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.ENOSPC;

import org.junit.jupiter.api.Test;

/** lib/idr.c's ida_simple_get/remove: the lowest free ID in [start, end), a removed one taken again first. */
class IdaTest {
    @Test
    void lowestFreeIdInItsRange() {
        Ida ida = new Ida();
        assertThat(ida.idaSimpleGet(0, 0)).isZero();
        assertThat(ida.idaSimpleGet(0, 0)).isEqualTo(1);
        assertThat(ida.idaSimpleGet(5, 0)).isEqualTo(5);
        ida.idaSimpleRemove(0);
        assertThat(ida.idaSimpleGet(0, 0)).isZero();
        assertThat(ida.idaSimpleGet(0, 3)).isEqualTo(2);
        assertThat(ida.idaSimpleGet(0, 3)).isEqualTo(-ENOSPC);
    }
}
