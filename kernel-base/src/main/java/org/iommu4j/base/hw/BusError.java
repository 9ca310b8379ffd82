package org.iommu4j.base.hw;

/**
 * An access to an address no RAM or device answers. Hardware models catch it and turn it into
 * the architected response (an external abort event, a walk abort); it is cheap (no stack
 * trace) so the error path does not distort simulations.
 */
public final class BusError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long address;

    public BusError(long address, String what) {
        super(what + " at 0x" + Long.toHexString(address), null, false, false);
        this.address = address;
    }

    public long address() {
        return address;
    }
}
