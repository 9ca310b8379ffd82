package org.iommu4j.sva;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PERM_READ;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PERM_WRITE;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_INVALID;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_PASID_VALID;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_SUCCESS;
import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;

import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.ioasid.Ioasid;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuPageResponse;
import org.iommu4j.iommu.MockIommu;
import org.iommu4j.iommu.MockMachine;
import org.iommu4j.iommu.PageRequests;
import org.iommu4j.iopf.IoPgfault;
import org.iommu4j.mm.Mm;
import org.iommu4j.mm.MmFault;
import org.iommu4j.mm.MmWorld;
import org.iommu4j.mm.Mmap;
import org.iommu4j.mm.PageAlloc;
import org.iommu4j.mm.Pgtable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The recoverable fault path from report to response with the SVA handler behind io-pgfault: a
 * device's page requests for the PASID of a process are resolved in that process's page
 * tables, group by group, and each group is answered once with its outcome.
 */
@ExtendWith(NoWarnings.class)
class SvaIopfTest {
    static final int PV = IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
    static final int LAST = IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
    static final int NEEDS = IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID;
    static final long OA = 0x0000_FFFF_FFFF_F000L;

    MmWorld mmw;
    MockIommu mock;
    IommuSvaLib sva;
    Device dev;
    IoPgfault.IopfQueue queue;
    Mm mm;

    @BeforeEach
    void setUp() {
        Board board = Board.withRam(64L << 20);
        PageAlloc pages = PageAlloc.forAllRam(board.mem);
        mmw = MmWorld.create(board, pages, MmWorld.Config.defaults());
        Ioasid ioasid = new Ioasid();
        MockMachine machine = new MockMachine(pages, ioasid);
        mock = machine.mock;
        dev = machine.added("0000:00:03.0", 0x18);

        // What a driver does to enable IOPF and SVA for the device.
        sva = new IommuSvaLib(ioasid);
        sva.iommuSvaInstallIopfHandler(Iommu.iommuGetDomainForDev(dev));
        queue = IoPgfault.iopfQueueAlloc("priq");
        assertThat(IoPgfault.iopfQueueAddDevice(queue, dev)).isZero();
        assertThat(Iommu.iommuRegisterDeviceFaultHandler(dev, IoPgfault::iommuQueueIopf, dev)).isZero();

        mm = mmw.mmAlloc();
    }

    @AfterEach
    void tearDown() {
        IoPgfault.iopfQueueFree(queue);
    }

    long mmap(long len, int prot) {
        return Mmap.vmMmap(mm, 0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS);
    }

    int request(int grpid, int flags, int perm, long addr) {
        return Iommu.iommuReportDeviceFault(dev, PageRequests.prq(grpid, mm.pasid, flags, perm, addr));
    }

    void flush() {
        assertThat(IoPgfault.iopfQueueFlushDev(dev)).isZero();
    }

    @Test
    void aGroupOfWritesIsFaultedInAndAnsweredWithItsPasid() {
        long va = mmap(3 * 4096, PROT_READ | PROT_WRITE);
        assertThat(sva.iommuSvaAllocPasid(mm, 1, 0xfffff)).isZero();
        int rw = IOMMU_FAULT_PERM_READ | IOMMU_FAULT_PERM_WRITE;
        assertThat(request(4, PV | NEEDS, rw, va)).isZero();
        assertThat(request(4, PV | NEEDS, rw, va + 4096)).isZero();
        assertThat(request(4, PV | NEEDS | LAST, rw, va + 2 * 4096 + 0x80)).isZero();
        flush();
        long[] frames = new long[3];
        for (int i = 0; i < 3; i++) {
            long pte = MmFault.pteOf(mm, va + 4096L * i);
            assertThat(Pgtable.pteWrite(pte)).as("page %d writable", i).isTrue();
            frames[i] = pte & OA;
        }
        assertThat(frames).doesNotHaveDuplicates().doesNotContain(mmw.zeroPage());
        assertThat(mock.responses).singleElement().satisfies(r -> {
            assertThat(r.code).isEqualTo(IOMMU_PAGE_RESP_SUCCESS);
            assertThat(r.grpid).isEqualTo(4);
            assertThat(r.pasid).isEqualTo(mm.pasid);
            assertThat(r.flags).isEqualTo(IOMMU_PAGE_RESP_PASID_VALID);
        });
    }

    @Test
    void theFaultsAndTheResponseAreTraced() {
        long va = mmap(2 * 4096, PROT_READ | PROT_WRITE);
        assertThat(sva.iommuSvaAllocPasid(mm, 1, 0xfffff)).isZero();
        try (var cap = org.iommu4j.base.trace.Trace.capture("iommu:dev_fault", "iommu:dev_page_response")) {
            request(6, PV | NEEDS, IOMMU_FAULT_PERM_READ, va);
            request(6, PV | NEEDS | LAST, IOMMU_FAULT_PERM_READ, va + 4096);
            flush();
            assertThat(cap.records()).extracting(r -> r.message()).containsExactly(
                    String.format("IOMMU:%s type=2 reason=0 addr=0x%016x fetch=0x%016x pasid=%d group=6 flags=9 prot=1",
                            dev.devName(), va, 0, mm.pasid),
                    String.format("IOMMU:%s type=2 reason=0 addr=0x%016x fetch=0x%016x pasid=%d group=6 flags=b prot=1",
                            dev.devName(), va + 4096, 0, mm.pasid),
                    String.format("IOMMU:%s code=0 pasid=%d group=6", dev.devName(), mm.pasid));
        }
    }

    @Test
    void aBadRequestFailsItsGroupAndStopsIt() {
        long va = mmap(2 * 4096, PROT_READ | PROT_WRITE);
        long ro = mmap(4096, PROT_READ);
        assertThat(sva.iommuSvaAllocPasid(mm, 1, 0xfffff)).isZero();
        request(9, PV | NEEDS, IOMMU_FAULT_PERM_WRITE, va);
        request(9, PV | NEEDS, IOMMU_FAULT_PERM_WRITE, ro); // the VMA is read-only
        request(9, PV | NEEDS | LAST, IOMMU_FAULT_PERM_WRITE, va + 4096);
        flush();
        assertThat(Pgtable.pteWrite(MmFault.pteOf(mm, va))).isTrue();
        assertThat(MmFault.pteOf(mm, ro)).isZero();
        assertThat(MmFault.pteOf(mm, va + 4096)).as("after the failure: not handled").isZero();
        assertThat(mock.responses).extracting(r -> r.code).containsExactly(IOMMU_PAGE_RESP_INVALID);
    }

    @Test
    void requestsOfAnExitedProcessOrAFreedPasidAreInvalid() {
        long va = mmap(4096, PROT_READ | PROT_WRITE);
        assertThat(sva.iommuSvaAllocPasid(mm, 1, 0xfffff)).isZero();
        int pasid = mm.pasid;
        // The process exits; the bond still holds the mm struct and the PASID.
        mm.mmgrab();
        mm.mmput();
        request(1, PV | NEEDS | LAST, IOMMU_FAULT_PERM_READ, va);
        flush();
        // The PASID is released; a late request for it is refused too.
        sva.iommuSvaFreePasid(mm);
        assertThat(Iommu.iommuReportDeviceFault(dev,
                PageRequests.prq(2, pasid, PV | NEEDS | LAST, IOMMU_FAULT_PERM_READ, va))).isZero();
        flush();
        assertThat(mock.responses).extracting(r -> r.grpid + "/" + r.code)
                .containsExactly("1/" + IOMMU_PAGE_RESP_INVALID, "2/" + IOMMU_PAGE_RESP_INVALID);
        mm.mmdrop();
    }

    @Test
    void twoProcessesFaultInTheirOwnPageTables() {
        Mm other = mmw.mmAlloc();
        long va = mmap(4096, PROT_READ | PROT_WRITE);
        long vb = Mmap.vmMmap(other, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
        assertThat(va).isEqualTo(vb); // same address, different address spaces
        assertThat(sva.iommuSvaAllocPasid(mm, 1, 0xfffff)).isZero();
        assertThat(sva.iommuSvaAllocPasid(other, 1, 0xfffff)).isZero();
        assertThat(other.pasid).isNotEqualTo(mm.pasid);
        assertThat(Iommu.iommuReportDeviceFault(dev,
                PageRequests.prq(3, other.pasid, PV | NEEDS | LAST, IOMMU_FAULT_PERM_WRITE, vb))).isZero();
        flush();
        assertThat(Pgtable.pteWrite(MmFault.pteOf(other, vb))).isTrue();
        assertThat(MmFault.pteOf(mm, va)).as("the other process's tables only").isZero();
        IommuPageResponse r = mock.responses.get(0);
        assertThat(r.pasid).isEqualTo(other.pasid);
        assertThat(r.code).isEqualTo(IOMMU_PAGE_RESP_SUCCESS);
    }
}
