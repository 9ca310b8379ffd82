package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.*;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.iommu.IommuIotlbGather;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Domains, attach, map/unmap and invalidation, checked by DMAs through the model. */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3DomainTest {
    private static final int RW = IommuH.IOMMU_READ | IommuH.IOMMU_WRITE;

    private static long page(SmmuTestBed tb, long pattern) {
        long pa = tb.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
        assertThat(pa).isNotZero();
        tb.board.mem.writeq(pa, pattern);
        return pa;
    }

    private static int map(SmmuTestBed tb, ArmSmmuDomain d, long iova, long pa) {
        long[] mapped = new long[1];
        return tb.drv.armSmmuMapPages(d, iova, pa, 4096, 1, RW, Gfp.GFP_KERNEL, mapped);
    }

    private static long unmap(SmmuTestBed tb, ArmSmmuDomain d, long iova) {
        IommuIotlbGather g = new IommuIotlbGather();
        long n = tb.drv.armSmmuUnmapPages(d, iova, 4096, 1, g);
        tb.drv.armSmmuIotlbSync(d, g);
        return n;
    }

    @Test
    void mapDmaUnmapThenDmaFaultsAndTheEventIsDecoded() {
        for (SmmuCaps caps : new SmmuCaps[] {SmmuCaps.qemu(), SmmuCaps.full()}) {
            SmmuTestBed tb = new SmmuTestBed(caps);
            assertThat(tb.probe()).isZero();
            Device dev = tb.master("dev0", 0x20, 0);
            ArmSmmuDomain d = tb.dmaDomain();
            assertThat(tb.drv.armSmmuAttachDev(d, dev)).isZero();

            long pa = page(tb, 0x1122334455667788L);
            assertThat(map(tb, d, 0x10000, pa)).isZero();
            assertThat(tb.drv.armSmmuIovaToPhys(d, 0x10008)).isEqualTo(pa + 8);

            DmaResult r = tb.dma(0x20, DmaTransaction.NO_SSID, 0x10000, DmaTransaction.ACC_READ);
            assertThat(r.status).isEqualTo(DmaResult.OK);
            assertThat(r.pa).isEqualTo(pa);
            assertThat(tb.board.mem.readq(r.pa)).isEqualTo(0x1122334455667788L);

            int before = tb.prod();
            assertThat(unmap(tb, d, 0x10000)).isEqualTo(4096);
            /* One TLBI_NH_VA for the page, then its CMD_SYNC. */
            List<long[]> cmds = tb.commands(before, tb.prod());
            assertThat(cmds).hasSize(2);
            assertThat(cmds.get(0)[0] & 0xff).isEqualTo(CMDQ_OP_TLBI_NH_VA);
            assertThat(org.iommu4j.base.Bits.FIELD_GET(CMDQ_TLBI_0_ASID, cmds.get(0)[0])).isEqualTo(d.s1Cfg.cd.asid);
            assertThat(cmds.get(0)[1] & CMDQ_TLBI_1_VA_MASK).isEqualTo(0x10000L);
            if ((tb.drv.smmu.options & ARM_SMMU_OPT_MSIPOLL) != 0) {
                /* Completed by its MSI write of 0 over the CMD_SYNC itself. */
                assertThat(cmds.get(1)[0] & 0xffffffffL).isZero();
            } else {
                assertThat(cmds.get(1)[0] & 0xff).isEqualTo(CMDQ_OP_CMD_SYNC);
            }

            /* No stale TLB entry: the same DMA now faults, and the driver decodes the event. */
            r = tb.dma(0x20, DmaTransaction.NO_SSID, 0x10000, DmaTransaction.ACC_READ);
            assertThat(r.status).isEqualTo(DmaResult.ABORT);
            tb.board.irqs.quiesce();
            assertThat(tb.drv.decodedEvents).anyMatch(s -> s.startsWith("F_TRANSLATION sid 0x20") && s.contains("iova 0x10000"));
            tb.model.close();
        }
    }

    @Test
    void rangeInvalidationUsesScaleAndNum() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        Device dev = tb.master("dev0", 0x20, 0);
        ArmSmmuDomain d = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(d, dev)).isZero();
        int before = tb.prod();
        /* 33 pages = 0b100001: one command for 32 pages (SCALE 5, NUM 0), one for 1 page. */
        tb.drv.armSmmuTlbInvRangeDomain(0x100000, 33 * 4096L, 4096, true, d, d.pgsizeBitmap);
        List<long[]> cmds = tb.commands(before, tb.prod());
        assertThat(cmds).hasSize(3);
        assertThat(org.iommu4j.base.Bits.FIELD_GET(CMDQ_TLBI_0_SCALE, cmds.get(0)[0])).isEqualTo(0);
        assertThat(org.iommu4j.base.Bits.FIELD_GET(CMDQ_TLBI_0_NUM, cmds.get(0)[0])).isEqualTo(0);
        assertThat(org.iommu4j.base.Bits.FIELD_GET(CMDQ_TLBI_0_SCALE, cmds.get(1)[0])).isEqualTo(5);
        assertThat(cmds.get(1)[1] & CMDQ_TLBI_1_VA_MASK).isEqualTo(0x101000L);
        assertThat(org.iommu4j.base.Bits.FIELD_GET(CMDQ_TLBI_1_TG, cmds.get(0)[1])).isEqualTo(1);
        assertThat(org.iommu4j.base.Bits.FIELD_GET(CMDQ_TLBI_1_TTL, cmds.get(0)[1])).isEqualTo(3);
    }

    @Test
    void attachErrors() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.full());
        assertThat(tb.probe()).isZero();
        Device a = tb.master("a", 0x20, 0);
        Device b = tb.master("b", 0x21, 4);
        ArmSmmuDomain d = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(d, a)).isZero();
        /* b has 4 SSID bits, the domain's CD table 0. */
        assertThat(tb.drv.armSmmuAttachDev(d, b)).isEqualTo(-EINVAL);
        /* no fwspec */
        assertThat(tb.drv.armSmmuAttachDev(tb.dmaDomain(), new Device("nofw"))).isEqualTo(-ENOENT);
        /* a domain finalised on another SMMU */
        SmmuTestBed other = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(other.probe()).isZero();
        Device c = other.master("c", 0x8, 0);
        assertThat(other.drv.armSmmuAttachDev(d, c)).isEqualTo(-ENXIO);
        /* unsupported domain type */
        assertThat(tb.drv.armSmmuDomainAlloc(IommuH.IOMMU_DOMAIN_BLOCKED)).isNull();
        /* SID beyond the stream table, and a duplicate SID */
        ArmSmmuMaster m = new ArmSmmuMaster();
        m.smmu = tb.drv.smmu;
        m.dev = new Device("x");
        assertThat(tb.drv.armSmmuInsertMaster(tb.drv.smmu, m, new int[] {1 << 16})).isEqualTo(-ERANGE);
        assertThat(tb.drv.armSmmuInsertMaster(tb.drv.smmu, m, new int[] {0x20})).isEqualTo(-EINVAL);
        assertThat(Warn.drain()).isEmpty();
        /* CD beyond the table (a WARN in the kernel). */
        assertThat(tb.drv.armSmmuWriteCtxDesc(d, 1, d.s1Cfg.cd)).isEqualTo(-E2BIG);
        assertThat(Warn.drain()).hasSize(1);
        tb.model.close();
        other.model.close();
    }

    /** v5.15's capable(cap): coherency and no-exec whatever the firmware says about the SMMU. */
    @Test
    void capableReportsCoherencyAndNoexecAsV515Does() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe(1)).isZero(); /* no dma-coherent property */
        assertThat(tb.drv.smmu.features & ARM_SMMU_FEAT_COHERENCY).isZero();
        assertThat(tb.drv.armSmmuOps.hasCapable()).isTrue();
        assertThat(tb.drv.armSmmuOps.capable(IommuH.IOMMU_CAP_CACHE_COHERENCY)).isTrue();
        assertThat(tb.drv.armSmmuOps.capable(IommuH.IOMMU_CAP_NOEXEC)).isTrue();
        assertThat(tb.drv.armSmmuOps.capable(IommuH.IOMMU_CAP_INTR_REMAP)).isFalse();
        tb.model.close();
    }

    @Test
    void identityDomainBypassesAndDetachAborts() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        Device dev = tb.master("dev0", 0x30, 0);
        /* Before any attach the STE aborts (disable_bypass). */
        assertThat(tb.dma(0x30, DmaTransaction.NO_SSID, 0x4000_0000L, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.ABORT);
        ArmSmmuDomain id = tb.drv.armSmmuDomainAlloc(IommuH.IOMMU_DOMAIN_IDENTITY);
        assertThat(tb.drv.armSmmuAttachDev(id, dev)).isZero();
        assertThat(org.iommu4j.base.Bits.FIELD_GET(STRTAB_STE_0_CFG, tb.ste(0x30, 0))).isEqualTo(STRTAB_STE_0_CFG_BYPASS);
        DmaResult r = tb.dma(0x30, DmaTransaction.NO_SSID, 0x4000_1000L, DmaTransaction.ACC_READ);
        assertThat(r.status).isEqualTo(DmaResult.OK);
        assertThat(r.pa).isEqualTo(0x4000_1000L);
        tb.drv.armSmmuReleaseDevice(dev);
        assertThat(org.iommu4j.base.Bits.FIELD_GET(STRTAB_STE_0_CFG, tb.ste(0x30, 0))).isEqualTo(STRTAB_STE_0_CFG_ABORT);
        assertThat(tb.dma(0x30, DmaTransaction.NO_SSID, 0x4000_1000L, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.ABORT);
        /* v5.15's release frees the master and the fwspec: the StreamID is free for another device. */
        assertThat(org.iommu4j.iommu.DevIommu.devIommuPrivGet(dev)).isNull();
        assertThat(org.iommu4j.iommu.DevIommu.devIommuFwspecGet(dev)).isNull();
        assertThat(tb.drv.armSmmuFindMaster(tb.drv.smmu, 0x30)).isNull();
        tb.master("dev1", 0x30, 0);
        assertThat(tb.drv.armSmmuFindMaster(tb.drv.smmu, 0x30)).isNotNull();
    }

    @Test
    void linearStreamTableWhenFewSidBits() {
        SmmuCaps caps = SmmuCaps.qemu().toBuilder().build();
        var b = SmmuCaps.qemu().toBuilder();
        b.sidSize = 6;
        SmmuTestBed tb = new SmmuTestBed(b.build());
        assertThat(tb.probe()).isZero();
        assertThat(tb.drv.smmu.features & ARM_SMMU_FEAT_2_LVL_STRTAB).isZero();
        assertThat(tb.drv.smmu.strtabCfg.strtabBaseCfg).isEqualTo(6);
        for (int sid = 0; sid < 64; sid++) {
            assertThat(tb.ste(sid, 0)).isEqualTo(1L);
        }
        Device dev = tb.master("dev0", 63, 0);
        ArmSmmuDomain d = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(d, dev)).isZero();
        long pa = page(tb, 42);
        assertThat(map(tb, d, 0x2000, pa)).isZero();
        assertThat(tb.dma(63, DmaTransaction.NO_SSID, 0x2000, DmaTransaction.ACC_WRITE).pa).isEqualTo(pa);
        assertThat(caps).isNotNull();
    }

    @Test
    void probeRejectsBadHardwareAndFirmware() {
        var b = SmmuCaps.qemu().toBuilder();
        b.cmdqs = 6; /* 64 entries: not more than one batch */
        SmmuTestBed tb = new SmmuTestBed(b.build());
        assertThat(tb.probe()).isEqualTo(-ENXIO);

        SmmuTestBed small = new SmmuTestBed(SmmuCaps.qemu());
        org.iommu4j.base.device.PlatformDevice p = new org.iommu4j.base.device.PlatformDevice("tiny");
        p.addResource(new org.iommu4j.base.device.Resource("r", SmmuTestBed.SMMU_BASE, SmmuTestBed.SMMU_BASE + 0xffff,
                org.iommu4j.base.device.Resource.IORESOURCE_MEM));
        assertThat(small.probe(p, 1)).isEqualTo(-EINVAL);
        assertThat(small.probe(new org.iommu4j.base.device.PlatformDevice("nomem"), 1)).isEqualTo(-EINVAL);
    }

    @Test
    void allocationFailuresReturnEnomem() {
        List<Integer> rets = new ArrayList<>();
        for (int n = 1; n <= 3; n++) {
            SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
            org.iommu4j.base.FaultInject.failNth(n);
            int ret = tb.probe();
            boolean fired = org.iommu4j.base.FaultInject.fired();
            org.iommu4j.base.FaultInject.failNth(0);
            if (fired) {
                rets.add(ret);
            }
        }
        /* Queues shrink until they fit (so a failed cmdq allocation is retried smaller); the stream
         * table has no fallback. */
        assertThat(rets).contains(-ENOMEM);
    }
}
