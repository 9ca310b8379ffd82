package org.iommu4j.virtio;

import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.virtio.VirtioH.VIRTIO_MSI_NO_VECTOR;

import java.util.Locale;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.hw.IrqHandler;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciMsi;

/**
 * drivers/virtio/virtio_pci_common.c (v5.15): the PCI driver's probe and the virtqueue and
 * interrupt setup shared by the transports (MSI-X with a vector per queue, else one shared
 * vector for the queues, else INTx).
 */
public final class VirtioPciCommon {
    private VirtioPciCommon() {}

    /** VP_MSIX_CONFIG_VECTOR, VP_MSIX_VQ_VECTOR. */
    static final int VP_MSIX_CONFIG_VECTOR = 0;
    static final int VP_MSIX_VQ_VECTOR = 1;

    /** The notify hook: the queue index written to its notification address. */
    @Port("drivers/virtio/virtio_pci_common.c:vp_notify")
    static boolean vpNotify(Virtqueue vq) {
        // doorbell: the queue index, 16 bits, at the queue's notification address
        ((org.iommu4j.base.hw.IoMem) vq.priv).writew(vq.index, 0);
        return true;
    }

    /** Handler of the configuration vector: hands the change to the virtio core. */
    @Port("drivers/virtio/virtio_pci_common.c:vp_config_changed")
    static int vpConfigChanged(int irq, VirtioPciDevice vpDev) {
        Virtio.virtioConfigChanged(vpDev.vdev);
        return IrqHandler.IRQ_HANDLED;
    }

    /** Handler of the vector the queues share: vring_interrupt for each queue with a callback. */
    @Port("drivers/virtio/virtio_pci_common.c:vp_vring_interrupt")
    static int vpVringInterrupt(int irq, VirtioPciDevice vpDev) {
        int ret = IrqHandler.IRQ_NONE;
        for (VirtioPciDevice.VirtioPciVqInfo info : vpDev.virtqueues) {
            if (VirtioRing.vringInterrupt(irq, info.vq) == IrqHandler.IRQ_HANDLED) {
                ret = IrqHandler.IRQ_HANDLED;
            }
        }
        return ret;
    }

    @Port("drivers/virtio/virtio_pci_common.c:vp_request_msix_vectors")
    private static int vpRequestMsixVectors(VirtioDevice vdev, int nvectors, boolean perVqVectors) {
        VirtioPciDevice vpDev = VirtioPciDevice.toVpDevice(vdev);
        String name = vdev.devName();
        vpDev.msixVectors = nvectors;
        vpDev.msixNames = new String[nvectors];
        // flags PCI_IRQ_MSIX (| PCI_IRQ_AFFINITY with per-vq vectors: one CPU here, no spreading)
        int err = PciMsi.pciAllocIrqVectors(vpDev.pciDev, nvectors, nvectors, PciMsi.PCI_IRQ_MSIX);
        if (err < 0) {
            return err;
        }
        vpDev.msixEnabled = true;
        // the first vector in use serves configuration changes
        int v = vpDev.msixUsedVectors;
        vpDev.msixNames[v] = name + "-config";
        err = vdev.virtio.irqs.requestIrq(PciMsi.pciIrqVector(vpDev.pciDev, v), (irq, id) -> vpConfigChanged(irq, vpDev), 0,
                vpDev.msixNames[v], vpDev);
        if (err != 0) {
            return err;
        }
        ++vpDev.msixUsedVectors;
        v = vpDev.configVector.applyAsInt(v);
        // NO_VECTOR read back: the device could not take it
        if (v == VIRTIO_MSI_NO_VECTOR) {
            return -EBUSY;
        }
        if (!perVqVectors) {
            // one more vector, for all the queues together
            v = vpDev.msixUsedVectors;
            vpDev.msixNames[v] = name + "-virtqueues";
            err = vdev.virtio.irqs.requestIrq(PciMsi.pciIrqVector(vpDev.pciDev, v), (irq, id) -> vpVringInterrupt(irq, vpDev), 0,
                    vpDev.msixNames[v], vpDev);
            if (err != 0) {
                return err;
            }
            ++vpDev.msixUsedVectors;
        }
        return 0;
    }

    @Port("drivers/virtio/virtio_pci_common.c:vp_setup_vq")
    static Virtqueue vpSetupVq(VirtioDevice vdev, int index, VirtioRing.VqCallback callback, String name, boolean ctx,
            int msixVec) {
        VirtioPciDevice vpDev = VirtioPciDevice.toVpDevice(vdev);
        VirtioPciDevice.VirtioPciVqInfo info = new VirtioPciDevice.VirtioPciVqInfo();
        Virtqueue vq = vpDev.setupVq.setupVq(vpDev, info, index, callback, name, ctx, msixVec);
        info.vq = vq;
        if (callback != null) {
            // at the head, as list_add: the shared vector's handler visits the newest queue first
            vpDev.virtqueues.add(0, info);
        }
        vpDev.vqs[index] = info;
        return vq;
    }

    @Port("drivers/virtio/virtio_pci_common.c:vp_del_vq")
    private static void vpDelVq(Virtqueue vq) {
        VirtioPciDevice vpDev = VirtioPciDevice.toVpDevice(vq.vdev);
        VirtioPciDevice.VirtioPciVqInfo info = vpDev.vqs[vq.index];
        vpDev.virtqueues.remove(info);
        vpDev.delVq.accept(info);
    }

    /** The cleanup function: frees the queues, the IRQs and the vectors. */
    @Port("drivers/virtio/virtio_pci_common.c:vp_del_vqs")
    static void vpDelVqs(VirtioDevice vdev) {
        VirtioPciDevice vpDev = VirtioPciDevice.toVpDevice(vdev);
        for (Virtqueue vq : vdev.vqs) {
            if (vpDev.perVqVectors) {
                int v = vpDev.vqs[vq.index].msixVector;
                if (v != VIRTIO_MSI_NO_VECTOR) {
                    vdev.virtio.irqs.freeIrq(PciMsi.pciIrqVector(vpDev.pciDev, v), vq);
                }
            }
            vpDelVq(vq);
        }
        vpDev.perVqVectors = false;
        for (int i = 0; i < vpDev.msixUsedVectors; i++) {
            vdev.virtio.irqs.freeIrq(PciMsi.pciIrqVector(vpDev.pciDev, i), vpDev);
        }
        if (vpDev.msixEnabled) {
            // detach the configuration vector in the device before freeing the vectors
            vpDev.configVector.applyAsInt(VIRTIO_MSI_NO_VECTOR);
            PciMsi.pciFreeIrqVectors(vpDev.pciDev);
            vpDev.msixEnabled = false;
        }
        vpDev.msixVectors = 0;
        vpDev.msixUsedVectors = 0;
        vpDev.msixNames = null;
        vpDev.vqs = null;
    }

    @Port("drivers/virtio/virtio_pci_common.c:vp_find_vqs_msix")
    private static int vpFindVqsMsix(VirtioDevice vdev, int nvqs, Virtqueue[] vqs, VirtioRing.VqCallback[] callbacks,
            String[] names, boolean perVqVectors) {
        VirtioPciDevice vpDev = VirtioPciDevice.toVpDevice(vdev);
        vpDev.vqs = new VirtioPciDevice.VirtioPciVqInfo[nvqs];
        int nvectors;
        if (perVqVectors) {
            // the configuration vector plus one per queue with a callback
            nvectors = 1;
            for (int i = 0; i < nvqs; ++i) {
                if (names[i] != null && callbacks[i] != null) {
                    ++nvectors;
                }
            }
        } else {
            // the configuration vector plus one the queues share
            nvectors = 2;
        }
        int err = vpRequestMsixVectors(vdev, nvectors, perVqVectors);
        if (err == 0) {
            vpDev.perVqVectors = perVqVectors;
            int allocatedVectors = vpDev.msixUsedVectors;
            int queueIdx = 0;
            for (int i = 0; i < nvqs; ++i) {
                if (names[i] == null) {
                    vqs[i] = null;
                    continue;
                }
                int msixVec;
                if (callbacks[i] == null) {
                    msixVec = VIRTIO_MSI_NO_VECTOR;
                } else if (vpDev.perVqVectors) {
                    msixVec = allocatedVectors++;
                } else {
                    msixVec = VP_MSIX_VQ_VECTOR;
                }
                try {
                    vqs[i] = vpSetupVq(vdev, queueIdx++, callbacks[i], names[i], false, msixVec);
                } catch (ErrnoException e) {
                    err = -e.errno();
                    break;
                }
                if (!vpDev.perVqVectors || msixVec == VIRTIO_MSI_NO_VECTOR) {
                    continue;
                }
                // the queue's own vector: its IRQ goes straight to vring_interrupt
                vpDev.msixNames[msixVec] = String.format(Locale.ROOT, "%s-%s", vdev.devName(), names[i]);
                Virtqueue vq = vqs[i];
                err = vdev.virtio.irqs.requestIrq(PciMsi.pciIrqVector(vpDev.pciDev, msixVec),
                        (irq, id) -> VirtioRing.vringInterrupt(irq, vq), 0, vpDev.msixNames[msixVec], vq);
                if (err != 0) {
                    break;
                }
            }
            if (err == 0) {
                return 0;
            }
        }
        vpDelVqs(vdev);
        return err;
    }

    @Port("drivers/virtio/virtio_pci_common.c:vp_find_vqs_intx")
    private static int vpFindVqsIntx(VirtioDevice vdev, int nvqs, Virtqueue[] vqs, VirtioRing.VqCallback[] callbacks, String[] names) {
        // request_irq(pci_dev->irq, vp_interrupt, IRQF_SHARED): the board wires no INTx line for PCI functions
        VirtioPciDevice vpDev = VirtioPciDevice.toVpDevice(vdev);
        Printk.prWarn("%s: no legacy INTx interrupt on this machine", vpDev.pciDev.devName());
        return -ENODEV;
    }

    /** The config->find_vqs implementation: MSI-X per queue, else MSI-X shared, else INTx. */
    @Port("drivers/virtio/virtio_pci_common.c:vp_find_vqs")
    static int vpFindVqs(VirtioDevice vdev, int nvqs, Virtqueue[] vqs, VirtioRing.VqCallback[] callbacks, String[] names) {
        // 1: MSI-X, a vector per queue
        int err = vpFindVqsMsix(vdev, nvqs, vqs, callbacks, names, true);
        if (err == 0) {
            return 0;
        }
        // 2: MSI-X, two vectors
        err = vpFindVqsMsix(vdev, nvqs, vqs, callbacks, names, false);
        if (err == 0) {
            return 0;
        }
        // 3: INTx
        return vpFindVqsIntx(vdev, nvqs, vqs, callbacks, names);
    }

    @Port("drivers/virtio/virtio_pci_common.c:vp_bus_name")
    static String vpBusName(VirtioDevice vdev) {
        return VirtioPciDevice.toVpDevice(vdev).pciDev.devName();
    }

    /**
     * The virtio-pci driver's probe: enable the function, the modern transport's probe (no
     * legacy transport is ported: a device without the modern capabilities fails with -ENODEV),
     * bus mastering, then the virtio device registered on {@code virtio} (which probes its driver).
     * 0 or -errno.
     */
    @Port("drivers/virtio/virtio_pci_common.c:virtio_pci_probe")
    public static int virtioPciProbe(Virtio virtio, PciDev pciDev) {
        VirtioDevice vdev = virtio.allocDevice(pciDev);
        VirtioPciDevice vpDev = new VirtioPciDevice(vdev, pciDev);
        vdev.devSetDrvdata(vpDev);
        pciDev.devSetDrvdata(vpDev);
        int rc = Pci.pciEnableDevice(pciDev);
        if (rc != 0) {
            return rc;
        }
        rc = VirtioPciModern.virtioPciModernProbe(vpDev);
        if (rc != 0) {
            // rc == -ENODEV: virtio_pci_legacy_probe, not ported
            Pci.pciDisableDevice(pciDev);
            return rc;
        }
        Pci.pciSetMaster(pciDev);
        rc = virtio.registerVirtioDevice(vdev);
        if (rc != 0) {
            // err_register, err_probe
            VirtioPciModern.virtioPciModernRemove(vpDev);
            Pci.pciDisableDevice(pciDev);
        }
        return rc;
    }

    /**
     * The virtio-pci driver's remove: a function that no longer answers (surprise removal) has
     * its queues marked broken first, so waiting operations give up; then the virtio device is
     * unregistered (its driver's remove resets the device and deletes the queues, with their
     * vectors), the transport's windows unmapped, and the function disabled (Bus Master Enable
     * off). pci_disable_sriov: no function here has the SR-IOV capability. The legacy
     * transport ({@code vp_dev->ioaddr}) is not ported: every device here is modern.
     */
    @Port("drivers/virtio/virtio_pci_common.c:virtio_pci_remove")
    public static void virtioPciRemove(PciDev pciDev) {
        VirtioPciDevice vpDev = (VirtioPciDevice) pciDev.devGetDrvdata();
        // get_device(&vp_dev->vdev.dev) .. put_device: the Java reference keeps it
        if (!Pci.pciDeviceIsPresent(pciDev)) {
            VirtioRing.virtioBreakDevice(vpDev.vdev);
        }
        vpDev.vdev.virtio.unregisterVirtioDevice(vpDev.vdev);
        VirtioPciModern.virtioPciModernRemove(vpDev);
        Pci.pciDisableDevice(pciDev);
    }
}
