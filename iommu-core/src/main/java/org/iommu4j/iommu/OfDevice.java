package org.iommu4j.iommu;

import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.EPROBE_DEFER;

import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.BusDmaRegion;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.Device;
import org.iommu4j.dma.DmaMapping;
import org.iommu4j.of.DeviceNode;
import org.iommu4j.of.Of;

/**
 * drivers/of/device.c (v5.15), the DMA part: a device's DMA configuration from the device
 * tree, done by the bus (platform_dma_configure, pci_dma_configure) before its driver probes.
 * It sits in iommu-core, not devicetree, because it calls of_iommu_configure and the arch's
 * arch_setup_dma_ops, both above devicetree in the module graph.
 */
public final class OfDevice {
    private final OfIommu ofIommu;
    private final Iommu iommu;

    public OfDevice(OfIommu ofIommu, Iommu iommu) {
        this.ofIommu = ofIommu;
        this.iommu = iommu;
    }

    /**
     * Sets up DMA for {@code dev} from {@code np} (its node, or the host bridge's for PCI):
     * the interconnect's limit and range map from {@code dma-ranges}, both masks clipped to
     * the addressable range (4 GiB, or the coherent mask's reach, when there is no
     * {@code dma-ranges}), coherency, the IOMMU ({@code id}: the ID to map through
     * {@code iommu-map}, nullable) and the DMA ops. 0; -EPROBE_DEFER when the IOMMU's driver
     * is not there yet; the -errno of a bad {@code dma-ranges} (without {@code forceDma}, a
     * missing one is 0 and nothing is set up); -EINVAL for a zero-size {@code dma-ranges}.
     */
    @Port("drivers/of/device.c:of_dma_configure_id")
    public int ofDmaConfigureId(Device dev, DeviceNode np, boolean forceDma, int[] id) {
        BusDmaRegion[][] map = {null};
        long dmaStart = 0;
        long size = 0;
        int ret = Of.ofDmaGetRange(np, map);
        if (ret < 0) {
            // Devices are configured for DMA even without dma-ranges when the bus says so.
            if (!forceDma) {
                return ret == -ENODEV ? 0 : ret;
            }
        } else {
            // The bounds of all the regions together.
            long dmaEnd = 0;
            dmaStart = -1L;
            for (BusDmaRegion r : map[0]) {
                if (Long.compareUnsigned(r.dmaStart(), dmaStart) < 0) {
                    dmaStart = r.dmaStart();
                }
                if (Long.compareUnsigned(r.dmaStart() + r.size(), dmaEnd) > 0) {
                    dmaEnd = r.dmaStart() + r.size();
                }
            }
            size = dmaEnd - dmaStart;
            // A size written as a mask (all ones) is taken as mask + 1.
            if ((size & 1) != 0) {
                DevPrintk.devWarn(dev, "Invalid size 0x%x for dma-range(s)", size);
                size = size + 1;
            }
            if (size == 0) {
                DevPrintk.devErr(dev, "Adjusted size 0x%x invalid", size);
                return -EINVAL;
            }
        }
        // The bus should have given the device a dma_mask; fall back to one of its own.
        if (dev.dmaMask == null) {
            DevPrintk.devWarn(dev, "DMA mask not set");
            dev.dmaMask = new long[] {dev.coherentDmaMask};
        }
        if (size == 0 && dev.coherentDmaMask != 0) {
            size = Long.compareUnsigned(dev.coherentDmaMask, dev.coherentDmaMask + 1) >= 0
                    ? dev.coherentDmaMask : dev.coherentDmaMask + 1;
        } else if (size == 0) {
            size = 1L << 32;
        }
        // Clip both masks to what the range (or the default) can address.
        long end = dmaStart + size - 1;
        long mask = DmaMapping.DMA_BIT_MASK(64 - Long.numberOfLeadingZeros(end));
        dev.coherentDmaMask &= mask;
        dev.dmaMask[0] &= mask;
        // The limit and the map only come from a dma-ranges that was found.
        if (ret == 0) {
            dev.busDmaLimit = end;
            dev.dmaRangeMap = map[0];
        }
        boolean coherent = Of.ofDmaIsCoherent(np);
        DevPrintk.devDbg(dev, "device is%sdma coherent", coherent ? " " : " not ");
        IommuOps ops;
        try {
            ops = ofIommu.ofIommuConfigure(dev, np, id);
        } catch (ErrnoException e) {
            if (e.err() != -EPROBE_DEFER) {
                throw e;
            }
            if (ret == 0) {
                dev.dmaRangeMap = null;
            }
            return -EPROBE_DEFER;
        }
        DevPrintk.devDbg(dev, "device is%sbehind an iommu", ops != null ? " " : " not ");
        iommu.archSetupDmaOps(dev, dmaStart, size, ops, coherent);
        return 0;
    }

    /** {@link #ofDmaConfigureId} with no ID to map. */
    @Port("include/linux/of_device.h:of_dma_configure")
    public int ofDmaConfigure(Device dev, DeviceNode np, boolean forceDma) {
        return ofDmaConfigureId(dev, np, forceDma, null);
    }
}
