package org.iommu4j.iommu;

import org.iommu4j.base.Port;

/**
 * {@code struct iommu_dma_msi_page}: one MSI doorbell page mapped into a domain, shared by every
 * vector of every device of the domain that targets the same doorbell. Immutable once on its
 * cookie's list; freed with the cookie.
 */
@Port("drivers/iommu/dma-iommu.c:iommu_dma_msi_page")
public final class IommuDmaMsiPage {
    /** Where the doorbell page appears to the device. */
    public final long iova;
    /** The doorbell page's physical address (granule aligned). */
    public final long phys;

    IommuDmaMsiPage(long iova, long phys) {
        this.iova = iova;
        this.phys = phys;
    }

    @Override
    public String toString() {
        return String.format("msi_page{iova 0x%x -> phys 0x%x}", iova, phys);
    }
}
