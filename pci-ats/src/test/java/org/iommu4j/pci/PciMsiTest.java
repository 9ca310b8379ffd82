package org.iommu4j.pci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.EIO;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.base.Errno.ERANGE;
import static org.iommu4j.pci.PciRegs.*;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.irq.MsiDesc;
import org.iommu4j.base.irq.MsiDomain;
import org.iommu4j.base.irq.MsiMsg;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.pci.hw.FakeUpstreamPort;
import org.iommu4j.pci.hw.PciEndpointCaps;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.pci.hw.PciHostBridgeModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** drivers/pci/msi.c against the MSI capability of the device model, over a recording parent domain. */
@ExtendWith(NoWarnings.class)
class PciMsiTest {
    static final long ECAM = 0x40_1000_0000L;
    static final long DOORBELL = 0x0809_0040L;

    /** A parent that hands out data = 0x100 + event and records what it was asked. */
    static final class Parent implements MsiDomain.ParentDomain {
        final List<String> log = new ArrayList<>();
        int failAlloc;
        int next;
        /** Upper half of the composed Message Address (a doorbell above 4 GiB when non-zero). */
        int addressHi;

        @Override
        public int alloc(MsiDomain domain, int virq, int nrIrqs, MsiDomain.MsiAllocInfo arg) {
            log.add("alloc " + nrIrqs);
            return failAlloc;
        }

        @Override
        public void free(MsiDomain domain, int virq, int nrIrqs) {
            log.add("free " + nrIrqs);
        }

        @Override
        public void irqComposeMsiMsg(int virq, MsiDesc desc, MsiMsg msg) {
            msg.addressLo = (int) DOORBELL;
            msg.addressHi = addressHi;
            msg.data = 0x100 + (virq - desc.irq);
        }
    }

    final Board board = Board.withRam(16 << 20);
    final PciHostBridgeModel hb = new PciHostBridgeModel("pcie", 0, 0);
    final PciEndpointModel ep4;
    final PciEndpointModel plain;
    final PciEndpointModel ep32;
    final Parent parent = new Parent();
    final Pci pci = new Pci();
    final PciDev dev;
    final PciDev noMsi;
    final PciDev msi32;

    PciMsiTest() {
        ep4 = hb.add(1, "msi4", PciEndpointCaps.builder().msi(2, true, true).build());
        plain = hb.add(2, "plain", PciEndpointCaps.builder().build());
        ep32 = hb.add(3, "msi32", PciEndpointCaps.builder().msi(0, false, false).build());
        hb.mapEcam(board.mmio, ECAM);
        for (PciEndpointModel ep : hb.endpoints()) {
            ep.plug(board, new FakeUpstreamPort(), ep.requesterId());
        }
        pci.pciHostCommonProbe(board.mmio, ECAM, 0, 0);
        dev = pci.pciGetDomainBusAndSlot(0, 0, Pci.PCI_DEVFN(1, 0));
        noMsi = pci.pciGetDomainBusAndSlot(0, 0, Pci.PCI_DEVFN(2, 0));
        msi32 = pci.pciGetDomainBusAndSlot(0, 0, Pci.PCI_DEVFN(3, 0));
        MsiDomain d = PciMsi.pciMsiCreateIrqDomain("test", (dom, dv, nvec, arg) -> {
            parent.log.add("prepare " + nvec);
            return 0;
        }, parent, board.irqs);
        dev.msiDomain = d;
        noMsi.msiDomain = d;
        msi32.msiDomain = d;
    }

    /**
     * pci_msi_init marks a function whose MSI capability lacks 64 bit Address Capable as
     * no_64bit_msi; msi_capability_init's msi_verify_entries then refuses a message above 4 GiB
     * with -EIO, frees the vectors and leaves MSI Enable clear (rather than programming only the
     * low half of the address, which would send the interrupt elsewhere).
     */
    @Test
    void aThirtyTwoBitCapabilityRefusesAMessageAboveFourGib() {
        assertThat(msi32.no64bitMsi).isTrue();
        assertThat(dev.no64bitMsi).isFalse();
        assertThat(noMsi.no64bitMsi).isFalse();

        parent.addressHi = 0x1;
        assertThat(PciMsi.pciEnableMsi(msi32)).isEqualTo(-EIO);
        assertThat(parent.log).containsExactly("prepare 1", "alloc 1", "free 1");
        assertThat(msi32.msiEnabled).isFalse();
        assertThat(msi32.msiList).isEmpty();
        assertThat(msi32.irq).isZero();
        assertThat(Pci.pciReadConfigWord(msi32, msi32.msiCap + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE).isZero();
        assertThat(ep32.msiEnabled()).isFalse();
        assertThat(Pci.pciReadConfigWord(msi32, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE).isZero();

        // a 64-bit capable function takes the same message
        assertThat(PciMsi.pciEnableMsi(dev)).isZero();
        assertThat(Pci.pciReadConfigDword(dev, dev.msiCap + PCI_MSI_ADDRESS_HI)).isEqualTo(1);
        PciMsi.pciDisableMsi(dev);

        // and a doorbell below 4 GiB is fine for the 32-bit one
        parent.addressHi = 0;
        parent.log.clear();
        assertThat(PciMsi.pciEnableMsi(msi32)).isZero();
        assertThat(Pci.pciReadConfigDword(msi32, msi32.msiCap + PCI_MSI_ADDRESS_LO)).isEqualTo((int) DOORBELL);
        assertThat(ep32.msiEnabled()).isTrue();
        PciMsi.pciDisableMsi(msi32);
    }

    @Test
    void enumerationFindsTheCapability() {
        assertThat(dev.msiCap).isEqualTo(0x80);
        assertThat(noMsi.msiCap).isZero();
        assertThat(PciMsi.pciMsiVecCount(dev)).isEqualTo(4);
        assertThat(PciMsi.pciMsiVecCount(noMsi)).isEqualTo(-EINVAL);
    }

    @Test
    void allocProgramsTheFirstVectorsMessageThenEnables() {
        assertThat(PciMsi.pciAllocIrqVectors(dev, 1, 3, PciMsi.PCI_IRQ_MSI)).isEqualTo(3);
        assertThat(parent.log).containsExactly("prepare 3", "alloc 3");
        MsiDesc desc = MsiDesc.firstMsiEntry(dev);
        assertThat(desc.nvecUsed).isEqualTo(3);
        assertThat(desc.msiAttribMultiple).isEqualTo(2);     // 3 rounded up to 4
        assertThat(desc.msiAttribCanMask).isTrue();
        int pos = dev.msiCap;
        // Enable | MME 2 | MMC 2 | 64-bit | maskable
        assertThat(Pci.pciReadConfigWord(dev, pos + PCI_MSI_FLAGS)).isEqualTo(0x1a5);
        assertThat(Pci.pciReadConfigDword(dev, pos + PCI_MSI_ADDRESS_LO)).isEqualTo((int) DOORBELL);
        assertThat(Pci.pciReadConfigWord(dev, pos + PCI_MSI_DATA_64)).isEqualTo(0x100); // vector 0's only
        assertThat(Pci.pciReadConfigDword(dev, pos + PCI_MSI_MASK_64)).isEqualTo(0xf);  // all masked
        assertThat(Pci.pciReadConfigWord(dev, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE).isNotZero();
        assertThat(ep4.msiEnabled()).isTrue();
        assertThat(ep4.msiVectorsEnabled()).isEqualTo(4);
        assertThat(PciMsi.pciIrqVector(dev, 2)).isEqualTo(dev.irq + 2);

        // request_irq unmasks its vector (irq_startup), free_irq masks it again
        int v1 = PciMsi.pciIrqVector(dev, 1);
        assertThat(board.irqs.requestIrq(v1, (i, id) -> 1, 0, "v1", dev)).isZero();
        assertThat(Pci.pciReadConfigDword(dev, pos + PCI_MSI_MASK_64)).isEqualTo(0xd);
        board.irqs.freeIrq(v1, dev);
        assertThat(Pci.pciReadConfigDword(dev, pos + PCI_MSI_MASK_64)).isEqualTo(0xf);

        PciMsi.pciFreeIrqVectors(dev);
        assertThat(parent.log).endsWith("free 3");
        assertThat(dev.msiEnabled).isFalse();
        assertThat(dev.msiList).isEmpty();
        assertThat(Pci.pciReadConfigWord(dev, pos + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE).isZero();
        assertThat(Pci.pciReadConfigDword(dev, pos + PCI_MSI_MASK_64)).isZero();        // left unmasked
        assertThat(Pci.pciReadConfigWord(dev, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE).isZero();
        assertThat(dev.irq).isZero();
    }

    @Test
    void badRequestsGetTheKernelsErrors() {
        assertThat(PciMsi.pciAllocIrqVectors(noMsi, 1, 1, PciMsi.PCI_IRQ_MSI)).isEqualTo(-EINVAL);
        assertThat(PciMsi.pciAllocIrqVectors(dev, 0, 1, PciMsi.PCI_IRQ_MSI)).isEqualTo(-EINVAL);
        assertThat(PciMsi.pciAllocIrqVectors(dev, 2, 1, PciMsi.PCI_IRQ_MSI)).isEqualTo(-ERANGE);
        assertThat(PciMsi.pciAllocIrqVectors(dev, 8, 8, PciMsi.PCI_IRQ_MSI)).isEqualTo(-ENOSPC);
        // no MSI-X capability: pci_msix_vec_count says -EINVAL, and that is what comes back
        assertThat(PciMsi.pciAllocIrqVectors(dev, 1, 1, PciMsi.PCI_IRQ_MSIX)).isEqualTo(-EINVAL);
        pci.pciMsiEnable = false;
        assertThat(PciMsi.pciEnableMsi(dev)).isEqualTo(-EINVAL);
        pci.pciMsiEnable = true;
        assertThat(parent.log).isEmpty();
        assertThat(PciMsi.pciEnableMsi(dev)).isZero();
        assertThat(org.iommu4j.base.Warn.drain()).isEmpty();
        assertThat(PciMsi.pciEnableMsi(dev)).isEqualTo(-EINVAL);     // already on: WARN_ON_ONCE
        assertThat(org.iommu4j.base.Warn.drain()).hasSizeLessThanOrEqualTo(1);
    }

    @Test
    void aParentFailureIsEnospcAndMultiMsiRetriesWithOneVector() {
        parent.failAlloc = -ENOMEM;
        assertThat(PciMsi.pciAllocIrqVectors(dev, 1, 4, PciMsi.PCI_IRQ_MSI)).isEqualTo(-ENOSPC);
        assertThat(parent.log).containsExactly("prepare 4", "alloc 4", "prepare 1", "alloc 1");
        assertThat(dev.msiEnabled).isFalse();
        assertThat(dev.msiList).isEmpty();
        assertThat(Pci.pciReadConfigDword(dev, dev.msiCap + PCI_MSI_MASK_64)).isZero();

        parent.log.clear();
        assertThat(PciMsi.pciAllocIrqVectors(dev, 2, 4, PciMsi.PCI_IRQ_MSI)).isEqualTo(-ENOSPC);
        assertThat(parent.log).containsExactly("prepare 4", "alloc 4");

        parent.failAlloc = 0;
        parent.log.clear();
        assertThat(PciMsi.pciAllocIrqVectors(dev, 1, 4, PciMsi.PCI_IRQ_MSI)).isEqualTo(4);
    }

    @Test
    void aDomainWithoutMultiMsiGetsOneVector() {
        MsiDomain single = new MsiDomain("single", MsiDomain.MSI_FLAG_ACTIVATE_EARLY, dev.msiDomain.ops,
                dev.msiDomain.chip, parent, board.irqs);
        dev.msiDomain = single;
        assertThat(PciMsi.pciAllocIrqVectors(dev, 1, 4, PciMsi.PCI_IRQ_MSI)).isEqualTo(1);
        assertThat(parent.log).containsExactly("prepare 1", "alloc 1");
        Device d = dev;
        assertThat(d.msiList).hasSize(1);
    }
}
