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
    public IommuDomain domain_alloc(int type) {
        return type == IommuH.IOMMU_DOMAIN_UNMANAGED ? new IommuDomain() : null;
    }

    @Override
    public void domain_free(IommuDomain domain) {}

    @Override
    public long iova_to_phys(IommuDomain domain, long iova) {
        return 0;
    }

    @Override
    public IommuDevice probe_device(Device dev) {
        if (Iommu.dev_iommu_fwspec_get(dev) == null) {
            throw new ErrnoException(-Errno.ENODEV);
        }
        IommuDevice d = new IommuDevice();
        d.ops = this;
        return d;
    }

    @Override
    public void release_device(Device dev) {}

    @Override
    public IommuGroup device_group(Device dev) {
        return core.generic_device_group(dev);
    }

    @Override
    public long pgsize_bitmap() {
        return Sizes.SZ_4K;
    }
}
