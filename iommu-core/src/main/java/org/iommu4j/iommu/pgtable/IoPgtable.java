package org.iommu4j.iommu.pgtable;

import org.iommu4j.base.Port;
import org.iommu4j.iommu.IommuIotlbGather;

/**
 * io-pgtable.c and {@code struct io_pgtable}: a page table of one format, its cookie and its
 * copy of the configuration. The format classes extend this and implement {@link IoPgtableOps}
 * (the kernel embeds the ops in {@code struct io_pgtable}; {@code io_pgtable_ops_to_pgtable}
 * is a cast here).
 */
@Port("include/linux/io-pgtable.h:io_pgtable")
public abstract class IoPgtable implements IoPgtableOps {
    // enum io_pgtable_fmt
    @Port("include/linux/io-pgtable.h:io_pgtable_fmt")
    public static final int ARM_32_LPAE_S1 = 0;
    public static final int ARM_32_LPAE_S2 = 1;
    public static final int ARM_64_LPAE_S1 = 2;
    public static final int ARM_64_LPAE_S2 = 3;
    public static final int ARM_V7S = 4;
    public static final int ARM_MALI_LPAE = 5;
    public static final int AMD_IOMMU_V1 = 6;
    public static final int APPLE_DART = 7;
    public static final int IO_PGTABLE_NUM_FMTS = 8;

    public int fmt;
    public Object cookie;
    public IoPgtableCfg cfg;

    protected IoPgtable() {}

    /** The format's free function ({@code io_pgtable_init_fns.free}). */
    protected abstract void free();

    /**
     * Allocate a page table of format {@code fmt}; the format may adjust {@code cfg} (page
     * sizes, ias/oas) and fills its output registers. Returns null on failure (unknown format,
     * unsupported configuration, -ENOMEM).
     */
    @Port("drivers/iommu/io-pgtable.c:alloc_io_pgtable_ops")
    public static IoPgtableOps allocIoPgtableOps(int fmt, IoPgtableCfg cfg, Object cookie) {
        if (fmt < 0 || fmt >= IO_PGTABLE_NUM_FMTS) {
            return null;
        }
        IoPgtable iop;
        switch (fmt) {
            case ARM_64_LPAE_S1:
                iop = IoPgtableArm.arm64LpaeAllocPgtableS1(cfg, cookie);
                break;
            case ARM_64_LPAE_S2:
                iop = IoPgtableArm.arm64LpaeAllocPgtableS2(cfg, cookie);
                break;
            default:
                return null; // io_pgtable_init_table[fmt] == NULL: format not built in
        }
        if (iop == null) {
            return null;
        }
        iop.fmt = fmt;
        iop.cookie = cookie;
        iop.cfg = cfg.copy();
        return iop;
    }

    /** Free the page table after flushing the TLB context (null is ignored). */
    @Port("drivers/iommu/io-pgtable.c:free_io_pgtable_ops")
    public static void freeIoPgtableOps(IoPgtableOps ops) {
        if (ops == null) {
            return;
        }
        IoPgtable iop = ioPgtableOpsToPgtable(ops);
        ioPgtableTlbFlushAll(iop);
        iop.free();
    }

    @Port("include/linux/io-pgtable.h:io_pgtable_ops_to_pgtable")
    public static IoPgtable ioPgtableOpsToPgtable(IoPgtableOps ops) {
        return (IoPgtable) ops;
    }

    @Port("include/linux/io-pgtable.h:io_pgtable_tlb_flush_all")
    static void ioPgtableTlbFlushAll(IoPgtable iop) {
        if (iop.cfg.tlb != null) {
            iop.cfg.tlb.tlbFlushAll(iop.cookie);
        }
    }

    @Port("include/linux/io-pgtable.h:io_pgtable_tlb_flush_walk")
    static void ioPgtableTlbFlushWalk(IoPgtable iop, long iova, long size, long granule) {
        if (iop.cfg.tlb != null && iop.cfg.tlb.hasTlbFlushWalk()) {
            iop.cfg.tlb.tlbFlushWalk(iova, size, granule, iop.cookie);
        }
    }

    @Port("include/linux/io-pgtable.h:io_pgtable_tlb_add_page")
    static void ioPgtableTlbAddPage(IoPgtable iop, IommuIotlbGather gather, long iova, long granule) {
        if (iop.cfg.tlb != null && iop.cfg.tlb.hasTlbAddPage()) {
            iop.cfg.tlb.tlbAddPage(gather, iova, granule, iop.cookie);
        }
    }
}
