package org.iommu4j.of;

import static org.assertj.core.api.Assertions.assertThat;

import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.IrqController;
import org.junit.jupiter.api.Test;

/** msi-map and msi-parent lookups (drivers/of/irq.c): the controller, the mapped ID, its domain. */
class OfMsiTest {
    static final String TREE = """
            /dts-v1/;
            / {
            \tintc: intc { interrupt-controller; #interrupt-cells = <3>;
            \t\tv2m: v2m { msi-controller; compatible = "arm,gic-v2m-frame"; };
            \t\tits: its { msi-controller; #msi-cells = <1>; compatible = "arm,gic-v3-its"; };
            \t};
            \tpcie { msi-map = <0x0 &v2m 0x0 0x100>, <0x100 &its 0x2000 0x100>; msi-map-mask = <0xffff>; };
            \tsimple { msi-parent = <&v2m>; };
            \twithcells { msi-parent = <&its 7>, <&v2m>; };
            \tnothing { };
            };
            """;

    final DeviceNode root = Dts.parse(TREE).root();
    final IrqController irqs = new IrqController("test");

    private Device device(String name, Device parent, DeviceNode node) {
        Device d = new Device(name);
        d.parent = parent;
        d.ofNode = node;
        return d;
    }

    @Test
    void msiMapIsFoundOnAnAncestorAndPicksTheControllerAndId() {
        DeviceNode v2m = root.child("intc").child("v2m");
        DeviceNode its = root.child("intc").child("its");
        Device host = device("pcie", null, root.child("pcie"));
        Device bridge = device("pci0000:00", host, null);
        Device fn = device("0000:00:01.0", bridge, null);
        Object pciDomain = new Object();
        irqs.irqDomainAdd(v2m, IrqController.DOMAIN_BUS_PCI_MSI, pciDomain);

        assertThat(OfIrq.ofMsiMapGetDeviceDomain(fn, 0x8, IrqController.DOMAIN_BUS_PCI_MSI, irqs)).isSameAs(pciDomain);
        assertThat(OfIrq.ofMsiMapGetDeviceDomain(fn, 0x8, IrqController.DOMAIN_BUS_PLATFORM_MSI, irqs)).isNull();
        // RID 0x108 goes to the ITS, which has no domain here
        assertThat(OfIrq.ofMsiMapGetDeviceDomain(fn, 0x108, IrqController.DOMAIN_BUS_PCI_MSI, irqs)).isNull();
        assertThat(OfIrq.ofMsiMapId(fn, its, 0x108)).isEqualTo(0x2008);
        assertThat(OfIrq.ofMsiMapId(fn, v2m, 0x8)).isEqualTo(0x8);
        // the mask applies before the map
        assertThat(OfIrq.ofMsiMapId(fn, its, 0x10108)).isEqualTo(0x2008);
        // a device with no msi-map above it keeps its ID and finds no domain
        Device lone = device("lone", null, root.child("nothing"));
        assertThat(OfIrq.ofMsiMapId(lone, null, 0x42)).isEqualTo(0x42);
        assertThat(OfIrq.ofMsiMapGetDeviceDomain(lone, 0x42, IrqController.DOMAIN_BUS_ANY, irqs)).isNull();
        assertThat(OfIrq.ofMsiMapGetDeviceDomain(null, 0x42, IrqController.DOMAIN_BUS_ANY, irqs)).isNull();
    }

    @Test
    void msiParentSimpleAndWithCells() {
        DeviceNode v2m = root.child("intc").child("v2m");
        DeviceNode its = root.child("intc").child("its");
        Object v2mPci = new Object();
        Object v2mPlat = new Object();
        Object itsPlat = new Object();
        irqs.irqDomainAdd(v2m, IrqController.DOMAIN_BUS_PCI_MSI, v2mPci);
        irqs.irqDomainAdd(v2m, IrqController.DOMAIN_BUS_PLATFORM_MSI, v2mPlat);
        assertThat(OfIrq.ofMsiGetDomain(null, root.child("simple"), IrqController.DOMAIN_BUS_PCI_MSI, irqs)).isSameAs(v2mPci);
        assertThat(OfIrq.ofMsiGetDomain(null, root.child("simple"), IrqController.DOMAIN_BUS_PLATFORM_MSI, irqs)).isSameAs(v2mPlat);
        // the form with cells is only searched for platform MSI; the first entry with a domain
        // wins. Its second entry names a controller without #msi-cells: the parse fails there
        // and the walk ends, so the v2m's domain is not found through it.
        assertThat(OfIrq.ofMsiGetDomain(null, root.child("withcells"), IrqController.DOMAIN_BUS_PCI_MSI, irqs)).isNull();
        assertThat(OfIrq.ofMsiGetDomain(null, root.child("withcells"), IrqController.DOMAIN_BUS_PLATFORM_MSI, irqs)).isNull();
        irqs.irqDomainAdd(its, IrqController.DOMAIN_BUS_PLATFORM_MSI, itsPlat);
        assertThat(OfIrq.ofMsiGetDomain(null, root.child("withcells"), IrqController.DOMAIN_BUS_PLATFORM_MSI, irqs)).isSameAs(itsPlat);
        assertThat(OfIrq.ofMsiGetDomain(null, root.child("nothing"), IrqController.DOMAIN_BUS_PLATFORM_MSI, irqs)).isNull();
    }
}
