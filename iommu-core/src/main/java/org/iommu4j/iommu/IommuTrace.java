package org.iommu4j.iommu;

import org.iommu4j.base.Port;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceEvent;

/**
 * The iommu tracepoints (include/trace/events/iommu.h), system "iommu", declared once. Fields
 * keep the kernel's names; the map/unmap formats print the fields in declaration order (the
 * kernel's "iova - iova+size" end is left to the reader).
 */
@Port("include/trace/events/iommu.h:TRACE_SYSTEM")
public final class IommuTrace {
    private IommuTrace() {}

    @Port("include/trace/events/iommu.h:add_device_to_group")
    public static final TraceEvent add_device_to_group = Trace.event("iommu", "add_device_to_group",
            "IOMMU: groupID=%d device=%s", "gid", "device");

    @Port("include/trace/events/iommu.h:remove_device_from_group")
    public static final TraceEvent remove_device_from_group = Trace.event("iommu", "remove_device_from_group",
            "IOMMU: groupID=%d device=%s", "gid", "device");

    @Port("include/trace/events/iommu.h:attach_device_to_domain")
    public static final TraceEvent attach_device_to_domain = Trace.event("iommu", "attach_device_to_domain",
            "IOMMU: device=%s", "device");

    @Port("include/trace/events/iommu.h:detach_device_from_domain")
    public static final TraceEvent detach_device_from_domain = Trace.event("iommu", "detach_device_from_domain",
            "IOMMU: device=%s", "device");

    @Port("include/trace/events/iommu.h:map")
    public static final TraceEvent map = Trace.event("iommu", "map",
            "IOMMU: iova=0x%016x paddr=0x%016x size=%d", "iova", "paddr", "size");

    @Port("include/trace/events/iommu.h:unmap")
    public static final TraceEvent unmap = Trace.event("iommu", "unmap",
            "IOMMU: iova=0x%016x size=%d unmapped_size=%d", "iova", "size", "unmapped_size");

    @Port("include/trace/events/iommu.h:io_page_fault")
    public static final TraceEvent io_page_fault = Trace.event("iommu", "io_page_fault",
            "IOMMU:%s %s iova=0x%016x flags=0x%04x", "driver", "device", "iova", "flags");

    /*
     * The device fault tracepoints of the series that brought iommu_report_device_fault and
     * iommu_page_response (proposed with them, used by the SVA seeds' trees, not in mainline):
     * a fault as the core hands it to the device's handler, and a page response as it goes to
     * the driver.
     */

    /** A fault reported to the device's handler (recoverable page requests and unrecoverable faults). */
    @Port(value = "include/trace/events/iommu.h:dev_fault", seed = "004")
    public static final TraceEvent dev_fault = Trace.event("iommu", "dev_fault",
            "IOMMU:%s type=%d reason=%d addr=0x%016x fetch=0x%016x pasid=%d group=%d flags=%x prot=%d",
            "device", "type", "reason", "addr", "fetch_addr", "pasid", "grpid", "flags", "prot");

    /** A page response sent to the IOMMU driver for a pending page request group. */
    @Port(value = "include/trace/events/iommu.h:dev_page_response", seed = "004")
    public static final TraceEvent dev_page_response = Trace.event("iommu", "dev_page_response",
            "IOMMU:%s code=%d pasid=%d group=%d", "device", "code", "pasid", "grpid");

    /** Emits {@link #dev_fault} for {@code f}: the unrecoverable or the page request fields. */
    static void traceDevFault(org.iommu4j.base.device.Device dev, IommuFault f) {
        if (f.type == IommuFault.IOMMU_FAULT_DMA_UNRECOV) {
            dev_fault.emit(dev.devName(), f.type, f.event.reason, f.event.addr, f.event.fetchAddr, f.event.pasid, 0,
                    f.event.flags, f.event.perm);
        } else {
            dev_fault.emit(dev.devName(), f.type, 0, f.prm.addr, 0L, f.prm.pasid, f.prm.grpid, f.prm.flags, f.prm.perm);
        }
    }
}
