package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EFAULT;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Gfp.GFP_KERNEL;
import static org.iommu4j.base.Sizes.SZ_4G;
import static org.iommu4j.dma.DmaDataDirection.*;
import static org.iommu4j.iommu.IommuH.*;

import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.DmaMappingH;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.dma.DmaMapping;
import org.iommu4j.dma.Scatterlist;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** dma-iommu through the DMA API: IOVA allocation, page tables, strict invalidation, leaks. */
@ExtendWith(NoWarnings.class)
class DmaIommuTest {
    World w;
    Device dev;
    IommuDomain dom;
    DmaMapping dma;
    long basePages;

    @BeforeEach
    void setUp() {
        w = new World();
        basePages = w.pageAlloc.allocatedPages();
        dev = w.added("dev", 1);
        dom = Iommu.iommuGetDomainForDev(dev);
        dma = new DmaMapping(w.pageAlloc);
        assertThat(dev.dmaOps).isSameAs(w.iommu.dma());
        w.mock.log.clear();
    }

    IovaDomain iovad() {
        return ((IommuDmaCookie) dom.iovaCookie).iovad;
    }

    @Test
    void mapPageTranslatesAndUnmapInvalidatesStrictly() {
        long iova = dma.dmaMapPage(dev, 0x40123000L, 0x234, 0x100, DMA_TO_DEVICE);
        assertThat(iova).isNotEqualTo(DmaMapping.DMA_MAPPING_ERROR);
        assertThat(iova & 0xfff).isEqualTo(0x234);
        // Top-down below the 48-bit aperture; non-PCI devices skip the 32-bit attempt.
        assertThat(iova >>> 12).isEqualTo(((1L << 48) - 1) >>> 12);
        assertThat(Iommu.iommuIovaToPhys(dom, iova)).isEqualTo(0x40123234L);
        assertThat(w.mock.log).containsExactly(String.format("map_pages 0x%x->0x40123000 0x1000*1", iova & ~0xfffL));
        w.mock.log.clear();
        dma.dmaUnmapPage(dev, iova, 0x100, DMA_TO_DEVICE);
        assertThat(w.mock.log).containsExactly(
                String.format("unmap_pages 0x%x 0x1000*1", iova & ~0xfffL),
                String.format("sync 0x%x-0x%x/0x1000", iova & ~0xfffL, iova | 0xfffL));
        assertThat(Iommu.iommuIovaToPhys(dom, iova)).isZero();
    }

    /**
     * Unmapping a handle that no longer translates (a double unmap) is warned about and
     * changes nothing: the IOVA is not given back a second time, so the next two mappings
     * still get distinct IOVAs.
     */
    @Test
    void doubleUnmapPageWarnsAndFreesNothingTwice() {
        long iova = dma.dmaMapPage(dev, 0x40123000L, 0, 0x1000, DMA_TO_DEVICE);
        dma.dmaUnmapPage(dev, iova, 0x1000, DMA_TO_DEVICE);
        w.mock.log.clear();
        dma.dmaUnmapPage(dev, iova, 0x1000, DMA_TO_DEVICE);
        assertThat(org.iommu4j.base.Warn.drain()).hasSize(1);
        assertThat(w.mock.log).isEmpty();
        long a = dma.dmaMapPage(dev, 0x40200000L, 0, 0x1000, DMA_TO_DEVICE);
        long b = dma.dmaMapPage(dev, 0x40300000L, 0, 0x1000, DMA_TO_DEVICE);
        assertThat(a).isNotEqualTo(DmaMapping.DMA_MAPPING_ERROR);
        assertThat(b).isNotEqualTo(DmaMapping.DMA_MAPPING_ERROR).isNotEqualTo(a);
        assertThat(Iommu.iommuIovaToPhys(dom, a)).isEqualTo(0x40200000L);
        assertThat(Iommu.iommuIovaToPhys(dom, b)).isEqualTo(0x40300000L);
        assertThat(org.iommu4j.base.Warn.drain()).isEmpty();
    }

    @Test
    void lazyModeQueuesIovasUntilTheIotlbIsFlushed() {
        World lazy = new World("iommu.strict=0");
        Device d = lazy.added("lazy", 1);
        IommuDomain fqDom = Iommu.iommuGetDomainForDev(d);
        assertThat(fqDom.type).isEqualTo(IOMMU_DOMAIN_DMA_FQ);
        IovaDomain iv = ((IommuDmaCookie) fqDom.iovaCookie).iovad;
        assertThat(iv.hasIovaFlushQueue()).isTrue();
        DmaMapping ldma = new DmaMapping(lazy.pageAlloc);
        lazy.mock.log.clear();
        long iova = ldma.dmaMapPage(d, 0x40000000L, 0, 0x1000, DMA_TO_DEVICE);
        ldma.dmaUnmapPage(d, iova, 0x1000, DMA_TO_DEVICE);
        // Unmapped in the page table, but no invalidation yet and the IOVA is not reusable.
        assertThat(Iommu.iommuIovaToPhys(fqDom, iova)).isZero();
        assertThat(lazy.mock.log).noneMatch(s -> s.startsWith("sync") || s.equals("flush_iotlb_all"));
        assertThat(iv.fqPending()).isEqualTo(1);
        long other = ldma.dmaMapPage(d, 0x40001000L, 0, 0x1000, DMA_TO_DEVICE);
        assertThat(other).isNotEqualTo(iova);
        ldma.dmaUnmapPage(d, other, 0x1000, DMA_TO_DEVICE);
        iv.fqFlushTimeout();
        assertThat(lazy.mock.log).containsOnlyOnce("flush_iotlb_all");
        assertThat(iv.fqPending()).isZero();
        // A full ring flushes by itself.
        lazy.mock.log.clear();
        for (int i = 0; i < IovaDomain.IOVA_FQ_SIZE + 10; i++) {
            long a = ldma.dmaMapPage(d, 0x40000000L, 0, 0x1000, DMA_TO_DEVICE);
            ldma.dmaUnmapPage(d, a, 0x1000, DMA_TO_DEVICE);
        }
        assertThat(lazy.mock.log.stream().filter(s -> s.equals("flush_iotlb_all")).count()).isEqualTo(1);
        assertThat(iv.fqPending()).isLessThan(IovaDomain.IOVA_FQ_SIZE);
    }

    @Test
    void flushQueueAllocationFailureFallsBackToStrict() {
        World lazy = new World("iommu.strict=0");
        lazy.iommu.busSetIommu(lazy.bus, lazy.mock);
        IommuDomain d = lazy.iommu.iommuDomainAllocType(lazy.bus, IOMMU_DOMAIN_DMA_FQ);
        FaultInject.failNth(1);
        assertThat(lazy.iommu.dma().iommuDmaInitDomain(d, 0, -1L, dev)).isZero();
        FaultInject.disarm();
        assertThat(d.type).isEqualTo(IOMMU_DOMAIN_DMA);
        assertThat(((IommuDmaCookie) d.iovaCookie).iovad.hasIovaFlushQueue()).isFalse();
        lazy.iommu.iommuDomainFree(d);
    }

    @Test
    void protectionFollowsDirection() {
        assertThat(DmaIommu.dmaInfoToProt(DMA_TO_DEVICE, true, 0)).isEqualTo(IOMMU_READ | IOMMU_CACHE);
        assertThat(DmaIommu.dmaInfoToProt(DMA_FROM_DEVICE, false, 0)).isEqualTo(IOMMU_WRITE);
        assertThat(DmaIommu.dmaInfoToProt(DMA_BIDIRECTIONAL, false, DmaMapping.DMA_ATTR_PRIVILEGED)).isEqualTo(IOMMU_READ | IOMMU_WRITE | IOMMU_PRIV);
        assertThat(DmaIommu.dmaInfoToProt(DMA_NONE, false, 0)).isZero();
    }

    @Test
    void coherentAllocIsMappedAndFreedWithoutLeaks() {
        long base = w.pageAlloc.allocatedPages();
        long[] h = {0};
        long cpu = dma.dmaAllocCoherent(dev, 0x5000, h, GFP_KERNEL);
        assertThat(cpu).isNotZero();
        assertThat(h[0]).isNotEqualTo(cpu);
        for (long off = 0; off < 0x5000; off += 0x1000) {
            assertThat(Iommu.iommuIovaToPhys(dom, h[0] + off)).isEqualTo(cpu + off);
        }
        // 5 pages -> IOVA rounded to 8 frames, size-aligned.
        assertThat(h[0] & 0x7fff).isZero();
        dma.dmaFreeCoherent(dev, 0x5000, cpu, h[0]);
        assertThat(Iommu.iommuIovaToPhys(dom, h[0])).isZero();
        assertThat(w.mock.log).anyMatch(s -> s.startsWith("sync "));
        assertThat(w.pageAlloc.allocatedPages()).isGreaterThanOrEqualTo(base);
        // Page-table pages stay allocated until the domain is freed with the group.
        w.iommu.iommuReleaseDevice(dev);
        assertThat(w.pageAlloc.allocatedPages()).isEqualTo(basePages);
    }

    @Test
    void scatterGatherIsOneContiguousIovaRange() {
        Scatterlist[] sg = {
            new Scatterlist(0x40000100L, 0x1f00), // page-offset start
            new Scatterlist(0x40010000L, 0x1000),
            new Scatterlist(0x40020000L, 0x800),
        };
        int n = dma.dmaMapSg(dev, sg, 3, DMA_BIDIRECTIONAL);
        // Segments 2 and 3 start on IOVA page boundaries and are merged into segment 1.
        assertThat(n).isEqualTo(1);
        long start = sg[0].sgDmaAddress();
        assertThat(start & 0xfff).isEqualTo(0x100);
        assertThat(sg[0].sgDmaLen()).isEqualTo(0x1f00 + 0x1000 + 0x800);
        assertThat(sg[1].sgDmaLen()).isZero();
        // Original fields restored.
        assertThat(sg[0].offset).isEqualTo(0x100);
        assertThat(sg[0].length).isEqualTo(0x1f00);
        assertThat(Iommu.iommuIovaToPhys(dom, start)).isEqualTo(0x40000100L);
        assertThat(Iommu.iommuIovaToPhys(dom, start - 0x100 + 0x2000)).isEqualTo(0x40010000L);
        assertThat(Iommu.iommuIovaToPhys(dom, start - 0x100 + 0x3000)).isEqualTo(0x40020000L);
        dma.dmaUnmapSg(dev, sg, 3, DMA_BIDIRECTIONAL);
        assertThat(Iommu.iommuIovaToPhys(dom, start)).isZero();
        assertThat(Iommu.iommuIovaToPhys(dom, start - 0x100 + 0x3000)).isZero();
    }

    /**
     * A PCI function enumerated through ECAM (pci_device_add gives it its DMA limits and 32-bit
     * masks), on the mock IOMMU, its driver having raised the masks to 64 bits.
     */
    private Device pciDevice() {
        Device pdev = freshPciDevice();
        assertThat(DmaMapping.dmaSetMaskAndCoherent(pdev, DmaMapping.DMA_BIT_MASK(64))).isZero();
        return pdev;
    }

    /** The same function as enumeration leaves it: 32-bit masks. */
    private org.iommu4j.pci.PciDev freshPciDevice() {
        PciBed bed = new PciBed(w);
        bed.scan();
        org.iommu4j.pci.PciDev pdev = bed.probe(bed.fn(1, 0), 8);
        assertThat(pdev.dmaOps).isSameAs(w.iommu.dma());
        return pdev;
    }

    /**
     * A platform device (zeroed dma_parms: no segment boundary) on the mock IOMMU, its driver
     * having raised the 32-bit default masks to 64 bits.
     */
    private PlatformDevice platformDevice() {
        PlatformDevice pdev = freshPlatformDevice();
        assertThat(DmaMapping.dmaSetMaskAndCoherent(pdev, DmaMapping.DMA_BIT_MASK(64))).isZero();
        return pdev;
    }

    /** The same device as platform_device_alloc leaves it: 32-bit masks. */
    private PlatformDevice freshPlatformDevice() {
        PlatformDevice pdev = new PlatformDevice("dma-engine");
        Iommu.iommuFwspecInit(pdev, w.mock.fwnode, w.mock);
        Iommu.iommuFwspecAddIds(pdev, new int[] {9}, 1);
        w.bus.deviceAdd(pdev);
        assertThat(pdev.dmaOps).isSameAs(w.iommu.dma());
        return pdev;
    }

    /**
     * pci_device_add's 32-bit masks: streaming and coherent IOVAs come from below 4 GiB,
     * top-down (the limit pfn 0xfffff, then a size-aligned pair below it).
     */
    @Test
    void freshPciFunctionMapsBelowFourGiB() {
        org.iommu4j.pci.PciDev pdev = freshPciDevice();
        assertThat(pdev.dmaMask).isSameAs(pdev.pciDmaMask);
        assertThat(pdev.dmaMask[0]).isEqualTo(0xffffffffL);
        assertThat(pdev.coherentDmaMask).isEqualTo(0xffffffffL);
        assertThat(dma.dmaMapPage(pdev, 0x40123000L, 0, 0x1000, DMA_TO_DEVICE)).isEqualTo(0xfffff000L);
        long[] h = {0};
        long cpu = dma.dmaAllocCoherent(pdev, 0x2000, h, GFP_KERNEL);
        assertThat(cpu).isNotZero();
        assertThat(h[0]).isEqualTo(0xffffc000L);
    }

    /**
     * After dma_set_mask_and_coherent(64) a PCI function still gets IOVAs below 4 GiB first
     * (single-address-cycle), and above only when the low space is full.
     */
    @Test
    void sixtyFourBitPciFunctionStillTriesBelowFourGiB() {
        org.iommu4j.pci.PciDev pdev = freshPciDevice();
        assertThat(dma.dmaMapPage(pdev, 0x40123000L, 0, 0x1000, DMA_TO_DEVICE)).isEqualTo(0xfffff000L);
        assertThat(DmaMapping.dmaSetMaskAndCoherent(pdev, DmaMapping.DMA_BIT_MASK(64))).isZero();
        assertThat(pdev.pciDmaMask[0]).isEqualTo(-1L);
        assertThat(dma.dmaMapPage(pdev, 0x40124000L, 0, 0x1000, DMA_TO_DEVICE)).isEqualTo(0xffffe000L);
        // Fill everything left below 4 GiB: the next mapping goes to the top of the aperture.
        IovaDomain iovad = ((IommuDmaCookie) Iommu.iommuGetDomainForDev(pdev).iovaCookie).iovad;
        assertThat(iovad.reserveIova(iovad.startPfn, 0xffffdL)).isNotNull();
        assertThat(dma.dmaMapPage(pdev, 0x40125000L, 0, 0x1000, DMA_TO_DEVICE)).isEqualTo((1L << 48) - 0x1000);
    }

    /** A platform device keeps platform_device_alloc's 32-bit masks: IOVAs below 4 GiB. */
    @Test
    void platformDeviceWith32BitDefaultMapsBelowFourGiB() {
        PlatformDevice pdev = freshPlatformDevice();
        assertThat(pdev.dmaMask[0]).isEqualTo(0xffffffffL);
        assertThat(dma.dmaMapPage(pdev, 0x40123000L, 0, 0x1000, DMA_FROM_DEVICE)).isEqualTo(0xfffff000L);
        long[] h = {0};
        assertThat(dma.dmaAllocCoherent(pdev, 0x1000, h, GFP_KERNEL)).isNotZero();
        assertThat(h[0]).isEqualTo(0xffffe000L);
    }

    /**
     * Streaming mappings take their limit from dma_get_mask(): a device whose mask cell holds 0
     * is treated as a 32-bit one (map_page and map_sg alike), not as one that can reach nothing.
     */
    @Test
    void zeroDmaMaskMeansThirtyTwoBitsForStreamingMappings() {
        dev.dmaMask[0] = 0;
        long iova = dma.dmaMapPage(dev, 0x40123000L, 0, 0x1000, DMA_TO_DEVICE);
        assertThat(iova).isEqualTo(0xfffff000L);
        assertThat(Iommu.iommuIovaToPhys(dom, iova)).isEqualTo(0x40123000L);
        Scatterlist[] sg = {new Scatterlist(0x40200000L, 0x1000)};
        assertThat(dma.dmaMapSg(dev, sg, 1, DMA_TO_DEVICE)).isEqualTo(1);
        assertThat(sg[0].dmaAddress).isEqualTo(0xffffe000L);
        dma.dmaUnmapSg(dev, sg, 1, DMA_TO_DEVICE);
        dma.dmaUnmapPage(dev, iova, 0x1000, DMA_TO_DEVICE);
        assertThat(Iommu.iommuIovaToPhys(dom, iova)).isZero();
        assertThat(Iommu.iommuIovaToPhys(dom, 0xffffe000L)).isZero();
    }

    /** With 64-bit masks a platform device (no single-address-cycle preference) maps at the top of the aperture. */
    @Test
    void platformDeviceWith64BitMaskMapsAtTheTopOfItsAperture() {
        PlatformDevice pdev = freshPlatformDevice();
        assertThat(DmaMapping.dmaSetMaskAndCoherent(pdev, DmaMapping.DMA_BIT_MASK(64))).isZero();
        assertThat(dma.dmaMapPage(pdev, 0x40123000L, 0, 0x1000, DMA_FROM_DEVICE)).isEqualTo((1L << 48) - 0x1000);
        long[] h = {0};
        assertThat(dma.dmaAllocCoherent(pdev, 0x1000, h, GFP_KERNEL)).isNotZero();
        assertThat(h[0]).isEqualTo((1L << 48) - 0x2000);
    }

    /** The bus limit (dma-ranges) caps the IOVA as the mask does; 0 is no limit. */
    @Test
    void busDmaLimitCapsTheIova() {
        PlatformDevice pdev = platformDevice();
        pdev.busDmaLimit = 0xf_ffff_ffffL;
        assertThat(dma.dmaMapPage(pdev, 0x40123000L, 0, 0x1000, DMA_FROM_DEVICE)).isEqualTo(0xf_ffff_f000L);
    }

    /**
     * A PCI function behind a host bridge that {@code describe} gives windows and dma_ranges
     * (bus range 0 already there), probed on the mock IOMMU with enumeration's 32-bit masks.
     */
    private org.iommu4j.pci.PciDev pciDeviceBehind(java.util.function.Consumer<org.iommu4j.pci.PciHostBridge> describe) {
        PciBed bed = new PciBed(w);
        bed.scan(describe);
        return bed.probe(bed.fn(1, 0), 8);
    }

    /** QEMU virt's host bridge windows (its pcie node's ranges): I/O, 32-bit memory, 64-bit memory. */
    private static void qemuVirtWindows(org.iommu4j.pci.PciHostBridge bridge) {
        org.iommu4j.pci.Pci.pciAddResourceOffset(bridge.windows,
                new Resource("pcie@10000000", 0, 0xffffL, Resource.IORESOURCE_IO), 0);
        org.iommu4j.pci.Pci.pciAddResourceOffset(bridge.windows,
                new Resource("pcie@10000000", 0x1000_0000L, 0x3efe_ffffL, Resource.IORESOURCE_MEM), 0);
        org.iommu4j.pci.Pci.pciAddResourceOffset(bridge.windows,
                new Resource("pcie@10000000", 0x80_0000_0000L, 0xff_ffff_ffffL, Resource.IORESOURCE_MEM), 0);
    }

    private static void assertReserved(IovaDomain iovad, long pfnLo, long pfnHi) {
        Iova r = iovad.findIova(pfnLo);
        assertThat(r).as("reservation at pfn 0x%x", pfnLo).isNotNull();
        assertThat(r.pfnLo).isEqualTo(pfnLo);
        assertThat(r.pfnHi).isEqualTo(pfnHi);
    }

    /**
     * iova_reserve_pci_windows: each memory window is reserved at its bus address (resource
     * less offset), exactly; the I/O window is not.
     */
    @Test
    void hostBridgeMemoryWindowsAreReservedExactly() {
        org.iommu4j.pci.PciDev pdev = pciDeviceBehind(DmaIommuTest::qemuVirtWindows);
        assertThat(pdev.dmaOps).isSameAs(w.iommu.dma());
        IovaDomain iovad = ((IommuDmaCookie) Iommu.iommuGetDomainForDev(pdev).iovaCookie).iovad;
        assertThat(iovad.nrIovas()).isEqualTo(2);
        assertReserved(iovad, 0x10000L, 0x3efefL);
        assertReserved(iovad, 0x8000000L, 0xfffffffL);
        assertThat(iovad.findIova(0xfL)).isNull();
        assertThat(iovad.findIova(0xffffL)).isNull();
        assertThat(iovad.findIova(0x3eff0L)).isNull();
        assertThat(iovad.findIova(0x10000000L)).isNull();
    }

    /** A window the bridge forwards at an offset is reserved at its bus address. */
    @Test
    void windowOffsetGivesTheBusAddress() {
        org.iommu4j.pci.PciDev pdev = pciDeviceBehind(b -> org.iommu4j.pci.Pci.pciAddResourceOffset(b.windows,
                new Resource("mem", 0x40_0000_0000L, 0x40_0fff_ffffL, Resource.IORESOURCE_MEM), 0x3f_f000_0000L));
        IovaDomain iovad = ((IommuDmaCookie) Iommu.iommuGetDomainForDev(pdev).iovaCookie).iovad;
        assertThat(iovad.nrIovas()).isEqualTo(1);
        assertReserved(iovad, 0x10000L, 0x1ffffL);
    }

    /**
     * Filling the space below 4 GiB with DMA mappings (32-bit mask): the allocator goes down
     * to the window's top, then jumps over it; no IOVA ever lands inside it.
     */
    @Test
    void dmaMappingsNeverReturnAnIovaInsideAWindow() {
        org.iommu4j.pci.PciDev pdev = pciDeviceBehind(DmaIommuTest::qemuVirtWindows);
        long[] iovas = {
            dma.dmaMapPage(pdev, 0x8000_0000L, 0, 0x8000_0000L, DMA_TO_DEVICE),
            dma.dmaMapPage(pdev, 0x4000_0000L, 0, 0x4000_0000L, DMA_TO_DEVICE),
            dma.dmaMapPage(pdev, 0x4000_0000L, 0, 0x100_0000L, DMA_TO_DEVICE),
            dma.dmaMapPage(pdev, 0x4000_0000L, 0, 0x1_0000L, DMA_TO_DEVICE),
            dma.dmaMapPage(pdev, 0x4000_0000L, 0, 0x1_0000L, DMA_TO_DEVICE),
        };
        assertThat(iovas).containsExactly(0x8000_0000L, 0x4000_0000L, 0x3f00_0000L, 0x3eff_0000L, 0x0fff_0000L);
        // Single pages fill the rest below the window; none is inside it, then the space is exhausted.
        long iova;
        int n = 0;
        while ((iova = dma.dmaMapPage(pdev, 0x4000_0000L, 0, 0x1000, DMA_TO_DEVICE)) != DmaMapping.DMA_MAPPING_ERROR) {
            assertThat(iova).isLessThan(0x1000_0000L).isNotZero();
            n++;
        }
        // [start_pfn 1, 0xffef] is left below the 64 KiB at 0x0fff0000.
        assertThat(n).isEqualTo(0xffef);
    }

    /**
     * The gaps around the bridge's inbound dma_ranges are reserved, from 0 to the first range,
     * between ranges, and after the last to the top (each gap includes the next range's first
     * granule, as v5.15 computes it); a 64-bit PCI function's first IOVA is then the highest
     * free page below 4 GiB.
     */
    @Test
    void gapsAroundDmaRangesAreReserved() {
        org.iommu4j.pci.PciDev pdev = pciDeviceBehind(b -> {
            org.iommu4j.pci.Pci.pciAddResourceOffset(b.dmaRanges,
                    new Resource("ib0", 0x4000_0000L, 0x7fff_ffffL, Resource.IORESOURCE_MEM), 0);
            org.iommu4j.pci.Pci.pciAddResourceOffset(b.dmaRanges,
                    new Resource("ib1", 0x2_0000_0000L, 0x2_ffff_ffffL, Resource.IORESOURCE_MEM), 0x1_0000_0000L);
        });
        IovaDomain iovad = ((IommuDmaCookie) Iommu.iommuGetDomainForDev(pdev).iovaCookie).iovad;
        assertThat(iovad.nrIovas()).isEqualTo(3);
        assertReserved(iovad, 0L, 0x40000L);
        assertReserved(iovad, 0x80000L, 0x100000L);
        assertReserved(iovad, 0x200000L, -1L >>> 12);
        assertThat(DmaMapping.dmaSetMaskAndCoherent(pdev, DmaMapping.DMA_BIT_MASK(64))).isZero();
        assertThat(dma.dmaMapPage(pdev, 0x4000_0000L, 0, 0x1000, DMA_TO_DEVICE)).isEqualTo(0x7fff_f000L);
    }

    /** dma_ranges out of order: -EINVAL from iommu_dma_init_domain, the device stays on dma-direct. */
    @Test
    void overlappingDmaRangesLeaveTheDeviceWithoutDmaIommu() {
        Printk.clear();
        org.iommu4j.pci.PciDev pdev = pciDeviceBehind(b -> {
            org.iommu4j.pci.Pci.pciAddResource(b.dmaRanges, new Resource("ib0", 0x8000_0000L, 0xbfff_ffffL, Resource.IORESOURCE_MEM));
            org.iommu4j.pci.Pci.pciAddResource(b.dmaRanges, new Resource("ib1", 0x4000_0000L, 0x7fff_ffffL, Resource.IORESOURCE_MEM));
        });
        assertThat(pdev.dmaOps).isNull();
        assertThat(Printk.grep("Failed to reserve IOVA")).containsExactly(
                "pci 0000:00:01.0: Failed to reserve IOVA [0x00000000c0000000-0x0000000040000000]");
        assertThat(Printk.grep("retaining platform DMA ops")).hasSize(1);
    }

    /**
     * A 32 KiB segment then 65536 segments of 64 KiB, physically contiguous from 4 GiB: 4 GiB
     * and 64 KiB of data, mapped at one 8 GiB-aligned IOVA. The last segment would straddle
     * IOVA + 4 GiB.
     */
    private static Scatterlist[] acrossFourGiB() {
        Scatterlist[] sg = new Scatterlist[65537];
        sg[0] = new Scatterlist(SZ_4G, 0x8000);
        for (int i = 1; i < sg.length; i++) {
            sg[i] = new Scatterlist(SZ_4G + 0x8000 + (i - 1) * 0x10000L, 0x10000);
        }
        return sg;
    }

    /**
     * A PCI function's 4 GiB segment boundary (pci_device_add): dma-iommu pads the segment
     * before the boundary so the last one starts on it, and no DMA segment crosses it.
     */
    @Test
    void mapSgPadsAcrossTheFourGiBBoundaryOfAPciDevice() {
        Device pdev = pciDevice();
        IommuDomain pdom = Iommu.iommuGetDomainForDev(pdev);
        Scatterlist[] sg = acrossFourGiB();
        int n = dma.dmaMapSg(pdev, sg, sg.length, DMA_TO_DEVICE);
        // 64 KiB segments (the PCI maximum) never merge.
        assertThat(n).isEqualTo(sg.length);
        long iova = sg[0].sgDmaAddress();
        assertThat(iova & (SZ_4G - 1)).isZero();
        assertThat(sg[65535].sgDmaAddress()).isEqualTo(iova + 0xfffe8000L);
        assertThat(sg[65535].sgDmaLen()).isEqualTo(0x10000);
        // 32 KiB of padding, then the last segment starts on the boundary.
        assertThat(sg[65536].sgDmaAddress()).isEqualTo(iova + SZ_4G);
        assertThat(sg[65536].sgDmaLen()).isEqualTo(0x10000);
        for (int i = 0; i < n; i++) {
            long start = sg[i].sgDmaAddress();
            long last = start + sg[i].sgDmaLen() - 1;
            assertThat(start >>> 32).as("segment %d", i).isEqualTo(last >>> 32);
        }
        // Original fields restored; the data behind each DMA address is the segment's.
        assertThat(sg[65535].length).isEqualTo(0x10000);
        assertThat(Iommu.iommuIovaToPhys(pdom, iova + SZ_4G)).isEqualTo(SZ_4G + 0xffff8000L);
        assertThat(Iommu.iommuIovaToPhys(pdom, iova + 0xfffe8000L)).isEqualTo(SZ_4G + 0xfffe8000L);
        dma.dmaUnmapSg(pdev, sg, sg.length, DMA_TO_DEVICE);
        assertThat(Iommu.iommuIovaToPhys(pdom, iova)).isZero();
        assertThat(Iommu.iommuIovaToPhys(pdom, iova + SZ_4G)).isZero();
    }

    /**
     * The same scatterlist on a platform device, whose segment boundary is ULONG_MAX: nothing
     * is padded (unsigned comparisons: pad_len is huge, not negative) and the last segment
     * crosses IOVA + 4 GiB.
     */
    @Test
    void mapSgDoesNotPadForAPlatformDeviceWithoutBoundary() {
        PlatformDevice pdev = platformDevice();
        IommuDomain pdom = Iommu.iommuGetDomainForDev(pdev);
        Scatterlist[] sg = acrossFourGiB();
        int n = dma.dmaMapSg(pdev, sg, sg.length, DMA_TO_DEVICE);
        assertThat(n).isEqualTo(sg.length);
        long iova = sg[0].sgDmaAddress();
        assertThat(iova & (SZ_4G - 1)).isZero();
        assertThat(sg[65535].sgDmaAddress()).isEqualTo(iova + 0xfffe8000L);
        assertThat(sg[65536].sgDmaAddress()).isEqualTo(iova + 0xffff8000L);
        assertThat(sg[65536].sgDmaLen()).isEqualTo(0x10000);
        assertThat(sg[65535].length).isEqualTo(0x10000);
        assertThat(Iommu.iommuIovaToPhys(pdom, iova + SZ_4G)).isEqualTo(SZ_4G + SZ_4G);
        assertThat(Iommu.iommuIovaToPhys(pdom, iova + 0xffff8000L)).isEqualTo(SZ_4G + 0xffff8000L);
        dma.dmaUnmapSg(pdev, sg, sg.length, DMA_TO_DEVICE);
        assertThat(Iommu.iommuIovaToPhys(pdom, iova)).isZero();
        assertThat(Iommu.iommuIovaToPhys(pdom, iova + SZ_4G)).isZero();
    }

    /**
     * A boundary the driver sets (64 KiB, with 1 MiB segments): a segment that would straddle
     * it is pushed onto it by padding the one before, and merging stops at it.
     */
    @Test
    void mapSgHonoursADriverSetBoundaryWhenPaddingAndMerging() {
        PlatformDevice pdev = platformDevice();
        assertThat(DmaMappingH.dmaSetSegBoundary(pdev, 0xffffL)).isZero();
        assertThat(DmaMappingH.dmaSetMaxSegSize(pdev, 0x100000)).isZero();
        IommuDomain pdom = Iommu.iommuGetDomainForDev(pdev);
        Scatterlist[] sg = {
            new Scatterlist(0x40100000L, 0x8000),
            new Scatterlist(0x40200000L, 0x8000),
            new Scatterlist(0x40300000L, 0xc000),
            new Scatterlist(0x40400000L, 0x8000),
        };
        int n = dma.dmaMapSg(pdev, sg, sg.length, DMA_BIDIRECTIONAL);
        assertThat(n).isEqualTo(3);
        long iova = sg[0].sgDmaAddress();
        assertThat(iova & 0xffff).isZero();
        // 1 and 2 merge up to the boundary; 3 starts on it (no merge across); 4 would straddle
        // the next one, so 3 was padded by 16 KiB and 4 starts on it.
        assertThat(sg[0].sgDmaLen()).isEqualTo(0x10000);
        assertThat(sg[1].sgDmaAddress()).isEqualTo(iova + 0x10000);
        assertThat(sg[1].sgDmaLen()).isEqualTo(0xc000);
        assertThat(sg[2].sgDmaAddress()).isEqualTo(iova + 0x20000);
        assertThat(sg[2].sgDmaLen()).isEqualTo(0x8000);
        assertThat(sg[3].sgDmaLen()).isZero();
        assertThat(sg[2].length).isEqualTo(0xc000);
        assertThat(Iommu.iommuIovaToPhys(pdom, iova + 0x8000)).isEqualTo(0x40200000L);
        assertThat(Iommu.iommuIovaToPhys(pdom, iova + 0x20000)).isEqualTo(0x40400000L);
        dma.dmaUnmapSg(pdev, sg, sg.length, DMA_BIDIRECTIONAL);
        assertThat(Iommu.iommuIovaToPhys(pdom, iova)).isZero();
        assertThat(Iommu.iommuIovaToPhys(pdom, iova + 0x20000)).isZero();
    }

    @Test
    void initDomainErrors() {
        DmaIommu di = w.iommu.dma();
        IommuDomain un = w.iommu.iommuDomainAlloc(w.bus);
        assertThat(di.iommuDmaInitDomain(un, 0, -1L, dev)).isEqualTo(-EINVAL); // no cookie
        org.iommu4j.base.FaultInject.failNth(1);
        assertThat(DmaIommu.iommuGetDmaCookie(un)).isEqualTo(-org.iommu4j.base.Errno.ENOMEM);
        org.iommu4j.base.FaultInject.disarm();
        assertThat(DmaIommu.iommuGetDmaCookie(un)).isZero();
        assertThat(DmaIommu.iommuGetDmaCookie(un)).isEqualTo(-org.iommu4j.base.Errno.EEXIST);
        assertThat(di.iommuDmaInitDomain(un, 1L << 49, -1L, dev)).isEqualTo(-EFAULT); // outside aperture
        assertThat(di.iommuDmaInitDomain(un, 0, -1L, dev)).isZero();
        assertThat(di.iommuDmaInitDomain(un, 0, -1L, dev)).isZero(); // same range again
        assertThat(di.iommuDmaInitDomain(un, 1L << 30, -1L, dev)).isEqualTo(-EFAULT); // incompatible
        w.iommu.iommuDomainFree(un);
    }

    /**
     * iova_reserve_iommu_regions ignores reserve_iova's result: when the reservation cannot be
     * allocated, iommu_dma_init_domain still succeeds and the region is simply not reserved.
     */
    @Test
    void failedReservationDoesNotFailInitDomain() {
        DmaIommu di = w.iommu.dma();
        w.mock.resvRegions.add(new IommuResvRegion(0x9000000L, 0x2000, 0, IommuH.IOMMU_RESV_RESERVED));
        IommuDomain un = w.iommu.iommuDomainAlloc(w.bus);
        assertThat(DmaIommu.iommuGetDmaCookie(un)).isZero();
        IovaDomain iovad = ((IommuDmaCookie) un.iovaCookie).iovad;
        FaultInject.failNth(1);
        assertThat(di.iommuDmaInitDomain(un, 0, -1L, dev)).isZero();
        assertThat(FaultInject.disarm()).isTrue();
        assertThat(iovad.granule).isEqualTo(0x1000);
        assertThat(iovad.findIova(iovad.iovaPfn(0x9000000L))).isNull();
        // Without the injected failure the region is reserved.
        IommuDomain ok = w.iommu.iommuDomainAlloc(w.bus);
        assertThat(DmaIommu.iommuGetDmaCookie(ok)).isZero();
        assertThat(di.iommuDmaInitDomain(ok, 0, -1L, dev)).isZero();
        IovaDomain okIovad = ((IommuDmaCookie) ok.iovaCookie).iovad;
        assertThat(okIovad.findIova(okIovad.iovaPfn(0x9001000L))).isNotNull();
        w.iommu.iommuDomainFree(un);
        w.iommu.iommuDomainFree(ok);
    }

    @Test
    void failNthSweepOverDmaPathsLeaksNothing() {
        long[] h = {0};
        // Warm the page tables so a successful run allocates nothing that outlives it.
        long c0 = dma.dmaAllocCoherent(dev, 0x2000, h, GFP_KERNEL);
        dma.dmaFreeCoherent(dev, 0x2000, c0, h[0]);
        iovad().freeCpuCachedIovas();
        iovad().freeGlobalCachedIovas();
        int nodes = iovad().nrIovas();
        for (int n = 1; ; n++) {
            FaultInject.failNth(n);
            long cpu = dma.dmaAllocCoherent(dev, 0x2000, h, GFP_KERNEL);
            long iova = dma.dmaMapPage(dev, 0x40200000L, 0, 0x3000, DMA_FROM_DEVICE);
            boolean fired = FaultInject.disarm();
            if (cpu != 0) {
                dma.dmaFreeCoherent(dev, 0x2000, cpu, h[0]);
            }
            if (iova != DmaMapping.DMA_MAPPING_ERROR) {
                dma.dmaUnmapPage(dev, iova, 0x3000, DMA_FROM_DEVICE);
            }
            iovad().freeCpuCachedIovas();
            iovad().freeGlobalCachedIovas();
            assertThat(iovad().nrIovas()).isEqualTo(nodes);
            // A failed table allocation deep in the walk may leave upper-level tables: the
            // kernel keeps them too. Allow growth only when the injection hit the page table.
            if (!fired) {
                assertThat(cpu).isNotZero();
                assertThat(iova).isNotEqualTo(DmaMapping.DMA_MAPPING_ERROR);
                break;
            }
        }
        w.iommu.iommuReleaseDevice(dev);
        assertThat(w.pageAlloc.allocatedPages()).isEqualTo(basePages);
    }
}
