package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.TestBed.*;

import java.util.List;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.hw.Interconnect;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.smmuv3.hw.TestBed.PageTable;
import org.iommu4j.smmuv3.hw.TestBed.S1;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The walk cache and the TLBI commands' Leaf and TTL fields. The common scenario: a page is
 * read (the TLB and the walk cache fill), then its level-3 table is replaced by a new one that
 * maps the page elsewhere ({@link #NEW_PA}), and the old table's descriptor is rewritten too
 * ({@link #OLD_TABLE_PA}), so that a translation served by a walk through the old table is told
 * apart from a TLB hit ({@link #PA}) and from a walk of the new table.
 */
@ExtendWith(NoWarnings.class)
class SmmuWalkCacheTest {
    static final long VA = 0x1234_5000L;
    static final long PA = 0x4567_8000L;
    /** What the replacement table maps VA to. */
    static final long NEW_PA = PA + 0x1000;
    /** What the old (replaced) table maps VA to afterwards: a walk through the stale table. */
    static final long OLD_TABLE_PA = PA + 0x3000;

    /* ---------------- helpers: tables and commands (facts sheet (d)) ---------------- */

    /** The address of the descriptor at {@code level} that a walk of {@code va} through {@code pt} reads. */
    static long descAddr(TestBed tb, PageTable pt, long va, int level) {
        int stride = pt.g - 3;
        long table = pt.root;
        for (int l = pt.start; ; l++) {
            int bits = l == pt.start ? pt.startBits : stride;
            long a = table + 8 * ((va >>> (pt.g + stride * (3 - l))) & ((1L << bits) - 1));
            if (l == level) {
                return a;
            }
            table = tb.mem.readq(a) & 0x0000_ffff_ffff_f000L & -(1L << pt.g);
        }
    }

    /**
     * Points {@code va}'s level-2 descriptor at a new level-3 table mapping {@code va} to
     * {@code newPa}, and rewrites the old table's descriptor to {@code oldPa}.
     */
    static void replaceL3(TestBed tb, PageTable pt, long va, long attrs, long newPa, long oldPa) {
        long l2 = descAddr(tb, pt, va, 2);
        long oldLeaf = descAddr(tb, pt, va, 3);
        long fresh = tb.alloc(1L << pt.g, 1L << pt.g);
        tb.mem.writeq(fresh + 8 * ((va >>> pt.g) & ((1L << (pt.g - 3)) - 1)), newPa | attrs | PTE_PAGE);
        tb.mem.writeq(l2, fresh | 3);
        tb.mem.writeq(oldLeaf, oldPa | attrs | PTE_PAGE);
    }

    /** TLBI_NH_VA (VMID 0): Leaf, and the range fields TG, TTL, NUM, SCALE. */
    static void tlbiNhVa(TestBed tb, int asid, long va, boolean leaf, int tg, int ttl, int num, int scale) {
        tb.cmd(0x12 | ((long) asid << 48) | ((long) num << 12) | ((long) scale << 20),
                (va & ~0xfffL) | (leaf ? 1 : 0) | ((long) ttl << 8) | ((long) tg << 10));
        tb.sync();
    }

    static void tlbiNhVa(TestBed tb, int asid, long va, boolean leaf) {
        tlbiNhVa(tb, asid, va, leaf, 0, 0, 0, 0);
    }

    /** TLBI_S2_IPA for VMID {@code vmid}: one IPA, Leaf. */
    static void tlbiS2Ipa(TestBed tb, int vmid, long ipa, boolean leaf) {
        tb.cmd(0x2a | ((long) vmid << 32), (ipa & 0x00ff_ffff_ffff_f000L) | (leaf ? 1 : 0));
        tb.sync();
    }

    /** SID 1, ASID 9: VA mapped to PA, read once, then its level-3 table replaced. */
    static S1 readThenReplaced(TestBed tb) {
        S1 s1 = tb.setupS1Mapped(VA, PA);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
        replaceL3(tb, s1.pt(), VA, S1_RW, NEW_PA, OLD_TABLE_PA);
        assertThat(tb.read(1, VA).pa).as("a TLB hit").isEqualTo(PA);
        return s1;
    }

    /* ---------------- Leaf ---------------- */

    @Test
    void leafTlbiKeepsTheWalkEntryOfAReplacedTable() {
        TestBed tb = TestBed.full();
        readThenReplaced(tb);
        tlbiNhVa(tb, 9, VA, true);
        long walks = tb.smmu.walkCache().hits();
        assertThat(tb.read(1, VA).pa).as("TLB entry gone, the walk resumes in the old table").isEqualTo(OLD_TABLE_PA);
        assertThat(tb.smmu.walkCache().hits()).isEqualTo(walks + 1);
        tlbiNhVa(tb, 9, VA, false);
        assertThat(tb.read(1, VA).pa).as("Leaf = 0: the walk starts at the root again").isEqualTo(NEW_PA);
    }

    @Test
    void leafZeroRemovesOnlyWalkEntriesCoveringTheAddress() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1Mapped(VA, PA);
        long far = VA + (1L << 21); // another level-3 table, same level-2 table
        s1.pt().map(far, PA, S1_RW);
        tb.read(1, VA);
        tb.read(1, far);
        replaceL3(tb, s1.pt(), VA, S1_RW, NEW_PA, OLD_TABLE_PA);
        replaceL3(tb, s1.pt(), far, S1_RW, NEW_PA, OLD_TABLE_PA);
        tlbiNhVa(tb, 9, VA, true);
        tlbiNhVa(tb, 9, far, true);
        tlbiNhVa(tb, 9, VA, false); // the level-2 entry of VA; those above it cover far too
        assertThat(tb.read(1, VA).pa).isEqualTo(NEW_PA);
        assertThat(tb.read(1, far).pa).as("far's own level-2 entry stays").isEqualTo(OLD_TABLE_PA);
    }

    @Test
    void nhVaaWithLeafZeroRemovesTheWalkEntriesOfEveryAsid() {
        TestBed tb = TestBed.full();
        readThenReplaced(tb);
        tb.cmd(0x13, (VA & ~0xfffL) | 1); // TLBI_NH_VAA, Leaf = 1
        tb.sync();
        assertThat(tb.read(1, VA).pa).isEqualTo(OLD_TABLE_PA);
        tb.cmd(0x13, VA & ~0xfffL);
        tb.sync();
        assertThat(tb.read(1, VA).pa).isEqualTo(NEW_PA);
    }

    /* ---------------- scope: ASID, VMID, the ALL commands ---------------- */

    @Test
    void asidScoping() {
        TestBed tb = TestBed.full();
        S1 a = tb.setupS1(1, 9, 0, 0);
        S1 b = tb.setupS1(2, 10, 0, 0);
        a.pt().map(VA, PA, S1_RW);
        b.pt().map(VA, PA, S1_RW);
        tb.read(1, VA);
        tb.read(2, VA);
        replaceL3(tb, a.pt(), VA, S1_RW, NEW_PA, OLD_TABLE_PA);
        replaceL3(tb, b.pt(), VA, S1_RW, NEW_PA, OLD_TABLE_PA);
        tlbiNhVa(tb, 9, VA, true);
        tlbiNhVa(tb, 10, VA, true);
        tb.tlbiAsid(9);
        assertThat(tb.read(1, VA).pa).isEqualTo(NEW_PA);
        assertThat(tb.read(2, VA).pa).as("ASID 10's walk entries").isEqualTo(OLD_TABLE_PA);
        tlbiNhVa(tb, 9, VA, false); // ASID 9 only
        assertThat(tb.read(2, VA).pa).isEqualTo(OLD_TABLE_PA);
    }

    @Test
    void vmidScopingOfNhAll() {
        TestBed tb = TestBed.full();
        readThenReplaced(tb);
        tlbiNhVa(tb, 9, VA, true);
        tb.cmd(0x10 | (1L << 32), 0); // TLBI_NH_ALL, VMID 1
        tb.sync();
        assertThat(tb.read(1, VA).pa).isEqualTo(OLD_TABLE_PA);
        tb.cmd(0x10, 0); // VMID 0
        tb.sync();
        assertThat(tb.read(1, VA).pa).isEqualTo(NEW_PA);
    }

    /** The commands that empty every stage-1 NS-EL1 entry of VMID 0, and one that does not. */
    @ParameterizedTest
    @ValueSource(longs = {0x10, 0x28, 0x30, 0x20})
    void allScopedCommands(long op) {
        TestBed tb = TestBed.full();
        readThenReplaced(tb);
        tlbiNhVa(tb, 9, VA, true);
        tb.cmd(op, 0); // NH_ALL, S12_VMALL, NSNH_ALL (VMID 0), EL2_ALL
        tb.sync();
        assertThat(tb.read(1, VA).pa).isEqualTo(op == 0x20 ? OLD_TABLE_PA : NEW_PA);
    }

    @Test
    void el2CommandsReachEl2WalkEntriesOnly() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1El2Mapped(VA, PA);
        tb.read(1, VA);
        replaceL3(tb, s1.pt(), VA, S1_RW, NEW_PA, OLD_TABLE_PA);
        tb.cmd(0x22 | (9L << 48), (VA & ~0xfffL) | 1); // TLBI_EL2_VA, Leaf = 1
        tb.sync();
        tb.cmd(0x10, 0); // TLBI_NH_ALL: another regime
        tb.sync();
        assertThat(tb.read(1, VA).pa).isEqualTo(OLD_TABLE_PA);
        tb.cmd(0x20, 0); // TLBI_EL2_ALL
        tb.sync();
        assertThat(tb.read(1, VA).pa).isEqualTo(NEW_PA);
    }

    /* ---------------- stage 2 and nesting ---------------- */

    @Test
    void s2IpaLeafAndNonLeafOnStage2WalkEntries() {
        TestBed tb = TestBed.full();
        PageTable pt = tb.new PageTable(12, 40, 1);
        pt.map(VA, PA, S2_RW);
        tb.writeSte(6, steS2(9, pt.root, 24, 1, 0));
        assertThat(tb.read(6, VA).pa).isEqualTo(PA);
        replaceL3(tb, pt, VA, S2_RW, NEW_PA, OLD_TABLE_PA);
        tlbiS2Ipa(tb, 9, VA, true);
        assertThat(tb.read(6, VA).pa).isEqualTo(OLD_TABLE_PA);
        tlbiS2Ipa(tb, 8, VA, false); // another VMID
        assertThat(tb.read(6, VA).pa).isEqualTo(OLD_TABLE_PA);
        tlbiS2Ipa(tb, 9, VA, false);
        assertThat(tb.read(6, VA).pa).isEqualTo(NEW_PA);
    }

    /**
     * TLBI_S2_IPA reaches neither the combined (nested) TLB entries nor the stage-1 walk entries
     * whose table addresses came through stage 2: TLBI_S12_VMALL does.
     */
    @Test
    void s2IpaSparesNestedStage1Entries() {
        TestBed tb = TestBed.full();
        PageTable s1 = tb.setupNested(8, VA);
        assertThat(tb.read(8, VA).pa).isEqualTo(NESTED_PA);
        // the new stage-1 table maps VA to another IPA in the same stage-2 block
        replaceL3(tb, s1, VA, S1_RW, NESTED_IPA + 0x1000, NESTED_IPA + 0x3000);
        long l3 = descAddr(tb, s1, VA, 3) & -4096L;
        tlbiS2Ipa(tb, 4, l3, false); // the old table's IPA (identity-mapped at stage 2)
        tlbiS2Ipa(tb, 4, NESTED_IPA, false);
        assertThat(tb.read(8, VA).pa).as("the combined TLB entry").isEqualTo(NESTED_PA);
        tb.cmd(0x12 | (4L << 32) | (3L << 48), (VA & ~0xfffL) | 1); // TLBI_NH_VA VMID 4 ASID 3, Leaf
        tb.sync();
        assertThat(tb.read(8, VA).pa).as("the nested stage-1 walk entry").isEqualTo(NESTED_PA + 0x3000);
        tb.cmd(0x28 | (4L << 32), 0); // TLBI_S12_VMALL
        tb.sync();
        assertThat(tb.read(8, VA).pa).isEqualTo(NESTED_PA + 0x1000);
    }

    /* ---------------- range and TTL ---------------- */

    static final long BLOCK_VA = 0x4000_0000L, BLOCK_PA = 0x4800_0000L;

    /**
     * A 2 MiB block cached in the TLB (a level-2 leaf) and remapped: a range TLBI over its 512
     * pages with TTL = 3 names the wrong level and leaves it; TTL = 2 or no hint removes it.
     */
    @ParameterizedTest
    @ValueSource(ints = {0, 2})
    void blockLeftStaleByTtl3RemovedByTtl2OrNoHint(int ttl) {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        s1.pt().map(BLOCK_VA, BLOCK_PA, 2, S1_RW);
        assertThat(tb.read(1, BLOCK_VA + 0x1234).pa).isEqualTo(BLOCK_PA + 0x1234);
        s1.pt().map(BLOCK_VA, BLOCK_PA + (2L << 20), 2, S1_RW);
        // TG 4K, NUM 0, SCALE 9: (0 + 1) << 9 pages = 2 MiB
        tlbiNhVa(tb, 9, BLOCK_VA, true, 1, 3, 0, 9);
        assertThat(tb.read(1, BLOCK_VA + 0x1234).pa).as("TTL 3: the block stays").isEqualTo(BLOCK_PA + 0x1234);
        tlbiNhVa(tb, 9, BLOCK_VA, true, 1, ttl, 0, 9);
        assertThat(tb.read(1, BLOCK_VA + 0x1234).pa).isEqualTo(BLOCK_PA + (2L << 20) + 0x1234);
    }

    /** Without IDR3.RIL (or with TG = 0) the TTL field is no hint: the block goes. */
    @Test
    void ttlIsNoHintWithoutARangeGranule() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        s1.pt().map(BLOCK_VA, BLOCK_PA, 2, S1_RW);
        tb.read(1, BLOCK_VA);
        s1.pt().map(BLOCK_VA, BLOCK_PA + (2L << 20), 2, S1_RW);
        tlbiNhVa(tb, 9, BLOCK_VA, true, 0, 3, 0, 0);
        assertThat(tb.read(1, BLOCK_VA).pa).isEqualTo(BLOCK_PA + (2L << 20));
    }

    /**
     * Leaf = 0 with a TTL hint: walk entries above the level named go, those at or below it stay
     * (a level-2 table descriptor contradicts "the leaf is at level 2").
     */
    @Test
    void nonLeafTtlRemovesWalkEntriesAboveTheLevelNamed() {
        TestBed tb = TestBed.full();
        readThenReplaced(tb);
        tlbiNhVa(tb, 9, VA, true);
        long base = VA & -(2L << 20);
        tlbiNhVa(tb, 9, base, false, 1, 2, 0, 9);
        assertThat(tb.read(1, VA).pa).as("TTL 2: the level-2 walk entry stays").isEqualTo(OLD_TABLE_PA);
        tlbiNhVa(tb, 9, base, false, 1, 3, 0, 9);
        assertThat(tb.read(1, VA).pa).isEqualTo(NEW_PA);
    }

    @Test
    void rangeLeafZeroCoversEveryWalkEntryInTheRange() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1Mapped(VA, PA);
        long far = VA + (8L << 20);
        s1.pt().map(far, PA, S1_RW);
        tb.read(1, VA);
        tb.read(1, far);
        replaceL3(tb, s1.pt(), VA, S1_RW, NEW_PA, OLD_TABLE_PA);
        replaceL3(tb, s1.pt(), far, S1_RW, NEW_PA, OLD_TABLE_PA);
        // NUM 3, SCALE 9, from VA's 2 MiB: 4 x 2 MiB, just short of far's table
        long base = VA & -(2L << 20);
        tlbiNhVa(tb, 9, base, false, 1, 0, 3, 9);
        assertThat(tb.read(1, VA).pa).isEqualTo(NEW_PA);
        assertThat(tb.read(1, far).pa).as("TLB hit").isEqualTo(PA);
        tlbiNhVa(tb, 9, far, true);
        assertThat(tb.read(1, far).pa).as("outside the range").isEqualTo(OLD_TABLE_PA);
        tlbiNhVa(tb, 9, base, false, 1, 0, 4, 9); // 5 x 2 MiB
        assertThat(tb.read(1, far).pa).isEqualTo(NEW_PA);
    }

    /* ---------------- granules ---------------- */

    /** 16K (TG0 = 2) and 64K (TG0 = 1) tables: the same stale walk and its Leaf = 0 cure. */
    @ParameterizedTest
    @ValueSource(ints = {14, 16})
    void largerGranules(int g) {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1(1, 9, 0, 0);
        PageTable pt = tb.new PageTable(g, 48);
        tb.writeCd(s1.cdtab(), cd(9, pt.root, 16, g == 14 ? 2 : 1));
        long va = 0x7f_1234_0000L & -(1L << g);
        pt.map(va, PA & -(1L << g), S1_RW);
        assertThat(tb.read(1, va).pa).isEqualTo(PA & -(1L << g));
        long newPa = (PA & -(1L << g)) + (1L << g), oldPa = newPa + (4L << g);
        replaceL3(tb, pt, va, S1_RW, newPa, oldPa);
        tlbiNhVa(tb, 9, va, true);
        assertThat(tb.read(1, va).pa).isEqualTo(oldPa);
        assertThat(tb.smmu.walkCache().hits()).isEqualTo(1);
        tlbiNhVa(tb, 9, va, false);
        assertThat(tb.read(1, va).pa).isEqualTo(newPa);
    }

    /* ---------------- counters, the switch, SMMUEN, explain, trace ---------------- */

    @Test
    void countersCountOneLookupPerWalk() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1Mapped(VA, PA);
        s1.pt().map(VA + 0x1000, PA + 0x1000, S1_RW);
        tb.read(1, VA);
        assertThat(tb.smmu.walkCache().misses()).isEqualTo(1);
        assertThat(tb.smmu.walkCache().size()).as("levels 0, 1 and 2").isEqualTo(3);
        tb.read(1, VA + 0x1000);
        tb.read(1, VA + 0x1000); // a TLB hit: no walk
        assertThat(tb.smmu.walkCache().hits()).isEqualTo(1);
        assertThat(tb.smmu.walkCache().misses()).isEqualTo(1);
    }

    @Test
    void switchedOffEveryWalkStartsAtTheRoot() {
        TestBed tb = TestBed.full();
        tb.smmu.walkCache().setEnabled(false);
        readThenReplaced(tb);
        tlbiNhVa(tb, 9, VA, true);
        assertThat(tb.read(1, VA).pa).isEqualTo(NEW_PA);
        assertThat(tb.smmu.walkCache().size()).isZero();
        assertThat(tb.smmu.walkCache().misses()).isEqualTo(2);
        tb.smmu.walkCache().setEnabled(true);
        tb.smmu.tlb().invalidateAll();
        tb.read(1, VA);
        assertThat(tb.smmu.walkCache().size()).isEqualTo(3);
    }

    /** Clearing SMMUEN removes no cached entry (as for the TLB): software must invalidate. */
    @Test
    void walkEntriesSurviveSmmuenOffAndOn() {
        TestBed tb = TestBed.full();
        readThenReplaced(tb);
        int cr0 = tb.readl(CR0);
        tb.writel(CR0, cr0 & ~CR0_SMMUEN);
        tlbiNhVa(tb, 9, VA, true); // the command queue runs while SMMUEN is 0
        assertThat(tb.read(1, VA).pa).as("GBPA bypass").isEqualTo(VA);
        tb.writel(CR0, cr0);
        assertThat(tb.read(1, VA).pa).isEqualTo(OLD_TABLE_PA);
        tlbiNhVa(tb, 9, VA, false);
        assertThat(tb.read(1, VA).pa).isEqualTo(NEW_PA);
    }

    @Test
    void explainUsesNoCache() {
        TestBed tb = TestBed.full();
        readThenReplaced(tb);
        tlbiNhVa(tb, 9, VA, true);
        long hits = tb.smmu.walkCache().hits(), misses = tb.smmu.walkCache().misses();
        DmaTransaction t = new DmaTransaction();
        t.set(1, DmaTransaction.NO_SSID, VA, 4, DmaTransaction.ACC_READ);
        List<String> log = tb.smmu.explain(t);
        assertThat(String.join("\n", log)).contains(String.format("output 0x%x", NEW_PA));
        assertThat(tb.smmu.walkCache().hits()).isEqualTo(hits);
        assertThat(tb.smmu.walkCache().misses()).isEqualTo(misses);
        assertThat(tb.read(1, VA).pa).as("the translation itself does").isEqualTo(OLD_TABLE_PA);
    }

    @Test
    void traceEvents() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1Mapped(VA, PA);
        s1.pt().map(VA + 0x1000, PA + 0x1000, S1_RW);
        try (var cap = Trace.capture("smmuv3:smmu_ptw_walk_cache_hit", "smmuv3:smmu_ptw_walk_cache_miss",
                "smmuv3:smmu_ptw_walk_cache_inv")) {
            tb.read(1, VA);
            tb.read(1, VA + 0x1000);
            tlbiNhVa(tb, 9, VA, false);
            tlbiNhVa(tb, 9, VA, true);
            assertThat(cap.of("smmu_ptw_walk_cache_miss")).hasSize(1);
            assertThat(cap.of("smmu_ptw_walk_cache_hit")).hasSize(1);
            assertThat(cap.of("smmu_ptw_walk_cache_inv")).as("Leaf = 1 leaves the walk cache").hasSize(1);
            assertThat(cap.of("smmu_ptw_walk_cache_inv").get(0).message()).isEqualTo("VA removed=3");
        }
    }

    /* ---------------- BTM ---------------- */

    /** VALE1IS (last level) leaves the walk entries of a shared ASID; VAE1IS removes them. */
    @Test
    void btmLastLevelVersusNonLeafBroadcasts() {
        TestBed tb = TestBed.full();
        S1 s1 = tb.setupS1Mapped(VA, PA);
        long[] shared = cd(9, s1.pt().root, 16, 0);
        shared[0] &= ~(1L << 47); // ASET = 0: broadcast maintenance applies
        tb.writeCd(s1.cdtab(), shared);
        assertThat(tb.read(1, VA).pa).isEqualTo(PA);
        replaceL3(tb, s1.pt(), VA, S1_RW, NEW_PA, OLD_TABLE_PA);
        tb.writel(CR2, CR2_RECINVSID);
        tb.board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.VA, 9, 0, VA, true, 12, 1));
        assertThat(tb.read(1, VA).pa).as("VALE1IS").isEqualTo(OLD_TABLE_PA);
        tb.board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.VA, 9, 0, VA, false, 12, 1));
        assertThat(tb.read(1, VA).pa).as("VAE1IS").isEqualTo(NEW_PA);
    }

    /** A private ASID (ASET = 1) may ignore ASID-matching broadcasts, its walk entries included. */
    @Test
    void btmSparesAPrivateAsidsWalkEntries() {
        TestBed tb = TestBed.full();
        readThenReplaced(tb);
        tb.writel(CR2, CR2_RECINVSID);
        tb.board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.VA, 9, 0, VA, false, 12, 1));
        tb.board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.ASID, 9, 0, 0, false, 12, 1));
        tlbiNhVa(tb, 9, VA, true);
        assertThat(tb.read(1, VA).pa).isEqualTo(OLD_TABLE_PA);
        tb.board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.VAA, 0, 0, VA, false, 12, 1));
        assertThat(tb.read(1, VA).pa).as("VAAE1IS reaches every entry").isEqualTo(NEW_PA);
    }

    /** A translation fault is never cached: the walk entries above it may be. */
    @Test
    void aFaultingWalkStillUsesAndFillsTheWalkCache() {
        TestBed tb = TestBed.full();
        tb.setupS1Mapped(VA, PA);
        tb.read(1, VA);
        DmaResult r = tb.read(1, VA + 0x1000); // unmapped in the same level-3 table
        assertThat(r.status).isNotEqualTo(DmaResult.OK);
        tb.drainEvents();
        assertThat(tb.smmu.walkCache().hits()).isEqualTo(1);
    }
}
