package org.iommu4j.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceRecord;
import org.iommu4j.pci.hw.virtio.VirtioRngModel;
import org.iommu4j.platform.Machine;
import org.junit.jupiter.api.Test;

class VirtioRunBTest {
    static String md5(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(b));
    }

    @Test
    void runBReadsTheDiskAndTheRngThroughTheSmmu() throws Exception {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice rngDev = m.virtio.devices.get(0);
            VirtioDevice blkDev = m.virtio.devices.get(1);
            assertThat(rngDev.idDevice).isEqualTo(VirtioH.VIRTIO_ID_RNG);
            assertThat(Virtio.virtioHasFeature(rngDev, VirtioH.VIRTIO_F_ACCESS_PLATFORM)).isTrue();
            VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(blkDev);
            assertThat(vblk.capacity).isEqualTo(2048);
            byte[] first = new byte[16384];
            try (Trace.Capture cap = Trace.capture("smmuv3:smmuv3_cmdq_opcode")) {
                assertThat(m.virtioBlk.virtblkRead(vblk, 0, first)).isZero();
                m.board.irqs.quiesce();
                List<TraceRecord> recs = cap.records();
                System.out.println(recs.size() + " " + recs.stream().map(TraceRecord::message).distinct().toList());
            }
            assertThat(md5(first)).isEqualTo("60e24ea4b8d2da8d8d3aa152630e9f0d");
            byte[] all = new byte[1 << 20];
            assertThat(m.virtioBlk.virtblkRead(vblk, 0, all)).isZero();
            assertThat(md5(all)).isEqualTo("53154684e7db82f6a99c39408ed03fd0");
            VirtioRng.VirtrngInfo vi = VirtioRng.info(rngDev);
            long buf = VirtioRng.allocBuffer(m.virtio);
            assertThat(m.virtioRng.virtioRead(vi, buf, 32, true)).isEqualTo(32);
            assertThat(m.board.mem.readBytes(buf, 32)).isEqualTo(VirtioRngModel.expected(0, 32));
        }
    }
}
