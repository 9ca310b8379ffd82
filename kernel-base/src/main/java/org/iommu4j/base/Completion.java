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
    public void reinit_completion() {
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
    public void complete_all() {
        lock.lock();
        try {
            done = ALL;
            cond.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Port("kernel/sched/completion.c:wait_for_completion")
    public void wait_for_completion() {
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

    /** Waits up to {@code timeoutNanos}; returns remaining time (at least 1) or 0 on timeout. */
    @Port("kernel/sched/completion.c:wait_for_completion_timeout")
    public long wait_for_completion_timeout(long timeoutNanos) {
        lock.lock();
        try {
            long left = timeoutNanos;
            while (done == 0) {
                if (left <= 0) {
                    return 0;
                }
                try {
                    left = cond.awaitNanos(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return 0;
                }
            }
            if (done != ALL) {
                done--;
            }
            return Math.max(1, left);
        } finally {
            lock.unlock();
        }
    }

    public boolean wait_for_completion_timeout(long timeout, TimeUnit unit) {
        return wait_for_completion_timeout(unit.toNanos(timeout)) != 0;
    }

    @Port("kernel/sched/completion.c:try_wait_for_completion")
    public boolean try_wait_for_completion() {
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
    public boolean completion_done() {
        lock.lock();
        try {
            return done != 0;
        } finally {
            lock.unlock();
        }
    }
}
