package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import org.iommu4j.base.hw.AtcInvalidation;
import org.iommu4j.base.hw.PageRequest;
import org.iommu4j.base.hw.PageResponse;
import org.iommu4j.smmuv3.hw.SmmuV3CommandTest.FakeEndpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The PRI queue's rules from chapter 8 of the architecture: what happens to a Page Request the
 * SMMU can't queue (PRI queue off, PRIQ_ABT_ERR, overflow), who gets an automatic PRG Response,
 * with which code and with or without the PASID (IDR3.PPS, STE.PPAR); and CMD_PRI_RESP and
 * CMD_ATC_INV while SMMUEN is 0 or without substreams (section 4.5).
 */
class SmmuV3PriQueueTest {
    static final int SID = 0x10;
    static final long VA = 0x1234_5000L;
    static final int OVF = 1 << 31;
    static final int PRIQ_ABT_ERR = 1 << 3;

    private static PageRequest ppr(int sid, int pasid, boolean last, int prgi) {
        return new PageRequest(sid, pasid, pasid != PageRequest.NO_PASID, false, false, true, false, VA, prgi, last);
    }

    private static PageRequest stopMarker(int sid, int pasid, int prgi) {
        return new PageRequest(sid, pasid, true, false, false, false, false, 0, prgi, true);
    }

    private static PageResponse failure(int sid, int prgi) {
        return new PageResponse(sid, PageRequest.NO_PASID, false, prgi, PageResponse.FAILURE);
    }

    private static PageResponse success(int sid, int pasid, int prgi) {
        return new PageResponse(sid, pasid, pasid != PageRequest.NO_PASID, prgi, PageResponse.SUCCESS);
    }

    private static FakeEndpoint endpoint(TestBed tb, int... sids) {
        FakeEndpoint ep = new FakeEndpoint();
        for (int sid : sids) {
            tb.board.endpoints.register(sid, ep);
        }
        return ep;
    }

    /** Fills the PRI queue with requests of SID (Last = 0), none consumed. */
    private static void fill(TestBed tb) {
        for (int i = 0; i < 1 << tb.priqLog2; i++) {
            tb.smmu.pageRequest(ppr(SID, 5, false, i));
        }
        assertThat(tb.readl(PRIQ_PROD)).isEqualTo(1 << tb.priqLog2); // full, no overflow yet
    }

    /** PRIQEN 0, or SMMUEN 0 (which turns the PRI queue off whatever PRIQEN says). */
    @ParameterizedTest
    @ValueSource(ints = {CR0_CMDQEN | CR0_EVTQEN | CR0_SMMUEN, CR0_CMDQEN | CR0_EVTQEN | CR0_PRIQEN})
    void withThePriQueueOffEveryPageRequestGetsResponseFailureWithoutPasid(int cr0) {
        TestBed tb = TestBed.full();
        FakeEndpoint ep = endpoint(tb, SID);
        tb.writel(CR0, cr0);
        tb.smmu.pageRequest(ppr(SID, 5, false, 1));
        tb.smmu.pageRequest(ppr(SID, 5, true, 1));
        tb.smmu.pageRequest(stopMarker(SID, 5, 2));
        tb.smmu.pageRequest(ppr(SID, PageRequest.NO_PASID, true, 3));
        assertThat(ep.resps).as("every page request, Last or not; no Stop Marker")
                .containsExactly(failure(SID, 1), failure(SID, 1), failure(SID, 3));
        assertThat(tb.readl(PRIQ_PROD)).isZero();
        assertThat(tb.mem.readq(tb.priq)).isZero();
        assertThat(tb.smmu.priLost()).isEqualTo(4);
        assertThat(tb.smmu.gerrorActive()).isZero();
    }

    @Test
    void anAbortedQueueWriteRaisesPriqAbtErrWhichStopsTheQueueUntilAcknowledged() {
        TestBed tb = TestBed.full();
        FakeEndpoint ep = endpoint(tb, SID);
        int on = CR0_CMDQEN | CR0_EVTQEN | CR0_SMMUEN;
        tb.writel(CR0, on);
        tb.writeq(PRIQ_BASE, 0x1_0000_0000L | tb.priqLog2); // beyond RAM
        tb.writel(CR0, on | CR0_PRIQEN);
        tb.smmu.pageRequest(ppr(SID, 5, false, 4));
        assertThat(tb.smmu.gerrorActive()).isEqualTo(PRIQ_ABT_ERR);
        assertThat(ep.resps).as("a synchronous abort: that request answered").containsExactly(failure(SID, 4));
        assertThat(tb.readl(PRIQ_PROD)).isZero();

        // a queue in RAM again, but the error still active: nothing is written
        tb.writel(CR0, on);
        tb.writeq(PRIQ_BASE, tb.priq | tb.priqLog2);
        tb.writel(CR0, on | CR0_PRIQEN);
        tb.smmu.pageRequest(ppr(SID, 5, false, 5));
        assertThat(ep.resps).containsExactly(failure(SID, 4), failure(SID, 5));
        assertThat(tb.readl(PRIQ_PROD)).isZero();

        tb.writel(GERRORN, tb.readl(GERROR));
        tb.smmu.pageRequest(ppr(SID, 5, true, 6));
        assertThat(tb.readl(PRIQ_PROD)).isEqualTo(1);
        assertThat(tb.mem.readq(tb.priq + 8) & 0x1ff).isEqualTo(6);
        assertThat(ep.resps).as("queued: software answers it").hasSize(2);
        assertThat(tb.smmu.priLost()).isEqualTo(2);
    }

    @Test
    void anOverflowInhibitsTheQueueUntilSoftwareAcknowledgesIt() {
        TestBed tb = TestBed.full();
        FakeEndpoint ep = endpoint(tb, SID);
        tb.writeSte(SID, 0x9, 1L << 18); // bypass, PPAR
        int cap = 1 << tb.priqLog2;
        fill(tb);
        tb.smmu.pageRequest(ppr(SID, 5, false, 40));
        assertThat(tb.readl(PRIQ_PROD)).isEqualTo(OVF | cap);
        assertThat(ep.resps).as("Last = 0 is dropped silently").isEmpty();

        // software consumes four entries without acknowledging: still no room
        tb.writel(PRIQ_CONS, 4);
        tb.smmu.pageRequest(ppr(SID, 5, true, 41));
        assertThat(tb.readl(PRIQ_PROD)).as("OVFLG toggles once").isEqualTo(OVF | cap);
        assertThat(ep.resps).containsExactly(success(SID, 5, 41));
        assertThat(tb.mem.readq(tb.priq + 8) & 0x1ff).as("slot 0 untouched").isZero();

        tb.writel(PRIQ_CONS, OVF | 4);
        tb.smmu.pageRequest(ppr(SID, 5, true, 42));
        assertThat(tb.readl(PRIQ_PROD)).isEqualTo(OVF | (cap + 1));
        assertThat(tb.mem.readq(tb.priq + 8) & 0x1ff).isEqualTo(42);
        assertThat(ep.resps).hasSize(1);
        assertThat(tb.smmu.priLost()).isEqualTo(2);
        assertThat(tb.smmu.gerrorActive()).isZero();
    }

    @Test
    void overflowAutoResponsesTakeThePasidFromStePparAndFailWhereTheSteCantBeRead() {
        TestBed tb = TestBed.full();
        FakeEndpoint ep = endpoint(tb, SID, 0x11, 0x12, 0x1000);
        tb.writeSte(SID, 0x9, 1L << 18); // bypass, PPAR
        tb.writeSte(0x11, 0x9); // bypass, no PPAR
        // 0x12: an STE with V = 0; 0x1000: beyond the 256-entry stream table
        fill(tb);
        tb.smmu.pageRequest(ppr(SID, 5, true, 1));
        tb.smmu.pageRequest(ppr(0x11, 5, true, 2));
        tb.smmu.pageRequest(ppr(0x12, 5, true, 3));
        tb.smmu.pageRequest(ppr(0x1000, 5, true, 4));
        tb.smmu.pageRequest(ppr(0x11, PageRequest.NO_PASID, true, 5));
        tb.smmu.pageRequest(ppr(0x12, PageRequest.NO_PASID, true, 6));
        tb.smmu.pageRequest(stopMarker(SID, 5, 7));
        assertThat(ep.resps).containsExactly(success(SID, 5, 1), success(0x11, PageRequest.NO_PASID, 2),
                failure(0x12, 3), failure(0x1000, 4), success(0x11, PageRequest.NO_PASID, 5),
                success(0x12, PageRequest.NO_PASID, 6));
        assertThat(tb.drainEvents()).as("CR2.REC_CFG_ATS is not implemented: the STE checks record nothing")
                .isEmpty();

        // PPAR is read through the configuration cache: set without CFGI_STE, it is not seen
        tb.writeSte(0x11, 0x9, 1L << 18);
        tb.smmu.pageRequest(ppr(0x11, 5, true, 8));
        assertThat(ep.resps.get(6)).isEqualTo(success(0x11, PageRequest.NO_PASID, 8));
        tb.cmd(0x03 | (0x11L << 32), 1); // CFGI_STE 0x11, leaf
        tb.sync();
        tb.smmu.pageRequest(ppr(0x11, 5, true, 9));
        assertThat(ep.resps.get(7)).isEqualTo(success(0x11, 5, 9));
    }

    @Test
    void withIdr3PpsTheAutoResponseCarriesThePasidWithoutAnSteCheck() {
        TestBed tb = new TestBed(SmmuCaps.full().withPps(true)).init();
        assertThat(tb.readl(IDR3) & (1 << 5)).isNotZero();
        FakeEndpoint ep = endpoint(tb, SID, 0x1000);
        fill(tb); // SID's STE: V = 0
        tb.smmu.pageRequest(ppr(SID, 5, true, 1));
        tb.smmu.pageRequest(ppr(0x1000, 6, true, 2));
        assertThat(ep.resps).containsExactly(success(SID, 5, 1), success(0x1000, 6, 2));
        assertThat(new TestBed(SmmuCaps.full()).readl(IDR3) & (1 << 5)).isZero();
    }

    @Test
    void withoutSubstreamsNeitherQueueEntriesNorResponsesCarryAPasid() {
        SmmuCaps.Builder b = SmmuCaps.full().toBuilder();
        b.ssidSize = 0;
        TestBed tb = new TestBed(b.build()).init();
        FakeEndpoint ep = endpoint(tb, SID);
        tb.smmu.pageRequest(ppr(SID, 5, true, 3));
        long dw0 = tb.mem.readq(tb.priq);
        assertThat(dw0 >>> 63).as("SSV").isZero();
        assertThat((dw0 >>> 32) & 0xfffff).isZero();
        // CMD_PRI_RESP with SSV and CMD_ATC_INV with SSV and Global: no PASID goes out
        tb.cmd(0x41 | (1L << 11) | (5L << 12) | ((long) SID << 32), 3 | (2L << 12));
        tb.cmd(0x40 | (1L << 9) | (1L << 11) | (5L << 12) | ((long) SID << 32), 52);
        tb.sync();
        assertThat(ep.resps).containsExactly(success(SID, PageRequest.NO_PASID, 3));
        assertThat(ep.invs).containsExactly(new AtcInvalidation(SID, 5, false, 0, -1, false));
        assertThat(tb.smmu.gerrorActive()).isZero();
    }

    @Test
    void priRespAndAtcInvAreIgnoredWhileSmmuenIsZero() {
        TestBed tb = TestBed.full();
        FakeEndpoint ep = endpoint(tb, SID);
        tb.writel(CR0, CR0_CMDQEN | CR0_EVTQEN | CR0_PRIQEN);
        int cons = tb.cmdqCons();
        tb.cmd(0x41 | ((long) SID << 32), 7 | (2L << 12)); // PRI_RESP Success
        tb.cmd(0x40 | ((long) SID << 32), 52); // ATC_INV all
        tb.sync();
        assertThat(tb.cmdqCons() & 0xfffff).as("consumed").isEqualTo((cons & 0xfffff) + 3);
        assertThat(ep.resps).isEmpty();
        assertThat(ep.invs).isEmpty();
        assertThat(tb.smmu.gerrorActive()).isZero();

        tb.writel(CR0, CR0_CMDQEN | CR0_EVTQEN | CR0_PRIQEN | CR0_SMMUEN);
        tb.cmd(0x41 | ((long) SID << 32), 7 | (2L << 12));
        tb.sync();
        assertThat(ep.resps).containsExactly(success(SID, PageRequest.NO_PASID, 7));
    }
}
