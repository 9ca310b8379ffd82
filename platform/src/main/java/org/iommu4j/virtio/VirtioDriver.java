package org.iommu4j.virtio;

import org.iommu4j.base.Port;

/**
 * {@code struct virtio_driver} (include/linux/virtio.h, v5.15): the device ID it binds, its
 * feature table and callbacks. {@code scan} and {@code config_changed} are optional.
 */
@Port("include/linux/virtio.h:virtio_driver")
public interface VirtioDriver {
    String name();

    /** The virtio device ID of its id_table (one entry, VIRTIO_DEV_ANY_ID vendor). */
    int deviceId();

    int[] featureTable();

    int probe(VirtioDevice vdev);

    /**
     * Unbinds the driver from {@code vdev} (mandatory: virtio_dev_remove calls it
     * unconditionally). It must leave the device reset: the virtio core WARNs on a status that is
     * still non-zero.
     */
    void remove(VirtioDevice vdev);

    default boolean hasScan() {
        return false;
    }

    default void scan(VirtioDevice vdev) {}

    default boolean hasConfigChanged() {
        return false;
    }

    default void configChanged(VirtioDevice vdev) {}
}
