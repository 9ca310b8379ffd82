package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.iommu4j.base.hw.AtcInvalidation;
import org.iommu4j.base.hw.AtsEndpoint;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.hw.Interconnect;
import org.iommu4j.base.hw.PageRequest;
import org.iommu4j.base.hw.PageResponse;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.smmuv3.hw.TestBed.S1;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@ExtendWith(NoWarnings.class)
class SmmuV3CommandTest {
    static final long VA = 0x1234_5000L;
    static final long PA = 0x4567_8000L;
    static final int NO = DmaTransaction.NO_SSID;

    /** A PCIe endpoint's downstream side, as simple as the tests need. */
    static final class FakeEndpoint implements AtsEndpoint {
        final List<AtcInvalidation> invs = new CopyOnWriteArrayList<>();
        final List<PageResponse> resps = new CopyOnWriteArrayList<>();
        volatile int result = INV_OK;

        @Override
        public int atcInvalidate(AtcInvalidation inv) {
            invs.add(inv);
            return result;
        }

        @Override
        public void pageResponse(PageResponse resp) {
            resps.add(resp);
        }
    }

    private static int err(TestBed tb) {
        return (tb.cmdqCons() >>> 24) & 0x7f;
    }

    /** Maps VA -> pa on SID 1 (ASID 9), reads it once to fill the TLB, then remaps to pa + 0x1000. */
    private static S1 cachedThenRemapped(TestBed tb, long va) {
        S1 s1 = tb.setupS1Mapped(va, PA);
        assertThat(tb.read(1, va).pa).isEqualTo(PA);
        s1.pt().map(va, PA + 0x1000, S1_RW);
        assertThat(tb.read(1, va).pa).isEqualTo(PA);
        return s1;
    }

    private static void assertFresh(TestBed tb, long va) {
        assertThat(tb.read(1, va).pa).isEqualTo(PA + 0x1000);
    }

    private static void assertStale(TestBed tb, long va) {
        assertThat(tb.read(1, va).pa).isEqualTo(PA);
    }

    @Test
    void prefetchConfigIsAcceptedAndChangesNothing() {
        TestBed tb = TestBed.full();
        tb.cmd(0x01 | (5L << 32), 0);
        tb.cmd(0x02 | (5L << 32), 0);
        assertThat(tb.cmdqCons()).isEqualTo(2);
        assertThat(tb.smmu.gerrorActive()).isZero();
    }

    @Test
    void cfgiSteRangeAndAll() {
        TestBed tb = TestBed.full();
        for (int sid = 0; sid < 8; sid++) {
            tb.writeSte(sid, steBypass());
            tb.read(sid, VA);
            tb.writeSte(sid, steAbort());
        }
        tb.cmd(0x04 | (2L << 32), 1); // Range 1: SIDs 0..3
        tb.sync();
        assertThat(tb.read(3, VA).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.read(4, VA).status).isEqualTo(DmaResult.OK);
        tb.cfgiAll();
        assertThat(tb.read(7, VA).status).isEqualTo(DmaResult.ABORT);
    }

    @Test
    void cfgiCdAndCdAll() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 2, 1);
        for (int ssid = 0; ssid < 4; ssid++) {
            tb.writeCd(s1.cdtab() + 64L * ssid, cd(ssid + 1, s1.pt().root, 16, 0));
        }
        s1.pt().map(VA, PA, S1_RW);
        for (int ssid = 0; ssid < 4; ssid++) {
            assertThat(tb.dma(1, ssid, VA, 1).status).isEqualTo(DmaResult.OK);
            tb.writeCd(s1.cdtab() + 64L * ssid, 0); // V = 0
        }
        assertThat(tb.dma(1, 1, VA, 1).status).as("stale CD").isEqualTo(DmaResult.OK);
        tb.cfgiCd(1, 1);
        assertThat(tb.dma(1, 1, VA, 1).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.dma(1, 2, VA, 1).status).isEqualTo(DmaResult.OK);
        tb.cmd(0x06 | (1L << 32), 0);
        tb.sync();
        assertThat(tb.dma(1, 2, VA, 1).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.dma(1, 3, VA, 1).status).isEqualTo(DmaResult.ABORT);
    }

    @Test
    void tlbiNhAll() {
        TestBed tb = TestBed.full();
        cachedThenRemapped(tb, VA);
        tb.cmd(0x10 | (1L << 32), 0); // another VMID
        tb.sync();
        assertStale(tb, VA);
        tb.cmd(0x10, 0);
        tb.sync();
        assertFresh(tb, VA);
    }

    @Test
    void tlbiNhAsidSparesGlobalEntries() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        s1.pt().map(VA, PA, AF | AP_EL0); // global (nG = 0)
        tb.read(1, VA);
        s1.pt().map(VA, PA + 0x1000, AF | AP_EL0);
        tb.tlbiAsid(9);
        assertStale(tb, VA);
        tb.cmd(0x13, VA); // TLBI_NH_VAA drops it
        tb.sync();
        assertFresh(tb, VA);
    }

    @Test
    void tlbiNhVaRange() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        for (int i = 0; i < 8; i++) {
            s1.pt().map(VA + 0x1000L * i, PA + 0x1000L * i, S1_RW);
            tb.read(1, VA + 0x1000L * i);
            s1.pt().map(VA + 0x1000L * i, PA, S1_RW);
        }
        // NUM = 2, SCALE = 1: (2+1) << 1 = 6 pages of 4K (TG = 1) from VA
        tb.cmd(0x12 | (2L << 12) | (1L << 20) | (9L << 48), VA | (1L << 10) | 1);
        tb.sync();
        for (int i = 0; i < 8; i++) {
            assertThat(tb.read(1, VA + 0x1000L * i).pa).as("page %d", i).isEqualTo(i < 6 ? PA : PA + 0x1000L * i);
        }
    }

    @Test
    void tlbiEl2Commands() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1El2Mapped(VA, PA);
        tb.read(1, VA);
        s1.pt().map(VA, PA + 0x1000, S1_RW);
        tb.tlbiAsid(9); // NH: another regime
        assertStale(tb, VA);
        tb.cmd(0x21 | (9L << 48), 0); // TLBI_EL2_ASID
        tb.sync();
        assertFresh(tb, VA);
        s1.pt().map(VA, PA, S1_RW);
        tb.cmd(0x22 | (9L << 48), VA); // TLBI_EL2_VA
        tb.sync();
        assertStale(tb, VA);
        s1.pt().map(VA, PA + 0x1000, S1_RW);
        tb.cmd(0x20, 0); // TLBI_EL2_ALL
        tb.sync();
        assertFresh(tb, VA);
        // without HYP the EL2 commands are illegal
        TestBed q = new TestBed(SmmuCaps.qemu()).init();
        q.cmd(0x20, 0);
        assertThat(err(q)).isEqualTo(1);
    }

    /**
     * With CR2.E2H = 0 an STE.STRW = EL2 stream translates in the EL2 regime, which has no ASIDs
     * (CD.ASID is IGNORED): TLBI_EL2_VA reaches its entries whatever the command's ASID field
     * holds. With E2H = 1 (the EL2&0 regime) the ASID selects, and another ASID leaves them.
     */
    @Test
    void tlbiEl2VaIgnoresTheAsidInTheEl2RegimeWithoutE2h() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        long[] ste = steS1(s1.cdtab(), 0, 0, 0);
        ste[1] |= 2L << 30; // STRW = EL2; CR2.E2H stays 0
        tb.writeSte(1, ste);
        s1.pt().map(VA, PA, S1_RW); // nG set, as io-pgtable-arm maps stage 1
        assertStale(tb, VA);
        s1.pt().map(VA, PA + 0x1000, S1_RW);
        assertStale(tb, VA);
        tb.cmd(0x22 | (3L << 48), VA); // TLBI_EL2_VA, ASID 3 (not the CD's 9)
        tb.sync();
        assertThat(err(tb)).isZero();
        assertFresh(tb, VA);

        TestBed e2h = TestBed.full();
        S1 s1e = e2h.setupS1El2Mapped(VA, PA);
        assertStale(e2h, VA);
        s1e.pt().map(VA, PA + 0x1000, S1_RW);
        e2h.cmd(0x22 | (3L << 48), VA); // another ASID of the EL2&0 regime
        e2h.sync();
        assertStale(e2h, VA);
        e2h.cmd(0x22 | (9L << 48), VA);
        e2h.sync();
        assertFresh(e2h, VA);
    }

    @Test
    void tlbiS12VmallAndS2Ipa() {
        TestBed tb = TestBed.full();
        TestBed.PageTable pt = tb.new PageTable(12, 40, 1);
        pt.map(VA, PA, S2_RW);
        pt.map(VA + 0x1000, PA, S2_RW);
        tb.writeSte(6, steS2(9, pt.root, 24, 1, 0));
        tb.read(6, VA);
        tb.read(6, VA + 0x1000);
        pt.map(VA, PA + 0x1000, S2_RW);
        pt.map(VA + 0x1000, PA + 0x1000, S2_RW);
        tb.cmd(0x2a | (9L << 32), VA + 0x1000); // TLBI_S2_IPA, another page
        tb.sync();
        assertThat(tb.read(6, VA).pa).isEqualTo(PA);
        assertThat(tb.read(6, VA + 0x1000).pa).isEqualTo(PA + 0x1000);
        tb.cmd(0x28 | (9L << 32), 0); // TLBI_S12_VMALL
        tb.sync();
        assertThat(tb.read(6, VA).pa).isEqualTo(PA + 0x1000);
        // stage-2 commands are illegal without S2P
        TestBed q = new TestBed(SmmuCaps.qemu()).init();
        q.cmd(0x28, 0);
        assertThat(err(q)).isEqualTo(1);
    }

    @Test
    void tlbiNsnhAll() {
        TestBed tb = TestBed.full();
        cachedThenRemapped(tb, VA);
        tb.cmd(0x30, 0);
        tb.sync();
        assertFresh(tb, VA);
    }

    @Test
    void atcInvForwardedToTheEndpoint() {
        TestBed tb = TestBed.full();
        FakeEndpoint ep = new FakeEndpoint();
        tb.board.endpoints.register(0x10, ep);
        // ATC_INV SID 0x10, SSV, SSID 3, Size 2 (16 KiB) at 0x12340000; then a full-range one with
        // Global set but no SSV (Global is ignored without a PASID); then Global with SSID 4
        tb.cmd(0x40 | (1L << 11) | (3L << 12) | (0x10L << 32), 0x1234_0000L | 2);
        tb.cmd(0x40 | (1L << 9) | (0x10L << 32), 52);
        tb.cmd(0x40 | (1L << 9) | (1L << 11) | (4L << 12) | (0x10L << 32), 52);
        tb.sync();
        assertThat(ep.invs).containsExactly(new AtcInvalidation(0x10, 3, true, 0x1234_0000L, 0x4000, false),
                new AtcInvalidation(0x10, 0, false, 0, -1, false), new AtcInvalidation(0x10, 4, true, 0, -1, true));
        assertThat(ep.invs.get(1).all()).isTrue();
        assertThat(tb.smmu.gerrorActive()).isZero();
    }

    /** An ATC_INV to SID 0x10, whose endpoint answers {@code result}, then a CMD_SYNC. */
    private static TestBed atcInvAnswered(int result, FakeEndpoint ep) {
        TestBed tb = TestBed.full();
        ep.result = result;
        tb.board.endpoints.register(0x10, ep);
        tb.cmd(0x40 | (0x10L << 32), 0);
        tb.sync();
        return tb;
    }

    @Test
    void failedAtcInvReportsCerrorAtcInvSyncOnTheSync() {
        TestBed tb = atcInvAnswered(AtsEndpoint.INV_TIMEOUT, new FakeEndpoint());
        assertThat(err(tb)).isEqualTo(3);
        assertThat(tb.cmdqCons() & 0xfffff).isEqualTo(1); // stopped on the CMD_SYNC
        assertThat(tb.smmu.syncCount()).isZero();
        // Linux leaves the sync in place and acks: the sync then completes
        tb.writel(GERRORN, tb.readl(GERROR));
        assertThat(tb.cmdqCons() & 0xfffff).isEqualTo(2);
        assertThat(tb.smmu.syncCount()).isEqualTo(1);
    }

    @Test
    void anAtcInvAnsweredUnsupportedRequestCompletesWithoutError() {
        FakeEndpoint ep = new FakeEndpoint();
        TestBed tb = atcInvAnswered(AtsEndpoint.INV_UNSUPPORTED, ep);
        assertThat(ep.invs).hasSize(1);
        assertThat(err(tb)).isZero();
        assertThat(tb.cmdqCons() & 0xfffff).isEqualTo(2);
        assertThat(tb.smmu.syncCount()).isEqualTo(1);
        assertThat(tb.smmu.gerrorActive()).isZero();
    }

    @Test
    void priRespDeliveredToTheDevice() {
        TestBed tb = TestBed.full();
        FakeEndpoint ep = new FakeEndpoint();
        tb.board.endpoints.register(0x10, ep);
        tb.cmd(0x41 | (1L << 11) | (7L << 12) | (0x10L << 32), 0x55 | (2L << 12)); // Success
        tb.cmd(0x41 | (0x10L << 32), 0x56); // ResponseFailure
        tb.sync();
        assertThat(ep.resps).containsExactly(new PageResponse(0x10, 7, true, 0x55, PageResponse.SUCCESS),
                new PageResponse(0x10, PageRequest.NO_PASID, false, 0x56, PageResponse.FAILURE));
        tb.cmd(0x41 | (0x10L << 32), 3L << 12); // Resp 0b11
        assertThat(err(tb)).isEqualTo(1);
    }

    /* ---------------- stall model ---------------- */

    private static TestBed stallBed(S1[] out) {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        long[] c = cd(9, s1.pt().root, 16, 0);
        c[0] |= CD_S;
        tb.writeCd(s1.cdtab(), c);
        out[0] = s1;
        return tb;
    }

    @Test
    void stallThenResumeRetry() throws Exception {
        S1[] s = new S1[1];
        TestBed tb = stallBed(s);
        DmaResult r = tb.write(1, VA);
        assertThat(r.status).isEqualTo(DmaResult.STALLED);
        List<long[]> ev = tb.drainEvents();
        assertThat(ev).hasSize(1);
        long[] e = ev.get(0);
        assertThat(evtId(e)).isEqualTo(0x10);
        assertThat((e[1] >>> 31) & 1).isEqualTo(1); // Stall
        int stag = (int) (e[1] & 0xffff);
        DmaResult.StallToken token = r.stall;
        assertThat(token.poll()).isEqualTo(-1);
        assertThat(tb.smmu.stalledCount()).isEqualTo(1);
        // a device thread waits on the token while software fixes the fault
        CountDownLatch done = new CountDownLatch(1);
        boolean[] retry = new boolean[1];
        Thread dev = new Thread(() -> {
            retry[0] = token.await();
            done.countDown();
        });
        dev.start();
        s[0].pt().map(VA, PA, S1_RW);
        tb.cmd(0x44 | (1L << 12) | (1L << 32), stag); // RESUME Ac = 1 (retry)
        tb.sync();
        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(retry[0]).isTrue();
        assertThat(tb.write(1, VA).pa).isEqualTo(PA);
        assertThat(tb.smmu.stalledCount()).isZero();
    }

    @Test
    void stallThenResumeAbort() {
        S1[] s = new S1[1];
        TestBed tb = stallBed(s);
        DmaResult r = tb.read(1, VA);
        assertThat(r.status).isEqualTo(DmaResult.STALLED);
        int stag = (int) (tb.drainEvents().get(0)[1] & 0xffff);
        tb.cmd(0x44 | (2L << 12) | (1L << 32), stag); // Ab = 1
        tb.sync();
        assertThat(r.stall.poll()).isZero();
        assertThat(r.stall.await()).isFalse();
        // RESUME of an unknown STAG is ignored
        tb.cmd(0x44 | (1L << 12) | (1L << 32), stag);
        tb.sync();
        assertThat(tb.smmu.gerrorActive()).isZero();
    }

    /**
     * CMD_RESUME with Action 0 and Abort 0 (Linux's CMDQ_RESUME_0_RESP_TERM) completes the
     * transaction RAZ/WI where TERM_MODEL is 0, and aborts it where TERM_MODEL is 1.
     */
    @Test
    void resumeTerminateWithoutAbortCompletesRazWiUnlessTermModel() {
        S1[] s = new S1[1];
        TestBed tb = stallBed(s);
        DmaResult.StallToken token = tb.read(1, VA).stall;
        int stag = (int) (tb.drainEvents().get(0)[1] & 0xffff);
        tb.cmd(0x44 | (1L << 32), stag); // RESUME, Ac = 0, Ab = 0
        tb.sync();
        assertThat(token.poll()).isEqualTo(DmaResult.StallToken.TERMINATED_RAZ_WI);
        assertThat(token.await()).isFalse();

        var b = SmmuCaps.full().toBuilder();
        b.termModel = true;
        TestBed t2 = new TestBed(b.build()).init();
        S1 s1 = t2.setupS1(1, 9, 0, 0);
        long[] c = cd(9, s1.pt().root, 16, 0);
        c[0] |= CD_S;
        t2.writeCd(s1.cdtab(), c);
        DmaResult.StallToken t = t2.read(1, VA).stall;
        t2.cmd(0x44 | (1L << 32), (int) (t2.drainEvents().get(0)[1] & 0xffff));
        t2.sync();
        assertThat(t.poll()).as("TERM_MODEL 1: always an abort").isEqualTo(DmaResult.StallToken.TERMINATED);
    }

    @Test
    void stallTermTerminatesEveryHeldTransactionOfTheStream() {
        S1[] s = new S1[1];
        TestBed tb = stallBed(s);
        DmaResult.StallToken a = tb.read(1, VA).stall;
        DmaResult.StallToken b = tb.read(1, VA + 0x1000).stall;
        tb.cmd(0x45 | (1L << 32), 0);
        tb.sync();
        assertThat(a.poll()).isZero();
        assertThat(b.poll()).isZero();
        assertThat(tb.smmu.stalledCount()).isZero();
    }

    @Test
    void stallMaxLimitsHeldTransactions() {
        var b = SmmuCaps.full().toBuilder();
        b.stallMax = 2;
        TestBed tb = new TestBed(b.build()).init();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        long[] c = cd(9, s1.pt().root, 16, 0);
        c[0] |= CD_S;
        tb.writeCd(s1.cdtab(), c);
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.STALLED);
        assertThat(tb.read(1, VA + 0x1000).status).isEqualTo(DmaResult.STALLED);
        assertThat(tb.read(1, VA + 0x2000).status).isEqualTo(DmaResult.ABORT); // no room: terminated
        List<long[]> ev = tb.drainEvents();
        assertThat(ev).hasSize(3);
        assertThat((ev.get(2)[1] >>> 31) & 1).isZero();
        assertThat(tb.smmu.stalledCount()).isEqualTo(2);
        // disabling the SMMU terminates what is held
        tb.writel(CR0, tb.readl(CR0) & ~CR0_SMMUEN);
        assertThat(tb.smmu.stalledCount()).isZero();
    }

    @Test
    void stallCommandsIllegalWithTerminateOnlyModel() {
        TestBed q = new TestBed(SmmuCaps.qemu()).init();
        q.cmd(0x44, 0);
        assertThat(err(q)).isEqualTo(1);
        TestBed q2 = new TestBed(SmmuCaps.qemu()).init();
        q2.cmd(0x45, 0);
        assertThat(err(q2)).isEqualTo(1);
    }

    @Test
    void s1stalldDisablesStalls() {
        S1[] s = new S1[1];
        TestBed tb = stallBed(s);
        long[] ste = steS1(s[0].cdtab(), 0, 0, 0);
        ste[1] |= 1L << 27;
        tb.writeSte(1, ste);
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
    }

    /* ---------------- CMD_SYNC ---------------- */

    @Test
    void cmdSyncCsNoneCompletesByConsOnly() {
        TestBed tb = TestBed.full();
        tb.sync();
        assertThat(tb.cmdqCons()).isEqualTo(1);
        assertThat(tb.smmu.syncCount()).isEqualTo(1);
    }

    @Test
    void cmdSyncCsIrqWritesMsiData() {
        TestBed tb = TestBed.full();
        // Linux MSIPOLL: MSIAddr = the sync's own slot, MSIData = 0; the slot's first word becomes 0
        long slot = tb.cmdq;
        tb.cmd(0x46 | (1L << 12) | (0xdeadL << 32), slot);
        assertThat(tb.mem.readl(slot)).isEqualTo(0xdead);
        // MSI to the board's doorbell raises the vector
        var msgs = tb.board.msi.allocate(1);
        int[] hits = new int[1];
        tb.board.irqs.requestIrq(msgs.get(0).virq(), (i, d) -> {
            hits[0]++;
            return 1;
        }, 0, "sync", this);
        tb.cmd(0x46 | (1L << 12) | ((long) msgs.get(0).msg().data << 32), msgs.get(0).msg().address());
        tb.board.irqs.quiesce();
        assertThat(hits[0]).isEqualTo(1);
        // an MSI to nowhere: GERROR.MSI_CMDQ_ABT_ERR
        tb.cmd(0x46 | (1L << 12), 0x10);
        assertThat(tb.smmu.gerrorActive() & (1 << 4)).isNotZero();
    }

    @Test
    void cmdSyncCsIrqOnWiredLine() {
        TestBed tb = new TestBed(SmmuCaps.qemu()).init();
        int virq = tb.board.irqs.irqCreateMapping(32 + 76);
        int[] hits = new int[1];
        tb.board.irqs.requestIrq(virq, (i, d) -> {
            hits[0]++;
            return 1;
        }, 0, "sync", this);
        tb.smmu.wireIrqs(-1, -1, -1, virq);
        tb.cmd(0x46 | (1L << 12), 0);
        tb.board.irqs.quiesce();
        assertThat(hits[0]).isEqualTo(1);
    }

    @Test
    void cmdSyncCsSev() {
        TestBed tb = TestBed.full();
        tb.cmd(0x46 | (2L << 12), 0);
        assertThat(tb.smmu.sevCount()).isEqualTo(1);
        tb.cmd(0x46 | (3L << 12), 0); // CS = 0b11
        assertThat(err(tb)).isEqualTo(1);
    }

    /* ---------------- CERRORs ---------------- */

    @ParameterizedTest
    @ValueSource(ints = {0x00, 0x07, 0x18, 0x1a, 0x50, 0x60, 0x70, 0x80, 0xff})
    void illegalOpcodesStopTheQueueWithCerrorIll(int op) {
        TestBed tb = TestBed.full();
        tb.sync();
        tb.cmd(op, 0);
        tb.sync();
        assertThat(err(tb)).isEqualTo(1);
        assertThat(tb.cmdqCons() & 0xfffff).isEqualTo(1);
        assertThat(tb.smmu.syncCount()).isEqualTo(1); // the later sync had no effect
        assertThat(tb.readl(GERROR) & 1).isEqualTo(1);
    }

    @Test
    void ssecOnTheNonSecureQueueIsIllegal() {
        TestBed tb = TestBed.full();
        tb.cmd(0x46 | (1L << 10), 0);
        assertThat(err(tb)).isEqualTo(1);
    }

    @Test
    void atcInvAndPriRespIllegalWithoutAtsOrPri() {
        TestBed q = new TestBed(SmmuCaps.qemu()).init();
        q.cmd(0x40, 0);
        assertThat(err(q)).isEqualTo(1);
        TestBed q2 = new TestBed(SmmuCaps.qemu()).init();
        q2.cmd(0x41, 0);
        assertThat(err(q2)).isEqualTo(1);
    }

    @Test
    void commandFetchAbortIsCerrorAbt() {
        TestBed tb = TestBed.full();
        tb.writel(CR0, tb.readl(CR0) & ~CR0_CMDQEN);
        tb.writeq(CMDQ_BASE, 0x2000_0000L | 4); // outside RAM
        tb.writel(CMDQ_PROD, 0);
        tb.writel(CMDQ_CONS, 0);
        tb.writel(CR0, tb.readl(CR0) | CR0_CMDQEN);
        tb.writel(CMDQ_PROD, 1);
        assertThat(err(tb)).isEqualTo(2);
        assertThat(tb.smmu.gerrorActive() & 1).isEqualTo(1);
    }

    @Test
    void commandQueueWrapsAndTracesOpcodes() {
        TestBed tb = TestBed.full();
        try (var cap = Trace.capture("smmuv3_cmdq_opcode")) {
            for (int i = 0; i < 200; i++) {
                tb.sync();
            }
            assertThat(cap.records()).hasSize(200);
            assertThat(cap.records().get(0).message()).contains("CMD_SYNC");
        }
        assertThat(tb.cmdqCons()).isEqualTo(200 & 127);
        assertThat(tb.smmu.syncCount()).isEqualTo(200);
    }

    @Test
    void consumerThreadMode() throws Exception {
        TestBed tb = TestBed.full();
        tb.smmu.setConsumerThread(true);
        try {
            for (int i = 0; i < 50; i++) {
                tb.sync();
            }
            // wait for the event: CONS reaching PROD (the driver polls CONS the same way)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (tb.cmdqCons() != 50 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertThat(tb.cmdqCons()).isEqualTo(50);
            assertThat(tb.smmu.syncCount()).isEqualTo(50);
        } finally {
            tb.smmu.setConsumerThread(false);
        }
        tb.sync();
        assertThat(tb.cmdqCons()).isEqualTo(51);
    }

    /* ---------------- ATS, PRI, BTM, interrupts ---------------- */

    @Test
    void atsRequestReturnsTranslationOrFault() {
        TestBed tb = TestBed.full();
        tb.setupS1AtsMapped(VA, PA, S1_RW | AP_RO);
        tb.txn.set(1, NO, VA + 0x20, 4, DmaTransaction.ACC_READ);
        tb.txn.ats = true;
        tb.smmu.translate(tb.txn, tb.res);
        assertThat(tb.res.status).isEqualTo(DmaResult.OK);
        assertThat(tb.res.pa).isEqualTo(PA);
        assertThat(tb.res.perm & 3).isEqualTo(DmaResult.PERM_R);
        // a request to write (NW = 0) a read-only page: completed with what the page grants
        tb.txn.set(1, NO, VA, 4, DmaTransaction.ACC_WRITE);
        tb.txn.ats = true;
        tb.smmu.translate(tb.txn, tb.res);
        assertThat(tb.res.status).isEqualTo(DmaResult.OK);
        assertThat(tb.res.perm & 3).isEqualTo(DmaResult.PERM_R);
        tb.txn.set(1, NO, VA + 0x1000, 4, DmaTransaction.ACC_READ);
        tb.txn.ats = true;
        tb.smmu.translate(tb.txn, tb.res);
        assertThat(tb.res.status).isEqualTo(DmaResult.ATS_FAULT);
        assertThat(tb.res.faultReason).isEqualTo(0x10);
        assertThat(tb.drainEvents()).as("ATS faults are not events").isEmpty();
    }

    @Test
    void pageRequestsFillThePriQueueAndOverflow() {
        TestBed tb = TestBed.full();
        FakeEndpoint ep = new FakeEndpoint();
        tb.board.endpoints.register(0x10, ep);
        int cap = 1 << tb.priqLog2;
        for (int i = 0; i < cap + 2; i++) {
            tb.smmu.pageRequest(new PageRequest(0x10, 5, true, false, false, true, true, VA + 0x1000L * i, i & 0x1ff,
                    i == cap + 1));
        }
        long dw0 = tb.mem.readq(tb.priq), dw1 = tb.mem.readq(tb.priq + 8);
        assertThat(dw0 & 0xffffffffL).isEqualTo(0x10);
        assertThat((dw0 >>> 32) & 0xfffff).isEqualTo(5);
        assertThat(dw0 >>> 60 & 0xf).isEqualTo(0b1011); // SSV, Write, Read; Last = 0
        assertThat(dw1).isEqualTo(VA);
        long last0 = tb.mem.readq(tb.priq + 16L * (cap - 1)), last1 = tb.mem.readq(tb.priq + 16L * (cap - 1) + 8);
        assertThat((last0 >>> 62) & 1).isZero();
        assertThat(last1 & 0x1ff).isEqualTo(cap - 1); // PRG index
        assertThat(last1 & ~0xfffL).isEqualTo(VA + 0x1000L * (cap - 1));
        int prod = tb.readl(PRIQ_PROD);
        assertThat(prod & 0x8000_0000).isNotZero(); // overflow flag toggled
        assertThat(prod & 0xfffff).isEqualTo(cap); // full: index 0, wrap 1
        assertThat(tb.smmu.priLost()).isEqualTo(2);
        // the lost last request was answered by the SMMU itself
        assertThat(ep.resps).hasSize(1);
        assertThat(tb.smmu.gerrorActive()).isZero();
    }

    @Test
    void priQueueMsiAndLastBit() {
        TestBed tb = TestBed.full();
        var msgs = tb.board.msi.allocate(1);
        int[] hits = new int[1];
        tb.board.irqs.requestIrq(msgs.get(0).virq(), (i, d) -> {
            hits[0]++;
            return 1;
        }, 0, "priq-msi", this);
        tb.writeq(PRIQ_IRQ_CFG0, msgs.get(0).msg().address());
        tb.writel(PRIQ_IRQ_CFG1, msgs.get(0).msg().data);
        tb.writel(IRQ_CTRL, 2);
        tb.smmu.pageRequest(new PageRequest(0x22, PageRequest.NO_PASID, false, true, false, true, false, VA, 0x1ab, true));
        tb.board.irqs.quiesce();
        assertThat(hits[0]).isEqualTo(1);
        long dw0 = tb.mem.readq(tb.priq), dw1 = tb.mem.readq(tb.priq + 8);
        assertThat(dw0).isEqualTo(0x22L | (1L << 58) | (1L << 60) | (1L << 62)); // Priv, Read, Last; no SSV
        assertThat(dw1).isEqualTo(VA | 0x1ab);
        assertThat(tb.readl(PRIQ_PROD)).isEqualTo(1);
    }

    @Test
    void btmBroadcastInvalidatesUnlessPtm() {
        TestBed tb = TestBed.full();
        S1 s1 = cachedThenRemapped(tb, VA);
        // The ASID is shared with the CPUs (CD.ASET = 0): broadcast TLBIs apply to its entries.
        long[] shared = TestBed.cd(9, s1.pt().root, 16, 0);
        shared[0] &= ~(1L << 47);
        tb.writeCd(s1.cdtab(), shared);
        tb.cmd(0x05 | (1L << 32), 0); // CFGI_CD SID 1 SSID 0, leaf
        tb.cmd(0x11 | (9L << 48), 0); // TLBI_NH_ASID 9: refill with the shared CD
        s1.pt().map(VA, PA, S1_RW);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
        s1.pt().map(VA, PA + 0x1000, S1_RW);
        tb.writel(CR2, CR2_RECINVSID | CR2_PTM);
        tb.board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.ASID, 9, 0, 0, false, 12, 1));
        assertStale(tb, VA);
        tb.writel(CR2, CR2_RECINVSID);
        tb.board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.VA, 8, 0, VA, true, 12, 1));
        assertStale(tb, VA);
        tb.board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.VA, 9, 0, VA, true, 12, 1));
        assertFresh(tb, VA);
    }

    /**
     * Section 3.17.1: a global TLB entry matches any ASID, but only lookups of its own ASID set.
     * SID 1 (ASID 9, ASET = 0) and SID 2 (ASID 10, ASET = 1) map VA globally to different pages.
     */
    @Test
    void globalEntriesMatchOnlyLookupsOfTheirOwnAsidSet() {
        TestBed tb = TestBed.full();
        S1 shared = tb.setupS1(1, 9, 0, 0);
        long[] c = TestBed.cd(9, shared.pt().root, 16, 0);
        c[0] &= ~(1L << 47); // ASET = 0
        tb.writeCd(shared.cdtab(), c);
        shared.pt().map(VA, PA, AF | AP_EL0); // nG = 0: global
        S1 priv = tb.setupS1(2, 10, 0, 0); // ASET = 1
        priv.pt().map(VA, PA + 0x1000, AF | AP_EL0);
        S1 shared2 = tb.setupS1(3, 11, 0, 0);
        long[] c2 = TestBed.cd(11, shared2.pt().root, 16, 0);
        c2[0] &= ~(1L << 47);
        tb.writeCd(shared2.cdtab(), c2);
        shared2.pt().map(VA, PA + 0x2000, AF | AP_EL0);

        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
        assertThat(tb.read(2, VA).pa).as("ASET 1: not the shared global entry").isEqualTo(PA + 0x1000);
        assertThat(tb.read(3, VA).pa).as("ASET 0, another ASID: the shared global entry").isEqualTo(PA);
    }

    @Test
    void btmLeavesAPrivateAsidsEntriesAloneOnlyForAsidScopedOperations() {
        TestBed tb = TestBed.full();
        cachedThenRemapped(tb, VA); // the test bed's CD has ASET = 1: a private ASID
        tb.writel(CR2, CR2_RECINVSID);
        // the broadcasts that match an ASID (VAE1IS, ASIDE1IS) may pass a private ASID by
        tb.board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.VA, 9, 0, VA, true, 12, 1));
        tb.board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.ASID, 9, 0, 0, false, 12, 1));
        assertStale(tb, VA);
        tb.cmd(0x11 | (9L << 48), 0); // TLBI_NH_ASID 9: a command reaches it
        assertFresh(tb, VA);
        // every other broadcast must reach it too (section 3.17): VAAE1IS, then VMALLE1IS
        for (Interconnect.Tlbi.Kind kind : new Interconnect.Tlbi.Kind[] {Interconnect.Tlbi.Kind.VAA,
                Interconnect.Tlbi.Kind.ALL}) {
            TestBed t = TestBed.full();
            cachedThenRemapped(t, VA);
            t.writel(CR2, CR2_RECINVSID);
            t.board.interconnect.broadcast(new Interconnect.Tlbi(kind, 0, 0, VA, true, 12, 1));
            assertFresh(t, VA);
        }
    }

    @Test
    void gerrorIrqByMsi() {
        TestBed tb = TestBed.full();
        var msgs = tb.board.msi.allocate(1);
        int[] hits = new int[1];
        tb.board.irqs.requestIrq(msgs.get(0).virq(), (i, d) -> {
            hits[0]++;
            return 1;
        }, 0, "gerror-msi", this);
        tb.writeq(GERROR_IRQ_CFG0, msgs.get(0).msg().address());
        tb.writel(GERROR_IRQ_CFG1, msgs.get(0).msg().data);
        tb.writel(IRQ_CTRL, 1);
        tb.cmd(0xff, 0);
        tb.board.irqs.quiesce();
        assertThat(hits[0]).isEqualTo(1);
        assertThat(tb.readq(GERROR_IRQ_CFG0)).isEqualTo(msgs.get(0).msg().address());
    }

    @Test
    void eventIrqByMsiAndWiredLine() {
        TestBed tb = TestBed.full();
        var msgs = tb.board.msi.allocate(1);
        int[] hits = new int[2];
        tb.board.irqs.requestIrq(msgs.get(0).virq(), (i, d) -> {
            hits[0]++;
            return 1;
        }, 0, "evtq-msi", this);
        tb.writeq(EVENTQ_IRQ_CFG0, msgs.get(0).msg().address());
        tb.writel(EVENTQ_IRQ_CFG1, msgs.get(0).msg().data);
        tb.writel(IRQ_CTRL, 4);
        tb.read(200, VA); // C_BAD_STE (all zero)
        tb.board.irqs.quiesce();
        assertThat(hits[0]).isEqualTo(1);
        // qemu caps: no MSI, the wired line
        TestBed q = new TestBed(SmmuCaps.qemu()).init();
        int virq = q.board.irqs.irqCreateMapping(32 + 74);
        q.board.irqs.requestIrq(virq, (i, d) -> {
            hits[1]++;
            return 1;
        }, 0, "evtq", this);
        q.smmu.wireIrqs(virq, -1, -1, -1);
        q.writel(IRQ_CTRL, 4);
        q.read(200, VA);
        q.board.irqs.quiesce();
        assertThat(hits[1]).isEqualTo(1);
    }
}
