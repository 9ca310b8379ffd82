package org.iommu4j.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.dma.DmaDataDirection;
import org.iommu4j.dma.Scatterlist;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciMsi;
import org.iommu4j.platform.Machine;
import org.junit.jupiter.api.Test;

/**
 * virtio_ring.c as v5.15 has it, checked in ring memory, SMMU commands, notifications and
 * interrupts: the desc_extra free list, indirect tables (driver and device), the event index
 * (driver and device), and the device's checks of indirect descriptors.
 */
class VirtioRingV515Test {
    private static Machine withoutRingFeatures() {
        return Machine.bootRunB(Machine.VirtioOptions.runB().withRingFeatures(false, false));
    }

    private static int queueVirq(VirtioDevice d) {
        return PciMsi.pciIrqVector((PciDev) d.parent, 1);
    }

    @Test
    void bothDevicesOfferIndirectAndEventIdxAsQemuDoesAndTheDriverTakesThem() {
        try (Machine m = Machine.bootRunB()) {
            for (VirtioDevice d : m.virtio.devices) {
                assertThat(Virtio.virtioHasFeature(d, VirtioH.VIRTIO_RING_F_INDIRECT_DESC)).isTrue();
                assertThat(Virtio.virtioHasFeature(d, VirtioH.VIRTIO_RING_F_EVENT_IDX)).isTrue();
                assertThat(d.vqs.get(0).indirect()).isTrue();
                assertThat(d.vqs.get(0).event()).isTrue();
            }
        }
        try (Machine m = withoutRingFeatures()) {
            assertThat(m.virtio.devices.get(1).vqs.get(0).indirect()).isFalse();
            assertThat(m.virtio.devices.get(1).vqs.get(0).event()).isFalse();
        }
    }

    /** vring_alloc_desc_extra leaves the last entry's next at 0: a full ring's free_head and desc[num-1].next read 0. */
    @Test
    void theFreeListWrapsToZeroAsVringAllocDescExtraLeavesIt() {
        try (Machine m = withoutRingFeatures()) {
            VirtioDevice blk = m.virtio.devices.get(1);
            Virtqueue vq = blk.vqs.get(0);
            long page = m.pages.allocPage(Gfp.GFP_KERNEL);
            for (int k = 0; k < vq.num; k++) {
                Scatterlist[] sg = {new Scatterlist(page, 512)};
                assertThat(VirtioRing.virtqueueAddInbuf(vq, sg, 1, Integer.valueOf(k), Gfp.GFP_KERNEL)).isZero();
            }
            assertThat(vq.numFree).isZero();
            assertThat(vq.freeHead()).isZero();
            assertThat(m.board.mem.readw(vq.desc + 16L * (vq.num - 1) + 14)).isZero();
            // one more: -ENOSPC, nothing mapped
            assertThat(VirtioRing.virtqueueAddInbuf(vq, new Scatterlist[] {new Scatterlist(page, 512)}, 1, "x", Gfp.GFP_KERNEL))
                    .isEqualTo(-org.iommu4j.base.Errno.ENOSPC);
        }
    }

    /** A block request (header, 4 pages, status: 6 segments) is one ring descriptor naming a mapped table; detach unmaps the table too. */
    @Test
    void aBlockRequestGoesThroughAnIndirectTableMappedAndUnmappedWithTheDmaApi() {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice blk = m.virtio.devices.get(1);
            Virtqueue vq = blk.vqs.get(0);
            VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(blk);
            int head = vq.freeHead();
            byte[] first = new byte[16384];
            List<String> ops;
            try (Trace.Capture cap = Trace.capture("smmuv3:smmuv3_cmdq_opcode")) {
                assertThat(m.virtioBlk.virtblkRead(vblk, 0, first)).isZero();
                m.board.irqs.quiesce();
                ops = cap.records().stream().map(r -> (String) r.field("cmd")).toList();
            }
            // the ring's descriptor: INDIRECT, 6 entries of 16 bytes, at an IOVA (not the table's physical address)
            long d = vq.desc + 16L * head;
            assertThat(m.board.mem.readw(d + 12)).isEqualTo(VirtioH.VRING_DESC_F_INDIRECT);
            assertThat(m.board.mem.readl(d + 8)).isEqualTo(6 * 16);
            // strict dma-iommu: 7 unmaps (the table, header, 4 data pages, status), each TLBI_NH_VA then CMD_SYNC
            assertThat(ops).hasSize(14);
            for (int i = 0; i < ops.size(); i += 2) {
                assertThat(ops.subList(i, i + 2)).containsExactly("CMD_TLBI_NH_VA", "CMD_SYNC");
            }
            assertThat(vq.numFree).isEqualTo(vq.num);
            assertThat(vq.descStateIndirDesc[head]).isZero();
            assertThat(VirtioRunBTest.md5(first)).isEqualTo("60e24ea4b8d2da8d8d3aa152630e9f0d");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        // without the feature: 6 descriptors in the ring, 6 unmaps
        try (Machine m = withoutRingFeatures()) {
            VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(m.virtio.devices.get(1));
            try (Trace.Capture cap = Trace.capture("smmuv3:smmuv3_cmdq_opcode")) {
                assertThat(m.virtioBlk.virtblkRead(vblk, 0, new byte[16384])).isZero();
                m.board.irqs.quiesce();
                assertThat(cap.records()).hasSize(12);
            }
        }
    }

    /** The device interrupts only when the used index crosses used_event (2.6.7.2). */
    @Test
    void theDeviceHonoursUsedEvent() {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice rng = m.virtio.devices.get(0);
            Virtqueue vq = rng.vqs.get(0);
            VirtioRng.VirtrngInfo vi = VirtioRng.info(rng);
            int virq = queueVirq(rng);
            long buf = VirtioRng.allocBuffer(m.virtio);
            // the device's first used buffer always interrupts (no used index signalled yet, as in QEMU)
            long irqs0 = m.board.irqs.count(virq);
            assertThat(m.virtioRng.virtioRead(vi, buf, 32, true)).isEqualTo(32);
            m.board.irqs.quiesce();
            assertThat(m.board.irqs.count(virq)).isEqualTo(irqs0 + 1);
            long irqs = m.board.irqs.count(virq);
            // used_event 5 ahead: the next used buffer must not interrupt
            m.board.mem.writew(vq.avail + 4 + 2L * vq.num, (vq.lastUsedIdx() + 5) & 0xffff);
            assertThat(m.virtioRng.virtioRead(vi, buf, 32, false)).isZero();
            m.board.irqs.quiesce();
            assertThat(m.board.mem.readw(vq.used + 2)).isEqualTo((vq.lastUsedIdx() + 1) & 0xffff);
            assertThat(m.board.irqs.count(virq)).isEqualTo(irqs);
            // the driver polls it in; get_buf points used_event at the next entry
            assertThat(VirtioRing.vringInterrupt(virq, vq)).isEqualTo(org.iommu4j.base.hw.IrqHandler.IRQ_HANDLED);
            assertThat(m.virtioRng.virtioRead(vi, buf, 32, true)).isEqualTo(32);
            assertThat(m.board.mem.readw(vq.avail + 4 + 2L * vq.num)).isEqualTo(vq.lastUsedIdx());
            // so the next one interrupts
            assertThat(m.virtioRng.virtioRead(vi, buf, 32, true)).isEqualTo(32);
            m.board.irqs.quiesce();
            assertThat(m.board.irqs.count(virq)).isEqualTo(irqs + 1);
        }
    }

    /** virtqueue_kick_prepare_split with the event index: no notification unless avail->idx crosses avail_event. */
    @Test
    void theDriverKicksOnlyWhenAvailEventIsCrossedAndTheDevicePublishesIt() {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice rng = m.virtio.devices.get(0);
            Virtqueue vq = rng.vqs.get(0);
            var proxy = m.virtioProxies.get(0x8);
            long avEvent = vq.used + 4 + 8L * vq.num;
            // the device wrote avail_event = its next index at each pop
            assertThat(m.board.mem.readw(avEvent)).isEqualTo(vq.availIdxShadow);
            long page = VirtioRng.allocBuffer(m.virtio);
            m.board.mem.writew(avEvent, (vq.availIdxShadow + 3) & 0xffff);
            assertThat(VirtioRing.virtqueueAddInbuf(vq, new Scatterlist[] {new Scatterlist(page, 16)}, 1, "a", Gfp.GFP_KERNEL)).isZero();
            long notes = proxy.notifications();
            assertThat(VirtioRing.virtqueueKick(vq)).isTrue();
            assertThat(proxy.notifications()).isEqualTo(notes);
            // avail_event == the index before this add: kick
            m.board.mem.writew(avEvent, vq.availIdxShadow);
            assertThat(VirtioRing.virtqueueAddInbuf(vq, new Scatterlist[] {new Scatterlist(page + 64, 16)}, 1, "b", Gfp.GFP_KERNEL)).isZero();
            assertThat(VirtioRing.virtqueueKickPrepare(vq)).isTrue();
            assertThat(VirtioRing.virtqueueNotify(vq)).isTrue();
            assertThat(proxy.notifications()).isEqualTo(notes + 1);
            assertThat(m.board.mem.readw(avEvent)).isEqualTo(vq.availIdxShadow);
            assertThat(m.board.mem.readw(vq.used + 2)).isEqualTo(vq.availIdxShadow);
        }
    }

    /** virtqueue_disable_cb_split with the event index writes used_event 0 (v5.15's "hack"), not avail->flags. */
    @Test
    void disableCbWithEventIdxZeroesUsedEventAndEnableCbRestoresIt() {
        try (Machine m = Machine.bootRunB()) {
            Virtqueue vq = m.virtio.devices.get(1).vqs.get(0);
            assertThat(m.virtioBlk.virtblkRead(VirtioBlk.blk(m.virtio.devices.get(1)), 0, new byte[4096])).isZero();
            m.board.irqs.quiesce();
            vq.eventTriggered = false;
            long usedEvent = vq.avail + 4 + 2L * vq.num;
            assertThat(m.board.mem.readw(usedEvent)).isEqualTo(vq.lastUsedIdx()).isNotZero();
            VirtioRing.virtqueueDisableCb(vq);
            assertThat(m.board.mem.readw(usedEvent)).isZero();
            assertThat(m.board.mem.readw(vq.avail) & VirtioH.VRING_AVAIL_F_NO_INTERRUPT).isZero();
            assertThat(VirtioRing.virtqueueEnableCb(vq)).isTrue();
            assertThat(m.board.mem.readw(usedEvent)).isEqualTo(vq.lastUsedIdx());
            // after an interrupt (event_triggered), disable_cb does nothing
            vq.eventTriggered = true;
            VirtioRing.virtqueueDisableCb(vq);
            assertThat(m.board.mem.readw(usedEvent)).isEqualTo(vq.lastUsedIdx());
        }
    }

    private static void postIndirect(Machine m, Virtqueue vq, int flags, long tableIova, int len) {
        m.board.mem.writeq(vq.desc, tableIova);
        m.board.mem.writel(vq.desc + 8, len);
        m.board.mem.writew(vq.desc + 12, flags);
        m.board.mem.writew(vq.desc + 14, 1);
        int idx = m.board.mem.readw(vq.avail + 2);
        m.board.mem.writew(vq.avail + 4 + 2L * (idx % vq.num), 0);
        m.board.mem.writew(vq.avail + 2, idx + 1);
        VirtioRing.virtqueueNotify(vq);
        m.board.irqs.quiesce();
    }

    private static long mappedTable(Machine m, VirtioDevice d, long[] pa) {
        pa[0] = m.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
        return m.virtio.dma.dmaMapSingle(d.parent, pa[0], 4096, DmaDataDirection.DMA_TO_DEVICE);
    }

    @Test
    void theDeviceRejectsIndirectWithNextABadTableLengthAndNestedTables() {
        record Case(String why, int flags, int len, boolean nested, String message) {}
        for (Case c : List.of(
                new Case("NEXT with INDIRECT", VirtioH.VRING_DESC_F_INDIRECT | VirtioH.VRING_DESC_F_NEXT, 16, false, "both INDIRECT and NEXT"),
                new Case("length 24", VirtioH.VRING_DESC_F_INDIRECT, 24, false, "invalid size 24 for indirect buffer table"),
                new Case("length 0", VirtioH.VRING_DESC_F_INDIRECT, 0, false, "invalid size 0"),
                new Case("nested", VirtioH.VRING_DESC_F_INDIRECT, 32, true, "nested indirect descriptor 1"))) {
            try (Machine m = Machine.bootRunB()) {
                VirtioDevice rng = m.virtio.devices.get(0);
                Virtqueue vq = rng.vqs.get(0);
                var proxy = m.virtioProxies.get(0x8);
                long[] pa = {0};
                long iova = mappedTable(m, rng, pa);
                long buf = m.virtio.dma.dmaMapSingle(rng.parent, m.pages.allocPage(Gfp.GFP_KERNEL), 4096, DmaDataDirection.DMA_FROM_DEVICE);
                // entry 0: a writable buffer, continuing to entry 1; entry 1: a writable buffer or (nested) another table
                m.board.mem.writeq(pa[0], buf);
                m.board.mem.writel(pa[0] + 8, 16);
                m.board.mem.writew(pa[0] + 12, VirtioH.VRING_DESC_F_WRITE | VirtioH.VRING_DESC_F_NEXT);
                m.board.mem.writew(pa[0] + 14, 1);
                m.board.mem.writeq(pa[0] + 16, c.nested() ? iova : buf + 16);
                m.board.mem.writel(pa[0] + 24, 16);
                m.board.mem.writew(pa[0] + 28, c.nested() ? VirtioH.VRING_DESC_F_INDIRECT : VirtioH.VRING_DESC_F_WRITE);
                int used = m.board.mem.readw(vq.used + 2);
                postIndirect(m, vq, c.flags(), iova, c.len());
                assertThat(proxy.status() & VirtioH.VIRTIO_CONFIG_S_NEEDS_RESET).as(c.why()).isNotZero();
                assertThat(proxy.lastError()).as(c.why()).contains(c.message());
                assertThat(m.board.mem.readw(vq.used + 2)).as(c.why()).isEqualTo(used);
            }
        }
    }

    @Test
    void theDeviceFollowsAHandMadeIndirectTableThroughTheSmmu() {
        try (Machine m = Machine.bootRunB()) {
            VirtioDevice rng = m.virtio.devices.get(0);
            Virtqueue vq = rng.vqs.get(0);
            long[] pa = {0};
            long iova = mappedTable(m, rng, pa);
            long bufPa = m.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
            long buf = m.virtio.dma.dmaMapSingle(rng.parent, bufPa, 4096, DmaDataDirection.DMA_FROM_DEVICE);
            m.board.mem.writeq(pa[0], buf);
            m.board.mem.writel(pa[0] + 8, 16);
            m.board.mem.writew(pa[0] + 12, VirtioH.VRING_DESC_F_WRITE | VirtioH.VRING_DESC_F_NEXT);
            m.board.mem.writew(pa[0] + 14, 1);
            m.board.mem.writeq(pa[0] + 16, buf + 2048);
            m.board.mem.writel(pa[0] + 24, 16);
            m.board.mem.writew(pa[0] + 28, VirtioH.VRING_DESC_F_WRITE);
            int used = m.board.mem.readw(vq.used + 2);
            var model = (org.iommu4j.pci.hw.virtio.VirtioRngModel) m.virtioProxies.get(0x8).device();
            int given = (int) model.bytesGiven();
            // WRITE on the descriptor naming the table is ignored (2.6.5.3.2)
            postIndirect(m, vq, VirtioH.VRING_DESC_F_INDIRECT | VirtioH.VRING_DESC_F_WRITE, iova, 32);
            assertThat(m.virtioProxies.get(0x8).lastError()).isNull();
            assertThat(m.board.mem.readw(vq.used + 2)).isEqualTo((used + 1) & 0xffff);
            long elem = vq.used + 4 + 8L * (used % vq.num);
            assertThat(m.board.mem.readl(elem)).isZero();
            assertThat(m.board.mem.readl(elem + 4)).isEqualTo(32);
            // the generator's next 16 bytes to the table's first buffer, the 16 after to its second
            byte[] want = org.iommu4j.pci.hw.virtio.VirtioRngModel.expected(0, given + 32);
            assertThat(m.board.mem.readBytes(bufPa, 16)).isEqualTo(java.util.Arrays.copyOfRange(want, given, given + 16));
            assertThat(m.board.mem.readBytes(bufPa + 2048, 16)).isEqualTo(java.util.Arrays.copyOfRange(want, given + 16, given + 32));
        }
    }
}
