package org.iommu4j.platform.arch;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.lang.ArchRule;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * DESIGN.md's module graph as ArchUnit rules over packages below a root ({@code org.iommu4j} for
 * the real code; the self-check in {@link LayeringTest} builds the same rules over a fixture
 * root to prove each one fires). Every rule allows an empty "should", so it passes while the
 * package it constrains does not exist yet.
 *
 * <pre>
 * base  <-  mm  <-  pci (core | hw, never each other)
 *   ^        ^        ^
 *   +-- ioasid, of   |
 *   +------ iommu (+ dma, iova, pgtable) uses base, mm, pci, of, ioasid
 *             ^
 *             iopf (io-pgfault), sva (iommu-sva): each on the core and below, never each other
 *             ^
 *             smmuv3 driver  (never smmuv3.hw);  smmuv3.hw uses base only
 * virtio (the virtio-pci, virtio_ring and device drivers): base, mm, the PCI core and the DMA API,
 *             never the PCI device model (pci.hw, where the virtio devices live)
 * platform: above everything, imported by nothing below it
 * </pre>
 */
final class Layering {
    private Layering() {}

    /** The rules by name, in graph order. */
    static Map<String, ArchRule> rules(String root) {
        Map<String, ArchRule> r = new LinkedHashMap<>();
        r.put("base", onlyOn(root, "base"));
        r.put("mm", onlyOn(root, "mm", "base"));
        r.put("ioasid", onlyOn(root, "ioasid", "base"));
        r.put("of", onlyOn(root, "of", "base"));
        r.put("pci", onlyOn(root, "pci", "base", "mm"));
        String[] core = {"base", "mm", "pci", "of", "ioasid", "iommu", "dma", "iova", "pgtable"};
        r.put("iommu", onlyOn(root, "iommu", core));
        r.put("dma", onlyOn(root, "dma", core));
        r.put("iova", onlyOn(root, "iova", core));
        r.put("pgtable", onlyOn(root, "pgtable", core));
        // io-pgfault reaches iommu-sva only through the domain's iopf_handler (DESIGN.md).
        r.put("iopf", onlyOn(root, "iopf", core));
        r.put("sva", onlyOn(root, "sva", core));
        r.put("smmuv3.hw", classes().that().resideInAPackage(root + ".smmuv3.hw..")
                .should().onlyDependOnClassesThat(resideOutsideOfPackage(root + "..")
                        .or(resideInAnyPackage(root + ".base..", root + ".smmuv3.hw..")))
                .allowEmptyShould(true)
                .as("the SMMUv3 hardware model (smmuv3.hw) depends only on kernel-base"));
        r.put("smmuv3 driver", noClasses().that().resideInAPackage(root + ".smmuv3..")
                .and().resideOutsideOfPackage(root + ".smmuv3.hw..")
                .should().dependOnClassesThat().resideInAPackage(root + ".smmuv3.hw..")
                .allowEmptyShould(true)
                .as("the arm-smmu-v3 driver never imports the SMMUv3 hardware model"));
        r.put("pci core", noClasses().that().resideInAPackage(root + ".pci..")
                .and().resideOutsideOfPackage(root + ".pci.hw..")
                .should().dependOnClassesThat().resideInAPackage(root + ".pci.hw..")
                .allowEmptyShould(true)
                .as("the PCI core (ats.c) never imports the PCI device model (pci.hw)"));
        r.put("pci hw", noClasses().that().resideInAPackage(root + ".pci.hw..")
                .should().dependOnClassesThat(resideInAnyPackage(root + ".pci..")
                        .and(resideOutsideOfPackage(root + ".pci.hw..")))
                .allowEmptyShould(true)
                .as("the PCI device model (pci.hw) never imports the PCI core"));
        r.put("virtio", classes().that().resideInAPackage(root + ".virtio..")
                .should().onlyDependOnClassesThat(resideOutsideOfPackage(root + "..")
                        .or(resideInAnyPackage(root + ".virtio..", root + ".base..", root + ".mm..", root + ".pci..", root + ".dma..")
                                .and(resideOutsideOfPackage(root + ".pci.hw.."))))
                .allowEmptyShould(true)
                .as("the virtio drivers (virtio) depend only on base, the page allocator, the PCI core and the DMA"
                        + " API, never on the PCI device model (pci.hw)"));
        r.put("platform", noClasses().that().resideInAPackage(root + "..")
                .and().resideOutsideOfPackage(root + ".platform..")
                .and().resideOutsideOfPackage(root + ".bench..")
                .should().dependOnClassesThat().resideInAPackage(root + ".platform..")
                .allowEmptyShould(true)
                .as("nothing below platform imports org.iommu4j.platform"));
        return r;
    }

    /** Classes in {@code layer} depend on nothing of ours outside {@code layer} and {@code allowed}. */
    private static ArchRule onlyOn(String root, String layer, String... allowed) {
        String[] ok = Stream.concat(Stream.of(layer), Arrays.stream(allowed)).map(p -> root + "." + p + "..")
                .toArray(String[]::new);
        return classes().that().resideInAPackage(root + "." + layer + "..")
                .should().onlyDependOnClassesThat(resideOutsideOfPackage(root + "..").or(resideInAnyPackage(ok)))
                .allowEmptyShould(true)
                .as(root + "." + layer + " depends only on " + (allowed.length == 0 ? "nothing of ours" : String.join(", ", allowed)));
    }
}
