package org.iommu4j.virtio;

import org.iommu4j.base.Port;

/**
 * The virtio uapi constants the drivers use, in the kernel's names (include/uapi/linux/
 * virtio_config.h, virtio_ring.h, virtio_pci.h, virtio_ids.h, virtio_blk.h; v5.15): the
 * driver's own coding, independent of the device model's.
 */
@Port("include/uapi/linux/virtio_config.h")
@Port("include/uapi/linux/virtio_ring.h")
@Port("include/uapi/linux/virtio_pci.h")
@Port("include/uapi/linux/virtio_ids.h")
@Port("include/uapi/linux/virtio_blk.h")
public final class VirtioH {
    private VirtioH() {}

    /* virtio_config.h: status bits */
    @Port("include/uapi/linux/virtio_config.h:VIRTIO_CONFIG_S_ACKNOWLEDGE")
    public static final int VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
    public static final int VIRTIO_CONFIG_S_DRIVER = 2;
    public static final int VIRTIO_CONFIG_S_DRIVER_OK = 4;
    public static final int VIRTIO_CONFIG_S_FEATURES_OK = 8;
    public static final int VIRTIO_CONFIG_S_NEEDS_RESET = 0x40;
    public static final int VIRTIO_CONFIG_S_FAILED = 0x80;
    /* transport feature bits */
    @Port("include/uapi/linux/virtio_config.h:VIRTIO_TRANSPORT_F_START")
    public static final int VIRTIO_TRANSPORT_F_START = 28;
    public static final int VIRTIO_TRANSPORT_F_END = 38;
    public static final int VIRTIO_F_NOTIFY_ON_EMPTY = 24;
    public static final int VIRTIO_F_ANY_LAYOUT = 27;
    public static final int VIRTIO_F_VERSION_1 = 32;
    public static final int VIRTIO_F_ACCESS_PLATFORM = 33;
    public static final int VIRTIO_F_RING_PACKED = 34;
    public static final int VIRTIO_F_ORDER_PLATFORM = 36;
    public static final int VIRTIO_F_SR_IOV = 37;

    /* virtio_ring.h */
    @Port("include/uapi/linux/virtio_ring.h:VRING_DESC_F_NEXT")
    public static final int VRING_DESC_F_NEXT = 1;
    public static final int VRING_DESC_F_WRITE = 2;
    public static final int VRING_DESC_F_INDIRECT = 4;
    public static final int VRING_USED_F_NO_NOTIFY = 1;
    public static final int VRING_AVAIL_F_NO_INTERRUPT = 1;
    public static final int VIRTIO_RING_F_INDIRECT_DESC = 28;
    public static final int VIRTIO_RING_F_EVENT_IDX = 29;
    /** sizeof(struct vring_desc), sizeof(struct vring_used_elem). */
    @Port("include/uapi/linux/virtio_ring.h:vring_desc")
    public static final int VRING_DESC_SIZE = 16;
    @Port("include/uapi/linux/virtio_ring.h:vring_used_elem")
    public static final int VRING_USED_ELEM_SIZE = 8;

    /* virtio_pci.h: capability types and layout */
    @Port("include/uapi/linux/virtio_pci.h:VIRTIO_PCI_CAP_COMMON_CFG")
    public static final int VIRTIO_PCI_CAP_COMMON_CFG = 1;
    public static final int VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
    public static final int VIRTIO_PCI_CAP_ISR_CFG = 3;
    public static final int VIRTIO_PCI_CAP_DEVICE_CFG = 4;
    public static final int VIRTIO_PCI_CAP_PCI_CFG = 5;
    /* offsetof(struct virtio_pci_cap, ...) and struct virtio_pci_notify_cap */
    @Port("include/uapi/linux/virtio_pci.h:virtio_pci_cap")
    public static final int VIRTIO_PCI_CAP_CFG_TYPE = 3;
    public static final int VIRTIO_PCI_CAP_BAR = 4;
    public static final int VIRTIO_PCI_CAP_OFFSET = 8;
    public static final int VIRTIO_PCI_CAP_LENGTH = 12;
    @Port("include/uapi/linux/virtio_pci.h:virtio_pci_notify_cap")
    public static final int VIRTIO_PCI_NOTIFY_CAP_MULT = 16;
    /* struct virtio_pci_common_cfg */
    @Port("include/uapi/linux/virtio_pci.h:VIRTIO_PCI_COMMON_DFSELECT")
    public static final int VIRTIO_PCI_COMMON_DFSELECT = 0;
    public static final int VIRTIO_PCI_COMMON_DF = 4;
    public static final int VIRTIO_PCI_COMMON_GFSELECT = 8;
    public static final int VIRTIO_PCI_COMMON_GF = 12;
    public static final int VIRTIO_PCI_COMMON_MSIX = 16;
    public static final int VIRTIO_PCI_COMMON_NUMQ = 18;
    public static final int VIRTIO_PCI_COMMON_STATUS = 20;
    public static final int VIRTIO_PCI_COMMON_CFGGENERATION = 21;
    public static final int VIRTIO_PCI_COMMON_Q_SELECT = 22;
    public static final int VIRTIO_PCI_COMMON_Q_SIZE = 24;
    public static final int VIRTIO_PCI_COMMON_Q_MSIX = 26;
    public static final int VIRTIO_PCI_COMMON_Q_ENABLE = 28;
    public static final int VIRTIO_PCI_COMMON_Q_NOFF = 30;
    public static final int VIRTIO_PCI_COMMON_Q_DESCLO = 32;
    public static final int VIRTIO_PCI_COMMON_Q_DESCHI = 36;
    public static final int VIRTIO_PCI_COMMON_Q_AVAILLO = 40;
    public static final int VIRTIO_PCI_COMMON_Q_AVAILHI = 44;
    public static final int VIRTIO_PCI_COMMON_Q_USEDLO = 48;
    public static final int VIRTIO_PCI_COMMON_Q_USEDHI = 52;
    /** sizeof(struct virtio_pci_common_cfg). */
    @Port("include/uapi/linux/virtio_pci.h:virtio_pci_common_cfg")
    public static final int VIRTIO_PCI_COMMON_CFG_SIZE = 56;
    @Port("include/uapi/linux/virtio_pci.h:VIRTIO_MSI_NO_VECTOR")
    public static final int VIRTIO_MSI_NO_VECTOR = 0xffff;

    /* virtio_ids.h */
    @Port("include/uapi/linux/virtio_ids.h:VIRTIO_ID_BLOCK")
    public static final int VIRTIO_ID_BLOCK = 2;
    public static final int VIRTIO_ID_RNG = 4;

    /* virtio_blk.h */
    @Port("include/uapi/linux/virtio_blk.h:VIRTIO_BLK_F_SIZE_MAX")
    public static final int VIRTIO_BLK_F_SIZE_MAX = 1;
    public static final int VIRTIO_BLK_F_SEG_MAX = 2;
    public static final int VIRTIO_BLK_F_GEOMETRY = 4;
    public static final int VIRTIO_BLK_F_RO = 5;
    public static final int VIRTIO_BLK_F_BLK_SIZE = 6;
    public static final int VIRTIO_BLK_F_TOPOLOGY = 10;
    public static final int VIRTIO_BLK_F_MQ = 12;
    public static final int VIRTIO_BLK_F_FLUSH = 9;
    public static final int VIRTIO_BLK_F_CONFIG_WCE = 11;
    public static final int VIRTIO_BLK_F_DISCARD = 13;
    public static final int VIRTIO_BLK_F_WRITE_ZEROES = 14;
    /* offsetof(struct virtio_blk_config, ...) */
    @Port("include/uapi/linux/virtio_blk.h:virtio_blk_config")
    public static final int VIRTIO_BLK_CFG_CAPACITY = 0;
    public static final int VIRTIO_BLK_CFG_SIZE_MAX = 8;
    public static final int VIRTIO_BLK_CFG_SEG_MAX = 12;
    public static final int VIRTIO_BLK_CFG_GEOMETRY_CYLINDERS = 16;
    public static final int VIRTIO_BLK_CFG_GEOMETRY_HEADS = 18;
    public static final int VIRTIO_BLK_CFG_GEOMETRY_SECTORS = 19;
    public static final int VIRTIO_BLK_CFG_BLK_SIZE = 20;
    public static final int VIRTIO_BLK_CFG_PHYSICAL_BLOCK_EXP = 24;
    public static final int VIRTIO_BLK_CFG_ALIGNMENT_OFFSET = 25;
    public static final int VIRTIO_BLK_CFG_MIN_IO_SIZE = 26;
    public static final int VIRTIO_BLK_CFG_OPT_IO_SIZE = 28;
    public static final int VIRTIO_BLK_CFG_WCE = 32;
    public static final int VIRTIO_BLK_CFG_NUM_QUEUES = 34;
    public static final int VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS = 36;
    public static final int VIRTIO_BLK_CFG_MAX_DISCARD_SEG = 40;
    public static final int VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT = 44;
    public static final int VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS = 48;
    public static final int VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG = 52;
    public static final int VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP = 56;
    @Port("include/uapi/linux/virtio_blk.h:VIRTIO_BLK_T_IN")
    public static final int VIRTIO_BLK_T_IN = 0;
    public static final int VIRTIO_BLK_T_OUT = 1;
    public static final int VIRTIO_BLK_T_FLUSH = 4;
    public static final int VIRTIO_BLK_T_GET_ID = 8;
    public static final int VIRTIO_BLK_T_DISCARD = 11;
    public static final int VIRTIO_BLK_T_WRITE_ZEROES = 13;
    /** sizeof(struct virtio_blk_discard_write_zeroes): sector le64, num_sectors le32, flags le32. */
    @Port("include/uapi/linux/virtio_blk.h:virtio_blk_discard_write_zeroes")
    public static final int VIRTIO_BLK_DWZ_SIZE = 16;
    @Port("include/uapi/linux/virtio_blk.h:VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP")
    public static final int VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;
    @Port("include/uapi/linux/virtio_blk.h:VIRTIO_BLK_S_OK")
    public static final int VIRTIO_BLK_S_OK = 0;
    public static final int VIRTIO_BLK_S_IOERR = 1;
    public static final int VIRTIO_BLK_S_UNSUPP = 2;
    /** sizeof(struct virtio_blk_outhdr). */
    @Port("include/uapi/linux/virtio_blk.h:virtio_blk_outhdr")
    public static final int VIRTIO_BLK_OUTHDR_SIZE = 16;
    /** include/linux/blkdev.h (v5.15), not uapi: the 512-byte sector the block layer counts in. */
    @Port("include/linux/blkdev.h:SECTOR_SHIFT")
    public static final int SECTOR_SHIFT = 9;
}
