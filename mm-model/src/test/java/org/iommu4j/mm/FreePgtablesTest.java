package org.iommu4j.mm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_FIXED;
import static org.iommu4j.mm.MmH.MAP_POPULATE;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * free_pgtables and its floor/ceiling: which table pages an munmap or exit frees, what stays
 * for the neighbours, and what the gather flushes.
 */
@ExtendWith(NoWarnings.class)
class FreePgtablesTest {
    private static final long PMD = 2L << 20; // 4K granule, 48 and 39 bits
    private static final long PUD = 1L << 30;
    private static final long PGDIR48 = 512L << 30;

    /** Records what tlb_finish_mmu (and the unmap's range end) passes to invalidate_range. */
    static final class RangeOps implements MmuNotifierOps {
        final List<long[]> ranges = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void invalidateRange(MmuNotifier s, Mm mm, long start, long end) {
            ranges.add(new long[] {start, end});
        }

        @Override
        public boolean hasInvalidateRange() {
            return true;
        }

        long[] last() {
            return ranges.get(ranges.size() - 1);
        }
    }

    private MmWorld w = MmTestSupport.world();
    private Mm mm = w.mmAlloc();

    private void use(MmWorld world) {
        w = world;
        mm = w.mmAlloc();
    }

    /** A MAP_FIXED, populated (every page written) private mapping. */
    private void mapAt(long addr, long len) {
        long r = Mmap.vmMmap(mm, addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE);
        assertThat(r).isEqualTo(addr);
        assertThat(MmFault.pteOf(mm, addr)).isNotZero();
    }

    /** The descriptor for {@code va} at lookup {@code level}, or -1 if no table leads there. */
    private long desc(long va, int level) {
        Pgtable pt = w.pgtable;
        long table = mm.pgd;
        for (int l = pt.startLevel; ; l++) {
            long d = w.mem.readq(table + 8L * pt.index(va, l));
            if (l == level) {
                return d;
            }
            if (!Pgtable.descIsTable(d)) {
                return -1;
            }
            table = pt.__pteToPhys(d);
        }
    }

    /** The table page at lookup {@code level} that maps {@code va}. */
    private long table(long va, int level) {
        if (level == w.pgtable.startLevel) {
            return mm.pgd;
        }
        long d = desc(va, level - 1);
        assertThat(Pgtable.descIsTable(d)).as("a table at level %d for %#x", level, va).isTrue();
        return w.pgtable.__pteToPhys(d);
    }

    private RangeOps notifier() {
        RangeOps ops = new RangeOps();
        assertThat(MmuNotifier.mmuNotifierRegister(new MmuNotifier(ops), mm)).isZero();
        return ops;
    }

    @Test
    void munmapKeepsThePteTableANeighbourInTheSamePmdSpanUses() {
        mapAt(0x400000, 0x1000);
        mapAt(0x402000, 0x2000);
        long pte = table(0x400000, 3);
        assertThat(table(0x402000, 3)).isEqualTo(pte);
        long keptPte = MmFault.pteOf(mm, 0x400000);
        long before = w.pages.allocatedPages();

        assertThat(Mmap.vmMunmap(mm, 0x402000, 0x2000)).isZero();

        assertThat(table(0x400000, 3)).as("the PTE table stays").isEqualTo(pte);
        assertThat(w.pages.isAllocated(pte)).isTrue();
        assertThat(MmFault.pteOf(mm, 0x400000)).as("the neighbour's PTE").isEqualTo(keptPte);
        assertThat(w.mem.readq(pte + 8L * w.pgtable.index(0x402000, 3))).isZero();
        assertThat(w.mem.readq(pte + 8L * w.pgtable.index(0x403000, 3))).isZero();
        assertThat(before - w.pages.allocatedPages()).as("the two data pages, no table").isEqualTo(2);
    }

    @Test
    void munmapOfAnIsolatedVmaFreesItsPteAndPmdAndPudTablesAndClearsThePgdEntry() {
        long far = 2 * PGDIR48; // another pgd entry: the ceiling of the unmapped VMA
        mapAt(0x400000, 0x1000);
        mapAt(far, 0x1000);
        long pud = table(0x400000, 1), pmd = table(0x400000, 2), pte = table(0x400000, 3);
        long farPte = MmFault.pteOf(mm, far);
        long before = w.pages.allocatedPages();

        assertThat(Mmap.vmMunmap(mm, 0x400000, 0x1000)).isZero();

        assertThat(desc(0x400000, 0)).as("pgd entry").isZero();
        assertThat(w.pages.isAllocated(pud)).isFalse();
        assertThat(w.pages.isAllocated(pmd)).isFalse();
        assertThat(w.pages.isAllocated(pte)).isFalse();
        assertThat(before - w.pages.allocatedPages()).as("three tables and the data page").isEqualTo(4);
        assertThat(MmFault.pteOf(mm, far)).as("the VMA above is untouched").isEqualTo(farPte);
    }

    @Test
    void aNeighbourAboveInTheSamePudSpanKeepsThePmdTableButNotThePteTable() {
        mapAt(0x400000, 0x1000);
        mapAt(0x2000_0000, 0x1000); // 512 MiB: same 1 GiB PUD span, another PMD span
        long pmd = table(0x400000, 2), pte = table(0x400000, 3);
        long before = w.pages.allocatedPages();

        assertThat(Mmap.vmMunmap(mm, 0x400000, 0x1000)).isZero();

        assertThat(desc(0x400000, 2)).as("PMD entry").isZero();
        assertThat(w.pages.isAllocated(pte)).isFalse();
        assertThat(table(0x400000, 2)).as("the PMD table stays").isEqualTo(pmd);
        assertThat(w.pages.isAllocated(pmd)).isTrue();
        assertThat(MmFault.pteOf(mm, 0x2000_0000)).isNotZero();
        assertThat(before - w.pages.allocatedPages()).as("the PTE table and the data page").isEqualTo(2);
    }

    @Test
    void aNeighbourBelowInTheSamePudSpanKeepsThePmdTableButNotThePteTable() {
        mapAt(0x400000, 0x1000);
        mapAt(0x2000_0000, 0x1000);
        long pmd = table(0x2000_0000, 2), pte = table(0x2000_0000, 3);

        assertThat(Mmap.vmMunmap(mm, 0x2000_0000, 0x1000)).isZero();

        assertThat(w.pages.isAllocated(pte)).isFalse();
        assertThat(desc(0x2000_0000, 2)).isZero();
        assertThat(table(0x400000, 2)).isEqualTo(pmd);
        assertThat(w.pages.isAllocated(pmd)).isTrue();
        assertThat(MmFault.pteOf(mm, 0x400000)).isNotZero();
    }

    @Test
    void theFlushRangeGrowsByOnePagePerFreedTableNotByTheFloorToCeilingSpan() {
        long pgdSpan = PGDIR48, base = pgdSpan + PUD + 3 * PMD; // pgd 1, pud 1, pmd 3
        mapAt(base, 0x2000);
        RangeOps ops = notifier();

        MmFault.MmuGather tlb = MmFault.tlbGatherMmu(mm, false);
        VmAreaStruct vma = Mmap.findVma(mm, base);
        MmFault.unmapVmas(tlb, List.of(vma), base, base + 0x2000);
        assertThat(tlb.start).isEqualTo(base);
        assertThat(tlb.end).isEqualTo(base + 0x2000);
        assertThat(tlb.freedTables).isFalse();
        // Alone in the address space: floor 0 and ceiling 0 (the top).
        MmFault.freePgtables(tlb, List.of(vma), 0, 0);
        assertThat(tlb.freedTables).isTrue();
        assertThat(tlb.tables.size()).isEqualTo(3);
        // PTE table at base, PMD table at base & PUD_MASK, PUD table at base & PGDIR_MASK: one
        // page each, so the range runs from the PUD table's address to the zapped end.
        assertThat(tlb.start).isEqualTo(pgdSpan);
        assertThat(tlb.end).isEqualTo(base + 0x2000);
        MmFault.tlbFinishMmu(tlb);
        assertThat(ops.last()).containsExactly(pgdSpan, base + 0x2000);
    }

    @Test
    void munmapFlushesOnlyTheZappedPagesWhenNoTableIsFreed() {
        mapAt(0x400000, 0x1000);
        mapAt(0x5ff000, 0x1000);
        mapAt(0x480000, 0x3000);
        RangeOps ops = notifier();
        MmFault.MmuGather tlb = MmFault.tlbGatherMmu(mm, false);
        VmAreaStruct vma = Mmap.findVma(mm, 0x480000);
        MmFault.unmapVmas(tlb, List.of(vma), 0x480000, 0x483000);
        MmFault.freePgtables(tlb, List.of(vma), 0x401000, 0x5ff000);
        assertThat(tlb.freedTables).isFalse();
        assertThat(tlb.tables.isEmpty()).isTrue();
        MmFault.tlbFinishMmu(tlb);
        assertThat(ops.last()).containsExactly(0x480000L, 0x483000L);

        // Through munmap(2): the neighbours keep the table, the range is the zapped pages.
        assertThat(Mmap.vmMunmap(mm, 0x5ff000, 0x1000)).isZero();
        assertThat(ops.last()).containsExactly(0x5ff000L, 0x600000L);
        assertThat(MmFault.pteOf(mm, 0x400000)).isNotZero();
    }

    /** Every table page below the pgd (not the pgd itself). */
    private List<Long> allTables() {
        List<Long> out = new ArrayList<>();
        collect(mm.pgd, w.pgtable.startLevel, out);
        return out;
    }

    private void collect(long table, int level, List<Long> out) {
        if (level == 3) {
            return;
        }
        for (int i = 0; i < w.pgtable.ptrsPerTable(level); i++) {
            long d = w.mem.readq(table + 8L * i);
            if (Pgtable.descIsTable(d)) {
                long child = w.pgtable.__pteToPhys(d);
                out.add(child);
                collect(child, level + 1, out);
            }
        }
    }

    @Test
    void exitMmapFreesEveryTable() {
        long baseline = w.pages.allocatedPages(); // the pgd is counted
        mapAt(0x400000, 0x1000);
        mapAt(0x401000, 0x1000); // adjacent: another VMA (no merging here)
        mapAt(0x2000_0000, 0x3000);
        mapAt(PUD + PMD, 0x1000);
        mapAt(3 * PGDIR48 + 5 * PMD, 0x1000);
        List<Long> tables = allTables();
        assertThat(tables).hasSize(3 + 1 + 2 + 3); // pud+pmd+pte, pte, pmd+pte, pud+pmd+pte

        mm.mmput(); // exit_mmap, then __mmdrop frees the pgd

        for (long t : tables) {
            assertThat(w.pages.isAllocated(t)).as("table %#x", t).isFalse();
        }
        assertThat(w.pages.allocatedPages()).isEqualTo(baseline - 1); // and the pgd with the last mmdrop
    }

    @Test
    void nearbyVmasUnmappedTogetherFreeWhatSeparateMunmapsFree() {
        long[] starts = {0x400000, 0x600000, 0x800000}; // each within PMD_SIZE of the previous end
        mapAt(0x100_0000_0000L, 0x1000); // far above: a ceiling in another pgd entry's span
        for (long s : starts) {
            mapAt(s, 0x1000);
        }
        List<Long> ptes = List.of(table(0x400000, 3), table(0x600000, 3), table(0x800000, 3));
        long pmd = table(0x400000, 2), pud = table(0x400000, 1);
        long before = w.pages.allocatedPages();

        // One munmap over the three (and the gaps): free_pgtables gathers them into one
        // free_pgd_range, which walks the middle PMD span too.
        assertThat(Mmap.vmMunmap(mm, 0x400000, 0x801000 - 0x400000)).isZero();
        long together = before - w.pages.allocatedPages();
        for (long t : ptes) {
            assertThat(w.pages.isAllocated(t)).isFalse();
        }
        assertThat(w.pages.isAllocated(pmd)).isFalse();
        assertThat(w.pages.isAllocated(pud)).isFalse();
        assertThat(desc(0x400000, 0)).isZero();
        assertThat(together).isEqualTo(3 + 5); // data pages, three PTE tables, PMD and PUD tables

        // The same mappings unmapped one by one, in another mm of the same world.
        use(w);
        mapAt(0x100_0000_0000L, 0x1000);
        for (long s : starts) {
            mapAt(s, 0x1000);
        }
        long before2 = w.pages.allocatedPages();
        for (long s : new long[] {0x600000, 0x400000, 0x800000}) {
            assertThat(Mmap.vmMunmap(mm, s, 0x1000)).isZero();
        }
        assertThat(before2 - w.pages.allocatedPages()).isEqualTo(together);
        assertThat(desc(0x400000, 0)).isZero();
        assertThat(MmFault.pteOf(mm, 0x100_0000_0000L)).isNotZero();
    }

    @Test
    void threeLevelTablesFreeThePmdTableAndClearThePgdEntryButNeverThePgd() {
        use(MmTestSupport.world(MmWorld.Config.defaults().withVaBits(39)));
        assertThat(w.pgtable.startLevel).isEqualTo(1); // the PUD is folded into the pgd
        mapAt(0x400000, 0x1000);
        mapAt(0x2000_0000, 0x1000); // same 1 GiB pgd entry, another PMD span
        mapAt(4 * PUD, 0x1000); // another pgd entry
        long pmd = table(0x400000, 2), pte = table(0x400000, 3), pte2 = table(0x2000_0000, 3);

        assertThat(Mmap.vmMunmap(mm, 0x400000, 0x1000)).isZero();
        assertThat(w.pages.isAllocated(pte)).isFalse();
        assertThat(table(0x400000, 2)).as("the neighbour keeps the PMD table").isEqualTo(pmd);

        long before = w.pages.allocatedPages();
        assertThat(Mmap.vmMunmap(mm, 0x2000_0000, 0x1000)).isZero();
        assertThat(w.pages.isAllocated(pte2)).isFalse();
        assertThat(w.pages.isAllocated(pmd)).isFalse();
        assertThat(desc(0x400000, 1)).as("pgd entry").isZero();
        assertThat(w.pages.isAllocated(mm.pgd)).isTrue();
        assertThat(before - w.pages.allocatedPages()).as("PTE and PMD tables and the data page").isEqualTo(3);
        assertThat(MmFault.pteOf(mm, 4 * PUD)).isNotZero();
    }

    @Test
    void twoLevelTablesFreeThePteTableAndClearThePgdEntry() {
        // 64K granule, 42 bits: the pgd holds the PMD entries (512 MiB each).
        use(MmTestSupport.world(MmWorld.Config.defaults().withPageShift(16).withVaBits(42)));
        assertThat(w.pgtable.startLevel).isEqualTo(2);
        long pmdSize = w.pgtable.PMD_SIZE();
        assertThat(pmdSize).isEqualTo(512L << 20);
        mapAt(pmdSize, 0x10000);
        mapAt(pmdSize + 0x100000, 0x10000); // same PTE table
        mapAt(3 * pmdSize, 0x10000);
        long pte = table(pmdSize, 3);

        assertThat(Mmap.vmMunmap(mm, pmdSize + 0x100000, 0x10000)).isZero();
        assertThat(table(pmdSize, 3)).isEqualTo(pte);

        assertThat(Mmap.vmMunmap(mm, pmdSize, 0x10000)).isZero();
        assertThat(w.pages.isAllocated(pte)).isFalse();
        assertThat(desc(pmdSize, 2)).as("pgd entry").isZero();
        assertThat(MmFault.pteOf(mm, 3 * pmdSize)).isNotZero();
    }
}
