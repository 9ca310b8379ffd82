package org.iommu4j.iommu;

import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Errno;
import org.iommu4j.base.Sizes;
import org.iommu4j.base.device.Device;
import org.iommu4j.mm.PageAlloc;

/** An IOMMU driver implementing only the mandatory ops: every optional op is NULL. */
class MinimalOps implements IommuOps {
    final PageAlloc pageAlloc;
    Iommu core;

    MinimalOps(PageAlloc pageAlloc) {
        this.pageAlloc = pageAlloc;
    }

    @Override
    public IommuDomain domainAlloc(int type) {
        return type == IommuH.IOMMU_DOMAIN_UNMANAGED ? new IommuDomain() : null;
    }

    @Override
    public void domainFree(IommuDomain domain) {}

    @Override
    public long iovaToPhys(IommuDomain domain, long iova) {
        return 0;
    }

    @Override
    public IommuDevice probeDevice(Device dev) {
        if (DevIommu.devIommuFwspecGet(dev) == null) {
            throw new ErrnoException(-Errno.ENODEV);
        }
        IommuDevice d = new IommuDevice();
        d.ops = this;
        return d;
    }

    @Override
    public void releaseDevice(Device dev) {}

    @Override
    public IommuGroup deviceGroup(Device dev) {
        return core.genericDeviceGroup(dev);
    }

    @Override
    public long pgsizeBitmap() {
        return Sizes.SZ_4K;
    }
}
