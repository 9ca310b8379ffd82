package org.iommu4j.iommu;

import org.iommu4j.base.Port;

/** {@code struct iova}: an allocated IOVA range [pfnLo, pfnHi] in granule frames (inclusive). */
@Port("include/linux/iova.h:iova")
public final class Iova {
    public long pfnLo;
    public long pfnHi;

    Iova(long pfnLo, long pfnHi) {
        this.pfnLo = pfnLo;
        this.pfnHi = pfnHi;
    }

    /** {@code iova_size}: number of frames. */
    @Port("include/linux/iova.h:iova_size")
    public long iovaSize() {
        return pfnHi - pfnLo + 1;
    }

    @Override
    public String toString() {
        return String.format("iova[0x%x-0x%x]", pfnLo, pfnHi);
    }
}
