package org.iommu4j.base.device;

import org.iommu4j.base.Port;

/**
 * {@code struct device_dma_parameters} (include/linux/device.h, v5.15): the limits a device's
 * bus or driver sets on the segments of a DMA scatterlist. A device has them only when
 * {@link Device#dmaParms} points at an instance (the PCI and platform buses provide one); a
 * zero field means "not set" and the {@link DmaMappingH} getters then answer the default.
 */
@Port("include/linux/device.h:device_dma_parameters")
public final class DeviceDmaParameters {
    /** {@code unsigned int max_segment_size}: u32, 0 = not set. */
    public int maxSegmentSize;
    /** {@code unsigned int min_align_mask} (v5.12): u32, used only by swiotlb, kept for layout. */
    public int minAlignMask;
    /** {@code unsigned long segment_boundary_mask}: 0 = not set. */
    public long segmentBoundaryMask;
}
