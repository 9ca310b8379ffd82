package org.iommu4j.of;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A reader for device tree source (DTS), the common subset dtc accepts: {@code /dts-v1/;},
 * {@code /memreserve/ addr size;}, nodes and properties with labels, {@code &label { }}
 * node references (merged as dtc merges them), {@code /delete-node/} and
 * {@code /delete-property/}, values made of strings (with C escapes), {@code < >} cells
 * (hex, decimal, octal, char literals, parenthesised integer expressions, {@code &label} and
 * {@code &{/path}} phandle references), {@code /bits/ 8|16|32|64 < >}, {@code [ ]} bytes and
 * {@code &label} path references, comments. {@code /include/} and preprocessor lines are not
 * supported.
 *
 * <p>Phandles for referenced nodes are assigned as dtc 1.6 does (lowest unused value from 1, in
 * the order references are met walking the tree; a {@code phandle} property appended to the
 * node), so the result flattens to a blob whose tree equals dtc's output.
 *
 * <p>Errors: {@link DeviceTreeException} with line:column.
 */
public final class Dts {
    private final String src;
    private int pos;
    private final Map<String, DeviceNode> labels = new HashMap<>();
    private final List<Fixup> fixups = new ArrayList<>();
    private final List<Fdt.MemReserve> memreserve = new ArrayList<>();

    /** A reference to resolve once the tree is complete. */
    private record Fixup(DeviceNode node, String prop, int offset, String ref, boolean path, int line, int col) {}

    /** Intermediate node while parsing: properties with pending refs are kept as byte buffers. */
    private Dts(String src) {
        this.src = src;
    }

    /** Parses DTS source into an {@link Fdt}. @throws DeviceTreeException with line:column */
    public static Fdt parse(String source) {
        if (source == null) {
            throw new DeviceTreeException(1, 1, "no source");
        }
        return new Dts(source).run();
    }

    private Fdt run() {
        DeviceNode root = DeviceNode.root();
        skipWs();
        expectWord("/dts-v1/");
        expect(';');
        skipWs();
        while (lookingAt("/memreserve/")) {
            pos += "/memreserve/".length();
            long a = number();
            long s = number();
            expect(';');
            memreserve.add(new Fdt.MemReserve(a, s));
            skipWs();
        }
        boolean sawRoot = false;
        while (true) {
            skipWs();
            if (pos >= src.length()) {
                break;
            }
            if (lookingAt("/dts-v1/")) {
                pos += 8;
                expect(';');
                continue;
            }
            if (lookingAt("/delete-node/")) {
                pos += "/delete-node/".length();
                skipWs();
                DeviceNode n = refTarget(root);
                expect(';');
                if (n != null && n.parent != null) {
                    deleteChild(n.parent, n);
                }
                continue;
            }
            List<String> lbls = labels();
            skipWs();
            char c = peek();
            if (c == '/') {
                pos++;
                for (String l : lbls) {
                    labels.put(l, root);
                }
                nodeBody(root);
                sawRoot = true;
            } else if (c == '&') {
                DeviceNode n = refTarget(root);
                for (String l : lbls) {
                    labels.put(l, n);
                }
                nodeBody(n);
            } else {
                throw err("expected '/' or '&label' at top level, found '" + c + "'");
            }
        }
        if (!sawRoot) {
            throw err("no root node");
        }
        resolveFixups(root);
        return new Fdt(root, memreserve, 0);
    }

    private void deleteChild(DeviceNode parent, DeviceNode n) {
        parent.removeChild(n);
        labels.values().removeIf(x -> x == n || x.path().startsWith(n.path() + "/"));
    }

    /** Resolves &label or &{/path} at pos (positioned on '&'). */
    private DeviceNode refTarget(DeviceNode root) {
        expect('&');
        String ref = refName();
        DeviceNode n = lookupRef(root, ref);
        if (n == null) {
            throw err("reference to undefined node " + ref);
        }
        return n;
    }

    private String refName() {
        if (peek() == '{') {
            int e = src.indexOf('}', pos);
            if (e < 0) {
                throw err("unterminated &{path}");
            }
            String p = src.substring(pos + 1, e);
            pos = e + 1;
            return "{" + p;
        }
        int s = pos;
        while (pos < src.length() && isLabelChar(src.charAt(pos))) {
            pos++;
        }
        if (s == pos) {
            throw err("label expected after '&'");
        }
        return src.substring(s, pos);
    }

    private DeviceNode lookupRef(DeviceNode root, String ref) {
        if (ref.startsWith("{")) {
            return new Of(root).ofFindNodeByPath(ref.substring(1));
        }
        return labels.get(ref);
    }

    /** Labels ("name:") before a node, property or value. */
    private List<String> labels() {
        List<String> out = new ArrayList<>();
        while (true) {
            skipWs();
            int s = pos;
            while (pos < src.length() && isLabelChar(src.charAt(pos))) {
                pos++;
            }
            if (pos > s && pos < src.length() && src.charAt(pos) == ':') {
                out.add(src.substring(s, pos));
                pos++;
            } else {
                pos = s;
                return out;
            }
        }
    }

    private int depth;
    private int exprDepth;

    private void nodeBody(DeviceNode node) {
        skipWs();
        expect('{');
        if (++depth > Fdt.MAX_DEPTH) {
            throw err("nodes nested deeper than " + Fdt.MAX_DEPTH);
        }
        while (true) {
            skipWs();
            if (peek() == '}') {
                pos++;
                expect(';');
                depth--;
                return;
            }
            if (lookingAt("/delete-property/")) {
                pos += "/delete-property/".length();
                skipWs();
                String n = name();
                expect(';');
                node.removeProperty(n);
                dropFixups(node, n);
                continue;
            }
            if (lookingAt("/delete-node/")) {
                pos += "/delete-node/".length();
                skipWs();
                String n = name();
                expect(';');
                DeviceNode c = node.child(n);
                if (c != null) {
                    deleteChild(node, c);
                }
                continue;
            }
            List<String> lbls = labels();
            skipWs();
            String n = name();
            skipWs();
            char c = peek();
            if (c == '{') {
                DeviceNode child = node.child(n);
                if (child == null || !child.fullName.equals(n)) {
                    child = node.addChild(n);
                }
                for (String l : lbls) {
                    labels.put(l, child);
                }
                nodeBody(child);
            } else if (c == ';' || c == '=') {
                pos++;
                // a redefinition replaces the value, and with it the references of the old one
                dropFixups(node, n);
                // propValue consumes up to and including the ';'
                byte[] v = c == ';' ? new byte[0] : propValue(node, n);
                node.setProperty(new Property(n, v));
            } else {
                throw err("expected '{', '=' or ';' after \"" + n + "\"");
            }
        }
    }

    /** Value after '=' up to ';' (consumed). */
    private byte[] propValue(DeviceNode node, String pname) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            labels();
            skipWs();
            char c = peek();
            if (c == '"') {
                byte[] s = string();
                out.write(s, 0, s.length);
                out.write(0);
            } else if (c == '<') {
                cells(node, pname, out, 32);
            } else if (lookingAt("/bits/")) {
                pos += 6;
                long bits = number();
                if (bits != 8 && bits != 16 && bits != 32 && bits != 64) {
                    throw err("/bits/ must be 8, 16, 32 or 64");
                }
                skipWs();
                cells(node, pname, out, (int) bits);
            } else if (c == '[') {
                pos++;
                bytes(out);
            } else if (c == '&') {
                int line = line();
                int col = col();
                pos++;
                String ref = refName();
                fixups.add(new Fixup(node, pname, out.size(), ref, true, line, col));
            } else {
                throw err("bad property value start '" + c + "'");
            }
            labels();
            skipWs();
            c = next();
            if (c == ';') {
                return out.toByteArray();
            }
            if (c != ',') {
                pos--;
                throw err("expected ',' or ';' in value of " + pname);
            }
        }
    }

    private void cells(DeviceNode node, String pname, ByteArrayOutputStream out, int bits) {
        expect('<');
        while (true) {
            labels();
            skipWs();
            char c = peek();
            if (c == '>') {
                pos++;
                return;
            }
            if (c == '&') {
                if (bits != 32) {
                    throw err("phandle reference in a /bits/ " + bits + " array");
                }
                int line = line();
                int col = col();
                pos++;
                String ref = refName();
                fixups.add(new Fixup(node, pname, out.size(), ref, false, line, col));
                writeN(out, 0, 32);
                continue;
            }
            long v;
            if (c == '(') {
                pos++;
                v = expr();
                skipWs();
                expect(')');
            } else if (c == '\'') {
                v = charLiteral();
            } else {
                v = number();
            }
            if (bits < 64 && (v >>> bits) != 0 && (v >> (bits - 1)) != -1) {
                throw err("value 0x" + Long.toHexString(v) + " does not fit in " + bits + " bits");
            }
            writeN(out, v, bits);
        }
    }

    private static void writeN(ByteArrayOutputStream out, long v, int bits) {
        for (int sh = bits - 8; sh >= 0; sh -= 8) {
            out.write((int) (v >>> sh));
        }
    }

    private void bytes(ByteArrayOutputStream out) {
        while (true) {
            skipWs();
            char c = peek();
            if (c == ']') {
                pos++;
                return;
            }
            int h = hex(next());
            skipWs();
            int l = hex(next());
            if (h < 0 || l < 0) {
                pos--;
                throw err("bad byte in [ ]");
            }
            out.write(h << 4 | l);
        }
    }

    private static int hex(char c) {
        return Character.digit(c, 16);
    }

    // ------------------------------------------------------------- integer expressions

    private long expr() {
        long v = exprOr();
        skipWs();
        if (peek() == '?') {
            pos++;
            long a = expr();
            skipWs();
            expect(':');
            long b = expr();
            return v != 0 ? a : b;
        }
        return v;
    }

    private long exprOr() {
        long v = exprXor();
        while (true) {
            skipWs();
            if (lookingAt("||")) {
                pos += 2;
                long r = exprXor();
                v = (v != 0 || r != 0) ? 1 : 0;
            } else if (peek() == '|') {
                pos++;
                v |= exprXor();
            } else {
                return v;
            }
        }
    }

    private long exprXor() {
        long v = exprAnd();
        while (true) {
            skipWs();
            if (peek() == '^') {
                pos++;
                v ^= exprAnd();
            } else {
                return v;
            }
        }
    }

    private long exprAnd() {
        long v = exprShift();
        while (true) {
            skipWs();
            if (lookingAt("&&")) {
                pos += 2;
                long r = exprShift();
                v = (v != 0 && r != 0) ? 1 : 0;
            } else if (peek() == '&') {
                pos++;
                v &= exprShift();
            } else {
                return v;
            }
        }
    }

    private long exprShift() {
        long v = exprAdd();
        while (true) {
            skipWs();
            if (lookingAt("<<")) {
                pos += 2;
                v <<= exprAdd();
            } else if (lookingAt(">>")) {
                pos += 2;
                v >>>= exprAdd();
            } else {
                return v;
            }
        }
    }

    private long exprAdd() {
        long v = exprMul();
        while (true) {
            skipWs();
            char c = peek();
            if (c == '+') {
                pos++;
                v += exprMul();
            } else if (c == '-') {
                pos++;
                v -= exprMul();
            } else {
                return v;
            }
        }
    }

    private long exprMul() {
        long v = exprUnary();
        while (true) {
            skipWs();
            char c = peek();
            if (c == '*') {
                pos++;
                v *= exprUnary();
            } else if (c == '/' || c == '%') {
                pos++;
                long d = exprUnary();
                if (d == 0) {
                    throw err("division by zero");
                }
                v = c == '/' ? Long.divideUnsigned(v, d) : Long.remainderUnsigned(v, d);
            } else {
                return v;
            }
        }
    }

    private long exprUnary() {
        if (++exprDepth > 256) {
            throw err("expression nested too deeply");
        }
        try {
            return exprUnary0();
        } finally {
            exprDepth--;
        }
    }

    private long exprUnary0() {
        skipWs();
        char c = peek();
        if (c == '-') {
            pos++;
            return -exprUnary();
        }
        if (c == '~') {
            pos++;
            return ~exprUnary();
        }
        if (c == '!') {
            pos++;
            return exprUnary() == 0 ? 1 : 0;
        }
        if (c == '(') {
            pos++;
            long v = expr();
            skipWs();
            expect(')');
            return v;
        }
        if (c == '\'') {
            return charLiteral();
        }
        return number();
    }

    private long charLiteral() {
        expect('\'');
        char c = next();
        long v = c == '\\' ? escape() : c;
        expect('\'');
        return v;
    }

    // ------------------------------------------------------------- lexical

    /** An integer literal: 0x hex, leading-0 octal, decimal; U/L suffixes ignored. */
    private long number() {
        skipWs();
        int s = pos;
        while (pos < src.length() && Character.isLetterOrDigit(src.charAt(pos))) {
            pos++;
        }
        String t = src.substring(s, pos).toLowerCase();
        while (t.endsWith("u") || t.endsWith("l")) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            if (t.startsWith("0x")) {
                return Long.parseUnsignedLong(t.substring(2), 16);
            }
            if (t.length() > 1 && t.startsWith("0")) {
                return Long.parseUnsignedLong(t.substring(1), 8);
            }
            return Long.parseUnsignedLong(t);
        } catch (NumberFormatException e) {
            pos = s;
            String shown = src.substring(s, Math.min(src.length(), s + 20));
            int cut = 0;
            while (cut < shown.length() && " \t\r\n>;,".indexOf(shown.charAt(cut)) < 0) {
                cut++;
            }
            throw err("bad number \"" + shown.substring(0, cut) + "\"");
        }
    }

    private byte[] string() {
        expect('"');
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            if (pos >= src.length()) {
                throw err("unterminated string");
            }
            char c = next();
            if (c == '"') {
                return out.toByteArray();
            }
            if (c == '\n') {
                throw err("newline in string");
            }
            if (c == '\\') {
                out.write((int) escape());
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
            }
        }
    }

    /** After a backslash. */
    private long escape() {
        char c = next();
        switch (c) {
            case 'n': return '\n';
            case 't': return '\t';
            case 'r': return '\r';
            case 'a': return 7;
            case 'b': return '\b';
            case 'v': return 11;
            case 'f': return '\f';
            case 'x': {
                int v = 0;
                int n = 0;
                while (n < 2 && pos < src.length() && hex(src.charAt(pos)) >= 0) {
                    v = v * 16 + hex(src.charAt(pos++));
                    n++;
                }
                if (n == 0) {
                    throw err("\\x without hex digits");
                }
                return v;
            }
            default:
                if (c >= '0' && c <= '7') {
                    int v = c - '0';
                    int n = 1;
                    while (n < 3 && pos < src.length() && src.charAt(pos) >= '0' && src.charAt(pos) <= '7') {
                        v = v * 8 + (src.charAt(pos++) - '0');
                        n++;
                    }
                    return v & 0xff;
                }
                return c;
        }
    }

    private static boolean isNameChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || ",._+*#?@-".indexOf(c) >= 0;
    }

    private static boolean isLabelChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    }

    private String name() {
        int s = pos;
        while (pos < src.length() && isNameChar(src.charAt(pos))) {
            pos++;
        }
        if (s == pos) {
            throw err("node or property name expected, found '" + peek() + "'");
        }
        return src.substring(s, pos);
    }

    private void skipWs() {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (Character.isWhitespace(c)) {
                pos++;
            } else if (src.startsWith("//", pos)) {
                int e = src.indexOf('\n', pos);
                pos = e < 0 ? src.length() : e + 1;
            } else if (src.startsWith("/*", pos)) {
                int e = src.indexOf("*/", pos + 2);
                if (e < 0) {
                    throw err("unterminated comment");
                }
                pos = e + 2;
            } else if (c == '#' && (pos == 0 || src.charAt(pos - 1) == '\n') && src.startsWith("#include", pos)) {
                throw err("preprocessor directives are not supported");
            } else {
                return;
            }
        }
    }

    private boolean lookingAt(String s) {
        return src.startsWith(s, pos);
    }

    private char peek() {
        if (pos >= src.length()) {
            throw err("unexpected end of input");
        }
        return src.charAt(pos);
    }

    private char next() {
        char c = peek();
        pos++;
        return c;
    }

    private void expect(char c) {
        skipWs();
        if (pos >= src.length() || src.charAt(pos) != c) {
            throw err("expected '" + c + "'" + (pos < src.length() ? ", found '" + src.charAt(pos) + "'" : ", found end of input"));
        }
        pos++;
    }

    private void expectWord(String w) {
        if (!lookingAt(w)) {
            throw err("expected " + w);
        }
        pos += w.length();
    }

    private int line() {
        int l = 1;
        for (int i = 0; i < Math.min(pos, src.length()); i++) {
            if (src.charAt(i) == '\n') {
                l++;
            }
        }
        return l;
    }

    private int col() {
        int ls = src.lastIndexOf('\n', Math.max(0, Math.min(pos, src.length()) - 1));
        return pos - ls;
    }

    private DeviceTreeException err(String msg) {
        return new DeviceTreeException(line(), col(), msg);
    }

    // ------------------------------------------------------------- references

    private int phandleCounter = 1;

    /** dtc's get_node_phandle: lowest unused value from the running counter. */
    private int nodePhandle(DeviceNode root, DeviceNode n) {
        if (n.phandle != 0 && n.phandle != -1) {
            return n.phandle;
        }
        while (root.findByPhandle(phandleCounter) != null) {
            phandleCounter++;
        }
        n.setProperty(Property.ofCells("phandle", phandleCounter));
        return n.phandle;
    }

    /** Forgets the pending references into {@code node}'s property {@code pname}. */
    private void dropFixups(DeviceNode node, String pname) {
        fixups.removeIf(f -> f.node() == node && f.prop().equals(pname));
    }

    private void resolveFixups(DeviceNode root) {
        // dtc resolves path references first (fixup_path_references runs after phandle ones, but
        // both are per node/property in tree order; path strings change lengths, so apply them
        // per property from the last offset backwards).
        List<DeviceNode> all = new ArrayList<>();
        DeviceNode.allNodes(root, all);
        for (DeviceNode n : all) {
            for (Property p : new ArrayList<>(n.properties())) {
                List<Fixup> fs = new ArrayList<>();
                for (Fixup f : fixups) {
                    if (f.node() == n && f.prop().equals(p.name)) {
                        fs.add(f);
                    }
                }
                if (fs.isEmpty()) {
                    continue;
                }
                byte[] v = n.findProperty(p.name).value();
                for (Fixup f : fs) {
                    if (f.path()) {
                        continue;
                    }
                    DeviceNode t = lookupRef(root, f.ref());
                    if (t == null) {
                        throw new DeviceTreeException(f.line(), f.col(), "reference to undefined node " + f.ref());
                    }
                    Be.put32(v, f.offset(), nodePhandle(root, t));
                }
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                int last = 0;
                for (Fixup f : fs) {
                    if (!f.path()) {
                        continue;
                    }
                    DeviceNode t = lookupRef(root, f.ref());
                    if (t == null) {
                        throw new DeviceTreeException(f.line(), f.col(), "reference to undefined node " + f.ref());
                    }
                    out.write(v, last, f.offset() - last);
                    byte[] path = t.path().getBytes(StandardCharsets.UTF_8);
                    out.write(path, 0, path.length);
                    out.write(0);
                    last = f.offset();
                }
                out.write(v, last, v.length - last);
                n.setProperty(new Property(p.name, out.toByteArray()));
            }
        }
    }

    // ------------------------------------------------------------- formatting

    /** A value in DTS syntax: a string list, cells, or bytes. */
    public static String formatValue(byte[] v) {
        if (v.length == 0) {
            return "";
        }
        if (v[v.length - 1] == 0 && v.length > 1) {
            boolean printable = true;
            boolean prevNul = true;
            for (int i = 0; i < v.length; i++) {
                int c = v[i] & 0xff;
                if (c == 0) {
                    if (prevNul) {
                        printable = false;
                        break;
                    }
                    prevNul = true;
                } else {
                    prevNul = false;
                    if (c < 0x20 || c > 0x7e) {
                        printable = false;
                        break;
                    }
                }
            }
            if (printable) {
                StringBuilder sb = new StringBuilder("\"");
                for (int i = 0; i < v.length - 1; i++) {
                    if (v[i] == 0) {
                        sb.append("\", \"");
                    } else {
                        char c = (char) v[i];
                        if (c == '"' || c == '\\') {
                            sb.append('\\');
                        }
                        sb.append(c);
                    }
                }
                return sb.append('"').toString();
            }
        }
        StringBuilder sb = new StringBuilder();
        if (v.length % 4 == 0) {
            sb.append('<');
            for (int i = 0; i < v.length; i += 4) {
                sb.append(i == 0 ? "" : " ").append("0x").append(Integer.toHexString(Be.get32(v, i)));
            }
            return sb.append('>').toString();
        }
        sb.append('[');
        for (int i = 0; i < v.length; i++) {
            sb.append(i == 0 ? "" : " ").append(String.format("%02x", v[i] & 0xff));
        }
        return sb.append(']').toString();
    }

    /** Formats a tree as DTS source (that {@link #parse} reads back to the same tree). */
    public static String format(Fdt fdt) {
        StringBuilder sb = new StringBuilder("/dts-v1/;\n\n");
        for (Fdt.MemReserve m : fdt.memreserve()) {
            sb.append(String.format("/memreserve/ 0x%x 0x%x;%n", m.address(), m.size()));
        }
        formatNode(fdt.root(), sb, 0);
        return sb.toString();
    }

    private static void formatNode(DeviceNode n, StringBuilder sb, int depth) {
        String ind = "\t".repeat(depth);
        sb.append(ind).append(n.parent == null ? "/" : n.fullName).append(" {\n");
        for (Property p : n.properties()) {
            sb.append(ind).append('\t').append(p.name);
            if (p.length() > 0) {
                sb.append(" = ").append(formatValue(p.raw()));
            }
            sb.append(";\n");
        }
        for (DeviceNode c : n.children()) {
            sb.append('\n');
            formatNode(c, sb, depth + 1);
        }
        sb.append(ind).append("};\n");
    }
}
