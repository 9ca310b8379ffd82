package org.iommu4j.dma;

import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;

/**
 * {@code struct dma_map_ops} (include/linux/dma-map-ops.h): the per-device DMA API backend kept
 * in {@link Device#dmaOps}; null means dma-direct. dma-iommu implements it.
 * Addresses: {@code cpuAddr} is a kernel virtual address, which in this simulation equals the
 * physical address; a failed mapping returns {@link DmaMapping#DMA_MAPPING_ERROR}.
 */
@Port("include/linux/dma-map-ops.h:dma_map_ops")
public interface DmaMapOps {
    /** Returns the CPU address (0 on failure) and stores the DMA address in {@code dmaHandle[0]}. */
    long alloc(Device dev, long size, long[] dmaHandle, int gfp, long attrs);

    void free(Device dev, long size, long cpuAddr, long dmaHandle, long attrs);

    /** Maps {@code size} bytes at physical {@code page + offset}; DMA_MAPPING_ERROR on failure. */
    long mapPage(Device dev, long page, long offset, long size, int dir, long attrs);

    void unmapPage(Device dev, long dmaHandle, long size, int dir, long attrs);

    /** Returns the number of DMA segments mapped, or a negative errno (v5.15: 0 = error was allowed before). */
    int mapSg(Device dev, Scatterlist[] sg, int nents, int dir, long attrs);

    void unmapSg(Device dev, Scatterlist[] sg, int nents, int dir, long attrs);

    /**
     * Whether the backend can honour a DMA mask of {@code mask}. Optional in C (v5.15's
     * iommu_dma_ops has none), and an ops table without it takes any mask: this default.
     */
    default boolean dmaSupported(Device dev, long mask) {
        return true;
    }

    /** Largest mappable address; default all ones. */
    default long getRequiredMask(Device dev) {
        return -1L;
    }
}
