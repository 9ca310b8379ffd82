package org.iommu4j.mm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_FIXED;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.MAP_SHARED;
import static org.iommu4j.mm.MmH.PROT_EXEC;
import static org.iommu4j.mm.MmH.PROT_NONE;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.iommu4j.base.Errno;
import org.iommu4j.base.Warn;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@ExtendWith(NoWarnings.class)
class PgtableTest {
    // Descriptor bits written out from the architecture, not from PgtableH.
    static final long PAGE = 0b11, SH_INNER = 3L << 8, AF = 1L << 10, NG = 1L << 11;
    static final long USER = 1L << 6, RDONLY = 1L << 7, DBM = 1L << 51, PXN = 1L << 53, UXN = 1L << 54;
    static final long SW_DIRTY = 1L << 55, SW_SPECIAL = 1L << 56, SW_PROT_NONE = 1L << 58;
    static final long BASE = PAGE | SH_INNER | AF | NG; // AttrIndx 0 = Normal WB

    /** One row: mapping type, prot, access that faults it in, expected attribute bits. */
    @ParameterizedTest(name = "{0} prot={1} {2}")
    @CsvSource({
        "private, 1, read,  READONLY_ZERO",
        "private, 3, read,  READONLY_ZERO",
        "private, 3, write, RW_DIRTY",
        "private, 5, read,  RX_ZERO",
        "private, 4, exec,  RX_ZERO",
        "private, 7, write, RWX_DIRTY",
        "private, 7, exec,  RX_ZERO",
        "shared,  1, read,  SHARED_RO",
        "shared,  3, read,  SHARED_RW_CLEAN",
        "shared,  3, write, SHARED_RW_DIRTY",
        "shared,  7, read,  SHARED_RWX_CLEAN",
    })
    void exactDescriptorBitsForEachPermission(String type, int prot, String access, String expect) {
        MmWorld w = MmTestSupport.world(MmWorld.Config.defaults().withHwAfDbm(false));
        Mm mm = w.mmAlloc();
        long va = Mmap.vmMmap(mm, 0, 4096, prot, (type.equals("shared") ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS);
        Cpu cpu = w.cpu(0);
        cpu.switchMm(mm);
        switch (access) {
            case "read" -> cpu.load(va, 4);
            case "write" -> cpu.store(va, 1, 4);
            default -> cpu.fetch(va);
        }
        long pte = MmFault.pteOf(mm, va);
        long expected = switch (expect) {
            case "READONLY_ZERO" -> BASE | USER | RDONLY | PXN | UXN | SW_SPECIAL;
            case "RW_DIRTY" -> BASE | USER | PXN | UXN | DBM | SW_DIRTY;
            case "RX_ZERO" -> BASE | USER | RDONLY | PXN | SW_SPECIAL;
            case "RWX_DIRTY" -> BASE | USER | PXN | DBM | SW_DIRTY;
            case "SHARED_RO" -> BASE | USER | RDONLY | PXN | UXN;
            case "SHARED_RW_CLEAN" -> BASE | USER | RDONLY | PXN | UXN | DBM;
            case "SHARED_RW_DIRTY" -> BASE | USER | PXN | UXN | DBM | SW_DIRTY;
            case "SHARED_RWX_CLEAN" -> BASE | USER | RDONLY | PXN | DBM;
            default -> throw new AssertionError(expect);
        };
        long outputAddress = pte & 0x0000_FFFF_FFFF_F000L;
        assertThat(pte & ~0x0000_FFFF_FFFF_F000L).as("attributes of %x", pte).isEqualTo(expected);
        if (expect.endsWith("ZERO")) {
            assertThat(outputAddress).isEqualTo(w.zeroPage());
        } else {
            assertThat(w.pages.isAllocated(outputAddress)).isTrue();
        }
        Vmsav8Walker.Result r = MmTestSupport.walker(w).walk(mm.pgd, va + 0x123);
        assertThat(r.ok()).isTrue();
        assertThat(r.level()).isEqualTo(3);
        assertThat(r.pa()).isEqualTo(outputAddress + 0x123);
        assertThat(r.ng()).isTrue();
        assertThat(r.af()).isTrue();
        assertThat(r.sh()).isEqualTo(3);
        assertThat(r.attrIndx()).isZero();
        assertThat(r.pxn()).isTrue();
        assertThat(r.contiguous()).isFalse();
        mm.mmput();
        cpu.switchToIdle();
    }

    @Test
    void protNoneKeepsTheAddressButIsInvalidToHardware() {
        MmWorld w = MmTestSupport.world();
        Mm mm = w.mmAlloc();
        long va = MmTestSupport.mmapAnon(mm, 4096, PROT_READ | PROT_WRITE);
        Cpu cpu = w.cpu(0);
        cpu.switchMm(mm);
        cpu.store(va, 7, 8);
        long before = MmFault.pteOf(mm, va);
        assertThat(Mmap.mprotect(mm, va, 4096, PROT_NONE)).isZero();
        long pte = MmFault.pteOf(mm, va);
        assertThat(pte & 1).isZero();
        assertThat(pte & SW_PROT_NONE).isNotZero();
        assertThat(pte & (RDONLY | PXN | UXN | NG)).isEqualTo(RDONLY | PXN | UXN | NG);
        assertThat(pte & USER).isZero();
        assertThat(pte & SW_DIRTY).as("dirtiness preserved").isNotZero();
        assertThat(pte & 0x0000_FFFF_FFFF_F000L).isEqualTo(before & 0x0000_FFFF_FFFF_F000L);
        assertThat(MmTestSupport.walker(w).walk(mm.pgd, va).fault()).isEqualTo(Vmsav8Walker.Fault.TRANSLATION);
        mm.mmput();
        cpu.switchToIdle();
    }

    /** Random mappings and accesses; the independent walker agrees with every page of every VMA. */
    @ParameterizedTest(name = "granule {0} VA {1}")
    @CsvSource({"12, 39", "12, 48", "14, 47", "14, 48", "16, 42", "16, 48"})
    void independentWalkerAgreesWithEveryMapping(int pageShift, int vaBits) {
        MmWorld w = MmTestSupport.world(MmWorld.Config.defaults().withPageShift(pageShift).withVaBits(vaBits));
        long baseline = w.pages.allocatedPages();
        Mm mm = w.mmAlloc();
        Cpu cpu = w.cpu(1);
        cpu.switchMm(mm);
        Random rnd = new Random(pageShift * 100 + vaBits);
        long page = w.pgtable.PAGE_SIZE;
        List<Long> vas = new ArrayList<>();
        java.util.Set<Long> written = new java.util.HashSet<>();
        for (int i = 0; i < 12; i++) {
            long len = page * (1 + rnd.nextInt(20));
            int prot = PROT_READ | (rnd.nextBoolean() ? PROT_WRITE : 0) | (rnd.nextInt(4) == 0 ? PROT_EXEC : 0);
            long hint = rnd.nextBoolean() ? 0 : (rnd.nextLong() & (w.pgtable.TASK_SIZE - 1) & -page);
            long va = Mmap.vmMmap(mm, hint, len, prot, (rnd.nextBoolean() ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS);
            assertThat(org.iommu4j.base.Errno.IS_ERR_VALUE(va)).isFalse();
            for (long a = va; a < va + len; a += page) {
                if (rnd.nextInt(3) == 0) {
                    continue;
                }
                if ((prot & PROT_WRITE) != 0 && rnd.nextBoolean()) {
                    cpu.str(a + 8, a);
                    written.add(a);
                } else {
                    cpu.ldr(a + 8);
                }
                vas.add(a);
            }
        }
        Vmsav8Walker walker = MmTestSupport.walker(w);
        int checked = 0;
        for (VmAreaStruct vma : mm.vmas()) {
            for (long a = vma.vmStart; a < vma.vmEnd; a += page) {
                long pte = MmFault.pteOf(mm, a);
                Vmsav8Walker.Result r = walker.walk(mm.ttbr0(), a + 5);
                if ((pte & 1) == 0) {
                    assertThat(r.fault()).isEqualTo(Vmsav8Walker.Fault.TRANSLATION);
                } else {
                    assertThat(r.ok()).isTrue();
                    assertThat(r.descriptor()).isEqualTo(pte);
                    assertThat(r.pa()).isEqualTo((pte & 0x0000_FFFF_FFFF_FFFFL & -page) + 5);
                    assertThat(r.ap() & 1).as("AP[1] EL0 access").isEqualTo(1);
                    checked++;
                }
            }
        }
        assertThat(checked).isEqualTo(vas.size());
        for (long a : written) {
            long pte = MmFault.pteOf(mm, a);
            assertThat(pte & SW_SPECIAL).isZero();
            {
                assertThat(w.mem.readq((pte & 0x0000_FFFF_FFFF_FFFFL & -page) + 8)).isEqualTo(a);
            }
        }
        mm.mmput();
        cpu.switchToIdle();
        assertThat(mm.freed()).isTrue();
        assertThat(w.pages.allocatedPages()).isEqualTo(baseline);
    }

    @Test
    void blockMappingsAtLevel1And2ThenPagesForTheTail() {
        MmWorld w = MmTestSupport.world();
        Pgtable pt = w.pgtable;
        long baseline = w.pages.allocatedPages();
        long pgd = pt.pgdAlloc();
        long prot = PgtableH.PAGE_KERNEL;
        // 1 GiB block: PA 0x40000000 is 1 GiB aligned.
        assertThat(pt.__createPgdMapping(pgd, 0x4000_0000L, 0x80_0000_0000L, 1L << 30, prot, 0)).isZero();
        // 2 MiB blocks plus a 12 KiB tail of pages.
        assertThat(pt.__createPgdMapping(pgd, 0x4020_0000L, 0x90_0020_0000L, (4L << 20) + 0x3000, prot, 0)).isZero();
        // Same range without blocks.
        assertThat(pt.__createPgdMapping(pgd, 0x4020_0000L, 0xA0_0020_0000L, 2L << 20, prot, Pgtable.NO_BLOCK_MAPPINGS)).isZero();
        Vmsav8Walker walker = MmTestSupport.walker(w);

        Vmsav8Walker.Result g = walker.walk(pgd, 0x80_1234_5678L);
        assertThat(g.ok()).isTrue();
        assertThat(g.level()).isEqualTo(1);
        assertThat(g.descriptor() & 3).isEqualTo(1);
        assertThat(g.pa()).isEqualTo(0x4000_0000L + 0x1234_5678L);
        assertThat(g.uxn()).isTrue();
        assertThat(g.ng()).isFalse();

        Vmsav8Walker.Result m = walker.walk(pgd, 0x90_0030_0010L);
        assertThat(m.level()).isEqualTo(2);
        assertThat(m.descriptor() & 3).isEqualTo(1);
        assertThat(m.pa()).isEqualTo(0x4030_0010L);
        Vmsav8Walker.Result m2 = walker.walk(pgd, 0x90_005F_FFF8L);
        assertThat(m2.level()).isEqualTo(2);
        assertThat(m2.pa()).isEqualTo(0x405F_FFF8L);
        Vmsav8Walker.Result t = walker.walk(pgd, 0x90_0060_2004L);
        assertThat(t.level()).isEqualTo(3);
        assertThat(t.pa()).isEqualTo(0x4060_2004L);
        assertThat(walker.walk(pgd, 0x90_0060_3000L).fault()).isEqualTo(Vmsav8Walker.Fault.TRANSLATION);
        Vmsav8Walker.Result p = walker.walk(pgd, 0xA0_0021_0008L);
        assertThat(p.level()).isEqualTo(3);
        assertThat(p.pa()).isEqualTo(0x4021_0008L);

        // Overlapping a block with a different mapping is refused.
        assertThat(pt.__createPgdMapping(pgd, 0x4100_0000L, 0x90_0020_0000L, 1L << 21, prot, 0)).isEqualTo(-Errno.EEXIST);
        assertThat(pt.__createPgdMapping(pgd, 0x4000_0000L, -4096L, 8192, prot, 0)).isEqualTo(-Errno.EINVAL);

        // Removing everything frees every intermediate table.
        assertThat(pt.__removePgdMapping(pgd, 0x80_0000_0000L, 1L << 30)).isZero();
        assertThat(pt.__removePgdMapping(pgd, 0x90_0020_0000L, (4L << 20) + 0x3000)).isZero();
        assertThat(pt.__removePgdMapping(pgd, 0xA0_0020_0000L, 2L << 20)).isZero();
        assertThat(pt.__removePgdMapping(pgd, 0xA0_0020_0001L, 4096)).isEqualTo(-Errno.EINVAL);
        assertThat(walker.walk(pgd, 0x80_1234_5678L).fault()).isEqualTo(Vmsav8Walker.Fault.TRANSLATION);
        assertThat(pt.tableEmpty(pgd, pt.startLevel)).isTrue();
        assertThat(w.pages.allocatedPages()).isEqualTo(baseline + 1);
        pt.pgdFree(pgd);
        assertThat(w.pages.allocatedPages()).isEqualTo(baseline);
    }

    /** Level-2 blocks of the 16K (32 MiB) and 64K (512 MiB) granules, seen by the walker. */
    @ParameterizedTest(name = "granule {0}")
    @CsvSource({"14, 47, 25", "16, 48, 29"})
    void blockMappingsWithLargerGranules(int pageShift, int vaBits, int blockShift) {
        MmWorld w = MmTestSupport.world(MmWorld.Config.defaults().withPageShift(pageShift).withVaBits(vaBits));
        Pgtable pt = w.pgtable;
        long baseline = w.pages.allocatedPages();
        assertThat(pt.levelShift(2)).isEqualTo(blockShift);
        long pgd = pt.pgdAlloc();
        long block = 1L << blockShift;
        long virt = 0x40_0000_0000L;
        assertThat(pt.__createPgdMapping(pgd, 0x4000_0000L, virt, block + pt.PAGE_SIZE, PgtableH.PAGE_KERNEL, 0)).isZero();
        Vmsav8Walker walker = MmTestSupport.walker(w);
        Vmsav8Walker.Result b = walker.walk(pgd, virt + block - 8);
        assertThat(b.ok()).isTrue();
        assertThat(b.level()).isEqualTo(2);
        assertThat(b.descriptor() & 3).isEqualTo(1);
        assertThat(b.pa()).isEqualTo(0x4000_0000L + block - 8);
        Vmsav8Walker.Result p = walker.walk(pgd, virt + block + 16);
        assertThat(p.level()).isEqualTo(3);
        assertThat(p.pa()).isEqualTo(0x4000_0000L + block + 16);
        assertThat(walker.walk(pgd, virt + block + pt.PAGE_SIZE).ok()).isFalse();
        assertThat(pt.__removePgdMapping(pgd, virt, block + pt.PAGE_SIZE)).isZero();
        pt.pgdFree(pgd);
        assertThat(w.pages.allocatedPages()).isEqualTo(baseline);
    }

    @Test
    void physAndVirtWithDifferentPageOffsetsAreEinvalWithAWarning() {
        MmWorld w = MmTestSupport.world();
        long pgd = w.pgtable.pgdAlloc();
        assertThat(w.pgtable.__createPgdMapping(pgd, 0x4000_0010L, 0xB0_0000_0000L, 4096, PgtableH.PAGE_KERNEL, 0))
                .isEqualTo(-Errno.EINVAL);
        assertThat(Warn.drain()).hasSize(1);
        assertThat(w.pgtable.tableEmpty(pgd, w.pgtable.startLevel)).isTrue();
    }

    @Test
    void munmapFreesTheIntermediateTablesItEmptied() {
        MmWorld w = MmTestSupport.world();
        Mm mm = w.mmAlloc();
        Cpu cpu = w.cpu(0);
        cpu.switchMm(mm);
        long afterPgd = w.pages.allocatedPages();
        long[] bases = {0x10_0000_0000L, 0x100_0000_0000L, 0x100_4000_0000L};
        for (long b : bases) {
            assertThat(Mmap.vmMmap(mm, b, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)).isEqualTo(b);
            for (int i = 0; i < 3; i++) {
                cpu.str(b + i * 4096L, i);
            }
        }
        // 9 data pages; tables: 2 L1 (two pgd slots), 3 L2 (third base is in another 1 GiB), 3 L3.
        assertThat(w.pages.allocatedPages() - afterPgd).isEqualTo(9 + 2 + 3 + 3);
        assertThat(Mmap.vmMunmap(mm, bases[2], 3 * 4096)).isZero();
        // Its 3 pages, its L3 and L2 go; the L1 is shared with bases[1].
        assertThat(w.pages.allocatedPages() - afterPgd).isEqualTo(6 + 2 + 2 + 2);
        assertThat(Mmap.vmMunmap(mm, bases[0] + 4096, 4096)).isZero();
        assertThat(w.pages.allocatedPages() - afterPgd).isEqualTo(5 + 2 + 2 + 2);
        assertThat(Mmap.vmMunmap(mm, bases[0], 3 * 4096)).isZero();
        assertThat(Mmap.vmMunmap(mm, bases[1], 3 * 4096)).isZero();
        assertThat(w.pages.allocatedPages()).isEqualTo(afterPgd);
        assertThat(w.pgtable.tableEmpty(mm.pgd, w.pgtable.startLevel)).isTrue();
        mm.mmput();
        cpu.switchToIdle();
    }

    /**
     * pte_modify (v5.15) takes from the new protection the permission bits, the BTI guarded
     * bit (50) and AttrIndx [4:2] (Normal and Normal-Tagged are different MAIR indices); the
     * output address, AF, SH, nG and the dirty state stay.
     */
    @Test
    void pteModifyTakesMemoryTypeAndGuardedBitFromTheNewProtection() {
        final long gp = 1L << 50;
        final long attrNormalNc = 2L << 2;
        final long attrTagged = 1L << 2;
        long pa = 0x4321_0000L;
        long old = pa | BASE | USER | DBM | attrNormalNc | gp; // writable, hardware-dirty
        long newprot = PAGE | SH_INNER | AF | NG | USER | RDONLY | PXN | UXN | attrTagged;
        long pte = Pgtable.pteModify(old, newprot);
        assertThat(pte & (7L << 2)).isEqualTo(attrTagged);
        assertThat(pte & gp).isZero();
        assertThat(pte & ~0xfffL & ((1L << 48) - 1)).isEqualTo(pa);
        assertThat(pte & (AF | SH_INNER | NG)).isEqualTo(AF | SH_INNER | NG);
        assertThat(pte & (RDONLY | SW_DIRTY | DBM)).isEqualTo(RDONLY | SW_DIRTY);
        assertThat(Pgtable.pteModify(pa | BASE | USER | RDONLY, newprot | gp) & gp).isEqualTo(gp);
    }
}
