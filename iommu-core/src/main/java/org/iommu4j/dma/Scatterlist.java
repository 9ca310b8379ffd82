package org.iommu4j.dma;

import org.iommu4j.base.Port;

/**
 * {@code struct scatterlist} (include/linux/scatterlist.h): one segment of a scatter-gather
 * list. A list is a {@code Scatterlist[]} (no chaining); {@code sg_phys} is
 * {@link #page} + {@link #offset}.
 */
@Port("include/linux/scatterlist.h:scatterlist")
public final class Scatterlist {
    /** Physical address of the segment's first page (page_link). */
    public long page;
    public int offset;
    public int length;
    /** Filled by dma_map_sg. */
    public long dmaAddress;
    public int dmaLength;

    public Scatterlist() {}

    public Scatterlist(long phys, int length) {
        sgSetPhys(phys, length);
    }

    /** Sets page/offset from a physical address. */
    public void sgSetPhys(long phys, int len) {
        page = phys & ~0xfffL;
        offset = (int) (phys & 0xfff);
        length = len;
    }

    @Port("include/linux/scatterlist.h:sg_phys")
    public long sgPhys() {
        return page + offset;
    }

    @Port("include/linux/scatterlist.h:sg_dma_address")
    public long sgDmaAddress() {
        return dmaAddress;
    }

    @Port("include/linux/scatterlist.h:sg_dma_len")
    public int sgDmaLen() {
        return dmaLength;
    }

    @Override
    public String toString() {
        return String.format("sg{phys=0x%x len=0x%x dma=0x%x dmalen=0x%x}", sgPhys(), length, dmaAddress, dmaLength);
    }
}
