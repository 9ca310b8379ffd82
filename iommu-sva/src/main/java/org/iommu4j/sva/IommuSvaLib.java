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
 * <p>PASID lifetime (the v5.11-v5.17 rule): {@link #iommuSvaAllocPasid} gives an mm a PASID on
 * its first bind, or takes one more reference on the PASID it already has;
 * {@link #iommuSvaFreePasid} drops one, and the last one frees the PASID and clears
 * {@code mm->pasid} (0 means none in these kernels). The IOASID's private data is the mm, so
 * {@link #iommuSvaFind} turns a PASID from a page request back into its address space.
 *
 * <p>Faults: {@link #iommuSvaHandleIopf} is the per-domain I/O page fault handler that
 * io-pgfault calls (see {@link IommuDomain#iopfHandler}); {@link #iommuSvaInstallIopfHandler}
 * puts it on a domain.
 *
 * <p>Seed 004's generic library (its iommu-sva.c, of which mainline kept only the PASID helpers
 * above): {@link #iommuSvaEnable}/{@link #iommuSvaDisable} give a device its PASID range;
 * {@link #iommuSvaBindGeneric} binds an mm through one {@code io_mm} per mm (an MMU notifier
 * allocated with {@code mmu_notifier_get}, holding the PASID from the same set and the driver's
 * context from {@link IoMmOps#alloc}) and one bond per device, and calls the driver's
 * {@link IoMmOps} as devices attach and detach, as the CPU invalidates, and when the mm exits. Its
 * PASIDs are the io_mm's, not {@code mm->pasid}. Lock order: the device's {@code sva_lock}, then
 * {@code iommu_sva_lock}, then the IOASID lock.
 */
public final class IommuSvaLib {
    /** {@code iommu_sva_lock}: serialises PASID allocation and release against each other. */
    @Port("drivers/iommu/iommu-sva-lib.c:iommu_sva_lock")
    private final ReentrantLock iommuSvaLock = new ReentrantLock();
    private final Ioasid ioasid;
    /** {@code iommu_sva_pasid}: the set every SVA PASID belongs to; its data are the mms. */
    @Port("drivers/iommu/iommu-sva-lib.c:iommu_sva_pasid")
    private final IoasidSet iommuSvaPasid;

    /** Default quota of the SVA PASID set: address spaces bound at once. */
    public static final int DEFAULT_QUOTA = 1 << 16;

    /**
     * The library of the machine whose IOASIDs {@code ioasid} allocates, with a set of
     * {@link #DEFAULT_QUOTA} PASIDs (or all the capacity left, if less).
     *
     * @throws ErrnoException -ENOSPC when no IOASID capacity is left for the set
     */
    public IommuSvaLib(Ioasid ioasid) {
        this(ioasid, Math.min(DEFAULT_QUOTA, Math.max(1, ioasid.ioasidGetCapacityAvail())));
    }

    /**
     * The library with a set of {@code quota} PASIDs reserved from the machine's IOASID capacity.
     *
     * @throws ErrnoException -EINVAL (quota 0), -ENOSPC (not enough capacity), -ENOMEM
     */
    public IommuSvaLib(Ioasid ioasid, int quota) {
        this.ioasid = ioasid;
        this.iommuSvaPasid = ioasid.ioasidSetAlloc(null, quota, IOASID_SET_TYPE_NULL);
    }

    /** The IOASID allocator the PASIDs come from. */
    public Ioasid ioasid() {
        return ioasid;
    }

    /** The set of SVA PASIDs ({@code iommu_sva_pasid}). */
    public IoasidSet pasidSet() {
        return iommuSvaPasid;
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
    public int iommuSvaAllocPasid(Mm mm, int min, int max) {
        if (min == INVALID_IOASID || max == INVALID_IOASID || min == 0 || Integer.compareUnsigned(max, min) < 0) {
            return -EINVAL;
        }
        iommuSvaLock.lock();
        try {
            int cur = mm.pasid;
            // v5.11-v5.17: any non-zero mm->pasid is the mm's PASID (pasid_valid() is v5.18's)
            if (cur != 0) {
                // Already bound elsewhere: reuse its PASID if this device can address it.
                if (Integer.compareUnsigned(cur, min) >= 0 && Integer.compareUnsigned(cur, max) <= 0) {
                    ioasid.ioasidGet(cur);
                    return 0;
                }
                return -EOVERFLOW;
            }
            int pasid = ioasid.ioasidAlloc(iommuSvaPasid, min, max, mm);
            if (pasid == INVALID_IOASID) {
                return -ENOMEM;
            }
            mm.pasid = pasid;
            return 0;
        } finally {
            iommuSvaLock.unlock();
        }
    }

    /**
     * Drops one reference on the mm's PASID; the last one frees it and clears {@code mm.pasid}.
     * The caller has flushed the faults of the PASID (io-pgfault's {@code iopf_queue_flush_dev})
     * and invalidated what the devices cached for it.
     */
    @Port("drivers/iommu/iommu-sva-lib.c:iommu_sva_free_pasid")
    public void iommuSvaFreePasid(Mm mm) {
        iommuSvaLock.lock();
        try {
            if (ioasid.ioasidPut(iommuSvaPasid, mm.pasid)) {
                mm.pasid = 0;
            }
        } finally {
            iommuSvaLock.unlock();
        }
    }

    /**
     * The address space bound to {@code pasid}, with an {@code mm_users} reference the caller
     * drops with {@code mmput}; null if it is exiting.
     *
     * @throws ErrnoException -ENOENT (no such PASID), -EACCES (a PASID that is not SVA's)
     */
    @Port("drivers/iommu/iommu-sva-lib.c:iommu_sva_find")
    public Mm iommuSvaFind(int pasid) {
        return (Mm) ioasid.ioasidFind(iommuSvaPasid, pasid, mm -> ((Mm) mm).mmgetNotZero());
    }

    /**
     * Resolves one recoverable I/O page fault in the address space of its PASID; the domain
     * handler io-pgfault calls, with {@code data} the library ({@link #iommuSvaInstallIopfHandler}).
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
    public static int iommuSvaHandleIopf(IommuFault fault, Object data) {
        IommuSvaLib lib = (IommuSvaLib) data;
        IommuFault.PageRequest prm = fault.prm;
        int status = IOMMU_PAGE_RESP_INVALID;
        if ((prm.flags & IOMMU_FAULT_PAGE_REQUEST_PASID_VALID) == 0) {
            return status;
        }
        Mm mm;
        try {
            mm = lib.iommuSvaFind(prm.pasid);
        } catch (ErrnoException e) {
            return status;
        }
        if (mm == null) {
            return status;
        }
        mm.mmapReadLock();
        try {
            VmAreaStruct vma = Mmap.findExtendVma(mm, prm.addr);
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
            if ((access & ~vma.vmFlags) != 0) {
                return status; // the VMA does not allow this access
            }
            int ret = MmFault.handleMmFault(vma, prm.addr, flags, null);
            return (ret & VM_FAULT_ERROR) != 0 ? IOMMU_PAGE_RESP_INVALID : IOMMU_PAGE_RESP_SUCCESS;
        } finally {
            mm.mmapReadUnlock();
            mm.mmput();
        }
    }

    /**
     * Makes {@link #iommuSvaHandleIopf} the domain's I/O page fault handler, with this library
     * as its data: the faults io-pgfault takes on the domain's devices are resolved in the
     * address spaces of their PASIDs. What v6.2's {@code iommu_sva_bind_device} does for its
     * SVA domain, done here for the domain the v5.15 bond lives in.
     */
    public void iommuSvaInstallIopfHandler(IommuDomain domain) {
        domain.faultData = this;
        domain.iopfHandler = IommuSvaLib::iommuSvaHandleIopf;
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
        final IoMmOps ioMmOps;
        final Object ctx;
        final int pasid;
        /** The mm exited: the driver cleared every bond's entry. Guarded by iommu_sva_lock. */
        boolean cleared;

        IoMm(MmuNotifierOps ops, IoMmOps ioMmOps, Object ctx, int pasid) {
            super(ops);
            this.ioMmOps = ioMmOps;
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
    private record IoMmAllocParams(IoMmOps ops, int minPasid, int maxPasid) {}

    /** {@code iommu_mmu_notifier_ops}: this library's notifier, one per mm. */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_mmu_notifier_ops", seed = "004")
    private final MmuNotifierOps iommuMmuNotifierOps = new MmuNotifierOps() {
        @Override
        public MmuNotifier allocNotifier(Mm mm, Object privdata) {
            return ioMmAlloc(mm, (IoMmAllocParams) privdata);
        }

        @Override
        public boolean hasAllocNotifier() {
            return true;
        }

        @Override
        public void freeNotifier(MmuNotifier mn) {
            ioMmFree(mn);
        }

        @Override
        public boolean hasFreeNotifier() {
            return true;
        }

        @Override
        public void release(MmuNotifier mn, Mm mm) {
            ioMmRelease(mn, mm);
        }

        @Override
        public boolean hasRelease() {
            return true;
        }

        @Override
        public void invalidateRange(MmuNotifier mn, Mm mm, long start, long end) {
            ioMmInvalidateRange(mn, mm, start, end);
        }

        @Override
        public boolean hasInvalidateRange() {
            return true;
        }
    };

    /** A new io_mm: a PASID in the range (data: the mm) and the driver's context. */
    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_alloc", seed = "004")
    private MmuNotifier ioMmAlloc(Mm mm, IoMmAllocParams params) {
        if (Slab.kmallocShouldFail(Gfp.GFP_KERNEL)) {
            throw new ErrnoException(-ENOMEM);
        }
        int pasid = ioasid.ioasidAlloc(iommuSvaPasid, params.minPasid(), params.maxPasid(), mm);
        if (pasid == INVALID_IOASID) {
            throw new ErrnoException(-ENOSPC);
        }
        Object ctx;
        try {
            ctx = params.ops().alloc(mm);
        } catch (ErrnoException e) {
            ioasid.ioasidFree(iommuSvaPasid, pasid);
            throw e;
        }
        return new IoMm(iommuMmuNotifierOps, params.ops(), ctx, pasid);
    }

    /** After the last put and the SRCU grace period: the driver's context, then the PASID. */
    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_free", seed = "004")
    private void ioMmFree(MmuNotifier mn) {
        IoMm io_mm = (IoMm) mn;
        Warn.WARN_ON(!io_mm.devices.isEmpty());
        io_mm.ioMmOps.free(io_mm.ctx);
        ioasid.ioasidFree(iommuSvaPasid, io_mm.pasid);
    }

    /**
     * The io_mm of {@code mm}, allocated on first use, with one more reference.
     *
     * @throws ErrnoException -ENOSPC (no PASID), -ENOMEM, -EINVAL (the mm's io_mm has other
     *     ops), or the driver's alloc error
     */
    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_get", seed = "004")
    private IoMm ioMmGet(Mm mm, IoMmOps ops, int minPasid, int maxPasid) {
        // mmu_notifier_get finds the mm's notifier of these ops, or creates it (io_mm_alloc).
        IoMm io_mm = (IoMm) MmuNotifier.mmuNotifierGet(iommuMmuNotifierOps, mm,
                new IoMmAllocParams(ops, minPasid, maxPasid));
        if (Warn.WARN_ON(io_mm.ioMmOps != ops)) {
            MmuNotifier.mmuNotifierPut(io_mm);
            throw new ErrnoException(-EINVAL);
        }
        return io_mm;
    }

    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_put", seed = "004")
    private static void ioMmPut(IoMm io_mm) {
        MmuNotifier.mmuNotifierPut(io_mm);
    }

    /**
     * Bonds the device to the io_mm, or takes one more reference on its bond. The driver writes
     * the PASID entry only for the first device of a domain. Consumes the caller's io_mm
     * reference on every path but success with a new bond. Seed 004 v5 order: the existing bonds
     * are examined first, so taking one again, or refusing another drvdata (-EINVAL), allocates
     * nothing and cannot fail for lack of memory; only a new bond is allocated.
     */
    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_attach", seed = "004")
    private IommuSva ioMmAttach(Device dev, IoMm io_mm, Object drvdata) {
        boolean attachDomain = true;
        IommuSvaParam param = (IommuSvaParam) DevIommu.devIommu(dev).svaParam;
        IommuDomain domain = Iommu.iommuGetDomainForDev(dev);
        IommuBond bond;
        iommuSvaLock.lock();
        try {
            // Scan the bonds: the same device means reuse; another device of this domain means the entry exists.
            for (IommuBond tmp : io_mm.devices) {
                if (tmp.dev == dev) {
                    if (Warn.WARN_ON(tmp.drvdata != drvdata)) {
                        throw new ErrnoException(-EINVAL);
                    }
                    // The existing bond already holds its io_mm reference: release the one the caller brought.
                    tmp.refs.refcountInc();
                    ioMmPut(io_mm);
                    return tmp;
                }
                if (attachDomain && Iommu.iommuGetDomainForDev(tmp.dev) == domain) {
                    attachDomain = false;
                }
            }
            bond = Slab.kzalloc(() -> new IommuBond(dev, io_mm, drvdata), Gfp.GFP_KERNEL);
            if (bond == null) {
                throw new ErrnoException(-ENOMEM);
            }
            io_mm.devices.add(0, bond);
            param.nrBonds++;
        } finally {
            iommuSvaLock.unlock();
        }
        int ret = io_mm.ioMmOps.attach(dev, io_mm.pasid, io_mm.ctx, attachDomain);
        if (ret != 0) {
            // Invalidations may already walk the list: the bond leaves it as an RCU reader would see.
            iommuSvaLock.lock();
            try {
                param.nrBonds--;
                io_mm.devices.remove(bond);
            } finally {
                iommuSvaLock.unlock();
            }
            throw new ErrnoException(ret);
        }
        return bond;
    }

    /** Detaches a bond (last device of its domain: the driver clears the entry); drops its io_mm. */
    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_detach_locked", seed = "004")
    private void ioMmDetachLocked(IommuBond bond) {
        IoMm io_mm = bond.io_mm;
        if (io_mm == null) {
            return;
        }
        IommuDomain domain = Iommu.iommuGetDomainForDev(bond.dev);
        boolean detachDomain = true;
        // The entry stays while another device of this domain is bound to the mm.
        for (IommuBond tmp : io_mm.devices) {
            if (tmp != bond && Iommu.iommuGetDomainForDev(tmp.dev) == domain) {
                detachDomain = false;
                break;
            }
        }
        io_mm.ioMmOps.detach(bond.dev, io_mm.pasid, io_mm.ctx, detachDomain, io_mm.cleared);
        io_mm.devices.remove(bond);
        bond.io_mm = null;
        ioMmPut(io_mm);
    }

    /**
     * The mm exits while devices are bound: each is told to stop translating for the PASID
     * ({@link IoMmOps#clear}); the bonds and the PASID stay until the devices unbind.
     */
    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_release", seed = "004")
    private void ioMmRelease(MmuNotifier mn, Mm mm) {
        IoMm io_mm = (IoMm) mn;
        iommuSvaLock.lock();
        try {
            for (IommuBond bond : io_mm.devices) {
                io_mm.ioMmOps.clear(bond.dev, io_mm.pasid, io_mm.ctx);
            }
            io_mm.cleared = true;
        } finally {
            iommuSvaLock.unlock();
        }
    }

    @Port(value = "drivers/iommu/iommu-sva.c:io_mm_invalidate_range", seed = "004")
    private void ioMmInvalidateRange(MmuNotifier mn, Mm mm, long start, long end) {
        IoMm io_mm = (IoMm) mn;
        for (IommuBond bond : io_mm.devices) {
            io_mm.ioMmOps.invalidate(bond.dev, io_mm.pasid, io_mm.ctx, start, end - start);
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
    public IommuSva iommuSvaBindGeneric(Device dev, Mm mm, IoMmOps ops, Object drvdata) {
        DevIommu param = DevIommu.devIommu(dev);
        if (param == null) {
            throw new ErrnoException(-ENODEV);
        }
        param.svaLock.lock();
        try {
            IommuSvaParam svaParam = (IommuSvaParam) param.svaParam;
            if (svaParam == null) {
                throw new ErrnoException(-ENODEV);
            }
            IoMm io_mm = ioMmGet(mm, ops, svaParam.minPasid, svaParam.maxPasid);
            try {
                return ioMmAttach(dev, io_mm, drvdata);
            } catch (ErrnoException e) {
                ioMmPut(io_mm);
                throw e;
            }
        } finally {
            param.svaLock.unlock();
        }
    }

    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_unbind_locked", seed = "004")
    private void iommuSvaUnbindLocked(IommuBond bond) {
        IommuSvaParam param = (IommuSvaParam) DevIommu.devIommu(bond.dev).svaParam;
        if (!bond.refs.refcountDecAndTest()) {
            return;
        }
        ioMmDetachLocked(bond);
        param.nrBonds--;
    }

    /**
     * Drops a reference on the bond; the last one detaches the device (the PASID goes with the
     * io_mm's last reference, after an SRCU grace period). The device has stopped using the PASID.
     */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_unbind_generic", seed = "004")
    public void iommuSvaUnbindGeneric(IommuSva handle) {
        DevIommu param = DevIommu.devIommu(handle.dev);
        if (Warn.WARN_ON(param == null)) {
            return;
        }
        param.svaLock.lock();
        try {
            iommuSvaLock.lock();
            try {
                iommuSvaUnbindLocked((IommuBond) handle);
            } finally {
                iommuSvaLock.unlock();
            }
        } finally {
            param.svaLock.unlock();
        }
    }

    /** The bond's PASID, or IOMMU_PASID_INVALID once detached. */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_get_pasid_generic", seed = "004")
    public int iommuSvaGetPasidGeneric(IommuSva handle) {
        IoMm io_mm = ((IommuBond) handle).io_mm;
        return io_mm == null ? IommuH.IOMMU_PASID_INVALID : io_mm.pasid;
    }

    /**
     * Gives the device SVA parameters (a copy of {@code sva_param}: its PASID range).
     *
     * @return 0; -ENODEV (no IOMMU data); -ENOMEM; -EEXIST (already enabled)
     */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_enable", seed = "004")
    public int iommuSvaEnable(Device dev, IommuSvaParam svaParam) {
        DevIommu param = DevIommu.devIommu(dev);
        if (param == null) {
            return -ENODEV;
        }
        IommuSvaParam newParam = Slab.kzalloc(svaParam::copy, Gfp.GFP_KERNEL);
        if (newParam == null) {
            return -ENOMEM;
        }
        param.svaLock.lock();
        try {
            if (param.svaParam != null) {
                return -EEXIST;
            }
            newParam.nrBonds = 0;
            param.svaParam = newParam;
            return 0;
        } finally {
            param.svaLock.unlock();
        }
    }

    /** @return 0; -EINVAL (no IOMMU data); -ENODEV (not enabled); -EBUSY (still bound) */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_disable", seed = "004")
    public int iommuSvaDisable(Device dev) {
        DevIommu param = DevIommu.devIommu(dev);
        if (param == null) {
            return -EINVAL;
        }
        param.svaLock.lock();
        try {
            IommuSvaParam svaParam = (IommuSvaParam) param.svaParam;
            if (svaParam == null) {
                return -ENODEV;
            }
            // -EBUSY while any bond remains.
            if (svaParam.nrBonds != 0) {
                return -EBUSY;
            }
            param.svaParam = null;
            return 0;
        } finally {
            param.svaLock.unlock();
        }
    }

    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_enabled", seed = "004")
    public static boolean iommuSvaEnabled(Device dev) {
        DevIommu param = DevIommu.devIommu(dev);
        return param != null && param.svaParam != null;
    }
}
