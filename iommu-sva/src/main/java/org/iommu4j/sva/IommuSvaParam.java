package org.iommu4j.sva;

import org.iommu4j.base.Port;

/** Seed 004 {@code struct iommu_sva_param}: a device's PASID range and its number of bonds. */
@Port(value = "include/linux/iommu.h:iommu_sva_param", seed = "004")
public final class IommuSvaParam {
    public int min_pasid;
    public int max_pasid;
    /** Bonds of the device; guarded by the library's iommu_sva_lock. */
    public int nr_bonds;

    public IommuSvaParam() {}

    public IommuSvaParam(int min_pasid, int max_pasid) {
        this.min_pasid = min_pasid;
        this.max_pasid = max_pasid;
    }

    IommuSvaParam copy() {
        IommuSvaParam p = new IommuSvaParam(min_pasid, max_pasid);
        p.nr_bonds = nr_bonds;
        return p;
    }
}
