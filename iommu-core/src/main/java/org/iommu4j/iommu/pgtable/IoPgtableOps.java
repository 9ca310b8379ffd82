package org.iommu4j.iommu.pgtable;

import org.iommu4j.base.Port;
import org.iommu4j.iommu.IommuIotlbGather;

/**
 * {@code struct io_pgtable_ops} (v5.15: map, map_pages, unmap, unmap_pages, iova_to_phys): the
 * page-table manipulation functions of one page table, returned by
 * {@link IoPgtable#allocIoPgtableOps}. All are callable in atomic context (with GFP_ATOMIC).
 */
@Port("include/linux/io-pgtable.h:io_pgtable_ops")
public interface IoPgtableOps {
    /** Maps {@code size} bytes at {@code iova} to {@code paddr} as one page of that size. 0, -EINVAL, -ERANGE, -EEXIST, -ENOMEM. */
    int map(long iova, long paddr, long size, int prot, int gfp);

    /** Maps {@code pgcount} pages of {@code pgsize}; {@code mapped[0]} (may be null) accumulates bytes mapped. */
    int mapPages(long iova, long paddr, long pgsize, long pgcount, int prot, int gfp, long[] mapped);

    /** Removes the page of {@code size} at {@code iova}; returns bytes unmapped (0 on hole/bad size). */
    long unmap(long iova, long size, IommuIotlbGather gather);

    /** Removes {@code pgcount} pages of {@code pgsize}; returns bytes unmapped. */
    long unmapPages(long iova, long pgsize, long pgcount, IommuIotlbGather gather);

    /** Walks the table: the physical address of {@code iova} (0 if unmapped). */
    long iovaToPhys(long iova);
}
