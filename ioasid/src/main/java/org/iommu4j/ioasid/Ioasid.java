package org.iommu4j.ioasid;

import static org.iommu4j.base.Bits.BIT;
import static org.iommu4j.base.Errno.EACCES;
import static org.iommu4j.base.Errno.EAGAIN;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOENT;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.base.Gfp.GFP_ATOMIC;
import static org.iommu4j.base.Printk.prErr;
import static org.iommu4j.base.Printk.prInfo;
import static org.iommu4j.base.Printk.prWarn;
import static org.iommu4j.base.Warn.WARN_ON;
import static org.iommu4j.ioasid.IoasidData.IOASID_STATE_ACTIVE;
import static org.iommu4j.ioasid.IoasidData.IOASID_STATE_FREED;
import static org.iommu4j.ioasid.IoasidData.IOASID_STATE_FREE_PENDING;
import static org.iommu4j.ioasid.IoasidData.IOASID_STATE_IDLE;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Notifier;
import org.iommu4j.base.NotifierBlock;
import org.iommu4j.base.Port;
import org.iommu4j.base.Slab;
import org.iommu4j.base.Workqueue;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceEvent;

/**
 * The I/O Address Space ID allocator: drivers/iommu/ioasid.c (v5.11) with the IOASID set
 * extensions of seed 002 (sets with quota and owner token, system capacity, refcounts with
 * FREE_PENDING, set-private IDs, notifiers). An instance is one world: the kernel's globals are its
 * fields, so {@code new Ioasid()} gives an independent allocator.
 *
 * <p><b>Sets.</b> A non-null set passed to any function must be a live set of this world
 * ({@link #ioasidSetAlloc}); the ID is charged to its quota and only that set may free, get, put
 * or find it. A <b>null set</b> keeps the v5.11 meaning: {@code ioasid_alloc(null, ...)} allocates an
 * ID that belongs to no set and is charged to no quota (the PASID users of iommu-core and the SMMU
 * driver may use it, or allocate their own set), and a null set passed to find/get/put/free skips
 * the ownership check. The single-argument v5.11 forms {@link #ioasidGet(int)},
 * {@link #ioasidPut(int)}, {@link #ioasidFree(int)} are that null-set case.
 *
 * <p><b>Lifetime.</b> {@code ioasid_alloc} returns an ID holding one reference (the owner's).
 * {@link #ioasidGet(IoasidSet, int)} takes more. {@link #ioasidFree(IoasidSet, int)} marks the ID
 * FREE_PENDING (no new reference can be taken), sends the FREE notification so that the holders
 * of other references drop them (they may call {@link #ioasidPutLocked} from the notifier), then
 * drops the owner's reference; {@link #ioasidPut(IoasidSet, int)} drops one. When the last
 * reference goes, the ID is reclaimed: it returns to the allocator and the set's quota is credited.
 *
 * <p><b>Notifications.</b> ALLOC after an allocation, BIND/UNBIND on each set-private ID
 * attach/detach transition, FREE once per ID: when its owner frees it (seed 002 v3, also when no
 * one else holds a reference; v4 skips that case), or, for an ID reclaimed by puts alone (the
 * v5.11 API, which had no notifications), at reclaim. The data is findable during FREE. ALLOC,
 * BIND and UNBIND go to the ID's set chain only (IOASID_NOTIFY_FLAG_SET; none for an ID without a
 * set); FREE goes first to the global chain (IOASID_NOTIFY_FLAG_ALL), then to the set's, with
 * {@link IoasidNbArgs}; within a chain, higher priorities are called first. Notifiers run with
 * {@code ioasid_allocator_lock} held (atomic chains under the spinlock in the kernel): they must
 * not block; they may call the lock-free lookups.
 *
 * <p><b>Locking.</b> {@code ioasid_allocator_lock} protects the allocators, the tables' writers,
 * refcounts, states, sets and capacity; {@code ioasid_nb_lock} (taken inside it) protects the
 * pending mm-notifier list. {@link #ioasidFind} and {@link #ioasidFindBySpid} without
 * {@code get} take no lock (RCU readers in the kernel): acquire loads of entries published with
 * release stores, and a volatile private pointer.
 */
public final class Ioasid {
    // ---- include/linux/ioasid.h ----

    /** {@code ioasid_t} is u32; this is {@code (ioasid_t)-1}. */
    @Port("include/linux/ioasid.h:INVALID_IOASID")
    public static final int INVALID_IOASID = -1;

    /** The PCIe PASID space: 20 bits. Default system capacity. */
    @Port(value = "drivers/iommu/ioasid.c:PCI_PASID_MAX", seed = "002")
    public static final int PCI_PASID_MAX = 1 << 20;

    @Port(value = "include/linux/ioasid.h:IOASID_SET_TYPE_NULL", seed = "002")
    public static final int IOASID_SET_TYPE_NULL = 1;
    @Port(value = "include/linux/ioasid.h:IOASID_SET_TYPE_MM", seed = "002")
    public static final int IOASID_SET_TYPE_MM = 2;
    @Port(value = "include/linux/ioasid.h:IOASID_SET_TYPE_NR", seed = "002")
    public static final int IOASID_SET_TYPE_NR = 3;

    /** enum ioasid_notify_val. */
    @Port(value = "include/linux/ioasid.h:IOASID_NOTIFY_ALLOC", seed = "002")
    public static final int IOASID_NOTIFY_ALLOC = 1;
    @Port(value = "include/linux/ioasid.h:IOASID_NOTIFY_FREE", seed = "002")
    public static final int IOASID_NOTIFY_FREE = 2;
    @Port(value = "include/linux/ioasid.h:IOASID_NOTIFY_BIND", seed = "002")
    public static final int IOASID_NOTIFY_BIND = 3;
    @Port(value = "include/linux/ioasid.h:IOASID_NOTIFY_UNBIND", seed = "002")
    public static final int IOASID_NOTIFY_UNBIND = 4;

    /** Notify the global chain. */
    @Port(value = "include/linux/ioasid.h:IOASID_NOTIFY_FLAG_ALL", seed = "002")
    public static final int IOASID_NOTIFY_FLAG_ALL = (int) BIT(0);
    /** Notify the owning set's chain. */
    @Port(value = "include/linux/ioasid.h:IOASID_NOTIFY_FLAG_SET", seed = "002")
    public static final int IOASID_NOTIFY_FLAG_SET = (int) BIT(1);

    /** enum ioasid_notifier_prios: called from CPU down to LAST. */
    @Port(value = "include/linux/ioasid.h:IOASID_PRIO_LAST", seed = "002")
    public static final int IOASID_PRIO_LAST = 0;
    @Port(value = "include/linux/ioasid.h:IOASID_PRIO_DEVICE", seed = "002")
    public static final int IOASID_PRIO_DEVICE = 1;
    @Port(value = "include/linux/ioasid.h:IOASID_PRIO_IOMMU", seed = "002")
    public static final int IOASID_PRIO_IOMMU = 2;
    @Port(value = "include/linux/ioasid.h:IOASID_PRIO_CPU", seed = "002")
    public static final int IOASID_PRIO_CPU = 3;

    /** Largest ID an allocator may hand out: INVALID_IOASID is reserved. */
    private static final long IOASID_MAX = 0xFFFF_FFFEL;

    /** Trace events of this module. */
    public static final TraceEvent TRACE_IOASID_ALLOC =
            Trace.event("ioasid", "ioasid_alloc", "ioasid=%d set=%d", "ioasid", "set");
    public static final TraceEvent TRACE_IOASID_RECLAIM =
            Trace.event("ioasid", "ioasid_reclaim", "ioasid=%d set=%d", "ioasid", "set");

    // ---- drivers/iommu/ioasid.c ----

    /**
     * {@code struct ioasid_allocator_data}: an allocator and its table. The default allocator
     * has its own table; custom allocators that use the same ops share one.
     */
    @Port("drivers/iommu/ioasid.c:ioasid_allocator_data")
    private static final class IoasidAllocatorData {
        final IoasidAllocatorOps ops;
        /** The ops sharing this allocator's space, in registration order (slist). */
        final ArrayList<IoasidAllocatorOps> slist = new ArrayList<>(2);
        final long flags;
        final IoasidTable xa = new IoasidTable();

        IoasidAllocatorData(IoasidAllocatorOps ops, long flags) {
            this.ops = ops;
            this.flags = flags;
        }
    }

    /** A custom allocator: its IDs are recorded in this module's table as well. */
    @Port("drivers/iommu/ioasid.c:IOASID_ALLOCATOR_CUSTOM")
    private static final long IOASID_ALLOCATOR_CUSTOM = BIT(0);

    /** {@code struct ioasid_set_nb}: an mm notifier, pending until the mm's set exists. */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_set_nb", seed = "002")
    private static final class IoasidSetNb {
        final NotifierBlock nb;
        final Object token;
        IoasidSet set;
        boolean active;

        IoasidSetNb(NotifierBlock nb, Object token) {
            this.nb = nb;
            this.token = token;
        }
    }

    /**
     * Protects: allocators_list, active_allocator updates, every table write, IOASID refcounts,
     * states, spids and set links, the sets (ioasid_sets, quota, nr_ioasids, ref) and the
     * capacity. Never held while sleeping. Outer to ioasid_nb_lock.
     */
    final ReentrantLock ioasidAllocatorLock = new ReentrantLock();

    /** Protects ioasid_nb_pending_list. Inner to ioasid_allocator_lock. */
    final ReentrantLock ioasidNbLock = new ReentrantLock();

    private final ArrayList<IoasidAllocatorData> allocatorsList = new ArrayList<>();
    private final IoasidAllocatorOps defaultOps =
            new IoasidAllocatorOps(this::defaultAlloc, this::defaultFree, null);
    private final IoasidAllocatorData defaultAllocator = new IoasidAllocatorData(defaultOps, 0);
    /** RCU pointer in the kernel: written under the lock, read by lock-free lookups. */
    private volatile IoasidAllocatorData activeAllocator = defaultAllocator;

    /** System capacity (u32) and what is not reserved by a set's quota yet. */
    private int ioasidCapacity = PCI_PASID_MAX;
    private int ioasidCapacityAvail = PCI_PASID_MAX;
    private boolean capacityInstalled;
    /** The live sets, indexed by set id; valid iff {@code ioasid_sets[set.id] == set}. */
    private IoasidSet[] ioasidSets = new IoasidSet[8];
    /** Global notifier chain (IOASID_NOTIFY_FLAG_ALL). */
    private final Notifier.Atomic ioasidChain = new Notifier.Atomic();
    private final ArrayList<IoasidSetNb> ioasidNbPendingList = new ArrayList<>();
    /** Ordered workqueue for deferred notifier work (v4), created on first use. */
    private volatile Workqueue ioasidWq;

    public Ioasid() {}

    @Port("drivers/iommu/ioasid.c:default_alloc")
    private int defaultAlloc(int min, int max, Object opaque) {
        long id = defaultAllocator.xa.findFree(Integer.toUnsignedLong(min),
                Math.min(Integer.toUnsignedLong(max), IOASID_MAX));
        if (id < 0) {
            prErr("Failed to alloc ioasid from %d to %d", Integer.toUnsignedLong(min), Integer.toUnsignedLong(max));
            return INVALID_IOASID;
        }
        IoasidData data = (IoasidData) opaque;
        data.id = (int) id;
        if (defaultAllocator.xa.insert((int) id, data) != 0) {
            prErr("Failed to alloc ioasid from %d to %d", Integer.toUnsignedLong(min), Integer.toUnsignedLong(max));
            return INVALID_IOASID;
        }
        return (int) id;
    }

    @Port("drivers/iommu/ioasid.c:default_free")
    private void defaultFree(int ioasid, Object opaque) {
        defaultAllocator.xa.erase(ioasid);
    }

    @Port("drivers/iommu/ioasid.c:ioasid_alloc_allocator")
    private static IoasidAllocatorData ioasidAllocAllocator(IoasidAllocatorOps ops) {
        if (Slab.kmallocShouldFail(GFP_ATOMIC)) {
            return null;
        }
        IoasidAllocatorData iaData = new IoasidAllocatorData(ops, IOASID_ALLOCATOR_CUSTOM);
        iaData.slist.add(ops);
        return iaData;
    }

    @Port("drivers/iommu/ioasid.c:use_same_ops")
    private static boolean useSameOps(IoasidAllocatorOps a, IoasidAllocatorOps b) {
        return a.free == b.free && a.alloc == b.alloc;
    }

    /**
     * Registers a custom allocator. The first one becomes active only if the default allocator
     * holds no ID; later ones wait in registration order; ops using the same functions as a
     * registered one share its IOASID space.
     *
     * <p>Return: 0, -ENOMEM, -EAGAIN (the default allocator has live IDs), -EEXIST (these ops are
     * already registered).
     */
    @Port("drivers/iommu/ioasid.c:ioasid_register_allocator")
    public int ioasidRegisterAllocator(IoasidAllocatorOps ops) {
        if (ops == null) {
            return -EINVAL;
        }
        ioasidAllocatorLock.lock();
        try {
            IoasidAllocatorData iaData = ioasidAllocAllocator(ops);
            if (iaData == null) {
                return -ENOMEM;
            }
            if (allocatorsList.isEmpty()) {
                WARN_ON(activeAllocator != defaultAllocator);
                if (activeAllocator.xa.isEmpty()) {
                    activeAllocator = iaData;
                    allocatorsList.add(iaData);
                    return 0;
                }
                prWarn("Default allocator active with outstanding IOASID");
                return -EAGAIN;
            }
            for (IoasidAllocatorData pallocator : allocatorsList) {
                if (pallocator.slist.contains(ops)) {
                    prErr("IOASID allocator already registered");
                    return -EEXIST;
                } else if (useSameOps(pallocator.ops, ops)) {
                    // Same functions: same IOASID space, same table.
                    pallocator.slist.add(ops);
                    return 0;
                }
            }
            allocatorsList.add(iaData);
            return 0;
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /**
     * Removes a custom allocator. When the last ops of a space goes, the next registered allocator
     * becomes active, or the default one if none is left (WARN if that space still holds IDs).
     */
    @Port("drivers/iommu/ioasid.c:ioasid_unregister_allocator")
    public void ioasidUnregisterAllocator(IoasidAllocatorOps ops) {
        if (ops == null) {
            return;
        }
        ioasidAllocatorLock.lock();
        try {
            if (allocatorsList.isEmpty()) {
                prWarn("No custom IOASID allocators active!");
                return;
            }
            for (int i = 0; i < allocatorsList.size(); i++) {
                IoasidAllocatorData pallocator = allocatorsList.get(i);
                if (!useSameOps(pallocator.ops, ops)) {
                    continue;
                }
                if (pallocator.slist.size() == 1) {
                    if (pallocator.slist.get(0) != ops) {
                        return;
                    }
                    allocatorsList.remove(i);
                    // Every ID of this space should be gone by now, or it is orphaned.
                    WARN_ON(!pallocator.xa.isEmpty());
                    if (allocatorsList.isEmpty()) {
                        prInfo("No custom IOASID allocators, switch to default.");
                        activeAllocator = defaultAllocator;
                    } else if (pallocator == activeAllocator) {
                        activeAllocator = allocatorsList.get(0);
                        prInfo("IOASID allocator changed");
                    }
                    return;
                }
                // Other ops still use this space: remove only these, the space's IDs stay allocated.
                pallocator.slist.remove(ops);
                return;
            }
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    // ---- notifications (seed 002) ----

    /** Sends {@code cmd} about {@code data} to the chains selected by {@code flags}. Lock held. */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_notify", seed = "002")
    private int ioasidNotify(IoasidData data, int cmd, int flags) {
        lockdepAssertHeld();
        IoasidSet set = data.set;
        boolean all = (flags & IOASID_NOTIFY_FLAG_ALL) != 0 && !ioasidChain.isEmpty();
        boolean own = (flags & IOASID_NOTIFY_FLAG_SET) != 0 && set != null && !set.nh.isEmpty();
        if (!all && !own) {
            return 0;
        }
        IoasidNbArgs args = new IoasidNbArgs(data.id, data.spid, set, data.private_);
        int ret = 0;
        if (all) {
            ret = ioasidChain.atomicNotifierCallChain(cmd, args);
        }
        if (own) {
            ret = set.nh.atomicNotifierCallChain(cmd, args);
        }
        return ret;
    }

    /**
     * Registers {@code nb} on a set's chain, or on the global chain when {@code set} is null.
     * A set accepts notifiers only while empty (existing IDs are not replayed).
     *
     * <p>Return: 0, -EINVAL (dead set, null nb), -EBUSY (the set has IDs). Registering a block
     * twice WARNs in the notifier core and returns 0 (v5.15 has no -EEXIST there).
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_register_notifier", seed = "002")
    public int ioasidRegisterNotifier(IoasidSet set, NotifierBlock nb) {
        if (nb == null) {
            return -EINVAL;
        }
        if (set == null) {
            return ioasidChain.atomicNotifierChainRegister(nb);
        }
        ioasidAllocatorLock.lock();
        try {
            if (!ioasidSetIsValid(set)) {
                return -EINVAL;
            }
            if (set.nrIoasids != 0) {
                prWarn("IOASID set %d not empty", set.id);
                return -EBUSY;
            }
            return set.nh.atomicNotifierChainRegister(nb);
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /**
     * Removes {@code nb} from a set's chain (or the global one for null). A block registered
     * through {@link #ioasidRegisterNotifierMm} is refused with a warning and stays registered:
     * its pending-list entry follows the mm's set, and only
     * {@link #ioasidUnregisterNotifierMm} may remove it (the seed's function returns nothing
     * then; here -EBUSY says so).
     *
     * <p>Return: 0, -ENOENT (not on that chain), -EBUSY (an mm notifier).
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_unregister_notifier", seed = "002")
    public int ioasidUnregisterNotifier(IoasidSet set, NotifierBlock nb) {
        ioasidNbLock.lock();
        try {
            for (IoasidSetNb curr : ioasidNbPendingList) {
                if (curr.nb == nb) {
                    prWarn("Cannot unregister NB from pending list");
                    return -EBUSY;
                }
            }
        } finally {
            ioasidNbLock.unlock();
        }
        if (set == null) {
            return ioasidChain.atomicNotifierChainUnregister(nb);
        }
        return set.nh.atomicNotifierChainUnregister(nb);
    }

    /** The live MM set whose token is {@code mm}, or null. Lock held. */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_find_mm_set", seed = "002")
    private IoasidSet ioasidFindMmSet(Object mm) {
        for (IoasidSet s : ioasidSets) {
            if (s != null && s.type == IOASID_SET_TYPE_MM && s.token == mm) {
                return s;
            }
        }
        return null;
    }

    /**
     * Registers {@code nb} for the IOASIDs of the MM set of {@code mm} (an opaque token). If that
     * set does not exist yet, {@code nb} waits on a pending list and is attached when the set is
     * allocated; when the set is freed it goes back to waiting.
     *
     * <p>Return: 0, -EINVAL (null mm), -EBUSY (already registered for this mm, or the mm's set
     * has IDs), -ENOMEM.
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_register_notifier_mm", seed = "002")
    public int ioasidRegisterNotifierMm(Object mm, NotifierBlock nb) {
        if (mm == null || nb == null) {
            return -EINVAL;
        }
        ioasidAllocatorLock.lock();
        ioasidNbLock.lock();
        try {
            for (IoasidSetNb curr : ioasidNbPendingList) {
                if (curr.token == mm && curr.nb == nb) {
                    return -EBUSY;
                }
            }
            IoasidSet set = ioasidFindMmSet(mm);
            if (set != null && set.nrIoasids != 0) {
                prWarn("IOASID set %d not empty", set.id);
                return -EBUSY;
            }
            IoasidSetNb curr = Slab.kzalloc(() -> new IoasidSetNb(nb, mm), GFP_ATOMIC);
            if (curr == null) {
                return -ENOMEM;
            }
            if (set != null) {
                int ret = set.nh.atomicNotifierChainRegister(nb);
                if (ret != 0) {
                    return ret;
                }
                curr.set = set;
                curr.active = true;
            }
            ioasidNbPendingList.add(curr);
            return 0;
        } finally {
            ioasidNbLock.unlock();
            ioasidAllocatorLock.unlock();
        }
    }

    /** Removes an mm notifier. Return: 0, or -ENOENT if it was not registered for {@code mm}. */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_unregister_notifier_mm", seed = "002")
    public int ioasidUnregisterNotifierMm(Object mm, NotifierBlock nb) {
        ioasidAllocatorLock.lock();
        ioasidNbLock.lock();
        try {
            for (int i = 0; i < ioasidNbPendingList.size(); i++) {
                IoasidSetNb curr = ioasidNbPendingList.get(i);
                if (curr.token == mm && curr.nb == nb) {
                    if (curr.active) {
                        curr.set.nh.atomicNotifierChainUnregister(nb);
                    }
                    ioasidNbPendingList.remove(i);
                    return 0;
                }
            }
            prErr("Trying to unregister unknown IOASID mm notifier");
            return -ENOENT;
        } finally {
            ioasidNbLock.unlock();
            ioasidAllocatorLock.unlock();
        }
    }

    /** Attaches the pending notifiers of {@code set}'s mm to its chain. Lock held. */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_add_pending_nb", seed = "002")
    private void ioasidAddPendingNb(IoasidSet set) {
        ioasidNbLock.lock();
        try {
            for (IoasidSetNb curr : ioasidNbPendingList) {
                if (curr.token == set.token && !curr.active) {
                    if (set.nh.atomicNotifierChainRegister(curr.nb) == 0) {
                        curr.set = set;
                        curr.active = true;
                    }
                }
            }
        } finally {
            ioasidNbLock.unlock();
        }
    }

    /** Puts the notifiers of a dying set back on the pending list. Lock held. */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_del_pending_nb", seed = "002")
    private void ioasidDelPendingNb(IoasidSet set) {
        ioasidNbLock.lock();
        try {
            for (IoasidSetNb curr : ioasidNbPendingList) {
                if (curr.active && curr.set == set) {
                    set.nh.atomicNotifierChainUnregister(curr.nb);
                    curr.set = null;
                    curr.active = false;
                }
            }
        } finally {
            ioasidNbLock.unlock();
        }
    }

    /**
     * Queues work on the ordered IOASID workqueue: notifiers run with the allocator lock held and
     * must not block, so they defer heavy follow-up (draining, unbinding) here. The workqueue is
     * created on first use. Return: false if {@code work} was already pending.
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_queue_work", seed = "002")
    public boolean ioasidQueueWork(Workqueue.WorkStruct work) {
        Workqueue wq = ioasidWq;
        if (wq == null) {
            synchronized (this) {
                wq = ioasidWq;
                if (wq == null) {
                    wq = Workqueue.allocOrderedWorkqueue("ioasid_wq", 0);
                    ioasidWq = wq;
                }
            }
        }
        return wq.queueWork(work);
    }

    // ---- capacity and sets (seed 002) ----

    /**
     * Installs the system capacity (e.g. the IOMMU's PASID space). Only once, and only before
     * any set has reserved a quota; otherwise a warning and no change.
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_install_capacity", seed = "002")
    public void ioasidInstallCapacity(int total) {
        ioasidAllocatorLock.lock();
        try {
            if (capacityInstalled || ioasidCapacityAvail != ioasidCapacity) {
                prWarn("IOASID capacity is already set.");
                return;
            }
            ioasidCapacity = total;
            ioasidCapacityAvail = total;
            capacityInstalled = true;
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** The system capacity (u32). */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_get_capacity", seed = "002")
    public int ioasidGetCapacity() {
        ioasidAllocatorLock.lock();
        try {
            return ioasidCapacity;
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** Capacity not reserved by any set's quota (u32). Java-only query for tests and tools. */
    public int ioasidGetCapacityAvail() {
        ioasidAllocatorLock.lock();
        try {
            return ioasidCapacityAvail;
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** Whether {@code set} is a live set of this world. Lock held. */
    private boolean ioasidSetIsValid(IoasidSet set) {
        return set.id >= 0 && set.id < ioasidSets.length && ioasidSets[set.id] == set;
    }

    private void lockdepAssertHeld() {
        if (!ioasidAllocatorLock.isHeldByCurrentThread()) {
            throw new AssertionError("ioasid_allocator_lock not held");
        }
    }

    /**
     * Allocates a set owning at most {@code quota} IOASIDs, reserved from the system capacity,
     * with one reference. An IOASID_SET_TYPE_MM set needs a non-null token not used by another MM
     * set; an IOASID_SET_TYPE_NULL set a null token.
     *
     * @throws ErrnoException -EINVAL (bad type, quota 0, bad token), -ENOSPC (not enough capacity
     *     left), -EEXIST (the mm already has a set), -ENOMEM
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_set_alloc", seed = "002")
    public IoasidSet ioasidSetAlloc(Object token, int quota, int type) {
        // Only a type past the enum is refused before the quota and the capacity are checked;
        // a type below IOASID_SET_TYPE_NULL falls to the token check, after -ENOSPC (seed order).
        if (type >= IOASID_SET_TYPE_NR) {
            throw new ErrnoException(-EINVAL, "invalid IOASID set type " + type);
        }
        if (quota == 0) {
            throw new ErrnoException(-EINVAL, "IOASID set quota 0");
        }
        ioasidAllocatorLock.lock();
        try {
            if (Integer.compareUnsigned(quota, ioasidCapacityAvail) > 0) {
                prWarn("Out of IOASID capacity! ask %d, avail %d",
                        Integer.toUnsignedLong(quota), Integer.toUnsignedLong(ioasidCapacityAvail));
                throw new ErrnoException(-ENOSPC);
            }
            if (type == IOASID_SET_TYPE_MM) {
                if (token == null) {
                    throw new ErrnoException(-EINVAL, "MM set without token");
                }
                if (ioasidFindMmSet(token) != null) {
                    throw new ErrnoException(-EEXIST, "mm already has an IOASID set");
                }
            } else if (type != IOASID_SET_TYPE_NULL || token != null) {
                prErr("Invalid token and IOASID type");
                throw new ErrnoException(-EINVAL, "invalid IOASID set type " + type + " or token");
            }
            int id = 0;
            while (id < ioasidSets.length && ioasidSets[id] != null) {
                id++;
            }
            final int setId = id;
            IoasidSet set = Slab.kzalloc(() -> new IoasidSet(token, type, quota, setId), GFP_ATOMIC);
            if (set == null) {
                throw new ErrnoException(-ENOMEM);
            }
            if (id == ioasidSets.length) {
                IoasidSet[] n = new IoasidSet[ioasidSets.length * 2];
                System.arraycopy(ioasidSets, 0, n, 0, ioasidSets.length);
                ioasidSets = n;
            }
            ioasidSets[id] = set;
            ioasidCapacityAvail -= quota;
            if (type == IOASID_SET_TYPE_MM) {
                ioasidAddPendingNb(set);
            }
            return set;
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** Takes a reference on a live set; WARN if it is not one. */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_set_get", seed = "002")
    public void ioasidSetGet(IoasidSet set) {
        ioasidAllocatorLock.lock();
        try {
            ioasidSetGetLocked(set);
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** {@link #ioasidSetGet} for callers holding the lock (notifiers). */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_set_get_locked", seed = "002")
    public void ioasidSetGetLocked(IoasidSet set) {
        lockdepAssertHeld();
        if (WARN_ON(set == null || !ioasidSetIsValid(set))) {
            return;
        }
        set.ref.refcountInc();
    }

    /**
     * Drops a reference on a set. The last one frees every IOASID of the set (as
     * {@link #ioasidFree(IoasidSet, int)} does: IDs with outstanding references stay FREE_PENDING
     * until their last put), returns the quota to the system and kills the set. WARN on a dead set.
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_set_put", seed = "002")
    public void ioasidSetPut(IoasidSet set) {
        ioasidAllocatorLock.lock();
        try {
            ioasidSetPutLocked(set);
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** {@link #ioasidSetPut} for callers holding the lock (notifiers). */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_set_put_locked", seed = "002")
    public void ioasidSetPutLocked(IoasidSet set) {
        lockdepAssertHeld();
        if (WARN_ON(set == null || !ioasidSetIsValid(set))) {
            return;
        }
        if (!set.ref.refcountDecAndTest()) {
            return;
        }
        ioasidFreeAllInSetLocked(set);
        ioasidSetEraseLocked(set);
    }

    /** Takes a set out of the system: its quota back to the capacity, its mm parked again, dead. */
    private void ioasidSetEraseLocked(IoasidSet set) {
        ioasidCapacityAvail += set.quota;
        if (set.type == IOASID_SET_TYPE_MM) {
            ioasidDelPendingNb(set);
        }
        ioasidSets[set.id] = null;
        set.live = false;
    }

    /**
     * Seed 002 v4: frees an empty set whatever its reference count (v4 drops set refcounting).
     * Its quota returns to the system capacity and an mm set's notifiers go back to the pending
     * list.
     *
     * <p>Return: 0, -EINVAL for a set that is not live, -EBUSY while the set still has IOASIDs
     * (FREE_PENDING ones included: free them and drop their references first, e.g. with
     * {@link #ioasidFreeAllInSet}).
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_set_free", seed = "002")
    public int ioasidSetFree(IoasidSet set) {
        ioasidAllocatorLock.lock();
        ioasidNbLock.lock();
        try {
            if (set == null || !ioasidSetIsValid(set)) {
                return -EINVAL;
            }
            if (set.nrIoasids != 0) {
                return -EBUSY;
            }
            WARN_ON(set.head != null);
            ioasidSetEraseLocked(set);
            return 0;
        } finally {
            ioasidNbLock.unlock();
            ioasidAllocatorLock.unlock();
        }
    }

    /**
     * Seed 002 v4: frees every IOASID of {@code set} as {@link #ioasidFree(IoasidSet, int)} does
     * (IDs with outstanding references stay FREE_PENDING until their last put). WARN on a dead set.
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_free_all_in_set", seed = "002")
    public void ioasidFreeAllInSet(IoasidSet set) {
        ioasidAllocatorLock.lock();
        try {
            if (WARN_ON(set == null || !ioasidSetIsValid(set))) {
                return;
            }
            ioasidFreeAllInSetLocked(set);
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /**
     * Frees every IOASID of {@code set}, in ascending ID order as the seed's walk of the set's
     * xarray does (so the FREE notifications go out in that order). A FREE notifier may reclaim
     * other IDs of the set (skipped) or allocate new ones (freed by a further pass). Lock held.
     */
    private void ioasidFreeAllInSetLocked(IoasidSet set) {
        boolean freed;
        do {
            freed = false;
            for (IoasidData data : ioasidSetEntriesLocked(set)) {
                if (data.state != IOASID_STATE_FREE_PENDING && data.state != IOASID_STATE_FREED) {
                    ioasidFreeLocked(set, data);
                    freed = true;
                }
            }
        } while (freed);
    }

    /**
     * The set's IOASIDs in ascending (unsigned) ID order: the order in which the seed's
     * {@code xa_for_each} over the set's xarray visits them. The list itself is kept in
     * allocation order; this is a snapshot, safe against frees while it is walked. Lock held.
     */
    private static IoasidData[] ioasidSetEntriesLocked(IoasidSet set) {
        IoasidData[] entries = new IoasidData[set.nrIoasids];
        int n = 0;
        for (IoasidData d = set.head; d != null && n < entries.length; d = d.setNext) {
            entries[n++] = d;
        }
        Arrays.sort(entries, 0, n, (a, b) -> Integer.compareUnsigned(a.id, b.id));
        return n == entries.length ? entries : Arrays.copyOf(entries, n);
    }

    /**
     * Changes a set's quota; the difference is taken from or returned to the system capacity.
     *
     * <p>Return: 0, -EINVAL (quota &lt;= 0, below the set's live IDs, or a dead set), -ENOSPC (not
     * enough capacity left for the increase).
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_adjust_set", seed = "002")
    public int ioasidAdjustSet(IoasidSet set, int quota) {
        if (quota <= 0 || set == null) {
            return -EINVAL;
        }
        ioasidAllocatorLock.lock();
        try {
            if (!ioasidSetIsValid(set)) {
                return -EINVAL;
            }
            if (Integer.compareUnsigned(set.nrIoasids, quota) > 0) {
                prErr("New quota %d is smaller than outstanding IOASIDs %d", quota, set.nrIoasids);
                return -EINVAL;
            }
            if (Integer.compareUnsigned(quota, set.quota) > 0
                    && Integer.compareUnsigned(quota - set.quota, ioasidCapacityAvail) > 0) {
                return -ENOSPC;
            }
            ioasidCapacityAvail += set.quota - quota;
            set.quota = quota;
            return 0;
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** Set iterator callback: {@code void (*fn)(ioasid_t id, void *data)}. */
    @FunctionalInterface
    public interface IoasidSetIterFn {
        void apply(int ioasid, Object data);
    }

    /**
     * Calls {@code fn} on each IOASID of {@code set} (FREE_PENDING ones included), in ascending
     * ID order as the seed's walk of the set's xarray goes, with {@code ioasid_allocator_lock}
     * held: {@code fn} must not block. It may free IDs of the set; one reclaimed before its turn
     * is skipped. WARN on a dead set.
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_set_for_each_ioasid", seed = "002")
    public void ioasidSetForEachIoasid(IoasidSet set, IoasidSetIterFn fn, Object data) {
        if (fn == null) {
            return;
        }
        ioasidAllocatorLock.lock();
        try {
            if (WARN_ON(set == null || !ioasidSetIsValid(set))) {
                return;
            }
            for (IoasidData d : ioasidSetEntriesLocked(set)) {
                if (d.state != IOASID_STATE_FREED) {
                    fn.apply(d.id, data);
                }
            }
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    // ---- private data ----

    /**
     * Replaces the private data of an allocated IOASID, then waits until lock-free readers are
     * done with the old one (synchronize_rcu; see {@link #synchronizeRcu}).
     *
     * <p>Return: 0 or -ENOENT.
     */
    @Port("drivers/iommu/ioasid.c:ioasid_set_data")
    public int ioasidSetData(int ioasid, Object data) {
        int ret = 0;
        ioasidAllocatorLock.lock();
        try {
            IoasidData ioasidData = (IoasidData) activeAllocator.xa.load(ioasid);
            if (ioasidData != null) {
                ioasidData.private_ = data;
            } else {
                ret = -ENOENT;
            }
        } finally {
            ioasidAllocatorLock.unlock();
        }
        if (ret == 0) {
            synchronizeRcu();
        }
        return ret;
    }

    /**
     * Seed 002's successor of {@link #ioasidSetData}: attaches private data to an IOASID that
     * has none. It never replaces data, so there is no old data for readers to finish with and
     * no grace period; to change the data, detach it first.
     *
     * <p>Return: 0, -ENOENT (unknown IOASID), -EBUSY (the IOASID already has private data).
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_attach_data", seed = "002")
    public int ioasidAttachData(int ioasid, Object data) {
        ioasidAllocatorLock.lock();
        try {
            IoasidData ioasidData = ioasidLookupLocked(ioasid);
            if (ioasidData == null) {
                return -ENOENT;
            }
            if (ioasidData.private_ != null) {
                return -EBUSY;
            }
            ioasidData.private_ = data;
            return 0;
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /**
     * Clears the private data of an IOASID, then waits until lock-free readers are done with it
     * (the caller may then free it). An unknown IOASID is logged.
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_detach_data", seed = "002")
    public void ioasidDetachData(int ioasid) {
        ioasidAllocatorLock.lock();
        try {
            IoasidData ioasidData = ioasidLookupLocked(ioasid);
            if (ioasidData == null) {
                prWarn("IOASID %d not found to detach data from", Integer.toUnsignedLong(ioasid));
            } else {
                ioasidData.private_ = null;
            }
        } finally {
            ioasidAllocatorLock.unlock();
        }
        synchronizeRcu();
    }

    /**
     * The grace period. Readers never hold a lock and the garbage collector keeps an old private
     * object alive while a reader still references it, so there is nothing to wait for; the
     * volatile write of the new pointer is the publication.
     */
    private static void synchronizeRcu() {}

    // ---- allocation ----

    /**
     * Allocates an ID in [min, max] (inclusive, unsigned) from the active allocator, records
     * {@code set} and {@code private_}, with one reference; sends ALLOC.
     *
     * <p>Return: the ID, or INVALID_IOASID on any failure (no memory, range exhausted, dead set,
     * set quota reached). Never blocks on anything but {@code ioasid_allocator_lock}.
     */
    @Port("drivers/iommu/ioasid.c:ioasid_alloc")
    public int ioasidAlloc(IoasidSet set, int min, int max, Object private_) {
        IoasidData data = Slab.kzalloc(IoasidData::new, GFP_ATOMIC);
        if (data == null) {
            return INVALID_IOASID;
        }
        data.set = set;
        data.private_ = private_;
        ioasidAllocatorLock.lock();
        try {
            if (set != null) {
                if (!ioasidSetIsValid(set)) {
                    prErr("Invalid IOASID set %s", set);
                    return INVALID_IOASID;
                }
                if (Integer.compareUnsigned(set.nrIoasids, set.quota) >= 0) {
                    // Quota reached: an expected condition for the owner, not logged.
                    return INVALID_IOASID;
                }
            }
            IoasidAllocatorData active = activeAllocator;
            boolean custom = (active.flags & IOASID_ALLOCATOR_CUSTOM) != 0;
            Object adata = custom ? active.ops.pdata : data;
            int id = active.ops.alloc.alloc(min, max, adata);
            if (id == INVALID_IOASID) {
                prErr("Failed ASID allocation %d", active.flags);
                return INVALID_IOASID;
            }
            if (custom) {
                data.id = id;
                if (active.xa.insert(id, data) != 0) {
                    prErr("Failed to alloc ioasid from %d", Integer.toUnsignedLong(id));
                    active.ops.free.free(id, active.ops.pdata);
                    return INVALID_IOASID;
                }
            }
            data.state = IOASID_STATE_IDLE;
            if (set != null) {
                ioasidSetLink(set, data);
            }
            if (TRACE_IOASID_ALLOC.enabled()) {
                TRACE_IOASID_ALLOC.emit(Integer.toUnsignedLong(id), set == null ? -1 : set.id);
            }
            ioasidNotify(data, IOASID_NOTIFY_ALLOC, IOASID_NOTIFY_FLAG_SET);
            return id;
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    private static void ioasidSetLink(IoasidSet set, IoasidData data) {
        data.setPrev = set.tail;
        data.setNext = null;
        if (set.tail != null) {
            set.tail.setNext = data;
        } else {
            set.head = data;
        }
        set.tail = data;
        set.nrIoasids++;
    }

    private static void ioasidSetUnlink(IoasidSet set, IoasidData data) {
        if (data.setPrev != null) {
            data.setPrev.setNext = data.setNext;
        } else {
            set.head = data.setNext;
        }
        if (data.setNext != null) {
            data.setNext.setPrev = data.setPrev;
        } else {
            set.tail = data.setPrev;
        }
        data.setPrev = null;
        data.setNext = null;
        set.nrIoasids--;
    }

    /**
     * Reclaims an IOASID whose last reference is gone: back to the allocator, out of its set. An
     * ID its owner never freed (reclaimed by puts) gets its FREE notification here, while the data
     * is still findable. Lock held.
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_do_free_locked", seed = "002")
    private void ioasidDoFreeLocked(IoasidData data) {
        IoasidAllocatorData active = activeAllocator;
        int id = data.id;
        if (data.state != IOASID_STATE_FREE_PENDING) {
            ioasidNotify(data, IOASID_NOTIFY_FREE, IOASID_NOTIFY_FLAG_ALL | IOASID_NOTIFY_FLAG_SET);
        }
        active.ops.free.free(id, active.ops.pdata);
        if ((active.flags & IOASID_ALLOCATOR_CUSTOM) != 0) {
            active.xa.erase(id);
        }
        IoasidSet set = data.set;
        if (set != null) {
            if (data.spid != INVALID_IOASID) {
                set.spids.remove(data.spid, data);
            }
            ioasidSetUnlink(set, data);
        }
        data.state = IOASID_STATE_FREED;
        if (TRACE_IOASID_RECLAIM.enabled()) {
            TRACE_IOASID_RECLAIM.emit(Integer.toUnsignedLong(id), set == null ? -1 : set.id);
        }
    }

    /** The entry of {@code ioasid} in the active allocator. Lock held. */
    private IoasidData ioasidLookupLocked(int ioasid) {
        return (IoasidData) activeAllocator.xa.load(ioasid);
    }

    /**
     * Marks FREE_PENDING, tells the subscribers (FREE: they drop the references they hold), then
     * drops the owner's reference. Lock held.
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_free_locked", seed = "002")
    private void ioasidFreeLocked(IoasidSet set, IoasidData data) {
        data.state = IOASID_STATE_FREE_PENDING;
        ioasidNotify(data, IOASID_NOTIFY_FREE, IOASID_NOTIFY_FLAG_ALL | IOASID_NOTIFY_FLAG_SET);
        if (data.refs.refcountDecAndTest()) {
            ioasidDoFreeLocked(data);
        }
    }

    /**
     * Frees an IOASID on behalf of its owner: it becomes FREE_PENDING (no new reference can be
     * taken), the FREE notification asks the other reference holders to drop theirs, and the
     * owner's reference is dropped; it is reclaimed when the last reference goes. An unknown ID,
     * another set's ID or a second free is logged and ignored; an ID whose set is gone WARNs
     * and is left as it is.
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_free", seed = "002")
    public void ioasidFree(IoasidSet set, int ioasid) {
        ioasidAllocatorLock.lock();
        try {
            IoasidData data = ioasidLookupLocked(ioasid);
            if (data == null) {
                prErr("Trying to free unknown IOASID %d", Integer.toUnsignedLong(ioasid));
                return;
            }
            if (set != null && data.set != set) {
                prErr("Cannot free IOASID %d: not in set %s", Integer.toUnsignedLong(ioasid), set);
                return;
            }
            // The set is gone (its last put freed this ID, still referenced): a caller bug.
            if (data.set != null && WARN_ON(!ioasidSetIsValid(data.set))) {
                return;
            }
            if (data.state == IOASID_STATE_FREE_PENDING) {
                prErr("IOASID %d already freed", Integer.toUnsignedLong(ioasid));
                return;
            }
            ioasidFreeLocked(set, data);
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** v5.10's {@code ioasid_free(ioasid_t)}: {@link #ioasidFree(IoasidSet, int)} without owner check. */
    @Port("drivers/iommu/ioasid.c:ioasid_free")
    public void ioasidFree(int ioasid) {
        ioasidFree(null, ioasid);
    }

    /**
     * Takes a reference on an IOASID.
     *
     * <p>Return: 0, -EINVAL (unknown ID), -EBUSY (FREE_PENDING: a freed ID takes no new
     * reference), -EACCES ({@code set} non-null and not the owner). Each failure is logged.
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_get", seed = "002")
    public int ioasidGet(IoasidSet set, int ioasid) {
        ioasidAllocatorLock.lock();
        try {
            return ioasidGetLocked(set, ioasid);
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** {@link #ioasidGet(IoasidSet, int)} for callers holding the lock (notifiers). */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_get_locked", seed = "002")
    public int ioasidGetLocked(IoasidSet set, int ioasid) {
        lockdepAssertHeld();
        IoasidData data = ioasidLookupLocked(ioasid);
        if (data == null) {
            prErr("Trying to get unknown IOASID %d", Integer.toUnsignedLong(ioasid));
            return -EINVAL;
        }
        if (data.state == IOASID_STATE_FREE_PENDING) {
            prErr("Trying to get IOASID %d being freed", Integer.toUnsignedLong(ioasid));
            return -EBUSY;
        }
        if (set != null && data.set != set) {
            prErr("Trying to get IOASID %d outside the set", Integer.toUnsignedLong(ioasid));
            return -EACCES;
        }
        data.refs.refcountInc();
        data.state = IOASID_STATE_ACTIVE;
        return 0;
    }

    /** v5.11's {@code void ioasid_get(ioasid_t)}: WARN if the ID cannot be referenced. */
    @Port("drivers/iommu/ioasid.c:ioasid_get")
    public void ioasidGet(int ioasid) {
        WARN_ON(ioasidGet(null, ioasid) != 0);
    }

    /**
     * Drops a reference; the last one reclaims the IOASID (with the FREE notification if its
     * owner never freed it).
     *
     * <p>Return: true if the IOASID was reclaimed. An unknown ID or another set's ID is logged
     * and returns false without touching any count.
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_put", seed = "002")
    public boolean ioasidPut(IoasidSet set, int ioasid) {
        ioasidAllocatorLock.lock();
        try {
            return ioasidPutLocked(set, ioasid);
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** {@link #ioasidPut(IoasidSet, int)} for callers holding the lock (notifiers). */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_put_locked", seed = "002")
    public boolean ioasidPutLocked(IoasidSet set, int ioasid) {
        lockdepAssertHeld();
        IoasidData data = ioasidLookupLocked(ioasid);
        if (data == null) {
            prErr("Trying to put unknown IOASID %d", Integer.toUnsignedLong(ioasid));
            return false;
        }
        if (set != null && data.set != set) {
            prErr("Trying to put IOASID %d of another set", Integer.toUnsignedLong(ioasid));
            return false;
        }
        if (!data.refs.refcountDecAndTest()) {
            return false;
        }
        ioasidDoFreeLocked(data);
        return true;
    }

    /** v5.11's {@code bool ioasid_put(ioasid_t)}: no owner check. */
    @Port("drivers/iommu/ioasid.c:ioasid_put")
    public boolean ioasidPut(int ioasid) {
        return ioasidPut(null, ioasid);
    }

    // ---- lookups ----

    /**
     * Finds the private data of an IOASID without taking any lock. If {@code getter} is non-null
     * it is called on the data (e.g. to take a reference on it); if it returns false, null is
     * returned. The data may be null. A FREE_PENDING IOASID is still found (its reference holders
     * keep using it) until it is reclaimed.
     *
     * @throws ErrnoException -ENOENT (unknown ID), -EACCES ({@code set} non-null and not the owner)
     */
    @Port("drivers/iommu/ioasid.c:ioasid_find")
    public Object ioasidFind(IoasidSet set, int ioasid, Predicate<Object> getter) {
        IoasidAllocatorData idata = activeAllocator;
        IoasidData ioasidData = (IoasidData) idata.xa.load(ioasid);
        if (ioasidData == null) {
            throw new ErrnoException(-ENOENT);
        }
        if (set != null && ioasidData.set != set) {
            throw new ErrnoException(-EACCES);
        }
        Object priv = ioasidData.private_;
        if (getter != null && !getter.test(priv)) {
            return null;
        }
        return priv;
    }

    /**
     * Attaches a set-private ID (e.g. the guest PASID) to an IOASID; sends BIND.
     *
     * <p>An IOASID its owner has freed but others still reference (FREE_PENDING) is still in the
     * allocator and takes an SPID as the seed's lookup finds it; it stays FREE_PENDING.
     *
     * <p>Return: 0, -EINVAL (spid INVALID_IOASID, already used in the set, or the IOASID already
     * has one), -ENOENT (unknown IOASID).
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_attach_spid", seed = "002")
    public int ioasidAttachSpid(int ioasid, int spid) {
        if (spid == INVALID_IOASID) {
            return -EINVAL;
        }
        ioasidAllocatorLock.lock();
        try {
            IoasidData data = ioasidLookupLocked(ioasid);
            if (data == null) {
                prErr("No IOASID entry %d to attach SPID %d", Integer.toUnsignedLong(ioasid),
                        Integer.toUnsignedLong(spid));
                return -ENOENT;
            }
            IoasidSet set = data.set;
            if (set == null || data.spid != INVALID_IOASID || set.spids.containsKey(spid)) {
                return -EINVAL;
            }
            data.spid = spid;
            set.spids.put(spid, data);
            if (data.state != IOASID_STATE_FREE_PENDING) {
                data.state = IOASID_STATE_ACTIVE;
            }
            ioasidNotify(data, IOASID_NOTIFY_BIND, IOASID_NOTIFY_FLAG_SET);
            return 0;
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /**
     * Detaches the set-private ID of an IOASID; sends UNBIND. An unknown IOASID, or one without a
     * set-private ID, is logged and left alone (the seed's function returns nothing).
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_detach_spid", seed = "002")
    public void ioasidDetachSpid(int ioasid) {
        ioasidAllocatorLock.lock();
        try {
            IoasidData data = ioasidLookupLocked(ioasid);
            if (data == null || data.spid == INVALID_IOASID) {
                prErr("Invalid IOASID entry %d to detach", Integer.toUnsignedLong(ioasid));
                return;
            }
            ioasidNotify(data, IOASID_NOTIFY_UNBIND, IOASID_NOTIFY_FLAG_SET);
            data.set.spids.remove(data.spid, data);
            data.spid = INVALID_IOASID;
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /**
     * The system IOASID whose set-private ID in {@code set} is {@code spid}, or INVALID_IOASID.
     * With {@code get}, also takes a reference (and fails as {@link #ioasidGet} would).
     * Without, takes no lock.
     */
    @Port(value = "drivers/iommu/ioasid.c:ioasid_find_by_spid", seed = "002")
    public int ioasidFindBySpid(IoasidSet set, int spid, boolean get) {
        if (set == null || spid == INVALID_IOASID) {
            return INVALID_IOASID;
        }
        if (!get) {
            IoasidData data = set.live ? set.spids.get(spid) : null;
            return data == null ? INVALID_IOASID : data.id;
        }
        ioasidAllocatorLock.lock();
        try {
            if (!ioasidSetIsValid(set)) {
                return INVALID_IOASID;
            }
            IoasidData data = set.spids.get(spid);
            if (data == null || ioasidGetLocked(set, data.id) != 0) {
                return INVALID_IOASID;
            }
            return data.id;
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** {@link #ioasidFindBySpid(IoasidSet, int, boolean)} without a reference. */
    public int ioasidFindBySpid(IoasidSet set, int spid) {
        return ioasidFindBySpid(set, spid, false);
    }

    // ---- Java-only queries for tests and tools ----

    /** Live IOASIDs in the active allocator (FREE_PENDING included). */
    public int ioasidCount() {
        ioasidAllocatorLock.lock();
        try {
            return activeAllocator.xa.count();
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** The reference count of an IOASID, or 0 if it is unknown. */
    public int ioasidRefcount(int ioasid) {
        ioasidAllocatorLock.lock();
        try {
            IoasidData data = ioasidLookupLocked(ioasid);
            return data == null ? 0 : data.refs.refcountRead();
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** Whether the IOASID is freed by its owner but still referenced. */
    public boolean ioasidIsFreePending(int ioasid) {
        ioasidAllocatorLock.lock();
        try {
            IoasidData data = ioasidLookupLocked(ioasid);
            return data != null && data.state == IOASID_STATE_FREE_PENDING;
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** Number of live sets. */
    public int ioasidNrSets() {
        ioasidAllocatorLock.lock();
        try {
            int n = 0;
            for (IoasidSet s : ioasidSets) {
                if (s != null) {
                    n++;
                }
            }
            return n;
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** Whether {@code set} is a live set of this world. */
    public boolean ioasidSetValid(IoasidSet set) {
        ioasidAllocatorLock.lock();
        try {
            return set != null && ioasidSetIsValid(set);
        } finally {
            ioasidAllocatorLock.unlock();
        }
    }

    /** Notifiers waiting on the mm pending list (active or not). */
    public int ioasidNrPendingNb() {
        ioasidNbLock.lock();
        try {
            return ioasidNbPendingList.size();
        } finally {
            ioasidNbLock.unlock();
        }
    }
}
