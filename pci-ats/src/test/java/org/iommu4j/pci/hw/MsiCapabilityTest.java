package org.iommu4j.pci.hw;

import static org.assertj.core.api.Assertions.assertThat;
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
 * The MSI capability (PCI 3.0 6.8.1) as laid out and as the function uses it: its message is an
 * untranslated upstream write through the IOMMU port, landing on the system bus.
 */
@ExtendWith(NoWarnings.class)
class MsiCapabilityTest {
    static final long IOVA = 0xfee0_0000L;

    private static EndpointFixture fixture(int mmc, boolean addr64, boolean pvm) {
        return new EndpointFixture(PciEndpointCaps.builder().msi(mmc, addr64, pvm).build());
    }

    @Test
    void capabilityIsChainedAfterPcieWithTheArchitectedLayout() {
        PciEndpointModel ep = fixture(2, true, true).ep;
        byte[] c = ep.configSnapshot();
        assertThat(c[0x41] & 0xff).isEqualTo(0x80);                       // PCIe cap -> MSI
        assertThat(c[0x80] & 0xff).isEqualTo(0x05);                       // MSI, last
        assertThat(c[0x81] & 0xff).isZero();
        assertThat(ep.configRead(0x82, 2)).isEqualTo(0x0184);            // PVM, 64-bit, MMC = 2
        ep.configWrite(0x82, 0xffff, 2);
        assertThat(ep.configRead(0x82, 2)).isEqualTo(0x01f5);            // + Enable, MME (RW)
        ep.configWrite(0x84, 0xffffffff, 4);
        assertThat(ep.configRead(0x84, 4)).isEqualTo(0xfffffffc);        // dword-aligned address
        ep.configWrite(0x88, 0xffffffff, 4);
        assertThat(ep.configRead(0x88, 4)).isEqualTo(0xffffffff);        // upper address
        ep.configWrite(0x8c, 0xffffffff, 4);
        assertThat(ep.configRead(0x8c, 4)).isEqualTo(0x0000ffff);        // 16-bit data
        ep.configWrite(0x90, 0xffffffff, 4);
        assertThat(ep.configRead(0x90, 4)).isEqualTo(0xf);               // one Mask bit per vector
        ep.configWrite(0x94, 0xffffffff, 4);
        assertThat(ep.configRead(0x94, 4)).isZero();                     // Pending bits: RO
        ep.reset();
        assertThat(ep.configRead(0x82, 2)).isEqualTo(0x0184);
        assertThat(ep.msiEnabled()).isFalse();
    }

    @Test
    void thirtyTwoBitLayoutWithoutMasking() {
        PciEndpointModel ep = fixture(0, false, false).ep;
        assertThat(ep.configRead(0x82, 2)).isZero();
        ep.configWrite(0x88, 0xffffffff, 4);
        assertThat(ep.configRead(0x88, 4)).isEqualTo(0x0000ffff);        // data at 0x08
        ep.configWrite(0x82, 0xffff, 2);
        assertThat(ep.msiVectorsEnabled()).isEqualTo(1);                 // MME 7 > MMC 0: one vector
        assertThat(new PciEndpointModel("none", PciEndpointCaps.builder().build()).raiseMsi(0)).isEqualTo(-EINVAL);
    }

    @Test
    void vectorNIsAWriteOfDataOrNThroughTheUpstreamPortToTheDoorbell() {
        EndpointFixture f = fixture(2, true, true);
        long doorbell = f.board.msi.doorbellAddress();
        int data = f.board.msi.allocateDataBlock(4);
        int virq = f.board.irqs.allocVirqs(4);
        for (int i = 0; i < 4; i++) {
            f.board.msi.route(data + i, virq + i);
            f.board.irqs.requestIrq(virq + i, (irq, id) -> IrqHandler.IRQ_HANDLED, 0, "msi", null);
        }
        f.iommu.map(NO_SSID, IOVA, 0x1000, doorbell & ~0xfffL, DmaResult.PERM_W);
        PciEndpointModel ep = f.ep;
        int cap = ep.msiCapOffset();
        ep.configWrite(cap + MSI_ADDR_LO, (int) (IOVA + (doorbell & 0xfff)), 4);
        ep.configWrite(cap + MSI_DATA_64, data, 2);

        // MSI Enable clear: nothing goes upstream
        assertThat(ep.raiseMsi(0)).isEqualTo(-EPERM);
        assertThat(f.iommu.seen).isEmpty();

        ep.configWrite(cap + MSI_CTRL, MSI_CTRL_ENABLE | 2 << MSI_CTRL_MME_SHIFT, 2);
        assertThat(ep.raiseMsi(3)).isZero();
        assertThat(f.iommu.seen).containsExactly(new FakeUpstreamPort.Seen(EndpointFixture.SID, NO_SSID,
                IOVA + (doorbell & 0xfff), 4, ACC_WRITE, false, false));
        f.board.irqs.quiesce();
        assertThat(f.board.irqs.count(virq + 3)).isEqualTo(1);
        assertThat(f.board.irqs.count(virq)).isZero();
        assertThat(ep.raiseMsi(4)).isEqualTo(-EINVAL);

        // masked: Pending set, nothing sent; unmasking sends it
        ep.configWrite(cap + MSI_MASK_64, 1 << 1, 4);
        assertThat(ep.raiseMsi(1)).isEqualTo(PciEndpointModel.MSI_PENDING);
        assertThat(ep.configRead(cap + MSI_PENDING_64, 4)).isEqualTo(1 << 1);
        assertThat(f.iommu.seen).hasSize(1);
        ep.configWrite(cap + MSI_MASK_64, 0, 4);
        assertThat(ep.configRead(cap + MSI_PENDING_64, 4)).isZero();
        f.board.irqs.quiesce();
        assertThat(f.board.irqs.count(virq + 1)).isEqualTo(1);
        assertThat(ep.msiSent()).isEqualTo(2);

        // Bus Master Enable clear: no memory writes at all
        ep.configWrite(CFG_COMMAND, CMD_MEMORY, 2);
        assertThat(ep.raiseMsi(0)).isEqualTo(-EPERM);
    }

    @Test
    void unmappedAddressFaultsAndRaisesNothing() {
        EndpointFixture f = fixture(0, true, false);
        int data = f.board.msi.allocateDataBlock(1);
        int virq = f.board.irqs.allocVirqs(1);
        f.board.msi.route(data, virq);
        f.board.irqs.requestIrq(virq, (irq, id) -> IrqHandler.IRQ_HANDLED, 0, "msi", null);
        PciEndpointModel ep = f.ep;
        int cap = ep.msiCapOffset();
        ep.configWrite(cap + MSI_ADDR_LO, (int) f.board.msi.doorbellAddress(), 4);
        ep.configWrite(cap + MSI_DATA_64, data, 2);
        ep.configWrite(cap + MSI_CTRL, MSI_CTRL_ENABLE, 2);
        assertThat(ep.raiseMsi(0)).isEqualTo(-EFAULT);
        assertThat(ep.lastMsiFaultAddr()).isEqualTo(f.board.msi.doorbellAddress());
        assertThat(ep.lastMsiFaultReason()).isEqualTo(FakeUpstreamPort.F_TRANSLATION);
        assertThat(ep.msiFaults()).isEqualTo(1);
        f.board.irqs.quiesce();
        assertThat(f.board.irqs.count(virq)).isZero();

        // translated to an address nothing answers: a completer abort, still -EFAULT
        f.iommu.map(NO_SSID, IOVA, 0x1000, 0x1000_0000L, DmaResult.PERM_W);
        ep.configWrite(cap + MSI_ADDR_LO, (int) IOVA, 4);
        assertThat(ep.raiseMsi(0)).isEqualTo(-EFAULT);
    }

    @Test
    void messageToRamIsAPlainDwordWrite() {
        EndpointFixture f = fixture(3, true, false);
        long page = EndpointFixture.RAM + 0x10000;
        f.iommu.map(NO_SSID, IOVA, 0x1000, page, DmaResult.PERM_W);
        PciEndpointModel ep = f.ep;
        int cap = ep.msiCapOffset();
        ep.configWrite(cap + MSI_ADDR_LO, (int) IOVA + 0x20, 4);
        ep.configWrite(cap + MSI_DATA_64, 0xab07, 2);  // low MME bits are the function's: replaced
        ep.configWrite(cap + MSI_CTRL, MSI_CTRL_ENABLE | 3 << MSI_CTRL_MME_SHIFT, 2);
        f.board.mem.writel(page + 0x20, -1);
        assertThat(ep.raiseMsi(5)).isZero();
        assertThat(f.board.mem.readl(page + 0x20)).isEqualTo(0xab05);
    }
}
