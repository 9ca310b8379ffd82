package org.iommu4j.virtio;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;

/**
 * {@code struct virtio_device} (include/linux/virtio.h, v5.15), embedding its {@code struct
 * device} ("virtioN", parent the transport's PCI function: the device DMA is mapped for).
 */
@Port("include/linux/virtio.h:virtio_device")
public final class VirtioDevice extends Device {
    /** Its number on the bus ("virtioN"), taken when it is registered; -1 before. */
    public int index = -1;
    /** The bus (virtio.c's globals) it is on. */
    public final Virtio virtio;
    public boolean failed;
    public boolean configEnabled;
    public boolean configChangePending;
    /** struct virtio_device_id: device and vendor. */
    public int idDevice;
    public int idVendor;
    public VirtioConfigOps config;
    public final List<Virtqueue> vqs = new CopyOnWriteArrayList<>();
    public long features;
    public Object priv;
    public VirtioDriver vdriver;

    VirtioDevice(Virtio virtio, Device parent) {
        super(null);
        this.virtio = virtio;
        this.parent = parent;
    }
}
