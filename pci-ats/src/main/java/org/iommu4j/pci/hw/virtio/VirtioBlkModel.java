package org.iommu4j.pci.hw.virtio;

import static org.iommu4j.pci.hw.virtio.VirtioSpec.*;

import java.nio.charset.StandardCharsets;

/**
 * A read-only virtio-blk device over a disk image (virtio 1.1 section 5.2; QEMU
 * hw/block/virtio-blk.c with {@code readonly=on}): one request queue of 256 (QEMU's default
 * queue-size), offering RO, BLK_SIZE (512) and SEG_MAX (queue size - 2, QEMU's seg-max-adjust);
 * capacity in 512-byte sectors in its configuration.
 *
 * <p>A request is a header (type, reserved, sector) in device-readable buffers, data, and a
 * status byte as the last device-writable byte. VIRTIO_BLK_T_IN reads sectors into the
 * writable buffers before the status; its length must be whole sectors inside the disk, else
 * VIRTIO_BLK_S_IOERR and no data. VIRTIO_BLK_T_OUT gets VIRTIO_BLK_S_IOERR and writes nothing
 * (5.2.6.1, RO offered); VIRTIO_BLK_T_GET_ID the serial (empty: its NUL). Any other type gets
 * VIRTIO_BLK_S_UNSUPP (5.2.6.1). A chain without a readable header of 16 bytes or without a
 * writable status byte cannot be answered: a device error, as QEMU's "missing headers".
 */
public final class VirtioBlkModel extends VirtioDeviceModel {
    public static final int QUEUE_SIZE = 256;
    public static final int SEG_MAX = QUEUE_SIZE - 2;
    private final byte[] image;
    private final String serial;
    private long requests;
    private long sectorsRead;

    /** @param image the disk; its length a whole number of sectors */
    public VirtioBlkModel(byte[] image, String serial) {
        if (image.length % SECTOR_SIZE != 0) {
            throw new IllegalArgumentException("disk image of " + image.length + " bytes: not whole 512-byte sectors");
        }
        this.image = image.clone();
        this.serial = serial == null ? "" : serial;
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
        return 1L << VIRTIO_BLK_F_SEG_MAX | 1L << VIRTIO_BLK_F_RO | 1L << VIRTIO_BLK_F_BLK_SIZE;
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
        VirtQueue.putLe32(c, BLK_CFG_BLK_SIZE, SECTOR_SIZE);
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
            int written = 0;
            int status;
            switch (type) {
                case VIRTIO_BLK_T_IN -> {
                    if (dataLen % SECTOR_SIZE != 0 || Long.compareUnsigned(sector, capacity()) > 0
                            || dataLen / SECTOR_SIZE > capacity() - sector || dataLen > Integer.MAX_VALUE) {
                        status = VIRTIO_BLK_S_IOERR;
                    } else {
                        vq.writeIn(e, 0, image, (int) (sector * SECTOR_SIZE), (int) dataLen);
                        written = (int) dataLen;
                        sectorsRead += dataLen / SECTOR_SIZE;
                        status = VIRTIO_BLK_S_OK;
                    }
                }
                case VIRTIO_BLK_T_OUT -> status = VIRTIO_BLK_S_IOERR;
                case VIRTIO_BLK_T_GET_ID -> {
                    byte[] id = (serial + "\0").getBytes(StandardCharsets.US_ASCII);
                    written = (int) Math.min(id.length, Math.min(dataLen, VIRTIO_BLK_ID_BYTES));
                    vq.writeIn(e, 0, id, 0, written);
                    status = VIRTIO_BLK_S_OK;
                }
                default -> status = VIRTIO_BLK_S_UNSUPP;
            }
            vq.writeIn(e, inBytes - 1, new byte[] {(byte) status}, 0, 1);
            proxy.push(vq, e, written + 1);
        }
    }
}
