package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.evtId;

import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;

/** Malformed structures in memory get architected answers (events, aborts), never exceptions. */
class SmmuV3FuzzTest {
    /** Garbage in the tables never escapes as an exception: every answer is architected. */
    @Property(tries = 200, seed = "20261203")
    void randomTablesNeverThrow(@ForAll long dw0, @ForAll long dw1, @ForAll long dw2, @ForAll long dw3,
                                @ForAll long cd0, @ForAll long cd1, @ForAll long addr,
                                @ForAll @IntRange(min = -1, max = 3) int ssid, @ForAll @IntRange(min = 0, max = 15) int acc) {
        TestBed tb = TestBed.full();
        long cdtab = tb.alloc(4096, 4096);
        tb.writeCd(cdtab, cd0 | (1L << 31) | (1L << 41), cd1);
        tb.writeCd(cdtab + 64, cd0, cd1);
        // point the STE's context pointer at the CD table half the time
        long s0 = (dw0 & 1) == 0 ? dw0 : (dw0 & ~0x000f_ffff_ffff_ffc0L) | cdtab;
        tb.writeSte(1, s0, dw1, dw2, dw3);
        DmaTransaction txn = new DmaTransaction().set(1, ssid, addr, 4, acc);
        txn.ats = (acc & 1) != 0 && (acc & 8) != 0;
        DmaResult r = new DmaResult();
        tb.smmu.translate(txn, r);
        if (txn.ats) {
            // a Translation Completion: success (maybe without access), UR or CA; of the events,
            // only F_BAD_ATS_TREQ is recorded for a Translation Request
            assertThat(r.status).isIn(DmaResult.OK, DmaResult.ATS_FAULT, DmaResult.ATS_UR, DmaResult.ATS_CA);
            assertThat(tb.drainEvents()).allSatisfy(e -> assertThat(evtId(e)).isEqualTo(0x05));
        } else {
            assertThat(r.status).isIn(DmaResult.OK, DmaResult.ABORT, DmaResult.STALLED, DmaResult.RAZ_WI);
        }
        if (r.status == DmaResult.STALLED) {
            assertThat(r.stall.poll()).isEqualTo(-1);
        }
        assertThat(tb.smmu.explain(txn)).isNotEmpty();
    }

    /**
     * A sample the property once found: a stage-1 STE whose CD has A = 0 and TTB0 = 0 (outside
     * RAM); the walk's external abort completes as RAZ/WI, which is an architected answer too.
     */
    @Example
    void faultUnderCdWithoutAbortIsRazWi() {
        randomTablesNeverThrow(43, 0, 0, 0, 16, 0, 0, DmaTransaction.NO_SSID, DmaTransaction.ACC_READ);
        TestBed tb = TestBed.full();
        long cdtab = tb.alloc(4096, 4096);
        tb.writeCd(cdtab, 16 | (1L << 30) | (1L << 31) | (1L << 41)); // EPD1: the TTB1 fields IGNORED
        tb.writeSte(1, 43 | cdtab, 0, 0, 0);
        DmaResult r = tb.read(1, 0);
        assertThat(r.status).isEqualTo(DmaResult.RAZ_WI);
        assertThat(r.faultReason).isEqualTo(SmmuV3Internal.EVT_F_WALK_EABT);
    }

}
