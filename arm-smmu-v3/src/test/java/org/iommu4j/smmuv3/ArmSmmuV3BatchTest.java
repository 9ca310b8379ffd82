package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * arm_smmu_cmdq_batch_add as v5.15 has it: a batch holds CMDQ_BATCH_ENTRIES (64) commands; adding
 * one to a full batch first issues the 64 without a CMD_SYNC, and batch_submit issues the rest
 * with one.
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3BatchTest {

    @Test
    void aFullBatchIsIssuedWithoutSyncBeforeTheNextCommand() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        int start = tb.prod();
        ArmSmmuCmdqBatch cmds = new ArmSmmuCmdqBatch();
        for (int i = 0; i < CMDQ_BATCH_ENTRIES; i++) {
            ArmSmmuCmdqEnt e = new ArmSmmuCmdqEnt(CMDQ_OP_CFGI_STE);
            e.sid = i;
            e.leaf = true;
            tb.drv.armSmmuCmdqBatchAdd(tb.drv.smmu, cmds, e);
        }
        /* 64 held, nothing issued yet */
        assertThat(cmds.num).isEqualTo(64);
        assertThat(tb.prod()).isEqualTo(start);

        ArmSmmuCmdqEnt e = new ArmSmmuCmdqEnt(CMDQ_OP_CFGI_STE);
        e.sid = 64;
        e.leaf = true;
        tb.drv.armSmmuCmdqBatchAdd(tb.drv.smmu, cmds, e);
        assertThat(cmds.num).isEqualTo(1);
        assertThat(tb.prod()).isEqualTo(start + 64);
        assertThat(tb.opcodes(start, start + 64)).containsOnly(CMDQ_OP_CFGI_STE);

        assertThat(tb.drv.armSmmuCmdqBatchSubmit(tb.drv.smmu, cmds)).isZero();
        assertThat(tb.opcodes(start + 64, tb.prod())).containsExactly(CMDQ_OP_CFGI_STE, CMDQ_OP_CMD_SYNC);
        assertThat(org.iommu4j.base.Bits.FIELD_GET(CMDQ_CFGI_0_SID, tb.commands(start + 64, start + 65).get(0)[0])).isEqualTo(64);
        tb.model.close();
    }
}
