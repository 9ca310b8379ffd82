package org.iommu4j.virtio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.virtio.VirtioH.*;

import org.iommu4j.base.Errno;
import org.iommu4j.base.Gfp;
import org.iommu4j.dma.Scatterlist;
import org.iommu4j.pci.hw.virtio.VirtioBlkModel;
import org.iommu4j.platform.Machine;
import org.junit.jupiter.api.Test;

/**
 * Run B's virtio-blk as QEMU 7.2 offers a {@code readonly=on} drive and v5.15's virtio_blk
 * takes it: the device-specific feature bits both sides agree on, the configuration probe reads
 * for the topology, the cache mode and the discard / write-zeroes limits, and how the device answers those
 * requests on a read-only drive.
 */
class VirtioBlkFeaturesV515Test {
    private static final long DEVICE_FEATURE_BITS = (1L << 24) - 1; // 0 to 23: the device type's own

    @Test
    void runBNegotiatesWhatQemuOffersAReadOnlyDriveAndV515Knows() {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice blk = m.virtio.devices.get(1);
            assertThat(blk.features & DEVICE_FEATURE_BITS).isEqualTo(1L << VIRTIO_BLK_F_SEG_MAX | 1L << VIRTIO_BLK_F_GEOMETRY | 1L << VIRTIO_BLK_F_RO
                    | 1L << VIRTIO_BLK_F_BLK_SIZE | 1L << VIRTIO_BLK_F_FLUSH | 1L << VIRTIO_BLK_F_TOPOLOGY | 1L << VIRTIO_BLK_F_CONFIG_WCE
                    | 1L << VIRTIO_BLK_F_DISCARD | 1L << VIRTIO_BLK_F_WRITE_ZEROES);
        }
    }

    @Test
    void probeReadsTheCacheModeAndTheDiscardAndWriteZeroesLimits() {
        try (Machine m = Machine.bootRunB()) {
            VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(m.virtio.devices.get(1));
            // wce = 1 through CONFIG_WCE: a write-back cache, no FUA
            assertThat(vblk.writeCache).isTrue();
            assertThat(vblk.fua).isFalse();
            assertThat(vblk.readOnly).isTrue();
            assertThat(vblk.discard).isTrue();
            assertThat(vblk.discardGranularity).isEqualTo(512);
            // discard_sector_alignment 1 sector
            assertThat(vblk.discardAlignment).isEqualTo(512);
            assertThat(vblk.maxDiscardSectors).isEqualTo(VirtioBlkModel.BDRV_REQUEST_MAX_SECTORS).isEqualTo(4194303);
            assertThat(vblk.maxDiscardSegments).isEqualTo(1);
            assertThat(vblk.maxWriteZeroesSectors).isEqualTo(4194303);
            // the fields probe does not use are there as QEMU fills them
            VirtioDevice blk = vblk.vdev;
            assertThat(Virtio.virtioCread(blk, VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG, 4)).isEqualTo(1);
            assertThat(Virtio.virtioCread(blk, VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP, 1)).isEqualTo(1);
            assertThat(Virtio.virtioCread(blk, VIRTIO_BLK_CFG_NUM_QUEUES, 2)).isEqualTo(1);
        }
    }

    /**
     * HDIO_GETGEO: the geometry QEMU guessed for the reference disk (no partition table, 2048
     * sectors: 2 cylinders, the minimum, of 16 heads and 63 sectors), read from the
     * configuration; sd's fixed geometry when GEOMETRY is not negotiated; -ENXIO once the device
     * is gone, with the geometry untouched.
     */
    @Test
    void getgeoReadsTheGeometryQemuGuessed() {
        try (Machine m = Machine.bootRunB()) {
            VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(m.virtio.devices.get(1));
            VirtioBlkModel model = (VirtioBlkModel) m.virtioProxies.get(0x10).device();
            assertThat(model.geometry()).containsExactly(2, 16, 63);
            VirtioBlk.HdGeometry geo = new VirtioBlk.HdGeometry();
            assertThat(VirtioBlk.virtblkGetgeo(vblk, geo)).isZero();
            assertThat(new int[] {geo.cylinders, geo.heads, geo.sectors}).containsExactly(2, 16, 63);
            VirtioDevice blk = vblk.vdev;
            long negotiated = blk.features;
            try {
                blk.features = negotiated & ~(1L << VIRTIO_BLK_F_GEOMETRY);
                assertThat(VirtioBlk.virtblkGetgeo(vblk, geo)).isZero();
                assertThat(new int[] {geo.cylinders, geo.heads, geo.sectors}).containsExactly(1, 64, 32); // 2048 >> 11
            } finally {
                blk.features = negotiated;
            }
            vblk.vdev = null;
            try {
                VirtioBlk.HdGeometry gone = new VirtioBlk.HdGeometry();
                assertThat(VirtioBlk.virtblkGetgeo(vblk, gone)).isEqualTo(-Errno.ENXIO);
                assertThat(new int[] {gone.cylinders, gone.heads, gone.sectors}).containsOnly(0);
            } finally {
                vblk.vdev = blk;
            }
        }
    }

    /** QEMU's guess from an MS-DOS partition table, and where it falls back to the size. */
    @Test
    void geometryGuessFollowsQemu() {
        byte[] disk = new byte[2048 * 512];
        assertThat(VirtioBlkModel.hdGeometryGuess(disk)).as("no signature").containsExactly(2, 16, 63);
        disk[510] = 0x55;
        disk[511] = (byte) 0xaa;
        assertThat(VirtioBlkModel.hdGeometryGuess(disk)).as("no partition").containsExactly(2, 16, 63);
        // entry 0: sectors, but end sector 0 (skipped); entry 1: end head 3, end sector 32
        partition(disk, 0, 0, 0, 100);
        partition(disk, 1, 3, 32, 100);
        assertThat(VirtioBlkModel.hdGeometryGuess(disk)).containsExactly(2048 / (4 * 32), 4, 32);
        // the end sector's top two bits are cylinder bits
        partition(disk, 1, 3, 0xc0 | 32, 100);
        assertThat(VirtioBlkModel.hdGeometryGuess(disk)).containsExactly(16, 4, 32);
        // an entry without sectors is skipped whatever its CHS says
        partition(disk, 0, 7, 16, 0);
        assertThat(VirtioBlkModel.hdGeometryGuess(disk)).containsExactly(16, 4, 32);
        // more than 16 heads: a translated geometry, so the physical one for the size
        partition(disk, 0, 31, 32, 100); // 32 heads of 32 sectors: 2 cylinders
        assertThat(VirtioBlkModel.hdGeometryGuess(disk)).containsExactly(2, 16, 63);
        // too few sectors for one cylinder of the first entry's geometry: the next entry
        byte[] small = new byte[64 * 512];
        small[510] = 0x55;
        small[511] = (byte) 0xaa;
        partition(small, 0, 15, 63, 10);
        partition(small, 1, 1, 16, 10);
        assertThat(VirtioBlkModel.hdGeometryGuess(small)).containsExactly(2, 2, 16);
        // the size guess: at least 2 cylinders, else sectors over 16 x 63 (the 16383 ceiling
        // needs an 8 GiB image)
        assertThat(VirtioBlkModel.hdGeometryGuess(new byte[512])).containsExactly(2, 16, 63);
        assertThat(VirtioBlkModel.hdGeometryGuess(new byte[5 * 1008 * 512 + 512])).containsExactly(5, 16, 63);
    }

    /** Partition table entry {@code i} with the given end head, end sector byte and size in sectors. */
    private static void partition(byte[] disk, int i, int endHead, int endSector, int nrSects) {
        int p = 0x1be + 16 * i;
        disk[p + 5] = (byte) endHead;
        disk[p + 6] = (byte) endSector;
        disk[p + 12] = (byte) nrSects;
        disk[p + 13] = (byte) (nrSects >>> 8);
        disk[p + 14] = 0;
        disk[p + 15] = 0;
    }

    @Test
    void cacheModeFallsBackToFlushWithoutConfigWce() {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice blk = m.virtio.devices.get(1);
            long negotiated = blk.features;
            try {
                blk.features = negotiated & ~(1L << VIRTIO_BLK_F_CONFIG_WCE);
                assertThat(VirtioBlk.virtblkGetCacheMode(blk)).isTrue();
                blk.features = negotiated & ~(1L << VIRTIO_BLK_F_CONFIG_WCE | 1L << VIRTIO_BLK_F_FLUSH);
                assertThat(VirtioBlk.virtblkGetCacheMode(blk)).isFalse();
            } finally {
                blk.features = negotiated;
            }
        }
    }

    @Test
    void aReadOnlyDriveAnswersDiscardWriteZeroesAndFlushAsQemuDoes() throws Exception {
        try (Machine m = Machine.bootRunB()) {
            VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(m.virtio.devices.get(1));
            VirtioBlkModel model = (VirtioBlkModel) m.virtioProxies.get(0x10).device();
            // write-zeroes: the read-only drive refuses the write, reported as IOERR
            assertThat(m.virtioBlk.virtblkDiscardWriteZeroes(vblk, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, true)).isEqualTo(-Errno.EIO);
            assertThat(m.virtioBlk.virtblkDiscardWriteZeroes(vblk, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, false)).isEqualTo(-Errno.EIO);
            // discard: ignored by the drive (discard=ignore), so it succeeds
            assertThat(m.virtioBlk.virtblkDiscardWriteZeroes(vblk, VIRTIO_BLK_T_DISCARD, 0, 8, false)).isZero();
            // beyond the disk or above the limit: IOERR
            assertThat(m.virtioBlk.virtblkDiscardWriteZeroes(vblk, VIRTIO_BLK_T_DISCARD, 2047, 2, false)).isEqualTo(-Errno.EIO);
            assertThat(m.virtioBlk.virtblkDiscardWriteZeroes(vblk, VIRTIO_BLK_T_DISCARD, 0, 4194304, false)).isEqualTo(-Errno.EIO);
            // flush: nothing to write back on a read-only drive
            assertThat(m.virtioBlk.virtioQueueRq(vblk, VIRTIO_BLK_T_FLUSH, 0, new Scatterlist[0], null)).isZero();
            // a discard range with UNMAP, or a discard without its range: UNSUPP
            long page = m.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
            m.board.mem.writel(page + 8, 8);
            m.board.mem.writel(page + 12, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
            Scatterlist[] range = {new Scatterlist(page, VIRTIO_BLK_DWZ_SIZE)};
            assertThat(m.virtioBlk.virtioQueueRq(vblk, VIRTIO_BLK_T_DISCARD, 0, range, null)).isEqualTo(-Errno.EOPNOTSUPP);
            m.board.mem.writel(page + 12, 2); // an unknown flag
            assertThat(m.virtioBlk.virtioQueueRq(vblk, VIRTIO_BLK_T_WRITE_ZEROES, 0, range, null)).isEqualTo(-Errno.EOPNOTSUPP);
            // two ranges: more than the one segment the device takes
            Scatterlist[] two = {new Scatterlist(page, 2 * VIRTIO_BLK_DWZ_SIZE)};
            assertThat(m.virtioBlk.virtioQueueRq(vblk, VIRTIO_BLK_T_DISCARD, 0, two, null)).isEqualTo(-Errno.EOPNOTSUPP);
            assertThat(m.virtioProxies.get(0x10).status() & 0x40).isZero();
            // the disk is untouched and still reads as the reference
            byte[] all = new byte[1 << 20];
            assertThat(m.virtioBlk.virtblkRead(vblk, 0, all)).isZero();
            assertThat(org.iommu4j.platform.VirtioDemo.md5(all)).isEqualTo("53154684e7db82f6a99c39408ed03fd0");
            assertThat(model.capacity()).isEqualTo(2048);
        }
    }

    @Test
    void probeReadsTheTopologyQemuDerivesFromTheDefaultBlockSizes() {
        try (Machine m = Machine.bootRunB()) {
            VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(m.virtio.devices.get(1));
            VirtioDevice blk = vblk.vdev;
            assertThat(Virtio.virtioHasFeature(blk, VIRTIO_BLK_F_TOPOLOGY)).isTrue();
            // an image file: logical = physical = 512 and no min_io_size / opt_io_size, so all four fields are 0
            assertThat(Virtio.virtioCread(blk, VIRTIO_BLK_CFG_PHYSICAL_BLOCK_EXP, 1)).isZero();
            assertThat(Virtio.virtioCread(blk, VIRTIO_BLK_CFG_ALIGNMENT_OFFSET, 1)).isZero();
            assertThat(Virtio.virtioCread(blk, VIRTIO_BLK_CFG_MIN_IO_SIZE, 2)).isZero();
            assertThat(Virtio.virtioCread(blk, VIRTIO_BLK_CFG_OPT_IO_SIZE, 4)).isZero();
            // zero fields leave the queue's defaults
            assertThat(vblk.blkSize).isEqualTo(512);
            assertThat(vblk.physicalBlockSize).isEqualTo(512);
            assertThat(vblk.alignmentOffset).isZero();
            assertThat(vblk.ioMin).isEqualTo(512);
            assertThat(vblk.ioOpt).isZero();
        }
    }

    @Test
    void theModelDerivesTheTopologyFieldsFromTheDriveBlockSizes() {
        // physical_block_size=4096, min_io_size=4096, opt_io_size=65536: in 512-byte logical blocks
        byte[] c = new VirtioBlkModel(new byte[4096], null, 4096, 4096, 65536).config();
        assertThat(c[VIRTIO_BLK_CFG_PHYSICAL_BLOCK_EXP]).isEqualTo((byte) 3);
        assertThat(c[VIRTIO_BLK_CFG_ALIGNMENT_OFFSET]).isZero();
        assertThat(c[VIRTIO_BLK_CFG_MIN_IO_SIZE] & 0xff | (c[VIRTIO_BLK_CFG_MIN_IO_SIZE + 1] & 0xff) << 8).isEqualTo(8);
        assertThat(c[VIRTIO_BLK_CFG_OPT_IO_SIZE] & 0xff | (c[VIRTIO_BLK_CFG_OPT_IO_SIZE + 1] & 0xff) << 8).isEqualTo(128);
        assertThat(c[VIRTIO_BLK_CFG_OPT_IO_SIZE + 2] | c[VIRTIO_BLK_CFG_OPT_IO_SIZE + 3]).isZero();
    }

    @Test
    void theQueueLimitSettersKeepTheirOrderingRules() {
        VirtioBlk.VirtioBlkDev vblk = new VirtioBlk.VirtioBlkDev();
        // what probe does for physical_block_exp 3, alignment_offset 9, min_io_size 8, opt_io_size 128 on 512-byte blocks
        VirtioBlk.blkQueuePhysicalBlockSize(vblk, 512 * (1 << 3));
        assertThat(vblk.physicalBlockSize).isEqualTo(4096);
        assertThat(vblk.ioMin).isEqualTo(4096); // raised to the physical block
        VirtioBlk.blkQueueAlignmentOffset(vblk, 512 * 9);
        assertThat(vblk.alignmentOffset).isEqualTo(512); // within one physical block
        VirtioBlk.blkQueueIoMin(vblk, 512 * 2);
        assertThat(vblk.ioMin).isEqualTo(4096); // never below the physical block
        VirtioBlk.blkQueueIoMin(vblk, 512 * 16);
        assertThat(vblk.ioMin).isEqualTo(8192);
        VirtioBlk.blkQueueIoOpt(vblk, 512L * 128);
        assertThat(vblk.ioOpt).isEqualTo(65536);
        // a physical block smaller than the logical one becomes the logical one
        VirtioBlk.VirtioBlkDev big = new VirtioBlk.VirtioBlkDev();
        VirtioBlk.blkQueueLogicalBlockSize(big, 4096);
        assertThat(big.physicalBlockSize).isEqualTo(4096);
        assertThat(big.ioMin).isEqualTo(4096);
        VirtioBlk.blkQueuePhysicalBlockSize(big, 512);
        assertThat(big.physicalBlockSize).isEqualTo(4096);
    }
}
