package org.iommu4j.pci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.base.Errno.ERANGE;
import static org.iommu4j.pci.PciMsi.*;
import static org.iommu4j.pci.PciRegs.*;

import org.iommu4j.base.Warn;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.irq.MsiDesc;
import org.iommu4j.base.irq.MsiDomain;
import org.iommu4j.base.irq.MsiMsg;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.pci.hw.FakeUpstreamPort;
import org.iommu4j.pci.hw.PciBar;
import org.iommu4j.pci.hw.PciEndpointCaps;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.pci.hw.PciHostBridgeModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The MSI-X half of drivers/pci/msi.c against the device model's MSI-X Table, reached through
 * the BAR the PCI core assigned: allocation, the messages in the Table, masking, the MSI-X before
 * MSI order of pci_alloc_irq_vectors and its error codes.
 */
@ExtendWith(NoWarnings.class)
class PciMsixTest {
    static final long ECAM = 0x40_1000_0000L;
    final Board board = Board.withRam(1 << 20);
    final PciHostBridgeModel hb = new PciHostBridgeModel("pcie", 0, 0);
    final PciMsiTest.Parent parent = new PciMsiTest.Parent();
    final Pci pci = new Pci();
    final PciEndpointModel both;
    final PciEndpointModel msiOnly;
    final PciDev dev;
    final PciDev msiDev;

    PciMsixTest() {
        both = hb.add(1, "both", PciEndpointCaps.builder().noPasid().noAts().noPri().msi(2, true, true)
                .bar(PciBar.mem32(1, 0x1000, false)).msix(3, 1, 0, 1, 0x800).build());
        msiOnly = hb.add(2, "msi", PciEndpointCaps.builder().noPasid().noAts().noPri().msi(0, true, false).build());
        hb.mapEcam(board.mmio, ECAM);
        hb.mapWindow(board.mmio, 0x1000_0000L, 0x1000_0000L, 0x1000_0000L, false);
        for (PciEndpointModel ep : hb.endpoints()) {
            ep.plug(board, new FakeUpstreamPort(), ep.requesterId());
        }
        PciHostBridge bridge = Pci.pciAllocHostBridge();
        Pci.pciAddResource(bridge.windows, new Resource("busn", 0, 0, Resource.IORESOURCE_BUS));
        Pci.pciAddResource(bridge.windows, new Resource("mem", 0x1000_0000L, 0x1fff_ffffL, Resource.IORESOURCE_MEM));
        pci.pciHostCommonProbe(bridge, board.mmio, ECAM);
        dev = pci.pciGetDomainBusAndSlot(0, 0, Pci.PCI_DEVFN(1, 0));
        msiDev = pci.pciGetDomainBusAndSlot(0, 0, Pci.PCI_DEVFN(2, 0));
        MsiDomain d = pciMsiCreateIrqDomain("test", (dom, dv, nvec, arg) -> {
            parent.log.add("prepare " + nvec);
            return 0;
        }, parent, board.irqs);
        dev.msiDomain = d;
        msiDev.msiDomain = d;
        assertThat(Pci.pciEnableDevice(dev)).isZero();
        Pci.pciSetMaster(dev);
    }

    private long table(int v, int field) {
        return both.barRead(1, v * 16L + field, 4);
    }

    @Test
    void vectorCountComesFromTableSize() {
        assertThat(dev.msixCap).isEqualTo(0x98);
        assertThat(pciMsixVecCount(dev)).isEqualTo(3);
        assertThat(pciMsixVecCount(msiDev)).isEqualTo(-EINVAL);
    }

    @Test
    void msixComesBeforeMsiAndTheMessagesLandInTheTable() {
        int n = pciAllocIrqVectors(dev, 1, 2, PCI_IRQ_MSI | PCI_IRQ_MSIX);
        assertThat(n).isEqualTo(2);
        assertThat(dev.msixEnabled).isTrue();
        assertThat(dev.msiEnabled).isFalse();
        assertThat(both.msixEnabled()).isTrue();
        assertThat(both.msixFunctionMasked()).isFalse();
        assertThat(both.msiEnabled()).isFalse();
        assertThat(parent.log).containsExactly("prepare 2", "alloc 1", "alloc 1");
        for (int v = 0; v < 2; v++) {
            assertThat(table(v, PCI_MSIX_ENTRY_LOWER_ADDR)).isEqualTo(PciMsiTest.DOORBELL);
            assertThat(table(v, PCI_MSIX_ENTRY_DATA)).isEqualTo(0x100);   // each desc is one vector
            assertThat(table(v, PCI_MSIX_ENTRY_VECTOR_CTRL)).isEqualTo(1); // masked until requested
        }
        int virq0 = pciIrqVector(dev, 0);
        int virq1 = pciIrqVector(dev, 1);
        assertThat(virq1).isNotEqualTo(virq0);
        MsiDesc d1 = dev.msiList.get(1);
        assertThat(d1.msiAttribEntryNr).isEqualTo(1);
        assertThat(d1.irq).isEqualTo(virq1);

        // a masked vector goes pending; the chip's unmask clears the Mask bit and sends it
        assertThat(both.raiseMsix(1)).isEqualTo(PciEndpointModel.MSI_PENDING);
        assertThat(both.barRead(1, 0x800, 4)).isEqualTo(2);
        pciMsiUnmaskIrq(virq1, d1);
        assertThat(table(1, PCI_MSIX_ENTRY_VECTOR_CTRL)).isZero();
        assertThat(both.barRead(1, 0x800, 4)).isZero();
        assertThat(both.msiFaults()).isEqualTo(1);                         // the fake IOMMU maps nothing
        pciMsiMaskIrq(virq1, d1);
        assertThat(table(1, PCI_MSIX_ENTRY_VECTOR_CTRL)).isEqualTo(1);

        pciFreeIrqVectors(dev);
        assertThat(dev.msixEnabled).isFalse();
        assertThat(both.msixEnabled()).isFalse();
        assertThat(dev.msiList).isEmpty();
        assertThat(parent.log).endsWith("free 1", "free 1");
    }

    @Test
    void withoutMsixTheFunctionGetsMsi() {
        assertThat(pciAllocIrqVectors(msiDev, 1, 1, PCI_IRQ_MSI | PCI_IRQ_MSIX)).isEqualTo(1);
        assertThat(msiDev.msiEnabled).isTrue();
        assertThat(msiOnly.msiEnabled()).isTrue();
        pciFreeIrqVectors(msiDev);
        assertThat(pciAllocIrqVectors(msiDev, 1, 1, PCI_IRQ_MSIX)).isEqualTo(-EINVAL);
    }

    @Test
    void tooFewVectorsAndBadEntriesAreRefused() {
        assertThat(pciAllocIrqVectors(dev, 4, 8, PCI_IRQ_MSIX)).isEqualTo(-ENOSPC);
        assertThat(pciEnableMsixRange(dev, null, 2, 1)).isEqualTo(-ERANGE);
        assertThat(pciEnableMsixRange(dev, new MsixEntry[] {new MsixEntry(0), new MsixEntry(3)}, 2, 2))
                .isEqualTo(-EINVAL);
        assertThat(pciEnableMsixRange(dev, new MsixEntry[] {new MsixEntry(2), new MsixEntry(2)}, 2, 2))
                .isEqualTo(-EINVAL);
        assertThat(both.msixEnabled()).isFalse();
        assertThat(parent.log).isEmpty();
        // too many asked: cut to what the Table has
        assertThat(pciAllocIrqVectors(dev, 1, 8, PCI_IRQ_MSIX)).isEqualTo(3);
        pciFreeIrqVectors(dev);
        // chosen entries get their virqs back
        MsixEntry[] e = {new MsixEntry(2), new MsixEntry(0)};
        assertThat(pciEnableMsixRange(dev, e, 2, 2)).isEqualTo(2);
        assertThat(e[0].vector).isEqualTo(pciIrqVector(dev, 0));
        assertThat(dev.msiList.get(0).msiAttribEntryNr).isEqualTo(2);
        assertThat(table(2, PCI_MSIX_ENTRY_LOWER_ADDR)).isEqualTo(PciMsiTest.DOORBELL);
        pciDisableMsix(dev);
        // with MSI on, MSI-X is refused
        assertThat(pciAllocIrqVectors(dev, 1, 1, PCI_IRQ_MSI)).isEqualTo(1);
        assertThat(pciAllocIrqVectors(dev, 1, 1, PCI_IRQ_MSIX)).isEqualTo(-EINVAL);
    }

    /**
     * PCI_IRQ_VIRTUAL lets a driver have vectors beyond the Table (never written to the
     * function); __pci_read_msi_msg reads a real entry's message back from the Table and, for a
     * virtual one, WARNs once and leaves the message untouched.
     */
    @Test
    void readingAVirtualEntrysMessageWarnsAndReadsNothing() {
        assertThat(pciAllocIrqVectors(dev, 4, 4, PCI_IRQ_MSIX | PCI_IRQ_VIRTUAL)).isEqualTo(4);
        MsiDesc real = dev.msiList.get(2);
        MsiDesc virt = dev.msiList.get(3);
        assertThat(real.msiAttribIsVirtual).isFalse();
        assertThat(virt.msiAttribIsVirtual).isTrue();
        MsiMsg msg = new MsiMsg();
        __pciReadMsiMsg(real, msg);
        assertThat(msg.addressLo).isEqualTo((int) PciMsiTest.DOORBELL);
        assertThat(msg.data).isEqualTo(0x100);
        assertThat(Warn.drain()).isEmpty();

        MsiMsg untouched = new MsiMsg();
        untouched.addressLo = 0x1234;
        untouched.data = 0x56;
        __pciReadMsiMsg(virt, untouched);
        assertThat(Warn.drain()).hasSize(1);
        assertThat(untouched.addressLo).isEqualTo(0x1234);
        assertThat(untouched.addressHi).isZero();
        assertThat(untouched.data).isEqualTo(0x56);
        pciFreeIrqVectors(dev);
    }

    @Test
    void aTableInAnUnassignedBarIsNoMemory() {
        dev.resource[1].flags |= Resource.IORESOURCE_UNSET;
        assertThat(pciAllocIrqVectors(dev, 1, 1, PCI_IRQ_MSIX)).isEqualTo(-ENOMEM);
        assertThat(both.msixEnabled()).isFalse();
        assertThat(dev.msiList).isEmpty();
        // MSI is still tried when allowed
        assertThat(pciAllocIrqVectors(dev, 1, 1, PCI_IRQ_MSIX | PCI_IRQ_MSI)).isEqualTo(1);
        assertThat(dev.msiEnabled).isTrue();
    }
}
