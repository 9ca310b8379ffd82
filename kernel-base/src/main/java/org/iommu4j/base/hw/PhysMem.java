package org.iommu4j.base.hw;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Simulated physical memory: little-endian, sparse 4 KiB frames allocated on first write,
 * memory never written reads as zero.
 *
 * <p>RAM is a set of ranges; an access outside them throws {@link BusError}, which hardware
 * models turn into an abort event and software treats as a bug. Aligned 8/16/32/64-bit accesses
 * are single-copy atomic; the acquire/release/volatile variants and {@link #cmpxchgq} map
 * {@code smp_load_acquire}, {@code smp_store_release}, {@code READ_ONCE}/{@code WRITE_ONCE} and
 * {@code cmpxchg64} (hardware access/dirty updates) onto VarHandle access modes.
 *
 * <p>Layout: a flat table of {@code byte[4096]} frames indexed by pfn from the lowest RAM frame
 * when RAM spans at most 4 GiB; otherwise a two-level directory
 * {@code dir[pfn >>> 14][pfn & 0x3fff]} of {@code byte[4096]}
 * frames, sized to the highest RAM address. The hit path (frame present) is one (flat) or two
 * (directory) array loads and a VarHandle access, and allocates nothing.
 *
 * <p>Invariants: a frame once installed is never replaced or removed, so a frame reference read
 * without synchronisation stays valid; frames are installed by CAS so concurrent first writers
 * agree on one frame.
 */
public final class PhysMem {
    public static final int FRAME_SHIFT = 12;
    public static final int FRAME_SIZE = 1 << FRAME_SHIFT;
    private static final int L2_BITS = 14;
    private static final int L2_SIZE = 1 << L2_BITS;
    private static final int OFF_MASK = FRAME_SIZE - 1;
    /** RAM ends at or below 2^48 (the widest output address the models implement). */
    public static final long MAX_PA = 1L << 48;

    /** One RAM range [base, base + size). */
    public record Range(long base, long size) {
        public long end() {
            return base + size;
        }

        public boolean contains(long pa, long len) {
            return Long.compareUnsigned(pa, base) >= 0 && Long.compareUnsigned(pa + len, end()) <= 0
                    && Long.compareUnsigned(pa + len, pa) >= 0;
        }
    }

    private final Range[] ranges;
    private final byte[][][] dir;
    /**
     * When the RAM ranges span at most {@link #FLAT_MAX_FRAMES} frames: one flat table of frames
     * from {@link #flatBasePfn} (one load less per access than the directory); else null.
     */
    private final byte[][] flat;
    private final long flatBasePfn;
    /** 1 GiB of span is a 1 MiB table of references. */
    private static final int FLAT_MAX_FRAMES = 1 << 20;
    private final AtomicLong touched = new AtomicLong();

    /** RAM of {@code size} bytes at {@code base}. */
    public PhysMem(long base, long size) {
        this(List.of(new Range(base, size)));
    }

    public PhysMem(List<Range> ramRanges) {
        if (ramRanges.isEmpty()) {
            throw new IllegalArgumentException("no RAM");
        }
        this.ranges = ramRanges.toArray(new Range[0]);
        long maxEnd = 0;
        long minBase = Long.MAX_VALUE;
        for (Range r : ranges) {
            minBase = Math.min(minBase, r.base());
            if ((r.base() & OFF_MASK) != 0 || (r.size() & OFF_MASK) != 0 || r.size() <= 0) {
                throw new IllegalArgumentException("RAM range not frame aligned: " + r);
            }
            // also bounds the frame directory: 2^48 bytes is 2^22 directory slots
            if (Long.compareUnsigned(r.base(), MAX_PA) >= 0 || Long.compareUnsigned(r.size(), MAX_PA - r.base()) > 0) {
                throw new IllegalArgumentException("RAM range beyond the 48-bit physical address space: " + r);
            }
            maxEnd = Math.max(maxEnd, r.end());
        }
        for (int i = 0; i < ranges.length; i++) {
            for (int j = 0; j < i; j++) {
                if (ranges[i].base() < ranges[j].end() && ranges[j].base() < ranges[i].end()) {
                    throw new IllegalArgumentException("RAM ranges overlap: " + ranges[j] + ", " + ranges[i]);
                }
            }
        }
        long pfns = (maxEnd + FRAME_SIZE - 1) >>> FRAME_SHIFT;
        long span = pfns - (minBase >>> FRAME_SHIFT);
        if (span <= FLAT_MAX_FRAMES) {
            flat = new byte[(int) span][];
            flatBasePfn = minBase >>> FRAME_SHIFT;
            dir = null;
        } else {
            flat = null;
            flatBasePfn = 0;
            dir = new byte[(int) ((pfns + L2_SIZE - 1) >>> L2_BITS)][][];
        }
    }

    public List<Range> ranges() {
        return List.of(ranges);
    }

    /** Total RAM bytes. */
    public long ramSize() {
        long s = 0;
        for (Range r : ranges) {
            s += r.size();
        }
        return s;
    }

    /** Number of frames ever written (memory actually backing the simulation). */
    public long touchedFrames() {
        return touched.get();
    }

    /** True if [pa, pa + len) lies entirely in RAM. */
    public boolean isRam(long pa, long len) {
        for (Range r : ranges) {
            if (r.contains(pa, len)) {
                return true;
            }
        }
        return false;
    }

    public boolean isRam(long pa) {
        return isRam(pa, 1);
    }

    /* ---------------- frame lookup ---------------- */

    /** The frame holding pa for reading, or null if never written (reads as zero). */
    private byte[] frameForRead(long pa) {
        long pfn = pa >>> FRAME_SHIFT;
        byte[][] ft = flat;
        if (ft != null) {
            long i = pfn - flatBasePfn;
            if (i >= 0 && i < ft.length) {
                byte[] f = ft[(int) i];
                if (f != null) {
                    return f;
                }
            }
        } else if ((pfn >>> L2_BITS) < dir.length) {
            long l1 = pfn >>> L2_BITS;
            byte[][] l2 = dir[(int) l1];
            if (l2 != null) {
                byte[] f = l2[(int) (pfn & (L2_SIZE - 1))];
                if (f != null) {
                    return f;
                }
            }
        }
        if (!isRam(pa & ~(long) OFF_MASK, FRAME_SIZE)) {
            throw new BusError(pa, "read outside RAM");
        }
        return null;
    }

    private byte[] frameForWrite(long pa) {
        long pfn = pa >>> FRAME_SHIFT;
        byte[][] ft = flat;
        if (ft != null) {
            long i = pfn - flatBasePfn;
            if (i >= 0 && i < ft.length) {
                byte[] f = ft[(int) i];
                if (f != null) {
                    return f;
                }
            }
        } else if ((pfn >>> L2_BITS) < dir.length) {
            long l1 = pfn >>> L2_BITS;
            byte[][] l2 = dir[(int) l1];
            if (l2 != null) {
                byte[] f = l2[(int) (pfn & (L2_SIZE - 1))];
                if (f != null) {
                    return f;
                }
            }
        }
        return installFrame(pa);
    }

    private byte[] installFrame(long pa) {
        if (!isRam(pa & ~(long) OFF_MASK, FRAME_SIZE)) {
            throw new BusError(pa, "write outside RAM");
        }
        long pfn = pa >>> FRAME_SHIFT;
        byte[][] l2;
        int i;
        if (flat != null) {
            l2 = flat;
            i = (int) (pfn - flatBasePfn);
        } else {
            int l1 = (int) (pfn >>> L2_BITS);
            l2 = (byte[][]) DIR.getVolatile(dir, l1);
            if (l2 == null) {
                byte[][] fresh = new byte[L2_SIZE][];
                l2 = (byte[][]) DIR.compareAndExchange(dir, l1, null, fresh);
                if (l2 == null) {
                    l2 = fresh;
                }
            }
            i = (int) (pfn & (L2_SIZE - 1));
        }
        byte[] f = (byte[]) FRAMES.getVolatile(l2, i);
        if (f == null) {
            byte[] fresh = new byte[FRAME_SIZE];
            f = (byte[]) FRAMES.compareAndExchange(l2, i, null, fresh);
            if (f == null) {
                f = fresh;
                touched.incrementAndGet();
            }
        }
        return f;
    }

    private static boolean crosses(long pa, int size) {
        return (pa & OFF_MASK) > FRAME_SIZE - size;
    }

    /* ---------------- plain accesses ---------------- */

    public int readb(long pa) {
        byte[] f = frameForRead(pa);
        return f == null ? 0 : f[(int) (pa & OFF_MASK)] & 0xff;
    }

    public void writeb(long pa, int v) {
        frameForWrite(pa)[(int) (pa & OFF_MASK)] = (byte) v;
    }

    public int readw(long pa) {
        if (crosses(pa, 2)) {
            return (int) readSlow(pa, 2);
        }
        byte[] f = frameForRead(pa);
        return f == null ? 0 : ((short) SHORT.get(f, (int) (pa & OFF_MASK))) & 0xffff;
    }

    public void writew(long pa, int v) {
        if (crosses(pa, 2)) {
            writeSlow(pa, v, 2);
            return;
        }
        SHORT.set(frameForWrite(pa), (int) (pa & OFF_MASK), (short) v);
    }

    public int readl(long pa) {
        if (crosses(pa, 4)) {
            return (int) readSlow(pa, 4);
        }
        byte[] f = frameForRead(pa);
        return f == null ? 0 : (int) INT.get(f, (int) (pa & OFF_MASK));
    }

    public void writel(long pa, int v) {
        if (crosses(pa, 4)) {
            writeSlow(pa, v, 4);
            return;
        }
        INT.set(frameForWrite(pa), (int) (pa & OFF_MASK), v);
    }

    public long readq(long pa) {
        if (crosses(pa, 8)) {
            return readSlow(pa, 8);
        }
        byte[] f = frameForRead(pa);
        return f == null ? 0 : (long) LONG.get(f, (int) (pa & OFF_MASK));
    }

    public void writeq(long pa, long v) {
        if (crosses(pa, 8)) {
            writeSlow(pa, v, 8);
            return;
        }
        LONG.set(frameForWrite(pa), (int) (pa & OFF_MASK), v);
    }

    /** Reads {@code size} (1, 2, 4 or 8) bytes, zero-extended. */
    public long read(long pa, int size) {
        switch (size) {
            case 1: return readb(pa);
            case 2: return readw(pa);
            case 4: return Integer.toUnsignedLong(readl(pa));
            case 8: return readq(pa);
            default: throw new IllegalArgumentException("size " + size);
        }
    }

    public void write(long pa, long v, int size) {
        switch (size) {
            case 1 -> writeb(pa, (int) v);
            case 2 -> writew(pa, (int) v);
            case 4 -> writel(pa, (int) v);
            case 8 -> writeq(pa, v);
            default -> throw new IllegalArgumentException("size " + size);
        }
    }

    private long readSlow(long pa, int size) {
        if (!isRam(pa) || !isRam(pa + size - 1)) {
            throw new BusError(pa, "read outside RAM");
        }
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (long) readb(pa + i) << (8 * i);
        }
        return v;
    }

    private void writeSlow(long pa, long v, int size) {
        // Checked before the first byte so an access straddling the end of RAM is not torn.
        // (Frame-aligned ranges leave gaps of at least a frame, so the two ends decide.)
        if (!isRam(pa) || !isRam(pa + size - 1)) {
            throw new BusError(pa, "write outside RAM");
        }
        for (int i = 0; i < size; i++) {
            writeb(pa + i, (int) (v >>> (8 * i)));
        }
    }

    /* ---------------- ordered and atomic 64/32-bit accesses (aligned only) ---------------- */

    private static void checkAligned(long pa, int size) {
        if ((pa & (size - 1)) != 0) {
            throw new IllegalArgumentException("unaligned atomic access at 0x" + Long.toHexString(pa));
        }
    }

    /** {@code READ_ONCE} of a 64-bit word. */
    public long readqVolatile(long pa) {
        checkAligned(pa, 8);
        byte[] f = frameForRead(pa);
        return f == null ? 0 : (long) LONG.getVolatile(f, (int) (pa & OFF_MASK));
    }

    /** {@code WRITE_ONCE} of a 64-bit word. */
    public void writeqVolatile(long pa, long v) {
        checkAligned(pa, 8);
        LONG.setVolatile(frameForWrite(pa), (int) (pa & OFF_MASK), v);
    }

    /** {@code smp_load_acquire}: later accesses are not reordered before this load. */
    public long readqAcquire(long pa) {
        checkAligned(pa, 8);
        byte[] f = frameForRead(pa);
        return f == null ? 0 : loadAcquire(f, pa);
    }

    /**
     * An aligned (so single-copy atomic) plain load and an acquire fence: getAcquire's ordering
     * without its second alignment check (this is the page-table walkers' load). The caller
     * checked the alignment.
     */
    private static long loadAcquire(byte[] f, long pa) {
        long v = (long) LONG.get(f, (int) (pa & OFF_MASK));
        VarHandle.acquireFence();
        return v;
    }

    /** {@code smp_store_release}: earlier accesses are visible before this store. */
    public void writeqRelease(long pa, long v) {
        checkAligned(pa, 8);
        LONG.setRelease(frameForWrite(pa), (int) (pa & OFF_MASK), v);
    }

    public int readlAcquire(long pa) {
        checkAligned(pa, 4);
        byte[] f = frameForRead(pa);
        return f == null ? 0 : (int) INT.getAcquire(f, (int) (pa & OFF_MASK));
    }

    public void writelRelease(long pa, int v) {
        checkAligned(pa, 4);
        INT.setRelease(frameForWrite(pa), (int) (pa & OFF_MASK), v);
    }

    public int readlVolatile(long pa) {
        checkAligned(pa, 4);
        byte[] f = frameForRead(pa);
        return f == null ? 0 : (int) INT.getVolatile(f, (int) (pa & OFF_MASK));
    }

    public void writelVolatile(long pa, int v) {
        checkAligned(pa, 4);
        INT.setVolatile(frameForWrite(pa), (int) (pa & OFF_MASK), v);
    }

    /** {@code cmpxchg64}: atomically replaces {@code expected} by {@code update}; returns the witness. */
    public long cmpxchgq(long pa, long expected, long update) {
        checkAligned(pa, 8);
        return (long) LONG.compareAndExchange(frameForWrite(pa), (int) (pa & OFF_MASK), expected, update);
    }

    public int cmpxchgl(long pa, int expected, int update) {
        checkAligned(pa, 4);
        return (int) INT.compareAndExchange(frameForWrite(pa), (int) (pa & OFF_MASK), expected, update);
    }

    /** Atomic 64-bit OR, returns the old value (for hardware flag updates). */
    public long fetchOrq(long pa, long bits) {
        checkAligned(pa, 8);
        return (long) LONG.getAndBitwiseOr(frameForWrite(pa), (int) (pa & OFF_MASK), bits);
    }

    /* ---------------- bulk ---------------- */

    /**
     * Copies {@code len} bytes from physical memory into {@code dst}. A slice outside {@code dst}
     * (negative offset or length included) throws {@link IndexOutOfBoundsException} and a range
     * not wholly in RAM throws {@link BusError}, both before anything is copied.
     */
    public void read(long pa, byte[] dst, int off, int len) {
        Objects.checkFromIndexSize(off, len, dst.length);
        if (!isRam(pa, len)) {
            throw new BusError(pa, "bulk read outside RAM");
        }
        while (len > 0) {
            int o = (int) (pa & OFF_MASK);
            int n = Math.min(len, FRAME_SIZE - o);
            byte[] f = frameForRead(pa);
            if (f == null) {
                java.util.Arrays.fill(dst, off, off + n, (byte) 0);
            } else {
                System.arraycopy(f, o, dst, off, n);
            }
            pa += n;
            off += n;
            len -= n;
        }
    }

    public byte[] readBytes(long pa, int len) {
        if (len < 0) {
            throw new IllegalArgumentException("negative length " + len);
        }
        byte[] b = new byte[len];
        read(pa, b, 0, len);
        return b;
    }

    /** Copies {@code len} bytes from {@code src} into physical memory; checks as {@link #read(long, byte[], int, int)}. */
    public void write(long pa, byte[] src, int off, int len) {
        // checked before the first frame is written, so a bad slice tears nothing
        Objects.checkFromIndexSize(off, len, src.length);
        if (!isRam(pa, len)) {
            throw new BusError(pa, "bulk write outside RAM");
        }
        while (len > 0) {
            int o = (int) (pa & OFF_MASK);
            int n = Math.min(len, FRAME_SIZE - o);
            System.arraycopy(src, off, frameForWrite(pa), o, n);
            pa += n;
            off += n;
            len -= n;
        }
    }

    public void write(long pa, byte[] src) {
        write(pa, src, 0, src.length);
    }

    /** {@code memset}. Zero-filling a never-written frame does not allocate it. */
    public void memset(long pa, int value, long len) {
        if (len < 0) {
            throw new IllegalArgumentException("negative length " + len);
        }
        if (!isRam(pa, len)) {
            throw new BusError(pa, "memset outside RAM");
        }
        while (len > 0) {
            int o = (int) (pa & OFF_MASK);
            int n = (int) Math.min(len, FRAME_SIZE - o);
            byte[] f = value == 0 ? frameForRead(pa) : frameForWrite(pa);
            if (f != null) {
                java.util.Arrays.fill(f, o, o + n, (byte) value);
            }
            pa += n;
            len -= n;
        }
    }

    /** Copies within physical memory (memmove semantics not needed: ranges must not overlap). */
    public void copy(long dstPa, long srcPa, int len) {
        write(dstPa, readBytes(srcPa, len));
    }

    /** Human-readable hex dump of [pa, pa + len), 16 bytes a line (for the CLI and test failures). */
    public List<String> hexdump(long pa, int len) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < len; i += 16) {
            StringBuilder sb = new StringBuilder(String.format("%016x:", pa + i));
            for (int j = 0; j < 16 && i + j < len; j++) {
                sb.append(String.format(" %02x", readb(pa + i + j)));
            }
            out.add(sb.toString());
        }
        return out;
    }

    /* ---------------- cursors ---------------- */

    /**
     * A reader's one-frame memory of where its last read landed, so that the next read from the
     * same 4 KiB frame skips the frame lookup: the image of QEMU's MemoryRegionCache, for
     * readers that keep coming back to the same frames (a page-table walker, one cursor per
     * level). Its reads behave exactly as the {@link PhysMem} methods of the same name (bus
     * errors, zero for memory never written, alignment checks, ordering): frames, once present,
     * are never replaced, so a remembered frame cannot go stale, and an absent one is never
     * remembered. For one thread at a time; each reader keeps its own.
     */
    public static final class Cursor {
        private final PhysMem mem;
        private long pfn = -1;
        private byte[] frame;

        public Cursor(PhysMem mem) {
            this.mem = mem;
        }

        /** The memory this cursor reads. */
        public PhysMem mem() {
            return mem;
        }

        /** {@link PhysMem#readqAcquire}. */
        public long readqAcquire(long pa) {
            checkAligned(pa, 8);
            byte[] f = frame;
            if (pa >>> FRAME_SHIFT != pfn) {
                f = mem.frameForRead(pa);
                if (f == null) {
                    return 0;
                }
                frame = f;
                pfn = pa >>> FRAME_SHIFT;
            }
            return loadAcquire(f, pa);
        }
    }

    /* ---------------- VarHandle mechanics ---------------- */
    // Little-endian views of the byte[] frames. Plain get/set for ordinary loads and stores;
    // getAcquire (or a plain aligned load and an acquire fence) and setRelease pair the
    // driver's barriers with the hardware's; getVolatile /
    // setVolatile for READ_ONCE/WRITE_ONCE; compareAndExchange for cmpxchg. Atomic modes need
    // naturally aligned offsets, which checkAligned guarantees.
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    // Directory slots are installed once by CAS (see the class invariants).
    private static final VarHandle DIR = MethodHandles.arrayElementVarHandle(byte[][][].class);
    private static final VarHandle FRAMES = MethodHandles.arrayElementVarHandle(byte[][].class);
}
