package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.iommu.IommuH.IOMMU_READ;

import org.iommu4j.base.device.Device;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The iommu tracepoints: names, fields and messages, in call order. */
@ExtendWith(NoWarnings.class)
class IommuTraceTest {
    @Test
    void lifecycleProducesTheKernelsEventSequence() {
        World w = new World();
        w.iommu.busSetIommu(w.bus, w.mock);
        try (var cap = Trace.capture("iommu:*")) {
            Device d = w.dev("dev0", 7);
            w.bus.deviceAdd(d);
            IommuDomain dom = w.iommu.iommuDomainAlloc(w.bus);
            w.iommu.iommuAttachDevice(dom, d);
            Iommu.iommuMap(dom, 0x10000, 0x40010000L, 0x2000, IOMMU_READ);
            Iommu.iommuUnmap(dom, 0x10000, 0x3000);
            w.iommu.iommuDetachDevice(dom, d);
            w.bus.deviceDel(d);
            assertThat(cap.records()).extracting(r -> r.event().name()).containsExactly(
                    "add_device_to_group", "attach_device_to_domain", "attach_device_to_domain",
                    "map", "unmap", "attach_device_to_domain", "remove_device_from_group");
            assertThat(cap.records()).extracting(r -> r.message()).containsExactly(
                    "IOMMU: groupID=0 device=dev0",
                    "IOMMU: device=dev0",
                    "IOMMU: device=dev0",
                    "IOMMU: iova=0x0000000000010000 paddr=0x0000000040010000 size=8192",
                    "IOMMU: iova=0x0000000000010000 size=12288 unmapped_size=8192",
                    "IOMMU: device=dev0",
                    "IOMMU: groupID=0 device=dev0");
            org.iommu4j.base.Warn.drain(); // unmap ran into the hole after 0x12000 (pgtable WARN)
        }
    }
}
