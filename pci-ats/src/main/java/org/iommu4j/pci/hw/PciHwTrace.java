package org.iommu4j.pci.hw;

import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceEvent;

/** The PCI device model's trace events (system "pcidev"), declared once. */
final class PciHwTrace {
    private PciHwTrace() {}

    static final TraceEvent CFG_WRITE = Trace.event("pcidev", "pcidev_cfg_write",
            "%s off=0x%x size=%d val=0x%x", "dev", "off", "size", "val");
    static final TraceEvent ATS_TRANSLATE = Trace.event("pcidev", "pcidev_ats_translate",
            "%s pasid=%d addr=0x%x access=%d -> status=%d pa=0x%x perm=%d", "dev", "pasid", "addr", "access",
            "status", "pa", "perm");
    static final TraceEvent ATC_INV = Trace.event("pcidev", "pcidev_atc_inv",
            "%s pasid=%d addr=0x%x size=0x%x global=%b dropped=%d", "dev", "pasid", "addr", "size", "global",
            "dropped");
    static final TraceEvent PRI_REQUEST = Trace.event("pcidev", "pcidev_pri_request",
            "%s pasid=%d addr=0x%x prgi=%d access=%d outstanding=%d", "dev", "pasid", "addr", "prgi", "access",
            "outstanding");
    static final TraceEvent PRI_STOP_MARKER = Trace.event("pcidev", "pcidev_pri_stop_marker", "%s pasid=%d",
            "dev", "pasid");
    static final TraceEvent PRI_RESPONSE = Trace.event("pcidev", "pcidev_pri_response",
            "%s pasid=%d prgi=%d code=%d expected=%b", "dev", "pasid", "prgi", "code", "expected");
    static final TraceEvent MSI = Trace.event("pcidev", "pcidev_msi",
            "%s vector=%d addr=0x%x data=0x%x -> %d", "dev", "vector", "addr", "data", "ret");
    static final TraceEvent UNSUPPORTED_REQUEST = Trace.event("pcidev", "pcidev_unsupported_request",
            "%s %s addr=0x%x size=%d write=%b: no BAR claims it", "bridge", "space", "addr", "size", "write");
    static final TraceEvent DMA = Trace.event("pcidev", "pcidev_dma",
            "%s pasid=%d iova=0x%x len=%d access=%d -> %d", "dev", "pasid", "iova", "len", "access", "ret");
}
