package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import java.util.List;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.smmuv3.hw.TestBed.S1;
import org.junit.jupiter.api.Test;

/**
 * ATS traffic against the configuration (section 3.9.1): which Translation Requests get
 * Unsupported Request (with or without F_BAD_ATS_TREQ), which get Completer Abort (a
 * configuration error, unrecorded without CR2.REC_CFG_ATS), and which Translated transactions
 * CR0.ATSCHK and STE.EATS let through.
 */
class SmmuV3AtsTest {
    static final long VA = 0x1234_5000L;
    static final long PA = 0x5000_0000L;
    static final int ALL_ON = CR0_CMDQEN | CR0_EVTQEN | CR0_PRIQEN | CR0_SMMUEN;
    static final long EATS_FULL = 1L << 28, EATS_SPLIT = 2L << 28;

    private static DmaResult atsRequest(TestBed tb, int sid, int ssid, long va) {
        tb.txn.set(sid, ssid, va, 4, DmaTransaction.ACC_READ);
        tb.txn.ats = true;
        tb.smmu.translate(tb.txn, tb.res);
        return tb.res;
    }

    private static DmaResult translated(TestBed tb, int sid, long pa) {
        tb.txn.set(sid, DmaTransaction.NO_SSID, pa, 4, DmaTransaction.ACC_WRITE);
        tb.txn.translated = true;
        tb.smmu.translate(tb.txn, tb.res);
        return tb.res;
    }

    private static List<Integer> eventIds(TestBed tb) {
        return tb.drainEvents().stream().map(TestBed::evtId).toList();
    }

    @Test
    void withSmmuenZeroATranslationRequestIsUnsupportedAndATranslatedAccessForbiddenBothRecorded() {
        TestBed tb = TestBed.full();
        tb.setupS1AtsMapped(VA, PA, S1_RW);
        tb.writel(CR0, ALL_ON & ~CR0_SMMUEN);
        assertThat(atsRequest(tb, 1, DmaTransaction.NO_SSID, VA).status).isEqualTo(DmaResult.ATS_UR);
        assertThat(translated(tb, 1, PA).status).isEqualTo(DmaResult.ABORT);
        assertThat(eventIds(tb)).containsExactly(0x05, 0x07); // F_BAD_ATS_TREQ, F_TRANSL_FORBIDDEN
        assertThat(tb.read(1, VA).status).as("ordinary traffic: GBPA (bypass)").isEqualTo(DmaResult.OK);
        assertThat(tb.res.pa).isEqualTo(VA);
    }

    @Test
    void anAbortSteAnswersUnsupportedRequestWithoutAnEvent() {
        TestBed tb = TestBed.full();
        tb.writeSte(1, 0x1, EATS_FULL); // V, Config = abort
        assertThat(atsRequest(tb, 1, DmaTransaction.NO_SSID, VA).status).isEqualTo(DmaResult.ATS_UR);
        assertThat(tb.res.faultReason).isZero();
        assertThat(eventIds(tb)).isEmpty();
    }

    @Test
    void aBypassSteRefusesAtsWhateverEatsSays() {
        TestBed tb = TestBed.full();
        tb.writeSte(1, 0x9, EATS_FULL); // V, Config = bypass, EATS = full
        assertThat(atsRequest(tb, 1, DmaTransaction.NO_SSID, VA).status).isEqualTo(DmaResult.ATS_UR);
        assertThat(eventIds(tb)).containsExactly(0x05);
        tb.writel(CR0, ALL_ON | CR0_ATSCHK);
        assertThat(translated(tb, 1, PA).status).isEqualTo(DmaResult.ABORT);
        assertThat(eventIds(tb)).containsExactly(0x07);
        tb.writel(CR0, ALL_ON);
        assertThat(translated(tb, 1, PA).status).as("ATSCHK = 0: unchecked").isEqualTo(DmaResult.OK);
        assertThat(tb.res.pa).isEqualTo(PA);
    }

    @Test
    void configurationErrorsOfAtsTrafficAreCompleterAbortsAndUnrecorded() {
        TestBed tb = TestBed.full(); // CR2.RECINVSID = 1; SID 1's STE has V = 0
        assertThat(atsRequest(tb, 1, DmaTransaction.NO_SSID, VA).status).isEqualTo(DmaResult.ATS_CA);
        assertThat(tb.res.faultReason).isEqualTo(0x04); // C_BAD_STE
        assertThat(atsRequest(tb, 0x1000, DmaTransaction.NO_SSID, VA).status).isEqualTo(DmaResult.ATS_CA);
        assertThat(tb.res.faultReason).isEqualTo(0x02); // C_BAD_STREAMID
        tb.writel(CR0, ALL_ON | CR0_ATSCHK);
        assertThat(translated(tb, 1, PA).status).isEqualTo(DmaResult.ABORT);
        assertThat(eventIds(tb)).as("none recorded: CR2.REC_CFG_ATS is not implemented").isEmpty();
        // an ordinary transaction records them
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.read(0x1000, VA).status).isEqualTo(DmaResult.ABORT);
        assertThat(eventIds(tb)).containsExactly(0x04, 0x02);
        // ATSCHK = 0: Translated traffic is not checked against the configuration at all
        tb.writel(CR0, ALL_ON);
        assertThat(translated(tb, 1, PA).status).isEqualTo(DmaResult.OK);
        assertThat(translated(tb, 0x1000, PA).status).isEqualTo(DmaResult.OK);
        assertThat(translated(tb, 1, 1L << 48).status).as("beyond the 48-bit OAS").isEqualTo(DmaResult.ABORT);
        assertThat(eventIds(tb)).isEmpty();
    }

    @Test
    void aSubstreamOrWalkErrorOfATranslationRequestIsACompleterAbort() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1AtsMapped(VA, PA, S1_RW); // S1CDMax 0: no substreams
        assertThat(atsRequest(tb, 1, 3, VA).status).isEqualTo(DmaResult.ATS_CA);
        assertThat(tb.res.faultReason).isEqualTo(0x08); // C_BAD_SUBSTREAMID
        // TTB0 outside RAM: the walk's external abort
        long[] c = cd(9, 0x1_0000_0000L, 16, 0);
        tb.writeCd(s1.cdtab(), c);
        tb.cmd(0x05 | (1L << 32), 1); // CFGI_CD SID 1, leaf
        tb.sync();
        assertThat(atsRequest(tb, 1, DmaTransaction.NO_SSID, VA).status).isEqualTo(DmaResult.ATS_CA);
        assertThat(tb.res.faultReason).isEqualTo(0x0b); // F_WALK_EABT
        assertThat(eventIds(tb)).isEmpty();
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        assertThat(eventIds(tb)).containsExactly(0x0b);
    }

    @Test
    void splitStageAtsIsNotImplementedSoEats0b10IsIllegalAndEats0b11BehavesAs0b00() {
        assertThat((SmmuCaps.full().idr0() >>> 11) & 1).as("IDR0.NS1ATS").isEqualTo(1);
        var b = SmmuCaps.full().toBuilder();
        b.ns1ats = false;
        assertThatThrownBy(b::build).isInstanceOf(IllegalArgumentException.class);

        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        s1.pt().map(VA, PA, S1_RW);
        long[] ste = steS1(s1.cdtab(), 0, 0, 0);
        ste[1] |= EATS_SPLIT;
        tb.writeSte(1, ste);
        assertThat(atsRequest(tb, 1, DmaTransaction.NO_SSID, VA).status).isEqualTo(DmaResult.ATS_CA);
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        assertThat(eventIds(tb)).containsExactly(0x04); // C_BAD_STE, from the ordinary read only

        ste[1] = (ste[1] & ~(3L << 28)) | (3L << 28); // EATS 0b11: DPT checks, not implemented
        tb.writeSte(1, ste);
        tb.cmd(0x03 | (1L << 32), 1); // CFGI_STE 1
        tb.sync();
        assertThat(atsRequest(tb, 1, DmaTransaction.NO_SSID, VA).status).isEqualTo(DmaResult.ATS_UR);
        assertThat(eventIds(tb)).containsExactly(0x05);
        assertThat(tb.read(1, VA).status).as("ordinary traffic translates").isEqualTo(DmaResult.OK);
    }

    @Test
    void fullAtsWithAStallingStage2IsIllegal() {
        TestBed tb = TestBed.full();
        long[] ste = steS2(1, tb.alloc(4096, 4096), 24, 1, 0);
        ste[1] |= EATS_FULL;
        ste[2] |= 1L << 57; // S2S
        tb.writeSte(1, ste);
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        assertThat(eventIds(tb)).containsExactly(0x04);
    }

    @Test
    void aTranslationFaultIsASuccessfulCompletionWithoutAccess() {
        TestBed tb = TestBed.full();
        tb.setupS1AtsMapped(VA, PA, S1_RW);
        assertThat(atsRequest(tb, 1, DmaTransaction.NO_SSID, VA + 0x1000).status).isEqualTo(DmaResult.ATS_FAULT);
        assertThat(tb.res.faultReason).isEqualTo(0x10); // F_TRANSLATION
        assertThat(atsRequest(tb, 1, DmaTransaction.NO_SSID, VA).status).isEqualTo(DmaResult.OK);
        assertThat(tb.res.pa).isEqualTo(PA);
        assertThat(eventIds(tb)).isEmpty();
    }

    /** SID 1 with four substreams and ATS; PASID 1's CD maps {@code VA} with {@code attrs}. */
    private static void pasidPage(TestBed tb, long attrs) {
        S1 s1 = tb.setupS1(1, 9, 2, 0);
        long[] ste = steS1(s1.cdtab(), 0, 2, 0);
        ste[1] |= EATS_FULL;
        tb.writeSte(1, ste);
        tb.writeCd(s1.cdtab() + 64, cd(10, s1.pt().root, 16, 0));
        s1.pt().map(VA, PA, attrs);
    }

    private static int granted(TestBed tb, int ssid, int access) {
        tb.txn.set(1, ssid, VA, 4, access);
        tb.txn.ats = true;
        tb.smmu.translate(tb.txn, tb.res);
        return tb.res.status == DmaResult.OK ? tb.res.perm : -tb.res.status;
    }

    static final int R = DmaResult.PERM_R, W = DmaResult.PERM_W, X = DmaResult.PERM_X, P = DmaResult.PERM_PRIV;
    static final int RD = DmaTransaction.ACC_READ, WR = DmaTransaction.ACC_WRITE, EX = DmaTransaction.ACC_EXEC,
            PRIV = DmaTransaction.ACC_PRIV;

    @Test
    void executeIsGrantedOnlyWhenRequestedWithAPasidAndNeverWithoutRead() {
        TestBed tb = TestBed.full();
        pasidPage(tb, AF | AP_EL0 | AP_RO | NG | PXN); // user read and execute
        assertThat(granted(tb, 1, RD)).isEqualTo(R);
        assertThat(granted(tb, 1, RD | EX)).isEqualTo(R | X);
        assertThat(granted(tb, 1, WR | EX)).as("NW = 0 to a read-only page").isEqualTo(R | X);

        TestBed xo = TestBed.full();
        pasidPage(xo, AF | NG | PXN); // user execute-only (EL0 may not read, UXN clear)
        assertThat(granted(xo, 1, RD | EX)).as("execute-only: no access through ATS")
                .isEqualTo(-DmaResult.ATS_FAULT);
        assertThat(xo.res.faultReason).isEqualTo(0x13); // F_PERMISSION
        assertThat(xo.drainEvents()).isEmpty();
    }

    @Test
    void privilegeComesFromThePasidAndIsEchoed() {
        TestBed tb = TestBed.full();
        pasidPage(tb, AF | NG | UXN); // privileged read-write only
        assertThat(granted(tb, 1, WR | PRIV)).isEqualTo(R | W | P);
        assertThat(granted(tb, 1, WR)).as("unprivileged: nothing").isEqualTo(-DmaResult.ATS_FAULT);
        // without a PASID the request is unprivileged data, whatever the device marks
        TestBed np = TestBed.full();
        np.setupS1AtsMapped(VA, PA, AF | NG | UXN);
        np.txn.set(1, DmaTransaction.NO_SSID, VA, 4, WR | PRIV | EX);
        np.txn.ats = true;
        np.smmu.translate(np.txn, np.res);
        assertThat(np.res.status).isEqualTo(DmaResult.ATS_FAULT);
        TestBed user = TestBed.full();
        user.setupS1AtsMapped(VA, PA, S1_RW);
        user.txn.set(1, DmaTransaction.NO_SSID, VA, 4, WR | PRIV | EX);
        user.txn.ats = true;
        user.smmu.translate(user.txn, user.res);
        assertThat(user.res.perm).as("no Priv, no Exe in the completion").isEqualTo(R | W);
    }

    /**
     * HTTU on a Translation Request (sections 3.13.7, 13.7): the Access flag is set for any grant;
     * NW = 0 to a writable-clean page dirties it and grants W; NW = 1 never dirties a page.
     */
    @Test
    void aTranslationRequestSetsTheAccessFlagAndDirtiesOnlyWithIntentToWrite() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        long[] ste = steS1(s1.cdtab(), 0, 0, 0);
        ste[1] |= EATS_FULL;
        tb.writeSte(1, ste);
        long[] c = cd(9, s1.pt().root, 16, 0);
        c[0] |= CD_HA | CD_HD;
        tb.writeCd(s1.cdtab(), c);
        long pte = s1.pt().map(VA, PA, AP_EL0 | NG | AP_RO | DBM); // AF = 0, writable-clean

        tb.txn.set(1, DmaTransaction.NO_SSID, VA, 4, DmaTransaction.ACC_READ); // NW = 1
        tb.txn.ats = true;
        tb.smmu.translate(tb.txn, tb.res);
        assertThat(tb.res.status).isEqualTo(DmaResult.OK);
        assertThat(tb.res.perm & W).as("not dirty: no W for NW = 1").isZero();
        assertThat(tb.mem.readq(pte) & AF).as("AF set").isNotZero();
        assertThat(tb.mem.readq(pte) & AP_RO).as("still clean").isNotZero();

        tb.txn.set(1, DmaTransaction.NO_SSID, VA, 4, DmaTransaction.ACC_WRITE); // NW = 0
        tb.txn.ats = true;
        tb.smmu.translate(tb.txn, tb.res);
        assertThat(tb.res.status).isEqualTo(DmaResult.OK);
        assertThat(tb.res.perm & (R | W)).isEqualTo(R | W);
        assertThat(tb.mem.readq(pte) & AP_RO).as("dirtied").isZero();
        assertThat(eventIds(tb)).isEmpty();
    }
}
