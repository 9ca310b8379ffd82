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
    public final Mm vmMm;
    public long vmStart;
    /** Exclusive. */
    public long vmEnd;
    public long vmFlags;
    /** The PTE attributes new pages get: protection_map[vm_flags]. */
    public long vmPageProt;

    VmAreaStruct(Mm mm, long start, long end, long flags) {
        this.vmMm = mm;
        this.vmStart = start;
        this.vmEnd = end;
        this.vmFlags = flags;
        vmaSetPageProt(this);
    }

    /** protection_map lookup ({@code vm_get_page_prot}). */
    @Port("mm/mmap.c:vm_get_page_prot")
    public static long vmGetPageProt(long vmFlags) {
        return archFilterPgprot(PgtableH.PROTECTION_MAP[(int) (vmFlags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED))]);
    }

    /** Without FEAT_EPAN an execute-only page would be readable by the kernel: map it readable. */
    @Port("arch/arm64/include/asm/pgtable.h:arch_filter_pgprot")
    public static long archFilterPgprot(long prot) {
        return prot == PgtableH.PAGE_EXECONLY ? PgtableH.PAGE_READONLY_EXEC : prot;
    }

    @Port("mm/mmap.c:vma_set_page_prot")
    public static void vmaSetPageProt(VmAreaStruct vma) {
        vma.vmPageProt = vmGetPageProt(vma.vmFlags);
    }

    @Port("include/linux/mm.h:vma_is_anonymous")
    public boolean vmaIsAnonymous() {
        return true;
    }

    @Override
    public String toString() {
        return String.format("vma[%x-%x %s%s%s%s]", vmStart, vmEnd, (vmFlags & VM_READ) != 0 ? "r" : "-",
                (vmFlags & VM_WRITE) != 0 ? "w" : "-", (vmFlags & VM_EXEC) != 0 ? "x" : "-",
                (vmFlags & VM_SHARED) != 0 ? "s" : "p");
    }
}
