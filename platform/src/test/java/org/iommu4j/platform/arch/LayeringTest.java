package org.iommu4j.platform.arch;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * DESIGN.md's "Rules of the graph", enforced on every org.iommu4j class on the class path
 * (main code of all modules; tests excluded). The self-check below proves that each rule fires
 * on a violating class, using fixture packages that mirror the real ones.
 */
@AnalyzeClasses(packages = "org.iommu4j", importOptions = ImportOption.DoNotIncludeTests.class)
class LayeringTest {
    static final Map<String, ArchRule> RULES = Layering.rules("org.iommu4j");

    @ArchTest
    static final ArchRule baseDependsOnNothingOfOurs = RULES.get("base");
    @ArchTest
    static final ArchRule mmOnlyOnBase = RULES.get("mm");
    @ArchTest
    static final ArchRule ioasidOnlyOnBase = RULES.get("ioasid");
    @ArchTest
    static final ArchRule devicetreeOnlyOnBase = RULES.get("of");
    @ArchTest
    static final ArchRule pciOnlyOnBaseAndMm = RULES.get("pci");
    @ArchTest
    static final ArchRule iommuCoreOnlyOnLowerModules = RULES.get("iommu");
    @ArchTest
    static final ArchRule dmaOnlyOnLowerModules = RULES.get("dma");
    @ArchTest
    static final ArchRule iovaOnlyOnLowerModules = RULES.get("iova");
    @ArchTest
    static final ArchRule pgtableOnlyOnLowerModules = RULES.get("pgtable");
    @ArchTest
    static final ArchRule ioPgfaultOnlyOnTheCore = RULES.get("iopf");
    @ArchTest
    static final ArchRule svaOnlyOnTheCore = RULES.get("sva");
    @ArchTest
    static final ArchRule smmuModelOnlyOnBase = RULES.get("smmuv3.hw");
    @ArchTest
    static final ArchRule smmuDriverNeverImportsTheModel = RULES.get("smmuv3 driver");
    @ArchTest
    static final ArchRule pciCoreNeverImportsPciHw = RULES.get("pci core");
    @ArchTest
    static final ArchRule pciHwNeverImportsPciCore = RULES.get("pci hw");
    @ArchTest
    static final ArchRule virtioDriversNeverImportTheDevices = RULES.get("virtio");
    @ArchTest
    static final ArchRule nothingBelowPlatformImportsIt = RULES.get("platform");

    static final String FIXTURE = "org.iommu4j.platform.arch.fixture";

    /** Each rule, built over the fixture root, and the fixture class that must violate it. */
    static final Map<String, String> EXPECTED_OFFENDER = Map.ofEntries(
            Map.entry("base", "BaseUsesMm"),
            Map.entry("mm", "MmUsesPci"),
            Map.entry("ioasid", "IoasidUsesOf"),
            Map.entry("of", "OfUsesIoasid"),
            Map.entry("pci", "PciUsesIommu"),
            Map.entry("iommu", "IommuUsesSmmu"),
            Map.entry("dma", "DmaUsesSmmu"),
            Map.entry("iova", "IovaUsesPlatform"),
            Map.entry("pgtable", "PgtableUsesSmmuHw"),
            Map.entry("iopf", "IopfUsesSva"),
            Map.entry("sva", "SvaUsesSmmu"),
            Map.entry("smmuv3.hw", "ModelUsesIommu"),
            Map.entry("smmuv3 driver", "DriverUsesModel"),
            Map.entry("pci core", "PciCoreUsesHw"),
            Map.entry("pci hw", "PciHwUsesCore"),
            Map.entry("virtio", "VirtioUsesPciHw"),
            Map.entry("platform", "IovaUsesPlatform"));

    @Test
    void everyRuleFiresOnItsViolatingFixture() {
        JavaClasses fixture = new ClassFileImporter().importPackages(FIXTURE);
        assertThat(fixture).isNotEmpty();
        Map<String, ArchRule> rules = Layering.rules(FIXTURE);
        assertThat(rules.keySet()).containsExactlyInAnyOrderElementsOf(EXPECTED_OFFENDER.keySet());
        for (var e : rules.entrySet()) {
            EvaluationResult res = e.getValue().evaluate(fixture);
            assertThat(res.hasViolation()).as("rule '%s' must fire", e.getKey()).isTrue();
            assertThat(String.join("\n", res.getFailureReport().getDetails()))
                    .as("rule '%s'", e.getKey()).contains(EXPECTED_OFFENDER.get(e.getKey()));
        }
    }

    @Test
    void allowedDependenciesDoNotFire() {
        JavaClasses allowed = new ClassFileImporter().importClasses(
                org.iommu4j.platform.arch.fixture.base.BaseOk.class,
                org.iommu4j.platform.arch.fixture.mm.MmOk.class,
                org.iommu4j.platform.arch.fixture.iommu.IommuOk.class,
                org.iommu4j.platform.arch.fixture.iopf.IopfOk.class,
                org.iommu4j.platform.arch.fixture.sva.SvaOk.class,
                org.iommu4j.platform.arch.fixture.smmuv3.DriverOk.class,
                org.iommu4j.platform.arch.fixture.smmuv3.hw.ModelOk.class,
                org.iommu4j.platform.arch.fixture.virtio.VirtioOk.class);
        for (var e : Layering.rules(FIXTURE).entrySet()) {
            assertThat(e.getValue().evaluate(allowed).hasViolation()).as("rule '%s'", e.getKey()).isFalse();
        }
    }
}
