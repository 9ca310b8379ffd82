package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.List;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * arm_smmu_device_reset as v5.15 has it: with the command queue on, CFGI_ALL, TLBI_EL2_ALL (HYP
 * only) and TLBI_NSNH_ALL, each with its CMD_SYNC; a live SMMU is first made to abort through
 * GBPA; and in bypass (disable_bypass off) SMMUEN stays clear and GBPA.ABORT is cleared instead.
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3ResetTest {

    @Test
    void withHypTheEl2TlbIsInvalidatedToo() {
        SmmuCaps.Builder b = SmmuCaps.qemu().toBuilder();
        b.hyp = true;
        SmmuTestBed tb = new SmmuTestBed(b.build());
        assertThat(tb.probe()).isZero();
        assertThat(tb.drv.smmu.features & ARM_SMMU_FEAT_HYP).isNotZero();
        assertThat(tb.opcodes(0, 6)).containsExactly(CMDQ_OP_CFGI_ALL, CMDQ_OP_CMD_SYNC, CMDQ_OP_TLBI_EL2_ALL,
                CMDQ_OP_CMD_SYNC, CMDQ_OP_TLBI_NSNH_ALL, CMDQ_OP_CMD_SYNC);
        /* CFGI_ALL is CFGI_STE_RANGE with Range 31 */
        assertThat(tb.commands(0, 1).get(0)[1] & 0x1f).isEqualTo(31);
        tb.model.close();
    }

    @Test
    void withoutHypOnlyTheNonSecureNonHypTlb() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        assertThat(tb.opcodes(0, 4)).containsExactly(CMDQ_OP_CFGI_ALL, CMDQ_OP_CMD_SYNC, CMDQ_OP_TLBI_NSNH_ALL, CMDQ_OP_CMD_SYNC);
        tb.model.close();
    }

    @Test
    void aLiveSmmuAbortsThroughGbpaBeforeItIsDisabled() throws Exception {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        int from = tb.rec.log.size();
        SmmuTestBed.Printed<Integer> run = SmmuTestBed.printed(() -> tb.drv.armSmmuDeviceReset(tb.drv.smmu, false));
        int ret = run.value();
        List<String> log = run.lines();
        assertThat(ret).isZero();
        assertThat(log).contains("arm-smmu-v3 9050000.smmuv3: SMMU currently enabled! Resetting...");
        List<MmioRecorder.Access> w = tb.rec.writesSince(from);
        assertThat(w.get(0).offset()).isEqualTo(ARM_SMMU_GBPA);
        assertThat(w.get(0).value() & (GBPA_UPDATE | GBPA_ABORT)).isEqualTo(GBPA_UPDATE | GBPA_ABORT);
        assertThat(w.get(1).offset()).isEqualTo(ARM_SMMU_CR0);
        assertThat(w.get(1).value()).isZero();
        /* Enabled again at the end, translating */
        MmioRecorder.Access last = w.stream().filter(a -> a.offset() == ARM_SMMU_CR0).reduce((a, c) -> c).orElseThrow();
        assertThat(last.value() & CR0_SMMUEN).isNotZero();
        tb.model.close();
    }

    @Test
    void bypassLeavesSmmuenClearAndClearsGbpaAbort() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        tb.drv.disableBypass = false;
        /* #iommu-cells missing: the firmware description is unusable, so the probe asks for bypass */
        assertThat(tb.probe(-1, "dma-coherent")).isZero();
        List<MmioRecorder.Access> w = tb.rec.writesSince(0);
        MmioRecorder.Access gbpa = w.stream().filter(a -> a.offset() == ARM_SMMU_GBPA).reduce((a, c) -> c).orElseThrow();
        assertThat(gbpa.value() & GBPA_UPDATE).isNotZero();
        assertThat(gbpa.value() & GBPA_ABORT).isZero();
        MmioRecorder.Access last = w.get(w.size() - 1);
        assertThat(last.offset()).isEqualTo(ARM_SMMU_CR0);
        assertThat(last.value() & CR0_SMMUEN).isZero();
        assertThat(last.value() & (CR0_CMDQEN | CR0_EVTQEN)).isEqualTo(CR0_CMDQEN | CR0_EVTQEN);
        tb.model.close();
    }
}
