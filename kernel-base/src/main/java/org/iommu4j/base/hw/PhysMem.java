package org.iommu4j.base.hw;

import java.io.IOException;
import java.lang.ref.Reference;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import sun.misc.Unsafe;

/**
 * Simulated physical memory: little-endian, backed by 4 KiB host pages allocated on first
 * touch; memory never written reads as zero.
 *
 * <p>RAM is a set of ranges; an access outside them throws {@link BusError}, which hardware
 * models turn into an abort event and software treats as a bug. Aligned 8/16/32/64-bit accesses
 * are single-copy atomic; the acquire/release/volatile variants and {@link #cmpxchgq} map
 * {@code smp_load_acquire}, {@code smp_store_release}, {@code READ_ONCE}/{@code WRITE_ONCE} and
 * {@code cmpxchg64} (hardware access/dirty updates) onto VarHandle access modes.
 *
 * <p>Layout: each RAM range is cut into regions of at most 1 GiB, and each region is a private
 * (copy-on-write) mapping of a sparse, already deleted temporary file (in {@code /dev/shm} where
 * the host has room, see {@link #ramDir}), as QEMU backs guest RAM with
 * {@code memory-backend-file,share=off}. The file has no blocks, so it only ever supplies zeros;
 * the host allocates 4 KiB pages as frames are first touched, so untouched RAM costs nothing. Were the host to refuse the mapping, the region falls back to a zeroed
 * direct buffer: the same behaviour, minus the sparseness.
 *
 * <p>Access: a plain load or store is one subtraction, one unsigned compare against the region
 * and one raw {@link Unsafe} access at the region's address (the hot path of every simulated
 * DMA and table walk, so it pays for no second bounds check); it allocates nothing. That
 * compare is the only thing between an address and raw memory, so every raw access goes through
 * {@link #region}, and keeps its region reachable until the access is done (the mapping lives as long as its buffer). Ordered and atomic accesses
 * use {@link ByteBuffer} VarHandles, whose access modes give the Java memory model's
 * guarantees.
 *
 * <p>Accounting: a bitmap per region records the frames ever written ({@link #touchedFrames});
 * a write sets the bits of the frames it touches before it stores. Zero-filling a frame never
 * written leaves it unwritten. An access that spans two regions (two adjacent RAM ranges, or a
 * range's 1 GiB seams) is done byte by byte, as the frame-crossing accesses of a frame-based
 * memory were.
 *
 * <p>Invariants: regions are fixed at construction and their buffers are only ever accessed at
 * absolute indices, so any number of threads may share them.
 */
public final class PhysMem {
    public static final int FRAME_SHIFT = 12;
    public static final int FRAME_SIZE = 1 << FRAME_SHIFT;
    private static final int OFF_MASK = FRAME_SIZE - 1;
    /** RAM ends at or below 2^48 (the widest output address the models implement). */
    public static final long MAX_PA = 1L << 48;
    /** The largest region: a {@link ByteBuffer} is indexed by int. */
    private static final long REGION_MAX = 1L << 30;

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

    /** One mapped piece of RAM. */
    private static final class Region {
        final long base;
        final long size;
        final ByteBuffer buf;
        /** One bit per frame, set once the frame has been written. */
        final long[] written;
        /** True if {@link #buf} is a mapping whose host pages appear on first touch. */
        final boolean sparse;
        /** Where {@link #buf}'s memory starts in the host's address space. */
        final long address;

        Region(long base, long size) {
            this.base = base;
            this.size = size;
            Backing b = allocate(size, ramDir(size));
            this.buf = b.buf();
            this.sparse = b.sparse();
            this.address = UNSAFE.getLong(buf, BUFFER_ADDRESS);
            this.written = new long[(int) ((size >>> FRAME_SHIFT) + 63) >>> 6];
        }

        /**
         * [pa, pa + len) lies in this region: one unsigned compare, which also rejects addresses
         * below the base (their offset wraps to a huge unsigned value).
         */
        boolean fits(long pa, int len) {
            return Long.compareUnsigned(pa - base, size - len) <= 0;
        }
    }

    private final Range[] ranges;
    private final Region[] regions;
    /** {@code regions[0]}, the region every fast path tries first. */
    private final Region first;
    /**
     * For {@link #readqAcquire}: {@link #first}'s base and host address, and the index of its
     * last 8-byte word biased by {@code Long.MIN_VALUE} (for an unsigned compare). Fields of this
     * object, so the loads each acquire fence makes the compiler repeat need no hop through
     * {@link #first}.
     */
    private final long firstBase, firstAddress, firstLastWordBiased;
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
        for (Range r : ranges) {
            if ((r.base() & OFF_MASK) != 0 || (r.size() & OFF_MASK) != 0 || r.size() <= 0) {
                throw new IllegalArgumentException("RAM range not frame aligned: " + r);
            }
            if (Long.compareUnsigned(r.base(), MAX_PA) >= 0 || Long.compareUnsigned(r.size(), MAX_PA - r.base()) > 0) {
                throw new IllegalArgumentException("RAM range beyond the 48-bit physical address space: " + r);
            }
        }
        for (int i = 0; i < ranges.length; i++) {
            for (int j = 0; j < i; j++) {
                if (ranges[i].base() < ranges[j].end() && ranges[j].base() < ranges[i].end()) {
                    throw new IllegalArgumentException("RAM ranges overlap: " + ranges[j] + ", " + ranges[i]);
                }
            }
        }
        List<Region> rs = new ArrayList<>();
        for (Range r : ranges) {
            for (long off = 0; off < r.size(); off += REGION_MAX) {
                rs.add(new Region(r.base() + off, Math.min(REGION_MAX, r.size() - off)));
            }
        }
        this.regions = rs.toArray(new Region[0]);
        this.first = regions[0];
        this.firstBase = first.base;
        this.firstAddress = first.address;
        this.firstLastWordBiased = ((first.size - 8) >>> 3) + Long.MIN_VALUE;
    }

    /** The host's shared-memory file system, where it has one. */
    static final Path RAM_DIR = Files.isDirectory(Path.of("/dev/shm")) && Files.isWritable(Path.of("/dev/shm"))
            ? Path.of("/dev/shm") : null;

    /**
     * Where a region of {@code size} bytes gets its file: {@link #RAM_DIR} if it has room for the
     * whole region, else the default temporary directory (null). On tmpfs every page the mapping
     * faults in, read or written, is also a page of the file system (its copy-on-write source), so a
     * small one (a container's 64 MiB {@code /dev/shm}) would refuse a page with SIGBUS; a disk
     * file system only fills its page cache with zeros, at ten times the cost of mapping and
     * faulting.
     */
    static Path ramDir(long size) {
        if (RAM_DIR == null) {
            return null;
        }
        try {
            return Files.getFileStore(RAM_DIR).getUsableSpace() >= size ? RAM_DIR : null;
        } catch (IOException e) {
            return null;
        }
    }
    /** The RAM files' name prefix. */
    static final String RAM_FILE_PREFIX = "iommu4j-ram";

    /**
     * Zero-filled, little-endian memory for one region: a private mapping of a sparse temporary
     * file in {@code dir} (null: the default temporary directory), whose pages appear on first
     * touch; else, if that fails, a direct buffer.
     */
    static Backing allocate(long size, Path dir) {
        ByteBuffer b;
        try {
            Path img = dir == null ? Files.createTempFile(RAM_FILE_PREFIX, ".img")
                    : Files.createTempFile(dir, RAM_FILE_PREFIX, ".img");
            try (FileChannel ch = FileChannel.open(img, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                // mapping past the end grows the file sparsely (ftruncate); private writes never reach it
                b = ch.map(FileChannel.MapMode.PRIVATE, 0, size);
            } finally {
                Files.deleteIfExists(img);
            }
        } catch (IOException e) { // the host refused the file or the mapping ("Map failed")
            return new Backing(ByteBuffer.allocateDirect((int) size).order(ByteOrder.LITTLE_ENDIAN), false);
        }
        return new Backing(b.order(ByteOrder.LITTLE_ENDIAN), true);
    }

    /** A region's memory, and whether it is a sparse mapping or a (fully backed) direct buffer. */
    record Backing(ByteBuffer buf, boolean sparse) {}

    /** True if all RAM is mapped so that host pages appear only when first touched. */
    public boolean sparse() {
        for (Region r : regions) {
            if (!r.sparse) {
                return false;
            }
        }
        return true;
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

    /* ---------------- region lookup and accounting ---------------- */

    /** The region holding all of [pa, pa + len), or null (another region, a seam, or no RAM). */
    private Region regionOf(long pa, int len) {
        for (Region r : regions) {
            if (r.fits(pa, len)) {
                return r;
            }
        }
        return null;
    }

    /** Records that [off, off + len) of {@code r} is about to be written. */
    private void markWritten(Region r, long off, int len) {
        long f = off >>> FRAME_SHIFT;
        long last = (off + len - 1) >>> FRAME_SHIFT;
        do {
            long[] w = r.written;
            int i = (int) (f >>> 6);
            long bit = 1L << f;
            if ((w[i] & bit) == 0 && ((long) WRITTEN.getAndBitwiseOr(w, i, bit) & bit) == 0) {
                touched.incrementAndGet();
            }
        } while (++f <= last);
    }

    private boolean written(Region r, long off) {
        long f = off >>> FRAME_SHIFT;
        return (r.written[(int) (f >>> 6)] & (1L << f)) != 0;
    }

    /**
     * The region for an access of {@code len} bytes at pa that is not in {@link #first}; null
     * when it straddles regions (the caller goes byte by byte). Outside RAM is a bus error.
     */
    private Region slowRegion(long pa, int len, String what) {
        Region r = regionOf(pa, len);
        // Ranges are frame aligned, so a small access that straddles two is RAM if both ends are.
        if (r == null && (!isRam(pa, 1) || !isRam(pa + len - 1, 1))) {
            throw new BusError(pa, what);
        }
        return r;
    }

    /* ---------------- plain accesses ---------------- */

    private static final String READ = "read outside RAM";
    private static final String WRITE = "write outside RAM";

    /**
     * The region holding all of [pa, pa + len): {@link #first} if it does (the fast path, one
     * compare), else the one found by {@link #slowRegion}; null if the access straddles two.
     */
    private Region region(long pa, int len, String what) {
        Region r = first;
        return r.fits(pa, len) ? r : slowRegion(pa, len, what);
    }

    /** An aligned access: it never straddles regions (they are frame aligned). */
    private Region alignedRegion(long pa, int len, String what) {
        checkAligned(pa, len);
        Region r = region(pa, len, what);
        assert r != null;
        return r;
    }

    /** {@link #alignedRegion} for a write: the frame is marked written first. */
    private Region alignedRegionForWrite(long pa, int len) {
        Region r = alignedRegion(pa, len, WRITE);
        markWritten(r, pa - r.base, len);
        return r;
    }

    public int readb(long pa) {
        Region r = region(pa, 1, READ);
        int v = UNSAFE.getByte(r.address + (pa - r.base)) & 0xff;
        Reference.reachabilityFence(r);
        return v;
    }

    public void writeb(long pa, int v) {
        Region r = region(pa, 1, WRITE);
        long off = pa - r.base;
        markWritten(r, off, 1);
        UNSAFE.putByte(r.address + off, (byte) v);
        Reference.reachabilityFence(r);
    }

    public int readw(long pa) {
        Region r = region(pa, 2, READ);
        if (r == null) {
            return (int) readBytewise(pa, 2);
        }
        short v = UNSAFE.getShort(r.address + (pa - r.base));
        Reference.reachabilityFence(r);
        return (LITTLE_ENDIAN_HOST ? v : Short.reverseBytes(v)) & 0xffff;
    }

    public void writew(long pa, int v) {
        Region r = region(pa, 2, WRITE);
        if (r == null) {
            writeBytewise(pa, v, 2);
            return;
        }
        long off = pa - r.base;
        markWritten(r, off, 2);
        UNSAFE.putShort(r.address + off, LITTLE_ENDIAN_HOST ? (short) v : Short.reverseBytes((short) v));
        Reference.reachabilityFence(r);
    }

    public int readl(long pa) {
        Region r = region(pa, 4, READ);
        if (r == null) {
            return (int) readBytewise(pa, 4);
        }
        int v = UNSAFE.getInt(r.address + (pa - r.base));
        Reference.reachabilityFence(r);
        return LITTLE_ENDIAN_HOST ? v : Integer.reverseBytes(v);
    }

    public void writel(long pa, int v) {
        Region r = region(pa, 4, WRITE);
        if (r == null) {
            writeBytewise(pa, v, 4);
            return;
        }
        long off = pa - r.base;
        markWritten(r, off, 4);
        UNSAFE.putInt(r.address + off, LITTLE_ENDIAN_HOST ? v : Integer.reverseBytes(v));
        Reference.reachabilityFence(r);
    }

    public long readq(long pa) {
        Region r = region(pa, 8, READ);
        return r == null ? readBytewise(pa, 8) : load(r, pa - r.base);
    }

    public void writeq(long pa, long v) {
        Region r = region(pa, 8, WRITE);
        if (r == null) {
            writeBytewise(pa, v, 8);
            return;
        }
        long off = pa - r.base;
        markWritten(r, off, 8);
        UNSAFE.putLong(r.address + off, LITTLE_ENDIAN_HOST ? v : Long.reverseBytes(v));
        Reference.reachabilityFence(r);
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

    /** An access straddling two regions, which {@link #region} already found to be all RAM. */
    private long readBytewise(long pa, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (long) readb(pa + i) << (8 * i);
        }
        return v;
    }

    private void writeBytewise(long pa, long v, int size) {
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
        Region r = alignedRegion(pa, 8, READ);
        return (long) LONG.getVolatile(r.buf, (int) (pa - r.base));
    }

    /** {@code WRITE_ONCE} of a 64-bit word. */
    public void writeqVolatile(long pa, long v) {
        Region r = alignedRegionForWrite(pa, 8);
        LONG.setVolatile(r.buf, (int) (pa - r.base), v);
    }

    /** {@code smp_load_acquire}: later accesses are not reordered before this load. */
    public long readqAcquire(long pa) {
        // Inside the first region and aligned, in one unsigned compare: rotated right by three,
        // the offset's low bits land on top, so a misaligned offset (the base is frame aligned,
        // so the offset's alignment is pa's) or a negative one compares above the last word's
        // index. Anything else is checked on the way to its region.
        long off = pa - firstBase;
        if (Long.rotateRight(off, 3) + Long.MIN_VALUE <= firstLastWordBiased) {
            return loadAcquire(this, firstAddress + off); // this holds first, which holds the mapping
        }
        Region r = alignedRegion(pa, 8, READ);
        return loadAcquire(r, r.address + (pa - r.base));
    }

    /**
     * An aligned (so single-copy atomic) plain load at a host address and an acquire fence:
     * getAcquire's ordering without its checks (this is the page-table walkers' load). The
     * caller checked the alignment and the region; {@code owner} holds the region's mapping.
     */
    private static long loadAcquire(Object owner, long address) {
        long v = UNSAFE.getLong(address);
        Reference.reachabilityFence(owner);
        VarHandle.acquireFence();
        return LITTLE_ENDIAN_HOST ? v : Long.reverseBytes(v);
    }

    /** A plain 64-bit load at {@code off}, which the caller found inside {@code r}. */
    private static long load(Region r, long off) {
        long v = UNSAFE.getLong(r.address + off);
        Reference.reachabilityFence(r);
        return LITTLE_ENDIAN_HOST ? v : Long.reverseBytes(v);
    }

    /** {@code smp_store_release}: earlier accesses are visible before this store. */
    public void writeqRelease(long pa, long v) {
        Region r = alignedRegionForWrite(pa, 8);
        LONG.setRelease(r.buf, (int) (pa - r.base), v);
    }

    public int readlAcquire(long pa) {
        Region r = alignedRegion(pa, 4, READ);
        return (int) INT.getAcquire(r.buf, (int) (pa - r.base));
    }

    public void writelRelease(long pa, int v) {
        Region r = alignedRegionForWrite(pa, 4);
        INT.setRelease(r.buf, (int) (pa - r.base), v);
    }

    public int readlVolatile(long pa) {
        Region r = alignedRegion(pa, 4, READ);
        return (int) INT.getVolatile(r.buf, (int) (pa - r.base));
    }

    public void writelVolatile(long pa, int v) {
        Region r = alignedRegionForWrite(pa, 4);
        INT.setVolatile(r.buf, (int) (pa - r.base), v);
    }

    /** {@code cmpxchg64}: atomically replaces {@code expected} by {@code update}; returns the witness. */
    public long cmpxchgq(long pa, long expected, long update) {
        Region r = alignedRegionForWrite(pa, 8);
        return (long) LONG.compareAndExchange(r.buf, (int) (pa - r.base), expected, update);
    }

    public int cmpxchgl(long pa, int expected, int update) {
        Region r = alignedRegionForWrite(pa, 4);
        return (int) INT.compareAndExchange(r.buf, (int) (pa - r.base), expected, update);
    }

    /** Atomic 64-bit OR, returns the old value (for hardware flag updates). */
    public long fetchOrq(long pa, long bits) {
        Region r = alignedRegionForWrite(pa, 8);
        return (long) LONG.getAndBitwiseOr(r.buf, (int) (pa - r.base), bits);
    }

    /* ---------------- bulk ---------------- */

    /** The region holding pa, for a bulk access whose whole range was checked to be RAM. */
    private Region regionAt(long pa) {
        Region r = regionOf(pa, 1);
        assert r != null;
        return r;
    }

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
            Region r = regionAt(pa);
            int n = (int) Math.min(len, r.base + r.size - pa);
            r.buf.get((int) (pa - r.base), dst, off, n);
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
        // checked before the first byte is written, so a bad slice tears nothing
        Objects.checkFromIndexSize(off, len, src.length);
        if (!isRam(pa, len)) {
            throw new BusError(pa, "bulk write outside RAM");
        }
        while (len > 0) {
            Region r = regionAt(pa);
            int n = (int) Math.min(len, r.base + r.size - pa);
            markWritten(r, pa - r.base, n);
            r.buf.put((int) (pa - r.base), src, off, n);
            pa += n;
            off += n;
            len -= n;
        }
    }

    public void write(long pa, byte[] src) {
        write(pa, src, 0, src.length);
    }

    /** {@code memset}. Zero-filling a never-written frame leaves it unwritten. */
    public void memset(long pa, int value, long len) {
        if (len < 0) {
            throw new IllegalArgumentException("negative length " + len);
        }
        if (!isRam(pa, len)) {
            throw new BusError(pa, "memset outside RAM");
        }
        byte[] fill = value == 0 ? ZERO_FRAME : new byte[(int) Math.min(len, FRAME_SIZE)];
        if (value != 0) {
            Arrays.fill(fill, (byte) value);
        }
        while (len > 0) {
            Region r = regionAt(pa);
            long off = pa - r.base;
            int n = (int) Math.min(len, FRAME_SIZE - (off & OFF_MASK));
            if (value != 0) {
                markWritten(r, off, n);
                r.buf.put((int) off, fill, 0, n);
            } else if (written(r, off)) {
                r.buf.put((int) off, fill, 0, n);
            }
            pa += n;
            len -= n;
        }
    }

    private static final byte[] ZERO_FRAME = new byte[FRAME_SIZE];

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

    /* ---------------- VarHandle mechanics ---------------- */
    // Plain loads and stores are raw accesses at a region's address (unaligned allowed, as on
    // the x86-64 and arm64 hosts this runs on), byte-swapped were the host big-endian. The rest
    // are little-endian VarHandle views of the regions' buffers at absolute indices: getAcquire
    // (or a plain aligned load and an acquire fence) and setRelease pair the driver's barriers with the hardware's; getVolatile /
    // setVolatile for READ_ONCE/WRITE_ONCE; compareAndExchange for cmpxchg. Atomic modes need
    // naturally aligned addresses: checkAligned guarantees the offset, and a region's buffer
    // starts on a page (mapping) or at least an 8-byte boundary (direct buffer).
    private static final VarHandle LONG = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle WRITTEN = MethodHandles.arrayElementVarHandle(long[].class);
    private static final boolean LITTLE_ENDIAN_HOST = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
    private static final Unsafe UNSAFE;
    /** Offset of {@link Buffer}'s {@code address} field: a direct buffer's start in memory. */
    private static final long BUFFER_ADDRESS;

    static {
        try {
            java.lang.reflect.Field f = Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            UNSAFE = (Unsafe) f.get(null);
            BUFFER_ADDRESS = UNSAFE.objectFieldOffset(Buffer.class.getDeclaredField("address"));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
