package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import java.lang.management.ManagementFactory;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
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
        r.run(); // warm up: lazily built state (the walk scratch in DmaResult.cb, cache entries) is made here
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
        tb.setupS1Mapped(VA, PA);
        assertThat(allocatedBy(() -> repeat(tb, 1, VA, PA))).isLessThan(N);
        assertThat(tb.smmu.tlb().hits()).isGreaterThanOrEqualTo(2L * N - 1);
    }

    @Test
    void stage1WalkAllocatesNothing() {
        TestBed tb = TestBed.full();
        tb.smmu.tlb().setEnabled(false);
        tb.setupS1Mapped(VA, PA);
        assertThat(allocatedBy(() -> repeat(tb, 1, VA, PA))).isLessThan(N);
        assertThat(tb.smmu.tlb().misses()).isEqualTo(2L * N);
    }

    @Test
    void atsTranslationRequestsAllocateNothing() {
        TestBed tb = TestBed.full();
        tb.setupS1AtsMapped(VA, PA, S1_RW);
        assertThat(allocatedBy(() -> {
            for (int i = 0; i < N; i++) {
                tb.txn.set(1, DmaTransaction.NO_SSID, VA + (i & 0xff8), 4, DmaTransaction.ACC_READ);
                tb.txn.ats = true;
                tb.smmu.translate(tb.txn, tb.res);
                if (tb.res.status != DmaResult.OK || tb.res.pa != PA) {
                    throw new AssertionError("ATS request " + i + ": " + tb.res);
                }
            }
        })).isLessThan(N);
        assertThat(tb.smmu.configCache().steMisses()).isEqualTo(1);
    }

    @Test
    void nestedWalkAllocatesNothing() {
        TestBed tb = TestBed.full();
        tb.smmu.tlb().setEnabled(false);
        tb.setupNested(8, VA);
        assertThat(allocatedBy(() -> repeat(tb, 8, VA, NESTED_PA))).isLessThan(N);
    }
}
