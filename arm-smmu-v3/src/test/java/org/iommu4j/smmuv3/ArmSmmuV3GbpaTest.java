package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.ETIMEDOUT;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.List;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * arm_smmu_update_gbpa as v5.15 has it: wait for GBPA.UPDATE to clear (a timeout returns
 * -ETIMEDOUT quietly, nothing written), write the new value with UPDATE, wait again (a timeout
 * there prints "GBPA not responding to update").
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3GbpaTest {

    @Test
    void aBusyGbpaIsNotWritten() throws Exception {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        tb.rec.readOverride.put(ARM_SMMU_GBPA, GBPA_UPDATE);
        int from = tb.rec.log.size();
        SmmuTestBed.Printed<Integer> run = SmmuTestBed.printed(() -> tb.drv.armSmmuUpdateGbpa(tb.drv.smmu, GBPA_ABORT, 0));
        int ret = run.value();
        List<String> log = run.lines();
        assertThat(ret).isEqualTo(-ETIMEDOUT);
        assertThat(tb.rec.writesSince(from)).isEmpty();
        assertThat(log).isEmpty();
        tb.model.close();
    }

    @Test
    void anUpdateThatNeverCompletesIsReported() throws Exception {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        tb.rec.readOverride.put(ARM_SMMU_GBPA, 0L);
        tb.rec.swallowWrites.add(ARM_SMMU_GBPA);
        tb.rec.onWrite = (off, val) -> {
            if (off == ARM_SMMU_GBPA) {
                tb.rec.readOverride.put(ARM_SMMU_GBPA, val);
            }
        };
        int from = tb.rec.log.size();
        SmmuTestBed.Printed<Integer> run = SmmuTestBed.printed(() -> tb.drv.armSmmuUpdateGbpa(tb.drv.smmu, GBPA_ABORT, 0));
        int ret = run.value();
        List<String> log = run.lines();
        assertThat(ret).isEqualTo(-ETIMEDOUT);
        List<MmioRecorder.Access> w = tb.rec.writesSince(from);
        assertThat(w).hasSize(1);
        assertThat(w.get(0).offset()).isEqualTo(ARM_SMMU_GBPA);
        assertThat(w.get(0).value()).isEqualTo(GBPA_UPDATE | GBPA_ABORT);
        assertThat(log).containsExactly("arm-smmu-v3 9050000.smmuv3: GBPA not responding to update");
        tb.model.close();
    }
}
