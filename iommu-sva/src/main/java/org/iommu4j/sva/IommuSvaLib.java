package org.iommu4j.sva;

import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.EOVERFLOW;
import static org.iommu4j.ioasid.Ioasid.INVALID_IOASID;
import static org.iommu4j.ioasid.Ioasid.IOASID_SET_TYPE_NULL;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PERM_EXEC;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PERM_PRIV;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PERM_READ;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PERM_WRITE;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_INVALID;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_SUCCESS;
import static org.iommu4j.mm.MmH.FAULT_FLAG_INSTRUCTION;
import static org.iommu4j.mm.MmH.FAULT_FLAG_REMOTE;
import static org.iommu4j.mm.MmH.FAULT_FLAG_USER;
import static org.iommu4j.mm.MmH.FAULT_FLAG_WRITE;
import static org.iommu4j.mm.MmH.VM_EXEC;
import static org.iommu4j.mm.MmH.VM_FAULT_ERROR;
import static org.iommu4j.mm.MmH.VM_READ;
import static org.iommu4j.mm.MmH.VM_WRITE;

import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Port;
import org.iommu4j.ioasid.Ioasid;
import org.iommu4j.ioasid.IoasidSet;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuFault;
import org.iommu4j.mm.Mm;
import org.iommu4j.mm.MmFault;
import org.iommu4j.mm.Mmap;
import org.iommu4j.mm.VmAreaStruct;

/**
 * drivers/iommu/iommu-sva-lib.c (v5.11-v5.17): the PASID of a process address space shared with
 * devices, and the resolution of the I/O page faults devices take in it.
 *
 * <p>One instance is one machine's library: the kernel's globals {@code iommu_sva_lock} and the
 * IOASID set {@code iommu_sva_pasid} are its fields, the set allocated from the machine's
 * {@link Ioasid} (seed 002 sets: its quota bounds how many address spaces can be bound at once).
 *
 * <p>PASID lifetime (the v5.11-v5.17 rule): {@link #iommu_sva_alloc_pasid} gives an mm a PASID on
 * its first bind, or takes one more reference on the PASID it already has;
 * {@link #iommu_sva_free_pasid} drops one, and the last one frees the PASID and clears
 * {@code mm->pasid} (0 means none in these kernels). The IOASID's private data is the mm, so
 * {@link #iommu_sva_find} turns a PASID from a page request back into its address space.
 *
 * <p>Faults: {@link #iommu_sva_handle_iopf} is the per-domain I/O page fault handler that
 * io-pgfault calls (see {@link IommuDomain#iopfHandler}); {@link #iommu_sva_install_iopf_handler}
 * puts it on a domain.
 */
public final class IommuSvaLib {
    /** {@code iommu_sva_lock}: serialises PASID allocation and release against each other. */
    @Port("drivers/iommu/iommu-sva-lib.c:iommu_sva_lock")
    private final ReentrantLock iommu_sva_lock = new ReentrantLock();
    private final Ioasid ioasid;
    /** {@code iommu_sva_pasid}: the set every SVA PASID belongs to; its data are the mms. */
    @Port("drivers/iommu/iommu-sva-lib.c:iommu_sva_pasid")
    private final IoasidSet iommu_sva_pasid;

    /** Default quota of the SVA PASID set: address spaces bound at once. */
    public static final int DEFAULT_QUOTA = 1 << 16;

    /**
     * The library of the machine whose IOASIDs {@code ioasid} allocates, with a set of
     * {@link #DEFAULT_QUOTA} PASIDs (or all the capacity left, if less).
     *
     * @throws ErrnoException -ENOSPC when no IOASID capacity is left for the set
     */
    public IommuSvaLib(Ioasid ioasid) {
        this(ioasid, Math.min(DEFAULT_QUOTA, Math.max(1, ioasid.ioasid_get_capacity_avail())));
    }

    /**
     * The library with a set of {@code quota} PASIDs reserved from the machine's IOASID capacity.
     *
     * @throws ErrnoException -EINVAL (quota 0), -ENOSPC (not enough capacity), -ENOMEM
     */
    public IommuSvaLib(Ioasid ioasid, int quota) {
        this.ioasid = ioasid;
        this.iommu_sva_pasid = ioasid.ioasid_set_alloc(null, quota, IOASID_SET_TYPE_NULL);
    }

    /** The IOASID allocator the PASIDs come from. */
    public Ioasid ioasid() {
        return ioasid;
    }

    /** The set of SVA PASIDs ({@code iommu_sva_pasid}). */
    public IoasidSet pasid_set() {
        return iommu_sva_pasid;
    }

    /** {@code pasid_valid()}: an mm's PASID field holds one (0 is "none" before v5.18). */
    private static boolean pasid_valid(int pasid) {
        return pasid != 0 && pasid != INVALID_IOASID;
    }

    /**
     * Gives {@code mm} a PASID in [min, max] (inclusive), or one more reference on the one it
     * has; the PASID is then in {@code mm.pasid}. The IOASID's private data is the mm.
     *
     * @return 0; -EINVAL (min or max INVALID_IOASID, min 0, or max below min); -EOVERFLOW (the
     *     mm's PASID is outside [min, max]); -ENOMEM (no PASID left in the range or in the set's
     *     quota, or no memory)
     */
    @Port("drivers/iommu/iommu-sva-lib.c:iommu_sva_alloc_pasid")
    public int iommu_sva_alloc_pasid(Mm mm, int min, int max) {
        if (min == INVALID_IOASID || max == INVALID_IOASID || min == 0 || Integer.compareUnsigned(max, min) < 0) {
            return -EINVAL;
        }
        iommu_sva_lock.lock();
        try {
            int cur = mm.pasid;
            if (pasid_valid(cur)) {
                // Already bound elsewhere: reuse its PASID if this device can address it.
                if (Integer.compareUnsigned(cur, min) >= 0 && Integer.compareUnsigned(cur, max) <= 0) {
                    ioasid.ioasid_get(cur);
                    return 0;
                }
                return -EOVERFLOW;
            }
            int pasid = ioasid.ioasid_alloc(iommu_sva_pasid, min, max, mm);
            if (pasid == INVALID_IOASID) {
                return -ENOMEM;
            }
            mm.pasid = pasid;
            return 0;
        } finally {
            iommu_sva_lock.unlock();
        }
    }

    /**
     * Drops one reference on the mm's PASID; the last one frees it and clears {@code mm.pasid}.
     * The caller has flushed the faults of the PASID (io-pgfault's {@code iopf_queue_flush_dev})
     * and invalidated what the devices cached for it.
     */
    @Port("drivers/iommu/iommu-sva-lib.c:iommu_sva_free_pasid")
    public void iommu_sva_free_pasid(Mm mm) {
        iommu_sva_lock.lock();
        try {
            if (ioasid.ioasid_put(iommu_sva_pasid, mm.pasid)) {
                mm.pasid = 0;
            }
        } finally {
            iommu_sva_lock.unlock();
        }
    }

    /**
     * The address space bound to {@code pasid}, with an {@code mm_users} reference the caller
     * drops with {@code mmput}; null if it is exiting.
     *
     * @throws ErrnoException -ENOENT (no such PASID), -EACCES (a PASID that is not SVA's)
     */
    @Port("drivers/iommu/iommu-sva-lib.c:iommu_sva_find")
    public Mm iommu_sva_find(int pasid) {
        return (Mm) ioasid.ioasid_find(iommu_sva_pasid, pasid, mm -> ((Mm) mm).mmget_not_zero());
    }

    /**
     * Resolves one recoverable I/O page fault in the address space of its PASID; the domain
     * handler io-pgfault calls, with {@code data} the library ({@link #iommu_sva_install_iopf_handler}).
     * The body is v5.15's {@code iopf_handle_single}: the request must carry a PASID bound to a
     * live mm; the address must lie in a VMA allowing the access asked for (read, write, exec);
     * the fault is then a remote one, a user one unless the request is privileged, and resolved
     * by {@code handle_mm_fault} under the mmap read lock.
     *
     * @return {@code IOMMU_PAGE_RESP_SUCCESS}, or {@code IOMMU_PAGE_RESP_INVALID} (no PASID,
     *     unknown PASID, exiting mm, no VMA, access the VMA forbids, or a fault error)
     */
    @Port("drivers/iommu/io-pgfault.c:iopf_handle_single")
    @Port("drivers/iommu/iommu-sva.c:iommu_sva_handle_iopf")
    public static int iommu_sva_handle_iopf(IommuFault fault, Object data) {
        IommuSvaLib lib = (IommuSvaLib) data;
        IommuFault.PageRequest prm = fault.prm;
        int status = IOMMU_PAGE_RESP_INVALID;
        if ((prm.flags & IOMMU_FAULT_PAGE_REQUEST_PASID_VALID) == 0) {
            return status;
        }
        Mm mm;
        try {
            mm = lib.iommu_sva_find(prm.pasid);
        } catch (ErrnoException e) {
            return status;
        }
        if (mm == null) {
            return status;
        }
        mm.mmap_read_lock();
        try {
            VmAreaStruct vma = Mmap.find_extend_vma(mm, prm.addr);
            if (vma == null) {
                return status; // unmapped area
            }
            long access = 0;
            int flags = FAULT_FLAG_REMOTE;
            if ((prm.perm & IOMMU_FAULT_PERM_READ) != 0) {
                access |= VM_READ;
            }
            if ((prm.perm & IOMMU_FAULT_PERM_WRITE) != 0) {
                access |= VM_WRITE;
                flags |= FAULT_FLAG_WRITE;
            }
            if ((prm.perm & IOMMU_FAULT_PERM_EXEC) != 0) {
                access |= VM_EXEC;
                flags |= FAULT_FLAG_INSTRUCTION;
            }
            if ((prm.perm & IOMMU_FAULT_PERM_PRIV) == 0) {
                flags |= FAULT_FLAG_USER;
            }
            if ((access & ~vma.vm_flags) != 0) {
                return status; // the VMA does not allow this access
            }
            int ret = MmFault.handle_mm_fault(vma, prm.addr, flags, null);
            return (ret & VM_FAULT_ERROR) != 0 ? IOMMU_PAGE_RESP_INVALID : IOMMU_PAGE_RESP_SUCCESS;
        } finally {
            mm.mmap_read_unlock();
            mm.mmput();
        }
    }

    /**
     * Makes {@link #iommu_sva_handle_iopf} the domain's I/O page fault handler, with this library
     * as its data: the faults io-pgfault takes on the domain's devices are resolved in the
     * address spaces of their PASIDs. What v6.2's {@code iommu_sva_bind_device} does for its
     * SVA domain, done here for the domain the v5.15 bond lives in.
     */
    public void iommu_sva_install_iopf_handler(IommuDomain domain) {
        domain.faultData = this;
        domain.iopfHandler = IommuSvaLib::iommu_sva_handle_iopf;
    }
}
