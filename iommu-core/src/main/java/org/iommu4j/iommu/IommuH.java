package org.iommu4j.iommu;

import org.iommu4j.base.Port;

/**
 * Constants of include/linux/iommu.h (v5.15) in header order, plus the seed additions that
 * live there (seed 001 {@code DOMAIN_ATTR_AUXD_ID}, {@code IOMMU_SVA_FEAT_AUXD}).
 */
public final class IommuH {
    private IommuH() {}

    // ---- mapping protection flags (iommu_map prot) ----
    @Port("include/linux/iommu.h:IOMMU_READ")
    public static final int IOMMU_READ = 1 << 0;
    public static final int IOMMU_WRITE = 1 << 1;
    /** Cacheable, coherent with the CPU caches. */
    public static final int IOMMU_CACHE = 1 << 2;
    public static final int IOMMU_NOEXEC = 1 << 3;
    /** Device memory, such as an MSI doorbell. */
    public static final int IOMMU_MMIO = 1 << 4;
    /** Privileged-only mapping. */
    public static final int IOMMU_PRIV = 1 << 5;

    // ---- legacy fault flags (report_iommu_fault) ----
    @Port("include/linux/iommu.h:IOMMU_FAULT_READ")
    public static final int IOMMU_FAULT_READ = 0x0;
    public static final int IOMMU_FAULT_WRITE = 0x1;

    // ---- domain types ----
    @Port("include/linux/iommu.h:__IOMMU_DOMAIN_PAGING")
    public static final int __IOMMU_DOMAIN_PAGING = 1 << 0;
    public static final int __IOMMU_DOMAIN_DMA_API = 1 << 1;
    public static final int __IOMMU_DOMAIN_PT = 1 << 2;
    public static final int __IOMMU_DOMAIN_DMA_FQ = 1 << 3;

    @Port("include/linux/iommu.h:IOMMU_DOMAIN_BLOCKED")
    public static final int IOMMU_DOMAIN_BLOCKED = 0;
    public static final int IOMMU_DOMAIN_IDENTITY = __IOMMU_DOMAIN_PT;
    public static final int IOMMU_DOMAIN_UNMANAGED = __IOMMU_DOMAIN_PAGING;
    public static final int IOMMU_DOMAIN_DMA = __IOMMU_DOMAIN_PAGING | __IOMMU_DOMAIN_DMA_API;
    public static final int IOMMU_DOMAIN_DMA_FQ = __IOMMU_DOMAIN_PAGING | __IOMMU_DOMAIN_DMA_API | __IOMMU_DOMAIN_DMA_FQ;

    // ---- enum iommu_cap ----
    @Port("include/linux/iommu.h:iommu_cap")
    public static final int IOMMU_CAP_CACHE_COHERENCY = 0;
    public static final int IOMMU_CAP_INTR_REMAP = 1;
    public static final int IOMMU_CAP_NOEXEC = 2;

    // ---- enum iommu_resv_type ----
    @Port("include/linux/iommu.h:iommu_resv_type")
    public static final int IOMMU_RESV_DIRECT = 0;
    public static final int IOMMU_RESV_DIRECT_RELAXABLE = 1;
    public static final int IOMMU_RESV_RESERVED = 2;
    public static final int IOMMU_RESV_MSI = 3;
    public static final int IOMMU_RESV_SW_MSI = 4;

    // ---- group notifier actions ----
    @Port("include/linux/iommu.h:IOMMU_GROUP_NOTIFY_ADD_DEVICE")
    public static final long IOMMU_GROUP_NOTIFY_ADD_DEVICE = 1;
    public static final long IOMMU_GROUP_NOTIFY_DEL_DEVICE = 2;
    public static final long IOMMU_GROUP_NOTIFY_BIND_DRIVER = 3;
    public static final long IOMMU_GROUP_NOTIFY_BOUND_DRIVER = 4;
    public static final long IOMMU_GROUP_NOTIFY_UNBIND_DRIVER = 5;
    public static final long IOMMU_GROUP_NOTIFY_UNBOUND_DRIVER = 6;

    // ---- enum iommu_dev_features ----
    @Port("include/linux/iommu.h:iommu_dev_features")
    public static final int IOMMU_DEV_FEAT_AUX = 0;
    public static final int IOMMU_DEV_FEAT_SVA = 1;
    public static final int IOMMU_DEV_FEAT_IOPF = 2;

    @Port("include/linux/iommu.h:IOMMU_PASID_INVALID")
    public static final int IOMMU_PASID_INVALID = -1;

    // ---- iommu_fwspec flags ----
    @Port("include/linux/iommu.h:IOMMU_FWSPEC_PCI_RC_ATS")
    public static final int IOMMU_FWSPEC_PCI_RC_ATS = 1 << 0;

    // ---- seed 001 (2018 RFC) ----
    /** Feature flag of {@code iommu_sva_init_device}: auxiliary domains. */
    @Port(value = "include/linux/iommu.h:IOMMU_SVA_FEAT_AUXD", seed = "001")
    public static final int IOMMU_SVA_FEAT_AUXD = 1 << 1;
    /** The one {@code enum iommu_attr} value this port keeps: the aux domain's PASID. */
    @Port(value = "include/linux/iommu.h:DOMAIN_ATTR_AUXD_ID", seed = "001")
    public static final int DOMAIN_ATTR_AUXD_ID = 9;
    /**
     * {@code enum iommu_dev_attr} of the 2018 aux-domain RFCs ({@code iommu_set_dev_attr} /
     * {@code iommu_get_dev_attr}): whether the device can do aux domains, and whether they are
     * enabled. Values reconstructed (the RFC text was not available); see Iommu.
     */
    @Port(value = "include/linux/iommu.h:IOMMU_DEV_ATTR_AUXD_CAPABILITY", seed = "001")
    public static final int IOMMU_DEV_ATTR_AUXD_CAPABILITY = 0;
    @Port(value = "include/linux/iommu.h:IOMMU_DEV_ATTR_AUXD_ENABLED", seed = "001")
    public static final int IOMMU_DEV_ATTR_AUXD_ENABLED = 1;

    /** {@code dma_addr_t} error value (include/linux/dma-mapping.h). */
    public static final long DMA_MAPPING_ERROR = -1L;

    /** Human-readable domain type, as iommu_domain_type_str() prints it. */
    @Port("drivers/iommu/iommu.c:iommu_domain_type_str")
    public static String iommuDomainTypeStr(int t) {
        switch (t) {
            case IOMMU_DOMAIN_BLOCKED: return "Blocked";
            case IOMMU_DOMAIN_IDENTITY: return "Passthrough";
            case IOMMU_DOMAIN_UNMANAGED: return "Unmanaged";
            case IOMMU_DOMAIN_DMA:
            case IOMMU_DOMAIN_DMA_FQ: return "Translated";
            default: return "Unknown";
        }
    }
}
