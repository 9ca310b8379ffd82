/**
 * The PCI device model (hardware side): configuration spaces, a host bridge with an ECAM window,
 * and endpoints with a device-side ATC, a Page Request Interface and a DMA engine. It never
 * uses the PCI core ({@code org.iommu4j.pci}); the two meet through kernel-base's board: MMIO
 * config accesses and the {@link org.iommu4j.base.hw.DmaPort}.
 *
 * <p>Building a machine (the platform's job):
 * <pre>{@code
 * PciHostBridgeModel hb = new PciHostBridgeModel("pcie", 0, 0);            // buses 0..0
 * PciEndpointModel ep = hb.add(1, "dev1", PciEndpointCaps.builder()        // 00:01.0
 *         .pasid(20, true, true).ats(0, true).pri(32, true).build());
 * hb.mapEcam(board.mmio, 0x40_1000_0000L);                                  // ECAM base from the DT
 * ep.plug(board, smmuPort, sid);   // SID = iommu-map(RID = ep.requesterId()); registers in board.endpoints
 * }</pre>
 * Driving DMA (a test or scenario): {@code ep.dmaWrite(pasid, iova, bytes)} and
 * {@code ep.dmaRead(pasid, iova, dst)} with {@code DmaTransaction.NO_SSID} for no PASID, or
 * {@code ep.dma(pasid, iova, buf, off, len, ACC_READ|ACC_WRITE[|ACC_EXEC|ACC_PRIV])}; they
 * return 0 or a negative errno (see {@link org.iommu4j.pci.hw.PciEndpointModel}) and
 * {@code lastBytesDone()/lastFaultAddr()/lastFaultReason()} tell what happened. The function
 * must have Bus Master Enable set ({@code pci_set_master}), and PASID/ATS/PRI enabled in its
 * config space (by ats.c) for tagged DMA, translation requests and page requests. A function
 * built with {@code PciEndpointCaps.builder().msi(mmc, addr64, perVectorMask)} has an MSI
 * capability; once software has enabled it, {@code ep.raiseMsi(n)} sends vector n as a write
 * through the same upstream port (0, {@code MSI_PENDING} if masked, or a negative errno); one
 * built with {@code .bar(PciBar...)} has BARs, decoded while the Command register enables them
 * and reached through {@code hb.mapWindow(mmio, cpuBase, size, busBase, io)}; with
 * {@code .msix(vectors, tableBar, tableOffset, pbaBar, pbaOffset)} it has an MSI-X Table in a BAR
 * and {@code ep.raiseMsix(n)} sends entry n.
 */
package org.iommu4j.pci.hw;
