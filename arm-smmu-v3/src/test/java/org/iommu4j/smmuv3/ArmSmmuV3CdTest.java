package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.List;
import org.iommu4j.base.Bits;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** arm_smmu_write_ctx_desc's five cases, stage 2 domains and the combined interrupt. */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3CdTest {
    private static final int RW = IommuH.IOMMU_READ | IommuH.IOMMU_WRITE;

    @Test
    void writeCtxDescCases() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.full());
        assertThat(tb.probe()).isZero();
        Device dev = tb.master("d", 0x70, 4);
        ArmSmmuDomain d = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(d, dev)).isZero();
        long pa = tb.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
        assertThat(tb.drv.armSmmuMapPages(d, 0x3000, pa, 4096, 1, RW, Gfp.GFP_KERNEL, new long[1])).isZero();

        /* (2) a secondary CD at SSID 5, sharing the page table. */
        ArmSmmuCtxDesc cd = new ArmSmmuCtxDesc();
        cd.asid = 77;
        cd.ttbr = d.s1Cfg.cd.ttbr;
        cd.tcr = d.s1Cfg.cd.tcr;
        cd.mair = d.s1Cfg.cd.mair;
        int before = tb.prod();
        assertThat(tb.drv.armSmmuWriteCtxDesc(d, 5, cd)).isZero();
        List<long[]> cmds = tb.commands(before, tb.prod());
        /* CFGI_CD(leaf) + SYNC before V=1, and again after. */
        assertThat(cmds).hasSize(4);
        assertThat(cmds.get(0)[0] & 0xff).isEqualTo(CMDQ_OP_CFGI_CD);
        assertThat(Bits.FIELD_GET(CMDQ_CFGI_0_SSID, cmds.get(0)[0])).isEqualTo(5);
        assertThat(tb.dma(0x70, 5, 0x3000, DmaTransaction.ACC_READ).pa).isEqualTo(pa);
        long cdptr = tb.drv.armSmmuGetCdPtr(d, 5);
        assertThat(Bits.FIELD_GET(CTXDESC_CD_0_ASID, tb.board.mem.readq(cdptr))).isEqualTo(77);

        /* (3) live ASID change: one dword0 write, ASID replaced, V kept. */
        cd.asid = 78;
        assertThat(tb.drv.armSmmuWriteCtxDesc(d, 5, cd)).isZero();
        long v = tb.board.mem.readq(cdptr);
        assertThat(Bits.FIELD_GET(CTXDESC_CD_0_ASID, v)).isEqualTo(78);
        assertThat(v & CTXDESC_CD_0_V).isNotZero();

        /* (4) quiesce: EPD0 set, still valid; walks stop. */
        tb.drv.armSmmuTlbInvAsid(tb.drv.smmu, 78);
        assertThat(tb.drv.armSmmuWriteCtxDesc(d, 5, tb.drv.quietCd)).isZero();
        v = tb.board.mem.readq(cdptr);
        assertThat(v & CTXDESC_CD_0_TCR_EPD0).isNotZero();
        assertThat(v & CTXDESC_CD_0_V).isNotZero();
        assertThat(tb.dma(0x70, 5, 0x3000, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.ABORT);

        /* (5) remove */
        assertThat(tb.drv.armSmmuWriteCtxDesc(d, 5, null)).isZero();
        assertThat(tb.board.mem.readq(cdptr)).isZero();
        assertThat(tb.dma(0x70, 5, 0x3000, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.ABORT);
        /* SSID 0 untouched */
        assertThat(tb.dma(0x70, DmaTransaction.NO_SSID, 0x3000, DmaTransaction.ACC_READ).pa).isEqualTo(pa);
        tb.board.irqs.quiesce();
        tb.model.close();
    }

    /**
     * The domain's devices list is the kernel's list_add order, newest master first: a CD sync
     * names the StreamIDs of masters attached 0x10, 0x11, 0x12 as 0x12, 0x11, 0x10, and a
     * detached master leaves the others in place.
     */
    @Test
    void cdSyncNamesTheNewestMasterFirst() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.full());
        assertThat(tb.probe()).isZero();
        ArmSmmuDomain d = tb.dmaDomain();
        Device[] devs = new Device[3];
        for (int i = 0; i < 3; i++) {
            devs[i] = tb.master("m" + i, 0x10 + i, 0);
            assertThat(tb.drv.armSmmuAttachDev(d, devs[i])).isZero();
        }
        int before = tb.prod();
        assertThat(tb.drv.armSmmuWriteCtxDesc(d, 0, d.s1Cfg.cd)).isZero(); /* (3): one sync */
        List<long[]> cmds = tb.commands(before, tb.prod());
        assertThat(cmds).hasSize(4);
        assertThat(cmds.stream().map(c -> Bits.FIELD_GET(CMDQ_CFGI_0_SID, c[0])).toList().subList(0, 3))
                .containsExactly(0x12L, 0x11L, 0x10L);
        assertThat(cmds.subList(0, 3)).allMatch(c -> (c[0] & 0xff) == CMDQ_OP_CFGI_CD && (c[1] & CMDQ_CFGI_1_LEAF) != 0);
        /* (the fourth slot is the CMD_SYNC, whose first word the MSI-polling completion zeroed) */

        ArmSmmuDomain other = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(other, devs[1])).isZero();
        before = tb.prod();
        assertThat(tb.drv.armSmmuWriteCtxDesc(d, 0, d.s1Cfg.cd)).isZero();
        cmds = tb.commands(before, tb.prod());
        assertThat(cmds.stream().map(c -> Bits.FIELD_GET(CMDQ_CFGI_0_SID, c[0])).toList().subList(0, 2))
                .containsExactly(0x12L, 0x10L);
        tb.model.close();
    }

    @Test
    void stage2OnlySmmuUsesVmidAndS2Ste() {
        var b = SmmuCaps.full().toBuilder();
        b.s1p = false;
        b.hyp = false; /* IDR0.HYP needs both stages */
        SmmuTestBed tb = new SmmuTestBed(b.build());
        java.util.List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
        AutoCloseable follow = org.iommu4j.base.Printk.follow(l -> log.add(l.text()));
        assertThat(tb.probe()).isZero();
        assertThat(tb.drv.smmu.features & ARM_SMMU_FEAT_TRANS_S1).isZero();
        Device dev = tb.master("d", 0x71, 0);
        ArmSmmuDomain d = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(d, dev)).isZero();
        assertThat(d.stage).isEqualTo(ARM_SMMU_DOMAIN_S2);
        assertThat(d.s2Cfg.vmid).isEqualTo(1);
        assertThat(Bits.FIELD_GET(STRTAB_STE_0_CFG, tb.ste(0x71, 0))).isEqualTo(STRTAB_STE_0_CFG_S2_TRANS);
        assertThat(Bits.FIELD_GET(STRTAB_STE_2_S2VMID, tb.ste(0x71, 2))).isEqualTo(1);
        long pa = tb.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
        assertThat(tb.drv.armSmmuMapPages(d, 0x8000, pa, 4096, 1, RW, Gfp.GFP_KERNEL, new long[1])).isZero();
        assertThat(tb.dma(0x71, DmaTransaction.NO_SSID, 0x8000, DmaTransaction.ACC_WRITE).pa).isEqualTo(pa);
        int before = tb.prod();
        tb.drv.armSmmuFlushIotlbAll(d);
        assertThat(tb.commands(before, before + 1).get(0)[0] & 0xff).isEqualTo(CMDQ_OP_TLBI_S12_VMALL);
        tb.drv.armSmmuReleaseDevice(dev);
        tb.drv.armSmmuDomainFree(d);
        assertThat(tb.drv.smmu.vmidMap.get(1)).isFalse();
        assertThat(log).noneMatch(l -> l.contains("timeout") || l.contains("CMDQ error"));
        try {
            follow.close();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        tb.model.close();
    }

    @Test
    void combinedInterruptHandlesEventsAndErrors() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        /* One "combined" line instead of the named ones. */
        org.iommu4j.base.device.PlatformDevice p = new org.iommu4j.base.device.PlatformDevice("9050000.smmuv3");
        int virq = tb.board.irqs.irqCreateMapping(32 + 0x50);
        tb.model.wireIrqs(virq, virq, virq, virq);
        p.addResource(new Resource("smmu", SmmuTestBed.SMMU_BASE, SmmuTestBed.SMMU_BASE + 0x1ffff, Resource.IORESOURCE_MEM));
        p.addResource(new Resource("combined", virq, virq, Resource.IORESOURCE_IRQ));
        assertThat(tb.probe(p, 1, "dma-coherent")).isZero();
        assertThat(tb.drv.smmu.combinedIrq).isEqualTo(virq);
        Device dev = tb.master("d", 0x72, 0);
        ArmSmmuDomain d = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(d, dev)).isZero();
        assertThat(tb.dma(0x72, DmaTransaction.NO_SSID, 0x1000, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.ABORT);
        tb.board.irqs.quiesce();
        assertThat(tb.drv.decodedEvents).contains("F_TRANSLATION sid 0x72 iova 0x1000 read stage 1");
        /* bad #iommu-cells only logs (the kernel then prefers bypass; disable_bypass still enables). */
        tb.model.close();
    }
}
