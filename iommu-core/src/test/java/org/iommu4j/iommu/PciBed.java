package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.function.Consumer;
import org.iommu4j.base.hw.Board;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciBus;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciHostBridge;
import org.iommu4j.pci.hw.PciEndpointCaps;
import org.iommu4j.pci.hw.PciHostBridgeModel;

/**
 * PCI functions for the IOMMU core's tests: a host bridge model on a small board, its ECAM
 * window mapped, and the PCI bus type given the mock IOMMU before anything is scanned (as
 * arm_smmu_set_bus_ops does before the host bridge probes).
 */
final class PciBed {
    static final long ECAM = 0x40_1000_0000L;

    final Board board = Board.withRam(16 << 20);
    final PciHostBridgeModel hb = new PciHostBridgeModel("pcie", 0, 0);
    final Pci pci = new Pci();
    private final World w;

    /** {@code functions} adds the bridge's endpoints. */
    PciBed(World w, Consumer<PciHostBridgeModel> functions) {
        this.w = w;
        functions.accept(hb);
        hb.mapEcam(board.mmio, ECAM);
        assertThat(w.iommu.busSetIommu(pci.pciBusType, w.mock)).isZero();
    }

    /** One plain endpoint at 00:01.0. */
    PciBed(World w) {
        this(w, hb -> hb.add(1, "ep", PciEndpointCaps.builder().build()));
    }

    /** pci_host_common_probe over bus 0, with no host bridge description. */
    PciBus scan() {
        return pci.pciHostCommonProbe(board.mmio, ECAM, 0, 0);
    }

    /** pci_host_common_probe of a bridge whose bus range (bus 0) and {@code describe}'s windows are given. */
    PciBus scan(Consumer<PciHostBridge> describe) {
        PciHostBridge bridge = Pci.pciAllocHostBridge();
        Pci.pciAddResource(bridge.windows, new org.iommu4j.base.device.Resource("busn", 0, 0,
                org.iommu4j.base.device.Resource.IORESOURCE_BUS));
        describe.accept(bridge);
        return pci.pciHostCommonProbe(bridge, board.mmio, ECAM);
    }

    /** The scanned function 00:{@code dev}.{@code fn}. */
    PciDev fn(int dev, int fn) {
        return pci.pciGetDomainBusAndSlot(0, 0, Pci.PCI_DEVFN(dev, fn));
    }

    /** Gives {@code pdev} StreamID {@code sid} on the mock IOMMU and probes it. */
    PciDev probe(PciDev pdev, int sid) {
        Iommu.iommuFwspecInit(pdev, w.mock.fwnode, w.mock);
        Iommu.iommuFwspecAddIds(pdev, new int[] {sid}, 1);
        assertThat(w.iommu.iommuProbeDevice(pdev)).isZero();
        return pdev;
    }
}
