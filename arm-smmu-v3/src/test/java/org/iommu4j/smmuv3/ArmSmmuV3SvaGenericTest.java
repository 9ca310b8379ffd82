package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;

import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.sva.IommuSvaLib;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every SVA scenario of {@link ArmSmmuV3SvaTest} again with seed 004's binding: the driver's
 * {@code arm_smmu_mm_ops} under the SVA library's generic {@code io_mm} layer.
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3SvaGenericTest extends ArmSmmuV3SvaTest {
    @Override
    boolean generic() {
        return true;
    }

    @Test
    void theHandleIsTheLibrarysBondAndSvaIsEnabledInTheLibrary() {
        boot(true);
        enableAndBind();
        assertThat(handle).isInstanceOf(IommuSvaLib.IommuBond.class);
        assertThat(IommuSvaLib.iommuSvaEnabled(dev)).isTrue();
        ArmSmmuMaster master = (ArmSmmuMaster) org.iommu4j.iommu.DevIommu.devIommuPrivGet(dev);
        assertThat(master.bonds).isEmpty();
        org.iommu4j.iommu.Iommu.iommuSvaUnbindDevice(handle);
        assertThat(org.iommu4j.iommu.Iommu.iommuDevDisableFeature(dev, org.iommu4j.iommu.IommuH.IOMMU_DEV_FEAT_SVA)).isZero();
        assertThat(IommuSvaLib.iommuSvaEnabled(dev)).isFalse();
    }
}
