package org.iommu4j.pci;

import org.iommu4j.base.Port;
import org.iommu4j.base.device.DeviceDriver;

/**
 * {@code struct pci_driver}: a driver that binds to PCI functions by vendor/device ID
 * ({@code id_table}; {@link #PCI_ANY_ID} matches any).
 */
@Port("include/linux/pci.h:pci_driver")
public interface PciDriver extends DeviceDriver {
    int PCI_ANY_ID = -1;

    /** {@code {vendor, device}} pairs, as the id_table. */
    int[][] idTable();

    /** {@code pci_match_one_device} over the table. */
    @Port("drivers/pci/pci-driver.c:pci_match_id")
    default boolean pciMatchId(PciDev dev) {
        for (int[] id : idTable()) {
            if ((id[0] == PCI_ANY_ID || id[0] == dev.vendor) && (id[1] == PCI_ANY_ID || id[1] == dev.device)) {
                return true;
            }
        }
        return false;
    }
}
