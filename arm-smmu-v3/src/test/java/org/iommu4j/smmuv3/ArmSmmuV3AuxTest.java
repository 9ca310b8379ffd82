package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.*;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Bits;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Seed 000: substreams, 2-level CD tables and auxiliary domains, end to end through the model. */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3AuxTest {
    private static final int RW = IommuH.IOMMU_READ | IommuH.IOMMU_WRITE;

    private static long page(SmmuTestBed tb, long pattern) {
        long pa = tb.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
        tb.board.mem.writeq(pa, pattern);
        return pa;
    }

    private static void map(SmmuTestBed tb, ArmSmmuDomain d, long iova, long pa) {
        assertThat(tb.drv.armSmmuMapPages(d, iova, pa, 4096, 1, RW, Gfp.GFP_KERNEL, new long[1])).isZero();
    }

    /** A platform master with pasid-num-bits 20, attached to a DMA domain, AUX enabled. */
    private static Device parent(SmmuTestBed tb, int sid) {
        Device dev = tb.master("dev" + sid, sid, 20);
        ArmSmmuDomain d = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(d, dev)).isZero();
        assertThat(tb.drv.armSmmuDevHasFeature(dev, IommuH.IOMMU_DEV_FEAT_AUX)).isTrue();
        assertThat(tb.drv.armSmmuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_AUX)).isZero();
        return dev;
    }

    @Test
    void twoLevelCdTableAtSsid1023And1024() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.full());
        assertThat(tb.probe()).isZero();
        int[] next = {1023, 1024};
        int[] i = {0};
        tb.drv.privateIoasid = new ArmSmmuV3.SsidAllocator() {
            @Override
            public int alloc(int min, int max) {
                return next[i[0]++];
            }

            @Override
            public void free(int id) {}
        };
        Device dev = parent(tb, 0x40);
        ArmSmmuMaster m = (ArmSmmuMaster) org.iommu4j.iommu.DevIommu.devIommuPrivGet(dev);
        ArmSmmuDomain p = m.domain;
        assertThat(p.s1Cfg.s1fmt).isEqualTo((int) STRTAB_STE_0_S1FMT_64K_L2);
        assertThat(p.s1Cfg.s1cdmax).isEqualTo(20);
        assertThat(Bits.FIELD_GET(STRTAB_STE_0_S1FMT, tb.ste(0x40, 0))).isEqualTo(STRTAB_STE_0_S1FMT_64K_L2);
        assertThat(Bits.FIELD_GET(STRTAB_STE_0_S1CDMAX, tb.ste(0x40, 0))).isEqualTo(20);

        long[] pas = new long[2];
        ArmSmmuDomain[] aux = new ArmSmmuDomain[2];
        for (int k = 0; k < 2; k++) {
            int before = tb.prod();
            aux[k] = tb.dmaDomain();
            assertThat(tb.drv.armSmmuAuxAttachDev(aux[k], dev)).isZero();
            assertThat(tb.drv.armSmmuAuxGetPasid(aux[k], dev)).isEqualTo(next[k]);
            /* SSID 1023 lives in the leaf that already holds CD 0; SSID 1024 needs a new leaf, whose
             * L1 descriptor is written then invalidated with CFGI_CD leaf=0. */
            List<long[]> cmds = tb.commands(before, tb.prod());
            int ssid = next[k];
            boolean newLeaf = k == 1;
            assertThat(cmds.stream().anyMatch(c -> (c[0] & 0xff) == CMDQ_OP_CFGI_CD && (c[1] & 1) == 0
                    && Bits.FIELD_GET(CMDQ_CFGI_0_SSID, c[0]) == ssid && Bits.FIELD_GET(CMDQ_CFGI_0_SID, c[0]) == 0x40)).isEqualTo(newLeaf);
            assertThat(cmds).anyMatch(c -> (c[0] & 0xff) == CMDQ_OP_CFGI_CD && (c[1] & 1) == 1
                    && Bits.FIELD_GET(CMDQ_CFGI_0_SSID, c[0]) == ssid);
            pas[k] = page(tb, 0xA0 + k);
            map(tb, aux[k], 0x5000, pas[k]);
        }
        long l1 = p.s1Cfg.cdcfg.cdtab;
        assertThat(tb.board.mem.readq(l1) & CTXDESC_L1_DESC_V).isEqualTo(1L);
        assertThat(tb.board.mem.readq(l1 + 8) & CTXDESC_L1_DESC_V).isEqualTo(1L);
        assertThat(tb.board.mem.readq(l1 + 16)).isZero();
        long cd1023 = p.s1Cfg.cdcfg.l1Desc[0].l2ptr + 1023 * 64L;
        long cd1024 = p.s1Cfg.cdcfg.l1Desc[1].l2ptr;
        assertThat(Bits.FIELD_GET(CTXDESC_CD_0_ASID, tb.board.mem.readq(cd1023))).isEqualTo(aux[0].s1Cfg.cd.asid);
        assertThat(Bits.FIELD_GET(CTXDESC_CD_0_ASID, tb.board.mem.readq(cd1024))).isEqualTo(aux[1].s1Cfg.cd.asid);

        for (int k = 0; k < 2; k++) {
            DmaResult r = tb.dma(0x40, next[k], 0x5000, DmaTransaction.ACC_READ);
            assertThat(r.status).isEqualTo(DmaResult.OK);
            assertThat(tb.board.mem.readq(r.pa)).isEqualTo(0xA0L + k);
        }
        tb.model.close();
    }

    @Test
    void auxAttachDetachOnManyPasidsIsolatesDomains() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.full());
        assertThat(tb.probe()).isZero();
        Device dev = parent(tb, 0x41);
        int n = 40;
        List<ArmSmmuDomain> doms = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            ArmSmmuDomain d = tb.dmaDomain();
            assertThat(tb.drv.armSmmuAuxAttachDev(d, dev)).isZero();
            /* Each domain maps its own IOVA page. */
            map(tb, d, 0x100000L + k * 0x1000L, page(tb, 0xD00 + k));
            doms.add(d);
        }
        for (int k = 0; k < n; k++) {
            int pasid = tb.drv.armSmmuAuxGetPasid(doms.get(k), dev);
            assertThat(pasid).isEqualTo(k + 1);
            DmaResult r = tb.dma(0x41, pasid, 0x100000L + k * 0x1000L, DmaTransaction.ACC_READ);
            assertThat(r.status).isEqualTo(DmaResult.OK);
            assertThat(tb.board.mem.readq(r.pa)).isEqualTo(0xD00L + k);
            /* PASID k cannot reach domain k+1's page. */
            DmaResult bad = tb.dma(0x41, pasid, 0x100000L + ((k + 1) % n) * 0x1000L, DmaTransaction.ACC_READ);
            assertThat(bad.status).isEqualTo(DmaResult.ABORT);
        }
        tb.board.irqs.quiesce();
        assertThat(tb.drv.decodedEvents).anyMatch(s -> s.startsWith("F_TRANSLATION sid 0x41 ssid 0x1 "));

        for (int k = 0; k < n; k++) {
            int pasid = tb.drv.armSmmuAuxGetPasid(doms.get(k), dev);
            tb.drv.armSmmuAuxDetachDev(doms.get(k), dev);
            assertThat(tb.dma(0x41, pasid, 0x100000L + k * 0x1000L, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.ABORT);
            tb.drv.armSmmuDomainFree(doms.get(k));
        }
        /* SSIDs and ASIDs were all given back. */
        assertThat(tb.drv.armSmmuAsidXa).hasSize(1);
        ArmSmmuDomain again = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAuxAttachDev(again, dev)).isZero();
        assertThat(tb.drv.armSmmuAuxGetPasid(again, dev)).isEqualTo(1);
        tb.model.close();
    }

    /**
     * The last aux detach clears the CD (CFGI_CD leaf + CMD_SYNC) and invalidates ATCs only; as
     * in the seed there is no TLBI for the domain's ASID, and its page stays unreachable.
     */
    @Test
    void lastAuxDetachClearsTheCdWithoutTlbi() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.full());
        assertThat(tb.probe()).isZero();
        Device dev = parent(tb, 0x42);
        ArmSmmuDomain aux = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAuxAttachDev(aux, dev)).isZero();
        int pasid = tb.drv.armSmmuAuxGetPasid(aux, dev);
        map(tb, aux, 0x7000, page(tb, 0x77));
        assertThat(tb.dma(0x42, pasid, 0x7000, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.OK);

        int before = tb.prod();
        tb.drv.armSmmuAuxDetachDev(aux, dev);
        List<long[]> cmds = tb.commands(before, tb.prod());
        assertThat(cmds).hasSize(2);
        assertThat(cmds.get(0)[0] & 0xff).isEqualTo(CMDQ_OP_CFGI_CD);
        assertThat(Bits.FIELD_GET(CMDQ_CFGI_0_SSID, cmds.get(0)[0])).isEqualTo(pasid);
        assertThat(cmds.get(0)[1] & CMDQ_CFGI_1_LEAF).isEqualTo(1L);
        assertThat(tb.board.mem.readq(tb.drv.armSmmuGetCdPtr(aux.parent, pasid))).isZero();
        assertThat(tb.dma(0x42, pasid, 0x7000, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.ABORT);
        tb.board.irqs.quiesce();
        tb.model.close();
    }

    /**
     * The seed's aux detach does nothing for a device whose AUX feature is off, and disabling AUX
     * does not look for attached aux domains: the aux CD stays and still translates until AUX is
     * enabled again and the domain detached.
     */
    @Test
    void auxDetachWithAuxDisabledLeavesTheCd() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.full());
        assertThat(tb.probe()).isZero();
        Device dev = parent(tb, 0x43);
        ArmSmmuDomain aux = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAuxAttachDev(aux, dev)).isZero();
        int pasid = tb.drv.armSmmuAuxGetPasid(aux, dev);
        map(tb, aux, 0x8000, page(tb, 0x88));
        assertThat(tb.drv.armSmmuDevDisableFeature(dev, IommuH.IOMMU_DEV_FEAT_AUX)).isZero();

        int before = tb.prod();
        tb.drv.armSmmuAuxDetachDev(aux, dev);
        assertThat(tb.prod()).isEqualTo(before);
        assertThat(aux.auxNrDevs).isEqualTo(1);
        assertThat(tb.dma(0x43, pasid, 0x8000, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.OK);

        assertThat(tb.drv.armSmmuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_AUX)).isZero();
        tb.drv.armSmmuAuxDetachDev(aux, dev);
        assertThat(aux.auxNrDevs).isZero();
        assertThat(tb.dma(0x43, pasid, 0x8000, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.ABORT);
        tb.board.irqs.quiesce();
        tb.model.close();
    }

    @Test
    void auxErrors() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.full());
        assertThat(tb.probe()).isZero();
        Device plain = tb.master("plain", 0x50, 0);
        assertThat(tb.drv.armSmmuDevHasFeature(plain, IommuH.IOMMU_DEV_FEAT_AUX)).isFalse();
        assertThat(tb.drv.armSmmuDevEnableFeature(plain, IommuH.IOMMU_DEV_FEAT_AUX)).isEqualTo(-ENODEV);
        assertThat(tb.drv.armSmmuDevDisableFeature(plain, IommuH.IOMMU_DEV_FEAT_AUX)).isEqualTo(-EINVAL);

        Device dev = tb.master("pasid", 0x51, 8);
        ArmSmmuDomain aux = tb.dmaDomain();
        /* AUX not enabled */
        assertThat(tb.drv.armSmmuAuxAttachDev(aux, dev)).isEqualTo(-EINVAL);
        assertThat(tb.drv.armSmmuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_AUX)).isZero();
        assertThat(tb.drv.armSmmuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_AUX)).isEqualTo(-EBUSY);
        /* no parent domain yet */
        assertThat(tb.drv.armSmmuAuxAttachDev(aux, dev)).isEqualTo(-EINVAL);
        ArmSmmuDomain primary = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(primary, dev)).isZero();
        /* a domain in normal use cannot become an aux domain, and the reverse */
        assertThat(tb.drv.armSmmuAuxAttachDev(primary, dev)).isEqualTo(-EINVAL);
        assertThat(tb.drv.armSmmuAuxAttachDev(aux, dev)).isZero();
        /* As in the seed, attach detaches the old domain before its checks: refused (the aux
         * domain has no SSIDs of its own), the master is left detached, its STE aborting. */
        ArmSmmuMaster m = (ArmSmmuMaster) org.iommu4j.iommu.DevIommu.devIommuPrivGet(dev);
        assertThat(tb.drv.armSmmuAttachDev(aux, dev)).isEqualTo(-EINVAL);
        assertThat(m.domain).isNull();
        assertThat(primary.devices).isEmpty();
        assertThat(tb.ste(0x51, 0)).isEqualTo(STRTAB_STE_0_V | org.iommu4j.base.Bits.FIELD_PREP(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_ABORT));
        assertThat(tb.drv.armSmmuAttachDev(primary, dev)).isZero();
        assertThat(tb.drv.armSmmuAuxGetPasid(tb.dmaDomain(), dev)).isEqualTo(-EINVAL);
        /* SSIDs exhausted: 8 bits -> 255 usable */
        tb.drv.privateIoasid = new ArmSmmuV3.SsidAllocator() {
            @Override
            public int alloc(int min, int max) {
                return -1;
            }

            @Override
            public void free(int id) {}
        };
        assertThat(tb.drv.armSmmuAuxAttachDev(tb.dmaDomain(), dev)).isEqualTo(-EINVAL);
        assertThat(tb.drv.armSmmuDevDisableFeature(dev, IommuH.IOMMU_DEV_FEAT_AUX)).isZero();
        tb.model.close();
    }

    /**
     * Seed 000 refuses, before taking an SSID, an aux attach of a domain whose stage is not
     * stage 1: one marked for nesting stays unattached and nesting, and no command is issued.
     */
    @Test
    void auxAttachRefusesANestingDomain() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.full());
        assertThat(tb.probe()).isZero();
        Device dev = parent(tb, 0x44);
        ArmSmmuDomain nested = tb.drv.armSmmuDomainAlloc(IommuH.IOMMU_DOMAIN_UNMANAGED);
        assertThat(tb.drv.armSmmuEnableNesting(nested)).isZero();
        int asids = tb.drv.armSmmuAsidXa.size();

        int before = tb.prod();
        assertThat(tb.drv.armSmmuAuxAttachDev(nested, dev)).isEqualTo(-EINVAL);
        assertThat(tb.prod()).isEqualTo(before);
        assertThat(nested.smmu).isNull();
        assertThat(nested.parent).isNull();
        assertThat(nested.stage).isEqualTo(ARM_SMMU_DOMAIN_NESTED);
        assertThat(nested.auxNrDevs).isZero();
        assertThat(tb.drv.armSmmuAsidXa).hasSize(asids);
        assertThat(tb.drv.armSmmuAuxGetPasid(nested, dev)).isEqualTo(-EINVAL);

        /* No SSID was consumed: the next aux domain gets the first one. */
        ArmSmmuDomain aux = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAuxAttachDev(aux, dev)).isZero();
        assertThat(tb.drv.armSmmuAuxGetPasid(aux, dev)).isEqualTo(1);
        tb.model.close();
    }
}
