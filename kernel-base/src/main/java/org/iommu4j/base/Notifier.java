package org.iommu4j.base;

import static org.iommu4j.base.Errno.ENOENT;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Notifier chains (kernel/notifier.c). {@link Atomic} callbacks run under no sleeping lock and
 * may be called from any context; registration uses a spinlock and the walk is lock-free over an
 * immutable snapshot (the RCU read side), which unregistration waits out (synchronize_rcu). {@link Blocking} chains take a rwsem for reading around
 * the walk, so unregistration waits for running callbacks.
 */
public final class Notifier {
    private Notifier() {}

    public static final int NOTIFY_DONE = 0x0000;
    public static final int NOTIFY_OK = 0x0001;
    public static final int NOTIFY_STOP_MASK = 0x8000;
    public static final int NOTIFY_BAD = NOTIFY_STOP_MASK | 0x0002;
    public static final int NOTIFY_STOP = NOTIFY_OK | NOTIFY_STOP_MASK;

    @Port("include/linux/notifier.h:notifier_from_errno")
    public static int notifierFromErrno(int err) {
        return err != 0 ? NOTIFY_STOP_MASK | (NOTIFY_OK - err) : NOTIFY_OK;
    }

    @Port("include/linux/notifier.h:notifier_to_errno")
    public static int notifierToErrno(int ret) {
        ret &= ~NOTIFY_STOP_MASK;
        return ret > NOTIFY_OK ? NOTIFY_OK - ret : 0;
    }

    /** Shared chain storage: an immutable, priority-ordered snapshot replaced on update. */
    abstract static class Head {
        protected volatile NotifierBlock[] chain = new NotifierBlock[0];

        /**
         * Inserts {@code nb} after all entries of higher or equal priority; returns 0. Finding
         * {@code nb} already on the chain on the way there WARNs ("double register detected")
         * and leaves the chain as it is, still returning 0: v5.15 has no -EEXIST here (v5.17
         * added it).
         */
        @Port("kernel/notifier.c:notifier_chain_register")
        protected synchronized int register(NotifierBlock nb) {
            NotifierBlock[] old = chain;
            int i = 0;
            while (i < old.length) {
                if (old[i] == nb) {
                    Warn.WARN(true, "double register detected");
                    return 0;
                }
                if (nb.priority() > old[i].priority()) {
                    break;
                }
                i++;
            }
            NotifierBlock[] n = new NotifierBlock[old.length + 1];
            System.arraycopy(old, 0, n, 0, i);
            n[i] = nb;
            System.arraycopy(old, i, n, i + 1, old.length - i);
            chain = n;
            return 0;
        }

        @Port("kernel/notifier.c:notifier_chain_unregister")
        protected synchronized int unregister(NotifierBlock nb) {
            NotifierBlock[] old = chain;
            for (int i = 0; i < old.length; i++) {
                if (old[i] == nb) {
                    NotifierBlock[] n = new NotifierBlock[old.length - 1];
                    System.arraycopy(old, 0, n, 0, i);
                    System.arraycopy(old, i + 1, n, i, old.length - i - 1);
                    chain = n;
                    return 0;
                }
            }
            return -ENOENT;
        }

        /** Calls each block in order until one returns a value with NOTIFY_STOP_MASK. */
        protected static int callChain(NotifierBlock[] snapshot, long val, Object v) {
            return notifierCallChain(snapshot, val, v, -1, null);
        }

        /**
         * Calls the blocks in order, at most {@code nrToCall} of them (-1: no limit), stopping
         * after one whose answer has NOTIFY_STOP_MASK; returns the last answer (NOTIFY_DONE if
         * none was called). Each call, the stopping one included, is counted in
         * {@code nrCalls[0]} when {@code nrCalls} is not null.
         */
        @Port("kernel/notifier.c:notifier_call_chain")
        protected static int notifierCallChain(NotifierBlock[] snapshot, long val, Object v, int nrToCall,
                                               int[] nrCalls) {
            int ret = NOTIFY_DONE;
            for (int i = 0; i < snapshot.length && nrToCall != 0; i++, nrToCall--) {
                ret = snapshot[i].notifierCall(val, v);
                if (nrCalls != null) {
                    nrCalls[0]++;
                }
                if ((ret & NOTIFY_STOP_MASK) != 0) {
                    break;
                }
            }
            return ret;
        }

        /**
         * Sends {@code valUp} along the chain; if a block stops it, sends {@code valDown} to the
         * blocks that had taken {@code valUp} before it (not to the one that stopped), in the same
         * order. Returns the answer to {@code valUp}.
         */
        @Port("kernel/notifier.c:notifier_call_chain_robust")
        protected static int notifierCallChainRobust(NotifierBlock[] snapshot, long valUp, long valDown, Object v) {
            int[] nr = {0};
            int ret = notifierCallChain(snapshot, valUp, v, -1, nr);
            if ((ret & NOTIFY_STOP_MASK) != 0) {
                notifierCallChain(snapshot, valDown, v, nr[0] - 1, null);
            }
            return ret;
        }

        public boolean isEmpty() {
            return chain.length == 0;
        }

        public int size() {
            return chain.length;
        }
    }

    /**
     * {@code struct atomic_notifier_head}. A walk reads the chain once (rcu_dereference) and goes
     * on with that snapshot; unregistration waits for the walks already in progress that may
     * still call the block (synchronize_rcu), so once it returns the block is not running and
     * will not be called.
     */
    @Port("include/linux/notifier.h:atomic_notifier_head")
    public static final class Atomic extends Head {
        /** A walk in progress (an RCU reader): its thread and the snapshot it walks. */
        private record Walk(Thread thread, NotifierBlock[] snapshot) {}

        /** The walks in progress; guarded by its own monitor, which grace periods wait on. */
        private final List<Walk> walks = new ArrayList<>();

        @Port("kernel/notifier.c:atomic_notifier_chain_register")
        public int atomicNotifierChainRegister(NotifierBlock nb) {
            return register(nb);
        }

        /**
         * Removes {@code nb} (-ENOENT if it is not on the chain), then waits until no walk started
         * before the removal can still call it. A callback unregistering on its own walk's thread
         * is not waited for (in the kernel that is a synchronize_rcu inside an RCU read-side
         * critical section, a deadlock).
         */
        @Port("kernel/notifier.c:atomic_notifier_chain_unregister")
        public int atomicNotifierChainUnregister(NotifierBlock nb) {
            int ret = unregister(nb);
            synchronizeRcu(nb);
            return ret;
        }

        @Port("kernel/notifier.c:atomic_notifier_call_chain")
        public int atomicNotifierCallChain(long val, Object v) {
            NotifierBlock[] snapshot = chain;
            if (snapshot.length == 0) {
                return NOTIFY_DONE;
            }
            Walk walk = new Walk(Thread.currentThread(), snapshot);
            synchronized (walks) {
                walks.add(walk);
            }
            try {
                return callChain(snapshot, val, v);
            } finally {
                synchronized (walks) {
                    walks.remove(walk);
                    walks.notifyAll();
                }
            }
        }

        /**
         * {@link #notifierCallChainRobust} under the registration lock, so the chain cannot
         * change between the up and the down walk.
         */
        @Port("kernel/notifier.c:atomic_notifier_call_chain_robust")
        public int atomicNotifierCallChainRobust(long valUp, long valDown, Object v) {
            synchronized (this) {
                return notifierCallChainRobust(chain, valUp, valDown, v);
            }
        }

        /** The grace period: waits while another thread walks a snapshot holding {@code nb}. */
        @Port("kernel/rcu/tree.c:synchronize_rcu")
        private void synchronizeRcu(NotifierBlock nb) {
            Thread self = Thread.currentThread();
            boolean interrupted = false;
            synchronized (walks) {
                while (walkedElsewhere(nb, self)) {
                    try {
                        walks.wait();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            if (interrupted) {
                self.interrupt();
            }
        }

        /** Whether a walk on a thread other than {@code self} may still call {@code nb}. Monitor held. */
        private boolean walkedElsewhere(NotifierBlock nb, Thread self) {
            for (Walk w : walks) {
                if (w.thread() != self) {
                    for (NotifierBlock b : w.snapshot()) {
                        if (b == nb) {
                            return true;
                        }
                    }
                }
            }
            return false;
        }
    }

    /** {@code struct blocking_notifier_head}. */
    @Port("include/linux/notifier.h:blocking_notifier_head")
    public static final class Blocking extends Head {
        private final ReentrantReadWriteLock rwsem = new ReentrantReadWriteLock();

        @Port("kernel/notifier.c:blocking_notifier_chain_register")
        public int blockingNotifierChainRegister(NotifierBlock nb) {
            rwsem.writeLock().lock();
            try {
                return register(nb);
            } finally {
                rwsem.writeLock().unlock();
            }
        }

        @Port("kernel/notifier.c:blocking_notifier_chain_unregister")
        public int blockingNotifierChainUnregister(NotifierBlock nb) {
            rwsem.writeLock().lock();
            try {
                return unregister(nb);
            } finally {
                rwsem.writeLock().unlock();
            }
        }

        /** {@link #notifierCallChainRobust} under the rwsem taken for reading. */
        @Port("kernel/notifier.c:blocking_notifier_call_chain_robust")
        public int blockingNotifierCallChainRobust(long valUp, long valDown, Object v) {
            if (chain.length == 0) {
                return NOTIFY_DONE;
            }
            rwsem.readLock().lock();
            try {
                return notifierCallChainRobust(chain, valUp, valDown, v);
            } finally {
                rwsem.readLock().unlock();
            }
        }

        @Port("kernel/notifier.c:blocking_notifier_call_chain")
        public int blockingNotifierCallChain(long val, Object v) {
            if (chain.length == 0) {
                return NOTIFY_DONE;
            }
            rwsem.readLock().lock();
            try {
                return callChain(chain, val, v);
            } finally {
                rwsem.readLock().unlock();
            }
        }
    }
}
