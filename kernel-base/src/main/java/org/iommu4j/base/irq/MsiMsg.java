package org.iommu4j.base.irq;

import org.iommu4j.base.Port;

/**
 * {@code struct msi_msg}: what a device writes to raise a message-signalled interrupt, as the
 * irqchip composes it and the bus layer programs it into the device. Mutable, as in C: the
 * interrupt controller fills it and an IOMMU layer may rewrite the address before it is written.
 */
@Port("include/linux/msi.h:msi_msg")
public final class MsiMsg {
    public int addressLo;
    public int addressHi;
    public int data;

    /** The 64-bit address the message is written to. */
    public long address() {
        return (long) addressHi << 32 | Integer.toUnsignedLong(addressLo);
    }

    public MsiMsg copy() {
        MsiMsg m = new MsiMsg();
        m.addressLo = addressLo;
        m.addressHi = addressHi;
        m.data = data;
        return m;
    }

    @Override
    public String toString() {
        return String.format("msi_msg{address 0x%x data 0x%x}", address(), data);
    }
}
