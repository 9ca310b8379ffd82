package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.base.Errno.EPROBE_DEFER;

import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.of.DeviceNode;
import org.iommu4j.of.Property;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** of_iommu_configure from iommus / iommu-map / pasid-num-bits / dma-can-stall. */
@ExtendWith(NoWarnings.class)
class OfIommuTest {
    World w;
    DeviceNode root;
    DeviceNode smmu;
    OfIommu of;

    @BeforeEach
    void setUp() {
        w = new World();
        root = DeviceNode.root();
        smmu = root.addChild("iommu@9050000");
        smmu.setProperty(Property.ofStrings("compatible", "arm,smmu-v3"));
        smmu.setProperty(Property.ofCells("#iommu-cells", 1));
        smmu.setProperty(Property.ofCells("phandle", 0x8000));
        Device hw = new Device("9050000.smmuv3");
        hw.ofNode = smmu;
        IommuDevice idev = new IommuDevice();
        w.iommu.iommuDeviceRegister(idev, w.mock, hw);
        w.iommu.busSetIommu(w.bus, w.mock);
        of = new OfIommu(w.iommu);
    }

    DeviceNode master(String name, int... iommus) {
        DeviceNode n = root.addChild(name);
        n.setProperty(Property.ofCells("iommus", iommus));
        return n;
    }

    @Test
    void platformMasterFromIommusWithSeedProperties() {
        DeviceNode np = master("dma@1000", 0x8000, 0x10, 0x8000, 0x11);
        np.setProperty(Property.ofCells("pasid-num-bits", 5));
        np.setProperty(Property.ofEmpty("dma-can-stall"));
        Device dev = new Device("1000.dma");
        dev.bus = w.bus;
        assertThat(of.ofIommuConfigure(dev, np, null)).isSameAs(w.mock);
        IommuFwspec f = DevIommu.devIommuFwspecGet(dev);
        assertThat(f.iommuFwnode).isSameAs(smmu);
        assertThat(java.util.Arrays.copyOf(f.ids, f.numIds)).containsExactly(0x10, 0x11);
        assertThat(f.numPasidBits).isEqualTo(5);
        assertThat(f.canStall).isTrue();
        // Probed into a group with its default domain.
        assertThat(dev.iommuGroup).isNotNull();
        assertThat(w.mock.log).contains("of_xlate 1000.dma /iommu@9050000[16]", "probe 1000.dma");
        // A second call returns the configured ops at once.
        assertThat(of.ofIommuConfigure(dev, np, null)).isSameAs(w.mock);
    }

    @Test
    void idThroughIommuMap() {
        DeviceNode np = root.addChild("msi-bus");
        np.setProperty(Property.ofCells("iommu-map", 0x100, 0x8000, 0x2000, 0x100));
        np.setProperty(Property.ofCells("iommu-map-mask", 0xffff));
        Device dev = new Device("child");
        assertThat(of.ofIommuConfigure(dev, np, new int[] {0x1_0105})).isSameAs(w.mock);
        IommuFwspec f = DevIommu.devIommuFwspecGet(dev);
        assertThat(f.ids[0]).isEqualTo(0x2005);
        assertThat(f.numPasidBits).isZero();
        assertThat(f.canStall).isFalse();
        // Outside the map: pass-through means no IOMMU.
        Device other = new Device("other");
        assertThat(of.ofIommuConfigure(other, np, new int[] {0x300})).isNull();
        assertThat(DevIommu.devIommuFwspecGet(other)).isNull();
    }

    @Test
    void noIommuCases() {
        Device dev = new Device("d");
        assertThat(of.ofIommuConfigure(dev, null, null)).isNull();
        DeviceNode plain = root.addChild("plain");
        assertThat(of.ofIommuConfigure(dev, plain, null)).isNull();
        // IOMMU node disabled.
        smmu.setProperty(Property.ofStrings("status", "disabled"));
        assertThat(of.ofIommuConfigure(dev, master("m1", 0x8000, 1), null)).isNull();
        assertThat(DevIommu.devIommuFwspecGet(dev)).isNull();
    }

    @Test
    void driverWithoutOfXlateMeansNoIommu() {
        DeviceNode other = root.addChild("iommu@2");
        other.setProperty(Property.ofCells("#iommu-cells", 1));
        other.setProperty(Property.ofCells("phandle", 0x9000));
        MinimalOps min = new MinimalOps(w.pageAlloc);
        Device hw = new Device("min-iommu");
        hw.ofNode = other;
        w.iommu.iommuDeviceRegister(new IommuDevice(), min, hw);
        Device dev = new Device("d");
        assertThat(of.ofIommuConfigure(dev, master("m", 0x9000, 3), null)).isNull();
    }

    @Test
    void unregisteredIommuDefersProbe() {
        DeviceNode late = root.addChild("iommu@3");
        late.setProperty(Property.ofCells("#iommu-cells", 1));
        late.setProperty(Property.ofCells("phandle", 0x7000));
        Device dev = new Device("d");
        DeviceNode np = master("m", 0x7000, 4);
        assertThatThrownBy(() -> of.ofIommuConfigure(dev, np, null))
                .isInstanceOf(ErrnoException.class).extracting(e -> ((ErrnoException) e).err()).isEqualTo(-EPROBE_DEFER);
        // The empty fwspec names the awaited IOMMU; the retry starts from scratch once it exists.
        assertThat(DevIommu.devIommuFwspecGet(dev).iommuFwnode).isSameAs(late);
        Device hw = new Device("late");
        hw.ofNode = late;
        w.iommu.iommuDeviceRegister(new IommuDevice(), w.mock, hw);
        assertThat(of.ofIommuConfigure(dev, np, null)).isSameAs(w.mock);
        assertThat(DevIommu.devIommuFwspecGet(dev).ids[0]).isEqualTo(4);
    }

    @Test
    void pciFunctionThroughHostBridgeIommuMap() {
        PciBed bed = new PciBed(w);
        bed.scan();
        org.iommu4j.pci.PciDev pdev = bed.fn(1, 0);
        assertThat(pdev).isNotNull();
        assertThat(pdev.iommuGroup).isNull(); // no fwspec yet: the bus probe skipped it
        DeviceNode bridge = root.addChild("pcie@10000000");
        bridge.setProperty(Property.ofCells("iommu-map", 0x0, 0x8000, 0x10000, 0x10000));
        bridge.setProperty(Property.ofEmpty("ats-supported"));
        pdev.bus = bed.pci.pciBusType;
        assertThat(of.ofIommuConfigure(pdev, bridge, null)).isSameAs(w.mock);
        IommuFwspec f = DevIommu.devIommuFwspecGet(pdev);
        assertThat(f.ids[0]).isEqualTo(0x10000 + 0x08); // RID 00:01.0 = 0x08
        assertThat(f.flags & IommuH.IOMMU_FWSPEC_PCI_RC_ATS).isNotZero();
        assertThat(pdev.iommuGroup).isNotNull();
    }

    @Test
    void pciConfigureRequestsAcsForFunctionsScannedLater() {
        int acs = org.iommu4j.pci.hw.PcieSpec.ACS_RR | org.iommu4j.pci.hw.PcieSpec.ACS_CR;
        PciBed bed = new PciBed(w, hb -> {
            hb.add(1, "mf", org.iommu4j.pci.hw.PciEndpointCaps.builder().acs(acs).build());
            hb.add(1, 1, new org.iommu4j.pci.hw.PciEndpointModel("mf1",
                    org.iommu4j.pci.hw.PciEndpointCaps.builder().build()));
        });
        org.iommu4j.pci.PciBus bus = bed.scan();
        org.iommu4j.pci.PciDev pdev = bed.fn(1, 0);
        int ctrl = pdev.acsCap + org.iommu4j.pci.PciRegs.PCI_ACS_CTRL;
        assertThat(pdev.acsCap).isNotZero();
        assertThat(org.iommu4j.pci.Pci.pciReadConfigWord(pdev, ctrl)).isZero();
        DeviceNode bridge = root.addChild("pcie@10000000");
        bridge.setProperty(Property.ofCells("iommu-map", 0x0, 0x8000, 0x0, 0x10000));
        assertThat(of.ofIommuConfigure(pdev, bridge, null)).isSameAs(w.mock);
        // the function scanned before the request keeps ACS off
        assertThat(org.iommu4j.pci.Pci.pciReadConfigWord(pdev, ctrl)).isZero();
        // scanned again (a rescan of the bridge), it comes up with ACS enabled
        bed.pci.pciRemoveRootBus(bus);
        bed.scan();
        org.iommu4j.pci.PciDev again = bed.fn(1, 0);
        assertThat(again).isNotSameAs(pdev);
        assertThat(org.iommu4j.pci.Pci.pciReadConfigWord(again, ctrl)).isEqualTo(acs);
    }

    @Test
    void badIommuMapIsAnErrorNotAnException() {
        DeviceNode np = root.addChild("bad");
        np.setProperty(Property.ofCells("iommu-map", 0x100, 0x8000));
        Device dev = new Device("d");
        assertThat(of.ofIommuConfigure(dev, np, new int[] {0x100})).isNull();
    }
}
