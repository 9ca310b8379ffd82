package org.iommu4j.virtio;

import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.EIO;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.base.Errno.ENXIO;
import static org.iommu4j.base.Errno.EOPNOTSUPP;
import static org.iommu4j.base.Errno.ETIMEDOUT;
import static org.iommu4j.virtio.VirtioH.*;

import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.Completion;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Workqueue;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.dma.Scatterlist;

/**
 * drivers/block/virtio_blk.c (v5.15), the read path: probe (one request queue, capacity, block
 * size, topology, segment limit, read-only, cache mode, discard and write-zeroes limits), requests built as virtio_queue_rq builds them (header, data
 * segments, status byte; virtqueue_add_sgs, kick) and completed by virtblk_done from the queue's
 * interrupt. The block layer above is not modelled: {@link #virtblkRead} stands for the page
 * cache's reads, one request per {@link #READ_AHEAD_BYTES} (read_ahead_kb's default), one
 * scatterlist entry per page (no merging of physically contiguous pages).
 */
public final class VirtioBlk implements VirtioDriver {
    /** read_ahead_kb = 128: the largest read the page cache issues here. */
    public static final int READ_AHEAD_BYTES = 128 * 1024;
    private static final int PAGE_SIZE = 4096;
    /** The most discard ranges one request may carry, whatever the device allows. */
    @Port("drivers/block/virtio_blk.c:MAX_DISCARD_SEGMENTS")
    public static final int MAX_DISCARD_SEGMENTS = 256;
    /** UINT_MAX as a queue limit: no limit. */
    public static final long UINT_MAX = 0xffffffffL;

    /** {@code struct virtio_blk_vq}: a queue and its lock. */
    static final class VirtioBlkVq {
        Virtqueue vq;
        final ReentrantLock lock = new ReentrantLock();
        String name;
    }

    /** {@code struct virtio_blk}. */
    @Port("drivers/block/virtio_blk.c:virtio_blk")
    public static final class VirtioBlkDev {
        /** Guards {@link #vdev}, which remove clears while the disk may still be open. */
        final ReentrantLock vdevMutex = new ReentrantLock();
        /** {@code refs}: probe's reference, dropped by remove (virtblk_open's are not modelled: no block layer). */
        final org.iommu4j.base.Refcount refs = new org.iommu4j.base.Refcount(0);
        public VirtioDevice vdev;
        public String diskName;
        public int index;
        public long capacity;
        public int blkSize = 512;
        public int sgElems;
        public boolean readOnly;
        VirtioBlkVq[] vqs;
        public int numVqs;
        /*
         * The request queue's settings probe makes (struct queue_limits and the queue flags; the
         * block layer itself is not modelled). Sector counts are u32 kept unsigned in a long.
         */
        /** limits.physical_block_size, in bytes (512 by default, never below the logical block size). */
        public int physicalBlockSize = 512;
        /** limits.alignment_offset, in bytes. */
        public int alignmentOffset;
        /** limits.io_min, in bytes (512 by default, never below the physical block size). */
        public int ioMin = 512;
        /** limits.io_opt, in bytes (0: none reported). Unsigned. */
        public long ioOpt;
        /** QUEUE_FLAG_WC: the device has a volatile write cache (blk_queue_write_cache). */
        public boolean writeCache;
        /** QUEUE_FLAG_FUA: the device honours FUA writes; virtio_blk never sets it. */
        public boolean fua;
        /** QUEUE_FLAG_DISCARD. */
        public boolean discard;
        /** limits.discard_granularity, in bytes. */
        public int discardGranularity;
        /** limits.discard_alignment, in bytes. */
        public long discardAlignment;
        /** limits.max_discard_sectors (and max_hw_discard_sectors). */
        public long maxDiscardSectors;
        /** limits.max_discard_segments. */
        public int maxDiscardSegments;
        /** limits.max_write_zeroes_sectors. */
        public long maxWriteZeroesSectors;
        /** {@code config_work}: re-reads the capacity after a configuration change. */
        Workqueue.WorkStruct configWork;
        /** The disk was added (device_add_disk): capacity changes are reported from then on. */
        boolean diskLive;
    }

    /** {@code struct hd_geometry}: what HDIO_GETGEO reports. */
    @Port("include/uapi/linux/hdreg.h:hd_geometry")
    public static final class HdGeometry {
        /** u8 */
        public int heads;
        /** u8 */
        public int sectors;
        /** u16 */
        public int cylinders;
        /** The partition's start sector (the block layer fills it; 0 for the whole disk). */
        public long start;
    }

    /** {@code struct virtblk_req} with the request it is the pdu of. */
    @Port("drivers/block/virtio_blk.c:virtblk_req")
    static final class VirtblkReq {
        /** out_hdr (16 bytes) then status (1 byte) in kernel memory at this physical address. */
        long pdu;
        Scatterlist[] sg;
        final Completion done = new Completion();
        int blkStatus;
        int len;
    }

    /** How long a request waits in the simulation (the block layer's timeout keeps resetting in v5.15). */
    public long waitNanos = TimeUnit.SECONDS.toNanos(10);
    /** {@code virtblk_wq}, allocated when the module loads ({@code init}), destroyed by {@link #fini}. */
    private final Workqueue virtblkWq = Workqueue.allocWorkqueue("virtio-blk", 0, 0);

    /** The module's exit: its workqueue goes, after the work queued on it has run. */
    @Port("drivers/block/virtio_blk.c:fini")
    public void fini() {
        virtblkWq.destroyWorkqueue();
    }

    /** {@code vd_index_ida}: the disks' indexes ("vda" is 0). */
    private final org.iommu4j.base.Ida vdIndexIda = new org.iommu4j.base.Ida();
    /** minor_to_index(1 << MINORBITS): 2^20 minors, 16 (PART_BITS) per disk. */
    static final int VD_INDEX_END = (1 << 20) >> 4;

    @Override
    public String name() {
        return "virtio_blk";
    }

    @Override
    public int deviceId() {
        return VIRTIO_ID_BLOCK;
    }

    @Override
    @Port("drivers/block/virtio_blk.c:features")
    public int[] featureTable() {
        // features[] of v5.15 as a modern device sees it (features_legacy adds SCSI)
        return new int[] {VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_SIZE_MAX, VIRTIO_BLK_F_GEOMETRY, VIRTIO_BLK_F_RO,
            VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_F_CONFIG_WCE,
            VIRTIO_BLK_F_MQ, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES};
    }

    /** blk_status_t as -errno (blk_status_to_errno): VIRTIO_BLK_S_OK 0, UNSUPP -EOPNOTSUPP, anything else -EIO. */
    @Port("drivers/block/virtio_blk.c:virtblk_result")
    static int virtblkResult(int status) {
        switch (status) {
            case VIRTIO_BLK_S_OK: return 0;
            case VIRTIO_BLK_S_UNSUPP: return -EOPNOTSUPP;
            default: return -EIO;
        }
    }

    @Port("drivers/block/virtio_blk.c:virtblk_add_req")
    private static int virtblkAddReq(Virtqueue vq, VirtblkReq vbr, Scatterlist[] dataSg, boolean haveData, boolean out) {
        Scatterlist hdr = new Scatterlist(vbr.pdu, VIRTIO_BLK_OUTHDR_SIZE);
        Scatterlist status = new Scatterlist(vbr.pdu + VIRTIO_BLK_OUTHDR_SIZE, 1);
        Scatterlist[][] sgs = new Scatterlist[3][];
        int numOut = 0;
        int numIn = 0;
        sgs[numOut++] = new Scatterlist[] {hdr};
        if (haveData) {
            if (out) {
                sgs[numOut++] = dataSg;
            } else {
                sgs[numOut + numIn++] = dataSg;
            }
        }
        sgs[numOut + numIn++] = new Scatterlist[] {status};
        return VirtioRing.virtqueueAddSgs(vq, java.util.Arrays.copyOf(sgs, numOut + numIn), numOut, numIn, vbr, Gfp.GFP_ATOMIC);
    }

    @Port("drivers/block/virtio_blk.c:virtblk_done")
    private static void virtblkDone(Virtqueue vq) {
        VirtioBlkDev vblk = (VirtioBlkDev) vq.vdev.priv;
        VirtioBlkVq bvq = vblk.vqs[vq.index];
        int[] len = {0};
        bvq.lock.lock();
        try {
            do {
                VirtioRing.virtqueueDisableCb(vq);
                Object vbr;
                while ((vbr = VirtioRing.virtqueueGetBuf(bvq.vq, len)) != null) {
                    virtblkRequestDone((VirtblkReq) vbr, vq.vdev.virtio.mem, len[0]); // blk_mq_complete_request
                }
                if (VirtioRing.virtqueueIsBroken(vq)) {
                    break;
                }
            } while (!VirtioRing.virtqueueEnableCb(vq));
        } finally {
            bvq.lock.unlock();
        }
    }

    @Port("drivers/block/virtio_blk.c:virtblk_request_done")
    private static void virtblkRequestDone(VirtblkReq vbr, PhysMem mem, int len) {
        vbr.len = len;
        vbr.blkStatus = virtblkResult(mem.readb(vbr.pdu + VIRTIO_BLK_OUTHDR_SIZE));
        vbr.done.complete(); // blk_mq_end_request
    }

    /**
     * virtio_queue_rq for one request: {@code type} at {@code sector}, the data in
     * {@code dataSg} (device-writable for a read, readable for a write; none for GET_ID-like
     * requests without data pass an empty array). Waits for its completion. Returns 0, the
     * request's -errno (virtblk_result), -ENOSPC / -ENOMEM (could not queue it), -EIO (the ring is
     * broken) or -ETIMEDOUT (no answer in the simulation's bound). {@code len[0]}: bytes the
     * device says it wrote.
     */
    @Port("drivers/block/virtio_blk.c:virtio_queue_rq")
    public int virtioQueueRq(VirtioBlkDev vblk, int type, long sector, Scatterlist[] dataSg, int[] len) {
        Virtio virtio = vblk.vdev.virtio;
        VirtioBlkVq bvq = vblk.vqs[0];
        if (dataSg.length + 2 > vblk.sgElems) {
            throw new IllegalArgumentException("BUG_ON(req->nr_phys_segments + 2 > vblk->sg_elems)");
        }
        VirtblkReq vbr = new VirtblkReq();
        vbr.pdu = virtio.dma.pageAlloc().allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO); // the request's pdu
        if (vbr.pdu == 0) {
            return -ENOMEM;
        }
        try {
            // virtblk_setup_cmd: type, ioprio 0, sector
            PhysMem mem = virtio.mem;
            mem.writel(vbr.pdu, type);
            mem.writel(vbr.pdu + 4, 0);
            mem.writeq(vbr.pdu + 8, sector);
            mem.writeb(vbr.pdu + VIRTIO_BLK_OUTHDR_SIZE, 0xff); // status: not yet written by the device
            vbr.sg = dataSg;
            boolean notify = false;
            bvq.lock.lock();
            int err;
            try {
                err = virtblkAddReq(bvq.vq, vbr, dataSg, dataSg.length != 0, (type & VIRTIO_BLK_T_OUT) != 0);
                if (err != 0) {
                    VirtioRing.virtqueueKick(bvq.vq);
                } else if (VirtioRing.virtqueueKickPrepare(bvq.vq)) {
                    notify = true;
                }
            } finally {
                bvq.lock.unlock();
            }
            if (err != 0) {
                // BLK_STS_DEV_RESOURCE (-ENOSPC), BLK_STS_RESOURCE (-ENOMEM), else BLK_STS_IOERR
                return err == -ENOSPC || err == -ENOMEM ? err : -EIO;
            }
            if (notify) {
                VirtioRing.virtqueueNotify(bvq.vq);
            }
            if (!vbr.done.waitForCompletionTimeout(waitNanos, TimeUnit.NANOSECONDS)) {
                return -ETIMEDOUT;
            }
            if (len != null) {
                len[0] = vbr.len;
            }
            return vbr.blkStatus;
        } finally {
            virtio.dma.pageAlloc().freePages(vbr.pdu, 0);
        }
    }

    /**
     * A discard ({@code VIRTIO_BLK_T_DISCARD}) or write-zeroes ({@code VIRTIO_BLK_T_WRITE_ZEROES})
     * of {@code nrSectors} sectors from {@code sector}, as the block layer hands one range to
     * virtio_queue_rq: the header's sector is 0 and the range (with UNMAP for a write-zeroes
     * that may unmap; never for a discard) is the request's device-readable payload. 0 or -errno
     * as {@link #virtioQueueRq}.
     */
    @Port("drivers/block/virtio_blk.c:virtblk_setup_discard_write_zeroes")
    public int virtblkDiscardWriteZeroes(VirtioBlkDev vblk, int type, long sector, int nrSectors, boolean unmap) {
        if (type != VIRTIO_BLK_T_DISCARD && type != VIRTIO_BLK_T_WRITE_ZEROES) {
            throw new IllegalArgumentException("not a discard or write-zeroes: " + type);
        }
        Virtio virtio = vblk.vdev.virtio;
        long range = virtio.dma.pageAlloc().allocPage(Gfp.GFP_ATOMIC | Gfp.__GFP_ZERO); // kmalloc_array(segments, sizeof(*range))
        if (range == 0) {
            return -ENOMEM;
        }
        try {
            int flags = type == VIRTIO_BLK_T_WRITE_ZEROES && unmap ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
            virtio.mem.writeq(range, sector);
            virtio.mem.writel(range + 8, nrSectors);
            virtio.mem.writel(range + 12, flags);
            return virtioQueueRq(vblk, type, 0, new Scatterlist[] {new Scatterlist(range, VIRTIO_BLK_DWZ_SIZE)}, null);
        } finally {
            virtio.dma.pageAlloc().freePages(range, 0);
        }
    }

    /**
     * Reads {@code dst.length} bytes from byte {@code offset} of the disk (both whole sectors),
     * as the page cache would: into freshly allocated pages, {@link #READ_AHEAD_BYTES} per
     * request, one scatterlist entry per page; then copies them out. 0 or -errno.
     */
    public int virtblkRead(VirtioBlkDev vblk, long offset, byte[] dst) {
        if (offset % 512 != 0 || dst.length % 512 != 0) {
            return -EINVAL;
        }
        Virtio virtio = vblk.vdev.virtio;
        for (int done = 0; done < dst.length;) {
            int chunk = Math.min(READ_AHEAD_BYTES, dst.length - done);
            int npages = (chunk + PAGE_SIZE - 1) / PAGE_SIZE;
            Scatterlist[] sg = new Scatterlist[npages];
            long[] pages = new long[npages];
            try {
                for (int i = 0; i < npages; i++) {
                    pages[i] = virtio.dma.pageAlloc().allocPage(Gfp.GFP_KERNEL);
                    if (pages[i] == 0) {
                        return -ENOMEM;
                    }
                    sg[i] = new Scatterlist(pages[i], Math.min(PAGE_SIZE, chunk - i * PAGE_SIZE));
                }
                int ret = virtioQueueRq(vblk, VIRTIO_BLK_T_IN, (offset + done) >> SECTOR_SHIFT, sg, null);
                if (ret != 0) {
                    return ret;
                }
                for (int i = 0; i < npages; i++) {
                    virtio.mem.read(pages[i], dst, done + i * PAGE_SIZE, sg[i].length);
                }
            } finally {
                for (long p : pages) {
                    if (p != 0) {
                        virtio.dma.pageAlloc().freePages(p, 0);
                    }
                }
            }
            done += chunk;
        }
        return 0;
    }

    @Port("drivers/block/virtio_blk.c:init_vq")
    private static int initVq(VirtioBlkDev vblk) {
        VirtioDevice vdev = vblk.vdev;
        long[] v = {0};
        int err = Virtio.virtioCreadFeature(vdev, VIRTIO_BLK_F_MQ, VIRTIO_BLK_CFG_NUM_QUEUES, 2, v);
        int numVqs = err != 0 ? 1 : (int) v[0];
        if (err == 0 && numVqs == 0) {
            DevPrintk.devErr(vdev, "MQ advertised but zero queues reported");
            return -EINVAL;
        }
        numVqs = Math.min(numVqs, 1); // nr_cpu_ids: one CPU
        vblk.vqs = new VirtioBlkVq[numVqs];
        VirtioRing.VqCallback[] callbacks = new VirtioRing.VqCallback[numVqs];
        String[] names = new String[numVqs];
        for (int i = 0; i < numVqs; i++) {
            callbacks[i] = VirtioBlk::virtblkDone;
            vblk.vqs[i] = new VirtioBlkVq();
            vblk.vqs[i].name = "req." + i;
            names[i] = vblk.vqs[i].name;
        }
        Virtqueue[] vqs = new Virtqueue[numVqs];
        // set the queues up in the device
        err = Virtio.virtioFindVqs(vdev, numVqs, vqs, callbacks, names);
        if (err != 0) {
            return err;
        }
        for (int i = 0; i < numVqs; i++) {
            vblk.vqs[i].vq = vqs[i];
        }
        vblk.numVqs = numVqs;
        return 0;
    }

    /** {@code enum string_size_units}: powers of 1000 (SI) or of 1024. */
    static final int STRING_UNITS_10 = 0;
    static final int STRING_UNITS_2 = 1;

    /**
     * {@code size} blocks of {@code blkSize} bytes as three significant digits and a unit
     * ("1.05 MB", "1.00 MiB"), as v5.15 computes it: both factors are cut below 2^32 by whole
     * divisors, multiplied, then divided down below one divisor keeping only the last remainder,
     * which is rounded half-up at the last digit shown (so 1048576 bytes is "1.05 MB", not the
     * truncated "1.04 MB"). A zero size or block size is "0 B"; past yotta the unit is "UNK".
     * Both arguments are u64.
     */
    @Port("lib/string_helpers.c:string_get_size")
    static String stringGetSize(long size, long blkSize, int units) {
        String[] names = units == STRING_UNITS_2
                ? new String[] {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}
                : new String[] {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
        long divisor = units == STRING_UNITS_2 ? 1024 : 1000;
        int[] rounding = {500, 50, 5};
        int i = 0;
        long remainder = 0; // u32
        String frac = "";
        if (blkSize == 0) {
            size = 0;
        }
        if (size != 0) {
            while ((blkSize >>> 32) != 0) {
                blkSize = Long.divideUnsigned(blkSize, divisor);
                i++;
            }
            while ((size >>> 32) != 0) {
                size = Long.divideUnsigned(size, divisor);
                i++;
            }
            // both below 2^32: the product fits in 64 unsigned bits
            size *= blkSize;
            while (Long.compareUnsigned(size, divisor) >= 0) {
                remainder = Long.remainderUnsigned(size, divisor);
                size = Long.divideUnsigned(size, divisor);
                i++;
            }
            // j: how many fractional digits keep three significant ones
            int j = 0;
            for (long sfCap = size; sfCap * 10 < 1000; j++) {
                sfCap *= 10;
            }
            if (units == STRING_UNITS_2) {
                // the remainder in 1024ths, as thousandths
                remainder = (remainder * 1000) >>> 10;
            }
            remainder += rounding[j];
            if (remainder >= 1000) {
                remainder -= 1000;
                size += 1;
            }
            if (j != 0) {
                frac = String.format(Locale.ROOT, ".%03d", remainder).substring(0, j + 1);
            }
        }
        String unit = i >= names.length ? "UNK" : names[i];
        return Integer.toUnsignedString((int) size) + frac + " " + unit;
    }

    /**
     * Whether the device caches writes: the wce field when the driver may configure it,
     * otherwise whether FLUSH was negotiated.
     */
    @Port("drivers/block/virtio_blk.c:virtblk_get_cache_mode")
    static boolean virtblkGetCacheMode(VirtioDevice vdev) {
        long[] writeback = {0};
        int err = Virtio.virtioCreadFeature(vdev, VIRTIO_BLK_F_CONFIG_WCE, VIRTIO_BLK_CFG_WCE, 1, writeback);
        if (err != 0) {
            // WCE cannot be configured: a device without FLUSH has no write-back cache
            return Virtio.virtioHasFeature(vdev, VIRTIO_BLK_F_FLUSH);
        }
        return writeback[0] != 0;
    }

    @Port("drivers/block/virtio_blk.c:virtblk_update_cache_mode")
    static void virtblkUpdateCacheMode(VirtioDevice vdev) {
        VirtioBlkDev vblk = (VirtioBlkDev) vdev.priv;
        // blk_queue_write_cache(q, writeback, false)
        vblk.writeCache = virtblkGetCacheMode(vdev);
        vblk.fua = false;
    }

    @Port("drivers/block/virtio_blk.c:virtblk_update_capacity")
    static void virtblkUpdateCapacity(VirtioBlkDev vblk, boolean resize) {
        long capacity = Virtio.virtioCread(vblk.vdev, VIRTIO_BLK_CFG_CAPACITY, 8);
        // the capacity is in 512-byte sectors: a partly covered last logical block counts whole
        long sectorsPerBlock = vblk.blkSize >>> SECTOR_SHIFT;
        // (a block size below 512 divides by zero: arm64's udiv gives 0, so 0 blocks)
        long nblocks = sectorsPerBlock == 0 ? 0 : Long.divideUnsigned(capacity + sectorsPerBlock - 1, sectorsPerBlock);
        DevPrintk.devNotice(vblk.vdev, "[%s] %s%s %d-byte logical blocks (%s/%s)", vblk.diskName, resize ? "new size: " : "",
                Long.toUnsignedString(nblocks), vblk.blkSize, stringGetSize(nblocks, vblk.blkSize, STRING_UNITS_10),
                stringGetSize(nblocks, vblk.blkSize, STRING_UNITS_2));
        setCapacityAndNotify(vblk, capacity);
    }

    /**
     * The disk's new capacity in sectors; once the disk is live, a change is reported
     * ("vda: detected capacity change from 2048 to 4096"). True if it was.
     */
    @Port("block/genhd.c:set_capacity_and_notify")
    static boolean setCapacityAndNotify(VirtioBlkDev vblk, long size) {
        long old = vblk.capacity;
        vblk.capacity = size;
        if (size == old || !vblk.diskLive) {
            return false;
        }
        Printk.prInfo("%s: detected capacity change from %d to %d", vblk.diskName, old, size);
        return true;
    }

    /** The configuration changed (its vector fired): re-read the capacity in process context. */
    @Port("drivers/block/virtio_blk.c:virtblk_config_changed_work")
    private static void virtblkConfigChangedWork(VirtioBlkDev vblk) {
        virtblkUpdateCapacity(vblk, true);
    }

    @Override
    public boolean hasConfigChanged() {
        return true;
    }

    @Override
    @Port("drivers/block/virtio_blk.c:virtblk_config_changed")
    public void configChanged(VirtioDevice vdev) {
        VirtioBlkDev vblk = (VirtioBlkDev) vdev.priv;
        virtblkWq.queueWork(vblk.configWork);
    }

    /*
     * The queue-limit setters probe uses (block/blk-settings.c), on the limits kept in VirtioBlkDev.
     * What they do beyond these limits (max_hw_sectors rounding, the readahead io_opt sets) is not modelled.
     */

    /** The logical block size; the physical block size and io_min are raised to it if smaller. */
    @Port("block/blk-settings.c:blk_queue_logical_block_size")
    static void blkQueueLogicalBlockSize(VirtioBlkDev vblk, int size) {
        vblk.blkSize = size;
        if (vblk.physicalBlockSize < size) {
            vblk.physicalBlockSize = size;
        }
        if (vblk.ioMin < vblk.physicalBlockSize) {
            vblk.ioMin = vblk.physicalBlockSize;
        }
    }

    /** The physical block size, at least the logical one; io_min is raised to it if smaller. */
    @Port("block/blk-settings.c:blk_queue_physical_block_size")
    static void blkQueuePhysicalBlockSize(VirtioBlkDev vblk, int size) {
        vblk.physicalBlockSize = Integer.compareUnsigned(size, vblk.blkSize) < 0 ? vblk.blkSize : size;
        if (Integer.compareUnsigned(vblk.ioMin, vblk.physicalBlockSize) < 0) {
            vblk.ioMin = vblk.physicalBlockSize;
        }
    }

    /** The alignment offset, kept within one physical block. */
    @Port("block/blk-settings.c:blk_queue_alignment_offset")
    static void blkQueueAlignmentOffset(VirtioBlkDev vblk, int offset) {
        vblk.alignmentOffset = offset & (vblk.physicalBlockSize - 1);
    }

    /** io_min, at least the logical and then the physical block size. */
    @Port("block/blk-settings.c:blk_limits_io_min")
    static void blkQueueIoMin(VirtioBlkDev vblk, int min) {
        vblk.ioMin = min;
        if (Integer.compareUnsigned(vblk.ioMin, vblk.blkSize) < 0) {
            vblk.ioMin = vblk.blkSize;
        }
        if (Integer.compareUnsigned(vblk.ioMin, vblk.physicalBlockSize) < 0) {
            vblk.ioMin = vblk.physicalBlockSize;
        }
    }

    /** io_opt as given. */
    @Port("block/blk-settings.c:blk_queue_io_opt")
    static void blkQueueIoOpt(VirtioBlkDev vblk, long opt) {
        vblk.ioOpt = opt;
    }

    /**
     * HDIO_GETGEO for the disk: the device's geometry when GEOMETRY was negotiated, else the
     * fixed 64 heads and 32 sectors per track sd uses, with the cylinders the capacity (in
     * 512-byte sectors) over 2048. -ENXIO once the device is gone.
     */
    @Port("drivers/block/virtio_blk.c:virtblk_getgeo")
    public static int virtblkGetgeo(VirtioBlkDev vblk, HdGeometry geo) {
        vblk.vdevMutex.lock();
        try {
            VirtioDevice vdev = vblk.vdev;
            if (vdev == null) {
                return -ENXIO;
            }
            if (Virtio.virtioHasFeature(vdev, VIRTIO_BLK_F_GEOMETRY)) {
                geo.cylinders = (int) Virtio.virtioCread(vdev, VIRTIO_BLK_CFG_GEOMETRY_CYLINDERS, 2);
                geo.heads = (int) Virtio.virtioCread(vdev, VIRTIO_BLK_CFG_GEOMETRY_HEADS, 1);
                geo.sectors = (int) Virtio.virtioCread(vdev, VIRTIO_BLK_CFG_GEOMETRY_SECTORS, 1);
            } else {
                geo.heads = 1 << 6;
                geo.sectors = 1 << 5;
                geo.cylinders = (int) ((vblk.capacity >>> 11) & 0xffff); // the u16 field keeps the low bits
            }
            return 0;
        } finally {
            vblk.vdevMutex.unlock();
        }
    }

    /**
     * The disk name of index {@code index}: the prefix, then the index written in letters as
     * spreadsheet columns are ("vda" .. "vdz", "vdaa" .. "vdzz", "vdaaa" ...). Null (-EINVAL in
     * v5.15) when it would not fit DISK_NAME_LEN (32 bytes with the NUL).
     */
    @Port("drivers/block/virtio_blk.c:virtblk_name_format")
    static String virtblkNameFormat(String prefix, int index) {
        final int diskNameLen = 32;
        StringBuilder letters = new StringBuilder();
        do {
            if (prefix.length() + letters.length() + 1 >= diskNameLen) {
                return null;
            }
            letters.append((char) ('a' + index % 26));
            index = index / 26 - 1;
        } while (index >= 0);
        return prefix + letters.reverse();
    }

    @Override
    @Port("drivers/block/virtio_blk.c:virtblk_probe")
    public int probe(VirtioDevice vdev) {
        VirtioBlkDev vblk = new VirtioBlkDev();
        vblk.vdev = vdev;
        int index = vdIndexIda.idaSimpleGet(0, VD_INDEX_END);
        if (index < 0) {
            return index;
        }
        vblk.index = index;
        vdev.priv = vblk;
        vblk.refs.refcountSet(1);
        vblk.configWork = new Workqueue.WorkStruct(() -> virtblkConfigChangedWork(vblk));
        // seg_max (default 1) bounds a request's data segments; read before the queues exist
        long[] v = {0};
        int err = Virtio.virtioCreadFeature(vdev, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_CFG_SEG_MAX, 4, v);
        int sgElems = err != 0 || v[0] == 0 ? 1 : (int) Math.min(v[0], Integer.MAX_VALUE - 2);
        // plus the header and the status byte
        vblk.sgElems = sgElems + 2;
        err = initVq(vblk);
        if (err != 0) {
            vdev.priv = null;
            // the index goes back: the next disk probed takes it
            vdIndexIda.idaSimpleRemove(index);
            return err;
        }
        vblk.diskName = virtblkNameFormat("vd", index);
        // whether the queue takes flushes
        virtblkUpdateCacheMode(vdev);
        // RO offered: the disk is read-only (set_disk_ro)
        vblk.readOnly = Virtio.virtioHasFeature(vdev, VIRTIO_BLK_F_RO);
        if (Virtio.virtioCreadFeature(vdev, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_CFG_BLK_SIZE, 4, v) == 0) {
            blkQueueLogicalBlockSize(vblk, (int) v[0]);
        }
        int blkSize = vblk.blkSize; // the logical block size either way
        // the topology, each field in logical blocks, applied only when offered and non-zero
        if (Virtio.virtioCreadFeature(vdev, VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_CFG_PHYSICAL_BLOCK_EXP, 1, v) == 0 && v[0] != 0) {
            blkQueuePhysicalBlockSize(vblk, blkSize * (1 << v[0]));
        }
        if (Virtio.virtioCreadFeature(vdev, VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_CFG_ALIGNMENT_OFFSET, 1, v) == 0 && v[0] != 0) {
            blkQueueAlignmentOffset(vblk, blkSize * (int) v[0]);
        }
        if (Virtio.virtioCreadFeature(vdev, VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_CFG_MIN_IO_SIZE, 2, v) == 0 && v[0] != 0) {
            blkQueueIoMin(vblk, blkSize * (int) v[0]);
        }
        if (Virtio.virtioCreadFeature(vdev, VIRTIO_BLK_F_TOPOLOGY, VIRTIO_BLK_CFG_OPT_IO_SIZE, 4, v) == 0 && v[0] != 0) {
            blkQueueIoOpt(vblk, (blkSize * v[0]) & UINT_MAX); // an unsigned int product, as in C
        }
        if (Virtio.virtioHasFeature(vdev, VIRTIO_BLK_F_DISCARD)) {
            vblk.discardGranularity = blkSize;
            long a = Virtio.virtioCread(vdev, VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT, 4);
            // a u32 shifted in 32 bits: sectors past 2^23 lose their high bits, as in C
            vblk.discardAlignment = a != 0 ? (a << SECTOR_SHIFT) & UINT_MAX : 0;
            long s = Virtio.virtioCread(vdev, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, 4);
            vblk.maxDiscardSectors = s != 0 ? s : UINT_MAX; // blk_queue_max_discard_sectors
            long seg = Virtio.virtioCread(vdev, VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 4);
            // blk_queue_max_discard_segments(q, min_not_zero(seg, MAX_DISCARD_SEGMENTS))
            vblk.maxDiscardSegments = (int) (seg != 0 ? Math.min(seg, MAX_DISCARD_SEGMENTS) : MAX_DISCARD_SEGMENTS);
            vblk.discard = true; // QUEUE_FLAG_DISCARD
        }
        if (Virtio.virtioHasFeature(vdev, VIRTIO_BLK_F_WRITE_ZEROES)) {
            long s = Virtio.virtioCread(vdev, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, 4);
            vblk.maxWriteZeroesSectors = s != 0 ? s : UINT_MAX; // blk_queue_max_write_zeroes_sectors
        }
        // v5.15 reads the capacity, then sets DRIVER_OK
        virtblkUpdateCapacity(vblk, false);
        Virtio.virtioDeviceReady(vdev);
        // device_add_disk: the disk is live
        vblk.diskLive = true;
        return 0;
    }

    /**
     * Unbinds: the configuration work is flushed, the device reset (its queues stop), then
     * vblk->vdev cleared under vdev_mutex so nothing reaches the device any more, the queues
     * deleted (their rings freed, the vectors released) and the disk's index given back.
     * del_gendisk, blk_cleanup_disk and blk_mq_free_tag_set: there is no block layer here, only
     * the disk's liveness ({@code diskLive}) is cleared. virtblk_put drops probe's reference;
     * no one else holds the disk open here (no block layer), so the index goes back now.
     */
    @Override
    @Port("drivers/block/virtio_blk.c:virtblk_remove")
    public void remove(VirtioDevice vdev) {
        VirtioBlkDev vblk = (VirtioBlkDev) vdev.priv;
        // make sure no work handler is accessing the device
        Workqueue.flushWork(vblk.configWork);
        // del_gendisk: capacity changes are no longer reported
        vblk.diskLive = false;
        vblk.vdevMutex.lock();
        try {
            // stop all the virtqueues
            vdev.config.reset(vdev);
            // virtqueues are stopped, nothing can use vblk->vdev anymore
            vblk.vdev = null;
            vdev.config.delVqs(vdev);
            vblk.vqs = null;
        } finally {
            vblk.vdevMutex.unlock();
        }
        virtblkPut(vblk);
    }

    /** Drops a reference to the disk; with the last one its index goes back for the next disk. */
    @Port("drivers/block/virtio_blk.c:virtblk_put")
    private void virtblkPut(VirtioBlkDev vblk) {
        if (vblk.refs.refcountDecAndTest()) {
            vdIndexIda.idaSimpleRemove(vblk.index);
        }
    }

    /** The driver's state for {@code vdev}, or null. */
    public static VirtioBlkDev blk(VirtioDevice vdev) {
        return vdev.priv instanceof VirtioBlkDev b ? b : null;
    }
}
