package org.iommu4j.virtio;

import org.iommu4j.base.Port;

/**
 * {@code struct virtqueue} (include/linux/virtio.h) with drivers/virtio/virtio_ring.c's
 * {@code struct vring_virtqueue} and its split-ring part (v5.15) in one object, since only
 * virtio_ring.c sees the latter. The ring itself ({@code vring}: desc, avail, used) lives in
 * simulated RAM at the CPU addresses below; the device sees it at {@link #queueDmaAddr}.
 */
@Port("drivers/virtio/virtio_ring.c:vring_virtqueue")
public final class Virtqueue {
    /** struct vring_desc_extra: the DMA metadata of a descriptor, kept where the device cannot touch it. */
    static final class DescExtra {
        long addr;
        int len;
        int flags;
        int next;
    }

    /* struct virtqueue */
    public final int index;
    public final String name;
    public final VirtioDevice vdev;
    public final VirtioRing.VqCallback callback;
    public int numFree;
    /** The queue's notification address (vp_modern_map_vq_notify's answer). */
    public Object priv;

    /* struct vring_virtqueue */
    boolean weakBarriers;
    volatile boolean broken;
    boolean indirect;
    boolean event;
    /** Set by vring_interrupt under EVENT_IDX: disable_cb may skip its used_event write. */
    volatile boolean eventTriggered;
    int freeHead;
    int numAdded;
    int lastUsedIdx;
    boolean weOwnRing;
    boolean useDmaApi;
    final VirtioRing.VqNotify notify;

    /* the split ring: struct vring (CPU addresses), shadows, per-descriptor state */
    final int num;
    final long desc;
    final long avail;
    final long used;
    int availFlagsShadow;
    int availIdxShadow;
    final Object[] descStateData;
    /** vring_desc_state_split.indir_desc: the CPU address of the head's indirect table, or 0. */
    final long[] descStateIndirDesc;
    /** How many entries that table was allocated with (kfree needs no size; the page allocator does). */
    final int[] descStateIndirNum;
    final DescExtra[] descExtra;
    long queueDmaAddr;
    long queueSizeInBytes;

    Virtqueue(int index, String name, VirtioDevice vdev, VirtioRing.VqCallback callback, VirtioRing.VqNotify notify,
            int num, long desc, long avail, long used) {
        this.index = index;
        this.name = name;
        this.vdev = vdev;
        this.callback = callback;
        this.notify = notify;
        this.num = num;
        this.desc = desc;
        this.avail = avail;
        this.used = used;
        this.descStateData = new Object[num];
        this.descStateIndirDesc = new long[num];
        this.descStateIndirNum = new int[num];
        this.descExtra = new DescExtra[num];
    }

    /** Whether the ring went bad (BAD_RING, a failed notify). */
    public boolean broken() {
        return broken;
    }

    /** Whether buffers of more than one segment go through indirect tables (VIRTIO_RING_F_INDIRECT_DESC). */
    public boolean indirect() {
        return indirect;
    }

    /** Whether the event index is in use (VIRTIO_RING_F_EVENT_IDX). */
    public boolean event() {
        return event;
    }

    /** The head of the descriptor free list. */
    public int freeHead() {
        return freeHead;
    }

    /** The last used index the driver consumed. */
    public int lastUsedIdx() {
        return lastUsedIdx;
    }

    @Override
    public String toString() {
        return vdev.devName() + "-" + name;
    }
}
