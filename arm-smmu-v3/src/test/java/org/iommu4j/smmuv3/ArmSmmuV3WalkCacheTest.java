package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.List;
import org.iommu4j.base.Bits;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.iommu.IommuIotlbGather;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The driver's walk invalidations against the model's walk cache and its strict TTL: unmapping
 * a whole region frees a table (io-pgtable's {@code tlb_flush_walk}, the driver's
 * {@code arm_smmu_tlb_inv_walk}: TLBI_NH_VA with Leaf = 0), and a block mapped in its place must
 * be what the next DMA reads.
 *
 * <p>v5.15's {@code __arm_smmu_tlb_inv_range} puts the TTL of the nominal granule it is given
 * (level 3 for 4K pages) in walk invalidations too. That is right for the level-3 leaves and the
 * walk entries above them, but a hardware that honours TTL strictly need not remove a block
 * leaf of another level in the range. Linux fixed it in v6.6 (commit 6833b8f2e199, "Set TTL
 * invalidation hint better": TTL = 0 for non-leaf invalidations). The port stays faithful to
 * v5.15, and {@link #v515WalkFlushOfA1GTableLeavesA2MBlockStale} shows the misbehaviour.
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3WalkCacheTest {
    private static final int RW = IommuH.IOMMU_READ | IommuH.IOMMU_WRITE;
    private static final long SZ_2M = 2L << 20, SZ_1G = 1L << 30;
    private static final int SID = 0x20;

    private record Bed(SmmuTestBed tb, ArmSmmuDomain d) {}

    private static Bed bed() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.full());
        assertThat(tb.probe()).isZero();
        assertThat(tb.drv.smmu.features & ARM_SMMU_FEAT_RANGE_INV).isNotZero();
        Device dev = tb.master("dev0", SID, 0);
        ArmSmmuDomain d = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(d, dev)).isZero();
        return new Bed(tb, d);
    }

    /** A zeroed, naturally aligned 2 MiB block holding {@code pattern} at offset {@code off}. */
    private static long block(SmmuTestBed tb, long off, long pattern) {
        long pa = tb.pages.allocPages(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO, 9);
        assertThat(pa).isNotZero();
        assertThat(pa & (SZ_2M - 1)).isZero();
        tb.board.mem.writeq(pa + off, pattern);
        return pa;
    }

    private static long page(SmmuTestBed tb, long pattern) {
        long pa = tb.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
        tb.board.mem.writeq(pa, pattern);
        return pa;
    }

    private static void map(Bed b, long iova, long pa, long pgsize) {
        long[] mapped = new long[1];
        assertThat(b.tb.drv.armSmmuMapPages(b.d, iova, pa, pgsize, 1, RW, Gfp.GFP_KERNEL, mapped)).isZero();
        assertThat(mapped[0]).isEqualTo(pgsize);
    }

    private static void unmap(Bed b, long iova, long pgsize) {
        IommuIotlbGather g = new IommuIotlbGather();
        assertThat(b.tb.drv.armSmmuUnmapPages(b.d, iova, pgsize, 1, g)).isEqualTo(pgsize);
        b.tb.drv.armSmmuIotlbSync(b.d, g);
    }

    /** What a DMA read of {@code iova} returns from memory; an abort fails the test. */
    private static long dmaRead(Bed b, long iova) {
        DmaResult r = b.tb.dma(SID, DmaTransaction.NO_SSID, iova, DmaTransaction.ACC_READ);
        assertThat(r.status).as("DMA at 0x%x", iova).isEqualTo(DmaResult.OK);
        return b.tb.board.mem.readq(r.pa);
    }

    /**
     * Two 4K pages of a 2 MiB region read by DMA (the TLB and the walk cache fill), the whole
     * region unmapped (io-pgtable frees its level-3 table and flushes the walk), a 2 MiB block
     * mapped there: DMA reads the block's data. The walk flush is TLBI_NH_VA with Leaf = 0, a
     * range of 512 pages with TTL = 3 (v5.15), which removes the level-2 walk entry.
     */
    @Test
    void blockMappedWhereAFreedTableWasIsWhatDmaReads() {
        Bed b = bed();
        long iova = 0x4020_0000L;
        map(b, iova, page(b.tb, 0x1111), 4096);
        map(b, iova + 0x3000, page(b.tb, 0x2222), 4096);
        assertThat(dmaRead(b, iova)).isEqualTo(0x1111);
        assertThat(dmaRead(b, iova + 0x3000)).isEqualTo(0x2222);
        assertThat(b.tb.model.walkCache().size()).isPositive();

        int before = b.tb.prod();
        unmap(b, iova, SZ_2M);
        List<long[]> cmds = b.tb.commands(before, b.tb.prod());
        long[] walk = cmds.get(0);
        assertThat(walk[0] & 0xff).isEqualTo(CMDQ_OP_TLBI_NH_VA);
        assertThat(walk[1] & CMDQ_TLBI_1_LEAF).as("a walk flush").isZero();
        assertThat(Bits.FIELD_GET(CMDQ_TLBI_1_TTL, walk[1])).as("v5.15: the granule's level").isEqualTo(3);
        assertThat(Bits.FIELD_GET(CMDQ_TLBI_1_TG, walk[1])).isEqualTo(1);
        assertThat((Bits.FIELD_GET(CMDQ_TLBI_0_NUM, walk[0]) + 1) << Bits.FIELD_GET(CMDQ_TLBI_0_SCALE, walk[0]))
                .isEqualTo(512);

        long blk = block(b.tb, 0x3000, 0xb10c);
        map(b, iova, blk, SZ_2M);
        assertThat(dmaRead(b, iova + 0x3000)).as("the block, not the freed table's page").isEqualTo(0xb10c);
        assertThat(dmaRead(b, iova)).isZero();
    }

    /**
     * The same sequence one level up: a 2 MiB block inside a 1 GiB region is read by DMA (a
     * level-2 leaf in the TLB), the whole 1 GiB is unmapped (io-pgtable frees the level-2 table
     * and flushes the walk with the 4K granule: TTL = 3), and another block is mapped there.
     * Hardware that honours TTL strictly keeps the level-2 leaf, and the DMA reads the old
     * block: v5.15's behaviour, fixed by v6.6's TTL = 0 for walk flushes. An invalidation
     * without the hint (the driver's context flush) then shows the new block.
     */
    @Test
    void v515WalkFlushOfA1GTableLeavesA2MBlockStale() {
        Bed b = bed();
        long iova = SZ_1G;
        long old = block(b.tb, 0x40, 0x01d);
        map(b, iova + SZ_2M, old, SZ_2M);
        assertThat(dmaRead(b, iova + SZ_2M + 0x40)).isEqualTo(0x01d);

        int before = b.tb.prod();
        unmap(b, iova, SZ_1G);
        long[] walk = b.tb.commands(before, b.tb.prod()).get(0);
        assertThat(walk[1] & CMDQ_TLBI_1_LEAF).isZero();
        assertThat(Bits.FIELD_GET(CMDQ_TLBI_1_TTL, walk[1])).isEqualTo(3);

        long fresh = block(b.tb, 0x40, 0xf7e54);
        map(b, iova + SZ_2M, fresh, SZ_2M);
        assertThat(dmaRead(b, iova + SZ_2M + 0x40)).as("the freed table's block, by TTL = 3").isEqualTo(0x01d);

        b.tb.drv.armSmmuTlbInvContext(b.d);
        assertThat(dmaRead(b, iova + SZ_2M + 0x40)).isEqualTo(0xf7e54);
    }

    /**
     * A leaf-only invalidation after replacing a table is the driver bug the walk cache makes
     * visible: the level-3 table of a region is freed behind the driver's back with only a
     * Leaf = 1 TLBI (as a buggy {@code tlb_add_page} path would), and DMA keeps walking it.
     */
    @Test
    void leafOnlyInvalidationOfAFreedTableKeepsWalkingIt() {
        Bed b = bed();
        long iova = 0x4020_0000L;
        map(b, iova, page(b.tb, 0x1111), 4096);
        assertThat(dmaRead(b, iova)).isEqualTo(0x1111);
        // the buggy driver: replaces the level-2 descriptor by a block, then invalidates the leaf only
        long ptep = levelTwoDescriptor(b, iova);
        long l3 = b.tb.board.mem.readq(ptep) & 0x0000_ffff_ffff_f000L;
        long page = b.tb.board.mem.readq(l3 + 8 * ((iova >>> 12) & 511));
        long blk = block(b.tb, 0, 0xb10c);
        // a block descriptor with the page's attributes (descriptor type 0b01)
        b.tb.board.mem.writeq(ptep, blk | (page & ~0x0000_ffff_ffff_f003L) | 1);
        b.tb.drv.armSmmuTlbInvRangeDomain(iova, 4096, 4096, true, b.d, b.d.pgsizeBitmap);
        assertThat(dmaRead(b, iova)).as("the old table's page").isEqualTo(0x1111);
        b.tb.drv.armSmmuTlbInvRangeDomain(iova, SZ_2M, 4096, false, b.d, b.d.pgsizeBitmap);
        assertThat(dmaRead(b, iova)).isEqualTo(0xb10c);
    }

    /** The level-2 descriptor of {@code iova} in the domain's 4-level 4K stage-1 table. */
    private static long levelTwoDescriptor(Bed b, long iova) {
        long table = b.d.s1Cfg.cd.ttbr & 0x0000_ffff_ffff_f000L;
        for (int level = 0; level < 2; level++) {
            long d = b.tb.board.mem.readq(table + 8 * ((iova >>> (39 - 9 * level)) & 511));
            table = d & 0x0000_ffff_ffff_f000L;
        }
        return table + 8 * ((iova >>> 21) & 511);
    }
}
