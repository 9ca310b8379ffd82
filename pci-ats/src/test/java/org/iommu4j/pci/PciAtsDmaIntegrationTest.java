package org.iommu4j.pci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.hw.DmaResult.PERM_R;
import static org.iommu4j.base.hw.DmaResult.PERM_W;
import static org.iommu4j.pci.Pci.pciDevId;
import static org.iommu4j.pci.Pci.pciSetMaster;
import static org.iommu4j.pci.PciAts.*;

import org.iommu4j.base.hw.AtcInvalidation;
import org.iommu4j.base.hw.PageResponse;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Kernel side and device side together, the way an IOMMU driver uses them: enumerate, enable
 * PASID then ATS then PRI through ats.c, let the device fault a page in over PRI, invalidate
 * its ATC through the board's endpoint registry, and tear down in reverse order.
 */
@ExtendWith(NoWarnings.class)
class PciAtsDmaIntegrationTest {
    static final long RAM = 0x4000_0000L;

    @Test
    void sharedVirtualAddressingFlow() {
        PciWorld w = new PciWorld().enumerate();
        PciDev pdev = w.dev(1, 0);
        int sid = pciDevId(pdev); // identity iommu-map in PciWorld
        // "IOMMU": resolves page requests by mapping a page, answers through the registry
        w.iommu.onPageRequest = r -> {
            w.iommu.map(r.pasid(), r.addr(), 0x1000, RAM + 0x20_0000L, PERM_R | PERM_W);
            w.board.endpoints.lookup(r.sid()).pageResponse(
                    new PageResponse(r.sid(), r.pasid(), r.pasidValid(), r.prgIndex(), PageResponse.SUCCESS));
        };

        pciSetMaster(pdev);
        assertThat(pciEnablePasid(pdev, 0)).isZero();
        assertThat(pciEnableAts(pdev, 12)).isZero();
        assertThat(pciResetPri(pdev)).isZero();
        assertThat(pciEnablePri(pdev, 16)).isZero();

        byte[] data = "hello, iommu".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(w.full.dmaWrite(42, 0x7fff_0000_0100L, data)).isZero();
        assertThat(w.board.mem.readBytes(RAM + 0x20_0100L, data.length)).isEqualTo(data);
        assertThat(w.iommu.pageRequests).singleElement().satisfies(r -> {
            assertThat(r.sid()).isEqualTo(sid);
            assertThat(r.pasid()).isEqualTo(42);
        });
        assertThat(w.full.atcContains(42, 0x7fff_0000_0000L)).isTrue();

        // the IOMMU moves the page and invalidates the device's ATC for that PASID
        w.iommu.map(42, 0x7fff_0000_0000L, 0x1000, RAM + 0x30_0000L, PERM_R | PERM_W);
        w.board.endpoints.lookup(sid).atcInvalidate(new AtcInvalidation(sid, 42, true, 0x7fff_0000_0000L, 0x1000, false));
        byte[] back = new byte[data.length];
        assertThat(w.full.dmaRead(42, 0x7fff_0000_0100L, back)).isZero();
        assertThat(back).containsOnly(0); // new page, never written
        assertThat(w.full.atsRequests()).isEqualTo(3);

        // teardown in the order the PCIe rules ask for
        pciDisablePri(pdev);
        pciDisableAts(pdev);
        pciDisablePasid(pdev);
        assertThat(w.full.specViolations()).isEmpty();
        assertThat(w.full.atcEntries()).isZero();
    }

    @Test
    void atsBeforePasidIsVisibleOnTheDevice() {
        PciWorld w = new PciWorld().enumerate();
        PciDev pdev = w.dev(1, 0);
        assertThat(pciEnableAts(pdev, 12)).isZero();
        assertThat(pciEnablePasid(pdev, 0)).isZero(); // ats.c does not check the order...
        assertThat(w.full.specViolations()).hasSize(1); // ...the device records it
    }
}
