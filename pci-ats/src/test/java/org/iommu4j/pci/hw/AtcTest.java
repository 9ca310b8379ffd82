package org.iommu4j.pci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EFAULT;
import static org.iommu4j.base.hw.DmaResult.PERM_R;
import static org.iommu4j.base.hw.DmaResult.PERM_W;
import static org.iommu4j.base.hw.DmaTransaction.NO_SSID;
import static org.iommu4j.pci.hw.EndpointFixture.RAM;
import static org.iommu4j.pci.hw.EndpointFixture.SID;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.iommu4j.base.hw.AtcInvalidation;
import org.iommu4j.base.hw.AtsEndpoint;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The device-side ATC: translate, cache, use, invalidate, retranslate. */
@ExtendWith(NoWarnings.class)
class AtcTest {
    @Test
    void translateCacheInvalidateRetranslate() {
        EndpointFixture f = new EndpointFixture().ats(0);
        f.iommu.map(NO_SSID, 0x1000_0000L, 0x1000, RAM + 0x3000, PERM_R | PERM_W);

        // 1. miss: one Translation Request, then a Translated write at the PA
        assertThat(f.ep.dmaWrite(0x1000_0010L, new byte[] {1})).isZero();
        assertThat(f.iommu.ofKind(true, false)).singleElement()
                .satisfies(s -> {
                    assertThat(s.addr()).isEqualTo(0x1000_0000L);
                    assertThat(s.sid()).isEqualTo(SID);
                });
        assertThat(f.iommu.ofKind(false, true)).singleElement()
                .satisfies(s -> assertThat(s.addr()).isEqualTo(RAM + 0x3010));
        assertThat(f.board.mem.readb(RAM + 0x3010)).isEqualTo(1);
        assertThat(f.ep.atcContains(NO_SSID, 0x1000_0fffL)).isTrue();

        // 2. hit: no new Translation Request
        assertThat(f.ep.dmaWrite(0x1000_0020L, new byte[] {2})).isZero();
        assertThat(f.iommu.ofKind(true, false)).hasSize(1);
        assertThat(f.ep.atcHits()).isEqualTo(1);
        assertThat(f.iommu.ofKind(false, false)).isEmpty(); // never an untranslated request

        // 3. the IOMMU remaps without invalidating: the device keeps using the stale PA
        f.iommu.map(NO_SSID, 0x1000_0000L, 0x1000, RAM + 0x9000, PERM_R | PERM_W);
        assertThat(f.ep.dmaWrite(0x1000_0030L, new byte[] {3})).isZero();
        assertThat(f.board.mem.readb(RAM + 0x3030)).isEqualTo(3);
        assertThat(f.board.mem.readb(RAM + 0x9030)).isZero();

        // 4. ATS Invalidate, completion, then a retranslation picks up the new PA
        try (var cap = Trace.capture("pcidev:pcidev_atc_inv")) {
            assertThat(f.ep.atcInvalidate(new AtcInvalidation(SID, 0, false, 0x1000_0000L, 0x1000, false)))
                    .isEqualTo(AtsEndpoint.INV_OK);
            assertThat(cap.records()).hasSize(1);
        }
        assertThat(f.ep.atcEntries()).isZero();
        assertThat(f.ep.dmaWrite(0x1000_0040L, new byte[] {4})).isZero();
        assertThat(f.iommu.ofKind(true, false)).hasSize(2);
        assertThat(f.board.mem.readb(RAM + 0x9040)).isEqualTo(4);
        assertThat(f.ep.atcInvalidations()).isEqualTo(1);
    }

    @Test
    void invalidationScopes() {
        EndpointFixture f = new EndpointFixture().pasid(0).ats(0);
        for (int pasid : new int[] {NO_SSID, 1, 2}) {
            for (long page = 0; page < 4; page++) {
                f.iommu.map(pasid, page << 12, 0x1000, RAM + ((pasid + 2) << 16) + (page << 12), PERM_R | PERM_W);
                assertThat(f.ep.dmaRead(pasid, page << 12, new byte[1])).isZero();
            }
        }
        assertThat(f.ep.atcEntries()).isEqualTo(12);
        // PASID 1, pages 1..2
        f.ep.atcInvalidate(new AtcInvalidation(SID, 1, true, 0x1000, 0x2000, false));
        assertThat(f.ep.atcEntries()).isEqualTo(10);
        assertThat(f.ep.atcContains(1, 0x1000)).isFalse();
        assertThat(f.ep.atcContains(1, 0x0000)).isTrue();
        assertThat(f.ep.atcContains(2, 0x1000)).isTrue();
        // no PASID: range in every address space
        f.ep.atcInvalidate(new AtcInvalidation(SID, 0, false, 0x3000, 0x1000, false));
        assertThat(f.ep.atcContains(NO_SSID, 0x3000)).isFalse();
        assertThat(f.ep.atcContains(1, 0x3000)).isFalse();
        assertThat(f.ep.atcContains(2, 0x3000)).isFalse();
        assertThat(f.ep.atcEntries()).isEqualTo(7);
        // Global with a PASID, on a function without Global Invalidate Supported: the bit is
        // ignored (PCIe r5 10.3.8), only PASID 2's page goes
        f.ep.atcInvalidate(new AtcInvalidation(SID, 2, true, 0x0, 0x1000, true));
        assertThat(f.ep.atcEntries()).isEqualTo(6);
        assertThat(f.ep.atcContains(2, 0x0000)).isFalse();
        assertThat(f.ep.atcContains(1, 0x0000)).isTrue();
        assertThat(f.ep.atcContains(NO_SSID, 0x0000)).isTrue();
        // whole space of PASID 2
        f.ep.atcInvalidate(new AtcInvalidation(SID, 2, true, 0, 0, false));
        assertThat(f.ep.atcContains(2, 0x1000)).isFalse();
        assertThat(f.ep.atcContains(2, 0x2000)).isFalse();
        assertThat(f.ep.atcEntries()).isEqualTo(4);
        // everything
        f.ep.atcInvalidate(new AtcInvalidation(SID, 0, false, 0, -1L, false));
        assertThat(f.ep.atcEntries()).isZero();
    }

    @Test
    void globalInvalidateIsNotSupportedSoTheBitIsIgnored() {
        EndpointFixture f = new EndpointFixture().pasid(0).ats(0);
        assertThat(f.ep.configRead(f.ep.atsCapOffset() + PcieSpec.ATS_CAP, 2) & PcieSpec.ATS_CAP_GLOBAL_INV).isZero();
        f.iommu.map(1, 0x5000, 0x1000, RAM + 0x1_0000, PERM_R);
        f.iommu.map(2, 0x5000, 0x1000, RAM + 0x2_0000, PERM_R);
        assertThat(f.ep.dmaRead(1, 0x5000, new byte[1])).isZero();
        assertThat(f.ep.dmaRead(2, 0x5000, new byte[1])).isZero();
        assertThat(f.ep.atcInvalidate(new AtcInvalidation(SID, 1, true, 0x5000, 0x1000, true)))
                .isEqualTo(AtsEndpoint.INV_OK);
        assertThat(f.ep.atcContains(1, 0x5000)).isFalse();
        assertThat(f.ep.atcContains(2, 0x5000)).as("a driver relying on Global gets PASID 2's stale entry").isTrue();
    }

    @Test
    void aFunctionWithoutAtsAnswersInvalidateRequestsWithUnsupportedRequest() {
        EndpointFixture f = new EndpointFixture(PciEndpointCaps.builder().noAts().noPri().build());
        assertThat(f.ep.atcInvalidate(new AtcInvalidation(SID, 0, false, 0, -1L, false)))
                .isEqualTo(AtsEndpoint.INV_UNSUPPORTED);
        assertThat(f.ep.atcInvalidations()).isZero();
        // PCIe r5 7.5.3.5: Unsupported Request Detected, logged with error reporting disabled
        int devsta = f.ep.pcieCapOffset() + PcieSpec.PCIE_DEVSTA;
        assertThat(f.ep.configRead(devsta, 2)).isEqualTo(PcieSpec.DEVSTA_URD);
        f.ep.configWrite(devsta, PcieSpec.DEVSTA_URD, 2);
        assertThat(f.ep.configRead(devsta, 2)).isZero();
    }

    @Test
    void translationCompletionsWithUrOrCaAreLoggedInTheStatusRegister() {
        // PCIe r5 7.5.1.1.2: Received Master Abort for UR, Received Target Abort for CA, RW1C
        EndpointFixture f = new EndpointFixture().ats(0);
        f.iommu.atsStatus = DmaResult.ATS_UR;
        assertThat(f.ep.dmaRead(0, new byte[4])).isEqualTo(-EFAULT);
        assertThat(f.ep.configRead(PcieSpec.CFG_STATUS, 2)).isEqualTo(PcieSpec.STS_CAP_LIST | PcieSpec.STS_REC_MASTER_ABORT);
        f.iommu.atsStatus = DmaResult.ATS_CA;
        assertThat(f.ep.dmaRead(0, new byte[4])).isEqualTo(-EFAULT);
        assertThat(f.ep.configRead(PcieSpec.CFG_STATUS, 2)).isEqualTo(PcieSpec.STS_CAP_LIST
                | PcieSpec.STS_REC_MASTER_ABORT | PcieSpec.STS_REC_TARGET_ABORT);
        f.ep.configWrite(PcieSpec.CFG_STATUS, PcieSpec.STS_REC_MASTER_ABORT, 2);
        assertThat(f.ep.configRead(PcieSpec.CFG_STATUS, 2)).isEqualTo(PcieSpec.STS_CAP_LIST | PcieSpec.STS_REC_TARGET_ABORT);
        assertThat(f.ep.configRead(PcieSpec.CFG_COMMAND, 2) & PcieSpec.CMD_BUS_MASTER).as("command untouched").isNotZero();
    }

    @Test
    void largeTranslationsCoverTheirSpan() {
        EndpointFixture f = new EndpointFixture().ats(0);
        f.iommu.map(NO_SSID, 0x20_0000L, 0x20_0000L, RAM + 0x40_0000L, PERM_R | PERM_W);
        byte[] data = EndpointFixture.pattern(0x3000, 9);
        assertThat(f.ep.dmaWrite(0x2f_f000L, data)).isZero();
        assertThat(f.board.mem.readBytes(RAM + 0x4f_f000L, 0x3000)).isEqualTo(data);
        // three 4 KiB pieces, one Translation Request: the 2 MiB completion covers them all
        assertThat(f.iommu.ofKind(true, false)).hasSize(1);
        assertThat(f.iommu.ofKind(false, true)).hasSize(3);
        assertThat(f.ep.atcContains(NO_SSID, 0x20_0000L)).isTrue();
        assertThat(f.ep.atcContains(NO_SSID, 0x40_0000L)).isFalse();
        // an invalidation of one 4 KiB page inside drops the whole 2 MiB entry
        f.ep.atcInvalidate(new AtcInvalidation(SID, 0, false, 0x30_0000L, 0x1000, false));
        assertThat(f.ep.atcContains(NO_SSID, 0x20_0000L)).isFalse();
    }

    @Test
    void readOnlyCompletionRetranslatesForWriteAndFaultsWithoutPri() {
        EndpointFixture f = new EndpointFixture().ats(0);
        f.iommu.map(NO_SSID, 0, 0x1000, RAM, PERM_R);
        assertThat(f.ep.dmaRead(0, new byte[4])).isZero();
        assertThat(f.ep.dmaWrite(0, new byte[4])).isEqualTo(-EFAULT);
        assertThat(f.iommu.ofKind(true, false)).hasSize(2);
        assertThat(f.iommu.pageRequests).isEmpty();
        // unmapped: ATS fault, no PRI -> fault
        assertThat(f.ep.dmaRead(0x5000, new byte[4])).isEqualTo(-EFAULT);
        assertThat(f.ep.lastFaultReason()).isEqualTo(FakeUpstreamPort.F_TRANSLATION);
    }

    @Test
    void translatedRequestsCanBeRefused() {
        EndpointFixture f = new EndpointFixture().ats(0);
        f.iommu.map(NO_SSID, 0, 0x1000, RAM, PERM_R | PERM_W);
        f.iommu.refuseTranslated = true;
        assertThat(f.ep.dmaRead(0, new byte[4])).isEqualTo(-EFAULT);
    }

    @Test
    void disablingAtsFlushesTheAtc() {
        EndpointFixture f = new EndpointFixture().ats(0);
        f.iommu.map(NO_SSID, 0, 0x1000, RAM, PERM_R | PERM_W);
        assertThat(f.ep.dmaRead(0, new byte[4])).isZero();
        assertThat(f.ep.atcEntries()).isEqualTo(1);
        f.ep.configWrite(f.ep.atsCapOffset() + PcieSpec.ATS_CTRL, 0, 2);
        assertThat(f.ep.atcEntries()).isZero();
        // without ATS: untranslated
        assertThat(f.ep.dmaRead(0, new byte[4])).isZero();
        assertThat(f.iommu.ofKind(false, false)).hasSize(1);
    }

    @Test
    void atcReplacesRoundRobinWhenFull() {
        EndpointFixture f = new EndpointFixture(PciEndpointCaps.builder().atcEntries(4).build()).ats(0);
        for (long p = 0; p < 6; p++) {
            f.iommu.map(NO_SSID, p << 12, 0x1000, RAM + (p << 12), PERM_R | PERM_W);
            assertThat(f.ep.dmaRead(p << 12, new byte[1])).isZero();
        }
        assertThat(f.ep.atcEntries()).isEqualTo(4);
        assertThat(f.ep.atcContains(NO_SSID, 0)).isFalse();
        assertThat(f.ep.atcContains(NO_SSID, 0x5000)).isTrue();
    }

    @Test
    void pasidChangeWhileAtsEnabledIsRecorded() {
        EndpointFixture f = new EndpointFixture().ats(0);
        assertThat(f.ep.specViolations()).isEmpty();
        f.pasid(0);
        assertThat(f.ep.specViolations()).containsExactly("PASID Control 0x0 -> 0x1 while ATS Enable was set");
    }

    @Test
    void executeOrPrivilegedEnableChangeWhileAtsEnabledIsRecorded() {
        // PCIe r5 10.5.1.3 names all three PASID Control bits, not only PASID Enable
        EndpointFixture f = new EndpointFixture().pasid(0).ats(0);
        int ctrl = f.ep.pasidCapOffset() + PcieSpec.PASID_CTRL;
        f.ep.configWrite(ctrl, PcieSpec.PASID_CTRL_ENABLE, 2);          // no change: nothing
        assertThat(f.ep.specViolations()).isEmpty();
        f.ep.configWrite(ctrl, PcieSpec.PASID_CTRL_ENABLE | PcieSpec.PASID_CTRL_EXEC, 2);
        f.ep.configWrite(ctrl, PcieSpec.PASID_CTRL_ENABLE | PcieSpec.PASID_CTRL_EXEC | PcieSpec.PASID_CTRL_PRIV, 2);
        assertThat(f.ep.specViolations()).containsExactly("PASID Control 0x1 -> 0x3 while ATS Enable was set",
                "PASID Control 0x3 -> 0x7 while ATS Enable was set");
        // with ATS disabled first, as software should: nothing recorded
        f.ep.configWrite(f.ep.atsCapOffset() + PcieSpec.ATS_CTRL, 0, 2);
        f.ep.configWrite(ctrl, PcieSpec.PASID_CTRL_ENABLE, 2);
        assertThat(f.ep.specViolations()).hasSize(2);
    }

    @Test
    void noStaleTranslationIsUsedAfterTheInvalidationCompletes() throws Exception {
        EndpointFixture f = new EndpointFixture().ats(0);
        f.iommu.map(NO_SSID, 0x1000, 0x1000, RAM + 0x1000, PERM_R | PERM_W);
        CountDownLatch warm = new CountDownLatch(50);
        CountDownLatch post = new CountDownLatch(20);
        AtomicBoolean invalidated = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();
        Thread dma = new Thread(() -> {
            while (!stop.get()) {
                assertThat(f.ep.dmaWrite(0x1010, new byte[] {1})).isZero();
                warm.countDown();
                if (invalidated.get()) {
                    post.countDown();
                }
            }
        });
        dma.start();
        assertThat(warm.await(10, TimeUnit.SECONDS)).isTrue();
        // remap, then invalidate while the device keeps writing through its ATC
        f.iommu.map(NO_SSID, 0x1000, 0x1000, RAM + 0x8000, PERM_R | PERM_W);
        f.ep.atcInvalidate(new AtcInvalidation(SID, 0, false, 0x1000, 0x1000, false));
        int after = f.iommu.seen.size();
        invalidated.set(true);
        assertThat(post.await(10, TimeUnit.SECONDS)).isTrue();
        stop.set(true);
        dma.join();
        synchronized (f.iommu.seen) {
            for (FakeUpstreamPort.Seen s : f.iommu.seen.subList(after, f.iommu.seen.size())) {
                if (s.translated()) {
                    assertThat(s.addr()).as("translated request after the invalidation").isEqualTo(RAM + 0x8010);
                }
            }
        }
        assertThat(f.board.mem.readb(RAM + 0x8010)).isEqualTo(1);
    }
}
