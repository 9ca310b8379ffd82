package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EINVAL;

import org.iommu4j.base.Printk;
import org.iommu4j.base.device.BusDmaRegion;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.dma.DmaMapping;
import org.iommu4j.of.DeviceNode;
import org.iommu4j.of.Dts;
import org.iommu4j.of.Fdt;
import org.iommu4j.of.Of;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** of_dma_configure_id (drivers/of/device.c, v5.15): limits and masks from dma-ranges. */
@ExtendWith(NoWarnings.class)
class OfDeviceTest {
    final World w = new World();
    final OfDevice ofDevice = new OfDevice(new OfIommu(w.iommu), w.iommu);

    private static final String TREE = """
            /dts-v1/;
            / {
                #address-cells = <2>;
                #size-cells = <2>;
                plain@1000 {
                    reg = <0x0 0x1000 0x0 0x1000>;
                };
                soc {
                    #address-cells = <1>;
                    #size-cells = <1>;
                    ranges;
                    dma-ranges = <0x0 0x0 0x40000000 0x40000000>;
                    dma@2000 {
                        reg = <0x2000 0x1000>;
                        dma-coherent;
                    };
                };
                odd {
                    #address-cells = <1>;
                    #size-cells = <1>;
                    ranges;
                    dma-ranges = <0x0 0x0 0x0 0xffffffff>;
                    dev@3000 {
                        reg = <0x3000 0x1000>;
                    };
                };
                zero {
                    #address-cells = <1>;
                    #size-cells = <1>;
                    ranges;
                    dma-ranges = <0x0 0x0 0x0 0x0>;
                    dev@4000 {
                        reg = <0x4000 0x1000>;
                    };
                };
            };
            """;

    private final Of of = new Of(Dts.parse(TREE).root());

    private DeviceNode node(String path) {
        return of.ofFindNodeByPath(path);
    }

    private static PlatformDevice sixtyFourBit(String name) {
        PlatformDevice pdev = new PlatformDevice(name);
        assertThat(DmaMapping.dmaSetMaskAndCoherent(pdev, DmaMapping.DMA_BIT_MASK(64))).isZero();
        return pdev;
    }

    /** No dma-ranges anywhere (QEMU virt): no limit, no map, masks clipped to 4 GiB only if wider than the coherent mask's reach. */
    @Test
    void withoutDmaRangesTheMasksStayAndNoLimitIsSet() {
        PlatformDevice pdev = new PlatformDevice("1000.plain");
        assertThat(ofDevice.ofDmaConfigure(pdev, node("/plain@1000"), true)).isZero();
        assertThat(pdev.dmaMask[0]).isEqualTo(0xffffffffL);
        assertThat(pdev.coherentDmaMask).isEqualTo(0xffffffffL);
        assertThat(pdev.busDmaLimit).isZero();
        assertThat(pdev.dmaRangeMap).isNull();
        assertThat(pdev.dmaCoherent).isFalse();

        // A driver's 64-bit masks (coherent mask all ones) are kept: the size is the mask's reach.
        PlatformDevice wide = sixtyFourBit("1000.wide");
        assertThat(ofDevice.ofDmaConfigure(wide, node("/plain@1000"), true)).isZero();
        assertThat(wide.dmaMask[0]).isEqualTo(-1L);
        assertThat(wide.coherentDmaMask).isEqualTo(-1L);

        // Without force_dma a missing dma-ranges configures nothing.
        PlatformDevice untouched = sixtyFourBit("1000.untouched");
        untouched.dmaCoherent = true;
        assertThat(ofDevice.ofDmaConfigure(untouched, node("/plain@1000"), false)).isZero();
        assertThat(untouched.dmaCoherent).isTrue();
    }

    /** dma-ranges on the parent bus: a 1 GiB window at CPU 1 GiB gives limit 0x3fffffff, 30-bit masks and the map. */
    @Test
    void dmaRangesSetTheLimitTheMapAndClipTheMasks() {
        PlatformDevice pdev = sixtyFourBit("2000.dma");
        assertThat(ofDevice.ofDmaConfigure(pdev, node("/soc/dma@2000"), true)).isZero();
        assertThat(pdev.busDmaLimit).isEqualTo(0x3fffffffL);
        assertThat(pdev.dmaMask[0]).isEqualTo(0x3fffffffL);
        assertThat(pdev.coherentDmaMask).isEqualTo(0x3fffffffL);
        assertThat(pdev.dmaRangeMap).containsExactly(new BusDmaRegion(0x40000000L, 0, 0x40000000L, 0x40000000L));
        assertThat(pdev.dmaCoherent).isTrue();
    }

    /** A size written as a mask is taken as mask + 1 (with a warning); a zero size is -EINVAL. */
    @Test
    void oddAndZeroSizes() {
        Printk.clear();
        PlatformDevice odd = sixtyFourBit("3000.dev");
        assertThat(ofDevice.ofDmaConfigure(odd, node("/odd/dev@3000"), true)).isZero();
        assertThat(Printk.grep("Invalid size 0xffffffff for dma-range(s)")).hasSize(1);
        assertThat(odd.busDmaLimit).isEqualTo(0xffffffffL);
        assertThat(odd.dmaMask[0]).isEqualTo(0xffffffffL);

        PlatformDevice zero = sixtyFourBit("4000.dev");
        assertThat(ofDevice.ofDmaConfigure(zero, node("/zero/dev@4000"), true)).isEqualTo(-EINVAL);
        assertThat(zero.dmaMask[0]).isEqualTo(-1L);
        assertThat(zero.busDmaLimit).isZero();
    }

    /** A device its bus gave no dma_mask gets one (with a warning), clipped like the coherent mask. */
    @Test
    void missingDmaMaskIsCoercedToTheCoherentOne() {
        Printk.clear();
        Device bare = new Device("bare");
        bare.coherentDmaMask = DmaMapping.DMA_BIT_MASK(40);
        assertThat(ofDevice.ofDmaConfigure(bare, node("/plain@1000"), true)).isZero();
        assertThat(Printk.grep("DMA mask not set")).hasSize(1);
        assertThat(bare.dmaMask[0]).isEqualTo(DmaMapping.DMA_BIT_MASK(40));
        assertThat(bare.coherentDmaMask).isEqualTo(DmaMapping.DMA_BIT_MASK(40));
    }

    /** QEMU virt: the PCIe node has no dma-ranges, so of_dma_get_range says -ENODEV. */
    @Test
    void qemuVirtHasNoDmaRanges() {
        Of virt = Of.fromBlob(Fdt.bundledVirtSmmuv3());
        BusDmaRegion[][] map = {null};
        assertThat(Of.ofDmaGetRange(virt.ofFindNodeByPath("/pcie@10000000"), map))
                .isEqualTo(-org.iommu4j.base.Errno.ENODEV);
        assertThat(map[0]).isNull();
    }
}
