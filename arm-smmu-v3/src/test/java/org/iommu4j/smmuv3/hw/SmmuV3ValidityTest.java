package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import java.util.List;
import java.util.function.Consumer;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.smmuv3.hw.TestBed.S1;
import org.junit.jupiter.api.Test;

/**
 * The validity rules of CDs (section 5.4) and of the fault configuration (section 5.5): which
 * combinations make a CD or STE ILLEGAL, and which fields EPD0 makes IGNORED.
 */
class SmmuV3ValidityTest {
    static final long VA = 0x1234_5000L;
    static final long PA = 0x5000_0000L;
    static final int C_BAD_STE = 0x04, C_BAD_CD = 0x0a, F_TRANSLATION = 0x10;

    /** SID 1 (ASID 9) with VA mapped, its CD rewritten by {@code edit} on {@code caps}; the one event of a read. */
    private static int eventOfRead(SmmuCaps caps, Consumer<long[]> edit) {
        TestBed tb = new TestBed(caps).init();
        S1 s1 = tb.setupS1Mapped(VA, PA);
        long[] c = cd(9, s1.pt().root, 16, 0);
        edit.accept(c);
        tb.writeCd(s1.cdtab(), c);
        DmaResult r = tb.read(1, VA);
        List<long[]> ev = tb.drainEvents();
        if (r.status == DmaResult.OK) {
            assertThat(ev).isEmpty();
            return 0;
        }
        assertThat(ev).hasSize(1);
        return evtId(ev.get(0));
    }

    private static SmmuCaps.Builder full() {
        return SmmuCaps.full().toBuilder();
    }

    @Test
    void theCdAsLinuxWritesItIsValid() {
        assertThat(eventOfRead(SmmuCaps.full(), c -> { })).isZero();
        assertThat(eventOfRead(SmmuCaps.qemu(), c -> { })).isZero();
    }

    @Test
    void withEpd0TheTtb0FieldsAreIgnoredAndTheWalkFaults() {
        // TG0 reserved, T0SZ 0, TTB0 beyond every IPS: all IGNORED under EPD0
        assertThat(eventOfRead(SmmuCaps.full(), c -> {
            c[0] = (c[0] & ~0xffL) | (3L << 6) | CD_EPD0;
            c[1] = 1L << 54;
        })).isEqualTo(F_TRANSLATION);
        assertThat(eventOfRead(SmmuCaps.full(), c -> c[0] |= 3L << 6)).as("without EPD0").isEqualTo(C_BAD_CD);
    }

    /**
     * While EPD1 is 0 the TTB1 half's fields count as TTB0's do (TG1 an implemented granule, T1SZ
     * in [16, 39], TTB1 within the IPS); with EPD1 set, as Linux writes every CD, they are IGNORED.
     */
    @Test
    void withoutEpd1TheTtb1FieldsMustBeUsable() {
        long epd1 = 1L << 30;
        long ttb1Half = (16L << 16) | (2L << 22); // T1SZ 16, TG1 4K
        assertThat(eventOfRead(SmmuCaps.full(), c -> c[0] |= 3L << 16)).as("EPD1 = 1: T1SZ 3 ignored").isZero();
        assertThat(eventOfRead(SmmuCaps.full(), c -> c[0] &= ~epd1)).as("EPD1 = 0, TG1 reserved").isEqualTo(C_BAD_CD);
        assertThat(eventOfRead(SmmuCaps.full(), c -> c[0] = c[0] & ~epd1 | ttb1Half)).as("usable TTB1 half").isZero();
        assertThat(eventOfRead(SmmuCaps.full(), c -> c[0] = c[0] & ~epd1 | (2L << 22) | (40L << 16))).as("T1SZ 40")
                .isEqualTo(C_BAD_CD);
        assertThat(eventOfRead(SmmuCaps.full(), c -> c[0] = c[0] & ~epd1 & ~(0x3fL << 16) | (2L << 22) | (15L << 16)))
                .as("T1SZ 15").isEqualTo(C_BAD_CD);
        var no16k = full();
        no16k.gran16k = false;
        assertThat(eventOfRead(no16k.build(), c -> c[0] = c[0] & ~epd1 | (16L << 16) | (1L << 22))).as("TG1 16K")
                .isEqualTo(C_BAD_CD);
        assertThat(eventOfRead(SmmuCaps.full(), c -> {
            c[0] = c[0] & ~epd1 | ttb1Half;
            c[2] = 1L << 48; // beyond the CD's 48-bit IPS
        })).as("TTB1 beyond the IPS").isEqualTo(C_BAD_CD);
    }

    @Test
    void aTtb0BeyondTheIpsIsIllegal() {
        assertThat(eventOfRead(SmmuCaps.full(), c -> {
            c[0] &= ~(7L << 32); // IPS 32 bits
            c[1] = 0x1_0000_0000L;
        })).isEqualTo(C_BAD_CD);
    }

    @Test
    void hardwareUpdateFlagsNeedTheirHttuLevel() {
        var none = full();
        none.httu = SmmuCaps.HTTU_NONE;
        assertThat(eventOfRead(none.build(), c -> c[0] |= CD_HA)).isEqualTo(C_BAD_CD);
        var af = full();
        af.httu = SmmuCaps.HTTU_ACCESS;
        assertThat(eventOfRead(af.build(), c -> c[0] |= CD_HA)).isZero();
        assertThat(eventOfRead(af.build(), c -> c[0] |= CD_HA | CD_HD)).isEqualTo(C_BAD_CD);
        assertThat(eventOfRead(SmmuCaps.full(), c -> c[0] |= CD_HA | CD_HD)).isZero();
        // the same for stage 2's S2HA (STE dword 2 bit 56) and S2HD (bit 55)
        for (long bits : new long[] {1L << 56, (1L << 56) | (1L << 55)}) {
            TestBed tb = new TestBed(bits == 1L << 56 ? none.build() : af.build()).init();
            long[] ste = steS2(1, tb.alloc(4096, 4096), 24, 1, 0);
            ste[2] |= bits;
            tb.writeSte(1, ste);
            assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
            assertThat(tb.drainEvents()).singleElement().satisfies(e -> assertThat(evtId(e)).isEqualTo(C_BAD_STE));
        }
    }

    @Test
    void aWideAsidWithoutAsid16IsIllegal() {
        var b = full();
        b.asid16 = false;
        assertThat(eventOfRead(b.build(), c -> c[0] |= 0x100L << 48)).isEqualTo(C_BAD_CD);
        assertThat(eventOfRead(SmmuCaps.full(), c -> c[0] |= 0x100L << 48)).isZero();
    }

    @Test
    void aStallingCdUnderSteS1stalldIsIllegal() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        long[] ste = steS1(s1.cdtab(), 0, 0, 0);
        ste[1] |= 1L << 27; // S1STALLD
        tb.writeSte(1, ste);
        long[] c = cd(9, s1.pt().root, 16, 0);
        c[0] |= CD_S;
        tb.writeCd(s1.cdtab(), c);
        assertThat(tb.read(1, VA).status).as("not stalled").isEqualTo(DmaResult.ABORT);
        assertThat(tb.drainEvents()).singleElement().satisfies(e -> assertThat(evtId(e)).isEqualTo(C_BAD_CD));
        assertThat(tb.smmu.stalledCount()).isZero();
    }

    @Test
    void termModelForbidsRazWiCds() {
        var b = full();
        b.termModel = true;
        assertThat(eventOfRead(b.build(), c -> c[0] &= ~(1L << 46))).isEqualTo(C_BAD_CD);
    }

    @Test
    void aForcedStallModelNeedsS2sAndCdS() {
        var b = full();
        b.stallModel = SmmuV3Internal.STALL_MODEL_FORCE;
        assertThat(eventOfRead(b.build(), c -> { })).as("CD.S = 0").isEqualTo(C_BAD_CD);
        assertThat(eventOfRead(b.build(), c -> c[0] |= CD_S)).isZero();
        TestBed tb = new TestBed(b.build()).init();
        tb.writeSte(1, steS2(1, tb.alloc(4096, 4096), 24, 1, 0)); // S2S = 0
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.drainEvents()).singleElement().satisfies(e -> assertThat(evtId(e)).isEqualTo(C_BAD_STE));
    }

    @Test
    void reservedS1fmtAndS1dssEncodingsBehaveAsLinearAndTerminate() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 2, 0); // four CDs in a linear table
        tb.writeCd(s1.cdtab() + 64, cd(10, s1.pt().root, 16, 0));
        s1.pt().map(VA, PA, S1_RW);
        long[] ste = steS1(s1.cdtab(), 3, 2, 3); // S1Fmt 0b11, S1DSS 0b11
        tb.writeSte(1, ste);
        assertThat(tb.dma(1, 1, VA, DmaTransaction.ACC_READ).status).as("a linear table").isEqualTo(DmaResult.OK);
        assertThat(tb.read(1, VA).status).as("no SSID: terminated").isEqualTo(DmaResult.ABORT);
        assertThat(tb.drainEvents()).singleElement().satisfies(e -> assertThat(evtId(e)).isEqualTo(0x06));
    }

    @Test
    void withoutSubstreamsS1cdmaxIsIgnoredAndAnySsidIsABadSubstream() {
        var b = full();
        b.ssidSize = 0;
        TestBed tb = new TestBed(b.build()).init();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        tb.writeSte(1, steS1(s1.cdtab(), 0, 5, 0)); // S1CDMax 5: IGNORED
        s1.pt().map(VA, PA, S1_RW);
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.OK);
        assertThat(tb.dma(1, 0, VA, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.drainEvents()).singleElement().satisfies(e -> assertThat(evtId(e)).isEqualTo(0x08));
    }

    @Test
    void anL1cdPointingBeyondTheOasIsABadSubstream() {
        TestBed tb = TestBed.full();
        long l1 = tb.alloc(4096, 4096);
        tb.writeSte(1, steS1(l1, 1, 8, 0)); // 2-level, 4K leaves
        tb.mem.writeq(l1, (1L << 50) | 1); // valid, L2Ptr beyond 48 bits
        assertThat(tb.dma(1, 5, VA, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.ABORT);
        assertThat(tb.drainEvents()).singleElement().satisfies(e -> assertThat(evtId(e)).isEqualTo(0x08));
    }

    /**
     * Section 3.4: with no stage 1 to check it, an input address beyond the OAS (the IAS here)
     * is refused: silently while the SMMU is disabled, as a stage 1 F_ADDR_SIZE otherwise.
     */
    @Test
    void anInputAddressBeyondTheOasIsRefusedWhenStage1IsBypassed() {
        long far = 1L << 48; // the full() OAS is 48 bits
        TestBed off = TestBed.full();
        off.writel(CR0, off.readl(CR0) & ~CR0_SMMUEN); // GBPA: bypass
        assertThat(off.read(1, VA).status).isEqualTo(DmaResult.OK);
        assertThat(off.read(1, far).status).isEqualTo(DmaResult.ABORT);
        assertThat(off.drainEvents()).isEmpty();

        TestBed tb = TestBed.full();
        tb.writeSte(1, steBypass());
        tb.writeSte(2, steS2(1, tb.alloc(4096, 4096), 16, 2, 0)); // stage 2 only, 48-bit input
        S1 s1 = tb.setupS1(3, 9, 2, 1); // four CDs; without an SSID, S1DSS bypasses stage 1
        assertThat(s1).isNotNull();
        assertThat(tb.read(1, VA).status).isEqualTo(DmaResult.OK);
        assertThat(tb.read(3, VA).status).isEqualTo(DmaResult.OK);
        for (int sid : new int[] {1, 2, 3}) {
            assertThat(tb.read(sid, far).status).as("sid %d", sid).isEqualTo(DmaResult.ABORT);
            assertThat(tb.drainEvents()).as("sid %d", sid).singleElement().satisfies(e -> {
                assertThat(evtId(e)).isEqualTo(0x11); // F_ADDR_SIZE
                assertThat((e[1] >>> 39) & 1).as("S2").isZero();
                assertThat(e[2]).isEqualTo(far);
            });
        }
    }

    /** The event of a read through SID 1 with the STE {@code ste} on an SMMU of {@code caps} (0: translated or a clean fault). */
    private static int steEvent(SmmuCaps caps, long[] ste) {
        TestBed tb = new TestBed(caps).init();
        tb.writeSte(1, ste);
        tb.read(1, VA);
        List<long[]> ev = tb.drainEvents();
        return ev.isEmpty() ? 0 : evtId(ev.get(0));
    }

    @Test
    void s2t0szMustLieBetweenTheIasAnd39() {
        long ttb = 0x4800_0000L;
        assertThat(steEvent(SmmuCaps.full(), steS2(1, ttb, 16, 2, 0))).as("48-bit IPA").isEqualTo(F_TRANSLATION);
        assertThat(steEvent(SmmuCaps.full(), steS2(1, ttb, 39, 0, 0))).isEqualTo(F_TRANSLATION);
        assertThat(steEvent(SmmuCaps.full(), steS2(1, ttb, 40, 0, 0))).isEqualTo(C_BAD_STE);
        assertThat(steEvent(SmmuCaps.full(), steS2(1, ttb, 15, 2, 0))).isEqualTo(C_BAD_STE);
        var b = full();
        b.oas = 4; // 44 bits, as QEMU: the IPA can't be wider
        assertThat(steEvent(b.build(), steS2(1, ttb, 16, 2, 0))).isEqualTo(C_BAD_STE);
        assertThat(steEvent(b.build(), steS2(1, ttb, 20, 2, 0))).isEqualTo(F_TRANSLATION);
    }

    @Test
    void anS2ttbBeyondTheS2psIsIllegal() {
        long[] ste = steS2(1, 0x1_0000_0000L, 16, 2, 0); // a table at 4 GiB
        assertThat(steEvent(SmmuCaps.full(), ste)).as("48-bit S2PS: walked, outside RAM").isEqualTo(0x0b);
        ste[2] &= ~(7L << 48); // S2PS 32 bits
        assertThat(steEvent(SmmuCaps.full(), ste)).isEqualTo(C_BAD_STE);
    }

    @Test
    void aWideVmidWithoutVmid16IsIllegalWhereverItTags() {
        var b = full();
        b.vmid16 = false;
        long ttb = 0x4800_0000L;
        assertThat(steEvent(b.build(), steS2(0x100, ttb, 16, 2, 0))).isEqualTo(C_BAD_STE);
        assertThat(steEvent(b.build(), steS2(0xff, ttb, 16, 2, 0))).isEqualTo(F_TRANSLATION);
        // a stage-1 STE: with stage 2 implemented its translations carry S2VMID too
        long[] s1 = steS1(0x4900_0000L, 0, 0, 0);
        long[] withVmid = {s1[0], s1[1], 0x100};
        assertThat(steEvent(b.build(), withVmid)).isEqualTo(C_BAD_STE);
        assertThat(steEvent(SmmuCaps.full(), steS2(0x100, ttb, 16, 2, 0))).isEqualTo(F_TRANSLATION);
    }
}
