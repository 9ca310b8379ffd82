package org.iommu4j.pci.hw.virtio;

import static org.iommu4j.pci.hw.virtio.VirtioSpec.*;

import java.nio.charset.StandardCharsets;

/**
 * A read-only virtio-blk device over a disk image (virtio 1.1 section 5.2; QEMU 7.2
 * hw/block/virtio-blk.c with {@code -drive readonly=on} and the other options at their defaults):
 * one request queue of 256 (QEMU's default queue-size). It offers what QEMU 7.2 offers such a
 * drive: SEG_MAX (queue size - 2, seg-max-adjust), GEOMETRY (always), BLK_SIZE (512), RO (the
 * drive is not writable), FLUSH (the drive's default cache=writeback enables the write cache),
 * TOPOLOGY (always), CONFIG_WCE, DISCARD and WRITE_ZEROES (properties on by default). The
 * geometry is the one QEMU guesses for an image file with no cyls/heads/secs properties
 * ({@link #hdGeometryGuess}). The topology fields come from the drive's block sizes as QEMU derives them:
 * physical_block_exp is log2 of physical over logical block size, alignment_offset is always 0,
 * min_io_size and opt_io_size are the drive's sizes in logical blocks. With QEMU's defaults for
 * an image file (logical and physical block size 512, the min_io_size and opt_io_size
 * properties 0) all four are 0; the constructor taking block sizes stands for setting those
 * drive properties. The configuration holds the capacity in 512-byte sectors, wce 1, num_queues 1, and the
 * discard and write-zeroes limits QEMU's defaults give: max-discard-sectors and
 * max-write-zeroes-sectors {@link #BDRV_REQUEST_MAX_SECTORS}, one segment each, a discard
 * alignment of one sector (the block size) and write_zeroes_may_unmap 1.
 *
 * <p>A request is a header (type, reserved, sector) in device-readable buffers, data, and a
 * status byte as the last device-writable byte. The type is decoded as QEMU does, with the OUT
 * and BARRIER bits masked off. IN reads sectors into the writable buffers before the status;
 * its length must be whole sectors inside the disk, else VIRTIO_BLK_S_IOERR and no data. OUT
 * (a write) gets VIRTIO_BLK_S_IOERR and writes nothing: out of range, or the read-only drive
 * refuses it (-EPERM, reported under the default werror). FLUSH succeeds: the block layer does
 * nothing for a read-only drive. DISCARD and WRITE_ZEROES carry one 16-byte segment (sector,
 * num_sectors, flags): without the OUT bit or with more than one segment, UNSUPP; a segment
 * shorter than 16 bytes is a device error; more sectors than the limit or a range outside the
 * disk, IOERR; unknown flags, or UNMAP on a discard, UNSUPP; then a write-zeroes gets IOERR
 * (the drive is read-only) and a discard succeeds without touching the disk (the drive's
 * default discard=ignore). GET_ID answers the serial (empty: its NUL); any other type gets
 * VIRTIO_BLK_S_UNSUPP (5.2.6.1). Whatever the status, the used element's length is the size of all the
 * request's device-writable buffers, status byte included, as QEMU 7.2 reports it (not the
 * bytes actually written). A chain without a readable header of 16 bytes or without a
 * writable status byte cannot be answered: a device error, as QEMU's "missing headers".
 */
public final class VirtioBlkModel extends VirtioDeviceModel {
    public static final int QUEUE_SIZE = 256;
    public static final int SEG_MAX = QUEUE_SIZE - 2;
    /** QEMU's largest request in sectors (INT_MAX bytes, rounded down to sectors): the default discard and write-zeroes limits. */
    public static final int BDRV_REQUEST_MAX_SECTORS = Integer.MAX_VALUE >> 9;
    /** QEMU's physical block size for an image file when the property is not set (the host probe finds nothing). */
    public static final int DEFAULT_PHYSICAL_BLOCK_SIZE = SECTOR_SIZE;
    private final byte[] image;
    private final String serial;
    private final int physicalBlockSize;
    private final int minIoSize;
    private final int optIoSize;
    /** cylinders, heads, sectors (per track), guessed once from the image as QEMU's realize does. */
    private final int[] geometry;
    private long requests;
    private long sectorsRead;

    /** @param image the disk; its length a whole number of sectors */
    public VirtioBlkModel(byte[] image, String serial) {
        this(image, serial, DEFAULT_PHYSICAL_BLOCK_SIZE, 0, 0);
    }

    /**
     * With the drive's physical_block_size, min_io_size and opt_io_size properties (bytes; the
     * logical block size stays 512): a power-of-two physical size of at least 512, I/O sizes
     * multiples of 512 that fit their fields once in blocks.
     */
    public VirtioBlkModel(byte[] image, String serial, int physicalBlockSize, int minIoSize, int optIoSize) {
        if (image.length % SECTOR_SIZE != 0) {
            throw new IllegalArgumentException("disk image of " + image.length + " bytes: not whole 512-byte sectors");
        }
        if (Integer.bitCount(physicalBlockSize) != 1 || physicalBlockSize < SECTOR_SIZE) {
            throw new IllegalArgumentException("physical block size " + physicalBlockSize);
        }
        if (minIoSize < 0 || minIoSize % SECTOR_SIZE != 0 || minIoSize / SECTOR_SIZE > 0xffff
                || optIoSize < 0 || optIoSize % SECTOR_SIZE != 0) {
            throw new IllegalArgumentException("min_io_size " + minIoSize + ", opt_io_size " + optIoSize);
        }
        this.image = image.clone();
        this.serial = serial == null ? "" : serial;
        this.physicalBlockSize = physicalBlockSize;
        this.minIoSize = minIoSize;
        this.optIoSize = optIoSize;
        this.geometry = hdGeometryGuess(this.image);
    }

    /** The geometry in the configuration: {cylinders, heads, sectors}. */
    public int[] geometry() {
        return geometry.clone();
    }

    /**
     * QEMU 7.2's hd_geometry_guess (hw/block/hd-geometry.c) for an image file, where probing the
     * host device finds nothing: from an MS-DOS partition table in sector 0 (signature 0x55 0xaa
     * at 510) the first entry with sectors and a non-zero end head gives heads = end head + 1 and
     * sectors = end sector & 63 (an entry whose sectors are 0, or whose cylinders, the disk's
     * sectors over heads x sectors, fall outside 1..16383, is skipped); with more than 16 heads
     * (a BIOS translation was in use), or with no such entry, the standard physical geometry for
     * the size: 16 heads, 63 sectors and the sectors over 1008 as cylinders, clamped to 2..16383.
     * virtio-blk's realize accepts any of these (blkconf_geometry's limits are 65535/255/255),
     * and with 512-byte logical blocks the sectors go into the configuration unmasked.
     */
    public static int[] hdGeometryGuess(byte[] image) {
        long nbSectors = image.length / SECTOR_SIZE;
        if (image.length >= SECTOR_SIZE && (image[510] & 0xff) == 0x55 && (image[511] & 0xff) == 0xaa) {
            for (int i = 0; i < 4; i++) {
                int p = 0x1be + 16 * i;
                long nrSects = VirtQueue.le32(image, p + 12);
                int endHead = image[p + 5] & 0xff;
                if (nrSects == 0 || endHead == 0) {
                    continue;
                }
                int heads = endHead + 1;
                int sectors = image[p + 6] & 63;
                if (sectors == 0) {
                    continue;
                }
                long cylinders = nbSectors / ((long) heads * sectors);
                if (cylinders < 1 || cylinders > 16383) {
                    continue;
                }
                if (heads > 16) {
                    break; // a translated LCHS: the physical geometry for the size instead
                }
                return new int[] {(int) cylinders, heads, sectors};
            }
        }
        long cylinders = Math.max(2, Math.min(16383, nbSectors / (16 * 63)));
        return new int[] {(int) cylinders, 16, 63};
    }

    /** physical_block_exp: how many logical blocks, as a power of two, make a physical one. */
    public int physicalBlockExp() {
        return Integer.numberOfTrailingZeros(physicalBlockSize / SECTOR_SIZE);
    }

    public long capacity() {
        return image.length / SECTOR_SIZE;
    }

    public long requests() {
        return requests;
    }

    public long sectorsRead() {
        return sectorsRead;
    }

    @Override
    public int deviceId() {
        return VIRTIO_ID_BLOCK;
    }

    @Override
    public long deviceFeatures() {
        return 1L << VIRTIO_BLK_F_SEG_MAX | 1L << VIRTIO_BLK_F_GEOMETRY | 1L << VIRTIO_BLK_F_RO | 1L << VIRTIO_BLK_F_BLK_SIZE | 1L << VIRTIO_BLK_F_FLUSH
                | 1L << VIRTIO_BLK_F_TOPOLOGY | 1L << VIRTIO_BLK_F_CONFIG_WCE | 1L << VIRTIO_BLK_F_DISCARD | 1L << VIRTIO_BLK_F_WRITE_ZEROES;
    }

    @Override
    public int[] queueSizes() {
        return new int[] {QUEUE_SIZE};
    }

    @Override
    public byte[] config() {
        byte[] c = new byte[60]; // struct virtio_blk_config up to write_zeroes_may_unmap and padding
        VirtQueue.putLe64(c, BLK_CFG_CAPACITY, capacity());
        VirtQueue.putLe32(c, BLK_CFG_SEG_MAX, SEG_MAX);
        VirtQueue.putLe16(c, BLK_CFG_GEOMETRY_CYLINDERS, geometry[0]);
        c[BLK_CFG_GEOMETRY_HEADS] = (byte) geometry[1];
        c[BLK_CFG_GEOMETRY_SECTORS] = (byte) geometry[2];
        VirtQueue.putLe32(c, BLK_CFG_BLK_SIZE, SECTOR_SIZE);
        c[BLK_CFG_PHYSICAL_BLOCK_EXP] = (byte) physicalBlockExp();
        c[BLK_CFG_ALIGNMENT_OFFSET] = 0;
        VirtQueue.putLe16(c, BLK_CFG_MIN_IO_SIZE, minIoSize / SECTOR_SIZE);
        VirtQueue.putLe32(c, BLK_CFG_OPT_IO_SIZE, optIoSize / SECTOR_SIZE);
        c[BLK_CFG_WCE] = 1;
        c[BLK_CFG_NUM_QUEUES] = 1;
        VirtQueue.putLe32(c, BLK_CFG_MAX_DISCARD_SECTORS, BDRV_REQUEST_MAX_SECTORS);
        VirtQueue.putLe32(c, BLK_CFG_MAX_DISCARD_SEG, 1);
        VirtQueue.putLe32(c, BLK_CFG_DISCARD_SECTOR_ALIGNMENT, SECTOR_SIZE / SECTOR_SIZE);
        VirtQueue.putLe32(c, BLK_CFG_MAX_WRITE_ZEROES_SECTORS, BDRV_REQUEST_MAX_SECTORS);
        VirtQueue.putLe32(c, BLK_CFG_MAX_WRITE_ZEROES_SEG, 1);
        c[BLK_CFG_WRITE_ZEROES_MAY_UNMAP] = 1;
        return c;
    }

    @Override
    protected void handleOutput(VirtioPciProxy proxy, VirtQueue vq) {
        VirtQueue.Element e;
        while ((e = proxy.pop(vq)) != null) {
            requests++;
            long inBytes = e.bytes(true);
            if (e.segments(false) < 1 || e.segments(true) < 1) {
                throw new VirtioError("virtio-blk missing headers");
            }
            byte[] hdr = new byte[BLK_REQ_HDR_SIZE];
            if (vq.readOut(e, hdr) < BLK_REQ_HDR_SIZE) {
                throw new VirtioError("virtio-blk request outhdr too short");
            }
            int type = VirtQueue.le32(hdr, 0);
            long sector = VirtQueue.le64(hdr, 8);
            long dataLen = inBytes - 1;
            int status;
            switch (type & ~(VIRTIO_BLK_T_OUT | VIRTIO_BLK_T_BARRIER)) {
                case VIRTIO_BLK_T_IN -> {
                    boolean write = (type & VIRTIO_BLK_T_OUT) != 0;
                    long len = write ? e.bytes(false) - BLK_REQ_HDR_SIZE : dataLen;
                    if (!sectorRangeOk(sector, len)) {
                        status = VIRTIO_BLK_S_IOERR;
                    } else if (write) {
                        status = VIRTIO_BLK_S_IOERR; // the read-only drive refuses it
                    } else {
                        vq.writeIn(e, 0, image, (int) (sector * SECTOR_SIZE), (int) dataLen);
                        sectorsRead += dataLen / SECTOR_SIZE;
                        status = VIRTIO_BLK_S_OK;
                    }
                }
                case VIRTIO_BLK_T_FLUSH -> status = VIRTIO_BLK_S_OK;
                case VIRTIO_BLK_T_GET_ID -> {
                    byte[] id = (serial + "\0").getBytes(StandardCharsets.US_ASCII);
                    vq.writeIn(e, 0, id, 0, (int) Math.min(id.length, Math.min(dataLen, VIRTIO_BLK_ID_BYTES)));
                    status = VIRTIO_BLK_S_OK;
                }
                case VIRTIO_BLK_T_DISCARD & ~VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_WRITE_ZEROES & ~VIRTIO_BLK_T_OUT -> {
                    long outLen = e.bytes(false) - BLK_REQ_HDR_SIZE;
                    if ((type & VIRTIO_BLK_T_OUT) == 0 || outLen > BLK_DWZ_SEG_SIZE) {
                        status = VIRTIO_BLK_S_UNSUPP;
                    } else {
                        byte[] seg = new byte[BLK_REQ_HDR_SIZE + BLK_DWZ_SEG_SIZE];
                        if (vq.readOut(e, seg) < seg.length) {
                            throw new VirtioError("virtio-blk discard/write_zeroes header too short");
                        }
                        status = discardWriteZeroes(seg, (type & ~VIRTIO_BLK_T_BARRIER) == VIRTIO_BLK_T_WRITE_ZEROES);
                    }
                }
                default -> status = VIRTIO_BLK_S_UNSUPP;
            }
            vq.writeIn(e, inBytes - 1, new byte[] {(byte) status}, 0, 1);
            // QEMU reports every device-writable byte of the request as used, whatever the outcome
            proxy.push(vq, e, (int) inBytes);
        }
    }

    /** Whole logical blocks, at most the largest request, inside the disk. */
    private boolean sectorRangeOk(long sector, long bytes) {
        long nbSectors = bytes / SECTOR_SIZE;
        return bytes >= 0 && nbSectors <= BDRV_REQUEST_MAX_SECTORS && bytes % SECTOR_SIZE == 0
                && Long.compareUnsigned(sector, capacity()) <= 0 && nbSectors <= capacity() - sector;
    }

    /** One discard or write-zeroes segment (after the request header in {@code seg}) on the read-only drive: its status. */
    private int discardWriteZeroes(byte[] seg, boolean writeZeroes) {
        long sector = VirtQueue.le64(seg, BLK_REQ_HDR_SIZE);
        long numSectors = Integer.toUnsignedLong(VirtQueue.le32(seg, BLK_REQ_HDR_SIZE + 8));
        int flags = VirtQueue.le32(seg, BLK_REQ_HDR_SIZE + 12);
        if (numSectors > BDRV_REQUEST_MAX_SECTORS || !sectorRangeOk(sector, numSectors * SECTOR_SIZE)) {
            return VIRTIO_BLK_S_IOERR;
        }
        if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) != 0) {
            return VIRTIO_BLK_S_UNSUPP;
        }
        if (writeZeroes) {
            return VIRTIO_BLK_S_IOERR; // -EPERM from the read-only drive, reported
        }
        if ((flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) != 0) {
            return VIRTIO_BLK_S_UNSUPP;
        }
        return VIRTIO_BLK_S_OK; // discard=ignore: nothing is discarded
    }
}
