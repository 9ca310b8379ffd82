package org.iommu4j.mm;

import static org.iommu4j.base.Errno.EAGAIN;
import static org.iommu4j.base.Errno.EINTR;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.EOVERFLOW;

import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Slab;
import org.iommu4j.base.Warn;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceEvent;

/**
 * {@code struct mmu_notifier} and mm/mmu_notifier.c (v5.15, without interval notifiers).
 *
 * <p>A secondary MMU (an SMMU sharing the process page tables) subscribes to an mm and is told
 * before/after PTEs change ({@code invalidate_range_start/end}), when they were cleared
 * ({@code invalidate_range}: flush the secondary TLB) and when the mm goes away
 * ({@code release}). Subscribers embed this struct: subclass it ({@code container_of}).
 *
 * <p>Callbacks run inside an SRCU read-side section of the world's {@link Srcu}; the list of
 * subscriptions is an immutable array snapshot replaced under {@code subscriptions.lock}
 * (the kernel's RCU hlist), so readers never lock. Guarantee: when
 * {@link #mmuNotifierUnregister} returns, no callback of that subscription is running or will
 * run; after {@link #mmuNotifierPut} returns no new callback starts, and
 * {@code free_notifier} runs once the callbacks already running have finished.
 */
@Port("include/linux/mmu_notifier.h:mmu_notifier")
public class MmuNotifier {
    public static final TraceEvent INVALIDATE_RANGE = Trace.event("mm", "mmu_notifier_invalidate_range",
            "start=%#x end=%#x", "start", "end");

    /** {@code struct mmu_notifier_subscriptions}. */
    @Port("mm/mmu_notifier.c:mmu_notifier_subscriptions")
    static final class Subscriptions {
        /** Protects list replacement. */
        final ReentrantLock lock = new ReentrantLock();
        /** RCU-style snapshot; head first (hlist_add_head). */
        volatile MmuNotifier[] list = new MmuNotifier[0];

        void addHead(MmuNotifier sub) {
            MmuNotifier[] old = list;
            MmuNotifier[] n = new MmuNotifier[old.length + 1];
            n[0] = sub;
            System.arraycopy(old, 0, n, 1, old.length);
            list = n;
        }

        void del(MmuNotifier sub) {
            MmuNotifier[] old = list;
            for (int i = 0; i < old.length; i++) {
                if (old[i] == sub) {
                    MmuNotifier[] n = new MmuNotifier[old.length - 1];
                    System.arraycopy(old, 0, n, 0, i);
                    System.arraycopy(old, i + 1, n, i, old.length - i - 1);
                    list = n;
                    return;
                }
            }
        }
    }

    public MmuNotifierOps ops;
    public Mm mm;
    /** Guarded by mm.notifier_subscriptions.lock; {@code UINT_MAX} saturates (unsigned int). */
    int users;
    /** !hlist_unhashed(&hlist). */
    volatile boolean hashed;

    public MmuNotifier() {}

    public MmuNotifier(MmuNotifierOps ops) {
        this.ops = ops;
    }

    /** Current users (mmu_notifier_get references). */
    public int users() {
        return users;
    }

    /* ---------------- callbacks from the mm ---------------- */

    /** Runs every subscription's release and unhooks them all (exit_mmap). */
    @Port("mm/mmu_notifier.c:__mmu_notifier_release")
    public static void __mmuNotifierRelease(Mm mm) {
        Subscriptions subscriptions = mm.notifierSubscriptions;
        Srcu srcu = mm.world.srcu;
        int id = srcu.srcuReadLock();
        try {
            for (MmuNotifier sub : subscriptions.list) {
                if (sub.ops.hasRelease()) {
                    sub.ops.release(sub, mm);
                }
            }
            subscriptions.lock.lock();
            try {
                for (MmuNotifier sub : subscriptions.list) {
                    sub.hashed = false;
                }
                subscriptions.list = new MmuNotifier[0];
            } finally {
                subscriptions.lock.unlock();
            }
        } finally {
            srcu.srcuReadUnlock(id);
        }
        // Pages must not be freed while a ->release still runs (mmu_notifier_unregister's).
        srcu.synchronizeSrcu();
    }

    @Port("include/linux/mmu_notifier.h:mm_has_notifiers")
    public static boolean mmHasNotifiers(Mm mm) {
        return mm.notifierSubscriptions != null;
    }

    /** Subscriptions registered on the mm now (for tests and tools). */
    public static int subscriptions(Mm mm) {
        Subscriptions s = mm.notifierSubscriptions;
        return s == null ? 0 : s.list.length;
    }

    @Port("include/linux/mmu_notifier.h:mmu_notifier_release")
    public static void mmuNotifierRelease(Mm mm) {
        if (mmHasNotifiers(mm)) {
            __mmuNotifierRelease(mm);
        }
    }

    /**
     * Calls every subscription's invalidate_range_start. Return: 0, or the last error (-EAGAIN
     * from a non-blockable range), after invalidate_range_end of every subscription that has one.
     */
    @Port("mm/mmu_notifier.c:__mmu_notifier_invalidate_range_start")
    public static int __mmuNotifierInvalidateRangeStart(MmuNotifierRange range) {
        Subscriptions subscriptions = range.mm.notifierSubscriptions;
        Srcu srcu = range.mm.world.srcu;
        int ret = 0;
        int id = srcu.srcuReadLock();
        try {
            for (MmuNotifier sub : subscriptions.list) {
                MmuNotifierOps ops = sub.ops;
                if (ops.hasInvalidateRangeStart()) {
                    int r = ops.invalidateRangeStart(sub, range);
                    if (r != 0) {
                        Printk.prInfo("%s callback failed with %d in %sblockable context.",
                                ops.getClass().getSimpleName(), r, range.mmuNotifierRangeBlockable() ? "" : "non-");
                        Warn.WARN_ON(range.mmuNotifierRangeBlockable() || r != -EAGAIN);
                        Warn.WARN_ON(ops.hasInvalidateRangeEnd());
                        ret = r;
                    }
                }
            }
            if (ret != 0) {
                // Only a non-blockable range gets here. Whoever's start succeeded expects its
                // end; those whose start failed have none (the WARN above).
                for (MmuNotifier sub : subscriptions.list) {
                    if (sub.ops.hasInvalidateRangeEnd()) {
                        sub.ops.invalidateRangeEnd(sub, range);
                    }
                }
            }
        } finally {
            srcu.srcuReadUnlock(id);
        }
        return ret;
    }

    @Port("include/linux/mmu_notifier.h:mmu_notifier_invalidate_range_start")
    public static void mmuNotifierInvalidateRangeStart(MmuNotifierRange range) {
        if (mmHasNotifiers(range.mm)) {
            range.flags |= MmH.MMU_NOTIFIER_RANGE_BLOCKABLE;
            __mmuNotifierInvalidateRangeStart(range);
        }
    }

    /**
     * The non-blocking form (the OOM reaper's): the callbacks must not sleep and may refuse
     * with -EAGAIN, in which case the caller must not call invalidate_range_end (every
     * subscription that had started has already had its end).
     * Return: 0 or -EAGAIN.
     */
    @Port("include/linux/mmu_notifier.h:mmu_notifier_invalidate_range_start_nonblock")
    public static int mmuNotifierInvalidateRangeStartNonblock(MmuNotifierRange range) {
        int ret = 0;
        if (mmHasNotifiers(range.mm)) {
            range.flags &= ~MmH.MMU_NOTIFIER_RANGE_BLOCKABLE;
            ret = __mmuNotifierInvalidateRangeStart(range);
        }
        return ret;
    }

    /** Calls invalidate_range (unless {@code only_end}) and invalidate_range_end for each subscription. */
    @Port("mm/mmu_notifier.c:__mmu_notifier_invalidate_range_end")
    public static void __mmuNotifierInvalidateRangeEnd(MmuNotifierRange range, boolean onlyEnd) {
        Subscriptions subscriptions = range.mm.notifierSubscriptions;
        Srcu srcu = range.mm.world.srcu;
        int id = srcu.srcuReadLock();
        try {
            for (MmuNotifier sub : subscriptions.list) {
                if (!onlyEnd && sub.ops.hasInvalidateRange()) {
                    if (INVALIDATE_RANGE.enabled()) {
                        INVALIDATE_RANGE.emit(range.start, range.end);
                    }
                    sub.ops.invalidateRange(sub, range.mm, range.start, range.end);
                }
                if (sub.ops.hasInvalidateRangeEnd()) {
                    sub.ops.invalidateRangeEnd(sub, range);
                }
            }
        } finally {
            srcu.srcuReadUnlock(id);
        }
    }

    @Port("include/linux/mmu_notifier.h:mmu_notifier_invalidate_range_end")
    public static void mmuNotifierInvalidateRangeEnd(MmuNotifierRange range) {
        if (mmHasNotifiers(range.mm)) {
            __mmuNotifierInvalidateRangeEnd(range, false);
        }
    }

    @Port("include/linux/mmu_notifier.h:mmu_notifier_invalidate_range_only_end")
    public static void mmuNotifierInvalidateRangeOnlyEnd(MmuNotifierRange range) {
        if (mmHasNotifiers(range.mm)) {
            __mmuNotifierInvalidateRangeEnd(range, true);
        }
    }

    /** Secondary-TLB invalidation of [start, end) for every subscription. */
    @Port("mm/mmu_notifier.c:__mmu_notifier_invalidate_range")
    public static void __mmuNotifierInvalidateRange(Mm mm, long start, long end) {
        Srcu srcu = mm.world.srcu;
        int id = srcu.srcuReadLock();
        try {
            for (MmuNotifier sub : mm.notifierSubscriptions.list) {
                if (sub.ops.hasInvalidateRange()) {
                    if (INVALIDATE_RANGE.enabled()) {
                        INVALIDATE_RANGE.emit(start, end);
                    }
                    sub.ops.invalidateRange(sub, mm, start, end);
                }
            }
        } finally {
            srcu.srcuReadUnlock(id);
        }
    }

    @Port("include/linux/mmu_notifier.h:mmu_notifier_invalidate_range")
    public static void mmuNotifierInvalidateRange(Mm mm, long start, long end) {
        if (mmHasNotifiers(mm)) {
            __mmuNotifierInvalidateRange(mm, start, end);
        }
    }

    /* ---------------- registration ---------------- */

    /**
     * Registers {@code subscription} on {@code mm}; caller holds the mmap write lock and an
     * mm_users reference. Takes an mm_count reference (mmgrab) dropped by unregister/put.
     * Return: 0, -ENOMEM, -EINTR (a fatal signal, here a thread interrupt, while taking locks).
     */
    @Port("mm/mmu_notifier.c:__mmu_notifier_register")
    public static int __mmuNotifierRegister(MmuNotifier subscription, Mm mm) {
        mm.mmapAssertWriteLocked();
        Warn.WARN_ON(mm.mmUsers.get() <= 0);
        Subscriptions subscriptions = null;
        if (mm.notifierSubscriptions == null) {
            subscriptions = Slab.kzalloc(Subscriptions::new, Gfp.GFP_KERNEL);
            if (subscriptions == null) {
                return -ENOMEM;
            }
        }
        // mm_take_all_locks(): fails with -EINTR when a signal is pending.
        if (Thread.currentThread().isInterrupted()) {
            return -EINTR;
        }
        if (subscriptions != null) {
            mm.notifierSubscriptions = subscriptions;
        }
        mm.mmgrab();
        subscription.mm = mm;
        subscription.users = 1;
        Subscriptions s = mm.notifierSubscriptions;
        s.lock.lock();
        try {
            s.addHead(subscription);
            subscription.hashed = true;
        } finally {
            s.lock.unlock();
        }
        return 0;
    }

    /** Takes the mmap write lock and registers. Return: as __mmu_notifier_register. */
    @Port("mm/mmu_notifier.c:mmu_notifier_register")
    public static int mmuNotifierRegister(MmuNotifier subscription, Mm mm) {
        mm.mmapWriteLock();
        try {
            return __mmuNotifierRegister(subscription, mm);
        } finally {
            mm.mmapWriteUnlock();
        }
    }

    /** Existing subscription with these ops, with a new user; null if none. */
    @Port("mm/mmu_notifier.c:find_get_mmu_notifier")
    private static MmuNotifier findGetMmuNotifier(Mm mm, MmuNotifierOps ops) {
        Subscriptions s = mm.notifierSubscriptions;
        s.lock.lock();
        try {
            for (MmuNotifier sub : s.list) {
                if (sub.ops != ops) {
                    continue;
                }
                if (sub.users != -1) { // UINT_MAX
                    sub.users++;
                    return sub;
                }
                throw new ErrnoException(EOVERFLOW);
            }
            return null;
        } finally {
            s.lock.unlock();
        }
    }

    /**
     * Returns the mm's single subscription for {@code ops}, with a new user, allocating and
     * registering it through {@code ops.alloc_notifier} on first use. Caller holds the mmap
     * write lock. Throws ErrnoException: -EOVERFLOW (users saturated), -ENOMEM, -EINTR, or
     * what alloc_notifier threw.
     */
    @Port("mm/mmu_notifier.c:mmu_notifier_get_locked")
    public static MmuNotifier mmuNotifierGetLocked(MmuNotifierOps ops, Mm mm) {
        return getLocked(ops, mm, null, false);
    }

    /** Seed 004: as above, passing {@code privdata} to {@code alloc_notifier(mm, privdata)}. */
    @Port(value = "mm/mmu_notifier.c:mmu_notifier_get_locked", seed = "004")
    public static MmuNotifier mmuNotifierGetLocked(MmuNotifierOps ops, Mm mm, Object privdata) {
        return getLocked(ops, mm, privdata, true);
    }

    private static MmuNotifier getLocked(MmuNotifierOps ops, Mm mm, Object privdata, boolean withPriv) {
        mm.mmapAssertWriteLocked();
        if (mm.notifierSubscriptions != null) {
            MmuNotifier sub = findGetMmuNotifier(mm, ops);
            if (sub != null) {
                return sub;
            }
        }
        MmuNotifier sub = withPriv ? ops.allocNotifier(mm, privdata) : ops.allocNotifier(mm);
        if (sub == null) {
            throw new ErrnoException(ENOMEM, "alloc_notifier returned NULL");
        }
        sub.ops = ops;
        int ret = __mmuNotifierRegister(sub, mm);
        if (ret != 0) {
            sub.ops.freeNotifier(sub);
            throw new ErrnoException(ret);
        }
        return sub;
    }

    /** {@code mmu_notifier_get}: mmu_notifier_get_locked under the mmap write lock. */
    @Port("include/linux/mmu_notifier.h:mmu_notifier_get")
    public static MmuNotifier mmuNotifierGet(MmuNotifierOps ops, Mm mm) {
        mm.mmapWriteLock();
        try {
            return mmuNotifierGetLocked(ops, mm);
        } finally {
            mm.mmapWriteUnlock();
        }
    }

    /** Seed 004 {@code mmu_notifier_get(ops, mm, privdata)}. */
    @Port(value = "include/linux/mmu_notifier.h:mmu_notifier_get", seed = "004")
    public static MmuNotifier mmuNotifierGet(MmuNotifierOps ops, Mm mm, Object privdata) {
        mm.mmapWriteLock();
        try {
            return mmuNotifierGetLocked(ops, mm, privdata);
        } finally {
            mm.mmapWriteUnlock();
        }
    }

    /**
     * Unhooks {@code subscription}, running its release if exit_mmap has not already, and waits
     * for every running callback. Drops the mm_count reference taken at register.
     */
    @Port("mm/mmu_notifier.c:mmu_notifier_unregister")
    public static void mmuNotifierUnregister(MmuNotifier subscription, Mm mm) {
        Warn.WARN_ON(mm.mmCount.get() <= 0);
        Srcu srcu = mm.world.srcu;
        if (subscription.hashed) {
            int id = srcu.srcuReadLock();
            try {
                if (subscription.ops.hasRelease()) {
                    subscription.ops.release(subscription, mm);
                }
            } finally {
                srcu.srcuReadUnlock(id);
            }
            Subscriptions s = mm.notifierSubscriptions;
            s.lock.lock();
            try {
                // exit_mmap may have unhooked it meanwhile.
                s.del(subscription);
                subscription.hashed = false;
            } finally {
                s.lock.unlock();
            }
        }
        srcu.synchronizeSrcu();
        Warn.WARN_ON(mm.mmCount.get() <= 0);
        mm.mmdrop();
    }

    /** Frees a got subscription after the grace period (SRCU callback). */
    @Port("mm/mmu_notifier.c:mmu_notifier_free_rcu")
    private static void mmuNotifierFreeRcu(MmuNotifier subscription) {
        Mm mm = subscription.mm;
        subscription.ops.freeNotifier(subscription);
        mm.mmdrop();
    }

    /**
     * Drops a user of a subscription from mmu_notifier_get; the last one unhooks it and, after
     * an SRCU grace period, calls free_notifier and drops the mm_count reference. May be called
     * from the subscription's own release callback.
     */
    @Port("mm/mmu_notifier.c:mmu_notifier_put")
    public static void mmuNotifierPut(MmuNotifier subscription) {
        Mm mm = subscription.mm;
        Subscriptions s = mm.notifierSubscriptions;
        s.lock.lock();
        try {
            if (Warn.WARN_ON(subscription.users == 0) || --subscription.users != 0) {
                return;
            }
            s.del(subscription);
            subscription.hashed = false;
        } finally {
            s.lock.unlock();
        }
        mm.world.srcu.callSrcu(() -> mmuNotifierFreeRcu(subscription));
    }

    /** Waits until every free_notifier queued by mmu_notifier_put has run (module unload). */
    @Port("mm/mmu_notifier.c:mmu_notifier_synchronize")
    public static void mmuNotifierSynchronize(MmWorld world) {
        world.srcu.srcuBarrier();
    }

    /** Frees the mm's subscription list (__mmdrop). */
    @Port("mm/mmu_notifier.c:__mmu_notifier_subscriptions_destroy")
    static void __mmuNotifierSubscriptionsDestroy(Mm mm) {
        Subscriptions s = mm.notifierSubscriptions;
        if (s != null) {
            Warn.WARN_ON(s.list.length != 0);
            mm.notifierSubscriptions = null;
        }
    }
}
