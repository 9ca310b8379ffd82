package org.iommu4j.iommu;

import org.iommu4j.base.Port;

/**
 * {@code struct iommu_fault} (include/uapi/linux/iommu.h) with its union members
 * {@code event} ({@link Unrecoverable}) and {@code prm} ({@link PageRequest}); the member that
 * {@link #type} selects is the meaningful one.
 */
@Port("include/uapi/linux/iommu.h:iommu_fault")
public final class IommuFault {
    // enum iommu_fault_type
    @Port("include/uapi/linux/iommu.h:iommu_fault_type")
    public static final int IOMMU_FAULT_DMA_UNRECOV = 1;
    public static final int IOMMU_FAULT_PAGE_REQ = 2;

    // enum iommu_fault_reason
    @Port("include/uapi/linux/iommu.h:iommu_fault_reason")
    public static final int IOMMU_FAULT_REASON_UNKNOWN = 0;
    public static final int IOMMU_FAULT_REASON_PASID_FETCH = 1;
    public static final int IOMMU_FAULT_REASON_BAD_PASID_ENTRY = 2;
    public static final int IOMMU_FAULT_REASON_PASID_INVALID = 3;
    public static final int IOMMU_FAULT_REASON_WALK_EABT = 4;
    public static final int IOMMU_FAULT_REASON_PTE_FETCH = 5;
    public static final int IOMMU_FAULT_REASON_PERMISSION = 6;
    public static final int IOMMU_FAULT_REASON_ACCESS = 7;
    public static final int IOMMU_FAULT_REASON_OOR_ADDRESS = 8;

    // permissions (IOMMU_FAULT_PERM_*)
    @Port("include/uapi/linux/iommu.h:IOMMU_FAULT_PERM_READ")
    public static final int IOMMU_FAULT_PERM_READ = 1 << 0;
    public static final int IOMMU_FAULT_PERM_WRITE = 1 << 1;
    public static final int IOMMU_FAULT_PERM_EXEC = 1 << 2;
    public static final int IOMMU_FAULT_PERM_PRIV = 1 << 3;

    // iommu_fault_unrecoverable.flags
    @Port("include/uapi/linux/iommu.h:IOMMU_FAULT_UNRECOV_PASID_VALID")
    public static final int IOMMU_FAULT_UNRECOV_PASID_VALID = 1 << 0;
    public static final int IOMMU_FAULT_UNRECOV_ADDR_VALID = 1 << 1;
    public static final int IOMMU_FAULT_UNRECOV_FETCH_ADDR_VALID = 1 << 2;

    // iommu_fault_page_request.flags
    @Port("include/uapi/linux/iommu.h:IOMMU_FAULT_PAGE_REQUEST_PASID_VALID")
    public static final int IOMMU_FAULT_PAGE_REQUEST_PASID_VALID = 1 << 0;
    public static final int IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE = 1 << 1;
    public static final int IOMMU_FAULT_PAGE_REQUEST_PRIV_DATA = 1 << 2;
    public static final int IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID = 1 << 3;

    /** {@code struct iommu_fault_unrecoverable}. */
    @Port("include/uapi/linux/iommu.h:iommu_fault_unrecoverable")
    public static final class Unrecoverable {
        public int reason;
        public int flags;
        public int pasid;
        public int perm;
        public long addr;
        public long fetchAddr;

        void copyFrom(Unrecoverable o) {
            reason = o.reason;
            flags = o.flags;
            pasid = o.pasid;
            perm = o.perm;
            addr = o.addr;
            fetchAddr = o.fetchAddr;
        }
    }

    /** {@code struct iommu_fault_page_request}. */
    @Port("include/uapi/linux/iommu.h:iommu_fault_page_request")
    public static final class PageRequest {
        public int flags;
        public int pasid;
        public int grpid;
        public int perm;
        public long addr;
        public final long[] privateData = new long[2];

        void copyFrom(PageRequest o) {
            flags = o.flags;
            pasid = o.pasid;
            grpid = o.grpid;
            perm = o.perm;
            addr = o.addr;
            privateData[0] = o.privateData[0];
            privateData[1] = o.privateData[1];
        }
    }

    public int type;
    /** Valid when type == IOMMU_FAULT_DMA_UNRECOV. */
    public final Unrecoverable event = new Unrecoverable();
    /** Valid when type == IOMMU_FAULT_PAGE_REQ. */
    public final PageRequest prm = new PageRequest();

    public IommuFault() {}

    /** A copy (the kernel's struct assignment / kmemdup). */
    public IommuFault copy() {
        IommuFault f = new IommuFault();
        f.type = type;
        f.event.copyFrom(event);
        f.prm.copyFrom(prm);
        return f;
    }

    @Override
    public String toString() {
        if (type == IOMMU_FAULT_PAGE_REQ) {
            return String.format("page_req{flags=0x%x pasid=%d grpid=%d perm=0x%x addr=0x%x}",
                    prm.flags, prm.pasid, prm.grpid, prm.perm, prm.addr);
        }
        return String.format("unrecov{reason=%d flags=0x%x pasid=%d perm=0x%x addr=0x%x}",
                event.reason, event.flags, event.pasid, event.perm, event.addr);
    }
}
