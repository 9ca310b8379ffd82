package org.iommu4j.iommu;

import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.Device;
import org.iommu4j.ioasid.Ioasid;
import org.iommu4j.mm.PageAlloc;

/**
 * The core with the {@link MockIommu} registered and installed on a bus, for the tests of the
 * modules above the core: {@link #added} gives a device probed by the core, in its default domain.
 */
public final class MockMachine {
    public final Iommu iommu;
    public final MockIommu mock;
    public final BusType bus = new BusType("pci", (d, drv) -> false);

    public MockMachine(PageAlloc pages, Ioasid ioasid) {
        iommu = new Iommu(pages, ioasid, null);
        mock = new MockIommu(pages);
        mock.core = iommu;
        iommu.iommuDeviceRegister(mock.iommuDev, mock, new Device("smmu"));
        iommu.busSetIommu(bus, mock);
    }

    /**
     * A device with one StreamID behind the mock IOMMU, added to the bus (probed, default domain
     * attached). It has the 32-bit masks pci_device_add gives, raised to 64 bits as its driver would.
     */
    public Device added(String name, int sid) {
        Device d = new Device(name);
        d.dmaMask = new long[] {org.iommu4j.dma.DmaMapping.DMA_BIT_MASK(32)};
        d.coherentDmaMask = org.iommu4j.dma.DmaMapping.DMA_BIT_MASK(32);
        if (org.iommu4j.dma.DmaMapping.dmaSetMaskAndCoherent(d, org.iommu4j.dma.DmaMapping.DMA_BIT_MASK(64)) != 0) {
            throw new AssertionError("64-bit DMA mask refused");
        }
        Iommu.iommuFwspecInit(d, mock.fwnode, mock);
        Iommu.iommuFwspecAddIds(d, new int[] {sid}, 1);
        bus.deviceAdd(d);
        return d;
    }
}
