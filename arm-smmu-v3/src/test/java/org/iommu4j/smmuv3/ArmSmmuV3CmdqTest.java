package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.iommu4j.base.Printk;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The command queue: encoding, the lock-free insertion under contention, error recovery, MSIs. */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3CmdqTest {

    @Test
    void buildCmdEncodesEveryOpcodeAndRejectsUnknownOnes() {
        long[] c = new long[2];
        ArmSmmuCmdqEnt e = new ArmSmmuCmdqEnt(CMDQ_OP_ATC_INV);
        e.sid = 0x10;
        e.ssid = 5;
        e.substreamValid = true;
        e.size = 3;
        e.addr = 0x12345000L;
        assertThat(ArmSmmuV3.armSmmuCmdqBuildCmd(c, 0, e)).isZero();
        assertThat(c[0]).isEqualTo(0x0000001000005840L);
        assertThat(c[1]).isEqualTo(0x12345003L);

        e = new ArmSmmuCmdqEnt(CMDQ_OP_RESUME);
        e.sid = 7;
        e.resp = (int) CMDQ_RESUME_0_RESP_RETRY;
        e.stag = 0xbeef;
        assertThat(ArmSmmuV3.armSmmuCmdqBuildCmd(c, 0, e)).isZero();
        assertThat(c[0]).isEqualTo(0x0000000700001044L);
        assertThat(c[1]).isEqualTo(0xbeefL);

        e = new ArmSmmuCmdqEnt(CMDQ_OP_PRI_RESP);
        e.resp = 3;
        assertThat(ArmSmmuV3.armSmmuCmdqBuildCmd(c, 0, e)).isEqualTo(-org.iommu4j.base.Errno.EINVAL);
        assertThat(ArmSmmuV3.armSmmuCmdqBuildCmd(c, 0, new ArmSmmuCmdqEnt(0x7f))).isEqualTo(-org.iommu4j.base.Errno.ENOENT);

        e = new ArmSmmuCmdqEnt(CMDQ_OP_CMD_SYNC);
        e.msiaddr = 0x40001230L;
        assertThat(ArmSmmuV3.armSmmuCmdqBuildCmd(c, 0, e)).isZero();
        assertThat(c[0]).isEqualTo(0x0fc01046L);
        assertThat(c[1]).isEqualTo(0x40001230L);
    }

    /**
     * A failed encoding leaves the slot as the kernel's memset-then-opcode start does: {opcode, 0}
     * for an unknown opcode, the fields encoded before the check for a bad PRI response; never
     * what the slot held before.
     */
    @Test
    void failedBuildCmdLeavesTheOpcodeNotTheOldSlot() {
        long[] c = {-1L, -1L};
        assertThat(ArmSmmuV3.armSmmuCmdqBuildCmd(c, 0, new ArmSmmuCmdqEnt(0x7f))).isEqualTo(-org.iommu4j.base.Errno.ENOENT);
        assertThat(c).containsExactly(0x7fL, 0L);

        ArmSmmuCmdqEnt e = new ArmSmmuCmdqEnt(CMDQ_OP_PRI_RESP);
        e.substreamValid = true;
        e.ssid = 3;
        e.sid = 0x20;
        e.grpid = 0x1f;
        e.resp = 3;
        c = new long[] {-1L, -1L, -1L, -1L};
        assertThat(ArmSmmuV3.armSmmuCmdqBuildCmd(c, 2, e)).isEqualTo(-org.iommu4j.base.Errno.EINVAL);
        assertThat(c).containsExactly(-1L, -1L, 0x0000002000003841L, 0x1fL);
    }

    /**
     * v5.15's batch_add ignores the encoder's result: an unknown opcode goes to the hardware as
     * itself (CERROR_ILL, skipped by the GERROR handler), not as whatever the batch slot held.
     */
    @Test
    void batchAddQueuesAnUnknownOpcodeAsItself() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        /* Unlike batch_add, arm_smmu_cmdq_issue_cmd refuses a command that does not encode. */
        int start = tb.prod();
        assertThat(tb.drv.armSmmuCmdqIssueCmd(tb.drv.smmu, new ArmSmmuCmdqEnt(0x7f))).isEqualTo(-org.iommu4j.base.Errno.EINVAL);
        ArmSmmuCmdqEnt badResp = new ArmSmmuCmdqEnt(CMDQ_OP_PRI_RESP);
        badResp.resp = 3;
        assertThat(tb.drv.armSmmuCmdqIssueCmdWithSync(tb.drv.smmu, badResp)).isEqualTo(-org.iommu4j.base.Errno.EINVAL);
        assertThat(tb.prod()).isEqualTo(start);
        ArmSmmuCmdqBatch cmds = new ArmSmmuCmdqBatch();
        tb.drv.armSmmuCmdqBatchAdd(tb.drv.smmu, cmds, new ArmSmmuCmdqEnt(CMDQ_OP_CFGI_ALL));
        cmds.num = 0; /* the slot now holds a CFGI_ALL */
        tb.drv.armSmmuCmdqBatchAdd(tb.drv.smmu, cmds, new ArmSmmuCmdqEnt(0x7f));
        assertThat(cmds.num).isEqualTo(1);
        assertThat(cmds.cmds[0]).isEqualTo(0x7fL);
        assertThat(cmds.cmds[1]).isZero();

        List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
        int before = tb.prod();
        try (AutoCloseable f = Printk.follow(l -> log.add(l.text()))) {
            assertThat(tb.drv.armSmmuCmdqBatchSubmit(tb.drv.smmu, cmds)).isZero();
            tb.board.irqs.quiesce();
        } catch (Exception ex) {
            throw new AssertionError(ex);
        }
        assertThat(log).anyMatch(l -> l.contains("CMDQ error (cons 0x01") && l.endsWith("Illegal command"));
        assertThat(log).anyMatch(l -> l.contains("0x000000000000007f"));
        /* the bad slot was rewritten into a CMD_SYNC, then followed by the batch's own sync */
        assertThat(tb.opcodes(before, tb.prod())).containsExactly(CMDQ_OP_CMD_SYNC, CMDQ_OP_CMD_SYNC);
        tb.model.close();
    }

    /**
     * Seed 004: a PRI master's page response names the PASID (SSV) when the response has one and
     * the master's PRG responses need it (STE.PPAR), whatever fault record comes with it: the
     * driver's own "nobody cared" answer comes with none. No CMD_SYNC follows.
     */
    @Test
    void priResponseCarriesThePasidByTheMastersPpar() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.full());
        assertThat(tb.probe()).isZero();
        org.iommu4j.base.device.Device dev = tb.master("pri", 0x33, 8);
        ArmSmmuMaster m = (ArmSmmuMaster) org.iommu4j.iommu.DevIommu.devIommuPrivGet(dev);
        m.priSupported = true; /* as arm_smmu_init_pri finds a PCI function with PRI */
        var resp = new org.iommu4j.iommu.IommuPageResponse(org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_PASID_VALID, 5, 3,
                org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_SUCCESS);
        for (boolean ppar : new boolean[] {true, false}) {
            m.prgRespNeedsSsid = ppar;
            int before = tb.prod();
            assertThat(tb.drv.armSmmuPageResponse(dev, null, resp)).isZero();
            List<long[]> cmds = tb.commands(before, tb.prod());
            assertThat(cmds).hasSize(1);
            assertThat(cmds.get(0)[0]).isEqualTo(0x0000003300005041L | (ppar ? CMDQ_0_SSV : 0));
            assertThat(cmds.get(0)[1]).isEqualTo(0x2003L); /* Resp 2 (success), PRGI 3 */
        }
        resp.code = 7;
        int before = tb.prod();
        assertThat(tb.drv.armSmmuPageResponse(dev, null, resp)).isEqualTo(-org.iommu4j.base.Errno.EINVAL);
        assertThat(tb.prod()).isEqualTo(before);
        tb.model.close();
    }

    /**
     * Many CPUs insert commands with and without syncs at once; the model consumes them. Every
     * command is consumed exactly once (no lost or duplicated slot), every sync returns 0, and the
     * queue wraps several times.
     */
    @Test
    void concurrentProducersLoseNothing() throws Exception {
        concurrentProducers(false);
    }

    /** The same with the model consuming on its own thread (PROD writes only ring a doorbell). */
    @Test
    void concurrentProducersWithAnAsynchronousConsumer() throws Exception {
        concurrentProducers(true);
    }

    private void concurrentProducers(boolean consumerThread) throws Exception {
        var b = SmmuCaps.qemu().toBuilder();
        b.cmdqs = 8; /* 256 entries: wraps often */
        SmmuTestBed tb = new SmmuTestBed(b.build());
        assertThat(tb.probe()).isZero();
        tb.model.setConsumerThread(consumerThread);
        long before = tb.model.commandsConsumed();
        int threads = 4;
        int per = 300;
        AtomicInteger failures = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int tid = t;
            Thread th = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                ArmSmmuCmdqEnt cmd = new ArmSmmuCmdqEnt(CMDQ_OP_TLBI_NH_ASID);
                for (int i = 0; i < per; i++) {
                    cmd.asid = tid * 1000 + i;
                    int ret = (i % 3 == 0) ? tb.drv.armSmmuCmdqIssueCmdWithSync(tb.drv.smmu, cmd)
                            : tb.drv.armSmmuCmdqIssueCmd(tb.drv.smmu, cmd);
                    if (ret != 0) {
                        failures.incrementAndGet();
                    }
                }
                /* a final sync flushes this thread's last commands */
                if (tb.drv.armSmmuCmdqIssueCmdlist(tb.drv.smmu, new long[2], 0, true) != 0) {
                    failures.incrementAndGet();
                }
            });
            th.start();
            ts.add(th);
        }
        go.countDown();
        for (Thread th : ts) {
            th.join();
        }
        assertThat(failures.get()).isZero();
        int syncs = threads * (per / 3 + 1);
        assertThat(tb.model.commandsConsumed() - before).isEqualTo((long) threads * per + syncs);
        assertThat(tb.drv.smmu.cmdq.lock.get()).isZero();
        tb.model.close();
    }

    /** An illegal command stops the queue with CERROR_ILL; the GERROR handler turns it into a CMD_SYNC. */
    @Test
    void illegalCommandIsSkippedByTheGerrorHandler() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable f = Printk.follow(l -> log.add(l.text()))) {
            long[] bad = {0x7fL, 0};
            /* The sync behind the bad command completes once the handler has skipped it. */
            assertThat(tb.drv.armSmmuCmdqIssueCmdlist(tb.drv.smmu, bad, 1, true)).isZero();
            tb.board.irqs.quiesce();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        assertThat(log).anyMatch(l -> l.contains("unexpected global error reported (0x00000001)"));
        assertThat(log).anyMatch(l -> l.contains("CMDQ error (cons 0x01") && l.endsWith("Illegal command"));
        assertThat(log).anyMatch(l -> l.contains("skipping command in error state"));
        assertThat(tb.model.gerrorActive()).isZero();
        /* The queue works again. */
        ArmSmmuCmdqEnt cmd = new ArmSmmuCmdqEnt(CMDQ_OP_TLBI_NSNH_ALL);
        assertThat(tb.drv.armSmmuCmdqIssueCmdWithSync(tb.drv.smmu, cmd)).isZero();
        tb.model.close();
    }

    /** With an MSI domain, evtq and gerror interrupts arrive as MSIs (full caps, MSI polling for syncs). */
    @Test
    void msiInterruptsDeliverEvents() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.full());
        tb.drv.msiDomain = true;
        assertThat(tb.probe()).isZero();
        assertThat(tb.drv.smmu.options & ARM_SMMU_OPT_MSIPOLL).isNotZero();
        assertThat(tb.drv.smmu.evtq.irq).isNotEqualTo(tb.pdev.platformGetIrqBynameOptional("eventq"));
        var dev = tb.master("d", 0x60, 0);
        ArmSmmuDomain d = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(d, dev)).isZero();
        assertThat(tb.dma(0x60, org.iommu4j.base.hw.DmaTransaction.NO_SSID, 0x9000, org.iommu4j.base.hw.DmaTransaction.ACC_WRITE).status)
                .isEqualTo(org.iommu4j.base.hw.DmaResult.ABORT);
        tb.board.irqs.quiesce();
        assertThat(tb.drv.decodedEvents).contains("F_TRANSLATION sid 0x60 iova 0x9000 write stage 1");
        tb.model.close();
    }
}
