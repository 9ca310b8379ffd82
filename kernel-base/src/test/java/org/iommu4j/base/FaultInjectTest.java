package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.base.Errno.ENOMEM;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The fail-nth model, used the way iommufd's fail_nth selftest uses it. */
@ExtendWith(NoWarnings.class)
class FaultInjectTest {

    /** A fake operation with three allocation sites and a clean unwind; returns 0 or -ENOMEM. */
    private static int threeAllocations(List<Object> live) {
        String[] sites = {"table", "entry", "cookie"};
        List<Object> mine = new ArrayList<>();
        for (String s : sites) {
            Object o = Slab.kzalloc(() -> s, Gfp.GFP_KERNEL);
            if (o == null) {
                mine.clear(); // unwind: free what we got
                return -ENOMEM;
            }
            mine.add(o);
        }
        live.addAll(mine);
        return 0;
    }

    @Test
    void failNthSweepFailsEachSiteOnceThenCompletes() {
        int n = 1;
        List<Integer> failedAt = new ArrayList<>();
        while (true) {
            List<Object> live = new ArrayList<>();
            FaultInject.failNth(n);
            int ret = threeAllocations(live);
            boolean fired = FaultInject.disarm();
            if (!fired) {
                assertThat(ret).isZero();
                assertThat(live).containsExactly("table", "entry", "cookie");
                break;
            }
            assertThat(ret).isEqualTo(-ENOMEM);
            assertThat(live).isEmpty();
            assertThat(FaultInject.firedSite()).isEqualTo("kmalloc");
            assertThat(FaultInject.calls()).isEqualTo(n);
            failedAt.add(n);
            n++;
            assertThat(n).as("sweep must terminate").isLessThan(100);
        }
        assertThat(failedAt).containsExactly(1, 2, 3);
        assertThat(n).isEqualTo(4);
    }

    @Test
    void disarmedNeverFails() {
        FaultInject.failNth(0);
        for (int i = 0; i < 100; i++) {
            assertThat(FaultInject.shouldFail("x")).isFalse();
        }
        assertThat(FaultInject.fired()).isFalse();
        assertThat(FaultInject.calls()).isZero();
        assertThat(FaultInject.firedSite()).isNull();
    }

    @Test
    void aNegativeCountIsRefusedAndChangesNothing() {
        FaultInject.failNth(2);
        assertThatThrownBy(() -> FaultInject.failNth(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1");
        assertThat(FaultInject.shouldFail("a")).isFalse();
        assertThat(FaultInject.shouldFail("b")).isTrue();
    }

    @Test
    void firesOnceOnly() {
        FaultInject.failNth(2);
        assertThat(FaultInject.shouldFail("a")).isFalse();
        assertThat(FaultInject.shouldFail("b")).isTrue();
        assertThat(FaultInject.shouldFail("c")).isFalse();
        assertThat(FaultInject.fired()).isTrue();
        assertThat(FaultInject.firedSite()).isEqualTo("b");
        assertThat(FaultInject.disarm()).isTrue();
    }

    @Test
    void nofailAllocationsAreNotInjectionPoints() {
        FaultInject.failNth(1);
        assertThat(Slab.kzalloc(() -> "x", Gfp.GFP_KERNEL | Gfp.__GFP_NOFAIL)).isEqualTo("x");
        assertThat(FaultInject.calls()).isZero();
        assertThat(Slab.kmallocShouldFail(Gfp.GFP_ATOMIC)).isTrue();
        assertThat(Slab.kzalloc(() -> "y", Gfp.GFP_KERNEL)).isEqualTo("y");
    }

    @Test
    void armingIsPerThread() throws Exception {
        FaultInject.failNth(1);
        AtomicBoolean otherFailed = new AtomicBoolean();
        Thread t = new Thread(() -> otherFailed.set(FaultInject.shouldFail("other")));
        t.start();
        t.join();
        assertThat(otherFailed).isFalse();
        assertThat(FaultInject.shouldFail("mine")).isTrue();
    }

    @Test
    void gfpHelpers() {
        assertThat(Gfp.gfpflagsAllowBlocking(Gfp.GFP_KERNEL)).isTrue();
        assertThat(Gfp.gfpflagsAllowBlocking(Gfp.GFP_ATOMIC)).isFalse();
        assertThat(Gfp.gfpflagsAllowBlocking(Gfp.GFP_NOWAIT)).isFalse();
        assertThat(Gfp.GFP_KERNEL).isEqualTo(0xcc0);
        assertThat(Gfp.GFP_ATOMIC).isEqualTo(0xa20);
    }
}
