package org.iommu4j.mm;

import static org.iommu4j.mm.MmH.VM_EXEC;
import static org.iommu4j.mm.MmH.VM_READ;
import static org.iommu4j.mm.MmH.VM_SHARED;
import static org.iommu4j.mm.MmH.VM_WRITE;

import org.iommu4j.base.Port;

/**
 * {@code struct vm_area_struct}: one mapping [vm_start, vm_end) of an mm, anonymous memory only.
 * Fields are written under the mm's mmap write lock and read under its read lock.
 */
@Port("include/linux/mm_types.h:vm_area_struct")
public final class VmAreaStruct {
    public final Mm vm_mm;
    public long vm_start;
    /** Exclusive. */
    public long vm_end;
    public long vm_flags;
    /** The PTE attributes new pages get: protection_map[vm_flags]. */
    public long vm_page_prot;

    VmAreaStruct(Mm mm, long start, long end, long flags) {
        this.vm_mm = mm;
        this.vm_start = start;
        this.vm_end = end;
        this.vm_flags = flags;
        vma_set_page_prot(this);
    }

    /** protection_map lookup ({@code vm_get_page_prot}). */
    @Port("mm/mmap.c:vm_get_page_prot")
    public static long vm_get_page_prot(long vm_flags) {
        return arch_filter_pgprot(PgtableH.PROTECTION_MAP[(int) (vm_flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED))]);
    }

    /** Without FEAT_EPAN an execute-only page would be readable by the kernel: map it readable. */
    @Port("arch/arm64/include/asm/pgtable.h:arch_filter_pgprot")
    public static long arch_filter_pgprot(long prot) {
        return prot == PgtableH.PAGE_EXECONLY ? PgtableH.PAGE_READONLY_EXEC : prot;
    }

    @Port("mm/mmap.c:vma_set_page_prot")
    public static void vma_set_page_prot(VmAreaStruct vma) {
        vma.vm_page_prot = vm_get_page_prot(vma.vm_flags);
    }

    @Port("include/linux/mm.h:vma_is_anonymous")
    public boolean vma_is_anonymous() {
        return true;
    }

    @Override
    public String toString() {
        return String.format("vma[%x-%x %s%s%s%s]", vm_start, vm_end, (vm_flags & VM_READ) != 0 ? "r" : "-",
                (vm_flags & VM_WRITE) != 0 ? "w" : "-", (vm_flags & VM_EXEC) != 0 ? "x" : "-",
                (vm_flags & VM_SHARED) != 0 ? "s" : "p");
    }
}
