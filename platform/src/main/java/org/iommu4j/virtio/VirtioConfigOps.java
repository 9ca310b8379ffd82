package org.iommu4j.virtio;

import org.iommu4j.base.Port;

/** {@code struct virtio_config_ops} (include/linux/virtio_config.h, v5.15): the transport's side. */
@Port("include/linux/virtio_config.h:virtio_config_ops")
public interface VirtioConfigOps {
    /** Reads {@code len} bytes (1, 2, 4 or 8) of the device configuration at {@code offset}, little-endian. */
    long get(VirtioDevice vdev, int offset, int len);

    void set(VirtioDevice vdev, int offset, long val, int len);

    int generation(VirtioDevice vdev);

    int getStatus(VirtioDevice vdev);

    void setStatus(VirtioDevice vdev, int status);

    void reset(VirtioDevice vdev);

    /** 0 or -errno; {@code vqs} filled. */
    int findVqs(VirtioDevice vdev, int nvqs, Virtqueue[] vqs, VirtioRing.VqCallback[] callbacks, String[] names);

    void delVqs(VirtioDevice vdev);

    long getFeatures(VirtioDevice vdev);

    int finalizeFeatures(VirtioDevice vdev);

    String busName(VirtioDevice vdev);
}
