package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Bits.FIELD_GET;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.EPERM;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.ioasid.Ioasid;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.hw.PciEndpointCaps;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.pci.hw.PciHostBridgeModel;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * v5.15's nesting: {@code iommu_enable_nesting} on an UNMANAGED domain not yet attached makes the
 * SMMUv3 driver build it as a stage-2 domain (VMID, VTCR, ARM_64_LPAE_S2 tables, an S2_TRANS
 * STE, TLBI by VMID and IPA). PCI functions behind a host bridge model are attached with
 * {@code iommu_attach_device}; their DMA goes through the SMMU model's stage-2 walk. On an SMMU
 * with stage 1 only (QEMU's default) finalise falls back to stage 1, as v5.15 does.
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3NestingTest {
    private static final int RW = IommuH.IOMMU_READ | IommuH.IOMMU_WRITE;
    private static final long ECAM = 0x40_1000_0000L;
    private static final long SZ_2M = 2L << 20;

    SmmuTestBed tb;
    Iommu iommu;
    final Pci pci = new Pci();
    final PciHostBridgeModel hb = new PciHostBridgeModel("pcie", 0, 0);
    final List<PciDev> fns = new ArrayList<>();
    final List<PciEndpointModel> eps = new ArrayList<>();

    /** The SMMU with {@code caps}, its core, and {@code n} PCI functions 00:01.0, 00:02.0, … (StreamID = RID). */
    void boot(SmmuCaps caps, int n) {
        tb = new SmmuTestBed(caps);
        iommu = new Iommu(tb.pages, new Ioasid(), "");
        tb.drv.iommuCore = iommu;
        tb.drv.pciBusType = pci.pciBusType;
        tb.drv.deviceGroupFn = iommu::pciDeviceGroup;
        assertThat(tb.probe()).isZero();
        for (int i = 1; i <= n; i++) {
            eps.add(hb.add(i, "ep" + i, PciEndpointCaps.builder().build()));
        }
        hb.mapEcam(tb.board.mmio, ECAM);
        pci.pciHostCommonProbe(tb.board.mmio, ECAM, 0, 0);
        for (int i = 1; i <= n; i++) {
            PciDev pdev = pci.pciGetDomainBusAndSlot(0, 0, Pci.PCI_DEVFN(i, 0));
            assertThat(pdev).isNotNull();
            int rid = Pci.PCI_DEVFN(i, 0);
            /* What of_iommu does with the identity iommu-map of QEMU's virt machine. */
            assertThat(Iommu.iommuFwspecInit(pdev, tb.pdev, tb.drv.armSmmuOps)).isZero();
            assertThat(Iommu.iommuFwspecAddIds(pdev, new int[] {rid}, 1)).isZero();
            assertThat(iommu.iommuProbeDevice(pdev)).isZero();
            eps.get(i - 1).plug(tb.board, tb.model, rid);
            /* What the function's driver does at probe: Bus Master Enable. */
            Pci.pciSetMaster(pdev);
            fns.add(pdev);
        }
    }

    @AfterEach
    void tearDown() {
        if (tb != null) {
            tb.drv.armSmmuDeviceRemove();
            tb.model.close();
        }
    }

    int sid(int i) {
        return Pci.PCI_DEVFN(i + 1, 0);
    }

    /** An UNMANAGED domain with nesting enabled, attached to function {@code i}. */
    ArmSmmuDomain nested(int i) {
        IommuDomain dom = iommu.iommuDomainAlloc(pci.pciBusType);
        assertThat(Iommu.iommuEnableNesting(dom)).isZero();
        assertThat(iommu.iommuAttachDevice(dom, fns.get(i))).isZero();
        return (ArmSmmuDomain) dom;
    }

    long page(long pattern) {
        long pa = tb.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
        assertThat(pa).isNotZero();
        tb.board.mem.writeq(pa, pattern);
        return pa;
    }

    /** What function {@code i} reads at {@code iova} by DMA, or the DMA's -errno as a failure. */
    long dmaRead(int i, long iova) {
        byte[] buf = new byte[8];
        int ret = eps.get(i).dmaRead(iova, buf);
        assertThat(ret).as("DMA read at 0x%x", iova).isZero();
        return java.nio.ByteBuffer.wrap(buf).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    }

    int dmaStatus(int i, long iova) {
        return eps.get(i).dmaRead(iova, new byte[8]);
    }

    boolean vmidInUse(int vmid) {
        synchronized (tb.drv.smmu.vmidMap) {
            return tb.drv.smmu.vmidMap.get(vmid);
        }
    }

    @Test
    void enableNestingReturnCodes() {
        boot(SmmuCaps.full(), 1);
        /* The core refuses anything but UNMANAGED, before the driver sees it. */
        IommuDomain dma = iommu.iommuDomainAllocType(pci.pciBusType, IommuH.IOMMU_DOMAIN_DMA);
        assertThat(Iommu.iommuEnableNesting(dma)).isEqualTo(-EINVAL);
        assertThat(((ArmSmmuDomain) dma).stage).isEqualTo(ARM_SMMU_DOMAIN_S1);
        iommu.iommuDomainFree(dma);
        /* The default domain the function is attached to is a DMA domain: -EINVAL too. */
        assertThat(Iommu.iommuEnableNesting(Iommu.iommuGetDomainForDev(fns.get(0)))).isEqualTo(-EINVAL);

        IommuDomain dom = iommu.iommuDomainAlloc(pci.pciBusType);
        assertThat(tb.drv.armSmmuOps.hasEnableNesting()).isTrue();
        assertThat(Iommu.iommuEnableNesting(dom)).isZero();
        assertThat(((ArmSmmuDomain) dom).stage).isEqualTo(ARM_SMMU_DOMAIN_NESTED);
        /* Asking twice before attach is harmless. */
        assertThat(Iommu.iommuEnableNesting(dom)).isZero();
        assertThat(iommu.iommuAttachDevice(dom, fns.get(0))).isZero();
        /* Attached: the domain has an SMMU and its stage is fixed. */
        assertThat(Iommu.iommuEnableNesting(dom)).isEqualTo(-EPERM);
        assertThat(tb.drv.armSmmuEnableNesting(dom)).isEqualTo(-EPERM);
        assertThat(((ArmSmmuDomain) dom).stage).isEqualTo(ARM_SMMU_DOMAIN_NESTED);
        iommu.iommuDetachDevice(dom, fns.get(0));
        /* Detached, still finalised: still -EPERM (v5.15 tests the smmu pointer, not the masters). */
        assertThat(Iommu.iommuEnableNesting(dom)).isEqualTo(-EPERM);
        iommu.iommuDomainFree(dom);

        /* A plain UNMANAGED domain, never asked, is stage 1 on this SMMU. */
        IommuDomain plain = iommu.iommuDomainAlloc(pci.pciBusType);
        assertThat(iommu.iommuAttachDevice(plain, fns.get(0))).isZero();
        assertThat(((ArmSmmuDomain) plain).stage).isEqualTo(ARM_SMMU_DOMAIN_S1);
        assertThat(Iommu.iommuEnableNesting(plain)).isEqualTo(-EPERM);
        iommu.iommuDetachDevice(plain, fns.get(0));
        iommu.iommuDomainFree(plain);
    }

    /**
     * The STE of a function in a nested domain, read from the stream table in simulated memory:
     * v5.15 programs it as stage 2 (S1 bypassed), with the VMID and the VTCR fields io-pgtable's
     * ARM_64_LPAE_S2 configuration gives.
     */
    @Test
    void steOfANestedDomainIsStage2() {
        boot(SmmuCaps.full(), 1);
        ArmSmmuDomain d = nested(0);
        assertThat(d.stage).isEqualTo(ARM_SMMU_DOMAIN_NESTED);
        assertThat(d.pgtblOps).isNotNull();
        int ias = tb.drv.smmu.ias;
        assertThat(ias).isEqualTo(48);
        assertThat(tb.drv.smmu.oas).isEqualTo(48);

        long ste0 = tb.ste(sid(0), 0);
        long ste1 = tb.ste(sid(0), 1);
        long ste2 = tb.ste(sid(0), 2);
        long ste3 = tb.ste(sid(0), 3);
        assertThat(ste0 & STRTAB_STE_0_V).isNotZero();
        assertThat(FIELD_GET(STRTAB_STE_0_CFG, ste0)).isEqualTo(STRTAB_STE_0_CFG_S2_TRANS).isEqualTo(0b110L);
        /* No CD table: S1ContextPtr, S1CDMax and S1Fmt stay zero. */
        assertThat(ste0 & STRTAB_STE_0_S1CTXPTR_MASK).isZero();
        /* dword 1 kept from the bypass STE it replaced: SHCFG incoming, no EATS (no ATS). */
        assertThat(FIELD_GET(STRTAB_STE_1_SHCFG, ste1)).isEqualTo(STRTAB_STE_1_SHCFG_INCOMING);
        assertThat(FIELD_GET(STRTAB_STE_1_EATS, ste1)).isZero();

        /* VMID: the first one the bitmap hands out (0 is reserved, the default domain is stage 1). */
        assertThat(d.s2Cfg.vmid).isEqualTo(1);
        assertThat(FIELD_GET(STRTAB_STE_2_S2VMID, ste2)).isEqualTo(1);
        assertThat(vmidInUse(1)).isTrue();
        long vtcr = FIELD_GET(STRTAB_STE_2_VTCR, ste2);
        assertThat(FIELD_GET(STRTAB_STE_2_VTCR_S2T0SZ, vtcr)).as("S2T0SZ = 64 - IAS").isEqualTo(64 - ias);
        /* 48-bit IPA, 4K granule: four levels from level 0 (no concatenation), SL0 = 0b10. */
        assertThat(FIELD_GET(STRTAB_STE_2_VTCR_S2SL0, vtcr)).isEqualTo(2);
        assertThat(FIELD_GET(STRTAB_STE_2_VTCR_S2IR0, vtcr)).as("WBWA").isEqualTo(1);
        assertThat(FIELD_GET(STRTAB_STE_2_VTCR_S2OR0, vtcr)).as("WBWA").isEqualTo(1);
        assertThat(FIELD_GET(STRTAB_STE_2_VTCR_S2SH0, vtcr)).as("inner shareable").isEqualTo(ARM_SMMU_SH_ISH);
        assertThat(FIELD_GET(STRTAB_STE_2_VTCR_S2TG, vtcr)).as("4K").isZero();
        assertThat(FIELD_GET(STRTAB_STE_2_VTCR_S2PS, vtcr)).as("48-bit PA").isEqualTo(5);
        assertThat(ste2 & STRTAB_STE_2_S2AA64).isNotZero();
        assertThat(ste2 & STRTAB_STE_2_S2R).as("stage-2 faults recorded").isNotZero();
        /* v5.15 sets S2PTW with every stage-2 config (it only matters once stage 1 is nested). */
        assertThat(ste2 & STRTAB_STE_2_S2PTW).isNotZero();
        assertThat(ste2 & STRTAB_STE_2_S2ENDI).as("little-endian walks").isZero();
        assertThat(ste3 & ~STRTAB_STE_3_S2TTB_MASK).isZero();
        assertThat(ste3 & STRTAB_STE_3_S2TTB_MASK).isEqualTo(d.s2Cfg.vttbr).isNotZero();
        assertThat(ste3 & 0xfff).as("the root table is page-aligned").isZero();
    }

    /** DMA by the PCI function reads and writes the PAs the stage-2 tables map, and nothing else. */
    @Test
    void dmaIsTranslatedByTheStage2Walk() {
        boot(SmmuCaps.full(), 1);
        ArmSmmuDomain d = nested(0);
        long ipa = 0x8000_0000L;
        long pa = page(0x5eed_0f_5a9eL);
        assertThat(Iommu.iommuMap(d, ipa, pa, 4096, RW)).isZero();
        assertThat(Iommu.iommuIovaToPhys(d, ipa + 0x10)).isEqualTo(pa + 0x10);

        long tlbMisses = tb.model.tlb().misses();
        assertThat(dmaRead(0, ipa)).isEqualTo(0x5eed_0f_5a9eL);
        assertThat(tb.model.tlb().misses()).as("filled by a walk").isGreaterThan(tlbMisses);
        /* A write lands in the mapped PA. */
        assertThat(eps.get(0).dmaWrite(ipa + 8, new byte[] {1, 2, 3, 4, 5, 6, 7, 8})).isZero();
        assertThat(tb.board.mem.readq(pa + 8)).isEqualTo(0x0807060504030201L);
        /* The IPA is not a PA: the same address unmapped in the domain faults, at stage 2. */
        assertThat(dmaStatus(0, ipa + 4096)).isNegative();
        tb.board.irqs.quiesce();
        assertThat(tb.drv.decodedEvents).anyMatch(s -> s.startsWith("F_TRANSLATION sid 0x" + Integer.toHexString(sid(0)))
                && s.contains("stage 2"));
    }

    /**
     * Unmapping a page: one TLBI_S2_IPA for the domain's VMID, leaf, with the range fields of a
     * single 4K page (RIL), then CMD_SYNC; the next DMA to the IPA faults.
     */
    @Test
    void unmapIssuesTlbiS2IpaAndTheIpaThenFaults() {
        boot(SmmuCaps.full(), 1);
        assertThat(tb.drv.smmu.features & ARM_SMMU_FEAT_RANGE_INV).isNotZero();
        ArmSmmuDomain d = nested(0);
        long ipa = 0x1234_5000L;
        assertThat(Iommu.iommuMap(d, ipa, page(0xabcdL), 4096, RW)).isZero();
        assertThat(dmaRead(0, ipa)).isEqualTo(0xabcdL);
        assertThat(tb.model.walkCache().size()).as("table descriptors cached").isPositive();

        int before = tb.prod();
        assertThat(Iommu.iommuUnmap(d, ipa, 4096)).isEqualTo(4096);
        List<long[]> cmds = tb.commands(before, tb.prod());
        assertThat(cmds).hasSize(2);
        long[] tlbi = cmds.get(0);
        assertThat(tlbi[0] & 0xff).isEqualTo(CMDQ_OP_TLBI_S2_IPA);
        assertThat(FIELD_GET(CMDQ_TLBI_0_VMID, tlbi[0])).isEqualTo(d.s2Cfg.vmid);
        assertThat(FIELD_GET(CMDQ_TLBI_0_ASID, tlbi[0])).as("no ASID in an IPA invalidation").isZero();
        assertThat(tlbi[1] & CMDQ_TLBI_1_IPA_MASK).isEqualTo(ipa);
        assertThat(tlbi[1] & CMDQ_TLBI_1_LEAF).isNotZero();
        assertThat(FIELD_GET(CMDQ_TLBI_1_TG, tlbi[1])).as("4K").isEqualTo(1);
        assertThat(FIELD_GET(CMDQ_TLBI_1_TTL, tlbi[1])).as("a level-3 leaf").isEqualTo(3);
        assertThat(FIELD_GET(CMDQ_TLBI_0_NUM, tlbi[0])).isZero();
        assertThat(FIELD_GET(CMDQ_TLBI_0_SCALE, tlbi[0])).isZero();
        if ((tb.drv.smmu.options & ARM_SMMU_OPT_MSIPOLL) != 0) {
            /* CMD_SYNC completed by its MSI write of 0 over the command itself. */
            assertThat(cmds.get(1)[0] & 0xffffffffL).isZero();
        } else {
            assertThat(cmds.get(1)[0] & 0xff).isEqualTo(CMDQ_OP_CMD_SYNC);
        }
        assertThat(dmaStatus(0, ipa)).as("no stale TLB entry").isNegative();
    }

    /**
     * A 2 MiB region of 4K pages read by DMA, then unmapped whole: io-pgtable frees the level-3
     * table and flushes the walk (TLBI_S2_IPA, Leaf = 0, 512 pages); a 2 MiB block mapped in its
     * place is what the next DMA reads, not the freed table's page (no stale walk-cache entry).
     */
    @Test
    void blockMappedWhereAFreedStage2TableWasIsWhatDmaReads() {
        boot(SmmuCaps.full(), 1);
        ArmSmmuDomain d = nested(0);
        long ipa = 0x4020_0000L;
        assertThat(Iommu.iommuMap(d, ipa + 0x3000, page(0x2222), 4096, RW)).isZero();
        assertThat(dmaRead(0, ipa + 0x3000)).isEqualTo(0x2222);
        assertThat(tb.model.walkCache().size()).isPositive();

        int before = tb.prod();
        assertThat(Iommu.iommuUnmap(d, ipa, SZ_2M)).isEqualTo(SZ_2M);
        long[] walk = tb.commands(before, tb.prod()).get(0);
        assertThat(walk[0] & 0xff).isEqualTo(CMDQ_OP_TLBI_S2_IPA);
        assertThat(FIELD_GET(CMDQ_TLBI_0_VMID, walk[0])).isEqualTo(d.s2Cfg.vmid);
        assertThat(walk[1] & CMDQ_TLBI_1_LEAF).as("a walk flush").isZero();
        assertThat((FIELD_GET(CMDQ_TLBI_0_NUM, walk[0]) + 1) << FIELD_GET(CMDQ_TLBI_0_SCALE, walk[0])).isEqualTo(512);

        long blk = tb.pages.allocPages(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO, 9);
        assertThat(blk & (SZ_2M - 1)).isZero();
        tb.board.mem.writeq(blk + 0x3000, 0xb10cL);
        assertThat(Iommu.iommuMap(d, ipa, blk, SZ_2M, RW)).isZero();
        assertThat(dmaRead(0, ipa + 0x3000)).isEqualTo(0xb10cL);
    }

    /** Freeing the domain: TLBI_S12_VMALL for its VMID (+ sync), and the VMID back in the bitmap. */
    @Test
    void domainFreeInvalidatesTheVmidAndReturnsIt() {
        boot(SmmuCaps.full(), 1);
        ArmSmmuDomain d = nested(0);
        int vmid = d.s2Cfg.vmid;
        assertThat(Iommu.iommuMap(d, 0x10000, page(7), 4096, RW)).isZero();
        assertThat(dmaRead(0, 0x10000)).isEqualTo(7);
        iommu.iommuDetachDevice(d, fns.get(0));
        /* Back on its default (stage-1 DMA) domain: the STE translates by CD again. */
        assertThat(FIELD_GET(STRTAB_STE_0_CFG, tb.ste(sid(0), 0))).isEqualTo(STRTAB_STE_0_CFG_S1_TRANS);
        assertThat(vmidInUse(vmid)).isTrue();

        int before = tb.prod();
        iommu.iommuDomainFree(d);
        List<long[]> cmds = tb.commands(before, tb.prod());
        assertThat(cmds).hasSizeGreaterThanOrEqualTo(2);
        assertThat(cmds.get(0)[0] & 0xff).isEqualTo(CMDQ_OP_TLBI_S12_VMALL);
        assertThat(FIELD_GET(CMDQ_TLBI_0_VMID, cmds.get(0)[0])).isEqualTo(vmid);
        assertThat(cmds).hasSize(2);
        assertThat(vmidInUse(vmid)).isFalse();

        /* The next stage-2 domain gets the same VMID back. */
        ArmSmmuDomain again = nested(0);
        assertThat(again.s2Cfg.vmid).isEqualTo(vmid);
    }

    /**
     * Two functions in two nested domains: distinct VMIDs, the same IPA reaching different PAs,
     * and an invalidation by one VMID leaves the other's translation alone.
     */
    @Test
    void twoStage2DomainsHaveDistinctVmidsAndAreIsolated() {
        boot(SmmuCaps.full(), 2);
        ArmSmmuDomain a = nested(0);
        ArmSmmuDomain b = nested(1);
        assertThat(a.s2Cfg.vmid).isNotEqualTo(b.s2Cfg.vmid);
        assertThat(FIELD_GET(STRTAB_STE_2_S2VMID, tb.ste(sid(0), 2))).isEqualTo(a.s2Cfg.vmid);
        assertThat(FIELD_GET(STRTAB_STE_2_S2VMID, tb.ste(sid(1), 2))).isEqualTo(b.s2Cfg.vmid);
        assertThat(tb.ste(sid(0), 3)).isNotEqualTo(tb.ste(sid(1), 3));

        long ipa = 0x20_0000L;
        assertThat(Iommu.iommuMap(a, ipa, page(0xaaaa), 4096, RW)).isZero();
        assertThat(Iommu.iommuMap(b, ipa, page(0xbbbb), 4096, RW)).isZero();
        assertThat(dmaRead(0, ipa)).isEqualTo(0xaaaa);
        assertThat(dmaRead(1, ipa)).isEqualTo(0xbbbb);
        /* Only in a: b cannot reach it. */
        assertThat(Iommu.iommuMap(a, ipa + 4096, page(0xa2), 4096, RW)).isZero();
        assertThat(dmaRead(0, ipa + 4096)).isEqualTo(0xa2);
        assertThat(dmaStatus(1, ipa + 4096)).isNegative();

        /* a's unmap is a TLBI for a's VMID: b's cached translation of the same IPA still serves. */
        long hits = tb.model.tlb().hits();
        assertThat(Iommu.iommuUnmap(a, ipa, 4096)).isEqualTo(4096);
        assertThat(dmaStatus(0, ipa)).isNegative();
        assertThat(dmaRead(1, ipa)).isEqualTo(0xbbbb);
        assertThat(tb.model.tlb().hits()).as("b's entry survived a's invalidation").isGreaterThan(hits);
    }

    /**
     * QEMU's default SMMU has stage 1 only. enable_nesting still succeeds (v5.15 looks at nothing
     * but the smmu pointer), and finalise restricts the stage to what the SMMU implements: the
     * domain is built as stage 1, with a CD table and an ASID, and no VMID is taken.
     */
    @Test
    void stage1OnlySmmuFallsBackToStage1() {
        boot(SmmuCaps.qemu(), 1);
        assertThat(tb.drv.smmu.features & ARM_SMMU_FEAT_TRANS_S2).isZero();
        IommuDomain dom = iommu.iommuDomainAlloc(pci.pciBusType);
        assertThat(Iommu.iommuEnableNesting(dom)).isZero();
        ArmSmmuDomain d = (ArmSmmuDomain) dom;
        assertThat(d.stage).isEqualTo(ARM_SMMU_DOMAIN_NESTED);
        assertThat(iommu.iommuAttachDevice(dom, fns.get(0))).isZero();
        assertThat(d.stage).isEqualTo(ARM_SMMU_DOMAIN_S1);
        assertThat(d.s2Cfg.vmid).isZero();
        assertThat(d.s1Cfg.cd.asid).isNotZero();
        assertThat(tb.drv.smmu.vmidMap.cardinality()).as("only the reserved VMID 0").isEqualTo(1);

        long ste0 = tb.ste(sid(0), 0);
        assertThat(FIELD_GET(STRTAB_STE_0_CFG, ste0)).isEqualTo(STRTAB_STE_0_CFG_S1_TRANS);
        assertThat(ste0 & STRTAB_STE_0_S1CTXPTR_MASK).isEqualTo(d.s1Cfg.cdcfg.cdtabDma);
        assertThat(tb.ste(sid(0), 2)).as("no stage-2 config").isZero();

        long va = 0x10000;
        assertThat(Iommu.iommuMap(dom, va, page(0x51), 4096, RW)).isZero();
        assertThat(dmaRead(0, va)).isEqualTo(0x51);
        int before = tb.prod();
        assertThat(Iommu.iommuUnmap(dom, va, 4096)).isEqualTo(4096);
        long[] tlbi = tb.commands(before, tb.prod()).get(0);
        assertThat(tlbi[0] & 0xff).isEqualTo(CMDQ_OP_TLBI_NH_VA);
        assertThat(FIELD_GET(CMDQ_TLBI_0_ASID, tlbi[0])).isEqualTo(d.s1Cfg.cd.asid);
        assertThat(dmaStatus(0, va)).isNegative();
        assertThat(Iommu.iommuEnableNesting(dom)).isEqualTo(-EPERM);
        iommu.iommuDetachDevice(dom, fns.get(0));
        iommu.iommuDomainFree(dom);
    }
}
