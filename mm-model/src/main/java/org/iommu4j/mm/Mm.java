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
    public final AtomicInteger mm_users = new AtomicInteger(1);
    public final AtomicInteger mm_count = new AtomicInteger(1);
    /** {@code mmap_lock} (was mmap_sem): an rw semaphore. */
    public final ReentrantReadWriteLock mmap_lock = new ReentrantReadWriteLock();
    public final ReentrantLock page_table_lock = new ReentrantLock();
    /** VMAs by vm_start. Guarded by mmap_lock. */
    final TreeMap<Long, VmAreaStruct> mm_mt = new TreeMap<>();
    /** Guarded by mmap_lock (write). */
    public int map_count;
    public long mmap_base;
    public final long task_size;
    /** {@code mm->pasid} (v5.10 u32; 0 = none until v5.17). Set by iommu-sva. */
    public volatile int pasid;
    /** MM_ANONPAGES. */
    public final AtomicLong rss_anon = new AtomicLong();
    /** Published on the first notifier registration; read without locks. */
    volatile MmuNotifier.Subscriptions notifier_subscriptions;
    private volatile boolean freed;
    private volatile boolean exited;

    Mm(MmWorld world, long pgd) {
        this.world = world;
        this.pgd = pgd;
        this.task_size = world.pgtable.TASK_SIZE;
        this.mmap_base = task_size - (1L << 30) > 0 ? task_size - (1L << 30) : task_size / 2;
    }

    /* ---------------- lifetime (kernel/fork.c) ---------------- */

    /** Takes an mm_users reference. */
    @Port("include/linux/sched/mm.h:mmget")
    public void mmget() {
        if (mm_users.getAndIncrement() <= 0) {
            Warn.WARN_ON_ONCE(true);
        }
    }

    /** Takes an mm_users reference unless the address space is already gone. */
    @Port("include/linux/sched/mm.h:mmget_not_zero")
    public boolean mmget_not_zero() {
        int v;
        do {
            v = mm_users.get(); // again after a failed exchange: the count moved, or it failed spuriously
            if (v <= 0) {
                return false;
            }
        } while (!mm_users.weakCompareAndSetVolatile(v, v + 1));
        return true;
    }

    /** Drops an mm_users reference; the last one tears the address space down. May sleep. */
    @Port("kernel/fork.c:mmput")
    public void mmput() {
        int v = mm_users.decrementAndGet();
        if (v == 0) {
            __mmput();
        } else {
            Warn.WARN_ON_ONCE(v < 0);
        }
    }

    @Port("kernel/fork.c:__mmput")
    private void __mmput() {
        Warn.WARN_ON(mm_users.get() != 0);
        Mmap.exit_mmap(this);
        exited = true;
        mmdrop();
    }

    @Port("include/linux/sched/mm.h:mmgrab")
    public void mmgrab() {
        if (mm_count.getAndIncrement() <= 0) {
            Warn.WARN_ON_ONCE(true);
        }
    }

    /** Drops an mm_count reference; the last one frees the page-table root. */
    @Port("include/linux/sched/mm.h:mmdrop")
    public void mmdrop() {
        int v = mm_count.decrementAndGet();
        if (v == 0) {
            __mmdrop();
        } else {
            Warn.WARN_ON_ONCE(v < 0);
        }
    }

    @Port("kernel/fork.c:__mmdrop")
    private void __mmdrop() {
        Warn.WARN_ON_ONCE(mm_users.get() > 0);
        // mm_free_pgd(): the tables below were freed by exit_mmap.
        world.pgtable.pgd_free(pgd);
        MmuNotifier.__mmu_notifier_subscriptions_destroy(this);
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
    public void mmap_read_lock() {
        mmap_lock.readLock().lock();
    }

    @Port("include/linux/mmap_lock.h:mmap_read_trylock")
    public boolean mmap_read_trylock() {
        return mmap_lock.readLock().tryLock();
    }

    @Port("include/linux/mmap_lock.h:mmap_read_unlock")
    public void mmap_read_unlock() {
        mmap_lock.readLock().unlock();
    }

    @Port("include/linux/mmap_lock.h:mmap_write_lock")
    public void mmap_write_lock() {
        mmap_lock.writeLock().lock();
    }

    /** Return: 0, or -EINTR if the thread is interrupted (the image of a fatal signal). */
    @Port("include/linux/mmap_lock.h:mmap_write_lock_killable")
    public int mmap_write_lock_killable() {
        try {
            mmap_lock.writeLock().lockInterruptibly();
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -Errno.EINTR;
        }
    }

    @Port("include/linux/mmap_lock.h:mmap_write_unlock")
    public void mmap_write_unlock() {
        mmap_lock.writeLock().unlock();
    }

    @Port("include/linux/mmap_lock.h:mmap_assert_locked")
    public void mmap_assert_locked() {
        Warn.WARN_ON_ONCE(mmap_lock.getReadHoldCount() == 0 && !mmap_lock.isWriteLockedByCurrentThread());
    }

    @Port("include/linux/mmap_lock.h:mmap_assert_write_locked")
    public void mmap_assert_write_locked() {
        Warn.WARN_ON_ONCE(!mmap_lock.isWriteLockedByCurrentThread());
    }

    /* ---------------- views ---------------- */

    /** The VMAs in address order (a copy; takes the mmap read lock). */
    public List<VmAreaStruct> vmas() {
        mmap_read_lock();
        try {
            return new ArrayList<>(mm_mt.values());
        } finally {
            mmap_read_unlock();
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
        return mm_mt.floorEntry(addr);
    }

    @Override
    public String toString() {
        return "mm@" + Long.toHexString(pgd);
    }
}
