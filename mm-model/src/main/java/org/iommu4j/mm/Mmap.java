package org.iommu4j.mm;

import static org.iommu4j.base.Errno.EACCES;
import static org.iommu4j.base.Errno.EBADF;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.mm.MmH.DEFAULT_MMAP_MIN_ADDR;
import static org.iommu4j.mm.MmH.FAULT_FLAG_WRITE;
import static org.iommu4j.mm.MmH.IS_ERR_VALUE;
import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_FIXED;
import static org.iommu4j.mm.MmH.MAP_FIXED_NOREPLACE;
import static org.iommu4j.mm.MmH.MAP_POPULATE;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.MAP_SHARED;
import static org.iommu4j.mm.MmH.MAP_TYPE;
import static org.iommu4j.mm.MmH.PROT_EXEC;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_SEM;
import static org.iommu4j.mm.MmH.PROT_WRITE;
import static org.iommu4j.mm.MmH.VM_ACCESS_FLAGS;
import static org.iommu4j.mm.MmH.VM_EXEC;
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
 * long (test with {@link MmH#IS_ERR_VALUE}); munmap/mprotect return 0 or -errno. Not ported:
 * file mappings, VMA merging (adjacent mappings stay separate VMAs), stack growth, mlock,
 * userfaultfd, THP.
 */
public final class Mmap {
    private Mmap() {}

    /** mmap_min_addr. */
    public static final long mmap_min_addr = DEFAULT_MMAP_MIN_ADDR;

    /** The first VMA with {@code addr < vm_end}, or null. Caller holds the mmap lock. */
    @Port("mm/mmap.c:find_vma")
    public static VmAreaStruct find_vma(Mm mm, long addr) {
        Map.Entry<Long, VmAreaStruct> e = mm.mm_mt.floorEntry(addr);
        if (e != null && Long.compareUnsigned(addr, e.getValue().vm_end) < 0) {
            return e.getValue();
        }
        Map.Entry<Long, VmAreaStruct> h = mm.mm_mt.higherEntry(addr);
        return h == null ? null : h.getValue();
    }

    /** The VMA containing {@code addr}, or null (no stack to extend here). */
    @Port("mm/mmap.c:find_extend_vma")
    public static VmAreaStruct find_extend_vma(Mm mm, long addr) {
        VmAreaStruct vma = find_vma(mm, addr & mm.world.pgtable.PAGE_MASK);
        if (vma == null || Long.compareUnsigned(vma.vm_start, addr) > 0) {
            return null;
        }
        return vma;
    }

    private static VmAreaStruct prev_vma(Mm mm, long addr) {
        Map.Entry<Long, VmAreaStruct> e = mm.mm_mt.lowerEntry(addr);
        return e == null ? null : e.getValue();
    }

    /** calc_vm_prot_bits (mman.h). */
    @Port("include/linux/mman.h:calc_vm_prot_bits")
    public static long calc_vm_prot_bits(int prot) {
        return ((prot & PROT_READ) != 0 ? VM_READ : 0) | ((prot & PROT_WRITE) != 0 ? VM_WRITE : 0)
                | ((prot & PROT_EXEC) != 0 ? VM_EXEC : 0);
    }

    /**
     * Finds room for [addr, addr + len): the hint if free, else the highest gap below
     * mmap_base (top-down layout). Returns the address or -ENOMEM/-EINVAL.
     */
    @Port("mm/mmap.c:get_unmapped_area")
    public static long get_unmapped_area(Mm mm, long addr, long len, int flags) {
        Pgtable pt = mm.world.pgtable;
        long task = pt.TASK_SIZE;
        if (Long.compareUnsigned(len, task) > 0) {
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
            VmAreaStruct vma = find_vma(mm, addr);
            if (Long.compareUnsigned(task - len, addr) >= 0 && Long.compareUnsigned(addr, mmap_min_addr) >= 0
                    && (vma == null || Long.compareUnsigned(addr + len, vma.vm_start) <= 0)) {
                return addr;
            }
        }
        // arch_get_unmapped_area_topdown: walk gaps downward from mmap_base.
        long high = mm.mmap_base;
        for (Map.Entry<Long, VmAreaStruct> e = mm.mm_mt.lowerEntry(high); ; e = mm.mm_mt.lowerEntry(e.getKey())) {
            long low = e == null ? mmap_min_addr : e.getValue().vm_end;
            if (e != null && Long.compareUnsigned(e.getValue().vm_end, high) > 0) {
                high = e.getValue().vm_start; // VMA straddles mmap_base
            } else if (Long.compareUnsigned(high, low) >= 0 && Long.compareUnsigned(high - low, len) >= 0) {
                return high - len;
            } else if (e != null) {
                high = e.getValue().vm_start;
            }
            if (e == null) {
                break;
            }
        }
        // Bottom-up fallback above mmap_base.
        long lo = mm.mmap_base;
        Map.Entry<Long, VmAreaStruct> straddle = mm.mm_mt.lowerEntry(lo);
        if (straddle != null && Long.compareUnsigned(straddle.getValue().vm_end, lo) > 0) {
            lo = straddle.getValue().vm_end;
        }
        for (VmAreaStruct v : mm.mm_mt.tailMap(mm.mmap_base, true).values()) {
            if (Long.compareUnsigned(v.vm_start, lo) >= 0 && Long.compareUnsigned(v.vm_start - lo, len) >= 0) {
                return lo;
            }
            lo = Long.compareUnsigned(v.vm_end, lo) > 0 ? v.vm_end : lo;
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
     * (not MAP_ANONYMOUS: no files here).
     */
    @Port("mm/mmap.c:do_mmap")
    public static long do_mmap(Mm mm, long addr, long len, int prot, int flags, long pgoff) {
        mm.mmap_assert_write_locked();
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
            addr = round_hint_to_min(pt, addr);
        }
        len = (len + pt.PAGE_SIZE - 1) & pt.PAGE_MASK;
        if (len == 0) {
            return -ENOMEM;
        }
        if (mm.map_count > mm.world.sysctl_max_map_count) {
            return -ENOMEM;
        }
        long vm_flags = calc_vm_prot_bits(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
        // Anonymous memory knows only these two types; MAP_SHARED_VALIDATE is for files.
        switch (flags & MAP_TYPE) {
            case MAP_SHARED:
                vm_flags |= VM_SHARED | VM_MAYSHARE;
                break;
            case MAP_PRIVATE:
                break;
            default:
                return -EINVAL;
        }
        addr = get_unmapped_area(mm, addr, len, flags);
        if (IS_ERR_VALUE(addr)) {
            return addr;
        }
        if ((flags & MAP_FIXED_NOREPLACE) != 0) {
            VmAreaStruct vma = find_vma(mm, addr);
            if (vma != null && Long.compareUnsigned(vma.vm_start, addr + len) < 0) {
                return -EEXIST;
            }
        }
        return mmap_region(mm, addr, len, vm_flags, pgoff);
    }

    /** Truncates a hint to its page, and moves a hint below mmap_min_addr up to it. */
    @Port("mm/mmap.c:round_hint_to_min")
    static long round_hint_to_min(Pgtable pt, long hint) {
        hint &= pt.PAGE_MASK;
        if (hint != 0 && Long.compareUnsigned(hint, mmap_min_addr) < 0) {
            return (mmap_min_addr + pt.PAGE_SIZE - 1) & pt.PAGE_MASK;
        }
        return hint;
    }

    @Port("mm/mmap.c:mmap_region")
    private static long mmap_region(Mm mm, long addr, long len, long vm_flags, long pgoff) {
        // Whatever is mapped in the range goes first (MAP_FIXED may land on existing mappings).
        if (__do_munmap(mm, addr, len) != 0) {
            return -ENOMEM;
        }
        VmAreaStruct vma = Slab.kzalloc(() -> new VmAreaStruct(mm, addr, addr + len, vm_flags), Gfp.GFP_KERNEL);
        if (vma == null) {
            return -ENOMEM;
        }
        vma_link(mm, vma);
        return addr;
    }

    private static void vma_link(Mm mm, VmAreaStruct vma) {
        mm.mm_mt.put(vma.vm_start, vma);
        mm.map_count++;
    }

    /**
     * mmap(2) for an mm: takes the mmap write lock, maps, and faults the range in if
     * MAP_POPULATE. Return: as do_mmap, or -EINVAL for an unaligned/overflowing offset, -EINTR.
     */
    @Port("mm/util.c:vm_mmap_pgoff")
    public static long vm_mmap(Mm mm, long addr, long len, int prot, int flags) {
        int ret = mm.mmap_write_lock_killable();
        if (ret != 0) {
            return ret;
        }
        long r;
        try {
            r = do_mmap(mm, addr, len, prot, flags, 0);
        } finally {
            mm.mmap_write_unlock();
        }
        if (!IS_ERR_VALUE(r) && (flags & MAP_POPULATE) != 0) {
            mm_populate(mm, r, len);
        }
        return r;
    }

    /**
     * Faults in every page of [start, start + len) (write faults for private writable VMAs).
     * PROT_NONE VMAs are left alone: GUP's check_vma_flags refuses a read of a VMA without
     * VM_READ unless forced, and populating forces only VMAs with some access.
     */
    @Port("mm/gup.c:__mm_populate")
    public static int mm_populate(Mm mm, long start, long len) {
        Pgtable pt = mm.world.pgtable;
        long end = (start + len + pt.PAGE_SIZE - 1) & pt.PAGE_MASK;
        mm.mmap_read_lock();
        try {
            for (long a = start & pt.PAGE_MASK; Long.compareUnsigned(a, end) < 0; a += pt.PAGE_SIZE) {
                VmAreaStruct vma = find_extend_vma(mm, a);
                if (vma == null) {
                    return -ENOMEM;
                }
                if ((vma.vm_flags & VM_ACCESS_FLAGS) == 0) {
                    continue; // check_vma_flags: -EFAULT, which populating ignores
                }
                int flags = (vma.vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE ? FAULT_FLAG_WRITE : 0;
                long ptep = pt.follow_pte(mm.pgd, a);
                if (ptep != 0 && Pgtable.pte_present(pt.ptep_get(ptep))) {
                    continue;
                }
                int fault = MmFault.handle_mm_fault(vma, a, flags);
                if ((fault & MmH.VM_FAULT_ERROR) != 0) {
                    return (fault & MmH.VM_FAULT_OOM) != 0 ? -ENOMEM : -org.iommu4j.base.Errno.EFAULT;
                }
            }
        } finally {
            mm.mmap_read_unlock();
        }
        return 0;
    }

    /** Splits {@code vma} at {@code addr}; the new VMA takes the lower part if new_below. */
    @Port("mm/mmap.c:__split_vma")
    static int __split_vma(Mm mm, VmAreaStruct vma, long addr, boolean new_below) {
        VmAreaStruct n = Slab.kzalloc(() -> new VmAreaStruct(mm, vma.vm_start, vma.vm_end, vma.vm_flags), Gfp.GFP_KERNEL);
        if (n == null) {
            return -ENOMEM;
        }
        mm.mm_mt.remove(vma.vm_start);
        if (new_below) {
            n.vm_end = addr;
            vma.vm_start = addr;
        } else {
            n.vm_start = addr;
            vma.vm_end = addr;
        }
        n.vm_page_prot = vma.vm_page_prot;
        mm.mm_mt.put(vma.vm_start, vma);
        vma_link(mm, n);
        return 0;
    }

    @Port("mm/mmap.c:split_vma")
    static int split_vma(Mm mm, VmAreaStruct vma, long addr, boolean new_below) {
        if (mm.map_count >= mm.world.sysctl_max_map_count) {
            return -ENOMEM;
        }
        return __split_vma(mm, vma, addr, new_below);
    }

    /**
     * Unmaps [start, start + len). Caller holds the mmap write lock.
     * Return: 0 (also when nothing was mapped), -EINVAL (unaligned, zero length, beyond
     * TASK_SIZE), -ENOMEM (a split failed).
     */
    @Port("mm/mmap.c:__do_munmap")
    public static int __do_munmap(Mm mm, long start, long len) {
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
        VmAreaStruct vma = find_vma(mm, start);
        if (vma == null || Long.compareUnsigned(vma.vm_start, end) >= 0) {
            return 0;
        }
        if (Long.compareUnsigned(start, vma.vm_start) > 0) {
            if (Long.compareUnsigned(end, vma.vm_end) < 0 && mm.map_count >= mm.world.sysctl_max_map_count) {
                return -ENOMEM;
            }
            // The VMA keeps its lower part; the new one above is unmapped.
            int error = __split_vma(mm, vma, start, false);
            if (error != 0) {
                return error;
            }
        }
        // Does it split the last one? The new VMA below is unmapped; the VMA keeps the rest.
        VmAreaStruct last = find_vma(mm, end);
        if (last != null && Long.compareUnsigned(end, last.vm_start) > 0) {
            int error = __split_vma(mm, last, end, true);
            if (error != 0) {
                return error;
            }
        }
        // Detach the VMAs now fully inside [start, end).
        List<VmAreaStruct> detached = new ArrayList<>(mm.mm_mt.subMap(start, true, end, false).values());
        VmAreaStruct prev = prev_vma(mm, start);
        VmAreaStruct next = find_vma(mm, end);
        unmap_region(mm, detached, prev, next, start, end);
        for (VmAreaStruct v : detached) {
            mm.mm_mt.remove(v.vm_start);
            mm.map_count--;
        }
        return 0;
    }

    @Port("mm/mmap.c:do_munmap")
    public static int do_munmap(Mm mm, long start, long len) {
        return __do_munmap(mm, start, len);
    }

    /** munmap(2): takes the mmap write lock. Return: as __do_munmap, or -EINTR. */
    @Port("mm/mmap.c:vm_munmap")
    public static int vm_munmap(Mm mm, long start, long len) {
        int ret = mm.mmap_write_lock_killable();
        if (ret != 0) {
            return ret;
        }
        try {
            return __do_munmap(mm, start, len);
        } finally {
            mm.mmap_write_unlock();
        }
    }

    /** Zaps the pages of the detached VMAs, frees their tables, flushes and frees. */
    @Port("mm/mmap.c:unmap_region")
    private static void unmap_region(Mm mm, List<VmAreaStruct> vmas, VmAreaStruct prev, VmAreaStruct next,
            long start, long end) {
        if (vmas.isEmpty()) {
            return;
        }
        MmFault.MmuGather tlb = MmFault.tlb_gather_mmu(mm, false);
        MmFault.unmap_vmas(tlb, vmas, start, end);
        MmFault.free_pgtables(tlb, vmas.get(0).vm_start, vmas.get(vmas.size() - 1).vm_end);
        MmFault.tlb_finish_mmu(tlb);
    }

    /**
     * Tears down the whole address space (last mmput): the notifiers' release first, then every
     * page and table below the pgd.
     */
    @Port("mm/mmap.c:exit_mmap")
    public static void exit_mmap(Mm mm) {
        MmuNotifier.mmu_notifier_release(mm);
        mm.mmap_write_lock();
        try {
            List<VmAreaStruct> all = new ArrayList<>(mm.mm_mt.values());
            MmFault.MmuGather tlb = MmFault.tlb_gather_mmu(mm, true);
            if (!all.isEmpty()) {
                MmFault.unmap_vmas(tlb, all, 0, mm.world.pgtable.TASK_SIZE);
            }
            MmFault.free_pgtables(tlb, 0, mm.world.pgtable.TASK_SIZE);
            MmFault.tlb_finish_mmu(tlb);
            mm.mm_mt.clear();
            mm.map_count = 0;
        } finally {
            mm.mmap_write_unlock();
        }
    }

    /* ---------------- mm/mprotect.c ---------------- */

    /** arm64's arch_validate_prot without BTI/MTE. */
    @Port("include/linux/mman.h:arch_validate_prot")
    static boolean arch_validate_prot(int prot) {
        return (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) == 0;
    }

    /**
     * mprotect(2): changes the protection of [start, start + len).
     * Return: 0; -EINVAL (unaligned start, unknown prot bits); -ENOMEM (range not fully mapped,
     * overflow, split failure); -EACCES (protection beyond VM_MAY*); -EINTR.
     */
    @Port("mm/mprotect.c:do_mprotect_pkey")
    public static int mprotect(Mm mm, long start, long len, int prot) {
        Pgtable pt = mm.world.pgtable;
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
        if (!arch_validate_prot(prot)) {
            return -EINVAL;
        }
        int ret = mm.mmap_write_lock_killable();
        if (ret != 0) {
            return ret;
        }
        try {
            VmAreaStruct vma = find_vma(mm, start);
            if (vma == null || Long.compareUnsigned(vma.vm_start, start) > 0) {
                return -ENOMEM;
            }
            long nstart = start;
            for (;;) {
                long newflags = calc_vm_prot_bits(prot) | (vma.vm_flags & ~VM_ACCESS_FLAGS);
                if (((newflags & ~(newflags >>> 4)) & VM_ACCESS_FLAGS) != 0) {
                    return -EACCES;
                }
                long tmp = Long.compareUnsigned(vma.vm_end, end) < 0 ? vma.vm_end : end;
                int error = mprotect_fixup(mm, vma, nstart, tmp, newflags);
                if (error != 0) {
                    return error;
                }
                nstart = tmp;
                if (Long.compareUnsigned(nstart, end) >= 0) {
                    return 0;
                }
                vma = find_vma(mm, nstart);
                if (vma == null || vma.vm_start != nstart) {
                    return -ENOMEM;
                }
            }
        } finally {
            mm.mmap_write_unlock();
        }
    }

    @Port("mm/mprotect.c:mprotect_fixup")
    static int mprotect_fixup(Mm mm, VmAreaStruct vma, long start, long end, long newflags) {
        if (newflags == vma.vm_flags) {
            return 0;
        }
        if (start != vma.vm_start) {
            int error = split_vma(mm, vma, start, true);
            if (error != 0) {
                return error;
            }
        }
        if (end != vma.vm_end) {
            int error = split_vma(mm, vma, end, false);
            if (error != 0) {
                return error;
            }
        }
        vma.vm_flags = newflags;
        VmAreaStruct.vma_set_page_prot(vma);
        MmFault.change_protection(vma, start, end, vma.vm_page_prot);
        return 0;
    }

}
