package org.iommu4j.pci;

import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EFAULT;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.EIO;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOENT;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.base.Errno.ENOTTY;
import static org.iommu4j.base.Errno.EPROBE_DEFER;
import static org.iommu4j.base.Errno.ERANGE;
import static org.iommu4j.pci.PciRegs.*;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Kstrtox;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.DmaMappingH;
import org.iommu4j.base.device.KernelResource;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.device.ResourceEntry;
import org.iommu4j.base.hw.BusError;
import org.iommu4j.base.hw.MmioBus;

/**
 * The PCI core: drivers/pci/access.c (config accessors), pci.c (capability search, bus
 * mastering, ACS), probe.c (root-bus enumeration through ECAM), ecam.c and pci-driver.c's bus
 * type. An instance is one machine's PCI world (its {@code pci_bus_type}, its root buses, the
 * {@code pci=noats} switch); per-device helpers are static as in the kernel.
 *
 * <p>Config reads return the value (a failed access reads all-ones, as a missing function does
 * on the wire); config writes return a {@code PCIBIOS_*} code.
 */
public final class Pci {
    /* include/linux/pci.h PCIBIOS_* */
    public static final int PCIBIOS_SUCCESSFUL = 0x00;
    public static final int PCIBIOS_FUNC_NOT_SUPPORTED = 0x81;
    public static final int PCIBIOS_BAD_VENDOR_ID = 0x83;
    public static final int PCIBIOS_DEVICE_NOT_FOUND = 0x86;
    public static final int PCIBIOS_BAD_REGISTER_NUMBER = 0x87;
    public static final int PCIBIOS_SET_FAILED = 0x88;
    public static final int PCIBIOS_BUFFER_TOO_SMALL = 0x89;

    /** {@code pci_bus_type}: devices are {@link PciDev}, drivers {@link PciDriver}. */
    @Port("drivers/pci/pci-driver.c:pci_bus_type")
    public final PciBusType pciBusType = new PciBusType();
    /** {@code pci_msi_enable} (cleared by the kernel parameter {@code pci=nomsi}). */
    public volatile boolean pciMsiEnable = true;
    /** {@code pci_msi_ignore_mask}: set by hypervisors that do the masking themselves. */
    public volatile boolean pciMsiIgnoreMask;
    /** {@code pcie_ats_disabled} (kernel parameter {@code pci=noats}). */
    public volatile boolean pcieAtsDisabled;
    /*
     * Kernel configuration. With an option off, ats.c's functions of that group behave as the
     * stubs in include/linux/pci-ats.h (enable -ENODEV, queries "unsupported").
     */
    public volatile boolean CONFIG_PCI_ATS = true;
    public volatile boolean CONFIG_PCI_PRI = true;
    public volatile boolean CONFIG_PCI_PASID = true;
    /** {@code pci_acs_enable}, set by {@link #pciRequestAcs()}. */
    private volatile boolean pciAcsEnable;
    private final List<PciBus> rootBuses = new ArrayList<>();

    /**
     * pci_set_msi_domain (drivers/pci/probe.c), which pci_device_add calls before device_add:
     * its lookups go through the device tree and the irqdomains, above pci-ats, so the platform
     * that ports it (PciOf) installs it here. Null: pci_device_add leaves the function's MSI
     * domain as it is.
     */
    public volatile java.util.function.Consumer<PciDev> pciSetMsiDomain;

    /**
     * The PCI bus type; {@code dev_is_pci} recognises devices on any instance of it. Its
     * {@code dma_configure} (pci_dma_configure, of_dma_configure from the host bridge's node) is
     * installed by the platform, which has the device tree.
     */
    public static final class PciBusType extends BusType {
        PciBusType() {
            super("pci", Pci::pciBusMatch);
        }
    }

    /**
     * A function binds to a driver whose id_table names it, once pci_bus_add_device has let it
     * ({@code match_driver}); {@code pci_match_device}'s dynamic IDs and driver_override are
     * not modelled.
     */
    @Port("drivers/pci/pci-driver.c:pci_bus_match")
    private static boolean pciBusMatch(Device dev, org.iommu4j.base.device.DeviceDriver drv) {
        return dev instanceof PciDev pciDev && pciDev.matchDriver && drv instanceof PciDriver pciDrv
                && pciDrv.pciMatchId(pciDev);
    }

    /* ---------------- include/linux/pci.h helpers ---------------- */

    @Port("include/uapi/linux/pci.h:PCI_DEVFN")
    public static int PCI_DEVFN(int slot, int func) {
        return (slot & 0x1f) << 3 | (func & 0x07);
    }

    @Port("include/uapi/linux/pci.h:PCI_SLOT")
    public static int PCI_SLOT(int devfn) {
        return (devfn >> 3) & 0x1f;
    }

    @Port("include/uapi/linux/pci.h:PCI_FUNC")
    public static int PCI_FUNC(int devfn) {
        return devfn & 0x07;
    }

    @Port("include/linux/pci.h:PCI_DEVID")
    public static int PCI_DEVID(int bus, int devfn) {
        return (bus & 0xff) << 8 | (devfn & 0xff);
    }

    @Port("include/linux/pci.h:pci_dev_id")
    public static int pciDevId(PciDev dev) {
        return PCI_DEVID(dev.pciBus.number, dev.devfn);
    }

    @Port("include/linux/pci.h:dev_is_pci")
    public static boolean devIsPci(Device dev) {
        return dev != null && dev.bus instanceof PciBusType;
    }

    /** {@code to_pci_dev}: the container of a PCI device's {@code struct device}. */
    @Port("include/linux/pci.h:to_pci_dev")
    public static PciDev toPciDev(Device dev) {
        return (PciDev) dev;
    }

    @Port("include/linux/pci.h:pci_name")
    public static String pciName(PciDev dev) {
        return dev.devName();
    }

    @Port("include/linux/pci.h:pci_physfn")
    public static PciDev pciPhysfn(PciDev dev) {
        return dev.isVirtfn ? dev.physfn : dev;
    }

    @Port("include/linux/pci.h:pci_is_pcie")
    public static boolean pciIsPcie(PciDev dev) {
        return dev.pcieCap != 0;
    }

    @Port("include/linux/pci.h:pci_pcie_type")
    public static int pciPcieType(PciDev dev) {
        return (dev.pcieFlagsReg & PCI_EXP_FLAGS_TYPE) >> 4;
    }

    @Port("include/linux/pci.h:pci_is_root_bus")
    public static boolean pciIsRootBus(PciBus bus) {
        return bus.self == null;
    }

    /* ---------------- drivers/pci/access.c and ecam.c ---------------- */

    /** Not a byte, word or dword access naturally aligned inside the 4 KiB space (PCI_*_BAD). */
    private static boolean badAccess(int where, int size) {
        return (size != 1 && size != 2 && size != 4) || where < 0 || where > PCI_CFG_SPACE_EXP_SIZE - size || (where & (size - 1)) != 0;
    }

    /** Generic ECAM read; fills {@code val[0]}; returns a PCIBIOS code. */
    @Port("drivers/pci/access.c:pci_generic_config_read")
    public static int pciGenericConfigRead(PciBus bus, int devfn, int where, int size, int[] val) {
        long addr = bus.sysdata.pciEcamMapBus(bus.number, devfn, where);
        if (addr == 0) {
            val[0] = ~0;
            return PCIBIOS_DEVICE_NOT_FOUND;
        }
        try {
            val[0] = (int) bus.sysdata.mmio.read(addr, size);
        } catch (BusError e) {
            val[0] = ~0;
            return PCIBIOS_DEVICE_NOT_FOUND;
        }
        return PCIBIOS_SUCCESSFUL;
    }

    @Port("drivers/pci/access.c:pci_generic_config_write")
    public static int pciGenericConfigWrite(PciBus bus, int devfn, int where, int size, int val) {
        long addr = bus.sysdata.pciEcamMapBus(bus.number, devfn, where);
        if (addr == 0) {
            return PCIBIOS_DEVICE_NOT_FOUND;
        }
        try {
            bus.sysdata.mmio.write(addr, Integer.toUnsignedLong(val) & sizeMask(size), size);
        } catch (BusError e) {
            return PCIBIOS_DEVICE_NOT_FOUND;
        }
        return PCIBIOS_SUCCESSFUL;
    }

    private static long sizeMask(int size) {
        return size >= 4 || size <= 0 ? 0xffffffffL : (1L << (8 * size)) - 1;
    }

    /** {@code pci_bus_read_config_*}: the value, or all-ones of the width on a failed access. */
    @Port("drivers/pci/access.c:pci_bus_read_config_dword")
    public static int pciBusReadConfig(PciBus bus, int devfn, int where, int size) {
        if (badAccess(where, size)) {
            return (int) sizeMask(size);
        }
        int[] v = new int[1];
        pciGenericConfigRead(bus, devfn, where, size, v);
        return (int) (v[0] & sizeMask(size));
    }

    @Port("drivers/pci/access.c:pci_bus_write_config_dword")
    public static int pciBusWriteConfig(PciBus bus, int devfn, int where, int size, int val) {
        if (badAccess(where, size)) {
            return PCIBIOS_BAD_REGISTER_NUMBER;
        }
        return pciGenericConfigWrite(bus, devfn, where, size, val);
    }

    @Port("include/linux/pci.h:pci_read_config_byte")
    public static int pciReadConfigByte(PciDev dev, int where) {
        return pciBusReadConfig(dev.pciBus, dev.devfn, where, 1);
    }

    @Port("include/linux/pci.h:pci_read_config_word")
    public static int pciReadConfigWord(PciDev dev, int where) {
        return pciBusReadConfig(dev.pciBus, dev.devfn, where, 2);
    }

    @Port("include/linux/pci.h:pci_read_config_dword")
    public static int pciReadConfigDword(PciDev dev, int where) {
        return pciBusReadConfig(dev.pciBus, dev.devfn, where, 4);
    }

    @Port("include/linux/pci.h:pci_write_config_byte")
    public static int pciWriteConfigByte(PciDev dev, int where, int val) {
        return pciBusWriteConfig(dev.pciBus, dev.devfn, where, 1, val);
    }

    @Port("include/linux/pci.h:pci_write_config_word")
    public static int pciWriteConfigWord(PciDev dev, int where, int val) {
        return pciBusWriteConfig(dev.pciBus, dev.devfn, where, 2, val);
    }

    @Port("include/linux/pci.h:pci_write_config_dword")
    public static int pciWriteConfigDword(PciDev dev, int where, int val) {
        return pciBusWriteConfig(dev.pciBus, dev.devfn, where, 4, val);
    }

    /** PCIBIOS code to -errno. */
    @Port("include/linux/pci.h:pcibios_err_to_errno")
    public static int pcibiosErrToErrno(int err) {
        if (err <= PCIBIOS_SUCCESSFUL) {
            return err;
        }
        return switch (err) {
            case PCIBIOS_FUNC_NOT_SUPPORTED -> -ENOENT;
            case PCIBIOS_BAD_VENDOR_ID -> -ENOTTY;
            case PCIBIOS_DEVICE_NOT_FOUND -> -ENODEV;
            case PCIBIOS_BAD_REGISTER_NUMBER -> -EFAULT;
            case PCIBIOS_SET_FAILED -> -EIO;
            case PCIBIOS_BUFFER_TOO_SMALL -> -ENOSPC;
            default -> -ERANGE;
        };
    }


    /** The version field of the PCI Express Capabilities register (1 or 2). */
    @Port("drivers/pci/access.c:pcie_cap_version")
    private static int pcieCapVersion(PciDev dev) {
        return dev.pcieFlagsReg & PCI_EXP_FLAGS_VERS;
    }

    /** The port types with a Link, hence Link Capabilities/Control/Status registers. */
    @Port("drivers/pci/access.c:pcie_cap_has_lnkctl")
    static boolean pcieCapHasLnkctl(PciDev dev) {
        int type = pciPcieType(dev);
        return type == PCI_EXP_TYPE_ENDPOINT || type == PCI_EXP_TYPE_LEG_END || type == PCI_EXP_TYPE_ROOT_PORT
                || type == PCI_EXP_TYPE_UPSTREAM || type == PCI_EXP_TYPE_DOWNSTREAM
                || type == PCI_EXP_TYPE_PCI_BRIDGE || type == PCI_EXP_TYPE_PCIE_BRIDGE;
    }

    @Port("drivers/pci/pci.h:pcie_downstream_port")
    private static boolean pcieDownstreamPort(PciDev dev) {
        int type = pciPcieType(dev);
        return type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_DOWNSTREAM || type == PCI_EXP_TYPE_PCIE_BRIDGE;
    }

    /** Slot registers: a downstream-facing port whose capability says Slot Implemented. */
    @Port("drivers/pci/access.c:pcie_cap_has_sltctl")
    private static boolean pcieCapHasSltctl(PciDev dev) {
        int type = pciPcieType(dev);
        return (type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_DOWNSTREAM)
                && (dev.pcieFlagsReg & PCI_EXP_FLAGS_SLOT) != 0;
    }

    /** Root registers: Root Ports and Root Complex Event Collectors. */
    @Port("drivers/pci/access.c:pcie_cap_has_rtctl")
    static boolean pcieCapHasRtctl(PciDev dev) {
        int type = pciPcieType(dev);
        return type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_RC_EC;
    }

    /**
     * Whether register {@code pos} of the PCI Express capability exists for this function: the
     * Link, Slot and Root registers only for the port types that have them, the "2" registers
     * (from Device Capabilities 2 on) only in a version 2 capability.
     */
    @Port("drivers/pci/access.c:pcie_capability_reg_implemented")
    private static boolean pcieCapabilityRegImplemented(PciDev dev, int pos) {
        if (!pciIsPcie(dev)) {
            return false;
        }
        switch (pos) {
            case PCI_EXP_FLAGS:
            case PCI_EXP_DEVCAP:
            case PCI_EXP_DEVCTL:
            case PCI_EXP_DEVSTA:
                return true;
            case PCI_EXP_LNKCAP:
            case PCI_EXP_LNKCTL:
            case PCI_EXP_LNKSTA:
                return pcieCapHasLnkctl(dev);
            case PCI_EXP_SLTCAP:
            case PCI_EXP_SLTCTL:
            case PCI_EXP_SLTSTA:
                return pcieCapHasSltctl(dev);
            case PCI_EXP_RTCTL:
            case PCI_EXP_RTCAP:
            case PCI_EXP_RTSTA:
                return pcieCapHasRtctl(dev);
            case PCI_EXP_DEVCAP2:
            case PCI_EXP_DEVCTL2:
            case PCI_EXP_LNKCAP2:
            case PCI_EXP_LNKCTL2:
            case PCI_EXP_LNKSTA2:
                return pcieCapVersion(dev) > 1;
            default:
                return false;
        }
    }

    /**
     * A 16-bit register of the PCI Express capability: its value; 0 for a misaligned
     * {@code pos}, a register this function does not implement, a failed read, or a function
     * without the capability (a downstream port's unimplemented Slot Status reads Presence
     * Detect State set, as the spec hardwires it).
     */
    @Port("drivers/pci/access.c:pcie_capability_read_word")
    public static int pcieCapabilityReadWord(PciDev dev, int pos) {
        return pcieCapabilityRead(dev, pos, 2);
    }

    /** A 32-bit register of the PCI Express capability, with the rules of {@link #pcieCapabilityReadWord}. */
    @Port("drivers/pci/access.c:pcie_capability_read_dword")
    public static int pcieCapabilityReadDword(PciDev dev, int pos) {
        return pcieCapabilityRead(dev, pos, 4);
    }

    /** pcie_capability_read_word/dword, whose rules differ only in the access's size. */
    private static int pcieCapabilityRead(PciDev dev, int pos, int size) {
        if ((pos & (size - 1)) != 0) {
            return 0;
        }
        if (pcieCapabilityRegImplemented(dev, pos)) {
            int[] v = new int[1];
            int ret = pciGenericConfigReadChecked(dev, dev.pcieCap + pos, size, v);
            return ret != PCIBIOS_SUCCESSFUL ? 0 : v[0];
        }
        if (pciIsPcie(dev) && pcieDownstreamPort(dev) && pos == PCI_EXP_SLTSTA) {
            return PCI_EXP_SLTSTA_PDS;
        }
        return 0;
    }

    /** A config read that also tells whether it worked (the PCIBIOS code of pci_read_config_*). */
    private static int pciGenericConfigReadChecked(PciDev dev, int where, int size, int[] val) {
        if (badAccess(where, size)) {
            return PCIBIOS_BAD_REGISTER_NUMBER;
        }
        int ret = pciGenericConfigRead(dev.pciBus, dev.devfn, where, size, val);
        val[0] &= (int) sizeMask(size);
        return ret;
    }

    /* ---------------- drivers/pci/pci.c: capabilities ---------------- */

    private static final int PCI_FIND_CAP_TTL = 48;

    @Port("drivers/pci/pci.c:__pci_find_next_cap_ttl")
    private static int __pciFindNextCapTtl(PciBus bus, int devfn, int pos, int cap, int ttl) {
        pos = pciBusReadConfig(bus, devfn, pos, 1);
        while (ttl-- > 0) {
            if (pos < 0x40) {
                break;
            }
            pos &= ~3;
            int ent = pciBusReadConfig(bus, devfn, pos, 2);
            int id = ent & 0xff;
            if (id == 0xff) {
                break;
            }
            if (id == cap) {
                return pos;
            }
            pos = ent >> 8;
        }
        return 0;
    }

    /** Offset of the next standard capability {@code cap} after the one at {@code pos}, or 0. */
    @Port("drivers/pci/pci.c:pci_find_next_capability")
    public static int pciFindNextCapability(PciDev dev, int pos, int cap) {
        return __pciFindNextCapTtl(dev.pciBus, dev.devfn, pos + PCI_CAP_LIST_NEXT, cap, PCI_FIND_CAP_TTL);
    }

    /** Offset of standard capability {@code cap}, or 0. */
    @Port("drivers/pci/pci.c:pci_find_capability")
    public static int pciFindCapability(PciDev dev, int cap) {
        return pciBusFindCapability(dev.pciBus, dev.devfn, cap);
    }

    @Port("drivers/pci/pci.c:pci_bus_find_capability")
    public static int pciBusFindCapability(PciBus bus, int devfn, int cap) {
        int status = pciBusReadConfig(bus, devfn, PCI_STATUS, 2);
        if ((status & PCI_STATUS_CAP_LIST) == 0 || status == 0xffff) {
            return 0;
        }
        // header types 0 and 1 keep the pointer at 0x34
        return __pciFindNextCapTtl(bus, devfn, PCI_CAPABILITY_LIST, cap, PCI_FIND_CAP_TTL);
    }

    /** Next extended capability {@code cap} after {@code start} (0 = from the first), or 0. */
    @Port("drivers/pci/pci.c:pci_find_next_ext_capability")
    public static int pciFindNextExtCapability(PciDev dev, int start, int cap) {
        int pos = PCI_CFG_SPACE_SIZE;
        // at least 8 bytes per capability bound the walk
        int ttl = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8;
        if (dev.cfgSize <= PCI_CFG_SPACE_SIZE) {
            return 0;
        }
        if (start != 0) {
            pos = start;
        }
        int header = pciReadConfigDword(dev, pos);
        // no extended capabilities: ID, version and next all zero
        if (header == 0 || header == -1) {
            return 0;
        }
        while (ttl-- > 0) {
            if (PCI_EXT_CAP_ID(header) == cap && pos != start) {
                return pos;
            }
            pos = PCI_EXT_CAP_NEXT(header);
            if (pos < PCI_CFG_SPACE_SIZE) {
                break;
            }
            header = pciReadConfigDword(dev, pos);
            if (header == -1) {
                break;
            }
        }
        return 0;
    }

    /** Offset of extended capability {@code cap}, or 0. */
    @Port("drivers/pci/pci.c:pci_find_ext_capability")
    public static int pciFindExtCapability(PciDev dev, int cap) {
        return pciFindNextExtCapability(dev, 0, cap);
    }

    /* ---------------- drivers/pci/pci.c: bus mastering ---------------- */

    @Port("drivers/pci/pci.c:__pci_set_master")
    private static void __pciSetMaster(PciDev dev, boolean enable) {
        int old = pciReadConfigWord(dev, PCI_COMMAND);
        int cmd = enable ? old | PCI_COMMAND_MASTER : old & ~PCI_COMMAND_MASTER;
        if (cmd != old) {
            pciWriteConfigWord(dev, PCI_COMMAND, cmd);
        }
        dev.isBusmaster = enable;
    }

    /** Lets the device issue DMA (Bus Master Enable). */
    @Port("drivers/pci/pci.c:pci_set_master")
    public static void pciSetMaster(PciDev dev) {
        __pciSetMaster(dev, true);
    }

    @Port("drivers/pci/pci.c:pci_clear_master")
    public static void pciClearMaster(PciDev dev) {
        __pciSetMaster(dev, false);
    }

    /** Clears (enable) or sets (disable) the Interrupt Disable bit, writing only on a change. */
    @Port("drivers/pci/pci.c:pci_intx")
    public static void pciIntx(PciDev pdev, boolean enable) {
        int cmd = pciReadConfigWord(pdev, PCI_COMMAND);
        int nw = enable ? cmd & ~PCI_COMMAND_INTX_DISABLE : cmd | PCI_COMMAND_INTX_DISABLE;
        if (nw != cmd) {
            pciWriteConfigWord(pdev, PCI_COMMAND, nw);
        }
    }

    /* ---------------- drivers/pci/pci.c: ACS ---------------- */

    /** Asks enumeration to enable ACS (IOMMU drivers call it before devices are scanned). */
    @Port("drivers/pci/pci.c:pci_request_acs")
    public void pciRequestAcs() {
        pciAcsEnable = true;
    }

    @Port("drivers/pci/pci.c:pci_std_enable_acs")
    private static void pciStdEnableAcs(PciDev dev) {
        int pos = dev.acsCap;
        int cap = pciReadConfigWord(dev, pos + PCI_ACS_CAP);
        int ctrl = pciReadConfigWord(dev, pos + PCI_ACS_CTRL);
        ctrl |= cap & (PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF);
        // Translation Blocking: a device that may not use ATS (pci=noats, or untrusted) must not
        // have Translated requests forwarded either (external-facing ports are not modelled)
        if (dev.pciBus.pci.pcieAtsDisabled || dev.untrusted) {
            ctrl |= cap & PCI_ACS_TB;
        }
        pciWriteConfigWord(dev, pos + PCI_ACS_CTRL, ctrl);
    }

    @Port("drivers/pci/pci.c:pci_enable_acs")
    private void pciEnableAcs(PciDev dev) {
        if (!pciAcsEnable || dev.acsCap == 0) {
            return;
        }
        pciStdEnableAcs(dev);
    }

    @Port("drivers/pci/pci.c:pci_acs_flags_enabled")
    static boolean pciAcsFlagsEnabled(PciDev pdev, int acsFlags) {
        int pos = pdev.acsCap;
        if (pos == 0) {
            return false;
        }
        // a control the capability lacks cannot be switched off, so only implemented ones (and EC, always) are checked
        int cap = pciReadConfigWord(pdev, pos + PCI_ACS_CAP);
        acsFlags &= cap | PCI_ACS_EC;
        int ctrl = pciReadConfigWord(pdev, pos + PCI_ACS_CTRL);
        return (ctrl & acsFlags) == acsFlags;
    }

    @Port("drivers/pci/pci.c:pci_acs_enabled")
    public static boolean pciAcsEnabled(PciDev pdev, int acsFlags) {
        if (!pciIsPcie(pdev)) {
            return false;
        }
        switch (pciPcieType(pdev)) {
            // a PCI/PCI-X-to-PCIe bridge is treated as conventional PCI; PCIe r3 6.12.1 rules ACS
            // out for PCIe-to-PCI bridges and (v5.11+) Root Complex Event Collectors
            case PCI_EXP_TYPE_PCIE_BRIDGE:
            case PCI_EXP_TYPE_PCI_BRIDGE:
            case PCI_EXP_TYPE_RC_EC:
                return false;
            // ports advertise their peer-to-peer isolation whether single- or multi-function
            case PCI_EXP_TYPE_DOWNSTREAM:
            case PCI_EXP_TYPE_ROOT_PORT:
                return pciAcsFlagsEnabled(pdev, acsFlags);
            // PCIe r3 6.12.1.2: these types need ACS only as functions of a multi-function device
            case PCI_EXP_TYPE_ENDPOINT:
            case PCI_EXP_TYPE_UPSTREAM:
            case PCI_EXP_TYPE_LEG_END:
            case PCI_EXP_TYPE_RC_END:
                if (!pdev.multifunction) {
                    break;
                }
                return pciAcsFlagsEnabled(pdev, acsFlags);
            default:
                break;
        }
        // any other single function: nothing for ACS to isolate
        return true;
    }

    /** ACS enabled on every device from {@code start} up to {@code end} (null: the root). */
    @Port("drivers/pci/pci.c:pci_acs_path_enabled")
    public static boolean pciAcsPathEnabled(PciDev start, PciDev end, int acsFlags) {
        PciDev pdev;
        PciDev parent = start;
        do {
            pdev = parent;
            if (!pciAcsEnabled(pdev, acsFlags)) {
                return false;
            }
            if (pciIsRootBus(pdev.pciBus)) {
                return end == null;
            }
            parent = pdev.pciBus.self;
        } while (pdev != end);
        return true;
    }

    /* ---------------- drivers/pci/search.c ---------------- */

    /**
     * Calls {@code fn(pdev, alias)} for each requester ID the device's DMA can carry; stops at
     * the first non-zero return and returns it. Root-bus functions have one alias: their own.
     */
    @Port("drivers/pci/search.c:pci_for_each_dma_alias")
    public static int pciForEachDmaAlias(PciDev pdev, DmaAliasFn fn) {
        return fn.call(pdev, pciDevId(pdev));
    }

    /** The callback of {@link #pciForEachDmaAlias}. */
    @FunctionalInterface
    public interface DmaAliasFn {
        int call(PciDev pdev, int alias);
    }

    /** The device at domain/bus/devfn among this world's root buses, or null. */
    @Port("drivers/pci/search.c:pci_get_domain_bus_and_slot")
    public PciDev pciGetDomainBusAndSlot(int domain, int bus, int devfn) {
        synchronized (rootBuses) {
            for (PciBus b : rootBuses) {
                if (b.domainNr == domain && b.number == bus) {
                    for (PciDev d : b.devices) {
                        if (d.devfn == devfn) {
                            return d;
                        }
                    }
                }
            }
        }
        return null;
    }

    /* ---------------- drivers/pci/ecam.c and probe.c: enumeration ---------------- */

    /**
     * Describes an ECAM window of buses [busStart, busEnd] at physical {@code cfgBase} for a
     * host bridge without a device (tests): the window is exactly as large as the bus range.
     * Throws {@code ErrnoException(-EINVAL)} for a bus range that is not one.
     */
    public static PciConfigWindow pciEcamCreate(MmioBus mmio, long cfgBase, int busStart, int busEnd) {
        if (busStart < 0 || busEnd > 255 || busEnd < busStart) {
            throw new ErrnoException(-EINVAL);
        }
        Resource cfgres = new Resource("PCI ECAM", cfgBase, cfgBase + ((long) (busEnd - busStart + 1) << PCIE_ECAM_BUS_SHIFT) - 1,
                Resource.IORESOURCE_MEM);
        return pciEcamCreate(null, mmio, cfgres, new Resource("PCI busn", busStart, busEnd, Resource.IORESOURCE_BUS));
    }

    /** {@code PCIE_ECAM_BUS_SHIFT} (include/linux/pci-ecam.h): 1 MiB of configuration space per bus. */
    public static final int PCIE_ECAM_BUS_SHIFT = 20;

    /**
     * Creates the configuration window of {@code dev}'s ECAM region {@code cfgres} for the buses
     * {@code busr} (the generic ECAM ops: 20-bit bus shift). A region too small for the bus
     * range has the range cut to what fits, with a warning; the window is announced with
     * "ECAM at %pR for %pR". Throws {@code ErrnoException(-EINVAL)} for an empty bus range. The
     * region is not claimed in an iomem tree (the board's MMIO map refuses overlaps itself).
     */
    @Port("drivers/pci/ecam.c:pci_ecam_create")
    public static PciConfigWindow pciEcamCreate(Device dev, MmioBus mmio, Resource cfgres, Resource busr) {
        if (busr.start() > busr.end()) {
            throw new ErrnoException(-EINVAL);
        }
        Resource cfgBusr = new Resource(busr.name(), busr.start(), busr.end(), Resource.IORESOURCE_BUS);
        long busRange = cfgBusr.resourceSize();
        long busRangeMax = cfgres.resourceSize() >>> PCIE_ECAM_BUS_SHIFT;
        if (busRange > busRangeMax) {
            busRange = busRangeMax;
            cfgBusr = new Resource(busr.name(), busr.start(), busr.start() + busRange - 1, Resource.IORESOURCE_BUS);
            DevPrintk.devWarn(dev, "ECAM area %s can only accommodate %s (reduced from %s desired)",
                    KernelResource.resourceString(cfgres), KernelResource.resourceString(cfgBusr),
                    KernelResource.resourceString(busr));
        }
        Resource res = new Resource("PCI ECAM", cfgres.start(), cfgres.end(), Resource.IORESOURCE_MEM | Resource.IORESOURCE_BUSY);
        PciConfigWindow cfg = new PciConfigWindow(mmio, res.start(), (int) cfgBusr.start(), (int) cfgBusr.end());
        DevPrintk.devInfo(dev, "ECAM at %s for %s", KernelResource.resourceString(res), KernelResource.resourceString(cfgBusr));
        return cfg;
    }

    /**
     * Allocates a host bridge with empty window lists, for its creator to describe (from the
     * firmware) before {@link #pciHostCommonProbe(PciHostBridge, MmioBus, long)} scans it.
     */
    @Port("drivers/pci/probe.c:pci_alloc_host_bridge")
    public static PciHostBridge pciAllocHostBridge() {
        return new PciHostBridge();
    }

    /** Appends {@code res} to {@code resources}, bus addresses being {@code offset} below it. */
    @Port("drivers/pci/bus.c:pci_add_resource_offset")
    public static void pciAddResourceOffset(List<ResourceEntry> resources, Resource res, long offset) {
        resources.add(new ResourceEntry(res, offset));
    }

    @Port("drivers/pci/bus.c:pci_add_resource")
    public static void pciAddResource(List<ResourceEntry> resources, Resource res) {
        pciAddResourceOffset(resources, res, 0);
    }

    /** The first entry of {@code type} on the list, or null. */
    @Port("include/linux/resource_ext.h:resource_list_first_type")
    public static ResourceEntry resourceListFirstType(List<ResourceEntry> list, long type) {
        for (ResourceEntry e : list) {
            if (e.res().type() == type) {
                return e;
            }
        }
        return null;
    }

    /** The host bridge above {@code bus}: its root bus's bridge. */
    @Port("drivers/pci/host-bridge.c:pci_find_host_bridge")
    public static PciHostBridge pciFindHostBridge(PciBus bus) {
        PciBus root = bus;
        while (root.parent != null) {
            root = root.parent;
        }
        return root.bridge;
    }

    /**
     * Registers {@code bridge} with a root bus numbered from its sysdata's bus range, names it
     * "pci%04x:%02x" and scans the bus (each function found is registered with the driver core,
     * match_driver still false: no driver binds yet).
     */
    @Port("drivers/pci/probe.c:pci_scan_root_bus_bridge")
    public PciBus pciScanRootBusBridge(PciHostBridge bridge) {
        PciConfigWindow cfg = bridge.sysdata;
        PciBus bus = new PciBus(this, bridge.domainNr, cfg.busStart, cfg);
        // pci_register_host_bridge
        bus.bridge = bridge;
        bridge.bus = bus;
        bridge.devSetName(String.format("pci%04x:%02x", bridge.domainNr, bus.number));
        if (bridge.parent != null) {
            DevPrintk.devInfo(bridge.parent, "PCI host bridge to bus %s", bus.devName());
        } else {
            Printk.prInfo("PCI host bridge to bus %s", bus.devName());
        }
        for (ResourceEntry window : bridge.windows) {
            Resource res = window.res();
            long offset = window.offset();
            if ((res.flags & Resource.IORESOURCE_BUS) == 0) {
                bus.resources.add(res); // pci_bus_add_resource
            }
            String addr = "";
            if (offset != 0) {
                addr = String.format(res.type() == Resource.IORESOURCE_IO ? " (bus address [%#06x-%#06x])"
                        : " (bus address [%#010x-%#010x])", res.start - offset, res.end - offset);
            }
            Printk.prInfo("pci_bus %s: root bus resource %s%s", bus.devName(), KernelResource.resourceString(res), addr);
        }
        synchronized (rootBuses) {
            rootBuses.add(bus);
        }
        pciScanChildBus(bus);
        return bus;
    }

    /**
     * Scans the bridge's root bus, sizes and assigns the BARs from the bridge's windows (no
     * firmware assignment is kept: PCI_PROBE_ONLY is never set here) and adds every function
     * found (pci_bus_add_devices: a driver registered on {@link #pciBusType} binds it).
     */
    @Port("drivers/pci/probe.c:pci_host_probe")
    public PciBus pciHostProbe(PciHostBridge bridge) {
        PciBus bus = pciScanRootBusBridge(bridge);
        PciSetupBus.pciBusSizeBridges(bus);
        PciSetupBus.pciBusAssignResources(bus);
        pciBusAddDevices(bus);
        return bus;
    }

    /**
     * Scans the root bus of an ECAM host bridge the firmware describes no windows for, and adds
     * every function found to {@link #pciBusType}.
     */
    @Port("drivers/pci/probe.c:pci_scan_root_bus")
    public PciBus pciScanRootBus(int domainNr, PciConfigWindow cfg) {
        PciHostBridge bridge = pciAllocHostBridge();
        bridge.domainNr = domainNr;
        bridge.sysdata = cfg;
        pciAddResource(bridge.windows, new Resource("PCI busn", cfg.busStart, cfg.busEnd, Resource.IORESOURCE_BUS));
        return pciHostProbe(bridge);
    }

    /**
     * Rescans {@code bus} ({@code echo 1 > /sys/bus/pci/rescan} does it for every root bus):
     * functions that answer but are not on the bus (hot-added, or removed before) are found
     * and set up, their BARs given space in the bridge's windows around what the functions
     * already there hold, and each is added and bound to its driver. Functions already on the
     * bus are left as they are. Returns the highest bus number below {@code bus} (its own: no
     * bridges are modelled).
     */
    @Port("drivers/pci/probe.c:pci_rescan_bus")
    public int pciRescanBus(PciBus bus) {
        int max = pciScanChildBus(bus);
        PciSetupBus.pciAssignUnassignedBusResources(bus);
        pciBusAddDevices(bus);
        return max;
    }

    /**
     * The bus attribute {@code /sys/bus/pci/rescan}: a non-zero value rescans every root bus
     * (under pci_lock_rescan_remove, a lock serialising rescans and removals, here the
     * instance's). Returns {@code count}, or -EINVAL for a value that does not parse.
     */
    @Port("drivers/pci/pci-sysfs.c:rescan_store")
    public long rescanStore(String buf, long count) {
        long[] val = {0};
        if (Kstrtox.kstrtoul(buf, 0, val) < 0) {
            return -EINVAL;
        }
        if (val[0] != 0) {
            synchronized (this) {
                for (PciBus b : rootBuses()) {
                    pciRescanBus(b);
                }
            }
        }
        return count;
    }

    /**
     * {@code pci_ecam_create} + {@code pci_scan_root_bus} in domain 0, for a host bridge without
     * memory windows (tests that need only config space).
     */
    public PciBus pciHostCommonProbe(MmioBus mmio, long cfgBase, int busStart, int busEnd) {
        return pciScanRootBus(0, pciEcamCreate(mmio, cfgBase, busStart, busEnd));
    }

    /**
     * The generic ECAM host driver's probe for a bridge its caller allocated and described
     * (windows, dma_ranges, the bus range as the IORESOURCE_BUS window): creates the
     * configuration window of the ECAM region {@code cfgres} (the node's {@code reg}) over the
     * bus range (gen_pci_init), then scans and adds the root bus. Throws
     * {@code ErrnoException(-ENODEV)} when the bridge has no bus range, or pci_ecam_create's error.
     */
    @Port("drivers/pci/controller/pci-host-common.c:pci_host_common_probe")
    public PciBus pciHostCommonProbe(PciHostBridge bridge, MmioBus mmio, Resource cfgres) {
        bridge.sysdata = genPciInit(bridge.parent, bridge, mmio, cfgres);
        return pciHostProbe(bridge);
    }

    @Port("drivers/pci/controller/pci-host-common.c:gen_pci_init")
    private static PciConfigWindow genPciInit(Device dev, PciHostBridge bridge, MmioBus mmio, Resource cfgres) {
        ResourceEntry bus = resourceListFirstType(bridge.windows, Resource.IORESOURCE_BUS);
        if (bus == null) {
            throw new ErrnoException(-ENODEV);
        }
        return pciEcamCreate(dev, mmio, cfgres, bus.res());
    }

    /**
     * As {@link #pciHostCommonProbe(PciHostBridge, MmioBus, Resource)} with an ECAM region at
     * {@code cfgBase} exactly as large as the bridge's bus range (tests without a device tree).
     */
    public PciBus pciHostCommonProbe(PciHostBridge bridge, MmioBus mmio, long cfgBase) {
        ResourceEntry bus = resourceListFirstType(bridge.windows, Resource.IORESOURCE_BUS);
        long buses = bus == null ? 1 : bus.res().resourceSize();
        return pciHostCommonProbe(bridge, mmio, new Resource("reg", cfgBase, cfgBase + (buses << PCIE_ECAM_BUS_SHIFT) - 1,
                Resource.IORESOURCE_MEM));
    }

    public List<PciBus> rootBuses() {
        synchronized (rootBuses) {
            return List.copyOf(rootBuses);
        }
    }

    /**
     * Scans every slot of {@code bus} for functions not on it yet (a function already there,
     * found by pci_get_slot, is left as it is), each new one put on the bus's list and
     * registered with the driver core (pci_device_add); none is bound to a driver yet. Returns
     * the highest bus number below {@code bus}: no bridges are modelled, so its own number.
     * pcibios_fixup_bus is arm64's empty default.
     */
    @Port("drivers/pci/probe.c:pci_scan_child_bus")
    public int pciScanChildBus(PciBus bus) {
        // pci_scan_child_bus_extend(bus, 0)
        for (int devfn = 0; devfn < 0x100; devfn += 8) {
            pciScanSlot(bus, devfn);
        }
        // no bridges below a root bus here: nothing to scan behind, max is the bus's own number
        return bus.number;
    }

    /**
     * Scans the functions of slot {@code devfn}: function 0, then, for a multi-function device,
     * functions 1..7. Returns how many were newly found (one already added does not count).
     */
    @Port("drivers/pci/probe.c:pci_scan_slot")
    private int pciScanSlot(PciBus bus, int devfn) {
        int nr = 0;
        PciDev dev = pciScanSingleDevice(bus, devfn);
        if (dev == null) {
            return 0;
        }
        if (!pciDevIsAdded(dev)) {
            nr++;
        }
        if (dev.multifunction) {
            // next_fn without ARI: functions 1..7 of a multi-function device
            for (int fn = 1; fn < 8; fn++) {
                PciDev other = pciScanSingleDevice(bus, devfn + fn);
                if (other != null) {
                    if (!pciDevIsAdded(other)) {
                        nr++;
                    }
                    // a function beside function 0 belongs to a multi-function device, whatever
                    // its own Header Type says (PCIe only recommends setting the bit there)
                    other.multifunction = true;
                }
            }
        }
        // pcie_aspm_init_link_state: only below a bridge (bus->self), none here
        return nr;
    }

    /** The function at {@code devfn} on {@code bus}'s list, or null (no reference counts here). */
    @Port("drivers/pci/search.c:pci_get_slot")
    public static PciDev pciGetSlot(PciBus bus, int devfn) {
        // down_read(&pci_bus_sem): the list is copy-on-write
        for (PciDev dev : bus.devices) {
            if (dev.devfn == devfn) {
                return dev;
            }
        }
        return null;
    }

    /** A vendor ID of all ones or all zeros means nothing answers (probe.c). */
    @Port("drivers/pci/probe.c:pci_bus_read_dev_vendor_id")
    static boolean pciBusReadDevVendorId(PciBus bus, int devfn, int[] l) {
        l[0] = pciBusReadConfig(bus, devfn, PCI_VENDOR_ID, 4);
        return !(l[0] == 0xffffffff || l[0] == 0x00000000 || l[0] == 0x0000ffff || l[0] == 0xffff0000);
    }

    /**
     * The function at {@code devfn}: the one already on the bus (a rescan leaves it alone), else
     * a newly found one, set up and added (pci_device_add); null when nothing answers there.
     */
    @Port("drivers/pci/probe.c:pci_scan_single_device")
    private PciDev pciScanSingleDevice(PciBus bus, int devfn) {
        PciDev dev = pciGetSlot(bus, devfn);
        if (dev != null) {
            return dev;
        }
        dev = pciScanDevice(bus, devfn);
        if (dev == null) {
            return null;
        }
        pciDeviceAdd(dev, bus);
        return dev;
    }

    /** A new pci_dev for the function answering at {@code devfn}, its header read; null if none answers. */
    @Port("drivers/pci/probe.c:pci_scan_device")
    private PciDev pciScanDevice(PciBus bus, int devfn) {
        int[] l = new int[1];
        if (!pciBusReadDevVendorId(bus, devfn, l)) {
            return null;
        }
        PciDev dev = new PciDev(bus, devfn);
        dev.vendor = l[0] & 0xffff;
        dev.device = (l[0] >>> 16) & 0xffff;
        if (pciSetupDevice(dev) != 0) {
            return null;
        }
        return dev;
    }

    /**
     * Sets up a newly found function's DMA limits (32-bit masks until its driver raises them,
     * 64 KiB segments that never cross a 4 GiB boundary), reads its capabilities, puts it on
     * the bus's list, gives it its MSI domain ({@link #pciSetMsiDomain}) and registers it with
     * the driver core (device_add: BUS_NOTIFY_ADD_DEVICE, on which the IOMMU core probes it) with
     * {@code match_driver} still false, so no driver binds before {@link #pciBusAddDevice}.
     */
    @Port("drivers/pci/probe.c:pci_device_add")
    private void pciDeviceAdd(PciDev dev, PciBus bus) {
        dev.dmaMask = dev.pciDmaMask;
        dev.dmaParms = dev.pciDmaParms;
        dev.coherentDmaMask = 0xffffffffL;
        DmaMappingH.dmaSetMaxSegSize(dev, 65536);
        DmaMappingH.dmaSetSegBoundary(dev, 0xffffffffL);
        pciInitCapabilities(dev);
        // down_write(&pci_bus_sem): the list is copy-on-write
        bus.devices.add(dev);
        java.util.function.Consumer<PciDev> setMsiDomain = pciSetMsiDomain;
        if (setMsiDomain != null) {
            setMsiDomain.accept(dev);
        }
        // the notifier could use PCI capabilities
        dev.matchDriver = false;
        int ret = pciBusType.deviceAdd(dev);
        Warn.WARN_ON(ret < 0);
    }

    @Port("drivers/pci/probe.c:set_pcie_port_type")
    private static void setPciePortType(PciDev pdev) {
        int pos = pciFindCapability(pdev, PCI_CAP_ID_EXP);
        if (pos == 0) {
            return;
        }
        pdev.pcieCap = pos;
        pdev.pcieFlagsReg = pciReadConfigWord(pdev, pos + PCI_EXP_FLAGS);
    }

    @Port("drivers/pci/probe.c:pci_cfg_space_size")
    private static int pciCfgSpaceSize(PciDev dev) {
        if (!pciIsPcie(dev)) {
            return PCI_CFG_SPACE_SIZE;
        }
        // a function answering all-ones beyond 0x100 has no extended space
        int status = pciReadConfigDword(dev, PCI_CFG_SPACE_SIZE);
        return status == -1 ? PCI_CFG_SPACE_SIZE : PCI_CFG_SPACE_EXP_SIZE;
    }

    /** Reads the header; returns 0, or -EIO for a header type this port does not handle. */
    @Port("drivers/pci/probe.c:pci_setup_device")
    private int pciSetupDevice(PciDev dev) {
        int hdr = pciReadConfigByte(dev, PCI_HEADER_TYPE);
        dev.hdrType = hdr & PCI_HEADER_TYPE_MASK;
        dev.multifunction = (hdr & 0x80) != 0;
        dev.bus = pciBusType;
        dev.parent = dev.pciBus.bridge; // the device sits below its bus's bridge (the host bridge here)
        int classRev = pciReadConfigDword(dev, PCI_CLASS_REVISION);
        dev.revision = classRev & 0xff;
        dev.devClass = classRev >>> 8;
        DevPrintk.devInfo(dev, "[%04x:%04x] type %02x class %#08x", dev.vendor, dev.device, dev.hdrType, dev.devClass);
        setPciePortType(dev);
        dev.cfgSize = pciCfgSpaceSize(dev);
        // Conventional PCI addresses 32 bits; a driver for a 64-bit capable function says so.
        dev.pciDmaMask[0] = 0xffffffffL;
        if (dev.hdrType != PCI_HEADER_TYPE_NORMAL) {
            // bridges (type 1) and CardBus (type 2) are not modelled
            return -EIO;
        }
        pciReadBases(dev, PciDev.PCI_STD_NUM_BARS, PCI_ROM_ADDRESS);
        dev.subsystemVendor = pciReadConfigWord(dev, PCI_SUBSYSTEM_VENDOR_ID);
        dev.subsystemDevice = pciReadConfigWord(dev, PCI_SUBSYSTEM_ID);
        return 0;
    }

    /* ---------------- drivers/pci/probe.c: BAR sizing ---------------- */

    /** {@code enum pci_bar_type}. */
    static final int pci_bar_unknown = 0;
    static final int pci_bar_io = 1;
    static final int pci_bar_mem32 = 2;
    static final int pci_bar_mem64 = 3;

    /** arm64's {@code IO_SPACE_LIMIT} ({@code PCI_IO_SIZE - 1}, 16 MiB of logical I/O ports). */
    public static final long IO_SPACE_LIMIT = 0x00ff_ffffL;

    /** The decoded size of a BAR: the lowest significant bit of {@code maxbase}; 0 if bogus. */
    @Port("drivers/pci/probe.c:pci_size")
    static long pciSize(long base, long maxbase, long mask) {
        long size = mask & maxbase;
        if (size == 0) {
            return 0;
        }
        size = size & ~(size - 1);
        // base == maxbase only when the BAR was already programmed with all ones
        if (base == maxbase && ((base | (size - 1)) & mask) != mask) {
            return 0;
        }
        return size;
    }

    /** Resource flags for a BAR value: space, prefetch, 64-bit, and the register's low bits. */
    @Port("drivers/pci/probe.c:decode_bar")
    static long decodeBar(PciDev dev, int bar) {
        long flags;
        if ((bar & PCI_BASE_ADDRESS_SPACE) == PCI_BASE_ADDRESS_SPACE_IO) {
            flags = Integer.toUnsignedLong(bar) & ~PCI_BASE_ADDRESS_IO_MASK;
            flags |= Resource.IORESOURCE_IO;
            return flags;
        }
        flags = Integer.toUnsignedLong(bar) & ~PCI_BASE_ADDRESS_MEM_MASK;
        flags |= Resource.IORESOURCE_MEM;
        if ((flags & PCI_BASE_ADDRESS_MEM_PREFETCH) != 0) {
            flags |= Resource.IORESOURCE_PREFETCH;
        }
        int memType = bar & PCI_BASE_ADDRESS_MEM_TYPE_MASK;
        if (memType == PCI_BASE_ADDRESS_MEM_TYPE_64) {
            flags |= Resource.IORESOURCE_MEM_64;
        }
        // TYPE_32, TYPE_1M and the reserved type all count as 32-bit BARs
        return flags;
    }

    /**
     * Sizes the BAR at config offset {@code pos} into {@code res}: decode is turned off around
     * the all-ones writes (no printing meanwhile), the old value is put back. Returns 1 for a
     * 64-bit BAR (it used the next register too), else 0. {@code res.flags} is 0 when nothing is
     * implemented there.
     */
    @Port("drivers/pci/probe.c:__pci_read_base")
    static int __pciReadBase(PciDev dev, int type, Resource res, int pos) {
        int mask = type != pci_bar_unknown ? PCI_ROM_ADDRESS_MASK : ~0;
        int origCmd = 0;
        if (!dev.mmioAlwaysOn) {
            origCmd = pciReadConfigWord(dev, PCI_COMMAND);
            if ((origCmd & PCI_COMMAND_DECODE_ENABLE) != 0) {
                pciWriteConfigWord(dev, PCI_COMMAND, origCmd & ~PCI_COMMAND_DECODE_ENABLE);
            }
        }
        res.name = pciName(dev);
        int l = pciReadConfigDword(dev, pos);
        pciWriteConfigDword(dev, pos, l | mask);
        int sz = pciReadConfigDword(dev, pos);
        pciWriteConfigDword(dev, pos, l);
        // all ones: a broken function; an unimplemented BAR reads 0 whatever is written
        if (sz == 0xffffffff) {
            sz = 0;
        }
        if (l == 0xffffffff) {
            l = 0;
        }
        long l64;
        long sz64;
        long mask64;
        if (type == pci_bar_unknown) {
            res.flags = decodeBar(dev, l);
            res.flags |= Resource.IORESOURCE_SIZEALIGN;
            if ((res.flags & Resource.IORESOURCE_IO) != 0) {
                l64 = Integer.toUnsignedLong(l) & PCI_BASE_ADDRESS_IO_MASK;
                sz64 = Integer.toUnsignedLong(sz) & PCI_BASE_ADDRESS_IO_MASK;
                mask64 = PCI_BASE_ADDRESS_IO_MASK & IO_SPACE_LIMIT;
            } else {
                l64 = Integer.toUnsignedLong(l) & PCI_BASE_ADDRESS_MEM_MASK;
                sz64 = Integer.toUnsignedLong(sz) & PCI_BASE_ADDRESS_MEM_MASK;
                mask64 = PCI_BASE_ADDRESS_MEM_MASK & 0xffff_ffffL;
            }
        } else {
            if ((l & PCI_ROM_ADDRESS_ENABLE) != 0) {
                res.flags |= Resource.IORESOURCE_ROM_ENABLE;
            }
            l64 = Integer.toUnsignedLong(l & PCI_ROM_ADDRESS_MASK);
            sz64 = Integer.toUnsignedLong(sz & PCI_ROM_ADDRESS_MASK);
            mask64 = Integer.toUnsignedLong(PCI_ROM_ADDRESS_MASK);
        }
        if ((res.flags & Resource.IORESOURCE_MEM_64) != 0) {
            int hi = pciReadConfigDword(dev, pos + 4);
            pciWriteConfigDword(dev, pos + 4, ~0);
            int szHi = pciReadConfigDword(dev, pos + 4);
            pciWriteConfigDword(dev, pos + 4, hi);
            l64 |= Integer.toUnsignedLong(hi) << 32;
            sz64 |= Integer.toUnsignedLong(szHi) << 32;
            mask64 |= ~0L << 32;
        }
        if (!dev.mmioAlwaysOn && (origCmd & PCI_COMMAND_DECODE_ENABLE) != 0) {
            pciWriteConfigWord(dev, PCI_COMMAND, origCmd);
        }
        boolean ok = sz64 != 0;
        if (ok) {
            sz64 = pciSize(l64, sz64, mask64);
            if (sz64 == 0) {
                DevPrintk.devInfo(dev, "[Firmware Bug]: reg 0x%x: invalid BAR (can't size)", pos);
                ok = false;
            }
        }
        if (!ok) {
            res.flags = 0;
        } else {
            // 64-bit pci_bus_addr_t and resource_size_t: no 4 GiB limit to apply
            PciBusRegion region = new PciBusRegion(l64, l64 + sz64 - 1);
            PciBusRegion inverted = new PciBusRegion();
            pcibiosBusToResource(dev.pciBus, res, region);
            pcibiosResourceToBus(dev.pciBus, inverted, res);
            // the CPU's address must translate back to the BAR's value, or the function would
            // not claim the CPU's accesses
            if (inverted.start != region.start) {
                res.flags |= Resource.IORESOURCE_UNSET;
                res.start = 0;
                res.end = region.end - region.start;
                DevPrintk.devInfo(dev, "reg 0x%x: initial BAR value %#010x invalid", pos, region.start);
            }
        }
        if (res.flags != 0) {
            DevPrintk.devInfo(dev, "reg 0x%x: %s", pos, KernelResource.resourceString(res));
        }
        return (res.flags & Resource.IORESOURCE_MEM_64) != 0 ? 1 : 0;
    }

    /** Sizes BARs 0..howmany-1 and, if {@code rom} is a register offset, the Expansion ROM. */
    @Port("drivers/pci/probe.c:pci_read_bases")
    static void pciReadBases(PciDev dev, int howmany, int rom) {
        if (dev.nonCompliantBars) {
            return;
        }
        // PCIe r4.0 9.3.4.1.11: a VF's BARs are RO zero
        if (dev.isVirtfn) {
            return;
        }
        for (int pos = 0; pos < howmany; pos++) {
            Resource res = dev.resource[pos];
            int reg = PCI_BASE_ADDRESS_0 + (pos << 2);
            pos += __pciReadBase(dev, pci_bar_unknown, res, reg);
        }
        if (rom != 0) {
            Resource res = dev.resource[PciDev.PCI_ROM_RESOURCE];
            dev.romBaseReg = rom;
            res.flags = Resource.IORESOURCE_MEM | Resource.IORESOURCE_PREFETCH | Resource.IORESOURCE_READONLY
                    | Resource.IORESOURCE_SIZEALIGN;
            __pciReadBase(dev, pci_bar_mem32, res, rom);
        }
    }

    /* ---------------- drivers/pci/host-bridge.c: CPU and bus addresses ---------------- */

    /** The bus addresses of {@code res}: less the offset of the bridge window holding it. */
    @Port("drivers/pci/host-bridge.c:pcibios_resource_to_bus")
    public static void pcibiosResourceToBus(PciBus bus, PciBusRegion region, Resource res) {
        PciHostBridge bridge = pciFindHostBridge(bus);
        long offset = 0;
        for (ResourceEntry window : bridge.windows) {
            if (KernelResource.resourceContains(window.res(), res)) {
                offset = window.offset();
                break;
            }
        }
        region.start = res.start - offset;
        region.end = res.end - offset;
    }

    @Port("drivers/pci/host-bridge.c:region_contains")
    private static boolean regionContains(PciBusRegion region1, PciBusRegion region2) {
        return Long.compareUnsigned(region1.start, region2.start) <= 0 && Long.compareUnsigned(region1.end, region2.end) >= 0;
    }

    /** The CPU addresses of bus {@code region}: plus the offset of the window of that type holding it. */
    @Port("drivers/pci/host-bridge.c:pcibios_bus_to_resource")
    public static void pcibiosBusToResource(PciBus bus, Resource res, PciBusRegion region) {
        PciHostBridge bridge = pciFindHostBridge(bus);
        long offset = 0;
        for (ResourceEntry window : bridge.windows) {
            if (res.type() != window.res().type()) {
                continue;
            }
            PciBusRegion busRegion = new PciBusRegion(window.res().start - window.offset(),
                    window.res().end - window.offset());
            if (regionContains(busRegion, region)) {
                offset = window.offset();
                break;
            }
        }
        res.start = region.start + offset;
        res.end = region.end + offset;
    }

    /* ---------------- include/linux/pci.h: resource accessors ---------------- */

    @Port("include/linux/pci.h:pci_resource_start")
    public static long pciResourceStart(PciDev dev, int bar) {
        return dev.resource[bar].start;
    }

    @Port("include/linux/pci.h:pci_resource_end")
    public static long pciResourceEnd(PciDev dev, int bar) {
        return dev.resource[bar].end;
    }

    @Port("include/linux/pci.h:pci_resource_flags")
    public static long pciResourceFlags(PciDev dev, int bar) {
        return dev.resource[bar].flags;
    }

    /** The BAR's size: 0 for an empty slot (start = end = 0), else end - start + 1. */
    @Port("include/linux/pci.h:pci_resource_len")
    public static long pciResourceLen(PciDev dev, int bar) {
        Resource r = dev.resource[bar];
        return r.start == 0 && r.end == r.start ? 0 : r.resourceSize();
    }

    /* ---------------- drivers/pci/bus.c: allocation from the bus's windows ---------------- */

    /** arm64's {@code PCIBIOS_MIN_IO} and {@code PCIBIOS_MIN_MEM} (asm/pci.h). */
    public static final long PCIBIOS_MIN_IO = 0x1000;
    public static final long PCIBIOS_MIN_MEM = 0;

    /** {@code pci_32_bit}, {@code pci_64_bit}, {@code pci_high}: the bus regions tried in turn. */
    static final PciBusRegion pci_32_bit = new PciBusRegion(0, 0xffff_ffffL);
    static final PciBusRegion pci_64_bit = new PciBusRegion(0, -1L);
    static final PciBusRegion pci_high = new PciBusRegion(0x1_0000_0000L, -1L);

    /** Narrows {@code res} (a window) to the part whose bus addresses lie in {@code region}. */
    @Port("drivers/pci/bus.c:pci_clip_resource_to_region")
    private static void pciClipResourceToRegion(PciBus bus, Resource res, PciBusRegion region) {
        PciBusRegion r = new PciBusRegion();
        pcibiosResourceToBus(bus, r, res);
        if (Long.compareUnsigned(r.start, region.start) < 0) {
            r.start = region.start;
        }
        if (Long.compareUnsigned(r.end, region.end) > 0) {
            r.end = region.end;
        }
        if (Long.compareUnsigned(r.end, r.start) < 0) {
            res.end = res.start - 1;
        } else {
            pcibiosBusToResource(bus, res, r);
        }
    }

    @Port("drivers/pci/bus.c:pci_bus_alloc_from_region")
    private static int pciBusAllocFromRegion(PciBus bus, Resource res, long size, long align, long min,
            long typeMask, KernelResource.AlignF alignf, Object alignfData, PciBusRegion region) {
        typeMask |= Resource.IORESOURCE_TYPE_BITS;
        for (Resource r : bus.resources) {
            long minUsed = min;
            // the type and the asked-for attributes must match
            if (((res.flags ^ r.flags) & typeMask) != 0) {
                continue;
            }
            // a non-prefetchable BAR never goes into a prefetchable window
            if ((r.flags & Resource.IORESOURCE_PREFETCH) != 0 && (res.flags & Resource.IORESOURCE_PREFETCH) == 0) {
                continue;
            }
            Resource avail = new Resource(r.name, r.start, r.end, r.flags);
            pciClipResourceToRegion(bus, avail, region);
            // PCIBIOS_MIN_* protect low addresses, unless the window itself starts above them
            if (avail.start != 0) {
                minUsed = avail.start;
            }
            long max = avail.end;
            if (KernelResource.allocateResource(r, res, size, minUsed, max, align, alignf, alignfData) == 0) {
                return 0;
            }
        }
        return -ENOMEM;
    }

    /**
     * Allocates {@code size} bytes for {@code res} from the bus's windows whose flags match
     * {@code res}'s under {@code typeMask}: a 64-bit BAR first above 4 GiB, then anywhere, then
     * (like every other BAR) below 4 GiB. 0 or -ENOMEM.
     */
    @Port("drivers/pci/bus.c:pci_bus_alloc_resource")
    public static int pciBusAllocResource(PciBus bus, Resource res, long size, long align, long min, long typeMask,
            KernelResource.AlignF alignf, Object alignfData) {
        // CONFIG_PCI_BUS_ADDR_T_64BIT
        if ((res.flags & Resource.IORESOURCE_MEM_64) != 0) {
            if (pciBusAllocFromRegion(bus, res, size, align, min, typeMask, alignf, alignfData, pci_high) == 0) {
                return 0;
            }
            if (pciBusAllocFromRegion(bus, res, size, align, min, typeMask, alignf, alignfData, pci_64_bit) == 0) {
                return 0;
            }
        }
        return pciBusAllocFromRegion(bus, res, size, align, min, typeMask, alignf, alignfData, pci_32_bit);
    }

    /* ---------------- drivers/pci/pci.c: enabling a device ---------------- */

    /** {@code pcibios_enable_device}: the weak default (arm64 keeps it in v5.15). */
    @Port("drivers/pci/pci.c:pcibios_enable_device")
    static int pcibiosEnableDevice(PciDev dev, int bars) {
        return PciSetupRes.pciEnableResources(dev, bars);
    }

    @Port("drivers/pci/pci.c:do_pci_enable_device")
    private static int doPciEnableDevice(PciDev dev, int bars) {
        // pci_set_power_state(D0): no power management capability is modelled, the function is in D0
        int err = pcibiosEnableDevice(dev, bars);
        if (err < 0) {
            return err;
        }
        if (dev.msiEnabled || dev.msixEnabled) {
            return 0;
        }
        int pin = pciReadConfigByte(dev, PCI_INTERRUPT_PIN);
        if (pin != 0) {
            int cmd = pciReadConfigWord(dev, PCI_COMMAND);
            if ((cmd & PCI_COMMAND_INTX_DISABLE) != 0) {
                pciWriteConfigWord(dev, PCI_COMMAND, cmd & ~PCI_COMMAND_INTX_DISABLE);
            }
        }
        return 0;
    }

    @Port("drivers/pci/pci.c:pci_enable_device_flags")
    private static int pciEnableDeviceFlags(PciDev dev, long flags) {
        if (dev.enableCnt.incrementAndGet() > 1) {
            return 0; // already enabled
        }
        // root-bus functions: no upstream bridge to enable first
        int bars = 0;
        for (int i = 0; i <= PciDev.PCI_ROM_RESOURCE; i++) {
            if ((dev.resource[i].flags & flags) != 0) {
                bars |= 1 << i;
            }
        }
        for (int i = PciDev.PCI_BRIDGE_RESOURCES; i < PciDev.DEVICE_COUNT_RESOURCE; i++) {
            if ((dev.resource[i].flags & flags) != 0) {
                bars |= 1 << i;
            }
        }
        int err = doPciEnableDevice(dev, bars);
        if (err < 0) {
            dev.enableCnt.decrementAndGet();
        }
        return err;
    }

    /**
     * Initialises the device before a driver uses it: turns on I/O and memory decode for the
     * BARs it has (each must be assigned). 0, or -EINVAL (a BAR unassigned or unclaimed; the
     * device stays disabled). Calls nest: only the first one acts.
     */
    @Port("drivers/pci/pci.c:pci_enable_device")
    public static int pciEnableDevice(PciDev dev) {
        return pciEnableDeviceFlags(dev, Resource.IORESOURCE_MEM | Resource.IORESOURCE_IO);
    }

    @Port("drivers/pci/pci.c:pci_enable_device_mem")
    public static int pciEnableDeviceMem(PciDev dev) {
        return pciEnableDeviceFlags(dev, Resource.IORESOURCE_MEM);
    }

    @Port("drivers/pci/pci.c:pci_is_enabled")
    public static boolean pciIsEnabled(PciDev pdev) {
        return pdev.enableCnt.get() > 0;
    }

    @Port("drivers/pci/pci.c:do_pci_disable_device")
    private static void doPciDisableDevice(PciDev dev) {
        int cmd = pciReadConfigWord(dev, PCI_COMMAND);
        if ((cmd & PCI_COMMAND_MASTER) != 0) {
            pciWriteConfigWord(dev, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER);
        }
        // pcibios_disable_device: nothing on arm64
    }

    /**
     * Undoes one {@link #pciEnableDevice}; the last one stops the device's DMA (Bus Master
     * Enable off; decode stays on, as in the kernel). Disabling a disabled device warns.
     */
    @Port("drivers/pci/pci.c:pci_disable_device")
    public static void pciDisableDevice(PciDev dev) {
        if (Warn.WARN_ON_ONCE(dev.enableCnt.get() <= 0)) {
            DevPrintk.devWarn(dev, "disabling already-disabled device");
        }
        if (dev.enableCnt.decrementAndGet() != 0) {
            return;
        }
        doPciDisableDevice(dev);
        dev.isBusmaster = false;
    }

    /**
     * Records whether End-End TLP Prefixes (which carry the PASID) can travel from the function
     * to the root. The whole body is under CONFIG_PCI_PASID in v5.15: without it the flag stays
     * clear.
     */
    @Port("drivers/pci/probe.c:pci_configure_eetlp_prefix")
    private static void pciConfigureEetlpPrefix(PciDev dev) {
        if (!dev.pciBus.pci.CONFIG_PCI_PASID) {
            return;
        }
        if (!pciIsPcie(dev)) {
            return;
        }
        int cap = pcieCapabilityReadDword(dev, PCI_EXP_DEVCAP2);
        if ((cap & PCI_EXP_DEVCAP2_EE_PREFIX) == 0) {
            return;
        }
        int type = pciPcieType(dev);
        if (type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_RC_END) {
            dev.eetlpPrefixPath = true;
        } else {
            PciDev bridge = dev.pciBus.self;
            if (bridge != null && bridge.eetlpPrefixPath) {
                dev.eetlpPrefixPath = true;
            }
        }
    }

    @Port("drivers/pci/pci.c:pci_acs_init")
    private void pciAcsInit(PciDev dev) {
        dev.acsCap = pciFindExtCapability(dev, PCI_EXT_CAP_ID_ACS);
        pciEnableAcs(dev);
    }

    @Port("drivers/pci/probe.c:pci_init_capabilities")
    private void pciInitCapabilities(PciDev dev) {
        PciMsi.pciMsiInit(dev);
        PciMsi.pciMsixInit(dev);
        pciConfigureEetlpPrefix(dev);
        PciAts.pciAtsInit(dev);
        PciAts.pciPriInit(dev);
        PciAts.pciPasidInit(dev);
        pciAcsInit(dev);
    }

    /**
     * Whether the function still answers config reads (its Vendor ID is not all ones: a
     * surprise-removed function reads as nothing). pci_dev_is_disconnected: no error recovery
     * is modelled, so no function is marked permanently failed.
     */
    @Port("drivers/pci/pci.c:pci_device_is_present")
    public static boolean pciDeviceIsPresent(PciDev pdev) {
        int[] v = new int[1];
        return pciBusReadDevVendorId(pdev.pciBus, pdev.devfn, v);
    }

    /* ---------------- drivers/pci/pci.c: BAR regions a driver claims ---------------- */

    /**
     * The root a BAR's region is claimed in, the kernel's {@code iomem_resource} /
     * {@code ioport_resource}: here the top of the tree the BAR is in (the host bridge's window
     * holding it), or the BAR itself when it is in none.
     */
    private static Resource regionRoot(Resource res) {
        Resource root = res;
        while (root.parent != null) {
            root = root.parent;
        }
        return root;
    }

    /** Gives back BAR {@code bar}'s region (release_region / release_mem_region); nothing for an empty BAR. */
    @Port("drivers/pci/pci.c:pci_release_region")
    public static void pciReleaseRegion(PciDev pdev, int bar) {
        if (pciResourceLen(pdev, bar) == 0) {
            return;
        }
        if ((pciResourceFlags(pdev, bar) & (Resource.IORESOURCE_IO | Resource.IORESOURCE_MEM)) != 0) {
            KernelResource.__releaseRegion(regionRoot(pdev.resource[bar]), pciResourceStart(pdev, bar),
                    pciResourceLen(pdev, bar));
        }
        // find_pci_dr: no managed (pcim_*) enabling here, so no devres region mask to update
    }

    /** Claims BAR {@code bar} for {@code resName}: 0 (an empty BAR too), or -EBUSY when someone holds it. */
    @Port("drivers/pci/pci.c:__pci_request_region")
    private static int __pciRequestRegion(PciDev pdev, int bar, String resName, int exclusive) {
        if (pciResourceLen(pdev, bar) == 0) {
            return 0;
        }
        // exclusive (IORESOURCE_EXCLUSIVE: no /dev/mem access) is never asked for here
        if ((pciResourceFlags(pdev, bar) & (Resource.IORESOURCE_IO | Resource.IORESOURCE_MEM)) != 0
                && KernelResource.__requestRegion(regionRoot(pdev.resource[bar]), pciResourceStart(pdev, bar),
                        pciResourceLen(pdev, bar), resName, 0) == null) {
            DevPrintk.devWarn(pdev, "BAR %d: can't reserve %s", bar, KernelResource.resourceString(pdev.resource[bar]));
            return -EBUSY;
        }
        return 0;
    }

    /** Gives back the regions of the BARs in mask {@code bars}. */
    @Port("drivers/pci/pci.c:pci_release_selected_regions")
    public static void pciReleaseSelectedRegions(PciDev pdev, int bars) {
        for (int i = 0; i < PciDev.PCI_STD_NUM_BARS; i++) {
            if ((bars & (1 << i)) != 0) {
                pciReleaseRegion(pdev, i);
            }
        }
    }

    @Port("drivers/pci/pci.c:__pci_request_selected_regions")
    private static int __pciRequestSelectedRegions(PciDev pdev, int bars, String resName, int excl) {
        int i;
        for (i = 0; i < PciDev.PCI_STD_NUM_BARS; i++) {
            if ((bars & (1 << i)) != 0 && __pciRequestRegion(pdev, i, resName, excl) != 0) {
                // err_out: the ones claimed so far go back
                while (--i >= 0) {
                    if ((bars & (1 << i)) != 0) {
                        pciReleaseRegion(pdev, i);
                    }
                }
                return -EBUSY;
            }
        }
        return 0;
    }

    /**
     * Claims the regions of the BARs in mask {@code bars} for driver {@code resName}, all or
     * none: 0, or -EBUSY (a "can't reserve" warning for the BAR someone else holds).
     */
    @Port("drivers/pci/pci.c:pci_request_selected_regions")
    public static int pciRequestSelectedRegions(PciDev pdev, int bars, String resName) {
        return __pciRequestSelectedRegions(pdev, bars, resName, 0);
    }

    /* ---------------- drivers/pci/pci.h: priv_flags ---------------- */

    /** {@code PCI_DEV_ADDED}: the bit of {@link PciDev#privFlags} pci_bus_add_device sets (v5.15: bit 0). */
    public static final int PCI_DEV_ADDED = 0;

    @Port("drivers/pci/pci.h:pci_dev_assign_added")
    static void pciDevAssignAdded(PciDev dev, boolean added) {
        synchronized (dev) {
            dev.privFlags = added ? dev.privFlags | 1L << PCI_DEV_ADDED : dev.privFlags & ~(1L << PCI_DEV_ADDED);
        }
    }

    @Port("drivers/pci/pci.h:pci_dev_is_added")
    public static boolean pciDevIsAdded(PciDev dev) {
        return (dev.privFlags & 1L << PCI_DEV_ADDED) != 0;
    }

    /* ---------------- drivers/pci/bus.c: adding the devices found ---------------- */

    /**
     * Makes a scanned function, its resources now assigned, visible to drivers: match_driver is
     * set and a driver is looked for (device_attach: the bus's dma_configure, then the driver's
     * probe). The function counts as added (PCI_DEV_ADDED) afterwards whatever the binding
     * gave. pcibios_bus_add_device, the final fixups, the sysfs and /proc files and the D3
     * bookkeeping of bridges: none are modelled.
     */
    @Port("drivers/pci/bus.c:pci_bus_add_device")
    private void pciBusAddDevice(PciDev dev) {
        dev.matchDriver = true;
        int retval = pciBusType.deviceAttach(dev);
        if (retval < 0 && retval != -EPROBE_DEFER) {
            DevPrintk.devWarn(dev, "device attach failed (%d)", retval);
        }
        pciDevAssignAdded(dev, true);
    }

    /** Adds (binds) every function of {@code bus} not added yet; child buses: none here. */
    @Port("drivers/pci/bus.c:pci_bus_add_devices")
    public void pciBusAddDevices(PciBus bus) {
        for (PciDev dev : bus.devices) {
            // skip already-added devices
            if (pciDevIsAdded(dev)) {
                continue;
            }
            pciBusAddDevice(dev);
        }
    }

    /* ---------------- drivers/pci/remove.c (v5.15) ---------------- */

    /** Gives the function's address space back: each resource still in a tree leaves it. */
    @Port("drivers/pci/remove.c:pci_free_resources")
    private static void pciFreeResources(PciDev dev) {
        for (int i = 0; i < PciDev.PCI_NUM_RESOURCES; i++) {
            Resource res = dev.resource[i];
            if (res.parent != null) {
                KernelResource.releaseResource(res);
            }
        }
    }

    /**
     * Stops an added function: its driver is released (the driver's remove runs) and it no longer
     * counts as added. pci_pme_active, the /proc and sysfs files: none are modelled.
     */
    @Port("drivers/pci/remove.c:pci_stop_dev")
    private void pciStopDev(PciDev dev) {
        if (pciDevIsAdded(dev)) {
            pciBusType.deviceReleaseDriver(dev);
            pciDevAssignAdded(dev, false);
        }
    }

    /**
     * Deletes a function: device_del (bus notifiers BUS_NOTIFY_DEL_DEVICE, then
     * BUS_NOTIFY_REMOVED_DEVICE, on which the IOMMU core releases it), off its bus's list, its
     * resources released. A function that is not (or no longer) registered, the kernel's
     * {@code !dev->dev.kobj.parent}, is left alone.
     */
    @Port("drivers/pci/remove.c:pci_destroy_dev")
    private void pciDestroyDev(PciDev dev) {
        if (!pciBusType.devices().contains(dev)) {
            return;
        }
        pciBusType.deviceDel(dev);
        // down_write(&pci_bus_sem): the list is copy-on-write
        dev.pciBus.devices.remove(dev);
        // pcie_aspm_exit_link_state, pci_bridge_d3_update: no ASPM, no bridges
        pciFreeResources(dev);
    }

    /**
     * Stops {@code dev} and, for a bridge, its children first, last added first. No PCI-to-PCI
     * bridge is modelled (no {@code dev->subordinate}): only the function itself.
     */
    @Port("drivers/pci/remove.c:pci_stop_bus_device")
    private void pciStopBusDevice(PciDev dev) {
        pciStopDev(dev);
    }

    /** Removes {@code dev} (children and subordinate bus first for a bridge: none here). */
    @Port("drivers/pci/remove.c:pci_remove_bus_device")
    private void pciRemoveBusDevice(PciDev dev) {
        pciDestroyDev(dev);
    }

    /**
     * Removes a PCI function (hot-unplug, {@code echo 1 > remove}): first its driver is released
     * (pci_stop_bus_device: the driver's remove quiesces the device), then the function is
     * deleted from the driver core and its bus (pci_remove_bus_device). A function that was
     * removed before, or never added, is left as it is; one without a driver is only deleted.
     */
    @Port("drivers/pci/remove.c:pci_stop_and_remove_bus_device")
    public void pciStopAndRemoveBusDevice(PciDev dev) {
        pciStopBusDevice(dev);
        pciRemoveBusDevice(dev);
    }

    /**
     * Removes every function of root bus {@code bus} (pci_remove_bus_device each: device_del
     * releases a driver still bound), then the bus itself (pci_remove_bus) and its link from the
     * host bridge. The kernel's callers run pci_stop_root_bus first; nothing does here. The host
     * bridge's own device_del is not modelled (it is on no bus here).
     */
    @Port("drivers/pci/remove.c:pci_remove_root_bus")
    public void pciRemoveRootBus(PciBus bus) {
        if (!pciIsRootBus(bus)) {
            return;
        }
        for (PciDev child : bus.devices) {
            pciRemoveBusDevice(child);
        }
        // pci_remove_bus: off the list of root buses
        synchronized (rootBuses) {
            rootBuses.remove(bus);
        }
        if (bus.bridge != null) {
            bus.bridge.bus = null;
        }
    }
}
