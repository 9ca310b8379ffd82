package org.iommu4j.virtio;

import static org.iommu4j.base.Errno.EIO;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.dma.DmaDataDirection.DMA_FROM_DEVICE;
import static org.iommu4j.dma.DmaDataDirection.DMA_TO_DEVICE;
import static org.iommu4j.virtio.VirtioH.*;

import org.iommu4j.base.Gfp;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.IrqHandler;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.dma.DmaMapping;
import org.iommu4j.dma.Scatterlist;

/**
 * drivers/virtio/virtio_ring.c (v5.15), the split ring: creating a virtqueue in DMA-coherent
 * memory, adding buffers (each scatterlist entry mapped with the DMA API when
 * {@link #vringUseDmaApi} says so), kicking, taking used buffers back (detach unmaps them),
 * callbacks on/off, and the interrupt handler.
 *
 * <p>The ring's memory is written and read by the CPU here through {@link PhysMem} at its
 * CPU address (the linear map: CPU address == physical address in this simulation) and by the
 * device at {@link Virtqueue#queueDmaAddr}, an IOVA when the device sits behind an IOMMU.
 * The barriers sit where v5.15 puts them ({@link #virtioWmb}, {@link #virtioRmb},
 * {@link #virtioMb}, {@link #virtioStoreMb}): Java fences, since the device model may run on
 * another thread.
 *
 * <p>Indirect descriptor tables (VIRTIO_RING_F_INDIRECT_DESC) and the event index
 * (VIRTIO_RING_F_EVENT_IDX) are used as v5.15 uses them: a buffer of more than one segment
 * goes in a table of its own, mapped with dma_map_single and unmapped when detached; kicks and
 * interrupts follow avail_event/used_event. The table comes from the page allocator (the
 * simulation has no slab whose memory a device can read), one page per table.
 *
 * <p>Not ported: the packed ring (VIRTIO_F_RING_PACKED is not negotiated), vring_new_virtqueue
 * with a caller-owned ring, virtqueue_enable_cb_delayed and detach_unused_buf (no driver here
 * calls them), virtqueue resize/reset (later kernels).
 */
public final class VirtioRing {
    private VirtioRing() {}

    /** {@code vq_callback_t}. */
    @FunctionalInterface
    public interface VqCallback {
        void call(Virtqueue vq);
    }

    /** The transport's notify hook ({@code bool (*notify)(struct virtqueue *)}). */
    @FunctionalInterface
    public interface VqNotify {
        boolean notify(Virtqueue vq);
    }

    private static PhysMem mem(Virtqueue vq) {
        return vq.vdev.virtio.mem;
    }

    private static DmaMapping dma(Virtqueue vq) {
        return vq.vdev.virtio.dma;
    }

    /* ---------------- barriers and event index (include/linux/virtio_ring.h, uapi) ---------------- */

    /** Orders the CPU's ring stores before the ones that publish them (dma_wmb or, strong, wmb). */
    @Port("include/linux/virtio_ring.h:virtio_wmb")
    static void virtioWmb(boolean weakBarriers) {
        java.lang.invoke.VarHandle.storeStoreFence();
    }

    /** Orders the read of an index before the reads of what it publishes (dma_rmb or rmb). */
    @Port("include/linux/virtio_ring.h:virtio_rmb")
    static void virtioRmb(boolean weakBarriers) {
        java.lang.invoke.VarHandle.loadLoadFence();
    }

    /** Full barrier: a store (an index the device reads) before a later load (its event index). */
    @Port("include/linux/virtio_ring.h:virtio_mb")
    static void virtioMb(boolean weakBarriers) {
        java.lang.invoke.VarHandle.fullFence();
    }

    /** Stores a 16-bit ring field, then a full barrier (virt_store_mb / smp_store_mb). */
    @Port("include/linux/virtio_ring.h:virtio_store_mb")
    static void virtioStoreMb(boolean weakBarriers, PhysMem m, long p, int v) {
        m.writew(p, v);
        java.lang.invoke.VarHandle.fullFence();
    }

    /**
     * Whether moving an index from {@code old} to {@code newIdx} crosses {@code eventIdx}, the
     * other side's event index: (u16)(new - event - 1) &lt; (u16)(new - old).
     */
    @Port("include/uapi/linux/virtio_ring.h:vring_need_event")
    public static boolean vringNeedEvent(int eventIdx, int newIdx, int old) {
        return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - old) & 0xffff);
    }

    /** Where used_event lives: after the available ring (avail->ring[num]). */
    @Port("include/uapi/linux/virtio_ring.h:vring_used_event")
    static long vringUsedEvent(Virtqueue vq) {
        return vq.avail + 4 + 2L * vq.num;
    }

    /** Where avail_event lives: after the used ring (used->ring[num], a u16). */
    @Port("include/uapi/linux/virtio_ring.h:vring_avail_event")
    static long vringAvailEvent(Virtqueue vq) {
        return vq.used + 4 + (long) VRING_USED_ELEM_SIZE * vq.num;
    }

    /* ---------------- helpers ---------------- */

    /**
     * Whether this buffer goes through an indirect table: the device takes them, the buffer
     * has more than one segment, and at least one ring descriptor is free (v5.15's fixed rule).
     */
    @Port("drivers/virtio/virtio_ring.c:virtqueue_use_indirect")
    static boolean virtqueueUseIndirect(Virtqueue vq, int totalSg) {
        return vq.indirect && totalSg > 1 && vq.numFree != 0;
    }

    /**
     * Whether the ring and buffers must be given to the device as DMA addresses: always, unless
     * the device has the DMA quirk (no ACCESS_PLATFORM), in which case (not Xen) it takes
     * physical addresses and bypasses any IOMMU.
     */
    @Port("drivers/virtio/virtio_ring.c:vring_use_dma_api")
    public static boolean vringUseDmaApi(VirtioDevice vdev) {
        if (!Virtio.virtioHasDmaQuirk(vdev)) {
            return true;
        }
        // xen_domain(): never here
        return false;
    }

    /** The device the DMA API maps for: the transport's (vdev->dev.parent). */
    @Port("drivers/virtio/virtio_ring.c:vring_dma_dev")
    static Device vringDmaDev(Virtqueue vq) {
        return vq.vdev.parent;
    }

    @Port("drivers/virtio/virtio_ring.c:vring_map_one_sg")
    private static long vringMapOneSg(Virtqueue vq, Scatterlist sg, int direction) {
        if (!vq.useDmaApi) {
            return sg.sgPhys();
        }
        return dma(vq).dmaMapPage(vringDmaDev(vq), sg.page, sg.offset, sg.length, direction);
    }

    /** Maps a kernel buffer (an indirect table) for the device, or gives its physical address without the DMA API. */
    @Port("drivers/virtio/virtio_ring.c:vring_map_single")
    private static long vringMapSingle(Virtqueue vq, long cpuAddr, long size, int direction) {
        if (!vq.useDmaApi) {
            return cpuAddr; // virt_to_phys: the linear map
        }
        return dma(vq).dmaMapSingle(vringDmaDev(vq), cpuAddr, size, direction);
    }

    @Port("drivers/virtio/virtio_ring.c:vring_mapping_error")
    private static boolean vringMappingError(Virtqueue vq, long addr) {
        if (!vq.useDmaApi) {
            return false;
        }
        return DmaMapping.dmaMappingError(vringDmaDev(vq), addr) != 0;
    }

    /* ---------------- split ring layout (include/uapi/linux/virtio_ring.h) ---------------- */

    @Port("include/uapi/linux/virtio_ring.h:vring_size")
    public static long vringSize(int num, long align) {
        return ((VRING_DESC_SIZE * (long) num + 2L * (3 + num) + align - 1) & ~(align - 1))
                + 2L * 3 + (long) VRING_USED_ELEM_SIZE * num;
    }

    /* ---------------- split ring ---------------- */

    @Port("drivers/virtio/virtio_ring.c:vring_unmap_one_split")
    private static int vringUnmapOneSplit(Virtqueue vq, int i) {
        Virtqueue.DescExtra extra = vq.descExtra[i];
        if (vq.useDmaApi) {
            int flags = extra.flags;
            int dir = (flags & VRING_DESC_F_WRITE) != 0 ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
            if ((flags & VRING_DESC_F_INDIRECT) != 0) {
                dma(vq).dmaUnmapSingle(vringDmaDev(vq), extra.addr, extra.len, dir);
            } else {
                dma(vq).dmaUnmapPage(vringDmaDev(vq), extra.addr, extra.len, dir);
            }
        }
        return extra.next;
    }

    /** Unmaps what an indirect table's entry {@code d} (its CPU address) describes, from the entry itself. */
    @Port("drivers/virtio/virtio_ring.c:vring_unmap_one_split_indirect")
    private static void vringUnmapOneSplitIndirect(Virtqueue vq, long d) {
        if (!vq.useDmaApi) {
            return;
        }
        PhysMem m = mem(vq);
        int flags = m.readw(d + 12);
        long addr = m.readq(d);
        int len = m.readl(d + 8);
        int dir = (flags & VRING_DESC_F_WRITE) != 0 ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
        if ((flags & VRING_DESC_F_INDIRECT) != 0) {
            dma(vq).dmaUnmapSingle(vringDmaDev(vq), addr, Integer.toUnsignedLong(len), dir);
        } else {
            dma(vq).dmaUnmapPage(vringDmaDev(vq), addr, Integer.toUnsignedLong(len), dir);
        }
    }

    /**
     * An indirect table of {@code totalSg} descriptors (kmalloc_array), each {@code next} already
     * pointing at the following one; its CPU address, or 0 when the allocation fails (the caller
     * then falls back to the ring's own descriptors).
     */
    @Port("drivers/virtio/virtio_ring.c:alloc_indirect_split")
    private static long allocIndirectSplit(Virtqueue vq, int totalSg, int gfp) {
        // lowmem only (gfp &= ~__GFP_HIGHMEM): all of this machine's memory is
        if (org.iommu4j.base.Slab.kmallocShouldFail(gfp)) {
            return 0;
        }
        long desc = dma(vq).pageAlloc().allocPages(gfp & ~Gfp.__GFP_ZERO,
                DmaMapping.getOrder((long) totalSg * VRING_DESC_SIZE));
        if (desc == 0) {
            return 0;
        }
        PhysMem m = mem(vq);
        for (int i = 0; i < totalSg; i++) {
            m.writew(desc + (long) VRING_DESC_SIZE * i + 14, i + 1);
        }
        return desc;
    }

    private static void kfreeIndirect(Virtqueue vq, long desc, int totalSg) {
        dma(vq).pageAlloc().freePages(desc, DmaMapping.getOrder((long) totalSg * VRING_DESC_SIZE));
    }

    private static long descAddr(Virtqueue vq, int i) {
        return vq.desc + (long) VRING_DESC_SIZE * i;
    }

    /**
     * Writes descriptor {@code i} of the table at {@code desc} (the ring's or an indirect one):
     * addr, len, flags; in the ring also {@code next} from the free list and the extra state.
     * Returns the next index.
     */
    @Port("drivers/virtio/virtio_ring.c:virtqueue_add_desc_split")
    private static int virtqueueAddDescSplit(Virtqueue vq, long desc, int i, long addr, int len, int flags, boolean indirect) {
        PhysMem m = mem(vq);
        long d = desc + (long) VRING_DESC_SIZE * i;
        m.writew(d + 12, flags);
        m.writeq(d, addr);
        m.writel(d + 8, len);
        int next;
        if (!indirect) {
            Virtqueue.DescExtra extra = vq.descExtra[i];
            next = extra.next;
            m.writew(d + 14, next);
            extra.addr = addr;
            extra.len = len;
            extra.flags = flags;
        } else {
            next = m.readw(d + 14);
        }
        return next;
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_add_split")
    private static int virtqueueAddSplit(Virtqueue vq, Scatterlist[][] sgs, int totalSg, int outSgs, int inSgs, Object data,
            Object ctx, int gfp) {
        if (data == null) {
            throw new IllegalArgumentException("BUG_ON(data == NULL)");
        }
        if (ctx != null && vq.indirect) {
            throw new IllegalArgumentException("BUG_ON(ctx && vq->indirect)");
        }
        if (vq.broken) {
            return -EIO;
        }
        if (totalSg == 0) {
            throw new IllegalArgumentException("BUG_ON(total_sg == 0)");
        }
        int head = vq.freeHead;
        long desc;
        if (virtqueueUseIndirect(vq, totalSg)) {
            desc = allocIndirectSplit(vq, totalSg, gfp);
        } else {
            desc = 0;
            org.iommu4j.base.Warn.WARN_ON_ONCE(totalSg > vq.num && !vq.indirect);
        }
        boolean indirect;
        int i;
        int descsUsed;
        if (desc != 0) {
            // the ring gets one descriptor, naming the table that holds the chain
            indirect = true;
            i = 0;
            descsUsed = 1;
        } else {
            indirect = false;
            desc = vq.desc;
            i = head;
            descsUsed = totalSg;
        }
        if (vq.numFree < descsUsed) {
            Printk.prDebug("Can't add buf len %d - avail = %d", descsUsed, vq.numFree);
            // v5.15 notifies the device even on this failure when the buffer has device-readable parts
            if (outSgs != 0) {
                vq.notify.notify(vq);
            }
            if (indirect) {
                kfreeIndirect(vq, desc, totalSg);
            }
            return -ENOSPC;
        }
        int prev = i;
        int n;
        boolean failed = false;
        outer:
        for (n = 0; n < outSgs + inSgs; n++) {
            boolean out = n < outSgs;
            for (Scatterlist sg : sgs[n]) {
                long addr = vringMapOneSg(vq, sg, out ? DMA_TO_DEVICE : DMA_FROM_DEVICE);
                if (vringMappingError(vq, addr)) {
                    failed = true;
                    break outer;
                }
                prev = i;
                // the indirect table is trusted: it is mapped for streaming DMA (to the device only)
                i = virtqueueAddDescSplit(vq, desc, i, addr, sg.length,
                        out ? VRING_DESC_F_NEXT : VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, indirect);
            }
        }
        PhysMem m = mem(vq);
        if (!failed) {
            // clear NEXT on the chain's last descriptor
            long d = desc + (long) VRING_DESC_SIZE * prev;
            m.writew(d + 12, m.readw(d + 12) & ~VRING_DESC_F_NEXT);
            if (!indirect && vq.useDmaApi) {
                vq.descExtra[prev & (vq.num - 1)].flags &= ~VRING_DESC_F_NEXT;
            }
            if (indirect) {
                // the table is complete: map it for the device
                long addr = vringMapSingle(vq, desc, (long) totalSg * VRING_DESC_SIZE, DMA_TO_DEVICE);
                if (vringMappingError(vq, addr)) {
                    failed = true;
                } else {
                    virtqueueAddDescSplit(vq, vq.desc, head, addr, totalSg * VRING_DESC_SIZE, VRING_DESC_F_INDIRECT, false);
                }
            }
        }
        if (failed) {
            // unmap_release: what was mapped so far, from the head (or the table's first entry)
            int errIdx = i;
            i = indirect ? 0 : head;
            for (n = 0; n < totalSg; n++) {
                if (i == errIdx) {
                    break;
                }
                if (indirect) {
                    long d = desc + (long) VRING_DESC_SIZE * i;
                    vringUnmapOneSplitIndirect(vq, d);
                    i = m.readw(d + 14);
                } else {
                    i = vringUnmapOneSplit(vq, i);
                }
            }
            if (indirect) {
                kfreeIndirect(vq, desc, totalSg);
            }
            return -ENOMEM;
        }
        // the descriptors leave the free count
        vq.numFree -= descsUsed;
        // new free-list head: past the table's single slot, or where the chain ended
        if (indirect) {
            vq.freeHead = vq.descExtra[head].next;
        } else {
            vq.freeHead = i;
        }
        // the caller's token, and the table detach must free
        vq.descStateData[head] = data;
        vq.descStateIndirDesc[head] = indirect ? desc : 0;
        vq.descStateIndirNum[head] = indirect ? totalSg : 0;
        // head into the next avail->ring slot; the device sees it once avail->idx moves
        int avail = vq.availIdxShadow & (vq.num - 1);
        m.writew(vq.avail + 4 + 2L * avail, head);
        // descriptors and the slot before the new avail->idx
        virtioWmb(vq.weakBarriers);
        vq.availIdxShadow = (vq.availIdxShadow + 1) & 0xffff;
        m.writew(vq.avail + 2, vq.availIdxShadow);
        vq.numAdded++;
        // 0xffff adds since the last kick would overflow kick_prepare's 16-bit window: kick now
        if (vq.numAdded == (1 << 16) - 1) {
            virtqueueKick(vq);
        }
        return 0;
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_kick_prepare_split")
    private static boolean virtqueueKickPrepareSplit(Virtqueue vq) {
        // store of avail->idx before the load of avail_event or used->flags
        virtioMb(vq.weakBarriers);
        int old = (vq.availIdxShadow - vq.numAdded) & 0xffff;
        int nw = vq.availIdxShadow;
        vq.numAdded = 0;
        if (vq.event) {
            return vringNeedEvent(mem(vq).readw(vringAvailEvent(vq)), nw, old);
        }
        return (mem(vq).readw(vq.used) & VRING_USED_F_NO_NOTIFY) == 0;
    }

    @Port("drivers/virtio/virtio_ring.c:detach_buf_split")
    private static void detachBufSplit(Virtqueue vq, int head) {
        // the head is no longer in flight
        vq.descStateData[head] = null;
        // unmap each ring descriptor of the chain and count it free, up to the last one
        int i = head;
        PhysMem m = mem(vq);
        while ((m.readw(descAddr(vq, i) + 12) & VRING_DESC_F_NEXT) != 0) {
            vringUnmapOneSplit(vq, i);
            i = vq.descExtra[i].next;
            vq.numFree++;
        }
        vringUnmapOneSplit(vq, i);
        vq.descExtra[i].next = vq.freeHead;
        vq.freeHead = head;
        // the last descriptor too
        vq.numFree++;
        if (vq.indirect) {
            long indirDesc = vq.descStateIndirDesc[head];
            // an indirect head also owns a table: unmap its entries, then free it
            if (indirDesc == 0) {
                return;
            }
            int len = vq.descExtra[head].len;
            if ((vq.descExtra[head].flags & VRING_DESC_F_INDIRECT) == 0 || len == 0 || len % VRING_DESC_SIZE != 0) {
                throw new IllegalStateException("BUG_ON: indirect head " + head + " flags " + vq.descExtra[head].flags + " len " + len);
            }
            for (int j = 0; j < len / VRING_DESC_SIZE; j++) {
                vringUnmapOneSplitIndirect(vq, indirDesc + (long) VRING_DESC_SIZE * j);
            }
            kfreeIndirect(vq, indirDesc, vq.descStateIndirNum[head]);
            vq.descStateIndirDesc[head] = 0;
            vq.descStateIndirNum[head] = 0;
        }
    }

    @Port("drivers/virtio/virtio_ring.c:more_used_split")
    private static boolean moreUsedSplit(Virtqueue vq) {
        return vq.lastUsedIdx != mem(vq).readw(vq.used + 2);
    }

    @Port("drivers/virtio/virtio_ring.c:BAD_RING")
    private static void badRing(Virtqueue vq, String msg) {
        DevPrintk.devErr(vq.vdev, "%s:%s", vq.name, msg);
        vq.broken = true;
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_get_buf_ctx_split")
    private static Object virtqueueGetBufCtxSplit(Virtqueue vq, int[] len) {
        if (vq.broken) {
            return null;
        }
        if (!moreUsedSplit(vq)) {
            Printk.prDebug("No more buffers in queue");
            return null;
        }
        // load of used->idx before the loads of the element it publishes
        virtioRmb(vq.weakBarriers);
        PhysMem m = mem(vq);
        int lastUsed = vq.lastUsedIdx & (vq.num - 1);
        long elem = vq.used + 4 + (long) VRING_USED_ELEM_SIZE * lastUsed;
        int i = m.readl(elem);
        len[0] = m.readl(elem + 4);
        if (Integer.compareUnsigned(i, vq.num) >= 0) {
            badRing(vq, "id " + Integer.toUnsignedLong(i) + " out of range");
            return null;
        }
        if (vq.descStateData[i] == null) {
            badRing(vq, "id " + i + " is not a head!");
            return null;
        }
        // take the token before detach_buf_split clears it
        Object ret = vq.descStateData[i];
        detachBufSplit(vq, i);
        vq.lastUsedIdx = (vq.lastUsedIdx + 1) & 0xffff;
        // callbacks on: used_event = next index to consume, fenced before the next get_buf's loads
        if ((vq.availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) == 0) {
            virtioStoreMb(vq.weakBarriers, m, vringUsedEvent(vq), vq.lastUsedIdx);
        }
        return ret;
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_disable_cb_split")
    private static void virtqueueDisableCbSplit(Virtqueue vq) {
        if ((vq.availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) == 0) {
            vq.availFlagsShadow |= VRING_AVAIL_F_NO_INTERRUPT;
            if (vq.event) {
                // v5.15 parks used_event at 0: the device rarely crosses it, so interrupts mostly stop
                mem(vq).writew(vringUsedEvent(vq), 0);
            } else {
                mem(vq).writew(vq.avail, vq.availFlagsShadow);
            }
        }
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_enable_cb_prepare_split")
    private static int virtqueueEnableCbPrepareSplit(Virtqueue vq) {
        if ((vq.availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) != 0) {
            vq.availFlagsShadow &= ~VRING_AVAIL_F_NO_INTERRUPT;
            if (!vq.event) {
                mem(vq).writew(vq.avail, vq.availFlagsShadow);
            }
        }
        // used_event = next index to consume, written whether or not EVENT_IDX is in use (v5.15 does not branch)
        int lastUsedIdx = vq.lastUsedIdx;
        mem(vq).writew(vringUsedEvent(vq), lastUsedIdx);
        return lastUsedIdx;
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_poll_split")
    private static boolean virtqueuePollSplit(Virtqueue vq, int lastUsedIdx) {
        return lastUsedIdx != mem(vq).readw(vq.used + 2);
    }

    /** Allocates the ring: DMA-coherent memory when the DMA API is used, else plain pages. CPU address or 0. */
    @Port("drivers/virtio/virtio_ring.c:vring_alloc_queue")
    private static long vringAllocQueue(VirtioDevice vdev, long size, long[] dmaHandle, int flag) {
        if (vringUseDmaApi(vdev)) {
            return vdev.virtio.dma.dmaAllocCoherent(vdev.parent, size, dmaHandle, flag);
        }
        long queue = vdev.virtio.dma.pageAlloc().allocPages(flag, DmaMapping.getOrder(size));
        if (queue != 0) {
            dmaHandle[0] = queue; // virt_to_phys: the device takes physical addresses
        }
        return queue;
    }

    @Port("drivers/virtio/virtio_ring.c:vring_free_queue")
    private static void vringFreeQueue(VirtioDevice vdev, long size, long queue, long dmaHandle) {
        if (vringUseDmaApi(vdev)) {
            vdev.virtio.dma.dmaFreeCoherent(vdev.parent, size, queue, dmaHandle);
        } else {
            vdev.virtio.dma.pageAlloc().freePages(queue, DmaMapping.getOrder(size));
        }
    }

    @Port("drivers/virtio/virtio_ring.c:vring_create_virtqueue_split")
    private static Virtqueue vringCreateVirtqueueSplit(int index, int num, int vringAlign, VirtioDevice vdev,
            boolean weakBarriers, boolean mayReduceNum, boolean context, VqNotify notify, VqCallback callback, String name) {
        // split rings need a power-of-two size
        if ((num & (num - 1)) != 0) {
            DevPrintk.devWarn(vdev, "Bad virtqueue length %d", num);
            return null;
        }
        long queue = 0;
        long[] dmaAddr = {0};
        // v5.15 allocates the ring in one piece: while it is over a page and the allocation fails, halve num (if allowed)
        for (; num != 0 && vringSize(num, vringAlign) > 4096; num /= 2) {
            queue = vringAllocQueue(vdev, vringSize(num, vringAlign), dmaAddr,
                    Gfp.GFP_KERNEL | Gfp.__GFP_NOWARN | Gfp.__GFP_ZERO);
            if (queue != 0) {
                break;
            }
            if (!mayReduceNum) {
                return null;
            }
        }
        if (num == 0) {
            return null;
        }
        if (queue == 0) {
            // last try: the size that fits a page, this time with allocation warnings
            queue = vringAllocQueue(vdev, vringSize(num, vringAlign), dmaAddr, Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
        }
        if (queue == 0) {
            return null;
        }
        long queueSizeInBytes = vringSize(num, vringAlign);
        // vring_init
        long desc = queue;
        long avail = queue + (long) VRING_DESC_SIZE * num;
        long used = (avail + 4 + 2L * num + 2 + vringAlign - 1) & ~((long) vringAlign - 1);
        Virtqueue vq = __vringNewVirtqueue(index, num, desc, avail, used, vdev, weakBarriers, context, notify, callback, name);
        vq.queueDmaAddr = dmaAddr[0];
        vq.queueSizeInBytes = queueSizeInBytes;
        vq.weOwnRing = true;
        return vq;
    }

    /** The free list through desc_extra: 0 -> 1 -> ... -> num-1 -> 0 (the last entry stays zeroed). */
    @Port("drivers/virtio/virtio_ring.c:vring_alloc_desc_extra")
    private static void vringAllocDescExtra(Virtqueue vq, int num) {
        for (int i = 0; i < num; i++) {
            vq.descExtra[i] = new Virtqueue.DescExtra();
        }
        for (int i = 0; i < num - 1; i++) {
            vq.descExtra[i].next = i + 1;
        }
    }

    @Port("drivers/virtio/virtio_ring.c:__vring_new_virtqueue")
    static Virtqueue __vringNewVirtqueue(int index, int num, long desc, long avail, long used, VirtioDevice vdev,
            boolean weakBarriers, boolean context, VqNotify notify, VqCallback callback, String name) {
        Virtqueue vq = new Virtqueue(index, name, vdev, callback, notify, num, desc, avail, used);
        vq.numFree = num;
        vq.weakBarriers = weakBarriers;
        vq.broken = false;
        vq.lastUsedIdx = 0;
        vq.numAdded = 0;
        vq.useDmaApi = vringUseDmaApi(vdev);
        vq.eventTriggered = false;
        vq.indirect = Virtio.virtioHasFeature(vdev, VIRTIO_RING_F_INDIRECT_DESC) && !context;
        vq.event = Virtio.virtioHasFeature(vdev, VIRTIO_RING_F_EVENT_IDX);
        if (Virtio.virtioHasFeature(vdev, VIRTIO_F_ORDER_PLATFORM)) {
            vq.weakBarriers = false;
        }
        vq.availFlagsShadow = 0;
        vq.availIdxShadow = 0;
        // no callback: ask the device not to interrupt (the flag is written only without EVENT_IDX)
        if (callback == null) {
            vq.availFlagsShadow |= VRING_AVAIL_F_NO_INTERRUPT;
            if (!vq.event) {
                vdev.virtio.mem.writew(avail, vq.availFlagsShadow);
            }
        }
        vringAllocDescExtra(vq, num);
        // every descriptor free, chained from 0
        vq.freeHead = 0;
        vdev.vqs.add(vq);
        return vq;
    }

    /* ---------------- the API ---------------- */

    /** Creates a virtqueue with its ring allocated here (in DMA-coherent memory with the DMA API); null on failure. */
    @Port("drivers/virtio/virtio_ring.c:vring_create_virtqueue")
    public static Virtqueue vringCreateVirtqueue(int index, int num, int vringAlign, VirtioDevice vdev, boolean weakBarriers,
            boolean mayReduceNum, boolean context, VqNotify notify, VqCallback callback, String name) {
        // virtio_has_feature(vdev, VIRTIO_F_RING_PACKED): never negotiated here (vring_transport_features keeps it, no device offers it)
        return vringCreateVirtqueueSplit(index, num, vringAlign, vdev, weakBarriers, mayReduceNum, context, notify, callback, name);
    }

    /** Marks every queue of {@code dev} broken: adds, kicks and get_buf fail from now on. */
    @Port("drivers/virtio/virtio_ring.c:virtio_break_device")
    public static void virtioBreakDevice(VirtioDevice dev) {
        // vqs_list_lock: the list is copy-on-write; the volatile write pairs with virtqueue_is_broken's read
        for (Virtqueue vq : dev.vqs) {
            vq.broken = true;
        }
    }

    @Port("drivers/virtio/virtio_ring.c:vring_del_virtqueue")
    public static void vringDelVirtqueue(Virtqueue vq) {
        if (vq.weOwnRing) {
            vringFreeQueue(vq.vdev, vq.queueSizeInBytes, vq.desc, vq.queueDmaAddr);
        }
        vq.vdev.vqs.remove(vq);
    }

    /**
     * Exposes {@code sgs} to the device: {@code outSgs} device-readable lists, then {@code inSgs}
     * device-writable ones, {@code data} the token get_buf returns. 0, -ENOSPC (no room), -ENOMEM
     * (a DMA mapping failed; what was mapped is unmapped), -EIO (the ring is broken).
     */
    @Port("drivers/virtio/virtio_ring.c:virtqueue_add_sgs")
    public static int virtqueueAddSgs(Virtqueue vq, Scatterlist[][] sgs, int outSgs, int inSgs, Object data, int gfp) {
        int totalSg = 0;
        for (int i = 0; i < outSgs + inSgs; i++) {
            totalSg += sgs[i].length;
        }
        return virtqueueAddSplit(vq, sgs, totalSg, outSgs, inSgs, data, null, gfp);
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_add_outbuf")
    public static int virtqueueAddOutbuf(Virtqueue vq, Scatterlist[] sg, int num, Object data, int gfp) {
        return virtqueueAddSplit(vq, new Scatterlist[][] {java.util.Arrays.copyOf(sg, num)}, num, 1, 0, data, null, gfp);
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_add_inbuf")
    public static int virtqueueAddInbuf(Virtqueue vq, Scatterlist[] sg, int num, Object data, int gfp) {
        return virtqueueAddSplit(vq, new Scatterlist[][] {java.util.Arrays.copyOf(sg, num)}, num, 0, 1, data, null, gfp);
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_kick_prepare")
    public static boolean virtqueueKickPrepare(Virtqueue vq) {
        return virtqueueKickPrepareSplit(vq);
    }

    /** Notifies the device; false (and the ring broken) if the transport's notify failed. */
    @Port("drivers/virtio/virtio_ring.c:virtqueue_notify")
    public static boolean virtqueueNotify(Virtqueue vq) {
        if (vq.broken) {
            return false;
        }
        // the transport's doorbell
        if (!vq.notify.notify(vq)) {
            vq.broken = true;
            return false;
        }
        return true;
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_kick")
    public static boolean virtqueueKick(Virtqueue vq) {
        if (virtqueueKickPrepare(vq)) {
            return virtqueueNotify(vq);
        }
        return true;
    }

    /** The next used buffer's token, its written length in {@code len[0]}; null if none (or the ring is broken). */
    @Port("drivers/virtio/virtio_ring.c:virtqueue_get_buf")
    public static Object virtqueueGetBuf(Virtqueue vq, int[] len) {
        return virtqueueGetBufCtxSplit(vq, len);
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_disable_cb")
    public static void virtqueueDisableCb(Virtqueue vq) {
        // under EVENT_IDX a device that just interrupted stays quiet until used_event moves: nothing to write
        if (vq.eventTriggered) {
            return;
        }
        virtqueueDisableCbSplit(vq);
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_enable_cb_prepare")
    public static int virtqueueEnableCbPrepare(Virtqueue vq) {
        if (vq.eventTriggered) {
            vq.eventTriggered = false;
        }
        return virtqueueEnableCbPrepareSplit(vq);
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_poll")
    public static boolean virtqueuePoll(Virtqueue vq, int lastUsedIdx) {
        if (vq.broken) {
            return false;
        }
        virtioMb(vq.weakBarriers);
        return virtqueuePollSplit(vq, lastUsedIdx);
    }

    /** Re-enables callbacks; false if buffers arrived meanwhile (the caller must process them). */
    @Port("drivers/virtio/virtio_ring.c:virtqueue_enable_cb")
    public static boolean virtqueueEnableCb(Virtqueue vq) {
        int lastUsedIdx = virtqueueEnableCbPrepare(vq);
        return !virtqueuePoll(vq, lastUsedIdx);
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_is_broken")
    public static boolean virtqueueIsBroken(Virtqueue vq) {
        return vq.broken;
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_get_vring_size")
    public static int virtqueueGetVringSize(Virtqueue vq) {
        return vq.num;
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_get_desc_addr")
    public static long virtqueueGetDescAddr(Virtqueue vq) {
        return vq.queueDmaAddr;
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_get_avail_addr")
    public static long virtqueueGetAvailAddr(Virtqueue vq) {
        return vq.queueDmaAddr + (vq.avail - vq.desc);
    }

    @Port("drivers/virtio/virtio_ring.c:virtqueue_get_used_addr")
    public static long virtqueueGetUsedAddr(Virtqueue vq) {
        return vq.queueDmaAddr + (vq.used - vq.desc);
    }

    /** The interrupt handler of a queue's vector: its callback if the device used buffers. */
    @Port("drivers/virtio/virtio_ring.c:vring_interrupt")
    public static int vringInterrupt(int irq, Virtqueue vq) {
        if (!moreUsedSplit(vq)) {
            Printk.prDebug("virtqueue interrupt with no work for %s", vq);
            return IrqHandler.IRQ_NONE;
        }
        if (vq.broken) {
            return IrqHandler.IRQ_HANDLED;
        }
        // a hint for disable_cb; racing with it costs at most one needless used_event write
        if (vq.event) {
            vq.eventTriggered = true;
        }
        if (vq.callback != null) {
            vq.callback.call(vq);
        }
        return IrqHandler.IRQ_HANDLED;
    }

    /** Keeps the transport features this ring implementation supports, clears the others. */
    @Port("drivers/virtio/virtio_ring.c:vring_transport_features")
    public static void vringTransportFeatures(VirtioDevice vdev) {
        for (int i = VIRTIO_TRANSPORT_F_START; i < VIRTIO_TRANSPORT_F_END; i++) {
            switch (i) {
                case VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX, VIRTIO_F_VERSION_1, VIRTIO_F_ACCESS_PLATFORM,
                        VIRTIO_F_RING_PACKED, VIRTIO_F_ORDER_PLATFORM:
                    break;
                default:
                    // a transport feature this ring does not handle: cleared before negotiation
                    Virtio.__virtioClearBit(vdev, i);
            }
        }
    }
}
