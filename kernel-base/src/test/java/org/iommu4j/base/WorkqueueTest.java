package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.iommu4j.base.Workqueue.WorkStruct;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Workqueues on real threads; every wait is on an event, never a sleep. */
@ExtendWith(NoWarnings.class)
class WorkqueueTest {
    private final List<Workqueue> wqs = new ArrayList<>();

    private Workqueue ordered(String name) {
        Workqueue wq = Workqueue.allocOrderedWorkqueue(name, 0);
        wqs.add(wq);
        return wq;
    }

    @AfterEach
    void destroy() {
        for (Workqueue wq : wqs) {
            wq.destroyWorkqueue();
        }
    }

    /** A work item that blocks until released, announcing when it started. */
    private static final class Blocker {
        final CountDownLatch started = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final WorkStruct work = new WorkStruct(() -> {
            started.countDown();
            await(release);
        });
    }

    private static void await(CountDownLatch l) {
        try {
            if (!l.await(30, TimeUnit.SECONDS)) {
                throw new AssertionError("latch timed out");
            }
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void allocRecordsNameAndFlags() {
        Workqueue wq = ordered("iopf");
        assertThat(wq.name()).isEqualTo("iopf");
        assertThat(wq.flags() & Workqueue.__WQ_ORDERED).isNotZero();
        assertThat(wq.flags() & Workqueue.WQ_UNBOUND).isNotZero();
        assertThat(wq.flags() & Workqueue.__WQ_ORDERED_EXPLICIT).isNotZero();
        assertThat(wq.idle()).isTrue();
    }

    /** alloc_workqueue: unbound with max_active 1 still implies __WQ_ORDERED in v5.15; bound does not. */
    @Test
    void unboundWithMaxActiveOneIsOrdered() {
        Workqueue unbound = Workqueue.allocWorkqueue("unbound1", Workqueue.WQ_UNBOUND, 1);
        wqs.add(unbound);
        assertThat(unbound.flags() & Workqueue.__WQ_ORDERED).isNotZero();
        assertThat(unbound.flags() & Workqueue.__WQ_ORDERED_EXPLICIT).isZero();
        Workqueue bound = Workqueue.allocWorkqueue("bound1", 0, 1);
        wqs.add(bound);
        assertThat(bound.flags() & Workqueue.__WQ_ORDERED).isZero();
        Workqueue clamped = Workqueue.allocWorkqueue("clamped", Workqueue.WQ_UNBOUND, -3);
        wqs.add(clamped);
        assertThat(Printk.grep("workqueue: max_active -3 requested for clamped is out of range, clamping between 1 and 512"))
                .hasSize(1);
    }

    @Test
    void queueWorkReturnsFalseWhilePending() throws Exception {
        Workqueue wq = ordered("pending");
        Blocker b = new Blocker();
        AtomicInteger runs = new AtomicInteger();
        WorkStruct w = new WorkStruct(runs::incrementAndGet);
        assertThat(wq.queueWork(b.work)).isTrue();
        b.started.await();
        assertThat(wq.queueWork(w)).isTrue();
        assertThat(w.workPending()).isTrue();
        assertThat(wq.queueWork(w)).isFalse();
        assertThat(wq.queueWork(w)).isFalse();
        assertThat(wq.idle()).isFalse();
        b.release.countDown();
        wq.flushWorkqueue();
        assertThat(runs).hasValue(1);
        assertThat(w.workPending()).isFalse();
        assertThat(wq.idle()).isTrue();
        // Once it ran it can be queued again.
        assertThat(wq.queueWork(w)).isTrue();
        wq.flushWorkqueue();
        assertThat(runs).hasValue(2);
    }

    @Test
    void orderedQueueRunsItemsOneAtATimeInQueueingOrder() {
        Workqueue wq = ordered("order");
        List<Integer> seen = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger concurrent = new AtomicInteger();
        AtomicInteger maxConcurrent = new AtomicInteger();
        for (int i = 0; i < 200; i++) {
            int id = i;
            assertThat(wq.queueWork(new WorkStruct(() -> {
                maxConcurrent.accumulateAndGet(concurrent.incrementAndGet(), Math::max);
                seen.add(id);
                concurrent.decrementAndGet();
            }))).isTrue();
        }
        wq.flushWorkqueue();
        assertThat(seen).hasSize(200).isSorted();
        assertThat(maxConcurrent).hasValue(1);
    }

    @Test
    void unorderedQueueRunsItemsConcurrently() {
        Workqueue wq = Workqueue.allocWorkqueue("par", Workqueue.WQ_UNBOUND, 2);
        wqs.add(wq);
        CyclicBarrier both = new CyclicBarrier(2);
        AtomicInteger passed = new AtomicInteger();
        Runnable meet = () -> {
            try {
                both.await(30, TimeUnit.SECONDS);
                passed.incrementAndGet();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        wq.queueWork(new WorkStruct(meet));
        wq.queueWork(new WorkStruct(meet));
        wq.flushWorkqueue();
        // Both items were inside their function at the same time.
        assertThat(passed).hasValue(2);
    }

    @Test
    void flushWorkWaitsForThatItem() throws Exception {
        Workqueue wq = ordered("flushwork");
        WorkStruct never = new WorkStruct(() -> {});
        assertThat(Workqueue.flushWork(never)).isFalse();
        Blocker b = new Blocker();
        wq.queueWork(b.work);
        b.started.await();
        AtomicReference<Boolean> waited = new AtomicReference<>();
        CountDownLatch flushed = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            waited.set(Workqueue.flushWork(b.work));
            flushed.countDown();
        });
        t.start();
        while (t.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
        }
        assertThat(flushed.getCount()).isEqualTo(1);
        b.release.countDown();
        t.join();
        assertThat(waited.get()).isTrue();
        // Idle now: nothing to wait for.
        assertThat(Workqueue.flushWork(b.work)).isFalse();
    }

    @Test
    void cancelWorkSyncRemovesPendingItem() throws Exception {
        Workqueue wq = ordered("cancel");
        Blocker b = new Blocker();
        AtomicInteger runs = new AtomicInteger();
        WorkStruct w = new WorkStruct(runs::incrementAndGet);
        wq.queueWork(b.work);
        b.started.await();
        wq.queueWork(w);
        assertThat(Workqueue.cancelWorkSync(w)).isTrue();
        assertThat(w.workPending()).isFalse();
        assertThat(Workqueue.cancelWorkSync(w)).isFalse();
        b.release.countDown();
        wq.flushWorkqueue();
        assertThat(runs).hasValue(0);
        assertThat(Workqueue.cancelWorkSync(new WorkStruct(() -> {}))).isFalse();
    }

    @Test
    void cancelWorkSyncWaitsForARunningItem() throws Exception {
        Workqueue wq = ordered("cancelrun");
        Blocker b = new Blocker();
        wq.queueWork(b.work);
        b.started.await();
        AtomicReference<Boolean> result = new AtomicReference<>();
        Thread t = new Thread(() -> result.set(Workqueue.cancelWorkSync(b.work)));
        t.start();
        while (t.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
        }
        assertThat(result.get()).isNull();
        b.release.countDown();
        t.join();
        assertThat(result.get()).isFalse(); // it was running, not pending
        assertThat(wq.idle()).isTrue();
    }

    @Test
    void workMayRequeueItselfWhileRunning() {
        Workqueue wq = ordered("requeue");
        AtomicInteger runs = new AtomicInteger();
        AtomicReference<WorkStruct> self = new AtomicReference<>();
        CountDownLatch three = new CountDownLatch(3);
        self.set(new WorkStruct(() -> {
            three.countDown();
            if (runs.incrementAndGet() < 3) {
                assertThat(wq.queueWork(self.get())).isTrue();
            }
        }));
        wq.queueWork(self.get());
        await(three);
        wq.flushWorkqueue();
        assertThat(runs).hasValue(3);
    }

    @Test
    void destroyDrainsPendingWorkAndRefusesNewWork() {
        Workqueue wq = Workqueue.allocOrderedWorkqueue("destroy", 0);
        AtomicInteger runs = new AtomicInteger();
        for (int i = 0; i < 50; i++) {
            wq.queueWork(new WorkStruct(runs::incrementAndGet));
        }
        wq.destroyWorkqueue();
        assertThat(runs).hasValue(50);
        WorkStruct late = new WorkStruct(runs::incrementAndGet);
        assertThat(wq.queueWork(late)).isFalse();
        assertThat(late.workPending()).isFalse();
        assertThat(Warn.drain()).singleElement().asString().contains("destroyed workqueue destroy");
    }

    /**
     * flush_workqueue waits for the items queued before it, not for a count of completions: a
     * later item finishing first does not end the wait for an earlier one still running.
     */
    @Test
    void flushWorkqueueWaitsForEveryEarlierItemNotForACount() throws Exception {
        Workqueue wq = Workqueue.allocWorkqueue("flushseq", Workqueue.WQ_UNBOUND, 2);
        wqs.add(wq);
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch xStarted = new CountDownLatch(1);
        CountDownLatch xRelease = new CountDownLatch(1);
        wq.queueWork(new WorkStruct(() -> {
            xStarted.countDown();
            await(xRelease);
            events.add("x done");
        }));
        await(xStarted);
        Thread flusher = new Thread(() -> {
            wq.flushWorkqueue();
            events.add("flushed");
        });
        flusher.start();
        while (flusher.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
        }
        // Two later items run and finish on the other worker while x still runs.
        CountDownLatch zStarted = new CountDownLatch(1);
        wq.queueWork(new WorkStruct(() -> events.add("y done")));
        wq.queueWork(new WorkStruct(zStarted::countDown));
        await(zStarted);
        xRelease.countDown();
        flusher.join();
        assertThat(events).containsSubsequence("y done", "x done", "flushed");
    }

    /** An item queued again while it runs is not started by a second worker until the first run returns. */
    @Test
    void aRequeuedItemDoesNotRunConcurrentlyWithItself() throws Exception {
        Workqueue wq = Workqueue.allocWorkqueue("reentrant", Workqueue.WQ_UNBOUND, 2);
        wqs.add(wq);
        AtomicInteger runs = new AtomicInteger();
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        CountDownLatch requeued = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<WorkStruct> self = new AtomicReference<>();
        self.set(new WorkStruct(() -> {
            maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
            if (runs.incrementAndGet() == 1) {
                assertThat(wq.queueWork(self.get())).isTrue();
                requeued.countDown();
                await(release);
            }
            inside.decrementAndGet();
        }));
        wq.queueWork(self.get());
        await(requeued);
        // The other worker is free: it passes over the re-queued item and runs the next one.
        CountDownLatch otherRan = new CountDownLatch(1);
        wq.queueWork(new WorkStruct(otherRan::countDown));
        await(otherRan);
        assertThat(runs).hasValue(1);
        release.countDown();
        wq.flushWorkqueue();
        assertThat(runs).hasValue(2);
        assertThat(maxInside).hasValue(1);
    }

    /** flush_work waits for the instance running when it was called, not for a re-queueing after it. */
    @Test
    void flushWorkDoesNotWaitForALaterRequeue() throws Exception {
        Workqueue wq = ordered("flushonce");
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch firstStarted = new CountDownLatch(1);
        CountDownLatch firstRelease = new CountDownLatch(1);
        CountDownLatch secondRelease = new CountDownLatch(1);
        AtomicReference<WorkStruct> self = new AtomicReference<>();
        self.set(new WorkStruct(() -> {
            if (runs.incrementAndGet() == 1) {
                firstStarted.countDown();
                await(firstRelease);
                assertThat(wq.queueWork(self.get())).isTrue();
            } else {
                await(secondRelease);
            }
        }));
        wq.queueWork(self.get());
        await(firstStarted);
        AtomicReference<Boolean> waited = new AtomicReference<>();
        CountDownLatch flushed = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            waited.set(Workqueue.flushWork(self.get()));
            flushed.countDown();
        });
        t.start();
        while (t.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
        }
        firstRelease.countDown();
        // Returns while the second run (queued after the flush began) is still blocked.
        await(flushed);
        assertThat(waited.get()).isTrue();
        secondRelease.countDown();
        wq.flushWorkqueue();
        assertThat(runs).hasValue(2);
    }

    /** cancel_work_sync holds PENDING while it waits: the running item cannot queue itself again. */
    @Test
    void cancelWorkSyncStopsASelfRequeueingItem() throws Exception {
        Workqueue wq = ordered("cancelself");
        AtomicInteger runs = new AtomicInteger();
        AtomicReference<Boolean> requeue = new AtomicReference<>();
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<WorkStruct> self = new AtomicReference<>();
        self.set(new WorkStruct(() -> {
            runs.incrementAndGet();
            started.countDown();
            await(release);
            requeue.set(wq.queueWork(self.get()));
        }));
        wq.queueWork(self.get());
        await(started);
        AtomicReference<Boolean> result = new AtomicReference<>();
        Thread t = new Thread(() -> result.set(Workqueue.cancelWorkSync(self.get())));
        t.start();
        while (t.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
        }
        release.countDown();
        t.join();
        assertThat(result.get()).isFalse();
        assertThat(requeue.get()).isFalse();
        assertThat(self.get().workPending()).isFalse();
        wq.flushWorkqueue();
        assertThat(runs).hasValue(1);
        assertThat(wq.idle()).isTrue();
    }

    /**
     * destroy_workqueue drains: an item that queues itself again (chained work) keeps running
     * until it stops; another thread's queue_work meanwhile is refused with a warning.
     */
    @Test
    void destroyDrainsChainedWorkAndRefusesOthersWhileDraining() throws Exception {
        Workqueue wq = Workqueue.allocOrderedWorkqueue("drain", 0);
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<WorkStruct> self = new AtomicReference<>();
        self.set(new WorkStruct(() -> {
            if (runs.incrementAndGet() == 1) {
                await(go);
            }
            if (runs.get() < 5) {
                assertThat(wq.queueWork(self.get())).isTrue();
            }
        }));
        wq.queueWork(self.get());
        Thread destroyer = new Thread(wq::destroyWorkqueue);
        destroyer.start();
        while ((wq.flags() & Workqueue.__WQ_DRAINING) == 0) {
            Thread.onSpinWait();
        }
        AtomicInteger otherRuns = new AtomicInteger();
        WorkStruct other = new WorkStruct(otherRuns::incrementAndGet);
        assertThat(wq.queueWork(other)).isTrue();
        assertThat(Warn.drain()).singleElement().asString().contains("queue_work on draining workqueue drain");
        assertThat(other.workPending()).isFalse();
        go.countDown();
        destroyer.join();
        assertThat(runs).hasValue(5);
        assertThat(otherRuns).hasValue(0);
        assertThat(wq.idle()).isTrue();
    }

    @Test
    void aThrowingWorkItemWarnsAndTheWorkerGoesOn() {
        Workqueue wq = ordered("throws");
        AtomicInteger runs = new AtomicInteger();
        wq.queueWork(new WorkStruct(() -> {
            throw new IllegalStateException("boom");
        }));
        wq.queueWork(new WorkStruct(runs::incrementAndGet));
        wq.flushWorkqueue();
        assertThat(runs).hasValue(1);
        assertThat(Warn.drain()).singleElement().asString().contains("threw").contains("boom");
    }

    @Test
    void workersAreNamedLikeKworkers() {
        Workqueue wq = ordered("names");
        AtomicReference<String> name = new AtomicReference<>();
        wq.queueWork(new WorkStruct(() -> name.set(Thread.currentThread().getName())));
        wq.flushWorkqueue();
        assertThat(name.get()).isEqualTo("kworker/names/0");
    }

    /**
     * An item queued on a second queue while it still runs on the first: once that execution
     * returns it runs on the second queue, and flush_work waits for that run.
     */
    @Test
    @Timeout(20)
    void anItemQueuedElsewhereWhileRunningRunsThereAfterwards() {
        Workqueue a = ordered("wq-a");
        Workqueue b = ordered("wq-b");
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<String> runs = Collections.synchronizedList(new ArrayList<>());
        WorkStruct w = new WorkStruct(() -> {
            runs.add(Thread.currentThread().getName());
            started.countDown();
            await(release);
        });
        assertThat(a.queueWork(w)).isTrue();
        await(started);
        assertThat(b.queueWork(w)).isTrue();
        // flush_work now waits for the instance queued on b, which cannot start before the
        // execution on a returns.
        AtomicReference<Boolean> flushed = new AtomicReference<>();
        Thread flusher = new Thread(() -> flushed.set(Workqueue.flushWork(w)));
        flusher.setDaemon(true);
        flusher.start();
        Thread.State st;
        while ((st = flusher.getState()) != Thread.State.WAITING && st != Thread.State.TERMINATED) {
            Thread.onSpinWait();
        }
        assertThat(st).isEqualTo(Thread.State.WAITING);
        release.countDown();
        try {
            flusher.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertThat(flushed.get()).isTrue();
        assertThat(runs).hasSize(2);
        assertThat(runs.get(0)).startsWith("kworker/wq-a/");
        assertThat(runs.get(1)).startsWith("kworker/wq-b/");
    }

    /** cancel_work_sync of an item queued on one queue and running on another waits for the run. */
    @Test
    @Timeout(20)
    void cancelWorkSyncWaitsForARunOnAnotherQueue() throws Exception {
        Workqueue a = ordered("wq-c");
        Workqueue b = ordered("wq-d");
        Blocker blk = new Blocker();
        assertThat(a.queueWork(blk.work)).isTrue();
        await(blk.started);
        assertThat(b.queueWork(blk.work)).isTrue();
        AtomicReference<Boolean> ret = new AtomicReference<>();
        Thread canceller = new Thread(() -> ret.set(Workqueue.cancelWorkSync(blk.work)));
        canceller.setDaemon(true);
        canceller.start();
        Thread.State st;
        while ((st = canceller.getState()) != Thread.State.WAITING && st != Thread.State.TERMINATED) {
            Thread.onSpinWait();
        }
        assertThat(st).isEqualTo(Thread.State.WAITING);
        blk.release.countDown();
        canceller.join();
        assertThat(ret.get()).isTrue();
        assertThat(blk.work.workPending()).isFalse();
        b.flushWorkqueue();
        assertThat(blk.started.getCount()).isZero();
    }
}
