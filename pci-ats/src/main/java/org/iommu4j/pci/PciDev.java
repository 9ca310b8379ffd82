package org.iommu4j.pci;

import java.util.concurrent.atomic.AtomicInteger;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.DeviceDmaParameters;
import org.iommu4j.base.device.Resource;

/**
 * {@code struct pci_dev} (include/linux/pci.h, v5.15): the fields the PCI core, ats.c and the
 * IOMMU stack use. Kernel bitfields become booleans; {@code pdev->bus} (the {@code pci_bus}) is
 * {@link #pciBus} because {@link Device#bus} already holds {@code pdev->dev.bus}, the bus type.
 *
 * <p>Fields are written during enumeration and by ats.c under the caller's serialisation (the
 * kernel takes no lock either: the IOMMU driver owns a device's ATS/PRI/PASID state).
 */
@Port("include/linux/pci.h:pci_dev")
public class PciDev extends Device {
    /** {@code pdev->bus}: the bus this function sits on. */
    public final PciBus pciBus;
    /** Device and function, {@code PCI_DEVFN(slot, func)}. */
    public final int devfn;
    public int vendor;
    public int device;
    public int subsystemVendor;
    public int subsystemDevice;
    /** 24-bit class code (base, sub, prog-if) ({@code pdev->class}). */
    public int devClass;
    public int revision;
    /** Header type without the multi-function bit. */
    public int hdrType;
    /** Offset of the PCI Express capability, 0 if none. */
    public int pcieCap;
    /** The PCI Express Capabilities register (version and port type). */
    public int pcieFlagsReg;
    /** Size of the config space: 256 or 4096. */
    public int cfgSize;
    public boolean multifunction;
    /** Set by the platform for external-facing devices: no ATS for them. */
    public boolean untrusted;
    /** End-End TLP Prefixes supported up to the root (needed to send a PASID). */
    public boolean eetlpPrefixPath;

    /**
     * {@code pdev->dma_parms}, the storage pci_device_add points {@code dev.dma_parms}
     * ({@link Device#dmaParms}) at.
     */
    public final DeviceDmaParameters pciDmaParms = new DeviceDmaParameters();
    /**
     * {@code u64 pdev->dma_mask}: the cell pci_device_add points {@code dev.dma_mask}
     * ({@link Device#dmaMask}) at; named apart from it as {@link #pciDmaParms} is.
     */
    public final long[] pciDmaMask = new long[1];

    /* SR-IOV: set up by whoever creates virtual functions. */
    public boolean isPhysfn;
    public boolean isVirtfn;
    /** The PF of a VF, null otherwise. */
    public PciDev physfn;

    /* ATS */
    public int atsCap;
    /** Smallest Translation Unit as a page shift (12 = 4 KiB). */
    public int atsStu;
    public boolean atsEnabled;

    /* PRI */
    public int priCap;
    public boolean priEnabled;
    public int priReqsAlloc;
    /** PRG Response PASID Required. */
    public boolean pasidRequired;

    /* PASID */
    public int pasidCap;
    public int pasidFeatures;
    public boolean pasidEnabled;

    /* ACS */
    public int acsCap;

    /* MSI (drivers/pci/msi.c) */
    /** Offset of the MSI capability, 0 if none. */
    public int msiCap;
    public int msixCap;
    public boolean msiEnabled;
    public boolean msixEnabled;
    /** Set by quirks and bridges that cannot deliver MSIs. */
    public boolean noMsi;
    public boolean no64bitMsi;
    /** {@code pdev->irq}: the legacy interrupt, or the first MSI vector while MSI is on (0 = none). */
    public int irq;

    /* Resources (include/linux/pci.h, with CONFIG_PCI_IOV) */
    /** {@code PCI_STD_NUM_BARS}. */
    public static final int PCI_STD_NUM_BARS = 6;
    public static final int PCI_STD_RESOURCE_END = 5;
    public static final int PCI_ROM_RESOURCE = 6;
    public static final int PCI_IOV_RESOURCES = 7;
    public static final int PCI_IOV_RESOURCE_END = 12;
    public static final int PCI_BRIDGE_RESOURCES = 13;
    public static final int PCI_NUM_RESOURCES = 17;
    public static final int DEVICE_COUNT_RESOURCE = PCI_NUM_RESOURCES;

    /**
     * {@code resource[DEVICE_COUNT_RESOURCE]}: the BARs as the PCI core sized and placed them
     * (flags 0: a BAR the function does not have). Embedded in the kernel's struct, so never null here.
     */
    public final Resource[] resource = new Resource[DEVICE_COUNT_RESOURCE];
    /** {@code enable_cnt}: pci_enable_device calls not yet undone. */
    public final AtomicInteger enableCnt = new AtomicInteger();
    /** {@code mmio_always_on}: never turn decode off (sizing, 64-bit BAR updates). */
    public boolean mmioAlwaysOn;
    /** {@code non_compliant_bars}: the BARs are not to be touched. */
    public boolean nonCompliantBars;
    /** {@code rom_base_reg}: config offset of the Expansion ROM BAR. */
    public int romBaseReg;
    public boolean isBusmaster;
    /**
     * {@code match_driver}: false while pci_device_add has the function on the bus but its
     * resources are not assigned yet; pci_bus_add_device sets it, and only then does
     * pci_bus_match let a driver bind.
     */
    public volatile boolean matchDriver;
    /**
     * {@code priv_flags} (drivers/pci/pci.h): {@link Pci#PCI_DEV_ADDED} once pci_bus_add_device
     * has run, cleared again when pci_stop_dev releases the driver.
     */
    public volatile long privFlags;

    public PciDev(PciBus bus, int devfn) {
        super(String.format("%04x:%02x:%02x.%d", bus.domainNr, bus.number, devfn >> 3, devfn & 7));
        this.pciBus = bus;
        this.devfn = devfn;
        for (int i = 0; i < DEVICE_COUNT_RESOURCE; i++) {
            resource[i] = new Resource();
        }
    }

    @Override
    public String toString() {
        return devName();
    }
}
