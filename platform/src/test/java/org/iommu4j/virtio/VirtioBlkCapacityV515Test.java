package org.iommu4j.virtio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.virtio.VirtioBlk.STRING_UNITS_10;
import static org.iommu4j.virtio.VirtioBlk.STRING_UNITS_2;

import org.iommu4j.platform.Machine;
import org.junit.jupiter.api.Test;

/**
 * The capacity line v5.15's virtblk_update_capacity prints at probe: the logical blocks the
 * capacity (in 512-byte sectors) covers, rounded up, and their size as lib/string_helpers.c's
 * string_get_size writes it (three significant digits, rounded half-up on the last remainder).
 */
class VirtioBlkCapacityV515Test {
    @Test
    void stringGetSizeRoundsAsV515Does() {
        // the reference disk: 2048 sectors of 512 bytes
        assertThat(VirtioBlk.stringGetSize(2048, 512, STRING_UNITS_10)).isEqualTo("1.05 MB");
        assertThat(VirtioBlk.stringGetSize(2048, 512, STRING_UNITS_2)).isEqualTo("1.00 MiB");
        assertThat(VirtioBlk.stringGetSize(1, 512, STRING_UNITS_10)).isEqualTo("512 B");
        assertThat(VirtioBlk.stringGetSize(0, 512, STRING_UNITS_10)).isEqualTo("0 B");
        assertThat(VirtioBlk.stringGetSize(5, 0, STRING_UNITS_2)).isEqualTo("0 B");
        // 2^32 sectors: the size is cut below 2^32 first
        assertThat(VirtioBlk.stringGetSize(1L << 32, 512, STRING_UNITS_2)).isEqualTo("2.00 TiB");
        assertThat(VirtioBlk.stringGetSize(1L << 32, 512, STRING_UNITS_10)).isEqualTo("2.20 TB");
        // the rounding carries into the integer part without moving to the next unit
        assertThat(VirtioBlk.stringGetSize(999_999, 1, STRING_UNITS_10)).isEqualTo("1000 kB");
        assertThat(VirtioBlk.stringGetSize(1536, 1, STRING_UNITS_2)).isEqualTo("1.50 KiB");
        assertThat(VirtioBlk.stringGetSize(12_345_678, 1, STRING_UNITS_10)).isEqualTo("12.3 MB");
        assertThat(VirtioBlk.stringGetSize(-1L, -1L, STRING_UNITS_10)).isEqualTo("340 UNK");
    }

    @Test
    void runBPrintsTheReferenceCapacityLine() {
        try (Machine m = Machine.bootRunB()) {
            // console.log of the reference's run B
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("] virtio_blk virtio1: [vda] 2048 512-byte logical blocks (1.05 MB/1.00 MiB)"));
            assertThat(m.dmesg).noneMatch(l -> l.contains("1.04 MB"));
        }
    }

    /**
     * dev_printk names the driver really_probe bound (dev->driver is set before the bus probe
     * runs), else the bus: the virtio devices' lines read "virtio_blk virtio1: ..." as in the
     * reference, and "virtio virtioN: ..." for a device no driver holds.
     */
    @Test
    void aVirtioDevicesLinesNameItsDriverOrElseTheBus() {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice rng = m.virtio.devices.get(0);
            VirtioDevice blk = m.virtio.devices.get(1);
            assertThat(rng.driverName()).isEqualTo("virtio_rng");
            assertThat(blk.driverName()).isEqualTo("virtio_blk");
            blk.driver = null;
            assertThat(blk.driverName()).isEqualTo("virtio");
        }
    }

    /**
     * virtio_blk's config_changed: a configuration change (here the one a device error sends
     * with DEVICE_NEEDS_RESET) queues config_work on virtblk_wq, which re-reads the capacity and
     * prints it as a new size; set_capacity_and_notify reports a change of the live disk's size.
     */
    @Test
    void aConfigChangeRereadsTheCapacity() {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice blk = m.virtio.devices.get(1);
            VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(blk);
            Virtqueue vq = blk.vqs.get(0);
            // avail->ring[0] names a descriptor beyond the queue: the device needs a reset and says so
            m.board.mem.writew(vq.avail + 4 + 2L * (vq.availIdxShadow & (vq.num - 1)), 0x7fff);
            m.board.mem.writew(vq.avail + 2, (vq.availIdxShadow + 1) & 0xffff);
            VirtioRing.virtqueueNotify(vq);
            m.board.irqs.quiesce();
            assertThat(m.virtioProxies.get(0x10).status() & VirtioH.VIRTIO_CONFIG_S_NEEDS_RESET).isNotZero();
            org.iommu4j.base.Workqueue.flushWork(vblk.configWork);
            assertThat(m.dmesg).anyMatch(l -> l.endsWith(
                    "virtio_blk virtio1: [vda] new size: 2048 512-byte logical blocks (1.05 MB/1.00 MiB)"));
            assertThat(m.dmesg).noneMatch(l -> l.contains("detected capacity change"));
            // a size that differs from the one the disk had is reported
            vblk.capacity = 1024;
            Virtio.virtioConfigChanged(blk);
            org.iommu4j.base.Workqueue.flushWork(vblk.configWork);
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("vda: detected capacity change from 1024 to 2048"));
            assertThat(vblk.capacity).isEqualTo(2048);
        }
    }

    @Test
    void aPartlyCoveredLastLogicalBlockCounts() {
        // 2051 sectors: with 4096-byte logical blocks, 256 whole ones and a part of another
        try (Machine m = Machine.bootRunB(new Machine.VirtioOptions(new byte[2051 * 512], 0))) {
            VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(m.virtio.devices.get(1));
            assertThat(vblk.capacity).isEqualTo(2051);
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("[vda] 2051 512-byte logical blocks (1.05 MB/1.00 MiB)"));
            vblk.blkSize = 4096;
            VirtioBlk.virtblkUpdateCapacity(vblk, false);
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("[vda] 257 4096-byte logical blocks (1.05 MB/1.00 MiB)"));
        }
    }
}
