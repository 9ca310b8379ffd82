package org.iommu4j.of;

import static org.iommu4j.base.Errno.EINVAL;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntUnaryOperator;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.device.Resource;

/**
 * Platform devices from the tree (drivers/of/platform.c, device.c).
 *
 * <p>Each available node with a {@code compatible} under the root (and, recursively, under
 * nodes matching the bus list — {@code simple-bus}, {@code simple-mfd}, {@code isa},
 * {@code arm,amba-bus} by default) becomes a {@link PlatformDevice} named as
 * of_device_make_bus_id names it ("9050000.smmuv3"), with {@code ofNode} set to the node,
 * {@code dmaCoherent} from of_dma_is_coherent, one IORESOURCE_MEM per {@code reg} entry
 * (translated through {@code ranges}) and one IORESOURCE_IRQ per interrupt, named by
 * {@code interrupt-names}; an IRQ resource's number is the GIC <em>hwirq</em> (see
 * {@link OfIrq}), which the platform maps to its IRQ numbers. AMBA primecells become platform
 * devices too. Devices are returned, not registered: the caller registers them on its bus.
 */
public final class OfPlatform {
    private OfPlatform() {}

    /** The default bus match list. */
    @Port("drivers/of/platform.c:of_default_bus_match_table")
    public static final String[] of_default_bus_match_table = {"simple-bus", "simple-mfd", "isa", "arm,amba-bus"};

    /** Nodes that never become devices (OPP tables). */
    @Port("drivers/of/platform.c:of_skipped_node_table")
    static final String[] of_skipped_node_table = {"operating-points-v2"};

    /** The device's name from its node: "{translated reg address}.{node name}", else the path parts. */
    @Port("drivers/of/platform.c:of_device_make_bus_id")
    public static String ofDeviceMakeBusId(DeviceNode node) {
        String name = null;
        while (node != null && node.parent != null) {
            Property reg = node.findProperty("reg");
            long addr = reg == null ? Of.OF_BAD_ADDR : Of.ofTranslateAddress(node, reg.raw(), 0);
            if (reg != null && addr != Of.OF_BAD_ADDR) {
                String s = Long.toHexString(addr) + "." + node.name;
                return name == null ? s : s + ":" + name;
            }
            name = name == null ? node.fullName : node.fullName + ":" + name;
            node = node.parent;
        }
        return name == null ? "/" : name;
    }

    /** Allocates a platform device for {@code np} with its MEM and IRQ resources (IRQs as hwirqs). */
    public static PlatformDevice ofDeviceAlloc(DeviceNode np, String busId, Device parent) {
        return ofDeviceAlloc(np, busId, parent, IntUnaryOperator.identity());
    }

    /**
     * Allocates a platform device for {@code np} with its MEM and IRQ resources; each IRQ's hwirq
     * goes through {@code irqDomain} (the interrupt controller's irq_create_mapping, hwirq to
     * virq), as the kernel's of_irq_to_resource hands out Linux IRQ numbers.
     */
    @Port("drivers/of/platform.c:of_device_alloc")
    public static PlatformDevice ofDeviceAlloc(DeviceNode np, String busId, Device parent, IntUnaryOperator irqDomain) {
        PlatformDevice dev = new PlatformDevice(busId != null ? busId : ofDeviceMakeBusId(np));
        // The MEM resources are the reg entries up to the first that does not translate.
        Resource[] r = new Resource[1];
        for (int i = 0; Of.ofAddressToResource(np, i, r) == 0; i++) {
            dev.addResource(r[0]);
        }
        List<Resource> irqs = new ArrayList<>();
        OfIrq.ofIrqToResourceTable(np, irqs, OfIrq.ofIrqCount(np));
        for (Resource x : irqs) {
            int virq = irqDomain.applyAsInt((int) x.start());
            dev.addResource(new Resource(x.name(), virq, virq, x.flags()));
        }
        dev.ofNode = np;
        dev.fwnode = np;
        dev.parent = parent;
        dev.dmaCoherent = Of.ofDmaIsCoherent(np);
        return dev;
    }

    /**
     * Creates the platform device of an available, not yet populated node: of_device_alloc,
     * then a 32-bit coherent DMA mask (the streaming mask platform_device_alloc already gave
     * it stays 32 bits too), its platform data, and the device added. Null when the node is
     * unavailable or populated.
     */
    @Port("drivers/of/platform.c:of_platform_device_create_pdata")
    static PlatformDevice ofPlatformDeviceCreatePdata(DeviceNode np, String busId, Object platformData,
            Device parent, IntUnaryOperator irqDomain) {
        if (!Of.ofDeviceIsAvailable(np) || np.populated) {
            return null;
        }
        np.populated = true;
        PlatformDevice dev = ofDeviceAlloc(np, busId, parent, irqDomain);
        dev.coherentDmaMask = DMA_BIT_MASK_32;
        // v5.15 falls back to pointing dma_mask at coherent_dma_mask when the device has none.
        // Never taken: platform_device_alloc (the PlatformDevice constructor) gave it
        // platform_dma_mask. (A Java field cannot be pointed at, so the fallback would get a
        // cell of its own holding the coherent mask's value.)
        if (dev.dmaMask == null) {
            dev.dmaMask = new long[] {dev.coherentDmaMask};
        }
        dev.platformData = platformData;
        return dev;
    }

    /** {@code DMA_BIT_MASK(32)} (dma-mapping.h is above this module). */
    private static final long DMA_BIT_MASK_32 = 0xffffffffL;

    private static boolean matchesAny(DeviceNode np, String[] matches) {
        if (matches == null) {
            return false;
        }
        for (String m : matches) {
            if (Of.ofDeviceIsCompatible(np, m) > 0) {
                return true;
            }
        }
        return false;
    }

    /** Creates the device for {@code bus} and, if it matches {@code matches}, for its children. */
    @Port("drivers/of/platform.c:of_platform_bus_create")
    static int ofPlatformBusCreate(DeviceNode bus, String[] matches, Device parent, boolean strict,
            List<PlatformDevice> out, IntUnaryOperator irqDomain) {
        if (strict && bus.findProperty("compatible") == null) {
            return 0;
        }
        if (matchesAny(bus, of_skipped_node_table)) {
            return 0;
        }
        PlatformDevice dev = ofPlatformDeviceCreatePdata(bus, null, null, parent, irqDomain);
        if (dev == null) {
            return 0;
        }
        out.add(dev);
        if (!matchesAny(bus, matches)) {
            return 0;
        }
        for (DeviceNode child : bus.children()) {
            int rc = ofPlatformBusCreate(child, matches, dev, strict, out, irqDomain);
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }

    /**
     * Populates platform devices from the children of {@code root} (the tree root if it is
     * the root node), appending them to {@code out} in tree order. A node is populated once
     * (a second call skips it, like OF_POPULATED). 0, or -EINVAL for a null root.
     */
    @Port("drivers/of/platform.c:of_platform_populate")
    public static int ofPlatformPopulate(DeviceNode root, String[] matches, Device parent, List<PlatformDevice> out) {
        return ofPlatformPopulate(root, matches, parent, out, IntUnaryOperator.identity());
    }

    /** {@link #ofPlatformPopulate} with IRQs mapped through {@code irqDomain} (see of_device_alloc). */
    public static int ofPlatformPopulate(DeviceNode root, String[] matches, Device parent, List<PlatformDevice> out,
            IntUnaryOperator irqDomain) {
        if (root == null || out == null || irqDomain == null) {
            return -EINVAL;
        }
        for (DeviceNode child : root.children()) {
            int rc = ofPlatformBusCreate(child, matches, parent, true, out, irqDomain);
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }

    /** of_platform_populate with the default bus table. */
    @Port("drivers/of/platform.c:of_platform_default_populate")
    public static int ofPlatformDefaultPopulate(DeviceNode root, Device parent, List<PlatformDevice> out) {
        return ofPlatformPopulate(root, of_default_bus_match_table, parent, out);
    }

    /** of_platform_default_populate with IRQs mapped through {@code irqDomain}. */
    public static int ofPlatformDefaultPopulate(DeviceNode root, Device parent, List<PlatformDevice> out,
            IntUnaryOperator irqDomain) {
        return ofPlatformPopulate(root, of_default_bus_match_table, parent, out, irqDomain);
    }
}
