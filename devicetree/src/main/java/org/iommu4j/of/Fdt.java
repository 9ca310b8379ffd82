package org.iommu4j.of;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.iommu4j.base.Port;

/**
 * A flattened device tree (DTB): reader and writer for format version 17 (Devicetree
 * Specification v0.4, chapter 5), and the unflattened result: the root {@link DeviceNode}, the
 * memory reservation block and {@code boot_cpuid_phys}.
 *
 * <p>Reading validates everything it uses and answers a malformed blob with a
 * {@link DeviceTreeException} naming the offset and the problem: bad magic, a version this
 * reader cannot read, blocks outside the blob or overlapping the header, misaligned blocks,
 * truncated or unterminated names, property names outside the strings block, property values
 * running out of the structure block, tokens out of order (a property outside a node or after a
 * subnode, data after {@code FDT_END}), unknown tokens, unbalanced nodes, nesting deeper than
 * {@link #MAX_DEPTH} and duplicate property names. Nothing is allocated from a size in the blob
 * before the size is checked against the blob's length, and every loop advances, so a reader
 * never runs out of memory or hangs.
 *
 * <p>Writing lays the blob out as dtc does (header, reservation map at 0x28, structure block,
 * strings block; a name that occurs in the table already, also as the tail of a longer name, is
 * shared), so a tree read from dtc source is written byte for byte as dtc 1.6 writes it;
 * version 17, last compatible version 16. Round trips:
 * {@code parse(b).toBytes()} parses to the same tree; {@code toBytes()} of a parsed blob is
 * stable under a further read and write.
 */
@Port("scripts/dtc/libfdt/fdt.h:fdt_header")
public final class Fdt {
    @Port("scripts/dtc/libfdt/fdt.h:FDT_MAGIC")
    public static final int FDT_MAGIC = 0xd00dfeed;
    @Port("scripts/dtc/libfdt/fdt.h:FDT_BEGIN_NODE")
    public static final int FDT_BEGIN_NODE = 0x1;
    @Port("scripts/dtc/libfdt/fdt.h:FDT_END_NODE")
    public static final int FDT_END_NODE = 0x2;
    @Port("scripts/dtc/libfdt/fdt.h:FDT_PROP")
    public static final int FDT_PROP = 0x3;
    @Port("scripts/dtc/libfdt/fdt.h:FDT_NOP")
    public static final int FDT_NOP = 0x4;
    @Port("scripts/dtc/libfdt/fdt.h:FDT_END")
    public static final int FDT_END = 0x9;
    /** Header size of versions 17 (0x28 bytes). */
    public static final int FDT_V17_SIZE = 0x28;
    public static final int FDT_LAST_SUPPORTED_VERSION = 17;
    /** Deepest nesting accepted (libfdt's FDT_MAX_DEPTH is 32; QEMU trees use 4). */
    public static final int MAX_DEPTH = 64;

    /** One /memreserve/ entry. */
    public record MemReserve(long address, long size) {}

    private final DeviceNode root;
    private final List<MemReserve> memreserve;
    private final int bootCpuidPhys;

    public Fdt(DeviceNode root, List<MemReserve> memreserve, int bootCpuidPhys) {
        this.root = root;
        this.memreserve = List.copyOf(memreserve);
        this.bootCpuidPhys = bootCpuidPhys;
    }

    /** A blob-less tree with no reservations. */
    public Fdt(DeviceNode root) {
        this(root, List.of(), 0);
    }

    public DeviceNode root() {
        return root;
    }

    public List<MemReserve> memreserve() {
        return memreserve;
    }

    public int bootCpuidPhys() {
        return bootCpuidPhys;
    }

    /** The blob bundled with this module: QEMU {@code virt} with {@code iommu=smmuv3}. */
    public static byte[] bundledVirtSmmuv3() {
        try (InputStream in = Fdt.class.getResourceAsStream("virt-smmuv3.dtb")) {
            if (in == null) {
                throw new IllegalStateException("virt-smmuv3.dtb missing from the devicetree jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Unflattens a blob into its root node (drops the reservation map). */
    @Port("drivers/of/fdt.c:of_fdt_unflatten_tree")
    public static DeviceNode ofFdtUnflattenTree(byte[] blob) {
        return parse(blob).root;
    }

    // ---------------------------------------------------------------- reading

    /** Parses and validates a DTB. @throws DeviceTreeException on any malformation */
    @Port("drivers/of/fdt.c:unflatten_dt_nodes")
    public static Fdt parse(byte[] blob) {
        if (blob == null) {
            throw new DeviceTreeException(0, "no blob");
        }
        if (blob.length < FDT_V17_SIZE) {
            throw new DeviceTreeException(0, "blob of " + blob.length + " bytes is shorter than the 0x28-byte header");
        }
        int magic = Be.get32(blob, 0);
        if (magic != FDT_MAGIC) {
            throw new DeviceTreeException(0, String.format("bad magic 0x%08x (want 0xd00dfeed)", magic));
        }
        long totalsize = u32(blob, 4);
        long offStruct = u32(blob, 8);
        long offStrings = u32(blob, 12);
        long offRsv = u32(blob, 16);
        long version = u32(blob, 20);
        long lastComp = u32(blob, 24);
        int bootCpuid = Be.get32(blob, 28);
        long sizeStrings = u32(blob, 32);
        long sizeStruct = u32(blob, 36);
        if (version < 17) {
            throw new DeviceTreeException(20, "version " + version + " unsupported (need 17)");
        }
        if (lastComp > FDT_LAST_SUPPORTED_VERSION) {
            throw new DeviceTreeException(24, "last_comp_version " + lastComp + " is newer than 17");
        }
        if (totalsize < FDT_V17_SIZE || totalsize > blob.length) {
            throw new DeviceTreeException(4, "totalsize " + totalsize + " outside [0x28, blob length " + blob.length + "]");
        }
        checkBlock(offRsv, 0, totalsize, 16, 16, "memory reservation block");
        if ((offRsv & 7) != 0) {
            throw new DeviceTreeException(16, "memory reservation block offset 0x" + Long.toHexString(offRsv) + " not 8-byte aligned");
        }
        checkBlock(offStruct, sizeStruct, totalsize, 8, 36, "structure block");
        if ((offStruct & 3) != 0) {
            throw new DeviceTreeException(8, "structure block offset 0x" + Long.toHexString(offStruct) + " not 4-byte aligned");
        }
        checkBlock(offStrings, sizeStrings, totalsize, 12, 32, "strings block");

        List<MemReserve> rsv = new ArrayList<>();
        for (long o = offRsv;; o += 16) {
            if (o + 16 > totalsize) {
                throw new DeviceTreeException(o, "memory reservation block runs past the end of the blob (no terminating entry)");
            }
            long a = Be.get64(blob, (int) o);
            long s = Be.get64(blob, (int) o + 8);
            if (a == 0 && s == 0) {
                break;
            }
            rsv.add(new MemReserve(a, s));
        }
        DeviceNode root = new StructReader(blob, (int) offStruct, (int) (offStruct + sizeStruct),
                (int) offStrings, (int) (offStrings + sizeStrings)).read();
        return new Fdt(root, rsv, bootCpuid);
    }

    private static long u32(byte[] b, int off) {
        return Be.get32(b, off) & 0xffffffffL;
    }

    private static void checkBlock(long off, long size, long total, int offField, int sizeField, String what) {
        if (off < FDT_V17_SIZE || off > total || size > total - off) {
            throw new DeviceTreeException(off < FDT_V17_SIZE || off > total ? offField : sizeField, what + " [0x" + Long.toHexString(off) + ", +0x"
                    + Long.toHexString(size) + ") outside the blob (header 0x28, totalsize 0x" + Long.toHexString(total) + ")");
        }
    }

    /** Walks the structure block token by token. */
    private static final class StructReader {
        private final byte[] b;
        private final int start;
        private final int end;
        private final int strStart;
        private final int strEnd;
        private int pos;

        StructReader(byte[] b, int start, int end, int strStart, int strEnd) {
            this.b = b;
            this.start = start;
            this.end = end;
            this.strStart = strStart;
            this.strEnd = strEnd;
            this.pos = start;
        }

        private int token() {
            if (pos + 4 > end) {
                throw new DeviceTreeException(pos, "structure block truncated: token expected");
            }
            int t = Be.get32(b, pos);
            pos += 4;
            return t;
        }

        private int nextNonNop() {
            int t;
            do {
                t = token();
            } while (t == FDT_NOP);
            return t;
        }

        DeviceNode read() {
            int at = pos;
            int t = nextNonNop();
            if (t != FDT_BEGIN_NODE) {
                throw new DeviceTreeException(at, t == FDT_PROP ? "property before the root node"
                        : "structure block must start with FDT_BEGIN_NODE, found token 0x" + Integer.toHexString(t));
            }
            String rootName = nodeName();
            if (!rootName.isEmpty()) {
                throw new DeviceTreeException(at + 4, "root node name must be empty, found \"" + rootName + "\"");
            }
            DeviceNode root = DeviceNode.root();
            DeviceNode cur = root;
            int depth = 1;
            boolean sawChild = false;
            while (depth > 0) {
                at = pos;
                t = token();
                switch (t) {
                    case FDT_NOP -> { }
                    case FDT_PROP -> {
                        if (sawChild) {
                            throw new DeviceTreeException(at, "property after a subnode in " + cur.path());
                        }
                        if (pos + 8 > end) {
                            throw new DeviceTreeException(pos, "structure block truncated inside a property header");
                        }
                        long len = Be.get32(b, pos) & 0xffffffffL;
                        long nameoff = Be.get32(b, pos + 4) & 0xffffffffL;
                        pos += 8;
                        if (len > end - pos) {
                            throw new DeviceTreeException(at + 4, "property length " + len + " runs past the structure block");
                        }
                        String pname = stringAt(nameoff, at + 8);
                        byte[] v = new byte[(int) len];
                        System.arraycopy(b, pos, v, 0, (int) len);
                        pos = align4(pos + (int) len);
                        if (pos > end) {
                            throw new DeviceTreeException(end, "property padding runs past the structure block");
                        }
                        if (cur.findProperty(pname) != null) {
                            throw new DeviceTreeException(at, "duplicate property \"" + pname + "\" in " + cur.path());
                        }
                        int phandle = cur.phandle;
                        cur.setProperty(new Property(pname, v));
                        cur.phandle = populatePhandle(phandle, pname, v);
                    }
                    case FDT_BEGIN_NODE -> {
                        if (depth >= MAX_DEPTH) {
                            throw new DeviceTreeException(at, "nodes nested deeper than " + MAX_DEPTH);
                        }
                        String n = nodeName();
                        if (n.isEmpty() || n.indexOf('/') >= 0) {
                            throw new DeviceTreeException(at + 4, "bad node name \"" + n + "\" in " + cur.path());
                        }
                        cur = cur.addChild(n);
                        depth++;
                        sawChild = false;
                    }
                    case FDT_END_NODE -> {
                        depth--;
                        if (depth > 0) {
                            cur = cur.parent;
                            sawChild = true;
                        }
                    }
                    case FDT_END -> throw new DeviceTreeException(at, "FDT_END inside node " + cur.path() + " (unbalanced FDT_BEGIN_NODE)");
                    default -> throw new DeviceTreeException(at, "unknown token 0x" + Integer.toHexString(t));
                }
            }
            at = pos;
            t = nextNonNop();
            if (t != FDT_END) {
                throw new DeviceTreeException(at, "token 0x" + Integer.toHexString(t) + " after the root node (expected FDT_END)");
            }
            return root;
        }

        /**
         * The node's phandle after its property {@code pname}, as populate_properties sets it
         * while unflattening: the first "phandle" or "linux,phandle" gives it (a later one
         * does not override it), "ibm,phandle" always does; the first cell is read whatever
         * the length (a value shorter than a cell, which the kernel would read past, gives
         * nothing here).
         */
        @Port("drivers/of/fdt.c:populate_properties")
        private static int populatePhandle(int phandle, String pname, byte[] v) {
            if (v.length < 4) {
                return phandle;
            }
            if ((pname.equals("phandle") || pname.equals("linux,phandle")) && phandle == 0) {
                return Be.get32(v, 0);
            }
            if (pname.equals("ibm,phandle")) {
                return Be.get32(v, 0);
            }
            return phandle;
        }

        /** NUL-terminated name at pos, then align. */
        private String nodeName() {
            int s = pos;
            int i = s;
            while (i < end && b[i] != 0) {
                i++;
            }
            if (i >= end) {
                throw new DeviceTreeException(s, "unterminated node name");
            }
            pos = align4(i + 1);
            if (pos > end) {
                throw new DeviceTreeException(end, "node name padding runs past the structure block");
            }
            return new String(b, s, i - s, StandardCharsets.ISO_8859_1);
        }

        private String stringAt(long nameoff, int hdrAt) {
            if (nameoff >= strEnd - strStart) {
                throw new DeviceTreeException(hdrAt, "property name offset 0x" + Long.toHexString(nameoff) + " outside the strings block");
            }
            int s = strStart + (int) nameoff;
            int i = s;
            while (i < strEnd && b[i] != 0) {
                i++;
            }
            if (i >= strEnd) {
                throw new DeviceTreeException(s, "unterminated property name in the strings block");
            }
            if (i == s) {
                throw new DeviceTreeException(hdrAt, "empty property name");
            }
            return new String(b, s, i - s, StandardCharsets.ISO_8859_1);
        }
    }

    private static int align4(int x) {
        return (x + 3) & ~3;
    }

    // ---------------------------------------------------------------- writing

    /** Flattens this tree into a version-17 blob. */
    public byte[] toBytes() {
        ByteArrayOutputStream st = new ByteArrayOutputStream();
        ByteArrayOutputStream strs = new ByteArrayOutputStream();
        Map<String, Integer> strOff = new HashMap<>();
        writeNode(root, st, strs, strOff);
        put32(st, FDT_END);
        byte[] s = st.toByteArray();
        byte[] str = strs.toByteArray();
        int offRsv = FDT_V17_SIZE;
        int offStruct = offRsv + (memreserve.size() + 1) * 16;
        int offStrings = offStruct + s.length;
        int total = offStrings + str.length;
        byte[] out = new byte[total];
        Be.put32(out, 0, FDT_MAGIC);
        Be.put32(out, 4, total);
        Be.put32(out, 8, offStruct);
        Be.put32(out, 12, offStrings);
        Be.put32(out, 16, offRsv);
        Be.put32(out, 20, 17);
        Be.put32(out, 24, 16);
        Be.put32(out, 28, bootCpuidPhys);
        Be.put32(out, 32, str.length);
        Be.put32(out, 36, s.length);
        int o = offRsv;
        for (MemReserve m : memreserve) {
            Be.put64(out, o, m.address());
            Be.put64(out, o + 8, m.size());
            o += 16;
        }
        System.arraycopy(s, 0, out, offStruct, s.length);
        System.arraycopy(str, 0, out, offStrings, str.length);
        return out;
    }

    /** Flattens a tree with no reservations. */
    public static byte[] flatten(DeviceNode root) {
        return new Fdt(root).toBytes();
    }

    private static void writeNode(DeviceNode n, ByteArrayOutputStream st, ByteArrayOutputStream strs, Map<String, Integer> strOff) {
        // iterative: explicit stack of (node, next child index)
        java.util.ArrayDeque<Object[]> stack = new java.util.ArrayDeque<>();
        stack.push(new Object[] {n, -1});
        while (!stack.isEmpty()) {
            Object[] fr = stack.peek();
            DeviceNode x = (DeviceNode) fr[0];
            int ci = (Integer) fr[1];
            if (ci < 0) {
                put32(st, FDT_BEGIN_NODE);
                byte[] nm = (x.parent == null ? "" : x.fullName).getBytes(StandardCharsets.ISO_8859_1);
                st.write(nm, 0, nm.length);
                st.write(0);
                pad(st);
                for (Property p : x.properties()) {
                    put32(st, FDT_PROP);
                    put32(st, p.length());
                    Integer off = strOff.get(p.name);
                    if (off == null) {
                        // as dtc: reuse any occurrence of "name\0" in the table, suffixes included
                        String table = strs.toString(StandardCharsets.ISO_8859_1);
                        int at = table.indexOf(p.name + "\0");
                        if (at >= 0) {
                            off = at;
                        } else {
                            off = strs.size();
                            byte[] pn = p.name.getBytes(StandardCharsets.ISO_8859_1);
                            strs.write(pn, 0, pn.length);
                            strs.write(0);
                        }
                        strOff.put(p.name, off);
                    }
                    put32(st, off);
                    byte[] v = p.raw();
                    st.write(v, 0, v.length);
                    pad(st);
                }
                ci = 0;
            }
            if (ci < x.children().size()) {
                fr[1] = ci + 1;
                stack.push(new Object[] {x.children().get(ci), -1});
            } else {
                fr[1] = ci;
                put32(st, FDT_END_NODE);
                stack.pop();
            }
        }
    }

    private static void put32(ByteArrayOutputStream o, int v) {
        o.write(v >>> 24);
        o.write(v >>> 16);
        o.write(v >>> 8);
        o.write(v);
    }

    private static void pad(ByteArrayOutputStream o) {
        while ((o.size() & 3) != 0) {
            o.write(0);
        }
    }
}
