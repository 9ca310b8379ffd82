package org.iommu4j.pci.hw.virtio;

/**
 * A virtio device behind a transport (QEMU's VirtIODevice and its class): its ID, the features
 * it offers, its queues' maximum sizes, its device-specific configuration and what it does
 * with the buffers the driver makes available.
 */
public abstract class VirtioDeviceModel {
    /** The virtio device ID (5 Device Types). */
    public abstract int deviceId();

    /** Device-specific feature bits offered (the transport adds VERSION_1 and ACCESS_PLATFORM). */
    public abstract long deviceFeatures();

    /** The maximum Queue Size of each queue; the array's length is num_queues. */
    public abstract int[] queueSizes();

    /** The device-specific configuration, little-endian, as the driver reads it. */
    public abstract byte[] config();

    /**
     * The driver notified queue {@code vq}: take its available buffers, fill them, return them
     * with {@code proxy.push}. A malformed request is a {@link VirtioError} only when the device
     * cannot answer it in the request's own status.
     */
    protected abstract void handleOutput(VirtioPciProxy proxy, VirtQueue vq);

    /** Device reset (status written 0): forget any per-driver state. */
    protected void reset() {}
}
