package org.iommu4j.pci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.base.Errno.EFAULT;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.EPERM;
import static org.iommu4j.base.hw.DmaTransaction.ACC_WRITE;
import static org.iommu4j.base.hw.DmaTransaction.NO_SSID;
import static org.iommu4j.pci.hw.PcieSpec.*;

import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.IrqHandler;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The MSI-X capability (PCI 3.0 6.8.2): its registers, the Table and PBA in BAR 1 as QEMU lays
 * them out (Table at 0, PBA at 0x800 of a 4 KiB BAR), masking and pending, and messages sent
 * through the upstream port like MSI writes.
 */
@ExtendWith(NoWarnings.class)
class MsixCapabilityTest {
    static final long IOVA = 0xfee0_0000L;
    static final long PBA = 0x800;

    static PciEndpointCaps.Builder caps(int vectors) {
        return PciEndpointCaps.builder().noPasid().noAts().noPri().bar(PciBar.mem32(1, 0x1000, false))
                .bar(PciBar.mem64(4, 0x4000, true)).msix(vectors, 1, 0, 1, PBA);
    }

    final EndpointFixture f = new EndpointFixture(caps(3).build());
    final PciEndpointModel ep = f.ep;
    final int cap = ep.msixCapOffset();

    private void entry(int v, long addr, int data, int ctrl) {
        ep.barWrite(1, v * 16L, addr, 8);
        ep.barWrite(1, v * 16L + 8, data, 4);
        ep.barWrite(1, v * 16L + 12, ctrl, 4);
    }

    @Test
    void capabilityLayoutAndRegisters() {
        byte[] c = ep.configSnapshot();
        assertThat(c[0x41] & 0xff).isEqualTo(0x98);                        // PCIe -> MSI-X (no MSI)
        assertThat(c[0x98] & 0xff).isEqualTo(CAP_ID_MSIX);
        assertThat(c[0x99] & 0xff).isZero();
        assertThat(ep.configRead(cap + MSIX_CTRL, 2)).isEqualTo(2);         // Table Size = N - 1
        assertThat(ep.configRead(cap + MSIX_TABLE, 4)).isEqualTo(0x1);      // BIR 1, offset 0
        assertThat(ep.configRead(cap + MSIX_PBA, 4)).isEqualTo(0x801);      // BIR 1, offset 0x800
        ep.configWrite(cap + MSIX_CTRL, 0xffff, 2);
        assertThat(ep.configRead(cap + MSIX_CTRL, 2)).isEqualTo(0xc002);    // Enable and Function Mask only
        ep.configWrite(cap + MSIX_TABLE, 0xffffffff, 4);
        assertThat(ep.configRead(cap + MSIX_TABLE, 4)).isEqualTo(0x1);      // read-only
        PciEndpointModel both = new PciEndpointModel("both", caps(1).msi(0, true, false).build());
        assertThat(both.configSnapshot()[0x81] & 0xff).isEqualTo(0x98);    // PCIe -> MSI -> MSI-X
    }

    @Test
    void tableEntriesReadBackAndResetMasked() {
        for (int v = 0; v < 3; v++) {
            assertThat(ep.barRead(1, v * 16L + 12, 4)).as("vector %d", v).isEqualTo(1);
        }
        entry(1, 0x1_2345_6787L, 0xdead_beef, 0xffff_fffe);
        assertThat(ep.barRead(1, 16, 4)).isEqualTo(0x2345_6784L);           // bits 1:0 read 0
        assertThat(ep.barRead(1, 20, 4)).isEqualTo(0x1L);
        assertThat(ep.barRead(1, 16, 8)).isEqualTo(0x1_2345_6784L);
        assertThat(ep.barRead(1, 24, 4)).isEqualTo(0xdead_beefL);
        assertThat(ep.barRead(1, 28, 4)).isZero();                          // reserved bits read 0
        assertThat(ep.barRead(1, 0x30, 4)).isZero();                        // past the table: the BAR's other registers
        ep.reset();
        assertThat(ep.barRead(1, 16, 8)).isZero();
        assertThat(ep.barRead(1, 28, 4)).isEqualTo(1);
    }

    @Test
    void badAccessesAreDroppedAndRecorded() {
        entry(0, 0x1000, 7, 0);
        ep.barWrite(1, 8, 0x55, 2);                                        // a word: undefined
        ep.barWrite(1, 9, 0x55, 1);
        ep.barWrite(1, 4, 0x55, 8);                                        // a misaligned QWORD
        assertThat(ep.barRead(1, 8, 4)).isEqualTo(7);
        assertThat(ep.barRead(1, 8, 2)).isEqualTo(0xffff);
        ep.barWrite(1, PBA, -1L, 8);                                       // the PBA is read-only
        assertThat(ep.barRead(1, PBA, 8)).isZero();
        assertThat(ep.specViolations()).hasSize(4);
        assertThatThrownBy(() -> caps(129).build()).hasMessageContaining("overlap");
        assertThatThrownBy(() -> caps(3).msix(300, 1, 0, 1, PBA).build()).hasMessageContaining("inside BAR 1");
        assertThatThrownBy(() -> caps(3).msix(2, 2, 0, 1, PBA).build()).hasMessageContaining("no memory BAR");
        assertThatThrownBy(() -> caps(3).msix(2, 1, 4, 1, PBA).build()).hasMessageContaining("QWORD-aligned");
        assertThatThrownBy(() -> caps(3).msix(0, 1, 0, 1, PBA).build()).hasMessageContaining("not in 1..2048");
    }

    /** Doorbell routing for vectors: data -> virq; returns the first virq. */
    private int doorbell(int[] data, int n) {
        data[0] = f.board.msi.allocateDataBlock(Integer.highestOneBit(n - 1) << 1);
        int virq = f.board.irqs.allocVirqs(n);
        for (int i = 0; i < n; i++) {
            f.board.msi.route(data[0] + i, virq + i);
            f.board.irqs.requestIrq(virq + i, (irq, id) -> IrqHandler.IRQ_HANDLED, 0, "msix", null);
        }
        f.iommu.map(NO_SSID, IOVA, 0x1000, f.board.msi.doorbellAddress() & ~0xfffL, DmaResult.PERM_W);
        return virq;
    }

    @Test
    void maskedVectorGoesPendingAndIsSentWhenUnmasked() {
        int[] data = new int[1];
        int virq = doorbell(data, 3);
        long addr = IOVA + (f.board.msi.doorbellAddress() & 0xfff);
        for (int v = 0; v < 3; v++) {
            entry(v, addr, data[0] + v, 1);
        }
        assertThat(ep.raiseMsix(0)).isEqualTo(-EPERM);                     // MSI-X Enable clear
        ep.configWrite(cap + MSIX_CTRL, MSIX_CTRL_ENABLE, 2);
        assertThat(ep.raiseMsix(2)).isEqualTo(PciEndpointModel.MSI_PENDING);  // its Mask bit is set
        assertThat(ep.barRead(1, PBA, 4)).isEqualTo(1 << 2);
        assertThat(f.iommu.seen).isEmpty();
        ep.barWrite(1, 2 * 16 + 12, 0, 4);                                 // unmask: sent now
        assertThat(ep.barRead(1, PBA, 8)).isZero();
        assertThat(f.iommu.seen).containsExactly(new FakeUpstreamPort.Seen(EndpointFixture.SID, NO_SSID, addr, 4,
                ACC_WRITE, false, false));
        f.board.irqs.quiesce();
        assertThat(f.board.irqs.count(virq + 2)).isEqualTo(1);
        assertThat(ep.raiseMsix(2)).isZero();
        f.board.irqs.quiesce();
        assertThat(f.board.irqs.count(virq + 2)).isEqualTo(2);
        assertThat(ep.raiseMsix(3)).isEqualTo(-EINVAL);                    // beyond Table Size
        assertThat(ep.raiseMsix(-1)).isEqualTo(-EINVAL);
    }

    @Test
    void functionMaskHoldsEveryVector() {
        int[] data = new int[1];
        int virq = doorbell(data, 3);
        long addr = IOVA + (f.board.msi.doorbellAddress() & 0xfff);
        for (int v = 0; v < 3; v++) {
            entry(v, addr, data[0] + v, 0);
        }
        ep.configWrite(cap + MSIX_CTRL, MSIX_CTRL_ENABLE | MSIX_CTRL_FUNCTION_MASK, 2);
        assertThat(ep.raiseMsix(0)).isEqualTo(PciEndpointModel.MSI_PENDING);
        assertThat(ep.raiseMsix(1)).isEqualTo(PciEndpointModel.MSI_PENDING);
        ep.barWrite(1, 12, 1, 4);                                          // vector 0 masked itself too
        assertThat(ep.msixPending(0)).isTrue();
        ep.configWrite(cap + MSIX_CTRL, MSIX_CTRL_ENABLE, 2);              // Function Mask off: 1 goes
        f.board.irqs.quiesce();
        assertThat(f.board.irqs.count(virq + 1)).isEqualTo(1);
        assertThat(f.board.irqs.count(virq)).isZero();
        assertThat(ep.msixPending(0)).isTrue();
        assertThat(ep.msixPending(1)).isFalse();
        ep.barWrite(1, 8, (long) 0x1 << 32 | (data[0]), 8);                // QWORD: data and Vector Control
        assertThat(ep.msixPending(0)).isTrue();                            // still masked
        ep.barWrite(1, 12, 0, 4);
        f.board.irqs.quiesce();
        assertThat(f.board.irqs.count(virq)).isEqualTo(1);
        assertThat(ep.msiSent()).isEqualTo(2);
    }

    @Test
    void unmappedDoorbellFaultsAndRaisesNothing() {
        int data = f.board.msi.allocateDataBlock(1);
        int virq = f.board.irqs.allocVirqs(1);
        f.board.msi.route(data, virq);
        f.board.irqs.requestIrq(virq, (irq, id) -> IrqHandler.IRQ_HANDLED, 0, "msix", null);
        entry(0, IOVA, data, 0);
        ep.configWrite(cap + MSIX_CTRL, MSIX_CTRL_ENABLE, 2);
        assertThat(ep.raiseMsix(0)).isEqualTo(-EFAULT);
        assertThat(ep.lastMsiFaultAddr()).isEqualTo(IOVA);
        assertThat(ep.lastMsiFaultReason()).isEqualTo(FakeUpstreamPort.F_TRANSLATION);
        f.board.irqs.quiesce();
        assertThat(f.board.irqs.count(virq)).isZero();
        ep.configWrite(CFG_COMMAND, CMD_MEMORY, 2);                         // Bus Master Enable off
        assertThat(ep.raiseMsix(0)).isEqualTo(-EPERM);
    }

    @Test
    void tableIsReachedThroughTheHostBridgeWindow() {
        PciHostBridgeModel hb = new PciHostBridgeModel("pcie");
        PciEndpointModel m = hb.add(1, "m", caps(3).build());
        org.iommu4j.base.hw.MmioBus mmio = new org.iommu4j.base.hw.MmioBus();
        hb.mapWindow(mmio, 0x1000_0000L, 0x100_0000L, 0x1000_0000L, false);
        m.configWrite(CFG_BAR0 + 4, 0x1000_0000, 4);
        m.configWrite(CFG_COMMAND, CMD_MEMORY, 2);
        mmio.write(0x1000_0010L, 0xfee0_0040L, 8);
        mmio.write(0x1000_0018L, 0x21, 4);
        assertThat(mmio.read(0x1000_0010L, 4)).isEqualTo(0xfee0_0040L);
        assertThat(mmio.read(0x1000_0018L, 4)).isEqualTo(0x21L);
        assertThat(mmio.read(0x1000_001cL, 4)).isEqualTo(1L);
        assertThat(mmio.read(0x1000_0800L, 8)).isZero();
        m.configWrite(CFG_COMMAND, 0, 2);
        assertThat(mmio.read(0x1000_0018L, 4)).isEqualTo(0xffffffffL);     // decode off
    }
}
