package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.iommu.IommuResvRegion;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * arm_smmu_get_resv_regions hands out the software MSI window (0x8000000, 1 MiB, write/no-exec/
 * MMIO) and then what iommu_dma_get_resv_regions adds (nothing for a DT device); v5.15's
 * arm_smmu_ops gives them back through generic_iommu_put_resv_regions.
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3ResvRegionsTest {

    @Test
    void theSwMsiWindowIsHandedOutAndPutBack() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        Device dev = tb.master("dev0", 0x20, 0);
        List<IommuResvRegion> list = new ArrayList<>();
        tb.drv.armSmmuOps.getResvRegions(dev, list);
        assertThat(list).hasSize(1);
        IommuResvRegion r = list.get(0);
        assertThat(r.start).isEqualTo(0x8000000L);
        assertThat(r.length).isEqualTo(0x100000L);
        assertThat(r.type).isEqualTo(IommuH.IOMMU_RESV_SW_MSI);
        assertThat(r.prot).isEqualTo(IommuH.IOMMU_WRITE | IommuH.IOMMU_NOEXEC | IommuH.IOMMU_MMIO);

        assertThat(tb.drv.armSmmuOps.hasPutResvRegions()).isTrue();
        tb.drv.armSmmuOps.putResvRegions(dev, list);
        assertThat(list).isEmpty();
        tb.model.close();
    }
}
