package org.iommu4j.of;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.iommu4j.base.Port;

/**
 * {@code struct device_node}: one node of an unflattened device tree.
 *
 * <p>Fields follow v5.15: {@link #name} is the node name without the unit address ("smmuv3"),
 * {@link #fullName} the node name with it ("smmuv3@9050000"; "/" for the root); the path
 * ({@code %pOF}) is {@link #path()}. {@link #phandle} is the value of the {@code phandle} (or
 * {@code linux,phandle}) property, 0 when none. Properties keep blob order.
 *
 * <p>Trees are built by {@link Fdt#parse}, {@link Dts#parse} or programmatically with
 * {@link #root()}, {@link #addChild} and {@link #setProperty}. A tree is not thread-safe while
 * being modified; once built it may be read concurrently (the phandle index is built under the
 * root's monitor).
 */
@Port("include/linux/of.h:device_node")
public final class DeviceNode {
    public final String name;
    public final String fullName;
    public int phandle;
    public final DeviceNode parent;
    private final List<Property> properties = new ArrayList<>();
    private final List<DeviceNode> children = new ArrayList<>();
    /** OF_POPULATED: a platform device was created for this node. */
    volatile boolean populated;
    /** Root only: phandle -> node, built on demand, dropped on any change. */
    private Map<Integer, DeviceNode> phandleIndex;
    /** Root only: the pr_warn_once sites that already printed for this tree (its "boot"). */
    private Set<String> warnedOnce;

    private DeviceNode(DeviceNode parent, String fullName) {
        this.parent = parent;
        this.fullName = fullName;
        int at = fullName.indexOf('@');
        this.name = at < 0 ? fullName : fullName.substring(0, at);
    }

    /**
     * True the first time it is asked for {@code site} on this tree, then false: a
     * pr_warn_once whose "once" is per tree, as each tree stands for one boot. Call on the root.
     */
    synchronized boolean firstTime(String site) {
        if (warnedOnce == null) {
            warnedOnce = new HashSet<>();
        }
        return warnedOnce.add(site);
    }

    /** A new empty tree root ("/"). */
    public static DeviceNode root() {
        return new DeviceNode(null, "/");
    }

    /** Appends a child named {@code fullName} (e.g. "smmuv3@9050000") and returns it. */
    public DeviceNode addChild(String fullName) {
        if (fullName == null || fullName.isEmpty() || fullName.indexOf('/') >= 0) {
            throw new IllegalArgumentException("bad node name: " + fullName);
        }
        DeviceNode c = new DeviceNode(this, fullName);
        children.add(c);
        treeRoot().phandleIndex = null;
        return c;
    }

    /** Removes a direct child; returns whether it was one. */
    public boolean removeChild(DeviceNode child) {
        boolean r = children.remove(child);
        if (r) {
            treeRoot().phandleIndex = null;
        }
        return r;
    }

    /** Adds or replaces a property (a replaced one keeps its position); updates {@link #phandle}. */
    public DeviceNode setProperty(Property p) {
        for (int i = 0; i < properties.size(); i++) {
            if (properties.get(i).name.equals(p.name)) {
                properties.set(i, p);
                notePhandle(p);
                return this;
            }
        }
        properties.add(p);
        notePhandle(p);
        return this;
    }

    /** Removes a property by name; returns whether it existed. */
    public boolean removeProperty(String pname) {
        boolean r = properties.removeIf(p -> p.name.equals(pname));
        if (r && (pname.equals("phandle") || pname.equals("linux,phandle"))) {
            phandle = 0;
            treeRoot().phandleIndex = null;
        }
        return r;
    }

    private void notePhandle(Property p) {
        if ((p.name.equals("phandle") || p.name.equals("linux,phandle")) && p.length() == 4) {
            phandle = p.cell(0);
            treeRoot().phandleIndex = null;
        }
    }

    /** Properties in order (unmodifiable view). */
    public List<Property> properties() {
        return Collections.unmodifiableList(properties);
    }

    /** Children in order (unmodifiable view). */
    public List<DeviceNode> children() {
        return Collections.unmodifiableList(children);
    }

    /** The property named {@code pname}, or null. */
    public Property findProperty(String pname) {
        for (Property p : properties) {
            if (p.name.equals(pname)) {
                return p;
            }
        }
        return null;
    }

    /** The direct child whose full_name (or, failing that, name) is {@code n}, or null. */
    public DeviceNode child(String n) {
        for (DeviceNode c : children) {
            if (c.fullName.equals(n)) {
                return c;
            }
        }
        if (n.indexOf('@') < 0) {
            for (DeviceNode c : children) {
                if (c.name.equals(n)) {
                    return c;
                }
            }
        }
        return null;
    }

    /** The root of this node's tree. */
    public DeviceNode treeRoot() {
        DeviceNode n = this;
        while (n.parent != null) {
            n = n.parent;
        }
        return n;
    }

    /** The full path ("/", "/smmuv3@9050000"), what the kernel prints with {@code %pOF}. */
    public String path() {
        if (parent == null) {
            return "/";
        }
        String pp = parent.path();
        return (pp.equals("/") ? "" : pp) + "/" + fullName;
    }

    /**
     * Node lookup by phandle within this node's tree (the first in allnodes order); null when
     * none or for phandle 0, as of_find_node_by_phandle (0xffffffff is looked up like any other).
     */
    DeviceNode findByPhandle(int ph) {
        if (ph == 0) {
            return null;
        }
        DeviceNode r = treeRoot();
        synchronized (r) {
            if (r.phandleIndex == null) {
                Map<Integer, DeviceNode> m = new HashMap<>();
                List<DeviceNode> all = new ArrayList<>();
                allNodes(r, all);
                for (DeviceNode n : all) {
                    if (n.phandle != 0) {
                        m.putIfAbsent(n.phandle, n);
                    }
                }
                r.phandleIndex = m;
            }
            return r.phandleIndex.get(ph);
        }
    }

    /** Depth-first pre-order (the kernel's allnodes order). */
    static void allNodes(DeviceNode n, List<DeviceNode> out) {
        // iterative to survive very deep trees
        java.util.ArrayDeque<DeviceNode> stack = new java.util.ArrayDeque<>();
        stack.push(n);
        while (!stack.isEmpty()) {
            DeviceNode x = stack.pop();
            out.add(x);
            for (int i = x.children.size() - 1; i >= 0; i--) {
                stack.push(x.children.get(i));
            }
        }
    }

    /** Structural equality of two subtrees (names, properties, children, in order). */
    public boolean sameTree(DeviceNode o) {
        if (!fullName.equals(o.fullName) || !properties.equals(o.properties)
                || children.size() != o.children.size()) {
            return false;
        }
        for (int i = 0; i < children.size(); i++) {
            if (!children.get(i).sameTree(o.children.get(i))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return path();
    }
}
