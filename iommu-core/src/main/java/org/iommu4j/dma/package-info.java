/**
 * The DMA API (kernel/dma/mapping.c with dma-direct): {@link org.iommu4j.dma.DmaMapping} dispatches
 * to a device's {@link org.iommu4j.dma.DmaMapOps} (dma-iommu) or to the identity mapping.
 */
package org.iommu4j.dma;
