package org.iommu4j.platform;

import static org.assertj.core.api.Assertions.assertThat;

import org.iommu4j.base.Errno;
import org.iommu4j.base.irq.MsiDomain;
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
}
