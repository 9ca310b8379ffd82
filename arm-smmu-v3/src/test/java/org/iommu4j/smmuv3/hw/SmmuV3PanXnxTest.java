package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import java.util.List;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two permission controls: CD.PAN (dword 0 bit 40), privileged access never, as PSTATE.PAN on a
 * PE; and stage 2's execute-never with and without IDR3.XNX.
 */
@ExtendWith(NoWarnings.class)
class SmmuV3PanXnxTest {
    static final int R = DmaTransaction.ACC_READ, W = DmaTransaction.ACC_WRITE, X = DmaTransaction.ACC_EXEC,
            P = DmaTransaction.ACC_PRIV;
    static final int NO = DmaTransaction.NO_SSID;
    static final long VA = 0x1234_5000L;
    static final long PA = 0x4567_8000L;
    static final long CD_PAN = 1L << 40;
    static final int F_PERMISSION = 0x13;

    private static long[] only(TestBed tb, int id) {
        List<long[]> ev = tb.drainEvents();
        assertThat(ev).hasSize(1);
        assertThat(evtId(ev.get(0))).isEqualTo(id);
        return ev.get(0);
    }

    /**
     * SID {@code sid} at stage 1 through a CD of its own with ASID 9 over the tables
     * {@code root}, PAN as given.
     */
    private static void stream(TestBed tb, int sid, long root, boolean pan) {
        long cdtab = tb.alloc(64, 64);
        long[] c = cd(9, root, 16, 0);
        if (pan) {
            c[0] |= CD_PAN;
        }
        tb.writeCd(cdtab, c);
        tb.writeSte(sid, steS1(cdtab, 0, 0, 0));
    }

    /** A privileged {@code access} of SID {@code sid} refused by PAN: a stage-1 F_PERMISSION with its fields. */
    private static void panFault(TestBed tb, int sid, long va, int access, String what) {
        DmaResult r = tb.dma(sid, NO, va, access);
        assertThat(r.status).as(what).isEqualTo(DmaResult.ABORT);
        assertThat(r.faultReason).as(what).isEqualTo(F_PERMISSION);
        long[] e = only(tb, F_PERMISSION);
        assertThat(evtSid(e)).as(what + ": SID").isEqualTo(sid);
        assertThat(evtSsv(e)).as(what + ": SSV").isFalse();
        assertThat((e[1] >>> 33) & 1).as(what + ": PnU").isEqualTo(1);
        assertThat((e[1] >>> 34) & 1).as(what + ": InD").isZero();
        assertThat((e[1] >>> 35) & 1).as(what + ": RnW").isEqualTo((access & W) == 0 ? 1 : 0);
        assertThat((e[1] >>> 39) & 1).as(what + ": stage 1").isZero();
        assertThat(e[2]).as(what + ": InputAddr").isEqualTo(va);
    }

    /**
     * With PAN a privileged read or write of a page EL0 may access (AP[1] = 1) is a stage-1
     * Permission fault; an unprivileged access of it, a privileged access of a page EL0 may not
     * access (AP[1] = 0, or APTable[0] above it), and a privileged instruction fetch are not.
     * Both with the TLB and walk cache on and with them off (the walks the TLB-off paths take).
     */
    @Test
    void panRefusesPrivilegedDataAccessesToUserPages() {
        for (boolean caches : new boolean[] {true, false}) {
            String how = caches ? "caches on: " : "caches off: ";
            TestBed tb = TestBed.full();
            tb.smmu.tlb().setEnabled(caches);
            tb.smmu.walkCache().setEnabled(caches);
            TestBed.PageTable pt = tb.new PageTable(12, 48);
            stream(tb, 1, pt.root, true);
            pt.map(VA, PA, S1_RW); // EL0 read-write
            pt.map(VA + 0x1000, PA + 0x1000, AF | NG); // privileged only
            pt.map(VA + 0x2000, PA + 0x2000, AF | NG | AP_EL0 | AP_RO); // EL0 read-only, executable
            for (int round = 0; round < 2; round++) {
                String what = how + "round " + round + ": ";
                panFault(tb, 1, VA, R | P, what + "privileged read of a user page");
                panFault(tb, 1, VA + 8, W | P, what + "privileged write of a user page");
                DmaResult r = tb.dma(1, NO, VA, R);
                assertThat(r.status).as(what + "unprivileged read").isEqualTo(DmaResult.OK);
                assertThat(r.pa).isEqualTo(PA);
                assertThat(tb.dma(1, NO, VA, W).status).as(what + "unprivileged write").isEqualTo(DmaResult.OK);
                r = tb.dma(1, NO, VA + 0x1000, R | P);
                assertThat(r.status).as(what + "privileged read of a privileged page").isEqualTo(DmaResult.OK);
                assertThat(r.pa).isEqualTo(PA + 0x1000);
                assertThat(r.perm & (DmaResult.PERM_R | DmaResult.PERM_W)).as(what + "privileged page's perms")
                        .isEqualTo(DmaResult.PERM_R | DmaResult.PERM_W);
                assertThat(tb.dma(1, NO, VA + 0x1000, W | P).status).isEqualTo(DmaResult.OK);
                // an instruction fetch is no data access: PAN leaves it
                assertThat(tb.dma(1, NO, VA + 0x2000, R | X | P).status).as(what + "privileged fetch")
                        .isEqualTo(DmaResult.OK);
                panFault(tb, 1, VA + 0x2000, R | P, what + "privileged read of a read-only user page");
                assertThat(tb.drainEvents()).isEmpty();
            }
            // APTable[0] on the level 2 table descriptor: EL0 has no access below, PAN none to refuse
            long d = pt.root + 8 * ((VA >>> 39) & 0x1ff);
            for (int shift : new int[] {30, 21}) {
                d = (tb.mem.readq(d) & 0x0000_ffff_ffff_f000L) + 8 * ((VA >>> shift) & 0x1ff);
            }
            tb.mem.writeq(d, tb.mem.readq(d) | 1L << 61);
            tb.tlbiAsid(9);
            assertThat(tb.dma(1, NO, VA, R | P).status).as(how + "under APTable[0]").isEqualTo(DmaResult.OK);
            assertThat(tb.dma(1, NO, VA, R).status).as(how + "unprivileged under APTable[0]")
                    .isEqualTo(DmaResult.ABORT);
            only(tb, F_PERMISSION);
        }
    }

    /**
     * A CD with PAN and one without, same ASID, same tables: the TLB keeps their entries apart,
     * so neither answers for the other (each stream's translation comes from its own CD's
     * permissions, whichever walked first). Without PAN the privileged read is allowed.
     */
    @Test
    void panAndNonPanCdsShareNoTlbEntry() {
        for (boolean panFirst : new boolean[] {true, false}) {
            TestBed tb = TestBed.full();
            TestBed.PageTable pt = tb.new PageTable(12, 48);
            pt.map(VA, PA, S1_RW);
            stream(tb, 1, pt.root, false);
            stream(tb, 2, pt.root, true);
            for (int round = 0; round < 3; round++) {
                String what = (panFirst ? "PAN first" : "non-PAN first") + ", round " + round;
                if (panFirst) {
                    assertThat(tb.dma(2, NO, VA, R).pa).as(what).isEqualTo(PA); // a PAN entry
                    panFault(tb, 2, VA, R | P, what);
                }
                DmaResult r = tb.dma(1, NO, VA, R | P);
                assertThat(r.status).as(what + ": without PAN").isEqualTo(DmaResult.OK);
                assertThat(r.perm & (DmaResult.PERM_R | DmaResult.PERM_W)).as(what + ": perms without PAN")
                        .isEqualTo(DmaResult.PERM_R | DmaResult.PERM_W);
                if (!panFirst) {
                    panFault(tb, 2, VA, R | P, what);
                    assertThat(tb.dma(2, NO, VA, R).pa).as(what).isEqualTo(PA);
                }
            }
            assertThat(tb.smmu.tlb().size()).as("one entry per PAN setting").isEqualTo(2);
        }
    }

    /**
     * The EL2 regime of CR2.E2H = 0 has no EL0 and no PAN: CD.PAN is not applied there. With
     * E2H = 1 (EL2&0) it is.
     */
    @Test
    void panAppliesOnlyInRegimesWithEl0() {
        for (boolean e2h : new boolean[] {false, true}) {
            TestBed tb = TestBed.full();
            tb.writel(CR2, CR2_RECINVSID | (e2h ? CR2_E2H : 0));
            TestBed.PageTable pt = tb.new PageTable(12, 48);
            pt.map(VA, PA, S1_RW);
            stream(tb, 1, pt.root, true);
            long ste = tb.steAddr(1);
            tb.mem.writeq(ste + 8, tb.mem.readq(ste + 8) | 2L << 30); // STRW = EL2
            tb.cfgiSte(1);
            if (e2h) {
                panFault(tb, 1, VA, R | P, "EL2 with E2H");
            } else {
                assertThat(tb.dma(1, NO, VA, R | P).pa).as("EL2 without E2H").isEqualTo(PA);
            }
        }
    }

    /**
     * A privileged ATS Translation Request (with a PASID) under PAN is a data access: a user page
     * completes with R = W = 0; an unprivileged request, and a privileged one through the CD
     * without PAN, get read and write.
     */
    @Test
    void aPrivilegedAtsRequestUnderPanGetsNoAccessToAUserPage() {
        TestBed tb = TestBed.full();
        TestBed.PageTable pt = tb.new PageTable(12, 48);
        pt.map(VA, PA, S1_RW);
        long cdtab = tb.alloc(128, 64);
        long[] c = cd(9, pt.root, 16, 0);
        tb.writeCd(cdtab, c); // SSID 0: no PAN
        c[0] |= CD_PAN;
        tb.writeCd(cdtab + 64, c); // SSID 1: PAN
        long[] ste = steS1(cdtab, 0, 1, 0);
        ste[1] |= 1L << 28; // EATS = translate
        tb.writeSte(1, ste);
        int rw = DmaResult.PERM_R | DmaResult.PERM_W;
        assertThat(ats(tb, 1, R | P).status).as("privileged, PAN").isEqualTo(DmaResult.ATS_FAULT);
        DmaResult r = ats(tb, 1, R);
        assertThat(r.status).as("unprivileged, PAN").isEqualTo(DmaResult.OK);
        assertThat(r.perm & rw).isEqualTo(rw);
        r = ats(tb, 0, R | P);
        assertThat(r.status).as("privileged, no PAN").isEqualTo(DmaResult.OK);
        assertThat(r.perm & rw).isEqualTo(rw);
        assertThat(tb.drainEvents()).as("ATS faults are not recorded").isEmpty();
    }

    private static DmaResult ats(TestBed tb, int ssid, int access) {
        tb.txn.set(1, ssid, VA, 4, access);
        tb.txn.ats = true;
        tb.smmu.translate(tb.txn, tb.res);
        tb.txn.ats = false;
        return tb.res;
    }

    /** explain's leaf line says when PAN refuses privileged data. */
    @Test
    void explainShowsPan() {
        TestBed tb = TestBed.full();
        TestBed.PageTable pt = tb.new PageTable(12, 48);
        pt.map(VA, PA, S1_RW);
        stream(tb, 1, pt.root, true);
        DmaTransaction t = new DmaTransaction();
        t.set(1, NO, VA, 4, R | P);
        assertThat(String.join("\n", tb.smmu.explain(t))).contains("privileged data refused by PAN")
                .contains("F_PERMISSION");
    }

    /* ---------------- stage 2 XN ---------------- */

    /**
     * Without IDR3.XNX, stage 2 descriptor bit 53 is RES0 and bit 54 alone is XN: bits [54:53]
     * 0b01 are executable at both privileges (with XNX, at EL0 only), 0b10 and 0b11 at neither.
     * The same tables with XNX give the four XN[1:0] encodings their meanings. A refused
     * execution is a stage 2 F_PERMISSION with InD, PnU and the IPA.
     */
    @Test
    void stage2XnWithAndWithoutXnx() {
        boolean[][] withXnx = {{true, true}, {false, true}, {false, false}, {true, false}}; // {priv, unpriv}
        boolean[][] withoutXnx = {{true, true}, {true, true}, {false, false}, {false, false}};
        for (boolean xnx : new boolean[] {false, true}) {
            var b = SmmuCaps.full().toBuilder();
            b.xnx = xnx;
            TestBed tb = new TestBed(b.build()).init();
            assertThat((tb.readl(IDR3) >>> 4) & 1).as("IDR3.XNX").isEqualTo(xnx ? 1 : 0);
            TestBed.PageTable pt = tb.new PageTable(12, 40, 1);
            for (int xn = 0; xn < 4; xn++) {
                pt.map(VA + 0x1000L * xn, PA + 0x1000L * xn, S2_RW | (long) xn << 53);
            }
            tb.writeSte(6, steS2(9, pt.root, 24, 1, 0));
            boolean[][] allowed = xnx ? withXnx : withoutXnx;
            for (int xn = 0; xn < 4; xn++) {
                for (int p = 0; p < 2; p++) {
                    boolean priv = p == 0;
                    long ipa = VA + 0x1000L * xn;
                    String what = String.format("XNX %s, bits [54:53] 0b%s, %s", xnx, Integer.toBinaryString(xn),
                            priv ? "privileged" : "unprivileged");
                    DmaResult r = tb.dma(6, NO, ipa, R | X | (priv ? P : 0));
                    if (allowed[xn][p]) {
                        assertThat(r.status).as(what).isEqualTo(DmaResult.OK);
                        assertThat(r.pa).as(what).isEqualTo(PA + 0x1000L * xn);
                        assertThat(r.perm & DmaResult.PERM_X).as(what + ": X granted").isNotZero();
                        assertThat(tb.drainEvents()).as(what).isEmpty();
                    } else {
                        assertThat(r.status).as(what).isEqualTo(DmaResult.ABORT);
                        long[] e = only(tb, F_PERMISSION);
                        assertThat((e[1] >>> 39) & 1).as(what + ": S2").isEqualTo(1);
                        assertThat((e[1] >>> 34) & 1).as(what + ": InD").isEqualTo(1);
                        assertThat((e[1] >>> 33) & 1).as(what + ": PnU").isEqualTo(priv ? 1 : 0);
                        assertThat(e[3]).as(what + ": IPA").isEqualTo(ipa);
                    }
                    assertThat(tb.dma(6, NO, ipa, R | (priv ? P : 0)).status).as(what + ": read")
                            .isEqualTo(DmaResult.OK);
                }
            }
        }
    }
}
