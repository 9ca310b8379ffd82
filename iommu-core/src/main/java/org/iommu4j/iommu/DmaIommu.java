package org.iommu4j.iommu;

import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EFAULT;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Gfp.GFP_KERNEL;
import static org.iommu4j.base.Gfp.__GFP_ZERO;
import static org.iommu4j.base.device.DmaMappingH.dmaGetMaxSegSize;
import static org.iommu4j.base.device.DmaMappingH.dmaGetSegBoundary;
import static org.iommu4j.dma.DmaDataDirection.DMA_BIDIRECTIONAL;
import static org.iommu4j.dma.DmaDataDirection.DMA_FROM_DEVICE;
import static org.iommu4j.dma.DmaDataDirection.DMA_TO_DEVICE;
import static org.iommu4j.dma.DmaMapping.DMA_ATTR_PRIVILEGED;
import static org.iommu4j.dma.DmaMapping.DMA_MAPPING_ERROR;
import static org.iommu4j.iommu.IommuH.IOMMU_CACHE;
import static org.iommu4j.iommu.IommuH.IOMMU_DOMAIN_UNMANAGED;
import static org.iommu4j.iommu.IommuH.IOMMU_MMIO;
import static org.iommu4j.iommu.IommuH.IOMMU_NOEXEC;
import static org.iommu4j.iommu.IommuH.IOMMU_PRIV;
import static org.iommu4j.iommu.IommuH.IOMMU_READ;
import static org.iommu4j.iommu.IommuH.IOMMU_RESV_DIRECT;
import static org.iommu4j.iommu.IommuH.IOMMU_RESV_DIRECT_RELAXABLE;
import static org.iommu4j.iommu.IommuH.IOMMU_WRITE;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Bits;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Slab;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.device.ResourceEntry;
import org.iommu4j.base.irq.MsiDesc;
import org.iommu4j.base.irq.MsiMsg;
import org.iommu4j.dma.DmaMapOps;
import org.iommu4j.dma.DmaMapping;
import org.iommu4j.dma.Scatterlist;
import org.iommu4j.mm.PageAlloc;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciHostBridge;

/**
 * drivers/iommu/dma-iommu.c (v5.15): the DMA API over a DMA domain ({@code iommu_dma_ops}).
 * Created by {@link Iommu} when given a page allocator; installed in {@code dev.dmaOps} by
 * {@link #iommuSetupDmaOps}.
 *
 * <p>Scope: strict invalidation for DMA domains; DMA_FQ domains (iommu.strict=0) queue freed
 * IOVAs in iova.c's flush queue and flush the whole IOTLB when it fills (or on
 * {@link IovaDomain#fqFlushTimeout}; the 10 ms timer is not armed). Coherent allocations always take the
 * physically contiguous path (the simulated kernel has no vmalloc remapping), so the CPU address
 * equals the physical address. No swiotlb bouncing (no untrusted devices).
 *
 * <p>MSIs: {@link #iommuDmaPrepareMsi} maps an MSI doorbell page into the device's domain
 * (once per doorbell and domain) and {@link #iommuDmaComposeMsiMsg} puts its IOVA into the
 * message the interrupt controller composed, so the device's MSI write goes through the IOMMU
 * like any DMA write. A DMA domain takes the IOVA from its allocator; an unmanaged domain only
 * gets MSI remapping if its owner gave it an MSI cookie ({@link #iommuGetMsiCookie}).
 * Hardware MSI windows (IOMMU_RESV_MSI, cookie_init_hw_msi_region) are not modelled.
 */
@Port("drivers/iommu/dma-iommu.c:iommu_dma_ops")
public final class DmaIommu implements DmaMapOps {
    private final Iommu core;
    private final PageAlloc pageAlloc;
    /** {@code iommu_dma_forcedac}. */
    public volatile boolean iommuDmaForcedac;

    DmaIommu(Iommu core, PageAlloc pageAlloc) {
        this.core = core;
        this.pageAlloc = pageAlloc;
    }

    @Port("drivers/iommu/dma-iommu.c:cookie_alloc")
    private static IommuDmaCookie cookieAlloc(int type) {
        return Slab.kzalloc(() -> new IommuDmaCookie(type), GFP_KERNEL);
    }

    /**
     * Gives an unmanaged domain just what MSI remapping needs: doorbell pages are then mapped one
     * granule after another from {@code base}, which the caller must keep free in its own IOVA
     * space for as many pages as the domain's devices have doorbells. 0; -EINVAL not an
     * unmanaged domain; -EEXIST it has a cookie; -ENOMEM.
     */
    @Port("drivers/iommu/dma-iommu.c:iommu_get_msi_cookie")
    public static int iommuGetMsiCookie(IommuDomain domain, long base) {
        if (domain.type != IOMMU_DOMAIN_UNMANAGED) {
            return -EINVAL;
        }
        if (domain.iovaCookie != null) {
            return -EEXIST;
        }
        IommuDmaCookie cookie = cookieAlloc(IommuDmaCookie.IOMMU_DMA_MSI_COOKIE);
        if (cookie == null) {
            return -ENOMEM;
        }
        cookie.msiIova = base;
        domain.iovaCookie = cookie;
        return 0;
    }

    /** Gives a DMA domain its IOVA cookie. 0, -EEXIST, -ENOMEM. */
    @Port("drivers/iommu/dma-iommu.c:iommu_get_dma_cookie")
    public static int iommuGetDmaCookie(IommuDomain domain) {
        if (domain.iovaCookie != null) {
            return -EEXIST;
        }
        domain.iovaCookie = cookieAlloc(IommuDmaCookie.IOMMU_DMA_IOVA_COOKIE);
        if (domain.iovaCookie == null) {
            return -ENOMEM;
        }
        return 0;
    }

    @Port("drivers/iommu/dma-iommu.c:iommu_put_dma_cookie")
    public static void iommuPutDmaCookie(IommuDomain domain) {
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        if (cookie == null) {
            return;
        }
        if (cookie.type == IommuDmaCookie.IOMMU_DMA_IOVA_COOKIE && cookie.iovad.granule != 0) {
            cookie.iovad.putIovaDomain();
        }
        // the doorbell mappings go with the domain's page tables; only the records are freed
        cookie.msiPageList.clear();
        domain.iovaCookie = null;
    }

    /**
     * Keeps a PCI function's IOVAs off the bus addresses its host bridge routes elsewhere: each
     * memory window (a DMA there would be a peer-to-peer write to another device's BAR), and
     * every gap around the bridge's inbound dma_ranges (addresses it does not pass upstream).
     * 0, or -EINVAL when the dma_ranges overlap (a reservation made before the error stays).
     * The dma_ranges list is sorted by drivers/pci/of.c as it fills it (v5.15).
     */
    @Port("drivers/iommu/dma-iommu.c:iova_reserve_pci_windows")
    private static int iovaReservePciWindows(PciDev dev, IovaDomain iovad) {
        PciHostBridge bridge = Pci.pciFindHostBridge(dev.pciBus);
        for (ResourceEntry window : bridge.windows) {
            if (window.res().type() != Resource.IORESOURCE_MEM) {
                continue;
            }
            // Bus addresses: the window's CPU range less the bridge's offset.
            long lo = iovad.iovaPfn(window.res().start() - window.offset());
            long hi = iovad.iovaPfn(window.res().end() - window.offset());
            iovad.reserveIova(lo, hi);
        }
        // Walk the inbound ranges in order, reserving from the end of one to the start of the
        // next (that start's own granule included, as v5.15 does), and after the last one up
        // to the top of the address space.
        List<ResourceEntry> dmaRanges = bridge.dmaRanges;
        long start = 0;
        for (int i = 0; i < dmaRanges.size(); i++) {
            ResourceEntry window = dmaRanges.get(i);
            long end = window.res().start() - window.offset();
            while (true) {
                if (Long.compareUnsigned(end, start) > 0) {
                    iovad.reserveIova(iovad.iovaPfn(start), iovad.iovaPfn(end));
                } else if (Long.compareUnsigned(end, start) < 0) {
                    DevPrintk.devErr(dev, "Failed to reserve IOVA [0x%016x-0x%016x]", start, end);
                    return -EINVAL;
                }
                start = window.res().end() - window.offset() + 1;
                if (i == dmaRanges.size() - 1 && end != -1L) {
                    end = -1L;
                    continue;
                }
                break;
            }
        }
        return 0;
    }

    @Port("drivers/iommu/dma-iommu.c:iova_reserve_iommu_regions")
    private int iovaReserveIommuRegions(Device dev, IommuDomain domain) {
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        IovaDomain iovad = cookie.iovad;
        if (Pci.devIsPci(dev)) {
            int ret = iovaReservePciWindows(Pci.toPciDev(dev), iovad);
            if (ret != 0) {
                return ret;
            }
        }
        List<IommuResvRegion> resv = new ArrayList<>();
        core.iommuGetResvRegions(dev, resv);
        int ret = 0;
        for (IommuResvRegion region : resv) {
            // SW_MSI windows are this layer's own to allocate from: not reserved.
            if (region.type == IommuH.IOMMU_RESV_SW_MSI) {
                continue;
            }
            long lo = iovad.iovaPfn(region.start);
            long hi = iovad.iovaPfn(region.start + region.length - 1);
            // As in v5.15 the result is not checked: a reservation that fails to allocate is
            // simply missing. (IOMMU_RESV_MSI regions would also get cookie_init_hw_msi_region,
            // the only error source here; this port has no hardware MSI windows.)
            iovad.reserveIova(lo, hi);
        }
        core.iommuPutResvRegions(dev, resv);
        return ret;
    }

    /**
     * Initialises the IOVA allocator of a DMA domain for [base, limit] and reserves the
     * device's reserved regions in it. 0, -EINVAL (no IOVA cookie), -EFAULT (range outside the
     * aperture, or incompatible with an earlier init). A flush queue that cannot be set up
     * leaves a strict DMA domain; a reservation that cannot be allocated is skipped (v5.15).
     */
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_init_domain")
    public int iommuDmaInitDomain(IommuDomain domain, long base, long limit, Device dev) {
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        if (cookie == null || cookie.type != IommuDmaCookie.IOMMU_DMA_IOVA_COOKIE) {
            return -EINVAL;
        }
        IovaDomain iovad = cookie.iovad;
        // IOVA granule = the domain's smallest page size.
        int order = Bits.__ffs(domain.pgsizeBitmap);
        long basePfn = Math.max(1, base >>> order);
        // With a forced aperture, the device's range must overlap it,
        if (domain.geometry.forceAperture) {
            if (Long.compareUnsigned(base, domain.geometry.apertureEnd) > 0
                    || Long.compareUnsigned(limit, domain.geometry.apertureStart) < 0) {
                Printk.prWarn("specified DMA range outside IOMMU capability");
                return -EFAULT;
            }
            // and the base is raised to the aperture start.
            basePfn = Math.max(basePfn, domain.geometry.apertureStart >>> order);
        }
        // Already set up (startPfn != 0): only a matching repeat init is accepted.
        if (iovad.startPfn != 0) {
            if ((1L << order) != iovad.granule || basePfn != iovad.startPfn) {
                Printk.prWarn("Incompatible range for DMA domain");
                return -EFAULT;
            }
            return 0;
        }
        iovad.initIovaDomain(1L << order, basePfn);
        // No flush queue: the domain just stays strict.
        if (domain.type == IommuH.IOMMU_DOMAIN_DMA_FQ && iommuDmaInitFq(domain) != 0) {
            domain.type = IommuH.IOMMU_DOMAIN_DMA;
        }
        return iovaReserveIommuRegions(dev, domain);
    }

    @Port("drivers/iommu/dma-iommu.c:iommu_dma_flush_iotlb_all")
    private static void iommuDmaFlushIotlbAll(IommuDomain domain) {
        Iommu.iommuFlushIotlbAll(domain);
    }

    /** Sets up the flush queue of a DMA_FQ domain. 0 or -ENOMEM (the caller falls back to strict). */
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_init_fq")
    public static int iommuDmaInitFq(IommuDomain domain) {
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        if (cookie.fqDomain != null) {
            return 0;
        }
        int ret = cookie.iovad.initIovaFlushQueue(iovad -> iommuDmaFlushIotlbAll(domain));
        if (ret != 0) {
            Printk.prWarn("iova flush queue initialization failed");
            return ret;
        }
        cookie.fqDomain = domain;
        return 0;
    }

    @Port("drivers/iommu/dma-iommu.c:dma_info_to_prot")
    static int dmaInfoToProt(int dir, boolean coherent, long attrs) {
        int prot = coherent ? IOMMU_CACHE : 0;
        if ((attrs & DMA_ATTR_PRIVILEGED) != 0) {
            prot |= IOMMU_PRIV;
        }
        switch (dir) {
            case DMA_BIDIRECTIONAL:
                return prot | IOMMU_READ | IOMMU_WRITE;
            case DMA_TO_DEVICE:
                return prot | IOMMU_READ;
            case DMA_FROM_DEVICE:
                return prot | IOMMU_WRITE;
            default:
                return 0;
        }
    }

    @Port("drivers/iommu/dma-iommu.c:iommu_dma_alloc_iova")
    private long iommuDmaAllocIova(IommuDomain domain, long size, long dmaLimit, Device dev) {
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        IovaDomain iovad = cookie.iovad;
        if (cookie.type == IommuDmaCookie.IOMMU_DMA_MSI_COOKIE) {
            cookie.msiIova += size;
            return cookie.msiIova - size;
        }
        int shift = iovad.iovaShift();
        long iovaLen = size >>> shift;
        long iova = 0;
        // Round cacheable sizes up to a power of two (see alloc_iova_fast).
        if (iovaLen < (1L << (IovaDomain.IOVA_RANGE_CACHE_MAX_SIZE - 1))) {
            iovaLen = Bits.roundupPowOfTwo(iovaLen);
        }
        // The interconnect's limit (dma-ranges) applies too; 0 means it has none.
        dmaLimit = Bits.minNotZero(dmaLimit, dev.busDmaLimit);
        if (domain.geometry.forceAperture) {
            dmaLimit = Bits.umin(dmaLimit, domain.geometry.apertureEnd);
        }
        // PCI: try below 4 GiB first, single-address-cycle DMA is cheaper.
        if (Long.compareUnsigned(dmaLimit, DmaMapping.DMA_BIT_MASK(32)) > 0 && !iommuDmaForcedac && devIsPci(dev)) {
            iova = iovad.allocIovaFast(iovaLen, DmaMapping.DMA_BIT_MASK(32) >>> shift, false);
        }
        if (iova == 0) {
            iova = iovad.allocIovaFast(iovaLen, dmaLimit >>> shift, true);
        }
        return iova << shift;
    }

    /** {@code dev_is_pci}: the device sits on the "pci" bus type (as pci-ats names it). */
    static boolean devIsPci(Device dev) {
        return dev.bus != null && "pci".equals(dev.bus.name());
    }

    @Port("drivers/iommu/dma-iommu.c:iommu_dma_free_iova")
    private static void iommuDmaFreeIova(IommuDmaCookie cookie, long iova, long size, IommuIotlbGather gather) {
        IovaDomain iovad = cookie.iovad;
        // MSI cookie: frees only ever undo the latest allocation, so step the cursor back.
        if (cookie.type == IommuDmaCookie.IOMMU_DMA_MSI_COOKIE) {
            cookie.msiIova -= size;
        } else if (gather != null && gather.queued) {
            iovad.queueIova(iovad.iovaPfn(iova), size >>> iovad.iovaShift());
        } else {
            iovad.freeIovaFast(iovad.iovaPfn(iova), size >>> iovad.iovaShift());
        }
    }

    @Port("drivers/iommu/dma-iommu.c:__iommu_dma_unmap")
    private void __iommuDmaUnmap(Device dev, long dmaAddr, long size) {
        IommuDomain domain = Iommu.iommuGetDmaDomain(dev);
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        IovaDomain iovad = cookie.iovad;
        long iovaOff = iovad.iovaOffset(dmaAddr);
        dmaAddr -= iovaOff;
        size = iovad.iovaAlign(size + iovaOff);
        IommuIotlbGather gather = new IommuIotlbGather();
        // With a flush queue the IOTLB is flushed later, before the IOVA can be reused.
        gather.queued = cookie.fqDomain != null;
        long unmapped = Iommu.iommuUnmapFast(domain, dmaAddr, size, gather);
        Warn.WARN_ON(unmapped != size);
        if (!gather.queued) {
            Iommu.iommuIotlbSync(domain, gather);
        }
        iommuDmaFreeIova(cookie, dmaAddr, size, gather);
    }

    @Port("drivers/iommu/dma-iommu.c:__iommu_dma_map")
    private long __iommuDmaMap(Device dev, long phys, long size, int prot, long dmaMask) {
        IommuDomain domain = Iommu.iommuGetDmaDomain(dev);
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        IovaDomain iovad = cookie.iovad;
        long iovaOff = iovad.iovaOffset(phys);
        size = iovad.iovaAlign(size + iovaOff);
        long iova = iommuDmaAllocIova(domain, size, dmaMask, dev);
        if (iova == 0) {
            return DMA_MAPPING_ERROR;
        }
        if (Iommu.iommuMapAtomic(domain, iova, phys - iovaOff, size, prot) != 0) {
            iommuDmaFreeIova(cookie, iova, size, null);
            return DMA_MAPPING_ERROR;
        }
        return iova + iovaOff;
    }

    private static long PAGE_ALIGN(long size) {
        return (size + 0xfff) & ~0xfffL;
    }

    @Port("drivers/iommu/dma-iommu.c:iommu_dma_alloc_pages")
    private long iommuDmaAllocPages(Device dev, long size, int gfp, long attrs) {
        long allocSize = PAGE_ALIGN(size);
        return pageAlloc.allocPages(gfp | __GFP_ZERO, DmaMapping.getOrder(allocSize));
    }

    @Port("drivers/iommu/dma-iommu.c:__iommu_dma_free")
    private void __iommuDmaFree(Device dev, long size, long cpuAddr) {
        pageAlloc.freePages(cpuAddr, DmaMapping.getOrder(PAGE_ALIGN(size)));
    }

    @Override
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_alloc")
    public long alloc(Device dev, long size, long[] handle, int gfp, long attrs) {
        boolean coherent = dev.dmaCoherent;
        int ioprot = dmaInfoToProt(DMA_BIDIRECTIONAL, coherent, attrs);
        gfp |= __GFP_ZERO;
        long cpuAddr = iommuDmaAllocPages(dev, size, gfp, attrs);
        if (cpuAddr == 0) {
            return 0;
        }
        handle[0] = __iommuDmaMap(dev, cpuAddr, size, ioprot, dev.coherentDmaMask);
        if (handle[0] == DMA_MAPPING_ERROR) {
            __iommuDmaFree(dev, size, cpuAddr);
            return 0;
        }
        return cpuAddr;
    }

    @Override
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_free")
    public void free(Device dev, long size, long cpuAddr, long handle, long attrs) {
        __iommuDmaUnmap(dev, handle, size);
        __iommuDmaFree(dev, size, cpuAddr);
    }

    @Override
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_map_page")
    public long mapPage(Device dev, long page, long offset, long size, int dir, long attrs) {
        long phys = page + offset;
        int prot = dmaInfoToProt(dir, dev.dmaCoherent, attrs);
        return __iommuDmaMap(dev, phys, size, prot, DmaMapping.dmaGetMask(dev));
    }

    /**
     * The unmap of a single streaming mapping: a handle that translates to nothing (already
     * unmapped, or never mapped) is a driver bug, warned about and otherwise ignored, so its
     * IOVA is not freed a second time. (No bounce buffer to release: there is no swiotlb here.)
     */
    @Port("drivers/iommu/dma-iommu.c:__iommu_dma_unmap_swiotlb")
    private void __iommuDmaUnmapSwiotlb(Device dev, long dmaAddr, long size, int dir, long attrs) {
        IommuDomain domain = Iommu.iommuGetDmaDomain(dev);
        long phys = Iommu.iommuIovaToPhys(domain, dmaAddr);
        if (Warn.WARN_ON(phys == 0)) {
            return;
        }
        __iommuDmaUnmap(dev, dmaAddr, size);
    }

    @Override
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_unmap_page")
    public void unmapPage(Device dev, long dmaHandle, long size, int dir, long attrs) {
        __iommuDmaUnmapSwiotlb(dev, dmaHandle, size, dir, attrs);
    }

    /**
     * Merges the mapped segments into DMA segments; returns their number. The layout from
     * {@link #mapSg} already keeps each segment inside a segment boundary, so only a
     * segment's start address decides whether it may be appended across one.
     */
    @Port("drivers/iommu/dma-iommu.c:__finalise_sg")
    private static int __finaliseSg(Device dev, Scatterlist[] sg, int nents, long dmaAddr) {
        int cur = 0;
        long segMask = dmaGetSegBoundary(dev);
        // cur_len, max_len and the three per-segment lengths are u32, as in the kernel.
        int curLen = 0;
        int maxLen = dmaGetMaxSegSize(dev);
        int count = 0;
        for (int i = 0; i < nents; i++) {
            Scatterlist s = sg[i];
            // Undo the in-place padding: original offset and length back into the segment.
            int sIovaOff = (int) s.dmaAddress;
            int sLength = s.dmaLength;
            int sIovaLen = s.length;
            s.offset += sIovaOff;
            s.length = sLength;
            s.dmaAddress = DMA_MAPPING_ERROR;
            s.dmaLength = 0;
            // Merge into the open DMA segment when: one is open, this piece has no in-granule
            // offset, its address is not a multiple of the boundary, and the sum fits max_seg_size.
            if (curLen != 0 && sIovaOff == 0 && (dmaAddr & segMask) != 0
                    && Integer.compareUnsigned(maxLen - curLen, sLength) >= 0) {
                curLen += sLength;
            } else {
                // Else this segment opens a new DMA segment.
                if (i > 0) {
                    cur++;
                }
                curLen = sLength;
                count++;
                sg[cur].dmaAddress = dmaAddr + Integer.toUnsignedLong(sIovaOff);
            }
            sg[cur].dmaLength = curLen;
            dmaAddr += Integer.toUnsignedLong(sIovaLen);
            // A padded segment ends before the next one starts: nothing may be appended to it.
            if (Integer.compareUnsigned(sLength + sIovaOff, sIovaLen) < 0) {
                curLen = 0;
            }
        }
        return count;
    }

    @Port("drivers/iommu/dma-iommu.c:__invalidate_sg")
    private static void __invalidateSg(Scatterlist[] sg, int nents) {
        for (int i = 0; i < nents; i++) {
            Scatterlist s = sg[i];
            if (s.dmaAddress != DMA_MAPPING_ERROR) {
                s.offset += (int) s.dmaAddress;
            }
            if (s.dmaLength != 0) {
                s.length = s.dmaLength;
            }
            s.dmaAddress = DMA_MAPPING_ERROR;
            s.dmaLength = 0;
        }
    }

    /**
     * Maps a scatterlist into one contiguous IOVA range, IOVA-granule aligned per segment;
     * returns the number of DMA segments, -ENOMEM (no IOVA) or -EINVAL.
     */
    @Override
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_map_sg")
    public int mapSg(Device dev, Scatterlist[] sg, int nents, int dir, long attrs) {
        IommuDomain domain = Iommu.iommuGetDmaDomain(dev);
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        IovaDomain iovad = cookie.iovad;
        int prot = dmaInfoToProt(dir, dev.dmaCoherent, attrs);
        long mask = dmaGetSegBoundary(dev);
        long iovaLen = 0;
        Scatterlist prev = null;
        // Sum the granule-aligned lengths (originals kept in the dma fields); a piece that would
        // straddle a segment boundary starts at it instead, the previous piece padded up to it.
        // size_t lengths against an unsigned long mask: every comparison is unsigned, and with
        // no boundary (mask ULONG_MAX) the padding length is so large that nothing is padded.
        for (int i = 0; i < nents; i++) {
            Scatterlist s = sg[i];
            long sIovaOff = iovad.iovaOffset(Integer.toUnsignedLong(s.offset));
            long sLength = Integer.toUnsignedLong(s.length);
            long padLen = (mask - iovaLen + 1) & mask;
            s.dmaAddress = sIovaOff;
            s.dmaLength = (int) sLength;
            s.offset -= (int) sIovaOff;
            sLength = iovad.iovaAlign(sLength + sIovaOff);
            s.length = (int) sLength;
            // The single IOVA allocation is size-aligned, so when the list is longer than a
            // boundary it starts on one: padding can be laid out from the lengths alone. A
            // boundary is a power of two, so pad_len is 0 for the first segment (prev unset).
            if (padLen != 0 && Long.compareUnsigned(padLen, sLength - 1) < 0) {
                prev.length += (int) padLen;
                iovaLen += padLen;
            }
            iovaLen += sLength;
            prev = s;
        }
        int ret;
        long iova = iommuDmaAllocIova(domain, iovaLen, DmaMapping.dmaGetMask(dev), dev);
        if (iova == 0) {
            ret = -ENOMEM;
        } else {
            // One iommu_map_sg call; how pages are merged into blocks is the driver's business.
            long mapped = Iommu.iommuMapSgAtomic(domain, iova, sg, nents, prot);
            if (mapped >= 0 && mapped >= iovaLen) {
                return __finaliseSg(dev, sg, nents, iova);
            }
            ret = (int) Math.min(mapped, 0);
            iommuDmaFreeIova(cookie, iova, iovaLen, null);
        }
        __invalidateSg(sg, nents);
        if (ret != -ENOMEM) {
            ret = -EINVAL;
        }
        return ret;
    }

    @Override
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_unmap_sg")
    public void unmapSg(Device dev, Scatterlist[] sg, int nents, int dir, long attrs) {
        // One IOVA allocation spans all segments: unmap it from the first start to the last end.
        long start = sg[0].dmaAddress;
        int last = 0;
        for (int i = 1; i < nents; i++) {
            if (sg[i].dmaLength == 0) {
                break;
            }
            last = i;
        }
        long end = sg[last].dmaAddress + Integer.toUnsignedLong(sg[last].dmaLength);
        __iommuDmaUnmap(dev, start, end - start);
    }

    /**
     * Installs dma-iommu for {@code dev} when its domain is a DMA domain, after initialising the
     * domain's IOVA space for [dmaBase, dmaLimit]; otherwise leaves the device on dma-direct.
     */
    @Port("drivers/iommu/dma-iommu.c:iommu_setup_dma_ops")
    public void iommuSetupDmaOps(Device dev, long dmaBase, long dmaLimit) {
        IommuDomain domain = Iommu.iommuGetDomainForDev(dev);
        if (domain == null) {
            Printk.prWarn("Failed to set up IOMMU for device %s; retaining platform DMA ops", dev.devName());
            return;
        }
        // The core allocates the default DMA domain; the driver supports it via dma-iommu.
        if (Iommu.iommuIsDmaDomain(domain)) {
            if (iommuDmaInitDomain(domain, dmaBase, dmaLimit, dev) != 0) {
                Printk.prWarn("Failed to set up IOMMU for device %s; retaining platform DMA ops", dev.devName());
                return;
            }
            dev.dmaOps = this;
        }
    }

    /* ---------------- MSI doorbells ---------------- */

    /** Serialises doorbell mapping for all domains ({@code msi_prepare_lock}, a static mutex). */
    private static final Object msi_prepare_lock = new Object();

    /** The size of one doorbell mapping: the IOVA granule, or a page for an MSI cookie. */
    @Port("drivers/iommu/dma-iommu.c:cookie_msi_granule")
    static long cookieMsiGranule(IommuDmaCookie cookie) {
        if (cookie.type == IommuDmaCookie.IOMMU_DMA_IOVA_COOKIE) {
            return cookie.iovad.granule;
        }
        return 4096; // PAGE_SIZE
    }

    /**
     * The mapping of the doorbell page holding {@code msiAddr} in {@code domain}: an existing one,
     * or a new IOVA mapped write-only, no-exec, as MMIO. Null if no IOVA is left or the map fails
     * (the IOVA is given back). Caller holds {@link #msi_prepare_lock}.
     */
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_get_msi_page")
    private IommuDmaMsiPage iommuDmaGetMsiPage(Device dev, long msiAddr, IommuDomain domain) {
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        int prot = IOMMU_WRITE | IOMMU_NOEXEC | IOMMU_MMIO;
        long size = cookieMsiGranule(cookie);
        msiAddr &= ~(size - 1);
        for (IommuDmaMsiPage msiPage : cookie.msiPageList) {
            if (msiPage.phys == msiAddr) {
                return msiPage;
            }
        }
        // The record is allocated before any IOVA (its fields are filled once the map works):
        // when that allocation fails, nothing else has been touched.
        if (Slab.kmallocShouldFail(GFP_KERNEL)) {
            return null;
        }
        long iova = iommuDmaAllocIova(domain, size, DmaMapping.dmaGetMask(dev), dev);
        if (iova == 0) {
            return null;
        }
        if (Iommu.iommuMap(domain, iova, msiAddr, size, prot) != 0) {
            iommuDmaFreeIova(cookie, iova, size, null);
            return null;
        }
        IommuDmaMsiPage msiPage = new IommuDmaMsiPage(iova, msiAddr);
        cookie.msiPageList.add(msiPage);
        return msiPage;
    }

    /**
     * Makes the doorbell at {@code msiAddr} reachable by {@code desc}'s device through its
     * current domain and records the mapping in the descriptor for
     * {@link #iommuDmaComposeMsiMsg}. A device with no domain, or whose domain has no cookie
     * (identity, or unmanaged without an MSI cookie), needs nothing: 0, with no mapping recorded.
     * Called by the interrupt controller when it allocates the device's vectors.
     *
     * @return 0, or -ENOMEM if the doorbell could not be mapped
     */
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_prepare_msi")
    public int iommuDmaPrepareMsi(MsiDesc desc, long msiAddr) {
        Device dev = MsiDesc.msiDescToDev(desc);
        IommuDomain domain = Iommu.iommuGetDomainForDev(dev);
        if (domain == null || domain.iovaCookie == null) {
            MsiDesc.msiDescSetIommuCookie(desc, null);
            return 0;
        }
        IommuDmaMsiPage msiPage;
        synchronized (msi_prepare_lock) {
            msiPage = iommuDmaGetMsiPage(dev, msiAddr, domain);
        }
        MsiDesc.msiDescSetIommuCookie(desc, msiPage);
        if (msiPage == null) {
            return -ENOMEM;
        }
        return 0;
    }

    /**
     * Rewrites the doorbell address of {@code msg} into its IOVA from the mapping
     * {@link #iommuDmaPrepareMsi} recorded: the high word becomes the IOVA's, the low word the
     * IOVA's plus the offset inside the granule. Nothing to do without a domain cookie; a
     * cookie without a recorded mapping is a bug (a warning, the message left alone).
     */
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_compose_msi_msg")
    public static void iommuDmaComposeMsiMsg(MsiDesc desc, MsiMsg msg) {
        Device dev = MsiDesc.msiDescToDev(desc);
        IommuDomain domain = Iommu.iommuGetDomainForDev(dev);
        IommuDmaMsiPage msiPage = (IommuDmaMsiPage) MsiDesc.msiDescGetIommuCookie(desc);
        if (domain == null || domain.iovaCookie == null || Warn.WARN_ON(msiPage == null)) {
            return;
        }
        msg.addressHi = (int) (msiPage.iova >>> 32);
        msg.addressLo &= (int) (cookieMsiGranule((IommuDmaCookie) domain.iovaCookie) - 1);
        msg.addressLo += (int) msiPage.iova;
    }

    /** {@code iommu_dma_get_resv_regions}: nothing to add without MSI/PCI windows. */
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_get_resv_regions")
    public static void iommuDmaGetResvRegions(Device dev, List<IommuResvRegion> list) {}

    static boolean isDirect(IommuResvRegion r) {
        return r.type == IOMMU_RESV_DIRECT || r.type == IOMMU_RESV_DIRECT_RELAXABLE;
    }
}
