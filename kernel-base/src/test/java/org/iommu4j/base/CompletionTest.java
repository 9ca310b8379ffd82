package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class CompletionTest {

    @Test
    void completeReleasesOneWaitEach() {
        Completion c = new Completion();
        assertThat(c.completion_done()).isFalse();
        assertThat(c.try_wait_for_completion()).isFalse();
        c.complete();
        c.complete();
        assertThat(c.completion_done()).isTrue();
        c.wait_for_completion();
        assertThat(c.try_wait_for_completion()).isTrue();
        assertThat(c.try_wait_for_completion()).isFalse();
        assertThat(c.completion_done()).isFalse();
    }

    @Test
    void completeAllReleasesEveryWaitUntilReinit() {
        Completion c = new Completion();
        c.complete_all();
        for (int i = 0; i < 10; i++) {
            c.wait_for_completion();
            assertThat(c.try_wait_for_completion()).isTrue();
        }
        assertThat(c.completion_done()).isTrue();
        c.complete(); // does not undo complete_all
        assertThat(c.try_wait_for_completion()).isTrue();
        c.reinit_completion();
        assertThat(c.completion_done()).isFalse();
        assertThat(c.try_wait_for_completion()).isFalse();
    }

    @Test
    void timeoutReturnsZeroWhenNotCompleted() {
        Completion c = new Completion();
        assertThat(c.wait_for_completion_timeout(0)).isZero();
        assertThat(c.wait_for_completion_timeout(TimeUnit.MILLISECONDS.toNanos(1))).isZero();
        assertThat(c.wait_for_completion_timeout(1, TimeUnit.MILLISECONDS)).isFalse();
    }

    @Test
    void timeoutReturnsRemainingTimeWhenCompleted() {
        Completion c = new Completion();
        c.complete();
        long left = c.wait_for_completion_timeout(TimeUnit.SECONDS.toNanos(5));
        assertThat(left).isPositive().isLessThanOrEqualTo(TimeUnit.SECONDS.toNanos(5));
        c.complete();
        // Even a zero timeout succeeds when the completion is already done (returns at least 1).
        assertThat(c.wait_for_completion_timeout(0)).isEqualTo(1);
    }

    @Test
    void waitersOnOtherThreadsAreWoken() throws Exception {
        Completion c = new Completion();
        int n = 4;
        AtomicInteger woke = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(n);
        Thread[] ts = new Thread[n];
        for (int i = 0; i < n; i++) {
            ts[i] = new Thread(() -> {
                started.countDown();
                c.wait_for_completion();
                woke.incrementAndGet();
            });
            ts[i].start();
        }
        started.await();
        c.complete_all();
        for (Thread t : ts) {
            t.join();
        }
        assertThat(woke).hasValue(n);
    }

    @Test
    void oneCompleteWakesExactlyOneOfTwoWaiters() throws Exception {
        Completion c = new Completion();
        Completion done = new Completion();
        AtomicInteger woke = new AtomicInteger();
        Runnable waiter = () -> {
            c.wait_for_completion();
            woke.incrementAndGet();
            done.complete();
        };
        Thread a = new Thread(waiter), b = new Thread(waiter);
        a.start();
        b.start();
        c.complete();
        done.wait_for_completion();
        assertThat(done.wait_for_completion_timeout(20, TimeUnit.MILLISECONDS)).isFalse();
        assertThat(woke).hasValue(1);
        c.complete();
        a.join();
        b.join();
        assertThat(woke).hasValue(2);
    }

    /** wait_for_completion_timeout is uninterruptible: an interrupt neither ends it nor is lost. */
    @Test
    void timeoutWaitIsNotEndedByAnInterrupt() throws Exception {
        Completion c = new Completion();
        AtomicLong left = new AtomicLong(-1);
        AtomicBoolean stillInterrupted = new AtomicBoolean();
        Thread t = new Thread(() -> {
            left.set(c.wait_for_completion_timeout(TimeUnit.SECONDS.toNanos(30)));
            stillInterrupted.set(Thread.currentThread().isInterrupted());
        });
        t.start();
        while (t.getState() != Thread.State.TIMED_WAITING) {
            Thread.onSpinWait();
        }
        t.interrupt();
        c.complete();
        t.join();
        assertThat(left.get()).isPositive();
        assertThat(stillInterrupted).isTrue();
        assertThat(c.completion_done()).isFalse();
    }
}
