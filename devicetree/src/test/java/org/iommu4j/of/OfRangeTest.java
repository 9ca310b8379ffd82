package org.iommu4j.of;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOENT;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** drivers/of/address.c's range parser (of_pci_range_parser_*), and the DMA masks of populated devices. */
@ExtendWith(NoWarnings.class)
class OfRangeTest {
    private static List<OfPciRange> parseAll(OfPciRangeParser parser) {
        List<OfPciRange> out = new ArrayList<>();
        OfPciRange r = new OfPciRange();
        while (Of.ofPciRangeParserOne(parser, r) != null) {
            out.add(r);
            r = new OfPciRange();
        }
        return out;
    }

    /** QEMU virt's PCIe host bridge: an I/O window, a 32-bit and a 64-bit memory window, no dma-ranges. */
    @Test
    void qemuVirtPcieRanges() {
        Of of = Of.fromBlob(Fdt.bundledVirtSmmuv3());
        DeviceNode pcie = of.ofFindCompatibleNode(null, "pci", "pci-host-ecam-generic");
        OfPciRangeParser parser = new OfPciRangeParser();
        assertThat(Of.ofPciRangeParserInit(parser, pcie)).isZero();
        assertThat(parser.na).isEqualTo(3);
        assertThat(parser.pna).isEqualTo(2);
        assertThat(parser.ns).isEqualTo(2);
        List<OfPciRange> ranges = parseAll(parser);
        assertThat(ranges).hasSize(3);
        assertThat(ranges.get(0).flags).isEqualTo(Resource.IORESOURCE_IO);
        assertThat(ranges.get(0).pciAddr).isZero();
        assertThat(ranges.get(0).cpuAddr).isEqualTo(0x3eff0000L);
        assertThat(ranges.get(0).size).isEqualTo(0x10000L);
        assertThat(ranges.get(1).flags).isEqualTo(Resource.IORESOURCE_MEM);
        assertThat(ranges.get(1).pciAddr).isEqualTo(0x10000000L);
        assertThat(ranges.get(1).cpuAddr).isEqualTo(0x10000000L);
        assertThat(ranges.get(1).size).isEqualTo(0x2eff0000L);
        assertThat(ranges.get(2).flags).isEqualTo(Resource.IORESOURCE_MEM | Resource.IORESOURCE_MEM_64);
        assertThat(ranges.get(2).pciAddr).isEqualTo(0x80_0000_0000L);
        assertThat(ranges.get(2).cpuAddr).isEqualTo(0x80_0000_0000L);
        assertThat(ranges.get(2).size).isEqualTo(0x80_0000_0000L);

        Resource[] res = new Resource[1];
        assertThat(Of.ofPciRangeToResource(ranges.get(1), pcie, res)).isZero();
        assertThat(res[0]).isEqualTo(new Resource("pcie@10000000", 0x10000000L, 0x3efeffffL, Resource.IORESOURCE_MEM));
        // The I/O window becomes logical ports from 0.
        assertThat(Of.ofPciRangeToResource(ranges.get(0), pcie, res)).isZero();
        assertThat(res[0]).isEqualTo(new Resource("pcie@10000000", 0, 0xffffL, Resource.IORESOURCE_IO));

        assertThat(Of.ofPciDmaRangeParserInit(new OfPciRangeParser(), pcie)).isEqualTo(-ENOENT);
    }

    private static final String BRIDGE = """
            /dts-v1/;
            / {
                #address-cells = <2>;
                #size-cells = <2>;
                soc {
                    #address-cells = <1>;
                    #size-cells = <1>;
                    ranges = <0x0 0x0 0x0 0x80000000>;
                    dma-ranges = <0x0 0x0 0x40000000 0x40000000>;
                    pcie@10000000 {
                        device_type = "pci";
                        #address-cells = <3>;
                        #size-cells = <2>;
                        reg = <0x10000000 0x1000000>;
                        ranges = <0x42000000 0x0 0x20000000 0x20000000 0x0 0x100000
                                  0x42000000 0x0 0x20100000 0x20100000 0x0 0x100000
                                  0x02000000 0x0 0x30000000 0x30000000 0x0 0x100000
                                  0x02000000 0x0 0x90000000 0x90000000 0x0 0x100000
                                  0x01000000 0x0 0x0>;
                        dma-ranges = <0x02000000 0x0 0x0 0x0 0x0 0x10000000>;
                    };
                };
            };
            """;

    /**
     * Contiguous entries of one type merge (the two prefetchable ones); an entry whose CPU side
     * does not translate keeps OF_BAD_ADDR; a trailing partial entry is ignored. dma-ranges
     * translate through the parents' dma-ranges (soc: bus 0 is CPU 1 GiB).
     */
    @Test
    void mergesContiguousEntriesAndTranslatesDmaRanges() {
        DeviceNode root = Dts.parse(BRIDGE).root();
        DeviceNode pcie = new Of(root).ofFindNodeByPath("/soc/pcie@10000000");
        OfPciRangeParser parser = new OfPciRangeParser();
        assertThat(Of.ofPciRangeParserInit(parser, pcie)).isZero();
        assertThat(parser.pna).isEqualTo(1);
        List<OfPciRange> ranges = parseAll(parser);
        assertThat(ranges).hasSize(3);
        assertThat(ranges.get(0).flags).isEqualTo(Resource.IORESOURCE_MEM | Resource.IORESOURCE_PREFETCH);
        assertThat(ranges.get(0).pciAddr).isEqualTo(0x20000000L);
        assertThat(ranges.get(0).size).isEqualTo(0x200000L);
        assertThat(ranges.get(1).cpuAddr).isEqualTo(0x30000000L);
        // 0x90000000 is outside soc's ranges.
        assertThat(ranges.get(2).cpuAddr).isEqualTo(Of.OF_BAD_ADDR);
        Resource[] res = new Resource[1];
        assertThat(Of.ofPciRangeToResource(ranges.get(2), pcie, res)).isZero();
        OfPciRange badIo = new OfPciRange();
        badIo.flags = Resource.IORESOURCE_IO;
        badIo.cpuAddr = Of.OF_BAD_ADDR;
        badIo.size = 0x10000;
        assertThat(Of.ofPciRangeToResource(badIo, pcie, res)).isEqualTo(-EINVAL);
        assertThat(res[0].start()).isEqualTo(Of.OF_BAD_ADDR);
        // pci_register_io_range refuses an empty range and one whose CPU addresses wrap;
        // logic_pio registers one larger than the port space as 64 KiB, with a warning, and the
        // resource keeps the range's own size.
        badIo.cpuAddr = 0x3eff0000L;
        badIo.size = 0;
        assertThat(Of.ofPciRangeToResource(badIo, pcie, res)).isEqualTo(-EINVAL);
        assertThat(res[0].start()).isEqualTo(Of.OF_BAD_ADDR);
        badIo.cpuAddr = -0x10000L;
        badIo.size = 0x20000;
        assertThat(Of.ofPciRangeToResource(badIo, pcie, res)).isEqualTo(-EINVAL);
        badIo.cpuAddr = 0x3eff0000L;
        badIo.size = 0x1000000;
        Printk.clear();
        assertThat(Of.ofPciRangeToResource(badIo, pcie, res)).isZero();
        assertThat(res[0]).isEqualTo(new Resource("pcie@10000000", 0, 0xffffffL, Resource.IORESOURCE_IO));
        assertThat(Printk.grep("Requested IO range too big")).isEmpty();
        badIo.size = 0x1000001;
        assertThat(Of.ofPciRangeToResource(badIo, pcie, res)).isZero();
        assertThat(res[0]).isEqualTo(new Resource("pcie@10000000", 0, 0x1000000L, Resource.IORESOURCE_IO));
        assertThat(Printk.grep("LOGIC PIO: Requested IO range too big, new size set to 64K")).hasSize(1);

        OfPciRangeParser dma = new OfPciRangeParser();
        assertThat(Of.ofPciDmaRangeParserInit(dma, pcie)).isZero();
        List<OfPciRange> inbound = parseAll(dma);
        assertThat(inbound).hasSize(1);
        assertThat(inbound.get(0).pciAddr).isZero();
        assertThat(inbound.get(0).cpuAddr).isEqualTo(0x40000000L);
        assertThat(inbound.get(0).size).isEqualTo(0x10000000L);
    }

    /** of_platform_device_create_pdata: every populated device starts with 32-bit DMA masks. */
    @Test
    void populatedDevicesHave32BitMasks() {
        Of of = Of.fromBlob(Fdt.bundledVirtSmmuv3());
        List<PlatformDevice> devs = new ArrayList<>();
        assertThat(OfPlatform.ofPlatformDefaultPopulate(of.ofRoot, null, devs)).isZero();
        assertThat(devs).isNotEmpty();
        for (PlatformDevice d : devs) {
            assertThat(d.dmaMask).as(d.devName()).isSameAs(d.platformDmaMask);
            assertThat(d.dmaMask[0]).as(d.devName()).isEqualTo(0xffffffffL);
            assertThat(d.coherentDmaMask).as(d.devName()).isEqualTo(0xffffffffL);
        }
    }
}
