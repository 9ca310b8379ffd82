package org.iommu4j.iommu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.Port;

/** {@code struct iommu_fault_param}: per-device fault handler and pending page requests. */
@Port("include/linux/iommu.h:iommu_fault_param")
public final class IommuFaultParam {
    public IommuDevFaultHandler handler;
    public Object data;
    /** Pending page requests (LAST_PAGE), awaiting {@code iommu_page_response}. Guarded by lock. */
    public final List<IommuFaultEvent> faults = new ArrayList<>();
    /** Protects {@link #faults}. */
    public final ReentrantLock lock = new ReentrantLock();

    IommuFaultParam() {}
}
