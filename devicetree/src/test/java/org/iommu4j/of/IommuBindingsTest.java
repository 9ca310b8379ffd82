package org.iommu4j.of;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.EOVERFLOW;
import static org.iommu4j.base.Errno.ENODATA;
import static org.iommu4j.base.Errno.ENOENT;
import static org.iommu4j.base.Errno.ENXIO;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The IOMMU bindings of fixtures/smmu-bindings.dts (compiled by dtc) as the OF API reads them
 * for the arm-smmu-v3 driver and of_iommu: the SMMU nodes, masters' {@code iommus},
 * {@code pasid-num-bits}, {@code dma-can-stall}, and a host bridge's {@code iommu-map}.
 */
@ExtendWith(NoWarnings.class)
class IommuBindingsTest {
    private final Of of = new Of(Fixtures.bindings());

    private DeviceNode node(String p) {
        return of.ofFindNodeByPath(p);
    }

    @Test
    void smmuWithFourNamedIrqsAndPrefetchQuirk() {
        DeviceNode np = node("/iommu@9050000");
        Resource[] reg = new Resource[1];
        assertThat(Of.ofAddressToResource(np, 0, reg)).isZero();
        assertThat(reg[0].start()).isEqualTo(0x9050000L);
        assertThat(reg[0].resourceSize()).isEqualTo(0x20000L);
        assertThat(OfIrq.ofIrqGetByname(np, "eventq")).isEqualTo(74 + 32);
        assertThat(OfIrq.ofIrqGetByname(np, "gerror")).isEqualTo(75 + 32);
        assertThat(OfIrq.ofIrqGetByname(np, "priq")).isEqualTo(76 + 32);
        assertThat(OfIrq.ofIrqGetByname(np, "cmdq-sync")).isEqualTo(77 + 32);
        assertThat(OfIrq.ofIrqGetByname(np, "combined")).isEqualTo(-ENODATA);
        int[] cells = new int[1];
        assertThat(Of.ofPropertyReadU32(np, "#iommu-cells", cells)).isZero();
        assertThat(cells[0]).isEqualTo(1);
        assertThat(Of.ofDmaIsCoherent(np)).isTrue();
        OfPhandleArgs msi = new OfPhandleArgs();
        assertThat(Of.ofParsePhandleWithArgs(np, "msi-parent", "#msi-cells", 0, msi)).isZero();
        assertThat(msi.np).isSameAs(node("/interrupt-controller@8000000/msi-controller@8080000"));
        assertThat(msi.argsCopy()).containsExactly(0xff00);
        assertThat(Of.ofPropertyReadBool(np, "hisilicon,broken-prefetch-cmd")).isTrue();
        assertThat(Of.ofPropertyReadBool(np, "cavium,cn9900-broken-page1-regspace")).isFalse();
    }

    @Test
    void smmuWithCombinedIrqAndPage0Quirk() {
        DeviceNode np = node("/iommu@2b400000");
        Resource[] r = new Resource[1];
        assertThat(Of.ofAddressToResource(np, 0, r)).isZero();
        assertThat(r[0].resourceSize()).isEqualTo(0x10000L); // 64 KiB with the page-0 quirk
        assertThat(OfIrq.ofIrqGetByname(np, "combined")).isEqualTo(66 + 32);
        assertThat(OfIrq.ofIrqGetByname(np, "eventq")).isEqualTo(-ENODATA);
        assertThat(Of.ofDmaIsCoherent(np)).isFalse();
        assertThat(Of.ofParsePhandleWithArgs(np, "msi-parent", "#msi-cells", 0, new OfPhandleArgs())).isEqualTo(-ENOENT);
        assertThat(Of.ofPropertyReadBool(np, "cavium,cn9900-broken-page1-regspace")).isTrue();
        assertThat(OfIrq.ofIrqToResource(np, 0, r)).isEqualTo(98);
        assertThat(r[0].name()).isEqualTo("combined");
        assertThat(r[0].flags()).isEqualTo(Resource.IORESOURCE_IRQ | OfIrq.IRQ_TYPE_LEVEL_HIGH);
        assertThat(of.forEachCompatibleNode(null, "arm,smmu-v3")).hasSize(2);
    }

    @Test
    void masterProperties() {
        DeviceNode dma = node("/soc/dma@10000");
        OfPhandleArgs a = new OfPhandleArgs();
        assertThat(Of.ofParsePhandleWithArgs(dma, "iommus", "#iommu-cells", 0, a)).isZero();
        assertThat(a.np).isSameAs(node("/iommu@9050000"));
        assertThat(a.argsCopy()).containsExactly(0x20);
        assertThat(Of.ofParsePhandleWithArgs(dma, "iommus", "#iommu-cells", 1, a)).isZero();
        assertThat(a.np).isSameAs(node("/iommu@2b400000"));
        assertThat(Of.ofParsePhandleWithArgs(dma, "iommus", "#iommu-cells", 2, a)).isEqualTo(-ENOENT);
        int[] v = new int[1];
        assertThat(Of.ofPropertyReadU32(dma, "pasid-num-bits", v)).isZero();
        assertThat(v[0]).isEqualTo(20);
        assertThat(Of.ofPropertyReadBool(dma, "dma-can-stall")).isTrue();
        DeviceNode accel = node("/soc/accel@20000");
        assertThat(Of.ofPropertyReadU32(accel, "pasid-num-bits", v)).isZero();
        assertThat(v[0]).isEqualTo(16);
        assertThat(Of.ofPropertyReadBool(accel, "dma-can-stall")).isFalse();
        DeviceNode disabled = node("/soc/disabled@30000");
        assertThat(Of.ofPropertyReadU32(disabled, "pasid-num-bits", v)).isEqualTo(-EINVAL); // absent
        assertThat(Of.ofParsePhandleWithArgs(disabled, "iommus", "#iommu-cells", 0, a)).isEqualTo(-ENOENT);
    }

    @Test
    void pciIommuMap() {
        DeviceNode[] t = new DeviceNode[1];
        int[] sid = new int[1];
        assertThat(Of.ofMapId(node("/pcie@40000000"), 0x105, "iommu-map", "iommu-map-mask", t, sid)).isZero();
        assertThat(t[0]).isSameAs(node("/iommu@2b400000"));
        assertThat(sid[0]).isEqualTo(5);
    }

    @Test
    void interruptsOfAMaster() {
        DeviceNode dma = node("/soc/dma@10000");
        assertThat(OfIrq.ofIrqGetByname(dma, "tx")).isEqualTo(52);
        assertThat(OfIrq.ofIrqGetByname(dma, "ppi")).isEqualTo(25);
        // Past the end of interrupts: of_property_read_u32_index's -EOVERFLOW comes back.
        assertThat(OfIrq.ofIrqGet(dma, 2)).isEqualTo(-EOVERFLOW);
        assertThat(OfIrq.ofIrqCount(dma)).isEqualTo(2);
        assertThat(OfIrq.ofIrqGetByname(dma, null)).isEqualTo(-EINVAL);
        OfPhandleArgs a = new OfPhandleArgs();
        assertThat(OfIrq.ofIrqParseOne(dma, 1, a)).isZero();
        assertThat(a.argsCopy()).containsExactly(1, 9, 8);
        OfIrq.HwIrq[] h = new OfIrq.HwIrq[1];
        assertThat(OfIrq.irqDomainTranslate(a, h)).isZero();
        assertThat(h[0]).isEqualTo(new OfIrq.HwIrq(25, OfIrq.IRQ_TYPE_LEVEL_LOW));
        assertThat(OfIrq.irqDomainTranslate(new OfPhandleArgs(a.np, 2, 1, 4), h)).isEqualTo(-EINVAL);
        assertThat(OfIrq.ofIrqCount(node("/soc"))).isZero();
    }

    @Test
    void interruptsExtendedAndParentLoops() {
        DeviceNode root = DeviceNode.root();
        DeviceNode intc = root.addChild("intc");
        intc.setProperty(Property.ofCells("phandle", 1)).setProperty(Property.ofCells("#interrupt-cells", 2))
                .setProperty(Property.ofEmpty("interrupt-controller"));
        DeviceNode a = root.addChild("a");
        a.setProperty(Property.ofCells("interrupts-extended", 1, 33, 4));
        assertThat(OfIrq.ofIrqGet(a, 0)).isEqualTo(33);
        assertThat(OfIrq.ofIrqGet(a, 1)).isEqualTo(-EINVAL);
        // What interrupts-extended does not give is looked for in interrupts, through the
        // interrupt parent.
        DeviceNode c = root.addChild("c");
        c.setProperty(Property.ofCells("interrupts-extended", 9, 1, 4)) // phandle 9: no node
                .setProperty(Property.ofCells("interrupt-parent", 1)).setProperty(Property.ofCells("interrupts", 40, 4));
        assertThat(OfIrq.ofIrqGet(c, 0)).isEqualTo(40);
        assertThat(OfIrq.ofIrqGet(c, 1)).isEqualTo(-EOVERFLOW);
        assertThat(OfIrq.ofIrqCount(c)).isEqualTo(1);
        // x -> y -> x through interrupt-parent, neither has #interrupt-cells: no hang
        DeviceNode x = root.addChild("x");
        DeviceNode y = root.addChild("y");
        x.setProperty(Property.ofCells("phandle", 2)).setProperty(Property.ofCells("interrupt-parent", 3))
                .setProperty(Property.ofCells("interrupts", 5));
        y.setProperty(Property.ofCells("phandle", 3)).setProperty(Property.ofCells("interrupt-parent", 2));
        assertThat(OfIrq.ofIrqFindParent(x)).isNull();
        assertThat(OfIrq.ofIrqGet(x, 0)).isEqualTo(-EINVAL);
        // a nexus with interrupt-map is not translated
        DeviceNode nexus = root.addChild("nexus");
        nexus.setProperty(Property.ofCells("phandle", 4)).setProperty(Property.ofCells("#interrupt-cells", 1))
                .setProperty(Property.ofCells("interrupt-map", 0, 1, 7, 4));
        DeviceNode b = root.addChild("b");
        b.setProperty(Property.ofCells("interrupt-parent", 4)).setProperty(Property.ofCells("interrupts", 0));
        assertThat(OfIrq.ofIrqGet(b, 0)).isEqualTo(-EINVAL);
    }

    @Test
    void populateBuildsResourcesAndSkipsDisabled() {
        List<PlatformDevice> devs = new ArrayList<>();
        Device parent = new Device("platform");
        assertThat(OfPlatform.ofPlatformDefaultPopulate(of.ofRoot, parent, devs)).isZero();
        assertThat(devs).extracting(PlatformDevice::devName).containsExactly("8000000.interrupt-controller",
                "9050000.iommu", "2b400000.iommu", "soc", "20010000.dma", "20020000.accel",
                "40000000.pcie", "60000000.pcie-nomap"); // bad-maps has no compatible
        PlatformDevice dma = devs.get(4);
        assertThat(dma.parent).isSameAs(devs.get(3));
        assertThat(dma.ofNode).isSameAs(node("/soc/dma@10000"));
        assertThat(dma.platformGetResource(Resource.IORESOURCE_MEM, 0).start()).isEqualTo(0x20010000L);
        assertThat(dma.platformGetIrqBynameOptional("tx")).isEqualTo(52);
        assertThat(dma.platformGetIrqBynameOptional("ppi")).isEqualTo(25);
        assertThat(dma.platformGetIrq(2)).isEqualTo(-ENXIO);
        assertThat(devs.get(1).platformIrqCount()).isEqualTo(4);
        assertThat(devs.get(0).resourcesOfType(Resource.IORESOURCE_MEM)).hasSize(2);
        assertThat(OfPlatform.ofPlatformPopulate(null, null, null, devs)).isEqualTo(-EINVAL);
    }

    @Test
    void populateSkipsOppTablesAndStopsMemResourcesAtTheFirstUntranslatableReg() {
        DeviceNode root = DeviceNode.root();
        root.setProperty(Property.ofCells("#address-cells", 1)).setProperty(Property.ofCells("#size-cells", 1));
        root.addChild("opp-table").setProperty(Property.ofStrings("compatible", "operating-points-v2"));
        DeviceNode bus = root.addChild("bus@0");
        bus.setProperty(Property.ofStrings("compatible", "simple-bus")).setProperty(Property.ofCells("#address-cells", 1))
                .setProperty(Property.ofCells("#size-cells", 1))
                .setProperty(Property.ofCells("ranges", 0x1000, 0x80001000, 0x1000)); // child 0x1000-0x1fff only
        DeviceNode dev = bus.addChild("dev@1000");
        dev.setProperty(Property.ofStrings("compatible", "test,dev"))
                .setProperty(Property.ofCells("reg", 0x1000, 0x100, 0x5000, 0x100, 0x1800, 0x100));
        List<PlatformDevice> devs = new ArrayList<>();
        assertThat(OfPlatform.ofPlatformDefaultPopulate(root, new Device("platform"), devs)).isZero();
        assertThat(devs).extracting(PlatformDevice::devName).containsExactly("bus@0", "80001000.dev");
        // reg[1] lies outside the bus's ranges: reg[2] is not looked at.
        assertThat(devs.get(1).resourcesOfType(Resource.IORESOURCE_MEM)).extracting(Resource::start)
                .containsExactly(0x80001000L);
    }
}
