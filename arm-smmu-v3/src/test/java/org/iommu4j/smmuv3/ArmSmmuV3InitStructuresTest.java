package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.List;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Printk;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * arm_smmu_init_structures as v5.15 has it: arm_smmu_init_one_queue halves a queue until its
 * allocation succeeds, and arm_smmu_init_strtab_2lvl caps the L1 table at 1 MiB of 8-byte
 * descriptors (2^17, so 25 SID bits) and warns when SIDSIZE is wider.
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3InitStructuresTest {

    @Test
    void twoLevelStreamTableCoversAtMostTwentyFiveSidBits() throws Exception {
        SmmuCaps.Builder b = SmmuCaps.qemu().toBuilder();
        b.sidSize = 32;
        SmmuTestBed tb = new SmmuTestBed(b.build());
        SmmuTestBed.Printed<Integer> run = SmmuTestBed.printed(() -> tb.probe());
        assertThat(run.value()).isZero();
        List<String> log = run.lines();
        assertThat(log).contains("arm-smmu-v3 9050000.smmuv3: 2-level strtab only covers 25/32 bits of SID");
        ArmSmmuStrtabCfg cfg = tb.drv.smmu.strtabCfg;
        assertThat(cfg.numL1Ents).isEqualTo(1 << 17);
        long baseCfg = Integer.toUnsignedLong(cfg.strtabBaseCfg);
        assertThat(org.iommu4j.base.Bits.FIELD_GET(STRTAB_BASE_CFG_FMT, baseCfg)).isEqualTo(STRTAB_BASE_CFG_FMT_2LVL);
        assertThat(org.iommu4j.base.Bits.FIELD_GET(STRTAB_BASE_CFG_LOG2SIZE, baseCfg)).isEqualTo(25);
        assertThat(org.iommu4j.base.Bits.FIELD_GET(STRTAB_BASE_CFG_SPLIT, baseCfg)).isEqualTo(STRTAB_SPLIT);
        /* Every L1 descriptor starts invalid (no L2 table, span 0) */
        assertThat(tb.board.mem.readq(cfg.strtab)).isZero();
        assertThat(tb.board.mem.readq(cfg.strtab + ((1L << 17) - 1) * 8)).isZero();
        /* A SID past the 25 bits the table covers is refused */
        assertThat(tb.drv.armSmmuSidInRange(tb.drv.smmu, 1 << 25)).isFalse();
        assertThat(tb.drv.armSmmuSidInRange(tb.drv.smmu, (1 << 25) - 1)).isTrue();
        tb.model.close();
    }

    @Test
    void aQueueWhoseAllocationFailsIsHalved() throws Exception {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
        int ret;
        boolean fired;
        String site;
        try (AutoCloseable f = Printk.follow(l -> log.add(l.text()))) {
            /* The probe's first page allocation is the command queue's (2^16 entries, 1 MiB) */
            FaultInject.failNth(1);
            try {
                ret = tb.probe();
            } finally {
                site = FaultInject.firedSite();
                fired = FaultInject.disarm();
            }
        }
        assertThat(fired).isTrue();
        assertThat(site).isEqualTo("alloc_pages");
        assertThat(ret).isZero();
        assertThat(log).contains("arm-smmu-v3 9050000.smmuv3: allocated 32768 entries for cmdq",
                "arm-smmu-v3 9050000.smmuv3: allocated 32768 entries for evtq");
        assertThat(tb.drv.smmu.cmdq.q.llq.maxNShift).isEqualTo(15);
        assertThat(tb.drv.smmu.cmdq.q.entDwords).isEqualTo(CMDQ_ENT_DWORDS);
        assertThat(tb.drv.smmu.evtq.entDwords).isEqualTo(EVTQ_ENT_DWORDS);
        /* Q_BASE: RWA, the address, LOG2SIZE = the shrunk size */
        long qbase = tb.drv.smmu.cmdq.q.qBase;
        assertThat(qbase & Q_BASE_RWA).isNotZero();
        assertThat(org.iommu4j.base.Bits.FIELD_GET(Q_BASE_LOG2SIZE, qbase)).isEqualTo(15);
        assertThat(qbase & Q_BASE_ADDR_MASK).isEqualTo(tb.drv.smmu.cmdq.q.baseDma);
        /* prod/cons registers: page 0 for the cmdq, page 1 for the evtq */
        assertThat(tb.drv.smmu.cmdq.q.prodReg).isEqualTo(ARM_SMMU_CMDQ_PROD);
        assertThat(tb.drv.smmu.cmdq.q.consReg).isEqualTo(ARM_SMMU_CMDQ_CONS);
        assertThat(tb.drv.smmu.evtq.page).isSameAs(tb.drv.smmu.page1);
        assertThat(tb.drv.smmu.evtq.prodReg).isEqualTo(ARM_SMMU_EVTQ_PROD);
        /* The shrunk queue works */
        assertThat(tb.drv.armSmmuCmdqIssueCmdWithSync(tb.drv.smmu, new ArmSmmuCmdqEnt(CMDQ_OP_TLBI_NSNH_ALL))).isZero();
        tb.model.close();
    }
}
