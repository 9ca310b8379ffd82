package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.List;
import org.iommu4j.base.hw.IrqHandler;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * arm_smmu_gerror_handler as v5.15 has it: nothing to do when GERROR equals GERRORN; otherwise
 * one line for the active set, one per error bit (SFM also disables the SMMU), and GERROR
 * written back to GERRORN. GERROR and GERRORN are read through overrides, since the model
 * raises these errors only on real faults.
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3GerrorTest {

    private static final String P = "arm-smmu-v3 9050000.smmuv3: ";

    @Test
    void eachActiveErrorIsReportedAndAcknowledged() throws Exception {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        tb.rec.swallowWrites.add(ARM_SMMU_GERRORN);
        tb.rec.readOverride.put(ARM_SMMU_GERRORN, 0x1L);
        /* CMDQ_ERR already acknowledged (bit 0 equal), six MSI/queue abort bits newly active */
        tb.rec.readOverride.put(ARM_SMMU_GERROR, 0xfdL);
        int before = tb.rec.log.size();
        SmmuTestBed.Printed<Integer> run = SmmuTestBed.printed(() -> tb.drv.armSmmuGerrorHandler(0, tb.drv.smmu));
        int ret = run.value();
        List<String> log = run.lines();
        assertThat(ret).isEqualTo(IrqHandler.IRQ_HANDLED);
        assertThat(log).containsExactly(
                P + "unexpected global error reported (0x000000fc), this could be serious",
                P + "GERROR MSI write aborted",
                P + "PRIQ MSI write aborted",
                P + "EVTQ MSI write aborted",
                P + "CMDQ MSI write aborted",
                P + "PRIQ write aborted -- events may have been lost",
                P + "EVTQ write aborted -- events may have been lost");
        /* The acknowledgement: GERRORN = the GERROR value read */
        List<MmioRecorder.Access> writes = tb.rec.writesSince(before);
        assertThat(writes).hasSize(1);
        assertThat(writes.get(0).offset()).isEqualTo(ARM_SMMU_GERRORN);
        assertThat(writes.get(0).value()).isEqualTo(0xfdL);
        tb.model.close();
    }

    @Test
    void nothingActiveIsNotOurInterrupt() throws Exception {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        tb.rec.swallowWrites.add(ARM_SMMU_GERRORN);
        tb.rec.readOverride.put(ARM_SMMU_GERROR, 0x104L);
        tb.rec.readOverride.put(ARM_SMMU_GERRORN, 0x104L);
        int before = tb.rec.log.size();
        assertThat(tb.drv.armSmmuGerrorHandler(0, tb.drv.smmu)).isEqualTo(IrqHandler.IRQ_NONE);
        assertThat(tb.rec.writesSince(before)).isEmpty();
        tb.model.close();
    }

    @Test
    void serviceFailureModeDisablesTheSmmu() throws Exception {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        tb.rec.swallowWrites.add(ARM_SMMU_GERRORN);
        tb.rec.readOverride.put(ARM_SMMU_GERRORN, 0L);
        tb.rec.readOverride.put(ARM_SMMU_GERROR, GERROR_SFM_ERR);
        int before = tb.rec.log.size();
        SmmuTestBed.Printed<Integer> run = SmmuTestBed.printed(() -> tb.drv.armSmmuGerrorHandler(0, tb.drv.smmu));
        assertThat(run.value()).isEqualTo(IrqHandler.IRQ_HANDLED);
        List<String> log = run.lines();
        assertThat(log).containsExactly(
                P + "unexpected global error reported (0x00000100), this could be serious",
                P + "device has entered Service Failure Mode!");
        List<MmioRecorder.Access> writes = tb.rec.writesSince(before);
        /* arm_smmu_device_disable (CR0 = 0, then CR0ACK polled), then the acknowledgement */
        assertThat(writes).extracting(MmioRecorder.Access::offset).containsExactly(ARM_SMMU_CR0, ARM_SMMU_GERRORN);
        assertThat(writes.get(0).value()).isZero();
        assertThat(writes.get(1).value()).isEqualTo(GERROR_SFM_ERR);
        tb.model.close();
    }
}
