package org.iommu4j.base;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code struct workqueue_struct} (kernel/workqueue.c) on real threads. An ordered queue runs one
 * item at a time in queueing order on one worker; an unordered queue has {@code maxActive}
 * workers. A work item is queued at most once while pending ({@link #queue_work} returns false
 * then); it may be re-queued while it runs.
 */
@Port("kernel/workqueue.c:workqueue_struct")
public final class Workqueue {
    public static final int WQ_UNBOUND = 1 << 1;
    public static final int WQ_FREEZABLE = 1 << 2;
    public static final int WQ_MEM_RECLAIM = 1 << 3;
    public static final int WQ_HIGHPRI = 1 << 4;
    public static final int __WQ_ORDERED = 1 << 17;

    /** {@code struct work_struct}. */
    @Port("include/linux/workqueue.h:work_struct")
    public static class WorkStruct {
        private final Runnable func;
        final AtomicBoolean pending = new AtomicBoolean();
        /** Number of currently running executions (0 or 1 per queue). */
        final AtomicInteger running = new AtomicInteger();
        volatile Workqueue lastQueue;

        @Port("include/linux/workqueue.h:INIT_WORK")
        public WorkStruct(Runnable func) {
            this.func = func;
        }

        @Port("include/linux/workqueue.h:work_pending")
        public boolean work_pending() {
            return pending.get();
        }

        void run() {
            func.run();
        }
    }

    private final String name;
    private final int flags;
    private final java.util.ArrayDeque<WorkStruct> queue = new java.util.ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Thread[] workers;
    /** Items queued or running; flush waits for this to drop to what it was told to wait for. */
    private long queuedSeq;
    private long doneSeq;
    private int busy;
    private boolean destroyed;

    private Workqueue(String name, int flags, int maxActive) {
        this.name = name;
        this.flags = flags;
        int n = (flags & __WQ_ORDERED) != 0 ? 1 : Math.max(1, maxActive);
        workers = new Thread[n];
        for (int i = 0; i < n; i++) {
            Thread t = new Thread(this::workerLoop, "kworker/" + name + "/" + i);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    @Port("kernel/workqueue.c:alloc_workqueue")
    public static Workqueue alloc_workqueue(String name, int flags, int maxActive) {
        return new Workqueue(name, flags, maxActive == 0 ? 4 : maxActive);
    }

    @Port("include/linux/workqueue.h:alloc_ordered_workqueue")
    public static Workqueue alloc_ordered_workqueue(String name, int flags) {
        return new Workqueue(name, flags | __WQ_ORDERED | WQ_UNBOUND, 1);
    }

    public String name() {
        return name;
    }

    public int flags() {
        return flags;
    }

    /** Queues {@code work}; false if it was already pending. */
    @Port("include/linux/workqueue.h:queue_work")
    public boolean queue_work(WorkStruct work) {
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
            work.lastQueue = this;
            queue.addLast(work);
            queuedSeq++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        return true;
    }

    /** Waits until every item queued before the call has finished. */
    @Port("kernel/workqueue.c:flush_workqueue")
    public void flush_workqueue() {
        lock.lock();
        try {
            long target = queuedSeq;
            while (doneSeq < target) {
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Waits for {@code work}'s last queueing to finish; true if it had to wait. */
    @Port("kernel/workqueue.c:flush_work")
    public static boolean flush_work(WorkStruct work) {
        Workqueue wq = work.lastQueue;
        if (wq == null) {
            return false;
        }
        boolean waited = false;
        wq.lock.lock();
        try {
            while (work.pending.get() || work.running.get() > 0) {
                waited = true;
                wq.changed.awaitUninterruptibly();
            }
        } finally {
            wq.lock.unlock();
        }
        return waited;
    }

    /** Removes a pending {@code work} and waits for a running one; true if it was pending. */
    @Port("kernel/workqueue.c:cancel_work_sync")
    public static boolean cancel_work_sync(WorkStruct work) {
        Workqueue wq = work.lastQueue;
        if (wq == null) {
            return false;
        }
        boolean wasPending;
        wq.lock.lock();
        try {
            wasPending = wq.queue.remove(work);
            if (wasPending) {
                work.pending.set(false);
                wq.doneSeq++;
                wq.changed.signalAll();
            }
            while (work.running.get() > 0) {
                wq.changed.awaitUninterruptibly();
            }
        } finally {
            wq.lock.unlock();
        }
        return wasPending;
    }

    /** Drains the queue and stops the workers. */
    @Port("kernel/workqueue.c:destroy_workqueue")
    public void destroy_workqueue() {
        flush_workqueue();
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

    private void workerLoop() {
        while (true) {
            WorkStruct w;
            lock.lock();
            try {
                while (queue.isEmpty() && !destroyed) {
                    changed.awaitUninterruptibly();
                }
                if (queue.isEmpty()) {
                    return;
                }
                w = queue.pollFirst();
                busy++;
                w.running.incrementAndGet();
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
                lock.lock();
                try {
                    busy--;
                    w.running.decrementAndGet();
                    doneSeq++;
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
    }
}
