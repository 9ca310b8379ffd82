package org.iommu4j.iommu;

import org.iommu4j.base.Port;

/**
 * {@code iommu_dev_fault_handler_t}: {@code int (*)(struct iommu_fault *, void *)}. Called with
 * {@code dev->iommu->lock} held; returns 0 or -errno.
 */
@FunctionalInterface
@Port("include/linux/iommu.h:iommu_dev_fault_handler_t")
public interface IommuDevFaultHandler {
    int handle(IommuFault fault, Object data);
}
