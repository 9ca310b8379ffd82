package org.iommu4j.smmuv3;

import static org.iommu4j.base.Bits.FIELD_GET;
import static org.iommu4j.base.Bits.FIELD_PREP;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.base.Errno.ESRCH;
import static org.iommu4j.base.device.DevPrintk.dev_dbg;
import static org.iommu4j.base.device.DevPrintk.dev_err;
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
 * ({@link #arm_smmu_share_asid}).
 *
 * <p>One instance per driver instance: the kernel's global {@code sva_lock} is its field. It
 * serialises binds, unbinds, SVA enable/disable and the notifier's release against each other.
 * The CPU side (features, ASID allocator, page tables) is the driver's {@link ArmSmmuV3#mm_world};
 * PASIDs come from its {@link ArmSmmuV3#iommu_sva} library.
 */
public final class ArmSmmuV3Sva {
    private final ArmSmmuV3 drv;

    /** {@code sva_lock}: binds, unbinds, master SVA state and notifier release. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:sva_lock")
    final ReentrantLock sva_lock = new ReentrantLock();

    ArmSmmuV3Sva(ArmSmmuV3 drv) {
        this.drv = drv;
    }

    /**
     * Seed 004: bind through the SVA library's generic {@code io_mm} layer with
     * {@link #arm_smmu_mm_ops}, instead of v5.15's own bonds and notifiers. Set before SVA is
     * enabled on any device.
     */
    public volatile boolean sva_generic;

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
        public ArmSmmuMmuNotifier smmu_mn;
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
    ArmSmmuCtxDesc arm_smmu_share_asid(Mm mm, int asid) {
        ArmSmmuCtxDesc cd = drv.arm_smmu_asid_xa.get(asid);
        if (cd == null) {
            return null;
        }
        if (cd.mm != null) {
            if (Warn.WARN_ON(cd.mm != mm)) {
                throw new ErrnoException(-EINVAL);
            }
            // The mm already has its shared CD: all its bound devices share it.
            cd.refs.refcount_inc();
            return cd;
        }
        ArmSmmuDomain smmu_domain = cd.domain;
        ArmSmmuDevice smmu = smmu_domain.smmu;
        int new_asid = drv.asid_xa_alloc(cd, (1 << smmu.asid_bits) - 1);
        if (new_asid < 0) {
            throw new ErrnoException(-ENOSPC);
        }
        // TLB invalidations of the domain now target the new ASID; the old one is invalidated
        // wholesale below, so a racing unmap loses nothing.
        cd.asid = new_asid;
        // The domain's CD takes the new ASID (its masters briefly see both until the TLBI).
        // A seed 000 aux domain's CD lives in its parent's table at its SSID.
        if (smmu_domain.parent != null) {
            if (smmu_domain.aux_nr_devs > 0) {
                drv.arm_smmu_write_ctx_desc(smmu_domain.parent, smmu_domain.ssid, cd);
            }
        } else {
            drv.arm_smmu_write_ctx_desc(smmu_domain, 0, cd);
        }
        drv.arm_smmu_tlb_inv_asid(smmu, asid);
        drv.arm_smmu_asid_xa.remove(asid);
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
    ArmSmmuCtxDesc arm_smmu_alloc_shared_cd(Mm mm) {
        MmWorld cpu = mm.world;
        int asid = (int) cpu.context.arm64_mm_context_get(mm);
        if (asid == 0) {
            throw new ErrnoException(-ESRCH);
        }
        ArmSmmuCtxDesc cd = Slab.kzalloc(ArmSmmuCtxDesc::new, Gfp.GFP_KERNEL);
        if (cd == null) {
            cpu.context.arm64_mm_context_put(mm);
            throw new ErrnoException(-ENOMEM);
        }
        ArmSmmuCtxDesc ret;
        int err = 0;
        drv.arm_smmu_asid_lock.lock();
        try {
            ret = arm_smmu_share_asid(mm, asid);
            if (ret == null) {
                // xa_insert: the slot must be free now.
                if (drv.arm_smmu_asid_xa.putIfAbsent(asid, cd) != null) {
                    err = -EBUSY;
                }
            }
        } catch (ErrnoException e) {
            cpu.context.arm64_mm_context_put(mm);
            throw e;
        } finally {
            drv.arm_smmu_asid_lock.unlock();
        }
        if (ret != null) {
            // Another device of this mm made the CD already; ours is not needed, nor our pin.
            cpu.context.arm64_mm_context_put(mm);
            return ret;
        }
        if (err != 0) {
            cpu.context.arm64_mm_context_put(mm);
            throw new ErrnoException(err);
        }

        long tcr = FIELD_PREP(CTXDESC_CD_0_TCR_T0SZ, 64L - cpu.vabits_actual())
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
                drv.arm_smmu_asid_lock.lock();
                try {
                    drv.arm_smmu_asid_xa.remove(asid, cd);
                } finally {
                    drv.arm_smmu_asid_lock.unlock();
                }
                cpu.context.arm64_mm_context_put(mm);
                throw new ErrnoException(-EINVAL);
            }
        }
        long par = FIELD_GET(ID_AA64MMFR0_PARANGE_MASK, cpu.read_id_aa64mmfr0_el1());
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
        cd.mair = cpu.read_mair_el1();
        cd.asid = asid;
        cd.mm = mm;
        return cd;
    }

    /** Drops a reference on a shared CD; the last one frees its ASID and unpins it on the CPU. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_free_shared_cd")
    void arm_smmu_free_shared_cd(ArmSmmuCtxDesc cd) {
        boolean freed;
        // xa_erase takes the xarray's own lock; here the map is guarded by arm_smmu_asid_lock.
        drv.arm_smmu_asid_lock.lock();
        try {
            freed = drv.arm_smmu_free_asid(cd);
        } finally {
            drv.arm_smmu_asid_lock.unlock();
        }
        if (freed) {
            // Give back the CPU-side pin taken in arm_smmu_alloc_shared_cd.
            Mm mm = (Mm) cd.mm;
            mm.world.context.arm64_mm_context_put(mm);
        }
    }

    /* ---------------------------------------------------------------------------------------
     * MMU notifier
     * --------------------------------------------------------------------------------------- */

    /** {@code arm_smmu_mmu_notifier_ops}. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_mmu_notifier_ops")
    final MmuNotifierOps arm_smmu_mmu_notifier_ops = new MmuNotifierOps() {
        @Override
        public void invalidate_range(MmuNotifier mn, Mm mm, long start, long end) {
            arm_smmu_mm_invalidate_range(mn, mm, start, end);
        }

        @Override
        public boolean has_invalidate_range() {
            return true;
        }

        @Override
        public void release(MmuNotifier mn, Mm mm) {
            arm_smmu_mm_release(mn, mm);
        }

        @Override
        public boolean has_release() {
            return true;
        }

        @Override
        public void free_notifier(MmuNotifier mn) {
            arm_smmu_mmu_notifier_free(mn);
        }

        @Override
        public boolean has_free_notifier() {
            return true;
        }
    };

    /**
     * The CPU changed PTEs in [start, end): without BTM the SMMU TLB is invalidated by command
     * (the CPU's TLBIs do not reach it); the devices' ATCs always are.
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_mm_invalidate_range")
    void arm_smmu_mm_invalidate_range(MmuNotifier mn, Mm mm, long start, long end) {
        ArmSmmuMmuNotifier smmu_mn = (ArmSmmuMmuNotifier) mn;
        ArmSmmuDomain smmu_domain = smmu_mn.domain;
        // end is exclusive. v5.15 took it as inclusive (end - start + 1): with range invalidation
        // the odd byte leaves a zero page count for a last round of __arm_smmu_tlb_inv_range,
        // which then never advances. Fixed upstream in v6.5 (and in the 5.15 stable series).
        invalidate_shared(smmu_domain, smmu_mn.cd.asid, mm.pasid, start, end - start, mm.world.pgtable.PAGE_SIZE);
    }

    /** A CPU change to a shared address space: the SMMU TLB by command unless BTM reaches it; the ATCs. */
    private void invalidate_shared(ArmSmmuDomain smmu_domain, int asid, int pasid, long start, long size, long granule) {
        if ((smmu_domain.smmu.features & ARM_SMMU_FEAT_BTM) == 0) {
            drv.arm_smmu_tlb_inv_range_asid(start, size, asid, granule, false, smmu_domain);
        }
        drv.arm_smmu_atc_inv_domain(smmu_domain, pasid, start, size);
    }

    /** The mm exited: the CD at the PASID stays valid but translates nothing; TLB and ATCs invalidated. */
    private void quiesce_shared(ArmSmmuDomain smmu_domain, int asid, int pasid) {
        drv.arm_smmu_write_ctx_desc(smmu_domain, pasid, drv.quiet_cd);
        drv.arm_smmu_tlb_inv_asid(smmu_domain.smmu, asid);
        drv.arm_smmu_atc_inv_domain(smmu_domain, pasid, 0, 0);
    }

    /**
     * The mm is going away while devices may still be bound: the CD stays valid (an invalid one
     * would raise C_BAD_CD, which cannot be recovered) but translation is disabled (EPD0: the
     * device's accesses fault quietly), and the SMMU TLB and the ATCs are invalidated.
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_mm_release")
    void arm_smmu_mm_release(MmuNotifier mn, Mm mm) {
        ArmSmmuMmuNotifier smmu_mn = (ArmSmmuMmuNotifier) mn;
        ArmSmmuDomain smmu_domain = smmu_mn.domain;
        sva_lock.lock();
        try {
            if (smmu_mn.cleared) {
                return;
            }
            // In-flight DMA is possible: EPD0 on a still-valid CD, so accesses fault quietly.
            quiesce_shared(smmu_domain, smmu_mn.cd.asid, mm.pasid);
            smmu_mn.cleared = true;
        } finally {
            sva_lock.unlock();
        }
    }

    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_mmu_notifier_free")
    void arm_smmu_mmu_notifier_free(MmuNotifier mn) {
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
    ArmSmmuMmuNotifier arm_smmu_mmu_notifier_get(ArmSmmuDomain smmu_domain, Mm mm) {
        Warn.WARN_ON_ONCE(!sva_lock.isHeldByCurrentThread());
        for (ArmSmmuMmuNotifier smmu_mn : smmu_domain.mmu_notifiers) {
            if (smmu_mn.mm == mm) {
                smmu_mn.refs.refcount_inc();
                return smmu_mn;
            }
        }
        ArmSmmuCtxDesc cd = arm_smmu_alloc_shared_cd(mm);
        ArmSmmuMmuNotifier smmu_mn = Slab.kzalloc(() -> new ArmSmmuMmuNotifier(arm_smmu_mmu_notifier_ops),
                Gfp.GFP_KERNEL);
        if (smmu_mn == null) {
            arm_smmu_free_shared_cd(cd);
            throw new ErrnoException(-ENOMEM);
        }
        smmu_mn.cd = cd;
        smmu_mn.domain = smmu_domain;
        int ret = MmuNotifier.mmu_notifier_register(smmu_mn, mm);
        if (ret != 0) {
            arm_smmu_free_shared_cd(cd);
            throw new ErrnoException(ret);
        }
        ret = drv.arm_smmu_write_ctx_desc(smmu_domain, mm.pasid, cd);
        if (ret != 0) {
            // smmu_mn goes with its notifier (free_notifier).
            MmuNotifier.mmu_notifier_put(smmu_mn);
            arm_smmu_free_shared_cd(cd);
            throw new ErrnoException(ret);
        }
        smmu_domain.mmu_notifiers.add(0, smmu_mn);
        return smmu_mn;
    }

    /**
     * Drops a reference; the last one removes the CD, invalidates the ASID and the ATCs (unless
     * release already did), unregisters the notifier and frees the shared CD. sva_lock held.
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_mmu_notifier_put")
    void arm_smmu_mmu_notifier_put(ArmSmmuMmuNotifier smmu_mn) {
        Mm mm = smmu_mn.mm;
        ArmSmmuCtxDesc cd = smmu_mn.cd;
        ArmSmmuDomain smmu_domain = smmu_mn.domain;
        Warn.WARN_ON_ONCE(!sva_lock.isHeldByCurrentThread());
        if (!smmu_mn.refs.refcount_dec_and_test()) {
            return;
        }
        smmu_domain.mmu_notifiers.remove(smmu_mn);
        drv.arm_smmu_write_ctx_desc(smmu_domain, mm.pasid, null);
        // release() already invalidated TLB and ATCs; with EPD0 set nothing was cached after that.
        if (!smmu_mn.cleared) {
            drv.arm_smmu_tlb_inv_asid(smmu_domain.smmu, cd.asid);
            drv.arm_smmu_atc_inv_domain(smmu_domain, mm.pasid, 0, 0);
        }
        // The notifier's last reference takes smmu_mn with it.
        MmuNotifier.mmu_notifier_put(smmu_mn);
        arm_smmu_free_shared_cd(cd);
    }

    /* ---------------------------------------------------------------------------------------
     * Seed 004: the driver's side of the generic library
     * --------------------------------------------------------------------------------------- */

    /** The stage-1 domain the device is attached to. */
    private static ArmSmmuDomain domain_of(Device dev) {
        return ArmSmmuV3.to_smmu_domain(Iommu.iommu_get_domain_for_dev(dev));
    }

    /**
     * Seed 004 {@code arm_smmu_mm_ops}: the shared CD as the io_mm's context, written at the
     * PASID by the first device of a domain and cleared by the last; invalidations as v5.15's
     * notifier makes them.
     */
    @Port(value = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_mm_ops", seed = "004")
    public final IoMmOps arm_smmu_mm_ops = new IoMmOps() {
        @Override
        public Object alloc(Mm mm) {
            return arm_smmu_alloc_shared_cd(mm);
        }

        @Override
        public int attach(Device dev, int pasid, Object ctx, boolean attach_domain) {
            if (!attach_domain) {
                return 0; // another device of the domain wrote the entry
            }
            return drv.arm_smmu_write_ctx_desc(domain_of(dev), pasid, (ArmSmmuCtxDesc) ctx);
        }

        @Override
        public void invalidate(Device dev, int pasid, Object ctx, long vaddr, long size) {
            invalidate_shared(domain_of(dev), ((ArmSmmuCtxDesc) ctx).asid, pasid, vaddr, size,
                    drv.mm_world.pgtable.PAGE_SIZE);
        }

        @Override
        public void clear(Device dev, int pasid, Object ctx) {
            quiesce_shared(domain_of(dev), ((ArmSmmuCtxDesc) ctx).asid, pasid);
        }

        @Override
        public void detach(Device dev, int pasid, Object ctx, boolean detach_domain, boolean cleared) {
            ArmSmmuDomain smmu_domain = domain_of(dev);
            if (detach_domain) {
                drv.arm_smmu_write_ctx_desc(smmu_domain, pasid, null);
            }
            // clear() invalidated already, and its quiesced CD (EPD0) has cached nothing since.
            if (!cleared) {
                drv.arm_smmu_tlb_inv_asid(smmu_domain.smmu, ((ArmSmmuCtxDesc) ctx).asid);
            }
            drv.arm_smmu_atc_inv_domain(smmu_domain, pasid, 0, 0);
        }

        @Override
        public void free(Object ctx) {
            arm_smmu_free_shared_cd((ArmSmmuCtxDesc) ctx);
        }
    };

    /* ---------------------------------------------------------------------------------------
     * Bind
     * --------------------------------------------------------------------------------------- */

    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:__arm_smmu_sva_bind")
    IommuSva __arm_smmu_sva_bind(Device dev, Mm mm) {
        ArmSmmuMaster master = (ArmSmmuMaster) DevIommu.dev_iommu_priv_get(dev);
        ArmSmmuDomain smmu_domain = ArmSmmuV3.to_smmu_domain(Iommu.iommu_get_domain_for_dev(dev));
        Warn.WARN_ON_ONCE(!sva_lock.isHeldByCurrentThread());
        if (master == null || !master.sva_enabled) {
            throw new ErrnoException(-ENODEV);
        }
        // A {dev, mm} pair has one bond: a repeated bind() takes another reference.
        for (ArmSmmuBond bond : master.bonds) {
            if (bond.mm == mm) {
                bond.refs.refcount_inc();
                return bond;
            }
        }
        ArmSmmuBond bond = Slab.kzalloc(() -> new ArmSmmuBond(dev), Gfp.GFP_KERNEL);
        if (bond == null) {
            throw new ErrnoException(-ENOMEM);
        }
        // The mm's PASID, allocated on its first bind.
        IommuSvaLib lib = drv.iommu_sva;
        int ret = lib.iommu_sva_alloc_pasid(mm, 1, (1 << master.ssid_bits) - 1);
        if (ret != 0) {
            throw new ErrnoException(ret);
        }
        bond.mm = mm;
        try {
            bond.smmu_mn = arm_smmu_mmu_notifier_get(smmu_domain, mm);
        } catch (ErrnoException e) {
            lib.iommu_sva_free_pasid(mm);
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
    public IommuSva arm_smmu_sva_bind(Device dev, Object mm, Object drvdata) {
        IommuDomain domain = Iommu.iommu_get_domain_for_dev(dev);
        if (!(domain instanceof ArmSmmuDomain smmu_domain) || smmu_domain.stage != ARM_SMMU_DOMAIN_S1
                || !(mm instanceof Mm m)) {
            throw new ErrnoException(-EINVAL);
        }
        IommuSva handle;
        if (sva_generic) {
            // Seed 004: the library's bond (-ENODEV unless SVA is enabled on the device).
            handle = drv.iommu_sva.iommu_sva_bind_generic(dev, m, arm_smmu_mm_ops, drvdata);
            drv.iommu_sva.iommu_sva_install_iopf_handler(domain);
            return handle;
        }
        sva_lock.lock();
        try {
            handle = __arm_smmu_sva_bind(dev, m);
            drv.iommu_sva.iommu_sva_install_iopf_handler(domain);
            return handle;
        } finally {
            sva_lock.unlock();
        }
    }

    /**
     * Drops a reference on the bond; the last one tears it down: the CD goes (with the
     * notifier's last reference) and the PASID reference is dropped. For a PRI master the page
     * requests still queued are handled first.
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_sva_unbind")
    @Port(value = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_sva_unbind", seed = "004")
    public void arm_smmu_sva_unbind(IommuSva handle) {
        ArmSmmuMaster master = (ArmSmmuMaster) DevIommu.dev_iommu_priv_get(handle.dev);
        if (handle instanceof IommuSvaLib.IommuBond) {
            if (master.pri_supported) {
                drv.arm_smmu_flush_priq(master.smmu);
                IoPgfault.iopf_queue_flush_dev(handle.dev);
            }
            drv.iommu_sva.iommu_sva_unbind_generic(handle);
            return;
        }
        ArmSmmuBond bond = (ArmSmmuBond) handle;
        // Seed 004: stalls need no flush (the device driver waited for its transactions); page
        // requests sent before a PRI master's Stop Marker may still be queued: drain them here.
        if (master.pri_supported) {
            drv.arm_smmu_flush_priq(master.smmu);
            IoPgfault.iopf_queue_flush_dev(bond.dev);
        }
        sva_lock.lock();
        try {
            if (bond.refs.refcount_dec_and_test()) {
                master.bonds.remove(bond);
                arm_smmu_mmu_notifier_put(bond.smmu_mn);
                drv.iommu_sva.iommu_sva_free_pasid(bond.mm);
            }
        } finally {
            sva_lock.unlock();
        }
    }

    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_sva_get_pasid")
    public int arm_smmu_sva_get_pasid(IommuSva handle) {
        if (handle instanceof IommuSvaLib.IommuBond) {
            return drv.iommu_sva.iommu_sva_get_pasid_generic(handle);
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
    public boolean arm_smmu_sva_supported(ArmSmmuDevice smmu) {
        MmWorld cpu = drv.mm_world;
        if (cpu == null || drv.iommu_sva == null) {
            return false;
        }
        int feat_mask = ARM_SMMU_FEAT_COHERENCY;
        if (cpu.vabits_actual() == 52) {
            feat_mask |= ARM_SMMU_FEAT_VAX;
        }
        if ((smmu.features & feat_mask) != feat_mask) {
            return false;
        }
        if ((smmu.pgsize_bitmap & cpu.pgtable.PAGE_SIZE) == 0) {
            return false;
        }
        // OAS must cover the sanitised (smallest across CPUs) PARange.
        long reg = cpu.read_id_aa64mmfr0_el1();
        int oas = id_aa64mmfr0_parange_to_phys_shift((int) FIELD_GET(ID_AA64MMFR0_PARANGE_MASK, reg));
        if (smmu.oas < oas) {
            return false;
        }
        // Every CPU ASID must fit the SMMU's ASID field; a wider field is fine.
        int asid_bits = FIELD_GET(ID_AA64MMFR0_ASID_MASK, reg) != 0 ? 16 : 8;
        if (smmu.asid_bits < asid_bits) {
            return false;
        }
        // With KPTI the ASIDs come in pairs (see max_pinned_asids in context.c).
        if (cpu.config.kpti()) {
            asid_bits--;
        }
        dev_dbg(smmu.dev, "%d shared contexts", (1 << asid_bits) - cpu.nr_cpus() - 2);
        return true;
    }

    /** {@code id_aa64mmfr0_parange_to_phys_shift}: PARange to bits (32..52). */
    static int id_aa64mmfr0_parange_to_phys_shift(int parange) {
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
    public boolean arm_smmu_master_iopf_supported(ArmSmmuMaster master) {
        if (master.num_streams != 1) {
            return false;
        }
        return master.stall_enabled || master.pri_supported;
    }

    /** SVA: the SMMU supports it and the master has SSIDs. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_master_sva_supported")
    public boolean arm_smmu_master_sva_supported(ArmSmmuMaster master) {
        if ((master.smmu.features & ARM_SMMU_FEAT_SVA) == 0) {
            return false;
        }
        // No SSIDs, no PASID to bind at: SVA needs them.
        return master.ssid_bits != 0;
    }

    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_master_sva_enabled")
    public boolean arm_smmu_master_sva_enabled(ArmSmmuMaster master) {
        sva_lock.lock();
        try {
            return master.sva_enabled;
        } finally {
            sva_lock.unlock();
        }
    }

    /**
     * A master that can take recoverable faults needs its driver to have enabled IOPF first;
     * then it joins the event queue's IOPF queue, with io-pgfault as its fault handler.
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_master_sva_enable_iopf")
    int arm_smmu_master_sva_enable_iopf(ArmSmmuMaster master) {
        Device dev = master.dev;
        // Devices with PRI or stall use IOPF; the others have their own fault handling.
        if (!arm_smmu_master_iopf_supported(master)) {
            return 0;
        }
        if (!master.iopf_enabled) {
            return -EINVAL;
        }
        int ret;
        if (master.stall_enabled) {
            ret = IoPgfault.iopf_queue_add_device(master.smmu.evtq_iopf, dev);
            if (ret != 0) {
                return ret;
            }
        } else {
            // Seed 004: page requests through the PRI queue, with PRI enabled on the device.
            ret = IoPgfault.iopf_queue_add_device(master.smmu.priq_iopf, dev);
            if (ret != 0) {
                return ret;
            }
            ret = drv.arm_smmu_enable_pri(master);
            if (ret != 0) {
                // (the seed returned the queue's 0 here, leaving SVA on without PRI)
                IoPgfault.iopf_queue_remove_device(master.smmu.priq_iopf, dev);
                return ret;
            }
        }
        ret = Iommu.iommu_register_device_fault_handler(dev, IoPgfault::iommu_queue_iopf, dev);
        if (ret != 0) {
            drv.arm_smmu_disable_pri(master);
            IoPgfault.iopf_queue_remove_device(master.smmu.priq_iopf, dev);
            IoPgfault.iopf_queue_remove_device(master.smmu.evtq_iopf, dev);
            return ret;
        }
        return 0;
    }

    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_master_sva_disable_iopf")
    void arm_smmu_master_sva_disable_iopf(ArmSmmuMaster master) {
        Device dev = master.dev;
        if (!master.iopf_enabled) {
            return;
        }
        Iommu.iommu_unregister_device_fault_handler(dev);
        drv.arm_smmu_disable_pri(master);
        IoPgfault.iopf_queue_remove_device(master.smmu.priq_iopf, dev);
        IoPgfault.iopf_queue_remove_device(master.smmu.evtq_iopf, dev);
    }

    /** @return 0, -EINVAL (IOPF must be enabled first), or io-pgfault's/the core's error */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_master_enable_sva")
    public int arm_smmu_master_enable_sva(ArmSmmuMaster master) {
        sva_lock.lock();
        try {
            int ret = arm_smmu_master_sva_enable_iopf(master);
            if (ret == 0 && sva_generic) {
                // Seed 004: the device's PASID range for the library.
                ret = drv.iommu_sva.iommu_sva_enable(master.dev,
                        new IommuSvaParam(1, Math.min(0xfffff, (1 << master.ssid_bits) - 1)));
                if (ret != 0) {
                    arm_smmu_master_sva_disable_iopf(master);
                }
            }
            if (ret == 0) {
                master.sva_enabled = true;
            }
            return ret;
        } finally {
            sva_lock.unlock();
        }
    }

    /** @return 0, -EBUSY (the device is still bound to an mm) */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c:arm_smmu_master_disable_sva")
    public int arm_smmu_master_disable_sva(ArmSmmuMaster master) {
        sva_lock.lock();
        try {
            if (!master.bonds.isEmpty()) {
                dev_err(master.dev, "cannot disable SVA, device is bound");
                return -EBUSY;
            }
            if (IommuSvaLib.iommu_sva_enabled(master.dev)) {
                int ret = drv.iommu_sva.iommu_sva_disable(master.dev);
                if (ret != 0) {
                    return ret; // -EBUSY: still bound through the library
                }
            }
            arm_smmu_master_sva_disable_iopf(master);
            master.sva_enabled = false;
            return 0;
        } finally {
            sva_lock.unlock();
        }
    }

    /** The bonds of a master, for tests and tools. */
    public static List<ArmSmmuBond> bonds(ArmSmmuMaster master) {
        return new ArrayList<>(master.bonds);
    }
}
