package org.iommu4j.of;

import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.Resource;

/**
 * The IOMMU device tree bindings as the kernel reads them: the {@code arm,smmu-v3} node
 * (Documentation/devicetree/bindings/iommu/arm,smmu-v3.yaml), master properties
 * ({@code iommus}, {@code pasid-num-bits} — seed 000, {@code dma-can-stall} — seed 004) and PCI
 * host bridges' {@code iommu-map} / {@code iommu-map-mask}. Readers only: the driver
 * (arm-smmu-v3) and of_iommu (iommu-core) decide what to do with the values.
 */
public final class IommuBindings {
    private IommuBindings() {}

    public static final String ARM_SMMU_V3_COMPATIBLE = "arm,smmu-v3";
    /** arm-smmu-v3.h option bits set by the quirk properties (parse_driver_options). */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:ARM_SMMU_OPT_SKIP_PREFETCH")
    public static final int ARM_SMMU_OPT_SKIP_PREFETCH = 1 << 0;
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:ARM_SMMU_OPT_PAGE0_REGS_ONLY")
    public static final int ARM_SMMU_OPT_PAGE0_REGS_ONLY = 1 << 1;
    public static final String PROP_SKIP_PREFETCH = "hisilicon,broken-prefetch-cmd";
    public static final String PROP_PAGE0_REGS_ONLY = "cavium,cn9900-broken-page1-regspace";

    /**
     * An {@code arm,smmu-v3} node as read: MMIO window, IRQ hwirqs by name (-ENXIO when the name
     * is absent), {@code #iommu-cells}, coherence, msi-parent and quirk options.
     *
     * @param combined hwirq of "combined", or negative errno when absent
     */
    public record SmmuV3Node(DeviceNode np, Resource reg, int eventq, int priq, int gerror, int cmdqSync,
            int combined, int iommuCells, boolean dmaCoherent, OfPhandleArgs msiParent, int options) {}

    /**
     * Reads an arm,smmu-v3 node. -EINVAL (as ErrnoException-free int via {@code out}): not
     * compatible, no reg, or {@code #iommu-cells} missing or not 1 (the driver's
     * arm_smmu_device_dt_probe rejects other values).
     */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c:arm_smmu_device_dt_probe")
    public static int armSmmuV3Read(DeviceNode np, SmmuV3Node[] out) {
        if (np == null || Of.ofDeviceIsCompatible(np, ARM_SMMU_V3_COMPATIBLE) == 0) {
            return -ENODEV;
        }
        int[] cells = new int[1];
        if (Of.ofPropertyReadU32(np, "#iommu-cells", cells) != 0 || cells[0] != 1) {
            return -EINVAL;
        }
        Resource[] r = new Resource[1];
        if (Of.ofAddressToResource(np, 0, r) != 0) {
            return -EINVAL;
        }
        OfPhandleArgs msi = new OfPhandleArgs();
        if (Of.ofParsePhandleWithArgs(np, "msi-parent", "#msi-cells", 0, msi) != 0
                && Of.ofParsePhandleWithFixedArgs(np, "msi-parent", 0, 0, msi) != 0) {
            msi = null;
        } else if (msi.np == null) {
            msi = null; // a fixed-count entry whose phandle names no node
        }
        int options = 0;
        if (Of.ofPropertyReadBool(np, PROP_SKIP_PREFETCH)) {
            options |= ARM_SMMU_OPT_SKIP_PREFETCH;
        }
        if (Of.ofPropertyReadBool(np, PROP_PAGE0_REGS_ONLY)) {
            options |= ARM_SMMU_OPT_PAGE0_REGS_ONLY;
        }
        out[0] = new SmmuV3Node(np, r[0], irq(np, "eventq"), irq(np, "priq"), irq(np, "gerror"),
                irq(np, "cmdq-sync"), irq(np, "combined"), cells[0], Of.ofDmaIsCoherent(np), msi, options);
        return 0;
    }

    private static int irq(DeviceNode np, String name) {
        int r = OfIrq.ofIrqGetByname(np, name);
        return r < 0 ? -org.iommu4j.base.Errno.ENXIO : r;
    }

    /**
     * The master's {@code iommus} specifiers ({@code <&iommu id...>}, cells from the IOMMU
     * node's {@code #iommu-cells}). 0 with the list filled (empty when the property is absent),
     * or -EINVAL for a malformed list.
     */
    @Port("drivers/iommu/of_iommu.c:of_iommu_configure")
    public static int ofIommus(DeviceNode master, List<OfPhandleArgs> out) {
        for (int idx = 0;; idx++) {
            OfPhandleArgs a = new OfPhandleArgs();
            int r = Of.ofParsePhandleWithArgs(master, "iommus", "#iommu-cells", idx, a);
            if (r == -org.iommu4j.base.Errno.ENOENT) {
                return 0;
            }
            if (r != 0) {
                return r;
            }
            out.add(a);
        }
    }

    /**
     * {@code pasid-num-bits}: the master's SubstreamID width; 0 when absent (one address
     * space) or malformed.
     */
    @Port(value = "drivers/iommu/of_iommu.c:of_iommu_configure", seed = "000")
    public static int pasidNumBits(DeviceNode master) {
        int[] v = new int[1];
        return Of.ofPropertyReadU32(master, "pasid-num-bits", v) == 0 ? v[0] : 0;
    }

    /** {@code dma-can-stall}: the master tolerates stalled transactions. */
    @Port(value = "drivers/iommu/of_iommu.c:of_iommu_configure", seed = "004")
    public static boolean dmaCanStall(DeviceNode master) {
        return Of.ofPropertyReadBool(master, "dma-can-stall");
    }

    /**
     * Maps a PCI requester ID through a host bridge's {@code iommu-map} /
     * {@code iommu-map-mask}: of_map_id(bridge, rid, "iommu-map", "iommu-map-mask", ...).
     */
    @Port("drivers/iommu/of_iommu.c:of_pci_iommu_init")
    public static int ofPciIommuMap(DeviceNode bridge, int rid, DeviceNode[] target, int[] sid) {
        return Of.ofMapId(bridge, rid, "iommu-map", "iommu-map-mask", target, sid);
    }

    /** All {@code arm,smmu-v3} nodes of a tree. */
    public static List<DeviceNode> smmuV3Nodes(DeviceNode root) {
        return new Of(root).forEachCompatibleNode(null, ARM_SMMU_V3_COMPATIBLE);
    }

    /** {@code device_property_read_u32} on {@code dev->of_node}: 0, -EINVAL absent/no node, -EOVERFLOW. */
    @Port("drivers/base/property.c:device_property_read_u32")
    public static int devicePropertyReadU32(Device dev, String propname, int[] val) {
        if (!(dev.ofNode instanceof DeviceNode np)) {
            return -EINVAL;
        }
        return Of.ofPropertyReadU32(np, propname, val);
    }

    /** {@code device_property_read_bool} on {@code dev->of_node}. */
    @Port("drivers/base/property.c:device_property_read_bool")
    public static boolean devicePropertyReadBool(Device dev, String propname) {
        return dev.ofNode instanceof DeviceNode np && Of.ofPropertyReadBool(np, propname);
    }

    /** The node of a device (dev->of_node), or null. */
    public static DeviceNode devOfNode(Device dev) {
        return dev.ofNode instanceof DeviceNode np ? np : null;
    }

    static List<DeviceNode> nodes(DeviceNode root) {
        List<DeviceNode> l = new ArrayList<>();
        DeviceNode.allNodes(root, l);
        return l;
    }
}
