package org.iommu4j.iommu.pgtable;

import static org.iommu4j.base.Errno.EFAULT;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Gfp.GFP_KERNEL;
import static org.iommu4j.base.Sizes.SZ_16K;
import static org.iommu4j.base.Sizes.SZ_1G;
import static org.iommu4j.base.Sizes.SZ_2G;
import static org.iommu4j.base.Sizes.SZ_2M;
import static org.iommu4j.base.Sizes.SZ_32M;
import static org.iommu4j.base.Sizes.SZ_4K;
import static org.iommu4j.base.Sizes.SZ_512M;
import static org.iommu4j.base.Sizes.SZ_64K;
import static org.iommu4j.iommu.IommuH.IOMMU_CACHE;
import static org.iommu4j.iommu.IommuH.IOMMU_NOEXEC;
import static org.iommu4j.iommu.IommuH.IOMMU_READ;
import static org.iommu4j.iommu.IommuH.IOMMU_WRITE;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Bits;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;
import org.iommu4j.iommu.IommuIotlbGather;
import org.iommu4j.mm.PageAlloc;

/**
 * The io-pgtable-arm selftests (CONFIG_IOMMU_IO_PGTABLE_LPAE_SELFTEST, io-pgtable-arm.c v5.15):
 * the configuration matrix (4K/16K/64K granules x IAS 32..48, OAS 48, coherent walk) run over
 * ARM_64_LPAE_S1 and S2 with dummy flush ops that check the cookie. Same checks and order as
 * {@code arm_lpae_run_tests}; each failing check is reported with its step label.
 */
public final class IoPgtableArmSelftest {
    private final PageAlloc pageAlloc;
    /** {@code cfg_cookie}: the cookie the dummy ops expect. */
    private IoPgtableCfg cfgCookie;
    /** Labels of failed steps ("fmt idx N: step"), for tests and the CLI. */
    public final List<String> failures = new ArrayList<>();
    public int pass;
    public int fail;

    public IoPgtableArmSelftest(PageAlloc pageAlloc) {
        this.pageAlloc = pageAlloc;
    }

    private final IommuFlushOps dummyTlbOps = new IommuFlushOps() {
        @Override
        @Port("drivers/iommu/io-pgtable-arm.c:dummy_tlb_flush_all")
        public void tlbFlushAll(Object cookie) {
            Warn.WARN_ON(cookie != cfgCookie);
        }

        @Override
        @Port("drivers/iommu/io-pgtable-arm.c:dummy_tlb_flush")
        public void tlbFlushWalk(long iova, long size, long granule, Object cookie) {
            Warn.WARN_ON(cookie != cfgCookie);
            Warn.WARN_ON((size & cfgCookie.pgsizeBitmap) == 0);
        }

        @Override
        public boolean hasTlbFlushWalk() {
            return true;
        }

        @Override
        @Port("drivers/iommu/io-pgtable-arm.c:dummy_tlb_add_page")
        public void tlbAddPage(IommuIotlbGather gather, long iova, long granule, Object cookie) {
            tlbFlushWalk(iova, granule, granule, cookie);
        }

        @Override
        public boolean hasTlbAddPage() {
            return true;
        }
    };

    @Port("drivers/iommu/io-pgtable-arm.c:__FAIL")
    private int __FAIL(IoPgtableOps ops, int i, String step) {
        Warn.WARN(true, "selftest: test failed for fmt idx " + i + " (" + step + ")");
        failures.add("fmt idx " + i + ": " + step);
        armLpaeDumpOps(ops);
        IoPgtableArm.selftestRunning = false;
        return -EFAULT;
    }

    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_dump_ops")
    private static void armLpaeDumpOps(IoPgtableOps ops) {
        IoPgtableArm data = (IoPgtableArm) ops;
        IoPgtableCfg cfg = data.cfg;
        Printk.prErr("cfg: pgsize_bitmap 0x%x, ias %d-bit", cfg.pgsizeBitmap, cfg.ias);
        Printk.prErr("data: %d levels, 0x%x pgd_size, %d pg_shift, %d bits_per_level, pgd @ 0x%x",
                IoPgtableArm.ARM_LPAE_MAX_LEVELS - data.startLevel, data.ARM_LPAE_PGD_SIZE(),
                Bits.ilog2(data.ARM_LPAE_GRANULE()), data.bitsPerLevel, data.pgd);
    }

    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_run_tests")
    int armLpaeRunTests(IoPgtableCfg cfg) {
        final int[] fmts = {IoPgtable.ARM_64_LPAE_S1, IoPgtable.ARM_64_LPAE_S2};
        IoPgtableArm.selftestRunning = true;
        for (int i = 0; i < fmts.length; ++i) {
            cfgCookie = cfg;
            IoPgtableOps ops = IoPgtable.allocIoPgtableOps(fmts[i], cfg, cfg);
            if (ops == null) {
                Printk.prErr("selftest: failed to allocate io pgtable ops");
                IoPgtableArm.selftestRunning = false;
                return -ENOMEM;
            }
            // A fresh table translates nothing.
            if (ops.iovaToPhys(42) != 0) {
                return __FAIL(ops, i, "empty iova_to_phys(42)");
            }
            if (ops.iovaToPhys(SZ_1G + 42) != 0) {
                return __FAIL(ops, i, "empty iova_to_phys(SZ_1G + 42)");
            }
            if (ops.iovaToPhys(SZ_2G + 42) != 0) {
                return __FAIL(ops, i, "empty iova_to_phys(SZ_2G + 42)");
            }

            // One identity mapping per supported size, each at its own 1 GiB-aligned IOVA.
            long iova = 0;
            for (int j = 0; j < 64; j++) {
                if ((cfg.pgsizeBitmap & (1L << j)) == 0) {
                    continue;
                }
                long size = 1L << j;
                if (ops.map(iova, iova, size, IOMMU_READ | IOMMU_WRITE | IOMMU_NOEXEC | IOMMU_CACHE, GFP_KERNEL) != 0) {
                    return __FAIL(ops, i, "map size 0x" + Long.toHexString(size));
                }
                // Mapping the same IOVA again must fail.
                if (ops.map(iova, iova + size, size, IOMMU_READ | IOMMU_NOEXEC, GFP_KERNEL) == 0) {
                    return __FAIL(ops, i, "overlapping map size 0x" + Long.toHexString(size));
                }
                if (ops.iovaToPhys(iova + 42) != iova + 42) {
                    return __FAIL(ops, i, "iova_to_phys after map size 0x" + Long.toHexString(size));
                }
                iova += SZ_1G;
            }

            // Unmap one smallest page out of the second mapping (splits a block).
            long size = 1L << Bits.__ffs(cfg.pgsizeBitmap);
            if (ops.unmap(SZ_1G + size, size, null) != size) {
                return __FAIL(ops, i, "partial unmap");
            }
            // The hole can be mapped again, to a different PA.
            if (ops.map(SZ_1G + size, size, size, IOMMU_READ, GFP_KERNEL) != 0) {
                return __FAIL(ops, i, "remap of partial unmap");
            }
            if (ops.iovaToPhys(SZ_1G + size + 42) != size + 42) {
                return __FAIL(ops, i, "iova_to_phys after remap of partial unmap");
            }

            // Unmap each mapping whole; nothing may translate afterwards.
            iova = 0;
            for (int j = 0; j < 64; j++) {
                if ((cfg.pgsizeBitmap & (1L << j)) == 0) {
                    continue;
                }
                size = 1L << j;
                if (ops.unmap(iova, size, null) != size) {
                    return __FAIL(ops, i, "full unmap size 0x" + Long.toHexString(size));
                }
                if (ops.iovaToPhys(iova + 42) != 0) {
                    return __FAIL(ops, i, "iova_to_phys after full unmap size 0x" + Long.toHexString(size));
                }
                // The emptied range accepts a new mapping of the same size.
                if (ops.map(iova, iova, size, IOMMU_WRITE, GFP_KERNEL) != 0) {
                    return __FAIL(ops, i, "remap full block size 0x" + Long.toHexString(size));
                }
                if (ops.iovaToPhys(iova + 42) != iova + 42) {
                    return __FAIL(ops, i, "iova_to_phys after remap size 0x" + Long.toHexString(size));
                }
                iova += SZ_1G;
            }
            IoPgtable.freeIoPgtableOps(ops);
        }
        IoPgtableArm.selftestRunning = false;
        return 0;
    }

    /** The v5.15 matrix. Returns 0 when every configuration passes, else -EFAULT. */
    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_do_selftests")
    public int armLpaeDoSelftests() {
        final long[] pgsize = {SZ_4K | SZ_2M | SZ_1G, SZ_16K | SZ_32M, SZ_64K | SZ_512M};
        final int[] ias = {32, 36, 40, 42, 44, 48};
        pass = 0;
        fail = 0;
        for (long p : pgsize) {
            for (int a : ias) {
                IoPgtableCfg cfg = new IoPgtableCfg();
                cfg.tlb = dummyTlbOps;
                cfg.oas = 48;
                cfg.coherentWalk = true;
                cfg.pgsizeBitmap = p;
                cfg.ias = a;
                cfg.pageAlloc = pageAlloc;
                Printk.prInfo("selftest: pgsize_bitmap 0x%08x, IAS %d", p, a);
                if (armLpaeRunTests(cfg) != 0) {
                    fail++;
                } else {
                    pass++;
                }
            }
        }
        Printk.prInfo("selftest: completed with %d PASS %d FAIL", pass, fail);
        return fail != 0 ? -EFAULT : 0;
    }
}
