package org.iommu4j.base.hw;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.iommu4j.base.Port;

/**
 * An MSI doorbell (a GIC ITS GITS_TRANSLATER stand-in) and the platform MSI domain: vectors are
 * allocated as (doorbell address, data) pairs; a 32-bit write of {@code data} to the doorbell,
 * made by any bus master through the {@link SystemBus}, raises the vector's virq.
 */
public final class MsiController implements MmioDevice {
    /** {@code struct msi_msg} plus the virq it raises. */
    @Port("include/linux/msi.h:msi_msg")
    public record MsiMsg(long address, int data, int virq) {}

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
    public synchronized List<MsiMsg> allocate(int nvec) {
        int first = irqs.allocVirqs(nvec);
        List<MsiMsg> out = new ArrayList<>();
        for (int i = 0; i < nvec; i++) {
            int data = nextData++;
            dataToVirq.put(data, first + i);
            out.add(new MsiMsg(doorbell, data, first + i));
        }
        return out;
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
