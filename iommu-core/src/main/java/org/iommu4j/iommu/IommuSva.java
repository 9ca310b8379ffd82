package org.iommu4j.iommu;

import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;

/** {@code struct iommu_sva}: a device-mm bond handle; drivers extend it. */
@Port("include/linux/iommu.h:iommu_sva")
public class IommuSva {
    public Device dev;

    public IommuSva() {}

    public IommuSva(Device dev) {
        this.dev = dev;
    }
}
