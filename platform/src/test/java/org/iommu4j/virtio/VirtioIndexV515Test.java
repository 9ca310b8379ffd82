package org.iommu4j.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import org.iommu4j.base.Errno;
import org.junit.jupiter.api.Test;

/**
 * The drivers' own indexes as v5.15 takes them: virtio_blk's vd_index_ida and virtio-rng's
 * rng_index_ida give the lowest free index and take it back when the probe fails; the disk
 * name spells the index in letters past "vdz". Also a probe-time read that C does in 32 bits.
 */
class VirtioIndexV515Test {
    /**
     * The test transport of VirtioConfigV515Test, whose find_vqs answers {@code findVqsResult}
     * and whose configuration reads answer {@code fields} where it has the offset.
     */
    private static final class Ops implements VirtioConfigOps {
        final VirtioConfigV515Test.LoggingOps base = new VirtioConfigV515Test.LoggingOps();
        int findVqsResult;
        final java.util.Map<Integer, Long> fields = new java.util.HashMap<>();

        @Override public long get(VirtioDevice v, int offset, int len) {
            return fields.containsKey(offset) ? fields.get(offset) : base.get(v, offset, len);
        }
        @Override public void set(VirtioDevice v, int offset, long val, int len) { base.set(v, offset, val, len); }
        @Override public int generation(VirtioDevice v) { return base.generation(v); }
        @Override public int getStatus(VirtioDevice v) { return base.getStatus(v); }
        @Override public void setStatus(VirtioDevice v, int s) { base.setStatus(v, s); }
        @Override public void reset(VirtioDevice v) { base.reset(v); }
        @Override public int findVqs(VirtioDevice v, int n, Virtqueue[] vqs, VirtioRing.VqCallback[] cbs, String[] names) {
            return findVqsResult != 0 ? findVqsResult : base.findVqs(v, n, vqs, cbs, names);
        }
        @Override public void delVqs(VirtioDevice v) { base.delVqs(v); }
        @Override public long getFeatures(VirtioDevice v) { return base.getFeatures(v); }
        @Override public int finalizeFeatures(VirtioDevice v) { return base.finalizeFeatures(v); }
        @Override public String busName(VirtioDevice v) { return base.busName(v); }
    }

    private static VirtioDevice device(Ops ops) {
        VirtioDevice vdev = new Virtio(null, null, null).allocDevice(null);
        vdev.config = ops;
        return vdev;
    }

    @Test
    void diskNamesSpellTheIndexInLetters() {
        assertThat(VirtioBlk.virtblkNameFormat("vd", 0)).isEqualTo("vda");
        assertThat(VirtioBlk.virtblkNameFormat("vd", 25)).isEqualTo("vdz");
        assertThat(VirtioBlk.virtblkNameFormat("vd", 26)).isEqualTo("vdaa");
        assertThat(VirtioBlk.virtblkNameFormat("vd", 27)).isEqualTo("vdab");
        assertThat(VirtioBlk.virtblkNameFormat("vd", 701)).isEqualTo("vdzz");
        assertThat(VirtioBlk.virtblkNameFormat("vd", 702)).isEqualTo("vdaaa");
        assertThat(VirtioBlk.virtblkNameFormat("vd", VirtioBlk.VD_INDEX_END - 1)).isEqualTo("vdcrxp");
    }

    @Test
    void aFailedBlkProbeGivesItsIndexBack() {
        VirtioBlk drv = new VirtioBlk();
        Ops failing = new Ops();
        failing.findVqsResult = -Errno.ENOMEM;
        VirtioDevice first = device(failing);
        assertThat(drv.probe(first)).isEqualTo(-Errno.ENOMEM);
        assertThat(VirtioBlk.blk(first)).isNull();
        VirtioDevice second = device(new Ops());
        assertThat(drv.probe(second)).isZero();
        assertThat(VirtioBlk.blk(second).index).isZero();
        assertThat(VirtioBlk.blk(second).diskName).isEqualTo("vda");
        VirtioDevice third = device(new Ops());
        assertThat(drv.probe(third)).isZero();
        assertThat(VirtioBlk.blk(third).diskName).isEqualTo("vdb");
        drv.fini();
    }

    /**
     * discard_sector_alignment is a u32 shifted left by SECTOR_SHIFT in 32 bits
     * (q->limits.discard_alignment = v << SECTOR_SHIFT): 2^23 sectors or more lose the high bits.
     */
    @Test
    void discardAlignmentIsShiftedInThirtyTwoBits() {
        VirtioBlk drv = new VirtioBlk();
        Ops ops = new Ops();
        ops.fields.put(VirtioH.VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT, 0x0080_0001L);
        VirtioDevice vdev = device(ops);
        vdev.features = 1L << VirtioH.VIRTIO_BLK_F_DISCARD;
        assertThat(drv.probe(vdev)).isZero();
        assertThat(VirtioBlk.blk(vdev).discardAlignment).isEqualTo(512);
        ops.fields.put(VirtioH.VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT, 8L);
        VirtioDevice second = device(ops);
        second.features = 1L << VirtioH.VIRTIO_BLK_F_DISCARD;
        assertThat(drv.probe(second)).isZero();
        assertThat(VirtioBlk.blk(second).discardAlignment).isEqualTo(4096);
        drv.fini();
    }

    @Test
    void aFailedRngProbeGivesItsIndexBack() {
        VirtioRng drv = new VirtioRng();
        Ops failing = new Ops();
        failing.findVqsResult = -Errno.EBUSY;
        VirtioDevice first = device(failing);
        assertThat(drv.probe(first)).isEqualTo(-Errno.EBUSY);
        assertThat(VirtioRng.info(first)).isNull();
        VirtioDevice second = device(new Ops());
        assertThat(drv.probe(second)).isZero();
        assertThat(VirtioRng.info(second).index).isZero();
        assertThat(VirtioRng.info(second).name).isEqualTo("virtio_rng.0");
        VirtioDevice third = device(new Ops());
        assertThat(drv.probe(third)).isZero();
        assertThat(VirtioRng.info(third).name).isEqualTo("virtio_rng.1");
    }
}
