package org.iommu4j.iommu;

import org.iommu4j.base.Port;

/** {@code struct iommu_fault_event}: kernel wrapper of a fault, listed while pending. */
@Port("include/linux/iommu.h:iommu_fault_event")
public final class IommuFaultEvent {
    public final IommuFault fault;

    public IommuFaultEvent() {
        this(new IommuFault());
    }

    public IommuFaultEvent(IommuFault fault) {
        this.fault = fault;
    }

    /** kmemdup. */
    public IommuFaultEvent copy() {
        return new IommuFaultEvent(fault.copy());
    }

    @Override
    public String toString() {
        return "fault_event{" + fault + "}";
    }
}
