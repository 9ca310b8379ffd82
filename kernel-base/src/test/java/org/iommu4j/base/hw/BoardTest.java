package org.iommu4j.base.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The board fabric: MSI through the system bus, DVM broadcasts, StreamID wiring, DMA types. */
@ExtendWith(NoWarnings.class)
class BoardTest {
    final Board board = Board.withRamAndItsDoorbell(64L << 20); // asks for the ITS doorbell it tests

    @Test
    void boardGeometry() {
        assertThat(board.mem.ranges()).containsExactly(new PhysMem.Range(0x4000_0000L, 64L << 20));
        assertThat(board.sysbus.mem()).isSameAs(board.mem);
        assertThat(board.sysbus.mmio()).isSameAs(board.mmio);
        assertThat(board.msi.doorbellAddress()).isEqualTo(Board.DEFAULT_MSI_DOORBELL);
        assertThat(board.mmio.find(Board.DEFAULT_MSI_DOORBELL, 4).name()).isEqualTo("its-doorbell");
    }

    /** A board that asks for no doorbell has none: its page is unmapped, so a write there is a bus error. */
    @Test
    void boardWithoutDoorbellMapsNothingThere() {
        Board plain = Board.withRam(1 << 20);
        assertThat(plain.msi).isNull();
        assertThat(plain.mmio.find(Board.DEFAULT_MSI_DOORBELL, 4)).isNull();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> plain.sysbus.write32(Board.DEFAULT_MSI_DOORBELL, 0x1000))
                .isInstanceOf(BusError.class)
                .satisfies(e -> assertThat(((BusError) e).address()).isEqualTo(Board.DEFAULT_MSI_DOORBELL));
    }

    @Test
    void msiWriteThroughTheSystemBusRaisesTheVector() {
        List<MsiController.Vector> msgs = board.msi.allocate(3);
        assertThat(msgs).hasSize(3).extracting(v -> v.msg().address()).containsOnly(Board.DEFAULT_MSI_DOORBELL);
        assertThat(msgs).extracting(v -> v.msg().data).doesNotHaveDuplicates();
        List<Integer> got = new CopyOnWriteArrayList<>();
        for (MsiController.Vector m : msgs) {
            assertThat(board.irqs.requestIrq(m.virq(), (irq, dev) -> {
                got.add(irq);
                return IrqHandler.IRQ_HANDLED;
            }, 0, "msi" + m.virq(), null)).isZero();
        }
        board.sysbus.write32(msgs.get(1).msg().address(), msgs.get(1).msg().data);
        board.irqs.quiesce();
        assertThat(got).containsExactly(msgs.get(1).virq());
        board.sysbus.write64(msgs.get(2).msg().address(), msgs.get(2).msg().data);
        board.irqs.quiesce();
        assertThat(got).containsExactly(msgs.get(1).virq(), msgs.get(2).virq());
        // Unknown data, or another offset in the doorbell page, raises nothing.
        board.sysbus.write32(Board.DEFAULT_MSI_DOORBELL, 0x7777);
        board.sysbus.write32(Board.DEFAULT_MSI_DOORBELL + 4, msgs.get(0).msg().data);
        board.irqs.quiesce();
        assertThat(got).hasSize(2);
        assertThat(board.mmio.read(Board.DEFAULT_MSI_DOORBELL, 4)).isZero();
    }

    @Test
    void systemBusWritesToRamLandInMemory() {
        board.sysbus.write32(0x4000_1000L, 0xfeed_beef);
        board.sysbus.write64(0x4000_1008L, 0x0123_4567_89ab_cdefL);
        assertThat(board.mem.readl(0x4000_1000L)).isEqualTo(0xfeed_beef);
        assertThat(board.mem.readq(0x4000_1008L)).isEqualTo(0x0123_4567_89ab_cdefL);
        assertThatThrownBy(() -> board.sysbus.write32(0x1000, 1)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> board.sysbus.write64(0x1000, 1)).isInstanceOf(BusError.class);
    }

    @Test
    void interconnectBroadcastsReachEveryListenerBeforeReturning() throws Exception {
        List<String> got = new ArrayList<>();
        assertThat(board.interconnect.hasListeners()).isFalse();
        AutoCloseable a = board.interconnect.addListener(op -> got.add("a " + op.kind() + " " + op.asid()));
        AutoCloseable b = board.interconnect.addListener(op -> got.add("b " + op.kind() + " " + Long.toHexString(op.va())));
        assertThat(board.interconnect.hasListeners()).isTrue();
        board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.VA, 5, 0, 0x7f00_0000L, true, 12, 1));
        assertThat(got).containsExactly("a VA 5", "b VA 7f000000");
        a.close();
        board.interconnect.broadcast(new Interconnect.Tlbi(Interconnect.Tlbi.Kind.ASID, 6, 0, 0, false, 12, 0));
        assertThat(got).containsExactly("a VA 5", "b VA 7f000000", "b ASID 0");
        b.close();
        assertThat(board.interconnect.hasListeners()).isFalse();
    }

    @Test
    void endpointRegistry() {
        AtsEndpoint ep = new AtsEndpoint() {
            @Override
            public int atcInvalidate(AtcInvalidation inv) {
                return INV_OK;
            }

            @Override
            public void pageResponse(PageResponse resp) {}
        };
        assertThat(board.endpoints.lookup(0x10)).isNull();
        board.endpoints.register(0x10, ep);
        board.endpoints.register(0xffff_ffff, ep);
        assertThat(board.endpoints.lookup(0x10)).isSameAs(ep);
        assertThat(board.endpoints.lookup(0xffff_ffff)).isSameAs(ep);
        board.endpoints.unregister(0x10);
        assertThat(board.endpoints.lookup(0x10)).isNull();
        assertThat(new AtcInvalidation(1, 0, false, 0, 0, false).all()).isTrue();
        assertThat(new AtcInvalidation(1, 0, false, 0, -1L, false).all()).isTrue();
        assertThat(new AtcInvalidation(1, 0, false, 0x1000, 0x1000, false).all()).isFalse();
    }

    @Test
    void dmaTransactionAndResult() {
        DmaTransaction txn = new DmaTransaction();
        txn.ats = true;
        txn.translated = true;
        txn.set(0x8, 3, 0x1000, 64, DmaTransaction.ACC_WRITE | DmaTransaction.ACC_PRIV);
        assertThat(txn.ats).isFalse();
        assertThat(txn.translated).isFalse();
        assertThat(txn.ssidValid()).isTrue();
        assertThat(txn.isWrite()).isTrue();
        assertThat(txn.isPriv()).isTrue();
        assertThat(txn.isExec()).isFalse();
        assertThat(txn).hasToString("txn{sid=0x8 ssid=0x3 addr=0x1000 size=64 WP}");
        txn.set(0x8, DmaTransaction.NO_SSID, 0x2000, 4, DmaTransaction.ACC_READ | DmaTransaction.ACC_EXEC);
        assertThat(txn.ssidValid()).isFalse();
        assertThat(txn).hasToString("txn{sid=0x8 addr=0x2000 size=4 RX}");

        DmaResult res = new DmaResult();
        DmaPort.DIRECT.translate(txn, res);
        assertThat(res.status).isEqualTo(DmaResult.OK);
        assertThat(res.pa).isEqualTo(0x2000);
        assertThat(res.perm).isEqualTo(DmaResult.PERM_R | DmaResult.PERM_W | DmaResult.PERM_X | DmaResult.PERM_PRIV);
        assertThat(res).hasToString("ok(pa=0x2000 perm=15)");
        res.abort(0x10);
        assertThat(res).hasToString("abort(0x10)");
        res.reset();
        assertThat(res.status).isEqualTo(DmaResult.OK);
        assertThat(res.pa).isZero();
        assertThat(res.faultReason).isZero();
        assertThat(res.pageSize).isEqualTo(4096);
        res.status = DmaResult.ATS_FAULT;
        assertThat(res).hasToString("ats-fault(0x0)");
        res.status = DmaResult.STALLED;
        assertThat(res).hasToString("stalled");
        // translated(): the whole answer of a hit, whatever the object held before
        res.abort(0x10);
        res.stall = new DmaResult.StallToken() {
            @Override
            public boolean await() {
                return false;
            }

            @Override
            public int poll() {
                return 0;
            }
        };
        res.translated(0x5000_0040L, DmaResult.PERM_R, 1L << 21);
        assertThat(res.status).isEqualTo(DmaResult.OK);
        assertThat(res.pa).isEqualTo(0x5000_0040L);
        assertThat(res.perm).isEqualTo(DmaResult.PERM_R);
        assertThat(res.pageSize).isEqualTo(1L << 21);
        assertThat(res.faultReason).isZero();
        assertThat(res.stall).isNull();
        DmaPort.DIRECT.pageRequest(new PageRequest(1, PageRequest.NO_PASID, false, false, false, true, false, 0, 1, true));
    }

    @Test
    void aStopMarkerIsLastWithoutReadOrWriteAndNeedsAPasid() {
        assertThat(new PageRequest(1, 7, true, false, false, false, false, 0, 3, true).stopMarker()).isTrue();
        assertThat(new PageRequest(1, PageRequest.NO_PASID, false, false, false, false, false, 0, 3, true).stopMarker())
                .as("without a PASID: a page request").isFalse();
        assertThat(new PageRequest(1, 7, true, false, false, true, false, 0, 3, true).stopMarker()).isFalse();
        assertThat(new PageRequest(1, 7, true, false, false, false, true, 0, 3, true).stopMarker()).isFalse();
        assertThat(new PageRequest(1, 7, true, false, false, false, false, 0, 3, false).stopMarker()).isFalse();
    }
}
