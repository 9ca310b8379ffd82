package org.iommu4j.dma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EIO;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Gfp.GFP_KERNEL;

import org.iommu4j.base.FaultInject;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.mm.PageAlloc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** kernel/dma/mapping.c over dma-direct (dev.dmaOps == null). */
@ExtendWith(NoWarnings.class)
class DmaMappingTest {
    final PhysMem mem = Board.withRam(16L << 20).mem;
    final PageAlloc pa = PageAlloc.forAllRam(mem);
    final DmaMapping dma = new DmaMapping(pa);

    /** A device as a bus that gives it 64-bit masks would leave it (the masks are per bus). */
    static Device dmaCapable(String name) {
        Device dev = new Device(name);
        dev.dmaMask = new long[] {-1L};
        dev.coherentDmaMask = -1L;
        return dev;
    }

    @Test
    void directCoherentAllocIsIdentityAndZeroed() {
        Device dev = dmaCapable("d");
        long base = pa.allocatedPages();
        long[] h = {0};
        mem.memset(0x40000000L, 0xff, 1 << 20);
        long cpu = dma.dmaAllocCoherent(dev, 0x3000, h, GFP_KERNEL);
        assertThat(cpu).isNotZero().isEqualTo(h[0]);
        assertThat(mem.readq(cpu + 0x2ff8)).isZero();
        assertThat(pa.allocatedPages()).isEqualTo(base + 4); // order 2
        dma.dmaFreeCoherent(dev, 0x3000, cpu, h[0]);
        assertThat(pa.allocatedPages()).isEqualTo(base);
        FaultInject.failNth(1);
        assertThat(dma.dmaAllocCoherent(dev, 0x1000, h, GFP_KERNEL)).isZero();
        FaultInject.disarm();
        // Coherent mask below the RAM: nothing suitable.
        dev.coherentDmaMask = 0xffffffL;
        assertThat(dma.dmaAllocCoherent(dev, 0x1000, h, GFP_KERNEL)).isZero();
        assertThat(pa.allocatedPages()).isEqualTo(base);
    }

    @Test
    void managedAllocationsReleasedOnUnbind() {
        Device dev = dmaCapable("d");
        long base = pa.allocatedPages();
        long[] h = {0};
        long a = dma.dmamAllocCoherent(dev, 0x1000, h, GFP_KERNEL);
        long b = dma.dmamAllocCoherent(dev, 0x8000, h, GFP_KERNEL);
        assertThat(a).isNotZero();
        assertThat(b).isNotZero();
        dma.dmamFreeCoherent(dev, 0x1000, a, a);
        assertThat(dma.devresReleaseAll(dev)).isEqualTo(1);
        assertThat(pa.allocatedPages()).isEqualTo(base);
    }

    @Test
    void directStreamingMappings() {
        Device dev = dmaCapable("d");
        assertThat(dma.dmaMapSingle(dev, 0x40001234L, 100, DmaDataDirection.DMA_TO_DEVICE)).isEqualTo(0x40001234L);
        dma.dmaUnmapSingle(dev, 0x40001234L, 100, DmaDataDirection.DMA_TO_DEVICE);
        dev.dmaMask[0] = 0xffffffffL;
        assertThat(dma.dmaMapPage(dev, 0x1_0000_0000L, 0, 0x1000, DmaDataDirection.DMA_FROM_DEVICE)).isEqualTo(DmaMapping.DMA_MAPPING_ERROR);
        assertThat(DmaMapping.dmaMappingError(dev, DmaMapping.DMA_MAPPING_ERROR)).isEqualTo(-ENOMEM);
        assertThat(DmaMapping.dmaMappingError(dev, 0x1000)).isZero();
        Scatterlist[] sg = {new Scatterlist(0x40000000L, 0x1000), new Scatterlist(0x40005010L, 0x20)};
        assertThat(dma.dmaMapSg(dev, sg, 2, DmaDataDirection.DMA_BIDIRECTIONAL)).isEqualTo(2);
        assertThat(sg[1].sgDmaAddress()).isEqualTo(0x40005010L);
        assertThat(sg[1].sgDmaLen()).isEqualTo(0x20);
        dma.dmaUnmapSg(dev, sg, 2, DmaDataDirection.DMA_BIDIRECTIONAL);
        assertThat(DmaMapping.dmaSetMaskAndCoherent(dev, DmaMapping.DMA_BIT_MASK(48))).isZero();
        assertThat(dev.dmaMask[0]).isEqualTo((1L << 48) - 1);
        assertThat(dev.coherentDmaMask).isEqualTo((1L << 48) - 1);
        assertThat(DmaMapping.DMA_BIT_MASK(64)).isEqualTo(-1L);
        assertThat(DmaMapping.getOrder(1)).isZero();
        assertThat(DmaMapping.getOrder(0x1001)).isEqualTo(1);
        assertThat(DmaMapping.getOrder(0x4000)).isEqualTo(2);
    }

    /** dma_get_mask: the device's mask, 32 bits when it has no dma_mask or a zero one. */
    @Test
    void getMaskDefaultsTo32Bits() {
        Device bare = new Device("bare");
        assertThat(DmaMapping.dmaGetMask(bare)).isEqualTo(0xffffffffL);
        Device dev = dmaCapable("d");
        dev.dmaMask[0] = 0;
        assertThat(DmaMapping.dmaGetMask(dev)).isEqualTo(0xffffffffL);
        assertThat(DmaMapping.dmaSetMask(dev, DmaMapping.DMA_BIT_MASK(48))).isZero();
        assertThat(DmaMapping.dmaGetMask(dev)).isEqualTo(DmaMapping.DMA_BIT_MASK(48));
    }

    /** dma_set_mask: -EIO without a dma_mask or for a mask dma-direct cannot serve; nothing changes then. */
    @Test
    void setMaskChecksAsV515() {
        Device bare = new Device("bare");
        assertThat(DmaMapping.dmaSetMask(bare, DmaMapping.DMA_BIT_MASK(64))).isEqualTo(-EIO);
        assertThat(bare.dmaMask).isNull();
        // dma_set_mask_and_coherent stops at dma_set_mask's failure: the coherent mask stays 0.
        assertThat(DmaMapping.dmaSetMaskAndCoherent(bare, DmaMapping.DMA_BIT_MASK(64))).isEqualTo(-EIO);
        assertThat(bare.coherentDmaMask).isZero();
        // dma_set_coherent_mask needs no dma_mask, only support.
        assertThat(DmaMapping.dmaSetCoherentMask(bare, DmaMapping.DMA_BIT_MASK(40))).isZero();
        assertThat(bare.coherentDmaMask).isEqualTo(DmaMapping.DMA_BIT_MASK(40));

        Device dev = dmaCapable("d");
        dev.dmaMask[0] = DmaMapping.DMA_BIT_MASK(32);
        dev.coherentDmaMask = DmaMapping.DMA_BIT_MASK(32);
        // dma-direct: at least 32 bits, whatever is above.
        assertThat(DmaMapping.dmaSupported(dev, DmaMapping.DMA_BIT_MASK(32))).isTrue();
        assertThat(DmaMapping.dmaSupported(dev, DmaMapping.DMA_BIT_MASK(36))).isTrue();
        assertThat(DmaMapping.dmaSupported(dev, DmaMapping.DMA_BIT_MASK(31))).isFalse();
        assertThat(DmaMapping.dmaSetMask(dev, DmaMapping.DMA_BIT_MASK(24))).isEqualTo(-EIO);
        assertThat(DmaMapping.dmaSetCoherentMask(dev, DmaMapping.DMA_BIT_MASK(24))).isEqualTo(-EIO);
        assertThat(dev.dmaMask[0]).isEqualTo(DmaMapping.DMA_BIT_MASK(32));
        assertThat(dev.coherentDmaMask).isEqualTo(DmaMapping.DMA_BIT_MASK(32));
        assertThat(DmaMapping.dmaSetMaskAndCoherent(dev, DmaMapping.DMA_BIT_MASK(64))).isZero();
        assertThat(dev.dmaMask[0]).isEqualTo(-1L);
        assertThat(dev.coherentDmaMask).isEqualTo(-1L);
    }

    /** With DMA ops, their dma_supported decides; ops without one (dma-iommu) take any mask. */
    @Test
    void dmaSupportedAsksTheOps() {
        Device dev = dmaCapable("d");
        DmaMapOps picky = new NullOps() {
            @Override
            public boolean dmaSupported(Device d, long mask) {
                return mask == DmaMapping.DMA_BIT_MASK(40);
            }
        };
        DmaMapping.setDmaOps(dev, picky);
        assertThat(DmaMapping.dmaSetMask(dev, DmaMapping.DMA_BIT_MASK(64))).isEqualTo(-EIO);
        assertThat(DmaMapping.dmaSetMask(dev, DmaMapping.DMA_BIT_MASK(40))).isZero();
        DmaMapping.setDmaOps(dev, new NullOps());
        assertThat(DmaMapping.dmaSetMask(dev, DmaMapping.DMA_BIT_MASK(24))).isZero();
        assertThat(dev.dmaMask[0]).isEqualTo(DmaMapping.DMA_BIT_MASK(24));
    }

    /** Mapping for a device without dma_mask warns once and fails (map_page: error, map_sg: 0). */
    @Test
    void mappingWithoutDmaMaskFails() {
        Device bare = new Device("bare");
        assertThat(dma.dmaMapSingle(bare, 0x40001000L, 0x100, DmaDataDirection.DMA_TO_DEVICE))
                .isEqualTo(DmaMapping.DMA_MAPPING_ERROR);
        Scatterlist[] sg = {new Scatterlist(0x40000000L, 0x1000)};
        assertThat(dma.dmaMapSg(bare, sg, 1, DmaDataDirection.DMA_TO_DEVICE)).isZero();
        assertThat(org.iommu4j.base.Warn.drain()).isNotEmpty();
    }

    /** DMA ops that map nothing (only dma_supported matters to these tests). */
    static class NullOps implements DmaMapOps {
        @Override
        public long alloc(Device dev, long size, long[] dmaHandle, int gfp, long attrs) {
            return 0;
        }

        @Override
        public void free(Device dev, long size, long cpuAddr, long dmaHandle, long attrs) {}

        @Override
        public long mapPage(Device dev, long page, long offset, long size, int dir, long attrs) {
            return DmaMapping.DMA_MAPPING_ERROR;
        }

        @Override
        public void unmapPage(Device dev, long dmaHandle, long size, int dir, long attrs) {}

        @Override
        public int mapSg(Device dev, Scatterlist[] sg, int nents, int dir, long attrs) {
            return 0;
        }

        @Override
        public void unmapSg(Device dev, Scatterlist[] sg, int nents, int dir, long attrs) {}
    }
}
