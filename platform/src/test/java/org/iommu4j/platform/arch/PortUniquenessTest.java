package org.iommu4j.platform.arch;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.iommu4j.platform.xref.PortIndex;
import org.junit.jupiter.api.Test;

/**
 * One kernel symbol, one Java home: {@code iommu-sim xref SYMBOL} must lead a reader to the
 * single place that ports it. Several {@code @Port}s of one symbol on one member (mainline and a
 * seed's variant) and overloads of one method count as one home; a second class or member
 * claiming the same {@code file:symbol} (a delegating alias, an ops slot that calls the real
 * port, a class named after one of its own functions) does not.
 */
class PortUniquenessTest {
    private static Map<String, Set<String>> homesBySymbol(List<PortIndex.Entry> entries) {
        Map<String, Set<String>> homes = new TreeMap<>();
        for (PortIndex.Entry e : entries) {
            if (e.symbol().isEmpty()) {
                continue; // a whole file: several classes may share one
            }
            String home = e.javaClass() + (e.member().isEmpty() ? "" : "#" + e.member());
            homes.computeIfAbsent(e.kernelFile() + ":" + e.symbol(), k -> new TreeSet<>()).add(home);
        }
        return homes;
    }

    @Test
    void everyPortedSymbolHasOneJavaHome() throws IOException {
        List<PortIndex.Entry> entries = PortIndex.scan();
        // the scan sees every module: the driver, the model, the core and this one
        assertThat(entries).extracting(PortIndex.Entry::javaClass)
                .contains("org.iommu4j.smmuv3.ArmSmmuV3", "org.iommu4j.iommu.Iommu", "org.iommu4j.base.Kref",
                        "org.iommu4j.platform.IrqGicV2m");
        Map<String, Set<String>> shared = new TreeMap<>(homesBySymbol(entries));
        shared.values().removeIf(h -> h.size() == 1);
        assertThat(shared).as("kernel symbols ported in more than one place").isEmpty();
    }

    @Test
    void theRuleToleratesSeedVariantsAndOverloadsButNotAliases() {
        List<PortIndex.Entry> entries = List.of(
                new PortIndex.Entry("drivers/iommu/ioasid.c", "ioasid_free", "", "org.iommu4j.ioasid.Ioasid", "ioasidFree"),
                new PortIndex.Entry("drivers/iommu/ioasid.c", "ioasid_free", "002", "org.iommu4j.ioasid.Ioasid", "ioasidFree"),
                new PortIndex.Entry("mm/memory.c", "handle_mm_fault", "", "org.iommu4j.mm.MmFault", "handleMmFault"),
                new PortIndex.Entry("mm/memory.c", "handle_mm_fault", "", "org.iommu4j.mm.MmFault", "handleMmFault"),
                new PortIndex.Entry("kernel/dma/mapping.c", "", "", "org.iommu4j.dma.DmaMapping", ""),
                new PortIndex.Entry("kernel/dma/mapping.c", "", "", "org.iommu4j.dma.Other", ""),
                new PortIndex.Entry("include/linux/iommu.h", "dev_iommu_fwspec_get", "", "org.iommu4j.iommu.DevIommu",
                        "devIommuFwspecGet"),
                new PortIndex.Entry("include/linux/iommu.h", "dev_iommu_fwspec_get", "", "org.iommu4j.iommu.Iommu",
                        "devIommuFwspecGet"));
        Map<String, Set<String>> homes = homesBySymbol(entries);
        assertThat(homes.get("drivers/iommu/ioasid.c:ioasid_free")).hasSize(1);
        assertThat(homes.get("mm/memory.c:handle_mm_fault")).hasSize(1);
        assertThat(homes).doesNotContainKey("kernel/dma/mapping.c:");
        assertThat(homes.get("include/linux/iommu.h:dev_iommu_fwspec_get")).containsExactly(
                "org.iommu4j.iommu.DevIommu#devIommuFwspecGet", "org.iommu4j.iommu.Iommu#devIommuFwspecGet");
    }
}
