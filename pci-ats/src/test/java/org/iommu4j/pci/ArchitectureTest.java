package org.iommu4j.pci;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The device model and the PCI core meet only through kernel-base's board. */
class ArchitectureTest {
    static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages("org.iommu4j.pci");

    @Test
    void deviceModelDoesNotUseThePciCore() {
        noClasses().that().resideInAPackage("org.iommu4j.pci.hw..")
                .should().dependOnClassesThat().resideInAPackage("org.iommu4j.pci")
                .check(MAIN);
    }

    @Test
    void pciCoreDoesNotUseTheDeviceModel() {
        noClasses().that().resideInAPackage("org.iommu4j.pci")
                .should().dependOnClassesThat().resideInAPackage("org.iommu4j.pci.hw..")
                .check(MAIN);
    }

    @Test
    void pciDependsOnlyOnKernelBaseAndTheJdk() {
        noClasses().that().resideInAPackage("org.iommu4j.pci..")
                .should().dependOnClassesThat().resideInAnyPackage("org.iommu4j.iommu..", "org.iommu4j.mm..",
                        "org.iommu4j.smmu..", "org.iommu4j.platform..")
                .check(MAIN);
    }
}
