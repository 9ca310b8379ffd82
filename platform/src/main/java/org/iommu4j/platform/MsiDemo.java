package org.iommu4j.platform;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.iommu4j.base.hw.IrqHandler;
import org.iommu4j.base.irq.MsiDesc;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciMsi;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.pci.hw.PcieSpec;
import org.iommu4j.smmuv3.hw.SmmuEvent;

/**
 * MSIs through the SMMU: a PCI function in its DMA domain gets MSI vectors from the MSI controller
 * the tree gives it (QEMU virt's GICv2m frame: the data is an SPI number, the doorbell
 * MSI_SETSPI_NS at PA 0x8020040), which has dma-iommu map the doorbell page into the domain (at
 * IOVA 0xfffff000, as in the reference trace) and the message carries the doorbell's IOVA; the function's MSI write is translated by the SMMU like a
 * DMA write and its handler runs. Then a function attached to an unmanaged domain without an MSI
 * cookie: its message carries the doorbell's physical address, which the domain does not map,
 * so the write takes a translation fault (an event) and no interrupt is raised.
 */
public final class MsiDemo {
    /** What the demo observed, for tests. */
    public record Result(int nvec, long msiAddress, long doorbell, long iovaToPhys, List<Long> counts,
                         int faultRet, List<String> events, long faultIrqs, int exit) {}

    private MsiDemo() {}

    static long cfgMsiAddress(PciEndpointModel ep) {
        int cap = ep.msiCapOffset();
        return Integer.toUnsignedLong(ep.configRead(cap + PcieSpec.MSI_ADDR_LO, 4))
                | (long) ep.configRead(cap + PcieSpec.MSI_ADDR_HI, 4) << 32;
    }

    /** The MSI doorbell of the machine's MSI controller: the first GICv2m frame's MSI_SETSPI_NS, else the ITS's. */
    static long doorbell(Machine m) {
        if (m.v2m != null) {
            return m.v2m.frames().get(0).res.start() + IrqGicV2m.V2M_MSI_SETSPI_NS;
        }
        return m.board.msi.doorbellAddress();
    }

    public static Result run(Machine m, PrintStream out) {
        Machine.PciFunction f = m.function(0x8);
        Machine.PciFunction g = m.function(0x10);
        if (f == null || g == null || f.model().msiCapOffset() == 0) {
            out.println("demo msi: needs the two PCI functions with MSI at StreamIDs 0x8 and 0x10");
            return new Result(0, 0, 0, 0, List.of(), 0, List.of(), 0, 1);
        }
        PciDev dev = f.dev();
        long doorbell = doorbell(m);
        IommuDomain dom = Iommu.iommu_get_domain_for_dev(dev);
        out.printf("%s: %s domain, MSI capability at 0x%x, %s at PA 0x%x%n",
                dev.dev_name(), IommuH.iommu_domain_type_str(dom.type), f.model().msiCapOffset(),
                m.v2m != null ? "GICv2m doorbell (MSI_SETSPI_NS)" : "ITS doorbell (GITS_TRANSLATER)", doorbell);
        int nvec = PciMsi.pci_alloc_irq_vectors(dev, 1, 4, PciMsi.PCI_IRQ_MSI);
        out.printf("pci_alloc_irq_vectors(%s, 1, 4, PCI_IRQ_MSI) = %d%n", dev.dev_name(), nvec);
        if (nvec <= 0) {
            return new Result(nvec, 0, doorbell, 0, List.of(), 0, List.of(), 0, 1);
        }
        MsiDesc desc = MsiDesc.first_msi_entry(dev);
        long addr = cfgMsiAddress(f.model());
        long phys = Iommu.iommu_iova_to_phys(dom, addr);
        out.printf("  config space: Message Control 0x%04x, Message Address 0x%x, Message Data 0x%04x%n",
                f.model().configRead(f.model().msiCapOffset() + PcieSpec.MSI_CTRL, 2), addr, f.model().msiData());
        out.printf("  %s; IOVA 0x%x -> PA 0x%x (iommu_iova_to_phys)%n", desc.iommuCookie, addr, phys);
        AtomicLong handled = new AtomicLong();
        List<Integer> virqs = new ArrayList<>();
        for (int i = 0; i < nvec; i++) {
            int virq = PciMsi.pci_irq_vector(dev, i);
            virqs.add(virq);
            m.board.irqs.request_irq(virq, (irq, id) -> {
                handled.incrementAndGet();
                return IrqHandler.IRQ_HANDLED;
            }, 0, "virtio-rng-msi" + i, dev);
        }
        int before = m.smmu.decodedEvents.size();
        for (int v : new int[] {0, 2, 2}) {
            int r = f.model().raiseMsi(v);
            out.printf("  device raises vector %d: write 0x%04x to IOVA 0x%x: %d%n", v, f.model().msiData() | v, addr, r);
        }
        m.board.irqs.quiesce();
        List<Long> counts = new ArrayList<>();
        for (int i = 0; i < nvec; i++) {
            counts.add(m.board.irqs.count(virqs.get(i)));
            String line = m.v2m != null ? String.format(", SPI %d", m.v2m.hwirq(virqs.get(i))) : "";
            out.printf("  virq %d (vector %d%s): handled %d time(s)%n", virqs.get(i), i, line, counts.get(i));
        }

        /* The negative case: an unmanaged domain that nobody gave an MSI cookie. */
        PciDev dev2 = g.dev();
        IommuDomain unmanaged = m.iommu.iommu_domain_alloc(m.pci.pci_bus_type);
        int ret = m.iommu.iommu_attach_device(unmanaged, dev2);
        out.printf("%s: iommu_attach_device(unmanaged domain) = %d, no iommu_get_msi_cookie%n", dev2.dev_name(), ret);
        int n2 = PciMsi.pci_alloc_irq_vectors(dev2, 1, 1, PciMsi.PCI_IRQ_MSI);
        long addr2 = cfgMsiAddress(g.model());
        out.printf("  pci_alloc_irq_vectors = %d; Message Address 0x%x (the doorbell's PA: nothing remapped)%n", n2, addr2);
        int virq2 = PciMsi.pci_irq_vector(dev2, 0);
        m.board.irqs.request_irq(virq2, (irq, id) -> IrqHandler.IRQ_HANDLED, 0, "virtio-blk-msi", dev2);
        int faultRet = g.model().raiseMsi(0);
        out.printf("  device raises vector 0: %d (%s)%n", faultRet, faultRet == -org.iommu4j.base.Errno.EFAULT
                ? "-EFAULT: the SMMU terminated the write" : "unexpected");
        m.board.irqs.quiesce();
        List<String> events = new ArrayList<>();
        for (SmmuEvent e : m.smmuModel.events()) {
            if (e instanceof SmmuEvent.Translation t && t.f().sid() == 0x10 && t.f().addr() == addr2) {
                events.add(String.format("F_TRANSLATION sid 0x%x addr 0x%x %s", t.f().sid(), t.f().addr(),
                        t.f().rnw() ? "read" : "write"));
            }
        }
        for (String e : events) {
            out.println("  SMMU event: " + e);
        }
        for (String e : m.smmu.decodedEvents.subList(before, m.smmu.decodedEvents.size())) {
            out.println("  event decoded: " + e);
        }
        long faultIrqs = m.board.irqs.count(virq2);
        out.printf("  virq %d handled %d time(s)%n", virq2, faultIrqs);

        for (int v : virqs) {
            m.board.irqs.free_irq(v, dev);
        }
        m.board.irqs.free_irq(virq2, dev2);
        PciMsi.pci_free_irq_vectors(dev);
        PciMsi.pci_free_irq_vectors(dev2);
        m.iommu.iommu_detach_device(unmanaged, dev2);
        m.iommu.iommu_domain_free(unmanaged);
        boolean ok = nvec == 4 && addr != doorbell && phys == doorbell && counts.get(0) == 1 && counts.get(2) == 2
                && faultRet == -org.iommu4j.base.Errno.EFAULT && !events.isEmpty() && faultIrqs == 0;
        return new Result(nvec, addr, doorbell, phys, counts, faultRet, events, faultIrqs, ok ? 0 : 1);
    }
}
