package org.iommu4j.of;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** QEMU virt, iommu=smmuv3: the blob the platform boots from. */
@ExtendWith(NoWarnings.class)
class QemuVirtTest {
    private final Of of = Of.fromBlob(Fdt.bundledVirtSmmuv3());

    private DeviceNode smmu() {
        return of.ofFindCompatibleNode(null, null, "arm,smmu-v3");
    }

    @Test
    void findsTheSmmuV3Node() {
        DeviceNode smmu = smmu();
        assertThat(smmu.path()).isEqualTo("/smmuv3@9050000");
        assertThat(of.ofFindNodeByPath("/smmuv3@9050000")).isSameAs(smmu);
        assertThat(of.ofFindCompatibleNode(smmu, null, "arm,smmu-v3")).isNull();
        assertThat(of.ofFindNodeByPhandle(0x8004)).isSameAs(smmu);
        int[] cells = new int[1];
        assertThat(Of.ofPropertyReadU32(smmu, "#iommu-cells", cells)).isZero();
        assertThat(cells[0]).isEqualTo(1);
        assertThat(Of.ofDmaIsCoherent(smmu)).isTrue();
    }

    @Test
    void smmuMmioRange() {
        Resource[] r = new Resource[1];
        assertThat(Of.ofAddressToResource(smmu(), 0, r)).isZero();
        assertThat(r[0].start()).isEqualTo(0x9050000L);
        assertThat(r[0].resourceSize()).isEqualTo(0x20000L);
        assertThat(r[0].type()).isEqualTo(Resource.IORESOURCE_MEM);
        assertThat(Of.ofAddressToResource(smmu(), 1, r)).isEqualTo(-22);
    }

    @Test
    void fourInterruptsByName() {
        DeviceNode smmu = smmu();
        // SPI 0x4a..0x4d -> GIC hwirq 106..109, edge rising
        assertThat(OfIrq.ofIrqGetByname(smmu, "eventq")).isEqualTo(0x4a + 32);
        assertThat(OfIrq.ofIrqGetByname(smmu, "priq")).isEqualTo(0x4b + 32);
        assertThat(OfIrq.ofIrqGetByname(smmu, "cmdq-sync")).isEqualTo(0x4c + 32);
        assertThat(OfIrq.ofIrqGetByname(smmu, "gerror")).isEqualTo(0x4d + 32);
        assertThat(OfIrq.ofIrqGetByname(smmu, "combined")).isEqualTo(-61); // -ENODATA
        assertThat(OfIrq.ofIrqCount(smmu)).isEqualTo(4);
        assertThat(OfIrq.ofIrqFindParent(smmu)).isSameAs(of.ofFindNodeByPath("/intc@8000000"));
        // none of the driver's quirk properties
        assertThat(Of.ofPropertyReadBool(smmu, "hisilicon,broken-prefetch-cmd")).isFalse();
        assertThat(Of.ofPropertyReadBool(smmu, "cavium,cn9900-broken-page1-regspace")).isFalse();
    }

    @Test
    void pciHostBridgeIommuMap() {
        DeviceNode pcie = of.ofFindCompatibleNode(null, "pci", "pci-host-ecam-generic");
        assertThat(pcie.path()).isEqualTo("/pcie@10000000");
        Property map = Of.ofFindProperty(pcie, "iommu-map");
        assertThat(map.cellCount()).isEqualTo(4);
        assertThat(map.cell(1)).isEqualTo(smmu().phandle);
        for (int rid : new int[] {0x0, 0x8, 0x10}) {
            DeviceNode[] target = new DeviceNode[1];
            int[] sid = new int[1];
            assertThat(Of.ofMapId(pcie, rid, "iommu-map", "iommu-map-mask", target, sid)).isZero();
            assertThat(target[0]).isSameAs(smmu());
            assertThat(sid[0]).isEqualTo(rid); // <0 &smmu 0 0x10000>: identity RID -> StreamID
        }
    }

    @Test
    void populateCreatesTheSmmuPlatformDevice() {
        List<PlatformDevice> devs = new ArrayList<>();
        assertThat(OfPlatform.ofPlatformDefaultPopulate(of.ofRoot, null, devs)).isZero();
        PlatformDevice smmu = devs.stream().filter(d -> d.devName().equals("9050000.smmuv3")).findFirst().orElseThrow();
        assertThat(smmu.ofNode).isSameAs(smmu());
        assertThat(smmu.dmaCoherent).isTrue();
        Resource mem = smmu.platformGetResource(Resource.IORESOURCE_MEM, 0);
        assertThat(mem.start()).isEqualTo(0x9050000L);
        assertThat(mem.end()).isEqualTo(0x906ffffL);
        assertThat(smmu.platformIrqCount()).isEqualTo(4);
        assertThat(smmu.platformGetIrqBynameOptional("eventq")).isEqualTo(106);
        assertThat(smmu.platformGetIrqBynameOptional("priq")).isEqualTo(107);
        assertThat(smmu.platformGetIrqBynameOptional("cmdq-sync")).isEqualTo(108);
        assertThat(smmu.platformGetIrqBynameOptional("gerror")).isEqualTo(109);
        assertThat(smmu.platformGetResourceByname(Resource.IORESOURCE_IRQ, "gerror").flags())
                .isEqualTo(Resource.IORESOURCE_IRQ | OfIrq.IRQ_TYPE_EDGE_RISING);
        assertThat(devs).extracting(PlatformDevice::devName).contains("4010000000.pcie", "9000000.pl011");
        // populated once
        List<PlatformDevice> again = new ArrayList<>();
        assertThat(OfPlatform.ofPlatformDefaultPopulate(of.ofRoot, null, again)).isZero();
        assertThat(again).isEmpty();
    }

    @Test
    void populateMapsInterruptsThroughTheIrqDomain() {
        List<PlatformDevice> devs = new ArrayList<>();
        // a domain handing out Linux IRQ numbers from 1000 up, as irq_create_mapping would
        assertThat(OfPlatform.ofPlatformDefaultPopulate(Of.fromBlob(Fdt.bundledVirtSmmuv3()).ofRoot, null, devs,
                hwirq -> 1000 + hwirq)).isZero();
        PlatformDevice smmu = devs.stream().filter(d -> d.devName().equals("9050000.smmuv3")).findFirst().orElseThrow();
        assertThat(smmu.platformGetIrqBynameOptional("eventq")).isEqualTo(1106);
        assertThat(smmu.platformGetIrqBynameOptional("gerror")).isEqualTo(1109);
        assertThat(smmu.platformGetResourceByname(Resource.IORESOURCE_IRQ, "gerror").flags())
                .isEqualTo(Resource.IORESOURCE_IRQ | OfIrq.IRQ_TYPE_EDGE_RISING);
        assertThat(smmu.platformGetResource(Resource.IORESOURCE_MEM, 0).start()).isEqualTo(0x9050000L);
        assertThat(OfPlatform.ofPlatformDefaultPopulate(Of.fromBlob(Fdt.bundledVirtSmmuv3()).ofRoot, null, devs, null))
                .isEqualTo(-org.iommu4j.base.Errno.EINVAL);
    }
}
