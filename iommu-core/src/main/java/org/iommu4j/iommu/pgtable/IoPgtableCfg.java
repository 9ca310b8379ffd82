package org.iommu4j.iommu.pgtable;

import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;
import org.iommu4j.mm.PageAlloc;

/**
 * {@code struct io_pgtable_cfg} (include/linux/io-pgtable.h, v5.15). The driver fills the
 * inputs (quirks, pgsize_bitmap, ias, oas, coherent_walk, tlb, iommu_dev); the format fills
 * the outputs ({@link #armLpaeS1Cfg} or {@link #armLpaeS2Cfg}) and may trim
 * {@code pgsizeBitmap}, {@code ias}, {@code oas}. The io_pgtable keeps its own copy
 * ({@code iop->cfg = *cfg}).
 *
 * <p>Not a kernel field: {@link #pageAlloc}, the simulation's page allocator from which table
 * pages are taken (the kernel calls the global {@code alloc_pages}); required.
 */
@Port("include/linux/io-pgtable.h:io_pgtable_cfg")
public final class IoPgtableCfg {
    /** Stage 1: mark leaves NS and tables NSTABLE, for SMMUs that check them in non-secure state. */
    @Port("include/linux/io-pgtable.h:IO_PGTABLE_QUIRK_ARM_NS")
    public static final long IO_PGTABLE_QUIRK_ARM_NS = 1L << 0;
    public static final long IO_PGTABLE_QUIRK_NO_PERMS = 1L << 1;
    public static final long IO_PGTABLE_QUIRK_ARM_MTK_EXT = 1L << 3;
    public static final long IO_PGTABLE_QUIRK_ARM_TTBR1 = 1L << 5;
    public static final long IO_PGTABLE_QUIRK_ARM_OUTER_WBWA = 1L << 6;

    /** TCR fields of a stage-1 table (bitfields ips:3, tg:2, sh:2, orgn:2, irgn:2, tsz:6). */
    public static final class Tcr {
        public int ips;
        public int tg;
        public int sh;
        public int orgn;
        public int irgn;
        public int tsz;

        void copyFrom(Tcr o) {
            ips = o.ips;
            tg = o.tg;
            sh = o.sh;
            orgn = o.orgn;
            irgn = o.irgn;
            tsz = o.tsz;
        }
    }

    /** {@code arm_lpae_s1_cfg}. */
    public static final class ArmLpaeS1Cfg {
        public long ttbr;
        public final Tcr tcr = new Tcr();
        public long mair;
    }

    /** VTCR fields of a stage-2 table (ps:3, tg:2, sh:2, orgn:2, irgn:2, sl:2, tsz:6). */
    public static final class Vtcr {
        public int ps;
        public int tg;
        public int sh;
        public int orgn;
        public int irgn;
        public int sl;
        public int tsz;

        void copyFrom(Vtcr o) {
            ps = o.ps;
            tg = o.tg;
            sh = o.sh;
            orgn = o.orgn;
            irgn = o.irgn;
            sl = o.sl;
            tsz = o.tsz;
        }
    }

    /** {@code arm_lpae_s2_cfg}. */
    public static final class ArmLpaeS2Cfg {
        public long vttbr;
        public final Vtcr vtcr = new Vtcr();
    }

    public long quirks;
    public long pgsizeBitmap;
    /** Input address size in bits. */
    public int ias;
    /** Output address size in bits. */
    public int oas;
    public boolean coherentWalk;
    public IommuFlushOps tlb;
    public Device iommuDev;
    public final ArmLpaeS1Cfg armLpaeS1Cfg = new ArmLpaeS1Cfg();
    public final ArmLpaeS2Cfg armLpaeS2Cfg = new ArmLpaeS2Cfg();
    /** Simulation only: where page-table pages come from. */
    public PageAlloc pageAlloc;

    public IoPgtableCfg() {}

    /** Struct assignment. */
    public IoPgtableCfg copy() {
        IoPgtableCfg c = new IoPgtableCfg();
        c.quirks = quirks;
        c.pgsizeBitmap = pgsizeBitmap;
        c.ias = ias;
        c.oas = oas;
        c.coherentWalk = coherentWalk;
        c.tlb = tlb;
        c.iommuDev = iommuDev;
        c.armLpaeS1Cfg.ttbr = armLpaeS1Cfg.ttbr;
        c.armLpaeS1Cfg.tcr.copyFrom(armLpaeS1Cfg.tcr);
        c.armLpaeS1Cfg.mair = armLpaeS1Cfg.mair;
        c.armLpaeS2Cfg.vttbr = armLpaeS2Cfg.vttbr;
        c.armLpaeS2Cfg.vtcr.copyFrom(armLpaeS2Cfg.vtcr);
        c.pageAlloc = pageAlloc;
        return c;
    }
}
