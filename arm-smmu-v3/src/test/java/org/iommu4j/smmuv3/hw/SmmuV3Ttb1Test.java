package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import java.util.List;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.hw.Interconnect;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Stage 1's two VA ranges (Arm ARM D8, translation regimes with two VA ranges; SMMUv3 CD fields
 * T1SZ, TG1, EPD1, TBI1, HAD1, TTB1): input bit 55 picks the range, the upper one's inputs have
 * every bit above its size set, and its walks, TLB entries, walk cache entries and invalidations
 * are its own.
 */
@ExtendWith(NoWarnings.class)
class SmmuV3Ttb1Test {
    static final int R = DmaTransaction.ACC_READ, W = DmaTransaction.ACC_WRITE, P = DmaTransaction.ACC_PRIV;
    static final int NO = DmaTransaction.NO_SSID;
    /** The same 48 low bits in the lower and the upper range of a 48-bit regime. */
    static final long LO = 0x0000_8000_1234_5000L, HI = 0xffff_8000_1234_5000L;
    static final long PA_LO = 0x4567_8000L, PA_HI = 0x4abc_d000L;
    static final long EPD1 = 1L << 30, TBI0 = 1L << 38, TBI1 = 1L << 39;
    static final int F_TRANSLATION = 0x10, F_PERMISSION = 0x13;
    /** TG1 encodings: not TG0's. */
    static final int TG1_16K = 1, TG1_4K = 2, TG1_64K = 3;

    /** A stage-1 stream (SID 1, ASID 9) whose CD has both halves: TTB0 4K/48-bit, TTB1 as given. */
    static final class Bed {
        final TestBed tb;
        final long cdtab;
        final TestBed.PageTable lo;
        final TestBed.PageTable hi;
        final long[] cd;

        Bed(TestBed tb, int g1, int tg1, int t1sz) {
            this.tb = tb;
            lo = tb.new PageTable(12, 48);
            hi = tb.new PageTable(g1, 64 - t1sz);
            cdtab = tb.alloc(64, 64);
            cd = cd(9, lo.root, 16, 0);
            cd[0] = cd[0] & ~EPD1 | (long) t1sz << 16 | (long) tg1 << 22;
            cd[2] = hi.root;
            tb.writeCd(cdtab, cd);
            tb.writeSte(1, steS1(cdtab, 0, 0, 0));
            lo.map(LO, PA_LO, S1_RW);
        }

        Bed(TestBed tb) {
            this(tb, 12, TG1_4K, 16);
            hi.map(HI, PA_HI, S1_RW);
        }

        /** Rewrites the CD with {@code set} ORed into dword 0 and {@code clear} cleared, and invalidates it. */
        void cd0(long set, long clear) {
            cd[0] = cd[0] & ~clear | set;
            tb.writeCd(cdtab, cd);
            tb.cfgiCd(1, 0);
            tb.tlbiAsid(9);
        }
    }

    private static long[] only(TestBed tb, int id) {
        List<long[]> ev = tb.drainEvents();
        assertThat(ev).hasSize(1);
        assertThat(evtId(ev.get(0))).isEqualTo(id);
        return ev.get(0);
    }

    /** A read of {@code va} on SID 1 that faults with F_TRANSLATION at stage 1, reporting {@code va}. */
    private static void translationFault(TestBed tb, long va, String what) {
        DmaResult r = tb.read(1, va);
        assertThat(r.status).as(what).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, F_TRANSLATION);
        assertThat((e[1] >>> 39) & 1).as(what + ": stage 1").isZero();
        assertThat((e[1] >>> 35) & 1).as(what + ": RnW").isEqualTo(1);
        assertThat(e[2]).as(what + ": InputAddr").isEqualTo(va);
    }

    @Test
    void anUpperInputWalksTtb1AndALowerOneTtb0() {
        Bed b = new Bed(TestBed.full());
        DmaResult r = b.tb.read(1, HI + 0x18);
        assertThat(r.status).as(r.toString()).isEqualTo(DmaResult.OK);
        assertThat(r.pa).isEqualTo(PA_HI + 0x18);
        assertThat(b.tb.read(1, LO + 0x18).pa).isEqualTo(PA_LO + 0x18);
        assertThat(b.tb.write(1, HI).pa).isEqualTo(PA_HI);
        assertThat(b.tb.drainEvents()).isEmpty();
    }

    /**
     * TG1's encoding (1 16K, 2 4K, 3 64K) and T1SZ set the upper range's granule and size: the
     * walk takes that granule's levels, and the range's inputs are those whose bits from
     * 64 - T1SZ up are all ones; clear one and the input is outside both ranges.
     */
    @ParameterizedTest
    @CsvSource({"12, 2, 16", "14, 1, 16", "16, 3, 16", "12, 2, 25", "14, 1, 28", "16, 3, 22"})
    void tg1AndT1szShapeTheUpperRange(int g, int tg1, int t1sz) {
        TestBed tb = TestBed.full();
        Bed b = new Bed(tb, g, tg1, t1sz);
        int ias = 64 - t1sz;
        long va = -1L << ias | 0x0234_5678L;
        b.hi.map(va, PA_HI, S1_RW);
        long page = 1L << g;
        DmaResult r = tb.read(1, va);
        assertThat(r.status).as(r.toString()).isEqualTo(DmaResult.OK);
        assertThat(r.pa).isEqualTo((PA_HI & -page) | (va & (page - 1)));
        assertThat(r.pageSize).isEqualTo(page);
        // bit 64 - T1SZ clear (bit 55 still set): outside the upper range
        translationFault(tb, va & ~(1L << ias), "bit " + ias + " clear");
        assertThat(tb.read(1, LO).pa).isEqualTo(PA_LO);
    }

    /**
     * The top-bits check of each range, with and without its TBI: without TBI1 an upper input
     * needs bits [63:48] all ones; with TBI1 bits [63:56] are ignored and [55:48] must be ones.
     * TBI0 and TBI1 are apart: TBI0 alone leaves a tagged upper address faulting.
     */
    @Test
    void topBitsAreCheckedPerRangeWithAndWithoutTbi() {
        Bed b = new Bed(TestBed.full());
        TestBed tb = b.tb;
        long taggedHi = 0x5aff_8000_1234_5000L;
        long zeroTopHi = 0x00ff_8000_1234_5000L; // bit 55 set, top byte clear
        long holeHi = 0xffbf_8000_1234_5000L; // bit 54 clear
        long notAllOnesHi = 0xfffe_8000_1234_5000L; // bit 48 clear
        long taggedLo = 0x5a00_8000_1234_5000L;
        // neither TBI: every bit above 48 must be a copy of the range's
        translationFault(tb, taggedHi, "TBI1 = 0, tagged");
        translationFault(tb, zeroTopHi, "TBI1 = 0, top byte 0");
        translationFault(tb, holeHi, "TBI1 = 0, bit 54 clear");
        translationFault(tb, notAllOnesHi, "TBI1 = 0, bit 48 clear");
        translationFault(tb, taggedLo, "TBI0 = 0, tagged");
        // TBI0 alone: the lower range ignores its top byte, the upper does not
        b.cd0(TBI0, 0);
        assertThat(tb.read(1, taggedLo).pa).isEqualTo(PA_LO);
        translationFault(tb, taggedHi, "TBI0 only, tagged upper");
        // TBI1: the top byte of an upper input is ignored, bits [55:48] are still checked
        b.cd0(TBI1, TBI0);
        assertThat(tb.read(1, taggedHi).pa).isEqualTo(PA_HI);
        assertThat(tb.read(1, zeroTopHi).pa).isEqualTo(PA_HI);
        assertThat(tb.read(1, HI).pa).isEqualTo(PA_HI);
        translationFault(tb, holeHi, "TBI1 = 1, bit 54 clear");
        translationFault(tb, notAllOnesHi, "TBI1 = 1, bit 48 clear");
        translationFault(tb, taggedLo, "TBI1 only, tagged lower");
        assertThat(tb.read(1, LO).pa).isEqualTo(PA_LO);
    }

    @Test
    void epd1MakesTheUpperRangeATranslationFault() {
        Bed b = new Bed(TestBed.full());
        assertThat(b.tb.read(1, HI).pa).isEqualTo(PA_HI);
        b.cd0(EPD1, 0);
        translationFault(b.tb, HI, "EPD1 = 1");
        assertThat(b.tb.read(1, LO).pa).isEqualTo(PA_LO);
        // EPD1 = 1 leaves the TTB1 fields IGNORED: a reserved TG1 and T1SZ 0 are no C_BAD_CD
        b.cd0(0, 0xffL << 16);
        translationFault(b.tb, HI, "EPD1 = 1, TTB1 fields unusable");
        assertThat(b.tb.read(1, LO).pa).isEqualTo(PA_LO);
    }

    /**
     * The same 48 low bits in both ranges are two translations: the TLB entry one range's walk
     * makes never answers the other's address (the second read misses and walks), and the walk
     * cache's table descriptors of one range never start the other's walk.
     */
    @Test
    void theTlbAndTheWalkCacheKeepTheRangesApart() {
        for (boolean tlbOn : new boolean[] {true, false}) {
            TestBed tb = TestBed.full();
            tb.smmu.tlb().setEnabled(tlbOn);
            Bed b = new Bed(tb);
            for (int round = 0; round < 2; round++) {
                String what = "TLB " + (tlbOn ? "on" : "off") + ", round " + round;
                long misses = tb.smmu.tlb().misses();
                assertThat(tb.read(1, LO + 8).pa).as(what + ": lower").isEqualTo(PA_LO + 8);
                assertThat(tb.read(1, HI + 8).pa).as(what + ": upper").isEqualTo(PA_HI + 8);
                assertThat(tb.read(1, LO).pa).as(what + ": lower again").isEqualTo(PA_LO);
                assertThat(tb.read(1, HI).pa).as(what + ": upper again").isEqualTo(PA_HI);
                if (tlbOn && round == 0) {
                    assertThat(tb.smmu.tlb().misses() - misses).as(what + ": one miss per range").isEqualTo(2);
                }
                if (!tlbOn && round == 1) {
                    assertThat(tb.smmu.walkCache().hits()).as(what + ": walks resumed from the cache").isPositive();
                }
            }
        }
    }

    /**
     * TLBI_NH_VA of an upper address removes the upper range's entry, whether its Address field
     * holds the address whole or bits [55:12] with a clear top byte (sign-extended from bit 55);
     * a TLBI of the lower address with the same low bits leaves it.
     */
    @Test
    void tlbiNhVaReachesTheUpperRange() {
        for (boolean whole : new boolean[] {true, false}) {
            Bed b = new Bed(TestBed.full());
            TestBed tb = b.tb;
            assertThat(tb.read(1, HI).pa).isEqualTo(PA_HI);
            b.hi.map(HI, PA_HI + 0x10_0000, S1_RW); // remapped without invalidation
            assertThat(tb.read(1, HI).pa).as("stale").isEqualTo(PA_HI);
            tb.tlbiVa(9, LO);
            assertThat(tb.read(1, HI).pa).as("a TLBI of the lower twin leaves it").isEqualTo(PA_HI);
            tb.tlbiVa(9, whole ? HI : HI & 0x00ff_ffff_ffff_ffffL);
            assertThat(tb.read(1, HI).pa).as(whole ? "whole address" : "bits [55:12]").isEqualTo(PA_HI + 0x10_0000);
            assertThat(tb.read(1, LO).pa).isEqualTo(PA_LO);
        }
    }

    /**
     * A broadcast TLBI by VA (BTM, CD.ASET = 0) of an upper address reaches the upper range's
     * entry; one of the lower twin leaves it.
     */
    @Test
    void aBroadcastTlbiByVaReachesTheUpperRange() {
        Bed b = new Bed(TestBed.full());
        TestBed tb = b.tb;
        b.cd[0] &= ~(1L << 47); // ASET = 0: the ASID is the CPUs'
        b.cd0(0, 0);
        assertThat(tb.read(1, HI).pa).isEqualTo(PA_HI);
        b.hi.map(HI, PA_HI + 0x10_0000, S1_RW);
        tb.board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.VA, 9, 0, LO, true, 12, 1));
        assertThat(tb.read(1, HI).pa).as("the lower twin's broadcast").isEqualTo(PA_HI);
        tb.board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.VA, 9, 0, HI, true, 12, 1));
        assertThat(tb.read(1, HI).pa).isEqualTo(PA_HI + 0x10_0000);
    }

    /** An ATS Translation Request for an upper address is answered from TTB1's tables. */
    @Test
    void anAtsRequestForAnUpperAddressTranslatesThroughTtb1() {
        Bed b = new Bed(TestBed.full());
        TestBed tb = b.tb;
        long[] ste = steS1(b.cdtab, 0, 0, 0);
        ste[1] |= 1L << 28; // EATS = translate
        tb.writeSte(1, ste);
        tb.cfgiSte(1);
        for (long va : new long[] {HI, LO}) {
            tb.txn.set(1, NO, va, 4, R);
            tb.txn.ats = true;
            tb.smmu.translate(tb.txn, tb.res);
            assertThat(tb.res.status).as(tb.res.toString()).isEqualTo(DmaResult.OK);
            assertThat(tb.res.pa).isEqualTo(va == HI ? PA_HI : PA_LO);
        }
        tb.txn.ats = false;
    }

    /**
     * A TLBI_NH_VA without Leaf also removes the upper range's cached table descriptors: a
     * driver that moves a level-2 table of TTB1 and invalidates by VA sees the new one.
     */
    @Test
    void tlbiNhVaWithoutLeafReachesTheUpperRangesWalkCache() {
        Bed b = new Bed(TestBed.full());
        TestBed tb = b.tb;
        tb.smmu.tlb().setEnabled(false); // walks only: what the walk cache holds shows
        assertThat(tb.read(1, HI).pa).isEqualTo(PA_HI);
        // a new level-3 table for HI's 2 MiB, swapped into the level-2 descriptor
        long l2 = b.hi.root + 8 * ((HI >>> 39) & 0x1ff);
        for (int shift : new int[] {30, 21}) {
            l2 = (tb.mem.readq(l2) & 0x0000_ffff_ffff_f000L) + 8 * ((HI >>> shift) & 0x1ff);
        }
        long table = tb.alloc(4096, 4096);
        tb.mem.writeq(table + 8 * ((HI >>> 12) & 0x1ff), PA_HI + 0x20_0000 | S1_RW | PTE_PAGE);
        tb.mem.writeq(l2, table | 3);
        assertThat(tb.read(1, HI).pa).as("the cached level-2 descriptor").isEqualTo(PA_HI);
        tb.cmd(0x12 | (9L << 48), HI & ~0xfffL); // TLBI_NH_VA, Leaf = 0
        tb.sync();
        assertThat(tb.read(1, HI).pa).isEqualTo(PA_HI + 0x20_0000);
    }

    /**
     * The EL2 regime of CR2.E2H = 0 has one VA range: TTB0 takes every input, an input with bit
     * 55 set is outside it, and the TTB1 fields are IGNORED (unusable ones are no C_BAD_CD). With
     * E2H = 1 the EL2 regime has both ranges.
     */
    @Test
    void theEl2RegimeWithoutE2hHasTtb0Alone() {
        for (boolean e2h : new boolean[] {false, true}) {
            TestBed tb = TestBed.full();
            tb.writel(CR2, CR2_RECINVSID | (e2h ? CR2_E2H : 0));
            Bed b = new Bed(tb);
            long[] ste = steS1(b.cdtab, 0, 0, 0);
            ste[1] |= 2L << 30; // STRW = EL2
            tb.writeSte(1, ste);
            tb.cfgiSte(1);
            assertThat(tb.read(1, LO).pa).as("E2H " + e2h).isEqualTo(PA_LO);
            if (e2h) {
                assertThat(tb.read(1, HI).pa).isEqualTo(PA_HI);
                continue;
            }
            translationFault(tb, HI, "EL2, E2H = 0");
            assertThat(String.join("\n", tb.smmu.explain(txn(HI)))).contains("one VA range").contains("TTB0")
                    .doesNotContain("TTB1 0x");
            b.cd0(0, 0xffL << 16); // T1SZ 0, TG1 reserved: IGNORED here
            assertThat(tb.read(1, LO).pa).isEqualTo(PA_LO);
            translationFault(tb, HI, "EL2, E2H = 0, unusable TTB1 fields");
        }
    }

    /**
     * Nested: TTB1's table walk goes through stage 2 as TTB0's does. The upper range's output
     * IPA is translated by stage 2, and where stage 2 stops mapping the TTB1 tables the walk
     * takes a stage 2 fault of CLASS TT with the descriptor's IPA, while TTB0's walk goes on.
     */
    @Test
    void aNestedTtb1WalkGoesThroughStage2() {
        TestBed tb = TestBed.full();
        TestBed.PageTable s2 = tb.new PageTable(12, 40, 1);
        TestBed.PageTable lo = tb.new PageTable(12, 48);
        lo.map(LO, NESTED_IPA, S1_RW);
        tb.alloc(2 << 20, 2 << 20); // TTB1's tables in a 2 MiB block of their own
        TestBed.PageTable hi = tb.new PageTable(12, 48);
        hi.map(HI, NESTED_IPA + 0x1000, S1_RW);
        long hiBlock = hi.root & -(1L << 21);
        long hiBlockPte = 0;
        for (long a = 0x4000_0000L; a < 0x4200_0000L; a += 1 << 21) {
            long pte = s2.map(a, a, 2, S2_RW);
            if (a == hiBlock) {
                hiBlockPte = pte;
            }
        }
        s2.map(NESTED_IPA, NESTED_PA, 2, S2_RW);
        long cdtab = tb.alloc(64, 64);
        long[] c = cd(3, lo.root, 16, 0);
        c[0] = c[0] & ~EPD1 | 16L << 16 | (long) TG1_4K << 22;
        c[2] = hi.root;
        tb.writeCd(cdtab, c);
        long[] ste = steS2(4, s2.root, 24, 1, 0);
        long[] s1ste = steS1(cdtab, 0, 0, 0);
        ste[0] = s1ste[0] | (7L << 1); // Config = nested
        ste[1] = s1ste[1];
        tb.writeSte(8, ste);
        assertThat(tb.read(8, HI + 4).pa).isEqualTo(NESTED_PA + 0x1000 + 4);
        assertThat(tb.read(8, LO + 4).pa).isEqualTo(NESTED_PA + 4);
        // stage 2 no longer maps the block holding TTB1's tables
        tb.mem.writeq(hiBlockPte, 0);
        tb.cmd(0x28 | (4L << 32), 0); // TLBI_S12_VMALL VMID 4
        tb.sync();
        assertThat(tb.read(8, HI).status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, F_TRANSLATION);
        assertThat((e[1] >>> 39) & 1).as("S2").isEqualTo(1);
        assertThat((e[1] >>> 40) & 3).as("CLASS TT").isEqualTo(1);
        assertThat(e[2]).as("InputAddr").isEqualTo(HI);
        // the record's IPA holds bits [51:12]: the page of TTB1's level-0 descriptor
        assertThat(e[3]).as("IPA").isEqualTo((hi.root + 8 * ((HI >>> 39) & 0x1ff)) & ~0xfffL);
        assertThat(tb.read(8, LO).pa).isEqualTo(NESTED_PA);
    }

    /** HTTU updates the upper range's descriptors as TTB0's: AF on an access, dirty on a write. */
    @Test
    void httuUpdatesTtb1Descriptors() {
        Bed b = new Bed(TestBed.full());
        long pte = b.hi.map(HI, PA_HI, AP_EL0 | NG | AP_RO | DBM); // AF clear, writable-clean
        b.cd0(CD_HA | CD_HD, 0);
        assertThat(b.tb.read(1, HI).pa).isEqualTo(PA_HI);
        assertThat(b.tb.mem.readq(pte) & AF).as("AF set").isNotZero();
        assertThat(b.tb.mem.readq(pte) & AP_RO).as("still clean").isNotZero();
        assertThat(b.tb.write(1, HI).pa).isEqualTo(PA_HI);
        assertThat(b.tb.mem.readq(pte) & AP_RO).as("dirty").isZero();
    }

    /**
     * CD.HAD1 (dword 2 bit 1, with IDR3.HAD) disables the hierarchical attributes of TTB1's
     * tables alone: APTable[1] on the upper range's level-2 descriptor makes its page read-only
     * until HAD1 is set; HAD0 leaves it.
     */
    @Test
    void had1DisablesTtb1sHierarchicalAttributes() {
        Bed b = new Bed(TestBed.full());
        TestBed tb = b.tb;
        long d = b.hi.root + 8 * ((HI >>> 39) & 0x1ff);
        for (int shift : new int[] {30, 21}) {
            d = (tb.mem.readq(d) & 0x0000_ffff_ffff_f000L) + 8 * ((HI >>> shift) & 0x1ff);
        }
        tb.mem.writeq(d, tb.mem.readq(d) | 1L << 62); // APTable[1]: no writes below
        assertThat(tb.write(1, HI).status).isEqualTo(DmaResult.ABORT);
        only(tb, F_PERMISSION);
        b.cd[1] |= 1L << 1; // HAD0: not TTB1's
        b.cd0(0, 0);
        assertThat(tb.write(1, HI).status).isEqualTo(DmaResult.ABORT);
        only(tb, F_PERMISSION);
        b.cd[2] |= 1L << 1; // HAD1
        b.cd0(0, 0);
        assertThat(tb.write(1, HI).pa).isEqualTo(PA_HI);
    }

    /** explain names the range and the table base register it walks. */
    @Test
    void explainNamesTheRangeAndItsTtb() {
        Bed b = new Bed(TestBed.full());
        String hi = String.join("\n", b.tb.smmu.explain(txn(HI)));
        assertThat(hi).contains("the upper VA range, TTB1").contains("TTB1 0x" + Long.toHexString(b.hi.root));
        String lo = String.join("\n", b.tb.smmu.explain(txn(LO)));
        assertThat(lo).contains("the lower VA range, TTB0").contains("TTB0 0x" + Long.toHexString(b.lo.root));
        b.cd0(EPD1, 0);
        assertThat(String.join("\n", b.tb.smmu.explain(txn(HI)))).contains("EPD1 = 1");
    }

    private static DmaTransaction txn(long va) {
        DmaTransaction t = new DmaTransaction();
        t.set(1, NO, va, 4, R | P);
        return t;
    }
}
