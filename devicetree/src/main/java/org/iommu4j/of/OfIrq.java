package org.iommu4j.of;

import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.EOVERFLOW;

import java.util.List;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.hw.IrqController;

/**
 * Interrupt specifiers (drivers/of/irq.c) and their translation by the controller's IRQ domain.
 *
 * <p><b>IRQ numbers.</b> There is no virtual IRQ mapping layer here: {@link #ofIrqGet} and the
 * IRQ resources made by {@link #ofIrqToResource} carry the <em>hardware</em> IRQ number the
 * controller's domain translation gives — for a GIC ({@code #interrupt-cells = <3>}),
 * {@code <0 n flags>} (SPI n) is hwirq n + 32 and {@code <1 n flags>} (PPI n) is n + 16, as
 * gic_irq_domain_translate; for one- and two-cell controllers, the first cell. The platform maps
 * hwirqs to its own IRQ numbers. The trigger type (IRQ_TYPE_*, the low 4 bits of the flags cell)
 * goes into the resource flags, as the kernel's IORESOURCE_IRQ_* bits share those values.
 *
 * <p>Scope: {@code interrupts}, {@code interrupts-extended}, {@code interrupt-parent} (inherited
 * through parents), {@code interrupt-names}. {@code interrupt-map} (PCI INTx swizzling) is not
 * translated: a specifier that would need it gives -EINVAL.
 */
public final class OfIrq {
    private OfIrq() {}

    @Port("include/dt-bindings/interrupt-controller/irq.h:IRQ_TYPE_NONE")
    public static final int IRQ_TYPE_NONE = 0;
    public static final int IRQ_TYPE_EDGE_RISING = 1;
    public static final int IRQ_TYPE_EDGE_FALLING = 2;
    public static final int IRQ_TYPE_EDGE_BOTH = 3;
    public static final int IRQ_TYPE_LEVEL_HIGH = 4;
    public static final int IRQ_TYPE_LEVEL_LOW = 8;
    public static final int IRQ_TYPE_SENSE_MASK = 0xf;
    /** GIC specifier cell 0 values. */
    @Port("include/dt-bindings/interrupt-controller/arm-gic.h:GIC_SPI")
    public static final int GIC_SPI = 0;
    @Port("include/dt-bindings/interrupt-controller/arm-gic.h:GIC_PPI")
    public static final int GIC_PPI = 1;

    /** A translated interrupt: hardware IRQ number and IRQ_TYPE_* trigger. */
    public record HwIrq(int hwirq, int type) {}

    /**
     * The interrupt parent of {@code child}: its {@code interrupt-parent} phandle or its parent
     * node, repeated until a node with {@code #interrupt-cells}. Null if none. Phandle loops
     * (a -> b -> a without #interrupt-cells) end after {@link #MAX_PARENT_HOPS} steps (null).
     */
    @Port("drivers/of/irq.c:of_irq_find_parent")
    public static DeviceNode ofIrqFindParent(DeviceNode child) {
        if (child == null) {
            return null;
        }
        int guard = 0;
        int limit = MAX_PARENT_HOPS;
        DeviceNode p;
        do {
            int[] ph = new int[1];
            if (Of.ofPropertyReadU32(child, "interrupt-parent", ph) != 0) {
                p = child.parent;
            } else {
                p = child.findByPhandle(ph[0]);
            }
            child = p;
            if (++guard > limit) {
                return null;
            }
        } while (p != null && p.findProperty("#interrupt-cells") == null);
        return p;
    }

    /**
     * Bound on interrupt-parent hops (not in the kernel, which loops forever on a phandle
     * cycle): parent chains are at most {@link Fdt#MAX_DEPTH} deep, and no real tree chains
     * this many controllers.
     */
    public static final int MAX_PARENT_HOPS = 256;

    /**
     * Resolves interrupt specifier {@code index} of {@code device} into {@code outIrq}
     * (controller node + cells). {@code interrupts-extended} is tried first; if it gives
     * nothing for this index (absent, past its end, malformed) the {@code interrupts} property
     * of the interrupt parent's format is read, as v5.15 does.
     * 0; -EINVAL no parent, no {@code #interrupt-cells}, no {@code interrupts}, or an
     * interrupt-map on the way; -EOVERFLOW index past the end of {@code interrupts}.
     */
    @Port("drivers/of/irq.c:of_irq_parse_one")
    public static int ofIrqParseOne(DeviceNode device, int index, OfPhandleArgs outIrq) {
        if (device == null || index < 0) {
            return -EINVAL;
        }
        int res = Of.ofParsePhandleWithArgs(device, "interrupts-extended", "#interrupt-cells", index, outIrq);
        if (res == 0) {
            return ofIrqParseRaw(outIrq);
        }
        DeviceNode p = ofIrqFindParent(device);
        if (p == null) {
            return -EINVAL;
        }
        int[] intsize = new int[1];
        if (Of.ofPropertyReadU32(p, "#interrupt-cells", intsize) != 0) {
            return -EINVAL;
        }
        long n = intsize[0] & 0xffffffffL;
        if (n > OfPhandleArgs.MAX_PHANDLE_ARGS) {
            return -EINVAL; // would overrun the specifier's args
        }
        outIrq.np = p;
        outIrq.argsCount = (int) n;
        int[] cell = new int[1];
        for (int i = 0; i < n; i++) {
            long at = index * n + i;
            res = at > Integer.MAX_VALUE ? -EOVERFLOW : Of.ofPropertyReadU32Index(device, "interrupts", (int) at, cell);
            if (res != 0) {
                return res;
            }
            outIrq.args[i] = cell[0];
        }
        return ofIrqParseRaw(outIrq);
    }

    /** Follows interrupt parents until an {@code interrupt-controller}; interrupt-map unsupported. */
    @Port("drivers/of/irq.c:of_irq_parse_raw")
    static int ofIrqParseRaw(OfPhandleArgs outIrq) {
        DeviceNode ipar = outIrq.np;
        int limit = MAX_PARENT_HOPS;
        for (int guard = 0; ipar != null && guard <= limit; guard++) {
            int[] cells = new int[1];
            if (Of.ofPropertyReadU32(ipar, "#interrupt-cells", cells) != 0 || cells[0] != outIrq.argsCount) {
                return -EINVAL;
            }
            if (Of.ofPropertyReadBool(ipar, "interrupt-controller")) {
                outIrq.np = ipar;
                return 0;
            }
            if (ipar.findProperty("interrupt-map") != null) {
                return -EINVAL;
            }
            ipar = ofIrqFindParent(ipar);
        }
        return -EINVAL;
    }

    /**
     * The controller domain's xlate: GIC three-cell (SPI/PPI), else one/two-cell.
     * -EINVAL for a specifier the controller rejects (fewer than 3 cells, unknown type).
     */
    @Port("drivers/irqchip/irq-gic-v3.c:gic_irq_domain_translate")
    public static int irqDomainTranslate(OfPhandleArgs spec, HwIrq[] out) {
        if (spec.argsCount >= 3 && isGic(spec.np)) {
            int type = spec.args[0];
            int n = spec.args[1];
            int hw;
            if (type == GIC_SPI) {
                hw = n + 32;
            } else if (type == GIC_PPI) {
                hw = n + 16;
            } else {
                return -EINVAL;
            }
            if (Integer.compareUnsigned(n, 0x10000) >= 0) {
                return -EINVAL;
            }
            out[0] = new HwIrq(hw, spec.args[2] & IRQ_TYPE_SENSE_MASK);
            return 0;
        }
        if (spec.argsCount == 1) {
            out[0] = new HwIrq(spec.args[0], IRQ_TYPE_NONE);
            return 0;
        }
        if (spec.argsCount == 2) {
            out[0] = new HwIrq(spec.args[0], spec.args[1] & IRQ_TYPE_SENSE_MASK);
            return 0;
        }
        return -EINVAL;
    }

    private static boolean isGic(DeviceNode np) {
        Property c = np == null ? null : np.findProperty("compatible");
        if (c == null) {
            return false;
        }
        for (String s : Of.strings(c)) {
            if (s.startsWith("arm,gic") || s.equals("arm,cortex-a15-gic") || s.equals("arm,cortex-a9-gic")) {
                return true;
            }
        }
        int[] cells = new int[1];
        return Of.ofPropertyReadU32(np, "#interrupt-cells", cells) == 0 && cells[0] == 3;
    }

    /**
     * Hardware IRQ number of interrupt {@code index} (see the class note), or -EINVAL.
     * (The kernel returns a virq; here no mapping layer exists.)
     */
    @Port("drivers/of/irq.c:of_irq_get")
    public static int ofIrqGet(DeviceNode dev, int index) {
        HwIrq[] h = new HwIrq[1];
        int r = parseAndTranslate(dev, index, h);
        return r != 0 ? r : h[0].hwirq();
    }

    private static int parseAndTranslate(DeviceNode dev, int index, HwIrq[] h) {
        OfPhandleArgs oirq = new OfPhandleArgs();
        int r = ofIrqParseOne(dev, index, oirq);
        if (r != 0) {
            return r;
        }
        return irqDomainTranslate(oirq, h);
    }

    /** Hardware IRQ number of the interrupt named {@code name} in interrupt-names; -EINVAL/-ENODATA if none. */
    @Port("drivers/of/irq.c:of_irq_get_byname")
    public static int ofIrqGetByname(DeviceNode dev, String name) {
        if (name == null) {
            return -EINVAL;
        }
        int index = Of.ofPropertyMatchString(dev, "interrupt-names", name);
        if (index < 0) {
            return index;
        }
        return ofIrqGet(dev, index);
    }

    /** Number of interrupts that parse. */
    @Port("drivers/of/irq.c:of_irq_count")
    public static int ofIrqCount(DeviceNode dev) {
        OfPhandleArgs irq = new OfPhandleArgs();
        int nr = 0;
        while (nr < 4096 && ofIrqParseOne(dev, nr, irq) == 0) {
            nr++;
        }
        return nr;
    }

    /**
     * IRQ resource for interrupt {@code index}: start = end = hwirq, flags IORESOURCE_IRQ | the
     * trigger type, named by interrupt-names (else the node's full_name). Returns the hwirq
     * (> 0... or 0 for hwirq 0) on success, -errno on failure (the kernel returns the virq, 0 on
     * failure).
     */
    @Port("drivers/of/irq.c:of_irq_to_resource")
    public static int ofIrqToResource(DeviceNode dev, int index, Resource[] r) {
        HwIrq[] h = new HwIrq[1];
        int rc = parseAndTranslate(dev, index, h);
        if (rc != 0) {
            return rc;
        }
        String[] name = new String[1];
        if (Of.ofPropertyReadStringIndex(dev, "interrupt-names", index, name) != 0) {
            name[0] = dev.fullName;
        }
        r[0] = new Resource(name[0], h[0].hwirq(), h[0].hwirq(), Resource.IORESOURCE_IRQ | h[0].type());
        return h[0].hwirq();
    }

    /** Fills up to {@code nrIrqs} IRQ resources; returns how many were made. */
    @Port("drivers/of/irq.c:of_irq_to_resource_table")
    public static int ofIrqToResourceTable(DeviceNode dev, List<Resource> res, int nrIrqs) {
        int i;
        Resource[] r = new Resource[1];
        for (i = 0; i < nrIrqs; i++, res.add(r[0])) {
            if (ofIrqToResource(dev, i, r) < 0) {
                break;
            }
        }
        return i;
    }

    /* ---------------- MSI: msi-map and msi-parent ---------------- */

    /**
     * Maps {@code idIn} through the first {@code msi-map} found on {@code dev} or its parents
     * (a PCI function's is on its host bridge's platform device). {@code np[0]}: in, the MSI
     * controller wanted (null = any); out, the controller the entry names. Returns the mapped ID,
     * or {@code idIn} when no ancestor maps it.
     */
    @Port("drivers/of/irq.c:__of_msi_map_id")
    static int __ofMsiMapId(Device dev, DeviceNode[] np, int idIn) {
        int[] idOut = {idIn};
        for (Device parent = dev; parent != null; parent = parent.parent) {
            DeviceNode node = parent.ofNode instanceof DeviceNode n ? n : null;
            if (Of.ofMapId(node, idIn, "msi-map", "msi-map-mask", np, idOut) == 0) {
                break;
            }
        }
        return idOut[0];
    }

    /** The MSI ID (e.g. an ITS DeviceID) {@code idIn} of {@code dev} becomes at controller {@code msiNp}. */
    @Port("drivers/of/irq.c:of_msi_map_id")
    public static int ofMsiMapId(Device dev, DeviceNode msiNp, int idIn) {
        return __ofMsiMapId(dev, new DeviceNode[] {msiNp}, idIn);
    }

    /**
     * The irq domain with {@code busToken} of the MSI controller {@code msi-map} sends
     * {@code id} to, or null (no map on the way, or the controller has no such domain: no
     * driver took it).
     */
    @Port("drivers/of/irq.c:of_msi_map_get_device_domain")
    public static Object ofMsiMapGetDeviceDomain(Device dev, int id, int busToken, IrqController irqs) {
        DeviceNode[] np = {null};
        __ofMsiMapId(dev, np, id);
        return irqs.irqFindMatchingHost(np[0], busToken);
    }

    /**
     * The irq domain with {@code token} of the controller {@code np}'s {@code msi-parent} names,
     * or null. A single phandle to a controller without {@code #msi-cells} is the simple form;
     * the form with cells is searched only for platform MSI, as v5.15 does.
     */
    @Port("drivers/of/irq.c:of_msi_get_domain")
    public static Object ofMsiGetDomain(Device dev, DeviceNode np, int token, IrqController irqs) {
        DeviceNode msiNp = Of.ofParsePhandle(np, "msi-parent", 0);
        if (msiNp != null && !Of.ofPropertyReadBool(msiNp, "#msi-cells")) {
            return irqs.irqFindMatchingHost(msiNp, token);
        }
        if (token == IrqController.DOMAIN_BUS_PLATFORM_MSI) {
            OfPhandleArgs args = new OfPhandleArgs();
            for (int index = 0; Of.ofParsePhandleWithArgs(np, "msi-parent", "#msi-cells", index, args) == 0; index++) {
                Object d = irqs.irqFindMatchingHost(args.np, token);
                if (d != null) {
                    return d;
                }
            }
        }
        return null;
    }
}
