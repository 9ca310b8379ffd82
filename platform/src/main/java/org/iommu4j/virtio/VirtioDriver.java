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

    default boolean hasScan() {
        return false;
    }

    default void scan(VirtioDevice vdev) {}

    default boolean hasConfigChanged() {
        return false;
    }

    default void configChanged(VirtioDevice vdev) {}
}
