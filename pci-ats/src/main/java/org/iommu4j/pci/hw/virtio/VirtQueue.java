package org.iommu4j.pci.hw.virtio;

import static org.iommu4j.base.hw.DmaTransaction.ACC_READ;
import static org.iommu4j.base.hw.DmaTransaction.ACC_WRITE;
import static org.iommu4j.base.hw.DmaTransaction.NO_SSID;
import static org.iommu4j.pci.hw.virtio.VirtioSpec.*;

import java.util.Locale;
import org.iommu4j.pci.hw.PciEndpointModel;

/**
 * The device's side of one split virtqueue (virtio 1.1 section 2.6; QEMU hw/virtio/virtio.c's
 * VirtQueue): the three areas' bus addresses the driver gave, the device's own
 * {@code last_avail_idx} and used index. Every access to the rings and buffers is a DMA of the
 * function through its upstream port, so through the IOMMU: an address the IOMMU does not map
 * is its fault (an event), and the device reports a {@link VirtioError}.
 *
 * <p>Checks, each a {@link VirtioError} as QEMU's virtqueue_pop raises them: the available
 * index moving more than the queue size ahead, a head or {@code next} index beyond the queue,
 * a chain longer than the queue (a loop), a zero-length buffer, a device-readable descriptor
 * after a device-writable one (2.6.4.2), an INDIRECT descriptor (the feature is not offered).
 * Without EVENT_IDX, notifications follow the available ring's NO_INTERRUPT flag (2.6.7).
 */
public final class VirtQueue {
    /** A buffer chain taken from the available ring (QEMU's VirtQueueElement). */
    public static final class Element {
        public final int head;
        final long[] addr;
        final int[] len;
        final boolean[] write;
        final int n;

        Element(int head, long[] addr, int[] len, boolean[] write, int n) {
            this.head = head;
            this.addr = addr;
            this.len = len;
            this.write = write;
            this.n = n;
        }

        /** Total bytes of the device-readable (out) or device-writable (in) descriptors. */
        public long bytes(boolean writable) {
            long s = 0;
            for (int i = 0; i < n; i++) {
                if (write[i] == writable) {
                    s += Integer.toUnsignedLong(len[i]);
                }
            }
            return s;
        }

        public int segments(boolean writable) {
            int c = 0;
            for (int i = 0; i < n; i++) {
                c += write[i] == writable ? 1 : 0;
            }
            return c;
        }
    }

    final int index;
    final int maxSize;
    private final PciEndpointModel ep;
    int num;
    long desc;
    long avail;
    long used;
    boolean enabled;
    int vector = VIRTIO_MSI_NO_VECTOR;
    private int lastAvailIdx;
    private int usedIdx;
    private final byte[] scratch = new byte[VIRTQ_DESC_SIZE];

    VirtQueue(PciEndpointModel ep, int index, int maxSize) {
        this.ep = ep;
        this.index = index;
        this.maxSize = maxSize;
        reset();
    }

    void reset() {
        num = maxSize;
        desc = avail = used = 0;
        enabled = false;
        vector = VIRTIO_MSI_NO_VECTOR;
        lastAvailIdx = 0;
        usedIdx = 0;
    }

    public int index() {
        return index;
    }

    private void dma(long addr, byte[] b, int off, int len, int access, String what) {
        int ret = ep.dma(NO_SSID, addr, b, off, len, access);
        if (ret != 0) {
            throw new VirtioError(String.format(Locale.ROOT, "vq %d: DMA %s of %s at 0x%x (%d bytes) failed: %d",
                    index, (access & ACC_WRITE) != 0 ? "write" : "read", what, addr, len, ret));
        }
    }

    private int read16(long addr, String what) {
        dma(addr, scratch, 0, 2, ACC_READ, what);
        return (scratch[0] & 0xff) | (scratch[1] & 0xff) << 8;
    }

    private void write16(long addr, int v, String what) {
        byte[] b = {(byte) v, (byte) (v >>> 8)};
        dma(addr, b, 0, 2, ACC_WRITE, what);
    }

    /** Whether the driver made buffers available that the device has not taken. */
    public boolean hasAvailable() {
        return (read16(avail + 2, "avail->idx") & 0xffff) != lastAvailIdx;
    }

    /**
     * Takes the next available chain, or null when the ring is empty: reads avail->idx, the head
     * from avail->ring, then each descriptor of the chain.
     */
    public Element pop() {
        int availIdx = read16(avail + 2, "avail->idx");
        int heads = (availIdx - lastAvailIdx) & 0xffff;
        if (heads == 0) {
            return null;
        }
        if (heads > num) {
            throw new VirtioError(String.format(Locale.ROOT, "vq %d: driver moved avail->idx from %d to %d",
                    index, lastAvailIdx, availIdx));
        }
        int head = read16(avail + 4 + 2L * (lastAvailIdx % num), "avail->ring[]");
        if (head >= num) {
            throw new VirtioError(String.format(Locale.ROOT, "vq %d: driver says index %d is available", index, head));
        }
        long[] addr = new long[num];
        int[] len = new int[num];
        boolean[] write = new boolean[num];
        int n = 0;
        int i = head;
        boolean sawWrite = false;
        for (;;) {
            if (n == num) {
                throw new VirtioError(String.format(Locale.ROOT, "vq %d: looped descriptor chain from head %d", index, head));
            }
            dma(desc + (long) VIRTQ_DESC_SIZE * i, scratch, 0, VIRTQ_DESC_SIZE, ACC_READ, "descriptor");
            long a = le64(scratch, 0);
            int l = le32(scratch, 8);
            int flags = (scratch[12] & 0xff) | (scratch[13] & 0xff) << 8;
            int next = (scratch[14] & 0xff) | (scratch[15] & 0xff) << 8;
            if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
                throw new VirtioError(String.format(Locale.ROOT,
                        "vq %d: descriptor %d is INDIRECT but VIRTIO_F_INDIRECT_DESC is not offered", index, i));
            }
            if (l == 0) {
                throw new VirtioError(String.format(Locale.ROOT, "vq %d: zero-sized buffer in descriptor %d", index, i));
            }
            boolean w = (flags & VIRTQ_DESC_F_WRITE) != 0;
            if (sawWrite && !w) {
                throw new VirtioError(String.format(Locale.ROOT,
                        "vq %d: incorrect order for descriptors: readable %d after a writable one", index, i));
            }
            sawWrite |= w;
            addr[n] = a;
            len[n] = l;
            write[n] = w;
            n++;
            if ((flags & VIRTQ_DESC_F_NEXT) == 0) {
                break;
            }
            if (next >= num) {
                throw new VirtioError(String.format(Locale.ROOT, "vq %d: descriptor %d: next is %d", index, i, next));
            }
            i = next;
        }
        lastAvailIdx = (lastAvailIdx + 1) & 0xffff;
        return new Element(head, addr, len, write, n);
    }

    /** Reads up to {@code dst.length} bytes of the chain's device-readable buffers; returns how many. */
    public int readOut(Element e, byte[] dst) {
        int done = 0;
        for (int k = 0; k < e.n && done < dst.length; k++) {
            if (!e.write[k]) {
                int c = (int) Math.min(Integer.toUnsignedLong(e.len[k]), dst.length - done);
                dma(e.addr[k], dst, done, c, ACC_READ, "buffer");
                done += c;
            }
        }
        return done;
    }

    /** Writes {@code len} bytes of {@code src} from {@code off} into the device-writable buffers, starting {@code skip} bytes in. */
    public void writeIn(Element e, long skip, byte[] src, int off, int len) {
        int done = 0;
        for (int k = 0; k < e.n && done < len; k++) {
            if (!e.write[k]) {
                continue;
            }
            long l = Integer.toUnsignedLong(e.len[k]);
            if (skip >= l) {
                skip -= l;
                continue;
            }
            int c = (int) Math.min(l - skip, len - done);
            dma(e.addr[k] + skip, src, off + done, c, ACC_WRITE, "buffer");
            done += c;
            skip = 0;
        }
    }

    /** Returns the chain to the driver in the used ring with {@code written} bytes written (2.6.8). */
    public void push(Element e, int written) {
        byte[] b = new byte[VIRTQ_USED_ELEM_SIZE];
        putLe32(b, 0, e.head);
        putLe32(b, 4, written);
        dma(used + 4 + (long) VIRTQ_USED_ELEM_SIZE * (usedIdx % num), b, 0, b.length, ACC_WRITE, "used->ring[]");
        usedIdx = (usedIdx + 1) & 0xffff;
        write16(used + 2, usedIdx, "used->idx");
    }

    /** Whether the driver asked for no used-buffer notifications (avail->flags, no EVENT_IDX). */
    boolean notificationSuppressed() {
        return (read16(avail, "avail->flags") & VIRTQ_AVAIL_F_NO_INTERRUPT) != 0;
    }

    static long le64(byte[] b, int at) {
        return Integer.toUnsignedLong(le32(b, at)) | (long) le32(b, at + 4) << 32;
    }

    static int le32(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    static void putLe32(byte[] b, int at, long v) {
        for (int i = 0; i < 4; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    static void putLe64(byte[] b, int at, long v) {
        putLe32(b, at, v);
        putLe32(b, at + 4, v >>> 32);
    }
}
