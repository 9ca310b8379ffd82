package org.iommu4j.dma;

import org.iommu4j.base.Port;

/** {@code enum dma_data_direction} (include/linux/dma-direction.h). */
@Port("include/linux/dma-direction.h:dma_data_direction")
public final class DmaDataDirection {
    private DmaDataDirection() {}

    public static final int DMA_BIDIRECTIONAL = 0;
    public static final int DMA_TO_DEVICE = 1;
    public static final int DMA_FROM_DEVICE = 2;
    public static final int DMA_NONE = 3;

    /** {@code valid_dma_direction}. */
    @Port("include/linux/dma-direction.h:valid_dma_direction")
    public static boolean validDmaDirection(int dir) {
        return dir == DMA_BIDIRECTIONAL || dir == DMA_TO_DEVICE || dir == DMA_FROM_DEVICE;
    }
}
