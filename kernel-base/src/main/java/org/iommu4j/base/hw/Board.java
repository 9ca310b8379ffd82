package org.iommu4j.base.hw;

/**
 * The simulated machine's shared fabric: RAM, the MMIO space, the interrupt controller with its
 * MSI doorbell, the DVM interconnect, and the StreamID-to-endpoint wiring. Each test or CLI run
 * builds its own board: there is no global machine.
 */
public final class Board {
    /** Where the default board's MSI doorbell sits (QEMU virt's GIC ITS translater page). */
    public static final long DEFAULT_MSI_DOORBELL = 0x08090040L;

    public final PhysMem mem;
    public final MmioBus mmio;
    public final SystemBus sysbus;
    public final IrqController irqs;
    public final MsiController msi;
    public final Interconnect interconnect;
    public final EndpointRegistry endpoints;

    public Board(PhysMem mem) {
        this(mem, DEFAULT_MSI_DOORBELL);
    }

    public Board(PhysMem mem, long msiDoorbell) {
        this.mem = mem;
        this.mmio = new MmioBus();
        this.sysbus = new SystemBus(mem, mmio);
        this.irqs = new IrqController("gic");
        this.msi = new MsiController(irqs, msiDoorbell);
        this.mmio.map("its-doorbell", msiDoorbell & ~0xfffL, 0x1000, (MmioDevice) new DoorbellPage(msi, msiDoorbell & 0xfffL));
        this.interconnect = new Interconnect();
        this.endpoints = new EndpointRegistry();
    }

    /** A board with {@code ramSize} bytes of RAM at QEMU virt's 0x40000000. */
    public static Board withRam(long ramSize) {
        return new Board(new PhysMem(0x4000_0000L, ramSize));
    }

    private record DoorbellPage(MsiController msi, long off) implements MmioDevice {
        @Override
        public long mmioRead(long offset, int size) {
            return 0;
        }

        @Override
        public void mmioWrite(long offset, long value, int size) {
            if (offset == off) {
                msi.mmioWrite(0, value, size);
            }
        }
    }
}
