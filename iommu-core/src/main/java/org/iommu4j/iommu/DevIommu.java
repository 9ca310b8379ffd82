package org.iommu4j.iommu;

import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;

/**
 * {@code struct dev_iommu}: the IOMMU core's per-device data, kept in {@link Device#iommu}.
 * Use {@link #devIommu(Device)} to read it typed.
 */
@Port("include/linux/iommu.h:dev_iommu")
public final class DevIommu {
    /** Protects {@link #faultParam} (and the fault handler calls). */
    public final ReentrantLock lock = new ReentrantLock();
    public IommuFaultParam faultParam;
    /** io-pgfault's {@code struct iopf_device_param} (owned by the io-pgfault module). */
    public volatile Object iopfParam;
    /** Seed 004 {@code iommu_param->sva_param}: the SVA library's per-device parameters. */
    @Port(value = "include/linux/iommu.h:iommu_param.sva_param", seed = "004")
    public volatile Object svaParam;
    /** Seed 004 {@code iommu_param->sva_lock}: serialises SVA enable, disable, bind and unbind. */
    @Port(value = "include/linux/iommu.h:iommu_param.sva_lock", seed = "004")
    public final ReentrantLock svaLock = new ReentrantLock();
    public IommuFwspec fwspec;
    public IommuDevice iommuDev;
    /** Driver private data ({@code dev_iommu_priv_get/set}). */
    public volatile Object priv;
    /** Seed 003 v3 {@code dev->iommu->pasid_bits}: PASID width usable for DMA with PASID. */
    @Port(value = "include/linux/iommu.h:dev_iommu.pasid_bits", seed = "003")
    public volatile int pasidBits;
    /**
     * Seed 003 v2 {@code dev->iommu->pasid_max}: the largest PASID the device may be given for
     * DMA, as its driver set it ({@code iommu_set_dev_pasid_max}); 0 = not set (then the v3
     * width {@link #pasidBits} decides).
     */
    @Port(value = "include/linux/iommu.h:dev_iommu.pasid_max", seed = "003")
    public volatile int pasidMax;

    DevIommu() {}

    /** Typed read of {@code dev->iommu}. */
    public static DevIommu devIommu(Device dev) {
        return (DevIommu) dev.iommu;
    }

    @Port("include/linux/iommu.h:dev_iommu_priv_get")
    public static Object devIommuPrivGet(Device dev) {
        DevIommu p = devIommu(dev);
        return p == null ? null : p.priv;
    }

    @Port("include/linux/iommu.h:dev_iommu_priv_set")
    public static void devIommuPrivSet(Device dev, Object priv) {
        devIommu(dev).priv = priv;
    }

    @Port("include/linux/iommu.h:dev_iommu_fwspec_get")
    public static IommuFwspec devIommuFwspecGet(Device dev) {
        DevIommu p = devIommu(dev);
        return p == null ? null : p.fwspec;
    }

    @Port("include/linux/iommu.h:dev_iommu_fwspec_set")
    public static void devIommuFwspecSet(Device dev, IommuFwspec fwspec) {
        devIommu(dev).fwspec = fwspec;
    }
}
