package org.iommu4j.base.hw;

/**
 * What a bus master's already-translated write reaches: RAM or a device's registers (e.g. an
 * MSI doorbell). Used by device models for MSI writes and by hardware that writes memory by
 * physical address.
 */
public final class SystemBus {
    private final PhysMem mem;
    private final MmioBus mmio;

    public SystemBus(PhysMem mem, MmioBus mmio) {
        this.mem = mem;
        this.mmio = mmio;
    }

    public PhysMem mem() {
        return mem;
    }

    public MmioBus mmio() {
        return mmio;
    }

    /** A 32-bit write by physical address; throws {@link BusError} if nothing answers. */
    public void write32(long pa, int value) {
        if (mem.isRam(pa, 4)) {
            mem.writelRelease(pa & ~3L, value);
        } else {
            mmio.write(pa, Integer.toUnsignedLong(value), 4);
        }
    }

    public void write64(long pa, long value) {
        if (mem.isRam(pa, 8)) {
            mem.writeqRelease(pa & ~7L, value);
        } else {
            mmio.write(pa, value, 8);
        }
    }
}
