package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.smmuv3.hw.TestBed.S1;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Translations racing invalidations: a device thread translates one address without pause
 * while the test thread remaps it, invalidates the TLB and waits for CMD_SYNC, round after
 * round. A translation in flight during an invalidation may give the old or the new mapping
 * (as on hardware); one that starts after the CMD_SYNC completed must never give an older one,
 * whatever the TLB, the micro-TLB or a racing walk had cached.
 */
@ExtendWith(NoWarnings.class)
class SmmuV3ConcurrencyTest {
    private static final long VA = 0x0000_7f00_1234_5000L;
    /** Three output pages used in turn, so "older than the published one" is never ambiguous. */
    private static final long[] PAS = {0x4567_8000L, 0x4577_8000L, 0x4587_8000L};
    private static final int ROUNDS = 300;
    private static final int TRANSLATIONS_PER_ROUND = 64;

    @ParameterizedTest(name = "tlb {0}")
    @ValueSource(booleans = {true, false})
    void noTranslationStartedAfterSyncUsesAnOlderMapping(boolean tlbOn) throws Exception {
        TestBed tb = TestBed.full();
        tb.smmu.tlb().setEnabled(tlbOn);
        S1 s1 = tb.setupS1Mapped(VA, PAS[0]);
        AtomicInteger published = new AtomicInteger(); // rounds whose remap + TLBI + SYNC completed
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong translations = new AtomicLong();
        AtomicReference<String> failure = new AtomicReference<>();
        Thread device = new Thread(() -> {
            DmaTransaction t = new DmaTransaction();
            DmaResult r = new DmaResult();
            while (!stop.get()) {
                int round = published.get(); // before the translation starts
                tb.smmu.translate(t.set(1, DmaTransaction.NO_SSID, VA + 0x10, 4, DmaTransaction.ACC_READ), r);
                boolean current = r.pa == PAS[round % 3] + 0x10;
                boolean next = r.pa == PAS[(round + 1) % 3] + 0x10; // the remap in progress
                if (r.status != DmaResult.OK || !(current || next)) {
                    failure.compareAndSet(null, "started after round " + round + ": " + r);
                    return;
                }
                translations.incrementAndGet();
            }
        }, "dma");
        device.start();
        try {
            for (int round = 1; round <= ROUNDS && failure.get() == null; round++) {
                long seen = translations.get();
                while (translations.get() < seen + TRANSLATIONS_PER_ROUND && failure.get() == null
                        && device.isAlive()) {
                    Thread.onSpinWait();
                }
                s1.pt().map(VA, PAS[round % 3], S1_RW);
                tb.tlbiVa(9, VA); // TLBI_NH_VA + CMD_SYNC, consumed on the doorbell
                published.set(round);
            }
        } finally {
            stop.set(true);
            device.join();
        }
        assertThat(failure.get()).isNull();
        assertThat(translations.get()).isGreaterThanOrEqualTo((long) ROUNDS * TRANSLATIONS_PER_ROUND);
        if (tlbOn) {
            assertThat(tb.smmu.tlb().hits()).as("the cached paths were exercised").isPositive();
        }
    }

    @Test
    void concurrentTranslationsOfManyPagesAgreeWithTheTables() throws Exception {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        for (int i = 0; i < 64; i++) {
            s1.pt().map(VA + 0x1000L * i, PAS[0] + 0x10_0000L * i, S1_RW);
        }
        AtomicReference<String> failure = new AtomicReference<>();
        Thread[] threads = new Thread[2];
        for (int n = 0; n < threads.length; n++) {
            int seed = n;
            threads[n] = new Thread(() -> {
                DmaTransaction t = new DmaTransaction();
                DmaResult r = new DmaResult();
                for (int k = 0; k < 50_000 && failure.get() == null; k++) {
                    int i = (k * 7 + seed * 13) & 63;
                    tb.smmu.translate(t.set(1, DmaTransaction.NO_SSID, VA + 0x1000L * i + 8, 4,
                            DmaTransaction.ACC_READ), r);
                    if (r.status != DmaResult.OK || r.pa != PAS[0] + 0x10_0000L * i + 8) {
                        failure.compareAndSet(null, "page " + i + ": " + r);
                    }
                }
            });
            threads[n].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(failure.get()).isNull();
    }
}
