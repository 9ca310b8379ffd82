package org.iommu4j.dma;

import static org.iommu4j.base.Errno.EIO;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Gfp.__GFP_DMA;
import static org.iommu4j.base.Gfp.__GFP_DMA32;
import static org.iommu4j.base.Gfp.__GFP_HIGHMEM;
import static org.iommu4j.base.Gfp.__GFP_ZERO;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.iommu4j.base.Port;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.Device;
import org.iommu4j.mm.PageAlloc;

/**
 * kernel/dma/mapping.c with dma-direct (kernel/dma/direct.c) folded in: the DMA API a driver
 * calls. Each call dispatches to {@link Device#dmaOps} (a {@link DmaMapOps}, e.g. dma-iommu) or,
 * when it is null, to dma-direct, which here is the identity (DMA address == physical address,
 * checked against the device's DMA mask).
 *
 * <p>One instance per simulated machine, constructed with its page allocator. CPU addresses
 * returned by the allocators are kernel virtual addresses, which equal physical addresses in this
 * simulation (identity linear map); 0 means failure.
 *
 * <p>The segment limits of dma-mapping.h ({@code dma_get/set_max_seg_size},
 * {@code dma_get/set_seg_boundary}) are in kernel-base's
 * {@link org.iommu4j.base.device.DmaMappingH}, next to the buses that set them.
 *
 * <p>{@code dmam_*} (devres-managed) allocations are recorded per device and released by
 * {@link #devresReleaseAll(Device)}, which the driver core would call on unbind.
 */
@Port("kernel/dma/mapping.c")
public final class DmaMapping {
    /** {@code DMA_MAPPING_ERROR}: (dma_addr_t)~0. */
    @Port("include/linux/dma-mapping.h:DMA_MAPPING_ERROR")
    public static final long DMA_MAPPING_ERROR = -1L;

    // DMA attributes (include/linux/dma-mapping.h)
    public static final long DMA_ATTR_WEAK_ORDERING = 1L << 1;
    public static final long DMA_ATTR_WRITE_COMBINE = 1L << 2;
    public static final long DMA_ATTR_NO_KERNEL_MAPPING = 1L << 4;
    public static final long DMA_ATTR_SKIP_CPU_SYNC = 1L << 5;
    public static final long DMA_ATTR_FORCE_CONTIGUOUS = 1L << 6;
    public static final long DMA_ATTR_ALLOC_SINGLE_PAGES = 1L << 7;
    public static final long DMA_ATTR_NO_WARN = 1L << 8;
    public static final long DMA_ATTR_PRIVILEGED = 1L << 9;

    private final PageAlloc pageAlloc;

    /** devres records of dmam_alloc_coherent: dev -> {size, cpuAddr, dmaHandle}. Guarded by itself. */
    private final Map<Device, List<long[]>> devres = new IdentityHashMap<>();

    public DmaMapping(PageAlloc pageAlloc) {
        this.pageAlloc = pageAlloc;
    }

    public PageAlloc pageAlloc() {
        return pageAlloc;
    }

    /** {@code get_dma_ops}. */
    @Port("include/linux/dma-map-ops.h:get_dma_ops")
    public static DmaMapOps getDmaOps(Device dev) {
        return (DmaMapOps) dev.dmaOps;
    }

    /** {@code set_dma_ops}. */
    @Port("include/linux/dma-map-ops.h:set_dma_ops")
    public static void setDmaOps(Device dev, DmaMapOps ops) {
        dev.dmaOps = ops;
    }

    @Port("kernel/dma/mapping.c:dma_go_direct")
    private static boolean dmaGoDirect(Device dev, DmaMapOps ops) {
        return ops == null;
    }

    /** Order of the smallest power-of-two page run covering {@code size}. */
    @Port("include/asm-generic/getorder.h:get_order")
    public static int getOrder(long size) {
        if (size <= 4096) {
            return 0;
        }
        long s = (size - 1) >>> 12;
        return 64 - Long.numberOfLeadingZeros(s);
    }

    // ---- dma-direct ----

    @Port("kernel/dma/direct.c:dma_coherent_ok")
    private static boolean dmaCoherentOk(Device dev, long phys, long size) {
        long end = phys + size - 1;
        return Long.compareUnsigned(end, dev.coherentDmaMask) <= 0;
    }

    @Port("kernel/dma/direct.c:dma_direct_alloc")
    private long dmaDirectAlloc(Device dev, long size, long[] dmaHandle, int gfp, long attrs) {
        int order = getOrder(size);
        long pa = pageAlloc.allocPages(gfp | __GFP_ZERO, order);
        if (pa == 0) {
            return 0;
        }
        if (!dmaCoherentOk(dev, pa, size)) {
            pageAlloc.freePages(pa, order);
            return 0;
        }
        dmaHandle[0] = pa;
        return pa;
    }

    @Port("kernel/dma/direct.c:dma_direct_free")
    private void dmaDirectFree(Device dev, long size, long cpuAddr, long dmaAddr, long attrs) {
        pageAlloc.freePages(cpuAddr, getOrder(size));
    }

    @Port("kernel/dma/direct.h:dma_direct_map_page")
    private static long dmaDirectMapPage(Device dev, long page, long offset, long size, int dir, long attrs) {
        long phys = page + offset;
        if (Long.compareUnsigned(phys + size - 1, dev.dmaMask[0]) > 0) {
            return DMA_MAPPING_ERROR;
        }
        return phys;
    }

    // ---- the API ----

    /**
     * Allocates {@code size} bytes of zeroed DMA-coherent memory. Returns the CPU address (== PA)
     * or 0, and stores the device's DMA address in {@code dmaHandle[0]}.
     */
    @Port("kernel/dma/mapping.c:dma_alloc_attrs")
    public long dmaAllocAttrs(Device dev, long size, long[] dmaHandle, int gfp, long attrs) {
        DmaMapOps ops = getDmaOps(dev);
        Warn.WARN_ON_ONCE(dev.coherentDmaMask == 0);
        // Let the implementation decide on the zone to allocate from.
        gfp &= ~(__GFP_DMA | __GFP_DMA32 | __GFP_HIGHMEM);
        if (dmaGoDirect(dev, ops)) {
            return dmaDirectAlloc(dev, size, dmaHandle, gfp, attrs);
        }
        return ops.alloc(dev, size, dmaHandle, gfp, attrs);
    }

    @Port("include/linux/dma-mapping.h:dma_alloc_coherent")
    public long dmaAllocCoherent(Device dev, long size, long[] dmaHandle, int gfp) {
        return dmaAllocAttrs(dev, size, dmaHandle, gfp, 0);
    }

    @Port("kernel/dma/mapping.c:dma_free_attrs")
    public void dmaFreeAttrs(Device dev, long size, long cpuAddr, long dmaHandle, long attrs) {
        DmaMapOps ops = getDmaOps(dev);
        if (cpuAddr == 0) {
            return;
        }
        if (dmaGoDirect(dev, ops)) {
            dmaDirectFree(dev, size, cpuAddr, dmaHandle, attrs);
        } else {
            ops.free(dev, size, cpuAddr, dmaHandle, attrs);
        }
    }

    @Port("include/linux/dma-mapping.h:dma_free_coherent")
    public void dmaFreeCoherent(Device dev, long size, long cpuAddr, long dmaHandle) {
        dmaFreeAttrs(dev, size, cpuAddr, dmaHandle, 0);
    }

    /** Managed {@code dma_alloc_coherent}: freed by {@link #devresReleaseAll} on unbind. */
    @Port("kernel/dma/mapping.c:dmam_alloc_attrs")
    public long dmamAllocCoherent(Device dev, long size, long[] dmaHandle, int gfp) {
        long vaddr = dmaAllocAttrs(dev, size, dmaHandle, gfp, 0);
        if (vaddr == 0) {
            return 0;
        }
        synchronized (devres) {
            devres.computeIfAbsent(dev, d -> new ArrayList<>()).add(new long[] {size, vaddr, dmaHandle[0]});
        }
        return vaddr;
    }

    @Port("kernel/dma/mapping.c:dmam_free_coherent")
    public void dmamFreeCoherent(Device dev, long size, long cpuAddr, long dmaHandle) {
        boolean found = false;
        synchronized (devres) {
            List<long[]> l = devres.get(dev);
            if (l != null) {
                for (int i = 0; i < l.size(); i++) {
                    long[] r = l.get(i);
                    if (r[0] == size && r[1] == cpuAddr && r[2] == dmaHandle) {
                        l.remove(i);
                        found = true;
                        break;
                    }
                }
            }
        }
        Warn.WARN_ON(!found);
        dmaFreeAttrs(dev, size, cpuAddr, dmaHandle, 0);
    }

    /** Releases every managed DMA allocation of {@code dev} (drivers/base/devres.c, on unbind). */
    @Port("drivers/base/devres.c:devres_release_all")
    public int devresReleaseAll(Device dev) {
        List<long[]> l;
        synchronized (devres) {
            l = devres.remove(dev);
        }
        if (l == null) {
            return 0;
        }
        // Release in reverse order of allocation, as devres does.
        for (int i = l.size() - 1; i >= 0; i--) {
            long[] r = l.get(i);
            dmaFreeAttrs(dev, r[0], r[1], r[2], 0);
        }
        return l.size();
    }

    @Port("kernel/dma/mapping.c:dma_map_page_attrs")
    public long dmaMapPageAttrs(Device dev, long page, long offset, long size, int dir, long attrs) {
        DmaMapOps ops = getDmaOps(dev);
        if (!DmaDataDirection.validDmaDirection(dir)) {
            Warn.WARN(true, "BUG: invalid DMA direction " + dir);
            return DMA_MAPPING_ERROR;
        }
        // No dma_mask: the bus never made the device DMA-capable.
        if (Warn.WARN_ON_ONCE(dev.dmaMask == null)) {
            return DMA_MAPPING_ERROR;
        }
        if (dmaGoDirect(dev, ops)) {
            return dmaDirectMapPage(dev, page, offset, size, dir, attrs);
        }
        return ops.mapPage(dev, page, offset, size, dir, attrs);
    }

    @Port("include/linux/dma-mapping.h:dma_map_page")
    public long dmaMapPage(Device dev, long page, long offset, long size, int dir) {
        return dmaMapPageAttrs(dev, page, offset, size, dir, 0);
    }

    /** {@code dma_map_single}: {@code ptr} is a kernel virtual address (== PA here). */
    @Port("include/linux/dma-mapping.h:dma_map_single_attrs")
    public long dmaMapSingle(Device dev, long ptr, long size, int dir) {
        return dmaMapPageAttrs(dev, ptr & ~0xfffL, ptr & 0xfff, size, dir, 0);
    }

    @Port("kernel/dma/mapping.c:dma_unmap_page_attrs")
    public void dmaUnmapPageAttrs(Device dev, long addr, long size, int dir, long attrs) {
        DmaMapOps ops = getDmaOps(dev);
        if (!DmaDataDirection.validDmaDirection(dir)) {
            Warn.WARN(true, "BUG: invalid DMA direction " + dir);
            return;
        }
        if (!dmaGoDirect(dev, ops)) {
            ops.unmapPage(dev, addr, size, dir, attrs);
        }
    }

    @Port("include/linux/dma-mapping.h:dma_unmap_page")
    public void dmaUnmapPage(Device dev, long addr, long size, int dir) {
        dmaUnmapPageAttrs(dev, addr, size, dir, 0);
    }

    @Port("include/linux/dma-mapping.h:dma_unmap_single")
    public void dmaUnmapSingle(Device dev, long addr, long size, int dir) {
        dmaUnmapPageAttrs(dev, addr, size, dir, 0);
    }

    /** Maps a scatterlist; returns the number of DMA segments, 0 on failure (v5.15 API). */
    @Port("kernel/dma/mapping.c:dma_map_sg_attrs")
    public int dmaMapSgAttrs(Device dev, Scatterlist[] sg, int nents, int dir, long attrs) {
        int ret = __dmaMapSgAttrs(dev, sg, nents, dir, attrs);
        return ret < 0 ? 0 : ret;
    }

    @Port("include/linux/dma-mapping.h:dma_map_sg")
    public int dmaMapSg(Device dev, Scatterlist[] sg, int nents, int dir) {
        return dmaMapSgAttrs(dev, sg, nents, dir, 0);
    }

    @Port("kernel/dma/mapping.c:__dma_map_sg_attrs")
    private int __dmaMapSgAttrs(Device dev, Scatterlist[] sg, int nents, int dir, long attrs) {
        DmaMapOps ops = getDmaOps(dev);
        if (!DmaDataDirection.validDmaDirection(dir)) {
            Warn.WARN(true, "BUG: invalid DMA direction " + dir);
            return -org.iommu4j.base.Errno.EINVAL;
        }
        if (Warn.WARN_ON_ONCE(dev.dmaMask == null)) {
            return 0;
        }
        if (dmaGoDirect(dev, ops)) {
            // dma_direct_map_sg
            for (int i = 0; i < nents; i++) {
                Scatterlist s = sg[i];
                long a = dmaDirectMapPage(dev, s.page, s.offset, s.length, dir, attrs);
                if (a == DMA_MAPPING_ERROR) {
                    return -EIO;
                }
                s.dmaAddress = a;
                s.dmaLength = s.length;
            }
            return nents;
        }
        int ents = ops.mapSg(dev, sg, nents, dir, attrs);
        if (ents == 0) {
            Warn.WARN_ON_ONCE(true);
            return -EIO;
        }
        return ents;
    }

    @Port("kernel/dma/mapping.c:dma_unmap_sg_attrs")
    public void dmaUnmapSgAttrs(Device dev, Scatterlist[] sg, int nents, int dir, long attrs) {
        DmaMapOps ops = getDmaOps(dev);
        if (!dmaGoDirect(dev, ops)) {
            ops.unmapSg(dev, sg, nents, dir, attrs);
        }
    }

    @Port("include/linux/dma-mapping.h:dma_unmap_sg")
    public void dmaUnmapSg(Device dev, Scatterlist[] sg, int nents, int dir) {
        dmaUnmapSgAttrs(dev, sg, nents, dir, 0);
    }

    /** Returns -ENOMEM for DMA_MAPPING_ERROR, else 0. */
    @Port("include/linux/dma-mapping.h:dma_mapping_error")
    public static int dmaMappingError(Device dev, long dmaAddr) {
        return dmaAddr == DMA_MAPPING_ERROR ? -ENOMEM : 0;
    }

    /** Coherent simulated memory: syncs are ordering points only. */
    @Port("kernel/dma/mapping.c:dma_sync_single_for_cpu")
    public void dmaSyncSingleForCpu(Device dev, long addr, long size, int dir) {}

    @Port("kernel/dma/mapping.c:dma_sync_single_for_device")
    public void dmaSyncSingleForDevice(Device dev, long addr, long size, int dir) {}

    /**
     * dma-direct's answer to {@code dma_supported}: every mask of at least 32 bits (v5.15
     * expects each platform to reach its low 4 GiB, by ZONE_DMA32 or by having no more RAM).
     * Below 32 bits v5.15 compares the mask with the lower of the last RAM page and the
     * ZONE_DMA limit (arm64: 32 bits when the firmware gives no narrower {@code dma-ranges});
     * this static port has no machine's {@code max_pfn} and takes the ZONE_DMA limit alone, so
     * it refuses every narrower mask, as v5.15 does on a machine whose RAM reaches 4 GiB.
     */
    @Port("kernel/dma/direct.c:dma_direct_supported")
    static boolean dmaDirectSupported(Device dev, long mask) {
        if (Long.compareUnsigned(mask, DMA_BIT_MASK(32)) >= 0) {
            return true;
        }
        long minMask = DMA_BIT_MASK(ZONE_DMA_BITS);
        return Long.compareUnsigned(mask, minMask) >= 0;
    }

    /** arm64's {@code zone_dma_bits} with no narrower {@code dma-ranges} in the tree (v5.15). */
    static final int ZONE_DMA_BITS = 32;

    /**
     * Whether {@code dev} can do DMA with addresses limited to {@code mask}: dma-direct decides
     * for a device without DMA ops, the ops' {@code dma_supported} otherwise, and ops without
     * one (dma-iommu) take any mask.
     */
    @Port("kernel/dma/mapping.c:dma_supported")
    public static boolean dmaSupported(Device dev, long mask) {
        DmaMapOps ops = getDmaOps(dev);
        if (ops == null) {
            return dmaDirectSupported(dev, mask);
        }
        return ops.dmaSupported(dev, mask);
    }

    /** The device's DMA mask, or 32 bits when it has none (no dma_mask, or a zero one). */
    @Port("include/linux/dma-mapping.h:dma_get_mask")
    public static long dmaGetMask(Device dev) {
        long[] m = dev.dmaMask;
        return m != null && m[0] != 0 ? m[0] : DMA_BIT_MASK(32);
    }

    /**
     * Sets the mask for streaming mappings. 0, or -EIO when the device has no dma_mask (its
     * bus did not make it DMA-capable) or the mask is not supported; the mask is then unchanged.
     * (v5.15 first truncates the mask to dma_addr_t, 64 bits here: a no-op.)
     */
    @Port("kernel/dma/mapping.c:dma_set_mask")
    public static int dmaSetMask(Device dev, long mask) {
        if (dev.dmaMask == null || !dmaSupported(dev, mask)) {
            return -EIO;
        }
        dev.dmaMask[0] = mask;
        return 0;
    }

    /** Sets the mask for coherent allocations. 0, or -EIO (not supported; mask unchanged). */
    @Port("kernel/dma/mapping.c:dma_set_coherent_mask")
    public static int dmaSetCoherentMask(Device dev, long mask) {
        if (!dmaSupported(dev, mask)) {
            return -EIO;
        }
        dev.coherentDmaMask = mask;
        return 0;
    }

    /**
     * Sets both masks, as drivers of devices that address alike for both do. 0, or dma_set_mask's
     * -EIO (then neither mask changes). The coherent result is ignored: a mask dma_set_mask took
     * is supported for both.
     */
    @Port("include/linux/dma-mapping.h:dma_set_mask_and_coherent")
    public static int dmaSetMaskAndCoherent(Device dev, long mask) {
        int rc = dmaSetMask(dev, mask);
        if (rc == 0) {
            dmaSetCoherentMask(dev, mask);
        }
        return rc;
    }

    @Port("include/linux/dma-mapping.h:DMA_BIT_MASK")
    public static long DMA_BIT_MASK(int n) {
        return n == 64 ? -1L : (1L << n) - 1;
    }
}
