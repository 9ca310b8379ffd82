package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.junit.jupiter.api.Test;

/** Queue pointer arithmetic, wrap and overflow, against a reference model written in the test. */
class SmmuV3QueueTest {

    /** An operation on the event queue: produce n records, consume n, or acknowledge an overflow. */
    record Op(int kind, int n) {}

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> op = Arbitraries.integers().between(0, 2).flatMap(k -> Arbitraries.integers().between(1, 40)
                .map(n -> new Op(k, n)));
        return op.list().ofMinSize(1).ofMaxSize(30);
    }

    @Property(tries = 150, seed = "20261203")
    void eventQueueWrapAndOverflowMatchTheReference(@ForAll @IntRange(min = 0, max = 6) int log2,
                                                    @ForAll("ops") List<Op> ops) {
        TestBed tb = new TestBed(SmmuCaps.full());
        tb.evtqLog2 = log2;
        tb.init();
        int size = 1 << log2;
        int mask = (2 << log2) - 1;
        long written = 0, consumed = 0, next = 0, lost = 0;
        int ovf = 0, ovack = 0;
        long expectFirst = 0; // the SID carried by the next record to consume
        long[] sidOfRecord = new long[4096];
        for (Op op : ops) {
            switch (op.kind()) {
                case 0 -> {
                    for (int i = 0; i < op.n(); i++) {
                        long sid = 0x1000 + next++;
                        assertThat(tb.read((int) sid, 0x1000).status).isEqualTo(DmaResult.ABORT);
                        if (written - consumed == size) {
                            lost++;
                            if (ovf == ovack) {
                                ovf ^= 1;
                            }
                        } else {
                            sidOfRecord[(int) (written % 4096)] = sid;
                            written++;
                        }
                    }
                }
                case 1 -> {
                    int k = (int) Math.min(op.n(), written - consumed);
                    for (int i = 0; i < k; i++) {
                        long a = tb.evtq + 32L * (consumed % size);
                        long dw0 = tb.mem.readq(a);
                        assertThat(dw0 & 0xff).isEqualTo(0x02);
                        assertThat(dw0 >>> 32).isEqualTo(sidOfRecord[(int) (consumed % 4096)]);
                        consumed++;
                    }
                    tb.writel(EVENTQ_CONS, (int) (consumed & mask) | (ovack << 31));
                }
                default -> {
                    ovack = ovf;
                    tb.writel(EVENTQ_CONS, (int) (consumed & mask) | (ovack << 31));
                }
            }
            int prod = tb.readl(EVENTQ_PROD);
            assertThat(prod & 0xfffff).isEqualTo((int) (written & mask));
            assertThat(prod >>> 31).isEqualTo(ovf);
            assertThat(tb.smmu.eventsLost()).isEqualTo(lost);
        }
        // overflow is not a global error (QEMU raises one; the architecture does not)
        assertThat(tb.smmu.gerrorActive()).isZero();
    }

    @Property(tries = 100, seed = "20261203")
    void commandQueueConsumesEverythingAcrossWraps(@ForAll @IntRange(min = 0, max = 8) int log2,
                                                   @ForAll @IntRange(min = 1, max = 700) int count) {
        TestBed tb = new TestBed(SmmuCaps.full());
        tb.cmdqLog2 = log2;
        tb.init();
        int size = 1 << log2;
        int done = 0;
        while (done < count) {
            int batch = Math.min(size, count - done);
            for (int i = 0; i < batch; i++) {
                long slot = tb.cmdq + 16L * ((tb.cmdProd + i) & (size - 1));
                tb.mem.writeq(slot, 0x46);
                tb.mem.writeq(slot + 8, 0);
            }
            tb.cmdProd = (tb.cmdProd + batch) & ((2 << log2) - 1);
            tb.writel(CMDQ_PROD, tb.cmdProd);
            done += batch;
            assertThat(tb.cmdqCons()).isEqualTo(tb.cmdProd);
        }
        assertThat(tb.smmu.syncCount()).isEqualTo(count);
    }

    @Property(tries = 200, seed = "20261203")
    void pointerHelpers(@ForAll @IntRange(min = 0, max = 19) int log2, @ForAll @IntRange(min = 0, max = 1 << 21) int steps) {
        int size = 1 << log2;
        int p = 0;
        // advancing 'steps' times equals steps mod 2*size, with the wrap bit the lap parity
        int s = steps % (2 * size);
        for (int i = 0; i < Math.min(s, 64); i++) {
            p = SmmuV3Internal.Q_INCR(p, log2);
        }
        if (s <= 64) {
            assertThat(p).isEqualTo(s);
            assertThat(SmmuV3Internal.Q_WRAP(p, log2)).isEqualTo(s >= size ? 1 : 0);
            assertThat(SmmuV3Internal.Q_IDX(p, log2)).isEqualTo(s % size);
        }
        int full = size; // prod one lap ahead of cons = 0
        assertThat(SmmuV3Internal.Q_FULL(full & ((2 << log2) - 1), 0, log2)).isTrue();
        assertThat(SmmuV3Internal.Q_EMPTY(0, 0, log2)).isTrue();
        assertThat(SmmuV3Internal.Q_INCR((2 << log2) - 1, log2)).isZero();
    }

    @Test
    void eventsDiscardedWithoutOverflowWhenQueueDisabled() {
        TestBed tb = TestBed.full();
        tb.writel(CR0, tb.readl(CR0) & ~CR0_EVTQEN);
        tb.read(300, 0x1000);
        assertThat(tb.smmu.eventsDiscarded()).isEqualTo(1);
        assertThat(tb.readl(EVENTQ_PROD)).isZero();
        assertThat(tb.smmu.events()).isEmpty();
    }

    @Test
    void eventQueueWriteAbortRaisesEventqAbtErr() {
        TestBed tb = TestBed.full();
        tb.writel(CR0, tb.readl(CR0) & ~CR0_EVTQEN);
        tb.writeq(EVENTQ_BASE, 0x2000_0000L | 4);
        tb.writel(CR0, tb.readl(CR0) | CR0_EVTQEN);
        tb.dma(300, DmaTransaction.NO_SSID, 0, DmaTransaction.ACC_READ);
        assertThat(tb.smmu.gerrorActive() & (1 << 2)).isNotZero();
    }
}
