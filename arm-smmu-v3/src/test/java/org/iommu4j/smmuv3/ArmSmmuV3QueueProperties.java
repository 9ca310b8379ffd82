package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** Properties of the driver's queue arithmetic (Q_IDX/Q_WRP/Q_OVF, inc_prod_n, has_space, consumed). */
class ArmSmmuV3QueueProperties {
    /** Queue arithmetic: inc_prod_n keeps the overflow flag, wraps the index, flips the wrap bit. */
    @Property(tries = 200, seed = "20261203")
    void queueArithmetic(@ForAll @IntRange(min = 1, max = 19) int shift, @ForAll @IntRange(min = 0, max = 1 << 20) int start,
            @ForAll @IntRange(min = 0, max = 1 << 19) int n, @ForAll boolean ovf) {
        ArmSmmuLlQueue q = new ArmSmmuLlQueue(shift);
        int size = 1 << shift;
        n = n % (size + 1);
        q.prod = (start & ((size << 1) - 1)) | (ovf ? Q_OVERFLOW_FLAG : 0);
        int p = ArmSmmuV3.queueIncProdN(q, n);
        assertThat(Q_OVF(p)).isEqualTo(Q_OVF(q.prod));
        long lin = (Q_WRP(q, q.prod) | Q_IDX(q, q.prod)) + (long) n;
        assertThat(Q_IDX(q, p)).isEqualTo((int) (lin % size));
        assertThat(Q_WRP(q, p) != 0).isEqualTo(((lin / size) & 1) == 1);
        /* cons == prod: empty, full after size entries, never both. */
        q.cons = q.prod;
        assertThat(ArmSmmuV3.queueEmpty(q)).isTrue();
        assertThat(ArmSmmuV3.queueHasSpace(q, size)).isTrue();
        assertThat(ArmSmmuV3.queueHasSpace(q, size + 1)).isFalse();
        ArmSmmuLlQueue full = q.copy();
        full.prod = ArmSmmuV3.queueIncProdN(q, size);
        assertThat(ArmSmmuV3.queueFull(full)).isTrue();
        assertThat(ArmSmmuV3.queueEmpty(full)).isFalse();
        assertThat(ArmSmmuV3.queueHasSpace(full, 1)).isFalse();
        /* An entry is consumed once cons has moved past it. */
        ArmSmmuLlQueue c = q.copy();
        c.cons = ArmSmmuV3.queueIncProdN(q, n);
        if (n > 0) {
            assertThat(ArmSmmuV3.queueConsumed(c, q.prod)).isTrue();
        }
        c.cons = q.prod;
        assertThat(ArmSmmuV3.queueConsumed(c, q.prod)).isFalse();
    }

}
