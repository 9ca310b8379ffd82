package org.iommu4j.base.irq;

import static org.iommu4j.base.Errno.ENOSPC;

import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.IrqChip;
import org.iommu4j.base.hw.IrqController;

/**
 * An MSI irq domain: {@code struct irq_domain} whose {@code host_data} is a
 * {@code struct msi_domain_info}, with the generic vector allocation of kernel/irq/msi.c (v5.15).
 *
 * <p>The kernel's hierarchy (bus MSI domain, interrupt translation service, GIC) is flattened to
 * the two levels a PCI function's MSIs need: this domain carries the bus layer's
 * {@link MsiDomainOps} and its chip's {@code irq_write_msi_msg} ({@link MsiChip}); the
 * {@link ParentDomain} is the interrupt controller's domain, which allocates the hardware
 * events ({@code alloc}/{@code free}) and composes the message ({@code irq_compose_msi_msg}).
 * Virqs come from the board's {@link IrqController}; freed virqs are not reused.
 *
 * <p>Locking: the kernel serialises allocation with {@code irq_domain_mutex} further up; here the
 * domain's monitor does.
 */
@Port("include/linux/msi.h:msi_domain_info")
public final class MsiDomain {
    /* msi_domain_info.flags */
    public static final int MSI_FLAG_USE_DEF_DOM_OPS = 1 << 0;
    public static final int MSI_FLAG_USE_DEF_CHIP_OPS = 1 << 1;
    public static final int MSI_FLAG_MULTI_PCI_MSI = 1 << 2;
    public static final int MSI_FLAG_PCI_MSIX = 1 << 3;
    /** Activate (compose and write the message) at allocation: PCI needs it before MSI Enable. */
    public static final int MSI_FLAG_ACTIVATE_EARLY = 1 << 4;
    public static final int MSI_FLAG_MUST_REACTIVATE = 1 << 5;

    /** {@code msi_alloc_info_t} (asm-generic/msi.h): what prepare hands to the parent's alloc. */
    @Port("include/asm-generic/msi.h:msi_alloc_info")
    public static final class MsiAllocInfo {
        public MsiDesc desc;
        public long hwirq;
        public long flags;
        /** Room for the parent's own data (the ITS keeps its its_device in slot 0). */
        public final Object[] scratchpad = new Object[2];
    }

    /** {@code struct msi_domain_ops}: the callbacks of the bus layer (and its parent's prepare). */
    @Port("include/linux/msi.h:msi_domain_ops")
    public interface MsiDomainOps {
        /** 0 if {@code dev}'s descriptors can be served; 1 = retry with one vector; -errno. */
        int msiCheck(MsiDomain domain, Device dev);

        /** Prepares the parent for {@code nvec} vectors of {@code dev}; 0 or -errno. */
        int msiPrepare(MsiDomain domain, Device dev, int nvec, MsiAllocInfo arg);

        default void setDesc(MsiAllocInfo arg, MsiDesc desc) {
            arg.desc = desc;
        }

        /** Whether {@link #handleError} is provided (a NULL op otherwise). */
        default boolean hasHandleError() {
            return false;
        }

        /** Maps an allocation failure to what the caller sees. */
        default int handleError(MsiDomain domain, MsiDesc desc, int error) {
            return error;
        }
    }

    /** The parent domain's {@code irq_domain_ops} and its chip's {@code irq_compose_msi_msg}. */
    public interface ParentDomain {
        /** {@code irq_domain_ops.alloc}: sets up {@code nrIrqs} vectors from {@code virq}; 0 or -errno. */
        int alloc(MsiDomain domain, int virq, int nrIrqs, MsiAllocInfo arg);

        /** {@code irq_domain_ops.free}. */
        void free(MsiDomain domain, int virq, int nrIrqs);

        /** {@code irq_chip.irq_compose_msi_msg} of the parent's chip for {@code virq}. */
        void irqComposeMsiMsg(int virq, MsiDesc desc, MsiMsg msg);
    }

    /** This domain's {@code irq_chip}: writing the message, masking a vector. */
    public interface MsiChip {
        void irqWriteMsiMsg(int virq, MsiDesc desc, MsiMsg msg);

        void irqMask(int virq, MsiDesc desc);

        void irqUnmask(int virq, MsiDesc desc);
    }

    public final String name;
    public final int flags;
    public final MsiDomainOps ops;
    public final MsiChip chip;
    public final ParentDomain parent;
    private final IrqController irqs;

    public MsiDomain(String name, int flags, MsiDomainOps ops, MsiChip chip, ParentDomain parent, IrqController irqs) {
        this.name = name;
        this.flags = flags;
        this.ops = ops;
        this.chip = chip;
        this.parent = parent;
        this.irqs = irqs;
    }

    /** The check op, then the prepare op. 0 or what they returned. */
    @Port("kernel/irq/msi.c:msi_domain_prepare_irqs")
    public int msiDomainPrepareIrqs(Device dev, int nvec, MsiAllocInfo arg) {
        int ret = ops.msiCheck(this, dev);
        if (ret == 0) {
            ret = ops.msiPrepare(this, dev, nvec, arg);
        }
        return ret;
    }

    /**
     * Allocates the vectors of every descriptor on {@code dev}'s list and, for an
     * ACTIVATE_EARLY domain, composes and writes each message. Any failure of the parent's
     * allocation is reported as -ENOSPC unless the ops' {@code handle_error} says otherwise;
     * a prepare failure comes back as is.
     */
    @Port("kernel/irq/msi.c:__msi_domain_alloc_irqs")
    public synchronized int msiDomainAllocIrqs(Device dev, int nvec) {
        MsiAllocInfo arg = new MsiAllocInfo();
        int ret = msiDomainPrepareIrqs(dev, nvec, arg);
        if (ret != 0) {
            return ret;
        }
        for (MsiDesc desc : dev.msiList) {
            ops.setDesc(arg, desc);
            int virq = __irqDomainAllocIrqs(desc.nvecUsed, arg);
            if (virq < 0) {
                ret = -ENOSPC;
                if (ops.hasHandleError()) {
                    ret = ops.handleError(this, desc, ret);
                }
                return ret;
            }
            desc.irq = virq;
            for (int i = 0; i < desc.nvecUsed; i++) {
                irqs.irqSetChip(virq + i, new IrqChip() {
                    @Override
                    public void irqMask(int irq) {
                        chip.irqMask(irq, desc);
                    }

                    @Override
                    public void irqUnmask(int irq) {
                        chip.irqUnmask(irq, desc);
                    }

                    @Override
                    public void activate(int irq) {
                        msiDomainActivate(irq, desc);
                    }

                    @Override
                    public void deactivate(int irq) {
                        msiDomainDeactivate(irq, desc);
                    }
                });
            }
        }
        if ((flags & MSI_FLAG_ACTIVATE_EARLY) == 0) {
            return 0;
        }
        for (MsiDesc desc : dev.msiList) {
            for (int i = 0; i < desc.nvecUsed; i++) {
                // irq_domain_activate_irq: msi_domain_activate, the vector marked active
                irqs.irqDomainActivateIrq(desc.irq + i);
            }
        }
        return 0;
    }

    /** First virq of {@code nr} new ones after the parent set them up, or the parent's -errno. */
    @Port("kernel/irq/irqdomain.c:__irq_domain_alloc_irqs")
    private int __irqDomainAllocIrqs(int nr, MsiAllocInfo arg) {
        int virq = irqs.allocVirqs(nr);
        int ret = parent.alloc(this, virq, nr, arg);
        if (ret < 0) {
            irqs.irqFreeDescs(virq, nr);
            return ret;
        }
        return virq;
    }

    /** Composes the vector's message through the parent's chip and writes it with ours. */
    @Port("kernel/irq/msi.c:msi_domain_activate")
    private void msiDomainActivate(int virq, MsiDesc desc) {
        MsiMsg msg = new MsiMsg();
        parent.irqComposeMsiMsg(virq, desc, msg);
        chip.irqWriteMsiMsg(virq, desc, msg);
    }

    /** Takes the vector's message back: a zero message is written in its place. */
    @Port("kernel/irq/msi.c:msi_domain_deactivate")
    private void msiDomainDeactivate(int virq, MsiDesc desc) {
        chip.irqWriteMsiMsg(virq, desc, new MsiMsg());
    }

    /**
     * Frees the vectors of every allocated descriptor on {@code dev}'s list: each vector still
     * active (activated at allocation in an ACTIVATE_EARLY domain or by request_irq, and not
     * deactivated by a free_irq since) is deactivated first, its message zeroed in the device;
     * then the parent frees the events. The parent's own deactivate (the ITS's DISCARD) is not
     * modelled.
     */
    @Port("kernel/irq/msi.c:__msi_domain_free_irqs")
    public synchronized void msiDomainFreeIrqs(Device dev) {
        for (MsiDesc desc : dev.msiList) {
            for (int i = 0; desc.irq != 0 && i < desc.nvecUsed; i++) {
                if (irqs.irqdIsActivated(desc.irq + i)) {
                    irqs.irqDomainDeactivateIrq(desc.irq + i);
                }
            }
        }
        for (MsiDesc desc : dev.msiList) {
            if (desc.irq != 0) {
                for (int i = 0; i < desc.nvecUsed; i++) {
                    irqs.irqSetChip(desc.irq + i, null);
                }
                parent.free(this, desc.irq, desc.nvecUsed);
                // irq_domain_free_irqs: the descriptors go, their numbers free again
                irqs.irqFreeDescs(desc.irq, desc.nvecUsed);
                desc.irq = 0;
            }
        }
    }

    /** Whether {@code virq} has a handler installed. */
    @Port("kernel/irq/manage.c:irq_has_action")
    public boolean irqHasAction(int virq) {
        return irqs.hasAction(virq);
    }

    @Override
    public String toString() {
        return name;
    }
}
