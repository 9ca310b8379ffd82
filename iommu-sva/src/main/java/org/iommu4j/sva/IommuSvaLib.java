package org.iommu4j.sva;

import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOSPC;
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

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.Refcount;
import org.iommu4j.base.Slab;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.Device;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.iommu.IommuSva;
import org.iommu4j.mm.MmuNotifier;
import org.iommu4j.mm.MmuNotifierOps;
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
 *
 * <p>Seed 004's generic library (its iommu-sva.c, of which mainline kept only the PASID helpers
 * above): {@link #iommu_sva_enable}/{@link #iommu_sva_disable} give a device its PASID range;
 * {@link #iommu_sva_bind_generic} binds an mm through one {@code io_mm} per mm (an MMU notifier
 * allocated with {@code mmu_notifier_get}, holding the PASID from the same set and the driver's
 * context from {@link IoMmOps#alloc}) and one bond per device, and calls the driver's
 * {@link IoMmOps} as devices attach and detach, as the CPU invalidates, and when the mm exits. Its
 * PASIDs are the io_mm's, not {@code mm->pasid}. Lock order: the device's {@code sva_lock}, then
 * {@code iommu_sva_lock}, then the IOASID lock.
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
            // v5.11-v5.17: any non-zero mm->pasid is the mm's PASID (pasid_valid() is v5.18's)
            if (cur != 0) {
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
                return status; // no VMA covers the address
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

    /* ---------------------------------------------------------------------------------------
     * Seed 004: the generic SVA library
     * --------------------------------------------------------------------------------------- */

    /**
     * Seed 004 {@code struct io_mm}: an address space shared with devices. The embedded
     * {@code mmu_notifier} is the superclass ({@code to_io_mm} is a cast).
     */
    @Port(value = "drivers/iommu/iommu-sva.c:io_mm", seed = "004")
    public static final class IoMm extends MmuNotifier {
        /** Bonds of the devices bound to it; written under iommu_sva_lock, read as RCU readers do. */
        final List<IommuBond> devices = new CopyOnWriteArrayList<>();
        final IoMmOps io_mm_ops;
        final Object ctx;
        final int pasid;
        /** The mm exited: the driver cleared every bond's entry. Guarded by iommu_sva_lock. */
        boolean cleared;

        IoMm(MmuNotifierOps ops, IoMmOps io_mm_ops, Object ctx, int pasid) {
            super(ops);
            this.io_mm_ops = io_mm_ops;
            this.ctx = ctx;
            this.pasid = pasid;
        }

        public int pasid() {
            return pasid;
        }
    }

    /** Seed 004 {@code struct iommu_bond}: a {device, io_mm} bond; the handle is its iommu_sva. */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_bond", seed = "004")
    public static final class IommuBond extends IommuSva {
        volatile IoMm io_mm;
        final Object drvdata;
        final Refcount refs = new Refcount(1);

        IommuBond(Device dev, IoMm io_mm, Object drvdata) {
            super(dev);
            this.io_mm = io_mm;
            this.drvdata = drvdata;
        }
    }

    /** What io_mm_alloc needs from the binder ({@code struct io_mm_alloc_params}). */
    private record IoMmAllocParams(IoMmOps ops, int min_pasid, int max_pasid) {}

    /** {@code iommu_mmu_notifier_ops}: this library's notifier, one per mm. */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_mmu_notifier_ops", seed = "004")
    private final MmuNotifierOps iommu_mmu_notifier_ops = new MmuNotifierOps() {
        @Override
        public MmuNotifier alloc_notifier(Mm mm, Object privdata) {
            return io_mm_alloc(mm, (IoMmAllocParams) privdata);
        }

        @Override
        public boolean has_alloc_notifier() {
            return true;
        }

        @Override
        public void free_notifier(MmuNotifier mn) {
            io_mm_free(mn);
        }

        @Override
        public boolean has_free_notifier() {
            return true;
        }

        @Override
        public void release(MmuNotifier mn, Mm mm) {
            io_mm_release(mn, mm);
        }

        @Override
        public boolean has_release() {
            return true;
        }

        @Override
        public void invalidate_range(MmuNotifier mn, Mm mm, long start, long end) {
            io_mm_invalidate_range(mn, mm, start, end);
        }

        @Override
        public boolean has_invalidate_range() {
            return true;
        }
    };

    /** A new io_mm: a PASID in the range (data: the mm) and the driver's context. */
    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_alloc", seed = "004")
    private MmuNotifier io_mm_alloc(Mm mm, IoMmAllocParams params) {
        if (Slab.kmalloc_should_fail(Gfp.GFP_KERNEL)) {
            throw new ErrnoException(-ENOMEM);
        }
        int pasid = ioasid.ioasid_alloc(iommu_sva_pasid, params.min_pasid(), params.max_pasid(), mm);
        if (pasid == INVALID_IOASID) {
            throw new ErrnoException(-ENOSPC);
        }
        Object ctx;
        try {
            ctx = params.ops().alloc(mm);
        } catch (ErrnoException e) {
            ioasid.ioasid_free(iommu_sva_pasid, pasid);
            throw e;
        }
        return new IoMm(iommu_mmu_notifier_ops, params.ops(), ctx, pasid);
    }

    /** After the last put and the SRCU grace period: the driver's context, then the PASID. */
    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_free", seed = "004")
    private void io_mm_free(MmuNotifier mn) {
        IoMm io_mm = (IoMm) mn;
        Warn.WARN_ON(!io_mm.devices.isEmpty());
        io_mm.io_mm_ops.free(io_mm.ctx);
        ioasid.ioasid_free(iommu_sva_pasid, io_mm.pasid);
    }

    /**
     * The io_mm of {@code mm}, allocated on first use, with one more reference.
     *
     * @throws ErrnoException -ENOSPC (no PASID), -ENOMEM, -EINVAL (the mm's io_mm has other
     *     ops), or the driver's alloc error
     */
    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_get", seed = "004")
    private IoMm io_mm_get(Mm mm, IoMmOps ops, int min_pasid, int max_pasid) {
        // mmu_notifier_get finds the mm's notifier of these ops, or creates it (io_mm_alloc).
        IoMm io_mm = (IoMm) MmuNotifier.mmu_notifier_get(iommu_mmu_notifier_ops, mm,
                new IoMmAllocParams(ops, min_pasid, max_pasid));
        if (Warn.WARN_ON(io_mm.io_mm_ops != ops)) {
            MmuNotifier.mmu_notifier_put(io_mm);
            throw new ErrnoException(-EINVAL);
        }
        return io_mm;
    }

    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_put", seed = "004")
    private static void io_mm_put(IoMm io_mm) {
        MmuNotifier.mmu_notifier_put(io_mm);
    }

    /**
     * Bonds the device to the io_mm, or takes one more reference on its bond. The driver writes
     * the PASID entry only for the first device of a domain. Consumes the caller's io_mm
     * reference on every path but success with a new bond.
     */
    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_attach", seed = "004")
    private IommuSva io_mm_attach(Device dev, IoMm io_mm, Object drvdata) {
        boolean attach_domain = true;
        IommuSvaParam param = (IommuSvaParam) DevIommu.dev_iommu(dev).svaParam;
        IommuDomain domain = Iommu.iommu_get_domain_for_dev(dev);
        IommuBond bond = Slab.kzalloc(() -> new IommuBond(dev, io_mm, drvdata), Gfp.GFP_KERNEL);
        if (bond == null) {
            throw new ErrnoException(-ENOMEM);
        }
        iommu_sva_lock.lock();
        try {
            // Scan the bonds: the same device means reuse; another device of this domain means the entry exists.
            for (IommuBond tmp : io_mm.devices) {
                if (tmp.dev != dev) {
                    if (Iommu.iommu_get_domain_for_dev(tmp.dev) == domain) {
                        attach_domain = false;
                    }
                    continue;
                }
                if (Warn.WARN_ON(tmp.drvdata != drvdata)) {
                    throw new ErrnoException(-EINVAL);
                }
                // The existing bond already holds its io_mm reference: release the one the caller brought.
                tmp.refs.refcount_inc();
                io_mm_put(io_mm);
                return tmp;
            }
            io_mm.devices.add(0, bond);
            param.nr_bonds++;
        } finally {
            iommu_sva_lock.unlock();
        }
        int ret = io_mm.io_mm_ops.attach(dev, io_mm.pasid, io_mm.ctx, attach_domain);
        if (ret != 0) {
            // Invalidations may already walk the list: the bond leaves it as an RCU reader would see.
            iommu_sva_lock.lock();
            try {
                param.nr_bonds--;
                io_mm.devices.remove(bond);
            } finally {
                iommu_sva_lock.unlock();
            }
            throw new ErrnoException(ret);
        }
        return bond;
    }

    /** Detaches a bond (last device of its domain: the driver clears the entry); drops its io_mm. */
    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_detach_locked", seed = "004")
    private void io_mm_detach_locked(IommuBond bond) {
        IoMm io_mm = bond.io_mm;
        if (io_mm == null) {
            return;
        }
        IommuDomain domain = Iommu.iommu_get_domain_for_dev(bond.dev);
        boolean detach_domain = true;
        // The entry stays while another device of this domain is bound to the mm.
        for (IommuBond tmp : io_mm.devices) {
            if (tmp != bond && Iommu.iommu_get_domain_for_dev(tmp.dev) == domain) {
                detach_domain = false;
                break;
            }
        }
        io_mm.io_mm_ops.detach(bond.dev, io_mm.pasid, io_mm.ctx, detach_domain, io_mm.cleared);
        io_mm.devices.remove(bond);
        bond.io_mm = null;
        io_mm_put(io_mm);
    }

    /**
     * The mm exits while devices are bound: each is told to stop translating for the PASID
     * ({@link IoMmOps#clear}); the bonds and the PASID stay until the devices unbind.
     */
    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_release", seed = "004")
    private void io_mm_release(MmuNotifier mn, Mm mm) {
        IoMm io_mm = (IoMm) mn;
        iommu_sva_lock.lock();
        try {
            for (IommuBond bond : io_mm.devices) {
                io_mm.io_mm_ops.clear(bond.dev, io_mm.pasid, io_mm.ctx);
            }
            io_mm.cleared = true;
        } finally {
            iommu_sva_lock.unlock();
        }
    }

    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_invalidate_range", seed = "004")
    private void io_mm_invalidate_range(MmuNotifier mn, Mm mm, long start, long end) {
        IoMm io_mm = (IoMm) mn;
        for (IommuBond bond : io_mm.devices) {
            io_mm.io_mm_ops.invalidate(bond.dev, io_mm.pasid, io_mm.ctx, start, end - start);
        }
    }

    /**
     * Binds {@code mm} to a device with SVA enabled, through the driver's {@code ops}: one io_mm
     * (and PASID, in the device's range) per mm, one bond per device, taken again by reference.
     *
     * @throws ErrnoException -ENODEV (no IOMMU data, or SVA not enabled), -ENOSPC (no PASID in
     *     the range), -ENOMEM, -EINVAL (another drvdata for an existing bond, or other ops for
     *     the mm's io_mm), or the driver's alloc/attach error
     */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_bind_generic", seed = "004")
    public IommuSva iommu_sva_bind_generic(Device dev, Mm mm, IoMmOps ops, Object drvdata) {
        DevIommu param = DevIommu.dev_iommu(dev);
        if (param == null) {
            throw new ErrnoException(-ENODEV);
        }
        param.sva_lock.lock();
        try {
            IommuSvaParam sva_param = (IommuSvaParam) param.svaParam;
            if (sva_param == null) {
                throw new ErrnoException(-ENODEV);
            }
            IoMm io_mm = io_mm_get(mm, ops, sva_param.min_pasid, sva_param.max_pasid);
            try {
                return io_mm_attach(dev, io_mm, drvdata);
            } catch (ErrnoException e) {
                io_mm_put(io_mm);
                throw e;
            }
        } finally {
            param.sva_lock.unlock();
        }
    }

    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_unbind_locked", seed = "004")
    private void iommu_sva_unbind_locked(IommuBond bond) {
        IommuSvaParam param = (IommuSvaParam) DevIommu.dev_iommu(bond.dev).svaParam;
        if (!bond.refs.refcount_dec_and_test()) {
            return;
        }
        io_mm_detach_locked(bond);
        param.nr_bonds--;
    }

    /**
     * Drops a reference on the bond; the last one detaches the device (the PASID goes with the
     * io_mm's last reference, after an SRCU grace period). The device has stopped using the PASID.
     */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_unbind_generic", seed = "004")
    public void iommu_sva_unbind_generic(IommuSva handle) {
        DevIommu param = DevIommu.dev_iommu(handle.dev);
        if (Warn.WARN_ON(param == null)) {
            return;
        }
        param.sva_lock.lock();
        try {
            iommu_sva_lock.lock();
            try {
                iommu_sva_unbind_locked((IommuBond) handle);
            } finally {
                iommu_sva_lock.unlock();
            }
        } finally {
            param.sva_lock.unlock();
        }
    }

    /** The bond's PASID, or IOMMU_PASID_INVALID once detached. */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_get_pasid_generic", seed = "004")
    public int iommu_sva_get_pasid_generic(IommuSva handle) {
        IoMm io_mm = ((IommuBond) handle).io_mm;
        return io_mm == null ? IommuH.IOMMU_PASID_INVALID : io_mm.pasid;
    }

    /**
     * Gives the device SVA parameters (a copy of {@code sva_param}: its PASID range).
     *
     * @return 0; -ENODEV (no IOMMU data); -ENOMEM; -EEXIST (already enabled)
     */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_enable", seed = "004")
    public int iommu_sva_enable(Device dev, IommuSvaParam sva_param) {
        DevIommu param = DevIommu.dev_iommu(dev);
        if (param == null) {
            return -ENODEV;
        }
        IommuSvaParam new_param = Slab.kzalloc(sva_param::copy, Gfp.GFP_KERNEL);
        if (new_param == null) {
            return -ENOMEM;
        }
        param.sva_lock.lock();
        try {
            if (param.svaParam != null) {
                return -EEXIST;
            }
            new_param.nr_bonds = 0;
            param.svaParam = new_param;
            return 0;
        } finally {
            param.sva_lock.unlock();
        }
    }

    /** @return 0; -EINVAL (no IOMMU data); -ENODEV (not enabled); -EBUSY (still bound) */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_disable", seed = "004")
    public int iommu_sva_disable(Device dev) {
        DevIommu param = DevIommu.dev_iommu(dev);
        if (param == null) {
            return -EINVAL;
        }
        param.sva_lock.lock();
        try {
            IommuSvaParam sva_param = (IommuSvaParam) param.svaParam;
            if (sva_param == null) {
                return -ENODEV;
            }
            // -EBUSY while any bond remains.
            if (sva_param.nr_bonds != 0) {
                return -EBUSY;
            }
            param.svaParam = null;
            return 0;
        } finally {
            param.sva_lock.unlock();
        }
    }

    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_enabled", seed = "004")
    public static boolean iommu_sva_enabled(Device dev) {
        DevIommu param = DevIommu.dev_iommu(dev);
        return param != null && param.svaParam != null;
    }
}
