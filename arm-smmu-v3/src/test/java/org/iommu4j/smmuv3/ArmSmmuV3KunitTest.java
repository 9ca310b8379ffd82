package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Bits.FIELD_GET;
import static org.iommu4j.base.Bits.FIELD_PREP;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuFwspec;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The scenarios of the arm-smmu-v3 KUnit test (v6.10+), under their names, with v5.15's
 * expectations. Every transition is driven through the driver (attach of identity, DMA (stage 1
 * with a CD table) and nested (stage 2) domains, arm_smmu_detach_dev for abort, CD writes for
 * SSIDs). After every 64-bit store the driver makes into the STE or CD under test (the
 * {@code arm_smmu:ste_store}/{@code cd_store} trace hook) the SMMU model decodes the entry as a
 * fetch would ({@code explain}: no cache) and the entry is compared, on the bits its own
 * configuration uses, with the configurations the transition passes through; the commands each
 * transition issues are listed exactly.
 *
 * <p>v5.15 differs from KUnit's driver (6.10's arm_smmu_write_entry): it never rewrites a
 * translating STE in place. An attach first detaches (STE to abort with disable_bypass, or to
 * bypass without it), then writes the new STE: dwords 1..3, CFGI_STE + CMD_SYNC, dword 0,
 * CFGI_STE + CMD_SYNC, PREFETCH_CONFIG. Abort and bypass STEs are written dword 0 first, then
 * dwords 1 and 2, with one CFGI_STE + CMD_SYNC. So S1 to S2 and similar changes go through an
 * abort STE (each step hitless, the whole not), and where KUnit counts syncs per entry write,
 * v5.15's count is the sum of its steps.
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3KunitTest {
    static final int SID = 0x40;
    static final int PASID_BITS = 4;

    static final String CFGI_STE = "CFGI_STE", CFGI_CD = "CFGI_CD", SYNC = "CMD_SYNC", PREFETCH = "PREFETCH_CONFIG";
    /** One STE write of an abort or bypass entry. */
    static final List<String> ONE = List.of(CFGI_STE, SYNC);
    /** One STE write of a translating entry. */
    static final List<String> TWO = List.of(CFGI_STE, SYNC, CFGI_STE, SYNC, PREFETCH);

    static final long[] ABORT_STE = {STRTAB_STE_0_V | FIELD_PREP(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_ABORT), 0, 0, 0, 0, 0, 0, 0};
    static final long[] BYPASS_STE = {STRTAB_STE_0_V | FIELD_PREP(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_BYPASS),
        FIELD_PREP(STRTAB_STE_1_SHCFG, STRTAB_STE_1_SHCFG_INCOMING), 0, 0, 0, 0, 0, 0};

    SmmuTestBed tb;
    Device dev;
    ArmSmmuMaster master;

    void boot(boolean stall) {
        boot(stall, true);
    }

    /** The full SMMU and one platform master (StreamID {@link #SID}, 4 SSID bits); disable_bypass is a module parameter, set before probe. */
    void boot(boolean stall, boolean disableBypass) {
        tb = new SmmuTestBed(SmmuCaps.full());
        tb.drv.disableBypass = disableBypass;
        assertThat(tb.probe()).isZero();
        dev = new Device("kunit-master");
        assertThat(Iommu.iommuFwspecInit(dev, tb.pdev, tb.drv.armSmmuOps)).isZero();
        assertThat(Iommu.iommuFwspecAddIds(dev, new int[] {SID}, 1)).isZero();
        IommuFwspec fw = DevIommu.devIommuFwspecGet(dev);
        fw.numPasidBits = PASID_BITS;
        fw.canStall = stall; // dma-can-stall
        tb.drv.armSmmuProbeDevice(dev);
        master = (ArmSmmuMaster) DevIommu.devIommuPrivGet(dev);
        assertThat(master.stallEnabled).isEqualTo(stall);
        assertThat(steNow()[0]).as("no domain: abort with disable_bypass, else bypass")
                .isEqualTo(disableBypass ? ABORT_STE[0] : BYPASS_STE[0]);
    }

    @AfterEach
    void tearDown() {
        if (tb != null) {
            tb.drv.armSmmuDeviceRemove();
            tb.model.close();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Domains and transitions through the driver

    ArmSmmuDomain identity() {
        return tb.drv.armSmmuDomainAlloc(IommuH.IOMMU_DOMAIN_IDENTITY);
    }

    ArmSmmuDomain dma() {
        return tb.drv.armSmmuDomainAlloc(IommuH.IOMMU_DOMAIN_DMA);
    }

    /** An UNMANAGED domain with nesting enabled: the driver makes it a stage-2 domain. */
    ArmSmmuDomain s2() {
        ArmSmmuDomain d = tb.drv.armSmmuDomainAlloc(IommuH.IOMMU_DOMAIN_UNMANAGED);
        assertThat(tb.drv.armSmmuEnableNesting(d)).isZero();
        return d;
    }

    void attach(ArmSmmuDomain d) {
        assertThat(tb.drv.armSmmuAttachDev(d, dev)).isZero();
    }

    /** arm_smmu_detach_dev: what every attach does first; with disable_bypass the STE aborts. */
    void detach() {
        tb.drv.armSmmuDetachDev(master);
    }

    /** Attaches each domain once so that the transitions under test do not include finalise's CD write. */
    void finalised(ArmSmmuDomain... ds) {
        for (ArmSmmuDomain d : ds) {
            attach(d);
        }
        detach();
    }

    long steAddr() {
        return tb.drv.armSmmuGetStepForSid(tb.drv.smmu, SID);
    }

    long[] steNow() {
        return read(steAddr(), STRTAB_STE_DWORDS);
    }

    long[] read(long addr, int n) {
        long[] w = new long[n];
        for (int i = 0; i < n; i++) {
            w[i] = tb.board.mem.readq(addr + 8L * i);
        }
        return w;
    }

    // ------------------------------------------------------------------------------------------
    // Observation: every store, every command

    /** What one transition did: the entry after each store, the model's fetch of it, the commands. */
    final class Recorder implements AutoCloseable {
        final long addr;
        final int dwords;
        final int ssid;
        final long[] init;
        final List<long[]> states = new ArrayList<>();
        final List<List<String>> fetches = new ArrayList<>();
        final List<String> ops = new ArrayList<>();
        private final Trace.Sink sink;

        Recorder(long addr, int dwords, int ssid) {
            this.addr = addr;
            this.dwords = dwords;
            this.ssid = ssid;
            this.init = read(addr, dwords);
            sink = Trace.subscribe(Trace.filter("arm_smmu:cmdq_cmd", "arm_smmu:ste_store", "arm_smmu:cd_store"), r -> {
                if (r.event() == ArmSmmuV3Trace.CMD) {
                    ops.add((String) r.field("op"));
                    return;
                }
                long a = r.longField("addr");
                if (a >= addr && a < addr + 8L * dwords) {
                    states.add(read(addr, dwords));
                    DmaTransaction txn = new DmaTransaction().set(SID, ssid, 0x1000, 4, DmaTransaction.ACC_READ);
                    fetches.add(tb.model.explain(txn));
                }
            });
        }

        @Override
        public void close() {
            sink.close();
        }

        /** States the model found ILLEGAL (C_BAD_STE / C_BAD_CD) on fetch. */
        long illegalFetches() {
            return fetches.stream().filter(f -> f.stream().anyMatch(l -> l.contains("ILLEGAL"))).count();
        }
    }

    Recorder steRecorder() {
        return new Recorder(steAddr(), STRTAB_STE_DWORDS, DmaTransaction.NO_SSID);
    }

    Recorder cdRecorder(ArmSmmuDomain d, int ssid) {
        return new Recorder(tb.drv.armSmmuGetCdPtr(d, ssid), CTXDESC_CD_DWORDS, ssid);
    }

    /**
     * KUnit's check, on v5.15's path: every state after a store equals, on the bits its own
     * configuration uses, one of {@code waypoints} (the old entry, any entries a v5.15 flow passes
     * through, the new one), in order; the model never finds it ILLEGAL; the last state is the
     * last waypoint. Returns the number of states that matched none (a mixed entry).
     */
    int steMixedStates(Recorder rec, long[]... waypoints) {
        assertThat(rec.illegalFetches()).as("C_BAD_STE on fetch: %s", rec.fetches).isZero();
        int at = 0;
        int mixed = 0;
        for (long[] s : rec.states) {
            assertThat(s[0] & STRTAB_STE_0_V).as("STE V").isNotZero();
            long[] used = steUsed(s);
            int found = -1;
            for (int w = at; w < waypoints.length && found < 0; w++) {
                if (sameOnUsed(s, waypoints[w], used)) {
                    found = w;
                }
            }
            if (found < 0) {
                mixed++;
            } else {
                at = found;
            }
        }
        assertThat(sameOnUsed(rec.states.get(rec.states.size() - 1), waypoints[waypoints.length - 1],
                steUsed(waypoints[waypoints.length - 1]))).isTrue();
        return mixed;
    }

    static boolean sameOnUsed(long[] a, long[] b, long[] used) {
        for (int i = 0; i < used.length; i++) {
            if (((a[i] ^ b[i]) & used[i]) != 0) {
                return false;
            }
        }
        return true;
    }

    /** The STE bits an SMMU reads for the entry's own configuration (IHI 0070 5.2). */
    static long[] steUsed(long[] s) {
        long[] u = new long[STRTAB_STE_DWORDS];
        u[0] = STRTAB_STE_0_V;
        if ((s[0] & STRTAB_STE_0_V) == 0) {
            return u;
        }
        u[0] |= STRTAB_STE_0_CFG;
        long cfg = FIELD_GET(STRTAB_STE_0_CFG, s[0]);
        if ((cfg & 4) == 0) {
            return u; // abort
        }
        if (cfg == STRTAB_STE_0_CFG_BYPASS) {
            u[1] = 0x000f_ffff_0000_0000L; // the attribute overrides, MemAttr [35:32] .. INSTCFG [51:50]
            return u;
        }
        u[1] |= STRTAB_STE_1_EATS;
        if ((cfg & 1) != 0) {
            u[0] |= STRTAB_STE_0_S1FMT | STRTAB_STE_0_S1CTXPTR_MASK | STRTAB_STE_0_S1CDMAX;
            u[1] |= STRTAB_STE_1_S1DSS | STRTAB_STE_1_S1CIR | STRTAB_STE_1_S1COR | STRTAB_STE_1_S1CSH
                    | STRTAB_STE_1_S1STALLD | STRTAB_STE_1_STRW | STRTAB_STE_1_PPAR;
            if (FIELD_GET(STRTAB_STE_1_S1DSS, s[1]) == STRTAB_STE_1_S1DSS_BYPASS) {
                u[1] |= STRTAB_STE_1_SHCFG;
            }
            if (FIELD_GET(STRTAB_STE_1_STRW, s[1]) == STRTAB_STE_1_STRW_NSEL1) {
                u[2] |= STRTAB_STE_2_S2VMID;
            }
        }
        if ((cfg & 2) != 0) {
            u[2] |= STRTAB_STE_2_S2VMID | STRTAB_STE_2_VTCR | STRTAB_STE_2_S2AA64 | STRTAB_STE_2_S2ENDI
                    | STRTAB_STE_2_S2PTW | STRTAB_STE_2_S2R;
            u[3] |= STRTAB_STE_3_S2TTB_MASK;
        }
        return u;
    }

    /** The CD bits an SMMU reads: V alone when invalid; TTB0 not with EPD0 set. */
    static long[] cdUsed(long[] c) {
        long[] u = new long[CTXDESC_CD_DWORDS];
        u[0] = CTXDESC_CD_0_V;
        if ((c[0] & CTXDESC_CD_0_V) == 0) {
            return u;
        }
        u[0] = -1L;
        u[1] = (c[0] & CTXDESC_CD_0_TCR_EPD0) != 0 ? 0 : CTXDESC_CD_1_TTB0_MASK;
        u[3] = -1L;
        return u;
    }

    /** Every CD state equals the old or the new one on its used bits; returns how many were invalid (V = 0). */
    int cdInvalidStates(Recorder rec, long[] target) {
        int invalid = 0;
        for (int i = 0; i < rec.states.size(); i++) {
            long[] s = rec.states.get(i);
            long[] used = cdUsed(s);
            assertThat(sameOnUsed(s, rec.init, used) || sameOnUsed(s, target, used))
                    .as("CD state %s", Arrays.toString(s)).isTrue();
            if ((s[0] & CTXDESC_CD_0_V) == 0) {
                invalid++; /* what KUnit calls non-hitless: a fetch now is C_BAD_CD */
                assertThat(rec.fetches.get(i)).as("fetch of an invalid CD").anyMatch(l -> l.contains("CD is ILLEGAL"));
            } else {
                assertThat(rec.fetches.get(i)).as("fetch of a valid CD").noneMatch(l -> l.contains("ILLEGAL"));
            }
        }
        return invalid;
    }

    long[] steOf(ArmSmmuDomain d) {
        attach(d);
        long[] ste = steNow();
        detach();
        return ste;
    }

    /** Runs {@code action} under a recorder on the STE; returns it for the checks. */
    Recorder steTransition(Runnable action) {
        try (Recorder rec = steRecorder()) {
            action.run();
            return rec;
        }
    }

    // ------------------------------------------------------------------------------------------
    // STE cases

    /** KUnit: hitless, 2 syncs. v5.15 (detach with disable_bypass): dword 0 first, one CFGI_STE + sync. */
    @Test
    void armSmmuV3WriteSteTestBypassToAbort() {
        boot(false);
        attach(identity());
        assertThat(steNow()[0]).isEqualTo(BYPASS_STE[0]);
        Recorder rec = steTransition(this::detach);
        assertThat(rec.ops).isEqualTo(ONE);
        assertThat(steMixedStates(rec, BYPASS_STE, ABORT_STE)).isZero();
        assertThat(rec.states).hasSize(3);
    }

    /** KUnit: hitless, 2 syncs. v5.15: dword 1 already holds SHCFG from the abort write; one sync. */
    @Test
    void armSmmuV3WriteSteTestAbortToBypass() {
        boot(false);
        Recorder rec = steTransition(() -> attach(identity()));
        assertThat(rec.ops).isEqualTo(ONE);
        assertThat(steMixedStates(rec, rec.init, BYPASS_STE)).isZero();
    }

    /** KUnit: hitless, 2 syncs. v5.15: the same (dword 0 to abort first), one sync. */
    @Test
    void armSmmuV3WriteSteTestCdtableToAbort() {
        boot(false);
        attach(dma());
        long[] s1 = steNow();
        assertThat(FIELD_GET(STRTAB_STE_0_CFG, s1[0])).isEqualTo(STRTAB_STE_0_CFG_S1_TRANS);
        Recorder rec = steTransition(this::detach);
        assertThat(rec.ops).isEqualTo(ONE);
        assertThat(steMixedStates(rec, s1, ABORT_STE)).isZero();
    }

    /**
     * KUnit: hitless, 2 syncs. v5.15: 2 CFGI_STE + sync pairs too; a fresh domain's finalise first
     * writes CD 0 while no master is attached, so its two CD syncs are lone CMD_SYNCs.
     */
    @Test
    void armSmmuV3WriteSteTestAbortToCdtable() {
        boot(false);
        ArmSmmuDomain d = dma();
        Recorder rec = steTransition(() -> attach(d));
        assertThat(rec.ops).isEqualTo(concat(List.of(SYNC, SYNC), TWO));
        long[] s1 = steNow();
        assertThat(steMixedStates(rec, ABORT_STE, s1)).isZero();
        /* dwords 1..3 go first, invisible under the abort entry; dword 0 last */
        assertThat(rec.states).hasSize(2);

        /* again with the domain finalised: the STE alone */
        detach();
        rec = steTransition(() -> attach(d));
        assertThat(rec.ops).isEqualTo(TWO);
        assertThat(steMixedStates(rec, ABORT_STE, s1)).isZero();
    }

    /** KUnit: hitless, 3 syncs. v5.15: S1 to abort (detach), then abort to bypass: 2 syncs, each step hitless. */
    @Test
    void armSmmuV3WriteSteTestCdtableToBypass() {
        boot(false);
        ArmSmmuDomain id = identity();
        finalised(id);
        attach(dma());
        long[] s1 = steNow();
        Recorder rec = steTransition(() -> attach(id));
        assertThat(rec.ops).isEqualTo(concat(ONE, ONE));
        assertThat(steMixedStates(rec, s1, ABORT_STE, BYPASS_STE)).isZero();
    }

    /** KUnit: hitless, 3 syncs. v5.15: bypass to abort, abort to S1: 3 syncs, through an abort entry. */
    @Test
    void armSmmuV3WriteSteTestBypassToCdtable() {
        boot(false);
        ArmSmmuDomain d = dma();
        long[] s1 = steOf(d);
        attach(identity());
        Recorder rec = steTransition(() -> attach(d));
        assertThat(rec.ops).isEqualTo(concat(ONE, TWO));
        assertThat(steMixedStates(rec, BYPASS_STE, ABORT_STE, s1)).isZero();
    }

    /**
     * No v5.15 counterpart: v5.15 writes S1DSS = SSID0 in every stage-1 STE and never changes it
     * (S1DSS bypass came with 6.10's PASID rework). What it does for SSIDs: CDs only, no STE store.
     */
    @Test
    void armSmmuV3WriteSteTestCdtableS1dssChange() {
        boot(false);
        ArmSmmuDomain d = dma();
        attach(d);
        long[] s1 = steNow();
        assertThat(FIELD_GET(STRTAB_STE_1_S1DSS, s1[1])).isEqualTo(STRTAB_STE_1_S1DSS_SSID0);
        assertThat(FIELD_GET(STRTAB_STE_0_S1CDMAX, s1[0])).isEqualTo(PASID_BITS);
        Recorder rec = steTransition(() -> assertThat(tb.drv.armSmmuWriteCtxDesc(d, 3, cdLike(d, 1997))).isZero());
        assertThat(rec.states).isEmpty();
        assertThat(rec.ops).isEqualTo(List.of(CFGI_CD, SYNC, CFGI_CD, SYNC));
        assertThat(steNow()).isEqualTo(s1);
    }

    /** No v5.15 counterpart (no S1DSS = BYPASS STE): stage-1 STE to bypass goes through abort, as cdtable_to_bypass. */
    @Test
    void armSmmuV3WriteSteTestS1dssbypassToStebypass() {
        armSmmuV3WriteSteTestCdtableToBypass();
    }

    /** No v5.15 counterpart (no S1DSS = BYPASS STE): bypass to stage 1 goes through abort, as bypass_to_cdtable. */
    @Test
    void armSmmuV3WriteSteTestStebypassToS1dssbypass() {
        armSmmuV3WriteSteTestBypassToCdtable();
    }

    /** KUnit: hitless, 2 syncs. v5.15: one sync (dword 0 to abort first). */
    @Test
    void armSmmuV3WriteSteTestS2ToAbort() {
        boot(false);
        attach(s2());
        long[] s2 = steNow();
        assertThat(FIELD_GET(STRTAB_STE_0_CFG, s2[0])).isEqualTo(STRTAB_STE_0_CFG_S2_TRANS);
        Recorder rec = steTransition(this::detach);
        assertThat(rec.ops).isEqualTo(ONE);
        assertThat(steMixedStates(rec, s2, ABORT_STE)).isZero();
    }

    /** KUnit: hitless, 2 syncs. v5.15: the same; finalise of a stage-2 domain issues no command. */
    @Test
    void armSmmuV3WriteSteTestAbortToS2() {
        boot(false);
        ArmSmmuDomain d = s2();
        Recorder rec = steTransition(() -> attach(d));
        assertThat(rec.ops).isEqualTo(TWO);
        long[] s2 = steNow();
        assertThat(steMixedStates(rec, ABORT_STE, s2)).isZero();
        /* dwords 2, 3, 1 (unused by abort), then dword 0 */
        assertThat(rec.states).hasSize(4);
    }

    /** KUnit: hitless, 2 syncs. v5.15: S2 to abort to bypass, 2 syncs. */
    @Test
    void armSmmuV3WriteSteTestS2ToBypass() {
        boot(false);
        ArmSmmuDomain id = identity();
        finalised(id);
        attach(s2());
        long[] s2 = steNow();
        Recorder rec = steTransition(() -> attach(id));
        assertThat(rec.ops).isEqualTo(concat(ONE, ONE));
        assertThat(steMixedStates(rec, s2, ABORT_STE, BYPASS_STE)).isZero();
    }

    /** KUnit: hitless, 2 syncs. v5.15: bypass to abort to S2, 3 syncs. */
    @Test
    void armSmmuV3WriteSteTestBypassToS2() {
        boot(false);
        ArmSmmuDomain d = s2();
        long[] s2 = steOf(d);
        attach(identity());
        Recorder rec = steTransition(() -> attach(d));
        assertThat(rec.ops).isEqualTo(concat(ONE, TWO));
        assertThat(steMixedStates(rec, BYPASS_STE, ABORT_STE, s2)).isZero();
    }

    /** KUnit: hitless in place, 3 syncs. v5.15 cannot: S1 to abort (detach), abort to S2; 3 syncs, abort in between. */
    @Test
    void armSmmuV3WriteSteTestS1ToS2() {
        s1ToS2(false);
    }

    /** KUnit: hitless in place, 3 syncs. v5.15: S2 to abort, abort to S1; 3 syncs, abort in between. */
    @Test
    void armSmmuV3WriteSteTestS2ToS1() {
        s2ToS1(false);
    }

    /** KUnit: S1 to S2 for a stall master. v5.15: as s1_to_s2; the stage-1 STE has no S1STALLD, its CD has S. */
    @Test
    void armSmmuV3WriteSteTestS1ToS2Stall() {
        s1ToS2(true);
    }

    /** KUnit: S2 to S1 for a stall master. v5.15: as s2_to_s1. */
    @Test
    void armSmmuV3WriteSteTestS2ToS1Stall() {
        s2ToS1(true);
    }

    void s1ToS2(boolean stall) {
        boot(stall);
        ArmSmmuDomain s1d = dma();
        ArmSmmuDomain s2d = s2();
        long[] s2 = steOf(s2d);
        attach(s1d);
        long[] s1 = steNow();
        checkStall(s1, s1d, stall);
        Recorder rec = steTransition(() -> attach(s2d));
        assertThat(rec.ops).isEqualTo(concat(ONE, TWO));
        assertThat(steMixedStates(rec, s1, ABORT_STE, s2)).isZero();
        assertThat(rec.states).anyMatch(s -> sameOnUsed(s, ABORT_STE, steUsed(s)));
    }

    void s2ToS1(boolean stall) {
        boot(stall);
        ArmSmmuDomain s1d = dma();
        ArmSmmuDomain s2d = s2();
        long[] s1 = steOf(s1d);
        checkStall(s1, s1d, stall);
        attach(s2d);
        long[] s2 = steNow();
        Recorder rec = steTransition(() -> attach(s1d));
        assertThat(rec.ops).isEqualTo(concat(ONE, TWO));
        assertThat(steMixedStates(rec, s2, ABORT_STE, s1)).isZero();
        assertThat(rec.states).anyMatch(s -> sameOnUsed(s, ABORT_STE, steUsed(s)));
    }

    void checkStall(long[] s1, ArmSmmuDomain d, boolean stall) {
        assertThat(s1[1] & STRTAB_STE_1_S1STALLD).isEqualTo(stall ? 0 : STRTAB_STE_1_S1STALLD);
        long cd0 = tb.board.mem.readq(tb.drv.armSmmuGetCdPtr(d, 0));
        assertThat(cd0 & CTXDESC_CD_0_S).isEqualTo(stall ? CTXDESC_CD_0_S : 0);
    }

    /**
     * KUnit forces a non-hitless update (new CD table pointer and S1DSS at once: 3 syncs, an
     * invalid entry on the way). v5.15 never changes a CD table pointer in place: moving the master
     * to another DMA domain goes S1 to abort to S1, 3 syncs, every entry valid.
     */
    @Test
    void armSmmuV3WriteSteTestNonHitless() {
        boot(false);
        ArmSmmuDomain a = dma();
        ArmSmmuDomain b = dma();
        long[] sb = steOf(b);
        attach(a);
        long[] sa = steNow();
        assertThat(sa[0] & STRTAB_STE_0_S1CTXPTR_MASK).isNotEqualTo(sb[0] & STRTAB_STE_0_S1CTXPTR_MASK);
        Recorder rec = steTransition(() -> attach(b));
        assertThat(rec.ops).isEqualTo(concat(ONE, TWO));
        assertThat(steMixedStates(rec, sa, ABORT_STE, sb)).isZero();
    }

    /**
     * Not a KUnit case: v5.15 with disable_bypass = 0. Detach then writes a bypass STE, dword 0
     * first: for one store the SMMU can fetch a bypass entry with the stage-1 entry's dword 1
     * (SHCFG 0, non-shareable, instead of incoming). Legal (no C_BAD_STE), but mixed; and the way
     * back writes stage-1 dword 1 under the live bypass dword 0 the same way.
     */
    @Test
    void disableBypassOffCdtableToBypassShowsAMixedEntry() {
        boot(false, false);
        ArmSmmuDomain id = identity();
        ArmSmmuDomain d = dma();
        long[] s1 = steOf(d); // detach now leaves bypass
        assertThat(steNow()[0]).isEqualTo(BYPASS_STE[0]);
        finalised(id);
        attach(d);
        Recorder rec = steTransition(() -> attach(id));
        assertThat(rec.ops).isEqualTo(concat(ONE, ONE));
        assertThat(steMixedStates(rec, s1, BYPASS_STE)).isEqualTo(1);
        long[] mixed = rec.states.get(0);
        assertThat(mixed[0]).isEqualTo(BYPASS_STE[0]);
        assertThat(FIELD_GET(STRTAB_STE_1_SHCFG, mixed[1])).isZero();

        rec = steTransition(() -> attach(d));
        assertThat(rec.ops).isEqualTo(concat(ONE, TWO));
        assertThat(steMixedStates(rec, BYPASS_STE, s1)).isEqualTo(1);
        /* detach rewrites the same bypass entry (3 stores); then stage-1 dword 1 lands under it */
        mixed = rec.states.get(3);
        assertThat(mixed[0]).isEqualTo(BYPASS_STE[0]);
        assertThat(mixed[1]).isEqualTo(s1[1]);
        assertThat(FIELD_GET(STRTAB_STE_1_SHCFG, mixed[1])).isZero();
    }

    // ------------------------------------------------------------------------------------------
    // CD cases

    static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    /** A CD on the domain's page table with another ASID (what an aux domain or a second user writes). */
    static ArmSmmuCtxDesc cdLike(ArmSmmuDomain d, int asid) {
        ArmSmmuCtxDesc cd = new ArmSmmuCtxDesc();
        cd.asid = asid;
        cd.ttbr = d.s1Cfg.cd.ttbr;
        cd.tcr = d.s1Cfg.cd.tcr;
        cd.mair = d.s1Cfg.cd.mair;
        return cd;
    }

    /** A shared (SVA) CD: an mm's, so ASET clear. */
    static ArmSmmuCtxDesc svaCdLike(ArmSmmuDomain d, int asid) {
        ArmSmmuCtxDesc cd = cdLike(d, asid);
        cd.mm = new Object();
        return cd;
    }

    long[] cdNow(ArmSmmuDomain d, int ssid) {
        return read(tb.drv.armSmmuGetCdPtr(d, ssid), CTXDESC_CD_DWORDS);
    }

    /**
     * KUnit: non-hitless both ways, 2 syncs each. v5.15: install (a secondary CD under a live
     * STE) writes dwords 1..3 while V = 0, CFGI_CD + sync, then dword 0: 2 syncs; clear writes
     * dword 0 = 0 alone: 1 sync (dwords 1..3 are left as they were).
     */
    @Test
    void armSmmuV3WriteCdTestS1Clear() {
        cdClear(false);
    }

    /** KUnit: as s1_clear for an SVA CD. v5.15: bind/unbind write the same way (ASET clear for an mm). */
    @Test
    void armSmmuV3WriteCdTestSvaClear() {
        cdClear(true);
    }

    void cdClear(boolean sva) {
        boot(false);
        ArmSmmuDomain d = dma();
        attach(d);
        int ssid = 3;
        ArmSmmuCtxDesc cd = sva ? svaCdLike(d, 1997) : cdLike(d, 1997);
        Recorder rec;
        try (Recorder r = cdRecorder(d, ssid)) {
            assertThat(tb.drv.armSmmuWriteCtxDesc(d, ssid, cd)).isZero();
            rec = r;
        }
        long[] installed = cdNow(d, ssid);
        assertThat(installed[0] & CTXDESC_CD_0_V).isNotZero();
        assertThat(installed[0] & CTXDESC_CD_0_ASET).isEqualTo(sva ? 0 : CTXDESC_CD_0_ASET);
        assertThat(rec.ops).isEqualTo(List.of(CFGI_CD, SYNC, CFGI_CD, SYNC));
        assertThat(rec.states).hasSize(4);
        assertThat(cdInvalidStates(rec, installed)).isEqualTo(3); // non-hitless: the old entry is invalid

        try (Recorder r = cdRecorder(d, ssid)) {
            assertThat(tb.drv.armSmmuWriteCtxDesc(d, ssid, null)).isZero();
            rec = r;
        }
        assertThat(rec.ops).isEqualTo(List.of(CFGI_CD, SYNC));
        assertThat(rec.states).hasSize(1);
        long[] cleared = cdNow(d, ssid);
        assertThat(cleared[0]).isZero();
        assertThat(cdInvalidStates(rec, cleared)).isEqualTo(1);
    }

    /** KUnit: hitless, 1 sync each way. v5.15: the same (case 3, one dword 0 store). */
    @Test
    void armSmmuV3WriteCdTestS1ChangeAsid() {
        boot(false);
        ArmSmmuDomain d = dma();
        attach(d);
        int ssid = 3;
        assertThat(tb.drv.armSmmuWriteCtxDesc(d, ssid, cdLike(d, 778))).isZero();
        for (int asid : new int[] {1997, 778}) {
            long[] before = cdNow(d, ssid);
            Recorder rec;
            try (Recorder r = cdRecorder(d, ssid)) {
                assertThat(tb.drv.armSmmuWriteCtxDesc(d, ssid, cdLike(d, asid))).isZero();
                rec = r;
            }
            long[] after = cdNow(d, ssid);
            assertThat(FIELD_GET(CTXDESC_CD_0_ASID, after[0])).isEqualTo(asid);
            assertThat(rec.ops).isEqualTo(List.of(CFGI_CD, SYNC));
            assertThat(rec.states).hasSize(1);
            assertThat(cdInvalidStates(rec, after)).isZero();
            assertThat(Arrays.copyOfRange(after, 1, 4)).isEqualTo(Arrays.copyOfRange(before, 1, 4));
        }
    }

    /**
     * KUnit: SVA CD to its release form and back, hitless, 2 syncs each. v5.15's mm release
     * writes quiet_cd: EPD0 set in dword 0, one store, 1 sync, V kept. The way back has no
     * counterpart: a quiesced CD stays until unbind clears it.
     */
    @Test
    void armSmmuV3WriteCdTestSvaRelease() {
        boot(false);
        ArmSmmuDomain d = dma();
        attach(d);
        int ssid = 5;
        assertThat(tb.drv.armSmmuWriteCtxDesc(d, ssid, svaCdLike(d, 1997))).isZero();
        Recorder rec;
        try (Recorder r = cdRecorder(d, ssid)) {
            assertThat(tb.drv.armSmmuWriteCtxDesc(d, ssid, tb.drv.quietCd)).isZero();
            rec = r;
        }
        long[] quiet = cdNow(d, ssid);
        assertThat(quiet[0] & CTXDESC_CD_0_V).isNotZero();
        assertThat(quiet[0] & CTXDESC_CD_0_TCR_EPD0).isNotZero();
        assertThat(rec.ops).isEqualTo(List.of(CFGI_CD, SYNC));
        assertThat(rec.states).hasSize(1);
        assertThat(cdInvalidStates(rec, quiet)).isZero();
    }
}
