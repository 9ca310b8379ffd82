package org.iommu4j.smmuv3;

import static org.iommu4j.base.Bits.FIELD_GET;
import static org.iommu4j.base.Bits.FIELD_PREP;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.base.Errno.ESRCH;
import static org.iommu4j.base.device.DevPrintk.devDbg;
import static org.iommu4j.base.device.DevPrintk.devErr;
import static org.iommu4j.iommu.pgtable.IoPgtableArm.ARM_LPAE_TCR_RGN_WBWA;
import static org.iommu4j.iommu.pgtable.IoPgtableArm.ARM_LPAE_TCR_SH_IS;
import static org.iommu4j.iommu.pgtable.IoPgtableArm.ARM_LPAE_TCR_TG0_16K;
import static org.iommu4j.iommu.pgtable.IoPgtableArm.ARM_LPAE_TCR_TG0_4K;
import static org.iommu4j.iommu.pgtable.IoPgtableArm.ARM_LPAE_TCR_TG0_64K;
import static org.iommu4j.mm.PgtableH.ID_AA64MMFR0_ASID_MASK;
import static org.iommu4j.mm.PgtableH.ID_AA64MMFR0_PARANGE_MASK;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.Port;
import org.iommu4j.base.Refcount;
import org.iommu4j.base.Slab;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.Device;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuSva;
import org.iommu4j.iopf.IoPgfault;
import org.iommu4j.mm.Mm;
import org.iommu4j.mm.MmWorld;
import org.iommu4j.mm.MmuNotifier;
import org.iommu4j.mm.MmuNotifierOps;
import org.iommu4j.sva.IoMmOps;
import org.iommu4j.sva.IommuSvaLib;
import org.iommu4j.sva.IommuSvaParam;

/**
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c (v5.15): Shared Virtual Addressing on the
 * SMMUv3. A process address space is bound to a device's PASID by writing, at that SSID of the
 * device domain's CD table, a context descriptor that points at the process's own page tables
 * (TTB0 = the mm's pgd) and carries the process's ASID, pinned on the CPU side so that it
 * survives ASID rollovers; an MMU notifier keeps the SMMU's TLB and the devices' ATCs in step
 * with the CPU's changes to those tables.
 *
 * <p>Shared ASIDs: the SMMU tags TLB entries of a shared CD with the CPU's ASID (ASET = 0), so
 * with broadcast TLB maintenance (BTM) the CPU's own TLBIs reach the SMMU. If a private domain
 * already uses that ASID on the SMMU side, the domain is moved to a fresh ASID first
 * ({@link #armSmmuShareAsid}).
 *
 * <p>One instance per driver instance: the kernel's global {@code sva_lock} is its field. It
 * serialises binds, unbinds, SVA enable/disable and the notifier's release against each other.
 * The CPU side (features, ASID allocator, page tables) is the driver's {@link ArmSmmuV3#mmWorld};
 * PASIDs come from its {@link ArmSmmuV3#iommuSva} library.
 */
public final class ArmSmmuV3Sva {
    private final ArmSmmuV3 drv;

    /** {@code sva_lock}: binds, unbinds, master SVA state and notifier release. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:sva_lock")
    final ReentrantLock svaLock = new ReentrantLock();

    ArmSmmuV3Sva(ArmSmmuV3 drv) {
        this.drv = drv;
    }

    /**
     * Seed 004: bind through the SVA library's generic {@code io_mm} layer with
     * {@link #armSmmuMmOps}, instead of v5.15's own bonds and notifiers. Set before SVA is
     * enabled on any device.
     */
    public volatile boolean svaGeneric;

    /**
     * {@code struct arm_smmu_mmu_notifier}: one per {domain, mm} pair, holding the shared CD.
     * The embedded {@code struct mmu_notifier} is the superclass ({@code mn_to_smmu} is a cast).
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_mmu_notifier")
    public static final class ArmSmmuMmuNotifier extends MmuNotifier {
        public ArmSmmuCtxDesc cd;
        /** The mm exited: the CD was quiesced and its ASID invalidated. Guarded by sva_lock. */
        public boolean cleared;
        public final Refcount refs = new Refcount(1);
        public ArmSmmuDomain domain;

        ArmSmmuMmuNotifier(MmuNotifierOps ops) {
            super(ops);
        }
    }

    /** {@code struct arm_smmu_bond}: a {device, mm} bond; the handle is the embedded iommu_sva. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_bond")
    public static final class ArmSmmuBond extends IommuSva {
        public Mm mm;
        public ArmSmmuMmuNotifier smmuMn;
        public final Refcount refs = new Refcount(1);

        ArmSmmuBond(Device dev) {
            super(dev);
        }
    }

    /* ---------------------------------------------------------------------------------------
     * Shared context descriptors
     * --------------------------------------------------------------------------------------- */

    /**
     * Makes the CPU ASID {@code asid} usable by an SVA CD. Free: null. Held by the shared CD of
     * the same mm: that CD, with one more reference. Held by a private domain: the domain moves
     * to a new ASID (its CD rewritten, the old ASID's TLB entries invalidated) and null.
     * Called with arm_smmu_asid_lock held.
     *
     * @throws ErrnoException -EINVAL (the ASID's shared CD belongs to another mm), -ENOSPC (no
     *     ASID left to move the private domain to)
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_share_asid")
    ArmSmmuCtxDesc armSmmuShareAsid(Mm mm, int asid) {
        ArmSmmuCtxDesc cd = drv.armSmmuAsidXa.get(asid);
        if (cd == null) {
            return null;
        }
        if (cd.mm != null) {
            if (Warn.WARN_ON(cd.mm != mm)) {
                throw new ErrnoException(-EINVAL);
            }
            // The mm already has its shared CD: all its bound devices share it.
            cd.refs.refcountInc();
            return cd;
        }
        ArmSmmuDomain smmuDomain = cd.domain;
        ArmSmmuDevice smmu = smmuDomain.smmu;
        int newAsid = drv.asidXaAlloc(cd, (1 << smmu.asidBits) - 1);
        if (newAsid < 0) {
            throw new ErrnoException(-ENOSPC);
        }
        // TLB invalidations of the domain now target the new ASID; the old one is invalidated
        // wholesale below, so a racing unmap loses nothing.
        cd.asid = newAsid;
        // The domain's CD takes the new ASID (its masters briefly see both until the TLBI).
        // A seed 000 aux domain's CD lives in its parent's table at its SSID.
        if (smmuDomain.parent != null) {
            if (smmuDomain.auxNrDevs > 0) {
                drv.armSmmuWriteCtxDesc(smmuDomain.parent, smmuDomain.ssid, cd);
            }
        } else {
            drv.armSmmuWriteCtxDesc(smmuDomain, 0, cd);
        }
        drv.armSmmuTlbInvAsid(smmu, asid);
        drv.armSmmuAsidXa.remove(asid);
        return null;
    }

    /**
     * The CD of {@code mm}: its pinned CPU ASID, TTB0 = its pgd, the CPU's TCR settings (T0SZ from
     * the VA size, write-back write-allocate, inner shareable, the page size as TG0, the CPU's
     * physical address range as IPS, EPD1) and the CPU's MAIR.
     *
     * @throws ErrnoException -ESRCH (the ASID cannot be pinned), -ENOMEM, -ENOSPC/-EINVAL (from
     *     sharing the ASID), -EBUSY (the ASID is taken)
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_alloc_shared_cd")
    @Port(value = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_alloc_shared_cd", seed = "004")
    ArmSmmuCtxDesc armSmmuAllocSharedCd(Mm mm) {
        MmWorld cpu = mm.world;
        int asid = (int) cpu.context.arm64MmContextGet(mm);
        if (asid == 0) {
            throw new ErrnoException(-ESRCH);
        }
        ArmSmmuCtxDesc cd = Slab.kzalloc(ArmSmmuCtxDesc::new, Gfp.GFP_KERNEL);
        if (cd == null) {
            cpu.context.arm64MmContextPut(mm);
            throw new ErrnoException(-ENOMEM);
        }
        ArmSmmuCtxDesc ret;
        int err = 0;
        drv.armSmmuAsidLock.lock();
        try {
            ret = armSmmuShareAsid(mm, asid);
            if (ret == null) {
                // xa_insert: the slot must be free now.
                if (drv.armSmmuAsidXa.putIfAbsent(asid, cd) != null) {
                    err = -EBUSY;
                }
            }
        } catch (ErrnoException e) {
            cpu.context.arm64MmContextPut(mm);
            throw e;
        } finally {
            drv.armSmmuAsidLock.unlock();
        }
        if (ret != null) {
            // Another device of this mm made the CD already; ours is not needed, nor our pin.
            cpu.context.arm64MmContextPut(mm);
            return ret;
        }
        if (err != 0) {
            cpu.context.arm64MmContextPut(mm);
            throw new ErrnoException(err);
        }

        long tcr = FIELD_PREP(CTXDESC_CD_0_TCR_T0SZ, 64L - cpu.vabitsActual())
                | FIELD_PREP(CTXDESC_CD_0_TCR_IRGN0, ARM_LPAE_TCR_RGN_WBWA)
                | FIELD_PREP(CTXDESC_CD_0_TCR_ORGN0, ARM_LPAE_TCR_RGN_WBWA)
                | FIELD_PREP(CTXDESC_CD_0_TCR_SH0, ARM_LPAE_TCR_SH_IS)
                | CTXDESC_CD_0_TCR_EPD1 | CTXDESC_CD_0_AA64;
        switch ((int) cpu.pgtable.PAGE_SIZE) {
            case 4096 -> tcr |= FIELD_PREP(CTXDESC_CD_0_TCR_TG0, ARM_LPAE_TCR_TG0_4K);
            case 16384 -> tcr |= FIELD_PREP(CTXDESC_CD_0_TCR_TG0, ARM_LPAE_TCR_TG0_16K);
            case 65536 -> tcr |= FIELD_PREP(CTXDESC_CD_0_TCR_TG0, ARM_LPAE_TCR_TG0_64K);
            default -> {
                Warn.WARN_ON(true);
                drv.armSmmuAsidLock.lock();
                try {
                    drv.armSmmuAsidXa.remove(asid, cd);
                } finally {
                    drv.armSmmuAsidLock.unlock();
                }
                cpu.context.arm64MmContextPut(mm);
                throw new ErrnoException(-EINVAL);
            }
        }
        long par = FIELD_GET(ID_AA64MMFR0_PARANGE_MASK, cpu.readIdAa64mmfr0El1());
        tcr |= FIELD_PREP(CTXDESC_CD_0_TCR_IPS, par);
        // Seed 004 HTTU: when the CPUs keep access and dirty state in hardware
        // (CONFIG_ARM64_HW_AFDBM), the SMMU updates the shared tables the same way instead of
        // faulting on an old or writable-clean page.
        if (cpu.config.hwAfDbm()) {
            int features = drv.smmu.features;
            if ((features & ARM_SMMU_FEAT_HA) != 0) {
                tcr |= CTXDESC_CD_0_TCR_HA;
            }
            if ((features & ARM_SMMU_FEAT_HD) != 0) {
                tcr |= CTXDESC_CD_0_TCR_HD;
            }
        }

        cd.ttbr = mm.pgd;
        cd.tcr = tcr;
        // MAIR is the same on every CPU: take the current one's.
        cd.mair = cpu.readMairEl1();
        cd.asid = asid;
        cd.mm = mm;
        return cd;
    }

    /** Drops a reference on a shared CD; the last one frees its ASID and unpins it on the CPU. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_free_shared_cd")
    void armSmmuFreeSharedCd(ArmSmmuCtxDesc cd) {
        boolean freed;
        // xa_erase takes the xarray's own lock; here the map is guarded by arm_smmu_asid_lock.
        drv.armSmmuAsidLock.lock();
        try {
            freed = drv.armSmmuFreeAsid(cd);
        } finally {
            drv.armSmmuAsidLock.unlock();
        }
        if (freed) {
            // Give back the CPU-side pin taken in arm_smmu_alloc_shared_cd.
            Mm mm = (Mm) cd.mm;
            mm.world.context.arm64MmContextPut(mm);
        }
    }

    /* ---------------------------------------------------------------------------------------
     * MMU notifier
     * --------------------------------------------------------------------------------------- */

    /** {@code arm_smmu_mmu_notifier_ops}. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_mmu_notifier_ops")
    final MmuNotifierOps armSmmuMmuNotifierOps = new MmuNotifierOps() {
        @Override
        public void invalidateRange(MmuNotifier mn, Mm mm, long start, long end) {
            armSmmuMmInvalidateRange(mn, mm, start, end);
        }

        @Override
        public boolean hasInvalidateRange() {
            return true;
        }

        @Override
        public void release(MmuNotifier mn, Mm mm) {
            armSmmuMmRelease(mn, mm);
        }

        @Override
        public boolean hasRelease() {
            return true;
        }

        @Override
        public void freeNotifier(MmuNotifier mn) {
            armSmmuMmuNotifierFree(mn);
        }

        @Override
        public boolean hasFreeNotifier() {
            return true;
        }
    };

    /**
     * The CPU changed PTEs in [start, end): without BTM the SMMU TLB is invalidated by command
     * (the CPU's TLBIs do not reach it); the devices' ATCs always are.
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_mm_invalidate_range")
    void armSmmuMmInvalidateRange(MmuNotifier mn, Mm mm, long start, long end) {
        ArmSmmuMmuNotifier smmuMn = (ArmSmmuMmuNotifier) mn;
        ArmSmmuDomain smmuDomain = smmuMn.domain;
        // end is exclusive. v5.15 took it as inclusive (end - start + 1): with range invalidation
        // the odd byte leaves a zero page count for a last round of __arm_smmu_tlb_inv_range,
        // which then never advances. Fixed upstream in v6.5 (and in the 5.15 stable series).
        invalidateShared(smmuDomain, smmuMn.cd.asid, mm.pasid, start, end - start, mm.world.pgtable.PAGE_SIZE);
    }

    /** A CPU change to a shared address space: the SMMU TLB by command unless BTM reaches it; the ATCs. */
    private void invalidateShared(ArmSmmuDomain smmuDomain, int asid, int pasid, long start, long size, long granule) {
        if ((smmuDomain.smmu.features & ARM_SMMU_FEAT_BTM) == 0) {
            drv.armSmmuTlbInvRangeAsid(start, size, asid, granule, false, smmuDomain);
        }
        drv.armSmmuAtcInvDomain(smmuDomain, pasid, start, size);
    }

    /** The mm exited: the CD at the PASID stays valid but translates nothing; TLB and ATCs invalidated. */
    private void quiesceShared(ArmSmmuDomain smmuDomain, int asid, int pasid) {
        drv.armSmmuWriteCtxDesc(smmuDomain, pasid, drv.quietCd);
        drv.armSmmuTlbInvAsid(smmuDomain.smmu, asid);
        drv.armSmmuAtcInvDomain(smmuDomain, pasid, 0, 0);
    }

    /**
     * The mm is going away while devices may still be bound: the CD stays valid (an invalid one
     * would raise C_BAD_CD, which cannot be recovered) but translation is disabled (EPD0: the
     * device's accesses fault quietly), and the SMMU TLB and the ATCs are invalidated.
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_mm_release")
    void armSmmuMmRelease(MmuNotifier mn, Mm mm) {
        ArmSmmuMmuNotifier smmuMn = (ArmSmmuMmuNotifier) mn;
        ArmSmmuDomain smmuDomain = smmuMn.domain;
        svaLock.lock();
        try {
            if (smmuMn.cleared) {
                return;
            }
            // In-flight DMA is possible: EPD0 on a still-valid CD, so accesses fault quietly.
            quiesceShared(smmuDomain, smmuMn.cd.asid, mm.pasid);
            smmuMn.cleared = true;
        } finally {
            svaLock.unlock();
        }
    }

    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_mmu_notifier_free")
    void armSmmuMmuNotifierFree(MmuNotifier mn) {
        // kfree: nothing to do for the garbage collector.
    }

    /**
     * The notifier of the {domain, mm} pair, with one more reference, or a new one: the shared
     * CD, the notifier registered on the mm, and the CD written at the mm's PASID. sva_lock held.
     *
     * @throws ErrnoException from the shared CD, -ENOMEM, the notifier registration's error,
     *     the CD write's error
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_mmu_notifier_get")
    ArmSmmuMmuNotifier armSmmuMmuNotifierGet(ArmSmmuDomain smmuDomain, Mm mm) {
        Warn.WARN_ON_ONCE(!svaLock.isHeldByCurrentThread());
        for (ArmSmmuMmuNotifier smmuMn : smmuDomain.mmuNotifiers) {
            if (smmuMn.mm == mm) {
                smmuMn.refs.refcountInc();
                return smmuMn;
            }
        }
        ArmSmmuCtxDesc cd = armSmmuAllocSharedCd(mm);
        ArmSmmuMmuNotifier smmuMn = Slab.kzalloc(() -> new ArmSmmuMmuNotifier(armSmmuMmuNotifierOps),
                Gfp.GFP_KERNEL);
        if (smmuMn == null) {
            armSmmuFreeSharedCd(cd);
            throw new ErrnoException(-ENOMEM);
        }
        smmuMn.cd = cd;
        smmuMn.domain = smmuDomain;
        int ret = MmuNotifier.mmuNotifierRegister(smmuMn, mm);
        if (ret != 0) {
            armSmmuFreeSharedCd(cd);
            throw new ErrnoException(ret);
        }
        ret = drv.armSmmuWriteCtxDesc(smmuDomain, mm.pasid, cd);
        if (ret != 0) {
            // smmu_mn goes with its notifier (free_notifier).
            MmuNotifier.mmuNotifierPut(smmuMn);
            armSmmuFreeSharedCd(cd);
            throw new ErrnoException(ret);
        }
        smmuDomain.mmuNotifiers.add(0, smmuMn);
        return smmuMn;
    }

    /**
     * Drops a reference; the last one removes the CD, invalidates the ASID and the ATCs (unless
     * release already did), unregisters the notifier and frees the shared CD. sva_lock held.
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_mmu_notifier_put")
    void armSmmuMmuNotifierPut(ArmSmmuMmuNotifier smmuMn) {
        Mm mm = smmuMn.mm;
        ArmSmmuCtxDesc cd = smmuMn.cd;
        ArmSmmuDomain smmuDomain = smmuMn.domain;
        Warn.WARN_ON_ONCE(!svaLock.isHeldByCurrentThread());
        if (!smmuMn.refs.refcountDecAndTest()) {
            return;
        }
        smmuDomain.mmuNotifiers.remove(smmuMn);
        drv.armSmmuWriteCtxDesc(smmuDomain, mm.pasid, null);
        // release() already invalidated TLB and ATCs; with EPD0 set nothing was cached after that.
        if (!smmuMn.cleared) {
            drv.armSmmuTlbInvAsid(smmuDomain.smmu, cd.asid);
            drv.armSmmuAtcInvDomain(smmuDomain, mm.pasid, 0, 0);
        }
        // The notifier's last reference takes smmu_mn with it.
        MmuNotifier.mmuNotifierPut(smmuMn);
        armSmmuFreeSharedCd(cd);
    }

    /* ---------------------------------------------------------------------------------------
     * Seed 004: the driver's side of the generic library
     * --------------------------------------------------------------------------------------- */

    /** The stage-1 domain the device is attached to. */
    private static ArmSmmuDomain domainOf(Device dev) {
        return ArmSmmuV3.toSmmuDomain(Iommu.iommuGetDomainForDev(dev));
    }

    /**
     * Seed 004 {@code arm_smmu_mm_ops}: the shared CD as the io_mm's context, written at the
     * PASID by the first device of a domain and cleared by the last; invalidations as v5.15's
     * notifier makes them.
     */
    @Port(value = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_mm_ops", seed = "004")
    public final IoMmOps armSmmuMmOps = new IoMmOps() {
        @Override
        public Object alloc(Mm mm) {
            return armSmmuAllocSharedCd(mm);
        }

        @Override
        public int attach(Device dev, int pasid, Object ctx, boolean attachDomain) {
            if (!attachDomain) {
                return 0; // another device of the domain wrote the entry
            }
            return drv.armSmmuWriteCtxDesc(domainOf(dev), pasid, (ArmSmmuCtxDesc) ctx);
        }

        @Override
        public void invalidate(Device dev, int pasid, Object ctx, long vaddr, long size) {
            invalidateShared(domainOf(dev), ((ArmSmmuCtxDesc) ctx).asid, pasid, vaddr, size,
                    drv.mmWorld.pgtable.PAGE_SIZE);
        }

        @Override
        public void clear(Device dev, int pasid, Object ctx) {
            quiesceShared(domainOf(dev), ((ArmSmmuCtxDesc) ctx).asid, pasid);
        }

        @Override
        public void detach(Device dev, int pasid, Object ctx, boolean detachDomain, boolean cleared) {
            ArmSmmuDomain smmuDomain = domainOf(dev);
            if (detachDomain) {
                drv.armSmmuWriteCtxDesc(smmuDomain, pasid, null);
            }
            // clear() invalidated already, and its quiesced CD (EPD0) has cached nothing since.
            if (!cleared) {
                drv.armSmmuTlbInvAsid(smmuDomain.smmu, ((ArmSmmuCtxDesc) ctx).asid);
            }
            drv.armSmmuAtcInvDomain(smmuDomain, pasid, 0, 0);
        }

        @Override
        public void free(Object ctx) {
            armSmmuFreeSharedCd((ArmSmmuCtxDesc) ctx);
        }
    };

    /* ---------------------------------------------------------------------------------------
     * Bind
     * --------------------------------------------------------------------------------------- */

    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:__arm_smmu_sva_bind")
    IommuSva __armSmmuSvaBind(Device dev, Mm mm) {
        ArmSmmuMaster master = (ArmSmmuMaster) DevIommu.devIommuPrivGet(dev);
        ArmSmmuDomain smmuDomain = ArmSmmuV3.toSmmuDomain(Iommu.iommuGetDomainForDev(dev));
        Warn.WARN_ON_ONCE(!svaLock.isHeldByCurrentThread());
        if (master == null || !master.svaEnabled) {
            throw new ErrnoException(-ENODEV);
        }
        // A {dev, mm} pair has one bond: a repeated bind() takes another reference.
        for (ArmSmmuBond bond : master.bonds) {
            if (bond.mm == mm) {
                bond.refs.refcountInc();
                return bond;
            }
        }
        ArmSmmuBond bond = Slab.kzalloc(() -> new ArmSmmuBond(dev), Gfp.GFP_KERNEL);
        if (bond == null) {
            throw new ErrnoException(-ENOMEM);
        }
        // The mm's PASID, allocated on its first bind.
        IommuSvaLib lib = drv.iommuSva;
        int ret = lib.iommuSvaAllocPasid(mm, 1, (1 << master.ssidBits) - 1);
        if (ret != 0) {
            throw new ErrnoException(ret);
        }
        bond.mm = mm;
        try {
            bond.smmuMn = armSmmuMmuNotifierGet(smmuDomain, mm);
        } catch (ErrnoException e) {
            lib.iommuSvaFreePasid(mm);
            throw e;
        }
        master.bonds.add(0, bond);
        return bond;
    }

    /**
     * Binds {@code mm} to the device: its page tables become the device's address space at the
     * mm's PASID, in the device's stage-1 domain. The device's domain then resolves its I/O page
     * faults in the address spaces of their PASIDs (the SVA library's handler).
     *
     * @throws ErrnoException -EINVAL (the domain is not a stage-1 one), -ENODEV (SVA not enabled
     *     on the device), -ENOMEM, -EOVERFLOW (the mm's PASID is beyond the device's SSIDs), or
     *     an error of the shared CD or notifier
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_sva_bind")
    public IommuSva armSmmuSvaBind(Device dev, Object mm, Object drvdata) {
        IommuDomain domain = Iommu.iommuGetDomainForDev(dev);
        if (!(domain instanceof ArmSmmuDomain smmuDomain) || smmuDomain.stage != ARM_SMMU_DOMAIN_S1
                || !(mm instanceof Mm m)) {
            throw new ErrnoException(-EINVAL);
        }
        IommuSva handle;
        if (svaGeneric) {
            // Seed 004: the library's bond (-ENODEV unless SVA is enabled on the device).
            handle = drv.iommuSva.iommuSvaBindGeneric(dev, m, armSmmuMmOps, drvdata);
            drv.iommuSva.iommuSvaInstallIopfHandler(domain);
            return handle;
        }
        svaLock.lock();
        try {
            handle = __armSmmuSvaBind(dev, m);
            drv.iommuSva.iommuSvaInstallIopfHandler(domain);
            return handle;
        } finally {
            svaLock.unlock();
        }
    }

    /**
     * Drops a reference on the bond; the last one tears it down: the CD goes (with the
     * notifier's last reference) and the PASID reference is dropped. For a PRI master the page
     * requests still queued are handled first.
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_sva_unbind")
    @Port(value = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_sva_unbind", seed = "004")
    public void armSmmuSvaUnbind(IommuSva handle) {
        ArmSmmuMaster master = (ArmSmmuMaster) DevIommu.devIommuPrivGet(handle.dev);
        if (handle instanceof IommuSvaLib.IommuBond) {
            if (master.priSupported) {
                drv.armSmmuFlushPriq(master.smmu);
                IoPgfault.iopfQueueFlushDev(handle.dev);
            }
            drv.iommuSva.iommuSvaUnbindGeneric(handle);
            return;
        }
        ArmSmmuBond bond = (ArmSmmuBond) handle;
        // Seed 004: stalls need no flush (the device driver waited for its transactions); page
        // requests sent before a PRI master's Stop Marker may still be queued: drain them here.
        if (master.priSupported) {
            drv.armSmmuFlushPriq(master.smmu);
            IoPgfault.iopfQueueFlushDev(bond.dev);
        }
        svaLock.lock();
        try {
            if (bond.refs.refcountDecAndTest()) {
                master.bonds.remove(bond);
                armSmmuMmuNotifierPut(bond.smmuMn);
                drv.iommuSva.iommuSvaFreePasid(bond.mm);
            }
        } finally {
            svaLock.unlock();
        }
    }

    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_sva_get_pasid")
    public int armSmmuSvaGetPasid(IommuSva handle) {
        if (handle instanceof IommuSvaLib.IommuBond) {
            return drv.iommuSva.iommuSvaGetPasidGeneric(handle);
        }
        return ((ArmSmmuBond) handle).mm.pasid;
    }

    /* ---------------------------------------------------------------------------------------
     * Capabilities and the master's SVA switch
     * --------------------------------------------------------------------------------------- */

    /**
     * Whether the SMMU can share the CPU's page tables: coherent table walks (and VAX for a
     * 52-bit VA), the CPU's page size among its page sizes, an output size no smaller than the
     * CPU's physical address range and ASIDs no narrower than the CPU's. False too when the
     * machine gave the driver no CPU side or no SVA library.
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_sva_supported")
    public boolean armSmmuSvaSupported(ArmSmmuDevice smmu) {
        MmWorld cpu = drv.mmWorld;
        if (cpu == null || drv.iommuSva == null) {
            return false;
        }
        int featMask = ARM_SMMU_FEAT_COHERENCY;
        if (cpu.vabitsActual() == 52) {
            featMask |= ARM_SMMU_FEAT_VAX;
        }
        if ((smmu.features & featMask) != featMask) {
            return false;
        }
        if ((smmu.pgsizeBitmap & cpu.pgtable.PAGE_SIZE) == 0) {
            return false;
        }
        // OAS must cover the sanitised (smallest across CPUs) PARange.
        long reg = cpu.readIdAa64mmfr0El1();
        int oas = idAa64mmfr0ParangeToPhysShift((int) FIELD_GET(ID_AA64MMFR0_PARANGE_MASK, reg));
        if (smmu.oas < oas) {
            return false;
        }
        // Every CPU ASID must fit the SMMU's ASID field; a wider field is fine.
        int asidBits = FIELD_GET(ID_AA64MMFR0_ASID_MASK, reg) != 0 ? 16 : 8;
        if (smmu.asidBits < asidBits) {
            return false;
        }
        // With KPTI the ASIDs come in pairs (see max_pinned_asids in context.c).
        if (cpu.config.kpti()) {
            asidBits--;
        }
        devDbg(smmu.dev, "%d shared contexts", (1 << asidBits) - cpu.nrCpus() - 2);
        return true;
    }

    /** {@code id_aa64mmfr0_parange_to_phys_shift}: PARange to bits (32..52). */
    static int idAa64mmfr0ParangeToPhysShift(int parange) {
        return switch (parange) {
            case 0 -> 32;
            case 1 -> 36;
            case 2 -> 40;
            case 3 -> 42;
            case 4 -> 44;
            case 5 -> 48;
            case 6 -> 52;
            default -> 48; // values the kernel does not know: its CONFIG_ARM64_PA_BITS
        };
    }

    /**
     * IOPF: a master with exactly one StreamID (faults are answered by StreamID) that can stall,
     * or (seed 004) a PCI master with PRI.
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_master_iopf_supported")
    @Port(value = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_iopf_supported", seed = "004")
    public boolean armSmmuMasterIopfSupported(ArmSmmuMaster master) {
        if (master.numStreams != 1) {
            return false;
        }
        return master.stallEnabled || master.priSupported;
    }

    /** SVA: the SMMU supports it and the master has SSIDs. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_master_sva_supported")
    public boolean armSmmuMasterSvaSupported(ArmSmmuMaster master) {
        if ((master.smmu.features & ARM_SMMU_FEAT_SVA) == 0) {
            return false;
        }
        // No SSIDs, no PASID to bind at: SVA needs them.
        return master.ssidBits != 0;
    }

    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_master_sva_enabled")
    public boolean armSmmuMasterSvaEnabled(ArmSmmuMaster master) {
        svaLock.lock();
        try {
            return master.svaEnabled;
        } finally {
            svaLock.unlock();
        }
    }

    /**
     * A master that can take recoverable faults needs its driver to have enabled IOPF first;
     * then it joins the event queue's IOPF queue, with io-pgfault as its fault handler.
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_master_sva_enable_iopf")
    int armSmmuMasterSvaEnableIopf(ArmSmmuMaster master) {
        Device dev = master.dev;
        // Devices with PRI or stall use IOPF; the others have their own fault handling.
        if (!armSmmuMasterIopfSupported(master)) {
            return 0;
        }
        if (!master.iopfEnabled) {
            return -EINVAL;
        }
        int ret;
        if (master.stallEnabled) {
            ret = IoPgfault.iopfQueueAddDevice(master.smmu.evtqIopf, dev);
            if (ret != 0) {
                return ret;
            }
        } else {
            // Seed 004: page requests through the PRI queue, with PRI enabled on the device.
            ret = IoPgfault.iopfQueueAddDevice(master.smmu.priqIopf, dev);
            if (ret != 0) {
                return ret;
            }
            ret = drv.armSmmuEnablePri(master);
            if (ret != 0) {
                // (the seed returned the queue's 0 here, leaving SVA on without PRI)
                IoPgfault.iopfQueueRemoveDevice(master.smmu.priqIopf, dev);
                return ret;
            }
        }
        ret = Iommu.iommuRegisterDeviceFaultHandler(dev, IoPgfault::iommuQueueIopf, dev);
        if (ret != 0) {
            drv.armSmmuDisablePri(master);
            IoPgfault.iopfQueueRemoveDevice(master.smmu.priqIopf, dev);
            IoPgfault.iopfQueueRemoveDevice(master.smmu.evtqIopf, dev);
            return ret;
        }
        return 0;
    }

    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_master_sva_disable_iopf")
    void armSmmuMasterSvaDisableIopf(ArmSmmuMaster master) {
        Device dev = master.dev;
        if (!master.iopfEnabled) {
            return;
        }
        Iommu.iommuUnregisterDeviceFaultHandler(dev);
        drv.armSmmuDisablePri(master);
        IoPgfault.iopfQueueRemoveDevice(master.smmu.priqIopf, dev);
        IoPgfault.iopfQueueRemoveDevice(master.smmu.evtqIopf, dev);
    }

    /**
     * @return 0, -EINVAL (IOPF must be enabled first), -ENOSYS (seed 004: a PRI master whose ATS
     *     is off), or io-pgfault's/the core's error
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_master_enable_sva")
    public int armSmmuMasterEnableSva(ArmSmmuMaster master) {
        svaLock.lock();
        try {
            int ret = armSmmuMasterSvaEnableIopf(master);
            if (ret == 0 && svaGeneric) {
                // Seed 004: the device's PASID range for the library.
                ret = drv.iommuSva.iommuSvaEnable(master.dev,
                        new IommuSvaParam(1, Math.min(0xfffff, (1 << master.ssidBits) - 1)));
                if (ret != 0) {
                    armSmmuMasterSvaDisableIopf(master);
                }
            }
            if (ret == 0) {
                master.svaEnabled = true;
            }
            return ret;
        } finally {
            svaLock.unlock();
        }
    }

    /** @return 0, -EBUSY (the device is still bound to an mm) */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_master_disable_sva")
    public int armSmmuMasterDisableSva(ArmSmmuMaster master) {
        svaLock.lock();
        try {
            if (!master.bonds.isEmpty()) {
                devErr(master.dev, "cannot disable SVA, device is bound");
                return -EBUSY;
            }
            if (IommuSvaLib.iommuSvaEnabled(master.dev)) {
                int ret = drv.iommuSva.iommuSvaDisable(master.dev);
                if (ret != 0) {
                    return ret; // -EBUSY: still bound through the library
                }
            }
            armSmmuMasterSvaDisableIopf(master);
            master.svaEnabled = false;
            return 0;
        } finally {
            svaLock.unlock();
        }
    }

    /** The bonds of a master, for tests and tools. */
    public static List<ArmSmmuBond> bonds(ArmSmmuMaster master) {
        return new ArrayList<>(master.bonds);
    }
}
