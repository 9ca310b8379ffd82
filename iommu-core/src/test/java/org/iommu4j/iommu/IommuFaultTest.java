package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSYS;
import static org.iommu4j.iommu.IommuFault.*;
import static org.iommu4j.iommu.IommuPageResponse.*;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Device fault handler registration, reports (incl. partial page-request groups) and responses. */
@ExtendWith(NoWarnings.class)
class IommuFaultTest {
    World w;
    Device dev;
    final List<String> seen = new ArrayList<>();
    int handlerRet;

    @BeforeEach
    void setUp() {
        w = new World();
        dev = w.added("dev", 1);
    }

    IommuDevFaultHandler handler() {
        return (fault, data) -> {
            seen.add(data + ":" + fault);
            return handlerRet;
        };
    }

    static IommuFaultEvent prq(int grpid, int pasid, int flags, long addr) {
        return PageRequests.prq(grpid, pasid, flags, IOMMU_FAULT_PERM_READ, addr);
    }

    @Test
    void registrationErrors() {
        assertThat(Iommu.iommuRegisterDeviceFaultHandler(new Device("no-iommu"), handler(), null)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuUnregisterDeviceFaultHandler(new Device("no-iommu"))).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuUnregisterDeviceFaultHandler(dev)).isZero(); // none registered
        assertThat(Iommu.iommuRegisterDeviceFaultHandler(dev, handler(), "d")).isZero();
        assertThat(Iommu.iommuRegisterDeviceFaultHandler(dev, handler(), "d")).isEqualTo(-EBUSY);
        assertThat(Iommu.iommuUnregisterDeviceFaultHandler(dev)).isZero();
        FaultInject.failNth(1);
        assertThat(Iommu.iommuRegisterDeviceFaultHandler(dev, handler(), "d")).isEqualTo(-ENOMEM);
        FaultInject.disarm();
        assertThat(DevIommu.devIommu(dev).faultParam).isNull();
    }

    @Test
    void reportErrors() {
        assertThat(Iommu.iommuReportDeviceFault(dev, prq(1, 0, IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, 0))).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuReportDeviceFault(dev, null)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuReportDeviceFault(new Device("x"), prq(1, 0, 0, 0))).isEqualTo(-EINVAL);
        Iommu.iommuRegisterDeviceFaultHandler(dev, handler(), "d");
        FaultInject.failNth(1);
        assertThat(Iommu.iommuReportDeviceFault(dev, prq(1, 0, IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, 0))).isEqualTo(-ENOMEM);
        FaultInject.disarm();
        assertThat(seen).isEmpty();
        // A failing handler's error is returned and the pending entry dropped.
        handlerRet = -ENODEV;
        assertThat(Iommu.iommuReportDeviceFault(dev, prq(1, 0, IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, 0))).isEqualTo(-ENODEV);
        assertThat(DevIommu.devIommu(dev).faultParam.faults).isEmpty();
        assertThat(Iommu.iommuUnregisterDeviceFaultHandler(dev)).isZero();
    }

    @Test
    void partialFaultsThenLastPageThenResponse() {
        assertThat(Iommu.iommuRegisterDeviceFaultHandler(dev, handler(), "d")).isZero();
        // Two partial requests of group 7, then the last page: only the last is kept pending.
        assertThat(Iommu.iommuReportDeviceFault(dev, prq(7, 3, IOMMU_FAULT_PAGE_REQUEST_PASID_VALID, 0x1000))).isZero();
        assertThat(Iommu.iommuReportDeviceFault(dev, prq(7, 3, IOMMU_FAULT_PAGE_REQUEST_PASID_VALID, 0x2000))).isZero();
        assertThat(DevIommu.devIommu(dev).faultParam.faults).isEmpty();
        assertThat(Iommu.iommuReportDeviceFault(dev, prq(7, 3,
                IOMMU_FAULT_PAGE_REQUEST_PASID_VALID | IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, 0x3000))).isZero();
        assertThat(seen).hasSize(3);
        assertThat(seen.get(2)).startsWith("d:page_req{flags=0x3 pasid=3 grpid=7");
        assertThat(DevIommu.devIommu(dev).faultParam.faults).hasSize(1);
        // Cannot unregister with a fault pending.
        assertThat(Iommu.iommuUnregisterDeviceFaultHandler(dev)).isEqualTo(-EBUSY);
        // Wrong group: -EINVAL, still pending.
        assertThat(Iommu.iommuPageResponse(dev, new IommuPageResponse(0, 0, 8, IOMMU_PAGE_RESP_SUCCESS))).isEqualTo(-EINVAL);
        // Request did not need a PASID: the response's PASID_VALID is cleared.
        IommuPageResponse msg = new IommuPageResponse(IOMMU_PAGE_RESP_PASID_VALID, 3, 7, IOMMU_PAGE_RESP_SUCCESS);
        assertThat(Iommu.iommuPageResponse(dev, msg)).isZero();
        assertThat(msg.flags).isZero();
        assertThat(msg.pasid).isZero();
        assertThat(w.mock.responses).containsExactly(msg);
        assertThat(DevIommu.devIommu(dev).faultParam.faults).isEmpty();
        // Nothing pending: dropped with a message.
        Printk.clear();
        assertThat(Iommu.iommuPageResponse(dev, new IommuPageResponse(0, 0, 7, IOMMU_PAGE_RESP_SUCCESS))).isEqualTo(-EINVAL);
        assertThat(Printk.grep("no pending PRQ, drop response")).hasSize(1);
        assertThat(Iommu.iommuUnregisterDeviceFaultHandler(dev)).isZero();
    }

    @Test
    void responseNeedsPasidMatchesOnPasid() {
        Iommu.iommuRegisterDeviceFaultHandler(dev, handler(), "d");
        int flags = IOMMU_FAULT_PAGE_REQUEST_PASID_VALID | IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE | IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID;
        Iommu.iommuReportDeviceFault(dev, prq(4, 10, flags, 0x1000));
        Iommu.iommuReportDeviceFault(dev, prq(4, 11, flags, 0x2000));
        // No PASID in the response: no match.
        assertThat(Iommu.iommuPageResponse(dev, new IommuPageResponse(0, 0, 4, IOMMU_PAGE_RESP_INVALID))).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuPageResponse(dev, new IommuPageResponse(IOMMU_PAGE_RESP_PASID_VALID, 11, 4, IOMMU_PAGE_RESP_INVALID))).isZero();
        assertThat(DevIommu.devIommu(dev).faultParam.faults).hasSize(1);
        assertThat(DevIommu.devIommu(dev).faultParam.faults.get(0).fault.prm.pasid).isEqualTo(10);
        assertThat(Iommu.iommuPageResponse(dev, new IommuPageResponse(IOMMU_PAGE_RESP_PASID_VALID, 10, 4, IOMMU_PAGE_RESP_FAILURE))).isZero();
        assertThat(w.mock.responses).extracting(r -> r.code).containsExactly(IOMMU_PAGE_RESP_INVALID, IOMMU_PAGE_RESP_FAILURE);
    }

    @Test
    void responseValidation() {
        // No handler registered.
        assertThat(Iommu.iommuPageResponse(dev, new IommuPageResponse())).isEqualTo(-EINVAL);
        Iommu.iommuRegisterDeviceFaultHandler(dev, handler(), "d");
        Iommu.iommuReportDeviceFault(dev, prq(1, 0, IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, 0));
        IommuPageResponse bad = new IommuPageResponse(0, 0, 1, 0);
        bad.version = 2;
        assertThat(Iommu.iommuPageResponse(dev, bad)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuPageResponse(dev, new IommuPageResponse(0x2, 0, 1, 0))).isEqualTo(-EINVAL);
        // Driver without page_response: -ENODEV.
        MinimalOps min = new MinimalOps(w.pageAlloc);
        min.core = w.iommu;
        BusType b2 = new BusType("b2", (d, x) -> false);
        w.iommu.busSetIommu(b2, min);
        Device m = new Device("m");
        Iommu.iommuFwspecInit(m, null, min);
        b2.deviceAdd(m);
        assertThat(Iommu.iommuPageResponse(m, new IommuPageResponse())).isEqualTo(-ENODEV);
    }

    /**
     * iommu_page_response goes through the device's current domain: without one it is -ENODEV
     * even when the bus's IOMMU has page_response, and the request stays pending.
     */
    @Test
    void responseWithoutADomainIsENODEV() {
        World nodom = new World();
        nodom.mock.supportedTypes.removeAll(List.of(IommuH.IOMMU_DOMAIN_DMA, IommuH.IOMMU_DOMAIN_DMA_FQ));
        Printk.clear();
        Device d = nodom.added("d", 1);
        assertThat(d.iommuGroup).isNotNull();
        assertThat(Iommu.iommuGetDomainForDev(d)).isNull();
        assertThat(Iommu.iommuRegisterDeviceFaultHandler(d, handler(), "d")).isZero();
        assertThat(Iommu.iommuReportDeviceFault(d, prq(2, 0, IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, 0))).isZero();
        assertThat(Iommu.iommuPageResponse(d, new IommuPageResponse(0, 0, 2, IOMMU_PAGE_RESP_SUCCESS))).isEqualTo(-ENODEV);
        assertThat(nodom.mock.responses).isEmpty();
        assertThat(DevIommu.devIommu(d).faultParam.faults).hasSize(1);
    }

    @Test
    void unrecoverableFaultsAreNotKept() {
        Iommu.iommuRegisterDeviceFaultHandler(dev, handler(), "d");
        IommuFaultEvent e = new IommuFaultEvent();
        e.fault.type = IOMMU_FAULT_DMA_UNRECOV;
        e.fault.event.reason = IOMMU_FAULT_REASON_PTE_FETCH;
        e.fault.event.flags = IOMMU_FAULT_UNRECOV_ADDR_VALID;
        e.fault.event.addr = 0xdead000L;
        assertThat(Iommu.iommuReportDeviceFault(dev, e)).isZero();
        assertThat(seen).containsExactly("d:unrecov{reason=5 flags=0x2 pasid=0 perm=0x0 addr=0xdead000}");
        assertThat(DevIommu.devIommu(dev).faultParam.faults).isEmpty();
    }

    @Test
    void legacyDomainHandlerAndIoPageFaultTrace() {
        IommuDomain dom = Iommu.iommuGetDomainForDev(dev);
        try (var cap = Trace.capture("iommu:io_page_fault")) {
            assertThat(Iommu.reportIommuFault(dom, dev, 0x1000, IommuH.IOMMU_FAULT_WRITE)).isEqualTo(-ENOSYS);
            Iommu.iommuSetFaultHandler(dom, (d, dv, iova, flags, token) -> {
                seen.add(token + " " + Long.toHexString(iova) + " " + flags);
                return 0;
            }, "tok");
            assertThat(Iommu.reportIommuFault(dom, dev, 0x2000, IommuH.IOMMU_FAULT_READ)).isZero();
            assertThat(seen).containsExactly("tok 2000 0");
            assertThat(cap.of("iommu:io_page_fault")).hasSize(2);
            assertThat(cap.of("iommu:io_page_fault").get(1).longField("iova")).isEqualTo(0x2000);
            assertThat(cap.of("iommu:io_page_fault").get(1).message()).isEqualTo("IOMMU:platform dev iova=0x0000000000002000 flags=0x0000");
        }
    }
}
