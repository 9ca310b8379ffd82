package org.iommu4j.mm;

import org.iommu4j.base.Port;

/**
 * Constants of include/linux/mm.h, mm_types.h, mman-common.h and mmu_notifier.h (v5.15 values):
 * VMA flags, mmap/mprotect arguments, fault flags and {@code vm_fault_t} results.
 */
@Port("include/linux/mm.h:VM_READ")
public final class MmH {
    private MmH() {}

    /* ---- vm_flags (include/linux/mm.h) ---- */
    public static final long VM_NONE = 0;
    public static final long VM_READ = 0x00000001;
    public static final long VM_WRITE = 0x00000002;
    public static final long VM_EXEC = 0x00000004;
    public static final long VM_SHARED = 0x00000008;
    public static final long VM_MAYREAD = 0x00000010;
    public static final long VM_MAYWRITE = 0x00000020;
    public static final long VM_MAYEXEC = 0x00000040;
    public static final long VM_MAYSHARE = 0x00000080;
    public static final long VM_GROWSDOWN = 0x00000100;
    public static final long VM_PFNMAP = 0x00000400;
    public static final long VM_LOCKED = 0x00002000;
    public static final long VM_IO = 0x00004000;
    public static final long VM_DONTCOPY = 0x00020000;
    public static final long VM_DONTEXPAND = 0x00040000;
    public static final long VM_ACCOUNT = 0x00100000;
    public static final long VM_NORESERVE = 0x00200000;
    public static final long VM_HUGETLB = 0x00400000;
    public static final long VM_SOFTDIRTY = 0x08000000;
    public static final long VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;

    /* ---- mmap/mprotect (include/uapi/asm-generic/mman-common.h) ---- */
    public static final int PROT_NONE = 0x0;
    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int PROT_EXEC = 0x4;
    public static final int PROT_SEM = 0x8;
    /** mprotect: extend the change down to the start of a growsdown (stack) VMA. */
    public static final int PROT_GROWSDOWN = 0x01000000;
    /** mprotect: extend the change up to the end of a growsup VMA (none on arm64). */
    public static final int PROT_GROWSUP = 0x02000000;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_SHARED_VALIDATE = 0x03;
    public static final int MAP_TYPE = 0x0f;
    public static final int MAP_FIXED = 0x10;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_POPULATE = 0x008000;
    public static final int MAP_FIXED_NOREPLACE = 0x100000;

    /** include/linux/mm.h DEFAULT_MAX_MAP_COUNT. */
    public static final int DEFAULT_MAX_MAP_COUNT = 65530;
    /**
     * The lowest user address whose page tables free_pgtables may free (arm64: 0, as the
     * generic default).
     */
    public static final long FIRST_USER_ADDRESS = 0;
    /**
     * The ceiling free_pgtables is given when no VMA lies above (include/linux/pgtable.h):
     * 0, which free_pgd_range reads as the top of the address space.
     */
    public static final long USER_PGTABLES_CEILING = 0;
    /** mm/Kconfig DEFAULT_MMAP_MIN_ADDR on arm64 defconfig. */
    public static final long DEFAULT_MMAP_MIN_ADDR = 4096;

    /* ---- enum fault_flag (include/linux/mm.h) ---- */
    public static final int FAULT_FLAG_WRITE = 1 << 0;
    public static final int FAULT_FLAG_MKWRITE = 1 << 1;
    public static final int FAULT_FLAG_ALLOW_RETRY = 1 << 2;
    public static final int FAULT_FLAG_RETRY_NOWAIT = 1 << 3;
    public static final int FAULT_FLAG_KILLABLE = 1 << 4;
    public static final int FAULT_FLAG_TRIED = 1 << 5;
    public static final int FAULT_FLAG_USER = 1 << 6;
    public static final int FAULT_FLAG_REMOTE = 1 << 7;
    public static final int FAULT_FLAG_INSTRUCTION = 1 << 8;
    public static final int FAULT_FLAG_INTERRUPTIBLE = 1 << 9;

    /* ---- vm_fault_t (include/linux/mm_types.h enum vm_fault_reason) ---- */
    public static final int VM_FAULT_OOM = 0x000001;
    public static final int VM_FAULT_SIGBUS = 0x000002;
    public static final int VM_FAULT_MAJOR = 0x000004;
    public static final int VM_FAULT_WRITE = 0x000008;
    public static final int VM_FAULT_HWPOISON = 0x000010;
    public static final int VM_FAULT_HWPOISON_LARGE = 0x000020;
    public static final int VM_FAULT_SIGSEGV = 0x000040;
    public static final int VM_FAULT_NOPAGE = 0x000100;
    public static final int VM_FAULT_LOCKED = 0x000200;
    public static final int VM_FAULT_RETRY = 0x000400;
    public static final int VM_FAULT_FALLBACK = 0x000800;
    public static final int VM_FAULT_DONE_COW = 0x001000;
    public static final int VM_FAULT_NEEDDSYNC = 0x002000;
    public static final int VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV
            | VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE | VM_FAULT_FALLBACK;
    /** arch/arm64/mm/fault.c: no VMA covers the address. */
    @Port("arch/arm64/mm/fault.c:VM_FAULT_BADMAP")
    public static final int VM_FAULT_BADMAP = 0x010000;
    /** arch/arm64/mm/fault.c: the VMA does not allow the access. */
    @Port("arch/arm64/mm/fault.c:VM_FAULT_BADACCESS")
    public static final int VM_FAULT_BADACCESS = 0x020000;

    /* ---- enum mmu_notifier_event (include/linux/mmu_notifier.h) ---- */
    public static final int MMU_NOTIFY_UNMAP = 0;
    public static final int MMU_NOTIFY_CLEAR = 1;
    public static final int MMU_NOTIFY_PROTECTION_VMA = 2;
    public static final int MMU_NOTIFY_PROTECTION_PAGE = 3;
    public static final int MMU_NOTIFY_SOFT_DIRTY = 4;
    public static final int MMU_NOTIFY_RELEASE = 5;
    public static final int MMU_NOTIFY_MIGRATE = 6;
    public static final int MMU_NOTIFY_EXCLUSIVE = 7;
    public static final int MMU_NOTIFIER_RANGE_BLOCKABLE = 1 << 0;
}
