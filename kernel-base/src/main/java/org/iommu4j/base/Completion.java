package org.iommu4j.base;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/** {@code struct completion} (kernel/sched/completion.c): a counted one-shot event. */
@Port("include/linux/completion.h:completion")
public final class Completion {
    /** complete_all sets done to this, like the kernel's UINT_MAX. */
    private static final int ALL = Integer.MAX_VALUE;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition cond = lock.newCondition();
    private int done;

    @Port("include/linux/completion.h:init_completion")
    public Completion() {}

    @Port("include/linux/completion.h:reinit_completion")
    public void reinitCompletion() {
        lock.lock();
        try {
            done = 0;
        } finally {
            lock.unlock();
        }
    }

    @Port("kernel/sched/completion.c:complete")
    public void complete() {
        lock.lock();
        try {
            if (done != ALL) {
                done++;
            }
            cond.signal();
        } finally {
            lock.unlock();
        }
    }

    @Port("kernel/sched/completion.c:complete_all")
    public void completeAll() {
        lock.lock();
        try {
            done = ALL;
            cond.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Port("kernel/sched/completion.c:wait_for_completion")
    public void waitForCompletion() {
        lock.lock();
        try {
            while (done == 0) {
                cond.awaitUninterruptibly();
            }
            if (done != ALL) {
                done--;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits up to {@code timeoutNanos}; returns the time left (at least 1) if completed, 0 on
     * timeout. Uninterruptible like the kernel's (TASK_UNINTERRUPTIBLE): a Java interrupt does
     * not end the wait; the thread's interrupt status is kept for the caller.
     */
    @Port("kernel/sched/completion.c:wait_for_completion_timeout")
    public long waitForCompletionTimeout(long timeoutNanos) {
        boolean interrupted = false;
        lock.lock();
        try {
            long deadline = System.nanoTime() + timeoutNanos;
            long left = timeoutNanos;
            while (done == 0) {
                if (left <= 0) {
                    return 0;
                }
                try {
                    left = cond.awaitNanos(left);
                } catch (InterruptedException e) {
                    interrupted = true;
                    left = deadline - System.nanoTime();
                }
            }
            if (done != ALL) {
                done--;
            }
            return Math.max(1, left);
        } finally {
            lock.unlock();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    public boolean waitForCompletionTimeout(long timeout, TimeUnit unit) {
        return waitForCompletionTimeout(unit.toNanos(timeout)) != 0;
    }

    @Port("kernel/sched/completion.c:try_wait_for_completion")
    public boolean tryWaitForCompletion() {
        lock.lock();
        try {
            if (done == 0) {
                return false;
            }
            if (done != ALL) {
                done--;
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    @Port("kernel/sched/completion.c:completion_done")
    public boolean completionDone() {
        lock.lock();
        try {
            return done != 0;
        } finally {
            lock.unlock();
        }
    }
}
