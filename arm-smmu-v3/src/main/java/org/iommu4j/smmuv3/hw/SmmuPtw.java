package org.iommu4j.smmuv3.hw;

import static org.iommu4j.smmuv3.hw.SmmuV3Internal.*;

import java.util.List;
import org.iommu4j.base.hw.BusError;
import org.iommu4j.base.hw.PhysMem;

/**
 * The VMSAv8-64 translation table walker (the image of QEMU's smmu-common.c walker): stage 1
 * and stage 2, 4K/16K/64K granules, hierarchical table permissions, access flag and dirty state
 * managed in hardware (HTTU) by compare-and-exchange on the descriptor, address-size checks
 * against IPS/PS. Arm ARM D8 ("The AArch64 Virtual Memory System Architecture") is the reference.
 *
 * <p>Can: 4-level walks, concatenated stage-2 start tables, blocks where the granule allows
 * them, TBI, EPD0, AFFD, HA/HD with a bounded retry when a CAS loses. Can't: TTB1 (the SMMU's
 * TTB1 half is unused by Linux; such inputs take a translation fault), 52-bit output addresses
 * (LPA), permission indirection.
 *
 * <p>Walks are allocation-free apart from the optional {@code log} used by {@code explain}.
 */
final class SmmuPtw {
    private SmmuPtw() {}

    /* fault codes (event ids) returned by walk */
    static final int OK = 0;

    /* stage-1 permission bits */
    static final int P_UR = 1, P_UW = 2, P_UX = 4, P_PR = 8, P_PW = 16, P_PX = 32;
    static final int P_ALL = 63;

    /** One stage's translation regime, decoded from a CD (stage 1) or an STE (stage 2). */
    record StageCfg(int stage, int granuleShift, int inputBits, int startLevel, int startBits, long ttb,
                    int outBits, boolean ha, boolean hd, boolean affd, boolean tbi, boolean epd0, boolean wxn) {
        /** The output addresses this stage may produce: bits [outBits-1:0]. */
        long outMask() {
            return outBits >= 64 ? -1L : (1L << outBits) - 1;
        }

        /** Computes the start level for stage 1 from the input size; null if the size is unusable. */
        static StageCfg s1(int granuleShift, int t0sz, long ttb, int outBits, boolean ha, boolean hd, boolean affd,
                           boolean tbi, boolean epd0, boolean wxn) {
            int ias = 64 - t0sz;
            int stride = granuleShift - 3;
            int levels = (ias - granuleShift + stride - 1) / stride;
            int start = 4 - levels;
            if (start < 0 || levels < 1) {
                return null;
            }
            int startBits = ias - (granuleShift + stride * (3 - start));
            return new StageCfg(1, granuleShift, ias, start, startBits, ttb, outBits, ha, hd, affd, tbi, epd0, wxn);
        }

        /** Stage 2 from S2T0SZ/S2SL0/S2TG; null if the combination is inconsistent (C_BAD_STE). */
        static StageCfg s2(int granuleShift, int t0sz, int sl0, long ttb, int outBits, boolean ha, boolean hd,
                           boolean affd) {
            int ias = 64 - t0sz;
            int stride = granuleShift - 3;
            int start;
            if (sl0 == 3) {
                return null;
            }
            start = granuleShift == 12 ? 2 - sl0 : 3 - sl0;
            int startBits = ias - (granuleShift + stride * (3 - start));
            if (startBits < 1 || startBits > stride + 4 || ias > 48 || ias < 16) {
                return null;
            }
            return new StageCfg(2, granuleShift, ias, start, startBits, ttb, outBits, ha, hd, affd, false, false, false);
        }
    }

    /** Stage-2 translation of stage-1 table addresses (nested configurations). */
    interface TableXlate {
        /** Returns the PA of {@code ipa}, or -1 after filling {@code out} with the stage-2 fault. */
        long xlate(long ipa, boolean write, int clazz, Result out);
    }

    /** The outcome of a walk, filled in place. */
    static final class Result {
        int fault;
        int level;
        long pa;
        int blockShift;
        int perm;
        boolean global;
        boolean s2;
        long ipa;
        long fetchAddr;
        int clazz;
        boolean ttrnw;
        /* the leaf descriptor between descend and leaf (walk internals) */
        long leafPte;
        long leafPtePa;
        int tableAttrs;

        void reset() {
            fault = OK;
            level = 0;
            pa = 0;
            blockShift = 12;
            perm = 0;
            global = false;
            s2 = false;
            ipa = 0;
            fetchAddr = 0;
            clazz = EVT_CLASS_IN;
            ttrnw = true;
        }

        Result fail(int f, int lvl, int stage) {
            fault = f;
            level = lvl;
            s2 = stage == 2;
            return this;
        }
    }

    static boolean blockAllowed(int granuleShift, int level) {
        return switch (granuleShift) {
            case 12 -> level == 1 || level == 2;
            default -> level == 2;
        };
    }

    private static final int HTTU_RETRIES = 8;
    /** Output address bits [47:0] of a descriptor or table base. */
    private static final long OA_MASK = 0x0000_ffff_ffff_ffffL;

    /**
     * Walks {@code va} through the tables of {@code cfg}.
     *
     * <p>{@link #descend} fetches descriptors down to the leaf, {@link #leaf} checks the leaf and
     * performs its HTTU update; messages for {@code explain} are built only when {@code log} is
     * given.
     *
     * @param write  the access writes (decides the dirty update)
     * @param need   permission bits the access needs ({@link #P_UR}..), 0 for an ATS request
     *               that asks only what is allowed
     * @param update perform HTTU updates (false for explain's dry runs)
     */
    static Result walk(PhysMem mem, StageCfg cfg, long va, boolean write, int need, boolean update, TableXlate s2,
                       List<String> log, Result out) {
        out.reset();
        int stage = cfg.stage();
        long inVa = stage == 1 && cfg.tbi() ? (va << 8) >> 8 : va; // the top byte takes no part in the range check
        if (cfg.inputBits() < 64 && inVa >>> cfg.inputBits() != 0) {
            if (log != null) {
                log.add(String.format("stage %d: input 0x%x outside the %d-bit TTB0 range -> F_TRANSLATION",
                        stage, va, cfg.inputBits()));
            }
            return out.fail(EVT_F_TRANSLATION, cfg.startLevel(), stage);
        }
        if (cfg.epd0()) {
            if (log != null) {
                log.add("stage 1: CD.EPD0 = 1, TTB0 walks disabled -> F_TRANSLATION");
            }
            return out.fail(EVT_F_TRANSLATION, cfg.startLevel(), stage);
        }
        for (int attempt = 0; attempt < HTTU_RETRIES; attempt++) {
            if (!descend(mem, cfg, va, inVa, s2, log, out) || leaf(mem, cfg, va, write, need, update, log, out)) {
                return out;
            }
            // an HTTU compare-and-exchange lost: someone changed the descriptor, walk again
        }
        // the descriptor kept changing under us: report a translation fault (CONSTRAINED UNPREDICTABLE)
        return out.fail(EVT_F_TRANSLATION, 3, stage);
    }

    /**
     * Fetches descriptors from the start level down to a leaf (page or block). True with
     * {@code out.level}, {@code out.blockShift}, {@code out.leafPte}, {@code out.leafPtePa} and
     * {@code out.tableAttrs} set; false with {@code out} holding the fault.
     */
    private static boolean descend(PhysMem mem, StageCfg cfg, long va, long inVa, TableXlate s2,
                                   List<String> log, Result out) {
        final int stage = cfg.stage();
        final int g = cfg.granuleShift();
        final int stride = g - 3;
        final long outMask = cfg.outMask();
        int level = cfg.startLevel();
        int bits = cfg.startBits();
        int shift = g + stride * (3 - level);
        long table = cfg.ttb() & ~((1L << Math.max(bits + 3, 6)) - 1) & OA_MASK;
        if ((table & ~outMask) != 0) {
            if (log != null) {
                log.add(String.format("stage %d: table base 0x%x beyond %d-bit output size -> F_ADDR_SIZE", stage,
                        table, cfg.outBits()));
            }
            out.fail(EVT_F_ADDR_SIZE, level, stage);
            return false;
        }
        final boolean traced = SmmuV3Trace.smmu_ptw_level.enabled();
        int attrs = 0;
        while (true) {
            long idx = (inVa >>> shift) & ((1L << bits) - 1);
            long ptePa = table + idx * 8;
            if (s2 != null) {
                long ipa = ptePa;
                ptePa = s2.xlate(ipa, false, EVT_CLASS_TT, out);
                if (ptePa == -1) {
                    out.level = level;
                    if (log != null) {
                        log.add(String.format("stage 1 level %d: table IPA 0x%x faults at stage 2 -> %s", level,
                                ipa, eventName(out.fault)));
                    }
                    return false;
                }
            }
            long pte;
            try {
                pte = mem.readqAcquire(ptePa);
            } catch (BusError e) {
                out.fetchAddr = ptePa;
                out.clazz = EVT_CLASS_TT;
                out.ttrnw = true;
                if (log != null) {
                    log.add(String.format("stage %d level %d: descriptor fetch at 0x%x -> external abort", stage,
                            level, ptePa));
                }
                out.fail(EVT_F_WALK_EABT, level, stage);
                return false;
            }
            if (traced) {
                SmmuV3Trace.smmu_ptw_level.emit(stage, level, va, table, ptePa, pte);
            }
            if (log != null) {
                log.add(String.format("stage %d level %d: table 0x%x index %d -> descriptor @0x%x = 0x%016x", stage,
                        level, table, idx, ptePa, pte));
            }
            boolean pageOrTable = (pte & (PTE_VALID | PTE_TABLE)) == (PTE_VALID | PTE_TABLE);
            if (level < 3 && pageOrTable) {
                long next = pte & OA_MASK & ~((1L << g) - 1);
                if ((next & ~outMask) != 0) {
                    out.fail(EVT_F_ADDR_SIZE, level, stage);
                    return false;
                }
                attrs |= (int) (pte >>> PTE_PXNTABLE) & 0xf; // PXNTable, UXNTable, APTable[1:0]
                table = next;
                level++;
                shift -= stride;
                bits = stride;
                continue;
            }
            // a leaf: a page (level 3, descriptor type 0b11) or a block where the granule has them
            if ((pte & PTE_VALID) == 0 || (level == 3 ? !pageOrTable : !blockAllowed(g, level))) {
                if (log != null) {
                    log.add("  invalid descriptor -> F_TRANSLATION");
                }
                out.fail(EVT_F_TRANSLATION, level, stage);
                return false;
            }
            out.level = level;
            out.blockShift = shift;
            out.leafPte = pte;
            out.leafPtePa = ptePa;
            out.tableAttrs = stage == 1 ? attrs : 0;
            return true;
        }
    }

    /* out.tableAttrs bits: the table descriptor bits 59..62 accumulated down the walk */
    private static final int TA_PXN = 1, TA_UXN = 2, TA_AP0 = 4, TA_AP1 = 8;

    /**
     * Checks the leaf found by {@link #descend} (output size, access flag, permissions) and
     * performs its HTTU update. True when done (translated or faulted, in {@code out}); false
     * when the update lost a race and the walk must start again.
     */
    private static boolean leaf(PhysMem mem, StageCfg cfg, long va, boolean write, int need, boolean update,
                                List<String> log, Result out) {
        final int stage = cfg.stage();
        final int level = out.level;
        final int shift = out.blockShift;
        final long pte = out.leafPte;
        final long ptePa = out.leafPtePa;
        final int attrs = out.tableAttrs;
        long pa = pte & OA_MASK & ~((1L << shift) - 1);
        if ((pa & ~cfg.outMask()) != 0) {
            if (log != null) {
                log.add(String.format("  output 0x%x beyond %d bits -> F_ADDR_SIZE", pa, cfg.outBits()));
            }
            out.fail(EVT_F_ADDR_SIZE, level, stage);
            return true;
        }
        boolean af = bit(pte, PTE_AF);
        boolean dbm = bit(pte, PTE_DBM);
        int perm;
        boolean readOnly;
        if (stage == 1) {
            boolean ap1 = bit(pte, PTE_AP1), ap2 = bit(pte, PTE_AP2);
            readOnly = ap2;
            boolean ro = (attrs & TA_AP1) != 0 || (ap2 && !(dbm && cfg.hd()));
            boolean ur = ap1 && (attrs & TA_AP0) == 0;
            perm = P_PR;
            if (!ro) {
                perm |= P_PW;
            }
            if (ur) {
                perm |= P_UR;
                if (!ro) {
                    perm |= P_UW;
                }
            }
            boolean el0Writable = ap1 && !ap2;
            boolean writable = !ro;
            if (!bit(pte, PTE_UXN) && (attrs & TA_UXN) == 0 && !(cfg.wxn() && writable)) {
                perm |= P_UX;
            }
            if (!bit(pte, PTE_PXN) && (attrs & TA_PXN) == 0 && !el0Writable && !(cfg.wxn() && writable)) {
                perm |= P_PX;
            }
            out.global = !bit(pte, PTE_NG);
        } else {
            boolean r = bit(pte, PTE_S2AP_R), w = bit(pte, PTE_S2AP_W);
            readOnly = !w;
            boolean wr = w || (dbm && cfg.hd());
            boolean x = !bit(pte, PTE_XN);
            perm = (r ? P_UR | P_PR : 0) | (wr ? P_UW | P_PW : 0) | (x ? P_UX | P_PX : 0);
            out.global = true;
        }
        if (!af && !cfg.ha() && !cfg.affd()) {
            if (log != null) {
                log.add("  AF = 0 without hardware update -> F_ACCESS");
            }
            out.fail(EVT_F_ACCESS, level, stage);
            return true;
        }
        long offset = va & ((1L << shift) - 1);
        if ((perm & need) != need) {
            if (log != null) {
                log.add(String.format("  permissions %s do not allow the access -> F_PERMISSION", permString(perm)));
            }
            out.perm = perm;
            out.pa = pa | offset;
            out.fail(EVT_F_PERMISSION, level, stage);
            return true;
        }
        /* HTTU: set AF, and clear the read-only bit of a writable-clean (DBM) page on write */
        long upd = pte;
        if (!af && cfg.ha()) {
            upd |= 1L << PTE_AF;
        }
        boolean dirtyNow = write && readOnly && dbm && cfg.hd();
        if (dirtyNow) {
            upd = stage == 1 ? upd & ~(1L << PTE_AP2) : upd | (1L << PTE_S2AP_W);
        }
        if (readOnly && dbm && cfg.hd() && !dirtyNow) {
            // writable-clean: grant what is true now; a later write walks again to dirty it
            perm &= ~(P_UW | P_PW);
        }
        if (upd != pte) {
            if (!update) {
                if (log != null) {
                    log.add(String.format("  (HTTU would write 0x%016x)", upd));
                }
            } else {
                long witness;
                try {
                    witness = mem.cmpxchgq(ptePa, pte, upd);
                } catch (BusError e) {
                    out.fetchAddr = ptePa;
                    out.clazz = EVT_CLASS_TT;
                    out.ttrnw = false;
                    out.fail(EVT_F_WALK_EABT, level, stage);
                    return true;
                }
                if (witness != pte) {
                    return false;
                }
                if (log != null) {
                    log.add(String.format("  HTTU: descriptor updated to 0x%016x", upd));
                }
            }
        }
        out.pa = pa | offset;
        out.perm = perm;
        if (SmmuV3Trace.smmu_ptw_leaf.enabled()) {
            SmmuV3Trace.smmu_ptw_leaf.emit(stage, level, va, out.pa, 1L << shift);
        }
        if (log != null) {
            log.add(String.format("  leaf at level %d: %s 0x%x, output 0x%x, perm %s", level,
                    level == 3 ? "page" : "block", 1L << shift, out.pa, permString(perm)));
        }
        return true;
    }

    static String permString(int p) {
        StringBuilder sb = new StringBuilder();
        sb.append((p & P_PR) != 0 ? 'r' : '-').append((p & P_PW) != 0 ? 'w' : '-').append((p & P_PX) != 0 ? 'x' : '-');
        sb.append('/');
        sb.append((p & P_UR) != 0 ? 'r' : '-').append((p & P_UW) != 0 ? 'w' : '-').append((p & P_UX) != 0 ? 'x' : '-');
        return sb.append(" (priv/user)").toString();
    }
}
