package org.iommu4j.pci.hw.virtio;

/**
 * A driver mistake the device cannot recover from (QEMU's {@code virtio_error}): a malformed
 * ring, or a DMA the IOMMU refused. The transport catches it, sets DEVICE_NEEDS_RESET and sends
 * a configuration change notification (virtio 1.1 section 2.1.2); never seen outside the package.
 */
final class VirtioError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    VirtioError(String msg) {
        super(msg, null, false, false);
    }
}
