package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The driver against the model with QEMU 7.2's capabilities must reproduce what Linux 6.1 did in
 * the project's reference recording qemu-linux-smmuv3 (runA): the features value, the ordered MMIO accesses
 * of probe/reset, the commands at probe and at attach, and the STE/CD words (addresses aside).
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3ReferenceTest {
    /** Address fields of *_BASE registers differ between runs; everything else must match. */
    private static final long ADDR_51_5 = org.iommu4j.base.Bits.GENMASK_ULL(51, 5);

    /** analysis.txt section 1, accesses 0..33, with page-1 offsets as the guest really used them. */
    private static final String[] REFERENCE_PROBE = {
        "R 0x0 0xd40101a", "R 0x4 0x2730010", "R 0xc 0x1404", "R 0x14 0x74", "R 0x18 0x0",
        "R 0x20 0x0", "W 0x20 0x0", "R 0x24 0x0", "W 0x28 0xd75", "W 0x2c 0x6",
        "W 0x80 0x4000000000000000", "W 0x88 0x10210", "W 0x90 0x4000000000000010",
        "W 0x98 0x0", "W 0x9c 0x0", "W 0x20 0x8", "R 0x24 0x8",
        "W 0x98 0x2", "R 0x9c 0x2", "W 0x98 0x4", "R 0x9c 0x4",
        "W 0xa0 0x400000000000000f", "W 0x100a8 0x0", "W 0x100ac 0x0", "W 0x20 0xc", "R 0x24 0xc",
        "W 0x50 0x0", "R 0x54 0x0", "W 0x68 0x0", "W 0xb0 0x0", "W 0x50 0x5", "R 0x54 0x5",
        "W 0x20 0xd", "R 0x24 0xd",
    };

    /** analysis.txt section 5: the 22 commands (probe, then attach of sid 0x8 and sid 0x10). */
    private static final long[][] REFERENCE_CMDS = {
        {0x0000000000000004L, 0x000000000000001fL},
        {0x000000000fc02046L, 0}, {0x0000000000000030L, 0}, {0x000000000fc02046L, 0},
        {0x000000000fc02046L, 0}, {0x000000000fc02046L, 0},
        {0x0000000800000003L, 1}, {0x000000000fc02046L, 0},
        {0x0000000800000003L, 1}, {0x000000000fc02046L, 0},
        {0x0000000800000001L, 0}, {0x0001000000000011L, 0}, {0x000000000fc02046L, 0},
        {0x000000000fc02046L, 0}, {0x000000000fc02046L, 0},
        {0x0000001000000003L, 1}, {0x000000000fc02046L, 0},
        {0x0000001000000003L, 1}, {0x000000000fc02046L, 0},
        {0x0000001000000001L, 0}, {0x0002000000000011L, 0}, {0x000000000fc02046L, 0},
    };

    private static String fmt(MmioRecorder.Access a) {
        long v = a.value();
        if (a.write() && (a.offset() == ARM_SMMU_STRTAB_BASE || a.offset() == ARM_SMMU_CMDQ_BASE || a.offset() == ARM_SMMU_EVTQ_BASE)) {
            v &= ~ADDR_51_5;
        }
        return String.format("%s 0x%x 0x%x", a.write() ? "W" : "R", a.offset(), v);
    }

    @Test
    void probeAndResetMatchLinux61OnQemu() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable follow = Printk.follow(l -> log.add(l.text()))) {
            assertThat(tb.probe()).isZero();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        assertThat(tb.drv.smmu.features).isEqualTo(0x00008305);
        assertThat(tb.drv.smmu.features).isEqualTo(ARM_SMMU_FEAT_2_LVL_STRTAB | ARM_SMMU_FEAT_TT_LE
                | ARM_SMMU_FEAT_COHERENCY | ARM_SMMU_FEAT_TRANS_S1 | ARM_SMMU_FEAT_RANGE_INV);
        assertThat(log).contains(
                "arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit (features 0x00008305)",
                "arm-smmu-v3 9050000.smmuv3: allocated 65536 entries for cmdq",
                "arm-smmu-v3 9050000.smmuv3: allocated 32768 entries for evtq");

        List<String> got = tb.rec.log.stream().map(ArmSmmuV3ReferenceTest::fmt).toList();
        assertThat(got).containsExactly(REFERENCE_PROBE);

        /* Table and queue addresses are real allocations, suitably aligned. */
        assertThat(tb.drv.smmu.strtabCfg.strtabBase & STRTAB_BASE_ADDR_MASK).isNotZero();
        assertThat(tb.drv.smmu.cmdq.q.base & ((1L << 20) - 1)).isZero();
        assertThat(tb.drv.smmu.evtq.base & ((1L << 20) - 1)).isZero();

        assertThat(tb.prod()).isEqualTo(4);
        assertCommands(tb, 0, 4);
    }

    @Test
    void attachOfTwoPciFunctionsMatchesLinux61() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        int mark = tb.rec.log.size();

        /* 00:01.0 (sid 0x8) then 00:02.0 (sid 0x10): probe_device, default DMA domain, attach, and
         * the core's flush after direct mappings (iommu_create_device_direct_mappings). */
        Device rng = tb.master("0000:00:01.0", 0x8, 0);
        ArmSmmuDomain d1 = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(d1, rng)).isZero();
        tb.drv.armSmmuFlushIotlbAll(d1);

        Device blk = tb.master("0000:00:02.0", 0x10, 0);
        ArmSmmuDomain d2 = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(d2, blk)).isZero();
        tb.drv.armSmmuFlushIotlbAll(d2);

        /* After reset only CMDQ_PROD writes and CMDQ_CONS reads, no CONS read after PREFETCH. */
        List<String> after = tb.rec.log.subList(mark, tb.rec.log.size()).stream().map(ArmSmmuV3ReferenceTest::fmt).toList();
        assertThat(tb.prod()).isEqualTo(22);
        assertCommands(tb, 0, 22);
        assertThat(after).containsExactly(
                "W 0x98 0x5", "R 0x9c 0x5", "W 0x98 0x6", "R 0x9c 0x6", "W 0x98 0x8", "R 0x9c 0x8",
                "W 0x98 0xa", "R 0x9c 0xa", "W 0x98 0xb", "W 0x98 0xd", "R 0x9c 0xd",
                "W 0x98 0xe", "R 0x9c 0xe", "W 0x98 0xf", "R 0x9c 0xf", "W 0x98 0x11", "R 0x9c 0x11",
                "W 0x98 0x13", "R 0x9c 0x13", "W 0x98 0x14", "W 0x98 0x16", "R 0x9c 0x16");

        /* memdump.txt: L1 descriptor 0 = L2 table | span 9, others 0. */
        long l1 = tb.drv.smmu.strtabCfg.strtab;
        assertThat(tb.board.mem.readq(l1) & 0x1f).isEqualTo(9);
        assertThat(tb.board.mem.readq(l1 + 8)).isZero();

        /* Unused STEs of the L2 table: abort, SHCFG incoming. */
        for (int sid : new int[] {0x0, 0x18}) {
            assertThat(tb.ste(sid, 0)).isEqualTo(0x1L);
            assertThat(tb.ste(sid, 1)).isEqualTo(0x0000100000000000L);
            for (int i = 2; i < 8; i++) {
                assertThat(tb.ste(sid, i)).isZero();
            }
        }
        /* STE 0x8 / 0x10: 0x4319500b-style dword0 (address aside), dword1 0xd6, the rest 0. */
        int[] sids = {0x8, 0x10};
        ArmSmmuDomain[] doms = {d1, d2};
        long[] cd0 = {0x0001e204c0003510L, 0x0002e204c0003510L};
        for (int k = 0; k < 2; k++) {
            int sid = sids[k];
            long ste0 = tb.ste(sid, 0);
            assertThat(ste0 & ~STRTAB_STE_0_S1CTXPTR_MASK).isEqualTo(0xbL);
            assertThat(ste0 & STRTAB_STE_0_S1CTXPTR_MASK).isEqualTo(doms[k].s1Cfg.cdcfg.cdtabDma);
            assertThat(tb.ste(sid, 1)).isEqualTo(0xd6L);
            for (int i = 2; i < 8; i++) {
                assertThat(tb.ste(sid, i)).isZero();
            }
            long cd = doms[k].s1Cfg.cdcfg.cdtab;
            assertThat(tb.board.mem.readq(cd)).isEqualTo(cd0[k]);
            assertThat(tb.board.mem.readq(cd + 8) & 0xfff).isZero();
            assertThat(tb.board.mem.readq(cd + 8)).isEqualTo(doms[k].s1Cfg.cd.ttbr);
            assertThat(tb.board.mem.readq(cd + 16)).isZero();
            /* MAIR: Linux 6.1 wrote 0xfffffffff404ff44 (its MAIR constant sign-extends); the low
             * word, which is what the attribute indexes in use read, must match. */
            assertThat(tb.board.mem.readq(cd + 24) & 0xffffffffL).isEqualTo(0xf404ff44L);
            for (int i = 4; i < 8; i++) {
                assertThat(tb.board.mem.readq(cd + 8L * i)).isZero();
            }
        }
    }

    private static void assertCommands(SmmuTestBed tb, int from, int to) {
        List<long[]> cmds = tb.commands(from, to);
        for (int i = from; i < to; i++) {
            long[] c = cmds.get(i - from);
            assertThat(String.format("%d: 0x%016x 0x%016x", i, c[0], c[1]))
                    .isEqualTo(String.format("%d: 0x%016x 0x%016x", i, REFERENCE_CMDS[i][0], REFERENCE_CMDS[i][1]));
        }
    }
}
