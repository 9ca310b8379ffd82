package org.iommu4j.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.iommu4j.base.Errno;
import org.iommu4j.base.hw.IrqHandler;
import org.iommu4j.base.irq.MsiDesc;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.iommu.DmaIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuDmaCookie;
import org.iommu4j.iommu.IommuDmaMsiPage;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciMsi;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.pci.hw.PcieSpec;
import org.iommu4j.smmuv3.ArmSmmuV3H;
import org.iommu4j.smmuv3.hw.SmmuEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** PCI MSIs through the SMMU and QEMU virt's GICv2m frame: the doorbell mapped by dma-iommu, or a fault. */
@ExtendWith(NoWarnings.class)
class MsiTest {
    private static int cfg(PciEndpointModel ep, int off, int size) {
        return ep.configRead(ep.msiCapOffset() + off, size);
    }

    private static long msiAddress(PciEndpointModel ep) {
        return MsiDemo.cfgMsiAddress(ep);
    }

    private static long translationFaults(Machine m, int sid, long addr) {
        return m.smmuModel.events().stream()
                .filter(e -> e instanceof SmmuEvent.Translation t && t.f().sid() == sid && t.f().addr() == addr
                        && !t.f().rnw())
                .count();
    }

    @Test
    void msiFromADmaDomainIsTranslatedToTheDoorbellAndRaisesItsVector() {
        try (Machine m = Machine.boot("qemu")) {
            Machine.PciFunction f = m.function(0x8);
            PciDev dev = f.dev();
            PciEndpointModel ep = f.model();
            IommuDomain dom = Iommu.iommu_get_domain_for_dev(dev);
            assertThat(dom.type).isEqualTo(IommuH.IOMMU_DOMAIN_DMA);
            assertThat(dev.msiCap).isEqualTo(ep.msiCapOffset()).isEqualTo(0x80);
            assertThat(PciMsi.pci_msi_vec_count(dev)).isEqualTo(4);

            assertThat(PciMsi.pci_alloc_irq_vectors(dev, 1, 4, PciMsi.PCI_IRQ_MSI)).isEqualTo(4);
            assertThat(dev.msiEnabled).isTrue();
            assertThat(ep.msiEnabled()).isTrue();
            // Message Control: Enable, MMC = 2 (RO), MME = 2, 64-bit, per-vector masking
            assertThat(cfg(ep, PcieSpec.MSI_CTRL, 2)).isEqualTo(0x1a5);
            // INTx disabled while MSI is on
            assertThat(ep.configRead(PcieSpec.CFG_COMMAND, 2) & PcieSpec.CMD_INTX_DISABLE).isNotZero();

            long doorbell = MsiDemo.doorbell(m);
            assertThat(doorbell).isEqualTo(0x0802_0040L); // the v2m frame's MSI_SETSPI_NS
            long addr = msiAddress(ep);
            MsiDesc desc = MsiDesc.first_msi_entry(dev);
            IommuDmaMsiPage page = (IommuDmaMsiPage) desc.iommuCookie;
            assertThat(page.phys).isEqualTo(doorbell & ~0xfffL);
            assertThat(addr).isNotEqualTo(doorbell).isEqualTo(page.iova + (doorbell & 0xfff));
            assertThat(desc.msg.address()).isEqualTo(addr);
            // the doorbell page is mapped in the device's domain, below 4 GiB for PCI
            assertThat(Iommu.iommu_iova_to_phys(dom, addr)).isEqualTo(doorbell);
            assertThat(addr >>> 32).isZero();
            assertThat(((IommuDmaCookie) dom.iovaCookie).msiPageList).containsExactly(page);
            // as in the reference trace: the doorbell page at the top of the 32-bit IOVA space
            assertThat(addr).isEqualTo(0xffff_f040L);
            // data: the first SPI of a run aligned to the vectors, so data | N is vector N's SPI
            int data = cfg(ep, PcieSpec.MSI_DATA_64, 2);
            assertThat(data).isEqualTo(80);
            assertThat(data).isEqualTo(desc.msg.data);

            AtomicLong seen = new AtomicLong();
            int[] virq = new int[4];
            for (int i = 0; i < 4; i++) {
                virq[i] = PciMsi.pci_irq_vector(dev, i);
                assertThat(virq[i]).isEqualTo(dev.irq + i);
                assertThat(m.board.irqs.request_irq(virq[i], (irq, id) -> {
                    seen.incrementAndGet();
                    return IrqHandler.IRQ_HANDLED;
                }, 0, "msi" + i, dev)).isZero();
            }
            long untranslated = ep.untranslatedRequests();
            assertThat(ep.raiseMsi(1)).isZero();
            assertThat(ep.raiseMsi(3)).isZero();
            assertThat(ep.raiseMsi(3)).isZero();
            m.board.irqs.quiesce();
            assertThat(m.board.irqs.count(virq[0])).isZero();
            assertThat(m.board.irqs.count(virq[1])).isEqualTo(1);
            assertThat(m.board.irqs.count(virq[3])).isEqualTo(2);
            assertThat(seen.get()).isEqualTo(3);
            assertThat(ep.msiSent()).isEqualTo(3);
            assertThat(m.smmuModel.events()).isEmpty();
            // the MSI writes did not bypass the IOMMU
            assertThat(ep.untranslatedRequests()).isEqualTo(untranslated);
            assertThat(ep.raiseMsi(4)).isEqualTo(-Errno.EINVAL);

            // masked: Pending bit, no write; the unmask sends it
            PciMsi.pci_msi_mask(desc, 1 << 2);
            assertThat(ep.raiseMsi(2)).isEqualTo(PciEndpointModel.MSI_PENDING);
            assertThat(cfg(ep, PcieSpec.MSI_PENDING_64, 4)).isEqualTo(1 << 2);
            m.board.irqs.quiesce();
            assertThat(m.board.irqs.count(virq[2])).isZero();
            PciMsi.pci_msi_unmask(desc, 1 << 2);
            m.board.irqs.quiesce();
            assertThat(m.board.irqs.count(virq[2])).isEqualTo(1);
            assertThat(cfg(ep, PcieSpec.MSI_PENDING_64, 4)).isZero();

            for (int v : virq) {
                m.board.irqs.free_irq(v, dev);
            }
            PciMsi.pci_free_irq_vectors(dev);
            assertThat(dev.msiEnabled).isFalse();
            assertThat(cfg(ep, PcieSpec.MSI_CTRL, 2) & PcieSpec.MSI_CTRL_ENABLE).isZero();
            assertThat(ep.raiseMsi(0)).isEqualTo(-Errno.EPERM);
            assertThat(ep.msiSent()).isEqualTo(4);
            // the SPIs went back to the frame and their lines to nobody
            assertThat(m.v2m.hwirq(virq[0])).isEqualTo(-1);
            assertThat(m.board.irqs.irq_find_mapping(data)).isZero();
        }
    }

    @Test
    void unmappedDoorbellIsATranslationFaultAndNoInterrupt() {
        try (Machine m = Machine.boot("qemu")) {
            Machine.PciFunction f = m.function(0x8);
            PciDev dev = f.dev();
            IommuDomain dom = Iommu.iommu_get_domain_for_dev(dev);
            assertThat(PciMsi.pci_enable_msi(dev)).isZero();
            int virq = PciMsi.pci_irq_vector(dev, 0);
            assertThat(m.board.irqs.request_irq(virq, (irq, id) -> IrqHandler.IRQ_HANDLED, 0, "msi", dev)).isZero();
            long addr = msiAddress(f.model());
            assertThat(Iommu.iommu_unmap(dom, addr & ~0xfffL, 4096)).isEqualTo(4096);

            assertThat(f.model().raiseMsi(0)).isEqualTo(-Errno.EFAULT);
            m.board.irqs.quiesce();
            assertThat(translationFaults(m, 0x8, addr)).isEqualTo(1);
            assertThat(f.model().lastMsiFaultAddr()).isEqualTo(addr);
            assertThat(m.board.irqs.count(virq)).isZero();
            m.board.irqs.free_irq(virq, dev);
        }
    }

    @Test
    void unmanagedDomainNeedsAnMsiCookie() {
        try (Machine m = Machine.boot("qemu")) {
            Machine.PciFunction f = m.function(0x10);
            PciDev dev = f.dev();
            long doorbell = MsiDemo.doorbell(m);
            IommuDomain dom = m.iommu.iommu_domain_alloc(m.pci.pci_bus_type);
            assertThat(m.iommu.iommu_attach_device(dom, dev)).isZero();

            // without a cookie nothing is remapped: the device is told the physical address
            assertThat(PciMsi.pci_alloc_irq_vectors(dev, 1, 1, PciMsi.PCI_IRQ_MSI)).isEqualTo(1);
            assertThat(MsiDesc.first_msi_entry(dev).iommuCookie).isNull();
            assertThat(msiAddress(f.model())).isEqualTo(doorbell);
            int virq = PciMsi.pci_irq_vector(dev, 0);
            assertThat(m.board.irqs.request_irq(virq, (irq, id) -> IrqHandler.IRQ_HANDLED, 0, "msi", dev)).isZero();
            assertThat(f.model().raiseMsi(0)).isEqualTo(-Errno.EFAULT);
            m.board.irqs.quiesce();
            assertThat(translationFaults(m, 0x10, doorbell)).isEqualTo(1);
            assertThat(m.board.irqs.count(virq)).isZero();
            m.board.irqs.free_irq(virq, dev);
            PciMsi.pci_free_irq_vectors(dev);

            // the VFIO way: an MSI cookie at the SW_MSI window; the doorbell lands at its base
            assertThat(DmaIommu.iommu_get_msi_cookie(dom, ArmSmmuV3H.MSI_IOVA_BASE)).isZero();
            assertThat(DmaIommu.iommu_get_msi_cookie(dom, ArmSmmuV3H.MSI_IOVA_BASE)).isEqualTo(-Errno.EEXIST);
            assertThat(PciMsi.pci_alloc_irq_vectors(dev, 1, 1, PciMsi.PCI_IRQ_MSI)).isEqualTo(1);
            long addr = msiAddress(f.model());
            assertThat(addr).isEqualTo(ArmSmmuV3H.MSI_IOVA_BASE + (doorbell & 0xfff));
            assertThat(Iommu.iommu_iova_to_phys(dom, addr)).isEqualTo(doorbell);
            virq = PciMsi.pci_irq_vector(dev, 0);
            assertThat(m.board.irqs.request_irq(virq, (irq, id) -> IrqHandler.IRQ_HANDLED, 0, "msi", dev)).isZero();
            assertThat(f.model().raiseMsi(0)).isZero();
            m.board.irqs.quiesce();
            assertThat(m.board.irqs.count(virq)).isEqualTo(1);
            m.board.irqs.free_irq(virq, dev);
            PciMsi.pci_free_irq_vectors(dev);
            m.iommu.iommu_detach_device(dom, dev);
            m.iommu.iommu_domain_free(dom);
        }
    }

    @Test
    void msiCookieOnlyForUnmanagedDomains() {
        try (Machine m = Machine.boot("qemu")) {
            IommuDomain dom = Iommu.iommu_get_domain_for_dev(m.function(0x8).dev());
            assertThat(DmaIommu.iommu_get_msi_cookie(dom, ArmSmmuV3H.MSI_IOVA_BASE)).isEqualTo(-Errno.EINVAL);
        }
    }

    @Test
    void doorbellThatCannotBeMappedFailsTheAllocationWithEnospc() {
        try (Machine m = Machine.boot("qemu")) {
            Machine.PciFunction f = m.function(0x10);
            PciDev dev = f.dev();
            IommuDomain dom = m.iommu.iommu_domain_alloc(m.pci.pci_bus_type);
            assertThat(m.iommu.iommu_attach_device(dom, dev)).isZero();
            assertThat(DmaIommu.iommu_get_msi_cookie(dom, ArmSmmuV3H.MSI_IOVA_BASE)).isZero();
            // the owner broke its promise: the cookie's first IOVA is already in use
            long pa = m.pages.alloc_page(org.iommu4j.base.Gfp.GFP_KERNEL);
            assertThat(Iommu.iommu_map(dom, ArmSmmuV3H.MSI_IOVA_BASE, pa, 4096, IommuH.IOMMU_READ)).isZero();
            int irqsBefore = dev.irq;

            // iommu_dma_prepare_msi fails with -ENOMEM; the MSI layer reports -ENOSPC, and for a
            // multi-MSI request first retries with one vector
            assertThat(PciMsi.pci_alloc_irq_vectors(dev, 1, 4, PciMsi.PCI_IRQ_MSI)).isEqualTo(-Errno.ENOSPC);
            // io-pgtable-arm WARNs at each map over the live PTE: the 4-vector try and the 1-vector
            // retry. As in v5.15 each failed try keeps its SPIs (gicv2m_irq_domain_alloc returns
            // iommu_dma_prepare_msi's error without giving them back)
            assertThat(org.iommu4j.base.Warn.drain()).hasSize(2);
            assertThat(dev.msiEnabled).isFalse();
            assertThat(dev.msiList).isEmpty();
            assertThat(dev.irq).isEqualTo(irqsBefore);
            assertThat(cfg(f.model(), PcieSpec.MSI_CTRL, 2) & PcieSpec.MSI_CTRL_ENABLE).isZero();
            assertThat(((IommuDmaCookie) dom.iovaCookie).msiPageList).isEmpty();
            assertThat(f.model().raiseMsi(0)).isEqualTo(-Errno.EPERM);
            assertThat(PciMsi.pci_irq_vector(dev, 0)).isZero();
        }
    }

    @Test
    void demoShowsTheRemappedMessageAndTheFault() {
        try (Machine m = new Machine(org.iommu4j.of.Fdt.bundledVirtSmmuv3(), "full")) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            MsiDemo.Result r = MsiDemo.run(m, new PrintStream(buf, true, StandardCharsets.UTF_8));
            String out = buf.toString(StandardCharsets.UTF_8);
            assertThat(r.exit()).as(out).isZero();
            assertThat(r.nvec()).isEqualTo(4);
            assertThat(r.msiAddress()).isNotEqualTo(r.doorbell());
            assertThat(r.iovaToPhys()).isEqualTo(r.doorbell());
            assertThat(r.counts()).containsExactly(1L, 0L, 2L, 0L);
            assertThat(r.faultRet()).isEqualTo(-Errno.EFAULT);
            assertThat(r.events()).hasSize(1);
            assertThat(r.faultIrqs()).isZero();
            assertThat(r.doorbell()).isEqualTo(0x0802_0040L);
            assertThat(r.msiAddress()).isEqualTo(0xffff_f040L);
            assertThat(out).contains("GICv2m doorbell (MSI_SETSPI_NS) at PA 0x8020040")
                    .contains("IOVA 0xfffff040 -> PA 0x8020040").contains("(vector 0, SPI 80): handled 1 time(s)")
                    .contains("F_TRANSLATION sid 0x10 addr 0x8020040 write");
        }
    }
}
