package org.iommu4j.iommu;

import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EFAULT;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Gfp.GFP_KERNEL;
import static org.iommu4j.base.Gfp.__GFP_ZERO;
import static org.iommu4j.base.device.DmaMappingH.dma_get_max_seg_size;
import static org.iommu4j.base.device.DmaMappingH.dma_get_seg_boundary;
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
 * {@link #iommu_setup_dma_ops}.
 *
 * <p>Scope: strict invalidation for DMA domains; DMA_FQ domains (iommu.strict=0) queue freed
 * IOVAs in iova.c's flush queue and flush the whole IOTLB when it fills (or on
 * {@link IovaDomain#fq_flush_timeout}; the 10 ms timer is not armed). Coherent allocations always take the
 * physically contiguous path (the simulated kernel has no vmalloc remapping), so the CPU address
 * equals the physical address. No swiotlb bouncing (no untrusted devices).
 *
 * <p>MSIs: {@link #iommu_dma_prepare_msi} maps an MSI doorbell page into the device's domain
 * (once per doorbell and domain) and {@link #iommu_dma_compose_msi_msg} puts its IOVA into the
 * message the interrupt controller composed, so the device's MSI write goes through the IOMMU
 * like any DMA write. A DMA domain takes the IOVA from its allocator; an unmanaged domain only
 * gets MSI remapping if its owner gave it an MSI cookie ({@link #iommu_get_msi_cookie}).
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
    private static IommuDmaCookie cookie_alloc(int type) {
        return Slab.kzalloc(() -> new IommuDmaCookie(type), GFP_KERNEL);
    }

    /**
     * Gives an unmanaged domain just what MSI remapping needs: doorbell pages are then mapped one
     * granule after another from {@code base}, which the caller must keep free in its own IOVA
     * space for as many pages as the domain's devices have doorbells. 0; -EINVAL not an
     * unmanaged domain; -EEXIST it has a cookie; -ENOMEM.
     */
    @Port("drivers/iommu/dma-iommu.c:iommu_get_msi_cookie")
    public static int iommu_get_msi_cookie(IommuDomain domain, long base) {
        if (domain.type != IOMMU_DOMAIN_UNMANAGED) {
            return -EINVAL;
        }
        if (domain.iovaCookie != null) {
            return -EEXIST;
        }
        IommuDmaCookie cookie = cookie_alloc(IommuDmaCookie.IOMMU_DMA_MSI_COOKIE);
        if (cookie == null) {
            return -ENOMEM;
        }
        cookie.msiIova = base;
        domain.iovaCookie = cookie;
        return 0;
    }

    /** Gives a DMA domain its IOVA cookie. 0, -EEXIST, -ENOMEM. */
    @Port("drivers/iommu/dma-iommu.c:iommu_get_dma_cookie")
    public static int iommu_get_dma_cookie(IommuDomain domain) {
        if (domain.iovaCookie != null) {
            return -EEXIST;
        }
        domain.iovaCookie = cookie_alloc(IommuDmaCookie.IOMMU_DMA_IOVA_COOKIE);
        if (domain.iovaCookie == null) {
            return -ENOMEM;
        }
        return 0;
    }

    @Port("drivers/iommu/dma-iommu.c:iommu_put_dma_cookie")
    public static void iommu_put_dma_cookie(IommuDomain domain) {
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        if (cookie == null) {
            return;
        }
        if (cookie.type == IommuDmaCookie.IOMMU_DMA_IOVA_COOKIE && cookie.iovad.granule != 0) {
            cookie.iovad.put_iova_domain();
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
    private static int iova_reserve_pci_windows(PciDev dev, IovaDomain iovad) {
        PciHostBridge bridge = Pci.pci_find_host_bridge(dev.pciBus);
        for (ResourceEntry window : bridge.windows) {
            if (window.res().type() != Resource.IORESOURCE_MEM) {
                continue;
            }
            // Bus addresses: the window's CPU range less the bridge's offset.
            long lo = iovad.iova_pfn(window.res().start() - window.offset());
            long hi = iovad.iova_pfn(window.res().end() - window.offset());
            iovad.reserve_iova(lo, hi);
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
                    iovad.reserve_iova(iovad.iova_pfn(start), iovad.iova_pfn(end));
                } else if (Long.compareUnsigned(end, start) < 0) {
                    DevPrintk.dev_err(dev, "Failed to reserve IOVA [0x%016x-0x%016x]", start, end);
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
    private int iova_reserve_iommu_regions(Device dev, IommuDomain domain) {
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        IovaDomain iovad = cookie.iovad;
        if (Pci.dev_is_pci(dev)) {
            int ret = iova_reserve_pci_windows(Pci.to_pci_dev(dev), iovad);
            if (ret != 0) {
                return ret;
            }
        }
        List<IommuResvRegion> resv = new ArrayList<>();
        core.iommu_get_resv_regions(dev, resv);
        int ret = 0;
        for (IommuResvRegion region : resv) {
            // SW_MSI windows are this layer's own to allocate from: not reserved.
            if (region.type == IommuH.IOMMU_RESV_SW_MSI) {
                continue;
            }
            long lo = iovad.iova_pfn(region.start);
            long hi = iovad.iova_pfn(region.start + region.length - 1);
            // As in v5.15 the result is not checked: a reservation that fails to allocate is
            // simply missing. (IOMMU_RESV_MSI regions would also get cookie_init_hw_msi_region,
            // the only error source here; this port has no hardware MSI windows.)
            iovad.reserve_iova(lo, hi);
        }
        core.iommu_put_resv_regions(dev, resv);
        return ret;
    }

    /**
     * Initialises the IOVA allocator of a DMA domain for [base, limit] and reserves the
     * device's reserved regions in it. 0, -EINVAL (no IOVA cookie), -EFAULT (range outside the
     * aperture, or incompatible with an earlier init). A flush queue that cannot be set up
     * leaves a strict DMA domain; a reservation that cannot be allocated is skipped (v5.15).
     */
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_init_domain")
    public int iommu_dma_init_domain(IommuDomain domain, long base, long limit, Device dev) {
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
                Printk.pr_warn("specified DMA range outside IOMMU capability");
                return -EFAULT;
            }
            // and the base is raised to the aperture start.
            basePfn = Math.max(basePfn, domain.geometry.apertureStart >>> order);
        }
        // Already set up (startPfn != 0): only a matching repeat init is accepted.
        if (iovad.startPfn != 0) {
            if ((1L << order) != iovad.granule || basePfn != iovad.startPfn) {
                Printk.pr_warn("Incompatible range for DMA domain");
                return -EFAULT;
            }
            return 0;
        }
        iovad.init_iova_domain(1L << order, basePfn);
        // No flush queue: the domain just stays strict.
        if (domain.type == IommuH.IOMMU_DOMAIN_DMA_FQ && iommu_dma_init_fq(domain) != 0) {
            domain.type = IommuH.IOMMU_DOMAIN_DMA;
        }
        return iova_reserve_iommu_regions(dev, domain);
    }

    @Port("drivers/iommu/dma-iommu.c:iommu_dma_flush_iotlb_all")
    private static void iommu_dma_flush_iotlb_all(IommuDomain domain) {
        Iommu.iommu_flush_iotlb_all(domain);
    }

    /** Sets up the flush queue of a DMA_FQ domain. 0 or -ENOMEM (the caller falls back to strict). */
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_init_fq")
    public static int iommu_dma_init_fq(IommuDomain domain) {
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        if (cookie.fqDomain != null) {
            return 0;
        }
        int ret = cookie.iovad.init_iova_flush_queue(iovad -> iommu_dma_flush_iotlb_all(domain));
        if (ret != 0) {
            Printk.pr_warn("iova flush queue initialization failed");
            return ret;
        }
        cookie.fqDomain = domain;
        return 0;
    }

    @Port("drivers/iommu/dma-iommu.c:dma_info_to_prot")
    static int dma_info_to_prot(int dir, boolean coherent, long attrs) {
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
    private long iommu_dma_alloc_iova(IommuDomain domain, long size, long dmaLimit, Device dev) {
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        IovaDomain iovad = cookie.iovad;
        if (cookie.type == IommuDmaCookie.IOMMU_DMA_MSI_COOKIE) {
            cookie.msiIova += size;
            return cookie.msiIova - size;
        }
        int shift = iovad.iova_shift();
        long iovaLen = size >>> shift;
        long iova = 0;
        // Round cacheable sizes up to a power of two (see alloc_iova_fast).
        if (iovaLen < (1L << (IovaDomain.IOVA_RANGE_CACHE_MAX_SIZE - 1))) {
            iovaLen = Bits.roundup_pow_of_two(iovaLen);
        }
        // The interconnect's limit (dma-ranges) applies too; 0 means it has none.
        dmaLimit = Bits.min_not_zero(dmaLimit, dev.busDmaLimit);
        if (domain.geometry.forceAperture) {
            dmaLimit = Bits.umin(dmaLimit, domain.geometry.apertureEnd);
        }
        // PCI: try below 4 GiB first, single-address-cycle DMA is cheaper.
        if (Long.compareUnsigned(dmaLimit, DmaMapping.DMA_BIT_MASK(32)) > 0 && !iommuDmaForcedac && dev_is_pci(dev)) {
            iova = iovad.alloc_iova_fast(iovaLen, DmaMapping.DMA_BIT_MASK(32) >>> shift, false);
        }
        if (iova == 0) {
            iova = iovad.alloc_iova_fast(iovaLen, dmaLimit >>> shift, true);
        }
        return iova << shift;
    }

    /** {@code dev_is_pci}: the device sits on the "pci" bus type (as pci-ats names it). */
    static boolean dev_is_pci(Device dev) {
        return dev.bus != null && "pci".equals(dev.bus.name());
    }

    @Port("drivers/iommu/dma-iommu.c:iommu_dma_free_iova")
    private static void iommu_dma_free_iova(IommuDmaCookie cookie, long iova, long size, IommuIotlbGather gather) {
        IovaDomain iovad = cookie.iovad;
        // MSI cookie: frees only ever undo the latest allocation, so step the cursor back.
        if (cookie.type == IommuDmaCookie.IOMMU_DMA_MSI_COOKIE) {
            cookie.msiIova -= size;
        } else if (gather != null && gather.queued) {
            iovad.queue_iova(iovad.iova_pfn(iova), size >>> iovad.iova_shift());
        } else {
            iovad.free_iova_fast(iovad.iova_pfn(iova), size >>> iovad.iova_shift());
        }
    }

    @Port("drivers/iommu/dma-iommu.c:__iommu_dma_unmap")
    private void __iommu_dma_unmap(Device dev, long dmaAddr, long size) {
        IommuDomain domain = Iommu.iommu_get_dma_domain(dev);
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        IovaDomain iovad = cookie.iovad;
        long iovaOff = iovad.iova_offset(dmaAddr);
        dmaAddr -= iovaOff;
        size = iovad.iova_align(size + iovaOff);
        IommuIotlbGather gather = new IommuIotlbGather();
        // With a flush queue the IOTLB is flushed later, before the IOVA can be reused.
        gather.queued = cookie.fqDomain != null;
        long unmapped = Iommu.iommu_unmap_fast(domain, dmaAddr, size, gather);
        Warn.WARN_ON(unmapped != size);
        if (!gather.queued) {
            Iommu.iommu_iotlb_sync(domain, gather);
        }
        iommu_dma_free_iova(cookie, dmaAddr, size, gather);
    }

    @Port("drivers/iommu/dma-iommu.c:__iommu_dma_map")
    private long __iommu_dma_map(Device dev, long phys, long size, int prot, long dmaMask) {
        IommuDomain domain = Iommu.iommu_get_dma_domain(dev);
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        IovaDomain iovad = cookie.iovad;
        long iovaOff = iovad.iova_offset(phys);
        size = iovad.iova_align(size + iovaOff);
        long iova = iommu_dma_alloc_iova(domain, size, dmaMask, dev);
        if (iova == 0) {
            return DMA_MAPPING_ERROR;
        }
        if (Iommu.iommu_map_atomic(domain, iova, phys - iovaOff, size, prot) != 0) {
            iommu_dma_free_iova(cookie, iova, size, null);
            return DMA_MAPPING_ERROR;
        }
        return iova + iovaOff;
    }

    private static long PAGE_ALIGN(long size) {
        return (size + 0xfff) & ~0xfffL;
    }

    @Port("drivers/iommu/dma-iommu.c:iommu_dma_alloc_pages")
    private long iommu_dma_alloc_pages(Device dev, long size, int gfp, long attrs) {
        long allocSize = PAGE_ALIGN(size);
        return pageAlloc.alloc_pages(gfp | __GFP_ZERO, DmaMapping.get_order(allocSize));
    }

    @Port("drivers/iommu/dma-iommu.c:__iommu_dma_free")
    private void __iommu_dma_free(Device dev, long size, long cpuAddr) {
        pageAlloc.free_pages(cpuAddr, DmaMapping.get_order(PAGE_ALIGN(size)));
    }

    @Override
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_alloc")
    public long alloc(Device dev, long size, long[] handle, int gfp, long attrs) {
        boolean coherent = dev.dmaCoherent;
        int ioprot = dma_info_to_prot(DMA_BIDIRECTIONAL, coherent, attrs);
        gfp |= __GFP_ZERO;
        long cpuAddr = iommu_dma_alloc_pages(dev, size, gfp, attrs);
        if (cpuAddr == 0) {
            return 0;
        }
        handle[0] = __iommu_dma_map(dev, cpuAddr, size, ioprot, dev.coherentDmaMask);
        if (handle[0] == DMA_MAPPING_ERROR) {
            __iommu_dma_free(dev, size, cpuAddr);
            return 0;
        }
        return cpuAddr;
    }

    @Override
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_free")
    public void free(Device dev, long size, long cpuAddr, long handle, long attrs) {
        __iommu_dma_unmap(dev, handle, size);
        __iommu_dma_free(dev, size, cpuAddr);
    }

    @Override
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_map_page")
    public long map_page(Device dev, long page, long offset, long size, int dir, long attrs) {
        long phys = page + offset;
        int prot = dma_info_to_prot(dir, dev.dmaCoherent, attrs);
        return __iommu_dma_map(dev, phys, size, prot, dev.dmaMask[0]);
    }

    @Override
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_unmap_page")
    public void unmap_page(Device dev, long dmaHandle, long size, int dir, long attrs) {
        __iommu_dma_unmap(dev, dmaHandle, size);
    }

    /**
     * Merges the mapped segments into DMA segments; returns their number. The layout from
     * {@link #map_sg} already keeps each segment inside a segment boundary, so only a
     * segment's start address decides whether it may be appended across one.
     */
    @Port("drivers/iommu/dma-iommu.c:__finalise_sg")
    private static int __finalise_sg(Device dev, Scatterlist[] sg, int nents, long dmaAddr) {
        int cur = 0;
        long segMask = dma_get_seg_boundary(dev);
        // cur_len, max_len and the three per-segment lengths are u32, as in the kernel.
        int curLen = 0;
        int maxLen = dma_get_max_seg_size(dev);
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
    private static void __invalidate_sg(Scatterlist[] sg, int nents) {
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
    public int map_sg(Device dev, Scatterlist[] sg, int nents, int dir, long attrs) {
        IommuDomain domain = Iommu.iommu_get_dma_domain(dev);
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        IovaDomain iovad = cookie.iovad;
        int prot = dma_info_to_prot(dir, dev.dmaCoherent, attrs);
        long mask = dma_get_seg_boundary(dev);
        long iovaLen = 0;
        Scatterlist prev = null;
        // Sum the granule-aligned lengths (originals kept in the dma fields); a piece that would
        // straddle a segment boundary starts at it instead, the previous piece padded up to it.
        // size_t lengths against an unsigned long mask: every comparison is unsigned, and with
        // no boundary (mask ULONG_MAX) the padding length is so large that nothing is padded.
        for (int i = 0; i < nents; i++) {
            Scatterlist s = sg[i];
            long sIovaOff = iovad.iova_offset(Integer.toUnsignedLong(s.offset));
            long sLength = Integer.toUnsignedLong(s.length);
            long padLen = (mask - iovaLen + 1) & mask;
            s.dmaAddress = sIovaOff;
            s.dmaLength = (int) sLength;
            s.offset -= (int) sIovaOff;
            sLength = iovad.iova_align(sLength + sIovaOff);
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
        long iova = iommu_dma_alloc_iova(domain, iovaLen, dev.dmaMask[0], dev);
        if (iova == 0) {
            ret = -ENOMEM;
        } else {
            // One iommu_map_sg call; how pages are merged into blocks is the driver's business.
            long mapped = Iommu.iommu_map_sg_atomic(domain, iova, sg, nents, prot);
            if (mapped >= 0 && mapped >= iovaLen) {
                return __finalise_sg(dev, sg, nents, iova);
            }
            ret = (int) Math.min(mapped, 0);
            iommu_dma_free_iova(cookie, iova, iovaLen, null);
        }
        __invalidate_sg(sg, nents);
        if (ret != -ENOMEM) {
            ret = -EINVAL;
        }
        return ret;
    }

    @Override
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_unmap_sg")
    public void unmap_sg(Device dev, Scatterlist[] sg, int nents, int dir, long attrs) {
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
        __iommu_dma_unmap(dev, start, end - start);
    }

    /**
     * Installs dma-iommu for {@code dev} when its domain is a DMA domain, after initialising the
     * domain's IOVA space for [dmaBase, dmaLimit]; otherwise leaves the device on dma-direct.
     */
    @Port("drivers/iommu/dma-iommu.c:iommu_setup_dma_ops")
    public void iommu_setup_dma_ops(Device dev, long dmaBase, long dmaLimit) {
        IommuDomain domain = Iommu.iommu_get_domain_for_dev(dev);
        if (domain == null) {
            Printk.pr_warn("Failed to set up IOMMU for device %s; retaining platform DMA ops", dev.dev_name());
            return;
        }
        // The core allocates the default DMA domain; the driver supports it via dma-iommu.
        if (Iommu.iommu_is_dma_domain(domain)) {
            if (iommu_dma_init_domain(domain, dmaBase, dmaLimit, dev) != 0) {
                Printk.pr_warn("Failed to set up IOMMU for device %s; retaining platform DMA ops", dev.dev_name());
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
    static long cookie_msi_granule(IommuDmaCookie cookie) {
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
    private IommuDmaMsiPage iommu_dma_get_msi_page(Device dev, long msiAddr, IommuDomain domain) {
        IommuDmaCookie cookie = (IommuDmaCookie) domain.iovaCookie;
        int prot = IOMMU_WRITE | IOMMU_NOEXEC | IOMMU_MMIO;
        long size = cookie_msi_granule(cookie);
        msiAddr &= ~(size - 1);
        for (IommuDmaMsiPage msiPage : cookie.msiPageList) {
            if (msiPage.phys == msiAddr) {
                return msiPage;
            }
        }
        long iova = iommu_dma_alloc_iova(domain, size, DmaMapping.dma_get_mask(dev), dev);
        if (iova == 0) {
            return null;
        }
        if (Iommu.iommu_map(domain, iova, msiAddr, size, prot) != 0) {
            iommu_dma_free_iova(cookie, iova, size, null);
            return null;
        }
        IommuDmaMsiPage msiPage = new IommuDmaMsiPage(iova, msiAddr);
        cookie.msiPageList.add(msiPage);
        return msiPage;
    }

    /**
     * Makes the doorbell at {@code msiAddr} reachable by {@code desc}'s device through its
     * current domain and records the mapping in the descriptor for
     * {@link #iommu_dma_compose_msi_msg}. A device with no domain, or whose domain has no cookie
     * (identity, or unmanaged without an MSI cookie), needs nothing: 0, with no mapping recorded.
     * Called by the interrupt controller when it allocates the device's vectors.
     *
     * @return 0, or -ENOMEM if the doorbell could not be mapped
     */
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_prepare_msi")
    public int iommu_dma_prepare_msi(MsiDesc desc, long msiAddr) {
        Device dev = MsiDesc.msi_desc_to_dev(desc);
        IommuDomain domain = Iommu.iommu_get_domain_for_dev(dev);
        if (domain == null || domain.iovaCookie == null) {
            MsiDesc.msi_desc_set_iommu_cookie(desc, null);
            return 0;
        }
        IommuDmaMsiPage msiPage;
        synchronized (msi_prepare_lock) {
            msiPage = iommu_dma_get_msi_page(dev, msiAddr, domain);
        }
        MsiDesc.msi_desc_set_iommu_cookie(desc, msiPage);
        if (msiPage == null) {
            return -ENOMEM;
        }
        return 0;
    }

    /**
     * Rewrites the doorbell address of {@code msg} into its IOVA from the mapping
     * {@link #iommu_dma_prepare_msi} recorded: the high word becomes the IOVA's, the low word the
     * IOVA's plus the offset inside the granule. Nothing to do without a domain cookie; a
     * cookie without a recorded mapping is a bug (a warning, the message left alone).
     */
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_compose_msi_msg")
    public static void iommu_dma_compose_msi_msg(MsiDesc desc, MsiMsg msg) {
        Device dev = MsiDesc.msi_desc_to_dev(desc);
        IommuDomain domain = Iommu.iommu_get_domain_for_dev(dev);
        IommuDmaMsiPage msiPage = (IommuDmaMsiPage) MsiDesc.msi_desc_get_iommu_cookie(desc);
        if (domain == null || domain.iovaCookie == null || Warn.WARN_ON(msiPage == null)) {
            return;
        }
        msg.addressHi = (int) (msiPage.iova >>> 32);
        msg.addressLo &= (int) (cookie_msi_granule((IommuDmaCookie) domain.iovaCookie) - 1);
        msg.addressLo += (int) msiPage.iova;
    }

    /** {@code iommu_dma_get_resv_regions}: nothing to add without MSI/PCI windows. */
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_get_resv_regions")
    public static void iommu_dma_get_resv_regions(Device dev, List<IommuResvRegion> list) {}

    static boolean is_direct(IommuResvRegion r) {
        return r.type == IOMMU_RESV_DIRECT || r.type == IOMMU_RESV_DIRECT_RELAXABLE;
    }
}
