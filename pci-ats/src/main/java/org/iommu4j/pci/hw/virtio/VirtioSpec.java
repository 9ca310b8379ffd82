package org.iommu4j.pci.hw.virtio;

/**
 * The device side's own coding of the virtio 1.1 formats (OASIS virtio v1.1, cs01), written
 * from the specification with its names; the driver has its own from Linux's uapi headers, so
 * an encoding bug on either side shows as a device that misbehaves, not as nothing.
 */
public final class VirtioSpec {
    private VirtioSpec() {}

    /* 2.1 Device Status Field */
    public static final int ACKNOWLEDGE = 1;
    public static final int DRIVER = 2;
    public static final int DRIVER_OK = 4;
    public static final int FEATURES_OK = 8;
    public static final int DEVICE_NEEDS_RESET = 64;
    public static final int FAILED = 128;

    /* 6 Reserved Feature Bits */
    public static final int VIRTIO_F_RING_INDIRECT_DESC = 28;
    public static final int VIRTIO_F_RING_EVENT_IDX = 29;
    public static final int VIRTIO_F_VERSION_1 = 32;
    public static final int VIRTIO_F_ACCESS_PLATFORM = 33;

    /* 2.6.5 The Virtqueue Descriptor Table: struct virtq_desc, 16 bytes */
    public static final int VIRTQ_DESC_SIZE = 16;
    public static final int VIRTQ_DESC_F_NEXT = 1;
    public static final int VIRTQ_DESC_F_WRITE = 2;
    public static final int VIRTQ_DESC_F_INDIRECT = 4;
    /* 2.6.6 The Virtqueue Available Ring: flags, idx, ring[], used_event */
    public static final int VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
    /* 2.6.8 The Virtqueue Used Ring: flags, idx, ring[] of {id le32, len le32}, avail_event */
    public static final int VIRTQ_USED_F_NO_NOTIFY = 1;
    public static final int VIRTQ_USED_ELEM_SIZE = 8;

    /* 4.1.4.3 Common configuration structure layout (struct virtio_pci_common_cfg) */
    public static final int COMMON_DFSELECT = 0;
    public static final int COMMON_DF = 4;
    public static final int COMMON_GFSELECT = 8;
    public static final int COMMON_GF = 12;
    public static final int COMMON_MSIX = 16;
    public static final int COMMON_NUMQ = 18;
    public static final int COMMON_STATUS = 20;
    public static final int COMMON_CFGGENERATION = 21;
    public static final int COMMON_Q_SELECT = 22;
    public static final int COMMON_Q_SIZE = 24;
    public static final int COMMON_Q_MSIX = 26;
    public static final int COMMON_Q_ENABLE = 28;
    public static final int COMMON_Q_NOFF = 30;
    public static final int COMMON_Q_DESCLO = 32;
    public static final int COMMON_Q_DESCHI = 36;
    public static final int COMMON_Q_AVAILLO = 40;
    public static final int COMMON_Q_AVAILHI = 44;
    public static final int COMMON_Q_USEDLO = 48;
    public static final int COMMON_Q_USEDHI = 52;
    /** The structure's size in virtio 1.1. */
    public static final int COMMON_CFG_SIZE = 56;
    /** 4.1.5.1.2: the vector value meaning "no vector" (and the device's answer to a mapping it refuses). */
    public static final int VIRTIO_MSI_NO_VECTOR = 0xffff;
    /* 4.1.4.5 ISR status bits */
    public static final int ISR_QUEUE = 1;
    public static final int ISR_CONFIG = 2;

    /* 5.4 Entropy Device */
    public static final int VIRTIO_ID_ENTROPY = 4;
    /* 5.2 Block Device */
    public static final int VIRTIO_ID_BLOCK = 2;
    public static final int VIRTIO_BLK_F_SIZE_MAX = 1;
    public static final int VIRTIO_BLK_F_SEG_MAX = 2;
    public static final int VIRTIO_BLK_F_GEOMETRY = 4;
    public static final int VIRTIO_BLK_F_RO = 5;
    public static final int VIRTIO_BLK_F_BLK_SIZE = 6;
    /** Cache flush command support (QEMU's name for this bit: VIRTIO_BLK_F_WCE). */
    public static final int VIRTIO_BLK_F_FLUSH = 9;
    public static final int VIRTIO_BLK_F_TOPOLOGY = 10;
    public static final int VIRTIO_BLK_F_CONFIG_WCE = 11;
    public static final int VIRTIO_BLK_F_DISCARD = 13;
    public static final int VIRTIO_BLK_F_WRITE_ZEROES = 14;
    /* struct virtio_blk_config offsets */
    public static final int BLK_CFG_CAPACITY = 0;
    public static final int BLK_CFG_SIZE_MAX = 8;
    public static final int BLK_CFG_SEG_MAX = 12;
    /* struct virtio_blk_geometry: cylinders (le16), heads, sectors */
    public static final int BLK_CFG_GEOMETRY_CYLINDERS = 16;
    public static final int BLK_CFG_GEOMETRY_HEADS = 18;
    public static final int BLK_CFG_GEOMETRY_SECTORS = 19;
    public static final int BLK_CFG_BLK_SIZE = 20;
    public static final int BLK_CFG_PHYSICAL_BLOCK_EXP = 24;
    public static final int BLK_CFG_ALIGNMENT_OFFSET = 25;
    public static final int BLK_CFG_MIN_IO_SIZE = 26;
    public static final int BLK_CFG_OPT_IO_SIZE = 28;
    public static final int BLK_CFG_WCE = 32;
    public static final int BLK_CFG_NUM_QUEUES = 34;
    public static final int BLK_CFG_MAX_DISCARD_SECTORS = 36;
    public static final int BLK_CFG_MAX_DISCARD_SEG = 40;
    public static final int BLK_CFG_DISCARD_SECTOR_ALIGNMENT = 44;
    public static final int BLK_CFG_MAX_WRITE_ZEROES_SECTORS = 48;
    public static final int BLK_CFG_MAX_WRITE_ZEROES_SEG = 52;
    public static final int BLK_CFG_WRITE_ZEROES_MAY_UNMAP = 56;
    /* struct virtio_blk_req: type le32, reserved le32, sector le64; data; status u8 */
    public static final int BLK_REQ_HDR_SIZE = 16;
    public static final int VIRTIO_BLK_T_IN = 0;
    public static final int VIRTIO_BLK_T_OUT = 1;
    public static final int VIRTIO_BLK_T_FLUSH = 4;
    public static final int VIRTIO_BLK_T_GET_ID = 8;
    public static final int VIRTIO_BLK_T_DISCARD = 11;
    public static final int VIRTIO_BLK_T_WRITE_ZEROES = 13;
    /** The legacy barrier flag in a request's type. */
    public static final int VIRTIO_BLK_T_BARRIER = 0x80000000;
    /** struct virtio_blk_discard_write_zeroes: sector le64, num_sectors le32, flags le32. */
    public static final int BLK_DWZ_SEG_SIZE = 16;
    public static final int VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;
    public static final int VIRTIO_BLK_S_OK = 0;
    public static final int VIRTIO_BLK_S_IOERR = 1;
    public static final int VIRTIO_BLK_S_UNSUPP = 2;
    /** 5.2.6: data is in 512-byte sectors whatever blk_size says. */
    public static final int SECTOR_SIZE = 512;
    /** VIRTIO_BLK_ID_BYTES: the GET_ID answer's length. */
    public static final int VIRTIO_BLK_ID_BYTES = 20;
}
