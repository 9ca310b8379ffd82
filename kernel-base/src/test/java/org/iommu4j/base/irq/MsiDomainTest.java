package org.iommu4j.base.irq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.IrqHandler;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** kernel/irq/msi.c's allocation order and error mapping, the MSI doorbell's data blocks, irq chips. */
@ExtendWith(NoWarnings.class)
class MsiDomainTest {
    final Board board = Board.withRamAndItsDoorbell(16 << 20); // the MSI tests write to its doorbell
    final List<String> log = new ArrayList<>();
    int parentRet;
    boolean handleError;

    MsiDomain domain(int flags) {
        MsiDomain.MsiDomainOps ops = new MsiDomain.MsiDomainOps() {
            @Override
            public int msiCheck(MsiDomain d, Device dev) {
                log.add("check");
                return 0;
            }

            @Override
            public int msiPrepare(MsiDomain d, Device dev, int nvec, MsiDomain.MsiAllocInfo arg) {
                log.add("prepare " + nvec);
                return 0;
            }

            @Override
            public boolean hasHandleError() {
                return handleError;
            }

            @Override
            public int handleError(MsiDomain d, MsiDesc desc, int error) {
                log.add("handle_error " + error);
                return 1;
            }
        };
        MsiDomain.MsiChip chip = new MsiDomain.MsiChip() {
            @Override
            public void irqWriteMsiMsg(int virq, MsiDesc desc, MsiMsg msg) {
                log.add("write " + (virq - desc.irq) + " data " + msg.data);
            }

            @Override
            public void irqMask(int virq, MsiDesc desc) {
                log.add("mask " + (virq - desc.irq));
            }

            @Override
            public void irqUnmask(int virq, MsiDesc desc) {
                log.add("unmask " + (virq - desc.irq));
            }
        };
        MsiDomain.ParentDomain parent = new MsiDomain.ParentDomain() {
            @Override
            public int alloc(MsiDomain d, int virq, int nrIrqs, MsiDomain.MsiAllocInfo arg) {
                log.add("alloc " + nrIrqs + " desc " + (arg.desc != null));
                return parentRet;
            }

            @Override
            public void free(MsiDomain d, int virq, int nrIrqs) {
                log.add("free " + nrIrqs);
            }

            @Override
            public void irqComposeMsiMsg(int virq, MsiDesc desc, MsiMsg msg) {
                msg.data = 0x40 + virq - desc.irq;
            }
        };
        return new MsiDomain("test", flags, ops, chip, parent, board.irqs);
    }

    @Test
    void allocPreparesAllocatesThenActivatesEarly() {
        Device dev = new Device("d");
        MsiDesc desc = new MsiDesc(dev, 2);
        dev.msiList.add(desc);
        MsiDomain d = domain(MsiDomain.MSI_FLAG_ACTIVATE_EARLY);
        assertThat(d.msiDomainAllocIrqs(dev, 2)).isZero();
        assertThat(desc.irq).isPositive();
        assertThat(log).containsExactly("check", "prepare 2", "alloc 2 desc true", "write 0 data 64", "write 1 data 65");

        // request_irq of an active vector only starts it (unmask); free_irq shuts it down (mask)
        // and then, as v5.15's __free_irq does, deactivates it: a zero message
        log.clear();
        assertThat(board.irqs.requestIrq(desc.irq + 1, (i, id) -> IrqHandler.IRQ_HANDLED, 0, "v", dev)).isZero();
        board.irqs.freeIrq(desc.irq + 1, dev);
        assertThat(log).containsExactly("unmask 1", "mask 1", "write 1 data 0");
        assertThat(board.irqs.irqdIsActivated(desc.irq + 1)).isFalse();
        assertThat(board.irqs.irqdIsActivated(desc.irq)).isTrue();

        // requested again: __setup_irq's irq_activate writes the message again before the startup
        log.clear();
        assertThat(board.irqs.requestIrq(desc.irq + 1, (i, id) -> IrqHandler.IRQ_HANDLED, 0, "v", dev)).isZero();
        board.irqs.freeIrq(desc.irq + 1, dev);
        // freeing an already-free irq deactivates nothing (v5.15: a WARN, nothing done)
        board.irqs.freeIrq(desc.irq, dev);
        assertThat(Warn.drain()).singleElement().asString().contains("Trying to free already-free IRQ " + desc.irq);
        assertThat(log).containsExactly("write 1 data 65", "unmask 1", "mask 1", "write 1 data 0");

        // v5.15's __msi_domain_free_irqs: the vectors still active deactivated (a zero message), then freed
        log.clear();
        d.msiDomainFreeIrqs(dev);
        assertThat(log).containsExactly("write 0 data 0", "free 2");
        assertThat(desc.irq).isZero();
    }

    @Test
    void parentFailureIsEnospcOrWhatHandleErrorSays() {
        Device dev = new Device("d");
        dev.msiList.add(new MsiDesc(dev, 1));
        parentRet = -ENOMEM;
        assertThat(domain(0).msiDomainAllocIrqs(dev, 1)).isEqualTo(-ENOSPC);
        handleError = true;
        log.clear();
        assertThat(domain(0).msiDomainAllocIrqs(dev, 1)).isEqualTo(1);
        assertThat(log).endsWith("handle_error " + -ENOSPC);
        assertThat(dev.msiList.get(0).irq).isZero();
    }

    @Test
    void doorbellDataBlocksAreAlignedToTheirSize() {
        int a = board.msi.allocateDataBlock(1);
        int b = board.msi.allocateDataBlock(8);
        int c = board.msi.allocateDataBlock(2);
        assertThat(b % 8).isZero();
        assertThat(b).isGreaterThan(a);
        assertThat(c).isGreaterThanOrEqualTo(b + 8);
        assertThatThrownBy(() -> board.msi.allocateDataBlock(3)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> board.msi.allocateDataBlock(0)).isInstanceOf(IllegalArgumentException.class);
        int virq = board.irqs.allocVirqs(1);
        board.msi.route(b + 5, virq);
        assertThat(board.msi.routed(b + 5)).isEqualTo(virq);
        board.msi.unroute(b + 5);
        assertThat(board.msi.routed(b + 5)).isEqualTo(-1);
    }
}
