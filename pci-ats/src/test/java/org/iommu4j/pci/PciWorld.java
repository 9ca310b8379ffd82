package org.iommu4j.pci;

import org.iommu4j.base.hw.Board;
import org.iommu4j.pci.hw.FakeUpstreamPort;
import org.iommu4j.pci.hw.PciEndpointCaps;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.pci.hw.PciHostBridgeModel;
import org.iommu4j.pci.hw.PcieSpec;

/**
 * A test machine: a host bridge at QEMU virt's high ECAM base with
 * 00:01.0 (all capabilities), 00:02.0 (ATS only, plain endpoint without EE prefix),
 * 00:03.0 and 00:03.1 (multi-function, ACS on 3.0), then the kernel side enumerates it.
 */
final class PciWorld {
    static final long ECAM = 0x40_1000_0000L;
    final Board board = Board.withRam(16 << 20);
    final PciHostBridgeModel hb = new PciHostBridgeModel("pcie", 0, 0);
    final FakeUpstreamPort iommu = new FakeUpstreamPort();
    final PciEndpointModel full;
    final PciEndpointModel atsOnly;
    final PciEndpointModel mf0;
    final PciEndpointModel mf1;
    final Pci pci = new Pci();
    PciBus root;

    PciWorld() {
        full = hb.add(1, "full", PciEndpointCaps.builder().pasid(16, true, false).ats(8, true).pri(64, true).build());
        atsOnly = hb.add(2, "atsonly", PciEndpointCaps.builder().ids(0x8086, 0x1234).noPasid().noPri().ats(0, false)
                .pcieType(PcieSpec.PCIE_TYPE_ENDPOINT).endEndPrefix(false).build());
        mf0 = hb.add(3, "mf0", PciEndpointCaps.builder().acs(PcieSpec.ACS_RR | PcieSpec.ACS_CR).pri(16, false).build());
        mf1 = hb.add(3, 1, new PciEndpointModel("mf1", PciEndpointCaps.builder().build()));
        hb.mapEcam(board.mmio, ECAM);
        for (PciEndpointModel ep : hb.endpoints()) {
            ep.plug(board, iommu, ep.requesterId()); // identity iommu-map
        }
    }

    PciWorld enumerate() {
        root = pci.pciHostCommonProbe(board.mmio, ECAM, 0, 0);
        return this;
    }

    PciDev dev(int slot, int fn) {
        return pci.pciGetDomainBusAndSlot(0, 0, Pci.PCI_DEVFN(slot, fn));
    }
}
