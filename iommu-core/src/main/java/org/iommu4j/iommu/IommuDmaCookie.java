package org.iommu4j.iommu;

import org.iommu4j.base.Port;

/** {@code struct iommu_dma_cookie} (dma-iommu.c): the IOVA allocator of a DMA domain. */
@Port("drivers/iommu/dma-iommu.c:iommu_dma_cookie")
public final class IommuDmaCookie {
    @Port("drivers/iommu/dma-iommu.c:iommu_dma_cookie_type")
    public static final int IOMMU_DMA_IOVA_COOKIE = 0;
    public static final int IOMMU_DMA_MSI_COOKIE = 1;

    public final int type;
    /** Valid for IOMMU_DMA_IOVA_COOKIE. */
    public final IovaDomain iovad = new IovaDomain();
    /** The domain whose flush queue is in use (non-null = lazy invalidation). */
    public volatile IommuDomain fqDomain;
    /** Valid for IOMMU_DMA_MSI_COOKIE: next MSI IOVA. */
    public long msiIova;
    /**
     * {@code msi_page_list}: the doorbell pages mapped so far. Appended under dma-iommu's
     * {@code msi_prepare_lock}; read without it by compose (entries never change once listed).
     */
    public final java.util.List<IommuDmaMsiPage> msiPageList = new java.util.concurrent.CopyOnWriteArrayList<>();

    IommuDmaCookie(int type) {
        this.type = type;
    }
}
