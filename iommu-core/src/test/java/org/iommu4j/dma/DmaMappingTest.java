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

    @Test
    void directCoherentAllocIsIdentityAndZeroed() {
        Device dev = new Device("d");
        long base = pa.allocatedPages();
        long[] h = {0};
        mem.memset(0x40000000L, 0xff, 1 << 20);
        long cpu = dma.dma_alloc_coherent(dev, 0x3000, h, GFP_KERNEL);
        assertThat(cpu).isNotZero().isEqualTo(h[0]);
        assertThat(mem.readq(cpu + 0x2ff8)).isZero();
        assertThat(pa.allocatedPages()).isEqualTo(base + 4); // order 2
        dma.dma_free_coherent(dev, 0x3000, cpu, h[0]);
        assertThat(pa.allocatedPages()).isEqualTo(base);
        FaultInject.failNth(1);
        assertThat(dma.dma_alloc_coherent(dev, 0x1000, h, GFP_KERNEL)).isZero();
        FaultInject.disarm();
        // Coherent mask below the RAM: nothing suitable.
        dev.coherentDmaMask = 0xffffffL;
        assertThat(dma.dma_alloc_coherent(dev, 0x1000, h, GFP_KERNEL)).isZero();
        assertThat(pa.allocatedPages()).isEqualTo(base);
    }

    @Test
    void managedAllocationsReleasedOnUnbind() {
        Device dev = new Device("d");
        long base = pa.allocatedPages();
        long[] h = {0};
        long a = dma.dmam_alloc_coherent(dev, 0x1000, h, GFP_KERNEL);
        long b = dma.dmam_alloc_coherent(dev, 0x8000, h, GFP_KERNEL);
        assertThat(a).isNotZero();
        assertThat(b).isNotZero();
        dma.dmam_free_coherent(dev, 0x1000, a, a);
        assertThat(dma.devres_release_all(dev)).isEqualTo(1);
        assertThat(pa.allocatedPages()).isEqualTo(base);
    }

    @Test
    void directStreamingMappings() {
        Device dev = new Device("d");
        assertThat(dma.dma_map_single(dev, 0x40001234L, 100, DmaDataDirection.DMA_TO_DEVICE)).isEqualTo(0x40001234L);
        dma.dma_unmap_single(dev, 0x40001234L, 100, DmaDataDirection.DMA_TO_DEVICE);
        dev.dmaMask = 0xffffffffL;
        assertThat(dma.dma_map_page(dev, 0x1_0000_0000L, 0, 0x1000, DmaDataDirection.DMA_FROM_DEVICE)).isEqualTo(DmaMapping.DMA_MAPPING_ERROR);
        assertThat(DmaMapping.dma_mapping_error(dev, DmaMapping.DMA_MAPPING_ERROR)).isEqualTo(-ENOMEM);
        assertThat(DmaMapping.dma_mapping_error(dev, 0x1000)).isZero();
        Scatterlist[] sg = {new Scatterlist(0x40000000L, 0x1000), new Scatterlist(0x40005010L, 0x20)};
        assertThat(dma.dma_map_sg(dev, sg, 2, DmaDataDirection.DMA_BIDIRECTIONAL)).isEqualTo(2);
        assertThat(sg[1].sg_dma_address()).isEqualTo(0x40005010L);
        assertThat(sg[1].sg_dma_len()).isEqualTo(0x20);
        dma.dma_unmap_sg(dev, sg, 2, DmaDataDirection.DMA_BIDIRECTIONAL);
        assertThat(DmaMapping.dma_set_mask(dev, 0xffffff)).isEqualTo(-EIO);
        assertThat(DmaMapping.dma_set_mask_and_coherent(dev, DmaMapping.DMA_BIT_MASK(48))).isZero();
        assertThat(dev.coherentDmaMask).isEqualTo((1L << 48) - 1);
        assertThat(DmaMapping.DMA_BIT_MASK(64)).isEqualTo(-1L);
        assertThat(DmaMapping.get_order(1)).isZero();
        assertThat(DmaMapping.get_order(0x1001)).isEqualTo(1);
        assertThat(DmaMapping.get_order(0x4000)).isEqualTo(2);
    }
}
