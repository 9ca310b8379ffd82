package org.iommu4j.base.device;

import static org.iommu4j.base.Errno.EIO;

import org.iommu4j.base.Port;
import org.iommu4j.base.Sizes;

/**
 * The {@code dma_parms} accessors of include/linux/dma-mapping.h (v5.15). They live in
 * kernel-base because the buses that set the limits (pci_device_add, platform devices) sit below
 * the DMA API's module; the rest of dma-mapping.h is {@code org.iommu4j.dma.DmaMapping}.
 *
 * <p>A device without {@code dma_parms} has the defaults: 64 KiB segments and no segment
 * boundary (ULONG_MAX); setting a limit on it fails with -EIO.
 */
public final class DmaMappingH {
    private DmaMappingH() {}

    /** The largest DMA segment the device takes: dma_parms' value if set, else SZ_64K. A u32. */
    @Port("include/linux/dma-mapping.h:dma_get_max_seg_size")
    public static int dmaGetMaxSegSize(Device dev) {
        DeviceDmaParameters parms = dev.dmaParms;
        if (parms != null && parms.maxSegmentSize != 0) {
            return parms.maxSegmentSize;
        }
        return (int) Sizes.SZ_64K;
    }

    /** Sets the largest DMA segment (a u32). 0, or -EIO when the device has no dma_parms. */
    @Port("include/linux/dma-mapping.h:dma_set_max_seg_size")
    public static int dmaSetMaxSegSize(Device dev, int size) {
        DeviceDmaParameters parms = dev.dmaParms;
        if (parms != null) {
            parms.maxSegmentSize = size;
            return 0;
        }
        return -EIO;
    }

    /**
     * The mask of the address bits a DMA segment may not carry across (a segment must not
     * cross a multiple of mask + 1): dma_parms' value if set, else ULONG_MAX (no boundary).
     */
    @Port("include/linux/dma-mapping.h:dma_get_seg_boundary")
    public static long dmaGetSegBoundary(Device dev) {
        DeviceDmaParameters parms = dev.dmaParms;
        if (parms != null && parms.segmentBoundaryMask != 0) {
            return parms.segmentBoundaryMask;
        }
        return -1L;
    }

    /** Sets the segment boundary mask. 0, or -EIO when the device has no dma_parms. */
    @Port("include/linux/dma-mapping.h:dma_set_seg_boundary")
    public static int dmaSetSegBoundary(Device dev, long mask) {
        DeviceDmaParameters parms = dev.dmaParms;
        if (parms != null) {
            parms.segmentBoundaryMask = mask;
            return 0;
        }
        return -EIO;
    }
}
