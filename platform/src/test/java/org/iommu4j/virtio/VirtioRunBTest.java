package org.iommu4j.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceRecord;
import org.iommu4j.pci.hw.virtio.VirtioRngModel;
import org.iommu4j.platform.Machine;
import org.junit.jupiter.api.Test;

class VirtioRunBTest {
    static String md5(byte[] b) {
        return org.iommu4j.platform.VirtioDemo.md5(b);
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
                // strict dma-iommu: each of the 7 unmaps (the indirect table, then header, 4 data pages, status) is
                // TLBI_NH_VA then CMD_SYNC
                List<String> ops = cap.records().stream().map(r -> (String) r.field("cmd")).toList();
                assertThat(ops).hasSize(14);
                for (int i = 0; i < ops.size(); i += 2) {
                    assertThat(ops.subList(i, i + 2)).containsExactly("CMD_TLBI_NH_VA", "CMD_SYNC");
                }
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

    @Test
    void badBlockRequestsGetTheSpecStatus() {
        try (Machine m = Machine.bootRunB()) {
            VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(m.virtio.devices.get(1));
            long page = m.pages.allocPage(org.iommu4j.base.Gfp.GFP_KERNEL);
            org.iommu4j.dma.Scatterlist[] sg = {new org.iommu4j.dma.Scatterlist(page, 4096)};
            int[] len = {0};
            // beyond the capacity: VIRTIO_BLK_S_IOERR and only the status byte written, yet the used length is
            // 4097: QEMU 7.2 pushes every request with in_len, the size of all its device-writable buffers
            // (the 4096-byte page and the status byte), not the bytes it wrote
            assertThat(m.virtioBlk.virtioQueueRq(vblk, VirtioH.VIRTIO_BLK_T_IN, 2047, sg, len)).isEqualTo(-org.iommu4j.base.Errno.EIO);
            assertThat(len[0]).isEqualTo(4096 + 1);
            // a write to a read-only disk: IOERR (5.2.6.1); the status byte is its only writable buffer
            assertThat(m.virtioBlk.virtioQueueRq(vblk, VirtioH.VIRTIO_BLK_T_OUT, 0, sg, len)).isEqualTo(-org.iommu4j.base.Errno.EIO);
            assertThat(len[0]).isEqualTo(1);
            // an unknown type: UNSUPP
            assertThat(m.virtioBlk.virtioQueueRq(vblk, 99, 0, sg, len)).isEqualTo(-org.iommu4j.base.Errno.EOPNOTSUPP);
            // GET_ID: the empty serial's NUL, the whole page and status reported used (in_len)
            assertThat(m.virtioBlk.virtioQueueRq(vblk, VirtioH.VIRTIO_BLK_T_GET_ID, 0, sg, len)).isZero();
            assertThat(len[0]).isEqualTo(4096 + 1);
            // the last sector reads fine: the used length is the page and the status byte
            assertThat(m.virtioBlk.virtioQueueRq(vblk, VirtioH.VIRTIO_BLK_T_IN, 2040, sg, len)).isZero();
            assertThat(len[0]).isEqualTo(4096 + 1);
            assertThat(m.board.mem.readBytes(page, 32)).isEqualTo(java.util.Arrays.copyOfRange(Machine.referenceDisk(), 2040 * 512, 2040 * 512 + 32));
            assertThat(m.virtioProxies.get(0x10).status() & 0x40).isZero();
        }
    }

    @Test
    void aMalformedChainSetsNeedsResetAndSendsTheConfigVector() {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice rng = m.virtio.devices.get(0);
            Virtqueue vq = rng.vqs.get(0);
            var proxy = m.virtioProxies.get(0x8);
            int configVirq = org.iommu4j.pci.PciMsi.pciIrqVector((org.iommu4j.pci.PciDev) rng.parent, 0);
            long before = m.board.irqs.count(configVirq);
            // avail->ring[0] = 200, beyond the queue of 8; avail->idx = 1
            m.board.mem.writew(vq.avail + 4, 200);
            m.board.mem.writew(vq.avail + 2, 1);
            VirtioRing.virtqueueNotify(vq);
            m.board.irqs.quiesce();
            assertThat(proxy.status() & VirtioH.VIRTIO_CONFIG_S_NEEDS_RESET).isNotZero();
            assertThat(proxy.lastError()).contains("index 200 is available");
            assertThat(m.board.irqs.count(configVirq)).isEqualTo(before + 1);
            assertThat(rng.config.getStatus(rng) & VirtioH.VIRTIO_CONFIG_S_NEEDS_RESET).isNotZero();
        }
    }

    @Test
    void aBufferTheSmmuDoesNotMapFaultsAndTheDeviceNeedsReset() {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice rng = m.virtio.devices.get(0);
            Virtqueue vq = rng.vqs.get(0);
            // a descriptor pointing at an IOVA nobody mapped: the SMMU says no
            m.board.mem.writeq(vq.desc, 0x1234_0000L);
            m.board.mem.writel(vq.desc + 8, 32);
            m.board.mem.writew(vq.desc + 12, VirtioH.VRING_DESC_F_WRITE);
            m.board.mem.writew(vq.avail + 4, 0);
            m.board.mem.writew(vq.avail + 2, 1);
            int events = m.smmuModel.events().size();
            VirtioRing.virtqueueNotify(vq);
            m.board.irqs.quiesce();
            assertThat(m.smmuModel.events().subList(events, m.smmuModel.events().size()))
                    .anyMatch(e -> e instanceof org.iommu4j.smmuv3.hw.SmmuEvent.Translation t && t.f().sid() == 0x8
                            && t.f().addr() == 0x1234_0000L);
            assertThat(m.virtioProxies.get(0x8).status() & VirtioH.VIRTIO_CONFIG_S_NEEDS_RESET).isNotZero();
            assertThat(m.virtioProxies.get(0x8).lastError()).contains("DMA write of buffer at 0x12340000");
        }
    }

    @Test
    void featuresOkIsRefusedWithoutAccessPlatformAndBadVectorsReadNoVector() {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice blk = m.virtio.devices.get(1);
            var mdev = VirtioPciDevice.toVpDevice(blk).mdev;
            VirtioPciModernDev.vpModernSetStatus(mdev, 0);
            assertThat(VirtioPciModernDev.vpModernGetStatus(mdev)).isZero();
            VirtioPciModernDev.vpModernSetStatus(mdev, VirtioH.VIRTIO_CONFIG_S_ACKNOWLEDGE | VirtioH.VIRTIO_CONFIG_S_DRIVER);
            VirtioPciModernDev.vpModernSetFeatures(mdev, 1L << VirtioH.VIRTIO_F_VERSION_1);
            VirtioPciModernDev.vpModernSetStatus(mdev, 3 | VirtioH.VIRTIO_CONFIG_S_FEATURES_OK);
            assertThat(VirtioPciModernDev.vpModernGetStatus(mdev) & VirtioH.VIRTIO_CONFIG_S_FEATURES_OK).isZero();
            // the MSI-X Table has 2 entries: vector 5 cannot be mapped
            assertThat(VirtioPciModernDev.vpModernQueueVector(mdev, 0, 5)).isEqualTo(VirtioH.VIRTIO_MSI_NO_VECTOR);
            assertThat(VirtioPciModernDev.vpModernConfigVector(mdev, 1)).isEqualTo(1);
            // a queue that does not exist reads size 0
            assertThat(VirtioPciModernDev.vpModernGetQueueSize(mdev, 3)).isZero();
            assertThat(VirtioPciModernDev.vpModernGetQueueSize(mdev, 0)).isEqualTo(256);
        }
    }

    @Test
    void runAKeepsItsTransitionalFunctionsWithNothingBehindThem() {
        try (Machine m = Machine.boot("qemu")) {
            assertThat(m.virtio).isNull();
            assertThat(m.function(0x8).dev().device).isEqualTo(0x1005);
            assertThat(m.virtioProxies).isEmpty();
        }
        try (Machine m = Machine.bootRunB()) {
            assertThat(m.function(0x8).dev().device).isEqualTo(0x1044);
            assertThat(m.function(0x10).dev().device).isEqualTo(0x1042);
            assertThat(m.function(0x10).dev().revision).isEqualTo(1);
            assertThat(org.iommu4j.pci.Pci.pciResourceLen(m.function(0x10).dev(), 0)).isZero();
            assertThat(m.dmesg).anyMatch(l -> l.contains("virtio1: [vda] 2048 512-byte logical blocks (1.05 MB/1.00 MiB)"));
        }
    }

    @Test
    void theDemoPrintsCountsBesideTheReference() {
        try (Machine m = Machine.bootRunB()) {
            var buf = new java.io.ByteArrayOutputStream();
            var r = org.iommu4j.platform.VirtioDemo.run(m, new java.io.PrintStream(buf, true));
            assertThat(r.exit()).isZero();
            assertThat(r.md5Disk()).isEqualTo("53154684e7db82f6a99c39408ed03fd0");
            assertThat(r.commands().get("SYNC")).isEqualTo(r.commands().get("TLBI_NH_VA")).isPositive();
            assertThat(r.translations()).containsKeys(0x8, 0x10);
            assertThat(buf.toString()).contains("reference").contains("indirect table mapped with dma_map_single")
                    .doesNotContain("offer neither feature");
            // one more TLBI_NH_VA + CMD_SYNC per block request than without the feature: the table's own unmap
            try (Machine plain = Machine.bootRunB(Machine.VirtioOptions.runB().withRingFeatures(false, true))) {
                var r0 = org.iommu4j.platform.VirtioDemo.run(plain, new java.io.PrintStream(new java.io.ByteArrayOutputStream(), true));
                assertThat(r0.exit()).isZero();
                long requests = ((org.iommu4j.pci.hw.virtio.VirtioBlkModel) m.virtioProxies.get(0x10).device()).requests();
                long requests0 = ((org.iommu4j.pci.hw.virtio.VirtioBlkModel) plain.virtioProxies.get(0x10).device()).requests();
                assertThat(requests).isEqualTo(requests0).isPositive();
                assertThat(r.commands().get("TLBI_NH_VA") - r0.commands().get("TLBI_NH_VA")).isEqualTo((int) requests);
                assertThat(r.commands().get("SYNC") - r0.commands().get("SYNC")).isEqualTo((int) requests);
            }
        }
    }
}
