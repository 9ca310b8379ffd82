package org.iommu4j.pci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EFAULT;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.EIO;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.EPERM;
import static org.iommu4j.base.hw.DmaResult.PERM_R;
import static org.iommu4j.base.hw.DmaResult.PERM_W;
import static org.iommu4j.base.hw.DmaTransaction.ACC_EXEC;
import static org.iommu4j.base.hw.DmaTransaction.ACC_PRIV;
import static org.iommu4j.base.hw.DmaTransaction.ACC_READ;
import static org.iommu4j.base.hw.DmaTransaction.ACC_WRITE;
import static org.iommu4j.base.hw.DmaTransaction.NO_SSID;
import static org.iommu4j.pci.hw.EndpointFixture.RAM;
import static org.iommu4j.pci.hw.EndpointFixture.SID;
import static org.iommu4j.pci.hw.EndpointFixture.pattern;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.iommu4j.base.hw.DmaPort;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The DMA engine without ATS: untranslated requests, data really moving in PhysMem. */
@ExtendWith(NoWarnings.class)
class DmaEngineTest {
    @Test
    void writeWithoutPasidLandsAtTranslatedAddresses() {
        EndpointFixture f = new EndpointFixture();
        // two IOVA pages mapped to non-contiguous physical pages
        f.iommu.map(NO_SSID, 0x1000_0000L, 0x1000, RAM + 0x5000, PERM_R | PERM_W);
        f.iommu.map(NO_SSID, 0x1000_1000L, 0x1000, RAM + 0x2000, PERM_R | PERM_W);
        byte[] data = pattern(0x1000, 7);
        assertThat(f.ep.dmaWrite(0x1000_0800L, data)).isZero();
        assertThat(f.board.mem.readBytes(RAM + 0x5800, 0x800)).isEqualTo(java.util.Arrays.copyOfRange(data, 0, 0x800));
        assertThat(f.board.mem.readBytes(RAM + 0x2000, 0x800)).isEqualTo(java.util.Arrays.copyOfRange(data, 0x800, 0x1000));
        // split at the 4 KiB boundary: two transactions, StreamID and no SSID
        assertThat(f.iommu.seen).extracting(FakeUpstreamPort.Seen::addr, FakeUpstreamPort.Seen::size)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(0x1000_0800L, 0x800),
                        org.assertj.core.groups.Tuple.tuple(0x1000_1000L, 0x800));
        assertThat(f.iommu.seen).allMatch(s -> s.sid() == SID && s.ssid() == NO_SSID && !s.ats()
                && s.access() == ACC_WRITE);
        assertThat(f.ep.lastBytesDone()).isEqualTo(0x1000);
        // and read back
        byte[] back = new byte[0x1000];
        assertThat(f.ep.dmaRead(0x1000_0800L, back)).isZero();
        assertThat(back).isEqualTo(data);
    }

    /** A RAZ/WI termination completes without an error: reads see zeros, writes go nowhere. */
    @Test
    void razWiTerminationReadsZerosAndDropsWrites() {
        EndpointFixture f = new EndpointFixture();
        f.iommu.razWiOnFault = true;
        f.iommu.map(NO_SSID, 0x1000_0000L, 0x1000, RAM + 0x5000, PERM_R | PERM_W);
        f.board.mem.write(RAM + 0x5ff8, new byte[] {9, 9, 9, 9, 9, 9, 9, 9});
        byte[] buf = pattern(0x10, 3);
        // the first half is mapped, the second half (next page) is not
        assertThat(f.ep.dmaRead(0x1000_0ff8L, buf)).isZero();
        assertThat(java.util.Arrays.copyOfRange(buf, 0, 8)).containsOnly(9);
        assertThat(java.util.Arrays.copyOfRange(buf, 8, 16)).containsOnly(0);
        assertThat(f.ep.razWiCompletions()).isEqualTo(1);
        long touched = f.board.mem.touchedFrames();
        assertThat(f.ep.dmaWrite(0x2000_0000L, pattern(0x20, 5))).isZero();
        assertThat(f.board.mem.touchedFrames()).isEqualTo(touched);
        assertThat(f.ep.razWiCompletions()).isEqualTo(2);
        assertThat(f.ep.lastFaultReason()).isEqualTo(FakeUpstreamPort.F_TRANSLATION);
    }

    @Test
    void pasidTaggedDmaUsesThePasidsAddressSpace() {
        EndpointFixture f = new EndpointFixture().pasid(0);
        f.iommu.map(5, 0x8000L, 0x1000, RAM + 0x10000, PERM_R | PERM_W);
        f.iommu.map(6, 0x8000L, 0x1000, RAM + 0x20000, PERM_R | PERM_W);
        assertThat(f.ep.dmaWrite(5, 0x8010L, new byte[] {1, 2, 3})).isZero();
        assertThat(f.ep.dmaWrite(6, 0x8010L, new byte[] {4, 5, 6})).isZero();
        assertThat(f.board.mem.readBytes(RAM + 0x10010, 3)).containsExactly(1, 2, 3);
        assertThat(f.board.mem.readBytes(RAM + 0x20010, 3)).containsExactly(4, 5, 6);
        assertThat(f.iommu.seen).extracting(FakeUpstreamPort.Seen::ssid).containsExactly(5, 6);
        // no mapping without PASID there
        assertThat(f.ep.dmaWrite(0x8010L, new byte[] {9})).isEqualTo(-EFAULT);
        assertThat(f.ep.lastFaultReason()).isEqualTo(FakeUpstreamPort.F_TRANSLATION);
        assertThat(f.ep.lastFaultAddr()).isEqualTo(0x8010L);
    }

    @Test
    void partialTransferStopsAtTheFirstFault() {
        EndpointFixture f = new EndpointFixture();
        f.iommu.map(NO_SSID, 0, 0x1000, RAM, PERM_R | PERM_W);
        assertThat(f.ep.dmaWrite(0x800, pattern(0x1000, 1))).isEqualTo(-EFAULT);
        assertThat(f.ep.lastBytesDone()).isEqualTo(0x800);
        assertThat(f.ep.lastFaultAddr()).isEqualTo(0x1000);
    }

    @Test
    void readOnlyMappingRefusesWrites() {
        EndpointFixture f = new EndpointFixture();
        f.iommu.map(NO_SSID, 0, 0x1000, RAM, PERM_R);
        assertThat(f.ep.dmaWrite(0, new byte[8])).isEqualTo(-EFAULT);
        assertThat(f.ep.lastFaultReason()).isEqualTo(FakeUpstreamPort.F_PERMISSION);
        assertThat(f.ep.dmaRead(0, new byte[8])).isZero();
    }

    @Test
    void refusedRequestsReportErrorsNotExceptions() {
        EndpointFixture f = new EndpointFixture();
        // bus mastering off
        f.ep.configWrite(PcieSpec.CFG_COMMAND, 0, 2);
        assertThat(f.ep.dmaWrite(0, new byte[4])).isEqualTo(-EPERM);
        f.ep.configWrite(PcieSpec.CFG_COMMAND, PcieSpec.CMD_BUS_MASTER, 2);
        // PASID not enabled
        assertThat(f.ep.dmaWrite(1, 0, new byte[4])).isEqualTo(-EINVAL);
        f.pasid(0);
        // PASID beyond the 20-bit width, negative length, both/no directions
        assertThat(f.ep.dmaWrite(1 << 20, 0, new byte[4])).isEqualTo(-EINVAL);
        assertThat(f.ep.dma(NO_SSID, 0, new byte[4], 2, 4, ACC_READ)).isEqualTo(-EINVAL);
        assertThat(f.ep.dma(NO_SSID, 0, new byte[4], 0, 4, ACC_READ | ACC_WRITE)).isEqualTo(-EINVAL);
        assertThat(f.ep.dma(NO_SSID, 0, new byte[4], 0, 4, 0)).isEqualTo(-EINVAL);
        // off + len used to overflow past the check (ArrayIndexOutOfBounds in the copy)
        assertThat(f.ep.dma(NO_SSID, 0, new byte[4], Integer.MAX_VALUE, 1, ACC_READ)).isEqualTo(-EINVAL);
        assertThat(f.ep.dma(NO_SSID, 0, new byte[4], 1, Integer.MAX_VALUE, ACC_WRITE)).isEqualTo(-EINVAL);
        // an address range wrapping past 2^64 is refused before any request
        long sent = f.ep.untranslatedRequests();
        assertThat(f.ep.dma(NO_SSID, -0x800L, new byte[0x1000], 0, 0x1000, ACC_WRITE)).isEqualTo(-EINVAL);
        assertThat(f.ep.lastBytesDone()).isZero();
        assertThat(f.ep.untranslatedRequests()).isEqualTo(sent);
        assertThat(f.ep.dma(NO_SSID, -1L, new byte[0], 0, 0, ACC_READ)).isZero();
        // exec / priv need a PASID and their enable bits
        assertThat(f.ep.dma(NO_SSID, 0, new byte[4], 0, 4, ACC_READ | ACC_EXEC)).isEqualTo(-EINVAL);
        assertThat(f.ep.dma(3, 0, new byte[4], 0, 4, ACC_READ | ACC_EXEC)).isEqualTo(-EINVAL);
        assertThat(f.ep.dma(3, 0, new byte[4], 0, 4, ACC_READ | ACC_PRIV)).isEqualTo(-EINVAL);
        f.ep.configWrite(f.ep.pasidCapOffset() + PcieSpec.PASID_CTRL, 7, 2);
        f.iommu.map(3, 0, 0x1000, RAM, PERM_R | PERM_W | org.iommu4j.base.hw.DmaResult.PERM_X);
        assertThat(f.ep.dma(3, 0, new byte[4], 0, 4, ACC_READ | ACC_EXEC | ACC_PRIV)).isZero();
        assertThat(f.iommu.seen).isNotEmpty();
        // nothing sent upstream for any refused request before it
        assertThat(f.iommu.seen).hasSize(1);
        // translated to an address that is not RAM: completer abort
        f.iommu.map(NO_SSID, 0x2000, 0x1000, 0x1000, PERM_R | PERM_W);
        assertThat(f.ep.dmaRead(0x2000, new byte[4])).isEqualTo(-EFAULT);
        // not plugged
        PciEndpointModel loose = new PciEndpointModel("loose", PciEndpointCaps.builder().build());
        assertThat(loose.dmaRead(0, new byte[4])).isEqualTo(-ENODEV);
    }

    @Test
    void directPortIsIdentity() {
        EndpointFixture f = new EndpointFixture();
        f.ep.plug(f.board, DmaPort.DIRECT, 3);
        assertThat(f.ep.dmaWrite(RAM + 0x3000, new byte[] {42})).isZero();
        assertThat(f.board.mem.readb(RAM + 0x3000)).isEqualTo(42);
        assertThat(f.board.endpoints.lookup(3)).isSameAs(f.ep);
    }

    @Test
    void stalledTransactionRetriedAfterResume() throws Exception {
        EndpointFixture f = new EndpointFixture();
        f.iommu.stallOnFault = true;
        CompletableFuture<Integer> dma = CompletableFuture.supplyAsync(() -> f.ep.dmaWrite(0x7000, new byte[] {1, 2}));
        assertThat(f.iommu.stalled.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(dma).isNotDone();
        f.iommu.map(NO_SSID, 0x7000, 0x1000, RAM + 0x7000, PERM_R | PERM_W);
        f.iommu.lastStall.resolve(true);
        assertThat(dma.get(10, TimeUnit.SECONDS)).isZero();
        assertThat(f.board.mem.readBytes(RAM + 0x7000, 2)).containsExactly(1, 2);
    }

    @Test
    void stalledTransactionTerminated() throws Exception {
        EndpointFixture f = new EndpointFixture();
        f.iommu.stallOnFault = true;
        CompletableFuture<Integer> dma = CompletableFuture.supplyAsync(() -> f.ep.dmaWrite(0x7000, new byte[] {1, 2}));
        assertThat(f.iommu.stalled.await(10, TimeUnit.SECONDS)).isTrue();
        f.iommu.lastStall.resolve(false);
        assertThat(dma.get(10, TimeUnit.SECONDS)).isEqualTo(-EIO);
        assertThat(f.ep.lastBytesDone()).isZero();
    }

    @Test
    void aStallTerminatedRazWiCompletesWithoutAnError() throws Exception {
        EndpointFixture f = new EndpointFixture();
        f.iommu.stallOnFault = true;
        byte[] in = {7, 7, 7};
        CompletableFuture<Integer> dma = CompletableFuture.supplyAsync(() -> f.ep.dmaRead(0x7000, in));
        assertThat(f.iommu.stalled.await(10, TimeUnit.SECONDS)).isTrue();
        f.iommu.lastStall.resolve(DmaResult.StallToken.TERMINATED_RAZ_WI);
        assertThat(dma.get(10, TimeUnit.SECONDS)).isZero();
        assertThat(in).containsOnly(0);
    }

    @Test
    void dmaIsTraced() {
        EndpointFixture f = new EndpointFixture();
        f.iommu.map(NO_SSID, 0, 0x1000, RAM, PERM_R | PERM_W);
        try (var cap = Trace.capture("pcidev:*")) {
            assertThat(f.ep.dmaWrite(0x10, new byte[16])).isZero();
            assertThat(cap.of("pcidev:pcidev_dma")).hasSize(1);
        }
    }

    @Test
    void largeTransferMovesEveryByte() {
        EndpointFixture f = new EndpointFixture();
        f.iommu.map(NO_SSID, 0x100_0000L, 0x40000, RAM + 0x80000, PERM_R | PERM_W);
        byte[] data = pattern(0x40000 - 0x123, 3);
        assertThat(f.ep.dmaWrite(0x100_0123L, data)).isZero();
        assertThat(f.board.mem.readBytes(RAM + 0x80123, data.length)).isEqualTo(data);
        assertThat(f.iommu.seen).hasSize(64);
    }
}
