package org.iommu4j.base.hw;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.iommu4j.base.Port;
import org.iommu4j.base.irq.MsiMsg;

/**
 * An MSI doorbell (a GIC ITS GITS_TRANSLATER stand-in) and the platform MSI domain: vectors are
 * allocated as (doorbell address, data) pairs; a 32-bit write of {@code data} to the doorbell,
 * made by any bus master through the {@link SystemBus}, raises the vector's virq.
 */
public final class MsiController implements MmioDevice {
    /** One allocated vector: the message a device writes and the virq that write raises. */
    public record Vector(MsiMsg msg, int virq) {}

    private final IrqController irqs;
    private final long doorbell;
    private final ConcurrentHashMap<Integer, Integer> dataToVirq = new ConcurrentHashMap<>();
    private int nextData = 0x1000;

    public MsiController(IrqController irqs, long doorbellAddress) {
        this.irqs = irqs;
        this.doorbell = doorbellAddress;
    }

    public long doorbellAddress() {
        return doorbell;
    }

    /** Allocates {@code nvec} vectors ({@code platform_msi_domain_alloc_irqs}). */
    @Port("drivers/base/platform-msi.c:platform_msi_domain_alloc_irqs")
    public synchronized List<Vector> allocate(int nvec) {
        int first = irqs.allocVirqs(nvec);
        List<Vector> out = new ArrayList<>();
        for (int i = 0; i < nvec; i++) {
            MsiMsg msg = new MsiMsg();
            msg.addressLo = (int) doorbell;
            msg.addressHi = (int) (doorbell >>> 32);
            msg.data = nextData++;
            dataToVirq.put(msg.data, first + i);
            out.add(new Vector(msg, first + i));
        }
        return out;
    }

    /**
     * Reserves {@code n} consecutive data values (n a power of two) starting at a multiple of n,
     * for a PCI function's multiple-message MSI, which ORs the vector number into the low bits.
     * A real ITS tells devices apart by the DeviceID the write carries and numbers each device's
     * events from 0; this doorbell sees no DeviceID, so every device gets its own block of one
     * machine-wide event space. Returns the block's first value; nothing is routed yet.
     */
    public synchronized int allocateDataBlock(int n) {
        if (n < 1 || Integer.bitCount(n) != 1) {
            throw new IllegalArgumentException("MSI data block of " + n + " is not a power of two");
        }
        int base = (nextData + n - 1) & -n;
        nextData = base + n;
        return base;
    }

    /** Makes a write of {@code data} to the doorbell raise {@code virq}. */
    public void route(int data, int virq) {
        dataToVirq.put(data, virq);
    }

    /** A write of {@code data} raises nothing any more. */
    public void unroute(int data) {
        dataToVirq.remove(data);
    }

    /** The virq a write of {@code data} raises, or -1. */
    public int routed(int data) {
        Integer v = dataToVirq.get(data);
        return v == null ? -1 : v;
    }

    @Override
    public long mmioRead(long offset, int size) {
        return 0;
    }

    @Override
    public void mmioWrite(long offset, long value, int size) {
        Integer virq = dataToVirq.get((int) value);
        if (virq != null) {
            irqs.raise(virq);
        }
    }
}
