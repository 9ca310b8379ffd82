package org.iommu4j.mm;

import static org.iommu4j.base.Gfp.__GFP_NOFAIL;
import static org.iommu4j.base.Gfp.__GFP_NOWARN;
import static org.iommu4j.base.Gfp.__GFP_ZERO;

import java.util.concurrent.atomic.AtomicLong;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;
import org.iommu4j.base.hw.PhysMem;

/**
 * The page allocator (mm/page_alloc.c) over a range of simulated RAM.
 *
 * <p>Addresses: the simulation's kernel linear map is the identity, so a page's kernel virtual
 * address ({@code page_address}, what {@code __get_free_pages} returns) equals its physical
 * address; {@code __pa}/{@code __va} are no-ops and ported code passes physical addresses. The
 * value 0 means allocation failure (NULL); the allocator never manages physical page 0.
 *
 * <p>Algorithm: a bitmap of allocated frames. Order-0 requests scan from a rotating cursor for a
 * free bit (word at a time); order-n requests look for a naturally aligned run of 2^n free
 * frames, which is what buddy allocation guarantees callers. Every call is a fault-injection
 * site ("alloc_pages"); {@code __GFP_NOFAIL} is never failed.
 *
 * <p>Accounting: {@link #allocatedPages()} counts pages handed out and not freed, so a test
 * asserts no leak by comparing it before and after. Freeing a page that is not allocated, or
 * with the wrong order, WARNs (the kernel's "Bad page state").
 */
@Port("mm/page_alloc.c:__alloc_pages")
public final class PageAlloc {
    public static final int MAX_ORDER = 11;

    private final PhysMem mem;
    private final long base;
    private final long nrFrames;
    /** 1 = allocated. Guarded by {@code this}. */
    private final long[] bitmap;
    /** Order of each allocation, by frame index of its head; -1 elsewhere. Guarded by this. */
    private final byte[] headOrder;
    private long cursor;
    private final AtomicLong allocated = new AtomicLong();
    private final AtomicLong allocCalls = new AtomicLong();

    /** Manages [base, base + size) of {@code mem}; both page aligned. */
    public PageAlloc(PhysMem mem, long base, long size) {
        if ((base & 0xfff) != 0 || (size & 0xfff) != 0 || size <= 0 || !mem.isRam(base, size)) {
            throw new IllegalArgumentException("bad page allocator range");
        }
        this.mem = mem;
        this.base = base;
        this.nrFrames = size >>> 12;
        if (nrFrames > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("range too large");
        }
        this.bitmap = new long[(int) ((nrFrames + 63) >>> 6)];
        this.headOrder = new byte[(int) nrFrames];
        java.util.Arrays.fill(headOrder, (byte) -1);
        // Bits past the end are permanently "allocated".
        for (long f = nrFrames; f < (long) bitmap.length * 64; f++) {
            bitmap[(int) (f >>> 6)] |= 1L << (f & 63);
        }
        if (base == 0) {
            bitmap[0] |= 1; // never hand out physical 0 (it would read as NULL)
        }
    }

    /** The whole RAM of {@code mem} (its first range). */
    public static PageAlloc forAllRam(PhysMem mem) {
        PhysMem.Range r = mem.ranges().get(0);
        return new PageAlloc(mem, r.base(), r.size());
    }

    public PhysMem mem() {
        return mem;
    }

    /**
     * Allocates 2^order contiguous, naturally aligned pages; returns the physical address of the
     * first, or 0 on failure. {@code __GFP_ZERO} zeroes them.
     */
    @Port("include/linux/gfp.h:alloc_pages")
    public long allocPages(int gfp, int order) {
        allocCalls.incrementAndGet();
        if (order < 0 || order >= MAX_ORDER) {
            Warn.WARN_ON_ONCE((gfp & __GFP_NOWARN) == 0);
            return 0;
        }
        if ((gfp & __GFP_NOFAIL) == 0 && FaultInject.shouldFail("alloc_pages")) {
            warnAlloc(gfp, order);
            return 0;
        }
        long frame;
        synchronized (this) {
            frame = order == 0 ? findFree0() : findFreeRun(order);
            if (frame < 0) {
                warnAlloc(gfp, order);
                return 0;
            }
            for (long f = frame; f < frame + (1L << order); f++) {
                bitmap[(int) (f >>> 6)] |= 1L << (f & 63);
            }
            headOrder[(int) frame] = (byte) order;
        }
        allocated.addAndGet(1L << order);
        long pa = base + (frame << 12);
        if ((gfp & __GFP_ZERO) != 0) {
            mem.memset(pa, 0, 4096L << order);
        }
        return pa;
    }

    /** One page ({@code alloc_page}). */
    @Port("include/linux/gfp.h:alloc_page")
    public long allocPage(int gfp) {
        return allocPages(gfp, 0);
    }

    /** {@code __get_free_pages}: same as alloc_pages here (linear map is the identity). */
    @Port("mm/page_alloc.c:__get_free_pages")
    public long __getFreePages(int gfp, int order) {
        return allocPages(gfp, order);
    }

    @Port("mm/page_alloc.c:get_zeroed_page")
    public long getZeroedPage(int gfp) {
        return allocPages(gfp | __GFP_ZERO, 0);
    }

    /** Frees 2^order pages at {@code pa}; 0 is ignored like NULL. */
    @Port("mm/page_alloc.c:__free_pages")
    public void __freePages(long pa, int order) {
        if (pa == 0) {
            return;
        }
        long off = pa - base;
        if ((pa & 0xfff) != 0 || off < 0 || (off >>> 12) >= nrFrames) {
            Warn.WARN(true, "BUG: Bad page state: freeing 0x" + Long.toHexString(pa) + " not from this allocator");
            return;
        }
        long frame = off >>> 12;
        synchronized (this) {
            if (headOrder[(int) frame] != order) {
                Warn.WARN(true, "BUG: Bad page state: free of 0x" + Long.toHexString(pa) + " order " + order
                        + " (allocated with order " + headOrder[(int) frame] + ")");
                return;
            }
            headOrder[(int) frame] = -1;
            for (long f = frame; f < frame + (1L << order); f++) {
                bitmap[(int) (f >>> 6)] &= ~(1L << (f & 63));
            }
        }
        allocated.addAndGet(-(1L << order));
    }

    @Port("mm/page_alloc.c:free_pages")
    public void freePages(long pa, int order) {
        __freePages(pa, order);
    }

    @Port("mm/page_alloc.c:free_page")
    public void freePage(long pa) {
        __freePages(pa, 0);
    }

    /** True if {@code pa} is the head of a live allocation. */
    public synchronized boolean isAllocated(long pa) {
        long off = pa - base;
        return off >= 0 && (off >>> 12) < nrFrames && headOrder[(int) (off >>> 12)] >= 0;
    }

    /** Pages currently allocated (the leak-check figure). */
    public long allocatedPages() {
        return allocated.get();
    }

    /** Calls to alloc_pages so far (successful or not). */
    public long allocCalls() {
        return allocCalls.get();
    }

    @Port("mm/page_alloc.c:nr_free_pages")
    public long nrFreePages() {
        return nrFrames - allocated.get() - (base == 0 ? 1 : 0);
    }

    public long totalPages() {
        return nrFrames;
    }

    private long findFree0() {
        int words = bitmap.length;
        int start = (int) (cursor >>> 6);
        for (int i = 0; i < words; i++) {
            int w = (start + i) % words;
            long inv = ~bitmap[w];
            if (inv != 0) {
                long f = ((long) w << 6) + Long.numberOfTrailingZeros(inv);
                cursor = f + 1 >= nrFrames ? 0 : f + 1;
                return f;
            }
        }
        return -1;
    }

    private long findFreeRun(int order) {
        long n = 1L << order;
        for (long f = 0; f + n <= nrFrames; f += n) {
            if (runFree(f, n)) {
                return f;
            }
        }
        return -1;
    }

    private boolean runFree(long f, long n) {
        if (n >= 64) {
            for (long w = f >>> 6; w < (f + n) >>> 6; w++) {
                if (bitmap[(int) w] != 0) {
                    return false;
                }
            }
            return true;
        }
        long mask = ((1L << n) - 1) << (f & 63);
        return (bitmap[(int) (f >>> 6)] & mask) == 0;
    }

    @Port("mm/page_alloc.c:warn_alloc")
    private static void warnAlloc(int gfp, int order) {
        if ((gfp & __GFP_NOWARN) == 0) {
            Printk.prWarn("page allocation failure: order:%d, mode:%#x", order, gfp);
        }
    }
}
