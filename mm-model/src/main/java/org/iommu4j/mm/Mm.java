package org.iommu4j.mm;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Errno;
import org.iommu4j.base.Port;
import org.iommu4j.base.Warn;

/**
 * {@code struct mm_struct} (include/linux/mm_types.h) and its lifetime from kernel/fork.c.
 *
 * <p>Two counters, as in the kernel: {@code mm_users} counts users of the address space (tasks,
 * {@code mmget} by a device fault handler); when it drops to zero {@link #mmput} tears the
 * address space down ({@code exit_mmap}: notifiers' release, unmap everything, free the page
 * tables below the pgd). {@code mm_count} counts references to the struct itself (one held
 * collectively by the users, plus {@code mmgrab}: an MMU notifier, a CPU that last ran the mm);
 * when it drops to zero {@link #mmdrop} frees the pgd. So an SMMU context descriptor may keep
 * pointing at {@link #pgd} for as long as its notifier holds the mm.
 *
 * <p>Locking: {@code mmap_lock} (read for faults, write for mmap/munmap/mprotect/notifier
 * registration) protects the VMA tree; {@code page_table_lock} serialises PTE installation by
 * concurrent faults (the kernel's split PTE locks, coarsened).
 */
@Port("include/linux/mm_types.h:mm_struct")
public final class Mm {
    public final MmWorld world;
    /** Physical (= kernel virtual) address of the top-level table. Valid until mm_count hits 0. */
    public final long pgd;
    /** {@code mm->context}: ASID and pin count. */
    public final ArmContext.MmContext context = new ArmContext.MmContext();
    public final AtomicInteger mmUsers = new AtomicInteger(1);
    public final AtomicInteger mmCount = new AtomicInteger(1);
    /** {@code mmap_lock} (was mmap_sem): an rw semaphore. */
    public final ReentrantReadWriteLock mmapLock = new ReentrantReadWriteLock();
    public final ReentrantLock pageTableLock = new ReentrantLock();
    /** VMAs by vm_start. Guarded by mmap_lock. */
    final TreeMap<Long, VmAreaStruct> mmMt = new TreeMap<>();
    /** Guarded by mmap_lock (write). */
    public int mapCount;
    public long mmapBase;
    public final long taskSize;
    /** {@code mm->pasid} (v5.10 u32; 0 = none until v5.17). Set by iommu-sva. */
    public volatile int pasid;
    /** MM_ANONPAGES. */
    public final AtomicLong rssAnon = new AtomicLong();
    /** Published on the first notifier registration; read without locks. */
    volatile MmuNotifier.Subscriptions notifierSubscriptions;
    private volatile boolean freed;
    private volatile boolean exited;

    Mm(MmWorld world, long pgd) {
        this.world = world;
        this.pgd = pgd;
        this.taskSize = world.pgtable.TASK_SIZE;
        this.mmapBase = taskSize - (1L << 30) > 0 ? taskSize - (1L << 30) : taskSize / 2;
    }

    /* ---------------- lifetime (kernel/fork.c) ---------------- */

    /** Takes an mm_users reference. */
    @Port("include/linux/sched/mm.h:mmget")
    public void mmget() {
        if (mmUsers.getAndIncrement() <= 0) {
            Warn.WARN_ON_ONCE(true);
        }
    }

    /** Takes an mm_users reference unless the address space is already gone. */
    @Port("include/linux/sched/mm.h:mmget_not_zero")
    public boolean mmgetNotZero() {
        int v;
        do {
            v = mmUsers.get(); // again after a failed exchange: the count moved, or it failed spuriously
            if (v <= 0) {
                return false;
            }
        } while (!mmUsers.weakCompareAndSetVolatile(v, v + 1));
        return true;
    }

    /** Drops an mm_users reference; the last one tears the address space down. May sleep. */
    @Port("kernel/fork.c:mmput")
    public void mmput() {
        int v = mmUsers.decrementAndGet();
        if (v == 0) {
            __mmput();
        } else {
            Warn.WARN_ON_ONCE(v < 0);
        }
    }

    @Port("kernel/fork.c:__mmput")
    private void __mmput() {
        Warn.WARN_ON(mmUsers.get() != 0);
        Mmap.exitMmap(this);
        exited = true;
        mmdrop();
    }

    @Port("include/linux/sched/mm.h:mmgrab")
    public void mmgrab() {
        if (mmCount.getAndIncrement() <= 0) {
            Warn.WARN_ON_ONCE(true);
        }
    }

    /** Drops an mm_count reference; the last one frees the page-table root. */
    @Port("include/linux/sched/mm.h:mmdrop")
    public void mmdrop() {
        int v = mmCount.decrementAndGet();
        if (v == 0) {
            __mmdrop();
        } else {
            Warn.WARN_ON_ONCE(v < 0);
        }
    }

    @Port("kernel/fork.c:__mmdrop")
    private void __mmdrop() {
        Warn.WARN_ON_ONCE(mmUsers.get() > 0);
        // mm_free_pgd(): the tables below were freed by exit_mmap.
        world.pgtable.pgdFree(pgd);
        MmuNotifier.__mmuNotifierSubscriptionsDestroy(this);
        freed = true;
    }

    /** True once __mmdrop ran (the pgd is gone). */
    public boolean freed() {
        return freed;
    }

    /** True once exit_mmap ran (no VMA, no user page left). */
    public boolean exited() {
        return exited;
    }

    /* ---------------- mmap_lock (include/linux/mmap_lock.h) ---------------- */

    @Port("include/linux/mmap_lock.h:mmap_read_lock")
    public void mmapReadLock() {
        mmapLock.readLock().lock();
    }

    @Port("include/linux/mmap_lock.h:mmap_read_trylock")
    public boolean mmapReadTrylock() {
        return mmapLock.readLock().tryLock();
    }

    @Port("include/linux/mmap_lock.h:mmap_read_unlock")
    public void mmapReadUnlock() {
        mmapLock.readLock().unlock();
    }

    @Port("include/linux/mmap_lock.h:mmap_write_lock")
    public void mmapWriteLock() {
        mmapLock.writeLock().lock();
    }

    /** Return: 0, or -EINTR if the thread is interrupted (the image of a fatal signal). */
    @Port("include/linux/mmap_lock.h:mmap_write_lock_killable")
    public int mmapWriteLockKillable() {
        try {
            mmapLock.writeLock().lockInterruptibly();
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -Errno.EINTR;
        }
    }

    @Port("include/linux/mmap_lock.h:mmap_write_unlock")
    public void mmapWriteUnlock() {
        mmapLock.writeLock().unlock();
    }

    @Port("include/linux/mmap_lock.h:mmap_assert_locked")
    public void mmapAssertLocked() {
        Warn.WARN_ON_ONCE(mmapLock.getReadHoldCount() == 0 && !mmapLock.isWriteLockedByCurrentThread());
    }

    @Port("include/linux/mmap_lock.h:mmap_assert_write_locked")
    public void mmapAssertWriteLocked() {
        Warn.WARN_ON_ONCE(!mmapLock.isWriteLockedByCurrentThread());
    }

    /* ---------------- views ---------------- */

    /** The VMAs in address order (a copy; takes the mmap read lock). */
    public List<VmAreaStruct> vmas() {
        mmapReadLock();
        try {
            return new ArrayList<>(mmMt.values());
        } finally {
            mmapReadUnlock();
        }
    }

    /**
     * The hardware ASID currently assigned (low asid_bits of context.id; may be stale after a
     * rollover). With 16-bit ASIDs this equals the kernel's ASID(mm); with 8-bit ones the
     * kernel's macro keeps generation bits that TCR_EL1.AS=0 hardware ignores.
     */
    public int asid() {
        return (int) world.context.ctxid2asid(context.id.get());
    }

    /** TTBR0 value as an SMMU CD or a CPU loads it: pgd | ASID << 48. */
    public long ttbr0() {
        return pgd | ((long) asid() << 48);
    }

    static ErrnoException enomem() {
        return new ErrnoException(Errno.ENOMEM);
    }

    Map.Entry<Long, VmAreaStruct> floor(long addr) {
        return mmMt.floorEntry(addr);
    }

    @Override
    public String toString() {
        return "mm@" + Long.toHexString(pgd);
    }
}
