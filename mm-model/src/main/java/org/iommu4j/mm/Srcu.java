package org.iommu4j.mm;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.Port;

/**
 * Sleepable RCU (kernel/rcu/srcutree.c), reduced to what mm/mmu_notifier.c needs: readers mark
 * a section with {@link #srcuReadLock}/{@link #srcuReadUnlock} and may block inside it;
 * {@link #synchronizeSrcu} returns once every section that had started before it has ended;
 * {@link #callSrcu} runs a callback after such a grace period on a helper thread;
 * {@link #srcuBarrier} waits for every queued callback.
 *
 * <p>Algorithm: two reader counters and a current index. A reader increments the counter of the
 * index it read, then re-reads the index and retries on the other counter if a grace period
 * flipped it meanwhile, so a section is either counted on the counter the waiter drains or
 * started after the flip. A grace period (serialised) flips the index and waits for the old
 * counter to drain; the last reader out wakes the waiter.
 */
@Port("include/linux/srcutree.h:srcu_struct")
public final class Srcu {
    private final AtomicInteger[] ctr = {new AtomicInteger(), new AtomicInteger()};
    private volatile int idx;
    private volatile boolean waiting;
    private final Object drained = new Object();
    private final ReentrantLock gpLock = new ReentrantLock();
    private final String name;
    private volatile ExecutorService cbThread;

    public Srcu(String name) {
        this.name = name;
    }

    @Port("include/linux/srcu.h:srcu_read_lock")
    public int srcuReadLock() {
        for (;;) {
            int i = idx;
            ctr[i].incrementAndGet();
            if (idx == i) {
                return i;
            }
            srcuReadUnlock(i);
        }
    }

    @Port("include/linux/srcu.h:srcu_read_unlock")
    public void srcuReadUnlock(int i) {
        if (ctr[i].decrementAndGet() == 0 && waiting) {
            synchronized (drained) {
                drained.notifyAll();
            }
        }
    }

    /** Waits for all pre-existing readers. Must not be called inside a read-side section. */
    @Port("kernel/rcu/srcutree.c:synchronize_srcu")
    public void synchronizeSrcu() {
        gpLock.lock();
        try {
            int old = idx;
            idx = old ^ 1;
            synchronized (drained) {
                waiting = true;
                boolean interrupted = false;
                while (ctr[old].get() != 0) {
                    try {
                        drained.wait();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                waiting = false;
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        } finally {
            gpLock.unlock();
        }
    }

    /** Runs {@code cb} after a grace period, on the SRCU callback thread. */
    @Port("kernel/rcu/srcutree.c:call_srcu")
    public void callSrcu(Runnable cb) {
        executor().execute(() -> {
            synchronizeSrcu();
            cb.run();
        });
    }

    /** Waits until every callback queued by {@link #callSrcu} so far has run. */
    @Port("kernel/rcu/srcutree.c:srcu_barrier")
    public void srcuBarrier() {
        ExecutorService ex = cbThread;
        if (ex == null) {
            return;
        }
        Future<?> f = ex.submit(() -> { });
        boolean interrupted = false;
        for (;;) {
            try {
                f.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (java.util.concurrent.ExecutionException e) {
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private ExecutorService executor() {
        ExecutorService ex = cbThread;
        if (ex == null) {
            synchronized (this) {
                ex = cbThread;
                if (ex == null) {
                    ex = Executors.newSingleThreadExecutor(r -> {
                        Thread t = new Thread(r, "srcu-" + name);
                        t.setDaemon(true);
                        return t;
                    });
                    cbThread = ex;
                }
            }
        }
        return ex;
    }
}
