package org.iommu4j.base.hw;

import org.iommu4j.base.Port;

/**
 * The masking half of {@code struct irq_chip}: what genirq calls when an interrupt is started
 * ({@code request_irq}: unmask) and shut down ({@code free_irq}: mask). Lines without a chip are
 * never masked.
 */
@Port("include/linux/irq.h:irq_chip")
public interface IrqChip {
    void irqMask(int irq);

    void irqUnmask(int irq);
}
