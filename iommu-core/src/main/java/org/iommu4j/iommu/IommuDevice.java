package org.iommu4j.iommu;

import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;

/**
 * {@code struct iommu_device}: one IOMMU instance registered with the core
 * ({@link Iommu#iommuDeviceRegister}). Drivers may extend it.
 */
@Port("include/linux/iommu.h:iommu_device")
public class IommuDevice {
    public IommuOps ops;
    /** Firmware node identifying this IOMMU (the DT node of the SMMU). */
    public Object fwnode;
    /**
     * The IOMMU's sysfs device in the iommu class ({@link IommuSysfs#iommuDeviceSysfsAdd}), a
     * child of the IOMMU's hardware device; null before that and after its removal.
     */
    public Device dev;

    public IommuDevice() {}

    @Override
    public String toString() {
        return "iommu_device{" + (dev != null ? dev.devName() : "?") + "}";
    }
}
