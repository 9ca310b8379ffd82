package org.iommu4j.virtio;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.Port;
import org.iommu4j.pci.PciDev;

/** {@code struct virtio_pci_device} (drivers/virtio/virtio_pci_common.h, v5.15), modern transport only. */
@Port("drivers/virtio/virtio_pci_common.h:virtio_pci_device")
public final class VirtioPciDevice {
    /** {@code struct virtio_pci_vq_info}. */
    @Port("drivers/virtio/virtio_pci_common.h:virtio_pci_vq_info")
    static final class VirtioPciVqInfo {
        Virtqueue vq;
        int msixVector;
    }

    /** The transport's setup_vq hook. */
    @FunctionalInterface
    interface SetupVq {
        Virtqueue setupVq(VirtioPciDevice vpDev, VirtioPciVqInfo info, int index, VirtioRing.VqCallback callback, String name,
                boolean ctx, int msixVec);
    }

    public final VirtioDevice vdev;
    public final PciDev pciDev;
    public final VirtioPciModernDev.VirtioPciModernDevice mdev = new VirtioPciModernDev.VirtioPciModernDevice();
    /** The queues with a callback, walked by the shared vector's handler (copy-on-write in place of vp_dev->lock). */
    final List<VirtioPciVqInfo> virtqueues = new CopyOnWriteArrayList<>();
    /** Every queue's info by queue index, with or without callback: what teardown walks. */
    VirtioPciVqInfo[] vqs;
    public boolean msixEnabled;
    public int msixVectors;
    public int msixUsedVectors;
    String[] msixNames;
    /** Whether each queue with a callback has an MSI-X vector of its own. */
    public boolean perVqVectors;
    SetupVq setupVq;
    java.util.function.Consumer<VirtioPciVqInfo> delVq;
    java.util.function.IntUnaryOperator configVector;

    VirtioPciDevice(VirtioDevice vdev, PciDev pciDev) {
        this.vdev = vdev;
        this.pciDev = pciDev;
    }

    @Port("drivers/virtio/virtio_pci_common.h:to_vp_device")
    static VirtioPciDevice toVpDevice(VirtioDevice vdev) {
        return (VirtioPciDevice) vdev.devGetDrvdata();
    }
}
