package org.iommu4j.mm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Gfp.GFP_ATOMIC;
import static org.iommu4j.base.Gfp.GFP_KERNEL;
import static org.iommu4j.base.Gfp.__GFP_NOFAIL;
import static org.iommu4j.base.Gfp.__GFP_NOWARN;
import static org.iommu4j.base.Gfp.__GFP_ZERO;

import java.util.HashSet;
import java.util.Set;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class PageAllocTest {
    private final PhysMem mem = new PhysMem(0x4000_0000L, 1L << 20); // 256 frames
    private final PageAlloc pa = PageAlloc.forAllRam(mem);

    @Test
    void allocatesDistinctPageAlignedFramesInRamAndAccountsThem() {
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            long p = pa.allocPages(GFP_KERNEL, 0);
            assertThat(p).isNotZero();
            assertThat(p & 0xfff).isZero();
            assertThat(mem.isRam(p, 4096)).isTrue();
            assertThat(seen.add(p)).isTrue();
        }
        assertThat(pa.allocatedPages()).isEqualTo(100);
        for (long p : seen) {
            pa.freePage(p);
        }
        assertThat(pa.allocatedPages()).isZero();
        assertThat(pa.nrFreePages()).isEqualTo(256);
    }

    @Test
    void higherOrdersAreContiguousAndNaturallyAligned() {
        for (int order = 1; order <= 6; order++) {
            long p = pa.allocPages(GFP_KERNEL, order);
            assertThat(p).isNotZero();
            assertThat((p - 0x4000_0000L) % (4096L << order)).isZero();
            assertThat(pa.allocatedPages()).isEqualTo((1L << order) + sumBelow(order));
        }
    }

    private static long sumBelow(int order) {
        long s = 0;
        for (int o = 1; o < order; o++) {
            s += 1L << o;
        }
        return s;
    }

    @Test
    void gfpZeroZeroesAndGetZeroedPageToo() {
        long p = pa.allocPages(GFP_KERNEL, 1);
        mem.memset(p, 0xab, 8192);
        pa.__freePages(p, 1);
        long q = pa.allocPages(GFP_KERNEL | __GFP_ZERO, 1);
        assertThat(q).isEqualTo(p);
        assertThat(mem.readq(q)).isZero();
        assertThat(mem.readq(q + 8184)).isZero();
        pa.__freePages(q, 1);
        long r = pa.allocPages(GFP_ATOMIC, 0);
        mem.writeq(r, -1L);
        pa.freePage(r);
        long z = pa.getZeroedPage(GFP_KERNEL);
        assertThat(mem.readq(z)).isZero();
    }

    @Test
    void exhaustionReturnsZeroAndWarnsUnlessNowarn() throws Exception {
        long p = pa.allocPages(GFP_KERNEL, 8); // all 256 frames
        assertThat(p).isNotZero();
        java.util.List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable f = Printk.follow(l -> log.add(l.text()))) {
            assertThat(pa.allocPages(GFP_KERNEL | __GFP_NOWARN, 0)).isZero();
            assertThat(log).isEmpty();
            assertThat(pa.allocPages(GFP_KERNEL, 0)).isZero();
            assertThat(log).anyMatch(t -> t.contains("page allocation failure: order:0"));
        }
        pa.__freePages(p, 8);
        assertThat(pa.allocatedPages()).isZero();
    }

    @Test
    void faultInjectionFailsTheNthAllocationButNeverNofail() {
        FaultInject.failNth(2);
        assertThat(pa.allocPages(GFP_KERNEL | __GFP_NOWARN, 0)).isNotZero();
        assertThat(pa.allocPages(GFP_KERNEL | __GFP_NOWARN, 0)).isZero();
        assertThat(FaultInject.fired()).isTrue();
        assertThat(FaultInject.firedSite()).isEqualTo("alloc_pages");
        FaultInject.failNth(1);
        assertThat(pa.allocPages(GFP_KERNEL | __GFP_NOFAIL, 0)).isNotZero();
        assertThat(pa.allocatedPages()).isEqualTo(2);
    }

    @Test
    void badFreesWarnAndChangeNothing() {
        long p = pa.allocPages(GFP_KERNEL, 1);
        pa.__freePages(p, 0); // wrong order
        pa.__freePages(0x1000, 0); // not ours
        pa.__freePages(0, 0); // NULL: ignored silently
        assertThat(Warn.drain()).hasSize(2).allMatch(w -> w.contains("Bad page state"));
        assertThat(pa.allocatedPages()).isEqualTo(2);
        assertThat(pa.isAllocated(p)).isTrue();
        pa.__freePages(p, 1);
        pa.__freePages(p, 1); // double free
        assertThat(Warn.drain()).hasSize(1);
        assertThat(pa.allocatedPages()).isZero();
    }

    @Test
    void badOrderIsAFailureNotAnException() {
        assertThat(pa.allocPages(GFP_KERNEL | __GFP_NOWARN, PageAlloc.MAX_ORDER)).isZero();
        assertThat(pa.allocPages(GFP_KERNEL | __GFP_NOWARN, -1)).isZero();
        assertThat(pa.allocPages(GFP_KERNEL, 99)).isZero();
        assertThat(Warn.drain()).hasSize(1);
    }
}
