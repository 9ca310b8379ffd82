package org.iommu4j.iommu.pgtable;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ERANGE;
import static org.iommu4j.base.Gfp.GFP_KERNEL;
import static org.iommu4j.base.Sizes.SZ_1G;
import static org.iommu4j.base.Sizes.SZ_2M;
import static org.iommu4j.base.Sizes.SZ_4K;
import static org.iommu4j.base.Sizes.SZ_64K;
import static org.iommu4j.base.Sizes.SZ_512M;
import static org.iommu4j.base.Sizes.SZ_16K;
import static org.iommu4j.base.Sizes.SZ_32M;
import static org.iommu4j.iommu.IommuH.*;
import static org.iommu4j.iommu.pgtable.IoPgtableArm.*;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Warn;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.iommu.IommuIotlbGather;
import org.iommu4j.mm.PageAlloc;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** io-pgtable-arm: descriptors in memory, errors, block splitting, register outputs, leaks. */
@ExtendWith(NoWarnings.class)
class IoPgtableArmTest {
    PhysMem mem;
    PageAlloc pa;
    final List<String> log = new ArrayList<>();
    final Object cookie = new Object();

    final IommuFlushOps tlb = new IommuFlushOps() {
        @Override
        public void tlbFlushAll(Object c) {
            assertThat(c).isSameAs(cookie);
            log.add("all");
        }

        @Override
        public void tlbFlushWalk(long iova, long size, long granule, Object c) {
            log.add(String.format("walk 0x%x 0x%x 0x%x", iova, size, granule));
        }

        @Override
        public boolean hasTlbFlushWalk() {
            return true;
        }

        @Override
        public void tlbAddPage(IommuIotlbGather gather, long iova, long granule, Object c) {
            log.add(String.format("page 0x%x 0x%x", iova, granule));
        }

        @Override
        public boolean hasTlbAddPage() {
            return true;
        }
    };

    IoPgtableArmTest() {
        setUp();
    }

    @BeforeEach
    void setUp() {
        mem = Board.withRam(64L << 20).mem;
        pa = PageAlloc.forAllRam(mem);
    }

    IoPgtableCfg cfg(long pgsizes, int ias, int oas) {
        IoPgtableCfg c = new IoPgtableCfg();
        c.pgsizeBitmap = pgsizes;
        c.ias = ias;
        c.oas = oas;
        c.coherentWalk = true;
        c.tlb = tlb;
        c.pageAlloc = pa;
        return c;
    }

    IoPgtableArm s14k() {
        return (IoPgtableArm) IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S1, cfg(SZ_4K | SZ_2M | SZ_1G, 48, 48), cookie);
    }

    @Test
    void s1RegistersAndPteBitsAreTheKernels() {
        IoPgtableCfg c = cfg(SZ_4K | SZ_2M | SZ_1G | SZ_64K, 48, 44);
        IoPgtableArm p = (IoPgtableArm) IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S1, c, cookie);
        // restrict_pgsizes keeps the 4K granule's sizes only
        assertThat(c.pgsizeBitmap).isEqualTo(SZ_4K | SZ_2M | SZ_1G);
        assertThat(c.armLpaeS1Cfg.tcr.tg).isEqualTo(ARM_LPAE_TCR_TG0_4K);
        assertThat(c.armLpaeS1Cfg.tcr.sh).isEqualTo(ARM_LPAE_TCR_SH_IS);
        assertThat(c.armLpaeS1Cfg.tcr.irgn).isEqualTo(ARM_LPAE_TCR_RGN_WBWA);
        assertThat(c.armLpaeS1Cfg.tcr.orgn).isEqualTo(ARM_LPAE_TCR_RGN_WBWA);
        assertThat(c.armLpaeS1Cfg.tcr.ips).isEqualTo(ARM_LPAE_TCR_PS_44_BIT);
        assertThat(c.armLpaeS1Cfg.tcr.tsz).isEqualTo(16);
        assertThat(c.armLpaeS1Cfg.mair).isEqualTo(0xf404ff44L);
        assertThat(c.armLpaeS1Cfg.ttbr).isEqualTo(p.pgd()).isNotZero();
        assertThat(p.startLevel()).isEqualTo(0);

        assertThat(p.map(0x12345000L, 0x40123000L, SZ_4K, IOMMU_READ | IOMMU_CACHE, GFP_KERNEL)).isZero();
        // Walk by hand: L0 idx 0, L1 idx 0, L2 idx 0x91, L3 idx 0x145.
        long l0 = mem.readq(p.pgd());
        assertThat(l0 & 3).isEqualTo(ARM_LPAE_PTE_TYPE_TABLE);
        long l1 = mem.readq((l0 & ARM_LPAE_PTE_ADDR_MASK));
        long l2 = mem.readq((l1 & ARM_LPAE_PTE_ADDR_MASK) + 8 * 0x91);
        long l3 = mem.readq((l2 & ARM_LPAE_PTE_ADDR_MASK) + 8 * 0x145);
        long expect = 0x40123000L | ARM_LPAE_PTE_TYPE_PAGE | ARM_LPAE_PTE_AF | ARM_LPAE_PTE_SH_IS | ARM_LPAE_PTE_nG
                | ARM_LPAE_PTE_AP_RDONLY | ARM_LPAE_PTE_AP_UNPRIV | (1L << ARM_LPAE_PTE_ATTRINDX_SHIFT);
        assertThat(l3).isEqualTo(expect);
        assertThat(p.iovaToPhys(0x12345abcL)).isEqualTo(0x40123abcL);
        IoPgtable.freeIoPgtableOps(p);
    }

    @Test
    void s2ConcatenatesAndSetsVtcr() {
        IoPgtableCfg c = cfg(SZ_4K | SZ_2M | SZ_1G, 40, 48);
        IoPgtableArm p = (IoPgtableArm) IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S2, c, cookie);
        // 40-bit IAS with 4K: 4 levels would start at 0 with a 2-entry pgd; concatenated to level 1.
        assertThat(p.startLevel()).isEqualTo(1);
        assertThat(c.armLpaeS2Cfg.vtcr.sl).isEqualTo(~2 & 3);
        assertThat(c.armLpaeS2Cfg.vtcr.ps).isEqualTo(ARM_LPAE_TCR_PS_48_BIT);
        assertThat(c.armLpaeS2Cfg.vtcr.tsz).isEqualTo(24);
        assertThat(c.armLpaeS2Cfg.vttbr).isEqualTo(p.pgd());
        assertThat(p.map(0x80000000L, 0x40000000L, SZ_2M, IOMMU_READ | IOMMU_WRITE, GFP_KERNEL)).isZero();
        long pte = mem.readq(p.pgd() + 8 * 2); // L1 index 2
        long l2 = mem.readq((pte & ARM_LPAE_PTE_ADDR_MASK));
        assertThat(l2).isEqualTo(0x40000000L | ARM_LPAE_PTE_TYPE_BLOCK | ARM_LPAE_PTE_AF | ARM_LPAE_PTE_SH_OS
                | ARM_LPAE_PTE_HAP_READ | ARM_LPAE_PTE_HAP_WRITE | ARM_LPAE_PTE_MEMATTR_NC);
        IoPgtable.freeIoPgtableOps(p);
    }

    @Test
    void unsupportedConfigurationsGiveNull() {
        long before = pa.allocatedPages();
        assertThat(IoPgtable.allocIoPgtableOps(IoPgtable.ARM_V7S, cfg(SZ_4K, 32, 32), cookie)).isNull();
        assertThat(IoPgtable.allocIoPgtableOps(99, cfg(SZ_4K, 32, 32), cookie)).isNull();
        assertThat(IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S1, cfg(SZ_2M, 48, 48), cookie)).isNull();
        assertThat(IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S1, cfg(SZ_4K, 48, 47), cookie)).isNull();
        IoPgtableCfg q = cfg(SZ_4K, 48, 48);
        q.quirks = IoPgtableCfg.IO_PGTABLE_QUIRK_ARM_NS;
        assertThat(IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S2, q, cookie)).isNull();
        assertThat(pa.allocatedPages()).isEqualTo(before);
    }

    @Test
    void mapOverMappingIsEexistAndWarns() {
        IoPgtableArm p = s14k();
        assertThat(p.map(0x1000, 0x40000000L, SZ_4K, IOMMU_READ, GFP_KERNEL)).isZero();
        assertThat(p.map(0x1000, 0x40001000L, SZ_4K, IOMMU_READ, GFP_KERNEL)).isEqualTo(-EEXIST);
        assertThat(Warn.drain()).hasSize(1);
        // A 2M block over a table holding a 4K page also collides at the leaf below? No: the
        // kernel frees a table only when the whole block is replaced; a leaf under it -> -EEXIST
        // is reported by the table walk when a block sits above.
        assertThat(p.map(0, 0x40000000L, SZ_2M, IOMMU_READ, GFP_KERNEL)).isZero(); // replaces the table
        assertThat(p.iovaToPhys(0x1000)).isEqualTo(0x40001000L);
        assertThat(log).contains("walk 0x0 0x200000 0x1000");
        assertThat(p.map(0x3000, 0x40003000L, SZ_4K, IOMMU_READ, GFP_KERNEL)).isEqualTo(-EEXIST);
        assertThat(Warn.drain()).hasSize(1);
        IoPgtable.freeIoPgtableOps(p);
    }

    @Test
    void mapOverMappingIsEexistDuringSelftest() {
        // selftest_running silences the kernel's WARN, so the error code is checked on its own.
        IoPgtableArm p = s14k();
        IoPgtableArm.selftestRunning = true;
        try {
            assertThat(p.map(0x1000, 0x40000000L, SZ_4K, IOMMU_READ, GFP_KERNEL)).isZero();
            assertThat(p.map(0x1000, 0x40001000L, SZ_4K, IOMMU_READ, GFP_KERNEL)).isEqualTo(-EEXIST);
            assertThat(p.map(0, 0x40000000L, SZ_2M, IOMMU_READ, GFP_KERNEL)).isZero(); // table replaced by a block
            assertThat(p.map(0x3000, 0x40003000L, SZ_4K, IOMMU_READ, GFP_KERNEL)).isEqualTo(-EEXIST); // block above
            long[] mapped = {0};
            assertThat(p.mapPages(2 * SZ_2M - SZ_4K, 0x40000000L, SZ_4K, 1, IOMMU_READ, GFP_KERNEL, mapped)).isZero();
            assertThat(p.mapPages(2 * SZ_2M - 2 * SZ_4K, 0x40000000L, SZ_4K, 2, IOMMU_READ, GFP_KERNEL, mapped)).isEqualTo(-EEXIST);
            assertThat(p.iovaToPhys(2 * SZ_2M - 2 * SZ_4K)).isZero(); // checked before anything is written
        } finally {
            IoPgtableArm.selftestRunning = false;
        }
        IoPgtable.freeIoPgtableOps(p);
    }

    @Test
    void noAccessIsNoOpAndBadInputsAreErrors() {
        IoPgtableArm p = s14k();
        assertThat(p.map(0x1000, 0x40000000L, SZ_4K, 0, GFP_KERNEL)).isZero();
        assertThat(p.iovaToPhys(0x1000)).isZero();
        assertThat(p.map(1L << 48, 0x40000000L, SZ_4K, IOMMU_READ, GFP_KERNEL)).isEqualTo(-ERANGE);
        assertThat(p.map(0x1000, 1L << 48, SZ_4K, IOMMU_READ, GFP_KERNEL)).isEqualTo(-ERANGE);
        assertThat(p.map(0x1000, 0x1000, 0x3000, IOMMU_READ, GFP_KERNEL)).isEqualTo(-EINVAL);
        assertThat(Warn.drain()).hasSize(3);
        assertThat(p.unmap(0x5000, SZ_4K, null)).isZero(); // hole
        assertThat(Warn.drain()).hasSize(1);
        IoPgtable.freeIoPgtableOps(p);
    }

    @Test
    void partialUnmapOfBlockSplitsAndKeepsTheRest() {
        IoPgtableArm p = s14k();
        assertThat(p.map(SZ_2M, 0x40200000L, SZ_2M, IOMMU_READ | IOMMU_WRITE, GFP_KERNEL)).isZero();
        IommuIotlbGather g = new IommuIotlbGather();
        assertThat(p.unmapPages(SZ_2M + 0x3000, SZ_4K, 2, g)).isEqualTo(2 * SZ_4K);
        assertThat(log).containsExactly("page 0x203000 0x1000", "page 0x204000 0x1000");
        assertThat(p.iovaToPhys(SZ_2M + 0x3000)).isZero();
        assertThat(p.iovaToPhys(SZ_2M + 0x4fff)).isZero();
        assertThat(p.iovaToPhys(SZ_2M + 0x2fff)).isEqualTo(0x40202fffL);
        assertThat(p.iovaToPhys(SZ_2M + 0x5000)).isEqualTo(0x40205000L);
        assertThat(p.iovaToPhys(2 * SZ_2M - 1)).isEqualTo(0x403fffffL);
        // the split table's entries keep the block's attributes
        IoPgtable.freeIoPgtableOps(p);
    }

    @Test
    void mapPagesCrossesTablesAndCountsMapped() {
        IoPgtableArm p = s14k();
        long[] mapped = {0};
        // 600 pages from index 500 of a level-3 table: only 12 fit in the first table.
        assertThat(p.mapPages(500 * SZ_4K, 0x40000000L, SZ_4K, 600, IOMMU_READ, GFP_KERNEL, mapped)).isZero();
        assertThat(mapped[0]).isEqualTo(12 * SZ_4K);
        assertThat(p.unmapPages(500 * SZ_4K, SZ_4K, 600, null)).isEqualTo(12 * SZ_4K);
        IoPgtable.freeIoPgtableOps(p);
    }

    @Test
    void freeReleasesEveryTablePage() {
        long before = pa.allocatedPages();
        IoPgtableArm p = s14k();
        for (int i = 0; i < 50; i++) {
            assertThat(p.map(i * SZ_1G + i * SZ_2M + i * SZ_4K, 0x40000000L, SZ_4K, IOMMU_READ, GFP_KERNEL)).isZero();
        }
        assertThat(pa.allocatedPages()).isGreaterThan(before + 50);
        IoPgtable.freeIoPgtableOps(p);
        assertThat(log).endsWith("all");
        assertThat(pa.allocatedPages()).isEqualTo(before);
    }

    @Test
    void failNthSweepOverMapLeavesNoLeak() {
        long before = pa.allocatedPages();
        for (int n = 1; ; n++) {
            IoPgtableArm p = s14k();
            FaultInject.failNth(n);
            int ret = p.map(0x40000000L, 0x40000000L, SZ_4K, IOMMU_READ, GFP_KERNEL);
            boolean fired = FaultInject.disarm();
            if (fired) {
                assertThat(ret).isEqualTo(-ENOMEM);
            } else {
                assertThat(ret).isZero();
            }
            IoPgtable.freeIoPgtableOps(p);
            assertThat(pa.allocatedPages()).isEqualTo(before);
            if (!fired) {
                assertThat(n).isGreaterThan(1);
                break;
            }
        }
        // Splitting a block under injection: unmap returns 0 and the block stays mapped.
        IoPgtableArm p = s14k();
        assertThat(p.map(0, 0x40000000L, SZ_2M, IOMMU_READ, GFP_KERNEL)).isZero();
        FaultInject.failNth(1);
        assertThat(p.unmap(0x1000, SZ_4K, null)).isZero();
        FaultInject.disarm();
        assertThat(p.iovaToPhys(0x1000)).isEqualTo(0x40001000L);
        IoPgtable.freeIoPgtableOps(p);
        assertThat(pa.allocatedPages()).isEqualTo(before);
    }

    @Test
    void granules16kAnd64k() {
        IoPgtableCfg c16 = cfg(SZ_16K | SZ_32M, 48, 48);
        IoPgtableArm p16 = (IoPgtableArm) IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S1, c16, cookie);
        assertThat(c16.armLpaeS1Cfg.tcr.tg).isEqualTo(ARM_LPAE_TCR_TG0_16K);
        assertThat(p16.map(SZ_32M, 0x40000000L, SZ_32M, IOMMU_READ, GFP_KERNEL)).isZero();
        assertThat(p16.iovaToPhys(SZ_32M + 0x12345)).isEqualTo(0x40012345L);
        IoPgtable.freeIoPgtableOps(p16);
        IoPgtableCfg c64 = cfg(SZ_64K | SZ_512M | (1L << 42), 52, 52);
        IoPgtableArm p64 = (IoPgtableArm) IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S1, c64, cookie);
        assertThat(c64.pgsizeBitmap).isEqualTo(SZ_64K | SZ_512M | (1L << 42));
        assertThat(c64.armLpaeS1Cfg.tcr.ips).isEqualTo(ARM_LPAE_TCR_PS_52_BIT);
        assertThat(c64.armLpaeS1Cfg.tcr.tg).isEqualTo(ARM_LPAE_TCR_TG0_64K);
        // 52-bit output address: bits 51:48 are folded into PTE bits 15:12.
        assertThat(p64.paddrToIopte(0x000f_0000_4001_0000L)).isEqualTo(0x0000_0000_4001_f000L);
        assertThat(p64.iopteToPaddr(0x0000_0000_4001_f000L)).isEqualTo(0x000f_0000_4001_0000L);
        IoPgtable.freeIoPgtableOps(p64);
    }

    @Test
    void s1QuirksTtbr1NsOuterWbwaAndNonCoherentWalk() {
        // TTBR1 + NS on a non-coherent walker: TG1 encoding, OS/NC walk attributes, upper-half
        // IOVAs only, NS on leaves, NSTABLE and the software SW_SYNC bit on installed tables.
        IoPgtableCfg c = cfg(SZ_4K | SZ_2M | SZ_1G, 48, 48);
        c.quirks = IoPgtableCfg.IO_PGTABLE_QUIRK_ARM_TTBR1 | IoPgtableCfg.IO_PGTABLE_QUIRK_ARM_NS;
        c.coherentWalk = false;
        IoPgtableArm p = (IoPgtableArm) IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S1, c, cookie);
        assertThat(c.armLpaeS1Cfg.tcr.tg).isEqualTo(ARM_LPAE_TCR_TG1_4K);
        assertThat(c.armLpaeS1Cfg.tcr.sh).isEqualTo(ARM_LPAE_TCR_SH_OS);
        assertThat(c.armLpaeS1Cfg.tcr.irgn).isEqualTo(ARM_LPAE_TCR_RGN_NC);
        assertThat(c.armLpaeS1Cfg.tcr.orgn).isEqualTo(ARM_LPAE_TCR_RGN_NC);
        long iova = 0xffff_8000_0020_0000L;
        assertThat(p.map(iova, 0x40000000L, SZ_4K, IOMMU_READ | IOMMU_WRITE | IOMMU_MMIO, GFP_KERNEL)).isZero();
        assertThat(p.map(0x1000, 0x40000000L, SZ_4K, IOMMU_READ, GFP_KERNEL)).isEqualTo(-ERANGE);
        assertThat(Warn.drain()).hasSize(1);
        long table = ARM_LPAE_PTE_NSTABLE | ARM_LPAE_PTE_SW_SYNC | ARM_LPAE_PTE_TYPE_TABLE;
        long l0 = mem.readq(p.pgd() + 8 * 256);
        assertThat(l0 & ~ARM_LPAE_PTE_ADDR_MASK).isEqualTo(table);
        long l1 = mem.readq(l0 & ARM_LPAE_PTE_ADDR_MASK);
        assertThat(l1 & ~ARM_LPAE_PTE_ADDR_MASK).isEqualTo(table);
        long l2 = mem.readq((l1 & ARM_LPAE_PTE_ADDR_MASK) + 8);
        long l3 = mem.readq(l2 & ARM_LPAE_PTE_ADDR_MASK);
        assertThat(l3).isEqualTo(0x40000000L | ARM_LPAE_PTE_TYPE_PAGE | ARM_LPAE_PTE_AF | ARM_LPAE_PTE_SH_OS | ARM_LPAE_PTE_NS
                | ARM_LPAE_PTE_nG | ARM_LPAE_PTE_AP_UNPRIV | ((long) ARM_LPAE_MAIR_ATTR_IDX_DEV << ARM_LPAE_PTE_ATTRINDX_SHIFT));
        assertThat(p.iovaToPhys(iova + 5)).isEqualTo(0x40000005L);
        assertThat(p.unmap(iova, SZ_4K, null)).isEqualTo(SZ_4K);
        IoPgtable.freeIoPgtableOps(p);

        // OUTER_WBWA: outer write-back for a non-coherent walker, refused for a coherent one.
        IoPgtableCfg o = cfg(SZ_4K, 48, 48);
        o.quirks = IoPgtableCfg.IO_PGTABLE_QUIRK_ARM_OUTER_WBWA;
        assertThat(IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S1, o, cookie)).isNull();
        o.coherentWalk = false;
        IoPgtableOps ow = IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S1, o, cookie);
        assertThat(o.armLpaeS1Cfg.tcr.irgn).isEqualTo(ARM_LPAE_TCR_RGN_NC);
        assertThat(o.armLpaeS1Cfg.tcr.orgn).isEqualTo(ARM_LPAE_TCR_RGN_WBWA);
        IoPgtable.freeIoPgtableOps(ow);
        // Quirks outside ARM_NS | ARM_TTBR1 | ARM_OUTER_WBWA are refused at stage 1.
        IoPgtableCfg n = cfg(SZ_4K, 48, 48);
        n.quirks = IoPgtableCfg.IO_PGTABLE_QUIRK_NO_PERMS;
        assertThat(IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S1, n, cookie)).isNull();
    }

    @Test
    void pgcountIsNarrowedToIntLikeMinTInt() {
        // __arm_lpae_map, __arm_lpae_unmap and arm_lpae_split_blk_unmap take
        // min_t(int, pgcount, max_entries): a size_t pgcount of 2^32 + n counts as n entries.
        long wide = 1L << 32;
        IoPgtableArm p = s14k();
        long[] mapped = {0};
        assertThat(p.mapPages(0, 0x40000000L, SZ_4K, wide + 5, IOMMU_READ, GFP_KERNEL, mapped)).isZero();
        assertThat(mapped[0]).isEqualTo(5 * SZ_4K);
        assertThat(p.iovaToPhys(4 * SZ_4K)).isEqualTo(0x40004000L);
        assertThat(p.iovaToPhys(5 * SZ_4K)).isZero();

        // Leaf entries at the unmap level: two of the five go, the third stays.
        assertThat(p.unmapPages(0, SZ_4K, wide + 2, null)).isEqualTo(2 * SZ_4K);
        assertThat(p.iovaToPhys(SZ_4K)).isZero();
        assertThat(p.iovaToPhys(2 * SZ_4K)).isEqualTo(0x40002000L);
        assertThat(log).containsExactly("page 0x0 0x1000", "page 0x1000 0x1000");
        log.clear();

        // Splitting a 2M block: only two 4K slots are left empty in the new table.
        assertThat(p.map(SZ_2M, 0x40200000L, SZ_2M, IOMMU_READ, GFP_KERNEL)).isZero();
        assertThat(p.unmapPages(SZ_2M + SZ_4K, SZ_4K, wide + 2, null)).isEqualTo(2 * SZ_4K);
        assertThat(log).containsExactly("page 0x201000 0x1000", "page 0x202000 0x1000");
        assertThat(p.iovaToPhys(SZ_2M)).isEqualTo(0x40200000L);
        assertThat(p.iovaToPhys(SZ_2M + 2 * SZ_4K)).isZero();
        assertThat(p.iovaToPhys(SZ_2M + 3 * SZ_4K)).isEqualTo(0x40203000L);
        IoPgtable.freeIoPgtableOps(p);
    }

    @Property(tries = 150, seed = "20261203")
    void mapThenTranslateThenUnmap(@ForAll @IntRange(min = 0, max = 1 << 20) int pfn, @ForAll @IntRange(min = 1, max = 40) int pages) {
        IoPgtableArm p = s14k();
        long iova = (long) pfn << 12;
        long paddr = 0x41000000L;
        long[] mapped = {0};
        int ret = p.mapPages(iova, paddr, SZ_4K, pages, IOMMU_READ, GFP_KERNEL, mapped);
        assertThat(ret).isZero();
        long n = mapped[0] / SZ_4K;
        assertThat(n).isBetween(1L, (long) pages);
        for (long i = 0; i < n; i++) {
            assertThat(p.iovaToPhys(iova + i * SZ_4K + 7)).isEqualTo(paddr + i * SZ_4K + 7);
        }
        assertThat(p.unmapPages(iova, SZ_4K, n, null)).isEqualTo(n * SZ_4K);
        assertThat(p.iovaToPhys(iova)).isZero();
        IoPgtable.freeIoPgtableOps(p);
    }
}
