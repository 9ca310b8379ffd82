package org.iommu4j.pci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.iommu4j.base.hw.DmaTransaction.NO_SSID;

import java.lang.management.ManagementFactory;
import org.iommu4j.base.hw.DmaPort;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The DMA engine's hit paths allocate nothing: measured in bytes allocated by the thread (not
 * time), after a warm-up, with an upstream port that allocates nothing either.
 */
@ExtendWith(NoWarnings.class)
class HotPathAllocationTest {
    /** Identity translation for untranslated, ATS and translated requests alike. */
    static final DmaPort IDENTITY = (txn, res) -> {
        res.ok(txn.addr, DmaResult.PERM_R | DmaResult.PERM_W);
        res.pageSize = 0x1000;
    };

    static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    long bytesPerRun(PciEndpointModel ep, byte[] buf, int runs) {
        for (int i = 0; i < 20_000; i++) {
            assertThat(ep.dma(NO_SSID, EndpointFixture.RAM + 0x10, buf, 0, buf.length, 2)).isZero();
        }
        long before = allocatedBytes();
        for (int i = 0; i < runs; i++) {
            ep.dma(NO_SSID, EndpointFixture.RAM + 0x10, buf, 0, buf.length, 2);
        }
        return allocatedBytes() - before;
    }

    @Test
    void untranslatedAndAtcHitPathsDoNotAllocate() {
        assumeThat(ManagementFactory.getThreadMXBean()).isInstanceOf(com.sun.management.ThreadMXBean.class);
        EndpointFixture f = new EndpointFixture();
        f.ep.plug(f.board.mem, IDENTITY, EndpointFixture.SID);
        byte[] buf = new byte[64];
        // a few stray bytes (JIT deoptimisation bookkeeping) are tolerated; 1 object per DMA is not
        assertThat(bytesPerRun(f.ep, buf, 10_000)).isLessThan(10_000);
        f.ats(0);
        assertThat(bytesPerRun(f.ep, buf, 10_000)).isLessThan(10_000);
        assertThat(f.ep.atcHits()).isGreaterThan(10_000);
    }
}
