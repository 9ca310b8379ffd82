package org.iommu4j.mm;

import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Gfp.GFP_KERNEL_ACCOUNT;
import static org.iommu4j.base.Gfp.__GFP_ZERO;
import static org.iommu4j.mm.PgtableH.PMD_TABLE_BIT;
import static org.iommu4j.mm.PgtableH.PMD_TYPE_MASK;
import static org.iommu4j.mm.PgtableH.PMD_TYPE_SECT;
import static org.iommu4j.mm.PgtableH.PMD_TYPE_TABLE;
import static org.iommu4j.mm.PgtableH.PTE_ADDR_MASK;
import static org.iommu4j.mm.PgtableH.PTE_AF;
import static org.iommu4j.mm.PgtableH.PTE_ATTRINDX_MASK;
import static org.iommu4j.mm.PgtableH.PTE_DIRTY;
import static org.iommu4j.mm.PgtableH.PTE_GP;
import static org.iommu4j.mm.PgtableH.PTE_PROT_NONE;
import static org.iommu4j.mm.PgtableH.PTE_PXN;
import static org.iommu4j.mm.PgtableH.PTE_RDONLY;
import static org.iommu4j.mm.PgtableH.PTE_USER;
import static org.iommu4j.mm.PgtableH.PTE_UXN;
import static org.iommu4j.mm.PgtableH.PTE_VALID;
import static org.iommu4j.mm.PgtableH.PTE_WRITE;

import org.eclipse.collections.api.list.primitive.MutableLongList;
import org.iommu4j.base.Port;
import org.iommu4j.base.Warn;
import org.iommu4j.base.hw.PhysMem;

/**
 * arm64 stage-1 page tables in simulated physical memory (arch/arm64/include/asm/pgtable.h,
 * pgalloc.h and the table code of arch/arm64/mm/mmu.c), for one translation granule and VA size.
 *
 * <p>The kernel fixes the geometry at build time (CONFIG_ARM64_PAGE_SHIFT, CONFIG_ARM64_VA_BITS,
 * CONFIG_PGTABLE_LEVELS); here it is per instance so a test can build 39- and 48-bit, 4K/16K/64K
 * worlds side by side. Levels are numbered as the architecture numbers lookup levels: the leaf
 * (pte) level is 3, the pgd is level {@code 4 - CONFIG_PGTABLE_LEVELS} (1 for 4K/39-bit,
 * 0 for 4K/48-bit). pgd/pud/pmd/pte in kernel names map to levels 0/1/2/3 of a 4-level table.
 *
 * <p>Ordering: a table page is zeroed before the descriptor that publishes it is written with
 * release semantics (the kernel's smp_wmb() in __pte_alloc paired with the walker's address
 * dependency); leaf descriptors are written with release semantics as well ({@code set_pte}'s
 * WRITE_ONCE followed by dsb(ishst)), and cleared atomically ({@code ptep_get_and_clear} is an
 * xchg because the hardware may be setting AF or clearing AP[2] concurrently).
 *
 * <p>Table pages come from {@link PageAlloc} (order PAGE_SHIFT - 12); the kernel's linear map is
 * the identity, so a table's virtual address is its physical address.
 */
@Port("arch/arm64/include/asm/pgtable.h:pte_t")
public final class Pgtable {
    /** GFP_PGTABLE_USER (asm-generic/pgalloc.h). */
    public static final int GFP_PGTABLE_USER = GFP_KERNEL_ACCOUNT | __GFP_ZERO;
    /** __create_pgd_mapping flags (arch/arm64/mm/mmu.c). */
    public static final int NO_BLOCK_MAPPINGS = 1 << 0;
    public static final int NO_CONT_MAPPINGS = 1 << 1;

    public final int PAGE_SHIFT;
    public final long PAGE_SIZE;
    /** ~(PAGE_SIZE - 1). */
    public final long PAGE_MASK;
    public final int VA_BITS;
    public final int CONFIG_PGTABLE_LEVELS;
    /** Lookup level of the pgd. */
    public final int startLevel;
    /** User address space size: 1 << VA_BITS. */
    public final long TASK_SIZE;
    /** PTRS_PER_PTE and friends (the pgd may hold fewer). */
    public final int PTRS_PER_PTE;
    /** Page order of a page (and of a table) in 4 KiB PageAlloc frames. */
    public final int pageOrder;
    private final int bitsPerLevel;
    private final long addrMask;
    private final PhysMem mem;
    private final PageAlloc pages;

    public Pgtable(PhysMem mem, PageAlloc pages, int pageShift, int vaBits) {
        if (pageShift != 12 && pageShift != 14 && pageShift != 16) {
            throw new IllegalArgumentException("granule must be 4K, 16K or 64K");
        }
        if (vaBits < 25 || vaBits > 48) {
            throw new IllegalArgumentException("VA_BITS must be 25..48");
        }
        this.mem = mem;
        this.pages = pages;
        this.PAGE_SHIFT = pageShift;
        this.PAGE_SIZE = 1L << pageShift;
        this.PAGE_MASK = ~(PAGE_SIZE - 1);
        this.VA_BITS = vaBits;
        this.bitsPerLevel = pageShift - 3;
        this.CONFIG_PGTABLE_LEVELS = (vaBits - pageShift + bitsPerLevel - 1) / bitsPerLevel;
        this.startLevel = 4 - CONFIG_PGTABLE_LEVELS;
        this.TASK_SIZE = 1L << vaBits;
        this.PTRS_PER_PTE = 1 << bitsPerLevel;
        this.pageOrder = pageShift - 12;
        this.addrMask = PTE_ADDR_MASK & PAGE_MASK;
    }

    public PhysMem mem() {
        return mem;
    }

    public PageAlloc pages() {
        return pages;
    }

    /* ---------------- geometry ---------------- */

    /** log2 of the VA span one descriptor at {@code level} maps (PGDIR_SHIFT, PMD_SHIFT...). */
    public int levelShift(int level) {
        return PAGE_SHIFT + (3 - level) * bitsPerLevel;
    }

    /** Entries in a table at {@code level}: PTRS_PER_PGD for the start level. */
    public int ptrsPerTable(int level) {
        return level == startLevel ? 1 << (VA_BITS - levelShift(level)) : PTRS_PER_PTE;
    }

    public int index(long va, int level) {
        return (int) ((va >>> levelShift(level)) & (ptrsPerTable(level) - 1));
    }

    /** Whether a block descriptor is architecturally allowed at {@code level} (48-bit OA). */
    public boolean blockAllowed(int level) {
        return level == 2 || (level == 1 && PAGE_SHIFT == 12);
    }

    /** PMD_SIZE: the block size at level 2. */
    public long PMD_SIZE() {
        return 1L << levelShift(2);
    }

    /** Output address of a descriptor (__pte_to_phys / __pmd_to_phys / __pud_to_phys). */
    @Port("arch/arm64/include/asm/pgtable.h:__pte_to_phys")
    public long __pteToPhys(long pte) {
        return pte & addrMask;
    }

    /** A leaf descriptor for page {@code pa} with attributes {@code prot} ({@code mk_pte}). */
    @Port("arch/arm64/include/asm/pgtable.h:mk_pte")
    public long mkPte(long pa, long prot) {
        return (pa & addrMask) | prot;
    }

    /* ---------------- pte bit helpers (asm/pgtable.h) ---------------- */

    @Port("arch/arm64/include/asm/pgtable.h:pte_valid")
    public static boolean pteValid(long pte) {
        return (pte & PTE_VALID) != 0;
    }

    @Port("arch/arm64/include/asm/pgtable.h:pte_present")
    public static boolean ptePresent(long pte) {
        return (pte & (PTE_VALID | PTE_PROT_NONE)) != 0;
    }

    @Port("arch/arm64/include/asm/pgtable.h:pte_none")
    public static boolean pteNone(long pte) {
        return pte == 0;
    }

    @Port("arch/arm64/include/asm/pgtable.h:pte_young")
    public static boolean pteYoung(long pte) {
        return (pte & PTE_AF) != 0;
    }

    @Port("arch/arm64/include/asm/pgtable.h:pte_write")
    public static boolean pteWrite(long pte) {
        return (pte & PTE_WRITE) != 0;
    }

    @Port("arch/arm64/include/asm/pgtable.h:pte_user")
    public static boolean pteUser(long pte) {
        return (pte & PTE_USER) != 0;
    }

    @Port("arch/arm64/include/asm/pgtable.h:pte_user_exec")
    public static boolean pteUserExec(long pte) {
        return (pte & PTE_UXN) == 0;
    }

    /** Hardware-dirty: writable (DBM) and AP[2] cleared by a write. */
    @Port("arch/arm64/include/asm/pgtable.h:pte_hw_dirty")
    public static boolean pteHwDirty(long pte) {
        return pteWrite(pte) && (pte & PTE_RDONLY) == 0;
    }

    @Port("arch/arm64/include/asm/pgtable.h:pte_sw_dirty")
    public static boolean pteSwDirty(long pte) {
        return (pte & PTE_DIRTY) != 0;
    }

    @Port("arch/arm64/include/asm/pgtable.h:pte_dirty")
    public static boolean pteDirty(long pte) {
        return pteSwDirty(pte) || pteHwDirty(pte);
    }

    @Port("arch/arm64/include/asm/pgtable.h:pte_mkyoung")
    public static long pteMkyoung(long pte) {
        return pte | PTE_AF;
    }

    @Port("arch/arm64/include/asm/pgtable.h:pte_mkold")
    public static long pteMkold(long pte) {
        return pte & ~PTE_AF;
    }

    @Port("arch/arm64/include/asm/pgtable.h:pte_mkwrite")
    public static long pteMkwrite(long pte) {
        return (pte | PTE_WRITE) & ~PTE_RDONLY;
    }

    @Port("arch/arm64/include/asm/pgtable.h:pte_mkdirty")
    public static long pteMkdirty(long pte) {
        pte |= PTE_DIRTY;
        if (pteWrite(pte)) {
            pte &= ~PTE_RDONLY;
        }
        return pte;
    }

    @Port("arch/arm64/include/asm/pgtable.h:pte_mkclean")
    public static long pteMkclean(long pte) {
        return (pte & ~PTE_DIRTY) | PTE_RDONLY;
    }

    /** Read-only, keeping a hardware-dirty state as the software dirty bit. */
    @Port("arch/arm64/include/asm/pgtable.h:pte_wrprotect")
    public static long pteWrprotect(long pte) {
        if (pteHwDirty(pte)) {
            pte = pteMkdirty(pte);
        }
        return (pte & ~PTE_WRITE) | PTE_RDONLY;
    }

    /**
     * Replaces the permission bits, the guarded-page bit and the memory type (AttrIndx: Normal
     * and Normal-Tagged are two MAIR indices, so a protection change may switch between them),
     * preserving address, AF, shareability and dirtiness.
     */
    @Port("arch/arm64/include/asm/pgtable.h:pte_modify")
    public static long pteModify(long pte, long newprot) {
        final long mask = PTE_USER | PTE_PXN | PTE_UXN | PTE_RDONLY | PTE_PROT_NONE | PTE_VALID | PTE_WRITE
                | PTE_GP | PTE_ATTRINDX_MASK;
        if (pteHwDirty(pte)) {
            pte = pteMkdirty(pte);
        }
        return (pte & ~mask) | (newprot & mask);
    }

    /** A block descriptor's attributes from a page protection ({@code mk_pmd_sect_prot}). */
    @Port("arch/arm64/include/asm/pgtable.h:mk_pmd_sect_prot")
    public static long mkPmdSectProt(long prot) {
        return (prot & ~PMD_TABLE_BIT) | PMD_TYPE_SECT;
    }

    /** True for a table descriptor at a non-leaf level. */
    public static boolean descIsTable(long desc) {
        return (desc & PMD_TYPE_MASK) == PMD_TYPE_TABLE;
    }

    /** True for a block descriptor at a non-leaf level ({@code pmd_sect}). */
    @Port("arch/arm64/include/asm/pgtable.h:pmd_sect")
    public static boolean pmdSect(long desc) {
        return (desc & PMD_TYPE_MASK) == PMD_TYPE_SECT;
    }

    /* ---------------- accessors with the kernel's ordering ---------------- */

    /** {@code READ_ONCE(*ptep)} ({@code ptep_get}). */
    @Port("include/linux/pgtable.h:ptep_get")
    public long ptepGet(long ptep) {
        return mem.readqVolatile(ptep);
    }

    /** {@code set_pte}: single-copy-atomic store, ordered after earlier stores (release). */
    @Port("arch/arm64/include/asm/pgtable.h:set_pte")
    public void setPte(long ptep, long pte) {
        mem.writeqRelease(ptep, pte);
    }

    /** {@code pte_clear}. */
    @Port("arch/arm64/include/asm/pgtable.h:pte_clear")
    public void pteClear(long ptep) {
        mem.writeqRelease(ptep, 0);
    }

    /** Atomically clears the entry and returns the old one (xchg against hardware AF/DBM updates). */
    @Port("arch/arm64/include/asm/pgtable.h:ptep_get_and_clear")
    public long ptepGetAndClear(long ptep) {
        long old = mem.readqVolatile(ptep);
        for (;;) {
            long w = mem.cmpxchgq(ptep, old, 0);
            if (w == old) {
                return old;
            }
            old = w;
        }
    }

    /** Atomically write-protects a PTE, folding a hardware-dirty state into PTE_DIRTY. */
    @Port("arch/arm64/include/asm/pgtable.h:ptep_set_wrprotect")
    public void ptepSetWrprotect(long ptep) {
        long pte = mem.readqVolatile(ptep);
        for (;;) {
            long w = mem.cmpxchgq(ptep, pte, pteWrprotect(pte));
            if (w == pte) {
                return;
            }
            pte = w;
        }
    }

    /** Atomically applies {@code pte_modify(old, newprot)}; returns the old value. */
    public long ptepModifyProt(long ptep, long newprot) {
        long pte = mem.readqVolatile(ptep);
        for (;;) {
            long w = mem.cmpxchgq(ptep, pte, pteModify(pte, newprot));
            if (w == pte) {
                return pte;
            }
            pte = w;
        }
    }

    /** Clears AF; returns whether it was set ({@code ptep_test_and_clear_young}). */
    @Port("arch/arm64/include/asm/pgtable.h:ptep_test_and_clear_young")
    public boolean ptepTestAndClearYoung(long ptep) {
        long pte = mem.readqVolatile(ptep);
        for (;;) {
            long w = mem.cmpxchgq(ptep, pte, pteMkold(pte));
            if (w == pte) {
                return pteYoung(pte);
            }
            pte = w;
        }
    }

    /* ---------------- table allocation ---------------- */

    /** A zeroed top-level table; 0 on allocation failure. */
    @Port("arch/arm64/mm/pgd.c:pgd_alloc")
    public long pgdAlloc() {
        return pages.allocPages(GFP_PGTABLE_USER, pageOrder);
    }

    @Port("arch/arm64/mm/pgd.c:pgd_free")
    public void pgdFree(long pgd) {
        pages.__freePages(pgd, pageOrder);
    }

    /** Publishes {@code table} in the descriptor at {@code entryPa} (pmd_populate and friends). */
    @Port("arch/arm64/include/asm/pgalloc.h:__pmd_populate")
    private void populate(long entryPa, long table) {
        // The zeroing stores of the new table happen-before this release store (smp_wmb()).
        mem.writeqRelease(entryPa, (table & addrMask) | PMD_TYPE_TABLE);
    }

    /**
     * The descriptor slot for {@code va} at {@code targetLevel}, allocating missing tables on
     * the way down (__pud_alloc, __pmd_alloc, __pte_alloc). Returns 0 on allocation failure and
     * -1 if a block mapping covers {@code va} above {@code targetLevel}.
     */
    @Port("mm/memory.c:__pte_alloc")
    public long tableAllocWalk(long pgd, long va, int targetLevel) {
        long table = pgd;
        for (int level = startLevel; ; level++) {
            long entryPa = table + 8L * index(va, level);
            if (level == targetLevel) {
                return entryPa;
            }
            long desc = mem.readqAcquire(entryPa);
            if (desc == 0) {
                long next = pages.allocPages(GFP_PGTABLE_USER, pageOrder);
                if (next == 0) {
                    return 0;
                }
                // Someone else may have populated it meanwhile (the kernel re-checks under the
                // page-table lock); keep theirs.
                if (mem.cmpxchgq(entryPa, 0, (next & addrMask) | PMD_TYPE_TABLE) != 0) {
                    pages.__freePages(next, pageOrder);
                    desc = mem.readqAcquire(entryPa);
                } else {
                    desc = (next & addrMask) | PMD_TYPE_TABLE;
                }
            }
            if (!descIsTable(desc)) {
                return -1;
            }
            table = desc & addrMask;
        }
    }

    /** The level-3 PTE slot for {@code va}, allocating tables; 0 on failure (-1 if a block is in the way). */
    @Port("include/linux/mm.h:pte_alloc_map")
    public long pteAllocMap(long pgd, long va) {
        return tableAllocWalk(pgd, va, 3);
    }

    /**
     * The lowest descriptor reached for {@code va} without allocating, as
     * {@code descriptorAddress | level} (descriptor addresses are 8-byte aligned, so the level
     * fits the low 3 bits). The descriptor may be invalid (the walk stopped there). The caller
     * passes a TTBR0 address (below TASK_SIZE); higher bits are ignored.
     */
    public long walkEntry(long pgd, long va) {
        long table = pgd;
        for (int level = startLevel; ; level++) {
            long entryPa = table + 8L * index(va, level);
            if (level == 3) {
                return entryPa | 3;
            }
            long desc = mem.readqAcquire(entryPa);
            if (!descIsTable(desc)) {
                return entryPa | level;
            }
            table = desc & addrMask;
        }
    }

    /** The level-3 PTE slot for {@code va} if its tables exist, else 0 ({@code follow_pte}). */
    @Port("mm/memory.c:follow_pte")
    public long followPte(long pgd, long va) {
        if ((va >>> VA_BITS) != 0) {
            return 0; // not a TTBR0 address
        }
        long e = walkEntry(pgd, va);
        return (e & 7) == 3 ? e & ~7L : 0;
    }

    /* ---------------- kernel-style mappings with blocks (arch/arm64/mm/mmu.c) ---------------- */

    /**
     * Maps [virt, virt + size) to phys with {@code prot} (a page protection), using block
     * descriptors wherever the level allows and virt, phys and the span are aligned (the linear
     * map's way), unless {@code flags} has NO_BLOCK_MAPPINGS. Contiguous hints are never set.
     *
     * <p>Return: 0; -EINVAL (WARN) if phys and virt differ in their in-page offset or the range
     * leaves the address space; -ENOMEM if a table could not be allocated (what is mapped stays
     * mapped); -EEXIST if a valid different mapping is in the way.
     */
    @Port("arch/arm64/mm/mmu.c:__create_pgd_mapping")
    public int __createPgdMapping(long pgdir, long phys, long virt, long size, long prot, int flags) {
        if (Warn.WARN_ON(((phys ^ virt) & ~PAGE_MASK) != 0)) {
            return -EINVAL;
        }
        phys &= PAGE_MASK;
        long addr = virt & PAGE_MASK;
        long end = (virt + size + PAGE_SIZE - 1) & PAGE_MASK;
        if (size == 0 || Long.compareUnsigned(end, TASK_SIZE) > 0 || Long.compareUnsigned(end, addr) <= 0) {
            return -EINVAL;
        }
        return mapLevel(pgdir, startLevel, addr, end, phys, prot, flags);
    }

    /** alloc_init_pud / alloc_init_cont_pmd / init_pmd / alloc_init_cont_pte / init_pte, by level. */
    private int mapLevel(long table, int level, long addr, long end, long phys, long prot, int flags) {
        long span = 1L << levelShift(level);
        do {
            long next = ((addr + span) & -span);
            if (Long.compareUnsigned(next, end) > 0 || next == 0) {
                next = end;
            }
            long entryPa = table + 8L * index(addr, level);
            long old = mem.readqAcquire(entryPa);
            if (level == 3) {
                long pte = mkPte(phys, prot);
                if (old != 0 && old != pte) {
                    return -EEXIST;
                }
                setPte(entryPa, pte);
            } else if (blockAllowed(level) && ((addr | next | phys) & (span - 1)) == 0
                    && (flags & NO_BLOCK_MAPPINGS) == 0 && (old == 0 || pmdSect(old))) {
                long blk = mkPte(phys, mkPmdSectProt(prot));
                if (old != 0 && old != blk) {
                    return -EEXIST;
                }
                mem.writeqRelease(entryPa, blk);
            } else {
                if (old != 0 && !descIsTable(old)) {
                    return -EEXIST;
                }
                if (old == 0) {
                    long t = pages.allocPages(GFP_PGTABLE_USER, pageOrder);
                    if (t == 0) {
                        return -ENOMEM;
                    }
                    populate(entryPa, t);
                    old = (t & addrMask) | PMD_TYPE_TABLE;
                }
                int ret = mapLevel(old & addrMask, level + 1, addr, next, phys, prot, flags);
                if (ret != 0) {
                    return ret;
                }
            }
            phys += next - addr;
            addr = next;
        } while (addr != end);
        return 0;
    }

    /**
     * Removes what __create_pgd_mapping mapped in [start, start + size) and frees the tables
     * that became empty ({@code unmap_hotplug_range} then {@code free_empty_tables}). A block
     * only partly inside the range is left in place (the kernel never splits one here). The
     * caller flushes the TLBs before reusing the freed table pages.
     */
    @Port("arch/arm64/mm/mmu.c:__remove_pgd_mapping")
    public int __removePgdMapping(long pgdir, long start, long size) {
        if (((start | size) & ~PAGE_MASK) != 0 || size == 0
                || Long.compareUnsigned(start + size, TASK_SIZE) > 0 || Long.compareUnsigned(start + size, start) <= 0) {
            return -EINVAL;
        }
        unmapLevel(pgdir, startLevel, start, start + size);
        freeEmptyTables(pgdir, start, start + size, null);
        return 0;
    }

    private void unmapLevel(long table, int level, long addr, long end) {
        long span = 1L << levelShift(level);
        do {
            long next = (addr + span) & -span;
            if (Long.compareUnsigned(next, end) > 0 || next == 0) {
                next = end;
            }
            long entryPa = table + 8L * index(addr, level);
            long desc = mem.readqAcquire(entryPa);
            if (desc != 0) {
                if (level == 3) {
                    ptepGetAndClear(entryPa);
                } else if (descIsTable(desc)) {
                    unmapLevel(desc & addrMask, level + 1, addr, next);
                } else if (((addr | next) & (span - 1)) == 0) {
                    ptepGetAndClear(entryPa);
                }
            }
            addr = next;
        } while (addr != end);
    }

    /**
     * Frees every table under [start, end) that holds no valid entry, clearing the descriptor
     * that pointed to it. Freed pages go to {@code deferred} when given (freed by the caller
     * after its TLB flush, like tlb_remove_table), else straight back to the allocator.
     */
    @Port("arch/arm64/mm/mmu.c:free_empty_tables")
    public void freeEmptyTables(long pgdir, long start, long end, MutableLongList deferred) {
        freeLevel(pgdir, startLevel, start, end, deferred);
    }

    private void freeLevel(long table, int level, long addr, long end, MutableLongList deferred) {
        if (level == 3) {
            return;
        }
        long span = 1L << levelShift(level);
        do {
            long next = (addr + span) & -span;
            if (Long.compareUnsigned(next, end) > 0 || next == 0) {
                next = end;
            }
            long entryPa = table + 8L * index(addr, level);
            long desc = mem.readqAcquire(entryPa);
            if (descIsTable(desc)) {
                long child = desc & addrMask;
                freeLevel(child, level + 1, addr, next, deferred);
                if (tableEmpty(child, level + 1)) {
                    mem.writeqRelease(entryPa, 0);
                    if (deferred != null) {
                        deferred.add(child);
                    } else {
                        pages.__freePages(child, pageOrder);
                    }
                }
            }
            addr = next;
        } while (addr != end);
    }

    /** True if no entry of the table at {@code level} is non-zero. */
    public boolean tableEmpty(long table, int level) {
        int n = ptrsPerTable(level);
        for (int i = 0; i < n; i++) {
            if (mem.readq(table + 8L * i) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Every valid leaf under {@code pgd}, one line each ("va -> pa level attrs"), in address
     * order: the teaching view of a table (and what the CLI prints).
     */
    public java.util.List<String> dump(long pgd) {
        java.util.List<String> out = new java.util.ArrayList<>();
        dumpLevel(pgd, startLevel, 0, out);
        return out;
    }

    private void dumpLevel(long table, int level, long vaBase, java.util.List<String> out) {
        int n = ptrsPerTable(level);
        int shift = levelShift(level);
        for (int i = 0; i < n; i++) {
            long desc = mem.readq(table + 8L * i);
            long va = vaBase | ((long) i << shift);
            if ((desc & PTE_VALID) == 0) {
                continue;
            }
            if (level < 3 && descIsTable(desc)) {
                dumpLevel(desc & addrMask, level + 1, va, out);
            } else if (level == 3 ? (desc & 3) == 3 : (desc & 3) == 1) {
                long oa = desc & PTE_ADDR_MASK & -(1L << shift);
                out.add(String.format("%016x -> %012x L%d %s%s%s%s%s%s", va, oa, level,
                        (desc & PTE_USER) != 0 ? "U" : "-", (desc & PTE_RDONLY) != 0 ? "RO" : "RW",
                        (desc & PTE_UXN) != 0 ? "" : " X", (desc & PTE_AF) != 0 ? " AF" : "",
                        (desc & PgtableH.PTE_DBM) != 0 ? " DBM" : "", (desc & PTE_DIRTY) != 0 ? " D" : ""));
            }
        }
    }

    /** Frees every table page reachable from {@code pgd} except the pgd itself (exit path). */
    public void freeAllTables(long pgd) {
        freeSubtables(pgd, startLevel);
        mem.memset(pgd, 0, PAGE_SIZE);
    }

    private void freeSubtables(long table, int level) {
        if (level == 3) {
            return;
        }
        int n = ptrsPerTable(level);
        for (int i = 0; i < n; i++) {
            long desc = mem.readq(table + 8L * i);
            if (descIsTable(desc)) {
                long child = desc & addrMask;
                freeSubtables(child, level + 1);
                pages.__freePages(child, pageOrder);
            }
        }
    }
}
