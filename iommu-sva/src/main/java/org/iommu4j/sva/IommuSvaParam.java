package org.iommu4j.sva;

import org.iommu4j.base.Port;

/** Seed 004 {@code struct iommu_sva_param}: a device's PASID range and its number of bonds. */
@Port(value = "include/linux/iommu.h:iommu_sva_param", seed = "004")
public final class IommuSvaParam {
    public int minPasid;
    public int maxPasid;
    /** Bonds of the device; guarded by the library's iommu_sva_lock. */
    public int nrBonds;

    public IommuSvaParam() {}

    public IommuSvaParam(int minPasid, int maxPasid) {
        this.minPasid = minPasid;
        this.maxPasid = maxPasid;
    }

    IommuSvaParam copy() {
        IommuSvaParam p = new IommuSvaParam(minPasid, maxPasid);
        p.nrBonds = nrBonds;
        return p;
    }
}
