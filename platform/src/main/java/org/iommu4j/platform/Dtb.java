package org.iommu4j.platform;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small flattened-device-tree reader for booting the machine (structure block, strings block,
 * version 16/17). It validates the header and every offset, so a malformed blob is answered with
 * {@link MalformedDtbException} and a clear message, never an out-of-bounds error.
 *
 * <p>Only what the machine needs: nodes, raw properties, big-endian cell helpers, phandles.
 */
public final class Dtb {
    public static final int FDT_MAGIC = 0xd00dfeed;
    private static final int FDT_BEGIN_NODE = 1;
    private static final int FDT_END_NODE = 2;
    private static final int FDT_PROP = 3;
    private static final int FDT_NOP = 4;
    private static final int FDT_END = 9;

    /** A blob that cannot be parsed. */
    public static final class MalformedDtbException extends RuntimeException {
        MalformedDtbException(String msg) {
            super(msg);
        }
    }

    /** One node: its full name (with unit address), properties in blob order, children. */
    public static final class Node {
        public final String name;
        public final Node parent;
        public final Map<String, byte[]> props = new LinkedHashMap<>();
        public final List<Node> children = new ArrayList<>();

        Node(String name, Node parent) {
            this.name = name;
            this.parent = parent;
        }

        public boolean has(String prop) {
            return props.containsKey(prop);
        }

        public int[] cells(String prop) {
            byte[] v = props.get(prop);
            if (v == null) {
                return null;
            }
            if (v.length % 4 != 0) {
                throw new MalformedDtbException(path() + ": property " + prop + " is not a list of cells");
            }
            int[] out = new int[v.length / 4];
            ByteBuffer bb = ByteBuffer.wrap(v).order(ByteOrder.BIG_ENDIAN);
            for (int i = 0; i < out.length; i++) {
                out[i] = bb.getInt();
            }
            return out;
        }

        public int u32(String prop, int dflt) {
            int[] c = cells(prop);
            return c == null || c.length == 0 ? dflt : c[0];
        }

        public List<String> strings(String prop) {
            byte[] v = props.get(prop);
            List<String> out = new ArrayList<>();
            if (v == null) {
                return out;
            }
            int s = 0;
            for (int i = 0; i < v.length; i++) {
                if (v[i] == 0) {
                    out.add(new String(v, s, i - s, StandardCharsets.US_ASCII));
                    s = i + 1;
                }
            }
            if (s < v.length) {
                out.add(new String(v, s, v.length - s, StandardCharsets.US_ASCII));
            }
            return out;
        }

        public boolean compatible(String c) {
            return strings("compatible").contains(c);
        }

        /** Name without the unit address. */
        public String baseName() {
            int at = name.indexOf('@');
            return at < 0 ? name : name.substring(0, at);
        }

        public String path() {
            if (parent == null) {
                return "/";
            }
            String pp = parent.path();
            return (pp.equals("/") ? "" : pp) + "/" + name;
        }

        /** #address-cells / #size-cells this node's children use (defaults 2 / 1). */
        public int addressCells() {
            return u32("#address-cells", 2);
        }

        public int sizeCells() {
            return u32("#size-cells", 1);
        }

        /** The reg entries, decoded with the parent's cell sizes, as {address, size} pairs. */
        public List<long[]> reg() {
            int[] c = cells("reg");
            List<long[]> out = new ArrayList<>();
            if (c == null) {
                return out;
            }
            int ac = parent == null ? 2 : parent.addressCells();
            int sc = parent == null ? 1 : parent.sizeCells();
            if (ac + sc == 0 || c.length % (ac + sc) != 0) {
                throw new MalformedDtbException(path() + ": reg does not match #address-cells/#size-cells");
            }
            for (int i = 0; i < c.length; i += ac + sc) {
                out.add(new long[] {join(c, i, ac), join(c, i + ac, sc)});
            }
            return out;
        }

        static long join(int[] c, int from, int n) {
            long v = 0;
            for (int i = 0; i < n; i++) {
                v = (v << 32) | Integer.toUnsignedLong(c[from + i]);
            }
            return v;
        }

        @Override
        public String toString() {
            return path();
        }
    }

    public final Node root;
    private final Map<Integer, Node> phandles = new LinkedHashMap<>();

    private Dtb(Node root) {
        this.root = root;
        index(root);
    }

    private void index(Node n) {
        int ph = n.u32("phandle", n.u32("linux,phandle", 0));
        if (ph != 0) {
            phandles.put(ph, n);
        }
        for (Node c : n.children) {
            index(c);
        }
    }

    public Node byPhandle(int ph) {
        return phandles.get(ph);
    }

    /** Every node whose compatible list contains {@code compat}, in blob order. */
    public List<Node> findCompatible(String compat) {
        List<Node> out = new ArrayList<>();
        walk(root, compat, out);
        return out;
    }

    private static void walk(Node n, String compat, List<Node> out) {
        if (n.compatible(compat)) {
            out.add(n);
        }
        for (Node c : n.children) {
            walk(c, compat, out);
        }
    }

    /** The first child of the root whose base name is {@code base}. */
    public Node child(String base) {
        for (Node c : root.children) {
            if (c.baseName().equals(base)) {
                return c;
            }
        }
        return null;
    }

    /** Parses a blob; throws {@link MalformedDtbException} with the reason when it is not valid. */
    public static Dtb parse(byte[] blob) {
        if (blob == null || blob.length < 40) {
            throw new MalformedDtbException("too short for an FDT header (" + (blob == null ? 0 : blob.length) + " bytes)");
        }
        ByteBuffer bb = ByteBuffer.wrap(blob).order(ByteOrder.BIG_ENDIAN);
        int magic = bb.getInt(0);
        if (magic != FDT_MAGIC) {
            throw new MalformedDtbException(String.format("bad magic 0x%08x (expected 0x%08x)", magic, FDT_MAGIC));
        }
        long totalsize = Integer.toUnsignedLong(bb.getInt(4));
        long offStruct = Integer.toUnsignedLong(bb.getInt(8));
        long offStrings = Integer.toUnsignedLong(bb.getInt(12));
        int version = bb.getInt(20);
        long sizeStrings = Integer.toUnsignedLong(bb.getInt(32));
        long sizeStruct = Integer.toUnsignedLong(bb.getInt(36));
        if (totalsize > blob.length) {
            throw new MalformedDtbException("totalsize " + totalsize + " exceeds the " + blob.length + "-byte blob");
        }
        if (version < 16) {
            throw new MalformedDtbException("unsupported FDT version " + version);
        }
        if (offStruct + sizeStruct > totalsize || offStrings + sizeStrings > totalsize) {
            throw new MalformedDtbException("structure or strings block outside the blob");
        }
        int p = (int) offStruct;
        int end = (int) (offStruct + sizeStruct);
        Node root = null;
        Node cur = null;
        while (true) {
            if (p + 4 > end) {
                throw new MalformedDtbException("structure block ends without FDT_END");
            }
            int tok = bb.getInt(p);
            p += 4;
            switch (tok) {
                case FDT_BEGIN_NODE: {
                    int z = p;
                    while (z < end && blob[z] != 0) {
                        z++;
                    }
                    if (z >= end) {
                        throw new MalformedDtbException("unterminated node name at offset " + p);
                    }
                    String name = new String(blob, p, z - p, StandardCharsets.US_ASCII);
                    p = align4(z + 1);
                    Node n = new Node(cur == null ? "" : name, cur);
                    if (cur == null) {
                        if (root != null) {
                            throw new MalformedDtbException("more than one root node");
                        }
                        root = n;
                    } else {
                        cur.children.add(n);
                    }
                    cur = n;
                    break;
                }
                case FDT_END_NODE:
                    if (cur == null) {
                        throw new MalformedDtbException("FDT_END_NODE without a node at offset " + (p - 4));
                    }
                    cur = cur.parent;
                    break;
                case FDT_PROP: {
                    if (cur == null || p + 8 > end) {
                        throw new MalformedDtbException("property outside a node at offset " + (p - 4));
                    }
                    int len = bb.getInt(p);
                    int nameoff = bb.getInt(p + 4);
                    p += 8;
                    if (len < 0 || p + len > end || nameoff < 0 || nameoff >= sizeStrings) {
                        throw new MalformedDtbException("bad property at offset " + (p - 12));
                    }
                    int s = (int) offStrings + nameoff;
                    int z = s;
                    while (z < offStrings + sizeStrings && blob[z] != 0) {
                        z++;
                    }
                    String pname = new String(blob, s, z - s, StandardCharsets.US_ASCII);
                    byte[] val = new byte[len];
                    System.arraycopy(blob, p, val, 0, len);
                    cur.props.put(pname, val);
                    p = align4(p + len);
                    break;
                }
                case FDT_NOP:
                    break;
                case FDT_END:
                    if (cur != null || root == null) {
                        throw new MalformedDtbException("FDT_END inside a node or before the root");
                    }
                    return new Dtb(root);
                default:
                    throw new MalformedDtbException(String.format("unknown token 0x%x at offset %d", tok, p - 4));
            }
        }
    }

    private static int align4(int x) {
        return (x + 3) & ~3;
    }

    /** The bundled QEMU virt (iommu=smmuv3) blob. */
    public static byte[] bundledVirt() {
        try (var in = Dtb.class.getResourceAsStream("virt-smmuv3.dtb")) {
            if (in == null) {
                throw new IllegalStateException("bundled virt-smmuv3.dtb missing from the jar");
            }
            return in.readAllBytes();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot read the bundled device tree", e);
        }
    }
}
