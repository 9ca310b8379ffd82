package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.trace.Trace;
import org.junit.jupiter.api.Test;

/**
 * The register file's answer to accesses a driver should not make (facts sheet (a)): reserved
 * offsets and read-only registers are RAZ/WI, and accesses of another size than 4 or 8 bytes,
 * or not naturally aligned, or outside the two pages (CONSTRAINED UNPREDICTABLE) are RAZ/WI
 * with a LOG_UNIMP trace. None of them throws.
 */
class SmmuV3MmioDecodeTest {
    /** Every 32-bit word of the implemented part of both pages, read through the device. */
    static long[] snapshot(SmmuV3 smmu) {
        long[] s = new long[2 * 0x400];
        for (int i = 0; i < 0x400; i++) {
            s[i] = smmu.mmioRead(4L * i, 4);
            s[0x400 + i] = smmu.mmioRead(PAGE_1 + 4L * i, 4);
        }
        return s;
    }

    static final long PAGE_1 = 0x10000;

    /** A bring-up that has not set SMMUEN, so base registers are still writable. */
    static TestBed disabled() {
        TestBed tb = new TestBed(SmmuCaps.full());
        tb.writeq(STRTAB_BASE, RAM + 0x40);
        tb.writel(STRTAB_BASE_CFG, 8);
        return tb;
    }

    @Test
    void unalignedAccessesNeverReachARegister() {
        TestBed tb = disabled();
        long[] before = snapshot(tb.smmu);
        try (Trace.Capture cap = Trace.capture("smmuv3_unimp")) {
            // inside a 64-bit register: used to act on its low half
            tb.board.mmio.write(SMMU_BASE + STRTAB_BASE + 1, 0xffff_ffffL, 4);
            tb.board.mmio.write(SMMU_BASE + CMDQ_BASE + 2, 0xffff_ffffL, 4);
            // 4-aligned 64-bit access: used to write STRTAB_BASE_CFG with the high word
            tb.board.mmio.write(SMMU_BASE + STRTAB_BASE + 4, 0x0001_0186_0000_0000L, 8);
            tb.board.mmio.write(SMMU_BASE + CR2 + 1, CR2_RECINVSID, 4);
            tb.board.mmio.write(SMMU_BASE + CMDQ_PROD + 2, 0x1234, 2);
            assertThat(tb.board.mmio.read(SMMU_BASE + STRTAB_BASE + 1, 4)).isZero();
            assertThat(tb.board.mmio.read(SMMU_BASE + STRTAB_BASE_CFG - 4, 8)).isZero();
            assertThat(tb.board.mmio.read(SMMU_BASE + IDR0 + 2, 4)).isZero();
            assertThat(cap.records()).hasSize(8).allSatisfy(r -> assertThat(r.message()).contains("-byte"));
        }
        assertThat(snapshot(tb.smmu)).isEqualTo(before);
        assertThat(tb.readq(STRTAB_BASE)).isEqualTo(RAM + 0x40);
        assertThat(tb.readl(STRTAB_BASE_CFG)).isEqualTo(8);
    }

    @Test
    void oddSizesAndOffsetsOutsideThePagesAreRazWi() {
        TestBed tb = disabled();
        long[] before = snapshot(tb.smmu);
        for (int size : new int[] {0, 1, 2, 3, 5, 16, -1, -8}) {
            for (long off : new long[] {0, STRTAB_BASE, CR0, CMDQ_PROD, EVENTQ_CONS}) {
                assertThat(tb.smmu.mmioRead(off, size)).isZero();
                tb.smmu.mmioWrite(off, -1L, size);
            }
        }
        for (long off : new long[] {-4, -8, 0x20000, 0x20008, 1L << 32, 0x1_0000_0020L, Long.MAX_VALUE & ~7, Long.MIN_VALUE}) {
            assertThat(tb.smmu.mmioRead(off, 4)).isZero();
            assertThat(tb.smmu.mmioRead(off, 8)).isZero();
            tb.smmu.mmioWrite(off, -1L, 4);
            tb.smmu.mmioWrite(off, -1L, 8);
        }
        assertThat(snapshot(tb.smmu)).isEqualTo(before);
    }

    @Test
    void readOnlyAndReservedRegistersIgnoreWrites() {
        TestBed tb = TestBed.full();
        long[] before = snapshot(tb.smmu);
        int[] ro = {IDR0, IDR1, 0x8, IDR3, 0x10, IDR5, IIDR, AIDR, CR0ACK, STATUSR, IRQ_CTRLACK, GERROR, 0xfd0, 0xfe0, 0xffc};
        int[] reserved = {0x30, 0x3c, 0x58, 0xa8, 0xac, 0xc8, 0xcc, 0xe0, 0x100, 0x800, 0xe00, 0x8000, 0x8020, 0xfcc,
            0x10000, 0x10020, 0x10098, 0x100a0, 0x100c0, 0x1fffc};
        for (int off : ro) {
            tb.writel(off, -1);
        }
        for (int off = IDR0; off <= AIDR; off += 8) {
            tb.writeq(off, -1L);
        }
        for (int off : reserved) {
            assertThat(tb.readl(off)).as("0x%x", off).isZero();
            tb.writel(off, -1);
            assertThat(tb.readl(off)).as("0x%x", off).isZero();
        }
        assertThat(snapshot(tb.smmu)).isEqualTo(before);
        // and the SMMU still works
        tb.writeSte(1, TestBed.steBypass());
        tb.cfgiSte(1);
        tb.sync();
        assertThat(tb.read(1, 0x1000).status).isEqualTo(DmaResult.OK);
    }

    private static final int[] REGS = {IDR0, CR0, CR0ACK, CR1, CR2, GBPA, IRQ_CTRL, GERROR, GERRORN, GERROR_IRQ_CFG0,
        GERROR_IRQ_CFG1, GERROR_IRQ_CFG2, STRTAB_BASE, STRTAB_BASE_CFG, CMDQ_BASE, CMDQ_PROD, CMDQ_CONS, EVENTQ_BASE,
        EVENTQ_PROD, EVENTQ_CONS, EVENTQ_IRQ_CFG0, EVENTQ_IRQ_CFG1, PRIQ_BASE, PRIQ_PROD, PRIQ_CONS, PRIQ_IRQ_CFG0,
        PRIQ_IRQ_CFG1, 0xfd0, 0x1fffc};

    /**
     * Any sequence of accesses, sizes and values (random register programming included: queues
     * and tables at random addresses, commands from garbage, MSIs to nowhere) gets architected
     * answers: the device never throws, and translation still answers afterwards.
     */
    @Property(tries = 300, seed = "20261203")
    void randomRegisterTrafficNeverThrows(@ForAll long seed) {
        Random rnd = new Random(seed);
        TestBed tb = rnd.nextBoolean() ? TestBed.full() : new TestBed(SmmuCaps.full());
        int[] sizes = {4, 8, 4, 8, 1, 2, 3, 0};
        for (int i = 0; i < 40; i++) {
            long off = switch (rnd.nextInt(4)) {
                case 0, 1 -> REGS[rnd.nextInt(REGS.length)];
                case 2 -> REGS[rnd.nextInt(REGS.length)] + rnd.nextInt(8);
                default -> rnd.nextInt(0x20000);
            };
            int size = sizes[rnd.nextInt(sizes.length)];
            long v = switch (rnd.nextInt(3)) {
                case 0 -> rnd.nextLong();
                case 1 -> RAM + (rnd.nextInt(1 << 20) & ~0x1f) | rnd.nextInt(20);
                default -> rnd.nextInt(64);
            };
            if (rnd.nextBoolean()) {
                tb.smmu.mmioWrite(off, v, size);
            } else {
                tb.smmu.mmioRead(off, size);
            }
        }
        snapshot(tb.smmu);
        DmaResult r = tb.read(rnd.nextInt(4), rnd.nextLong());
        assertThat(r.status).isIn(DmaResult.OK, DmaResult.ABORT, DmaResult.STALLED, DmaResult.RAZ_WI);
        tb.smmu.close();
    }
}
