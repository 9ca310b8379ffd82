package org.iommu4j.iommu;

import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQ;

/** Page request fault events as an IOMMU driver reports them, for tests here and in the modules above. */
public final class PageRequests {
    private PageRequests() {}

    /** A page request ({@code IOMMU_FAULT_PAGE_REQ}) with these fields. */
    public static IommuFaultEvent prq(int grpid, int pasid, int flags, int perm, long addr) {
        IommuFaultEvent e = new IommuFaultEvent();
        e.fault.type = IOMMU_FAULT_PAGE_REQ;
        e.fault.prm.grpid = grpid;
        e.fault.prm.pasid = pasid;
        e.fault.prm.flags = flags;
        e.fault.prm.perm = perm;
        e.fault.prm.addr = addr;
        return e;
    }
}
