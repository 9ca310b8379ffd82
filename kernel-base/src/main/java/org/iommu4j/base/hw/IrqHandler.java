package org.iommu4j.base.hw;

import org.iommu4j.base.Port;

/** {@code irq_handler_t}: returns IRQ_NONE, IRQ_HANDLED or IRQ_WAKE_THREAD. */
@Port("include/linux/interrupt.h:irq_handler_t")
@FunctionalInterface
public interface IrqHandler {
    int IRQ_NONE = 0;
    int IRQ_HANDLED = 1;
    int IRQ_WAKE_THREAD = 2;

    int handle(int irq, Object dev);
}
