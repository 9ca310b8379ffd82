package org.iommu4j.base.device;

import org.iommu4j.base.Port;

/**
 * {@code struct device} (include/linux/device.h): the fields the IOMMU stack uses. Slots owned by
 * higher layers ({@code dev->iommu}, {@code iommu_group}, {@code of_node}, {@code dma_ops}) are
 * typed {@code Object} here and given typed accessors by the module that owns the type
 * (kernel-base knows nothing of the IOMMU core).
 */
@Port("include/linux/device.h:device")
public class Device {
    private volatile String name;
    public Device parent;
    public BusType bus;
    public DeviceDriver driver;
    /** {@code dev->of_node}: a devicetree node, or null. */
    public Object ofNode;
    /** {@code dev->fwnode}. */
    public Object fwnode;
    /** {@code dev->iommu}: the {@code struct dev_iommu} (fwspec, driver private, fault param). */
    public volatile Object iommu;
    /** {@code dev->iommu_group}. */
    public volatile Object iommuGroup;
    /** {@code dev->dma_ops}: null means dma-direct. */
    public volatile Object dmaOps;
    /**
     * {@code u64 *dma_mask}: the cell the mask for streaming mappings lives in, so
     * {@code *dev->dma_mask} is {@code dev.dmaMask[0]}; null (NULL) until the bus that creates
     * the device points it at storage of its own ({@code pci_dev.dma_mask},
     * {@code platform_device.platform_dma_mask}). A device without it cannot do DMA:
     * {@code dma_set_mask} answers -EIO and the mapping calls fail.
     */
    public long[] dmaMask;
    /** {@code coherent_dma_mask}: the mask for coherent allocations; 0 until the bus sets it. */
    public long coherentDmaMask;
    /**
     * {@code bus_dma_limit} (v5.5+): the highest DMA address the interconnect upstream of the
     * device carries, from the firmware's {@code dma-ranges}; 0 = no limit.
     */
    public long busDmaLimit;
    /**
     * {@code dma_range_map}: the interconnect's inbound windows from {@code dma-ranges}, or
     * null (no translation). Recorded by of_dma_configure; the simulated dma-direct maps 1:1
     * and does not apply it.
     */
    public BusDmaRegion[] dmaRangeMap;
    /**
     * {@code dev->dma_parms}: null when the bus gives the device none (then the
     * {@link DmaMappingH} getters answer the defaults and the setters -EIO).
     */
    public DeviceDmaParameters dmaParms;
    /** {@code dev->dma_coherent}. */
    public boolean dmaCoherent = true;
    /** {@code dev->platform_data}. */
    public Object platformData;
    /** {@code dev->msi_domain}: the MSI irq domain its vectors come from, or null (no MSI). */
    public volatile org.iommu4j.base.irq.MsiDomain msiDomain;
    /** {@code dev->msi_list}: the device's MSI descriptors (one for PCI MSI). */
    public final java.util.List<org.iommu4j.base.irq.MsiDesc> msiList = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** The device's simulated hardware model, if any (not a kernel field: the board wiring). */
    public Object hw;
    private volatile Object driverData;

    public Device(String name) {
        this.name = name;
    }

    @Port("include/linux/device.h:dev_name")
    public String devName() {
        return name;
    }

    /** Names the device; a bus that numbers its devices when they are added names them then. */
    @Port("include/linux/device.h:dev_set_name")
    public void devSetName(String name) {
        this.name = name;
    }

    @Port("include/linux/device.h:dev_get_drvdata")
    public Object devGetDrvdata() {
        return driverData;
    }

    @Port("include/linux/device.h:dev_set_drvdata")
    public void devSetDrvdata(Object data) {
        driverData = data;
    }

    /** The driver name as dev_printk shows it, or the bus name. */
    public String driverName() {
        if (driver != null) {
            return driver.name();
        }
        return bus != null ? bus.name() : "";
    }

    @Override
    public String toString() {
        return name;
    }
}
