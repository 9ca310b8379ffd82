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
 * <p>Indirect descriptors (2.6.5.3, with VIRTIO_F_INDIRECT_DESC negotiated): a descriptor with
 * INDIRECT names a table of descriptors, read by one DMA through the IOMMU, whose chain is the
 * buffer (the table's {@code next} fields index the table; the WRITE flag of the descriptor
 * naming the table is ignored, 2.6.5.3.2).
 *
 * <p>Checks, each a {@link VirtioError} (the device then needs a reset, as QEMU's virtio_error
 * makes it): the available index moving more than the queue size ahead, a head or {@code next}
 * index beyond the queue (or the table), a chain longer than the queue or the table (a loop), a
 * zero-length buffer, a device-readable descriptor after a device-writable one (2.6.4.2); and
 * for indirect descriptors those the driver must not write (2.6.5.3.1): INDIRECT without the
 * feature negotiated, INDIRECT together with NEXT, an INDIRECT entry inside a table, and a
 * table length of 0 or not a multiple of 16 (QEMU: "Invalid size for indirect buffer table").
 *
 * <p>Notifications (2.6.7, 2.6.8): without EVENT_IDX the device interrupts unless avail->flags
 * has NO_INTERRUPT; with it, each pop publishes avail_event (the next index it will read, as
 * QEMU's vring_set_avail_event does) and an interrupt is sent only when the used index crosses
 * the driver's used_event since the last one sent (QEMU's virtio_split_should_notify).
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
    /** The negotiated features (FEATURES_OK accepted), 0 before. */
    long features;
    /** The used index at the last interrupt sent, and whether there was one (QEMU's signalled_used). */
    private int signalledUsed;
    private boolean signalledUsedValid;
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
        features = 0;
        signalledUsed = 0;
        signalledUsedValid = false;
    }

    private boolean hasFeature(int bit) {
        return (features & 1L << bit) != 0;
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

    private VirtioError err(String fmt, Object... args) {
        return new VirtioError(String.format(Locale.ROOT, "vq %d: " + fmt, prepend(index, args)));
    }

    private static Object[] prepend(Object first, Object[] rest) {
        Object[] a = new Object[rest.length + 1];
        a[0] = first;
        System.arraycopy(rest, 0, a, 1, rest.length);
        return a;
    }

    /**
     * Takes the next available chain, or null when the ring is empty: reads avail->idx, the head
     * from avail->ring, then each descriptor of the chain, following an indirect table where a
     * descriptor names one. With EVENT_IDX, publishes avail_event.
     */
    public Element pop() {
        int availIdx = read16(avail + 2, "avail->idx");
        int heads = (availIdx - lastAvailIdx) & 0xffff;
        if (heads == 0) {
            return null;
        }
        if (heads > num) {
            throw err("driver moved avail->idx from %d to %d", lastAvailIdx, availIdx);
        }
        int head = read16(avail + 4 + 2L * (lastAvailIdx % num), "avail->ring[]");
        if (head >= num) {
            throw err("driver says index %d is available", head);
        }
        java.util.ArrayList<long[]> segs = new java.util.ArrayList<>();
        int i = head;
        int max = num;           // entries of the table being walked: the ring's, or an indirect table's
        int steps = 0;
        byte[] table = null;     // the indirect table read by DMA, or null while in the ring
        boolean sawWrite = false;
        for (;;) {
            if (++steps > max) {
                throw err("looped descriptor chain from head %d", head);
            }
            byte[] d;
            int at;
            if (table == null) {
                dma(desc + (long) VIRTQ_DESC_SIZE * i, scratch, 0, VIRTQ_DESC_SIZE, ACC_READ, "descriptor");
                d = scratch;
                at = 0;
            } else {
                d = table;
                at = VIRTQ_DESC_SIZE * i;
            }
            long a = le64(d, at);
            int l = le32(d, at + 8);
            int flags = (d[at + 12] & 0xff) | (d[at + 13] & 0xff) << 8;
            int next = (d[at + 14] & 0xff) | (d[at + 15] & 0xff) << 8;
            if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
                if (!hasFeature(VIRTIO_F_RING_INDIRECT_DESC)) {
                    throw err("descriptor %d is INDIRECT but VIRTIO_F_INDIRECT_DESC was not negotiated", i);
                }
                if (table != null) {
                    throw err("nested indirect descriptor %d in the table of head %d", i, head);
                }
                if ((flags & VIRTQ_DESC_F_NEXT) != 0) {
                    throw err("descriptor %d has both INDIRECT and NEXT", i);
                }
                if (l == 0 || Integer.remainderUnsigned(l, VIRTQ_DESC_SIZE) != 0) {
                    throw err("invalid size %d for indirect buffer table in descriptor %d", Integer.toUnsignedLong(l), i);
                }
                if (Integer.compareUnsigned(l, VIRTQ_DESC_SIZE * 65536) > 0) {
                    throw err("indirect buffer table of %d bytes in descriptor %d is larger than 65536 entries", Integer.toUnsignedLong(l), i);
                }
                table = new byte[l];
                dma(a, table, 0, l, ACC_READ, "indirect table");
                max = l / VIRTQ_DESC_SIZE;
                steps = 0;
                i = 0;
                continue;
            }
            if (l == 0) {
                throw err("zero-sized buffer in descriptor %d", i);
            }
            boolean w = (flags & VIRTQ_DESC_F_WRITE) != 0;
            if (sawWrite && !w) {
                throw err("incorrect order for descriptors: readable %d after a writable one", i);
            }
            sawWrite |= w;
            segs.add(new long[] {a, Integer.toUnsignedLong(l), w ? 1 : 0});
            if ((flags & VIRTQ_DESC_F_NEXT) == 0) {
                break;
            }
            if (next >= max) {
                throw err("descriptor %d: next is %d", i, next);
            }
            i = next;
        }
        lastAvailIdx = (lastAvailIdx + 1) & 0xffff;
        if (hasFeature(VIRTIO_F_RING_EVENT_IDX)) {
            write16(used + 4 + (long) VIRTQ_USED_ELEM_SIZE * num, lastAvailIdx, "avail_event");
        }
        int n = segs.size();
        long[] addr = new long[n];
        int[] len = new int[n];
        boolean[] write = new boolean[n];
        for (int k = 0; k < n; k++) {
            addr[k] = segs.get(k)[0];
            len[k] = (int) segs.get(k)[1];
            write[k] = segs.get(k)[2] != 0;
        }
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

    /**
     * Whether to send the used-buffer notification now: without EVENT_IDX unless avail->flags
     * has NO_INTERRUPT; with it, when the used index moved past used_event since the last one
     * sent (or none was sent yet).
     */
    boolean shouldNotify() {
        if (!hasFeature(VIRTIO_F_RING_EVENT_IDX)) {
            return (read16(avail, "avail->flags") & VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
        }
        boolean v = signalledUsedValid;
        signalledUsedValid = true;
        int old = signalledUsed;
        int nw = signalledUsed = usedIdx;
        return !v || vringNeedEvent(read16(avail + 4 + 2L * num, "used_event"), nw, old);
    }

    /** virtio 1.1 2.6.7.2 / 2.6.10: (u16)(new - event - 1) &lt; (u16)(new - old). */
    static boolean vringNeedEvent(int eventIdx, int newIdx, int old) {
        return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - old) & 0xffff);
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

    static void putLe16(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
    }

    static void putLe64(byte[] b, int at, long v) {
        putLe32(b, at, v);
        putLe32(b, at + 4, v >>> 32);
    }
}
