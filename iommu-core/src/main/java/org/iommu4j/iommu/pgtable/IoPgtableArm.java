package org.iommu4j.iommu.pgtable;

import static org.iommu4j.base.Bits.DIV_ROUND_UP;
import static org.iommu4j.base.Bits.GENMASK_ULL;
import static org.iommu4j.base.Bits.__ffs;
import static org.iommu4j.base.Bits.__fls;
import static org.iommu4j.base.Bits.ilog2;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ERANGE;
import static org.iommu4j.base.Gfp.GFP_ATOMIC;
import static org.iommu4j.base.Gfp.GFP_KERNEL;
import static org.iommu4j.base.Gfp.__GFP_ZERO;
import static org.iommu4j.base.Sizes.SZ_16K;
import static org.iommu4j.base.Sizes.SZ_1G;
import static org.iommu4j.base.Sizes.SZ_2M;
import static org.iommu4j.base.Sizes.SZ_32M;
import static org.iommu4j.base.Sizes.SZ_4K;
import static org.iommu4j.base.Sizes.SZ_512M;
import static org.iommu4j.base.Sizes.SZ_64K;
import static org.iommu4j.iommu.IommuH.IOMMU_CACHE;
import static org.iommu4j.iommu.IommuH.IOMMU_MMIO;
import static org.iommu4j.iommu.IommuH.IOMMU_NOEXEC;
import static org.iommu4j.iommu.IommuH.IOMMU_PRIV;
import static org.iommu4j.iommu.IommuH.IOMMU_READ;
import static org.iommu4j.iommu.IommuH.IOMMU_WRITE;
import static org.iommu4j.iommu.pgtable.IoPgtableCfg.IO_PGTABLE_QUIRK_ARM_NS;
import static org.iommu4j.iommu.pgtable.IoPgtableCfg.IO_PGTABLE_QUIRK_ARM_OUTER_WBWA;
import static org.iommu4j.iommu.pgtable.IoPgtableCfg.IO_PGTABLE_QUIRK_ARM_TTBR1;

import org.iommu4j.base.Port;
import org.iommu4j.base.Slab;
import org.iommu4j.base.Warn;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.iommu.IommuIotlbGather;
import org.iommu4j.mm.PageAlloc;

/**
 * io-pgtable-arm.c (v5.15): the VMSAv8-64 long-descriptor format, stage 1 and stage 2, for
 * 4K/16K/64K granules, writing real descriptors into simulated physical memory.
 *
 * <p>A table pointer ({@code arm_lpae_iopte *}) is a physical address here (the linear map is
 * the identity); entries are read and written with PhysMem's 64-bit accessors, table
 * installation uses {@code cmpxchgq}, as the kernel's lock-free update does. Non-coherent walks
 * need no cache maintenance in the simulation (memory has no CPU cache), so
 * {@code __arm_lpae_sync_pte} is a no-op, but the {@code SW_SYNC} protocol is kept.
 *
 * <p>ARM_32_LPAE and Mali formats are not built (alloc returns null for them).
 */
@Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_io_pgtable")
public final class IoPgtableArm extends IoPgtable {
    @Port("drivers/iommu/io-pgtable-arm.c:ARM_LPAE_MAX_ADDR_BITS")
    public static final int ARM_LPAE_MAX_ADDR_BITS = 52;
    public static final int ARM_LPAE_S2_MAX_CONCAT_PAGES = 16;
    public static final int ARM_LPAE_MAX_LEVELS = 4;

    // Descriptor fields common to both stages
    @Port("drivers/iommu/io-pgtable-arm.c:ARM_LPAE_PTE_TYPE_SHIFT")
    public static final int ARM_LPAE_PTE_TYPE_SHIFT = 0;
    public static final long ARM_LPAE_PTE_TYPE_MASK = 0x3;
    public static final long ARM_LPAE_PTE_TYPE_BLOCK = 1;
    public static final long ARM_LPAE_PTE_TYPE_TABLE = 3;
    public static final long ARM_LPAE_PTE_TYPE_PAGE = 3;
    public static final long ARM_LPAE_PTE_ADDR_MASK = GENMASK_ULL(47, 12);
    public static final long ARM_LPAE_PTE_NSTABLE = 1L << 63;
    public static final long ARM_LPAE_PTE_XN = 3L << 53;
    public static final long ARM_LPAE_PTE_AF = 1L << 10;
    public static final long ARM_LPAE_PTE_SH_NS = 0L << 8;
    public static final long ARM_LPAE_PTE_SH_OS = 2L << 8;
    public static final long ARM_LPAE_PTE_SH_IS = 3L << 8;
    public static final long ARM_LPAE_PTE_NS = 1L << 5;
    public static final long ARM_LPAE_PTE_VALID = 1L << 0;
    public static final long ARM_LPAE_PTE_ATTR_LO_MASK = 0x3ffL << 2;
    /** Upper attributes kept when a block is split: bit 52 (Contiguous) is left out. */
    public static final long ARM_LPAE_PTE_ATTR_HI_MASK = 6L << 52;
    public static final long ARM_LPAE_PTE_ATTR_MASK = ARM_LPAE_PTE_ATTR_LO_MASK | ARM_LPAE_PTE_ATTR_HI_MASK;
    /** Software-owned bit: set once a non-coherent table PTE has been cleaned to memory. */
    public static final long ARM_LPAE_PTE_SW_SYNC = 1L << 55;

    // Stage-1 permissions, memory type index, nG
    public static final long ARM_LPAE_PTE_AP_UNPRIV = 1L << 6;
    public static final long ARM_LPAE_PTE_AP_RDONLY = 2L << 6;
    public static final int ARM_LPAE_PTE_ATTRINDX_SHIFT = 2;
    public static final long ARM_LPAE_PTE_nG = 1L << 11;

    // Stage-2 access permissions and memory attributes
    public static final long ARM_LPAE_PTE_HAP_FAULT = 0L << 6;
    public static final long ARM_LPAE_PTE_HAP_READ = 1L << 6;
    public static final long ARM_LPAE_PTE_HAP_WRITE = 2L << 6;
    public static final long ARM_LPAE_PTE_MEMATTR_OIWB = 0xfL << 2;
    public static final long ARM_LPAE_PTE_MEMATTR_NC = 0x5L << 2;
    public static final long ARM_LPAE_PTE_MEMATTR_DEV = 0x1L << 2;

    // TCR/VTCR/MAIR field encodings
    public static final int ARM_LPAE_VTCR_SL0_MASK = 0x3;
    public static final int ARM_LPAE_TCR_T0SZ_SHIFT = 0;
    public static final int ARM_LPAE_VTCR_PS_SHIFT = 16;
    public static final int ARM_LPAE_VTCR_PS_MASK = 0x7;

    /** include/linux/io-pgtable-arm.h (seed 004 moved these out of the .c). */
    @Port("include/linux/io-pgtable-arm.h:ARM_LPAE_TCR_TG0_4K")
    public static final int ARM_LPAE_TCR_TG0_4K = 0;
    public static final int ARM_LPAE_TCR_TG0_64K = 1;
    public static final int ARM_LPAE_TCR_TG0_16K = 2;
    public static final int ARM_LPAE_TCR_TG1_16K = 1;
    public static final int ARM_LPAE_TCR_TG1_4K = 2;
    public static final int ARM_LPAE_TCR_TG1_64K = 3;
    public static final int ARM_LPAE_TCR_SH_NS = 0;
    public static final int ARM_LPAE_TCR_SH_OS = 2;
    public static final int ARM_LPAE_TCR_SH_IS = 3;
    public static final int ARM_LPAE_TCR_RGN_NC = 0;
    public static final int ARM_LPAE_TCR_RGN_WBWA = 1;
    public static final int ARM_LPAE_TCR_RGN_WT = 2;
    public static final int ARM_LPAE_TCR_RGN_WB = 3;
    public static final int ARM_LPAE_TCR_PS_32_BIT = 0x0;
    public static final int ARM_LPAE_TCR_PS_36_BIT = 0x1;
    public static final int ARM_LPAE_TCR_PS_40_BIT = 0x2;
    public static final int ARM_LPAE_TCR_PS_42_BIT = 0x3;
    public static final int ARM_LPAE_TCR_PS_44_BIT = 0x4;
    public static final int ARM_LPAE_TCR_PS_48_BIT = 0x5;
    public static final int ARM_LPAE_TCR_PS_52_BIT = 0x6;

    public static final int ARM_LPAE_MAIR_ATTR_MASK = 0xff;
    public static final long ARM_LPAE_MAIR_ATTR_DEVICE = 0x04;
    public static final long ARM_LPAE_MAIR_ATTR_NC = 0x44;
    public static final long ARM_LPAE_MAIR_ATTR_INC_OWBRWA = 0xf4;
    public static final long ARM_LPAE_MAIR_ATTR_WBRWA = 0xff;
    public static final int ARM_LPAE_MAIR_ATTR_IDX_NC = 0;
    public static final int ARM_LPAE_MAIR_ATTR_IDX_CACHE = 1;
    public static final int ARM_LPAE_MAIR_ATTR_IDX_DEV = 2;
    public static final int ARM_LPAE_MAIR_ATTR_IDX_INC_OCACHE = 3;

    private static final long PAGE_SIZE = SZ_4K;
    private static final long PAGE_MASK = ~(PAGE_SIZE - 1);

    /** The kernel's file-static {@code selftest_running}: suppresses the -EEXIST WARN. */
    static volatile boolean selftestRunning;

    int pgdBits;
    int startLevel;
    int bitsPerLevel;
    /** Physical address of the top-level table. */
    long pgd;
    private PhysMem mem;
    private PageAlloc pageAlloc;

    private IoPgtableArm() {}

    // ---- geometry macros ----

    @Port("drivers/iommu/io-pgtable-arm.c:ARM_LPAE_GRANULE")
    long ARM_LPAE_GRANULE() {
        return 8L << bitsPerLevel;
    }

    long ARM_LPAE_PGD_SIZE() {
        return 8L << pgdBits;
    }

    int ARM_LPAE_PTES_PER_TABLE() {
        return (int) (ARM_LPAE_GRANULE() >>> 3);
    }

    int ARM_LPAE_LVL_SHIFT(int l) {
        return ((ARM_LPAE_MAX_LEVELS - l) * bitsPerLevel) + 3;
    }

    int ARM_LPAE_PGD_IDX(int l) {
        return l == startLevel ? pgdBits - bitsPerLevel : 0;
    }

    int ARM_LPAE_LVL_IDX(long a, int l) {
        return (int) ((a >>> ARM_LPAE_LVL_SHIFT(l)) & ((1L << (bitsPerLevel + ARM_LPAE_PGD_IDX(l))) - 1));
    }

    long ARM_LPAE_BLOCK_SIZE(int l) {
        return 1L << ARM_LPAE_LVL_SHIFT(l);
    }

    /** Start level of the walk (tests, and drivers that program it). */
    public int startLevel() {
        return startLevel;
    }

    /** Physical address of the top-level table. */
    public long pgd() {
        return pgd;
    }

    // ---- IOPTE accessors ----

    static long iopteType(long pte) {
        return (pte >>> ARM_LPAE_PTE_TYPE_SHIFT) & ARM_LPAE_PTE_TYPE_MASK;
    }

    static long iopteProt(long pte) {
        return pte & ARM_LPAE_PTE_ATTR_MASK;
    }

    @Port("drivers/iommu/io-pgtable-arm.c:iopte_leaf")
    static boolean iopteLeaf(long pte, int lvl, int fmt) {
        if (lvl == (ARM_LPAE_MAX_LEVELS - 1) && fmt != ARM_MALI_LPAE) {
            return iopteType(pte) == ARM_LPAE_PTE_TYPE_PAGE;
        }
        return iopteType(pte) == ARM_LPAE_PTE_TYPE_BLOCK;
    }

    @Port("drivers/iommu/io-pgtable-arm.c:paddr_to_iopte")
    long paddrToIopte(long paddr) {
        // 52-bit PA: bits 51:48 go to descriptor bits 15:12; one of the two ranges is always zero, so OR-ing them loses nothing.
        return (paddr | (paddr >>> (48 - 12))) & ARM_LPAE_PTE_ADDR_MASK;
    }

    @Port("drivers/iommu/io-pgtable-arm.c:iopte_to_paddr")
    long iopteToPaddr(long pte) {
        long paddr = pte & ARM_LPAE_PTE_ADDR_MASK;
        if (ARM_LPAE_GRANULE() < SZ_64K) {
            return paddr;
        }
        return (paddr | (paddr << (48 - 12))) & (ARM_LPAE_PTE_ADDR_MASK << 4);
    }

    long iopteDeref(long pte) {
        return iopteToPaddr(pte);
    }

    // ---- table pages ----

    @Port("drivers/iommu/io-pgtable-arm.c:__arm_lpae_alloc_pages")
    private static long __armLpaeAllocPages(long size, int gfp, IoPgtableCfg cfg) {
        int order = getOrder(size);
        // Non-coherent walks would dma_map_single() the table here; the simulation has no
        // CPU caches to clean, so the page's physical address is used as is.
        return cfg.pageAlloc.allocPages(gfp | __GFP_ZERO, order);
    }

    @Port("drivers/iommu/io-pgtable-arm.c:__arm_lpae_free_pages")
    private static void __armLpaeFreePages(long pages, long size, IoPgtableCfg cfg) {
        cfg.pageAlloc.freePages(pages, getOrder(size));
    }

    static int getOrder(long size) {
        size = (size - 1) >>> 12;
        return size == 0 ? 0 : 64 - Long.numberOfLeadingZeros(size);
    }

    @Port("drivers/iommu/io-pgtable-arm.c:__arm_lpae_sync_pte")
    private void __armLpaeSyncPte(long ptep, int numEntries) {
        // Cache clean to the point of coherency: nothing to do on simulated memory.
    }

    @Port("drivers/iommu/io-pgtable-arm.c:__arm_lpae_clear_pte")
    private void __armLpaeClearPte(long ptep) {
        mem.writeq(ptep, 0);
        if (!cfg.coherentWalk) {
            __armLpaeSyncPte(ptep, 1);
        }
    }

    @Port("drivers/iommu/io-pgtable-arm.c:__arm_lpae_init_pte")
    private void __armLpaeInitPte(long paddr, long prot, int lvl, int numEntries, long ptep) {
        long pte = prot;
        long sz = ARM_LPAE_BLOCK_SIZE(lvl);
        if (fmt != ARM_MALI_LPAE && lvl == ARM_LPAE_MAX_LEVELS - 1) {
            pte |= ARM_LPAE_PTE_TYPE_PAGE;
        } else {
            pte |= ARM_LPAE_PTE_TYPE_BLOCK;
        }
        for (int i = 0; i < numEntries; i++) {
            mem.writeq(ptep + 8L * i, pte | paddrToIopte(paddr + i * sz));
        }
        if (!cfg.coherentWalk) {
            __armLpaeSyncPte(ptep, numEntries);
        }
    }

    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_init_pte")
    private int armLpaeInitPte(long iova, long paddr, long prot, int lvl, int numEntries, long ptep) {
        for (int i = 0; i < numEntries; i++) {
            long old = mem.readq(ptep + 8L * i);
            if (iopteLeaf(old, lvl, fmt)) {
                // Mapping over a live leaf is a caller bug: it must unmap first.
                Warn.WARN_ON(!selftestRunning);
                return -EEXIST;
            } else if (iopteType(old) == ARM_LPAE_PTE_TYPE_TABLE) {
                // Replacing a table by a block: remove the table's whole range (and the table) first.
                long sz = ARM_LPAE_BLOCK_SIZE(lvl);
                long tblp = ptep - 8L * ARM_LPAE_LVL_IDX(iova, lvl);
                if (__armLpaeUnmap(null, iova + i * sz, sz, 1, lvl, tblp) != sz) {
                    Warn.WARN_ON(true);
                    return -EINVAL;
                }
            }
        }
        __armLpaeInitPte(paddr, prot, lvl, numEntries, ptep);
        return 0;
    }

    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_install_table")
    private long armLpaeInstallTable(long table, long ptep, long curr) {
        long nw = paddrToIopte(table) | ARM_LPAE_PTE_TYPE_TABLE;
        if ((cfg.quirks & IO_PGTABLE_QUIRK_ARM_NS) != 0) {
            nw |= ARM_LPAE_PTE_NSTABLE;
        }
        // dma_wmb(): the zeroed table is visible before the PTE pointing to it; cmpxchgq is a
        // full barrier on PhysMem.
        long old = mem.cmpxchgq(ptep, curr, nw);
        if (cfg.coherentWalk || (old & ARM_LPAE_PTE_SW_SYNC) != 0) {
            return old;
        }
        // Clean the PTE now, whoever installed it; only the winner marks it SW_SYNC.
        __armLpaeSyncPte(ptep, 1);
        if (old == curr) {
            mem.writeqVolatile(ptep, nw | ARM_LPAE_PTE_SW_SYNC);
        }
        return old;
    }

    @Port("drivers/iommu/io-pgtable-arm.c:__arm_lpae_map")
    private int __armLpaeMap(long iova, long paddr, long size, long pgcount, long prot, int lvl, long ptep, int gfp, long[] mapped) {
        long blockSize = ARM_LPAE_BLOCK_SIZE(lvl);
        long tblsz = ARM_LPAE_GRANULE();
        int mapIdxStart = ARM_LPAE_LVL_IDX(iova, lvl);
        ptep += 8L * mapIdxStart;

        // size equals this level's block size: write leaves here.
        if (size == blockSize) {
            int maxEntries = ARM_LPAE_PTES_PER_TABLE() - mapIdxStart;
            // min_t(int, ...): pgcount is narrowed to int before the comparison, as in the kernel.
            int numEntries = Math.min((int) pgcount, maxEntries);
            int ret = armLpaeInitPte(iova, paddr, prot, lvl, numEntries, ptep);
            if (ret == 0 && mapped != null) {
                mapped[0] += numEntries * size;
            }
            return ret;
        }

        // the last level holds only pages: reaching it here means a bug in the caller
        if (Warn.WARN_ON(lvl >= ARM_LPAE_MAX_LEVELS - 1)) {
            return -EINVAL;
        }

        long cptep = 0;
        long pte = mem.readqVolatile(ptep);
        if (pte == 0) {
            cptep = __armLpaeAllocPages(tblsz, gfp, cfg);
            if (cptep == 0) {
                return -ENOMEM;
            }
            pte = armLpaeInstallTable(cptep, ptep, 0);
            if (pte != 0) {
                __armLpaeFreePages(cptep, tblsz, cfg);
            }
        } else if (!cfg.coherentWalk && (pte & ARM_LPAE_PTE_SW_SYNC) == 0) {
            __armLpaeSyncPte(ptep, 1);
        }

        if (pte != 0 && !iopteLeaf(pte, lvl, fmt)) {
            cptep = iopteDeref(pte);
        } else if (pte != 0) {
            // Mapping over a live leaf is a caller bug: it must unmap first.
            Warn.WARN_ON(!selftestRunning);
            return -EEXIST;
        }

        // Descend one level.
        return __armLpaeMap(iova, paddr, size, pgcount, prot, lvl + 1, cptep, gfp, mapped);
    }

    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_prot_to_pte")
    long armLpaeProtToPte(int prot) {
        long pte;
        if (fmt == ARM_64_LPAE_S1 || fmt == ARM_32_LPAE_S1) {
            pte = ARM_LPAE_PTE_nG;
            if ((prot & IOMMU_WRITE) == 0 && (prot & IOMMU_READ) != 0) {
                pte |= ARM_LPAE_PTE_AP_RDONLY;
            }
            if ((prot & IOMMU_PRIV) == 0) {
                pte |= ARM_LPAE_PTE_AP_UNPRIV;
            }
        } else {
            pte = ARM_LPAE_PTE_HAP_FAULT;
            if ((prot & IOMMU_READ) != 0) {
                pte |= ARM_LPAE_PTE_HAP_READ;
            }
            if ((prot & IOMMU_WRITE) != 0) {
                pte |= ARM_LPAE_PTE_HAP_WRITE;
            }
        }
        if (fmt == ARM_64_LPAE_S2 || fmt == ARM_32_LPAE_S2) {
            if ((prot & IOMMU_MMIO) != 0) {
                pte |= ARM_LPAE_PTE_MEMATTR_DEV;
            } else if ((prot & IOMMU_CACHE) != 0) {
                pte |= ARM_LPAE_PTE_MEMATTR_OIWB;
            } else {
                pte |= ARM_LPAE_PTE_MEMATTR_NC;
            }
        } else {
            if ((prot & IOMMU_MMIO) != 0) {
                pte |= (long) ARM_LPAE_MAIR_ATTR_IDX_DEV << ARM_LPAE_PTE_ATTRINDX_SHIFT;
            } else if ((prot & IOMMU_CACHE) != 0) {
                pte |= (long) ARM_LPAE_MAIR_ATTR_IDX_CACHE << ARM_LPAE_PTE_ATTRINDX_SHIFT;
            }
        }
        if ((prot & IOMMU_CACHE) != 0 && fmt != ARM_MALI_LPAE) {
            pte |= ARM_LPAE_PTE_SH_IS;
        } else {
            pte |= ARM_LPAE_PTE_SH_OS;
        }
        if ((prot & IOMMU_NOEXEC) != 0) {
            pte |= ARM_LPAE_PTE_XN;
        }
        if ((cfg.quirks & IO_PGTABLE_QUIRK_ARM_NS) != 0) {
            pte |= ARM_LPAE_PTE_NS;
        }
        if (fmt != ARM_MALI_LPAE) {
            pte |= ARM_LPAE_PTE_AF;
        }
        return pte;
    }

    @Override
    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_map_pages")
    public int mapPages(long iova, long paddr, long pgsize, long pgcount, int iommuProt, int gfp, long[] mapped) {
        long iaext = iova >> cfg.ias;
        if (cfg.ias >= 64) {
            iaext = 0;
        }
        if (Warn.WARN_ON(pgsize == 0 || (pgsize & cfg.pgsizeBitmap) != pgsize)) {
            return -EINVAL;
        }
        if ((cfg.quirks & IO_PGTABLE_QUIRK_ARM_TTBR1) != 0) {
            iaext = ~iaext;
        }
        if (Warn.WARN_ON(iaext != 0 || (paddr >>> cfg.oas) != 0)) {
            return -ERANGE;
        }
        // Neither read nor write: no PTE to write.
        if ((iommuProt & (IOMMU_READ | IOMMU_WRITE)) == 0) {
            return 0;
        }
        long prot = armLpaeProtToPte(iommuProt);
        return __armLpaeMap(iova, paddr, pgsize, pgcount, prot, startLevel, pgd, gfp, mapped);
        // wmb(): PhysMem stores are visible to the walker once written.
    }

    @Override
    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_map")
    public int map(long iova, long paddr, long size, int iommuProt, int gfp) {
        return mapPages(iova, paddr, size, 1, iommuProt, gfp, null);
    }

    @Port("drivers/iommu/io-pgtable-arm.c:__arm_lpae_free_pgtable")
    private void __armLpaeFreePgtable(int lvl, long ptep) {
        long tableSize = lvl == startLevel ? ARM_LPAE_PGD_SIZE() : ARM_LPAE_GRANULE();
        long start = ptep;
        // Last level: pages only, no tables to descend into.
        long end = lvl == ARM_LPAE_MAX_LEVELS - 1 ? ptep : ptep + tableSize;
        while (ptep != end) {
            long pte = mem.readq(ptep);
            ptep += 8;
            if (pte == 0 || iopteLeaf(pte, lvl, fmt)) {
                continue;
            }
            __armLpaeFreePgtable(lvl + 1, iopteDeref(pte));
        }
        __armLpaeFreePages(start, tableSize, cfg);
    }

    @Override
    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_free_pgtable")
    protected void free() {
        __armLpaeFreePgtable(startLevel, pgd);
    }

    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_split_blk_unmap")
    private long armLpaeSplitBlkUnmap(IommuIotlbGather gather, long iova, long size, long blkPte, int lvl, long ptep, long pgcount) {
        long tablesz = ARM_LPAE_GRANULE();
        long splitSz = ARM_LPAE_BLOCK_SIZE(lvl);
        int ptesPerTable = ARM_LPAE_PTES_PER_TABLE();
        int unmapIdxStart = -1;
        int numEntries = 0;

        if (Warn.WARN_ON(lvl == ARM_LPAE_MAX_LEVELS)) {
            return 0;
        }
        long tablep = __armLpaeAllocPages(tablesz, GFP_ATOMIC, cfg);
        if (tablep == 0) {
            return 0; // bytes unmapped
        }
        if (size == splitSz) {
            unmapIdxStart = ARM_LPAE_LVL_IDX(iova, lvl);
            int maxEntries = ptesPerTable - unmapIdxStart;
            numEntries = Math.min((int) pgcount, maxEntries); // min_t(int, ...)
        }
        long blkPaddr = iopteToPaddr(blkPte);
        long pte = iopteProt(blkPte);
        for (int i = 0; i < ptesPerTable; i++, blkPaddr += splitSz) {
            // Slots being unmapped stay empty in the new table.
            if (i >= unmapIdxStart && i < unmapIdxStart + numEntries) {
                continue;
            }
            __armLpaeInitPte(blkPaddr, pte, lvl, 1, tablep + 8L * i);
        }

        pte = armLpaeInstallTable(tablep, ptep, blkPte);
        if (pte != blkPte) {
            __armLpaeFreePages(tablep, tablesz, cfg);
            // Lost the cmpxchg: a concurrent unmap of another part of the block may have split it
            // first, which leaves a table; any other value is unexpected (never a page: not the last level).
            if (iopteType(pte) != ARM_LPAE_PTE_TYPE_TABLE) {
                return 0;
            }
            tablep = iopteDeref(pte);
        } else if (unmapIdxStart >= 0) {
            for (int i = 0; i < numEntries; i++) {
                ioPgtableTlbAddPage(this, gather, iova + i * size, size);
            }
            return numEntries * size;
        }
        return __armLpaeUnmap(gather, iova, size, pgcount, lvl, tablep);
    }

    @Port("drivers/iommu/io-pgtable-arm.c:__arm_lpae_unmap")
    private long __armLpaeUnmap(IommuIotlbGather gather, long iova, long size, long pgcount, int lvl, long ptep) {
        // Walked past the last level: the tables are inconsistent.
        if (Warn.WARN_ON(lvl == ARM_LPAE_MAX_LEVELS)) {
            return 0;
        }
        int unmapIdxStart = ARM_LPAE_LVL_IDX(iova, lvl);
        ptep += 8L * unmapIdxStart;
        long pte = mem.readqVolatile(ptep);
        if (Warn.WARN_ON(pte == 0)) {
            return 0;
        }

        // This level's block size: clear entries here.
        if (size == ARM_LPAE_BLOCK_SIZE(lvl)) {
            int maxEntries = ARM_LPAE_PTES_PER_TABLE() - unmapIdxStart;
            int numEntries = Math.min((int) pgcount, maxEntries); // min_t(int, ...)
            int i = 0;
            while (i < numEntries) {
                pte = mem.readqVolatile(ptep);
                if (Warn.WARN_ON(pte == 0)) {
                    break;
                }
                __armLpaeClearPte(ptep);
                if (!iopteLeaf(pte, lvl, fmt)) {
                    // A table went away: invalidate cached walks through it too.
                    ioPgtableTlbFlushWalk(this, iova + i * size, size, ARM_LPAE_GRANULE());
                    __armLpaeFreePgtable(lvl + 1, iopteDeref(pte));
                } else if (gather == null || !gather.queued) {
                    ioPgtableTlbAddPage(this, gather, iova + i * size, size);
                }
                ptep += 8;
                i++;
            }
            return i * size;
        } else if (iopteLeaf(pte, lvl, fmt)) {
            // Part of a block: replace it by a next-level table that maps everything but the
            // unmapped range.
            return armLpaeSplitBlkUnmap(gather, iova, size, pte, lvl + 1, ptep, pgcount);
        }

        // Descend one level.
        return __armLpaeUnmap(gather, iova, size, pgcount, lvl + 1, iopteDeref(pte));
    }

    @Override
    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_unmap_pages")
    public long unmapPages(long iova, long pgsize, long pgcount, IommuIotlbGather gather) {
        long iaext = cfg.ias >= 64 ? 0 : iova >> cfg.ias;
        if (Warn.WARN_ON(pgsize == 0 || (pgsize & cfg.pgsizeBitmap) != pgsize || pgcount == 0)) {
            return 0;
        }
        if ((cfg.quirks & IO_PGTABLE_QUIRK_ARM_TTBR1) != 0) {
            iaext = ~iaext;
        }
        if (Warn.WARN_ON(iaext != 0)) {
            return 0;
        }
        return __armLpaeUnmap(gather, iova, pgsize, pgcount, startLevel, pgd);
    }

    @Override
    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_unmap")
    public long unmap(long iova, long size, IommuIotlbGather gather) {
        return unmapPages(iova, size, 1, gather);
    }

    @Override
    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_iova_to_phys")
    public long iovaToPhys(long iova) {
        long ptep = pgd;
        int lvl = startLevel;
        long pte;
        do {
            // No table here: not mapped.
            if (ptep == 0) {
                return 0;
            }
            // The entry that indexes iova at this level.
            ptep += 8L * ARM_LPAE_LVL_IDX(iova, lvl);
            pte = mem.readqVolatile(ptep);
            // Empty entry: not mapped.
            if (pte == 0) {
                return 0;
            }
            // Block or page: the address plus iova's offset within it.
            if (iopteLeaf(pte, lvl, fmt)) {
                iova &= ARM_LPAE_BLOCK_SIZE(lvl) - 1;
                return iopteToPaddr(pte) | iova;
            }
            // Table: continue below.
            ptep = iopteDeref(pte);
        } while (++lvl < ARM_LPAE_MAX_LEVELS);
        // No leaf on the path.
        return 0;
    }

    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_restrict_pgsizes")
    static void armLpaeRestrictPgsizes(IoPgtableCfg cfg) {
        long granule;
        long pageSizes;
        int maxAddrBits = 48;

        // Granule: PAGE_SIZE when offered, else the largest size below it, else the smallest above;
        // then keep only that granule's page and block sizes.
        if ((cfg.pgsizeBitmap & PAGE_SIZE) != 0) {
            granule = PAGE_SIZE;
        } else if ((cfg.pgsizeBitmap & ~PAGE_MASK) != 0) {
            granule = 1L << __fls(cfg.pgsizeBitmap & ~PAGE_MASK);
        } else if ((cfg.pgsizeBitmap & PAGE_MASK) != 0) {
            granule = 1L << __ffs(cfg.pgsizeBitmap & PAGE_MASK);
        } else {
            granule = 0;
        }
        if (granule == SZ_4K) {
            pageSizes = SZ_4K | SZ_2M | SZ_1G;
        } else if (granule == SZ_16K) {
            pageSizes = SZ_16K | SZ_32M;
        } else if (granule == SZ_64K) {
            maxAddrBits = 52;
            pageSizes = SZ_64K | SZ_512M;
            if (cfg.oas > 48) {
                pageSizes |= 1L << 42; // level-1 block, 52-bit PA only
            }
        } else {
            pageSizes = 0;
        }
        cfg.pgsizeBitmap &= pageSizes;
        cfg.ias = Math.min(cfg.ias, maxAddrBits);
        cfg.oas = Math.min(cfg.oas, maxAddrBits);
    }

    @Port("drivers/iommu/io-pgtable-arm.c:arm_lpae_alloc_pgtable")
    private static IoPgtableArm armLpaeAllocPgtable(IoPgtableCfg cfg) {
        armLpaeRestrictPgsizes(cfg);
        if ((cfg.pgsizeBitmap & (SZ_4K | SZ_16K | SZ_64K)) == 0) {
            return null;
        }
        if (cfg.ias > ARM_LPAE_MAX_ADDR_BITS || cfg.oas > ARM_LPAE_MAX_ADDR_BITS) {
            return null;
        }
        if (cfg.pageAlloc == null) {
            return null;
        }
        IoPgtableArm data = Slab.kzalloc(IoPgtableArm::new, GFP_KERNEL);
        if (data == null) {
            return null;
        }
        data.pageAlloc = cfg.pageAlloc;
        data.mem = cfg.pageAlloc.mem();
        int pgShift = __ffs(cfg.pgsizeBitmap);
        data.bitsPerLevel = pgShift - ilog2(8);
        int vaBits = cfg.ias - pgShift;
        int levels = (int) DIV_ROUND_UP(vaBits, data.bitsPerLevel);
        data.startLevel = ARM_LPAE_MAX_LEVELS - levels;
        // Bits resolved by the top table, before any stage-2 concatenation.
        data.pgdBits = vaBits - (data.bitsPerLevel * (levels - 1));
        return data;
    }

    private static int ipsForOas(int oas) {
        switch (oas) {
            case 32: return ARM_LPAE_TCR_PS_32_BIT;
            case 36: return ARM_LPAE_TCR_PS_36_BIT;
            case 40: return ARM_LPAE_TCR_PS_40_BIT;
            case 42: return ARM_LPAE_TCR_PS_42_BIT;
            case 44: return ARM_LPAE_TCR_PS_44_BIT;
            case 48: return ARM_LPAE_TCR_PS_48_BIT;
            case 52: return ARM_LPAE_TCR_PS_52_BIT;
            default: return -1;
        }
    }

    @Port("drivers/iommu/io-pgtable-arm.c:arm_64_lpae_alloc_pgtable_s1")
    static IoPgtableArm arm64LpaeAllocPgtableS1(IoPgtableCfg cfg, Object cookie) {
        IoPgtableCfg.Tcr tcr = cfg.armLpaeS1Cfg.tcr;
        if ((cfg.quirks & ~(IO_PGTABLE_QUIRK_ARM_NS | IO_PGTABLE_QUIRK_ARM_TTBR1 | IO_PGTABLE_QUIRK_ARM_OUTER_WBWA)) != 0) {
            return null;
        }
        IoPgtableArm data = armLpaeAllocPgtable(cfg);
        if (data == null) {
            return null;
        }
        data.fmt = ARM_64_LPAE_S1;
        // TCR fields for the stage-1 walk
        if (cfg.coherentWalk) {
            tcr.sh = ARM_LPAE_TCR_SH_IS;
            tcr.irgn = ARM_LPAE_TCR_RGN_WBWA;
            tcr.orgn = ARM_LPAE_TCR_RGN_WBWA;
            if ((cfg.quirks & IO_PGTABLE_QUIRK_ARM_OUTER_WBWA) != 0) {
                return null;
            }
        } else {
            tcr.sh = ARM_LPAE_TCR_SH_OS;
            tcr.irgn = ARM_LPAE_TCR_RGN_NC;
            tcr.orgn = (cfg.quirks & IO_PGTABLE_QUIRK_ARM_OUTER_WBWA) == 0 ? ARM_LPAE_TCR_RGN_NC : ARM_LPAE_TCR_RGN_WBWA;
        }
        boolean tg1 = (cfg.quirks & IO_PGTABLE_QUIRK_ARM_TTBR1) != 0;
        long granule = data.ARM_LPAE_GRANULE();
        if (granule == SZ_4K) {
            tcr.tg = tg1 ? ARM_LPAE_TCR_TG1_4K : ARM_LPAE_TCR_TG0_4K;
        } else if (granule == SZ_16K) {
            tcr.tg = tg1 ? ARM_LPAE_TCR_TG1_16K : ARM_LPAE_TCR_TG0_16K;
        } else if (granule == SZ_64K) {
            tcr.tg = tg1 ? ARM_LPAE_TCR_TG1_64K : ARM_LPAE_TCR_TG0_64K;
        }
        int ips = ipsForOas(cfg.oas);
        if (ips < 0) {
            return null; // out_free_data (kfree: nothing else allocated yet)
        }
        tcr.ips = ips;
        tcr.tsz = 64 - cfg.ias;

        // MAIR: attribute indices used by the PTEs
        long reg = (ARM_LPAE_MAIR_ATTR_NC << (ARM_LPAE_MAIR_ATTR_IDX_NC << 3))
                | (ARM_LPAE_MAIR_ATTR_WBRWA << (ARM_LPAE_MAIR_ATTR_IDX_CACHE << 3))
                | (ARM_LPAE_MAIR_ATTR_DEVICE << (ARM_LPAE_MAIR_ATTR_IDX_DEV << 3))
                | (ARM_LPAE_MAIR_ATTR_INC_OWBRWA << (ARM_LPAE_MAIR_ATTR_IDX_INC_OCACHE << 3));
        cfg.armLpaeS1Cfg.mair = reg;

        // Configuration complete: allocate the top table.
        data.pgd = __armLpaeAllocPages(data.ARM_LPAE_PGD_SIZE(), GFP_KERNEL, cfg);
        if (data.pgd == 0) {
            return null;
        }
        // TTBR = pgd (the empty pgd is visible before any TTBR write: PhysMem is coherent)
        cfg.armLpaeS1Cfg.ttbr = data.pgd;
        return data;
    }

    @Port("drivers/iommu/io-pgtable-arm.c:arm_64_lpae_alloc_pgtable_s2")
    static IoPgtableArm arm64LpaeAllocPgtableS2(IoPgtableCfg cfg, Object cookie) {
        IoPgtableCfg.Vtcr vtcr = cfg.armLpaeS2Cfg.vtcr;
        // Stage 2 takes no quirks (NS is a stage-1 notion).
        if (cfg.quirks != 0) {
            return null;
        }
        IoPgtableArm data = armLpaeAllocPgtable(cfg);
        if (data == null) {
            return null;
        }
        data.fmt = ARM_64_LPAE_S2;
        // Stage 2 can start one level lower with up to 16 concatenated top tables: one walk step fewer.
        if (data.startLevel == 0) {
            long pgdPages = data.ARM_LPAE_PGD_SIZE() / 8;
            if (pgdPages <= ARM_LPAE_S2_MAX_CONCAT_PAGES) {
                data.pgdBits += data.bitsPerLevel;
                data.startLevel++;
            }
        }
        // VTCR fields for the stage-2 walk
        if (cfg.coherentWalk) {
            vtcr.sh = ARM_LPAE_TCR_SH_IS;
            vtcr.irgn = ARM_LPAE_TCR_RGN_WBWA;
            vtcr.orgn = ARM_LPAE_TCR_RGN_WBWA;
        } else {
            vtcr.sh = ARM_LPAE_TCR_SH_OS;
            vtcr.irgn = ARM_LPAE_TCR_RGN_NC;
            vtcr.orgn = ARM_LPAE_TCR_RGN_NC;
        }
        int sl = data.startLevel;
        long granule = data.ARM_LPAE_GRANULE();
        if (granule == SZ_4K) {
            vtcr.tg = ARM_LPAE_TCR_TG0_4K;
            sl++; // 4K: SL0 encodings sit one level off those of 16K/64K
        } else if (granule == SZ_16K) {
            vtcr.tg = ARM_LPAE_TCR_TG0_16K;
        } else if (granule == SZ_64K) {
            vtcr.tg = ARM_LPAE_TCR_TG0_64K;
        }
        int ps = ipsForOas(cfg.oas);
        if (ps < 0) {
            return null;
        }
        vtcr.ps = ps;
        vtcr.tsz = 64 - cfg.ias;
        vtcr.sl = ~sl & ARM_LPAE_VTCR_SL0_MASK;

        // Top table (possibly concatenated).
        data.pgd = __armLpaeAllocPages(data.ARM_LPAE_PGD_SIZE(), GFP_KERNEL, cfg);
        if (data.pgd == 0) {
            return null;
        }
        // VTTBR = pgd
        cfg.armLpaeS2Cfg.vttbr = data.pgd;
        return data;
    }
}
