package org.iommu4j.mm;

import static org.iommu4j.mm.MmH.FAULT_FLAG_INSTRUCTION;
import static org.iommu4j.mm.MmH.FAULT_FLAG_REMOTE;
import static org.iommu4j.mm.MmH.FAULT_FLAG_WRITE;
import static org.iommu4j.mm.MmH.MMU_NOTIFY_CLEAR;
import static org.iommu4j.mm.MmH.MMU_NOTIFY_PROTECTION_VMA;
import static org.iommu4j.mm.MmH.MMU_NOTIFY_UNMAP;
import static org.iommu4j.mm.MmH.VM_ACCESS_FLAGS;
import static org.iommu4j.mm.MmH.VM_EXEC;
import static org.iommu4j.mm.MmH.VM_FAULT_BADACCESS;
import static org.iommu4j.mm.MmH.VM_FAULT_BADMAP;
import static org.iommu4j.mm.MmH.VM_FAULT_OOM;
import static org.iommu4j.mm.MmH.VM_FAULT_SIGBUS;
import static org.iommu4j.mm.MmH.VM_FAULT_SIGSEGV;
import static org.iommu4j.mm.MmH.VM_FAULT_WRITE;
import static org.iommu4j.mm.MmH.VM_SHARED;
import static org.iommu4j.mm.MmH.VM_WRITE;
import static org.iommu4j.mm.PgtableH.PTE_AF;
import static org.iommu4j.mm.PgtableH.PTE_DIRTY;
import static org.iommu4j.mm.PgtableH.PTE_RDONLY;
import static org.iommu4j.mm.PgtableH.PTE_SPECIAL;
import static org.iommu4j.mm.PgtableH.PTE_WRITE;

import java.util.List;
import org.eclipse.collections.api.list.primitive.MutableLongList;
import org.eclipse.collections.impl.list.mutable.primitive.LongArrayList;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.Port;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceEvent;

/**
 * Page faults and page-table teardown: mm/memory.c (handle_mm_fault, anonymous and write-protect
 * faults, zap/unmap, free_pgtables, change_protection's PTE walk), mm/mmu_gather.c and the
 * fault entry of arch/arm64/mm/fault.c.
 *
 * <p>Anonymous memory as the kernel keeps it: a read fault maps the shared zero page read-only
 * ({@code pte_special}); a write fault maps (or copies into) a fresh zeroed page, young and
 * dirty; a write to a present read-only page of a writable VMA is upgraded in place
 * ({@code wp_page_reuse}: there is no fork here, so every anonymous page is exclusive and no
 * copy is needed). Young/dirty are the arm64 bits: AF, and DBM with AP[2] (hardware dirty) or
 * PTE_DIRTY (software dirty).
 *
 * <p>Locking: faults run under the mmap read lock; PTE installation re-checks the entry under
 * the mm's page_table_lock (the kernel's PTE lock). Teardown runs under the mmap write lock.
 */
public final class MmFault {
    private MmFault() {}

    public static final TraceEvent FAULT = Trace.event("mm", "handle_mm_fault",
            "addr=%#x flags=%#x ret=%#x", "address", "flags", "ret");

    /* ---------------- fault entry (arch/arm64/mm/fault.c) ---------------- */

    /**
     * The user page-fault path of an EL0 data or instruction abort at {@code addr}: takes the
     * mmap read lock, finds the VMA, checks it allows the access, calls handle_mm_fault.
     * Return: a vm_fault_t, or VM_FAULT_BADMAP (no VMA) / VM_FAULT_BADACCESS (VMA forbids it).
     */
    @Port("arch/arm64/mm/fault.c:do_page_fault")
    public static int doPageFault(Mm mm, long addr, int mmFlags) {
        long vmFlags;
        if ((mmFlags & FAULT_FLAG_INSTRUCTION) != 0) {
            vmFlags = VM_EXEC;
        } else if ((mmFlags & FAULT_FLAG_WRITE) != 0) {
            vmFlags = VM_WRITE;
        } else {
            // Write implies read; without FEAT_EPAN exec implies read.
            vmFlags = VM_ACCESS_FLAGS;
        }
        mm.mmapReadLock();
        try {
            return __doPageFault(mm, addr, mmFlags, vmFlags);
        } finally {
            mm.mmapReadUnlock();
        }
    }

    @Port("arch/arm64/mm/fault.c:__do_page_fault")
    static int __doPageFault(Mm mm, long addr, int mmFlags, long vmFlags) {
        VmAreaStruct vma = Mmap.findVma(mm, addr);
        if (vma == null || Long.compareUnsigned(vma.vmStart, addr) > 0) {
            return VM_FAULT_BADMAP;
        }
        if ((vma.vmFlags & vmFlags) == 0) {
            return VM_FAULT_BADACCESS;
        }
        return handleMmFault(vma, addr & mm.world.pgtable.PAGE_MASK, mmFlags);
    }

    /* ---------------- mm/memory.c ---------------- */

    /**
     * The architecture's say on a fault in {@code vma} (memory protection keys elsewhere). arm64
     * takes the generic hook, which allows every access: the VMA's permissions are checked by
     * the callers, before handle_mm_fault (do_page_fault: VM_FAULT_BADACCESS; GUP's
     * check_vma_flags: -EFAULT; io-pgfault's iopf_handle_single: IOMMU_PAGE_RESP_INVALID).
     */
    @Port("include/asm-generic/mm_hooks.h:arch_vma_access_permitted")
    static boolean archVmaAccessPermitted(VmAreaStruct vma, boolean write, boolean execute, boolean foreign) {
        return true;
    }

    /**
     * Resolves a fault at {@code address} in {@code vma}. Caller holds the mmap read lock (or
     * write lock) and an mm_users reference, and has checked that the VMA allows the access:
     * as in the kernel, a write to a read-only VMA maps the page read-only and returns 0 (or
     * VM_FAULT_WRITE from the write-protect path without making it writable).
     * Return: 0, VM_FAULT_WRITE (a write-protect fault was resolved by reusing or copying the
     * page), VM_FAULT_OOM (page or page-table allocation failed), VM_FAULT_SIGBUS (a block
     * mapping in the way); VM_FAULT_SIGSEGV also answers a caller error the kernel does not
     * check for (no VMA, or an address outside it).
     */
    @Port("mm/memory.c:handle_mm_fault")
    public static int handleMmFault(VmAreaStruct vma, long address, int flags) {
        int ret;
        if (vma == null || Long.compareUnsigned(address, vma.vmStart) < 0 || Long.compareUnsigned(address, vma.vmEnd) >= 0) {
            ret = VM_FAULT_SIGSEGV;
        } else if (!archVmaAccessPermitted(vma, (flags & FAULT_FLAG_WRITE) != 0,
                (flags & FAULT_FLAG_INSTRUCTION) != 0, (flags & FAULT_FLAG_REMOTE) != 0)) {
            ret = VM_FAULT_SIGSEGV;
        } else {
            ret = __handleMmFault(vma, address, flags);
        }
        if (FAULT.enabled()) {
            FAULT.emit(address, flags, ret);
        }
        return ret;
    }

    /** handle_mm_fault with the regs argument of the v5.15 signature (ignored). */
    @Port("mm/memory.c:handle_mm_fault")
    public static int handleMmFault(VmAreaStruct vma, long address, int flags, Object regs) {
        return handleMmFault(vma, address, flags);
    }

    @Port("mm/memory.c:__handle_mm_fault")
    private static int __handleMmFault(VmAreaStruct vma, long address, int flags) {
        Mm mm = vma.vmMm;
        Pgtable pt = mm.world.pgtable;
        address &= pt.PAGE_MASK;
        long ptep = pt.pteAllocMap(mm.pgd, address);
        if (ptep == 0) {
            return VM_FAULT_OOM;
        }
        if (ptep == -1) {
            return VM_FAULT_SIGBUS; // a block mapping in a user address space: not ours
        }
        return handlePteFault(vma, address, flags, ptep);
    }

    @Port("mm/memory.c:handle_pte_fault")
    private static int handlePteFault(VmAreaStruct vma, long address, int flags, long ptep) {
        Mm mm = vma.vmMm;
        Pgtable pt = mm.world.pgtable;
        long entry = pt.ptepGet(ptep);
        if (Pgtable.pteNone(entry)) {
            return doAnonymousPage(vma, address, flags, ptep);
        }
        boolean write = (flags & FAULT_FLAG_WRITE) != 0;
        mm.pageTableLock.lock();
        try {
            if (pt.ptepGet(ptep) != entry) {
                return 0; // changed under us: let the access retry
            }
            if (!Pgtable.pteValid(entry)) {
                return 0; // PROT_NONE entry whose VMA now allows the access: change_protection fixes it
            }
            if (write) {
                if (!Pgtable.pteWrite(entry)) {
                    return doWpPage(vma, address, ptep, entry);
                }
                entry = Pgtable.pteMkdirty(entry);
            }
            entry = Pgtable.pteMkyoung(entry);
            ptepSetAccessFlags(vma, address, ptep, entry, write);
            return 0;
        } finally {
            mm.pageTableLock.unlock();
        }
    }

    /** Demand-zero fault on an empty PTE. */
    @Port("mm/memory.c:do_anonymous_page")
    private static int doAnonymousPage(VmAreaStruct vma, long address, int flags, long ptep) {
        Mm mm = vma.vmMm;
        Pgtable pt = mm.world.pgtable;
        long entry;
        long page = 0;
        if ((flags & FAULT_FLAG_WRITE) == 0 && (vma.vmFlags & VM_SHARED) == 0) {
            // Reads map the zero page.
            entry = pt.mkPte(mm.world.zeroPage(), vma.vmPageProt) | PTE_SPECIAL;
        } else {
            page = pt.pages().allocPages(Gfp.GFP_HIGHUSER_MOVABLE | Gfp.__GFP_ZERO, pt.pageOrder);
            if (page == 0) {
                return VM_FAULT_OOM;
            }
            entry = pt.mkPte(page, vma.vmPageProt) | PTE_AF;
            if ((vma.vmFlags & VM_WRITE) != 0 && (flags & FAULT_FLAG_WRITE) != 0) {
                entry = Pgtable.pteMkwrite(Pgtable.pteMkdirty(entry));
            } else if ((vma.vmFlags & VM_WRITE) != 0) {
                entry = Pgtable.pteMkwrite(entry) | PTE_RDONLY; // shared: writable-clean (DBM)
            }
        }
        mm.pageTableLock.lock();
        try {
            if (!Pgtable.pteNone(pt.ptepGet(ptep))) {
                // Another fault won the race.
                if (page != 0) {
                    pt.pages().__freePages(page, pt.pageOrder);
                }
                return 0;
            }
            if (page != 0) {
                mm.rssAnon.incrementAndGet();
            }
            pt.setPte(ptep, entry);
        } finally {
            mm.pageTableLock.unlock();
        }
        return 0;
    }

    /** Makes a PTE writable if the VMA is. */
    @Port("include/linux/mm.h:maybe_mkwrite")
    static long maybeMkwrite(long pte, VmAreaStruct vma) {
        return (vma.vmFlags & VM_WRITE) != 0 ? Pgtable.pteMkwrite(pte) : pte;
    }

    /** Write to a present non-writable PTE. Called with page_table_lock held. */
    @Port("mm/memory.c:do_wp_page")
    private static int doWpPage(VmAreaStruct vma, long address, long ptep, long orig) {
        if ((orig & PTE_SPECIAL) != 0) {
            return wpPageCopy(vma, address, ptep, orig);
        }
        // Anonymous and exclusive (no fork in this model): reuse in place.
        return wpPageReuse(vma, address, ptep, orig);
    }

    @Port("mm/memory.c:wp_page_reuse")
    private static int wpPageReuse(VmAreaStruct vma, long address, long ptep, long orig) {
        long entry = Pgtable.pteMkyoung(orig);
        entry = maybeMkwrite(Pgtable.pteMkdirty(entry), vma);
        ptepSetAccessFlags(vma, address, ptep, entry, true);
        return VM_FAULT_WRITE;
    }

    /**
     * Replaces the zero page by a private zeroed page. Called with page_table_lock held.
     * Return: VM_FAULT_WRITE if the page was replaced, 0 if the PTE changed meanwhile,
     * VM_FAULT_OOM.
     */
    @Port("mm/memory.c:wp_page_copy")
    private static int wpPageCopy(VmAreaStruct vma, long address, long ptep, long orig) {
        Mm mm = vma.vmMm;
        Pgtable pt = mm.world.pgtable;
        long page = pt.pages().allocPages(Gfp.GFP_HIGHUSER_MOVABLE | Gfp.__GFP_ZERO, pt.pageOrder);
        if (page == 0) {
            return VM_FAULT_OOM;
        }
        MmuNotifierRange range = MmuNotifierRange.of(MMU_NOTIFY_CLEAR, vma, mm, address, address + pt.PAGE_SIZE);
        MmuNotifier.mmuNotifierInvalidateRangeStart(range);
        boolean pageCopied = false;
        if (pt.ptepGet(ptep) == orig) {
            long entry = pt.mkPte(page, vma.vmPageProt) | PTE_AF;
            entry = maybeMkwrite(Pgtable.pteMkdirty(entry), vma);
            ptepClearFlushNotify(vma, address, ptep);
            pt.setPte(ptep, entry);
            mm.rssAnon.incrementAndGet();
            pageCopied = true;
        } else {
            // The PTE changed meanwhile: drop the new page and let the access retry.
            pt.pages().__freePages(page, pt.pageOrder);
        }
        MmuNotifier.mmuNotifierInvalidateRangeOnlyEnd(range);
        return pageCopied ? VM_FAULT_WRITE : 0;
    }

    /** Clears a PTE, flushes it from the TLBs and from secondary TLBs. */
    @Port("include/linux/mmu_notifier.h:ptep_clear_flush_notify")
    static long ptepClearFlushNotify(VmAreaStruct vma, long address, long ptep) {
        Mm mm = vma.vmMm;
        Pgtable pt = mm.world.pgtable;
        long old = pt.ptepGetAndClear(ptep);
        mm.world.flushTlbPage(vma, address);
        long a = address & pt.PAGE_MASK;
        MmuNotifier.mmuNotifierInvalidateRange(mm, a, a + pt.PAGE_SIZE);
        return old;
    }

    /**
     * Sets AF/dirty/write on a live PTE atomically against the hardware's own AF/DBM updates,
     * keeping AP[2] consistent with the dirty state. Return: whether the PTE changed. A dirty
     * (write) update flushes the stale read-only TLB entry.
     */
    @Port("arch/arm64/mm/fault.c:ptep_set_access_flags")
    public static boolean ptepSetAccessFlags(VmAreaStruct vma, long address, long ptep, long entry, boolean dirty) {
        Pgtable pt = vma.vmMm.world.pgtable;
        long pte = pt.ptepGet(ptep);
        if (pte == entry) {
            return false;
        }
        // Only AF, DIRTY, WRITE and RDONLY move; RDONLY is inverted so it can be OR-ed too.
        entry &= PTE_RDONLY | PTE_AF | PTE_WRITE | PTE_DIRTY;
        entry ^= PTE_RDONLY;
        long pteval = pte;
        for (;;) {
            long old = pteval;
            pteval ^= PTE_RDONLY;
            pteval |= entry;
            pteval ^= PTE_RDONLY;
            long w = pt.mem().cmpxchgq(ptep, old, pteval);
            if (w == old) {
                break;
            }
            pteval = w;
        }
        if (dirty) {
            vma.vmMm.world.flushTlbPage(vma, address);
        }
        return true;
    }

    /* ---------------- mmu_gather (mm/mmu_gather.c) ---------------- */

    /** {@code struct mmu_gather}: the range to flush and the pages/tables to free after it. */
    @Port("include/asm-generic/tlb.h:mmu_gather")
    public static final class MmuGather {
        final Mm mm;
        final boolean fullmm;
        long start = -1L;
        long end;
        boolean freedTables;
        final MutableLongList pages = new LongArrayList();
        final MutableLongList tables = new LongArrayList();

        MmuGather(Mm mm, boolean fullmm) {
            this.mm = mm;
            this.fullmm = fullmm;
        }

        void addRange(long s, long e) {
            if (Long.compareUnsigned(s, start) < 0) {
                start = s;
            }
            if (Long.compareUnsigned(e, end) > 0) {
                end = e;
            }
        }
    }

    @Port("mm/mmu_gather.c:tlb_gather_mmu")
    public static MmuGather tlbGatherMmu(Mm mm, boolean fullmm) {
        return new MmuGather(mm, fullmm);
    }

    /** Flushes CPU and secondary TLBs for the gathered range, then frees pages and tables. */
    @Port("mm/mmu_gather.c:tlb_finish_mmu")
    public static void tlbFinishMmu(MmuGather tlb) {
        Mm mm = tlb.mm;
        if (Long.compareUnsigned(tlb.end, tlb.start) > 0 || tlb.freedTables) {
            // tlb_flush_mmu_tlbonly(): tlb_flush() then the secondary TLBs.
            if (tlb.fullmm || tlb.start == -1L) {
                mm.world.flushTlbMm(mm);
            } else {
                mm.world.__flushTlbRange(mm, tlb.start, tlb.end, mm.world.pgtable.PAGE_SIZE, !tlb.freedTables);
            }
            if (tlb.start != -1L) {
                MmuNotifier.mmuNotifierInvalidateRange(mm, tlb.start, tlb.end);
            }
        }
        Pgtable pt = mm.world.pgtable;
        for (int i = 0; i < tlb.tables.size(); i++) {
            pt.pages().__freePages(tlb.tables.get(i), pt.pageOrder);
        }
        for (int i = 0; i < tlb.pages.size(); i++) {
            pt.pages().__freePages(tlb.pages.get(i), pt.pageOrder);
        }
        tlb.tables.clear();
        tlb.pages.clear();
    }

    /** Unmaps [start_addr, end_addr) of the given VMAs, inside one notifier range. */
    @Port("mm/memory.c:unmap_vmas")
    public static void unmapVmas(MmuGather tlb, List<VmAreaStruct> vmas, long startAddr, long endAddr) {
        Mm mm = tlb.mm;
        MmuNotifierRange range = MmuNotifierRange.of(MMU_NOTIFY_UNMAP, vmas.get(0), mm, startAddr, endAddr);
        MmuNotifier.mmuNotifierInvalidateRangeStart(range);
        for (VmAreaStruct vma : vmas) {
            long s = Long.compareUnsigned(vma.vmStart, startAddr) > 0 ? vma.vmStart : startAddr;
            long e = Long.compareUnsigned(vma.vmEnd, endAddr) < 0 ? vma.vmEnd : endAddr;
            if (Long.compareUnsigned(s, e) < 0) {
                zapPteRange(tlb, vma, s, e);
            }
        }
        MmuNotifier.mmuNotifierInvalidateRangeEnd(range);
    }

    /** Clears every PTE of [addr, end), gathering the range and the pages to free. */
    @Port("mm/memory.c:zap_pte_range")
    private static void zapPteRange(MmuGather tlb, VmAreaStruct vma, long addr, long end) {
        Mm mm = tlb.mm;
        Pgtable pt = mm.world.pgtable;
        while (Long.compareUnsigned(addr, end) < 0) {
            long e = pt.walkEntry(mm.pgd, addr);
            int level = (int) (e & 7);
            if (level != 3) {
                // No table below this level: skip its whole span.
                long span = 1L << pt.levelShift(level);
                long next = (addr + span) & -span;
                addr = next == 0 || Long.compareUnsigned(next, end) > 0 ? end : next;
                continue;
            }
            long ptep = e & ~7L;
            long ptent = pt.ptepGet(ptep);
            if (ptent != 0) {
                ptent = pt.ptepGetAndClear(ptep);
                tlb.addRange(addr, addr + pt.PAGE_SIZE);
                if (Pgtable.ptePresent(ptent) && (ptent & PTE_SPECIAL) == 0) {
                    tlb.pages.add(pt.__pteToPhys(ptent));
                    mm.rssAnon.decrementAndGet();
                }
            }
            addr += pt.PAGE_SIZE;
        }
    }

    /* ---------------- page-table teardown (mm/memory.c, asm-generic/tlb.h) ---------------- */

    /*
     * Kernel levels and the model's lookup levels: the PTE table is level 3, PMD entries are
     * level 2, PUD entries level 1, and the pgd is the table at pt.startLevel. A kernel level
     * k at or above startLevel is folded into the pgd: its "entry" is the pgd entry itself,
     * its loop runs once per pgd entry, and clearing the entry above it or freeing its table
     * does nothing (the pgtable-nopud.h / pgtable-nopmd.h no-ops). The p4d is always folded.
     */

    /** log2 of the span of one entry at kernel level k (PGDIR_SHIFT 0, PUD_SHIFT 1, PMD_SHIFT 2). */
    private static int kernelShift(Pgtable pt, int k) {
        return pt.levelShift(Math.max(k, pt.startLevel));
    }

    /** True if kernel level k has tables of its own (it is not folded into the pgd). */
    private static boolean levelHasTables(Pgtable pt, int k) {
        return k > pt.startLevel;
    }

    /**
     * The entry for {@code addr} at kernel level k below the entry {@code above} of level
     * k - 1 (pud_offset, pmd_offset): the same slot when k is folded.
     */
    private static long entryBelow(Pgtable pt, int k, long above, long addr) {
        if (!levelHasTables(pt, k)) {
            return above;
        }
        return pt.__pteToPhys(pt.mem().readqAcquire(above)) + 8L * pt.index(addr, k);
    }

    /** The end of the level-k entry's span containing addr, or end if that comes first (pmd_addr_end...). */
    private static long addrEnd(long addr, long end, int shift) {
        long boundary = (addr + (1L << shift)) & -(1L << shift);
        return Long.compareUnsigned(boundary - 1, end - 1) < 0 ? boundary : end;
    }

    /**
     * pmd_none_or_clear_bad and friends: true if the entry holds no table to walk. A user
     * address space never holds a block descriptor here (a fault in one returns
     * VM_FAULT_SIGBUS), so there is no bad entry to clear.
     */
    private static boolean noneOrBad(Pgtable pt, long entry) {
        return !Pgtable.descIsTable(pt.mem().readqAcquire(entry));
    }

    /**
     * The gather's part of freeing one table that mapped {@code address}: the flush range
     * grows by one page there (tlb_flush_{pmd,pud,p4d}_range, whose cleared_* flag nothing in
     * this model reads), the flush becomes a non-leaf one, and the page waits for
     * tlb_finish_mmu (tlb_remove_table).
     */
    private static void freeTableTlb(MmuGather tlb, long table, long address) {
        tlb.addRange(address, address + tlb.mm.world.pgtable.PAGE_SIZE);
        tlb.freedTables = true;
        tlb.tables.add(table);
    }

    /** Frees a PTE table whose PMD entry was cleared. */
    @Port("include/asm-generic/tlb.h:pte_free_tlb")
    static void pteFreeTlb(MmuGather tlb, long pte, long address) {
        freeTableTlb(tlb, pte, address);
    }

    /** Frees a PMD table whose PUD entry was cleared. */
    @Port("include/asm-generic/tlb.h:pmd_free_tlb")
    static void pmdFreeTlb(MmuGather tlb, long pmd, long address) {
        freeTableTlb(tlb, pmd, address);
    }

    /** Frees a PUD table whose pgd (p4d) entry was cleared. */
    @Port("include/asm-generic/tlb.h:pud_free_tlb")
    static void pudFreeTlb(MmuGather tlb, long pud, long address) {
        freeTableTlb(tlb, pud, address);
    }

    /**
     * Frees the page tables of the unmapped VMAs {@code vmas} (in address order, already
     * zapped). {@code floor} is where the nearest VMA below ends and {@code ceiling} where the
     * nearest one above starts (0: none, the top of the address space): no table that maps
     * either of those VMAs is freed. VMAs less than PMD_SIZE apart go to free_pgd_range
     * together. Caller holds the mmap write lock; the freed tables wait for tlb_finish_mmu.
     */
    @Port("mm/memory.c:free_pgtables")
    public static void freePgtables(MmuGather tlb, List<VmAreaStruct> vmas, long floor, long ceiling) {
        long pmdSize = 1L << kernelShift(tlb.mm.world.pgtable, 2);
        int i = 0;
        while (i < vmas.size()) {
            VmAreaStruct vma = vmas.get(i++);
            long addr = vma.vmStart;
            // No anon_vma or file rmap in this model: nothing to unlink.
            while (i < vmas.size() && Long.compareUnsigned(vmas.get(i).vmStart, vma.vmEnd + pmdSize) <= 0) {
                vma = vmas.get(i++);
            }
            freePgdRange(tlb, addr, vma.vmEnd, floor, i < vmas.size() ? vmas.get(i).vmStart : ceiling);
        }
    }

    /**
     * Frees the tables under [addr, end) that nothing outside [floor, ceiling) uses: PTE
     * tables wholly inside the PMD-aligned range, and the tables above them whose whole span
     * lies inside [floor, ceiling). All comparisons are unsigned; ceiling 0 is the top.
     */
    @Port("mm/memory.c:free_pgd_range")
    public static void freePgdRange(MmuGather tlb, long addr, long end, long floor, long ceiling) {
        Pgtable pt = tlb.mm.world.pgtable;
        long pmdSize = 1L << kernelShift(pt, 2);
        long pmdMask = -pmdSize;
        // Only PMD-aligned spans are considered: a PTE table is freed only if no VMA outside
        // [floor, ceiling) may use it.
        addr &= pmdMask;
        if (Long.compareUnsigned(addr, floor) < 0) {
            addr += pmdSize;
            if (addr == 0) {
                return;
            }
        }
        if (ceiling != 0) {
            ceiling &= pmdMask;
            if (ceiling == 0) {
                return;
            }
        }
        if (Long.compareUnsigned(end - 1, ceiling - 1) > 0) {
            end -= pmdSize;
        }
        if (Long.compareUnsigned(addr, end - 1) > 0) {
            return;
        }
        // tlb_change_page_size() does nothing on arm64.
        int shift = pt.levelShift(pt.startLevel);
        do {
            long next = addrEnd(addr, end, shift);
            long pgd = tlb.mm.pgd + 8L * pt.index(addr, pt.startLevel);
            if (!noneOrBad(pt, pgd)) {
                // free_p4d_range: the p4d is folded into the pgd on arm64.
                freePudRange(tlb, pgd, addr, next, floor, ceiling);
            }
            addr = next;
        } while (addr != end);
    }

    /** The PUD entries under one pgd (p4d) entry; frees the PUD table if its span is unused. */
    @Port("mm/memory.c:free_pud_range")
    static void freePudRange(MmuGather tlb, long p4d, long addr, long end, long floor, long ceiling) {
        Pgtable pt = tlb.mm.world.pgtable;
        long start = addr;
        int shift = kernelShift(pt, 1);
        do {
            long next = addrEnd(addr, end, shift);
            long pud = entryBelow(pt, 1, p4d, addr);
            if (!noneOrBad(pt, pud)) {
                freePmdRange(tlb, pud, addr, next, floor, ceiling);
            }
            addr = next;
        } while (addr != end);

        long mask = -(1L << kernelShift(pt, 0)); // P4D_MASK, which is PGDIR_MASK
        if (!spanInside(start & mask, mask, end, floor, ceiling) || !levelHasTables(pt, 1)) {
            return; // (a folded PUD: p4d_clear and pud_free_tlb are no-ops)
        }
        long table = pt.__pteToPhys(pt.mem().readqAcquire(p4d));
        pt.pteClear(p4d); // p4d_clear
        pudFreeTlb(tlb, table, start & mask);
    }

    /** The PMD entries under one PUD entry; frees the PMD table if its span is unused. */
    @Port("mm/memory.c:free_pmd_range")
    static void freePmdRange(MmuGather tlb, long pud, long addr, long end, long floor, long ceiling) {
        Pgtable pt = tlb.mm.world.pgtable;
        long start = addr;
        int shift = kernelShift(pt, 2);
        do {
            long next = addrEnd(addr, end, shift);
            long pmd = entryBelow(pt, 2, pud, addr);
            if (!noneOrBad(pt, pmd)) {
                freePteRange(tlb, pmd, addr);
            }
            addr = next;
        } while (addr != end);

        long mask = -(1L << kernelShift(pt, 1)); // PUD_MASK
        if (!spanInside(start & mask, mask, end, floor, ceiling) || !levelHasTables(pt, 2)) {
            return; // (a folded PMD: pud_clear and pmd_free_tlb are no-ops)
        }
        long table = pt.__pteToPhys(pt.mem().readqAcquire(pud));
        pt.pteClear(pud); // pud_clear
        pmdFreeTlb(tlb, table, start & mask);
    }

    /**
     * The test free_pud_range and free_pmd_range make after walking the entries under one
     * table: the table may go only if the whole span of the entry above it, from {@code start}
     * (already masked with {@code mask}, the upper level's), lies inside [floor, ceiling)
     * (unsigned; ceiling 0 is the top) and [.., end) does not reach past the masked ceiling.
     */
    private static boolean spanInside(long start, long mask, long end, long floor, long ceiling) {
        if (Long.compareUnsigned(start, floor) < 0) {
            return false;
        }
        if (ceiling != 0) {
            ceiling &= mask;
            if (ceiling == 0) {
                return false;
            }
        }
        return Long.compareUnsigned(end - 1, ceiling - 1) <= 0;
    }

    /**
     * Detaches the PTE table under one PMD entry and frees it. The callers have checked that
     * no VMA is left in its span, so whatever PTEs it still holds are gone with it.
     */
    @Port("mm/memory.c:free_pte_range")
    static void freePteRange(MmuGather tlb, long pmd, long addr) {
        Pgtable pt = tlb.mm.world.pgtable;
        long token = pt.__pteToPhys(pt.mem().readqAcquire(pmd)); // pmd_pgtable
        pt.pteClear(pmd); // pmd_clear
        pteFreeTlb(tlb, token, addr);
    }

    /**
     * Applies {@code newprot} to every present PTE of [start, end) (mprotect), notifying
     * secondary MMUs and flushing the CPU TLBs. Return: the number of PTEs changed.
     *
     * <p>As in v5.15 the walk goes by the entries above the PMD (one {@code change_pmd_range}
     * each), and each of those notifies secondary MMUs only if one of its PMDs holds a PTE
     * table: from that PMD's address to the end of the entry's span. A range with no page
     * table (never touched) notifies nobody; the CPU TLBs are flushed only if a PTE changed.
     */
    @Port("mm/mprotect.c:change_protection")
    public static long changeProtection(VmAreaStruct vma, long start, long end, long newprot) {
        Pgtable pt = vma.vmMm.world.pgtable;
        // The level whose entries each get one change_pmd_range: the PUD, or the top level
        // when the PUD is folded into it.
        long span = 1L << pt.levelShift(Math.max(pt.startLevel, 1));
        long pages = 0;
        long addr = start;
        do {
            long next = (addr + span) & -span;
            if (next == 0 || Long.compareUnsigned(next, end) > 0) {
                next = end;
            }
            pages += changePmdRange(vma, addr, next, newprot);
            addr = next;
        } while (addr != end);
        if (pages != 0) {
            vma.vmMm.world.flushTlbRange(vma, start, end);
        }
        return pages;
    }

    /** One entry above the PMD: the notifier range opens at the first populated PMD. */
    @Port("mm/mprotect.c:change_pmd_range")
    private static long changePmdRange(VmAreaStruct vma, long addr, long end, long newprot) {
        Mm mm = vma.vmMm;
        Pgtable pt = mm.world.pgtable;
        long span = 1L << pt.levelShift(2);
        MmuNotifierRange range = null;
        long pages = 0;
        do {
            long next = (addr + span) & -span;
            if (next == 0 || Long.compareUnsigned(next, end) > 0) {
                next = end;
            }
            if ((pt.walkEntry(mm.pgd, addr) & 7) == 3) { // the PMD points to a PTE table
                if (range == null) {
                    range = MmuNotifierRange.of(MMU_NOTIFY_PROTECTION_VMA, vma, mm, addr, end);
                    MmuNotifier.mmuNotifierInvalidateRangeStart(range);
                }
                pages += changePteRange(vma, addr, next, newprot);
            }
            addr = next;
        } while (addr != end);
        if (range != null) {
            MmuNotifier.mmuNotifierInvalidateRangeEnd(range);
        }
        return pages;
    }

    /** The PTEs of one PTE table: each present one gets {@code newprot}. */
    @Port("mm/mprotect.c:change_pte_range")
    private static long changePteRange(VmAreaStruct vma, long addr, long end, long newprot) {
        Mm mm = vma.vmMm;
        Pgtable pt = mm.world.pgtable;
        long pages = 0;
        for (; Long.compareUnsigned(addr, end) < 0; addr += pt.PAGE_SIZE) {
            long ptep = pt.walkEntry(mm.pgd, addr) & ~7L;
            long oldpte = pt.ptepGet(ptep);
            if (Pgtable.ptePresent(oldpte)) {
                // ptep_modify_prot_start/commit: clear, then install the new value.
                mm.pageTableLock.lock();
                try {
                    oldpte = pt.ptepGetAndClear(ptep);
                    long ptent = Pgtable.pteModify(oldpte, newprot);
                    pt.setPte(ptep, ptent);
                } finally {
                    mm.pageTableLock.unlock();
                }
                pages++;
            }
        }
        return pages;
    }

    /* ---------------- helpers for other modules and tests ---------------- */

    /** The PTE value mapping {@code va} in {@code mm}, or 0 if none (follow_pte + ptep_get). */
    public static long pteOf(Mm mm, long va) {
        Pgtable pt = mm.world.pgtable;
        long ptep = pt.followPte(mm.pgd, va);
        return ptep == 0 ? 0 : pt.ptepGet(ptep);
    }

}
