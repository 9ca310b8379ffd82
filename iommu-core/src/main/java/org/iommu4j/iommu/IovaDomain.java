package org.iommu4j.iommu;

import static org.iommu4j.base.Gfp.GFP_ATOMIC;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.Bits;
import org.iommu4j.base.Port;
import org.iommu4j.base.Slab;
import org.iommu4j.base.Warn;

/**
 * drivers/iommu/iova.c (v5.15) and {@code struct iova_domain}: an allocator of IOVA ranges in
 * units of {@code granule}, top-down below a limit, optionally size-aligned, with the per-size
 * range caches ("rcaches", magazines + depot) behind {@link #allocIovaFast}.
 *
 * <p>Implementation notes: the rbtree is a {@link TreeMap} keyed by {@code pfn_lo} (the kernel's
 * ordering); the anchor node sits outside the map ({@link #anchor}) and {@code rb_prev}/{@code
 * rb_next} step through the map and onto the anchor as the kernel's tree does. The search hints
 * are the kernel's: it starts below {@code cached_node} (or {@code cached32_node} for limits in
 * the 32-bit space), the most recent allocation, and retries from above that node only when
 * nothing fits below it, so the addresses handed out follow the kernel's sequence.
 * {@code max32_alloc_size} (the "32-bit space is full" fast fail) is set by every failed search
 * and reset by any free below 4 GiB, as in the kernel. There is one simulated CPU, so each rcache
 * has one CPU pair of magazines.
 *
 * <p>Locking: {@code iova_rbtree_lock} protects the tree; each rcache has its own lock
 * (cpu_rcache lock and depot lock merged).
 */
@Port("include/linux/iova.h:iova_domain")
public final class IovaDomain {
    @Port("include/linux/iova.h:IOVA_RANGE_CACHE_MAX_SIZE")
    public static final int IOVA_RANGE_CACHE_MAX_SIZE = 6;
    @Port("drivers/iommu/iova.c:IOVA_MAG_SIZE")
    public static final int IOVA_MAG_SIZE = 128;
    @Port("drivers/iommu/iova.c:MAX_GLOBAL_MAGS")
    public static final int MAX_GLOBAL_MAGS = 32;
    /** {@code IOVA_ANCHOR}: pfn of the sentinel node above every range. */
    public static final long IOVA_ANCHOR = -1L;

    /** {@code struct iova_magazine}. */
    @Port("drivers/iommu/iova.c:iova_magazine")
    static final class IovaMagazine {
        int size;
        final long[] pfns = new long[IOVA_MAG_SIZE];

        boolean full() {
            return size == IOVA_MAG_SIZE;
        }

        boolean empty() {
            return size == 0;
        }
    }

    /** {@code struct iova_rcache} with its single {@code iova_cpu_rcache}. */
    @Port("drivers/iommu/iova.c:iova_rcache")
    static final class IovaRcache {
        final ReentrantLock lock = new ReentrantLock();
        int depotSize;
        final IovaMagazine[] depot = new IovaMagazine[MAX_GLOBAL_MAGS];
        IovaMagazine loaded = new IovaMagazine();
        IovaMagazine prev = new IovaMagazine();
    }

    // ---- flush queue (lazy invalidation, iommu.strict=0) ----
    @Port("drivers/iommu/iova.c:IOVA_FQ_SIZE")
    public static final int IOVA_FQ_SIZE = 256;

    /** {@code iova_flush_cb}: flushes the IOTLB of the domain owning this allocator. */
    @FunctionalInterface
    public interface IovaFlushCb {
        void flush(IovaDomain iovad);
    }

    /** {@code struct iova_fq}: one ring (one simulated CPU); entries as parallel arrays. */
    @Port("drivers/iommu/iova.c:iova_fq")
    static final class IovaFq {
        final long[] iovaPfn = new long[IOVA_FQ_SIZE];
        final long[] pages = new long[IOVA_FQ_SIZE];
        final long[] counter = new long[IOVA_FQ_SIZE];
        int head;
        int tail;
        final ReentrantLock lock = new ReentrantLock();
    }

    private volatile IovaFq fq;
    private IovaFlushCb flushCb;
    private final java.util.concurrent.atomic.AtomicLong fqFlushStartCnt = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong fqFlushFinishCnt = new java.util.concurrent.atomic.AtomicLong();

    /** Protects rbroot and max32AllocSize. */
    final ReentrantLock iovaRbtreeLock = new ReentrantLock();
    private final TreeMap<Long, Iova> rbroot = new TreeMap<>();
    /** {@code anchor}: the sentinel above every range (pfn_lo = pfn_hi = IOVA_ANCHOR); never in {@link #rbroot}. */
    private final Iova anchor = new Iova(IOVA_ANCHOR, IOVA_ANCHOR);
    /** Search hint for limits above the 32-bit space: the last allocation there, or the anchor. */
    private Iova cachedNode = anchor;
    /** Search hint for limits within the 32-bit space. */
    private Iova cached32Node = anchor;
    public long granule;
    public long startPfn;
    public long dma32bitPfn;
    long max32AllocSize;
    private final IovaRcache[] rcaches = new IovaRcache[IOVA_RANGE_CACHE_MAX_SIZE];

    public IovaDomain() {}

    // ---- helpers of iova.h ----

    @Port("include/linux/iova.h:iova_shift")
    public int iovaShift() {
        return Bits.__ffs(granule);
    }

    @Port("include/linux/iova.h:iova_mask")
    public long iovaMask() {
        return granule - 1;
    }

    @Port("include/linux/iova.h:iova_offset")
    public long iovaOffset(long iova) {
        return iova & iovaMask();
    }

    @Port("include/linux/iova.h:iova_align")
    public long iovaAlign(long size) {
        return (size + granule - 1) & ~iovaMask();
    }

    @Port("include/linux/iova.h:iova_dma_addr")
    public long iovaDmaAddr(Iova iova) {
        return iova.pfnLo << iovaShift();
    }

    @Port("include/linux/iova.h:iova_pfn")
    public long iovaPfn(long iova) {
        return iova >>> iovaShift();
    }

    /**
     * Initialises the domain: {@code granule} a power of two (the kernel also BUG_ONs granules
     * above PAGE_SIZE; this port accepts any power of two), allocations start at
     * {@code startPfn}. The 32-bit boundary is {@code 2^32 >> shift}.
     */
    @Port("drivers/iommu/iova.c:init_iova_domain")
    public void initIovaDomain(long granule, long startPfn) {
        // IOMMUs must support at least the CPU page size; the kernel BUGs otherwise.
        if (!Bits.isPowerOf2(granule)) {
            throw new IllegalArgumentException("granule must be a power of two");
        }
        this.granule = granule;
        this.startPfn = startPfn;
        this.dma32bitPfn = (1L << 32) >>> iovaShift();
        this.max32AllocSize = dma32bitPfn;
        rbroot.clear();
        cachedNode = anchor;
        cached32Node = anchor;
        initIovaRcaches();
    }

    /** Number of ranges in the tree (tests). */
    public int nrIovas() {
        iovaRbtreeLock.lock();
        try {
            return rbroot.size();
        } finally {
            iovaRbtreeLock.unlock();
        }
    }

    /** {@code rb_prev}: the range below {@code node} (the anchor's is the highest range), or null. */
    private Iova rbPrev(Iova node) {
        Map.Entry<Long, Iova> e = node == anchor ? rbroot.lastEntry() : rbroot.lowerEntry(node.pfnLo);
        return e == null ? null : e.getValue();
    }

    /** {@code rb_next}: the range above {@code node}; above the highest range sits the anchor. */
    private Iova rbNext(Iova node) {
        if (node == anchor) {
            return null;
        }
        Map.Entry<Long, Iova> e = rbroot.higherEntry(node.pfnLo);
        return e == null ? anchor : e.getValue();
    }

    @Port("drivers/iommu/iova.c:__get_cached_rbnode")
    private Iova __getCachedRbnode(long limitPfn) {
        if (Long.compareUnsigned(limitPfn, dma32bitPfn) <= 0) {
            return cached32Node;
        }
        return cachedNode;
    }

    @Port("drivers/iommu/iova.c:__cached_rbnode_insert_update")
    private void __cachedRbnodeInsertUpdate(Iova nw) {
        if (Long.compareUnsigned(nw.pfnHi, dma32bitPfn) < 0) {
            cached32Node = nw;
        } else {
            cachedNode = nw;
        }
    }

    /** Moves the hints off a range about to leave the tree; any free below 4 GiB reopens the 32-bit space. */
    @Port("drivers/iommu/iova.c:__cached_rbnode_delete_update")
    private void __cachedRbnodeDeleteUpdate(Iova free) {
        Iova cachedIova = cached32Node;
        if (free == cachedIova || (Long.compareUnsigned(free.pfnHi, dma32bitPfn) < 0
                && Long.compareUnsigned(free.pfnLo, cachedIova.pfnLo) >= 0)) {
            cached32Node = rbNext(free);
        }
        if (Long.compareUnsigned(free.pfnLo, dma32bitPfn) < 0) {
            max32AllocSize = dma32bitPfn;
        }
        cachedIova = cachedNode;
        if (Long.compareUnsigned(free.pfnLo, cachedIova.pfnLo) >= 0) {
            cachedNode = rbNext(free);
        }
    }

    /**
     * Where a retry walk starts: the anchor for limits above the 32-bit space, otherwise the
     * lowest range ending at or above {@code limitPfn} (the anchor if none). Walking down from
     * either gives the same result; this only shortens the walk.
     */
    @Port("drivers/iommu/iova.c:iova_find_limit")
    private Iova iovaFindLimit(long limitPfn) {
        if (Long.compareUnsigned(limitPfn, dma32bitPfn) > 0) {
            return anchor;
        }
        Map.Entry<Long, Iova> e = rbroot.floorEntry(limitPfn);
        if (e != null && Long.compareUnsigned(e.getValue().pfnHi, limitPfn) >= 0) {
            return e.getValue();
        }
        e = rbroot.higherEntry(limitPfn);
        return e == null ? anchor : e.getValue();
    }

    @Port("drivers/iommu/iova.c:__alloc_and_insert_iova_range")
    private int __allocAndInsertIovaRange(long size, long limitPfn, Iova nw, boolean sizeAligned) {
        long alignMask = -1L;
        long highPfn = limitPfn;
        long lowPfn = startPfn;
        if (sizeAligned) {
            alignMask <<= Bits.fls64(size - 1);
        }
        // Top-down: from the cached node towards lower pfns, looking for a gap.
        iovaRbtreeLock.lock();
        try {
            if (Long.compareUnsigned(limitPfn, dma32bitPfn) <= 0 && Long.compareUnsigned(size, max32AllocSize) >= 0) {
                return -org.iommu4j.base.Errno.ENOMEM; // iova32_full
            }
            Iova curr = __getCachedRbnode(limitPfn);
            // A retry searches above the hint. v5.15.0 kept pfn_hi + 1 here, which wraps to 0 for
            // the anchor and let the retry hand out pfns below start_pfn; this is the 5.15.y
            // stable fix ("iommu/iova: Fix alloc iova overflows issue").
            long retryPfn = curr.pfnHi;
            long newPfn;
            while (true) {
                do {
                    highPfn = Bits.umin(highPfn, curr.pfnLo);
                    newPfn = (highPfn - size) & alignMask;
                    curr = rbPrev(curr);
                } while (curr != null && Long.compareUnsigned(newPfn, curr.pfnHi) <= 0
                        && Long.compareUnsigned(newPfn, lowPfn) >= 0);

                if (Long.compareUnsigned(highPfn, size) >= 0 && Long.compareUnsigned(newPfn, lowPfn) >= 0) {
                    break;
                }
                // Nothing fits below the hint: search once more between it and the limit.
                if (lowPfn == startPfn && Long.compareUnsigned(retryPfn, limitPfn) < 0) {
                    highPfn = limitPfn;
                    lowPfn = retryPfn + 1;
                    curr = iovaFindLimit(limitPfn);
                    continue;
                }
                // Any failed search marks the 32-bit space full for this size and above.
                max32AllocSize = size;
                return -org.iommu4j.base.Errno.ENOMEM; // iova32_full
            }
            // newPfn already carries the size alignment when it was asked for.
            nw.pfnLo = newPfn;
            nw.pfnHi = newPfn + size - 1;
            rbroot.put(newPfn, nw);
            __cachedRbnodeInsertUpdate(nw);
            return 0;
        } finally {
            iovaRbtreeLock.unlock();
        }
    }

    /**
     * Allocates {@code size} frames at or below {@code limitPfn} (inclusive), highest first;
     * {@code sizeAligned} aligns the start to the size rounded up to a power of two. Returns the
     * range or null when full (or on allocation failure).
     */
    @Port("drivers/iommu/iova.c:alloc_iova")
    public Iova allocIova(long size, long limitPfn, boolean sizeAligned) {
        Iova nw = Slab.kzalloc(() -> new Iova(0, 0), GFP_ATOMIC);
        if (nw == null) {
            return null;
        }
        int ret = __allocAndInsertIovaRange(size, limitPfn + 1, nw, sizeAligned);
        if (ret != 0) {
            return null;
        }
        return nw;
    }

    @Port("drivers/iommu/iova.c:private_find_iova")
    private Iova privateFindIova(long pfn) {
        Map.Entry<Long, Iova> e = pfn < 0 ? rbroot.lastEntry() : rbroot.floorEntry(pfn);
        if (e == null) {
            return null;
        }
        Iova iova = e.getValue();
        return Long.compareUnsigned(pfn, iova.pfnHi) <= 0 ? iova : null;
    }

    /** The range containing {@code pfn}, or null. */
    @Port("drivers/iommu/iova.c:find_iova")
    public Iova findIova(long pfn) {
        iovaRbtreeLock.lock();
        try {
            return privateFindIova(pfn);
        } finally {
            iovaRbtreeLock.unlock();
        }
    }

    /** Frees {@code iova} (must be in this domain). */
    @Port("drivers/iommu/iova.c:__free_iova")
    public void __freeIova(Iova iova) {
        iovaRbtreeLock.lock();
        try {
            privateFreeIova(iova);
        } finally {
            iovaRbtreeLock.unlock();
        }
    }

    @Port("drivers/iommu/iova.c:private_free_iova")
    private void privateFreeIova(Iova iova) {
        if (rbroot.get(iova.pfnLo) != iova) {
            return; // not (or no longer) in this domain
        }
        __cachedRbnodeDeleteUpdate(iova);
        rbroot.remove(iova.pfnLo);
    }

    /** Frees the range containing {@code pfn} (no-op if none). */
    @Port("drivers/iommu/iova.c:free_iova")
    public void freeIova(long pfn) {
        iovaRbtreeLock.lock();
        try {
            Iova iova = privateFindIova(pfn);
            if (iova != null) {
                privateFreeIova(iova);
            }
        } finally {
            iovaRbtreeLock.unlock();
        }
    }

    /**
     * Fast path: a range of {@code size} frames, aligned to {@code size} rounded up to a power of
     * two, at or below {@code limitPfn}, from the range cache of order {@code order_base_2(size)}
     * when possible. The size is not rounded (v5.15): a caller that frees into the caches must
     * pass power-of-two sizes, as dma-iommu does. Returns the start pfn, or 0 on failure;
     * {@code flushRcache} retries once after emptying the caches.
     */
    @Port("drivers/iommu/iova.c:alloc_iova_fast")
    public long allocIovaFast(long size, long limitPfn, boolean flushRcache) {
        // v5.15 takes the size as given: rounding cacheable sizes up to a power of two is the
        // caller's job (iommu_dma_alloc_iova; the rounding moved in here only in v5.17).
        long iovaPfn = iovaRcacheGet(size, limitPfn + 1);
        if (iovaPfn != 0) {
            return iovaPfn;
        }
        while (true) {
            Iova nw = allocIova(size, limitPfn, true);
            if (nw != null) {
                return nw.pfnLo;
            }
            if (!flushRcache) {
                return 0;
            }
            // Tree full: give the cached ranges back to it once, then retry.
            flushRcache = false;
            freeCpuCachedIovas();
            freeGlobalCachedIovas();
        }
    }

    /** Fast path free: into the range cache, else back to the tree. */
    @Port("drivers/iommu/iova.c:free_iova_fast")
    public void freeIovaFast(long pfn, long size) {
        if (iovaRcacheInsert(pfn, size)) {
            return;
        }
        freeIova(pfn);
    }

    /** Frees everything ({@code put_iova_domain}). */
    @Port("drivers/iommu/iova.c:put_iova_domain")
    public void putIovaDomain() {
        fq = null; // free_iova_flush_queue: queued IOVAs die with the tree
        freeIovaRcaches();
        iovaRbtreeLock.lock();
        try {
            rbroot.clear();
        } finally {
            iovaRbtreeLock.unlock();
        }
    }

    @Port("drivers/iommu/iova.c:__is_range_overlap")
    private static boolean __isRangeOverlap(Iova iova, long pfnLo, long pfnHi) {
        return Long.compareUnsigned(pfnLo, iova.pfnHi) <= 0 && Long.compareUnsigned(pfnHi, iova.pfnLo) >= 0;
    }

    /**
     * Reserves [pfnLo, pfnHi] (inclusive) so it is never allocated; merges with overlapping
     * reservations. Returns the (possibly merged) range, or null (nonsensical pfns / -ENOMEM).
     */
    @Port("drivers/iommu/iova.c:reserve_iova")
    public Iova reserveIova(long pfnLo, long pfnHi) {
        // Reject pfns beyond what the granule shift can address.
        if (Warn.WARN_ON(Long.compareUnsigned(pfnHi | pfnLo, -1L >>> iovaShift()) > 0)) {
            return null;
        }
        iovaRbtreeLock.lock();
        try {
            boolean overlap = false;
            for (Iova iova : new java.util.ArrayList<>(rbroot.values())) {
                if (__isRangeOverlap(iova, pfnLo, pfnHi)) {
                    // __adjust_overlap_range
                    if (Long.compareUnsigned(pfnLo, iova.pfnLo) < 0) {
                        rbroot.remove(iova.pfnLo);
                        iova.pfnLo = pfnLo;
                        rbroot.put(iova.pfnLo, iova);
                    }
                    if (Long.compareUnsigned(pfnHi, iova.pfnHi) > 0) {
                        pfnLo = iova.pfnHi + 1;
                    }
                    if (Long.compareUnsigned(pfnLo, iova.pfnLo) >= 0 && Long.compareUnsigned(pfnHi, iova.pfnHi) <= 0) {
                        return iova;
                    }
                    overlap = true;
                } else if (overlap) {
                    break;
                }
            }
            // First reservation here, or the non-overlapping remainder.
            Iova iova = Slab.kzalloc(() -> new Iova(0, 0), GFP_ATOMIC);
            if (iova == null) {
                return null;
            }
            iova.pfnLo = pfnLo;
            iova.pfnHi = pfnHi;
            rbroot.put(pfnLo, iova);
            return iova;
        } finally {
            iovaRbtreeLock.unlock();
        }
    }

    /**
     * Sets up the flush queue: freed IOVAs wait in a ring until an IOTLB flush covers them.
     * 0 or -ENOMEM. The kernel's 10 ms timer is not armed (determinism): the ring flushes when
     * full, or when {@link #fqFlushTimeout} is called.
     */
    @Port("drivers/iommu/iova.c:init_iova_flush_queue")
    public int initIovaFlushQueue(IovaFlushCb cb) {
        IovaFq q = Slab.kzalloc(IovaFq::new, org.iommu4j.base.Gfp.GFP_KERNEL);
        if (q == null) {
            return -org.iommu4j.base.Errno.ENOMEM;
        }
        flushCb = cb;
        fq = q;
        return 0;
    }

    /** Whether a flush queue is set up ({@code has_iova_flush_queue}). */
    @Port("drivers/iommu/iova.c:has_iova_flush_queue")
    public boolean hasIovaFlushQueue() {
        return fq != null;
    }

    /** Number of IOVAs waiting for a flush (tests). */
    public int fqPending() {
        IovaFq q = fq;
        if (q == null) {
            return 0;
        }
        q.lock.lock();
        try {
            return (q.tail - q.head + IOVA_FQ_SIZE) % IOVA_FQ_SIZE;
        } finally {
            q.lock.unlock();
        }
    }

    @Port("drivers/iommu/iova.c:iova_domain_flush")
    private void iovaDomainFlush() {
        fqFlushStartCnt.incrementAndGet();
        flushCb.flush(this);
        fqFlushFinishCnt.incrementAndGet();
    }

    @Port("drivers/iommu/iova.c:fq_ring_free")
    private void fqRingFree(IovaFq q) {
        long counter = fqFlushFinishCnt.get();
        while (q.head != q.tail) {
            int idx = q.head;
            if (q.counter[idx] >= counter) {
                break;
            }
            freeIovaFast(q.iovaPfn[idx], q.pages[idx]);
            q.head = (q.head + 1) % IOVA_FQ_SIZE;
        }
    }

    /** Defers freeing [pfn, pfn+pages) until the IOTLB has been flushed. */
    @Port("drivers/iommu/iova.c:queue_iova")
    public void queueIova(long pfn, long pages) {
        IovaFq q = fq;
        q.lock.lock();
        try {
            // First drop entries already covered by a finished flush.
            fqRingFree(q);
            if ((q.tail + 1) % IOVA_FQ_SIZE == q.head) { // fq_full
                iovaDomainFlush();
                fqRingFree(q);
            }
            int idx = q.tail;
            q.tail = (q.tail + 1) % IOVA_FQ_SIZE;
            q.iovaPfn[idx] = pfn;
            q.pages[idx] = pages;
            q.counter[idx] = fqFlushStartCnt.get();
        } finally {
            q.lock.unlock();
        }
    }

    /** The flush-queue timer's work: flush the IOTLB and free every queued IOVA. */
    @Port("drivers/iommu/iova.c:fq_flush_timeout")
    public void fqFlushTimeout() {
        IovaFq q = fq;
        if (q == null) {
            return;
        }
        iovaDomainFlush();
        q.lock.lock();
        try {
            fqRingFree(q);
        } finally {
            q.lock.unlock();
        }
    }

    // ---- rcache ----

    @Port("drivers/iommu/iova.c:init_iova_rcaches")
    private void initIovaRcaches() {
        for (int i = 0; i < IOVA_RANGE_CACHE_MAX_SIZE; i++) {
            rcaches[i] = new IovaRcache();
        }
    }

    @Port("drivers/iommu/iova.c:iova_magazine_free_pfns")
    private void iovaMagazineFreePfns(IovaMagazine mag) {
        iovaRbtreeLock.lock();
        try {
            for (int i = 0; i < mag.size; i++) {
                Iova iova = privateFindIova(mag.pfns[i]);
                if (Warn.WARN_ON(iova == null)) {
                    continue;
                }
                privateFreeIova(iova);
            }
        } finally {
            iovaRbtreeLock.unlock();
        }
        mag.size = 0;
    }

    @Port("drivers/iommu/iova.c:iova_magazine_pop")
    private static long iovaMagazinePop(IovaMagazine mag, long limitPfn) {
        // Any cached pfn under the limit will do; 0 sends the caller to the tree.
        int i = mag.size - 1;
        while (Long.compareUnsigned(mag.pfns[i], limitPfn) > 0) {
            if (i == 0) {
                return 0;
            }
            i--;
        }
        // Fill the hole with the last entry, shrinking the magazine by one.
        long pfn = mag.pfns[i];
        mag.pfns[i] = mag.pfns[--mag.size];
        return pfn;
    }

    @Port("drivers/iommu/iova.c:__iova_rcache_insert")
    private boolean __iovaRcacheInsert(IovaRcache rcache, long iovaPfn) {
        IovaMagazine magToFree = null;
        boolean canInsert = false;
        rcache.lock.lock();
        try {
            if (!rcache.loaded.full()) {
                canInsert = true;
            } else if (!rcache.prev.full()) {
                IovaMagazine t = rcache.prev;
                rcache.prev = rcache.loaded;
                rcache.loaded = t;
                canInsert = true;
            } else {
                IovaMagazine newMag = Slab.kzalloc(IovaMagazine::new, GFP_ATOMIC);
                if (newMag != null) {
                    if (rcache.depotSize < MAX_GLOBAL_MAGS) {
                        rcache.depot[rcache.depotSize++] = rcache.loaded;
                    } else {
                        magToFree = rcache.loaded;
                    }
                    rcache.loaded = newMag;
                    canInsert = true;
                }
            }
            if (canInsert) {
                rcache.loaded.pfns[rcache.loaded.size++] = iovaPfn;
            }
        } finally {
            rcache.lock.unlock();
        }
        if (magToFree != null) {
            iovaMagazineFreePfns(magToFree);
        }
        return canInsert;
    }

    @Port("drivers/iommu/iova.c:iova_rcache_insert")
    private boolean iovaRcacheInsert(long pfn, long size) {
        int logSize = Bits.orderBase2(size);
        if (logSize >= IOVA_RANGE_CACHE_MAX_SIZE) {
            return false;
        }
        return __iovaRcacheInsert(rcaches[logSize], pfn);
    }

    @Port("drivers/iommu/iova.c:__iova_rcache_get")
    private static long __iovaRcacheGet(IovaRcache rcache, long limitPfn) {
        boolean hasPfn = false;
        rcache.lock.lock();
        try {
            if (!rcache.loaded.empty()) {
                hasPfn = true;
            } else if (!rcache.prev.empty()) {
                IovaMagazine t = rcache.prev;
                rcache.prev = rcache.loaded;
                rcache.loaded = t;
                hasPfn = true;
            } else if (rcache.depotSize > 0) {
                // The empty loaded magazine is dropped (iova_magazine_free).
                rcache.loaded = rcache.depot[--rcache.depotSize];
                rcache.depot[rcache.depotSize] = null;
                hasPfn = true;
            }
            return hasPfn ? iovaMagazinePop(rcache.loaded, limitPfn) : 0;
        } finally {
            rcache.lock.unlock();
        }
    }

    @Port("drivers/iommu/iova.c:iova_rcache_get")
    private long iovaRcacheGet(long size, long limitPfn) {
        int logSize = Bits.orderBase2(size);
        if (logSize >= IOVA_RANGE_CACHE_MAX_SIZE) {
            return 0;
        }
        return __iovaRcacheGet(rcaches[logSize], limitPfn - size);
    }

    @Port("drivers/iommu/iova.c:free_iova_rcaches")
    private void freeIovaRcaches() {
        for (IovaRcache rcache : rcaches) {
            if (rcache == null) {
                continue;
            }
            rcache.lock.lock();
            try {
                rcache.loaded.size = 0;
                rcache.prev.size = 0;
                for (int j = 0; j < rcache.depotSize; j++) {
                    rcache.depot[j] = null;
                }
                rcache.depotSize = 0;
            } finally {
                rcache.lock.unlock();
            }
        }
    }

    @Port("drivers/iommu/iova.c:free_cpu_cached_iovas")
    public void freeCpuCachedIovas() {
        for (IovaRcache rcache : rcaches) {
            rcache.lock.lock();
            try {
                iovaMagazineFreePfns(rcache.loaded);
                iovaMagazineFreePfns(rcache.prev);
            } finally {
                rcache.lock.unlock();
            }
        }
    }

    @Port("drivers/iommu/iova.c:free_global_cached_iovas")
    public void freeGlobalCachedIovas() {
        for (IovaRcache rcache : rcaches) {
            rcache.lock.lock();
            try {
                for (int j = 0; j < rcache.depotSize; j++) {
                    iovaMagazineFreePfns(rcache.depot[j]);
                    rcache.depot[j] = null;
                }
                rcache.depotSize = 0;
            } finally {
                rcache.lock.unlock();
            }
        }
    }
}
