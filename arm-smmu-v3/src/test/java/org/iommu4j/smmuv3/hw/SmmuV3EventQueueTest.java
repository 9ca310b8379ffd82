package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import java.util.List;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.smmuv3.hw.TestBed.S1;
import org.junit.jupiter.api.Test;

/**
 * When the Event queue is writable (section 7.2.1: enabled, not full, no unacknowledged
 * EVENTQ_ABT_ERR), and what becomes of a stalled transaction whose record can't be written:
 * it is not discarded but held, and retried as a new transaction once the queue is writable
 * again.
 */
class SmmuV3EventQueueTest {
    static final long VA = 0x1234_5000L;
    static final long PA = 0x5000_0000L;
    static final int ALL_ON = CR0_CMDQEN | CR0_EVTQEN | CR0_PRIQEN | CR0_SMMUEN;
    static final int EVENTQ_ABT_ERR = 1 << 2;

    /** SID 1 (ASID 9): stage 1 with CD.S, nothing mapped. SID 2 (ASID 10): stage 1 terminating. */
    private static S1 stallBed(TestBed tb) {
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        long[] c = cd(9, s1.pt().root, 16, 0);
        c[0] |= CD_S;
        tb.writeCd(s1.cdtab(), c);
        tb.setupS1(2, 10, 0, 0);
        return s1;
    }

    private static int stag(long[] event) {
        return (int) (event[1] & 0xffff);
    }

    @Test
    void aStallWithTheEventQueueOffIsHeldThenRetriedWhenTheQueueIsEnabled() {
        TestBed tb = TestBed.full();
        S1 s1 = stallBed(tb);
        tb.writel(CR0, ALL_ON & ~CR0_EVTQEN);
        DmaResult.StallToken token;
        try (Trace.Capture cap = Trace.capture("smmuv3_stall_unrecorded")) {
            DmaResult r = tb.write(1, VA);
            assertThat(r.status).as("not terminated: stall events are never discarded").isEqualTo(DmaResult.STALLED);
            token = r.stall;
            assertThat(cap.records()).hasSize(1);
        }
        assertThat(token.poll()).isEqualTo(-1);
        assertThat(tb.smmu.stalledCount()).isEqualTo(1);
        assertThat(tb.readl(EVENTQ_PROD)).isZero();

        s1.pt().map(VA, PA, S1_RW);
        tb.writel(CR0, ALL_ON);
        assertThat(token.poll()).as("retried").isEqualTo(1);
        assertThat(tb.smmu.stalledCount()).isZero();
        assertThat(tb.drainEvents()).as("the retry translates: nothing to record").isEmpty();
        assertThat(tb.write(1, VA).pa).isEqualTo(PA);
    }

    @Test
    void aStallWithTheEventQueueFullIsHeldWithoutOverflowThenStallsAgainWithItsRecord() {
        TestBed tb = TestBed.full();
        stallBed(tb);
        int cap = 1 << tb.evtqLog2;
        for (int i = 0; i < cap; i++) {
            assertThat(tb.read(2, VA + 0x1000L * i).status).isEqualTo(DmaResult.ABORT);
        }
        assertThat(tb.readl(EVENTQ_PROD)).isEqualTo(cap); // full
        DmaResult.StallToken token = tb.write(1, VA).stall;
        assertThat(token).isNotNull();
        assertThat(tb.readl(EVENTQ_PROD)).as("no overflow: the record is not lost, only late").isEqualTo(cap);
        assertThat(tb.smmu.eventsLost()).isZero();

        tb.writel(EVENTQ_CONS, 4); // room for four
        assertThat(token.poll()).isEqualTo(1);
        // presented again, still unmapped: it stalls again, this time with its record
        DmaResult again = tb.write(1, VA);
        assertThat(again.status).isEqualTo(DmaResult.STALLED);
        DmaResult.StallToken second = again.stall;
        List<long[]> ev = tb.drainEvents();
        assertThat(ev).hasSize(cap - 4 + 1);
        long[] stallRecord = ev.get(ev.size() - 1);
        assertThat(evtId(stallRecord)).isEqualTo(0x10);
        assertThat((stallRecord[1] >>> 31) & 1).as("Stall").isEqualTo(1);
        tb.cmd(0x44 | (2L << 12) | (1L << 32), stag(stallRecord)); // RESUME, terminate with abort
        tb.sync();
        assertThat(second.poll()).isZero();
        assertThat(tb.smmu.stalledCount()).isZero();
    }

    @Test
    void anEventQueueAbortStopsRecordingUntilAcknowledgedAndHeldStallsThenRetry() {
        TestBed tb = TestBed.full();
        stallBed(tb);
        tb.writel(CR0, ALL_ON & ~CR0_EVTQEN);
        tb.writeq(EVENTQ_BASE, 0x1_0000_0000L | tb.evtqLog2); // beyond RAM
        tb.writel(CR0, ALL_ON);
        assertThat(tb.read(2, VA).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.smmu.gerrorActive()).isEqualTo(EVENTQ_ABT_ERR);
        assertThat(tb.readl(EVENTQ_PROD)).isZero();

        // the queue back in RAM, the error not yet acknowledged: nothing is written
        tb.writel(CR0, ALL_ON & ~CR0_EVTQEN);
        tb.writeq(EVENTQ_BASE, tb.evtq | tb.evtqLog2);
        tb.writel(CR0, ALL_ON);
        long discarded = tb.smmu.eventsDiscarded();
        assertThat(tb.read(2, VA).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.smmu.eventsDiscarded()).isEqualTo(discarded + 1);
        DmaResult.StallToken token = tb.write(1, VA).stall;
        assertThat(tb.readl(EVENTQ_PROD)).isZero();
        assertThat(token.poll()).isEqualTo(-1);

        tb.writel(GERRORN, tb.readl(GERROR));
        assertThat(token.poll()).isEqualTo(1);
        assertThat(tb.read(2, VA).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.drainEvents()).singleElement().satisfies(e -> assertThat(evtId(e)).isEqualTo(0x10));
    }

    @Test
    void stallTermTerminatesAHeldStallWhoseRecordWasNeverWritten() {
        TestBed tb = TestBed.full();
        stallBed(tb);
        tb.writel(CR0, ALL_ON & ~CR0_EVTQEN);
        DmaResult.StallToken a = tb.read(1, VA).stall;
        DmaResult.StallToken b = tb.read(1, VA + 0x1000).stall;
        tb.cmd(0x45 | (1L << 32), 0); // STALL_TERM SID 1
        tb.sync();
        assertThat(a.poll()).isZero();
        assertThat(b.poll()).isZero();
        tb.writel(CR0, ALL_ON);
        assertThat(a.poll()).as("not retried afterwards").isZero();
        assertThat(tb.smmu.stalledCount()).isZero();
        assertThat(tb.drainEvents()).isEmpty();
    }
}
