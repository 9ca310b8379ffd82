package org.iommu4j.base.hw;

import org.iommu4j.base.Port;

/**
 * The masking half of {@code struct irq_chip}: what genirq calls when an interrupt is started
 * ({@code request_irq}: unmask) and shut down ({@code free_irq}: mask), with its domain's
 * activate/deactivate ops beside it. Lines without a chip are never masked.
 */
@Port("include/linux/irq.h:irq_chip")
public interface IrqChip {
    void irqMask(int irq);

    void irqUnmask(int irq);

    /**
     * The {@code activate} op of the irq's domain ({@code struct irq_domain_ops}), which the
     * chip's owner supplies with the chip here: an MSI vector's message composed and written to
     * the device. Called by {@link IrqController#irqDomainActivateIrq} on an inactive irq.
     * Default: nothing to do (a wired line).
     */
    default void activate(int irq) {}

    /**
     * The {@code deactivate} op of the irq's domain: an MSI vector's message taken back (a zero
     * message written). Called by {@link IrqController#irqDomainDeactivateIrq} on an active irq.
     */
    default void deactivate(int irq) {}
}
