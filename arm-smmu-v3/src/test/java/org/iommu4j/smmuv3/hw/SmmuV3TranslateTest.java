package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import org.iommu4j.smmuv3.hw.TestBed.S1;

import java.util.List;
import java.util.Map;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

@ExtendWith(NoWarnings.class)
class SmmuV3TranslateTest {
    static final int R = DmaTransaction.ACC_READ, W = DmaTransaction.ACC_WRITE, X = DmaTransaction.ACC_EXEC,
            P = DmaTransaction.ACC_PRIV;
    static final int NO = DmaTransaction.NO_SSID;
    static final long VA = 0x1234_5000L;
    static final long PA = 0x4567_8000L;

    private static long[] only(TestBed tb, int id) {
        List<long[]> ev = tb.drainEvents();
        assertThat(ev).hasSize(1);
        assertThat(evtId(ev.get(0))).isEqualTo(id);
        return ev.get(0);
    }

    /**
     * A read of VA with just the given trace events on: it translates to PA and emits each event
     * the given number of times.
     */
    private static void readTracing(TestBed tb, Map<String, Integer> counts) {
        try (var cap = Trace.capture(counts.keySet().stream().map(e -> "smmuv3:" + e).toArray(String[]::new))) {
            assertThat(tb.read(1, VA).pa).isEqualTo(PA);
            counts.forEach((event, n) -> assertThat(cap.of(event)).as(event).hasSize(n));
        }
    }

    /** A full SMMU with its TLB on or off and stream 1 mapping VA to PA at stage 1. */
    private static TestBed mappedBed(boolean tlbOn) {
        TestBed tb = TestBed.full();
        tb.smmu.tlb().setEnabled(tlbOn);
        tb.setupS1Mapped(VA, PA);
        return tb;
    }

    /**
     * The TLB off, VA mapped to PA and read twice, no trace event on: the second read was served
     * by the configuration front cache.
     */
    private static TestBed tlbOffAfterTwoReads() {
        TestBed tb = mappedBed(false);
        tb.read(1, VA);
        tb.read(1, VA);
        return tb;
    }

    /* ---------------- golden STEs ---------------- */

    @Test
    void goldenAbortSteAbortsSilently() {
        TestBed tb = TestBed.full();
        tb.writeSte(3, steAbort());
        assertThat(tb.read(3, VA).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.drainEvents()).isEmpty();
    }

    @Test
    void goldenBypassStePassesThrough() {
        TestBed tb = TestBed.full();
        tb.writeSte(3, steBypass());
        DmaResult r = tb.write(3, 0x4444_4444L);
        assertThat(r.status).isEqualTo(DmaResult.OK);
        assertThat(r.pa).isEqualTo(0x4444_4444L);
    }

    @Test
    void goldenS1SteTranslatesThroughCd0() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(5, 7, 0, 0);
        s1.pt().map(VA, PA, S1_RW);
        DmaResult r = tb.read(5, VA + 0x123);
        assertThat(r.status).isEqualTo(DmaResult.OK);
        assertThat(r.pa).isEqualTo(PA + 0x123);
        assertThat(r.perm & (DmaResult.PERM_R | DmaResult.PERM_W)).isEqualTo(DmaResult.PERM_R | DmaResult.PERM_W);
        assertThat(r.pageSize).isEqualTo(4096);
    }

    @Test
    void goldenS2SteTranslatesIpa() {
        TestBed tb = TestBed.full();
        // 40-bit IPA, 4K granule, SL0 = 1: start at level 1 with 2 concatenated... (40-39 = 1 extra bit)
        TestBed.PageTable pt = tb.new PageTable(12, 40, 1);
        pt.map(VA, PA, S2_RW);
        tb.writeSte(6, steS2(9, pt.root, 24, 1, 0));
        DmaResult r = tb.write(6, VA + 8);
        assertThat(r.status).as(r.toString()).isEqualTo(DmaResult.OK);
        assertThat(r.pa).isEqualTo(PA + 8);
        // S2 faults are recorded (S2R = 1) with S2 = 1 and the IPA
        assertThat(tb.read(6, 0x10_0000_0000L - 0x1000).status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, 0x10);
        assertThat((e[1] >>> 39) & 1).isEqualTo(1);
        assertThat(e[3]).isEqualTo(0x10_0000_0000L - 0x1000);
    }

    @Test
    void nestedTranslatesStage1ThroughStage2() {
        TestBed tb = TestBed.full();
        TestBed.PageTable s1 = tb.setupNested(8, VA);
        DmaResult r = tb.read(8, VA + 4);
        assertThat(r.status).as(r.toString()).isEqualTo(DmaResult.OK);
        assertThat(r.pa).isEqualTo(NESTED_PA + 4);
        // a stage-1 output outside stage 2 faults at stage 2, CLASS IN
        s1.map(VA + 0x1000, 0x7000_0000L, S1_RW);
        assertThat(tb.read(8, VA + 0x1000).status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, 0x10);
        assertThat((e[1] >>> 39) & 1).isEqualTo(1);
        assertThat((e[1] >>> 40) & 3).isEqualTo(2);
        assertThat(e[3]).isEqualTo(0x7000_0000L);
    }

    /**
     * STE.S2PTW (set by the test bed, as Linux sets it): a stage 1 table walk to an IPA that stage
     * 2 maps as Device memory is a stage 2 Permission fault, CLASS TT; without S2PTW it proceeds.
     */
    @Test
    void s2ptwForbidsStage1WalksToDeviceMemory() {
        TestBed tb = TestBed.full();
        TestBed.PageTable s1 = tb.setupNested(8, VA);
        assertThat(tb.read(8, VA).status).isEqualTo(DmaResult.OK);
        // stage 2 maps the 2 MiB holding the stage 1 tables as Device-nGnRnE (MemAttr 0)
        long tables = s1.root & -(1L << 21);
        TestBed.PageTable s2 = tb.nestedS2(8);
        s2.map(tables, tables, 2, AF | S2AP_R | S2AP_W);
        tb.cmd(0x28 | (4L << 32), 0); // TLBI_S12_VMALL VMID 4
        tb.sync();
        assertThat(tb.read(8, VA).status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, 0x13); // F_PERMISSION
        assertThat((e[1] >>> 39) & 1).as("S2").isEqualTo(1);
        assertThat((e[1] >>> 40) & 3).as("CLASS TT").isEqualTo(1);
        // S2PTW clear: the walk is allowed
        long ste = tb.steAddr(8);
        tb.mem.writeq(ste + 16, tb.mem.readq(ste + 16) & ~(1L << 54));
        tb.cmd(0x03 | (8L << 32), 1); // CFGI_STE 8
        tb.cmd(0x28 | (4L << 32), 0);
        tb.sync();
        assertThat(tb.read(8, VA).status).isEqualTo(DmaResult.OK);
    }

    /**
     * CD.HAD0 (with IDR3.HAD, which both presets have): the table descriptors' APTable, UXNTable
     * and PXNTable take no part in the permissions of TTB0's walks. Without HAD0, APTable[1]
     * (bit 62) on the level 2 table descriptor makes the page read-only and UXNTable (bit 60)
     * refuses unprivileged execution; with it both are IGNORED. Without IDR3.HAD, HAD0 is RES0
     * and the attributes apply.
     */
    @Test
    void cdHad0DisablesHierarchicalAttributes() {
        for (SmmuCaps caps : new SmmuCaps[] {SmmuCaps.full(), noHad()}) {
            for (boolean had0 : new boolean[] {false, true}) {
                TestBed tb = new TestBed(caps).init();
                S1 s1 = tb.setupS1Mapped(VA, PA);
                // the level 2 table descriptor of VA (4K granule, start level 0)
                long d = s1.pt().root + 8 * ((VA >>> 39) & 0x1ff);
                for (int shift : new int[] {30, 21}) {
                    d = (tb.mem.readq(d) & 0x0000_ffff_ffff_f000L) + 8 * ((VA >>> shift) & 0x1ff);
                }
                tb.mem.writeq(d, tb.mem.readq(d) | 1L << 62 | 1L << 60); // APTable[1], UXNTable
                if (had0) {
                    tb.mem.writeq(s1.cdtab() + 8, tb.mem.readq(s1.cdtab() + 8) | 1L << 1);
                }
                boolean ignored = had0 && caps.had();
                String what = "HAD " + caps.had() + ", HAD0 " + had0;
                assertThat(tb.write(1, VA).status).as(what + ": write").isEqualTo(ignored ? DmaResult.OK : DmaResult.ABORT);
                assertThat(tb.dma(1, NO, VA, R | X).status).as(what + ": unprivileged exec")
                        .isEqualTo(ignored ? DmaResult.OK : DmaResult.ABORT);
                assertThat(tb.read(1, VA).status).as(what + ": read").isEqualTo(DmaResult.OK);
                assertThat(tb.drainEvents()).as(what).allSatisfy(e -> assertThat(evtId(e)).isEqualTo(0x13))
                        .hasSize(ignored ? 0 : 2);
            }
        }
    }

    private static SmmuCaps noHad() {
        var b = SmmuCaps.full().toBuilder();
        b.had = false;
        return b.build();
    }

    /**
     * Stage 2 execute-never with IDR3.XNX (the full SMMU has it): descriptor bits [54:53] are
     * XN[1:0], 0b00 executable at both privileges, 0b01 unprivileged only, 0b10 at neither, 0b11
     * privileged only. A refused execution is a stage 2 F_PERMISSION.
     */
    @Test
    void stage2XnxGivesExecuteNeverPerPrivilege() {
        assertThat(SmmuCaps.full().xnx()).isTrue();
        TestBed tb = TestBed.full();
        TestBed.PageTable pt = tb.new PageTable(12, 40, 1);
        boolean[][] allowed = {{true, true}, {false, true}, {false, false}, {true, false}}; // {priv, unpriv}
        for (int xn = 0; xn < 4; xn++) {
            pt.map(VA + 0x1000L * xn, PA + 0x1000L * xn, S2_RW | (long) xn << 53);
        }
        tb.writeSte(6, steS2(9, pt.root, 24, 1, 0));
        for (int xn = 0; xn < 4; xn++) {
            for (int p = 0; p < 2; p++) {
                int acc = R | X | (p == 0 ? DmaTransaction.ACC_PRIV : 0);
                DmaResult r = tb.dma(6, DmaTransaction.NO_SSID, VA + 0x1000L * xn, acc);
                String what = String.format("XN 0b%s, %s", Integer.toBinaryString(xn), p == 0 ? "privileged" : "unprivileged");
                if (allowed[xn][p]) {
                    assertThat(r.status).as(what).isEqualTo(DmaResult.OK);
                    assertThat(r.pa).as(what).isEqualTo(PA + 0x1000L * xn);
                    assertThat(tb.drainEvents()).as(what).isEmpty();
                } else {
                    assertThat(r.status).as(what).isEqualTo(DmaResult.ABORT);
                    long[] e = only(tb, 0x13); // F_PERMISSION
                    assertThat((e[1] >>> 39) & 1).as(what + ": S2").isEqualTo(1);
                    assertThat((e[1] >>> 34) & 1).as(what + ": InD").isEqualTo(1);
                    assertThat((e[1] >>> 33) & 1).as(what + ": PnU").isEqualTo(p == 0 ? 1 : 0);
                    assertThat(e[3]).as(what + ": IPA").isEqualTo(VA + 0x1000L * xn);
                }
                // reads are never refused by XN
                assertThat(tb.dma(6, DmaTransaction.NO_SSID, VA + 0x1000L * xn, R | (p == 0 ? DmaTransaction.ACC_PRIV : 0))
                        .status).as(what + ": read").isEqualTo(DmaResult.OK);
            }
        }
    }

    /**
     * In a nested configuration a stage-1 HTTU update is a write of the descriptor, which stage 2
     * translates as one: where stage 2 maps the stage-1 tables read-only, setting AF is a stage 2
     * Permission fault of CLASS TT with TTRnW = 0 (a write) and the descriptor's IPA, and the
     * descriptor stays as it was; once stage 2 grants write the update is made. Both for a walk
     * from the top and for one the walk cache resumes at the leaf's table.
     */
    @Test
    void nestedStage1HttuUpdatesNeedStage2WritePermission() {
        for (boolean resumed : new boolean[] {false, true}) {
            TestBed tb = TestBed.full();
            TestBed.PageTable s1 = tb.setupNested(8, VA);
            long cd = tb.mem.readq(tb.steAddr(8)) & 0x000f_ffff_ffff_ffc0L;
            tb.mem.writeq(cd, tb.mem.readq(cd) | CD_HA);
            long leaf = s1.map(VA + 0x1000, NESTED_IPA + 0x1000, S1_RW & ~AF); // HTTU has AF to set
            long tables = s1.root & -(1L << 21);
            tb.nestedS2(8).map(tables, tables, 2, S2_RW & ~S2AP_W); // the stage-1 tables read-only
            if (resumed) {
                // a walk with nothing to update: the walk cache now holds the leaf's table
                assertThat(tb.read(8, VA).status).isEqualTo(DmaResult.OK);
            }
            assertThat(tb.read(8, VA + 0x1000).status).as("resumed %b", resumed).isEqualTo(DmaResult.ABORT);
            long[] e = only(tb, 0x13); // F_PERMISSION
            assertThat((e[1] >>> 39) & 1).as("S2").isEqualTo(1);
            assertThat((e[1] >>> 40) & 3).as("CLASS TT").isEqualTo(1);
            assertThat((e[1] >>> 44) & 1).as("TTRnW: a write").isZero();
            assertThat(e[2]).as("InputAddr").isEqualTo(VA + 0x1000);
            assertThat(e[3]).as("IPA of the descriptor's page").isEqualTo(leaf & ~0xfffL);
            assertThat(tb.mem.readq(leaf) & AF).as("descriptor unchanged").isZero();
            // stage 2 grants write: the update is made and the translation succeeds
            tb.nestedS2(8).map(tables, tables, 2, S2_RW);
            tb.cmd(0x28 | (4L << 32), 0); // TLBI_S12_VMALL VMID 4
            tb.sync();
            DmaResult r = tb.read(8, VA + 0x1004);
            assertThat(r.status).isEqualTo(DmaResult.OK);
            assertThat(r.pa).isEqualTo(NESTED_PA + 0x1004);
            assertThat(tb.mem.readq(leaf) & AF).isNotZero();
            assertThat(tb.drainEvents()).isEmpty();
        }
    }

    @ParameterizedTest
    @CsvSource({"12,16", "14,16", "16,16", "12,25", "16,22", "14,28"})
    void stage1GranulesAndInputSizes(int g, int t0sz) {
        TestBed tb = TestBed.full();
        TestBed.PageTable pt = tb.new PageTable(g, 64 - t0sz);
        long cdtab = tb.alloc(64, 64);
        int tg0 = g == 12 ? 0 : g == 16 ? 1 : 2;
        tb.writeCd(cdtab, cd(1, pt.root, t0sz, tg0));
        tb.writeSte(2, steS1(cdtab, 0, 0, 0));
        long va = (1L << (64 - t0sz)) - (3L << g);
        long pa = 0x4560_0000L;
        pt.map(va, pa, S1_RW);
        DmaResult r = tb.read(2, va + 0x10);
        assertThat(r.status).as(r.toString()).isEqualTo(DmaResult.OK);
        assertThat(r.pa).isEqualTo(pa + 0x10);
        assertThat(r.pageSize).isEqualTo(1L << g);
        // beyond the input range: translation fault, no walk
        assertThat(tb.read(2, 1L << (64 - t0sz)).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x10);
    }

    @Test
    void blockMappings() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 1, 0, 0);
        s1.pt().map(0x8000_0000L, 0x4000_0000L, 1, S1_RW); // 1 GiB block at level 1
        s1.pt().map(0x20_0000L, 0x4060_0000L, 2, S1_RW); // 2 MiB block at level 2
        DmaResult r = tb.read(1, 0x8123_4567L);
        assertThat(r.pa).isEqualTo(0x4123_4567L);
        assertThat(r.pageSize).isEqualTo(1L << 30);
        r = tb.read(1, 0x2f_fff8L);
        assertThat(r.pa).isEqualTo(0x406f_fff8L);
        assertThat(r.pageSize).isEqualTo(1L << 21);
    }

    /* ---------------- one test per event ---------------- */

    @Test
    void eventBadStreamIdOnlyWithRecinvsid() {
        TestBed tb = TestBed.full();
        assertThat(tb.read(256, VA).status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, 0x02);
        assertThat(evtSid(e)).isEqualTo(256);
        tb.writel(CR2, 0);
        assertThat(tb.read(256, VA).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.drainEvents()).isEmpty();
    }

    @Test
    void eventSteFetchOnBusError() {
        TestBed tb = new TestBed(SmmuCaps.full()).init(true, 16);
        tb.mem.writeq(tb.strtab + 8 * 3, 0x1000_0000L | 9); // L2Ptr outside RAM
        assertThat(tb.read(0x305, VA).status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, 0x03);
        assertThat(evtSid(e)).isEqualTo(0x305);
        assertThat(e[3]).isEqualTo(0x1000_0000L + 5 * 64);
    }

    @Test
    void eventBadSteForInvalidAndIllegal() {
        TestBed tb = TestBed.full();
        tb.writeSte(4, 0x0); // V = 0
        assertThat(tb.read(4, VA).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x04);
        tb.writeSte(5, 0x1 | (6L << 1)); // S2 with S2AA64 = 0
        assertThat(tb.dma(5, 3, VA, R).status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, 0x04);
        assertThat(evtSsv(e)).isTrue();
        assertThat(evtSsid(e)).isEqualTo(3);
        // qemu caps: no stage 2 at all
        TestBed q = new TestBed(SmmuCaps.qemu()).init();
        q.writeSte(1, steS2(1, 0x4000_0000L, 24, 1, 0));
        assertThat(q.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        only(q, 0x04);
    }

    @Test
    void eventBadAtsTreqWhenEatsIsAbort() {
        TestBed tb = TestBed.full();
        tb.setupS1(1, 1, 0, 0);
        tb.txn.set(1, NO, VA, 4, R);
        tb.txn.ats = true;
        tb.smmu.translate(tb.txn, tb.res);
        assertThat(tb.res.status).as("Unsupported Request").isEqualTo(DmaResult.ATS_UR);
        long[] e = only(tb, 0x05);
        assertThat(e[2]).isEqualTo(VA);
        assertThat((e[1] >>> 35) & 1).isEqualTo(1); // RnW
    }

    @Test
    void eventStreamDisabledWithoutSsid() {
        TestBed tb = TestBed.full();
        tb.setupS1(1, 1, 4, 0); // 16 CDs, S1DSS terminate
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, 0x06);
        assertThat(evtSid(e)).isEqualTo(1);
    }

    @Test
    void eventTranslForbiddenWithAtschk() {
        TestBed tb = TestBed.full();
        tb.setupS1(1, 1, 0, 0);
        tb.writel(CR0, tb.readl(CR0) | CR0_ATSCHK);
        tb.txn.set(1, NO, PA, 4, W);
        tb.txn.translated = true;
        tb.smmu.translate(tb.txn, tb.res);
        assertThat(tb.res.status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, 0x07);
        assertThat(e[2]).isEqualTo(PA);
    }

    @Test
    void eventBadSubstreamId() {
        TestBed tb = TestBed.full();
        tb.setupS1(1, 1, 4, 2); // 16 CDs, S1DSS = SSID0
        assertThat(tb.dma(1, 16, VA, R).status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, 0x08);
        assertThat(evtSsid(e)).isEqualTo(16);
        // SSID 0 with S1DSS = SSID0: CD 0 is reserved for traffic without one (F_STREAM_DISABLED)
        assertThat(tb.dma(1, 0, VA, R).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x06);
        // an SSID on a bypass stream
        tb.writeSte(2, steBypass());
        assertThat(tb.dma(2, 1, VA, R).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x08);
        // no substreams at all (S1CDMax = 0)
        tb.setupS1(3, 1, 0, 0);
        assertThat(tb.dma(3, 1, VA, R).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x08);
    }

    @Test
    void eventCdFetch() {
        TestBed tb = TestBed.full();
        tb.writeSte(1, steS1(0x1000_0000L, 0, 0, 0));
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, 0x09);
        assertThat(e[3]).isEqualTo(0x1000_0000L);
    }

    @Test
    void eventBadCd() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 1, 2, 0);
        assertThat(tb.dma(1, 2, VA, R).status).isEqualTo(DmaResult.ABORT); // CD 2 all zero: V = 0
        long[] e = only(tb, 0x0a);
        assertThat(evtSsid(e)).isEqualTo(2);
        assertThat(evtSsv(e)).isTrue();
        tb.writeCd(s1.cdtab() + 64, cd(1, s1.pt().root, 10, 0)); // T0SZ 10: out of range
        assertThat(tb.dma(1, 1, VA, R).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x0a);
    }

    @Test
    void eventWalkEabt() {
        TestBed tb = TestBed.full();
        long cdtab = tb.alloc(64, 64);
        tb.writeCd(cdtab, cd(1, 0x2000_0000L, 16, 0)); // tables outside RAM
        tb.writeSte(1, steS1(cdtab, 0, 0, 0));
        assertThat(tb.write(1, VA).status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, 0x0b);
        assertThat(e[3]).isEqualTo(0x2000_0000L);
        assertThat((e[1] >>> 40) & 3).isEqualTo(1); // CLASS TT
    }

    @Test
    void eventTranslationWithFields() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 1, 4, 2);
        tb.writeCd(s1.cdtab() + 5 * 64, cd(1, s1.pt().root, 16, 0));
        assertThat(tb.dma(1, 5, VA + 0x10, W | P).status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, 0x10);
        assertThat(evtSid(e)).isEqualTo(1);
        assertThat(evtSsv(e)).isTrue();
        assertThat(evtSsid(e)).isEqualTo(5);
        assertThat((e[1] >>> 35) & 1).isZero(); // RnW = 0: write
        assertThat((e[1] >>> 33) & 1).isEqualTo(1); // PnU
        assertThat((e[1] >>> 31) & 1).isZero(); // not stalled
        assertThat((e[1] >>> 39) & 1).isZero(); // stage 1
        assertThat(e[2]).isEqualTo(VA + 0x10);
    }

    @Test
    void eventAddrSize() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 1, 0, 0);
        long[] c = cd(1, s1.pt().root, 16, 0);
        c[0] &= ~(7L << 32); // IPS = 32 bits
        tb.writeCd(s1.cdtab(), c);
        s1.pt().map(VA, 0x1_4000_0000L, S1_RW);
        // table base 0x4xxxxxxx fits in 32 bits; the output does not
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x11);
    }

    @Test
    void eventAccessFlagAndAffd() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 1, 0, 0);
        s1.pt().map(VA, PA, AP_EL0 | NG); // AF = 0, CD.HA = 0
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x12);
        long[] c = cd(1, s1.pt().root, 16, 0);
        c[0] |= CD_AFFD;
        tb.writeCd(s1.cdtab(), c);
        tb.cfgiCd(1, 0);
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.OK);
    }

    /** A terminated transaction aborts if CD.A = 1 or IDR0.TERM_MODEL = 1, else it completes RAZ/WI. */
    @Test
    void cdAChoosesAbortOrRazWi() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 1, 0, 0);
        long[] c = cd(1, s1.pt().root, 16, 0);
        c[0] &= ~(1L << 46); // CD.A = 0
        tb.writeCd(s1.cdtab(), c);
        tb.cfgiCd(1, 0);
        DmaResult r = tb.read(1, VA); // nothing mapped
        assertThat(r.status).isEqualTo(DmaResult.RAZ_WI);
        assertThat(r.faultReason).isEqualTo(0x10);
        only(tb, 0x10); // still recorded: CD.R = 1
        assertThat(tb.write(1, VA).status).isEqualTo(DmaResult.RAZ_WI);
        only(tb, 0x10);
        // the mapping is used as usual
        s1.pt().map(VA, PA, S1_RW);
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.OK);

        c[0] |= 1L << 46; // CD.A = 1
        tb.writeCd(s1.cdtab(), c);
        tb.cfgiCd(1, 0);
        assertThat(tb.read(1, VA + 0x1000).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x10);

        // TERM_MODEL = 1: no RAZ/WI termination, so a CD with A = 0 is ILLEGAL (section 5.5)
        var b = SmmuCaps.full().toBuilder();
        b.termModel = true;
        TestBed t2 = new TestBed(b.build()).init();
        S1 s2 = t2.setupS1(1, 1, 0, 0);
        long[] c2 = cd(1, s2.pt().root, 16, 0);
        c2[0] &= ~(1L << 46);
        t2.writeCd(s2.cdtab(), c2);
        t2.cfgiCd(1, 0);
        assertThat(t2.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        only(t2, 0x0a); // C_BAD_CD
        // the account of the translation says which
        assertThat(String.join("\n", tb.smmu.explain(new org.iommu4j.base.hw.DmaTransaction()
                .set(1, DmaTransaction.NO_SSID, VA + 0x1000, 4, DmaTransaction.ACC_READ)))).contains("result: abort");
    }

    @Test
    void eventPermission() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 1, 0, 0);
        s1.pt().map(VA, PA, S1_RW | AP_RO | UXN);
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.OK);
        assertThat(tb.write(1, VA).status).isEqualTo(DmaResult.ABORT);
        long[] e = only(tb, 0x13);
        assertThat((e[1] >>> 35) & 1).isZero();
        assertThat(tb.dma(1, NO, VA, R | X).status).isEqualTo(DmaResult.ABORT); // UXN
        e = only(tb, 0x13);
        assertThat((e[1] >>> 34) & 1).isEqualTo(1); // InD
        // privileged exec of a page that is not PXN is fine
        assertThat(tb.dma(1, NO, VA, R | X | P).status).isEqualTo(DmaResult.OK);
        // AP[1] = 0: no unprivileged access at all
        s1.pt().map(VA + 0x1000, PA, AF | NG);
        assertThat(tb.read(1, VA + 0x1000).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x13);
        assertThat(tb.dma(1, NO, VA + 0x1000, R | W | P).status).isEqualTo(DmaResult.OK);
    }

    @Test
    void faultsNotRecordedWhenCdRIsClear() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 1, 0, 0);
        long[] c = cd(1, s1.pt().root, 16, 0);
        c[0] &= ~CD_R;
        tb.writeCd(s1.cdtab(), c);
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.drainEvents()).isEmpty();
    }

    /* ---------------- TCR fields ---------------- */

    @Test
    void tbiIgnoresTheTopByteAndEpd0DisablesWalks() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 1, 0, 0);
        s1.pt().map(VA, PA, S1_RW);
        assertThat(tb.read(1, VA | 0x5a00_0000_0000_0000L).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x10);
        long[] c = cd(1, s1.pt().root, 16, 0);
        c[0] |= CD_TBI0;
        tb.writeCd(s1.cdtab(), c);
        tb.cfgiCd(1, 0);
        DmaResult r = tb.read(1, VA | 0x5a00_0000_0000_0000L);
        assertThat(r.status).isEqualTo(DmaResult.OK);
        assertThat(r.pa).isEqualTo(PA);
        c[0] |= CD_EPD0;
        tb.writeCd(s1.cdtab(), c);
        tb.cfgiCd(1, 0);
        tb.tlbiAsid(1); // the cached translation outlives the CD change until a TLBI
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x10);
    }

    @Test
    void httuSetsAccessFlagAndDirtyState() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 1, 0, 0);
        long[] c = cd(1, s1.pt().root, 16, 0);
        c[0] |= CD_HA | CD_HD;
        tb.writeCd(s1.cdtab(), c);
        long pte = s1.pt().map(VA, PA, AP_EL0 | NG | AP_RO | DBM); // old, clean, writable-clean
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.OK);
        assertThat(tb.mem.readq(pte) & AF).isEqualTo(AF);
        assertThat(tb.mem.readq(pte) & AP_RO).isEqualTo(AP_RO); // still clean
        assertThat(tb.write(1, VA).status).isEqualTo(DmaResult.OK); // the TLB entry is read-only: walks again
        assertThat(tb.mem.readq(pte) & AP_RO).isZero(); // dirty
        // a read-only page without DBM still faults
        s1.pt().map(VA + 0x1000, PA, AP_EL0 | NG | AP_RO);
        assertThat(tb.write(1, VA + 0x1000).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x13);
    }

    /* ---------------- caches ---------------- */

    @Test
    void staleTlbWithoutTlbiCorrectWithIt() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1Mapped(VA, PA);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
        s1.pt().map(VA, PA + 0x10_0000, S1_RW); // remapped without invalidation
        assertThat(tb.read(1, VA).pa).as("stale").isEqualTo(PA);
        assertThat(tb.smmu.tlb().hits()).isEqualTo(1);
        tb.tlbiVa(9, VA + 0x1000); // another page: still stale
        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
        tb.tlbiVa(9, VA);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA + 0x10_0000);
        s1.pt().map(VA, PA, S1_RW);
        tb.tlbiAsid(8); // another ASID
        assertThat(tb.read(1, VA).pa).isEqualTo(PA + 0x10_0000);
        tb.tlbiAsid(9);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
    }

    @Test
    void staleSteWithoutCfgiCorrectWithIt() {
        TestBed tb = TestBed.full();
        tb.writeSte(1, steBypass());
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.OK);
        tb.writeSte(1, steAbort());
        assertThat(tb.read(1, VA).status).as("stale bypass").isEqualTo(DmaResult.OK);
        tb.cfgiSte(1);
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
    }

    @Test
    void disabledCachesSeeEveryChange() {
        TestBed tb = TestBed.full();
        tb.smmu.tlb().setEnabled(false);
        tb.smmu.configCache().setEnabled(false);
        S1 s1 = tb.setupS1Mapped(VA, PA);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
        s1.pt().map(VA, PA + 0x2000, S1_RW);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA + 0x2000);
        assertThat(tb.smmu.tlb().hits()).isZero();
        assertThat(tb.smmu.configCache().steHits()).isZero();
    }

    /**
     * Switching the TLB off and on takes effect at the next translation, with the configuration
     * front cache and the micro-TLB already holding the stream: off, every read walks (a miss
     * each, the new mapping seen at once); on again, the first read walks and fills, the next
     * hits.
     */
    @Test
    void switchingTheTlbTakesEffectAtOnce() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1Mapped(VA, PA);
        tb.read(1, VA);
        tb.read(1, VA);
        assertThat(tb.smmu.tlb().hits()).isEqualTo(1);
        assertThat(tb.smmu.tlb().misses()).isEqualTo(1);

        tb.smmu.tlb().setEnabled(false);
        s1.pt().map(VA, PA + 0x2000, S1_RW); // no TLBI: only a TLB that is off sees it
        assertThat(tb.read(1, VA).pa).isEqualTo(PA + 0x2000);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA + 0x2000);
        assertThat(tb.smmu.tlb().hits()).isEqualTo(1);
        assertThat(tb.smmu.tlb().misses()).isEqualTo(3);

        tb.smmu.tlb().setEnabled(true);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA + 0x2000);
        assertThat(tb.smmu.tlb().misses()).as("an empty TLB after the switch").isEqualTo(4);
        s1.pt().map(VA, PA + 0x3000, S1_RW); // no TLBI: the TLB now holds the old page
        assertThat(tb.read(1, VA).pa).isEqualTo(PA + 0x2000);
        assertThat(tb.smmu.tlb().hits()).isEqualTo(2);
    }

    @Test
    void hitPathIsCountedAndTraced() {
        TestBed tb = TestBed.full();
        tb.setupS1Mapped(VA, PA);
        try (var cap = Trace.capture("smmuv3:*")) {
            tb.read(1, VA);
            tb.read(1, VA);
            assertThat(cap.of("smmuv3_config_cache_miss")).hasSize(1);
            assertThat(cap.of("smmuv3_config_cache_hit")).hasSize(1);
            assertThat(cap.of("smmu_iotlb_lookup_miss")).hasSize(1);
            assertThat(cap.of("smmu_iotlb_lookup_hit")).hasSize(1);
            assertThat(cap.of("smmuv3_translate_success")).hasSize(2);
            assertThat(cap.of("smmu_ptw_level")).hasSize(4);
        }
        assertThat(tb.smmu.configCache().cdHits()).isEqualTo(1);
    }

    @Test
    void repeatedTranslationsCountAsCacheHits() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1Mapped(VA, PA);
        for (int i = 0; i < 4; i++) {
            DmaResult r = tb.read(1, VA + 8 * i);
            assertThat(r.status).isEqualTo(DmaResult.OK);
            assertThat(r.pa).isEqualTo(PA + 8 * i);
        }
        assertThat(tb.smmu.tlb().hits()).isEqualTo(3);
        assertThat(tb.smmu.tlb().misses()).isEqualTo(1);
        assertThat(tb.smmu.configCache().steHits()).isEqualTo(3);
        assertThat(tb.smmu.configCache().cdHits()).isEqualTo(3);
        // the page is writable: the cached translation serves a write as well
        assertThat(tb.write(1, VA).pa).isEqualTo(PA);
        assertThat(tb.smmu.tlb().hits()).isEqualTo(4);
        // a user access to a privileged-only page misses on permission and walks (and faults)
        s1.pt().map(VA + 0x1000, PA + 0x1000, AF | NG);
        assertThat(tb.read(1, VA + 0x1000).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.read(1, VA + 0x1000).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.smmu.tlb().hits()).isEqualTo(4);
    }

    /**
     * The front caches grant an access exactly when the walk would: every access code (read,
     * write, exec, privileged, in each combination) against pages of every permission kind,
     * each after every other access code filled the caches, answers as an SMMU with its caches
     * off does (status, address, permissions, page size, events).
     */
    @Test
    void cachedTranslationsGrantExactlyWhatTheWalkGrants() {
        long[] attrs = {S1_RW, S1_RW | AP_RO, S1_RW | UXN, S1_RW | PXN, S1_RW | AP_RO | UXN | PXN, AF | NG,
                AF | NG | AP_RO | PXN};
        TestBed cached = TestBed.full();
        TestBed walked = TestBed.full();
        walked.smmu.tlb().setEnabled(false);
        walked.smmu.configCache().setEnabled(false);
        for (TestBed tb : List.of(cached, walked)) {
            S1 s1 = tb.setupS1(1, 1, 0, 0);
            for (int i = 0; i < attrs.length; i++) {
                s1.pt().map(VA + 0x1000L * i, PA + 0x1000L * i, attrs[i]);
            }
        }
        int granted = 0;
        for (int i = 0; i < attrs.length; i++) {
            long va = VA + 0x1000L * i + 0x18;
            for (int fill = 0; fill < 16; fill++) {
                cached.dma(1, NO, va, fill);
                cached.drainEvents();
                for (int access = 0; access < 16; access++) {
                    DmaResult c = cached.dma(1, NO, va, access);
                    DmaResult w = walked.dma(1, NO, va, access);
                    String what = String.format("attrs 0x%x, access %d after %d", attrs[i], access, fill);
                    assertThat(c.status).as(what).isEqualTo(w.status);
                    if (w.status == DmaResult.OK) {
                        granted++;
                        assertThat(c.pa).as(what).isEqualTo(w.pa).isEqualTo(PA + 0x1000L * i + 0x18);
                        assertThat(c.perm).as(what).isEqualTo(w.perm);
                        assertThat(c.pageSize).as(what).isEqualTo(w.pageSize);
                    } else {
                        assertThat(c.faultReason).as(what).isEqualTo(w.faultReason);
                    }
                    assertThat(cached.drainEvents()).as(what).usingRecursiveComparison()
                            .isEqualTo(walked.drainEvents());
                }
            }
        }
        // both outcomes were seen often, and the caches served most of the granted accesses
        assertThat(granted).isBetween(16 * 16, attrs.length * 16 * 16 - 16 * 16);
        assertThat(cached.smmu.tlb().hits()).isGreaterThan(granted / 2);
    }

    /**
     * With the TLB and the walk cache off, the configuration front cache's walks (the unrolled
     * 4K walk) answer every access code on pages of every permission kind exactly as an SMMU with
     * its configuration cache off too, for two streams taking turns (each finds its entry in turn
     * past the other's), and count the same TLB and walk cache misses.
     */
    @Test
    void frontCachedWalksWithTheCachesOffGrantExactlyWhatTheFullWalkGrants() {
        long[] attrs = {S1_RW, S1_RW | AP_RO, S1_RW | UXN, S1_RW | PXN, S1_RW | AP_RO | UXN | PXN, AF | NG,
                AF | NG | AP_RO | PXN, S1_RW & ~AF};
        TestBed front = TestBed.full();
        TestBed walked = TestBed.full();
        for (TestBed tb : List.of(front, walked)) {
            tb.smmu.tlb().setEnabled(false);
            tb.smmu.walkCache().setEnabled(false);
            for (int sid = 1; sid <= 2; sid++) {
                S1 s1 = tb.setupS1(sid, sid, 0, 0);
                for (int i = 0; i < attrs.length; i++) {
                    s1.pt().map(VA + 0x1000L * i, PA + 0x1000L * (i + 16 * sid), attrs[i]);
                }
            }
        }
        walked.smmu.configCache().setEnabled(false);
        int granted = 0;
        for (int i = 0; i < attrs.length; i++) {
            long va = VA + 0x1000L * i + 0x18;
            for (int access = 0; access < 16; access++) {
                for (int sid = 1; sid <= 2; sid++) {
                    DmaResult f = front.dma(sid, NO, va, access);
                    DmaResult w = walked.dma(sid, NO, va, access);
                    String what = String.format("sid %d, attrs 0x%x, access %d", sid, attrs[i], access);
                    assertThat(f.status).as(what).isEqualTo(w.status);
                    if (w.status == DmaResult.OK) {
                        granted++;
                        assertThat(f.pa).as(what).isEqualTo(w.pa).isEqualTo(PA + 0x1000L * (i + 16 * sid) + 0x18);
                        assertThat(f.perm).as(what).isEqualTo(w.perm);
                        assertThat(f.pageSize).as(what).isEqualTo(w.pageSize);
                    } else {
                        assertThat(f.faultReason).as(what).isEqualTo(w.faultReason);
                    }
                    assertThat(front.drainEvents()).as(what).usingRecursiveComparison()
                            .isEqualTo(walked.drainEvents());
                }
            }
        }
        assertThat(granted).isBetween(2 * 16, attrs.length * 2 * 16 - 2 * 16);
        assertThat(front.smmu.tlb().misses()).isEqualTo(walked.smmu.tlb().misses());
        assertThat(front.smmu.walkCache().misses()).isEqualTo(walked.smmu.walkCache().misses());
        assertThat(front.smmu.configCache().steHits()).as("served from the front cache")
                .isEqualTo(attrs.length * 2 * 16 - 2);
    }

    @Test
    void tracingTurnedOnShowsTheArchitectedCachesAtOnce() {
        TestBed tb = TestBed.full();
        tb.setupS1Mapped(VA, PA);
        tb.read(1, VA);
        tb.read(1, VA); // served before any hit-path event was on
        readTracing(tb, Map.of("smmuv3_config_cache_hit", 1, "smmu_iotlb_lookup_hit", 1,
                "smmuv3_translate_success", 1));
        assertThat(tb.smmu.tlb().hits()).isEqualTo(2);
    }

    /**
     * With the TLB off, the walk cache's switch takes effect on the very next walk of a stream
     * the configuration front cache holds, both ways: on, walks resume from its entries; off,
     * every walk misses it and reads four descriptors.
     */
    @Test
    void walkCacheSwitchSeenAtOnceWithTheTlbOff() {
        TestBed tb = mappedBed(false);
        tb.smmu.walkCache().setEnabled(false);
        for (int i = 0; i < 3; i++) {
            assertThat(tb.read(1, VA + 16 * i).pa).isEqualTo(PA + 16 * i);
        }
        assertThat(tb.smmu.walkCache().hits()).isZero();
        tb.smmu.walkCache().setEnabled(true);
        for (int i = 0; i < 3; i++) {
            assertThat(tb.read(1, VA + 16 * i).pa).isEqualTo(PA + 16 * i);
        }
        assertThat(tb.smmu.walkCache().hits()).as("the first walk fills it, the next two resume from it")
                .isEqualTo(2);
        tb.smmu.walkCache().setEnabled(false);
        long misses = tb.smmu.walkCache().misses();
        for (int i = 0; i < 3; i++) {
            assertThat(tb.read(1, VA + 16 * i).pa).isEqualTo(PA + 16 * i);
        }
        assertThat(tb.smmu.walkCache().hits()).isEqualTo(2);
        assertThat(tb.smmu.walkCache().misses()).isEqualTo(misses + 3);
    }

    @Test
    void walksWithTheTlbOffCountConfigurationCacheHits() {
        TestBed tb = mappedBed(false);
        for (int i = 0; i < 4; i++) {
            assertThat(tb.read(1, VA + 0x100 * i).pa).isEqualTo(PA + 0x100 * i);
        }
        assertThat(tb.smmu.configCache().steMisses()).isEqualTo(1);
        assertThat(tb.smmu.configCache().steHits()).isEqualTo(3);
        assertThat(tb.smmu.configCache().cdMisses()).isEqualTo(1);
        assertThat(tb.smmu.configCache().cdHits()).isEqualTo(3);
        assertThat(tb.smmu.tlb().hits()).isZero();
        // the front-cached configuration walks every time, from the walk cache's level-2 table
        // descriptor: one descriptor fetch, so a remapped page shows at once
        assertThat(tb.smmu.walkCache().hits()).isEqualTo(3);
        readTracing(tb, Map.of("smmu_ptw_level", 1, "smmu_ptw_walk_cache_hit", 1));
        tb.smmu.walkCache().setEnabled(false);
        readTracing(tb, Map.of("smmu_ptw_level", 4, "smmu_ptw_walk_cache_miss", 1));
    }

    /**
     * A stage-2-only stream next to a stage-1 one: its hits from the micro-TLB (TLB on) and from
     * the configuration front cache (TLB off) count as STE hits and never as CD hits.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void stage2OnlyHitsAreSteHitsOnly(boolean tlbOn) {
        TestBed tb = mappedBed(tlbOn);
        TestBed.PageTable pt = tb.new PageTable(12, 40, 1);
        pt.map(VA, PA, S2_RW);
        tb.writeSte(6, steS2(9, pt.root, 24, 1, 0));
        for (int i = 0; i < 3; i++) {
            assertThat(tb.read(6, VA + 8 * i).pa).isEqualTo(PA + 8 * i);
            assertThat(tb.read(1, VA + 8 * i).pa).isEqualTo(PA + 8 * i);
        }
        assertThat(tb.smmu.configCache().steMisses()).isEqualTo(2);
        assertThat(tb.smmu.configCache().steHits()).isEqualTo(4);
        assertThat(tb.smmu.configCache().cdMisses()).isEqualTo(1);
        assertThat(tb.smmu.configCache().cdHits()).as("stream 1's only").isEqualTo(2);
        assertThat(tb.smmu.tlb().hits()).isEqualTo(tlbOn ? 4 : 0);
    }

    /**
     * One result object for a faulting translation and then a successful one, past the
     * micro-TLB (a TLB trace event is on, so it takes no entries): the configuration front
     * cache's walk with the TLB off, the TLB hit with it on. Nothing of the fault stays in it.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aResultReusedAfterAFaultKeepsNothingOfIt(boolean tlbOn) {
        TestBed tb = mappedBed(tlbOn);
        try (var cap = Trace.capture("smmuv3:smmu_iotlb_lookup_hit")) {
            tb.read(1, VA);
            DmaResult r = tb.read(1, VA + 0x10_0000);
            assertThat(r.status).isEqualTo(DmaResult.ABORT);
            assertThat(r.faultReason).isEqualTo(SmmuV3Internal.EVT_F_TRANSLATION);
            r.pageSize = 0;
            assertThat(tb.read(1, VA + 0x18)).isSameAs(r);
            assertThat(r.status).isEqualTo(DmaResult.OK);
            assertThat(r.faultReason).isZero();
            assertThat(r.pa).isEqualTo(PA + 0x18);
            assertThat(r.pageSize).isEqualTo(4096);
            assertThat(cap.of("smmu_iotlb_lookup_hit")).hasSize(tlbOn ? 1 : 0);
        }
    }

    @Test
    void tlbOffWalksSeeDescriptorChangesAtOnce() {
        TestBed tb = TestBed.full();
        tb.smmu.tlb().setEnabled(false);
        S1 s1 = tb.setupS1Mapped(VA, PA);
        tb.writeCd(s1.cdtab(), cd(9, s1.pt().root, 16, 0)[0] | CD_HA | CD_HD, s1.pt().root, 0, 0x0404ff44L);
        tb.cfgiCd(1, 0);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA); // the configuration front cache's walk
        long pte = s1.pt().map(VA, PA + 0x9000, S1_RW & ~AF);
        assertThat(tb.read(1, VA).pa).as("a remap, seen by the next walk").isEqualTo(PA + 0x9000);
        assertThat(tb.mem.readq(pte) & AF).as("HTTU set AF").isNotZero();
        s1.pt().map(VA, PA, S1_RW | AP_RO | 1L << 51); // writable-clean
        assertThat(tb.write(1, VA).status).isEqualTo(DmaResult.OK);
        assertThat(tb.mem.readq(pte) & AP_RO).as("HTTU made it dirty").isZero();
        s1.pt().map(VA, PA, S1_RW | AP_RO);
        DmaResult r = tb.write(1, VA);
        assertThat(r.status).isEqualTo(DmaResult.ABORT);
        assertThat(r.faultReason).isEqualTo(SmmuV3Internal.EVT_F_PERMISSION);
        assertThat(tb.drainEvents()).extracting(TestBed::evtId).containsExactly(SmmuV3Internal.EVT_F_PERMISSION);
        assertThat(tb.read(1, VA).pa).as("read-only still reads").isEqualTo(PA);
        // one TLB miss per translation, whether the fast walk answered, made an HTTU update or faulted
        assertThat(tb.smmu.tlb().misses()).isEqualTo(6);
        assertThat(tb.smmu.tlb().hits()).isZero();
    }

    @Test
    void tlbOffWalksFollowNewTablesAtOnce() {
        TestBed tb = TestBed.full();
        tb.smmu.tlb().setEnabled(false);
        S1 s1 = tb.setupS1Mapped(VA, PA);
        long far = VA + (1L << 30); // another level-1 entry: tables not made yet
        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
        assertThat(tb.read(1, far).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.drainEvents()).extracting(TestBed::evtId).containsExactly(SmmuV3Internal.EVT_F_TRANSLATION);
        s1.pt().map(far, PA + 0x3000, S1_RW); // new level-2 and level-3 tables
        assertThat(tb.read(1, far).pa).isEqualTo(PA + 0x3000);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
        s1.pt().map(far, PA + 0x4000, S1_RW);
        assertThat(tb.read(1, far).pa).isEqualTo(PA + 0x4000);
        assertThat(tb.smmu.tlb().hits()).isZero();
    }

    @Test
    void translationTracesSeenAtOnceWithTheTlbOff() {
        TestBed tb = tlbOffAfterTwoReads();
        readTracing(tb, Map.of("smmu_iotlb_lookup_miss", 1, "smmuv3_translate_success", 1, "smmu_ptw_leaf", 1,
                "smmu_iotlb_insert", 0)); // an off TLB takes no entry
        assertThat(tb.smmu.tlb().misses()).isEqualTo(3);
    }

    @Test
    void staleCdWithTheTlbOffUntilCfgiCd() {
        TestBed tb = TestBed.full();
        tb.smmu.tlb().setEnabled(false);
        S1 s1 = tb.setupS1Mapped(VA, PA);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
        // a second table maps VA elsewhere; the CD is pointed at it without CFGI_CD
        TestBed.PageTable other = tb.new PageTable(12, 48);
        other.map(VA, PA + 0x5000, S1_RW);
        tb.writeCd(s1.cdtab(), cd(9, other.root, 16, 0));
        assertThat(tb.read(1, VA).pa).as("the cached CD still walks the old table").isEqualTo(PA);
        tb.cfgiCd(1, 0);
        // the new CD has the same ASID, and the walk cache's entries are tagged by ASID, not by
        // CD: the old table's level-2 descriptor still leads to the old level-3 table
        assertThat(tb.read(1, VA).pa).as("walk entries of ASID 9").isEqualTo(PA);
        tb.tlbiAsid(9);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA + 0x5000);
        // and an invalid STE only after CFGI_STE
        tb.writeSte(1, steAbort());
        assertThat(tb.read(1, VA).pa).isEqualTo(PA + 0x5000);
        tb.cfgiSte(1);
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
    }

    @Test
    void configurationFrontCacheKeepsSubstreamsApart() {
        TestBed tb = TestBed.full();
        tb.smmu.tlb().setEnabled(false);
        S1 s1 = tb.setupS1(1, 9, 2, 2); // four CDs, S1DSS = SSID0: CD 0 for accesses without SSID
        TestBed.PageTable t1 = tb.new PageTable(12, 48);
        t1.map(VA, PA + 0x1000, S1_RW);
        tb.writeCd(s1.cdtab() + 64, cd(10, t1.root, 16, 0));
        s1.pt().map(VA, PA, S1_RW);
        for (int i = 0; i < 3; i++) {
            assertThat(tb.read(1, VA).pa).isEqualTo(PA);
            assertThat(tb.dma(1, 1, VA, DmaTransaction.ACC_READ).pa).isEqualTo(PA + 0x1000);
            assertThat(tb.dma(1, 2, VA, DmaTransaction.ACC_READ).status).as("CD 2 invalid")
                    .isEqualTo(DmaResult.ABORT);
        }
        assertThat(tb.smmu.configCache().cdHits()).isEqualTo(4);
    }

    @Test
    void configurationCacheTraceSeenAtOnceWithTheTlbOff() {
        TestBed tb = tlbOffAfterTwoReads();
        readTracing(tb, Map.of("smmuv3_config_cache_hit", 1));
        assertThat(tb.smmu.configCache().steHits()).isEqualTo(2);
    }

    @Test
    void clearingSmmuenAppliesGbpaToCachedTranslations() {
        TestBed tb = TestBed.full();
        tb.setupS1Mapped(VA, PA);
        tb.read(1, VA);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
        int cr0 = tb.readl(CR0);
        tb.writel(GBPA, 1 << 31); // Update, ABORT = 0: bypass
        tb.writel(CR0, cr0 & ~CR0_SMMUEN);
        DmaResult r = tb.read(1, VA);
        assertThat(r.status).isEqualTo(DmaResult.OK);
        assertThat(r.pa).as("bypassed, not the cached translation").isEqualTo(VA);
        tb.writel(GBPA, (1 << 31) | (1 << 20)); // ABORT
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        tb.writel(CR0, cr0);
        assertThat(tb.read(1, VA).pa).as("enabled again: the tables (the TLB kept the entry)").isEqualTo(PA);
    }

    /* ---------------- 2-level tables at boundaries ---------------- */

    @Test
    void twoLevelStreamTableAtSidBoundaries() {
        TestBed tb = new TestBed(SmmuCaps.full()).init(true, 16);
        for (int sid : new int[] {0, 255, 256, 0x1ff, 0xffff}) {
            tb.writeSte(sid, steBypass());
            assertThat(tb.read(sid, VA).status).as("sid %x", sid).isEqualTo(DmaResult.OK);
        }
        // L1 descriptor with Span 0: C_BAD_STREAMID
        assertThat(tb.read(0x8000, VA).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x02);
        // Span 2 covers 2 STEs only
        long l2 = tb.alloc(4096, 4096);
        tb.mem.writeq(tb.strtab + 8 * 0x90, l2 | 2);
        tb.mem.writeq(l2 + 64, 0x9);
        assertThat(tb.read(0x9001, VA).status).isEqualTo(DmaResult.OK);
        assertThat(tb.read(0x9002, VA).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x02);
        // beyond LOG2SIZE
        assertThat(tb.read(0x10000, VA).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x02);
        // L2Ptr is aligned to the level-2 array's size: its low bits are taken as zero
        long l2b = tb.alloc(4096, 4096);
        tb.mem.writeq(tb.strtab + 8 * 0x91, (l2b + 0x40) | 3); // Span 3: 4 STEs, 256 bytes
        tb.mem.writeq(l2b + 64 * 2, 0x9);
        assertThat(tb.read(0x9102, VA).status).isEqualTo(DmaResult.OK);
        // a Span larger than the split point (8 bits here) makes the whole range invalid
        long l2c = tb.alloc(64L * 512, 64L * 512);
        tb.mem.writeq(tb.strtab + 8 * 0x92, l2c | 10);
        tb.mem.writeq(l2c + 64 * 3, 0x9);
        assertThat(tb.read(0x9203, VA).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x02);
    }

    @Test
    void twoLevelCdTableAtSsidBoundaries() {
        TestBed tb = new TestBed(SmmuCaps.full()).init(true, 16);
        TestBed.PageTable pt = tb.new PageTable(12, 48);
        long l1 = tb.alloc(8 * 1024, 8 * 1024);
        tb.writeSte(7, steS1(l1, 2, 20, 0)); // S1FMT 64K leaves, 2^20 SSIDs
        int[] ssids = {1, 1023, 1024, (1 << 20) - 1};
        for (int i = 0; i < ssids.length; i++) {
            int ssid = ssids[i];
            long l1e = tb.mem.readq(l1 + 8L * (ssid >>> 10));
            if ((l1e & 1) == 0) {
                long leaf = tb.alloc(64 * 1024, 64 * 1024);
                tb.mem.writeq(l1 + 8L * (ssid >>> 10), leaf | 1);
                l1e = leaf | 1;
            }
            tb.writeCd((l1e & ~0xfffL) + 64L * (ssid & 1023), cd(100 + i, pt.root, 16, 0));
            pt.map(VA + 0x1000L * i, PA + 0x1000L * i, S1_RW);
        }
        for (int i = 0; i < ssids.length; i++) {
            DmaResult r = tb.dma(7, ssids[i], VA + 0x1000L * i, R);
            assertThat(r.status).as("ssid %d", ssids[i]).isEqualTo(DmaResult.OK);
            assertThat(r.pa).isEqualTo(PA + 0x1000L * i);
        }
        // SSID 2048 sits under an invalid L1CD: C_BAD_SUBSTREAMID
        assertThat(tb.dma(7, 2048, VA, R).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x08);
        // SSID 1022 has a leaf but an invalid CD
        assertThat(tb.dma(7, 1022, VA, R).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x0a);
    }

    @Test
    void twoLevelCdTableWith4kLeaves() {
        TestBed tb = TestBed.full();
        TestBed.PageTable pt = tb.new PageTable(12, 48);
        long l1 = tb.alloc(4096, 4096);
        long leaf = tb.alloc(4096, 4096);
        tb.mem.writeq(l1 + 8, leaf | 1); // SSIDs 64..127
        tb.writeCd(leaf + 64 * 63, cd(5, pt.root, 16, 0));
        tb.writeSte(1, steS1(l1, 1, 10, 0));
        pt.map(VA, PA, S1_RW);
        assertThat(tb.dma(1, 127, VA, R).pa).isEqualTo(PA);
        assertThat(tb.dma(1, 63, VA, R).status).isEqualTo(DmaResult.ABORT);
        only(tb, 0x08);
    }

    /* ---------------- explain ---------------- */

    @Test
    void explainShowsEveryStepWithoutSideEffects() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1Mapped(VA, PA);
        tb.txn.set(1, NO, VA, 4, R);
        List<String> lines = tb.smmu.explain(tb.txn);
        String all = String.join("\n", lines);
        assertThat(all).contains("STE @0x" + Long.toHexString(tb.steAddr(1)));
        assertThat(all).contains("CD 0 @0x" + Long.toHexString(s1.cdtab()));
        assertThat(all).contains("stage 1 level 0", "stage 1 level 3", "leaf at level 3");
        assertThat(lines.get(lines.size() - 1)).contains("ok(pa=0x" + Long.toHexString(PA));
        tb.txn.set(1, NO, VA + 0x1000, 4, R);
        all = String.join("\n", tb.smmu.explain(tb.txn));
        assertThat(all).contains("F_TRANSLATION");
        assertThat(tb.drainEvents()).isEmpty();
        assertThat(tb.smmu.tlb().size()).isZero();
    }
}
