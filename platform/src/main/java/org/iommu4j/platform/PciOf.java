package org.iommu4j.platform;

import static org.iommu4j.base.Errno.EINVAL;

import java.util.List;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.device.ResourceEntry;
import org.iommu4j.base.hw.IrqController;
import org.iommu4j.base.irq.MsiDomain;
import org.iommu4j.of.DeviceNode;
import org.iommu4j.of.Of;
import org.iommu4j.of.OfIrq;
import org.iommu4j.of.OfPciRange;
import org.iommu4j.of.OfPciRangeParser;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciBus;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciHostBridge;

/**
 * drivers/pci/of.c (v5.15): a host bridge described from its device-tree node. It lives in the
 * platform because it needs both the PCI core (pci-ats) and the devicetree module, which sit
 * side by side below it; pci-ats takes the result as plain resources.
 *
 * <p>Not modelled: requesting the windows in the iomem resource tree
 * ({@code devm_request_pci_bus_resources}) and remapping the I/O window
 * ({@code devm_pci_remap_iospace}); the simulated CPU does no port I/O.
 */
public final class PciOf {
    private PciOf() {}

    /** {@code bus-range} as an IORESOURCE_BUS resource. 0, or the property read's -errno. */
    @Port("drivers/pci/of.c:of_pci_parse_bus_range")
    static int ofPciParseBusRange(DeviceNode node, Resource[] res) {
        int[] busRange = new int[2];
        int error = Of.ofPropertyReadU32Array(node, "bus-range", busRange, 2);
        if (error != 0) {
            return error;
        }
        res[0] = new Resource(node.name, Integer.toUnsignedLong(busRange[0]), Integer.toUnsignedLong(busRange[1]),
                Resource.IORESOURCE_BUS);
        return 0;
    }

    /**
     * Fills {@code resources} with the bridge's bus range (from {@code bus-range}, else
     * [busno, busMax]) and the windows of its {@code ranges}, each with its CPU-to-bus offset,
     * and {@code ibResources} (may be null) with its {@code dma-ranges} memory ranges, sorted by
     * start. {@code ioBase[0]} gets the I/O window's CPU address (OF_BAD_ADDR if none).
     * 0; -ENOENT without {@code ranges} (then {@code resources} is emptied); -EINVAL for an I/O
     * window when the caller passed no {@code ioBase}.
     */
    @Port("drivers/pci/of.c:devm_of_pci_get_host_bridge_resources")
    static int devmOfPciGetHostBridgeResources(Device dev, DeviceNode devNode, int busno, int busMax,
            List<ResourceEntry> resources, List<ResourceEntry> ibResources, long[] ioBase) {
        if (ioBase != null) {
            ioBase[0] = Of.OF_BAD_ADDR;
        }
        DevPrintk.devInfo(dev, "host bridge %s ranges:", devNode.path());
        Resource[] busRange = new Resource[1];
        if (ofPciParseBusRange(devNode, busRange) != 0) {
            busRange[0] = new Resource(devNode.name, busno, busMax, Resource.IORESOURCE_BUS);
            DevPrintk.devInfo(dev, "  No bus range found for %s, using [bus %02x-%02x]", devNode.path(), busno, busMax);
        } else if (busRange[0].end() > busRange[0].start() + busMax) {
            busRange[0] = new Resource(busRange[0].name(), busRange[0].start(), busRange[0].start() + busMax,
                    busRange[0].flags());
        }
        Pci.pciAddResource(resources, busRange[0]);

        OfPciRangeParser parser = new OfPciRangeParser();
        int err = Of.ofPciRangeParserInit(parser, devNode);
        if (err != 0) {
            resources.clear();
            return err;
        }
        OfPciRange range = new OfPciRange();
        Resource[] res = new Resource[1];
        while (Of.ofPciRangeParserOne(parser, range) != null) {
            long type = range.flags & Resource.IORESOURCE_TYPE_BITS;
            String rangeType = type == Resource.IORESOURCE_IO ? "IO" : type == Resource.IORESOURCE_MEM ? "MEM" : "err";
            DevPrintk.devInfo(dev, "  %6s %#012x..%#012x -> %#012x", rangeType, range.cpuAddr,
                    range.cpuAddr + range.size - 1, range.pciAddr);
            // An untranslatable or empty range is skipped.
            if (range.cpuAddr == Of.OF_BAD_ADDR || range.size == 0) {
                continue;
            }
            if (Of.ofPciRangeToResource(range, devNode, res) != 0) {
                continue;
            }
            Resource r = res[0];
            if (r.type() == Resource.IORESOURCE_IO) {
                if (ioBase == null) {
                    DevPrintk.devErr(dev, "I/O range found for %s. Please provide an io_base pointer to save CPU base address",
                            devNode.path());
                    resources.clear();
                    return -EINVAL;
                }
                if (ioBase[0] != Of.OF_BAD_ADDR) {
                    DevPrintk.devWarn(dev, "More than one I/O resource converted for %s. CPU base address for old range lost!",
                            devNode.path());
                }
                ioBase[0] = range.cpuAddr;
            } else if (r.type() == Resource.IORESOURCE_MEM) {
                // The bridge's window is not itself a 64-bit BAR.
                r = new Resource(r.name(), r.start(), r.end(), r.flags() & ~Resource.IORESOURCE_MEM_64);
            }
            Pci.pciAddResourceOffset(resources, r, r.start() - range.pciAddr);
            range = new OfPciRange();
        }

        if (ibResources == null) {
            return 0;
        }
        OfPciRangeParser dma = new OfPciRangeParser();
        if (Of.ofPciDmaRangeParserInit(dma, devNode) != 0) {
            return 0;
        }
        DevPrintk.devDbg(dev, "Parsing dma-ranges property...");
        range = new OfPciRange();
        while (Of.ofPciRangeParserOne(dma, range) != null) {
            // Only translated, non-empty memory ranges are inbound windows.
            if ((range.flags & Resource.IORESOURCE_TYPE_BITS) != Resource.IORESOURCE_MEM
                    || range.cpuAddr == Of.OF_BAD_ADDR || range.size == 0) {
                continue;
            }
            DevPrintk.devInfo(dev, "  %6s %#012x..%#012x -> %#012x", "IB MEM", range.cpuAddr,
                    range.cpuAddr + range.size - 1, range.pciAddr);
            if (Of.ofPciRangeToResource(range, devNode, res) != 0) {
                continue;
            }
            // Insert before the first entry starting above it: the list stays sorted.
            int at = 0;
            while (at < ibResources.size() && Long.compareUnsigned(ibResources.get(at).res().start(), res[0].start()) <= 0) {
                at++;
            }
            ibResources.add(at, new ResourceEntry(res[0], res[0].start() - range.pciAddr));
            range = new OfPciRange();
        }
        return 0;
    }

    /**
     * Describes {@code bridge} from its node: windows and dma_ranges, then a check of the
     * memory windows (a non-prefetchable one is required; one larger than 4 GiB is warned
     * about, as a 32-bit BAR cannot use it all). 0 or -errno.
     */
    @Port("drivers/pci/of.c:pci_parse_request_of_pci_ranges")
    static int pciParseRequestOfPciRanges(Device dev, DeviceNode np, PciHostBridge bridge) {
        bridge.windows.clear();
        bridge.dmaRanges.clear();
        long[] iobase = new long[1];
        int err = devmOfPciGetHostBridgeResources(dev, np, 0, 0xff, bridge.windows, bridge.dmaRanges, iobase);
        if (err != 0) {
            return err;
        }
        boolean resValid = false;
        for (ResourceEntry win : bridge.windows) {
            Resource res = win.res();
            if (res.type() == Resource.IORESOURCE_MEM) {
                boolean prefetch = (res.flags() & Resource.IORESOURCE_PREFETCH) != 0;
                resValid |= !prefetch;
                if (!prefetch && (res.resourceSize() >>> 32) != 0) {
                    DevPrintk.devWarn(dev, "Memory resource size exceeds max for 32 bits");
                }
            }
        }
        if (!resValid) {
            DevPrintk.devWarn(dev, "non-prefetchable memory resource required");
        }
        return 0;
    }

    /** Describes a host bridge from the node of {@code dev} (nothing to do without one). 0 or -errno. */
    @Port("drivers/pci/of.c:devm_of_pci_bridge_init")
    static int devmOfPciBridgeInit(Device dev, PciHostBridge bridge) {
        if (!(dev.ofNode instanceof DeviceNode np)) {
            return 0;
        }
        return pciParseRequestOfPciRanges(dev, np, bridge);
    }

    /**
     * A host bridge for {@code dev}, described from its node; null when that fails (the
     * caller cannot tell why: the generic host answers -ENOMEM).
     */
    @Port("drivers/pci/probe.c:devm_pci_alloc_host_bridge")
    static PciHostBridge devmPciAllocHostBridge(Device dev) {
        PciHostBridge bridge = Pci.pciAllocHostBridge();
        bridge.parent = dev;
        if (devmOfPciBridgeInit(dev, bridge) != 0) {
            return null;
        }
        return bridge;
    }

    /**
     * The PCI bus's {@code dma_configure}, which really_probe runs before a driver's probe:
     * of_dma_configure from the node of the host bridge's parent (the generic host's platform
     * device), DMA forced as PCI is DMA-capable. 0, or of_dma_configure's -errno. ACPI's
     * companion path is not modelled; a bridge without a node configures nothing.
     */
    @Port("drivers/pci/pci-driver.c:pci_dma_configure")
    static int pciDmaConfigure(org.iommu4j.iommu.OfDevice ofDevice, PciDev pdev) {
        // pci_get_host_bridge_device .. pci_put_host_bridge_device
        PciHostBridge bridge = Pci.pciFindHostBridge(pdev.pciBus);
        if (bridge.parent != null && bridge.parent.ofNode instanceof DeviceNode np) {
            return ofDevice.ofDmaConfigure(pdev, np, true);
        }
        return 0;
    }

    /* ---------------- MSI domains (drivers/pci/of.c, msi.c, probe.c) ---------------- */

    /**
     * The PCI/MSI domain of the host bridge node {@code np}: its {@code msi-parent}'s, else one
     * registered for the node itself, else any domain of the node; null without.
     */
    @Port("drivers/pci/of.c:pci_host_bridge_of_msi_domain")
    static MsiDomain pciHostBridgeOfMsiDomain(DeviceNode np, IrqController irqs) {
        if (np == null) {
            return null;
        }
        Object d = OfIrq.ofMsiGetDomain(null, np, IrqController.DOMAIN_BUS_PCI_MSI, irqs);
        if (d == null) {
            d = irqs.irqFindMatchingHost(np, IrqController.DOMAIN_BUS_PCI_MSI);
        }
        if (d == null) {
            d = irqs.irqFindMatchingHost(np, IrqController.DOMAIN_BUS_ANY);
        }
        return d instanceof MsiDomain m ? m : null;
    }

    /** Whether the host bridge's parent device has an {@code msi-map} in its node. */
    @Port("drivers/pci/probe.c:pci_host_of_has_msi_map")
    static boolean pciHostOfHasMsiMap(Device dev) {
        return dev != null && dev.ofNode instanceof DeviceNode np && Of.ofFindProperty(np, "msi-map") != null;
    }

    /**
     * pci_register_host_bridge's MSI check for a host that relies on MSI domains (the generic
     * host sets {@code bridge->msi_domain}): a root bus with neither a domain from its node nor
     * an {@code msi-map} gets PCI_BUS_FLAGS_NO_MSI, so its functions' MSI requests fail with
     * -EINVAL.
     */
    @Port("drivers/pci/probe.c:pci_register_host_bridge")
    static void pciRegisterHostBridgeMsi(PciBus bus, Device parent, IrqController irqs) {
        DeviceNode np = parent != null && parent.ofNode instanceof DeviceNode n ? n : null;
        if (pciHostBridgeOfMsiDomain(np, irqs) == null && !pciHostOfHasMsiMap(parent)) {
            bus.busFlags |= PciBus.PCI_BUS_FLAGS_NO_MSI;
        }
    }

    /**
     * The PCI/MSI domain {@code msi-map} gives the function: the map on its ancestors (the host
     * bridge's node) translates its Requester ID (no aliasing bridges here) and names the
     * controller. Null without a map or a domain for the controller.
     */
    @Port("drivers/pci/msi.c:pci_msi_get_device_domain")
    static MsiDomain pciMsiGetDeviceDomain(PciDev pdev, IrqController irqs) {
        int rid = Pci.pciDevId(pdev);
        Object d = OfIrq.ofMsiMapGetDeviceDomain(pdev, rid, IrqController.DOMAIN_BUS_PCI_MSI, irqs);
        return d instanceof MsiDomain m ? m : null;
    }

    /**
     * The ID the function's MSIs carry to the controller whose node is {@code domainNode} (an ITS
     * DeviceID): its Requester ID (no aliasing bridges here) through the {@code msi-map} of its
     * host bridge, or unchanged without a map. Without a node (ACPI's IORT) the ID is left as is.
     */
    @Port("drivers/pci/msi.c:pci_msi_domain_get_msi_rid")
    static int pciMsiDomainGetMsiRid(DeviceNode domainNode, PciDev pdev) {
        int rid = Pci.pciDevId(pdev);
        return domainNode != null ? OfIrq.ofMsiMapId(pdev, domainNode, rid) : rid;
    }

    /**
     * Gives the function its MSI domain: the one it already has, else the one {@code msi-map}
     * gives, else its bus's (the host bridge node's, {@code hostNode}); null means the function
     * cannot have MSIs (pci_alloc_irq_vectors with PCI_IRQ_MSI then fails).
     */
    @Port("drivers/pci/probe.c:pci_set_msi_domain")
    static void pciSetMsiDomain(PciDev dev, DeviceNode hostNode, IrqController irqs) {
        MsiDomain d = dev.msiDomain; // pci_dev_msi_domain: set by the host driver
        if (d == null) {
            d = pciMsiGetDeviceDomain(dev, irqs);
        }
        if (d == null) {
            d = pciHostBridgeOfMsiDomain(hostNode, irqs); // pci_set_bus_msi_domain's
        }
        dev.msiDomain = d;
    }
}
