package org.iommu4j.pci;

import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.pci.Pci.pciReadConfigDword;
import static org.iommu4j.pci.Pci.pciReadConfigWord;
import static org.iommu4j.pci.Pci.pciWriteConfigDword;
import static org.iommu4j.pci.Pci.pciWriteConfigWord;
import static org.iommu4j.pci.PciRegs.*;

import org.iommu4j.base.Port;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.KernelResource;
import org.iommu4j.base.device.Resource;

/**
 * drivers/pci/setup-res.c (v5.15): placing one BAR in its bus's windows and writing the bus
 * address into the BAR, and turning decode on for a driver ({@link #pciEnableResources}).
 */
public final class PciSetupRes {
    private PciSetupRes() {}

    /** Writes resource {@code resno}'s bus address into its BAR (64-bit BARs with decode off meanwhile). */
    @Port("drivers/pci/setup-res.c:pci_std_update_resource")
    private static void pciStdUpdateResource(PciDev dev, int resno) {
        Resource res = dev.resource[resno];
        // SR-IOV 3.4.1.11: a VF's BARs are RO zero
        if (dev.isVirtfn) {
            return;
        }
        // unimplemented BARs and the upper halves of 64-bit ones
        if (res.flags == 0) {
            return;
        }
        if ((res.flags & Resource.IORESOURCE_UNSET) != 0) {
            return;
        }
        if ((res.flags & Resource.IORESOURCE_PCI_FIXED) != 0) {
            return;
        }
        PciBusRegion region = new PciBusRegion();
        Pci.pcibiosResourceToBus(dev.pciBus, region, res);
        int nw = (int) region.start;
        int mask;
        if ((res.flags & Resource.IORESOURCE_IO) != 0) {
            mask = (int) PCI_BASE_ADDRESS_IO_MASK;
            nw |= (int) (res.flags & ~PCI_BASE_ADDRESS_IO_MASK);
        } else if (resno == PciDev.PCI_ROM_RESOURCE) {
            mask = PCI_ROM_ADDRESS_MASK;
        } else {
            mask = (int) PCI_BASE_ADDRESS_MEM_MASK;
            nw |= (int) (res.flags & ~PCI_BASE_ADDRESS_MEM_MASK);
        }
        int reg;
        if (resno < PciDev.PCI_ROM_RESOURCE) {
            reg = PCI_BASE_ADDRESS_0 + 4 * resno;
        } else if (resno == PciDev.PCI_ROM_RESOURCE) {
            // some ROM BARs read 0 while disabled: a disabled ROM BAR is left alone
            if ((res.flags & Resource.IORESOURCE_ROM_ENABLE) == 0) {
                return;
            }
            reg = dev.romBaseReg;
            if ((res.flags & Resource.IORESOURCE_ROM_ENABLE) != 0) {
                nw |= PCI_ROM_ADDRESS_ENABLE;
            }
        } else {
            return;
        }
        // a 64-bit BAR cannot be written atomically: with decode off, a half-written BAR
        // cannot claim another device's addresses
        boolean disable = (res.flags & Resource.IORESOURCE_MEM_64) != 0 && !dev.mmioAlwaysOn;
        int cmd = 0;
        if (disable) {
            cmd = pciReadConfigWord(dev, PCI_COMMAND);
            pciWriteConfigWord(dev, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
        }
        pciWriteConfigDword(dev, reg, nw);
        int check = pciReadConfigDword(dev, reg);
        if (((nw ^ check) & mask) != 0) {
            DevPrintk.devErr(dev, "BAR %d: error updating (%#08x != %#08x)", resno, nw, check);
        }
        if ((res.flags & Resource.IORESOURCE_MEM_64) != 0) {
            nw = (int) (region.start >>> 32);
            pciWriteConfigDword(dev, reg + 4, nw);
            check = pciReadConfigDword(dev, reg + 4);
            if (check != nw) {
                DevPrintk.devErr(dev, "BAR %d: error updating (high %#08x != %#08x)", resno, nw, check);
            }
        }
        if (disable) {
            pciWriteConfigWord(dev, PCI_COMMAND, cmd);
        }
    }

    @Port("drivers/pci/setup-res.c:pci_update_resource")
    public static void pciUpdateResource(PciDev dev, int resno) {
        if (resno <= PciDev.PCI_ROM_RESOURCE) {
            pciStdUpdateResource(dev, resno);
        }
        // IOV resources: no SR-IOV capability is modelled
    }

    /** The weak default: the aligned start the allocator found, unchanged (arm64 has no override). */
    @Port("drivers/pci/setup-res.c:pcibios_align_resource")
    static long pcibiosAlignResource(Object data, Resource res, long size, long align) {
        return res.start;
    }

    /**
     * Tries the windows from the best match down: same prefetchability and width; a 64-bit
     * prefetchable BAR also in a 32-bit prefetchable window; any memory BAR in a
     * non-prefetchable window.
     */
    @Port("drivers/pci/setup-res.c:__pci_assign_resource")
    private static int __pciAssignResource(PciBus bus, PciDev dev, int resno, long size, long align) {
        Resource res = dev.resource[resno];
        long min = (res.flags & Resource.IORESOURCE_IO) != 0 ? Pci.PCIBIOS_MIN_IO : Pci.PCIBIOS_MIN_MEM;
        int ret = Pci.pciBusAllocResource(bus, res, size, align, min,
                Resource.IORESOURCE_PREFETCH | Resource.IORESOURCE_MEM_64, PciSetupRes::pcibiosAlignResource, dev);
        if (ret == 0) {
            return 0;
        }
        long prefMem64 = Resource.IORESOURCE_PREFETCH | Resource.IORESOURCE_MEM_64;
        if ((res.flags & prefMem64) == prefMem64) {
            ret = Pci.pciBusAllocResource(bus, res, size, align, min, Resource.IORESOURCE_PREFETCH,
                    PciSetupRes::pcibiosAlignResource, dev);
            if (ret == 0) {
                return 0;
            }
        }
        // a 32-bit non-prefetchable BAR had its only chance in the first call
        if ((res.flags & prefMem64) != 0) {
            ret = Pci.pciBusAllocResource(bus, res, size, align, min, 0, PciSetupRes::pcibiosAlignResource, dev);
        }
        return ret;
    }

    /** Assigns from the device's bus, then up through transparent bridges (none on a root bus). */
    @Port("drivers/pci/setup-res.c:_pci_assign_resource")
    private static int _pciAssignResource(PciDev dev, int resno, long size, long minAlign) {
        PciBus bus = dev.pciBus;
        int ret;
        while ((ret = __pciAssignResource(bus, dev, resno, size, minAlign)) != 0) {
            if (bus.parent == null) {
                break;
            }
            bus = bus.parent;
        }
        return ret;
    }

    /** The address firmware left in the BAR: none here ({@code pcibios_retrieve_fw_addr} is 0). */
    @Port("drivers/pci/setup-res.c:pci_revert_fw_address")
    private static int pciRevertFwAddress(Resource res, PciDev dev, int resno, long size) {
        return -ENOMEM;
    }

    /** {@code pci_resource_alignment} (drivers/pci/pci.h): a BAR aligns to its size. */
    @Port("drivers/pci/pci.h:pci_resource_alignment")
    static long pciResourceAlignment(PciDev dev, Resource res) {
        // no IOV resources and no CardBus bridges are modelled
        return KernelResource.resourceAlignment(res);
    }

    /**
     * Gives resource {@code resno} space from its bus's windows and programs the BAR. 0, -EINVAL
     * (no alignment known), or -ENOMEM (no window has room); the resource keeps
     * IORESOURCE_UNSET then.
     */
    @Port("drivers/pci/setup-res.c:pci_assign_resource")
    public static int pciAssignResource(PciDev dev, int resno) {
        Resource res = dev.resource[resno];
        if ((res.flags & Resource.IORESOURCE_PCI_FIXED) != 0) {
            return 0;
        }
        res.flags |= Resource.IORESOURCE_UNSET;
        long align = pciResourceAlignment(dev, res);
        if (align == 0) {
            DevPrintk.devInfo(dev, "BAR %d: can't assign %s (bogus alignment)", resno, KernelResource.resourceString(res));
            return -EINVAL;
        }
        long size = res.resourceSize();
        int ret = _pciAssignResource(dev, resno, size, align);
        // no room: the address firmware left has at least a chance of working
        if (ret < 0) {
            DevPrintk.devInfo(dev, "BAR %d: no space for %s", resno, KernelResource.resourceString(res));
            ret = pciRevertFwAddress(res, dev, resno, size);
        }
        if (ret < 0) {
            DevPrintk.devInfo(dev, "BAR %d: failed to assign %s", resno, KernelResource.resourceString(res));
            return ret;
        }
        res.flags &= ~Resource.IORESOURCE_UNSET;
        res.flags &= ~Resource.IORESOURCE_STARTALIGN;
        DevPrintk.devInfo(dev, "BAR %d: assigned %s", resno, KernelResource.resourceString(res));
        if (resno < PciDev.PCI_BRIDGE_RESOURCES) {
            pciUpdateResource(dev, resno);
        }
        return 0;
    }

    /**
     * Turns on I/O and memory decode for the resources in {@code mask} (bit i: resource i) that
     * exist: 0, or -EINVAL when one is unassigned or not in the resource tree. Prints the
     * Command register's change.
     */
    @Port("drivers/pci/setup-res.c:pci_enable_resources")
    public static int pciEnableResources(PciDev dev, int mask) {
        int cmd = pciReadConfigWord(dev, PCI_COMMAND);
        int oldCmd = cmd;
        for (int i = 0; i < PciDev.PCI_NUM_RESOURCES; i++) {
            if ((mask & (1 << i)) == 0) {
                continue;
            }
            Resource r = dev.resource[i];
            if ((r.flags & (Resource.IORESOURCE_IO | Resource.IORESOURCE_MEM)) == 0) {
                continue;
            }
            if (i == PciDev.PCI_ROM_RESOURCE && (r.flags & Resource.IORESOURCE_ROM_ENABLE) == 0) {
                continue;
            }
            if ((r.flags & Resource.IORESOURCE_UNSET) != 0) {
                DevPrintk.devErr(dev, "can't enable device: BAR %d %s not assigned", i, KernelResource.resourceString(r));
                return -EINVAL;
            }
            if (r.parent == null) {
                DevPrintk.devErr(dev, "can't enable device: BAR %d %s not claimed", i, KernelResource.resourceString(r));
                return -EINVAL;
            }
            if ((r.flags & Resource.IORESOURCE_IO) != 0) {
                cmd |= PCI_COMMAND_IO;
            }
            if ((r.flags & Resource.IORESOURCE_MEM) != 0) {
                cmd |= PCI_COMMAND_MEMORY;
            }
        }
        if (cmd != oldCmd) {
            DevPrintk.devInfo(dev, "enabling device (%04x -> %04x)", oldCmd, cmd);
            pciWriteConfigWord(dev, PCI_COMMAND, cmd);
        }
        return 0;
    }
}
