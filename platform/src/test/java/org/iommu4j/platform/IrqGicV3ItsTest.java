package org.iommu4j.platform;

import static org.assertj.core.api.Assertions.assertThat;

import org.iommu4j.base.Errno;
import org.iommu4j.base.irq.MsiDomain;
import org.iommu4j.of.DeviceNode;
import org.iommu4j.of.Fdt;
import org.iommu4j.of.Property;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciMsi;
import org.junit.jupiter.api.Test;

/** The ITS's per-DeviceID state as v5.15's its_create_device sizes it. */
class IrqGicV3ItsTest {
    /**
     * A DeviceID prepared for one vector gets an ITT of two entries but one LPI
     * (its_lpi_alloc(nvecs)): its event map has one event, so a second allocation for the same
     * DeviceID while the first is held fails with -ENOSPC (its_alloc_device_irq).
     */
    @Test
    void aOneVectorDeviceHasOneEvent() {
        try (Machine m = new Machine(IrqGicV2mTest.itsTree(), "qemu")) {
            PciDev dev = m.function(0x8).dev();
            int devId = Pci.pciDevId(dev);
            assertThat(PciMsi.pciAllocIrqVectors(dev, 1, 1, PciMsi.PCI_IRQ_MSIX)).isEqualTo(1);
            IrqGicV3Its.ItsDevice itsDev = m.its.device(devId);
            assertThat(itsDev.nrItes).isEqualTo(2);
            assertThat(itsDev.nrLpis).isEqualTo(1);
            // seen again (as through an alias): the same ITS device, now shared, with no event left
            MsiDomain.MsiAllocInfo info = new MsiDomain.MsiAllocInfo();
            assertThat(m.its.itsMsiPrepare(devId, 1, info)).isZero();
            assertThat(info.scratchpad[0]).isSameAs(itsDev);
            assertThat(m.its.alloc(m.its.pciMsiDomain, 4000, 1, info)).isEqualTo(-Errno.ENOSPC);
            PciMsi.pciFreeIrqVectors(dev);
        }
    }

    /**
     * The DeviceID is the Requester ID as the host bridge's msi-map translates it for this ITS
     * (pci_msi_domain_get_msi_rid): with the map's output base at 0x100, function 00:01.0
     * (RID 0x8) is ITS device 0x108.
     */
    @Test
    void theDeviceIdComesThroughMsiMap() {
        DeviceNode root = Fdt.ofFdtUnflattenTree(IrqGicV2mTest.itsTree());
        DeviceNode its = root.child("intc@8000000").child("v2m@8020000");
        root.child("pcie@10000000").setProperty(Property.ofCells("msi-map", 0, its.phandle, 0x100, 0x10000));
        try (Machine m = new Machine(Fdt.flatten(root), "qemu")) {
            PciDev dev = m.function(0x8).dev();
            assertThat(PciMsi.pciAllocIrqVectors(dev, 1, 2, PciMsi.PCI_IRQ_MSIX)).isEqualTo(2);
            assertThat(m.its.device(0x108)).isNotNull();
            assertThat(m.its.device(0x108).nrLpis).isEqualTo(2);
            assertThat(m.its.device(0x8)).isNull();
            PciMsi.pciFreeIrqVectors(dev);
        }
    }
}
