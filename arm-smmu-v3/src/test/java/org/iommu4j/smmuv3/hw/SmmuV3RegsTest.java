package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import org.iommu4j.base.hw.Board;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class SmmuV3RegsTest {

    @Test
    void qemuPresetReportsQemu72IdRegisters() {
        TestBed tb = new TestBed(SmmuCaps.qemu());
        assertThat(tb.readl(IDR0)).isEqualTo(0x0d40101a);
        assertThat(tb.readl(IDR1)).isEqualTo(0x02730010);
        assertThat(tb.readl(IDR3)).isEqualTo(0x1404);
        assertThat(tb.readl(IDR5)).isEqualTo(0x74);
        assertThat(tb.readl(0x8)).isZero();
        assertThat(tb.readl(0x10)).isZero();
        assertThat(tb.readl(AIDR)).isEqualTo(1);
        assertThat(tb.readl(IIDR)).isZero();
    }

    @Test
    void fullPresetAdvertisesEveryFeature() {
        SmmuCaps c = SmmuCaps.full();
        int idr0 = c.idr0();
        assertThat(idr0 & 3).isEqualTo(3); // S1P, S2P
        assertThat((idr0 >>> 5) & 1).isEqualTo(1); // BTM
        assertThat((idr0 >>> 6) & 3).isEqualTo(2); // HTTU AF+dirty
        for (int b : new int[] {9, 10, 12, 13, 14, 16, 18, 19}) {
            assertThat((idr0 >>> b) & 1).as("IDR0 bit %d", b).isEqualTo(1);
        }
        assertThat((idr0 >>> 24) & 3).isZero(); // stall model: stall + terminate
        assertThat((idr0 >>> 27) & 3).isEqualTo(1);
        assertThat((c.idr1() >>> 6) & 0x1f).isEqualTo(20);
        assertThat((c.idr3() >>> 10) & 1).isEqualTo(1);
        assertThat(c.idr5() & 0x70).isEqualTo(0x70);
        assertThat(c.toBuilder().build()).isEqualTo(c);
    }

    @Test
    void resetValues() {
        TestBed tb = new TestBed(SmmuCaps.full());
        assertThat(tb.readl(CR0)).isZero();
        assertThat(tb.readl(CR0ACK)).isZero();
        assertThat(tb.readl(GBPA)).isEqualTo(0x1000);
        assertThat(tb.readl(GERROR)).isZero();
        assertThat(tb.readl(GERRORN)).isZero();
        assertThat(tb.readl(STATUSR)).isZero();
        assertThat(tb.readq(STRTAB_BASE)).isZero();
        // CoreSight ID registers of an MMU-600-like part
        assertThat(tb.readl(0xfd0)).isEqualTo(0x04);
        assertThat(tb.readl(0xfe0)).isEqualTo(0x84);
        assertThat(tb.readl(0xffc)).isEqualTo(0xb1);
    }

    @Test
    void idRegistersAreReadOnlyAndUnknownOffsetsRazWi() {
        TestBed tb = new TestBed(SmmuCaps.qemu());
        tb.writel(IDR0, 0);
        tb.writel(CR0ACK, 0xf);
        tb.writel(0x200, 0x1234);
        tb.writel(0x10000, 0x1234);
        assertThat(tb.readl(IDR0)).isEqualTo(0x0d40101a);
        assertThat(tb.readl(CR0ACK)).isZero();
        assertThat(tb.readl(0x200)).isZero();
        assertThat(tb.readl(0x10000)).isZero();
        // page-1 registers are not aliased on page 0
        tb.writel(0xa8, 5);
        assertThat(tb.readl(0xa8)).isZero();
    }

    @Test
    void cr0AckFollowsCr0AndUnsupportedBitsStayZero() {
        TestBed tb = new TestBed(SmmuCaps.qemu());
        tb.writel(CR0, 0x1f);
        // qemu preset: no PRI (bit 1) and no ATS (ATSCHK bit 4)
        assertThat(tb.readl(CR0)).isEqualTo(0xd);
        assertThat(tb.readl(CR0ACK)).isEqualTo(0xd);
        tb.writel(CR0, 0);
        assertThat(tb.readl(CR0ACK)).isZero();
    }

    @Test
    void irqCtrlAckHandshake() {
        TestBed tb = new TestBed(SmmuCaps.full());
        tb.writel(IRQ_CTRL, 7);
        assertThat(tb.readl(IRQ_CTRLACK)).isEqualTo(7);
        TestBed q = new TestBed(SmmuCaps.qemu());
        q.writel(IRQ_CTRL, 7);
        assertThat(q.readl(IRQ_CTRLACK)).isEqualTo(5); // no PRI
    }

    @Test
    void gbpaUpdateProtocol() {
        TestBed tb = new TestBed(SmmuCaps.full());
        tb.writel(GBPA, 1 << 20); // without Update: ignored
        assertThat(tb.readl(GBPA)).isEqualTo(0x1000);
        tb.writel(GBPA, (1 << 31) | (1 << 20));
        assertThat(tb.readl(GBPA)).isEqualTo(1 << 20); // applied, Update cleared
        // SMMUEN = 0 and GBPA.ABORT: transactions abort; without it they bypass
        assertThat(tb.read(1, 0x4000_1000L).status).isEqualTo(1);
        tb.writel(GBPA, 1 << 31);
        assertThat(tb.read(1, 0x4000_1000L).pa).isEqualTo(0x4000_1000L);
    }

    /**
     * The MSI configuration registers exist only with IDR0.MSI, the PRI queue's registers only
     * with IDR0.PRI (PRIQ_IRQ_CFG0/1/2 with both): without the feature they are RES0, reading as
     * zero whatever is written, as whole 64-bit registers or as halves.
     */
    @Test
    void msiAndPriQueueRegistersAreRes0WithoutTheFeature() {
        int[] msi32 = {GERROR_IRQ_CFG1, GERROR_IRQ_CFG2, EVENTQ_IRQ_CFG1, EVENTQ_IRQ_CFG1 + 4};
        int[] msi64 = {GERROR_IRQ_CFG0, EVENTQ_IRQ_CFG0};
        int[] pri32 = {PRIQ_PROD, PRIQ_CONS};
        int[] priMsi32 = {PRIQ_IRQ_CFG1, PRIQ_IRQ_CFG1 + 4};
        for (boolean msi : new boolean[] {false, true}) {
            for (boolean pri : new boolean[] {false, true}) {
                var b = SmmuCaps.full().toBuilder();
                b.msi = msi;
                b.pri = pri;
                TestBed tb = new TestBed(b.build());
                for (int off : msi32) {
                    tb.writel(off, 0x31);
                    assertThat(tb.readl(off)).as("msi %b pri %b 0x%x", msi, pri, off).isEqualTo(msi ? 0x31 : 0);
                }
                for (int off : msi64) {
                    tb.writeq(off, 0x4000_1004L);
                    assertThat(tb.readq(off)).as("msi %b 0x%x", msi, off).isEqualTo(msi ? 0x4000_1004L : 0);
                    tb.writel(off + 4, 0x12); // the high half alone
                    assertThat(tb.readl(off + 4)).as("msi %b 0x%x", msi, off + 4).isEqualTo(msi ? 0x12 : 0);
                }
                for (int off : pri32) {
                    tb.writel(off, 3);
                    assertThat(tb.readl(off)).as("pri %b 0x%x", pri, off).isEqualTo(pri ? 3 : 0);
                }
                tb.writeq(PRIQ_BASE, 0x4010_0000L | 5);
                assertThat(tb.readq(PRIQ_BASE)).as("pri %b PRIQ_BASE", pri).isEqualTo(pri ? 0x4010_0005L : 0);
                tb.writel(PRIQ_BASE + 4, 0x4000_0000);
                assertThat(tb.readl(PRIQ_BASE + 4)).as("pri %b PRIQ_BASE hi", pri).isEqualTo(pri ? 0x4000_0000 : 0);
                for (int off : priMsi32) {
                    tb.writel(off, 0x31);
                    assertThat(tb.readl(off)).as("msi %b pri %b 0x%x", msi, pri, off).isEqualTo(msi && pri ? 0x31 : 0);
                }
                tb.writeq(PRIQ_IRQ_CFG0, 0x4000_1004L);
                assertThat(tb.readq(PRIQ_IRQ_CFG0)).as("msi %b pri %b PRIQ_IRQ_CFG0", msi, pri)
                        .isEqualTo(msi && pri ? 0x4000_1004L : 0);
            }
        }
    }

    @Test
    void sixtyFourBitRegistersAsHalves() {
        TestBed tb = new TestBed(SmmuCaps.full());
        tb.writel(STRTAB_BASE, 0x4010_0040);
        tb.writel(STRTAB_BASE + 4, 0x4000_0000); // RA bit 62
        assertThat(tb.readq(STRTAB_BASE)).isEqualTo(0x4000_0000_4010_0040L);
        assertThat(tb.readl(STRTAB_BASE + 4)).isEqualTo(0x4000_0000);
        tb.writeq(CMDQ_BASE, 0x4020_0000L | 7 | (1L << 62) | 0x3L << 60);
        assertThat(tb.readq(CMDQ_BASE)).isEqualTo(0x4020_0000L | 7 | (1L << 62)); // bit 60/61 RES0
        assertThat(tb.readl(CMDQ_BASE)).isEqualTo(0x4020_0007);
    }

    @Test
    void baseRegistersIgnoredWhileEnabled() {
        TestBed tb = TestBed.full();
        long st = tb.readq(STRTAB_BASE);
        tb.writeq(STRTAB_BASE, 0x4800_0000L);
        assertThat(tb.readq(STRTAB_BASE)).isEqualTo(st);
        long cq = tb.readq(CMDQ_BASE);
        tb.writeq(CMDQ_BASE, 0x4800_0000L | 5);
        assertThat(tb.readq(CMDQ_BASE)).isEqualTo(cq);
        tb.writel(CMDQ_CONS, 3);
        assertThat(tb.readl(CMDQ_CONS)).isZero();
    }

    @Test
    void gerrorToggleAndGerrornAck() {
        TestBed tb = TestBed.full();
        tb.cmd(0xff, 0); // illegal opcode
        int g = tb.readl(GERROR);
        assertThat(g & 1).isEqualTo(1);
        assertThat(tb.smmu.gerrorActive()).isEqualTo(1);
        assertThat((tb.cmdqCons() >>> 24) & 0x7f).isEqualTo(1); // CERROR_ILL
        assertThat(tb.cmdqCons() & 0xfffff).isZero(); // CONS stays on the bad command
        // Linux arm_smmu_cmdq_skip_err: replace the bad command by a CMD_SYNC, then ack
        tb.mem.writeq(tb.cmdq, 0x46);
        tb.writel(GERRORN, g); // software acks by copying GERROR
        assertThat(tb.smmu.gerrorActive()).isZero();
        assertThat(tb.cmdqCons() & 0xfffff).isEqualTo(1); // consumption restarted without a PROD write
        assertThat(tb.smmu.syncCount()).isEqualTo(1);
        assertThat(tb.readl(GERROR)).isEqualTo(g); // GERROR is never cleared, only toggled
    }

    @Test
    void gerrorIrqOnWiredLine() {
        TestBed tb = TestBed.full();
        Board b = tb.board;
        int virq = b.irqs.irqCreateMapping(32 + 77);
        int[] seen = new int[1];
        b.irqs.requestIrq(virq, (irq, dev) -> {
            seen[0]++;
            return 1;
        }, 0, "gerror", this);
        tb.smmu.wireIrqs(-1, -1, virq, -1);
        tb.writel(IRQ_CTRL, 1);
        tb.cmd(0xff, 0);
        b.irqs.quiesce();
        assertThat(seen[0]).isEqualTo(1);
    }
}
