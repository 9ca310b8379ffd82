package org.iommu4j.iommu;

import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;

/**
 * {@code struct iommu_domain} (include/linux/iommu.h). Drivers extend it the way the kernel
 * embeds it ({@code ArmSmmuDomain extends IommuDomain}; {@code to_smmu_domain} is a checked
 * cast). The core fills {@link #type}, {@link #ops} and {@link #pgsizeBitmap} after the
 * driver's {@code domain_alloc} returns.
 */
@Port("include/linux/iommu.h:iommu_domain")
public class IommuDomain {
    /** {@code struct iommu_domain_geometry}. */
    @Port("include/linux/iommu.h:iommu_domain_geometry")
    public static final class Geometry {
        /** Lowest mappable IOVA. */
        public long apertureStart;
        /** Highest mappable IOVA (inclusive). */
        public long apertureEnd;
        /** Whether DMA outside [apertureStart, apertureEnd] is refused. */
        public boolean forceAperture;
    }

    /** Legacy domain fault handler {@code iommu_fault_handler_t}. */
    @FunctionalInterface
    @Port("include/linux/iommu.h:iommu_fault_handler_t")
    public interface FaultHandler {
        int handle(IommuDomain domain, Device dev, long iova, int flags, Object token);
    }

    /** IOMMU_DOMAIN_* type. */
    public int type;
    public IommuOps ops;
    /** Page sizes this domain maps with, as a bitmap. */
    public long pgsizeBitmap;
    public FaultHandler handler;
    public Object handlerToken;
    public final Geometry geometry = new Geometry();
    /** dma-iommu's {@code struct iommu_dma_cookie} ({@link IommuDmaCookie}). */
    public Object iovaCookie;
    /**
     * Handler for recoverable I/O page faults taken in this domain (v5.13+ seeds / Baolu trees):
     * installed by the SVA library, called by io-pgfault. Null when unused.
     */
    public volatile IommuDevFaultHandler iopfHandler;
    public volatile Object faultData;
    /** Seed 003 v3: the one PASID used for DMA API with PASID on this domain (0 = none). */
    @Port(value = "include/linux/iommu.h:iommu_domain.pasid", seed = "003")
    public int pasid;
    /** Seed 003 v3: devices using {@link #pasid}. Guarded by Iommu's iommu_dma_lock. */
    @Port(value = "include/linux/iommu.h:iommu_domain.pasid_users", seed = "003")
    public int pasidUsers;

    public IommuDomain() {}

    @Override
    public String toString() {
        return getClass().getSimpleName() + "{type=" + IommuH.iommuDomainTypeStr(type) + "}";
    }
}
