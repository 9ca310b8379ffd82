package org.iommu4j.platform;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** The SMMUv3 driver and the SMMUv3 hardware model meet only through kernel-base's board interfaces. */
@AnalyzeClasses(packages = "org.iommu4j.smmuv3", importOptions = ImportOption.DoNotIncludeTests.class)
class DriverHwIsolationTest {
    @ArchTest
    static final ArchRule driverNeverUsesTheModel = noClasses().that().resideInAPackage("org.iommu4j.smmuv3")
            .should().dependOnClassesThat().resideInAPackage("org.iommu4j.smmuv3.hw..");

    @ArchTest
    static final ArchRule modelNeverUsesTheDriver = noClasses().that().resideInAPackage("org.iommu4j.smmuv3.hw..")
            .should().dependOnClassesThat().resideInAPackage("org.iommu4j.smmuv3");
}
