package org.iommu4j.virtio;

import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.virtio.VirtioH.*;

import org.iommu4j.base.Port;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.hw.IoMem;
import org.iommu4j.dma.DmaMapping;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciIomap;
import org.iommu4j.pci.PciRegs;

/**
 * drivers/virtio/virtio_pci_modern_dev.c (v5.15): the modern virtio-pci device's registers,
 * found through the vendor capabilities and mapped from their BARs, and one accessor per
 * common-configuration operation.
 */
public final class VirtioPciModernDev {
    private VirtioPciModernDev() {}

    /** {@code struct virtio_pci_modern_device} (include/linux/virtio_pci_modern.h). */
    @Port("include/linux/virtio_pci_modern.h:virtio_pci_modern_device")
    public static final class VirtioPciModernDevice {
        public PciDev pciDev;
        public IoMem common;
        public IoMem device;
        public IoMem notifyBase;
        public long notifyPa;
        public IoMem isr;
        public long notifyLen;
        public long deviceLen;
        public int notifyMapCap;
        public int notifyOffsetMultiplier;
        public int modernBars;
        /** struct virtio_device_id */
        public int idDevice;
        public int idVendor;
    }

    private static final long PAGE_SIZE = 4096;

    /**
     * Maps the region capability {@code off} describes, at least {@code minlen} bytes, at most
     * {@code size} from {@code start}, aligned to {@code align}; null (logged) if the capability
     * is inconsistent or the BAR cannot be mapped. {@code len[0]} gets the mapped length.
     */
    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_map_capability")
    static IoMem vpModernMapCapability(VirtioPciModernDevice mdev, int off, long minlen, int align, int startU32, int sizeU32,
            long[] len) {
        PciDev dev = mdev.pciDev;
        // start and size are u32: a queue's notification offset past 2^31 stays a large positive start
        long start = Integer.toUnsignedLong(startU32);
        long size = Integer.toUnsignedLong(sizeU32);
        int bar = Pci.pciReadConfigByte(dev, off + VIRTIO_PCI_CAP_BAR);
        long offset = Integer.toUnsignedLong(Pci.pciReadConfigDword(dev, off + VIRTIO_PCI_CAP_OFFSET));
        long length = Integer.toUnsignedLong(Pci.pciReadConfigDword(dev, off + VIRTIO_PCI_CAP_LENGTH));
        if (length <= start) {
            DevPrintk.devErr(dev, "virtio_pci: bad capability len %d (>%d expected)", length, start);
            return null;
        }
        if (length - start < minlen) {
            DevPrintk.devErr(dev, "virtio_pci: bad capability len %d (>=%d expected)", length, minlen);
            return null;
        }
        length -= start;
        if (((start + offset) & 0xffffffffL) < offset) {
            DevPrintk.devErr(dev, "virtio_pci: map wrap-around %d+%d", start, offset);
            return null;
        }
        offset += start;
        if ((offset & (align - 1)) != 0) {
            DevPrintk.devErr(dev, "virtio_pci: offset %d not aligned to %d", offset, align);
            return null;
        }
        if (length > size) {
            length = size;
        }
        if (len != null) {
            len[0] = length;
        }
        if (bar > 5 || minlen + offset > Pci.pciResourceLen(dev, bar)) {
            DevPrintk.devErr(dev, "virtio_pci: map virtio %d@%d out of range on bar %d length %d", minlen, offset, bar,
                    bar > 5 ? 0 : Pci.pciResourceLen(dev, bar));
            return null;
        }
        IoMem p = PciIomap.pciIomapRange(dev, bar, offset, length);
        if (p == null) {
            DevPrintk.devErr(dev, "virtio_pci: unable to map virtio %d@%d on bar %d", length, offset, bar);
        }
        return p;
    }

    /** The first vendor capability of {@code cfgType} whose BAR is of {@code ioresourceTypes}; its offset or 0. */
    @Port("drivers/virtio/virtio_pci_modern_dev.c:virtio_pci_find_capability")
    static int virtioPciFindCapability(PciDev dev, int cfgType, long ioresourceTypes, int[] bars) {
        for (int pos = Pci.pciFindCapability(dev, PciRegs.PCI_CAP_ID_VNDR); pos > 0;
                pos = Pci.pciFindNextCapability(dev, pos, PciRegs.PCI_CAP_ID_VNDR)) {
            int type = Pci.pciReadConfigByte(dev, pos + VIRTIO_PCI_CAP_CFG_TYPE);
            int bar = Pci.pciReadConfigByte(dev, pos + VIRTIO_PCI_CAP_BAR);
            // BAR numbers above 5 are reserved: skip such a capability
            if (bar > 0x5) {
                continue;
            }
            if (type == cfgType) {
                if (Pci.pciResourceLen(dev, bar) != 0 && (Pci.pciResourceFlags(dev, bar) & ioresourceTypes) != 0) {
                    bars[0] |= 1 << bar;
                    return pos;
                }
            }
        }
        return 0;
    }

    /**
     * Finds and maps the common, ISR, notification and (optional) device regions; sets the DMA
     * mask. 0, -ENODEV (not a virtio device this driver owns, or no common configuration: leave
     * it to the legacy driver), -EINVAL (missing or unmappable regions).
     */
    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_probe")
    public static int vpModernProbe(VirtioPciModernDevice mdev) {
        PciDev pciDev = mdev.pciDev;
        // virtio-pci device IDs are 0x1000..0x107f
        if (pciDev.device < 0x1000 || pciDev.device > 0x107f) {
            return -ENODEV;
        }
        if (pciDev.device < 0x1040) {
            // 0x1000..0x103f, transitional: the virtio ID is the subsystem device ID
            mdev.idDevice = pciDev.subsystemDevice;
        } else {
            // 0x1040..0x107f, modern only: the virtio ID is the device ID minus 0x1040
            mdev.idDevice = pciDev.device - 0x1040;
        }
        mdev.idVendor = pciDev.subsystemVendor;
        long types = Resource.IORESOURCE_IO | Resource.IORESOURCE_MEM;
        int[] bars = {mdev.modernBars};
        // no common-configuration capability: a legacy-only device
        int common = virtioPciFindCapability(pciDev, VIRTIO_PCI_CAP_COMMON_CFG, types, bars);
        if (common == 0) {
            DevPrintk.devInfo(pciDev, "virtio_pci: leaving for legacy driver");
            return -ENODEV;
        }
        // a modern device also has ISR and notification capabilities
        int isr = virtioPciFindCapability(pciDev, VIRTIO_PCI_CAP_ISR_CFG, types, bars);
        int notify = virtioPciFindCapability(pciDev, VIRTIO_PCI_CAP_NOTIFY_CFG, types, bars);
        if (isr == 0 || notify == 0) {
            DevPrintk.devErr(pciDev, "virtio_pci: missing capabilities %d/%d/%d", common, isr, notify);
            return -EINVAL;
        }
        int err = DmaMapping.dmaSetMaskAndCoherent(pciDev, DmaMapping.DMA_BIT_MASK(64));
        if (err != 0) {
            err = DmaMapping.dmaSetMaskAndCoherent(pciDev, DmaMapping.DMA_BIT_MASK(32));
        }
        if (err != 0) {
            DevPrintk.devWarn(pciDev, "Failed to enable 64-bit or 32-bit DMA.  Trying to continue, but this might not work.");
        }
        // optional: present only on device types with a device-specific configuration
        int device = virtioPciFindCapability(pciDev, VIRTIO_PCI_CAP_DEVICE_CFG, types, bars);
        mdev.modernBars = bars[0];
        err = Pci.pciRequestSelectedRegions(pciDev, mdev.modernBars, "virtio-pci-modern");
        if (err != 0) {
            return err;
        }
        err = -EINVAL;
        mdev.common = vpModernMapCapability(mdev, common, VIRTIO_PCI_COMMON_CFG_SIZE, 4, 0, VIRTIO_PCI_COMMON_CFG_SIZE, null);
        if (mdev.common == null) {
            return vpModernProbeErr(mdev, err);
        }
        mdev.isr = vpModernMapCapability(mdev, isr, 1, 1, 0, 1, null);
        if (mdev.isr == null) {
            return vpModernProbeErr(mdev, err);
        }
        // notify_off_multiplier, then the notification region's length and offset
        mdev.notifyOffsetMultiplier = Pci.pciReadConfigDword(pciDev, notify + VIRTIO_PCI_NOTIFY_CAP_MULT);
        long notifyLength = Integer.toUnsignedLong(Pci.pciReadConfigDword(pciDev, notify + VIRTIO_PCI_CAP_LENGTH));
        long notifyOffset = Integer.toUnsignedLong(Pci.pciReadConfigDword(pciDev, notify + VIRTIO_PCI_CAP_OFFSET));
        // a region that fits in one page is mapped whole now; a larger one per queue in vp_modern_map_vq_notify
        if (notifyLength + notifyOffset % PAGE_SIZE <= PAGE_SIZE) {
            long[] len = {0};
            mdev.notifyBase = vpModernMapCapability(mdev, notify, 2, 2, 0, (int) notifyLength, len);
            mdev.notifyLen = len[0];
            if (mdev.notifyBase == null) {
                return vpModernProbeErr(mdev, err);
            }
        } else {
            mdev.notifyMapCap = notify;
        }
        // the device configuration: at most one page is mapped (v5.15's bound)
        if (device != 0) {
            long[] len = {0};
            mdev.device = vpModernMapCapability(mdev, device, 0, 4, 0, (int) PAGE_SIZE, len);
            mdev.deviceLen = len[0];
            if (mdev.device == null) {
                return vpModernProbeErr(mdev, err);
            }
        }
        return 0;
    }

    /**
     * vp_modern_probe's unwinding (its err_map_* labels, then err_map_common's
     * pci_release_selected_regions): what was mapped is unmapped, the regions go back, as
     * {@link #vpModernRemove} does for a whole probe (a window never mapped is null, which
     * pci_iounmap leaves alone); returns {@code err}.
     */
    private static int vpModernProbeErr(VirtioPciModernDevice mdev, int err) {
        vpModernRemove(mdev);
        return err;
    }

    /**
     * Undoes {@link #vpModernProbe}: the device, notification (when mapped whole), ISR and common
     * windows are unmapped, then the modern BARs' regions given back.
     */
    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_remove")
    public static void vpModernRemove(VirtioPciModernDevice mdev) {
        PciDev pciDev = mdev.pciDev;
        if (mdev.device != null) {
            PciIomap.pciIounmap(pciDev, mdev.device);
        }
        if (mdev.notifyBase != null) {
            PciIomap.pciIounmap(pciDev, mdev.notifyBase);
        }
        PciIomap.pciIounmap(pciDev, mdev.isr);
        PciIomap.pciIounmap(pciDev, mdev.common);
        Pci.pciReleaseSelectedRegions(pciDev, mdev.modernBars);
    }

    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_get_features")
    public static long vpModernGetFeatures(VirtioPciModernDevice mdev) {
        IoMem cfg = mdev.common;
        cfg.writel(0, VIRTIO_PCI_COMMON_DFSELECT);
        long features = Integer.toUnsignedLong(cfg.readl(VIRTIO_PCI_COMMON_DF));
        cfg.writel(1, VIRTIO_PCI_COMMON_DFSELECT);
        features |= Integer.toUnsignedLong(cfg.readl(VIRTIO_PCI_COMMON_DF)) << 32;
        return features;
    }

    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_set_features")
    public static void vpModernSetFeatures(VirtioPciModernDevice mdev, long features) {
        IoMem cfg = mdev.common;
        cfg.writel(0, VIRTIO_PCI_COMMON_GFSELECT);
        cfg.writel((int) features, VIRTIO_PCI_COMMON_GF);
        cfg.writel(1, VIRTIO_PCI_COMMON_GFSELECT);
        cfg.writel((int) (features >>> 32), VIRTIO_PCI_COMMON_GF);
    }

    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_generation")
    public static int vpModernGeneration(VirtioPciModernDevice mdev) {
        return mdev.common.readb(VIRTIO_PCI_COMMON_CFGGENERATION);
    }

    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_get_status")
    public static int vpModernGetStatus(VirtioPciModernDevice mdev) {
        return mdev.common.readb(VIRTIO_PCI_COMMON_STATUS);
    }

    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_set_status")
    public static void vpModernSetStatus(VirtioPciModernDevice mdev, int status) {
        mdev.common.writeb(status, VIRTIO_PCI_COMMON_STATUS);
    }

    /** Sets the config-change vector; returns what the device reads back (NO_VECTOR: refused). */
    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_config_vector")
    public static int vpModernConfigVector(VirtioPciModernDevice mdev, int vector) {
        // the read-back completes the write and tells whether the device took the vector
        mdev.common.writew(vector, VIRTIO_PCI_COMMON_MSIX);
        return mdev.common.readw(VIRTIO_PCI_COMMON_MSIX);
    }

    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_queue_vector")
    public static int vpModernQueueVector(VirtioPciModernDevice mdev, int index, int vector) {
        IoMem cfg = mdev.common;
        cfg.writew(index, VIRTIO_PCI_COMMON_Q_SELECT);
        cfg.writew(vector, VIRTIO_PCI_COMMON_Q_MSIX);
        // read back: completes the write; NO_VECTOR means refused
        return cfg.readw(VIRTIO_PCI_COMMON_Q_MSIX);
    }

    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_queue_address")
    public static void vpModernQueueAddress(VirtioPciModernDevice mdev, int index, long descAddr, long driverAddr, long deviceAddr) {
        IoMem cfg = mdev.common;
        cfg.writew(index, VIRTIO_PCI_COMMON_Q_SELECT);
        cfg.loHiWriteq(descAddr, VIRTIO_PCI_COMMON_Q_DESCLO);
        cfg.loHiWriteq(driverAddr, VIRTIO_PCI_COMMON_Q_AVAILLO);
        cfg.loHiWriteq(deviceAddr, VIRTIO_PCI_COMMON_Q_USEDLO);
    }

    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_set_queue_enable")
    public static void vpModernSetQueueEnable(VirtioPciModernDevice mdev, int index, boolean enable) {
        mdev.common.writew(index, VIRTIO_PCI_COMMON_Q_SELECT);
        mdev.common.writew(enable ? 1 : 0, VIRTIO_PCI_COMMON_Q_ENABLE);
    }

    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_get_queue_enable")
    public static boolean vpModernGetQueueEnable(VirtioPciModernDevice mdev, int index) {
        mdev.common.writew(index, VIRTIO_PCI_COMMON_Q_SELECT);
        return mdev.common.readw(VIRTIO_PCI_COMMON_Q_ENABLE) != 0;
    }

    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_set_queue_size")
    public static void vpModernSetQueueSize(VirtioPciModernDevice mdev, int index, int size) {
        mdev.common.writew(index, VIRTIO_PCI_COMMON_Q_SELECT);
        mdev.common.writew(size, VIRTIO_PCI_COMMON_Q_SIZE);
    }

    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_get_queue_size")
    public static int vpModernGetQueueSize(VirtioPciModernDevice mdev, int index) {
        mdev.common.writew(index, VIRTIO_PCI_COMMON_Q_SELECT);
        return mdev.common.readw(VIRTIO_PCI_COMMON_Q_SIZE);
    }

    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_get_num_queues")
    public static int vpModernGetNumQueues(VirtioPciModernDevice mdev) {
        return mdev.common.readw(VIRTIO_PCI_COMMON_NUMQ);
    }

    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_get_queue_notify_off")
    private static int vpModernGetQueueNotifyOff(VirtioPciModernDevice mdev, int index) {
        mdev.common.writew(index, VIRTIO_PCI_COMMON_Q_SELECT);
        return mdev.common.readw(VIRTIO_PCI_COMMON_Q_NOFF);
    }

    /** The notification address of queue {@code index}, or null (logged) when it lies outside the region. */
    @Port("drivers/virtio/virtio_pci_modern_dev.c:vp_modern_map_vq_notify")
    public static IoMem vpModernMapVqNotify(VirtioPciModernDevice mdev, int index) {
        int off = vpModernGetQueueNotifyOff(mdev, index);
        long offset = (long) off * Integer.toUnsignedLong(mdev.notifyOffsetMultiplier);
        if (mdev.notifyBase != null) {
            // the queue's 2-byte doorbell must lie inside the mapped region
            if (offset + 2 > mdev.notifyLen) {
                DevPrintk.devWarn(mdev.pciDev, "bad notification offset %d (x %d) for queue %d > %d", off,
                        mdev.notifyOffsetMultiplier, index, mdev.notifyLen);
                return null;
            }
            return mdev.notifyBase.offset(offset);
        }
        return vpModernMapCapability(mdev, mdev.notifyMapCap, 2, 2, (int) offset, 2, null);
    }
}
