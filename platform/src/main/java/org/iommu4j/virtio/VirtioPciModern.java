package org.iommu4j.virtio;

import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOENT;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.virtio.VirtioH.*;

import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Port;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.hw.IoMem;
import org.iommu4j.virtio.VirtioPciModernDev.VirtioPciModernDevice;

/**
 * drivers/virtio/virtio_pci_modern.c (v5.15): the modern transport's {@code virtio_config_ops}
 * (features, device configuration, status, reset, find_vqs) and its queue setup.
 */
public final class VirtioPciModern implements VirtioConfigOps {
    /** {@code virtio_pci_config_ops} (the device has a device-configuration region). */
    static final VirtioPciModern VIRTIO_PCI_CONFIG_OPS = new VirtioPciModern();

    private VirtioPciModern() {}

    private static VirtioPciModernDevice mdev(VirtioDevice vdev) {
        return VirtioPciDevice.toVpDevice(vdev).mdev;
    }

    @Override
    @Port("drivers/virtio/virtio_pci_modern.c:vp_get_features")
    public long getFeatures(VirtioDevice vdev) {
        return VirtioPciModernDev.vpModernGetFeatures(mdev(vdev));
    }

    @Port("drivers/virtio/virtio_pci_modern.c:vp_transport_features")
    private static void vpTransportFeatures(VirtioDevice vdev, long features) {
        // VIRTIO_F_SR_IOV only for a function with the SR-IOV capability: none here
    }

    @Override
    @Port("drivers/virtio/virtio_pci_modern.c:vp_finalize_features")
    public int finalizeFeatures(VirtioDevice vdev) {
        VirtioPciDevice vpDev = VirtioPciDevice.toVpDevice(vdev);
        long features = vdev.features;
        // the ring layer withdraws transport bits it does not implement,
        VirtioRing.vringTransportFeatures(vdev);
        // then the PCI transport adds its own (SR-IOV)
        vpTransportFeatures(vdev, features);
        if (!Virtio.__virtioTestBit(vdev, VIRTIO_F_VERSION_1)) {
            DevPrintk.devErr(vdev, "virtio: device uses modern interface but does not have VIRTIO_F_VERSION_1");
            return -EINVAL;
        }
        VirtioPciModernDev.vpModernSetFeatures(vpDev.mdev, vdev.features);
        return 0;
    }

    @Override
    @Port("drivers/virtio/virtio_pci_modern.c:vp_get")
    public long get(VirtioDevice vdev, int offset, int len) {
        VirtioPciModernDevice mdev = mdev(vdev);
        IoMem device = mdev.device;
        // v5.15 BUG_ONs a field past the device region; a BUG here is a "BUG:" warning and no access
        if (device == null || offset + len > mdev.deviceLen) {
            Warn.WARN(true, "BUG: vp_get of " + len + " bytes at " + offset + " past the device region");
            return 0;
        }
        switch (len) {
            case 1: return device.readb(offset);
            case 2: return device.readw(offset);
            case 4: return Integer.toUnsignedLong(device.readl(offset));
            case 8:
                return Integer.toUnsignedLong(device.readl(offset)) | Integer.toUnsignedLong(device.readl(offset + 4)) << 32;
            default:
                Warn.WARN(true, "BUG: vp_get of " + len + " bytes");
                return 0;
        }
    }

    @Override
    @Port("drivers/virtio/virtio_pci_modern.c:vp_set")
    public void set(VirtioDevice vdev, int offset, long val, int len) {
        VirtioPciModernDevice mdev = mdev(vdev);
        IoMem device = mdev.device;
        if (device == null || offset + len > mdev.deviceLen) {
            Warn.WARN(true, "BUG: vp_set of " + len + " bytes at " + offset + " past the device region");
            return;
        }
        switch (len) {
            case 1 -> device.writeb((int) val, offset);
            case 2 -> device.writew((int) val, offset);
            case 4 -> device.writel((int) val, offset);
            case 8 -> {
                device.writel((int) val, offset);
                device.writel((int) (val >>> 32), offset + 4);
            }
            default -> Warn.WARN(true, "BUG: vp_set of " + len + " bytes");
        }
    }

    @Override
    @Port("drivers/virtio/virtio_pci_modern.c:vp_generation")
    public int generation(VirtioDevice vdev) {
        return VirtioPciModernDev.vpModernGeneration(mdev(vdev));
    }

    @Override
    @Port("drivers/virtio/virtio_pci_modern.c:vp_get_status")
    public int getStatus(VirtioDevice vdev) {
        return VirtioPciModernDev.vpModernGetStatus(mdev(vdev));
    }

    @Override
    @Port("drivers/virtio/virtio_pci_modern.c:vp_set_status")
    public void setStatus(VirtioDevice vdev, int status) {
        // 0 is a reset, which only vp_reset writes; v5.15 BUG_ONs it, here a "BUG:" warning and no write
        if (Warn.WARN(status == 0, "BUG: vp_set_status(0): a reset goes through vp_reset")) {
            return;
        }
        VirtioPciModernDev.vpModernSetStatus(mdev(vdev), status);
    }

    @Override
    @Port("drivers/virtio/virtio_pci_modern.c:vp_reset")
    public void reset(VirtioDevice vdev) {
        VirtioPciDevice vpDev = VirtioPciDevice.toVpDevice(vdev);
        // writing 0 resets the device
        VirtioPciModernDev.vpModernSetStatus(vpDev.mdev, 0);
        // the reset is complete once status reads 0 (virtio 1.1, 4.1.4.3.2); v5.15 sleeps 1 ms per poll
        while (VirtioPciModernDev.vpModernGetStatus(vpDev.mdev) != 0) {
            Thread.onSpinWait(); // msleep(1)
        }
        // vp_synchronize_vectors: wait out handlers still running on any vector
        for (int i = 0; i < vpDev.msixVectors; i++) {
            vdev.virtio.irqs.synchronizeIrq(org.iommu4j.pci.PciMsi.pciIrqVector(vpDev.pciDev, i));
        }
    }

    @Port("drivers/virtio/virtio_pci_modern.c:vp_config_vector")
    private static int vpConfigVector(VirtioPciDevice vpDev, int vector) {
        return VirtioPciModernDev.vpModernConfigVector(vpDev.mdev, vector);
    }

    @Port("drivers/virtio/virtio_pci_modern.c:setup_vq")
    private static Virtqueue setupVq(VirtioPciDevice vpDev, VirtioPciDevice.VirtioPciVqInfo info, int index,
            VirtioRing.VqCallback callback, String name, boolean ctx, int msixVec) {
        VirtioPciModernDevice mdev = vpDev.mdev;
        if (index >= VirtioPciModernDev.vpModernGetNumQueues(mdev)) {
            throw new ErrnoException(-ENOENT);
        }
        // size 0: no such queue; enabled: already set up
        int num = VirtioPciModernDev.vpModernGetQueueSize(mdev, index);
        if (num == 0 || VirtioPciModernDev.vpModernGetQueueEnable(mdev, index)) {
            throw new ErrnoException(-ENOENT);
        }
        if ((num & (num - 1)) != 0) {
            DevPrintk.devWarn(vpDev.pciDev, "bad queue size %d", num);
            throw new ErrnoException(-EINVAL);
        }
        info.msixVector = msixVec;
        // the ring, aligned to SMP_CACHE_BYTES (64 on arm64)
        Virtqueue vq = VirtioRing.vringCreateVirtqueue(index, num, 64, vpDev.vdev, true, true, ctx, VirtioPciCommon::vpNotify,
                callback, name);
        if (vq == null) {
            throw new ErrnoException(-ENOMEM);
        }
        // give the device the size and the three areas' DMA addresses
        VirtioPciModernDev.vpModernSetQueueSize(mdev, index, VirtioRing.virtqueueGetVringSize(vq));
        VirtioPciModernDev.vpModernQueueAddress(mdev, index, VirtioRing.virtqueueGetDescAddr(vq),
                VirtioRing.virtqueueGetAvailAddr(vq), VirtioRing.virtqueueGetUsedAddr(vq));
        vq.priv = VirtioPciModernDev.vpModernMapVqNotify(mdev, index);
        if (vq.priv == null) {
            VirtioRing.vringDelVirtqueue(vq);
            throw new ErrnoException(-ENOMEM);
        }
        if (msixVec != VIRTIO_MSI_NO_VECTOR) {
            msixVec = VirtioPciModernDev.vpModernQueueVector(mdev, index, msixVec);
            if (msixVec == VIRTIO_MSI_NO_VECTOR) {
                VirtioRing.vringDelVirtqueue(vq);
                throw new ErrnoException(-EBUSY);
            }
        }
        return vq;
    }

    @Override
    @Port("drivers/virtio/virtio_pci_modern.c:vp_modern_find_vqs")
    public int findVqs(VirtioDevice vdev, int nvqs, Virtqueue[] vqs, VirtioRing.VqCallback[] callbacks, String[] names) {
        VirtioPciDevice vpDev = VirtioPciDevice.toVpDevice(vdev);
        int rc = VirtioPciCommon.vpFindVqs(vdev, nvqs, vqs, callbacks, names);
        if (rc != 0) {
            return rc;
        }
        // enable the queues only now: once enabled, only a device reset takes one back
        for (Virtqueue vq : vdev.vqs) {
            VirtioPciModernDev.vpModernSetQueueEnable(vpDev.mdev, vq.index, true);
        }
        return 0;
    }

    @Port("drivers/virtio/virtio_pci_modern.c:del_vq")
    private static void delVq(VirtioPciDevice.VirtioPciVqInfo info) {
        Virtqueue vq = info.vq;
        VirtioPciDevice vpDev = VirtioPciDevice.toVpDevice(vq.vdev);
        if (vpDev.msixEnabled) {
            VirtioPciModernDev.vpModernQueueVector(vpDev.mdev, vq.index, VIRTIO_MSI_NO_VECTOR);
        }
        VirtioRing.vringDelVirtqueue(vq);
    }

    /** virtio_pci_config_ops's del_vqs slot: {@link VirtioPciCommon#vpDelVqs}. */
    @Override
    public void delVqs(VirtioDevice vdev) {
        VirtioPciCommon.vpDelVqs(vdev);
    }

    /** virtio_pci_config_ops's bus_name slot: {@link VirtioPciCommon#vpBusName}. */
    @Override
    public String busName(VirtioDevice vdev) {
        return VirtioPciCommon.vpBusName(vdev);
    }

    /** Undoes {@link #virtioPciModernProbe}: the device's register windows go. */
    @Port("drivers/virtio/virtio_pci_modern.c:virtio_pci_modern_remove")
    static void virtioPciModernRemove(VirtioPciDevice vpDev) {
        VirtioPciModernDev.vpModernRemove(vpDev.mdev);
    }

    /** Probes the modern transport and installs its ops. 0 or -errno (-ENODEV: not a modern device). */
    @Port("drivers/virtio/virtio_pci_modern.c:virtio_pci_modern_probe")
    static int virtioPciModernProbe(VirtioPciDevice vpDev) {
        VirtioPciModernDevice mdev = vpDev.mdev;
        mdev.pciDev = vpDev.pciDev;
        int err = VirtioPciModernDev.vpModernProbe(mdev);
        if (err != 0) {
            return err;
        }
        // virtio_pci_config_nodev_ops (no get/set) would serve a device without a device region: both devices have one
        vpDev.vdev.config = VIRTIO_PCI_CONFIG_OPS;
        vpDev.configVector = v -> vpConfigVector(vpDev, v);
        vpDev.setupVq = VirtioPciModern::setupVq;
        vpDev.delVq = VirtioPciModern::delVq;
        vpDev.vdev.idDevice = mdev.idDevice;
        vpDev.vdev.idVendor = mdev.idVendor;
        return 0;
    }
}
