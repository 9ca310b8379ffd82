package org.iommu4j.pci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EFAULT;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.EIO;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.base.Errno.ETIMEDOUT;
import static org.iommu4j.base.hw.DmaResult.PERM_R;
import static org.iommu4j.base.hw.DmaResult.PERM_W;
import static org.iommu4j.base.hw.DmaTransaction.ACC_EXEC;
import static org.iommu4j.base.hw.DmaTransaction.ACC_PRIV;
import static org.iommu4j.base.hw.DmaTransaction.ACC_READ;
import static org.iommu4j.base.hw.DmaTransaction.ACC_WRITE;
import static org.iommu4j.base.hw.DmaTransaction.NO_SSID;
import static org.iommu4j.pci.hw.EndpointFixture.RAM;
import static org.iommu4j.pci.hw.EndpointFixture.SID;
import static org.iommu4j.pci.hw.PcieSpec.PRI_CTRL;
import static org.iommu4j.pci.hw.PcieSpec.PRI_CTRL_ENABLE;
import static org.iommu4j.pci.hw.PcieSpec.PRI_CTRL_RESET;
import static org.iommu4j.pci.hw.PcieSpec.PRI_STATUS_PRG_RESP_PASID;
import static org.iommu4j.pci.hw.PcieSpec.PRI_STATUS_RF;
import static org.iommu4j.pci.hw.PcieSpec.PRI_STATUS_STOPPED;
import static org.iommu4j.pci.hw.PcieSpec.PRI_STATUS_UPRGI;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.iommu4j.base.hw.PageRequest;
import org.iommu4j.base.hw.PageResponse;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The Page Request Interface: requests, responses, the outstanding allocation, failures. */
@ExtendWith(NoWarnings.class)
class PriTest {
    static PageResponse resp(PageRequest r, int code) {
        return new PageResponse(r.sid(), r.pasid(), r.pasidValid(), r.prgIndex(), code);
    }

    @Test
    void atsFaultPageRequestSuccessRetry() {
        EndpointFixture f = new EndpointFixture().pasid(0).ats(0).pri(8);
        // the "IOMMU" handles the fault by mapping the page, then answers Success
        f.iommu.onPageRequest = r -> {
            f.iommu.map(r.pasid(), r.addr(), 0x1000, RAM + 0x6000, PERM_R | PERM_W);
            f.ep.pageResponse(resp(r, PageResponse.SUCCESS));
        };
        assertThat(f.ep.dmaWrite(9, 0x4000_0123L, new byte[] {5, 6})).isZero();
        assertThat(f.board.mem.readBytes(RAM + 0x6123, 2)).containsExactly(5, 6);
        assertThat(f.iommu.pageRequests).singleElement().satisfies(r -> {
            assertThat(r.sid()).isEqualTo(SID);
            assertThat(r.pasid()).isEqualTo(9);
            assertThat(r.pasidValid()).isTrue();
            assertThat(r.addr()).isEqualTo(0x4000_0000L);
            assertThat(r.write()).isTrue();
            assertThat(r.read()).isFalse();
            assertThat(r.exec()).isFalse();
            assertThat(r.priv()).isFalse();
            assertThat(r.last()).isTrue();
        });
        // translation request, page request, translation request again, translated write
        assertThat(f.iommu.ofKind(true, false)).hasSize(2);
        assertThat(f.iommu.ofKind(false, true)).hasSize(1);
        assertThat(f.ep.priOutstanding()).isZero();
        assertThat(f.priStatus()).isEqualTo(PRI_STATUS_PRG_RESP_PASID);
    }

    @Test
    void invalidRequestFailsTheDmaButKeepsPri() {
        EndpointFixture f = new EndpointFixture().ats(0).pri(8);
        f.iommu.onPageRequest = r -> f.ep.pageResponse(resp(r, PageResponse.INVALID_REQUEST));
        assertThat(f.ep.dmaRead(0x9000, new byte[4])).isEqualTo(-EFAULT);
        assertThat(f.iommu.pageRequests).singleElement().satisfies(r -> {
            assertThat(r.pasidValid()).isFalse();
            assertThat(r.read()).isTrue();
        });
        assertThat(f.ep.priEnabled()).isTrue();
        assertThat(f.priStatus() & PRI_STATUS_RF).isZero();
    }

    @Test
    void responseFailureSetsRfAndDisablesPri() {
        EndpointFixture f = new EndpointFixture().ats(0).pri(8);
        f.iommu.onPageRequest = r -> f.ep.pageResponse(resp(r, PageResponse.FAILURE));
        assertThat(f.ep.dmaRead(0x9000, new byte[4])).isEqualTo(-EIO);
        assertThat(f.priStatus() & PRI_STATUS_RF).isNotZero();
        assertThat(f.ep.priEnabled()).isFalse();
        // Enable is RW: the function disables its interface, software's bit still reads 1
        assertThat(f.ep.configRead(f.ep.priCapOffset() + PRI_CTRL, 2) & PRI_CTRL_ENABLE).isNotZero();
        assertThat(f.ep.priOutstanding()).as("no response is expected any more").isZero();
        // PRI disabled: the next fault is final, no page request
        assertThat(f.ep.dmaRead(0x9000, new byte[4])).isEqualTo(-EFAULT);
        assertThat(f.iommu.pageRequests).hasSize(1);
        assertThat(f.ep.pageRequest(NO_SSID, 0x9000, ACC_READ)).isEqualTo(-ENODEV);
        // software clears Enable: Stopped; enabling again clears RF and the interface works
        f.ep.configWrite(f.ep.priCapOffset() + PRI_CTRL, 0, 2);
        assertThat(f.priStatus() & (PRI_STATUS_RF | PRI_STATUS_STOPPED)).isEqualTo(PRI_STATUS_RF | PRI_STATUS_STOPPED);
        f.iommu.onPageRequest = r -> f.ep.pageResponse(resp(r, PageResponse.SUCCESS));
        f.ep.configWrite(f.ep.priCapOffset() + PRI_CTRL, PRI_CTRL_ENABLE, 2);
        assertThat(f.priStatus() & PRI_STATUS_RF).isZero();
        assertThat(f.ep.pageRequest(NO_SSID, 0x9000, ACC_READ)).isZero();
    }

    @Test
    void responseFailureNeedsNoMatchingIndexAndLaterResponsesAreIgnored() throws Exception {
        // PCIe r5 10.4.2.1: a Response Failure need not carry an outstanding PRG index; after
        // it the function ignores every PRG Response until PRI is enabled again (10.5.2.3)
        EndpointFixture f = new EndpointFixture().ats(0).pri(8);
        CountDownLatch sent = new CountDownLatch(2);
        f.iommu.onPageRequest = r -> sent.countDown();
        CompletableFuture<Integer> a = CompletableFuture.supplyAsync(() -> f.ep.pageRequest(NO_SSID, 0x1000, ACC_READ));
        CompletableFuture<Integer> b = CompletableFuture.supplyAsync(() -> f.ep.pageRequest(NO_SSID, 0x2000, ACC_READ));
        assertThat(sent.await(10, TimeUnit.SECONDS)).isTrue();
        f.ep.pageResponse(new PageResponse(SID, 0, false, 0x1ff, PageResponse.FAILURE));
        assertThat(a.join()).isEqualTo(-EIO);
        assertThat(b.join()).isEqualTo(-EIO);
        assertThat(f.priStatus() & (PRI_STATUS_RF | PRI_STATUS_UPRGI)).isEqualTo(PRI_STATUS_RF);
        assertThat(f.ep.unexpectedPrgIndexes()).isEmpty();
        assertThat(f.ep.priOutstanding()).isZero();
        // a late answer to one of the groups, and a stray one: both ignored
        PageRequest first = f.iommu.pageRequests.get(0);
        f.ep.pageResponse(resp(first, PageResponse.SUCCESS));
        f.ep.pageResponse(new PageResponse(SID, 0, false, 0x77, PageResponse.SUCCESS));
        assertThat(f.priStatus() & PRI_STATUS_UPRGI).isZero();
        assertThat(f.ep.unexpectedPrgIndexes()).isEmpty();
        assertThat(f.ep.priOutstanding()).isZero();
    }

    @Test
    void neverMoreOutstandingThanAllocated() throws Exception {
        EndpointFixture f = new EndpointFixture().ats(0).pri(4);
        CountDownLatch all = new CountDownLatch(10);
        f.iommu.onPageRequest = r -> all.countDown();
        long[] pages = new long[10];
        for (int i = 0; i < pages.length; i++) {
            pages[i] = 0x10_0000L + ((long) i << 12);
        }
        CompletableFuture<Integer> batch = CompletableFuture.supplyAsync(() -> f.ep.pageRequests(NO_SSID, pages, ACC_WRITE));
        for (int i = 0; i < 6; i++) {
            // the device blocks with 4 outstanding; one response lets exactly one more out
            assertThat(f.ep.priCreditStall.waitForCompletionTimeout(10, TimeUnit.SECONDS)).isTrue();
            assertThat(f.iommu.pageRequests).hasSize(4 + i);
            assertThat(f.ep.priOutstanding()).isEqualTo(4);
            f.ep.pageResponse(resp(f.iommu.pageRequests.get(i), PageResponse.SUCCESS));
        }
        assertThat(all.await(10, TimeUnit.SECONDS)).isTrue();
        for (int i = 6; i < 10; i++) {
            f.ep.pageResponse(resp(f.iommu.pageRequests.get(i), PageResponse.SUCCESS));
        }
        assertThat(batch.get(10, TimeUnit.SECONDS)).isZero();
        assertThat(f.ep.priMaxOutstandingSeen()).isEqualTo(4);
        assertThat(f.ep.priOutstanding()).isZero();
        assertThat(f.iommu.pageRequests).extracting(PageRequest::addr).containsExactly(
                java.util.Arrays.stream(pages).boxed().toArray(Long[]::new));
        // distinct PRG indexes for requests outstanding together
        assertThat(f.iommu.pageRequests.subList(0, 4)).extracting(PageRequest::prgIndex).doesNotHaveDuplicates();
        assertThat(f.ep.unexpectedPrgIndexes()).isEmpty();
    }

    @Test
    void unexpectedPrgIndexIsRecorded() {
        EndpointFixture f = new EndpointFixture().ats(0).pri(2);
        f.iommu.onPageRequest = r -> f.ep.pageResponse(resp(r, PageResponse.SUCCESS));
        assertThat(f.ep.pageRequest(NO_SSID, 0x1000, ACC_READ)).isZero();
        int used = f.iommu.pageRequests.get(0).prgIndex();
        // a second response for the same group, and one for a group never sent
        f.ep.pageResponse(new PageResponse(SID, 0, false, used, PageResponse.SUCCESS));
        f.ep.pageResponse(new PageResponse(SID, 0, false, 0x1ff, PageResponse.SUCCESS));
        assertThat(f.ep.unexpectedPrgIndexes()).containsExactly(used, 0x1ff);
        assertThat(f.priStatus() & PRI_STATUS_UPRGI).isNotZero();
        assertThat(f.ep.priOutstanding()).isZero();
    }

    @Test
    void disabledOrUnallocatedPriSendsNothing() {
        EndpointFixture f = new EndpointFixture().ats(0);
        assertThat(f.ep.pageRequest(NO_SSID, 0x1000, ACC_READ)).isEqualTo(-ENODEV);
        f.pri(0);
        assertThat(f.ep.pageRequest(NO_SSID, 0x1000, ACC_READ)).isEqualTo(-ENOSPC);
        assertThat(f.iommu.pageRequests).isEmpty();
        EndpointFixture g = new EndpointFixture(PciEndpointCaps.builder().noPri().build()).ats(0);
        assertThat(g.ep.pageRequest(NO_SSID, 0x1000, ACC_READ)).isEqualTo(-ENODEV);
    }

    @Test
    void aPageRequestCarriesAPasidPrefixOnlyWhenPasidIsEnabled() {
        // PCIe r5 6.20.2: no PASID TLP Prefix (so no PASID, Execute or Privileged attribute) on
        // any request, Page Requests included, unless PASID Enable and the matching bits are set
        EndpointFixture f = new EndpointFixture().ats(0).pri(8);
        f.ep.setPrgResponseTimeout(1, TimeUnit.MILLISECONDS);
        assertThat(f.ep.pageRequest(5, 0x1000, ACC_READ)).as("PASID Enable clear").isEqualTo(-EINVAL);
        assertThat(f.ep.pageRequest(NO_SSID, 0x1000, ACC_READ | ACC_PRIV)).as("Privileged without a prefix")
                .isEqualTo(-EINVAL);
        assertThat(f.ep.pageRequest(NO_SSID, 0x1000, ACC_EXEC)).as("Execute without a prefix").isEqualTo(-EINVAL);
        assertThat(f.ep.pageRequests(5, new long[] {0x1000, 0x2000}, ACC_READ)).isEqualTo(-EINVAL);
        assertThat(f.ep.pageRequestGroup(5, new long[] {0x1000, 0x2000}, ACC_READ)).isEqualTo(-EINVAL);
        f.pasid(0);
        assertThat(f.ep.pageRequest(1 << 20, 0x1000, ACC_READ)).as("beyond Max PASID Width").isEqualTo(-EINVAL);
        assertThat(f.ep.pageRequest(5, 0x1000, ACC_EXEC)).as("Execute Permission Enable clear").isEqualTo(-EINVAL);
        assertThat(f.ep.pageRequest(5, 0x1000, ACC_WRITE | ACC_PRIV)).as("Privileged Mode Enable clear")
                .isEqualTo(-EINVAL);
        assertThat(f.ep.pageRequest(5, 0x1000, 0)).as("neither read nor write: that is a Stop Marker")
                .isEqualTo(-EINVAL);
        assertThat(f.iommu.pageRequests).isEmpty();
        assertThat(f.ep.priOutstanding()).isZero();
        // once enabled, the same requests go out with their attributes
        f.ep.configWrite(f.ep.pasidCapOffset() + PcieSpec.PASID_CTRL,
                PcieSpec.PASID_CTRL_ENABLE | PcieSpec.PASID_CTRL_EXEC | PcieSpec.PASID_CTRL_PRIV, 2);
        assertThat(f.ep.pageRequest(5, 0x1000, ACC_EXEC | ACC_PRIV)).isEqualTo(-ETIMEDOUT);
        assertThat(f.ep.pageRequest(0, 0x2000, ACC_READ)).as("PASID 0 is a PASID").isEqualTo(-ETIMEDOUT);
        assertThat(f.iommu.pageRequests).hasSize(2);
        assertThat(f.iommu.pageRequests.get(0)).satisfies(r -> {
            assertThat(r.pasidValid()).isTrue();
            assertThat(r.pasid()).isEqualTo(5);
            assertThat(r.exec()).isTrue();
            assertThat(r.priv()).isTrue();
            assertThat(r.read()).as("execute implies read").isTrue();
            assertThat(r.write()).isFalse();
        });
        assertThat(f.iommu.pageRequests.get(1)).satisfies(r -> {
            assertThat(r.pasidValid()).isTrue();
            assertThat(r.pasid()).isZero();
        });
    }

    @Test
    void stoppedOnlyWhenDisabledAndDrained() {
        EndpointFixture f = new EndpointFixture().ats(0).pri(4);
        f.ep.setPrgResponseTimeout(1, TimeUnit.MILLISECONDS);
        assertThat(f.ep.pageRequest(NO_SSID, 0x1000, ACC_READ)).isEqualTo(-ETIMEDOUT);
        assertThat(f.ep.priOutstanding()).isEqualTo(1);
        f.ep.configWrite(f.ep.priCapOffset() + PRI_CTRL, 0, 2);
        assertThat(f.priStatus() & PRI_STATUS_STOPPED).isZero(); // one still outstanding
        // the late response frees the credit; it is not unexpected
        f.ep.pageResponse(resp(f.iommu.pageRequests.get(0), PageResponse.SUCCESS));
        assertThat(f.priStatus() & PRI_STATUS_STOPPED).isNotZero();
        assertThat(f.ep.unexpectedPrgIndexes()).isEmpty();
    }

    @Test
    void aPasidOnAResponseTheFunctionDidNotAskForIsRecorded() {
        // PCIe r5 10.5.2.3: with PRG Response PASID Required clear, a response with a PASID TLP
        // Prefix is undefined; here the prefix is ignored and the response still answers its group
        EndpointFixture f = new EndpointFixture(PciEndpointCaps.builder().pri(8, false).build()).pasid(0).ats(0).pri(8);
        f.iommu.onPageRequest = r -> f.ep.pageResponse(new PageResponse(r.sid(), r.pasid(), r.pasidValid(),
                r.prgIndex(), PageResponse.SUCCESS));
        assertThat(f.ep.pageRequest(NO_SSID, 0x1000, ACC_READ)).isZero();
        assertThat(f.ep.specViolations()).isEmpty();
        assertThat(f.ep.pageRequest(3, 0x1000, ACC_READ)).isZero();
        assertThat(f.ep.specViolations()).singleElement().asString().contains("carries PASID 3");
        assertThat(f.ep.priOutstanding()).isZero();
    }

    @Test
    void enablingAnInterfaceThatHasNotStoppedIsRecorded() {
        // PCIe r5 10.5.2.2: indeterminate; pci_enable_pri checks Stopped so the kernel never does it
        EndpointFixture f = new EndpointFixture().ats(0).pri(4);
        f.ep.setPrgResponseTimeout(1, TimeUnit.MILLISECONDS);
        assertThat(f.ep.pageRequest(NO_SSID, 0x1000, ACC_READ)).isEqualTo(-ETIMEDOUT);
        f.ep.configWrite(f.ep.priCapOffset() + PRI_CTRL, 0, 2);
        assertThat(f.ep.specViolations()).isEmpty();
        f.ep.configWrite(f.ep.priCapOffset() + PRI_CTRL, PRI_CTRL_ENABLE, 2);
        assertThat(f.ep.specViolations()).containsExactly("PRI enabled while not Stopped (1 requests outstanding)");
        // after a Reset it is Stopped, and enabling is clean
        f.ep.configWrite(f.ep.priCapOffset() + PRI_CTRL, PRI_CTRL_RESET, 2);
        f.ep.configWrite(f.ep.priCapOffset() + PRI_CTRL, PRI_CTRL_ENABLE, 2);
        assertThat(f.ep.specViolations()).hasSize(1);
    }

    @Test
    void resetDropsOutstandingRequestsAndFailsWaiters() throws Exception {
        EndpointFixture f = new EndpointFixture().ats(0).pri(4);
        CountDownLatch sent = new CountDownLatch(1);
        f.iommu.onPageRequest = r -> sent.countDown();
        CompletableFuture<Integer> req = CompletableFuture.supplyAsync(() -> f.ep.pageRequest(NO_SSID, 0x1000, ACC_READ));
        assertThat(sent.await(10, TimeUnit.SECONDS)).isTrue();
        f.ep.configWrite(f.ep.priCapOffset() + PRI_CTRL, 0, 2);
        assertThat(f.priStatus() & PRI_STATUS_STOPPED).isZero();
        f.ep.configWrite(f.ep.priCapOffset() + PRI_CTRL, PRI_CTRL_RESET, 2);
        assertThat(req.get(10, TimeUnit.SECONDS)).isEqualTo(-EIO);
        assertThat(f.priStatus() & PRI_STATUS_STOPPED).isNotZero();
        assertThat(f.ep.priOutstanding()).isZero();
    }

    /** PCIe r5 10.5.2.2: Reset also acts in the write that clears Enable. */
    @Test
    void resetInTheWriteThatClearsEnableDropsOutstandingRequests() throws Exception {
        EndpointFixture f = new EndpointFixture().ats(0).pri(4);
        CountDownLatch sent = new CountDownLatch(1);
        f.iommu.onPageRequest = r -> sent.countDown();
        CompletableFuture<Integer> req = CompletableFuture.supplyAsync(() -> f.ep.pageRequest(NO_SSID, 0x1000, ACC_READ));
        assertThat(sent.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(f.ep.priOutstanding()).isEqualTo(1);
        f.ep.configWrite(f.ep.priCapOffset() + PRI_CTRL, PRI_CTRL_RESET, 2);
        assertThat(req.get(10, TimeUnit.SECONDS)).isEqualTo(-EIO);
        assertThat(f.ep.priEnabled()).isFalse();
        assertThat(f.ep.configRead(f.ep.priCapOffset() + PRI_CTRL, 2)).isZero();
        assertThat(f.ep.priOutstanding()).isZero();
        assertThat(f.priStatus() & PRI_STATUS_STOPPED).isNotZero();
    }

    /** PCIe r5 10.5.2.2: enabling the interface clears Stopped, Response Failure and UPRGI. */
    @Test
    void enablingClearsTheStatusFlags() {
        EndpointFixture f = new EndpointFixture().ats(0).pri(8);
        f.ep.pageResponse(new PageResponse(SID, 0, false, 0x1ff, PageResponse.SUCCESS));
        f.iommu.onPageRequest = r -> f.ep.pageResponse(resp(r, PageResponse.FAILURE));
        assertThat(f.ep.dmaRead(0x9000, new byte[4])).isEqualTo(-EIO);
        f.ep.configWrite(f.ep.priCapOffset() + PRI_CTRL, 0, 2);
        assertThat(f.priStatus() & (PRI_STATUS_RF | PRI_STATUS_UPRGI | PRI_STATUS_STOPPED))
                .isEqualTo(PRI_STATUS_RF | PRI_STATUS_UPRGI | PRI_STATUS_STOPPED);
        // what pci_reset_pri then pci_enable_pri write
        f.ep.configWrite(f.ep.priCapOffset() + PRI_CTRL, PRI_CTRL_RESET, 2);
        assertThat(f.priStatus() & (PRI_STATUS_RF | PRI_STATUS_UPRGI)).as("reset leaves the flags")
                .isEqualTo(PRI_STATUS_RF | PRI_STATUS_UPRGI);
        f.pri(8);
        assertThat(f.priStatus() & (PRI_STATUS_RF | PRI_STATUS_UPRGI | PRI_STATUS_STOPPED)).isZero();
        // the interface works again
        f.iommu.onPageRequest = r -> f.ep.pageResponse(resp(r, PageResponse.SUCCESS));
        assertThat(f.ep.pageRequest(NO_SSID, 0x9000, ACC_READ)).isZero();
        // writing Enable while already enabled is no transition: a flag set meanwhile stays
        f.ep.pageResponse(new PageResponse(SID, 0, false, 0x1ff, PageResponse.SUCCESS));
        f.ep.configWrite(f.ep.priCapOffset() + PRI_CTRL, PRI_CTRL_ENABLE, 2);
        assertThat(f.priStatus() & PRI_STATUS_UPRGI).isNotZero();
    }

    @Test
    void responseWithoutRequiredPasidIsUnexpected() {
        EndpointFixture f = new EndpointFixture().pasid(0).ats(0).pri(4);
        f.ep.setPrgResponseTimeout(1, TimeUnit.MILLISECONDS);
        assertThat(f.ep.pageRequest(3, 0x1000, ACC_READ)).isEqualTo(-ETIMEDOUT);
        PageRequest r = f.iommu.pageRequests.get(0);
        f.ep.pageResponse(new PageResponse(SID, 0, false, r.prgIndex(), PageResponse.SUCCESS));
        f.ep.pageResponse(new PageResponse(SID, 4, true, r.prgIndex(), PageResponse.SUCCESS));
        assertThat(f.ep.unexpectedPrgIndexes()).containsExactly(r.prgIndex(), r.prgIndex());
        assertThat(f.ep.priOutstanding()).isEqualTo(1);
        f.ep.pageResponse(resp(r, PageResponse.SUCCESS));
        assertThat(f.ep.priOutstanding()).isZero();
        // a device that does not require it accepts PASID-less responses
        EndpointFixture g = new EndpointFixture(PciEndpointCaps.builder().pri(4, false).build()).pasid(0).ats(0).pri(4);
        g.iommu.onPageRequest = q -> g.ep.pageResponse(new PageResponse(SID, 0, false, q.prgIndex(), PageResponse.SUCCESS));
        assertThat(g.ep.pageRequest(3, 0x1000, ACC_READ)).isZero();
    }

    @Test
    void pageRequestsAndResponsesAreTraced() {
        EndpointFixture f = new EndpointFixture().ats(0).pri(4);
        f.iommu.onPageRequest = r -> {
            f.iommu.map(NO_SSID, r.addr(), 0x1000, RAM, PERM_R | PERM_W);
            f.ep.pageResponse(resp(r, PageResponse.SUCCESS));
        };
        try (var cap = org.iommu4j.base.trace.Trace.capture("pcidev:*")) {
            assertThat(f.ep.dmaRead(0x3000, new byte[4])).isZero();
            assertThat(cap.of("pcidev:pcidev_ats_translate")).hasSize(2);
            assertThat(cap.of("pcidev:pcidev_pri_request")).hasSize(1);
            assertThat(cap.of("pcidev:pcidev_pri_response")).hasSize(1);
            assertThat(cap.of("pcidev:pcidev_dma")).hasSize(1);
        }
    }

    @Test
    void multiPageGroupSharesOneIndexAndOneResponse() throws Exception {
        EndpointFixture f = new EndpointFixture().pasid(0).ats(0).pri(4);
        CountDownLatch three = new CountDownLatch(3);
        f.iommu.onPageRequest = r -> three.countDown();
        long[] pages = {0x1000, 0x5000, 0x9000};
        CompletableFuture<Integer> grp = CompletableFuture.supplyAsync(
                () -> f.ep.pageRequestGroup(2, pages, ACC_READ | ACC_WRITE));
        assertThat(three.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(f.iommu.pageRequests).extracting(PageRequest::prgIndex).containsOnly(
                f.iommu.pageRequests.get(0).prgIndex());
        assertThat(f.iommu.pageRequests).extracting(PageRequest::last).containsExactly(false, false, true);
        assertThat(f.iommu.pageRequests).allMatch(r -> r.read() && r.write() && r.pasid() == 2);
        assertThat(f.ep.priOutstanding()).isEqualTo(3);
        // a one-page request still fits; a group of 2 more would not
        assertThat(f.ep.pageRequestGroup(2, new long[] {1, 2, 3, 4, 5}, ACC_READ)).isEqualTo(-ENOSPC);
        f.ep.pageResponse(resp(f.iommu.pageRequests.get(2), PageResponse.SUCCESS));
        assertThat(grp.get(10, TimeUnit.SECONDS)).isZero();
        assertThat(f.ep.priOutstanding()).isZero();
        assertThat(f.ep.pageRequestGroup(2, new long[0], ACC_READ)).isZero();
    }

    @Test
    void aStopMarkerIsALastRequestWithoutReadOrWriteThatTakesNoCredit() {
        EndpointFixture f = new EndpointFixture().pasid(0).ats(0).pri(1);
        assertThat(f.ep.stopMarker(9)).isZero();
        assertThat(f.iommu.pageRequests).singleElement().satisfies(r -> {
            assertThat(r.stopMarker()).isTrue();
            assertThat(r.pasid()).isEqualTo(9);
            assertThat(r.last()).isTrue();
            assertThat(r.read() || r.write()).isFalse();
        });
        assertThat(f.ep.priOutstanding()).as("no credit taken, no response awaited").isZero();
        assertThat(f.ep.stopMarkers()).isEqualTo(1);
        assertThat(f.ep.stopMarker(-1)).isEqualTo(-EINVAL);
        assertThat(f.ep.stopMarker(1 << 20)).isEqualTo(-EINVAL);
        // PASID disabled, or PRI disabled: nothing is sent
        assertThat(new EndpointFixture().ats(0).pri(1).ep.stopMarker(9)).isEqualTo(-EINVAL);
        assertThat(new EndpointFixture().pasid(0).ep.stopMarker(9)).isEqualTo(-ENODEV);
        assertThat(f.iommu.pageRequests).hasSize(1);
    }
}
