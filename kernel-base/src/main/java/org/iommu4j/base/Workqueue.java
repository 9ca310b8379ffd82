package org.iommu4j.base;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code struct workqueue_struct} (kernel/workqueue.c, v5.15) on real threads. An ordered queue
 * runs one item at a time in queueing order on one worker; an unordered queue has
 * {@code maxActive} workers (4 for 0, where the kernel allows 256).
 *
 * <p>The guarantees ported from the kernel:
 * <ul>
 *   <li>A work item is queued at most once while PENDING ({@link #queueWork} returns false
 *       then). PENDING is cleared when an execution starts, so the item may queue itself again.
 *   <li>Non-reentrancy: an item queued again while it runs is not started by a second worker
 *       before the running execution returns, even on another queue (as the kernel does for
 *       queues sharing a worker pool); it starts there once that execution returns.
 *   <li>{@link #flushWorkqueue} waits for every item queued before it was called (not for
 *       later ones); {@link #flushWork} for the instance queued or running when it was called.
 *   <li>{@link #cancelWorkSync} owns PENDING while it waits, so a running item cannot queue
 *       itself again: on return the item is neither pending nor running.
 *   <li>{@link #destroyWorkqueue} drains: items the queue's own work items queue meanwhile
 *       (chained work) are run too; anyone else's are refused with a warning.
 * </ul>
 *
 * <p>Locking: {@code lock} protects the queue, the workers' state and the queueing state of the
 * items on this queue ({@code queued}, the sequence numbers, {@code running}). PENDING is an
 * atomic bit, set outside the lock as the kernel's test_and_set_bit is.
 */
@Port("kernel/workqueue.c:workqueue_struct")
public final class Workqueue {
    public static final int WQ_UNBOUND = 1 << 1;
    public static final int WQ_FREEZABLE = 1 << 2;
    public static final int WQ_MEM_RECLAIM = 1 << 3;
    public static final int WQ_HIGHPRI = 1 << 4;
    public static final int __WQ_DRAINING = 1 << 16;
    public static final int __WQ_ORDERED = 1 << 17;
    public static final int __WQ_ORDERED_EXPLICIT = 1 << 19;
    /** {@code WQ_MAX_ACTIVE}, the most max_active may be (the unbound limit is at least this). */
    public static final int WQ_MAX_ACTIVE = 512;

    /** {@code struct work_struct}. */
    @Port("include/linux/workqueue.h:work_struct")
    public static class WorkStruct {
        private final Runnable func;
        /** WORK_STRUCT_PENDING. */
        final AtomicBoolean pending = new AtomicBoolean();
        /** On {@link #lastQueue}'s list, waiting for a worker. */
        boolean queued;
        /** Executions in progress: 0 or 1 (non-reentrancy). */
        int running;
        /** Sequence number of the queued instance, of the running one, of the last finished. */
        long queuedSeq;
        long runningSeq;
        long doneSeq;
        volatile Workqueue lastQueue;

        @Port("include/linux/workqueue.h:INIT_WORK")
        public WorkStruct(Runnable func) {
            this.func = func;
        }

        @Port("include/linux/workqueue.h:work_pending")
        public boolean workPending() {
            return pending.get();
        }

        void run() {
            func.run();
        }
    }

    private final String name;
    private volatile int flags;
    private final ArrayDeque<WorkStruct> queue = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Thread[] workers;
    /** Sequence number of each worker's running item, Long.MAX_VALUE when idle. */
    private final long[] workerSeq;
    /**
     * The last sequence number handed to a queued item, shared by all queues so that the numbers
     * of one item stay comparable when it moves from queue to queue.
     */
    private static final AtomicLong nextSeq = new AtomicLong();
    private int busy;
    /** {@code wq->nr_drainers}: __WQ_DRAINING is set while it is non-zero. */
    private int nrDrainers;
    private boolean destroyed;

    private Workqueue(String name, int flags, int maxActive) {
        this.name = name;
        this.flags = flags;
        int n = (flags & __WQ_ORDERED) != 0 ? 1 : Math.max(1, maxActive);
        workers = new Thread[n];
        workerSeq = new long[n];
        for (int i = 0; i < n; i++) {
            int id = i;
            workerSeq[i] = Long.MAX_VALUE;
            Thread t = new Thread(() -> workerLoop(id), "kworker/" + name + "/" + i);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    /**
     * A queue running up to {@code maxActive} items at once (0: the default, 4 here). An unbound
     * queue with {@code maxActive} 1 is ordered ({@code __WQ_ORDERED}), as v5.15 still makes
     * it; a {@code maxActive} out of [1, WQ_MAX_ACTIVE] is clamped with a warning line.
     */
    @Port("kernel/workqueue.c:alloc_workqueue")
    public static Workqueue allocWorkqueue(String name, int flags, int maxActive) {
        if ((flags & WQ_UNBOUND) != 0 && maxActive == 1) {
            flags |= __WQ_ORDERED;
        }
        return new Workqueue(name, flags, maxActive == 0 ? 4 : wqClampMaxActive(maxActive, name));
    }

    @Port("kernel/workqueue.c:wq_clamp_max_active")
    private static int wqClampMaxActive(int maxActive, String name) {
        if (maxActive < 1 || maxActive > WQ_MAX_ACTIVE) {
            Printk.prWarn("workqueue: max_active %d requested for %s is out of range, clamping between %d and %d",
                    maxActive, name, 1, WQ_MAX_ACTIVE);
        }
        return Math.max(1, Math.min(maxActive, WQ_MAX_ACTIVE));
    }

    @Port("include/linux/workqueue.h:alloc_ordered_workqueue")
    public static Workqueue allocOrderedWorkqueue(String name, int flags) {
        return allocWorkqueue(name, flags | WQ_UNBOUND | __WQ_ORDERED | __WQ_ORDERED_EXPLICIT, 1);
    }

    public String name() {
        return name;
    }

    public int flags() {
        return flags;
    }

    /** True when the calling thread is one of this queue's workers (running one of its items). */
    @Port("kernel/workqueue.c:is_chained_work")
    private boolean isChainedWork() {
        Thread self = Thread.currentThread();
        for (Thread t : workers) {
            if (t == self) {
                return true;
            }
        }
        return false;
    }

    /**
     * Queues {@code work}; false if it was already pending. While the queue drains only its own
     * work items may queue on it: anyone else's item is not queued and the call warns (the
     * kernel then still answers true and leaves the item PENDING forever; here PENDING is
     * cleared so the item stays usable). Queueing on a destroyed queue (a use after free in
     * the kernel) warns and answers false.
     */
    @Port("include/linux/workqueue.h:queue_work")
    public boolean queueWork(WorkStruct work) {
        if (!work.pending.compareAndSet(false, true)) {
            return false;
        }
        lock.lock();
        try {
            if (destroyed) {
                work.pending.set(false);
                Warn.WARN(true, "queue_work on destroyed workqueue " + name);
                return false;
            }
            // WARN_ON_ONCE in the kernel; every time here, so each test sees its own.
            if ((flags & __WQ_DRAINING) != 0 && Warn.WARN(!isChainedWork(), "queue_work on draining workqueue " + name)) {
                work.pending.set(false);
                return true;
            }
            work.lastQueue = this;
            work.queuedSeq = nextSeq.incrementAndGet();
            work.queued = true;
            queue.addLast(work);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        return true;
    }

    /** The sequence number of the oldest item queued or running, Long.MAX_VALUE if none. Lock held. */
    private long oldestOutstanding() {
        long oldest = queue.isEmpty() ? Long.MAX_VALUE : queue.peekFirst().queuedSeq;
        for (long s : workerSeq) {
            oldest = Math.min(oldest, s);
        }
        return oldest;
    }

    /** Waits until every item queued before the call has finished; later items are not waited for. */
    @Port("kernel/workqueue.c:flush_workqueue")
    public void flushWorkqueue() {
        lock.lock();
        try {
            long target = nextSeq.get();
            while (oldestOutstanding() <= target) {
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until nothing is queued or running, including the items those items queue on this
     * queue meanwhile; anyone else's queue_work is refused while it drains.
     */
    @Port("kernel/workqueue.c:drain_workqueue")
    public void drainWorkqueue() {
        lock.lock();
        try {
            if (nrDrainers++ == 0) {
                flags |= __WQ_DRAINING;
            }
            while (!queue.isEmpty() || busy != 0) {
                changed.awaitUninterruptibly();
            }
            if (--nrDrainers == 0) {
                flags &= ~__WQ_DRAINING;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits for the instance of {@code work} that is queued (or, if none, running) when called
     * to finish; true if there was one to wait for. A later re-queueing is not waited for.
     */
    @Port("kernel/workqueue.c:flush_work")
    public static boolean flushWork(WorkStruct work) {
        Workqueue wq = work.lastQueue;
        if (wq == null) {
            return false;
        }
        wq.lock.lock();
        try {
            long target;
            if (work.queued) {
                target = work.queuedSeq;
            } else if (work.running > 0) {
                target = work.runningSeq;
            } else {
                return false;
            }
            while (work.doneSeq < target) {
                wq.changed.awaitUninterruptibly();
            }
            return true;
        } finally {
            wq.lock.unlock();
        }
    }

    /**
     * Removes a pending {@code work} and waits for a running one; true if it was pending. It
     * holds PENDING meanwhile, so the item cannot be queued again (by itself or anyone) until
     * it returns: on return the item is idle.
     */
    @Port("kernel/workqueue.c:cancel_work_sync")
    public static boolean cancelWorkSync(WorkStruct work) {
        while (true) {
            // try_to_grab_pending: take PENDING if it is clear...
            if (work.pending.compareAndSet(false, true)) {
                Workqueue wq = work.lastQueue;
                if (wq != null) {
                    wq.waitNotRunning(work);
                }
                work.pending.set(false);
                return false;
            }
            // ...or steal the queued instance, keeping PENDING.
            Workqueue wq = work.lastQueue;
            if (wq != null) {
                wq.lock.lock();
                try {
                    if (work.queued && wq.queue.remove(work)) {
                        work.queued = false;
                        work.doneSeq = work.queuedSeq;
                        wq.changed.signalAll();
                        while (work.running > 0) {
                            wq.changed.awaitUninterruptibly();
                        }
                        work.pending.set(false);
                        return true;
                    }
                } finally {
                    wq.lock.unlock();
                }
            }
            // PENDING is set but the item is not on a list yet: it is being queued right now
            // (the kernel's -EAGAIN). Try again.
            Thread.onSpinWait();
        }
    }

    private void waitNotRunning(WorkStruct work) {
        lock.lock();
        try {
            while (work.running > 0) {
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Drains the queue ({@link #drainWorkqueue}) and stops the workers. */
    @Port("kernel/workqueue.c:destroy_workqueue")
    public void destroyWorkqueue() {
        drainWorkqueue();
        lock.lock();
        try {
            destroyed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        for (Thread t : workers) {
            if (t != Thread.currentThread()) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** True when nothing is queued or running. */
    public boolean idle() {
        lock.lock();
        try {
            return queue.isEmpty() && busy == 0;
        } finally {
            lock.unlock();
        }
    }

    /** The first queued item that is not running elsewhere (non-reentrancy), taken off the list. Lock held. */
    private WorkStruct nextRunnable() {
        for (Iterator<WorkStruct> it = queue.iterator(); it.hasNext(); ) {
            WorkStruct w = it.next();
            if (w.running == 0) {
                it.remove();
                return w;
            }
        }
        return null;
    }

    private void workerLoop(int id) {
        while (true) {
            WorkStruct w;
            lock.lock();
            try {
                while ((w = nextRunnable()) == null) {
                    if (destroyed && queue.isEmpty()) {
                        return;
                    }
                    changed.awaitUninterruptibly();
                }
                busy++;
                w.queued = false;
                w.running++;
                w.runningSeq = w.queuedSeq;
                workerSeq[id] = w.runningSeq;
                // Cleared before running, so the function may queue itself again.
                w.pending.set(false);
            } finally {
                lock.unlock();
            }
            try {
                w.run();
            } catch (RuntimeException | AssertionError e) {
                Warn.WARN(true, "work item on " + name + " threw " + e);
            } finally {
                Workqueue next;
                lock.lock();
                try {
                    busy--;
                    w.running--;
                    w.doneSeq = w.runningSeq;
                    workerSeq[id] = Long.MAX_VALUE;
                    changed.signalAll();
                    next = w.lastQueue;
                } finally {
                    lock.unlock();
                }
                if (next != this) {
                    // Queued on another queue while it ran here: that queue's worker (holding it
                    // back for non-reentrancy) and any flush or cancel waiting there wait on that
                    // queue's condition, not this one's.
                    next.lock.lock();
                    try {
                        next.changed.signalAll();
                    } finally {
                        next.lock.unlock();
                    }
                }
            }
        }
    }
}
