package org.iommu4j.platform;

import org.iommu4j.pci.hw.PciEndpointCaps;

/**
 * The PCI face of QEMU 7.2's generic PCIe host bridge (hw/pci-host/gpex.c: the "gpex-root"
 * device the gpex host places at 00:00.0 of its root bus, single-function), with what
 * hw/pci/pci.c's do_pci_register_device gives every device:
 *
 * <ul>
 * <li>Red Hat's Vendor ID 0x1b36 with PCI_DEVICE_ID_REDHAT_PCIE_HOST (0x0008), Revision 0, class
 *     PCI_CLASS_BRIDGE_HOST (base 06h, sub 00h, prog-if 0);</li>
 * <li>a type 0 header (a host bridge is no PCI-to-PCI bridge) with QEMU's default Subsystem IDs
 *     (PCI_SUBVENDOR_ID_REDHAT_QUMRANET 0x1af4, PCI_SUBDEVICE_ID_QEMU 0x1100);</li>
 * <li>a conventional PCI device (INTERFACE_CONVENTIONAL_PCI_DEVICE): no PCI Express capability,
 *     and no capability at all (Status has no Capabilities List bit, the pointer is 0);</li>
 * <li>no BAR, no Expansion ROM, no interrupt pin.</li>
 * </ul>
 *
 * <p>Linux has no driver for it: it enumerates the function ("[1b36:0008] type 00 class
 * 0x060000") and leaves it at that.
 */
public final class GpexRoot {
    private GpexRoot() {}

    /** {@code PCI_VENDOR_ID_REDHAT} (QEMU include/hw/pci/pci.h). */
    public static final int PCI_VENDOR_ID_REDHAT = 0x1b36;
    /** {@code PCI_DEVICE_ID_REDHAT_PCIE_HOST}. */
    public static final int PCI_DEVICE_ID_REDHAT_PCIE_HOST = 0x0008;
    /** {@code PCI_CLASS_BRIDGE_HOST} as the 24-bit class code (prog-if 0). */
    public static final int PCI_CLASS_BRIDGE_HOST = 0x060000;
    /** pci_set_default_subsystem_id: {@code PCI_SUBVENDOR_ID_REDHAT_QUMRANET}, {@code PCI_SUBDEVICE_ID_QEMU}. */
    public static final int PCI_SUBVENDOR_ID_REDHAT_QUMRANET = 0x1af4;
    public static final int PCI_SUBDEVICE_ID_QEMU = 0x1100;
    /** {@code PCI_DEVFN(0, 0)}: where gpex_host_initfn puts it. */
    public static final int DEVICE = 0;

    /** The function's description. */
    public static PciEndpointCaps caps() {
        return PciEndpointCaps.builder().conventional().noMsi().noMsix().noBars()
                .ids(PCI_VENDOR_ID_REDHAT, PCI_DEVICE_ID_REDHAT_PCIE_HOST).classCode(PCI_CLASS_BRIDGE_HOST)
                .revision(0).subsystem(PCI_SUBVENDOR_ID_REDHAT_QUMRANET, PCI_SUBDEVICE_ID_QEMU).interruptPin(0)
                .build();
    }
}
