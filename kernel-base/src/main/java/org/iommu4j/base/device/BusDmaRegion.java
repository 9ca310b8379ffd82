package org.iommu4j.base.device;

import org.iommu4j.base.Port;

/**
 * {@code struct bus_dma_region} (include/linux/dma-direct.h, v5.10+): one inbound window of a
 * device's interconnect, CPU range [cpuStart, cpuStart + size) seen by the device at dmaStart;
 * {@code offset} = cpuStart - dmaStart. The kernel ends its array with a zero-size entry; the
 * Java array carries its length instead.
 */
@Port("include/linux/dma-direct.h:bus_dma_region")
public record BusDmaRegion(long cpuStart, long dmaStart, long size, long offset) {}
