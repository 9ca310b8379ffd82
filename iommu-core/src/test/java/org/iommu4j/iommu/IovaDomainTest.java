package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** iova.c: top-down size-aligned allocation, find, reserve, free, and the rcache fast path. */
@ExtendWith(NoWarnings.class)
class IovaDomainTest {
    static IovaDomain domain(long startPfn) {
        IovaDomain d = new IovaDomain();
        d.initIovaDomain(4096, startPfn);
        return d;
    }

    @Test
    void topDownAndSizeAligned() {
        IovaDomain d = domain(1);
        Iova a = d.allocIova(1, 0xfff, true);
        assertThat(a.pfnLo).isEqualTo(0xfff);
        Iova b = d.allocIova(4, 0xfff, true);
        assertThat(b.pfnLo).isEqualTo(0xff8); // 0xffb..0xffe is not 4-aligned
        assertThat(b.pfnHi).isEqualTo(0xffb);
        // The search continues below the last allocation (b), so the gap 0xffc..0xffe above it
        // stays empty: aligned to 4 below b.
        Iova c = d.allocIova(3, 0xfff, true);
        assertThat(c.pfnLo).isEqualTo(0xff4);
        assertThat(c.pfnHi).isEqualTo(0xff6);
        Iova e = d.allocIova(3, 0xfff, false); // unaligned: right below c
        assertThat(e.pfnLo).isEqualTo(0xff1);
        assertThat(d.findIova(0xff5)).isSameAs(c);
        assertThat(d.findIova(0xff9)).isSameAs(b);
        assertThat(d.findIova(0xffd)).isNull();
        assertThat(d.findIova(0x10)).isNull();
        assertThat(d.iovaDmaAddr(b)).isEqualTo(0xff8000L);
        d.__freeIova(b); // the hint moves up to a
        assertThat(d.findIova(0xff9)).isNull();
        Iova f = d.allocIova(4, 0xfff, true);
        assertThat(f.pfnLo).isEqualTo(0xff8);
        d.freeIova(0xffe); // nothing there: no-op
        assertThat(d.nrIovas()).isEqualTo(4);
        d.freeIova(0xff5);
        assertThat(d.findIova(0xff4)).isNull();
        d.putIovaDomain();
        assertThat(d.nrIovas()).isZero();
    }

    @Test
    void fullSpaceFailsAndFreeingReopensIt() {
        IovaDomain d = domain(1);
        // [1, 8] holds 8 frames: two aligned 4-frame blocks do not fit (pfn 0 excluded).
        Iova x = d.allocIova(4, 8, true);
        assertThat(x.pfnLo).isEqualTo(4);
        assertThat(d.allocIova(4, 8, true)).isNull();
        Iova y = d.allocIova(3, 8, false);
        assertThat(y.pfnLo).isEqualTo(1);
        assertThat(d.allocIova(1, 8, false).pfnLo).isEqualTo(8);
        assertThat(d.allocIova(1, 8, false)).isNull();
        // The 32-bit space remembers a failed size until something below is freed.
        assertThat(d.allocIova(1, 8, false)).isNull();
        d.__freeIova(y);
        assertThat(d.allocIova(1, 8, false)).isNotNull();
    }

    @Test
    void reserveMergesAndIsNeverAllocated() {
        IovaDomain d = domain(1);
        Iova r = d.reserveIova(0x100, 0x1ff);
        assertThat(r.pfnLo).isEqualTo(0x100);
        Iova r2 = d.reserveIova(0x180, 0x1f0); // inside
        assertThat(r2).isSameAs(r);
        Iova r3 = d.reserveIova(0xf0, 0x120); // extends below
        assertThat(r3).isSameAs(r);
        assertThat(r.pfnLo).isEqualTo(0xf0);
        assertThat(d.findIova(0xf5)).isSameAs(r);
        // Allocation below 0x1ff avoids the reservation.
        Iova a = d.allocIova(0x10, 0x1ff, true);
        assertThat(a.pfnHi).isLessThan(0xf0);
        assertThat(a.pfnLo).isEqualTo(0xe0);
        FaultInject.failNth(1);
        assertThat(d.reserveIova(0x300, 0x310)).isNull();
        FaultInject.disarm();
        FaultInject.failNth(1);
        assertThat(d.allocIova(1, 0x1000, true)).isNull();
        FaultInject.disarm();
    }

    @Test
    void rcacheRecyclesAndFlushesWhenFull() {
        IovaDomain d = domain(1);
        // v5.15 does not round the size (dma-iommu does): 3 frames, aligned to 4.
        long p = d.allocIovaFast(3, 0xfffff, true);
        assertThat(p & 3).isZero();
        assertThat(d.findIova(p).iovaSize()).isEqualTo(3);
        d.freeIovaFast(p, 3); // order_base_2(3) = 2: cached with the 4-frame ranges
        // Cached: still in the tree, handed out again.
        assertThat(d.findIova(p)).isNotNull();
        assertThat(d.allocIovaFast(4, 0xfffff, true)).isEqualTo(p);
        d.freeIovaFast(p, 4);
        // A limit below the cached pfn makes the cache miss.
        long q = d.allocIovaFast(4, p - 1, true);
        assertThat(q).isLessThan(p);
        // Large sizes bypass the cache.
        long big = d.allocIovaFast(64, 0xfffff, true);
        d.freeIovaFast(big, 64);
        assertThat(d.findIova(big)).isNull();
        // Exhaust a tiny space; flush_rcache retries after emptying the caches.
        IovaDomain t = domain(1);
        List<Long> got = new ArrayList<>();
        long v;
        while ((v = t.allocIovaFast(1, 16, false)) != 0) {
            got.add(v);
        }
        assertThat(got).hasSize(16);
        for (long g : got) {
            t.freeIovaFast(g, 1);
        }
        assertThat(t.allocIovaFast(2, 16, false)).isZero(); // order-1 cache empty, tree full of cached order-0
        assertThat(t.allocIovaFast(2, 16, true)).isNotZero(); // flushed and retried
    }

    @Test
    void magazinesSpillToDepot() {
        IovaDomain d = domain(1);
        List<Long> got = new ArrayList<>();
        for (int i = 0; i < 3 * IovaDomain.IOVA_MAG_SIZE; i++) {
            got.add(d.allocIovaFast(1, 0xfffff, true));
        }
        for (long g : got) {
            d.freeIovaFast(g, 1);
        }
        Set<Long> again = new HashSet<>();
        for (int i = 0; i < 3 * IovaDomain.IOVA_MAG_SIZE; i++) {
            again.add(d.allocIovaFast(1, 0xfffff, true));
        }
        assertThat(again).containsExactlyInAnyOrderElementsOf(got);
        d.freeCpuCachedIovas();
        d.freeGlobalCachedIovas();
    }

    /**
     * The search starts below the most recent allocation (cached32_node), not at the limit: a
     * hole left above it is skipped until nothing fits below, then the retry from the hint up
     * to the limit finds it.
     */
    @Test
    void searchStartsBelowTheLastAllocationAndRetriesAboveIt() {
        IovaDomain d = domain(0xff8);
        Iova a = d.allocIova(1, 0xfff, false);
        Iova b = d.allocIova(1, 0xfff, false);
        Iova c = d.allocIova(1, 0xfff, false);
        assertThat(new long[] {a.pfnLo, b.pfnLo, c.pfnLo}).containsExactly(0xfff, 0xffe, 0xffd);
        d.__freeIova(b); // hint moves to the range above b: a
        Iova two = d.allocIova(2, 0xfff, false); // does not fit in b's hole: below c
        assertThat(two.pfnLo).isEqualTo(0xffb);
        // One frame would fit in b's hole, but the kernel keeps going down from the hint.
        assertThat(d.allocIova(1, 0xfff, false).pfnLo).isEqualTo(0xffa);
        assertThat(d.allocIova(1, 0xfff, false).pfnLo).isEqualTo(0xff9);
        assertThat(d.allocIova(1, 0xfff, false).pfnLo).isEqualTo(0xff8);
        // Nothing left below the hint (start_pfn reached): retry between the hint and the limit.
        assertThat(d.allocIova(1, 0xfff, false).pfnLo).isEqualTo(0xffe);
        assertThat(d.allocIova(1, 0xfff, false)).isNull();
    }

    /**
     * A search that starts at the anchor (nothing allocated since the space was reserved full)
     * does not retry: the retry bound is the hint's pfn_hi, and the anchor's is the top of the
     * space. (v5.15.0 computed pfn_hi + 1, which wraps to 0 for the anchor, and then handed out
     * pfn 0, below start_pfn; the stable fix is ported.)
     */
    @Test
    void fullSpaceWithTheHintAtTheAnchorFailsInsteadOfGoingBelowStartPfn() {
        IovaDomain d = domain(1);
        assertThat(d.reserveIova(1, 0xf)).isNotNull();
        assertThat(d.allocIova(1, 0xf, false)).isNull();
        assertThat(d.findIova(0)).isNull();
        assertThat(d.nrIovas()).isEqualTo(1);
        // Above 4 GiB too (cached_node).
        IovaDomain h = domain(d.dma32bitPfn);
        assertThat(h.reserveIova(d.dma32bitPfn, d.dma32bitPfn + 0xf)).isNotNull();
        assertThat(h.allocIova(1, d.dma32bitPfn + 0xf, false)).isNull();
        assertThat(h.nrIovas()).isEqualTo(1);
    }

    /** Any free below 4 GiB reopens the 32-bit space, whatever its size. */
    @Test
    void anyFreeBelow4GReopensTheFullThirtyTwoBitSpace() {
        IovaDomain d = domain(1);
        for (int i = 0; i < 15; i++) {
            assertThat(d.allocIova(1, 0xf, false).pfnLo).isEqualTo(0xf - i);
        }
        assertThat(d.allocIova(4, 0xf, true)).isNull(); // max32_alloc_size = 4
        for (long pfn = 4; pfn <= 7; pfn++) {
            d.freeIova(pfn); // one frame each, smaller than the failed size
        }
        Iova four = d.allocIova(4, 0xf, true);
        assertThat(four).isNotNull();
        assertThat(four.pfnLo).isEqualTo(4);
        assertThat(four.pfnHi).isEqualTo(7);
    }

    /**
     * A failed search above 4 GiB also records its size as the 32-bit space's limit: a later
     * 32-bit request of that size fails fast even where an unaligned hole would fit it.
     */
    @Test
    void failedSearchAbove4GAlsoMarksThe32BitSpace() {
        IovaDomain d = domain(1);
        long dma32 = d.dma32bitPfn;
        assertThat(d.reserveIova(1, dma32 - 4)).isNotNull(); // leaves dma32-3..dma32-1 free
        assertThat(d.reserveIova(dma32, dma32 + 3)).isNotNull();
        assertThat(d.allocIova(3, dma32 + 3, true)).isNull(); // no 4-aligned hole of 3 frames
        assertThat(d.allocIova(3, dma32 - 1, false)).isNull(); // iova32_full
        d.freeIova(dma32); // frees a range at 4 GiB: not below it, the mark stays
        assertThat(d.allocIova(3, dma32 - 1, false)).isNull();
        d.freeIova(1); // below 4 GiB: reopened
        Iova three = d.allocIova(3, dma32 - 1, false);
        assertThat(three.pfnLo).isEqualTo(dma32 - 3);
    }

    @Property(tries = 100, seed = "20261203")
    void allocationsNeverOverlapAndRespectLimit(@ForAll @Size(max = 60) List<@IntRange(min = 1, max = 40) Integer> sizes) {
        IovaDomain d = domain(1);
        List<Iova> live = new ArrayList<>();
        for (int s : sizes) {
            Iova a = d.allocIova(s, 0x7ff, true);
            if (a == null) {
                continue;
            }
            assertThat(a.pfnHi).isLessThanOrEqualTo(0x7ff);
            assertThat(a.pfnLo).isGreaterThanOrEqualTo(1);
            long sz = Long.highestOneBit(s) == s ? s : Long.highestOneBit(s) << 1;
            assertThat(a.pfnLo % sz).isZero();
            for (Iova o : live) {
                assertThat(a.pfnHi < o.pfnLo || a.pfnLo > o.pfnHi).isTrue();
            }
            live.add(a);
            if (live.size() % 3 == 0) {
                d.__freeIova(live.remove(0));
            }
        }
    }
}
