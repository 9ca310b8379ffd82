package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Refcount.REFCOUNT_SATURATED;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** refcount_t and kref semantics (include/linux/refcount.h, lib/refcount.c, kref.h). */
@ExtendWith(NoWarnings.class)
class RefcountTest {

    @Test
    void saturatedIsIntMinOverTwo() {
        assertThat(REFCOUNT_SATURATED).isEqualTo(0xc000_0000);
    }

    @Test
    void incAndDecAndTest() {
        Refcount r = new Refcount(1);
        r.refcountInc();
        assertThat(r.refcountRead()).isEqualTo(2);
        assertThat(r.refcountDecAndTest()).isFalse();
        assertThat(r.refcountDecAndTest()).isTrue();
        assertThat(r.refcountRead()).isZero();
        assertThat(r).hasToString("refcount(0)");
    }

    @Test
    void incrementFromZeroIsUseAfterFreeAndSaturates() {
        Refcount r = new Refcount(0);
        r.refcountInc();
        assertThat(r.refcountRead()).isEqualTo(REFCOUNT_SATURATED);
        assertThat(Warn.drain()).singleElement().asString().contains("refcount_t: addition on 0; use-after-free.");
    }

    @Test
    void overflowSaturatesAndStaysSaturated() {
        Refcount r = new Refcount(Integer.MAX_VALUE);
        r.refcountInc();
        assertThat(r.refcountRead()).isEqualTo(REFCOUNT_SATURATED);
        assertThat(Warn.drain()).singleElement().asString().contains("saturated; leaking memory");
        // A saturated counter never reaches zero: the object leaks instead of being freed twice.
        for (int i = 0; i < 1000; i++) {
            assertThat(r.refcountDecAndTest()).isFalse();
        }
        assertThat(r.refcountRead()).isEqualTo(REFCOUNT_SATURATED);
        assertThat(Warn.drain()).singleElement().asString().contains("underflow; use-after-free");
        // inc_not_zero on a saturated count succeeds, re-saturates and warns (ADD_NOT_ZERO_OVF).
        assertThat(r.refcountIncNotZero()).isTrue();
        assertThat(r.refcountRead()).isEqualTo(REFCOUNT_SATURATED);
        assertThat(Warn.drain()).singleElement().asString().contains("refcount_t: saturated; leaking memory.");
    }

    /** refcount_add / refcount_add_not_zero / refcount_sub_and_test check the old value as inc/dec do. */
    @Test
    void addAndSubAndTest() {
        Refcount r = new Refcount(1);
        r.refcountAdd(4);
        assertThat(r.refcountRead()).isEqualTo(5);
        assertThat(r.refcountAddNotZero(2)).isTrue();
        assertThat(r.refcountRead()).isEqualTo(7);
        assertThat(r.refcountSubAndTest(3)).isFalse();
        assertThat(r.refcountSubAndTest(4)).isTrue();
        assertThat(r.refcountRead()).isZero();
        assertThat(r.refcountAddNotZero(2)).isFalse();
        assertThat(r.refcountRead()).isZero();
        assertThat(Warn.warnings()).isEmpty();
        // Subtracting more than there is: underflow.
        r.refcountSet(2);
        assertThat(r.refcountSubAndTest(3)).isFalse();
        assertThat(r.refcountRead()).isEqualTo(REFCOUNT_SATURATED);
        assertThat(Warn.drain()).singleElement().asString().contains("underflow; use-after-free");
        // Adding past INT_MAX: overflow.
        r.refcountSet(Integer.MAX_VALUE - 1);
        r.refcountAdd(2);
        assertThat(r.refcountRead()).isEqualTo(REFCOUNT_SATURATED);
        assertThat(Warn.drain()).singleElement().asString().contains("saturated; leaking memory");
        r.refcountSet(0);
        r.refcountAdd(2);
        assertThat(r.refcountRead()).isEqualTo(REFCOUNT_SATURATED);
        assertThat(Warn.drain()).singleElement().asString().contains("addition on 0; use-after-free");
    }

    /** refcount_dec_if_one: 1 -> 0 only. */
    @Test
    void decIfOne() {
        Refcount r = new Refcount(2);
        assertThat(r.refcountDecIfOne()).isFalse();
        assertThat(r.refcountRead()).isEqualTo(2);
        r.refcountSet(1);
        assertThat(r.refcountDecIfOne()).isTrue();
        assertThat(r.refcountRead()).isZero();
        assertThat(r.refcountDecIfOne()).isFalse();
        assertThat(r.refcountRead()).isZero();
        r.refcountSet(REFCOUNT_SATURATED);
        assertThat(r.refcountDecIfOne()).isFalse();
        assertThat(r.refcountRead()).isEqualTo(REFCOUNT_SATURATED);
    }

    /**
     * refcount_dec_not_one: decrements unless 1; leaves a saturated count alone; a zero count
     * warns (underflow) but is neither changed nor saturated.
     */
    @Test
    void decNotOne() {
        Refcount r = new Refcount(3);
        assertThat(r.refcountDecNotOne()).isTrue();
        assertThat(r.refcountRead()).isEqualTo(2);
        assertThat(r.refcountDecNotOne()).isTrue();
        assertThat(r.refcountRead()).isEqualTo(1);
        assertThat(r.refcountDecNotOne()).isFalse();
        assertThat(r.refcountRead()).isEqualTo(1);
        r.refcountSet(REFCOUNT_SATURATED);
        assertThat(r.refcountDecNotOne()).isTrue();
        assertThat(r.refcountRead()).isEqualTo(REFCOUNT_SATURATED);
        assertThat(Warn.warnings()).isEmpty();
        r.refcountSet(0);
        assertThat(r.refcountDecNotOne()).isTrue();
        assertThat(r.refcountRead()).isZero();
        assertThat(Warn.drain()).singleElement().asString().contains("refcount_t: underflow; use-after-free.");
    }

    @Test
    void underflowSaturatesAndWarns() {
        Refcount r = new Refcount(0);
        assertThat(r.refcountDecAndTest()).isFalse();
        assertThat(r.refcountRead()).isEqualTo(REFCOUNT_SATURATED);
        assertThat(Warn.drain()).singleElement().asString().contains("underflow; use-after-free");
    }

    @Test
    void incNotZero() {
        Refcount r = new Refcount(0);
        assertThat(r.refcountIncNotZero()).isFalse();
        assertThat(r.refcountRead()).isZero();
        r.refcountSet(3);
        assertThat(r.refcountIncNotZero()).isTrue();
        assertThat(r.refcountRead()).isEqualTo(4);
        r.refcountSet(Integer.MAX_VALUE);
        assertThat(r.refcountIncNotZero()).isTrue();
        assertThat(r.refcountRead()).isEqualTo(REFCOUNT_SATURATED);
        assertThat(Warn.drain()).singleElement().asString().contains("saturated");
    }

    @Test
    void decToZeroLeaksBySaturating() {
        Refcount r = new Refcount(2);
        r.refcountDec();
        assertThat(r.refcountRead()).isEqualTo(1);
        assertThat(Warn.warnings()).isEmpty();
        r.refcountDec();
        assertThat(r.refcountRead()).isEqualTo(REFCOUNT_SATURATED);
        assertThat(Warn.drain()).singleElement().asString().contains("decrement hit 0; leaking memory");
    }

    /** Contended CAS loops must retry with the current value (a stale one livelocks). */
    @Test
    void concurrentGetsAndPutsBalance() throws Exception {
        Refcount r = new Refcount(1);
        int threads = 4, n = 20_000;
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
                for (int i = 0; i < n; i++) {
                    r.refcountInc();
                    assertThat(r.refcountIncNotZero()).isTrue();
                    assertThat(r.refcountDecAndTest()).isFalse();
                    assertThat(r.refcountDecAndTest()).isFalse();
                }
            });
            ts.add(th);
            th.start();
        }
        for (Thread th : ts) {
            th.join();
        }
        assertThat(r.refcountRead()).isEqualTo(1);
        assertThat(r.refcountDecAndTest()).isTrue();
    }

    @Test
    void krefLifecycle() {
        Kref k = new Kref();
        int[] released = {0};
        assertThat(k.krefRead()).isEqualTo(1);
        k.krefGet();
        assertThat(k.krefRead()).isEqualTo(2);
        assertThat(k.krefPut(() -> released[0]++)).isZero();
        assertThat(released[0]).isZero();
        assertThat(k.krefPut(() -> released[0]++)).isEqualTo(1);
        assertThat(released[0]).isEqualTo(1);
        assertThat(k.krefGetUnlessZero()).isFalse();
        assertThat(k.krefRead()).isZero();
        k.krefInit();
        assertThat(k.krefRead()).isEqualTo(1);
        assertThat(k.krefGetUnlessZero()).isTrue();
        assertThat(k.krefRead()).isEqualTo(2);
    }

    @Test
    void krefGetAfterReleaseWarns() {
        Kref k = new Kref();
        k.krefPut(() -> {});
        k.krefGet();
        assertThat(Warn.drain()).singleElement().asString().contains("addition on 0");
        // ... and the object is never released a second time.
        int[] released = {0};
        assertThat(k.krefPut(() -> released[0]++)).isZero();
        assertThat(released[0]).isZero();
        assertThat(Warn.drain()).singleElement().asString().contains("underflow");
    }
}
