package org.iommu4j.of;

import static org.iommu4j.base.Errno.EFAULT;
import static org.iommu4j.base.Errno.EILSEQ;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODATA;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOENT;
import static org.iommu4j.base.Errno.EOVERFLOW;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.BusDmaRegion;
import org.iommu4j.base.device.Resource;

/**
 * The {@code of_*} API (drivers/of/base.c, property.c, address.c).
 *
 * <p>API shape: functions that in the kernel read the global {@code of_root} (path, compatible
 * and phandle searches) are <b>instance</b> methods of an {@code Of} built on a root node — the
 * kernel global becomes a field, so each test owns its tree. Everything that starts from a node
 * is a <b>static</b> method (a node knows its tree). C out-parameters are one-element arrays
 * ({@code int[] out}) or an {@link OfPhandleArgs}; int results are 0 / -errno as in the kernel.
 * Cells are u32 in Java {@code int}s; u64 in {@code long}s.
 */
public final class Of {
    /** {@code OF_BAD_ADDR}: an untranslatable address. */
    @Port("include/linux/of_address.h:OF_BAD_ADDR")
    public static final long OF_BAD_ADDR = -1L;
    @Port("include/linux/of.h:OF_ROOT_NODE_ADDR_CELLS_DEFAULT")
    public static final int OF_ROOT_NODE_ADDR_CELLS_DEFAULT = 1;
    @Port("include/linux/of.h:OF_ROOT_NODE_SIZE_CELLS_DEFAULT")
    public static final int OF_ROOT_NODE_SIZE_CELLS_DEFAULT = 1;
    /** {@code OF_MAX_ADDR_CELLS}. */
    @Port("drivers/of/of_private.h:OF_MAX_ADDR_CELLS")
    public static final int OF_MAX_ADDR_CELLS = 4;

    /** {@code of_root}. */
    public final DeviceNode ofRoot;

    public Of(DeviceNode root) {
        this.ofRoot = root.treeRoot();
    }

    /** An Of over the tree parsed from {@code blob}. */
    public static Of fromBlob(byte[] blob) {
        return new Of(Fdt.parse(blob).root());
    }

    // ------------------------------------------------------------- tree searches (of_root)

    /**
     * Finds a node by full path ("/smmuv3@9050000"), or by alias ("serial0" or "serial0/child"
     * via /aliases). Each path component must equal a child's full name, unit address
     * included, as __of_find_node_by_path compares them; an empty component (a doubled or
     * trailing '/') matches nothing. Anything from ':' on is options and ignored. Null if absent.
     */
    @Port("drivers/of/base.c:of_find_node_opts_by_path")
    public DeviceNode ofFindNodeByPath(String path) {
        if (path == null) {
            return null;
        }
        // Only "/" itself is the root: "/:opts" looks for an empty component and finds nothing.
        if (path.equals("/")) {
            return ofRoot;
        }
        int colon = path.indexOf(':');
        if (colon >= 0) {
            path = path.substring(0, colon);
        }
        DeviceNode np;
        if (path.startsWith("/")) {
            np = ofRoot;
        } else {
            int slash = path.indexOf('/');
            String alias = slash < 0 ? path : path.substring(0, slash);
            path = slash < 0 ? "" : path.substring(slash);
            DeviceNode aliases = ofRoot.child("aliases");
            String[] target = new String[1];
            if (aliases == null || ofPropertyReadString(aliases, alias, target) != 0 || !target[0].startsWith("/")) {
                return null;
            }
            np = ofFindNodeByPath(target[0]);
        }
        while (np != null && path.startsWith("/")) {
            path = path.substring(1);
            int end = path.indexOf('/');
            String comp = end < 0 ? path : path.substring(0, end);
            np = __ofFindNodeByPath(np, comp);
            path = end < 0 ? "" : path.substring(end);
        }
        return np;
    }

    /** The child whose full name (name@unit) is exactly {@code comp}; null for an empty one. */
    @Port("drivers/of/base.c:__of_find_node_by_path")
    private static DeviceNode __ofFindNodeByPath(DeviceNode parent, String comp) {
        if (comp.isEmpty()) {
            return null;
        }
        for (DeviceNode child : parent.children()) {
            if (child.fullName.equals(comp)) {
                return child;
            }
        }
        return null;
    }

    /** All nodes in {@code allnodes} order (depth-first, pre-order). */
    public List<DeviceNode> allnodes() {
        List<DeviceNode> l = new ArrayList<>();
        DeviceNode.allNodes(ofRoot, l);
        return l;
    }

    /**
     * Finds the next node after {@code from} (null: from the start) in allnodes order that is
     * compatible with {@code compatible} (and, if {@code type} is non-null, has that
     * device_type). Null when none.
     */
    @Port("drivers/of/base.c:of_find_compatible_node")
    public DeviceNode ofFindCompatibleNode(DeviceNode from, String type, String compatible) {
        List<DeviceNode> all = allnodes();
        int i = from == null ? 0 : indexOf(all, from) + 1;
        if (from != null && i == 0) {
            return null;
        }
        for (; i < all.size(); i++) {
            DeviceNode np = all.get(i);
            if (__ofDeviceIsCompatible(np, compatible, type, null) > 0) {
                return np;
            }
        }
        return null;
    }

    private static int indexOf(List<DeviceNode> all, DeviceNode n) {
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i) == n) {
                return i;
            }
        }
        return -1;
    }

    /** All nodes compatible with {@code compatible}, in allnodes order (for_each_compatible_node). */
    @Port("include/linux/of.h:for_each_compatible_node")
    public List<DeviceNode> forEachCompatibleNode(String type, String compatible) {
        List<DeviceNode> out = new ArrayList<>();
        for (DeviceNode np : allnodes()) {
            if (__ofDeviceIsCompatible(np, compatible, type, null) > 0) {
                out.add(np);
            }
        }
        return out;
    }

    /** The node whose phandle is {@code handle} (the first in allnodes order), or null; 0 never matches. */
    @Port("drivers/of/base.c:of_find_node_by_phandle")
    public DeviceNode ofFindNodeByPhandle(int handle) {
        return ofRoot.findByPhandle(handle);
    }

    // ------------------------------------------------------------- node helpers

    /** Reference counting is the GC's job here: returns {@code node}. */
    @Port("drivers/of/dynamic.c:of_node_get")
    public static DeviceNode ofNodeGet(DeviceNode node) {
        return node;
    }

    /** No-op (see {@link #ofNodeGet}). */
    @Port("drivers/of/dynamic.c:of_node_put")
    public static void ofNodePut(DeviceNode node) {
        // nothing to release
    }

    @Port("drivers/of/base.c:of_get_parent")
    public static DeviceNode ofGetParent(DeviceNode node) {
        return node == null ? null : node.parent;
    }

    /** The first child named {@code name} (node name without unit address), or null. */
    @Port("drivers/of/base.c:of_get_child_by_name")
    public static DeviceNode ofGetChildByName(DeviceNode node, String name) {
        if (node == null || name == null) {
            return null;
        }
        for (DeviceNode c : node.children()) {
            if (c.name.equals(name)) {
                return c;
            }
        }
        return null;
    }

    /** The next available child of {@code node} after {@code prev} (null: the first), or null. */
    @Port("drivers/of/base.c:of_get_next_available_child")
    public static DeviceNode ofGetNextAvailableChild(DeviceNode node, DeviceNode prev) {
        if (node == null) {
            return null;
        }
        boolean seen = prev == null;
        for (DeviceNode c : node.children()) {
            if (seen && ofDeviceIsAvailable(c)) {
                return c;
            }
            if (c == prev) {
                seen = true;
            }
        }
        return null;
    }

    /** {@code of_fwnode_handle}: the node itself stands for its fwnode. */
    @Port("include/linux/of.h:of_fwnode_handle")
    public static Object ofFwnodeHandle(DeviceNode node) {
        return node;
    }

    /** {@code of_node_full_name}: the path, "<no-node>" for null. */
    @Port("include/linux/of.h:of_node_full_name")
    public static String ofNodeFullName(DeviceNode node) {
        return node == null ? "<no-node>" : node.path();
    }

    // ------------------------------------------------------------- compatible / status

    /**
     * Match score of a node against compatible / type / name (the kernel's weighting: earlier
     * compatible entries score higher); 0 = no match.
     */
    @Port("drivers/of/base.c:__of_device_is_compatible")
    static int __ofDeviceIsCompatible(DeviceNode device, String compat, String type, String name) {
        int score = 0;
        if (compat != null && !compat.isEmpty()) {
            Property prop = device.findProperty("compatible");
            int index = 0;
            boolean found = false;
            if (prop != null) {
                for (String cp : strings(prop)) {
                    if (cp.equalsIgnoreCase(compat)) {
                        score = Integer.MAX_VALUE / 2 - (index << 2);
                        found = true;
                        break;
                    }
                    index++;
                }
            }
            if (!found) {
                return 0;
            }
        }
        if (type != null && !type.isEmpty()) {
            String[] t = new String[1];
            // __of_node_is_type: strcmp, case matters (compatible strings are compared without).
            if (ofPropertyReadString(device, "device_type", t) != 0 || !type.equals(t[0])) {
                return 0;
            }
            score += 2;
        }
        if (name != null && !name.isEmpty()) {
            if (!name.equals(device.name)) {
                return 0;
            }
            score++;
        }
        return score;
    }

    /** Positive if {@code device}'s compatible list contains {@code compat}, else 0. */
    @Port("drivers/of/base.c:of_device_is_compatible")
    public static int ofDeviceIsCompatible(DeviceNode device, String compat) {
        return __ofDeviceIsCompatible(device, compat, null, null);
    }

    /** Status absent, "okay" or "ok". */
    @Port("drivers/of/base.c:of_device_is_available")
    public static boolean ofDeviceIsAvailable(DeviceNode device) {
        if (device == null) {
            return false;
        }
        String[] s = new String[1];
        int r = ofPropertyReadString(device, "status", s);
        if (r == -EINVAL) {
            return true;
        }
        return r == 0 && (s[0].equals("okay") || s[0].equals("ok"));
    }

    /** Whether DMA from {@code np} is coherent: "dma-coherent" on it or an ancestor. */
    @Port("drivers/of/address.c:of_dma_is_coherent")
    public static boolean ofDmaIsCoherent(DeviceNode np) {
        for (DeviceNode n = np; n != null; n = n.parent) {
            if (ofPropertyReadBool(n, "dma-coherent")) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------- properties

    @Port("drivers/of/base.c:of_find_property")
    public static Property ofFindProperty(DeviceNode np, String name) {
        return np == null || name == null ? null : np.findProperty(name);
    }

    /**
     * The raw value of a property (a copy) or null; {@code lenp[0]} (if lenp non-null) gets its
     * length when the property exists and is left alone when it does not, as
     * __of_find_property writes it only on a match.
     */
    @Port("drivers/of/base.c:of_get_property")
    public static byte[] ofGetProperty(DeviceNode np, String name, int[] lenp) {
        Property p = ofFindProperty(np, name);
        if (p != null && lenp != null && lenp.length > 0) {
            lenp[0] = p.length();
        }
        return p == null ? null : p.value();
    }

    /** Whether a property exists (a boolean property: present = true). */
    @Port("include/linux/of.h:of_property_read_bool")
    public static boolean ofPropertyReadBool(DeviceNode np, String propname) {
        return ofFindProperty(np, propname) != null;
    }

    /** The property if at least {@code min} bytes long; else throws the errno (absent: EINVAL). */
    @Port("drivers/of/property.c:of_find_property_value_of_size")
    private static int checkSize(Property p, int min) {
        if (p == null) {
            return -EINVAL;
        }
        if (p.length() < min) {
            return -EOVERFLOW;
        }
        return 0;
    }

    /** Reads cell {@code index} of a u32 property. 0, -EINVAL absent, -EOVERFLOW too short. */
    @Port("drivers/of/property.c:of_property_read_u32_index")
    public static int ofPropertyReadU32Index(DeviceNode np, String propname, int index, int[] outValue) {
        Property p = ofFindProperty(np, propname);
        if (index < 0) {
            return -EINVAL;
        }
        int r = checkSize(p, (int) Math.min(Integer.MAX_VALUE, (index + 1L) * 4));
        if (r != 0) {
            return r;
        }
        outValue[0] = p.cell(index);
        return 0;
    }

    /** Reads one u32. 0, -EINVAL absent, -EOVERFLOW shorter than 4 bytes. */
    @Port("include/linux/of.h:of_property_read_u32")
    public static int ofPropertyReadU32(DeviceNode np, String propname, int[] outValue) {
        return ofPropertyReadU32Array(np, propname, outValue, 1);
    }

    /** Reads {@code sz} u32 cells into outValues. 0, -EINVAL absent, -EOVERFLOW too short. */
    @Port("drivers/of/property.c:of_property_read_variable_u32_array")
    public static int ofPropertyReadU32Array(DeviceNode np, String propname, int[] outValues, int sz) {
        Property p = ofFindProperty(np, propname);
        if (sz < 0 || sz > outValues.length) {
            return -EINVAL;
        }
        int r = checkSize(p, sz * 4);
        if (r != 0) {
            return r;
        }
        for (int i = 0; i < sz; i++) {
            outValues[i] = p.cell(i);
        }
        return 0;
    }

    /** Reads one u64 (two cells, high first). 0, -EINVAL absent, -EOVERFLOW too short. */
    @Port("drivers/of/property.c:of_property_read_u64")
    public static int ofPropertyReadU64(DeviceNode np, String propname, long[] outValue) {
        Property p = ofFindProperty(np, propname);
        int r = checkSize(p, 8);
        if (r != 0) {
            return r;
        }
        outValue[0] = Be.get64(p.raw(), 0);
        return 0;
    }

    /**
     * Number of u32 cells of a property; -EINVAL when absent or not a whole number of cells
     * (logged, as of_property_count_elems_of_size does).
     */
    @Port("include/linux/of.h:of_property_count_u32_elems")
    @Port("drivers/of/property.c:of_property_count_elems_of_size")
    public static int ofPropertyCountU32Elems(DeviceNode np, String propname) {
        Property p = ofFindProperty(np, propname);
        if (p == null) {
            return -EINVAL;
        }
        if (p.length() % 4 != 0) {
            Printk.prErr("size of %s in node %s is not a multiple of %d", propname, np.path(), 4);
            return -EINVAL;
        }
        return p.length() / 4;
    }

    /**
     * Reads the first string. 0; -EINVAL absent; -EILSEQ when the value is not NUL-terminated
     * (an empty property included).
     */
    @Port("drivers/of/property.c:of_property_read_string")
    public static int ofPropertyReadString(DeviceNode np, String propname, String[] outString) {
        Property p = ofFindProperty(np, propname);
        if (p == null) {
            return -EINVAL;
        }
        byte[] v = p.raw();
        int n = 0;
        while (n < v.length && v[n] != 0) {
            n++;
        }
        if (n >= v.length) {
            return -EILSEQ;
        }
        outString[0] = new String(v, 0, n, StandardCharsets.UTF_8);
        return 0;
    }

    /** Index of the NUL ending the string at {@code pos} of a string list, or -1 if unterminated. */
    private static int stringEnd(byte[] v, int pos) {
        for (int e = pos; e < v.length; e++) {
            if (v[e] == 0) {
                return e;
            }
        }
        return -1;
    }

    /**
     * Reads string {@code index} of a string list. 0; -EINVAL absent; -EILSEQ an unterminated
     * string before it; -ENODATA index past the end.
     */
    @Port("drivers/of/property.c:of_property_read_string_helper")
    public static int ofPropertyReadStringIndex(DeviceNode np, String propname, int index, String[] output) {
        Property p = ofFindProperty(np, propname);
        if (p == null) {
            return -EINVAL;
        }
        byte[] v = p.raw();
        int pos = 0;
        for (int i = 0; pos < v.length; i++) {
            int e = stringEnd(v, pos);
            if (e < 0) {
                return -EILSEQ;
            }
            if (i == index) {
                output[0] = new String(v, pos, e - pos, StandardCharsets.UTF_8);
                return 0;
            }
            pos = e + 1;
        }
        return -ENODATA;
    }

    /**
     * Number of strings in a string list; -EINVAL absent; -EILSEQ unterminated; -ENODATA when
     * empty (of_property_read_string_helper counts no string).
     */
    @Port("include/linux/of.h:of_property_count_strings")
    public static int ofPropertyCountStrings(DeviceNode np, String propname) {
        Property p = ofFindProperty(np, propname);
        if (p == null) {
            return -EINVAL;
        }
        byte[] v = p.raw();
        if (v.length > 0 && v[v.length - 1] != 0) {
            return -EILSEQ;
        }
        int n = 0;
        for (byte c : v) {
            if (c == 0) {
                n++;
            }
        }
        return n == 0 ? -ENODATA : n;
    }

    /**
     * Index of {@code string} in a string list, looked for in order: -EINVAL absent; -EILSEQ
     * when an unterminated string is reached before a match; -ENODATA not found.
     */
    @Port("drivers/of/property.c:of_property_match_string")
    public static int ofPropertyMatchString(DeviceNode np, String propname, String string) {
        Property p = ofFindProperty(np, propname);
        if (p == null) {
            return -EINVAL;
        }
        byte[] v = p.raw();
        int pos = 0;
        for (int i = 0; pos < v.length; i++) {
            int e = stringEnd(v, pos);
            if (e < 0) {
                return -EILSEQ;
            }
            if (string != null && string.equals(new String(v, pos, e - pos, StandardCharsets.UTF_8))) {
                return i;
            }
            pos = e + 1;
        }
        return -ENODATA;
    }

    /** The NUL-terminated strings of a value (a trailing unterminated piece is dropped). */
    static List<String> strings(Property p) {
        List<String> out = new ArrayList<>();
        byte[] v = p.raw();
        int pos = 0;
        while (pos < v.length) {
            int e = pos;
            while (e < v.length && v[e] != 0) {
                e++;
            }
            if (e >= v.length) {
                break;
            }
            out.add(new String(v, pos, e - pos, StandardCharsets.UTF_8));
            pos = e + 1;
        }
        return out;
    }

    // ------------------------------------------------------------- address cells and translation

    /** #address-cells that applies to {@code np}'s reg (from its parent upward; default 1). */
    @Port("drivers/of/base.c:of_n_addr_cells")
    public static int ofNAddrCells(DeviceNode np) {
        return nCells(np, "#address-cells", OF_ROOT_NODE_ADDR_CELLS_DEFAULT);
    }

    /** #size-cells that applies to {@code np}'s reg (from its parent upward; default 1). */
    @Port("drivers/of/base.c:of_n_size_cells")
    public static int ofNSizeCells(DeviceNode np) {
        return nCells(np, "#size-cells", OF_ROOT_NODE_SIZE_CELLS_DEFAULT);
    }

    private static int nCells(DeviceNode np, String prop, int dflt) {
        do {
            if (np.parent != null) {
                np = np.parent;
            }
            Property p = np.findProperty(prop);
            if (p != null && p.length() >= 4) {
                return p.cell(0);
            }
        } while (np.parent != null);
        return dflt;
    }

    /** The node's own #address-cells / #size-cells for its children (bus_count_cells). */
    private static int busCells(DeviceNode bus, String prop, int dflt) {
        Property p = bus == null ? null : bus.findProperty(prop);
        if (p != null && p.length() >= 4) {
            return p.cell(0);
        }
        return bus == null || bus.parent == null ? dflt : nCells(bus, prop, dflt);
    }

    /** Reads {@code cells} big-endian cells at {@code cellOff} as one number (up to 2 cells kept). */
    @Port("include/linux/of.h:of_read_number")
    public static long ofReadNumber(byte[] v, int cellOff, int cells) {
        long r = 0;
        for (int i = 0; i < cells; i++) {
            r = (r << 32) | (Be.get32(v, (cellOff + i) * 4) & 0xffffffffL);
        }
        return r;
    }

    /**
     * Whether {@code np} is a PCI bus for address translation: device_type "pci", "pciex",
     * "vci" or "ht", or, lacking a device_type, a node named "pcie" (accepted with a warning
     * printed once per tree).
     */
    @Port("drivers/of/address.c:of_bus_pci_match")
    static boolean ofBusPciMatch(DeviceNode np) {
        if (np == null) {
            return false;
        }
        String[] t = new String[1];
        if (ofPropertyReadString(np, "device_type", t) == 0
                && (t[0].equals("pci") || t[0].equals("pciex") || t[0].equals("vci") || t[0].equals("ht"))) {
            return true;
        }
        return ofNodeIsPcie(np);
    }

    @Port("drivers/of/address.c:of_node_is_pcie")
    private static boolean ofNodeIsPcie(DeviceNode np) {
        boolean isPcie = np.name.equals("pcie");
        if (isPcie && np.treeRoot().firstTime("of_node_is_pcie")) {
            Printk.prWarn("%s: Missing device_type", np.path());
        }
        return isPcie;
    }

    /**
     * Address cells of a child of {@code bus} (bus->count_cells): always 3 on a PCI bus,
     * else of_n_addr_cells.
     */
    @Port("drivers/of/address.c:of_bus_pci_count_cells")
    @Port("drivers/of/address.c:of_bus_default_count_cells")
    private static int countAddrCells(DeviceNode bus, boolean pci) {
        return pci ? 3 : busCells(bus, "#address-cells", OF_ROOT_NODE_ADDR_CELLS_DEFAULT);
    }

    /** Size cells of a child of {@code bus}: always 2 on a PCI bus, else of_n_size_cells. */
    private static int countSizeCells(DeviceNode bus, boolean pci) {
        return pci ? 2 : busCells(bus, "#size-cells", OF_ROOT_NODE_SIZE_CELLS_DEFAULT);
    }

    /**
     * Translates the {@code naddr}-cell address at cell {@code cellOff} of {@code reg} (a value of
     * {@code dev}) up through each parent's {@code ranges} to a CPU physical address.
     * Missing {@code ranges} on a bus = untranslatable; empty {@code ranges} = 1:1; a bus or
     * parent bus without size cells ({@code #size-cells = <0>}, the root's included) =
     * untranslatable. On a PCI bus (see {@link #ofBusPciMatch}) an address has 3 cells and a
     * size 2 whatever the properties say, and a range matches when both are I/O or both memory
     * (32- and 64-bit memory match each other; prefetchability does not count), as
     * of_bus_pci_map compares their IORESOURCE flags; a PCI parent keeps the range's space cell.
     *
     * @return the address, or {@link #OF_BAD_ADDR}
     */
    @Port("drivers/of/address.c:of_translate_address")
    public static long ofTranslateAddress(DeviceNode dev, byte[] reg, int cellOff) {
        return __ofTranslateAddress(dev, reg, cellOff, "ranges");
    }

    /**
     * Translates a device's bus address (as its DMA masters see memory) up through each
     * parent's {@code dma-ranges} to a CPU physical address; a bus without {@code dma-ranges}
     * translates 1:1 (the kernel's rule for DMA, where a missing {@code ranges} would be
     * untranslatable). The DMA parent is the node's parent (no {@code interconnects} here).
     *
     * @return the address, or {@link #OF_BAD_ADDR}
     */
    @Port("drivers/of/address.c:of_translate_dma_address")
    public static long ofTranslateDmaAddress(DeviceNode dev, byte[] reg, int cellOff) {
        return __ofTranslateAddress(dev, reg, cellOff, "dma-ranges");
    }

    @Port("drivers/of/address.c:__of_translate_address")
    private static long __ofTranslateAddress(DeviceNode dev, byte[] reg, int cellOff, String rprop) {
        DeviceNode bus = dev.parent;
        if (bus == null) {
            return OF_BAD_ADDR;
        }
        boolean pci = ofBusPciMatch(bus);
        int na = countAddrCells(bus, pci);
        int ns = countSizeCells(bus, pci);
        if (!OF_CHECK_COUNTS(na, ns) || (cellOff + na) * 4L > reg.length) {
            return OF_BAD_ADDR;
        }
        int[] addr = new int[na];
        for (int i = 0; i < na; i++) {
            addr[i] = Be.get32(reg, (cellOff + i) * 4);
        }
        DeviceNode cur = bus;
        for (int guard = 0; guard < Fdt.MAX_DEPTH + 1; guard++) {
            DeviceNode pbus = cur.parent;
            if (pbus == null) {
                return readCells(addr, 0, na);
            }
            boolean ppci = ofBusPciMatch(pbus);
            int pna = countAddrCells(pbus, ppci);
            int pns = countSizeCells(pbus, ppci);
            if (!OF_CHECK_COUNTS(pna, pns)) {
                Printk.prErr("Bad cell count for %s", cur.path());
                return OF_BAD_ADDR;
            }
            addr = ofTranslateOne(cur, pci, ppci, addr, na, ns, pna, rprop);
            if (addr == null) {
                return OF_BAD_ADDR;
            }
            na = pna;
            ns = pns;
            pci = ppci;
            cur = pbus;
        }
        return OF_BAD_ADDR;
    }

    /**
     * One level up: {@code addr} ({@code na} cells, a child address of {@code parent}) through
     * {@code parent}'s {@code rprop} into {@code pna} cells of the bus above. Null when it does
     * not translate (no {@code ranges} outside DMA, or no range holds the address).
     */
    @Port("drivers/of/address.c:of_translate_one")
    private static int[] ofTranslateOne(DeviceNode parent, boolean pci, boolean ppci, int[] addr, int na, int ns,
            int pna, String rprop) {
        Property ranges = parent.findProperty(rprop);
        if (ranges == null && !rprop.equals("dma-ranges")) {
            return null;
        }
        int[] out = new int[pna];
        long offset;
        if (ranges == null || ranges.length() == 0) {
            offset = readCells(addr, 0, na);
        } else {
            byte[] rv = ranges.raw();
            // A huge #size-cells from the blob makes one entry longer than the property.
            long rone = (long) na + pna + ns;
            offset = OF_BAD_ADDR;
            int base = 0;
            for (int e = 0; (e + 1L) * rone * 4 <= rv.length; e++) {
                base = (int) (e * rone);
                offset = pci ? ofBusPciMap(addr, rv, base, na, ns, pna)
                        : ofBusDefaultMap(addr, rv, base, na, ns, pna);
                if (offset != OF_BAD_ADDR) {
                    break;
                }
            }
            if (offset == OF_BAD_ADDR) {
                return null;
            }
            for (int i = 0; i < pna; i++) {
                out[i] = Be.get32(rv, (base + na + i) * 4);
            }
        }
        // pbus->translate: a PCI parent keeps its space cell, the rest is a plain number.
        int keep = ppci ? 1 : 0;
        ofBusDefaultTranslate(out, keep, pna - keep, offset);
        return out;
    }

    /** The offset of {@code addr} into the range at cell {@code base}, or OF_BAD_ADDR. */
    @Port("drivers/of/address.c:of_bus_default_map")
    private static long ofBusDefaultMap(int[] addr, byte[] range, int base, int na, int ns, int pna) {
        long cp = ofReadNumber(range, base, na);
        long s = ofReadNumber(range, base + na + pna, ns);
        long da = readCells(addr, 0, na);
        // u64 arithmetic: cp + s may wrap, as in C
        if (Long.compareUnsigned(da, cp) < 0 || Long.compareUnsigned(da, cp + s) >= 0) {
            return OF_BAD_ADDR;
        }
        return da - cp;
    }

    /**
     * As the default map on the cells after the space cell, once the address and the range
     * agree on I/O versus memory (their IORESOURCE_IO / IORESOURCE_MEM flags).
     */
    @Port("drivers/of/address.c:of_bus_pci_map")
    private static long ofBusPciMap(int[] addr, byte[] range, int base, int na, int ns, int pna) {
        long af = ofBusPciGetFlags(addr[0]);
        long rf = ofBusPciGetFlags(Be.get32(range, base * 4));
        if (((af ^ rf) & (Resource.IORESOURCE_MEM | Resource.IORESOURCE_IO)) != 0) {
            return OF_BAD_ADDR;
        }
        long cp = ofReadNumber(range, base + 1, na - 1);
        long s = ofReadNumber(range, base + na + pna, ns);
        long da = readCells(addr, 1, na - 1);
        if (Long.compareUnsigned(da, cp) < 0 || Long.compareUnsigned(da, cp + s) >= 0) {
            return OF_BAD_ADDR;
        }
        return da - cp;
    }

    /**
     * Adds {@code offset} to the {@code n}-cell number at {@code a[from]}: the sum (64 bits)
     * goes to the last two of those cells, any cell before them is cleared.
     */
    @Port("drivers/of/address.c:of_bus_default_translate")
    private static void ofBusDefaultTranslate(int[] a, int from, int n, long offset) {
        long v = readCells(a, from, n) + offset;
        for (int i = from; i < from + n; i++) {
            a[i] = 0;
        }
        if (n > 1) {
            a[from + n - 2] = (int) (v >>> 32);
        }
        if (n > 0) {
            a[from + n - 1] = (int) v;
        }
    }

    @Port("drivers/of/address.c:OF_CHECK_COUNTS")
    private static boolean OF_CHECK_COUNTS(int na, int ns) {
        return na > 0 && na <= OF_MAX_ADDR_CELLS && ns > 0;
    }

    /** {@code n} cells from {@code a[from]} as one number (of_read_number: the low 64 bits kept). */
    private static long readCells(int[] a, int from, int n) {
        long r = 0;
        for (int i = from; i < from + n; i++) {
            r = (r << 32) | (a[i] & 0xffffffffL);
        }
        return r;
    }

    /**
     * The {@code index}th address entry of {@code dev} translated to a CPU address, as a
     * resource named by {@code reg-names} or the node's full_name. The entries and their
     * flags come as of_get_address finds them: on a PCI bus ({@link #ofBusPciMatch}) from
     * {@code assigned-addresses} in 3 + 2 cells, flagged by their space cell (memory, 64-bit,
     * prefetchable, I/O; configuration space has none); elsewhere from {@code reg}, as memory.
     * 0; -EINVAL no such entry, no flags, or untranslatable.
     *
     * <p>An I/O entry translates to a logical port only once its host bridge registered the
     * I/O range (of_translate_ioport, pci_address_to_pio); nothing registers one here, so an
     * I/O entry is -EINVAL, as in the kernel before the host bridge has probed.
     */
    @Port("drivers/of/address.c:of_address_to_resource")
    public static int ofAddressToResource(DeviceNode dev, int index, Resource[] r) {
        long[] size = new long[1];
        long[] flags = new long[1];
        Property prop = ofGetAddress(dev, index, size, flags);
        if (prop == null) {
            return -EINVAL;
        }
        int cell = index * entryCells(dev);
        long taddr;
        if ((flags[0] & Resource.IORESOURCE_MEM) != 0) {
            taddr = ofTranslateAddress(dev, prop.raw(), cell);
        } else {
            return -EINVAL; // I/O (no logical port space registered) or no flags at all
        }
        if (taddr == OF_BAD_ADDR) {
            return -EINVAL;
        }
        String[] name = new String[1];
        if (ofPropertyReadStringIndex(dev, "reg-names", index, name) != 0) {
            name[0] = dev.fullName;
        }
        r[0] = new Resource(name[0], taddr, taddr + size[0] - 1, flags[0]);
        return 0;
    }

    /** Cells of one address entry of {@code dev} (its bus's count_cells); its parent exists. */
    private static int entryCells(DeviceNode dev) {
        boolean pci = ofBusPciMatch(dev.parent);
        return countAddrCells(dev.parent, pci) + countSizeCells(dev.parent, pci);
    }

    /**
     * The property holding {@code dev}'s address entries ("reg", or "assigned-addresses" on a
     * PCI bus) if it has an entry {@code index}, with that entry's size and bus flags; null if
     * the node is the root, its bus's address cell count is out of range, or there is no such
     * entry.
     */
    @Port("drivers/of/address.c:of_get_address")
    static Property ofGetAddress(DeviceNode dev, int index, long[] size, long[] flags) {
        DeviceNode parent = dev.parent;
        if (parent == null || index < 0) {
            return null;
        }
        boolean pci = ofBusPciMatch(parent);
        int na = countAddrCells(parent, pci);
        int ns = countSizeCells(parent, pci);
        if (na <= 0 || na > OF_MAX_ADDR_CELLS || ns < 0) {
            return null;
        }
        Property prop = dev.findProperty(pci ? "assigned-addresses" : "reg");
        if (prop == null) {
            return null;
        }
        long onesize = (long) na + ns;
        if ((index + 1L) * onesize * 4 > prop.length()) {
            return null;
        }
        byte[] v = prop.raw();
        int entry = (int) (index * onesize);
        if (size != null) {
            size[0] = ofReadNumber(v, entry + na, ns);
        }
        if (flags != null) {
            int w = Be.get32(v, entry * 4);
            flags[0] = pci ? ofBusPciGetFlags(w) : ofBusDefaultGetFlags(w);
        }
        return prop;
    }

    /** Number of {@code reg} entries of {@code dev}. */
    public static int ofAddressCount(DeviceNode dev) {
        Property reg = dev.findProperty("reg");
        int one = ofNAddrCells(dev) + ofNSizeCells(dev);
        if (reg == null || one <= 0) {
            return 0;
        }
        return reg.length() / (one * 4);
    }

    // ------------------------------------------------------------- ranges parsing

    /**
     * Space code of a PCI address's high cell to IORESOURCE_* flags: 01 I/O, 10 32-bit memory,
     * 11 64-bit memory, bit 30 prefetchable (IEEE 1275 PCI binding).
     */
    @Port("drivers/of/address.c:of_bus_pci_get_flags")
    static long ofBusPciGetFlags(int w) {
        long flags = 0;
        switch ((w >>> 24) & 0x03) {
            case 0x01:
                flags |= Resource.IORESOURCE_IO;
                break;
            case 0x02:
                flags |= Resource.IORESOURCE_MEM;
                break;
            case 0x03:
                flags |= Resource.IORESOURCE_MEM | Resource.IORESOURCE_MEM_64;
                break;
            default:
                break;
        }
        if ((w & 0x40000000) != 0) {
            flags |= Resource.IORESOURCE_PREFETCH;
        }
        return flags;
    }

    /** The default bus's flags: every range is memory. */
    @Port("drivers/of/address.c:of_bus_default_get_flags")
    static long ofBusDefaultGetFlags(int w) {
        return Resource.IORESOURCE_MEM;
    }

    @Port("drivers/of/address.c:parser_init")
    private static int parserInit(OfPciRangeParser parser, DeviceNode node, String name) {
        parser.node = node;
        parser.pna = ofNAddrCells(node);
        parser.na = busCells(node, "#address-cells", OF_ROOT_NODE_ADDR_CELLS_DEFAULT);
        parser.ns = busCells(node, "#size-cells", OF_ROOT_NODE_SIZE_CELLS_DEFAULT);
        parser.dma = name.equals("dma-ranges");
        parser.pci = ofBusPciMatch(node);
        Property p = node.findProperty(name);
        if (p == null) {
            return -ENOENT;
        }
        parser.value = p.raw();
        parser.range = 0;
        parser.end = p.length() / 4;
        return 0;
    }

    /** Starts parsing {@code node}'s {@code ranges}. 0, or -ENOENT when it has none. */
    @Port("drivers/of/address.c:of_pci_range_parser_init")
    public static int ofPciRangeParserInit(OfPciRangeParser parser, DeviceNode node) {
        return parserInit(parser, node, "ranges");
    }

    /** Starts parsing {@code node}'s {@code dma-ranges}. 0, or -ENOENT when it has none. */
    @Port("drivers/of/address.c:of_pci_dma_range_parser_init")
    public static int ofPciDmaRangeParserInit(OfPciRangeParser parser, DeviceNode node) {
        return parserInit(parser, node, "dma-ranges");
    }

    /**
     * Reads the next entry into {@code range}, merging the entries after it that continue it
     * (same flags, bus and CPU addresses both contiguous). Returns {@code range}, or null at
     * the end (a trailing partial entry is ignored). The CPU address is OF_BAD_ADDR when the
     * parent side does not translate.
     */
    @Port("drivers/of/address.c:of_pci_range_parser_one")
    public static OfPciRange ofPciRangeParserOne(OfPciRangeParser parser, OfPciRange range) {
        int na = parser.na;
        int ns = parser.ns;
        int np = parser.pna + na + ns;
        if (range == null || parser.value == null || na < 1 || np <= 0) {
            return null;
        }
        if (parser.range + np > parser.end) {
            return null;
        }
        // The PCI bus's first child cell is the space code, not part of the address.
        int busflagNa = parser.pci ? 1 : 0;
        range.flags = rangeFlags(parser, parser.range);
        range.pciAddr = ofReadNumber(parser.value, parser.range + busflagNa, na - busflagNa);
        range.cpuAddr = rangeCpuAddr(parser, parser.range + na);
        range.size = ofReadNumber(parser.value, parser.range + parser.pna + na, ns);
        parser.range += np;
        while (parser.range + np <= parser.end) {
            long flags = rangeFlags(parser, parser.range);
            long busAddr = ofReadNumber(parser.value, parser.range + busflagNa, na - busflagNa);
            long cpuAddr = rangeCpuAddr(parser, parser.range + na);
            long size = ofReadNumber(parser.value, parser.range + parser.pna + na, ns);
            if (flags != range.flags) {
                break;
            }
            if (busAddr != range.pciAddr + range.size || cpuAddr != range.cpuAddr + range.size) {
                break;
            }
            range.size += size;
            parser.range += np;
        }
        return range;
    }

    private static long rangeFlags(OfPciRangeParser parser, int cell) {
        int w = Be.get32(parser.value, cell * 4);
        return parser.pci ? ofBusPciGetFlags(w) : ofBusDefaultGetFlags(w);
    }

    private static long rangeCpuAddr(OfPciRangeParser parser, int cell) {
        return parser.dma ? ofTranslateDmaAddress(parser.node, parser.value, cell)
                : ofTranslateAddress(parser.node, parser.value, cell);
    }

    /**
     * A parsed range as a resource named after {@code np}: a memory range at its CPU address,
     * an I/O range at its logical port number. 0, or -EINVAL for an I/O range that cannot be
     * registered (empty, or its CPU addresses wrap, which an untranslated one's do), with
     * {@code res[0]} spanning OF_BAD_ADDR.
     *
     * <p>Logical I/O ports: v5.15 registers the range's CPU address with logic_pio
     * ({@code pci_register_io_range}, then {@code logic_pio_register_range}) and takes the port
     * number it gets. This port has one I/O space per machine, so the range starts at port 0,
     * as the first range registered does, and may fill the whole port space
     * ({@code IO_SPACE_LIMIT} + 1). A larger one is registered as 64 KiB with a warning, as
     * logic_pio does, while the resource keeps the size the tree gave.
     */
    @Port("drivers/of/address.c:of_pci_range_to_resource")
    public static int ofPciRangeToResource(OfPciRange range, DeviceNode np, Resource[] res) {
        long start;
        if ((range.flags & Resource.IORESOURCE_IO) != 0) {
            // pci_register_io_range
            if (range.size == 0 || Long.compareUnsigned(range.cpuAddr + range.size, range.cpuAddr) < 0) {
                res[0] = new Resource(np.fullName, OF_BAD_ADDR, OF_BAD_ADDR, range.flags);
                return -EINVAL;
            }
            // logic_pio_register_range: 64 KiB always fit in an empty port space.
            if (Long.compareUnsigned(range.size - 1, IO_SPACE_LIMIT) > 0) {
                Printk.prWarn("LOGIC PIO: Requested IO range too big, new size set to 64K");
            }
            start = 0;
        } else {
            start = range.cpuAddr;
        }
        res[0] = new Resource(np.fullName, start, start + range.size - 1, range.flags);
        return 0;
    }

    /** arm64's {@code IO_SPACE_LIMIT} ({@code PCI_IO_SIZE} - 1): 16 MiB of logical port space. */
    static final long IO_SPACE_LIMIT = 0xffffffL;

    /**
     * The inbound DMA windows of {@code np}: the first non-empty {@code dma-ranges} found from
     * the node upward (an empty one means 1:1 there and the search goes on; once one was seen,
     * a level without any is an error), each entry a region of {@code map[0]}. An entry whose
     * CPU side does not translate is logged and left out. 0, or -ENODEV when there is no
     * {@code dma-ranges} to go by.
     */
    @Port("drivers/of/address.c:of_dma_get_range")
    public static int ofDmaGetRange(DeviceNode np, BusDmaRegion[][] map) {
        DeviceNode node = np;
        Property ranges = null;
        boolean foundDmaRanges = false;
        while (node != null) {
            ranges = node.findProperty("dma-ranges");
            if (ranges != null && ranges.length() > 0) {
                break;
            }
            if (foundDmaRanges && ranges == null) {
                return -ENODEV;
            }
            foundDmaRanges = true;
            node = node.parent;
        }
        if (node == null || ranges == null) {
            Printk.prDebug("no dma-ranges found for node(%s)", np.path());
            return -ENODEV;
        }
        OfPciRangeParser parser = new OfPciRangeParser();
        ofPciDmaRangeParserInit(parser, node);
        List<BusDmaRegion> regions = new ArrayList<>();
        OfPciRange range = new OfPciRange();
        while (ofPciRangeParserOne(parser, range) != null) {
            Printk.prDebug("dma_addr(%x) cpu_addr(%x) size(%x)", range.pciAddr, range.cpuAddr, range.size);
            if (range.cpuAddr == OF_BAD_ADDR) {
                Printk.prErr("translation of DMA address(%x) to CPU address failed node(%s)", range.pciAddr, node.path());
                continue;
            }
            regions.add(new BusDmaRegion(range.cpuAddr, range.pciAddr, range.size, range.cpuAddr - range.pciAddr));
        }
        map[0] = regions.toArray(new BusDmaRegion[0]);
        return 0;
    }

    // ------------------------------------------------------------- phandles

    /**
     * {@code struct of_phandle_iterator}: a walk over the entries of a phandle list, each a
     * phandle (0 = an empty entry without arguments) followed by as many argument cells as
     * its target's {@code cellsName} property says (or {@code cellCount}).
     */
    @Port("include/linux/of.h:of_phandle_iterator")
    static final class OfPhandleIterator {
        String cellsName;
        int cellCount;
        DeviceNode parent;
        Property list;
        /** Cell indexes into list: end of the list, end of the current entry, next cell to read. */
        int listEnd;
        int phandleEnd;
        int cur;
        int phandle;
        DeviceNode node;
        int curCount;
    }

    /** Starts a walk over {@code listName}. 0; -EINVAL neither cells name nor count; -ENOENT absent. */
    @Port("drivers/of/base.c:of_phandle_iterator_init")
    static int ofPhandleIteratorInit(OfPhandleIterator it, DeviceNode np, String listName, String cellsName,
            int cellCount) {
        if (cellCount < 0 && cellsName == null) {
            return -EINVAL;
        }
        Property list = ofFindProperty(np, listName);
        if (list == null) {
            return -ENOENT;
        }
        it.cellsName = cellsName;
        it.cellCount = cellCount;
        it.parent = np;
        it.list = list;
        it.listEnd = list.cellCount();
        it.phandleEnd = 0;
        it.cur = 0;
        it.node = null;
        return 0;
    }

    /**
     * Steps to the next entry. 0; -ENOENT past the last entry; -EINVAL (logged) when the
     * phandle names no node or the node has no {@code cellsName} (and no default count was
     * given) while the cell count is needed, or the arguments run past the end.
     */
    @Port("drivers/of/base.c:of_phandle_iterator_next")
    static int ofPhandleIteratorNext(OfPhandleIterator it) {
        it.node = null;
        if (it.list == null || it.phandleEnd >= it.listEnd) {
            return -ENOENT;
        }
        it.cur = it.phandleEnd;
        it.phandle = it.list.cell(it.cur++);
        long count = 0;
        if (it.phandle != 0) {
            it.node = it.parent.findByPhandle(it.phandle);
            if (it.cellsName != null) {
                if (it.node == null) {
                    Printk.prErr("%s: could not find phandle %d", it.parent.path(), it.phandle);
                    return -EINVAL;
                }
                int[] c = new int[1];
                if (ofPropertyReadU32(it.node, it.cellsName, c) != 0) {
                    if (it.cellCount >= 0) {
                        c[0] = it.cellCount;
                    } else {
                        Printk.prErr("%s: could not get %s for %s", it.parent.path(), it.cellsName, it.node.path());
                        it.node = null;
                        return -EINVAL;
                    }
                }
                count = c[0] & 0xffffffffL;
            } else {
                count = it.cellCount;
            }
            if (it.cur + count > it.listEnd) {
                if (it.cellsName != null) {
                    Printk.prErr("%s: %s = %d found %d", it.parent.path(), it.cellsName, count, it.listEnd - it.cur);
                } else {
                    Printk.prErr("%s: phandle %s needs %d, found %d", it.parent.path(), ofNodeFullName(it.node),
                            count, it.listEnd - it.cur);
                }
                it.node = null;
                return -EINVAL;
            }
        }
        it.phandleEnd = (int) (it.cur + count);
        it.curCount = (int) count;
        return 0;
    }

    /** Copies the current entry's arguments (at most {@code size}). Return: how many. */
    @Port("drivers/of/base.c:of_phandle_iterator_args")
    static int ofPhandleIteratorArgs(OfPhandleIterator it, int[] args, int size) {
        int count = it.curCount;
        if (size < count) {
            // The kernel WARNs and truncates; the count comes from the blob, so this port
            // reports it without a WARN (bad input is not a kernel bug here).
            Printk.prErr("%s: %d args, truncated to %d", it.parent.path(), count, size);
            count = size;
        }
        for (int i = 0; i < count; i++) {
            args[i] = it.list.cell(it.cur++);
        }
        return count;
    }

    /**
     * Parses entry {@code index} of a phandle list {@code listName} whose target nodes give
     * their argument count in {@code cellsName} (or, if cellsName is null, {@code cellCount}).
     * 0 and {@code outArgs} filled (with a null np for a phandle naming no node when the count
     * is fixed); -ENOENT property absent (or np null), index past the end or an empty (phandle
     * 0) entry at index; -EINVAL a negative index, or a parse error on the way (see
     * of_phandle_iterator_next).
     */
    @Port("drivers/of/base.c:__of_parse_phandle_with_args")
    static int __ofParsePhandleWithArgs(DeviceNode np, String listName, String cellsName, int cellCount,
            int index, OfPhandleArgs outArgs) {
        if (index < 0) {
            return -EINVAL;
        }
        OfPhandleIterator it = new OfPhandleIterator();
        int rc = ofPhandleIteratorInit(it, np, listName, cellsName, cellCount);
        if (rc != 0) {
            return rc;
        }
        int curIndex = 0;
        while ((rc = ofPhandleIteratorNext(it)) == 0) {
            if (curIndex == index) {
                if (it.phandle == 0) {
                    return -ENOENT;
                }
                if (outArgs != null) {
                    int c = ofPhandleIteratorArgs(it, outArgs.args, OfPhandleArgs.MAX_PHANDLE_ARGS);
                    outArgs.np = it.node;
                    outArgs.argsCount = c;
                }
                return 0;
            }
            curIndex++;
        }
        return rc;
    }

    /** See {@link #__ofParsePhandleWithArgs}; e.g. ("iommus", "#iommu-cells"), ("msi-parent", "#msi-cells"). */
    @Port("drivers/of/base.c:of_parse_phandle_with_args")
    public static int ofParsePhandleWithArgs(DeviceNode np, String listName, String cellsName, int index,
            OfPhandleArgs outArgs) {
        return __ofParsePhandleWithArgs(np, listName, cellsName, cellsName == null ? 0 : -1, index, outArgs);
    }

    /** Phandle list with a fixed argument count per entry. */
    @Port("drivers/of/base.c:of_parse_phandle_with_fixed_args")
    public static int ofParsePhandleWithFixedArgs(DeviceNode np, String listName, int cellCount, int index,
            OfPhandleArgs outArgs) {
        return __ofParsePhandleWithArgs(np, listName, null, cellCount, index, outArgs);
    }

    /** The node of entry {@code index} of a plain phandle list, or null. */
    @Port("drivers/of/base.c:of_parse_phandle")
    public static DeviceNode ofParsePhandle(DeviceNode np, String phandleName, int index) {
        if (index < 0) {
            return null;
        }
        OfPhandleArgs a = new OfPhandleArgs();
        return __ofParsePhandleWithArgs(np, phandleName, null, 0, index, a) == 0 ? a.np : null;
    }

    /**
     * Number of entries of a phandle list; -ENOENT absent; -EINVAL malformed. Without a cells
     * name every cell is an entry (the list's length in cells, no node looked up).
     */
    @Port("drivers/of/base.c:of_count_phandle_with_args")
    public static int ofCountPhandleWithArgs(DeviceNode np, String listName, String cellsName) {
        if (cellsName == null) {
            Property list = ofFindProperty(np, listName);
            if (list == null) {
                return -ENOENT;
            }
            return list.length() / 4;
        }
        OfPhandleIterator it = new OfPhandleIterator();
        int rc = ofPhandleIteratorInit(it, np, listName, cellsName, -1);
        if (rc != 0) {
            return rc;
        }
        int curIndex = 0;
        while ((rc = ofPhandleIteratorNext(it)) == 0) {
            curIndex++;
        }
        if (rc != -ENOENT) {
            return rc;
        }
        return curIndex;
    }

    // ------------------------------------------------------------- of_map_id

    /**
     * Translates {@code id} through a {@code msi-map}/{@code iommu-map} style property of
     * {@code np}: entries {@code <id-base phandle out-base length>}; {@code id} is first ANDed
     * with {@code mapMaskName}'s value (default 0xffffffff).
     *
     * <p>Results as drivers/of/base.c:of_map_id (v5.15):
     * <ul>
     * <li>-EINVAL: np or mapName null, both target and idOut null, or a map whose length is 0 or
     *     not a multiple of 16 bytes;
     * <li>no map property: -ENODEV if a target is asked for, else {@code idOut = id}, 0
     *     (no map = no translation);
     * <li>-EFAULT: an entry's id-base has bits outside the mask;
     * <li>-ENODEV: the matching entry's phandle names no node;
     * <li>a match: {@code target[0]} = the entry's node (if target[0] was null; if it was set, only
     *     entries pointing at that node match), {@code idOut[0] = masked - id-base + out-base}, 0;
     * <li>nothing matches: pass-through, {@code idOut[0] = id}, 0 ({@code target[0]} untouched).
     * </ul>
     * Note: kernel-api.md §8 lists "-EFAULT for no matching entry"; the kernel passes the ID
     * through instead and reserves -EFAULT for a mask/id-base mismatch. This follows the kernel.
     *
     * @param target null, or a one-element in/out array (null element = any target)
     * @param idOut null, or a one-element out array
     */
    @Port("drivers/of/base.c:of_map_id")
    public static int ofMapId(DeviceNode np, int id, String mapName, String mapMaskName, DeviceNode[] target,
            int[] idOut) {
        if (np == null || mapName == null || (target == null && idOut == null)) {
            return -EINVAL;
        }
        Property map = np.findProperty(mapName);
        if (map == null) {
            if (target != null) {
                return -ENODEV;
            }
            idOut[0] = id;
            return 0;
        }
        int mapLen = map.length();
        if (mapLen == 0 || mapLen % 16 != 0) {
            Printk.prErr("%s", String.format("%s: Error: Bad %s length: %d", np.path(), mapName, mapLen));
            return -EINVAL;
        }
        int mapMask = 0xffffffff;
        if (mapMaskName != null) {
            int[] m = new int[1];
            if (ofPropertyReadU32(np, mapMaskName, m) == 0) {
                mapMask = m[0];
            }
        }
        int maskedId = mapMask & id;
        for (int e = 0; e < mapLen / 16; e++) {
            int idBase = map.cell(e * 4);
            int phandle = map.cell(e * 4 + 1);
            int outBase = map.cell(e * 4 + 2);
            int idLen = map.cell(e * 4 + 3);
            if ((idBase & ~mapMask) != 0) {
                Printk.prErr("%s", String.format("%s: Invalid %s translation - %s-mask (0x%x) ignores id-base (0x%x)",
                        np.path(), mapName, mapName, mapMask, idBase));
                return -EFAULT;
            }
            long m = maskedId & 0xffffffffL;
            long b = idBase & 0xffffffffL;
            // u32 arithmetic: id_base + id_len wraps as in C
            long lim = (b + (idLen & 0xffffffffL)) & 0xffffffffL;
            if (m < b || m >= lim) {
                continue;
            }
            DeviceNode phandleNode = np.findByPhandle(phandle);
            if (phandleNode == null) {
                return -ENODEV;
            }
            if (target != null) {
                if (target[0] == null) {
                    target[0] = phandleNode;
                }
                if (target[0] != phandleNode) {
                    continue;
                }
            }
            if (idOut != null) {
                idOut[0] = maskedId - idBase + outBase;
            }
            return 0;
        }
        Printk.prInfo("%s", String.format("%s: no %s translation for id 0x%x on %s", np.path(), mapName, id,
                target != null && target[0] != null ? target[0].path() : "(null)"));
        if (idOut != null) {
            idOut[0] = id;
        }
        return 0;
    }
}
