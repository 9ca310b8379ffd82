package org.iommu4j.base.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;

import java.util.concurrent.atomic.AtomicLong;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The GICv2m frame as QEMU virt has it (SPI[80:143]) on the board's MMIO bus and GIC lines. */
@ExtendWith(NoWarnings.class)
class GicV2mFrameTest {
    static final long BASE = 0x0802_0000L;
    final Board board = Board.withRam(1L << 20);
    final GicV2mFrame frame = new GicV2mFrame(board.irqs, GicV2mFrame.QEMU_VIRT_BASE_SPI, GicV2mFrame.QEMU_VIRT_NUM_SPIS);

    GicV2mFrameTest() {
        board.mmio.map("gicv2m", BASE, GicV2mFrame.FRAME_SIZE, frame);
    }

    @AfterEach
    void freeIrqs() {
        board.irqs.freeAllIrqs();
    }

    /** A virq bound to {@code intid} with a counting handler. */
    private int handled(int intid, AtomicLong count) {
        int virq = board.irqs.allocVirqs(1);
        assertThat(board.irqs.irqDomainAssociate(virq, intid)).isZero();
        assertThat(board.irqs.requestIrq(virq, (irq, dev) -> {
            count.incrementAndGet();
            return IrqHandler.IRQ_HANDLED;
        }, 0, "spi" + intid, null)).isZero();
        return virq;
    }

    @Test
    void typerReportsQemuVirtsRangeAndIsReadOnly() {
        // BASE_SPI [25:16] = INTID 80, NUMBER_SPIS [9:0] = 64
        assertThat(board.mmio.read(BASE + GicV2mFrame.A_MSI_TYPER, 4)).isEqualTo(0x0050_0040L);
        assertThat(frame.firstIntid()).isEqualTo(80);
        assertThat(frame.numSpi()).isEqualTo(64);
        try (var cap = Trace.capture("gicv2m:*")) {
            board.mmio.write(BASE + GicV2mFrame.A_MSI_TYPER, 0x1234_5678L, 4);
            assertThat(cap.of("gicv2m_guest_error")).hasSize(1);
        }
        assertThat(board.mmio.read(BASE + GicV2mFrame.A_MSI_TYPER, 4)).isEqualTo(0x0050_0040L);
        assertThat(board.mmio.read(BASE + GicV2mFrame.A_MSI_IIDR, 4)).isEqualTo(0x0510_0000L);
    }

    @Test
    void otherOffsetsAreRazWi() {
        for (long off : new long[] {0x0, 0x4, 0x44, 0x48, 0x800, 0xfc8, 0xfd0, 0xfe8, 0xffc}) {
            board.mmio.write(BASE + off, 0xffff_ffffL, 4);
            assertThat(board.mmio.read(BASE + off, 4)).as("offset 0x%x", off).isZero();
        }
        // reading the doorbell gives nothing either
        assertThat(board.mmio.read(BASE + GicV2mFrame.A_MSI_SETSPI_NS, 4)).isZero();
        assertThat(board.irqs.unmappedEdges()).isZero();
    }

    @Test
    void setSpiRaisesThatSpisHandler() {
        AtomicLong first = new AtomicLong();
        AtomicLong last = new AtomicLong();
        int v80 = handled(80, first);
        int v143 = handled(143, last);
        try (var cap = Trace.capture("gicv2m:gicv2m_set_spi")) {
            board.sysbus.write32(BASE + GicV2mFrame.A_MSI_SETSPI_NS, 80);
            board.sysbus.write32(BASE + GicV2mFrame.A_MSI_SETSPI_NS, 143);
            board.sysbus.write32(BASE + GicV2mFrame.A_MSI_SETSPI_NS, 143);
            board.irqs.quiesce();
            assertThat(cap.of("gicv2m_set_spi")).hasSize(3);
            assertThat(cap.of("gicv2m_set_spi").get(0).args()).containsExactly(0, 80);
        }
        assertThat(first.get()).isEqualTo(1);
        assertThat(last.get()).isEqualTo(2);
        assertThat(board.irqs.count(v80)).isEqualTo(1);
        assertThat(board.irqs.count(v143)).isEqualTo(2);
        // only bits [9:0] name the SPI: 0x450 is INTID 80 again
        board.mmio.write(BASE + GicV2mFrame.A_MSI_SETSPI_NS, 0x450, 4);
        // a 16-bit write is accepted too
        board.mmio.write(BASE + GicV2mFrame.A_MSI_SETSPI_NS, 80, 2);
        board.irqs.quiesce();
        assertThat(first.get()).isEqualTo(3);
        assertThat(frame.ignoredSetSpi()).isZero();
    }

    @Test
    void outOfRangeSpiIsIgnored() {
        AtomicLong first = new AtomicLong();
        AtomicLong last = new AtomicLong();
        handled(80, first);
        handled(143, last);
        AtomicLong below = new AtomicLong();
        AtomicLong above = new AtomicLong();
        handled(79, below);
        handled(144, above);
        for (int v : new int[] {79, 144, 0, 32, 1019, 0x3ff}) {
            board.sysbus.write32(BASE + GicV2mFrame.A_MSI_SETSPI_NS, v);
        }
        board.irqs.quiesce();
        assertThat(frame.ignoredSetSpi()).isEqualTo(6);
        assertThat(first.get() + last.get() + below.get() + above.get()).isZero();
        assertThat(board.irqs.unmappedEdges()).isZero();
    }

    @Test
    void oddSizedAccessesAreRazWi() {
        AtomicLong count = new AtomicLong();
        handled(81, count);
        assertThat(board.mmio.read(BASE + GicV2mFrame.A_MSI_TYPER, 8)).isZero();
        assertThat(board.mmio.read(BASE + GicV2mFrame.A_MSI_TYPER, 2)).isZero();
        assertThat(board.mmio.read(BASE + GicV2mFrame.A_MSI_TYPER, 1)).isZero();
        try (var cap = Trace.capture("gicv2m:gicv2m_guest_error")) {
            board.mmio.write(BASE + GicV2mFrame.A_MSI_SETSPI_NS, 81, 1);
            board.mmio.write(BASE + GicV2mFrame.A_MSI_SETSPI_NS, 81, 8);
            board.sysbus.write64(BASE + GicV2mFrame.A_MSI_SETSPI_NS, 81);
            assertThat(cap.of("gicv2m_guest_error")).hasSize(3);
        }
        board.irqs.quiesce();
        assertThat(count.get()).isZero();
        assertThat(frame.ignoredSetSpi()).isZero();
    }

    @Test
    void anSpiNoVirqIsBoundToIsDropped() {
        board.sysbus.write32(BASE + GicV2mFrame.A_MSI_SETSPI_NS, 100);
        assertThat(board.irqs.unmappedEdges()).isEqualTo(1);
        // bound, then unbound: dropped again
        AtomicLong count = new AtomicLong();
        int virq = handled(100, count);
        assertThat(board.irqs.irqFindMapping(100)).isEqualTo(virq);
        board.irqs.freeIrq(virq, null);
        board.irqs.irqDomainDisassociate(virq);
        assertThat(board.irqs.irqFindMapping(100)).isZero();
        board.sysbus.write32(BASE + GicV2mFrame.A_MSI_SETSPI_NS, 100);
        assertThat(board.irqs.unmappedEdges()).isEqualTo(2);
        assertThat(count.get()).isZero();
    }

    @Test
    void associateRefusesUnknownVirqsAndDoubleUse() {
        int a = board.irqs.allocVirqs(2);
        assertThat(board.irqs.irqDomainAssociate(9999, 90)).isEqualTo(-EINVAL);
        assertThat(board.irqs.irqDomainAssociate(a, -1)).isEqualTo(-EINVAL);
        assertThat(board.irqs.irqDomainAssociate(a, 90)).isZero();
        assertThat(board.irqs.irqDomainAssociate(a, 91)).isEqualTo(-EINVAL);
        assertThat(board.irqs.irqDomainAssociate(a + 1, 90)).isEqualTo(-EBUSY);
        // a line the platform already mapped (a wired device's SPI) is taken too
        int wired = board.irqs.irqCreateMapping(92);
        assertThat(board.irqs.irqDomainAssociate(a + 1, 92)).isEqualTo(-EBUSY);
        assertThat(board.irqs.irqFindMapping(92)).isEqualTo(wired);
    }

    @Test
    void rangesQemuRefusesAreRefused() {
        assertThatThrownBy(() -> new GicV2mFrame(board.irqs, 48, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new GicV2mFrame(board.irqs, 48, 129)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new GicV2mFrame(board.irqs, 1000, 64)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1020");
        assertThatThrownBy(() -> new GicV2mFrame(board.irqs, -1, 4)).isInstanceOf(IllegalArgumentException.class);
        // the last range QEMU takes: 128 SPIs ending at INTID 1019
        assertThat(new GicV2mFrame(board.irqs, 1020 - 32 - 128, 128).firstIntid()).isEqualTo(1020 - 128);
    }

    @Test
    void domainListFindsByNodeAndBusToken() {
        Object node = new Object();
        Object pciDomain = new Object();
        Object nexus = new Object();
        board.irqs.irqDomainAdd(node, IrqController.DOMAIN_BUS_NEXUS, nexus);
        board.irqs.irqDomainAdd(node, IrqController.DOMAIN_BUS_PCI_MSI, pciDomain);
        assertThat(board.irqs.irqFindMatchingHost(node, IrqController.DOMAIN_BUS_PCI_MSI)).isSameAs(pciDomain);
        assertThat(board.irqs.irqFindMatchingHost(node, IrqController.DOMAIN_BUS_ANY)).isSameAs(nexus);
        assertThat(board.irqs.irqFindMatchingHost(node, IrqController.DOMAIN_BUS_PLATFORM_MSI)).isNull();
        assertThat(board.irqs.irqFindMatchingHost(new Object(), IrqController.DOMAIN_BUS_ANY)).isNull();
        assertThat(board.irqs.irqFindMatchingHost(null, IrqController.DOMAIN_BUS_ANY)).isNull();
        board.irqs.irqDomainRemove(pciDomain);
        assertThat(board.irqs.irqFindMatchingHost(node, IrqController.DOMAIN_BUS_PCI_MSI)).isNull();
    }
}
