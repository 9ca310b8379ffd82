package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import java.lang.management.ManagementFactory;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.smmuv3.hw.TestBed.S1;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The translation path allocates nothing once the caches it uses are filled: a TLB hit, a
 * stage-1 walk and a nested walk (TLB off) are repeated many times and the bytes this thread
 * allocated are counted (HotSpot's per-thread allocation counter). One allocation per
 * translation would show as at least 16 bytes each.
 */
@ExtendWith(NoWarnings.class)
class SmmuV3AllocationTest {
    private static final long VA = 0x0000_7f00_1234_5000L;
    private static final long PA = 0x4567_8000L;
    private static final int N = 20_000;
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private static long allocatedBy(Runnable r) {
        r.run(); // warm up: lazily built state (thread-local scratch, cache entries) is made here
        long before = THREADS.getCurrentThreadAllocatedBytes();
        r.run();
        return THREADS.getCurrentThreadAllocatedBytes() - before;
    }

    private static void repeat(TestBed tb, int sid, long va, long pa) {
        for (int i = 0; i < N; i++) {
            DmaResult r = tb.read(sid, va + (i & 0xff8));
            if (r.status != DmaResult.OK || r.pa != pa + (i & 0xff8)) {
                throw new AssertionError("translation " + i + ": " + r);
            }
        }
    }

    @Test
    void tlbHitAllocatesNothing() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        s1.pt().map(VA, PA, S1_RW);
        assertThat(allocatedBy(() -> repeat(tb, 1, VA, PA))).isLessThan(N);
        assertThat(tb.smmu.tlb().hits()).isGreaterThanOrEqualTo(2L * N - 1);
    }

    @Test
    void stage1WalkAllocatesNothing() {
        TestBed tb = TestBed.full();
        tb.smmu.tlb().setEnabled(false);
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        s1.pt().map(VA, PA, S1_RW);
        assertThat(allocatedBy(() -> repeat(tb, 1, VA, PA))).isLessThan(N);
        assertThat(tb.smmu.tlb().misses()).isEqualTo(2L * N);
    }

    @Test
    void nestedWalkAllocatesNothing() {
        TestBed tb = TestBed.full();
        tb.smmu.tlb().setEnabled(false);
        TestBed.PageTable s2 = tb.new PageTable(12, 40, 1);
        TestBed.PageTable s1 = tb.new PageTable(12, 48);
        long cdtab = tb.alloc(64, 64);
        tb.writeCd(cdtab, cd(3, s1.root, 16, 0));
        s1.map(VA, 0x4800_0000L, S1_RW);
        for (long a = 0x4000_0000L; a < 0x4200_0000L; a += 1 << 21) {
            s2.map(a, a, 2, S2_RW);
        }
        s2.map(0x4800_0000L, 0x5000_0000L, 2, S2_RW);
        long[] ste = steS2(4, s2.root, 24, 1, 0);
        long[] s1ste = steS1(cdtab, 0, 0, 0);
        ste[0] = s1ste[0] | (7L << 1); // Config = nested
        ste[1] = s1ste[1];
        tb.writeSte(8, ste);
        assertThat(allocatedBy(() -> repeat(tb, 8, VA, 0x5000_0000L))).isLessThan(N);
    }
}
