package org.iommu4j.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.iommu4j.base.Errno;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.GicV2mFrame;
import org.iommu4j.base.hw.IrqController;
import org.iommu4j.base.hw.IrqHandler;
import org.iommu4j.base.irq.MsiDomain;
import org.iommu4j.base.irq.MsiMsg;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.of.DeviceNode;
import org.iommu4j.of.Fdt;
import org.iommu4j.of.Of;
import org.iommu4j.of.Property;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciMsi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** irq-gic-v2m.c over QEMU virt's frame, and the MSI controller a tree gives PCI functions. */
@ExtendWith(NoWarnings.class)
class IrqGicV2mTest {
    /** The line of the reference boot (Linux 6.1 on QEMU 7.2 virt, runA/console.log). */
    static final String REFERENCE_LINE = "GICv2m: range[mem 0x08020000-0x08020fff], SPI[80:143]";

    final Board board = Board.withRam(1L << 20);
    final DeviceNode root = Fdt.ofFdtUnflattenTree(Fdt.bundledVirtSmmuv3());
    final Of of = new Of(root);
    final DeviceNode gic = root.child("intc@8000000");

    @AfterEach
    void freeIrqs() {
        board.irqs.freeAllIrqs();
    }

    private IrqGicV2m probe(java.util.List<String> log) {
        board.mmio.map("gicv2m", 0x0802_0000L, GicV2mFrame.FRAME_SIZE,
                new GicV2mFrame(board.irqs, GicV2mFrame.QEMU_VIRT_BASE_SPI, GicV2mFrame.QEMU_VIRT_NUM_SPIS));
        IrqGicV2m v2m = new IrqGicV2m(of, board.mmio, board.irqs);
        try (AutoCloseable f = org.iommu4j.base.Printk.follow(l -> log.add(l.text()))) {
            assertThat(v2m.gicv2mInit(gic)).isZero();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        return v2m;
    }

    @Test
    void machineBootLogsTheReferenceLine() {
        try (Machine m = Machine.boot("qemu")) {
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("] " + REFERENCE_LINE));
            assertThat(m.v2m).isNotNull();
            assertThat(m.its).isNull();
            // probed with the IRQ chips, before the SMMU driver
            int gicLine = indexOf(m, "GICv2m: ");
            int smmuLine = indexOf(m, "arm-smmu-v3");
            assertThat(gicLine).isNotNegative().isLessThan(smmuLine);
            assertThat(m.function(0x8).dev().msiDomain).isSameAs(m.v2m.pciMsiDomain);
            assertThat(board.irqs.irqFindMatchingHost(root, IrqController.DOMAIN_BUS_ANY)).isNull();
        }
    }

    private static int indexOf(Machine m, String s) {
        for (int i = 0; i < m.dmesg.size(); i++) {
            if (m.dmesg.get(i).contains(s)) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void initReadsTyperAndRegistersTheDomains() {
        java.util.List<String> log = new java.util.ArrayList<>();
        IrqGicV2m v2m = probe(log);
        assertThat(log).containsExactly(REFERENCE_LINE);
        IrqGicV2m.V2mData frame = v2m.frames().get(0);
        assertThat(frame.spiStart).isEqualTo(80);
        assertThat(frame.nrSpis).isEqualTo(64);
        assertThat(frame.flags).isZero(); // QEMU's MSI_IIDR is no quirky implementation
        DeviceNode node = gic.child("v2m@8020000");
        assertThat(board.irqs.irqFindMatchingHost(node, IrqController.DOMAIN_BUS_PCI_MSI)).isSameAs(v2m.pciMsiDomain);
        assertThat(board.irqs.irqFindMatchingHost(node, IrqController.DOMAIN_BUS_NEXUS)).isSameAs(v2m);
    }

    @Test
    void dtOverrideAndInvalidRanges() {
        DeviceNode node = gic.child("v2m@8020000");
        node.setProperty(Property.ofCells("arm,msi-base-spi", 96));
        node.setProperty(Property.ofCells("arm,msi-num-spis", 32));
        java.util.List<String> log = new java.util.ArrayList<>();
        IrqGicV2m v2m = probe(log);
        assertThat(log).containsExactly("GICv2m: DT overriding V2M MSI_TYPER (base:96, num:32)",
                "GICv2m: range[mem 0x08020000-0x08020fff], SPI[96:127]");
        assertThat(v2m.frames().get(0).nrSpis).isEqualTo(32);

        node.setProperty(Property.ofCells("arm,msi-base-spi", 16));
        IrqGicV2m bad = new IrqGicV2m(of, board.mmio, board.irqs);
        assertThat(bad.gicv2mInit(gic)).isEqualTo(-Errno.EINVAL);
        assertThat(bad.frames()).isEmpty();
        assertThat(bad.pciMsiDomain).isNull();
        node.setProperty(Property.ofCells("arm,msi-base-spi", 1000));
        assertThat(bad.gicv2mInit(gic)).isEqualTo(-Errno.EINVAL);

        node.removeProperty("reg");
        assertThat(bad.gicv2mInit(gic)).isEqualTo(-Errno.EINVAL);
        assertThat(bad.pciMsiDomain).isNull();
    }

    @Test
    void allocatesTheSixtyFourSpisThenEnospcAndFrees() {
        IrqGicV2m v2m = probe(new java.util.ArrayList<>());
        MsiDomain dom = v2m.pciMsiDomain;
        int first = board.irqs.allocVirqs(64);
        // a run of 4 takes SPIs 80..83, aligned
        assertThat(v2m.alloc(dom, first, 4, new MsiDomain.MsiAllocInfo())).isZero();
        assertThat(v2m.hwirq(first)).isEqualTo(80);
        assertThat(v2m.hwirq(first + 3)).isEqualTo(83);
        for (int i = 4; i < 64; i++) {
            assertThat(v2m.alloc(dom, first + i, 1, new MsiDomain.MsiAllocInfo())).isZero();
            assertThat(v2m.hwirq(first + i)).isEqualTo(80 + i);
        }
        int more = board.irqs.allocVirqs(1);
        assertThat(v2m.alloc(dom, more, 1, new MsiDomain.MsiAllocInfo())).isEqualTo(-Errno.ENOSPC);
        assertThat(v2m.hwirq(more)).isEqualTo(-1);

        // the message of a vector: the doorbell, the SPI as data (no device, no IOMMU: no remap)
        MsiMsg msg = new MsiMsg();
        v2m.irqComposeMsiMsg(first + 10, new org.iommu4j.base.irq.MsiDesc(new org.iommu4j.base.device.Device("d"), 1), msg);
        assertThat(msg.addressLo).isEqualTo(0x0802_0040);
        assertThat(msg.addressHi).isZero();
        assertThat(msg.data).isEqualTo(90);

        // the SPI raises its virq's handler through the frame
        AtomicLong count = new AtomicLong();
        assertThat(board.irqs.requestIrq(first + 10, (irq, id) -> {
            count.incrementAndGet();
            return IrqHandler.IRQ_HANDLED;
        }, 0, "v", null)).isZero();
        board.sysbus.write32(0x0802_0040L, 90);
        board.irqs.quiesce();
        assertThat(count.get()).isEqualTo(1);
        board.irqs.freeIrq(first + 10, null);

        // freeing the run of 4 gives its SPIs back; a run of 4 fits again there, a run of 8 not
        v2m.free(dom, first, 4);
        assertThat(board.irqs.irqFindMapping(80)).isZero();
        int again = board.irqs.allocVirqs(8);
        assertThat(v2m.alloc(dom, again, 8, new MsiDomain.MsiAllocInfo())).isEqualTo(-Errno.ENOSPC);
        assertThat(v2m.alloc(dom, again, 4, new MsiDomain.MsiAllocInfo())).isZero();
        assertThat(v2m.hwirq(again)).isEqualTo(80);
        assertThat(board.irqs.irqFindMapping(80)).isEqualTo(again);
    }

    @Test
    void anSpiAlreadyWiredFailsTheAllocationAndGivesTheSpisBack() {
        IrqGicV2m v2m = probe(new java.util.ArrayList<>());
        board.irqs.irqCreateMapping(82); // a wired device sharing the frame's SPI 82
        int virq = board.irqs.allocVirqs(4);
        assertThat(v2m.alloc(v2m.pciMsiDomain, virq, 4, new MsiDomain.MsiAllocInfo())).isEqualTo(-Errno.EBUSY);
        assertThat(board.irqs.irqFindMapping(80)).isZero();
        assertThat(board.irqs.irqFindMapping(81)).isZero();
        // the SPIs went back: one vector gets SPI 80
        assertThat(v2m.alloc(v2m.pciMsiDomain, virq, 1, new MsiDomain.MsiAllocInfo())).isZero();
        assertThat(v2m.hwirq(virq)).isEqualTo(80);
    }

    /** The fixture as a GICv3 with an ITS at QEMU virt's 0x8080000 (GITS_TRANSLATER 0x8090040). */
    static byte[] itsTree() {
        DeviceNode root = Fdt.ofFdtUnflattenTree(Fdt.bundledVirtSmmuv3());
        DeviceNode intc = root.child("intc@8000000");
        intc.setProperty(Property.ofStrings("compatible", "arm,gic-v3"));
        DeviceNode frame = intc.child("v2m@8020000");
        frame.setProperty(Property.ofStrings("compatible", "arm,gic-v3-its"));
        frame.setProperty(Property.ofCells("reg", 0, 0x0808_0000, 0, 0x20000));
        frame.setProperty(Property.ofCells("#msi-cells", 1));
        return Fdt.flatten(root);
    }

    /**
     * QEMU virt's tree has a GICv2 with a v2m frame and no ITS: the board maps no doorbell at
     * 0x8090000, so a physical write to 0x8090040 is what any unmapped access is, a bus error
     * (an SError for a CPU, an abort for a bus master); nothing is raised.
     */
    @Test
    void theDefaultMachineMapsNoItsDoorbell() {
        try (Machine m = Machine.boot("qemu")) {
            assertThat(m.board.msi).isNull();
            assertThat(m.its).isNull();
            assertThat(m.board.mmio.find(0x0809_0000L, 1)).isNull();
            assertThat(m.board.mmio.find(0x0809_0040L, 4)).isNull();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> m.board.sysbus.write32(0x0809_0040L, 80))
                    .isInstanceOf(org.iommu4j.base.hw.BusError.class)
                    .hasMessage("MMIO write to unmapped address at 0x8090040");
            /* what the tree describes is there: the v2m frame, and the SMMU at its reg */
            assertThat(m.board.mmio.find(0x0802_0040L, 4).name()).isEqualTo("gicv2m@8020000");
            assertThat(m.board.mmio.find(0x0905_0000L, 4)).isNotNull();
        }
    }

    /** A tree with an ITS gets its doorbell where the ITS node's reg puts GITS_TRANSLATER. */
    @Test
    void anItsTreeMapsTheDoorbellAtItsReg() {
        DeviceNode root = Fdt.ofFdtUnflattenTree(itsTree());
        root.child("intc@8000000").child("v2m@8020000").setProperty(Property.ofCells("reg", 0, 0x0810_0000, 0, 0x20000));
        try (Machine m = new Machine(Fdt.flatten(root), "qemu")) {
            assertThat(m.board.msi.doorbellAddress()).isEqualTo(0x0811_0040L);
            assertThat(m.board.mmio.find(0x0811_0040L, 4).name()).isEqualTo("its-doorbell");
            assertThat(m.board.mmio.find(0x0809_0040L, 4)).isNull();
            assertThat(MsiDemo.doorbell(m)).isEqualTo(0x0811_0040L);
        }
    }

    /**
     * An SMMU whose msi-parent is the ITS: its event queue and GERROR MSIs target GITS_TRANSLATER
     * (the "full" capabilities have MSI); one whose msi-parent is the GICv2m frame gets no MSI
     * domain on this machine and falls back to its wired interrupts.
     */
    @Test
    void theSmmusOwnMsisTargetTheItsItsMsiParentNames() {
        DeviceNode root = Fdt.ofFdtUnflattenTree(itsTree());
        DeviceNode its = root.child("intc@8000000").child("v2m@8020000");
        root.child("smmuv3@9050000").setProperty(Property.ofCells("msi-parent", its.phandle, 0));
        try (Machine m = new Machine(Fdt.flatten(root), "full")) {
            assertThat(m.board.mmio.read(0x0905_0000L + 0xb0, 8)).as("EVTQ_IRQ_CFG0").isEqualTo(0x0809_0040L);
            assertThat(m.board.mmio.read(0x0905_0000L + 0x68, 8)).as("GERROR_IRQ_CFG0").isEqualTo(0x0809_0040L);
            assertThat(m.dmesg).noneMatch(l -> l.contains("falling back to wired irqs"));
        }
        DeviceNode v2mRoot = Fdt.ofFdtUnflattenTree(Fdt.bundledVirtSmmuv3());
        DeviceNode frame = v2mRoot.child("intc@8000000").child("v2m@8020000");
        v2mRoot.child("smmuv3@9050000").setProperty(Property.ofCells("msi-parent", frame.phandle));
        try (Machine m = new Machine(Fdt.flatten(v2mRoot), "full")) {
            assertThat(m.board.msi).isNull();
            assertThat(m.board.mmio.read(0x0905_0000L + 0xb0, 8)).as("EVTQ_IRQ_CFG0").isZero();
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("msi_domain absent - falling back to wired irqs"));
        }
    }

    @Test
    void aTreeWithAnItsGetsTheItsDriver() {
        try (Machine m = new Machine(itsTree(), "qemu")) {
            assertThat(m.v2m).isNull();
            assertThat(m.v2mFrames).isEmpty();
            assertThat(m.its).isNotNull();
            assertThat(m.dmesg).noneMatch(l -> l.contains("GICv2m"));
            PciDev dev = m.function(0x8).dev();
            assertThat(dev.msiDomain).isSameAs(m.its.pciMsiDomain);
            // QEMU's virtio functions have MSI-X (two vectors) and no MSI
            assertThat(PciMsi.pciAllocIrqVectors(dev, 1, 4, PciMsi.PCI_IRQ_MSIX)).isEqualTo(2);
            assertThat(MsiDemo.doorbell(m)).isEqualTo(0x0809_0040L);
            long addr = MsiDemo.tableAddress(MsiDemo.msixTable(m.function(0x8)), 1);
            assertThat(org.iommu4j.iommu.Iommu.iommuIovaToPhys(org.iommu4j.iommu.Iommu.iommuGetDomainForDev(dev), addr))
                    .isEqualTo(0x0809_0040L);
            AtomicLong count = new AtomicLong();
            int virq = PciMsi.pciIrqVector(dev, 1);
            assertThat(m.board.irqs.requestIrq(virq, (irq, id) -> {
                count.incrementAndGet();
                return IrqHandler.IRQ_HANDLED;
            }, 0, "its", dev)).isZero();
            assertThat(m.function(0x8).model().raiseMsix(1)).isZero();
            m.board.irqs.quiesce();
            assertThat(count.get()).isEqualTo(1);
            m.board.irqs.freeIrq(virq, dev);
            PciMsi.pciFreeIrqVectors(dev);
        }
    }

    @Test
    void aTreeWithoutAnMsiControllerGivesNoMsi() {
        DeviceNode r = Fdt.ofFdtUnflattenTree(Fdt.bundledVirtSmmuv3());
        r.child("pcie@10000000").removeProperty("msi-map");
        DeviceNode intc = r.child("intc@8000000");
        assertThat(intc.removeChild(intc.child("v2m@8020000"))).isTrue();
        try (Machine m = new Machine(Fdt.flatten(r), "qemu")) {
            assertThat(m.v2m).isNull();
            assertThat(m.its).isNull();
            PciDev dev = m.function(0x8).dev();
            assertThat(dev.msiDomain).isNull();
            assertThat(dev.pciBus.busFlags & org.iommu4j.pci.PciBus.PCI_BUS_FLAGS_NO_MSI).isNotZero();
            // v5.15: the generic host relies on an MSI domain; with none, pci_msi_supported says no
            // (the function has MSI-X: without the bus flag it would get vectors)
            assertThat(dev.msixCap).isNotZero();
            assertThat(PciMsi.pciAllocIrqVectors(dev, 1, 1, PciMsi.PCI_IRQ_MSIX)).isEqualTo(-Errno.EINVAL);
            assertThat(dev.msixEnabled).isFalse();
            assertThat(dev.msiEnabled).isFalse();
            assertThat(dev.msiList).isEmpty();
        }
    }
}
