package org.iommu4j.mm;

import static org.iommu4j.base.Errno.EACCES;
import static org.iommu4j.base.Errno.EBADF;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.EOVERFLOW;
import static org.iommu4j.mm.MmH.DEFAULT_MMAP_MIN_ADDR;
import static org.iommu4j.mm.MmH.FAULT_FLAG_WRITE;
import static org.iommu4j.mm.MmH.FIRST_USER_ADDRESS;
import static org.iommu4j.base.Errno.IS_ERR_VALUE;
import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_FIXED;
import static org.iommu4j.mm.MmH.MAP_FIXED_NOREPLACE;
import static org.iommu4j.mm.MmH.MAP_POPULATE;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.MAP_SHARED;
import static org.iommu4j.mm.MmH.MAP_TYPE;
import static org.iommu4j.mm.MmH.PROT_EXEC;
import static org.iommu4j.mm.MmH.PROT_GROWSDOWN;
import static org.iommu4j.mm.MmH.PROT_GROWSUP;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_SEM;
import static org.iommu4j.mm.MmH.PROT_WRITE;
import static org.iommu4j.mm.MmH.USER_PGTABLES_CEILING;
import static org.iommu4j.mm.MmH.VM_ACCESS_FLAGS;
import static org.iommu4j.mm.MmH.VM_EXEC;
import static org.iommu4j.mm.MmH.VM_GROWSDOWN;
import static org.iommu4j.mm.MmH.VM_MAYEXEC;
import static org.iommu4j.mm.MmH.VM_MAYREAD;
import static org.iommu4j.mm.MmH.VM_MAYSHARE;
import static org.iommu4j.mm.MmH.VM_MAYWRITE;
import static org.iommu4j.mm.MmH.VM_READ;
import static org.iommu4j.mm.MmH.VM_SHARED;
import static org.iommu4j.mm.MmH.VM_WRITE;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.Port;
import org.iommu4j.base.Slab;

/**
 * Address-space operations of mm/mmap.c and mm/mprotect.c for anonymous memory: find_vma,
 * do_mmap/vm_mmap, do_munmap/vm_munmap, mprotect, exit_mmap.
 *
 * <p>Results follow the syscalls: mmap returns the address or a negative errno as an unsigned
 * long (test with {@link org.iommu4j.base.Errno#IS_ERR_VALUE}); munmap/mprotect return 0 or -errno. Not ported:
 * file mappings, VMA merging (adjacent mappings stay separate VMAs), stack growth, mlock,
 * userfaultfd, THP.
 */
public final class Mmap {
    private Mmap() {}

    /** mmap_min_addr. */
    public static final long mmap_min_addr = DEFAULT_MMAP_MIN_ADDR;

    /** The first VMA with {@code addr < vm_end}, or null. Caller holds the mmap lock. */
    @Port("mm/mmap.c:find_vma")
    public static VmAreaStruct findVma(Mm mm, long addr) {
        Map.Entry<Long, VmAreaStruct> e = mm.mmMt.floorEntry(addr);
        if (e != null && Long.compareUnsigned(addr, e.getValue().vmEnd) < 0) {
            return e.getValue();
        }
        Map.Entry<Long, VmAreaStruct> h = mm.mmMt.higherEntry(addr);
        return h == null ? null : h.getValue();
    }

    /** The VMA containing {@code addr}, or null (no stack to extend here). */
    @Port("mm/mmap.c:find_extend_vma")
    public static VmAreaStruct findExtendVma(Mm mm, long addr) {
        VmAreaStruct vma = findVma(mm, addr & mm.world.pgtable.PAGE_MASK);
        if (vma == null || Long.compareUnsigned(vma.vmStart, addr) > 0) {
            return null;
        }
        return vma;
    }

    private static VmAreaStruct prevVma(Mm mm, long addr) {
        Map.Entry<Long, VmAreaStruct> e = mm.mmMt.lowerEntry(addr);
        return e == null ? null : e.getValue();
    }

    /** calc_vm_prot_bits (mman.h). */
    @Port("include/linux/mman.h:calc_vm_prot_bits")
    public static long calcVmProtBits(int prot) {
        return ((prot & PROT_READ) != 0 ? VM_READ : 0) | ((prot & PROT_WRITE) != 0 ? VM_WRITE : 0)
                | ((prot & PROT_EXEC) != 0 ? VM_EXEC : 0);
    }

    /**
     * Finds room for [addr, addr + len): the hint if free, else the highest gap below
     * mmap_base (top-down layout). Returns the address or -ENOMEM/-EINVAL.
     */
    @Port("mm/mmap.c:get_unmapped_area")
    public static long getUnmappedArea(Mm mm, long addr, long len, int flags) {
        Pgtable pt = mm.world.pgtable;
        long task = pt.TASK_SIZE;
        if (Long.compareUnsigned(len, task) > 0) {
            return -ENOMEM;
        }
        // arch_get_unmapped_area_topdown: no request may be longer than the space above
        // mmap_min_addr, MAP_FIXED ones included.
        if (Long.compareUnsigned(len, task - mmap_min_addr) > 0) {
            return -ENOMEM;
        }
        if ((flags & MAP_FIXED) != 0) {
            if (Long.compareUnsigned(addr, task - len) > 0) {
                return -ENOMEM;
            }
            if ((addr & ~pt.PAGE_MASK) != 0) {
                return -EINVAL;
            }
            return addr;
        }
        if (addr != 0) {
            addr = (addr + pt.PAGE_SIZE - 1) & pt.PAGE_MASK;
            VmAreaStruct vma = findVma(mm, addr);
            if (Long.compareUnsigned(task - len, addr) >= 0 && Long.compareUnsigned(addr, mmap_min_addr) >= 0
                    && (vma == null || Long.compareUnsigned(addr + len, vma.vmStart) <= 0)) {
                return addr;
            }
        }
        // arch_get_unmapped_area_topdown: walk gaps downward from mmap_base.
        long high = mm.mmapBase;
        for (Map.Entry<Long, VmAreaStruct> e = mm.mmMt.lowerEntry(high); ; e = mm.mmMt.lowerEntry(e.getKey())) {
            long low = e == null ? mmap_min_addr : e.getValue().vmEnd;
            if (e != null && Long.compareUnsigned(e.getValue().vmEnd, high) > 0) {
                high = e.getValue().vmStart; // VMA straddles mmap_base
            } else if (Long.compareUnsigned(high, low) >= 0 && Long.compareUnsigned(high - low, len) >= 0) {
                return high - len;
            } else if (e != null) {
                high = e.getValue().vmStart;
            }
            if (e == null) {
                break;
            }
        }
        // Bottom-up fallback above mmap_base.
        long lo = mm.mmapBase;
        Map.Entry<Long, VmAreaStruct> straddle = mm.mmMt.lowerEntry(lo);
        if (straddle != null && Long.compareUnsigned(straddle.getValue().vmEnd, lo) > 0) {
            lo = straddle.getValue().vmEnd;
        }
        for (VmAreaStruct v : mm.mmMt.tailMap(mm.mmapBase, true).values()) {
            if (Long.compareUnsigned(v.vmStart, lo) >= 0 && Long.compareUnsigned(v.vmStart - lo, len) >= 0) {
                return lo;
            }
            lo = Long.compareUnsigned(v.vmEnd, lo) > 0 ? v.vmEnd : lo;
        }
        if (Long.compareUnsigned(task - lo, len) >= 0) {
            return lo;
        }
        return -ENOMEM;
    }

    /**
     * Creates an anonymous mapping. Caller holds the mmap write lock.
     * Return: the address, or -EINVAL (len 0, a MAP type other than MAP_SHARED/MAP_PRIVATE,
     * unaligned MAP_FIXED or MAP_FIXED_NOREPLACE), -ENOMEM (no
     * room, too many maps, allocation), -EEXIST (MAP_FIXED_NOREPLACE over a mapping), -EBADF
     * (not MAP_ANONYMOUS: no files here), -EOVERFLOW ({@code pgoff} plus the length in pages
     * wraps). As in v5.15 the errors come in this order: -EINVAL for len 0, -ENOMEM for a
     * length that rounds to 0, -EOVERFLOW, -ENOMEM for too many maps, then whatever
     * get_unmapped_area answers, -EEXIST, and only then -EINVAL for the MAP type.
     */
    @Port("mm/mmap.c:do_mmap")
    public static long doMmap(Mm mm, long addr, long len, int prot, int flags, long pgoff) {
        mm.mmapAssertWriteLocked();
        Pgtable pt = mm.world.pgtable;
        // mmap(2) looks the file up before anything else (ksys_mmap_pgoff): no files here.
        if ((flags & MAP_ANONYMOUS) == 0) {
            return -EBADF;
        }
        if (len == 0) {
            return -EINVAL;
        }
        // MAP_FIXED_NOREPLACE is MAP_FIXED to everything below, the hint rounding included.
        if ((flags & MAP_FIXED_NOREPLACE) != 0) {
            flags |= MAP_FIXED;
        }
        if ((flags & MAP_FIXED) == 0) {
            addr = roundHintToMin(pt, addr);
        }
        len = (len + pt.PAGE_SIZE - 1) & pt.PAGE_MASK;
        if (len == 0) {
            return -ENOMEM;
        }
        // The last page's offset must not wrap around.
        if (Long.compareUnsigned(pgoff + (len >>> pt.PAGE_SHIFT), pgoff) < 0) {
            return -EOVERFLOW;
        }
        if (mm.mapCount > mm.world.sysctlMaxMapCount) {
            return -ENOMEM;
        }
        // The place is found (and MAP_FIXED_NOREPLACE checked) before the flags are looked
        // at, so a bad MAP type is only reported once the range itself is acceptable.
        addr = getUnmappedArea(mm, addr, len, flags);
        if (IS_ERR_VALUE(addr)) {
            return addr;
        }
        if ((flags & MAP_FIXED_NOREPLACE) != 0) {
            VmAreaStruct vma = findVma(mm, addr);
            if (vma != null && Long.compareUnsigned(vma.vmStart, addr + len) < 0) {
                return -EEXIST;
            }
        }
        long vmFlags = calcVmProtBits(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
        // Anonymous memory knows only these two types; MAP_SHARED_VALIDATE is for files.
        switch (flags & MAP_TYPE) {
            case MAP_SHARED:
                vmFlags |= VM_SHARED | VM_MAYSHARE;
                break;
            case MAP_PRIVATE:
                break;
            default:
                return -EINVAL;
        }
        return mmapRegion(mm, addr, len, vmFlags, pgoff);
    }

    /** Truncates a hint to its page, and moves a hint below mmap_min_addr up to it. */
    @Port("mm/mmap.c:round_hint_to_min")
    static long roundHintToMin(Pgtable pt, long hint) {
        hint &= pt.PAGE_MASK;
        if (hint != 0 && Long.compareUnsigned(hint, mmap_min_addr) < 0) {
            return (mmap_min_addr + pt.PAGE_SIZE - 1) & pt.PAGE_MASK;
        }
        return hint;
    }

    @Port("mm/mmap.c:mmap_region")
    private static long mmapRegion(Mm mm, long addr, long len, long vmFlags, long pgoff) {
        // Whatever is mapped in the range goes first (MAP_FIXED may land on existing mappings).
        if (__doMunmap(mm, addr, len) != 0) {
            return -ENOMEM;
        }
        VmAreaStruct vma = Slab.kzalloc(() -> new VmAreaStruct(mm, addr, addr + len, vmFlags), Gfp.GFP_KERNEL);
        if (vma == null) {
            return -ENOMEM;
        }
        vmaLink(mm, vma);
        return addr;
    }

    private static void vmaLink(Mm mm, VmAreaStruct vma) {
        mm.mmMt.put(vma.vmStart, vma);
        mm.mapCount++;
    }

    /**
     * mmap(2) for an mm: takes the mmap write lock, maps, and faults the range in if
     * MAP_POPULATE. Return: as do_mmap, or -EINVAL for an unaligned/overflowing offset, -EINTR.
     */
    @Port("mm/util.c:vm_mmap_pgoff")
    public static long vmMmap(Mm mm, long addr, long len, int prot, int flags) {
        int ret = mm.mmapWriteLockKillable();
        if (ret != 0) {
            return ret;
        }
        long r;
        try {
            r = doMmap(mm, addr, len, prot, flags, 0);
        } finally {
            mm.mmapWriteUnlock();
        }
        if (!IS_ERR_VALUE(r) && (flags & MAP_POPULATE) != 0) {
            mmPopulate(mm, r, len);
        }
        return r;
    }

    /**
     * Faults in every page of [start, start + len) that lies in a VMA, as mmap(MAP_POPULATE)
     * does ({@code mm_populate}: errors ignored).
     */
    @Port("include/linux/mm.h:mm_populate")
    public static void mmPopulate(Mm mm, long start, long len) {
        __mmPopulate(mm, start, len, true);
    }

    /**
     * Faults in the pages of [start, start + len) VMA by VMA, skipping holes and VM_IO /
     * VM_PFNMAP VMAs. Private writable VMAs take write faults (a read-only page there, the
     * zero page included, is copied or made writable); PROT_NONE VMAs cannot be populated
     * (GUP's check_vma_flags: -EFAULT without FOLL_FORCE, which only accessible VMAs get).
     * Return: 0; or, unless {@code ignoreErrors}, the first VMA's error (-EFAULT, -ENOMEM),
     * leaving the VMAs after it alone.
     */
    @Port("mm/gup.c:__mm_populate")
    public static int __mmPopulate(Mm mm, long start, long len, boolean ignoreErrors) {
        long end = start + len;
        int ret = 0;
        mm.mmapReadLock();
        try {
            long nend;
            for (long nstart = start; Long.compareUnsigned(nstart, end) < 0; nstart = nend) {
                VmAreaStruct vma = findVma(mm, nstart);
                if (vma == null || Long.compareUnsigned(vma.vmStart, end) >= 0) {
                    break;
                }
                nend = Long.compareUnsigned(end, vma.vmEnd) < 0 ? end : vma.vmEnd;
                if ((vma.vmFlags & (MmH.VM_IO | MmH.VM_PFNMAP)) != 0) {
                    continue;
                }
                if (Long.compareUnsigned(nstart, vma.vmStart) < 0) {
                    nstart = vma.vmStart;
                }
                ret = populateVmaPageRange(vma, nstart, nend);
                if (ret < 0) {
                    if (ignoreErrors) {
                        ret = 0;
                        continue;
                    }
                    break;
                }
                ret = 0;
            }
        } finally {
            mm.mmapReadUnlock();
        }
        return ret;
    }

    /**
     * GUP over [start, end) of one VMA: each page not already mapped the way the access needs
     * is faulted in. Return: 0, or -EFAULT / -ENOMEM for the first page that could not be.
     */
    @Port("mm/gup.c:populate_vma_page_range")
    private static int populateVmaPageRange(VmAreaStruct vma, long start, long end) {
        Mm mm = vma.vmMm;
        Pgtable pt = mm.world.pgtable;
        // Write faults break copy-on-write in private writable VMAs only.
        boolean write = (vma.vmFlags & (VM_WRITE | VM_SHARED)) == VM_WRITE;
        // check_vma_flags: reading a VMA without VM_READ needs FOLL_FORCE, given to
        // accessible VMAs only; so a PROT_NONE VMA fails.
        if ((vma.vmFlags & VM_ACCESS_FLAGS) == 0) {
            return -org.iommu4j.base.Errno.EFAULT;
        }
        int flags = write ? FAULT_FLAG_WRITE : 0;
        for (long a = start & pt.PAGE_MASK; Long.compareUnsigned(a, end) < 0; a += pt.PAGE_SIZE) {
            long ptep = pt.followPte(mm.pgd, a);
            if (ptep != 0) {
                long pte = pt.ptepGet(ptep);
                // follow_page: a present page will do, unless a write needs it writable.
                if (Pgtable.ptePresent(pte) && (!write || Pgtable.pteWrite(pte))) {
                    continue;
                }
            }
            int fault = MmFault.handleMmFault(vma, a, flags);
            if ((fault & MmH.VM_FAULT_ERROR) != 0) {
                return (fault & MmH.VM_FAULT_OOM) != 0 ? -ENOMEM : -org.iommu4j.base.Errno.EFAULT;
            }
        }
        return 0;
    }

    /** Splits {@code vma} at {@code addr}; the new VMA takes the lower part if new_below. */
    @Port("mm/mmap.c:__split_vma")
    static int __splitVma(Mm mm, VmAreaStruct vma, long addr, boolean newBelow) {
        VmAreaStruct n = Slab.kzalloc(() -> new VmAreaStruct(mm, vma.vmStart, vma.vmEnd, vma.vmFlags), Gfp.GFP_KERNEL);
        if (n == null) {
            return -ENOMEM;
        }
        mm.mmMt.remove(vma.vmStart);
        if (newBelow) {
            n.vmEnd = addr;
            vma.vmStart = addr;
        } else {
            n.vmStart = addr;
            vma.vmEnd = addr;
        }
        n.vmPageProt = vma.vmPageProt;
        mm.mmMt.put(vma.vmStart, vma);
        vmaLink(mm, n);
        return 0;
    }

    @Port("mm/mmap.c:split_vma")
    static int splitVma(Mm mm, VmAreaStruct vma, long addr, boolean newBelow) {
        if (mm.mapCount >= mm.world.sysctlMaxMapCount) {
            return -ENOMEM;
        }
        return __splitVma(mm, vma, addr, newBelow);
    }

    /**
     * Unmaps [start, start + len). Caller holds the mmap write lock.
     * Return: 0 (also when nothing was mapped), -EINVAL (unaligned, zero length, beyond
     * TASK_SIZE), -ENOMEM (a split failed).
     */
    @Port("mm/mmap.c:__do_munmap")
    public static int __doMunmap(Mm mm, long start, long len) {
        Pgtable pt = mm.world.pgtable;
        if ((start & ~pt.PAGE_MASK) != 0 || Long.compareUnsigned(start, pt.TASK_SIZE) > 0
                || Long.compareUnsigned(len, pt.TASK_SIZE - start) > 0) {
            return -EINVAL;
        }
        len = (len + pt.PAGE_SIZE - 1) & pt.PAGE_MASK;
        long end = start + len;
        if (len == 0) {
            return -EINVAL;
        }
        VmAreaStruct vma = findVma(mm, start);
        if (vma == null || Long.compareUnsigned(vma.vmStart, end) >= 0) {
            return 0;
        }
        if (Long.compareUnsigned(start, vma.vmStart) > 0) {
            if (Long.compareUnsigned(end, vma.vmEnd) < 0 && mm.mapCount >= mm.world.sysctlMaxMapCount) {
                return -ENOMEM;
            }
            // The VMA keeps its lower part; the new one above is unmapped.
            int error = __splitVma(mm, vma, start, false);
            if (error != 0) {
                return error;
            }
        }
        // Does it split the last one? The new VMA below is unmapped; the VMA keeps the rest.
        VmAreaStruct last = findVma(mm, end);
        if (last != null && Long.compareUnsigned(end, last.vmStart) > 0) {
            int error = __splitVma(mm, last, end, true);
            if (error != 0) {
                return error;
            }
        }
        // Detach the VMAs now fully inside [start, end).
        List<VmAreaStruct> detached = new ArrayList<>(mm.mmMt.subMap(start, true, end, false).values());
        VmAreaStruct prev = prevVma(mm, start);
        VmAreaStruct next = findVma(mm, end);
        unmapRegion(mm, detached, prev, next, start, end);
        for (VmAreaStruct v : detached) {
            mm.mmMt.remove(v.vmStart);
            mm.mapCount--;
        }
        return 0;
    }

    @Port("mm/mmap.c:do_munmap")
    public static int doMunmap(Mm mm, long start, long len) {
        return __doMunmap(mm, start, len);
    }

    /** munmap(2): takes the mmap write lock. Return: as __do_munmap, or -EINTR. */
    @Port("mm/mmap.c:vm_munmap")
    public static int vmMunmap(Mm mm, long start, long len) {
        int ret = mm.mmapWriteLockKillable();
        if (ret != 0) {
            return ret;
        }
        try {
            return __doMunmap(mm, start, len);
        } finally {
            mm.mmapWriteUnlock();
        }
    }

    /**
     * Zaps the pages of the detached VMAs, frees their tables, flushes and frees. The tables
     * freed are bounded by the neighbours: {@code prev}'s end below and {@code next}'s start
     * above (none: FIRST_USER_ADDRESS / USER_PGTABLES_CEILING), so a table a neighbour still
     * maps through stays.
     */
    @Port("mm/mmap.c:unmap_region")
    private static void unmapRegion(Mm mm, List<VmAreaStruct> vmas, VmAreaStruct prev, VmAreaStruct next,
            long start, long end) {
        if (vmas.isEmpty()) {
            return;
        }
        MmFault.MmuGather tlb = MmFault.tlbGatherMmu(mm, false);
        MmFault.unmapVmas(tlb, vmas, start, end);
        MmFault.freePgtables(tlb, vmas, prev != null ? prev.vmEnd : FIRST_USER_ADDRESS,
                next != null ? next.vmStart : USER_PGTABLES_CEILING);
        MmFault.tlbFinishMmu(tlb);
    }

    /**
     * Tears down the whole address space (last mmput): the notifiers' release first, then every
     * page and table below the pgd.
     */
    @Port("mm/mmap.c:exit_mmap")
    public static void exitMmap(Mm mm) {
        MmuNotifier.mmuNotifierRelease(mm);
        mm.mmapWriteLock();
        try {
            List<VmAreaStruct> all = new ArrayList<>(mm.mmMt.values());
            MmFault.MmuGather tlb = MmFault.tlbGatherMmu(mm, true);
            // No VMA, no page table: every table was freed with the last VMA that used it.
            if (!all.isEmpty()) {
                MmFault.unmapVmas(tlb, all, 0, mm.world.pgtable.TASK_SIZE);
                MmFault.freePgtables(tlb, all, FIRST_USER_ADDRESS, USER_PGTABLES_CEILING);
            }
            MmFault.tlbFinishMmu(tlb);
            mm.mmMt.clear();
            mm.mapCount = 0;
        } finally {
            mm.mmapWriteUnlock();
        }
    }

    /* ---------------- mm/mprotect.c ---------------- */

    /** arm64's arch_validate_prot without BTI/MTE. */
    @Port("include/linux/mman.h:arch_validate_prot")
    static boolean archValidateProt(int prot) {
        return (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) == 0;
    }

    /**
     * mprotect(2): changes the protection of [start, start + len).
     * Return: 0; -EINVAL (unaligned start, unknown prot bits, both PROT_GROWSDOWN and
     * PROT_GROWSUP, or either of them on a VMA that does not grow that way: here every VMA, as
     * there are no stacks); -ENOMEM (range not fully mapped, overflow, split failure); -EACCES
     * (protection beyond VM_MAY*); -EINTR. As in v5.15 the grows bits are taken out of
     * {@code prot} first, and a missing VMA is -ENOMEM before they are judged.
     */
    @Port("mm/mprotect.c:do_mprotect_pkey")
    public static int mprotect(Mm mm, long start, long len, int prot) {
        Pgtable pt = mm.world.pgtable;
        int grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
        prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
        if (grows == (PROT_GROWSDOWN | PROT_GROWSUP)) {
            return -EINVAL;
        }
        if ((start & ~pt.PAGE_MASK) != 0) {
            return -EINVAL;
        }
        if (len == 0) {
            return 0;
        }
        len = (len + pt.PAGE_SIZE - 1) & pt.PAGE_MASK;
        long end = start + len;
        if (Long.compareUnsigned(end, start) <= 0) {
            return -ENOMEM;
        }
        if (!archValidateProt(prot)) {
            return -EINVAL;
        }
        int ret = mm.mmapWriteLockKillable();
        if (ret != 0) {
            return ret;
        }
        try {
            VmAreaStruct vma = findVma(mm, start);
            if (vma == null) {
                return -ENOMEM;
            }
            if ((grows & PROT_GROWSDOWN) != 0) {
                // From the VMA's start, which must be a stack's (VM_GROWSDOWN).
                if (Long.compareUnsigned(vma.vmStart, end) >= 0) {
                    return -ENOMEM;
                }
                start = vma.vmStart;
                if ((vma.vmFlags & VM_GROWSDOWN) == 0) {
                    return -EINVAL;
                }
            } else {
                if (Long.compareUnsigned(vma.vmStart, start) > 0) {
                    return -ENOMEM;
                }
                // arm64 has no VM_GROWSUP: a PROT_GROWSUP request never applies.
                if ((grows & PROT_GROWSUP) != 0) {
                    return -EINVAL;
                }
            }
            long nstart = start;
            for (;;) {
                long newflags = calcVmProtBits(prot) | (vma.vmFlags & ~VM_ACCESS_FLAGS);
                if (((newflags & ~(newflags >>> 4)) & VM_ACCESS_FLAGS) != 0) {
                    return -EACCES;
                }
                long tmp = Long.compareUnsigned(vma.vmEnd, end) < 0 ? vma.vmEnd : end;
                int error = mprotectFixup(mm, vma, nstart, tmp, newflags);
                if (error != 0) {
                    return error;
                }
                nstart = tmp;
                if (Long.compareUnsigned(nstart, end) >= 0) {
                    return 0;
                }
                vma = findVma(mm, nstart);
                if (vma == null || vma.vmStart != nstart) {
                    return -ENOMEM;
                }
            }
        } finally {
            mm.mmapWriteUnlock();
        }
    }

    @Port("mm/mprotect.c:mprotect_fixup")
    static int mprotectFixup(Mm mm, VmAreaStruct vma, long start, long end, long newflags) {
        if (newflags == vma.vmFlags) {
            return 0;
        }
        if (start != vma.vmStart) {
            int error = splitVma(mm, vma, start, true);
            if (error != 0) {
                return error;
            }
        }
        if (end != vma.vmEnd) {
            int error = splitVma(mm, vma, end, false);
            if (error != 0) {
                return error;
            }
        }
        vma.vmFlags = newflags;
        VmAreaStruct.vmaSetPageProt(vma);
        MmFault.changeProtection(vma, start, end, vma.vmPageProt);
        return 0;
    }

}
