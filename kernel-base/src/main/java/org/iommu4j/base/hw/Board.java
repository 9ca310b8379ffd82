package org.iommu4j.base.hw;

/**
 * The simulated machine's shared fabric: RAM, the MMIO space, the interrupt controller, the DVM
 * interconnect, and the StreamID-to-endpoint wiring; an MSI doorbell (a GICv3 ITS's
 * GITS_TRANSLATER page) only when its builder asks for one: a machine built from a device tree
 * has one only if the tree describes an ITS. Each test or CLI run builds its own board: there
 * is no global machine.
 *
 * <p>An access to an address nothing is mapped at ends in a {@link BusError} (see {@link MmioBus}).
 */
public final class Board {
    /**
     * GITS_TRANSLATER of the ITS QEMU's virt machine has with gic-version=3 (the ITS frame at
     * 0x8080000, its translation register page 64 KiB above): where a board built without a
     * tree puts the doorbell it asks for.
     */
    public static final long DEFAULT_MSI_DOORBELL = 0x08090040L;
    /** GITS_TRANSLATER's offset from an ITS's base (GICv3 architecture: page 1 of the ITS, offset 0x40). */
    public static final long GITS_TRANSLATER = 0x10040L;

    public final PhysMem mem;
    public final MmioBus mmio;
    public final SystemBus sysbus;
    public final IrqController irqs;
    /** The ITS doorbell and its MSI routing; null on a board without one. */
    public final MsiController msi;
    public final Interconnect interconnect;
    public final EndpointRegistry endpoints;

    /** A board without an MSI doorbell ({@link #msi} is null). */
    public Board(PhysMem mem) {
        this(mem, -1L);
    }

    /**
     * A board with an MSI doorbell register at {@code msiDoorbell} (its 4 KiB page mapped), or
     * none for a negative address.
     */
    public Board(PhysMem mem, long msiDoorbell) {
        this.mem = mem;
        this.mmio = new MmioBus();
        this.sysbus = new SystemBus(mem, mmio);
        this.irqs = new IrqController("gic");
        if (msiDoorbell >= 0) {
            this.msi = new MsiController(irqs, msiDoorbell);
            this.mmio.map("its-doorbell", msiDoorbell & ~0xfffL, 0x1000, (MmioDevice) new DoorbellPage(msi, msiDoorbell & 0xfffL));
        } else {
            this.msi = null;
        }
        this.interconnect = new Interconnect();
        this.endpoints = new EndpointRegistry();
    }

    /** A board with {@code ramSize} bytes of RAM at QEMU virt's 0x40000000 and no MSI doorbell. */
    public static Board withRam(long ramSize) {
        return new Board(new PhysMem(0x4000_0000L, ramSize));
    }

    /**
     * A board with {@code ramSize} bytes of RAM at QEMU virt's 0x40000000 and an ITS doorbell at
     * {@link #DEFAULT_MSI_DOORBELL}, for tests of MSI paths that build no device tree.
     */
    public static Board withRamAndItsDoorbell(long ramSize) {
        return new Board(new PhysMem(0x4000_0000L, ramSize), DEFAULT_MSI_DOORBELL);
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
