package org.iommu4j.iommu;

import org.iommu4j.base.Port;

/** {@code struct iommu_page_response} (include/uapi/linux/iommu.h). */
@Port("include/uapi/linux/iommu.h:iommu_page_response")
public final class IommuPageResponse {
    @Port("include/uapi/linux/iommu.h:IOMMU_PAGE_RESP_VERSION_1")
    public static final int IOMMU_PAGE_RESP_VERSION_1 = 1;
    @Port("include/uapi/linux/iommu.h:IOMMU_PAGE_RESP_PASID_VALID")
    public static final int IOMMU_PAGE_RESP_PASID_VALID = 1 << 0;

    // enum iommu_page_response_code
    @Port("include/uapi/linux/iommu.h:iommu_page_response_code")
    public static final int IOMMU_PAGE_RESP_SUCCESS = 0;
    public static final int IOMMU_PAGE_RESP_INVALID = 1;
    public static final int IOMMU_PAGE_RESP_FAILURE = 2;

    public int argsz;
    public int version = IOMMU_PAGE_RESP_VERSION_1;
    public int flags;
    public int pasid;
    public int grpid;
    public int code;

    public IommuPageResponse() {}

    public IommuPageResponse(int flags, int pasid, int grpid, int code) {
        this.flags = flags;
        this.pasid = pasid;
        this.grpid = grpid;
        this.code = code;
    }

    @Override
    public String toString() {
        return String.format("page_response{v=%d flags=0x%x pasid=%d grpid=%d code=%d}", version, flags, pasid, grpid, code);
    }
}
