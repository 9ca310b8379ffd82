/**
 * The PCI core (software side): {@code struct pci_dev} ({@link org.iommu4j.pci.PciDev}), config
 * accessors, root-bus enumeration through an ECAM window and the {@code pci} bus type
 * ({@link org.iommu4j.pci.Pci}), and drivers/pci/ats.c ({@link org.iommu4j.pci.PciAts}).
 * It never uses the device model ({@code org.iommu4j.pci.hw}).
 *
 * <p>Enumerating (the platform's job, after the host bridge model is mapped):
 * <pre>{@code
 * Pci pci = new Pci();                    // one per machine; pci.pci_bus_type is the bus type
 * pci.pci_request_acs();                  // optional, as IOMMU drivers do before the scan
 * PciBus root = pci.pci_host_common_probe(board.mmio, ecamBase, 0, 0);
 * for (PciDev pdev : root.devices) { ... Pci.pci_dev_id(pdev) is the RID for iommu-map ... }
 * }</pre>
 * An IOMMU driver then uses {@code Pci.dev_is_pci}, {@code Pci.to_pci_dev},
 * {@code Pci.pci_for_each_dma_alias} and the {@code PciAts.pci_*} functions exactly as in the
 * kernel: PASID before ATS, PRI after ATS (reset first), teardown in reverse.
 */
package org.iommu4j.pci;
