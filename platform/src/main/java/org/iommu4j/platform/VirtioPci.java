package org.iommu4j.platform;

import org.iommu4j.pci.hw.PciBar;
import org.iommu4j.pci.hw.PciEndpointCaps;
import org.iommu4j.pci.hw.PciVendorCap;
import org.iommu4j.pci.hw.PcieSpec;

/**
 * The virtio PCI functions as QEMU 7.2 builds them on the virt machine's PCIe root bus
 * (hw/virtio/virtio-pci.c: virtio_pci_realize, virtio_pci_device_plugged; hw/pci/msix.c:
 * msix_init_exclusive_bar), with the default properties: transitional (legacy and modern), so
 *
 * <ul>
 * <li>the transitional Device ID (0x1000 + n), the Subsystem ID the virtio device ID, Revision 0
 *     (VIRTIO_PCI_ABI_VERSION), Interrupt Pin INTA;</li>
 * <li>a conventional PCI function: on a root bus QEMU drops the PCI Express capability;</li>
 * <li>BAR 0: the legacy I/O registers, 24 bytes (with MSI-X) plus the device's config, rounded
 *     up to a power of two; BAR 1: the MSI-X BAR, 4 KiB of 32-bit memory with the Table at 0 and
 *     the PBA at 0x800; BAR 4: the modern registers, 16 KiB of 64-bit prefetchable memory
 *     (common config at 0, ISR at 0x1000, device config at 0x2000, notifications at 0x3000);</li>
 * <li>the modern capabilities (vendor-specific, in the order QEMU adds them: common, ISR, device,
 *     notify, PCI config access), then MSI-X at 0x98 heading the list; no MSI capability.</li>
 * </ul>
 *
 * <p>With {@code disable-legacy=on} ({@link #rngModern}, {@link #blkModern}: the reference's run
 * B) the function is modern-only: Device ID 0x1040 + the virtio ID, Revision 1, QEMU's default
 * subsystem IDs (1af4:1100), no BAR 0.
 *
 * <p>These builders give the PCI function only. The virtio device behind BAR 4 is
 * {@link org.iommu4j.pci.hw.virtio.VirtioPciProxy}, which the machine installs for run B; without
 * it (run A) the registers behind BAR 0 and BAR 4 read as zero and ignore writes. The PCI config
 * access capability's window ({@code pci_cfg_data}) is plain storage that does not reach the
 * BAR it names.
 */
public final class VirtioPci {
    private VirtioPci() {}

    /** {@code PCI_VENDOR_ID_REDHAT_QUMRANET}: every virtio PCI function's vendor (and subsystem vendor). */
    public static final int VIRTIO_PCI_VENDOR_ID = 0x1af4;
    /** include/uapi/linux/virtio_ids.h */
    public static final int VIRTIO_ID_BLOCK = 2;
    public static final int VIRTIO_ID_RNG = 4;
    /** Transitional Device IDs (include/hw/pci/pci.h in QEMU). */
    public static final int PCI_DEVICE_ID_VIRTIO_BLOCK = 0x1001;
    public static final int PCI_DEVICE_ID_VIRTIO_RNG = 0x1005;
    /** Modern-only Device IDs: 0x1040 + the virtio device ID (QEMU's PCI_DEVICE_ID_VIRTIO_10_BASE). */
    public static final int PCI_DEVICE_ID_VIRTIO_10_BASE = 0x1040;
    /** QEMU's default Subsystem ID (PCI_SUBDEVICE_ID_QEMU), kept by a modern-only virtio function. */
    public static final int PCI_SUBDEVICE_ID_QEMU = 0x1100;
    /** Revision of a transitional function (VIRTIO_PCI_ABI_VERSION); a modern-only one has 1. */
    static final int VIRTIO_PCI_ABI_VERSION = 0;

    /* struct virtio_pci_cap cfg_type (include/uapi/linux/virtio_pci.h) */
    public static final int VIRTIO_PCI_CAP_COMMON_CFG = 1;
    public static final int VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
    public static final int VIRTIO_PCI_CAP_ISR_CFG = 3;
    public static final int VIRTIO_PCI_CAP_DEVICE_CFG = 4;
    public static final int VIRTIO_PCI_CAP_PCI_CFG = 5;
    /* offsets in struct virtio_pci_cap */
    public static final int VIRTIO_PCI_CAP_CFG_TYPE = 3;
    public static final int VIRTIO_PCI_CAP_BAR = 4;
    public static final int VIRTIO_PCI_CAP_OFFSET = 8;
    public static final int VIRTIO_PCI_CAP_LENGTH = 12;

    /** QEMU's BAR layout: legacy I/O, MSI-X, modern memory (64-bit, so registers 4 and 5). */
    public static final int LEGACY_IO_BAR = 0;
    public static final int MSIX_BAR = 1;
    public static final int MODERN_MEM_BAR = 4;
    /** msix_init_exclusive_bar: a 4 KiB BAR for up to 128 vectors, the PBA in its upper half. */
    public static final long MSIX_BAR_SIZE = 0x1000;
    public static final long MSIX_PBA_OFFSET = MSIX_BAR_SIZE / 2;
    /** VIRTIO_PCI_CONFIG_OFF with MSI-X: the legacy header before the device's config. */
    static final int LEGACY_HEADER_MSIX = 24;
    /** sizeof(struct virtio_blk_config) up to write_zeroes_may_unmap and its padding (QEMU 7.2's default features). */
    static final int VIRTIO_BLK_CONFIG_LEN = 60;
    /** Notification bytes per queue without page-per-vq (virtio_pci_queue_mem_mult). */
    static final int QUEUE_MEM_MULT = 4;
    static final int VIRTIO_QUEUE_MAX = 1024;

    /** virtio-rng-pci: class "other", 2 MSI-X vectors (QEMU 7.2's new default for it). */
    public static PciEndpointCaps.Builder rng() {
        return transitional(VIRTIO_ID_RNG, PCI_DEVICE_ID_VIRTIO_RNG, 0x00ff00, 0, 2);
    }

    /** virtio-blk-pci with {@code numQueues} request queues: SCSI storage class, one vector per queue plus config. */
    public static PciEndpointCaps.Builder blk(int numQueues) {
        return transitional(VIRTIO_ID_BLOCK, PCI_DEVICE_ID_VIRTIO_BLOCK, 0x010000, VIRTIO_BLK_CONFIG_LEN, numQueues + 1);
    }

    static PciEndpointCaps.Builder transitional(int virtioId, int deviceId, int classCode, int configLen, int nvectors) {
        long legacySize = Long.highestOneBit(LEGACY_HEADER_MSIX + configLen - 1) << 1;
        return function(PciBar.io(LEGACY_IO_BAR, legacySize), deviceId, VIRTIO_PCI_ABI_VERSION, virtioId, classCode, nvectors);
    }

    /**
     * virtio-rng-pci with {@code disable-legacy=on} (the reference's run B): modern-only, so
     * Device ID 0x1040 + 4, Revision 1, no legacy I/O BAR, and QEMU's default subsystem IDs.
     */
    public static PciEndpointCaps.Builder rngModern() {
        return modern(VIRTIO_ID_RNG, 0x00ff00, 2);
    }

    /** virtio-blk-pci with {@code disable-legacy=on} and {@code numQueues} request queues. */
    public static PciEndpointCaps.Builder blkModern(int numQueues) {
        return modern(VIRTIO_ID_BLOCK, 0x010000, numQueues + 1);
    }

    /**
     * virtio_pci_device_plugged without legacy: the "pure virtio-1.0" IDs; the subsystem IDs
     * stay what pci_qdev_realize's pci_set_default_subsystem_id wrote (1af4:1100).
     */
    static PciEndpointCaps.Builder modern(int virtioId, int classCode, int nvectors) {
        return function(null, PCI_DEVICE_ID_VIRTIO_10_BASE + virtioId, 1, PCI_SUBDEVICE_ID_QEMU, classCode, nvectors);
    }

    /** What both kinds share: IDs, the MSI-X BAR, the modern BAR and its vendor capabilities, MSI-X. */
    private static PciEndpointCaps.Builder function(PciBar legacy, int deviceId, int revision, int subsystemId,
            int classCode, int nvectors) {
        long notifySize = (long) QUEUE_MEM_MULT * VIRTIO_QUEUE_MAX;
        long modernSize = Long.highestOneBit(0x3000 + notifySize - 1) << 1;
        PciEndpointCaps.Builder b = PciEndpointCaps.builder().conventional().ids(VIRTIO_PCI_VENDOR_ID, deviceId)
                .classCode(classCode).revision(revision).subsystem(VIRTIO_PCI_VENDOR_ID, subsystemId).interruptPin(1);
        if (legacy != null) {
            b.bar(legacy);
        }
        return b.bar(PciBar.mem32(MSIX_BAR, MSIX_BAR_SIZE, false))
                .bar(PciBar.mem64(MODERN_MEM_BAR, modernSize, true))
                .vendorCap(cap(16, VIRTIO_PCI_CAP_COMMON_CFG, 0x0000, 0x1000))
                .vendorCap(cap(16, VIRTIO_PCI_CAP_ISR_CFG, 0x1000, 0x1000))
                .vendorCap(cap(16, VIRTIO_PCI_CAP_DEVICE_CFG, 0x2000, 0x1000))
                .vendorCap(notifyCap(notifySize))
                .vendorCap(pciCfgCap())
                .msix(nvectors, MSIX_BAR, 0, MSIX_BAR, MSIX_PBA_OFFSET);
    }

    /** struct virtio_pci_cap for a region of the modern BAR. */
    private static byte[] capBytes(int len, int type, int bar, long offset, long length) {
        byte[] b = new byte[len];
        b[0] = PcieSpec.CAP_ID_VNDR;
        b[2] = (byte) len;
        b[VIRTIO_PCI_CAP_CFG_TYPE] = (byte) type;
        b[VIRTIO_PCI_CAP_BAR] = (byte) bar;
        putLe32(b, VIRTIO_PCI_CAP_OFFSET, offset);
        putLe32(b, VIRTIO_PCI_CAP_LENGTH, length);
        return b;
    }

    private static PciVendorCap cap(int len, int type, long offset, long length) {
        return new PciVendorCap(capBytes(len, type, MODERN_MEM_BAR, offset, length));
    }

    /** struct virtio_pci_notify_cap: the cap, then notify_off_multiplier. */
    private static PciVendorCap notifyCap(long length) {
        byte[] b = capBytes(20, VIRTIO_PCI_CAP_NOTIFY_CFG, MODERN_MEM_BAR, 0x3000, length);
        putLe32(b, 16, QUEUE_MEM_MULT);
        return new PciVendorCap(b);
    }

    /** struct virtio_pci_cfg_cap: bar, offset, length and pci_cfg_data writable, as QEMU's wmask has them. */
    private static PciVendorCap pciCfgCap() {
        byte[] b = capBytes(20, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0);
        byte[] w = new byte[20];
        w[VIRTIO_PCI_CAP_BAR] = (byte) 0xff;
        for (int i = VIRTIO_PCI_CAP_OFFSET; i < 20; i++) {
            w[i] = (byte) 0xff;
        }
        return new PciVendorCap(b, w);
    }

    private static void putLe32(byte[] b, int at, long v) {
        for (int i = 0; i < 4; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }
}
