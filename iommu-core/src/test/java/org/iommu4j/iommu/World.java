package org.iommu4j.iommu;

import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.dma.DmaMapping;
import org.iommu4j.ioasid.Ioasid;
import org.iommu4j.mm.PageAlloc;

/** One simulated machine for the core's tests: RAM, page allocator, ioasid, core, mock IOMMU, a bus. */
final class World {
    final PhysMem mem;
    final PageAlloc pageAlloc;
    final Ioasid ioasid = new Ioasid();
    final Iommu iommu;
    final MockIommu mock;
    final BusType bus = new BusType("platform", (d, drv) -> false);

    World() {
        this(null);
    }

    World(String cmdline) {
        mem = Board.withRam(64L << 20).mem;
        pageAlloc = PageAlloc.forAllRam(mem);
        iommu = new Iommu(pageAlloc, ioasid, cmdline);
        mock = new MockIommu(pageAlloc);
        mock.core = iommu;
        // as a driver's probe ends (and iommufd's selftest mock): its sysfs device, then the registration
        Device hw = new Device("smmu");
        if (iommu.iommuSysfs().iommuDeviceSysfsAdd(mock.iommuDev, hw, "mock-iommu") != 0) {
            throw new AssertionError("iommu_device_sysfs_add");
        }
        iommu.iommuDeviceRegister(mock.iommuDev, mock, hw);
    }

    /**
     * A device whose fwspec points at the mock IOMMU with one stream ID. Its bus gives it 32-bit
     * DMA masks and its driver raises them to 64 bits, as the driver of a 64-bit DMA master does.
     */
    Device dev(String name, int sid) {
        Device d = new Device(name);
        d.dmaMask = new long[] {DmaMapping.DMA_BIT_MASK(32)};
        d.coherentDmaMask = DmaMapping.DMA_BIT_MASK(32);
        if (DmaMapping.dmaSetMaskAndCoherent(d, DmaMapping.DMA_BIT_MASK(64)) != 0) {
            throw new AssertionError("64-bit DMA mask refused");
        }
        Iommu.iommuFwspecInit(d, mock.fwnode, mock);
        Iommu.iommuFwspecAddIds(d, new int[] {sid}, 1);
        return d;
    }

    /** Installs the IOMMU on the bus and adds {@code d} (probed through the bus notifier). */
    Device added(String name, int sid) {
        if (bus.iommuOps == null) {
            iommu.busSetIommu(bus, mock);
        }
        Device d = dev(name, sid);
        bus.deviceAdd(d);
        return d;
    }
}
