package org.iommu4j.platform;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Errno;
import org.iommu4j.base.hw.IoMem;
import org.iommu4j.base.hw.IrqHandler;
import org.iommu4j.base.irq.MsiDesc;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciIomap;
import org.iommu4j.pci.PciMsi;
import org.iommu4j.pci.PciRegs;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.smmuv3.hw.SmmuEvent;

/**
 * MSI-X through the SMMU, on the virtio functions as QEMU builds them: virtio-rng in its DMA
 * domain gets its MSI-X vectors from the MSI controller the tree gives it (QEMU virt's GICv2m
 * frame: the data is an SPI number, the doorbell MSI_SETSPI_NS at PA 0x8020040), with
 * pci_alloc_irq_vectors and PCI_IRQ_MSIX; dma-iommu maps the doorbell page into the domain (at
 * IOVA 0xfffff000, as in the reference trace) and the message the PCI core writes into the MSI-X
 * Table (in BAR 1, read back here through the BAR's MMIO at its assigned address) carries the
 * doorbell's IOVA; the function's MSI-X write is translated by the SMMU like a DMA write and its
 * handler runs. A masked vector only sets its Pending bit (in the PBA, same BAR) and is sent when
 * unmasked. Then virtio-blk attached to an unmanaged domain without an MSI
 * cookie: its message carries the doorbell's physical address, which the domain does not map,
 * so the write takes a translation fault (an event) and no interrupt is raised.
 */
public final class MsiDemo {
    /** What the demo observed, for tests. */
    public record Result(int nvec, long msiAddress, long doorbell, long iovaToPhys, List<Long> counts,
                         int maskedRet, long pbaWhileMasked, long pbaAfterUnmask, int faultRet, long faultAddress,
                         List<String> events, long faultIrqs, int exit) {}

    private MsiDemo() {}

    /** Message Address of MSI-X Table entry {@code nr}, read through the Table's BAR mapping. */
    static long tableAddress(IoMem table, int nr) {
        long e = (long) nr * PciRegs.PCI_MSIX_ENTRY_SIZE;
        return Integer.toUnsignedLong(table.readl(e + PciRegs.PCI_MSIX_ENTRY_LOWER_ADDR))
                | (long) table.readl(e + PciRegs.PCI_MSIX_ENTRY_UPPER_ADDR) << 32;
    }

    /** The function's MSI-X Table, mapped from its BAR as msix_map_region does. */
    static IoMem msixTable(Machine.PciFunction f) {
        PciEndpointModel ep = f.model();
        return PciIomap.pciIomapRange(f.dev(), ep.caps().msixTableBar(), ep.caps().msixTableOffset(),
                (long) ep.caps().msixVectors() * PciRegs.PCI_MSIX_ENTRY_SIZE);
    }

    /** The function's Pending Bit Array, mapped from its BAR. */
    static IoMem msixPba(Machine.PciFunction f) {
        PciEndpointModel ep = f.model();
        return PciIomap.pciIomapRange(f.dev(), ep.caps().msixPbaBar(), ep.caps().msixPbaOffset(), 8);
    }

    /**
     * The MSI doorbell of the machine's MSI controller: the first GICv2m frame's MSI_SETSPI_NS,
     * else the ITS's GITS_TRANSLATER; -1 for a tree that describes neither.
     */
    static long doorbell(Machine m) {
        if (m.v2m != null) {
            return m.v2m.frames().get(0).res.start() + IrqGicV2m.V2M_MSI_SETSPI_NS;
        }
        return m.board.msi != null ? m.board.msi.doorbellAddress() : -1;
    }

    public static Result run(Machine m, PrintStream out) {
        Machine.PciFunction f = m.function(0x8);
        Machine.PciFunction g = m.function(0x10);
        if (f == null || g == null || f.model().msixCapOffset() == 0 || g.model().msixCapOffset() == 0) {
            out.println("demo msi: needs the two PCI functions with MSI-X at StreamIDs 0x8 and 0x10");
            return new Result(0, 0, 0, 0, List.of(), 0, 0, 0, 0, 0, List.of(), 0, 1);
        }
        PciDev dev = f.dev();
        long doorbell = doorbell(m);
        if (doorbell < 0) {
            out.println("demo msi: the device tree describes no MSI controller");
            return new Result(0, 0, 0, 0, List.of(), 0, 0, 0, 0, 0, List.of(), 0, 1);
        }
        IommuDomain dom = Iommu.iommuGetDomainForDev(dev);
        int tableBar = f.model().caps().msixTableBar();
        out.printf("%s: %s domain, MSI-X capability at 0x%x, %d vectors, Table in BAR %d at 0x%x, PBA at 0x%x;"
                        + " %s at PA 0x%x%n", dev.devName(), IommuH.iommuDomainTypeStr(dom.type),
                f.model().msixCapOffset(), PciMsi.pciMsixVecCount(dev), tableBar,
                Pci.pciResourceStart(dev, tableBar) + f.model().caps().msixTableOffset(),
                Pci.pciResourceStart(dev, f.model().caps().msixPbaBar()) + f.model().caps().msixPbaOffset(),
                m.v2m != null ? "GICv2m doorbell (MSI_SETSPI_NS)" : "ITS doorbell (GITS_TRANSLATER)", doorbell);
        int nvec = PciMsi.pciAllocIrqVectors(dev, 1, 2, PciMsi.PCI_IRQ_MSIX);
        out.printf("pci_alloc_irq_vectors(%s, 1, 2, PCI_IRQ_MSIX) = %d%n", dev.devName(), nvec);
        if (nvec <= 0) {
            return new Result(nvec, 0, doorbell, 0, List.of(), 0, 0, 0, 0, 0, List.of(), 0, 1);
        }
        IoMem table = msixTable(f);
        IoMem pba = msixPba(f);
        long addr = tableAddress(table, 0);
        long phys = Iommu.iommuIovaToPhys(dom, addr);
        out.printf("  Message Control 0x%04x; Table entry 0 (MMIO at 0x%x): Message Address 0x%x, Data 0x%x%n",
                Pci.pciReadConfigWord(dev, dev.msixCap + PciRegs.PCI_MSIX_FLAGS), table.physBase(), addr,
                table.readl(PciRegs.PCI_MSIX_ENTRY_DATA));
        out.printf("  %s; IOVA 0x%x -> PA 0x%x (iommu_iova_to_phys)%n", MsiDesc.firstMsiEntry(dev).iommuCookie, addr, phys);
        List<Integer> virqs = new ArrayList<>();
        for (int i = 0; i < nvec; i++) {
            int virq = PciMsi.pciIrqVector(dev, i);
            virqs.add(virq);
            m.board.irqs.requestIrq(virq, (irq, id) -> IrqHandler.IRQ_HANDLED, 0, "virtio-rng-msix" + i, dev);
        }
        int before = m.smmu.decodedEvents.size();
        for (int v : new int[] {0, 1, 1}) {
            int r = f.model().raiseMsix(v);
            out.printf("  device raises vector %d: write 0x%x to IOVA 0x%x: %d%n", v, table.readl(v * 16L + 8), addr, r);
        }

        /* masking: the irq_chip's mask sets the entry's Mask bit; the event waits in the PBA */
        MsiDesc d1 = dev.msiList.get(1);
        PciMsi.pciMsiMaskIrq(virqs.get(1), d1);
        int maskedRet = f.model().raiseMsix(1);
        long pbaMasked = Integer.toUnsignedLong(pba.readl(0));
        out.printf("  vector 1 masked (Vector Control 0x%x): raise = %d, PBA 0x%x%n",
                table.readl(16 + PciRegs.PCI_MSIX_ENTRY_VECTOR_CTRL), maskedRet, pbaMasked);
        PciMsi.pciMsiUnmaskIrq(virqs.get(1), d1);
        long pbaUnmasked = Integer.toUnsignedLong(pba.readl(0));
        out.printf("  vector 1 unmasked: the pending message is sent, PBA 0x%x%n", pbaUnmasked);
        m.board.irqs.quiesce();
        List<Long> counts = new ArrayList<>();
        for (int i = 0; i < nvec; i++) {
            counts.add(m.board.irqs.count(virqs.get(i)));
            String line = m.v2m != null ? String.format(", SPI %d", m.v2m.hwirq(virqs.get(i))) : "";
            out.printf("  virq %d (vector %d%s): handled %d time(s)%n", virqs.get(i), i, line, counts.get(i));
        }

        /* The negative case: an unmanaged domain that nobody gave an MSI cookie. */
        PciDev dev2 = g.dev();
        IommuDomain unmanaged = m.iommu.iommuDomainAlloc(m.pci.pciBusType);
        int ret = m.iommu.iommuAttachDevice(unmanaged, dev2);
        out.printf("%s: iommu_attach_device(unmanaged domain) = %d, no iommu_get_msi_cookie%n", dev2.devName(), ret);
        int n2 = PciMsi.pciAllocIrqVectors(dev2, 1, 1, PciMsi.PCI_IRQ_MSIX);
        long addr2 = tableAddress(msixTable(g), 0);
        out.printf("  pci_alloc_irq_vectors(PCI_IRQ_MSIX) = %d; Message Address 0x%x (the doorbell's PA: nothing remapped)%n",
                n2, addr2);
        int virq2 = PciMsi.pciIrqVector(dev2, 0);
        m.board.irqs.requestIrq(virq2, (irq, id) -> IrqHandler.IRQ_HANDLED, 0, "virtio-blk-msix", dev2);
        int faultRet = g.model().raiseMsix(0);
        out.printf("  device raises vector 0: %d (%s)%n", faultRet, faultRet == -Errno.EFAULT
                ? "-EFAULT: the SMMU terminated the write" : "unexpected");
        m.board.irqs.quiesce();
        List<String> events = new ArrayList<>();
        for (SmmuEvent e : m.smmuModel.events()) {
            if (e instanceof SmmuEvent.Translation t && t.f().sid() == g.sid() && t.f().addr() == addr2) {
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
            m.board.irqs.freeIrq(v, dev);
        }
        m.board.irqs.freeIrq(virq2, dev2);
        PciMsi.pciFreeIrqVectors(dev);
        PciMsi.pciFreeIrqVectors(dev2);
        m.iommu.iommuDetachDevice(unmanaged, dev2);
        m.iommu.iommuDomainFree(unmanaged);
        boolean ok = nvec == 2 && addr != phys && phys == doorbell && counts.get(0) == 1 && counts.get(1) == 3
                && maskedRet == PciEndpointModel.MSI_PENDING && pbaMasked == 2 && pbaUnmasked == 0
                && faultRet == -Errno.EFAULT && addr2 == doorbell && !events.isEmpty() && faultIrqs == 0;
        return new Result(nvec, addr, doorbell, phys, counts, maskedRet, pbaMasked, pbaUnmasked, faultRet, addr2, events,
                faultIrqs, ok ? 0 : 1);
    }
}
