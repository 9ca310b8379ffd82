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
        assertThat(c.completionDone()).isFalse();
        assertThat(c.tryWaitForCompletion()).isFalse();
        c.complete();
        c.complete();
        assertThat(c.completionDone()).isTrue();
        c.waitForCompletion();
        assertThat(c.tryWaitForCompletion()).isTrue();
        assertThat(c.tryWaitForCompletion()).isFalse();
        assertThat(c.completionDone()).isFalse();
    }

    @Test
    void completeAllReleasesEveryWaitUntilReinit() {
        Completion c = new Completion();
        c.completeAll();
        for (int i = 0; i < 10; i++) {
            c.waitForCompletion();
            assertThat(c.tryWaitForCompletion()).isTrue();
        }
        assertThat(c.completionDone()).isTrue();
        c.complete(); // does not undo complete_all
        assertThat(c.tryWaitForCompletion()).isTrue();
        c.reinitCompletion();
        assertThat(c.completionDone()).isFalse();
        assertThat(c.tryWaitForCompletion()).isFalse();
    }

    @Test
    void timeoutReturnsZeroWhenNotCompleted() {
        Completion c = new Completion();
        assertThat(c.waitForCompletionTimeout(0)).isZero();
        assertThat(c.waitForCompletionTimeout(TimeUnit.MILLISECONDS.toNanos(1))).isZero();
        assertThat(c.waitForCompletionTimeout(1, TimeUnit.MILLISECONDS)).isFalse();
    }

    @Test
    void timeoutReturnsRemainingTimeWhenCompleted() {
        Completion c = new Completion();
        c.complete();
        long left = c.waitForCompletionTimeout(TimeUnit.SECONDS.toNanos(5));
        assertThat(left).isPositive().isLessThanOrEqualTo(TimeUnit.SECONDS.toNanos(5));
        c.complete();
        // Even a zero timeout succeeds when the completion is already done (returns at least 1).
        assertThat(c.waitForCompletionTimeout(0)).isEqualTo(1);
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
                c.waitForCompletion();
                woke.incrementAndGet();
            });
            ts[i].start();
        }
        started.await();
        c.completeAll();
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
            c.waitForCompletion();
            woke.incrementAndGet();
            done.complete();
        };
        Thread a = new Thread(waiter), b = new Thread(waiter);
        a.start();
        b.start();
        c.complete();
        done.waitForCompletion();
        assertThat(done.waitForCompletionTimeout(20, TimeUnit.MILLISECONDS)).isFalse();
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
            left.set(c.waitForCompletionTimeout(TimeUnit.SECONDS.toNanos(30)));
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
        assertThat(c.completionDone()).isFalse();
    }
}
