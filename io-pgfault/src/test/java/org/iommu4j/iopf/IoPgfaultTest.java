package org.iommu4j.iopf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.EOPNOTSUPP;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_DMA_UNRECOV;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PERM_READ;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_FAILURE;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_INVALID;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_PASID_VALID;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_SUCCESS;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.ioasid.Ioasid;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuFaultEvent;
import org.iommu4j.iommu.IommuPageResponse;
import org.iommu4j.iommu.MockIommu;
import org.iommu4j.iommu.MockMachine;
import org.iommu4j.iommu.PageRequests;
import org.iommu4j.iopf.IoPgfault.IopfQueue;
import org.iommu4j.mm.PageAlloc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * io-pgfault between a fault report and its page response: queues and devices, partial
 * requests, groups handed to the domain's handler in order, sticky errors, one response per
 * group, overflow discards, flushes and out-of-memory paths. The IOMMU is the core's
 * {@link MockIommu}, which records every page response it is asked to send.
 */
@ExtendWith(NoWarnings.class)
class IoPgfaultTest {
    MockMachine machine;
    MockIommu mock;
    Device dev;
    IopfQueue queue;
    IommuDomain domain;
    /** What the domain's handler saw, "pasid:grpid:addr" per request, in order. */
    final List<String> handled = Collections.synchronizedList(new ArrayList<>());
    /** Status the handler returns, by address (SUCCESS otherwise). */
    final java.util.Map<Long, Integer> statusAt = new java.util.concurrent.ConcurrentHashMap<>();

    @BeforeEach
    void setUp() {
        machine = new MockMachine(PageAlloc.forAllRam(Board.withRam(64L << 20).mem), new Ioasid());
        mock = machine.mock;
        dev = added("dev", 1);
        queue = IoPgfault.iopfQueueAlloc("test");
        domain = Iommu.iommuGetDomainForDev(dev);
        domain.faultData = "data";
        domain.iopfHandler = (fault, data) -> {
            handled.add(data + ":" + fault.prm.pasid + ":" + fault.prm.grpid + ":0x" + Long.toHexString(fault.prm.addr));
            return statusAt.getOrDefault(fault.prm.addr, IOMMU_PAGE_RESP_SUCCESS);
        };
    }

    @AfterEach
    void tearDown() {
        IoPgfault.iopfQueueFree(queue);
    }

    Device added(String name, int sid) {
        return machine.added(name, sid);
    }

    /** The device in the queue with io-pgfault as its fault handler, as a driver enables IOPF. */
    void enableIopf(Device d) {
        assertThat(IoPgfault.iopfQueueAddDevice(queue, d)).isZero();
        assertThat(Iommu.iommuRegisterDeviceFaultHandler(d, IoPgfault::iommuQueueIopf, d)).isZero();
    }

    static IommuFaultEvent prq(int grpid, int pasid, int flags, long addr) {
        return PageRequests.prq(grpid, pasid, flags, IOMMU_FAULT_PERM_READ, addr);
    }

    static final int PV = IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
    static final int LAST = IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
    static final int NEEDS = IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID;

    int report(Device d, int grpid, int pasid, int flags, long addr) {
        return Iommu.iommuReportDeviceFault(d, prq(grpid, pasid, flags, addr));
    }

    void flush(Device d) {
        assertThat(IoPgfault.iopfQueueFlushDev(d)).isZero();
    }

    @Test
    void queueAllocNamesTheWorkqueueAndFailsCleanly() {
        assertThat(queue.name()).isEqualTo("iopf_queue/test");
        assertThat(queue.nrDevices()).isZero();
        FaultInject.failNth(1);
        assertThat(IoPgfault.iopfQueueAlloc("x")).isNull();
        IoPgfault.iopfQueueFree(null); // a no-op, as kfree(NULL)
    }

    @Test
    void addAndRemoveDevice() {
        // No dev_iommu: -ENODEV / -EINVAL.
        Device bare = new Device("bare");
        assertThat(IoPgfault.iopfQueueAddDevice(queue, bare)).isEqualTo(-ENODEV);
        assertThat(IoPgfault.iopfQueueRemoveDevice(queue, bare)).isEqualTo(-EINVAL);
        assertThat(IoPgfault.iopfQueueFlushDev(bare)).isEqualTo(-ENODEV);
        // Not in a queue yet.
        assertThat(IoPgfault.iopfQueueRemoveDevice(queue, dev)).isEqualTo(-EINVAL);
        assertThat(IoPgfault.iopfQueueFlushDev(dev)).isEqualTo(-ENODEV);
        // Out of memory: nothing added.
        FaultInject.failNth(1);
        assertThat(IoPgfault.iopfQueueAddDevice(queue, dev)).isEqualTo(-ENOMEM);
        assertThat(IoPgfault.iopfQueueOf(dev)).isNull();
        assertThat(queue.nrDevices()).isZero();

        assertThat(IoPgfault.iopfQueueAddDevice(queue, dev)).isZero();
        assertThat(IoPgfault.iopfQueueOf(dev)).isSameAs(queue);
        assertThat(queue.nrDevices()).isEqualTo(1);
        // One queue per device.
        assertThat(IoPgfault.iopfQueueAddDevice(queue, dev)).isEqualTo(-EBUSY);
        IopfQueue other = IoPgfault.iopfQueueAlloc("other");
        try {
            assertThat(IoPgfault.iopfQueueAddDevice(other, dev)).isEqualTo(-EBUSY);
            // Removal names the device's own queue.
            assertThat(IoPgfault.iopfQueueRemoveDevice(other, dev)).isEqualTo(-EINVAL);
            assertThat(IoPgfault.iopfQueueRemoveDevice(null, dev)).isEqualTo(-EINVAL);
            assertThat(IoPgfault.iopfQueueOf(dev)).isSameAs(queue);
        } finally {
            IoPgfault.iopfQueueFree(other);
        }
        assertThat(IoPgfault.iopfQueueRemoveDevice(queue, dev)).isZero();
        assertThat(IoPgfault.iopfQueueOf(dev)).isNull();
        assertThat(queue.nrDevices()).isZero();
        assertThat(IoPgfault.iopfQueueRemoveDevice(queue, dev)).isEqualTo(-EINVAL);
    }

    @Test
    void onlyPageRequestsOfQueuedDevicesAreTaken() {
        assertThat(Iommu.iommuRegisterDeviceFaultHandler(dev, IoPgfault::iommuQueueIopf, dev)).isZero();
        // The device is in no queue: -ENODEV, and the core drops its pending record.
        assertThat(report(dev, 1, 0, LAST, 0x1000)).isEqualTo(-ENODEV);
        assertThat(DevIommu.devIommu(dev).faultParam.faults).isEmpty();
        assertThat(IoPgfault.iopfQueueAddDevice(queue, dev)).isZero();
        // An unrecoverable fault is not for io-pgfault.
        IommuFaultEvent unrecov = new IommuFaultEvent();
        unrecov.fault.type = IOMMU_FAULT_DMA_UNRECOV;
        assertThat(Iommu.iommuReportDeviceFault(dev, unrecov)).isEqualTo(-EOPNOTSUPP);
        flush(dev);
        assertThat(handled).isEmpty();
        assertThat(mock.responses).isEmpty();
    }

    @Test
    void oneRequestGroupIsHandledAndAnswered() {
        enableIopf(dev);
        assertThat(report(dev, 3, 42, PV | LAST | NEEDS, 0x7000)).isZero();
        flush(dev);
        assertThat(handled).containsExactly("data:42:3:0x7000");
        assertThat(mock.responses).hasSize(1);
        IommuPageResponse r = mock.responses.get(0);
        assertThat(r.code).isEqualTo(IOMMU_PAGE_RESP_SUCCESS);
        assertThat(r.grpid).isEqualTo(3);
        assertThat(r.pasid).isEqualTo(42);
        assertThat(r.flags).isEqualTo(IOMMU_PAGE_RESP_PASID_VALID);
        // The response consumed the pending request.
        assertThat(DevIommu.devIommu(dev).faultParam.faults).isEmpty();
    }

    @Test
    void responseCarriesPasidOnlyWhenTheRequestNeedsIt() {
        enableIopf(dev);
        assertThat(report(dev, 1, 9, PV | LAST, 0x1000)).isZero();
        flush(dev);
        assertThat(mock.responses).singleElement().satisfies(r -> {
            // No PASID_VALID: the PASID field rides along but the driver must not use it.
            assertThat(r.flags).isZero();
            assertThat(r.pasid).isEqualTo(9);
        });
    }

    @Test
    void partialRequestsWaitForTheLastOfTheirGroup() {
        enableIopf(dev);
        // Group 5 arrives in three requests, interleaved with the first request of group 6.
        assertThat(report(dev, 5, 1, PV, 0x1000)).isZero();
        assertThat(report(dev, 6, 1, PV, 0x9000)).isZero();
        assertThat(report(dev, 5, 1, PV, 0x2000)).isZero();
        assertThat(IoPgfault.iopfNrPartial(dev)).isEqualTo(3);
        flush(dev);
        assertThat(handled).isEmpty();
        assertThat(report(dev, 5, 1, PV | LAST, 0x3000)).isZero();
        flush(dev);
        // In arrival order, the last one last; group 6 still waits.
        assertThat(handled).containsExactly("data:1:5:0x1000", "data:1:5:0x2000", "data:1:5:0x3000");
        assertThat(IoPgfault.iopfNrPartial(dev)).isEqualTo(1);
        assertThat(mock.responses).extracting(r -> r.grpid).containsExactly(5);
        assertThat(report(dev, 6, 1, PV | LAST, 0xa000)).isZero();
        flush(dev);
        assertThat(handled).endsWith("data:1:6:0x9000", "data:1:6:0xa000");
        assertThat(mock.responses).extracting(r -> r.grpid).containsExactly(5, 6);
        assertThat(IoPgfault.iopfNrPartial(dev)).isZero();
    }

    @Test
    void errorsAreStickyWithinAGroup() {
        enableIopf(dev);
        statusAt.put(0x2000L, IOMMU_PAGE_RESP_INVALID);
        report(dev, 2, 7, PV, 0x1000);
        report(dev, 2, 7, PV, 0x2000);
        report(dev, 2, 7, PV, 0x3000);
        assertThat(report(dev, 2, 7, PV | LAST | NEEDS, 0x4000)).isZero();
        flush(dev);
        // The request after the failing one is not handled; the group is answered with the failure.
        assertThat(handled).containsExactly("data:7:2:0x1000", "data:7:2:0x2000");
        assertThat(mock.responses).singleElement().satisfies(r -> {
            assertThat(r.code).isEqualTo(IOMMU_PAGE_RESP_INVALID);
            assertThat(r.pasid).isEqualTo(7);
        });
        // A later group of the same device starts afresh.
        statusAt.clear();
        statusAt.put(0x5000L, IOMMU_PAGE_RESP_FAILURE);
        report(dev, 2, 7, PV | LAST | NEEDS, 0x5000);
        report(dev, 3, 7, PV | LAST | NEEDS, 0x6000);
        flush(dev);
        assertThat(mock.responses).extracting(r -> r.grpid + "/" + r.code)
                .containsExactlyInAnyOrder("2/" + IOMMU_PAGE_RESP_INVALID, "2/" + IOMMU_PAGE_RESP_FAILURE,
                        "3/" + IOMMU_PAGE_RESP_SUCCESS);
    }

    @Test
    void aDomainWithoutHandlerAnswersInvalid() {
        enableIopf(dev);
        domain.iopfHandler = null;
        Printk.clear();
        report(dev, 1, 4, PV, 0x1000);
        assertThat(report(dev, 1, 4, PV | LAST | NEEDS, 0x2000)).isZero();
        flush(dev);
        assertThat(handled).isEmpty();
        assertThat(mock.responses).singleElement().satisfies(r -> assertThat(r.code).isEqualTo(IOMMU_PAGE_RESP_INVALID));
        assertThat(Printk.grep("without domain attached or handler installed")).hasSize(1);
        assertThat(IoPgfault.iopfNrPartial(dev)).isZero();
    }

    @Test
    void outOfMemoryLosesNothingButTheFailedGroup() {
        enableIopf(dev);
        // A partial request that cannot be stored is refused and not kept.
        FaultInject.failNth(1);
        assertThat(report(dev, 8, 1, PV, 0x1000)).isEqualTo(-ENOMEM);
        assertThat(IoPgfault.iopfNrPartial(dev)).isZero();

        report(dev, 8, 1, PV, 0x1000);
        report(dev, 9, 1, PV, 0x8000);
        // The last request's group cannot be allocated (the core's pending copy is the first
        // allocation of the report, the group the second): -ENOMEM to the driver, which answers
        // the request itself; group 8's partial request is dropped, group 9's kept.
        FaultInject.failNth(2);
        assertThat(report(dev, 8, 1, PV | LAST, 0x2000)).isEqualTo(-ENOMEM);
        assertThat(FaultInject.fired()).isTrue();
        assertThat(IoPgfault.iopfNrPartial(dev)).isEqualTo(1);
        assertThat(DevIommu.devIommu(dev).faultParam.faults).isEmpty();
        flush(dev);
        assertThat(handled).isEmpty();
        assertThat(mock.responses).isEmpty();
        // Group 9 completes normally.
        assertThat(report(dev, 9, 1, PV | LAST, 0x9000)).isZero();
        flush(dev);
        assertThat(handled).containsExactly("data:1:9:0x8000", "data:1:9:0x9000");
    }

    @Test
    void discardPartialDropsEveryDevicesPartials() {
        Device dev2 = added("dev2", 2);
        IommuDomain d2 = Iommu.iommuGetDomainForDev(dev2);
        d2.iopfHandler = domain.iopfHandler;
        d2.faultData = "data2";
        enableIopf(dev);
        enableIopf(dev2);
        assertThat(queue.nrDevices()).isEqualTo(2);
        report(dev, 1, 1, PV, 0x1000);
        report(dev2, 1, 2, PV, 0x2000);
        report(dev2, 4, 2, PV, 0x3000);
        assertThat(IoPgfault.iopfQueueDiscardPartial(null)).isEqualTo(-EINVAL);
        assertThat(IoPgfault.iopfQueueDiscardPartial(queue)).isZero();
        assertThat(IoPgfault.iopfNrPartial(dev)).isZero();
        assertThat(IoPgfault.iopfNrPartial(dev2)).isZero();
        // The last request of a discarded group makes a group of one.
        report(dev2, 1, 2, PV | LAST, 0x4000);
        flush(dev2);
        assertThat(handled).containsExactly("data2:2:1:0x4000");
    }

    @Test
    void removingADeviceDropsItsPartialsAndFreeingAQueueRemovesItsDevices() {
        Device dev2 = added("dev2", 2);
        enableIopf(dev);
        enableIopf(dev2);
        report(dev, 1, 1, PV, 0x1000);
        assertThat(IoPgfault.iopfQueueRemoveDevice(queue, dev)).isZero();
        assertThat(IoPgfault.iopfNrPartial(dev)).isZero();
        // Out of the queue, its faults are refused.
        assertThat(report(dev, 1, 1, PV | LAST, 0x2000)).isEqualTo(-ENODEV);
        IoPgfault.iopfQueueFree(queue);
        assertThat(IoPgfault.iopfQueueOf(dev2)).isNull();
        assertThat(queue.nrDevices()).isZero();
        queue = null;
    }

    @Test
    void flushWaitsForGroupsInFlight() throws InterruptedException {
        enableIopf(dev);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        domain.iopfHandler = (fault, data) -> {
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            handled.add("done:0x" + Long.toHexString(fault.prm.addr));
            return IOMMU_PAGE_RESP_SUCCESS;
        };
        report(dev, 1, 1, PV | LAST, 0x1000);
        entered.await();
        // The group is being handled: nothing answered yet. Release it and flush: once the
        // flush returns, the group has been handled and answered.
        assertThat(mock.responses).isEmpty();
        release.countDown();
        flush(dev);
        assertThat(handled).containsExactly("done:0x1000");
        assertThat(mock.responses).hasSize(1);
    }

    @Test
    void manyGroupsEachGetExactlyOneResponse() {
        enableIopf(dev);
        int groups = 200;
        for (int g = 0; g < groups; g++) {
            // Each group has two requests; groups are interleaved pairwise.
            report(dev, g, 100 + g, PV, 0x1000L * g);
        }
        for (int g = groups - 1; g >= 0; g--) {
            assertThat(report(dev, g, 100 + g, PV | LAST | NEEDS, 0x1000L * g + 0x10)).isZero();
        }
        flush(dev);
        assertThat(handled).hasSize(2 * groups);
        assertThat(mock.responses).hasSize(groups);
        assertThat(mock.responses).extracting(r -> r.grpid).doesNotHaveDuplicates();
        assertThat(mock.responses).allSatisfy(r -> {
            assertThat(r.pasid).isEqualTo(100 + r.grpid);
            assertThat(r.code).isEqualTo(IOMMU_PAGE_RESP_SUCCESS);
        });
        // Within each group, the partial request was handled before the last one.
        for (int g = 0; g < groups; g++) {
            String first = "data:" + (100 + g) + ":" + g + ":0x" + Long.toHexString(0x1000L * g);
            String last = "data:" + (100 + g) + ":" + g + ":0x" + Long.toHexString(0x1000L * g + 0x10);
            assertThat(handled.indexOf(first)).isLessThan(handled.indexOf(last));
        }
        assertThat(DevIommu.devIommu(dev).faultParam.faults).isEmpty();
    }
}
