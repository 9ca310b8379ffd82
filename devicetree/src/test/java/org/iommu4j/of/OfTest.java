package org.iommu4j.of;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EFAULT;
import static org.iommu4j.base.Errno.EILSEQ;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODATA;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOENT;
import static org.iommu4j.base.Errno.EOVERFLOW;

import java.util.List;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The of_* API and its error codes, on dtc-compiled fixtures and built trees. */
@ExtendWith(NoWarnings.class)
class OfTest {
    private final Of of = new Of(Fixtures.bindings());
    private final DeviceNode syntax = Fdt.parse(Fixtures.bytes("fixtures/syntax.dtb")).root();

    private DeviceNode node(String path) {
        DeviceNode n = of.ofFindNodeByPath(path);
        assertThat(n).as(path).isNotNull();
        return n;
    }

    @Test
    void pathLookup() {
        assertThat(node("/").parent).isNull();
        assertThat(node("/soc/dma@10000").name).isEqualTo("dma");
        // A component is a full name: without its unit address, or empty, it matches nothing.
        assertThat(of.ofFindNodeByPath("/soc/dma")).isNull();
        assertThat(of.ofFindNodeByPath("/soc/")).isNull();
        assertThat(of.ofFindNodeByPath("//soc")).isNull();
        // v5.15 takes the root for exactly "/"; with options the first component is empty.
        assertThat(of.ofFindNodeByPath("/")).isSameAs(node("/soc").parent);
        assertThat(of.ofFindNodeByPath("/:opts")).isNull();
        assertThat(node("/soc/dma@10000:opts").fullName).isEqualTo("dma@10000");
        assertThat(of.ofFindNodeByPath("/soc/nothing")).isNull();
        assertThat(of.ofFindNodeByPath("noalias")).isNull();
        assertThat(of.ofFindNodeByPath(null)).isNull();
        DeviceNode r = DeviceNode.root();
        r.addChild("aliases").setProperty(Property.ofStrings("serial0", "/uart@1"));
        DeviceNode uart = r.addChild("uart@1");
        assertThat(new Of(r).ofFindNodeByPath("serial0")).isSameAs(uart);
        DeviceNode port = uart.addChild("port@0");
        assertThat(new Of(r).ofFindNodeByPath("serial0/port@0:9600")).isSameAs(port);
        assertThat(new Of(r).ofFindNodeByPath("serial0/")).isNull();
    }

    @Test
    void nodeHelpers() {
        DeviceNode soc = node("/soc");
        assertThat(Of.ofGetParent(soc)).isSameAs(node("/"));
        assertThat(Of.ofGetParent(null)).isNull();
        assertThat(Of.ofGetChildByName(soc, "accel")).isSameAs(node("/soc/accel@20000"));
        assertThat(Of.ofGetChildByName(soc, "nothing")).isNull();
        DeviceNode first = Of.ofGetNextAvailableChild(soc, null);
        DeviceNode second = Of.ofGetNextAvailableChild(soc, first);
        assertThat(first.fullName).isEqualTo("dma@10000");
        assertThat(second.fullName).isEqualTo("accel@20000");
        assertThat(Of.ofGetNextAvailableChild(soc, second)).isNull(); // disabled@30000 skipped
        assertThat(Of.ofNodeGet(soc)).isSameAs(soc);
        Of.ofNodePut(soc);
        assertThat(Of.ofFwnodeHandle(soc)).isSameAs(soc);
        assertThat(Of.ofNodeFullName(soc)).isEqualTo("/soc");
        assertThat(Of.ofNodeFullName(null)).isEqualTo("<no-node>");
    }

    @Test
    void compatibleMatching() {
        DeviceNode accel = node("/soc/accel@20000");
        int first = Of.ofDeviceIsCompatible(accel, "test,accel");
        int second = Of.ofDeviceIsCompatible(accel, "test,generic");
        assertThat(first).isGreaterThan(second).isPositive();
        assertThat(second).isPositive();
        assertThat(Of.ofDeviceIsCompatible(accel, "test,none")).isZero();
        assertThat(of.forEachCompatibleNode(null, "arm,smmu-v3")).extracting(DeviceNode::path)
                .containsExactly("/iommu@9050000", "/iommu@2b400000");
        assertThat(of.ofFindCompatibleNode(null, "pci", "pci-host-ecam-generic").path()).isEqualTo("/pcie@40000000");
        assertThat(of.ofFindCompatibleNode(null, "memory", "pci-host-ecam-generic")).isNull();
        // device_type is compared case-sensitively, compatible strings without case.
        assertThat(of.ofFindCompatibleNode(null, "PCI", "pci-host-ecam-generic")).isNull();
        assertThat(of.ofFindCompatibleNode(null, "pci", "PCI-Host-ECAM-Generic").path()).isEqualTo("/pcie@40000000");
        assertThat(Of.ofDeviceIsAvailable(node("/soc/disabled@30000"))).isFalse();
        assertThat(Of.ofDeviceIsAvailable(accel)).isTrue();
        assertThat(Of.ofDeviceIsAvailable(null)).isFalse();
    }

    @Test
    void u32AndU64Reads() {
        int[] v = new int[3];
        assertThat(Of.ofPropertyReadU32(node("/soc/dma@10000"), "pasid-num-bits", v)).isZero();
        assertThat(v[0]).isEqualTo(20);
        assertThat(Of.ofPropertyReadU32(node("/soc/dma@10000"), "missing", v)).isEqualTo(-EINVAL);
        assertThat(Of.ofPropertyReadU32(node("/soc/dma@10000"), "dma-can-stall", v)).isEqualTo(-EOVERFLOW);
        assertThat(Of.ofPropertyReadU32Array(syntax, "cells", v, 3)).isZero();
        assertThat(v).containsExactly(0x10, 20, 030);
        assertThat(Of.ofPropertyReadU32Array(syntax, "tiny", v, 1)).isEqualTo(-EOVERFLOW);
        assertThat(Of.ofPropertyReadU32Array(syntax, "cells", v, 4)).isEqualTo(-EINVAL); // caller buffer
        assertThat(Of.ofPropertyReadU32Index(syntax, "cells", 6, v)).isZero();
        assertThat(v[0]).isEqualTo(0xff);
        assertThat(Of.ofPropertyReadU32Index(syntax, "cells", 7, v)).isEqualTo(-EOVERFLOW);
        assertThat(Of.ofPropertyReadU32Index(syntax, "cells", -1, v)).isEqualTo(-EINVAL);
        long[] w = new long[1];
        assertThat(Of.ofPropertyReadU64(syntax, "big", w)).isZero();
        assertThat(w[0]).isEqualTo(-1L);
        assertThat(Of.ofPropertyReadU64(syntax, "tiny", w)).isEqualTo(-EOVERFLOW);
        assertThat(Of.ofPropertyReadU64(syntax, "nope", w)).isEqualTo(-EINVAL);
        assertThat(Of.ofPropertyCountU32Elems(syntax, "cells")).isEqualTo(7);
        // Not a whole number of cells: -EINVAL, and the kernel says why.
        List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable l = org.iommu4j.base.Printk.follow(line -> log.add(line.text()))) {
            assertThat(Of.ofPropertyCountU32Elems(syntax, "tiny")).isEqualTo(-EINVAL);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        assertThat(log).containsExactly("size of tiny in node / is not a multiple of 4");
        assertThat(Of.ofPropertyCountU32Elems(syntax, "nope")).isEqualTo(-EINVAL);
        int[] len = new int[1];
        assertThat(Of.ofGetProperty(syntax, "tiny", len)).containsExactly(1, 2, 3);
        assertThat(len[0]).isEqualTo(3);
        assertThat(Of.ofGetProperty(syntax, "nope", len)).isNull();
        assertThat(len[0]).as("not written without a property").isEqualTo(3);
    }

    @Test
    void stringReads() {
        String[] s = new String[1];
        assertThat(Of.ofPropertyReadString(syntax, "strings", s)).isZero();
        assertThat(s[0]).isEqualTo("a");
        assertThat(Of.ofPropertyReadStringIndex(syntax, "strings", 1, s)).isZero();
        assertThat(s[0]).isEqualTo("bc");
        assertThat(Of.ofPropertyReadStringIndex(syntax, "strings", 2, s)).isZero();
        assertThat(s[0]).isEmpty();
        assertThat(Of.ofPropertyReadStringIndex(syntax, "strings", 3, s)).isEqualTo(-ENODATA);
        assertThat(Of.ofPropertyReadStringIndex(syntax, "nope", 0, s)).isEqualTo(-EINVAL);
        assertThat(Of.ofPropertyReadStringIndex(syntax, "bytes2", 0, s)).isEqualTo(-EILSEQ);
        assertThat(Of.ofPropertyReadString(syntax, "bytes2", s)).isEqualTo(-EILSEQ);
        assertThat(Of.ofPropertyReadString(syntax, "bool-prop", s)).isEqualTo(-EILSEQ);
        assertThat(Of.ofPropertyReadString(syntax, "nope", s)).isEqualTo(-EINVAL);
        assertThat(Of.ofPropertyCountStrings(syntax, "strings")).isEqualTo(3);
        assertThat(Of.ofPropertyCountStrings(syntax, "bytes2")).isEqualTo(-EILSEQ);
        assertThat(Of.ofPropertyCountStrings(syntax, "nope")).isEqualTo(-EINVAL);
        assertThat(Of.ofPropertyCountStrings(syntax, "bool-prop")).as("no string at all").isEqualTo(-ENODATA);
        // Strings are matched in order: a match before an unterminated tail is found.
        assertThat(Of.ofPropertyMatchString(syntax, "mixed", "s")).isZero();
        assertThat(Of.ofPropertyMatchString(syntax, "mixed", "zz")).isEqualTo(-EILSEQ);
        assertThat(Of.ofPropertyMatchString(syntax, "bool-prop", "s")).isEqualTo(-ENODATA);
        assertThat(Of.ofPropertyMatchString(syntax, "strings", "bc")).isEqualTo(1);
        assertThat(Of.ofPropertyMatchString(syntax, "strings", "zz")).isEqualTo(-ENODATA);
        assertThat(Of.ofPropertyMatchString(syntax, "bytes2", "zz")).isEqualTo(-EILSEQ);
        assertThat(Of.ofPropertyMatchString(syntax, "nope", "zz")).isEqualTo(-EINVAL);
        assertThat(Of.ofPropertyReadBool(syntax, "bool-prop")).isTrue();
        assertThat(Of.ofPropertyReadBool(syntax, "nope")).isFalse();
    }

    @Test
    void cellsInheritedFromParents() {
        assertThat(Of.ofNAddrCells(node("/soc/dma@10000"))).isEqualTo(1);
        assertThat(Of.ofNSizeCells(node("/soc/dma@10000"))).isEqualTo(1);
        assertThat(Of.ofNAddrCells(node("/soc"))).isEqualTo(2);
        assertThat(Of.ofNAddrCells(node("/"))).isEqualTo(2);
        DeviceNode r = DeviceNode.root();
        assertThat(Of.ofNAddrCells(r.addChild("x"))).isEqualTo(Of.OF_ROOT_NODE_ADDR_CELLS_DEFAULT);
        assertThat(Of.ofNSizeCells(r.addChild("y"))).isEqualTo(Of.OF_ROOT_NODE_SIZE_CELLS_DEFAULT);
    }

    @Test
    void addressTranslationThroughRanges() {
        Resource[] r = new Resource[1];
        assertThat(Of.ofAddressToResource(node("/soc/dma@10000"), 0, r)).isZero();
        assertThat(r[0].start()).isEqualTo(0x20010000L);
        assertThat(r[0].end()).isEqualTo(0x20010fffL);
        assertThat(r[0].name()).isEqualTo("dma@10000");
        assertThat(Of.ofAddressToResource(node("/interrupt-controller@8000000"), 1, r)).isZero();
        assertThat(r[0].start()).isEqualTo(0x80a0000L);
        assertThat(Of.ofAddressToResource(node("/interrupt-controller@8000000/msi-controller@8080000"), 0, r)).isZero();
        assertThat(r[0].start()).isEqualTo(0x8080000L); // empty ranges = 1:1
        assertThat(Of.ofAddressToResource(node("/bad-maps"), 0, r)).isEqualTo(-EINVAL); // no reg

        // a bus without ranges is untranslatable; an address outside ranges too
        DeviceNode root = DeviceNode.root();
        root.setProperty(Property.ofCells("#address-cells", 1)).setProperty(Property.ofCells("#size-cells", 1));
        DeviceNode bus = root.addChild("bus");
        bus.setProperty(Property.ofCells("#address-cells", 1)).setProperty(Property.ofCells("#size-cells", 1));
        DeviceNode dev = bus.addChild("dev@10");
        dev.setProperty(Property.ofCells("reg", 0x10, 0x4));
        assertThat(Of.ofAddressToResource(dev, 0, r)).isEqualTo(-EINVAL);
        bus.setProperty(Property.ofCells("ranges", 0x0, 0x1000, 0x8));
        assertThat(Of.ofAddressToResource(dev, 0, r)).isEqualTo(-EINVAL);
        bus.setProperty(Property.ofCells("ranges", 0x0, 0x1000, 0x100));
        assertThat(Of.ofAddressToResource(dev, 0, r)).isZero();
        assertThat(r[0].start()).isEqualTo(0x1010L);
        dev.setProperty(Property.ofStrings("reg-names", "ctrl"));
        assertThat(Of.ofAddressToResource(dev, 0, r)).isZero();
        assertThat(r[0].name()).isEqualTo("ctrl");
        // No size cells, no translation (OF_CHECK_COUNTS), on the device's bus or above it.
        bus.setProperty(Property.ofCells("#size-cells", 0));
        dev.setProperty(Property.ofCells("reg", 0x10));
        assertThat(Of.ofTranslateAddress(dev, dev.findProperty("reg").raw(), 0)).isEqualTo(Of.OF_BAD_ADDR);
        bus.setProperty(Property.ofCells("#size-cells", 1));
        dev.setProperty(Property.ofCells("reg", 0x10, 0x4));
        root.setProperty(Property.ofCells("#size-cells", 0));
        assertThat(Of.ofAddressToResource(dev, 0, r)).isEqualTo(-EINVAL);
        root.setProperty(Property.ofCells("#size-cells", 1));
        assertThat(Of.ofAddressToResource(dev, 0, r)).isZero();
    }

    @Test
    void pciBusRangesMatchSpaceCode() {
        DeviceNode pcie = node("/pcie@40000000");
        DeviceNode ep = pcie.addChild("ep@0,0");
        // 32-bit memory space (0x02000000) at bus address 0x50001000
        ep.setProperty(Property.ofCells("assigned-addresses", 0x02000000, 0, 0x50001000, 0, 0x1000));
        Resource[] r = new Resource[1];
        assertThat(Of.ofAddressToResource(ep, 0, r)).isZero();
        assertThat(r[0].start()).isEqualTo(0x50001000L);
        ep.setProperty(Property.ofCells("assigned-addresses", 0x01000000, 0, 0x50001000, 0, 0x1000)); // I/O space
        assertThat(Of.ofAddressToResource(ep, 0, r)).isEqualTo(-EINVAL);
    }

    /**
     * of_get_address: on a PCI bus the entries are "assigned-addresses" (3 + 2 cells) with
     * flags from their space cell, "reg" (the configuration address) is not one; elsewhere
     * "reg" with any number of size cells (of_read_number keeps the low 64 bits); the root has
     * no bus and so no address.
     */
    @Test
    void addressEntriesAsOfGetAddressFindsThem() {
        DeviceNode ep = node("/pcie@40000000").addChild("ep@2,0");
        ep.setProperty(Property.ofCells("reg", 0x1000, 0, 0, 0, 0));
        Resource[] r = new Resource[1];
        assertThat(Of.ofAddressToResource(ep, 0, r)).isEqualTo(-EINVAL);
        ep.setProperty(Property.ofCells("assigned-addresses", 0x82001010, 0, 0x50010000, 0, 0x4000,
                0xc3001018, 0, 0x50100000, 0, 0x100000));
        assertThat(Of.ofAddressToResource(ep, 0, r)).isZero();
        assertThat(r[0]).isEqualTo(new Resource("ep@2,0", 0x50010000L, 0x50013fffL, Resource.IORESOURCE_MEM));
        assertThat(Of.ofAddressToResource(ep, 1, r)).isZero();
        assertThat(r[0]).isEqualTo(new Resource("ep@2,0", 0x50100000L, 0x501fffffL,
                Resource.IORESOURCE_MEM | Resource.IORESOURCE_MEM_64 | Resource.IORESOURCE_PREFETCH));
        assertThat(Of.ofAddressToResource(ep, 2, r)).isEqualTo(-EINVAL);

        DeviceNode root = DeviceNode.root();
        root.setProperty(Property.ofCells("#address-cells", 1)).setProperty(Property.ofCells("#size-cells", 3));
        root.setProperty(Property.ofCells("reg", 0x1000, 0, 0, 0x100));
        DeviceNode dev = root.addChild("dev@1000");
        dev.setProperty(Property.ofCells("reg", 0x1000, 0, 0, 0x100));
        assertThat(Of.ofAddressToResource(dev, 0, r)).isZero();
        assertThat(r[0]).isEqualTo(new Resource("dev@1000", 0x1000L, 0x10ffL, Resource.IORESOURCE_MEM));
        assertThat(Of.ofAddressToResource(root, 0, r)).isEqualTo(-EINVAL);
    }

    /** Cell counts from a bad blob that make one entry longer than any property: no entry, no exception. */
    @Test
    void hugeSizeCellsFindNoEntry() {
        DeviceNode root = DeviceNode.root();
        root.setProperty(Property.ofCells("#address-cells", 1)).setProperty(Property.ofCells("#size-cells", 0x7fffffff));
        DeviceNode dev = root.addChild("dev@1000");
        dev.setProperty(Property.ofCells("reg", 0x1000, 0, 0, 0x100));
        Resource[] r = new Resource[1];
        assertThat(Of.ofAddressToResource(dev, 0, r)).isEqualTo(-EINVAL);
        root.setProperty(Property.ofCells("#size-cells", 1));
        DeviceNode bus = root.addChild("bus@0");
        bus.setProperty(Property.ofCells("#address-cells", 1)).setProperty(Property.ofCells("#size-cells", 0x7ffffffe));
        bus.setProperty(Property.ofCells("ranges", 0, 0, 0x1000, 0, 0, 0));
        DeviceNode child = bus.addChild("dev@10");
        child.setProperty(Property.ofCells("reg", 0x10, 0x10));
        assertThat(Of.ofTranslateAddress(child, child.findProperty("reg").raw(), 0)).isEqualTo(Of.OF_BAD_ADDR);
    }

    /**
     * of_bus_pci_map compares IORESOURCE flags, not the space code: a 64-bit (or prefetchable)
     * memory address falls in a 32-bit memory window; I/O and configuration addresses do not.
     */
    @Test
    void pciRangesMatchMemoryWhateverItsWidth() {
        DeviceNode ep = node("/pcie@40000000").addChild("ep@1,0");
        ep.setProperty(Property.ofCells("reg", 0x03000000, 0, 0x50002000, 0, 0x1000, // 64-bit
                0x43000000, 0, 0x50003000, 0, 0x1000, // 64-bit prefetchable
                0x00000800, 0, 0x50004000, 0, 0x0)); // configuration space
        byte[] reg = ep.findProperty("reg").raw();
        assertThat(Of.ofTranslateAddress(ep, reg, 0)).isEqualTo(0x50002000L);
        assertThat(Of.ofTranslateAddress(ep, reg, 5)).isEqualTo(0x50003000L);
        assertThat(Of.ofTranslateAddress(ep, reg, 10)).isEqualTo(Of.OF_BAD_ADDR);
    }

    /** A bus under a 2/2-cell root, itself 3/2 cells, with an I/O and a memory window both at bus address 0. */
    private static DeviceNode pciTree(String busName, String deviceType) {
        DeviceNode root = DeviceNode.root();
        root.setProperty(Property.ofCells("#address-cells", 2)).setProperty(Property.ofCells("#size-cells", 2));
        DeviceNode bus = root.addChild(busName);
        if (deviceType != null) {
            bus.setProperty(Property.ofStrings("device_type", deviceType));
        }
        bus.setProperty(Property.ofCells("#address-cells", 3)).setProperty(Property.ofCells("#size-cells", 2));
        // child (3) parent (2) size (2): I/O and 32-bit memory both at bus address 0
        bus.setProperty(Property.ofCells("ranges", 0x01000000, 0, 0, 0, 0x3eff0000, 0, 0x10000,
                0x02000000, 0, 0, 0, 0x10000000, 0, 0x1000000));
        return bus;
    }

    /**
     * of_bus_pci_match: device_type "pci", "pciex", "vci" and "ht" are PCI buses, and so is a
     * node named "pcie" without a device_type (with one "Missing device_type" warning per
     * tree); on them an address's space cell picks the range.
     */
    @Test
    void pciBusesAreKnownByTypeOrByThePcieName() {
        for (String[] c : new String[][] {{"bus@0", "pciex"}, {"bus@0", "vci"}, {"bus@0", "ht"}, {"pcie@0", null}}) {
            DeviceNode bus = pciTree(c[0], c[1]);
            DeviceNode ep = bus.addChild("ep@0,0");
            ep.setProperty(Property.ofCells("reg", 0x02000000, 0, 0x2000, 0, 0x100, 0x01000000, 0, 0x20, 0, 0x10));
            byte[] reg = ep.findProperty("reg").raw();
            assertThat(Of.ofTranslateAddress(ep, reg, 0)).as(c[1]).isEqualTo(0x10002000L);
            assertThat(Of.ofTranslateAddress(ep, reg, 5)).as(c[1]).isEqualTo(0x3eff0020L);
        }
        // Without device_type and under another name it is a plain bus: the first range takes
        // the memory address too (all three cells compared as one number).
        DeviceNode plain = pciTree("bus@0", null);
        DeviceNode ep = plain.addChild("ep@0,0");
        ep.setProperty(Property.ofCells("reg", 0x02000000, 0, 0x2000, 0, 0x100));
        assertThat(Of.ofTranslateAddress(ep, ep.findProperty("reg").raw(), 0)).isEqualTo(0x3eff2000L);

        DeviceNode pcie = pciTree("pcie@0", null);
        org.iommu4j.base.Printk.clear();
        DeviceNode ep2 = pcie.addChild("ep@0,0");
        ep2.setProperty(Property.ofCells("reg", 0x02000000, 0, 0x2000, 0, 0x100));
        Of.ofTranslateAddress(ep2, ep2.findProperty("reg").raw(), 0);
        Of.ofTranslateAddress(ep2, ep2.findProperty("reg").raw(), 0);
        assertThat(org.iommu4j.base.Printk.grep("/pcie@0: Missing device_type")).hasSize(1);
    }

    /** of_bus_pci_count_cells: a PCI child address is 3 cells and its size 2, whatever is inherited. */
    @Test
    void pciBusCountsThreeAddressAndTwoSizeCells() {
        DeviceNode bus = pciTree("pci@0", "pci");
        bus.removeProperty("#address-cells");
        bus.removeProperty("#size-cells");
        DeviceNode ep = bus.addChild("ep@0,0");
        ep.setProperty(Property.ofCells("reg", 0x02000000, 0, 0x2000, 0, 0x100));
        assertThat(Of.ofTranslateAddress(ep, ep.findProperty("reg").raw(), 0)).isEqualTo(0x10002000L);
    }

    /**
     * A PCI parent keeps the space cell of the range that matched (of_bus_pci_translate works
     * on the cells after it), so a bridge's output still finds the host bridge's memory window.
     */
    @Test
    void pciParentKeepsTheSpaceCellOfTheMatchedRange() {
        DeviceNode host = pciTree("pcie@0", "pci");
        DeviceNode bridge = host.addChild("pci@1,0");
        bridge.setProperty(Property.ofStrings("device_type", "pci"));
        bridge.setProperty(Property.ofCells("#address-cells", 3)).setProperty(Property.ofCells("#size-cells", 2));
        // child 0x1000 -> host bus 0x2000, memory, 0x1000 long
        bridge.setProperty(Property.ofCells("ranges", 0x02000000, 0, 0x1000, 0x02000000, 0, 0x2000, 0, 0x1000));
        DeviceNode ep = bridge.addChild("ep@0,0");
        ep.setProperty(Property.ofCells("reg", 0x02000000, 0, 0x1010, 0, 0x10));
        assertThat(Of.ofTranslateAddress(ep, ep.findProperty("reg").raw(), 0)).isEqualTo(0x10002010L);
    }

    /** OF_CHECK_COUNTS applies to the root as the device's bus too: #size-cells = <0> there fails. */
    @Test
    void deviceUnderARootWithoutSizeCellsDoesNotTranslate() {
        DeviceNode root = DeviceNode.root();
        root.setProperty(Property.ofCells("#address-cells", 1)).setProperty(Property.ofCells("#size-cells", 0));
        DeviceNode dev = root.addChild("dev@1000");
        dev.setProperty(Property.ofCells("reg", 0x1000));
        assertThat(Of.ofTranslateAddress(dev, dev.findProperty("reg").raw(), 0)).isEqualTo(Of.OF_BAD_ADDR);
        root.setProperty(Property.ofCells("#size-cells", 1));
        dev.setProperty(Property.ofCells("reg", 0x1000, 0x10));
        assertThat(Of.ofTranslateAddress(dev, dev.findProperty("reg").raw(), 0)).isEqualTo(0x1000L);
    }

    @Test
    void phandleArgs() {
        DeviceNode dma = node("/soc/dma@10000");
        OfPhandleArgs a = new OfPhandleArgs();
        assertThat(Of.ofParsePhandleWithArgs(dma, "iommus", "#iommu-cells", 0, a)).isZero();
        assertThat(a.np).isSameAs(node("/iommu@9050000"));
        assertThat(a.argsCount).isEqualTo(1);
        assertThat(a.args[0]).isEqualTo(0x20);
        assertThat(Of.ofParsePhandleWithArgs(dma, "iommus", "#iommu-cells", 1, a)).isZero();
        assertThat(a.np).isSameAs(node("/iommu@2b400000"));
        assertThat(a.argsCopy()).containsExactly(0x21);
        assertThat(Of.ofParsePhandleWithArgs(dma, "iommus", "#iommu-cells", 2, a)).isEqualTo(-ENOENT);
        assertThat(Of.ofParsePhandleWithArgs(dma, "nothing", "#iommu-cells", 0, a)).isEqualTo(-ENOENT);
        assertThat(Of.ofCountPhandleWithArgs(dma, "iommus", "#iommu-cells")).isEqualTo(2);
        assertThat(Of.ofCountPhandleWithArgs(dma, "nothing", "#iommu-cells")).isEqualTo(-ENOENT);
        assertThat(Of.ofParsePhandle(node("/"), "interrupt-parent", 0)).isSameAs(node("/interrupt-controller@8000000"));
        assertThat(Of.ofParsePhandle(node("/"), "interrupt-parent", 1)).isNull();
        // No node, no property: -ENOENT as of_get_property(NULL) finds nothing; a negative
        // index is -EINVAL.
        assertThat(Of.ofParsePhandleWithArgs(null, "iommus", "#iommu-cells", 0, a)).isEqualTo(-ENOENT);
        assertThat(Of.ofParsePhandleWithArgs(dma, "iommus", "#iommu-cells", -1, a)).isEqualTo(-EINVAL);
        assertThat(Of.ofParsePhandle(dma, "iommus", -1)).isNull();
    }

    @Test
    void fixedCountListsNeedNoTargetNode() {
        DeviceNode root = DeviceNode.root();
        DeviceNode target = root.addChild("t");
        target.setProperty(Property.ofCells("phandle", 5));
        DeviceNode m = root.addChild("m");
        m.setProperty(Property.ofCells("list", 9, 5)); // phandle 9 names no node
        OfPhandleArgs a = new OfPhandleArgs(target, 1);
        // With a fixed count the node is not needed to find the entry's end: the entry
        // parses, with no node.
        assertThat(Of.ofParsePhandleWithFixedArgs(m, "list", 0, 0, a)).isZero();
        assertThat(a.np).isNull();
        assertThat(a.argsCount).isZero();
        assertThat(Of.ofParsePhandleWithFixedArgs(m, "list", 0, 1, a)).isZero();
        assertThat(a.np).isSameAs(target);
        assertThat(Of.ofParsePhandle(m, "list", 0)).isNull();
        assertThat(Of.ofParsePhandle(m, "list", 1)).isSameAs(target);
        // Counting without a cells name is the list's length in cells.
        assertThat(Of.ofCountPhandleWithArgs(m, "list", null)).isEqualTo(2);
        assertThat(Of.ofCountPhandleWithArgs(m, "nope", null)).isEqualTo(-ENOENT);
        // A cells name makes every entry's node necessary.
        assertThat(Of.ofCountPhandleWithArgs(m, "list", "#x-cells")).isEqualTo(-EINVAL);
        // A fixed count running past the end is refused, and said so.
        m.setProperty(Property.ofCells("list", 5, 1));
        List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable l = org.iommu4j.base.Printk.follow(line -> log.add(line.text()))) {
            assertThat(Of.ofParsePhandleWithFixedArgs(m, "list", 2, 0, a)).isEqualTo(-EINVAL);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        assertThat(log).containsExactly("/m: phandle /t needs 2, found 1");
    }

    @Test
    void phandleArgsErrors() {
        DeviceNode root = DeviceNode.root();
        DeviceNode iommu = root.addChild("iommu");
        iommu.setProperty(Property.ofCells("phandle", 5)).setProperty(Property.ofCells("#iommu-cells", 2));
        DeviceNode nocells = root.addChild("nocells");
        nocells.setProperty(Property.ofCells("phandle", 6));
        DeviceNode m = root.addChild("m");
        OfPhandleArgs a = new OfPhandleArgs();
        m.setProperty(Property.ofCells("iommus", 7, 1, 2)); // no node with phandle 7
        assertThat(Of.ofParsePhandleWithArgs(m, "iommus", "#iommu-cells", 0, a)).isEqualTo(-EINVAL);
        m.setProperty(Property.ofCells("iommus", 6)); // target lacks #iommu-cells
        assertThat(Of.ofParsePhandleWithArgs(m, "iommus", "#iommu-cells", 0, a)).isEqualTo(-EINVAL);
        assertThat(Of.ofCountPhandleWithArgs(m, "iommus", "#iommu-cells")).isEqualTo(-EINVAL);
        m.setProperty(Property.ofCells("iommus", 5, 1)); // one arg short
        assertThat(Of.ofParsePhandleWithArgs(m, "iommus", "#iommu-cells", 0, a)).isEqualTo(-EINVAL);
        m.setProperty(Property.ofCells("iommus", 0, 5, 1, 2)); // empty entry then a real one
        assertThat(Of.ofParsePhandleWithArgs(m, "iommus", "#iommu-cells", 0, a)).isEqualTo(-ENOENT);
        assertThat(Of.ofParsePhandleWithArgs(m, "iommus", "#iommu-cells", 1, a)).isZero();
        assertThat(a.argsCopy()).containsExactly(1, 2);
        assertThat(Of.ofCountPhandleWithArgs(m, "iommus", "#iommu-cells")).isEqualTo(2);
        assertThat(Of.ofParsePhandleWithFixedArgs(m, "iommus", 1, 1, a)).isZero();
        assertThat(a.np).isSameAs(iommu);
        assertThat(a.argsCopy()).containsExactly(1);
        // absurd #cells: fails the remaining-cells check rather than allocating
        iommu.setProperty(Property.ofCells("#iommu-cells", 0x7fffffff));
        m.setProperty(Property.ofCells("iommus", 5, 1, 2));
        assertThat(Of.ofParsePhandleWithArgs(m, "iommus", "#iommu-cells", 0, a)).isEqualTo(-EINVAL);
        // more than MAX_PHANDLE_ARGS: truncated as the kernel does
        iommu.setProperty(Property.ofCells("#iommu-cells", 17));
        int[] l = new int[18];
        l[0] = 5;
        m.setProperty(Property.ofCells("iommus", l));
        assertThat(Of.ofParsePhandleWithArgs(m, "iommus", "#iommu-cells", 0, a)).isZero();
        assertThat(a.argsCount).isEqualTo(OfPhandleArgs.MAX_PHANDLE_ARGS);
    }

    @Test
    void mapIdPassThroughAndTranslation() {
        DeviceNode pcie = node("/pcie@40000000");
        DeviceNode smmu0 = node("/iommu@9050000");
        DeviceNode smmu1 = node("/iommu@2b400000");
        int[][] cases = {
            // rid, expected sid, 0 = smmu0 / 1 = smmu1 / -1 = no target found
            {0x0, 0x10000, 0}, {0x8, 0x10008, 0}, {0x10, 0x10000, 0}, // mask 0xff0f drops bits 4-7
            {0x105, 0x5, 1}, {0x10005, 0x10005, 0}, {0x200, 0x200, -1}, // 0x200: no entry, pass-through
        };
        for (int[] c : cases) {
            DeviceNode[] t = new DeviceNode[1];
            int[] sid = new int[1];
            assertThat(Of.ofMapId(pcie, c[0], "iommu-map", "iommu-map-mask", t, sid)).as("rid %x", c[0]).isZero();
            assertThat(sid[0]).as("rid %x", c[0]).isEqualTo(c[1]);
            assertThat(t[0]).isSameAs(c[2] == 0 ? smmu0 : c[2] == 1 ? smmu1 : null);
        }
        // a preset target only matches entries pointing at it
        DeviceNode[] t = {smmu1};
        int[] sid = new int[1];
        assertThat(Of.ofMapId(pcie, 0x5, "iommu-map", "iommu-map-mask", t, sid)).isZero();
        assertThat(sid[0]).isEqualTo(0x5);
        assertThat(t[0]).isSameAs(smmu1);
        // no mask property name: all 32 bits kept
        assertThat(Of.ofMapId(pcie, 0x10, "iommu-map", null, null, sid)).isZero();
        assertThat(sid[0]).isEqualTo(0x10010);
        // idOut only
        assertThat(Of.ofMapId(pcie, 0x8, "iommu-map", "iommu-map-mask", null, sid)).isZero();
        assertThat(sid[0]).isEqualTo(0x10008);
    }

    @Test
    void mapIdErrors() {
        DeviceNode bad = node("/bad-maps");
        DeviceNode nomap = node("/pcie-nomap@60000000");
        DeviceNode[] t = new DeviceNode[1];
        int[] sid = {-1};
        assertThat(Of.ofMapId(null, 0, "iommu-map", null, t, sid)).isEqualTo(-EINVAL);
        assertThat(Of.ofMapId(bad, 0, null, null, t, sid)).isEqualTo(-EINVAL);
        assertThat(Of.ofMapId(bad, 0, "short-map", null, null, null)).isEqualTo(-EINVAL);
        assertThat(Of.ofMapId(bad, 0, "short-map", null, t, sid)).isEqualTo(-EINVAL);
        assertThat(Of.ofMapId(bad, 0, "empty-map", null, t, sid)).isEqualTo(-EINVAL);
        assertThat(Of.ofMapId(bad, 0x3, "mask-map", "mask-map-mask", t, sid)).isEqualTo(-EFAULT);
        assertThat(Of.ofMapId(bad, 0x3, "dangling-map", null, t, sid)).isEqualTo(-ENODEV);
        // no map: with a target asked for -ENODEV; id only: no translation
        assertThat(Of.ofMapId(nomap, 0x42, "iommu-map", "iommu-map-mask", t, sid)).isEqualTo(-ENODEV);
        assertThat(Of.ofMapId(nomap, 0x42, "iommu-map", "iommu-map-mask", null, sid)).isZero();
        assertThat(sid[0]).isEqualTo(0x42);
    }

    @Test
    void mapIdRangeEndWrapsLikeU32() {
        DeviceNode root = DeviceNode.root();
        DeviceNode iommu = root.addChild("iommu");
        iommu.setProperty(Property.ofCells("phandle", 1));
        DeviceNode br = root.addChild("pci");
        br.setProperty(Property.ofCells("iommu-map", 0xffffff00, 1, 0x100, 0x100)); // base + len wraps to 0
        int[] sid = new int[1];
        assertThat(Of.ofMapId(br, 0xffffff10, "iommu-map", null, null, sid)).isZero();
        assertThat(sid[0]).isEqualTo(0xffffff10); // kernel: masked >= 0 (wrapped) -> no match, pass-through
    }
}
