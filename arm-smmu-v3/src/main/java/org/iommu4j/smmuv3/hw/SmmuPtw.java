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
 * them, both VA ranges of a stage-1 regime (TTB0 below, TTB1 above: the caller picks the range's
 * {@link StageCfg} by input bit 55), TBI, EPD0/EPD1, AFFD, HAD (hierarchical attributes
 * disabled), PAN, stage-2 XN with and without XNX, HA/HD with a bounded retry when a CAS loses.
 * Can't: 52-bit output addresses (LPA), permission indirection.
 *
 * <p>Walks are allocation-free apart from the optional {@code log} used by {@code explain}.
 *
 * <p>A walk given a {@link SmmuWalkCache} starts below the deepest table descriptor cached for
 * its address and tags, and caches each table descriptor it reads (for a nested stage 1, only
 * where the next table lies whole in one stage-2 page or block, so that one physical address
 * stands for it). Dry runs ({@code explain}) use no cache.
 */
final class SmmuPtw {
    private SmmuPtw() {}

    /* fault codes (event ids) returned by walk */
    static final int OK = 0;

    /* permission bits: read, write, execute, unprivileged (U) and privileged (P) */
    static final int P_UR = 1, P_UW = 2, P_UX = 4, P_PR = 8, P_PW = 16, P_PX = 32;
    /**
     * Privileged data accesses are not refused by PAN: clear only for a stage-1 page that EL0 may
     * access under a CD with PAN = 1. A privileged read or write needs it besides P_PR / P_PW; an
     * instruction fetch does not (PAN leaves fetches alone, Arm ARM D8, "Privileged access
     * never"). Stage 2 always grants it.
     */
    static final int P_PD = 64;
    static final int P_ALL = 127;

    /**
     * One stage's translation regime, decoded from a CD (stage 1) or an STE (stage 2). A stage-1
     * regime with two VA ranges has one per range: {@code ttb1} marks the upper range's (TTB1,
     * T1SZ, TG1, TBI1, EPD1, HAD1), whose inputs have bits [63:inputBits] all ones (all but the top
     * byte with TBI); {@code epd} is the range's EPD0 or EPD1. {@code pan}: CD.PAN as it applies
     * (stage 1); {@code xnx}: stage 2 reads XN[1:0] (IDR3.XNX), else bit 54 alone.
     */
    record StageCfg(int stage, int granuleShift, int inputBits, int startLevel, int startBits, long ttb,
                    int outBits, boolean ha, boolean hd, boolean affd, boolean tbi, boolean epd, boolean wxn,
                    boolean had, boolean ttb1, boolean pan, boolean xnx) {
        /** The output addresses this stage may produce: bits [outBits-1:0]. */
        long outMask() {
            return outBits >= 64 ? -1L : (1L << outBits) - 1;
        }

        /* the walk's derived constants (walkOnce works them out per walk, Plan once) */

        /** Index bits a level below the start level resolves. */
        int stride() {
            return granuleShift - 3;
        }

        /** The input address shift of the start level's index. */
        int startShift() {
            return granuleShift + stride() * (3 - startLevel);
        }

        long startIdxMask() {
            return (1L << startBits) - 1;
        }

        long strideMask() {
            return (1L << stride()) - 1;
        }

        /** The next-level table address bits of a table descriptor. */
        long tableMask() {
            return OA_MASK & -(1L << granuleShift);
        }

        /** The start table's address: TTB aligned to the start table's size (64 bytes at least). */
        long startTable() {
            return ttb & ~((1L << Math.max(startBits + 3, 6)) - 1) & OA_MASK;
        }

        /** Bits [63:inputBits] of an input of this range (after TBI): 0 below, all ones for TTB1. */
        long topBits() {
            return ttb1 ? -1L : 0;
        }

        /** The permission tables' flags of this regime ({@link #S1_WXN}.. for stage 1, {@link #S2_XNX}). */
        int permFlags() {
            return stage == 1 ? (wxn ? S1_WXN : 0) | (pan ? S1_PAN : 0) : xnx ? S2_XNX : 0;
        }

        /** The table base register's name, for explain: TTB0, TTB1 or S2TTB. */
        String ttbName() {
            return stage == 2 ? "S2TTB" : ttb1 ? "TTB1" : "TTB0";
        }

        /** Computes the start level for stage 1 from the input size; null if the size is unusable. */
        static StageCfg s1(int granuleShift, int t0sz, long ttb, int outBits, boolean ha, boolean hd, boolean affd,
                           boolean tbi, boolean epd0, boolean wxn) {
            return s1(granuleShift, t0sz, ttb, outBits, ha, hd, affd, tbi, epd0, wxn, false);
        }

        /**
         * {@link #s1(int, int, long, int, boolean, boolean, boolean, boolean, boolean, boolean)}
         * with {@code had}: hierarchical attributes disabled (CD.HAD0 with IDR3.HAD), so the
         * table descriptors' APTable, UXNTable and PXNTable take no part in the permissions.
         */
        static StageCfg s1(int granuleShift, int t0sz, long ttb, int outBits, boolean ha, boolean hd, boolean affd,
                           boolean tbi, boolean epd0, boolean wxn, boolean had) {
            return s1(granuleShift, t0sz, ttb, outBits, ha, hd, affd, tbi, epd0, wxn, had, false, false);
        }

        /**
         * One VA range of a stage-1 regime: the lower (TTB0, T0SZ, TBI0, EPD0, HAD0) or with
         * {@code ttb1} the upper (TTB1, T1SZ, TBI1, EPD1, HAD1); {@code pan}: CD.PAN applies.
         * {@code tsz} is the range's TxSZ and {@code granuleShift} its granule, whichever
         * encoding (TG0 or TG1) it came from.
         */
        static StageCfg s1(int granuleShift, int tsz, long ttb, int outBits, boolean ha, boolean hd, boolean affd,
                           boolean tbi, boolean epd, boolean wxn, boolean had, boolean ttb1, boolean pan) {
            int ias = 64 - tsz;
            int stride = granuleShift - 3;
            int levels = (ias - granuleShift + stride - 1) / stride;
            int start = 4 - levels;
            if (start < 0 || levels < 1) {
                return null;
            }
            int startBits = ias - (granuleShift + stride * (3 - start));
            return new StageCfg(1, granuleShift, ias, start, startBits, ttb, outBits, ha, hd, affd, tbi, epd, wxn,
                    had, ttb1, pan, false);
        }

        /** Stage 2 from S2T0SZ/S2SL0/S2TG on an SMMU with IDR3.XNX; null if inconsistent (C_BAD_STE). */
        static StageCfg s2(int granuleShift, int t0sz, int sl0, long ttb, int outBits, boolean ha, boolean hd,
                           boolean affd) {
            return s2(granuleShift, t0sz, sl0, ttb, outBits, ha, hd, affd, true);
        }

        /**
         * {@link #s2(int, int, int, long, int, boolean, boolean, boolean)} with {@code xnx}, the
         * SMMU's IDR3.XNX: without it descriptor bit 53 is RES0 and bit 54 alone is XN.
         */
        static StageCfg s2(int granuleShift, int t0sz, int sl0, long ttb, int outBits, boolean ha, boolean hd,
                           boolean affd, boolean xnx) {
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
            return new StageCfg(2, granuleShift, ias, start, startBits, ttb, outBits, ha, hd, affd, false, false, false,
                    false, false, false, xnx);
        }
    }

    /** Stage-2 translation of stage-1 table addresses (nested configurations). */
    interface TableXlate {
        /** Returns the PA of {@code ipa}, or -1 after filling {@code out} with the stage-2 fault. */
        long xlate(long ipa, boolean write, int clazz, Result out);

        /** log2 of the stage-2 page or block the last successful {@link #xlate} went through. */
        int lastBlockShift();
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
        /** The leaf descriptor of a successful walk (its attributes, e.g. the stage 2 MemAttr). */
        long leaf;

        void reset() {
            fault = OK;
            leaf = 0;
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
     * <p>{@link #walkOnce} fetches descriptors down to the leaf, checks it and performs its HTTU
     * update; messages for {@code explain} are built only when {@code log} is given.
     *
     * @param write  the access writes (decides the dirty update)
     * @param need   permission bits the access needs ({@link #P_UR}..), 0 for an ATS request
     *               that asks only what is allowed
     * @param update perform HTTU updates (false for explain's dry runs)
     */
    static Result walk(PhysMem mem, StageCfg cfg, long va, boolean write, int need, boolean update, TableXlate s2,
                       List<String> log, Result out) {
        return walk(mem, cfg, va, write, need, update, s2, log, out, null, 0);
    }

    /**
     * {@link #walk(PhysMem, StageCfg, long, boolean, int, boolean, TableXlate, List, Result)}
     * through the walk cache {@code wc} (null: none) with the tags {@code wcTag}
     * ({@link SmmuWalkCache#tag}); a walk with a {@code log} uses no cache.
     */
    static Result walk(PhysMem mem, StageCfg cfg, long va, boolean write, int need, boolean update, TableXlate s2,
                       List<String> log, Result out, SmmuWalkCache wc, long wcTag) {
        out.reset();
        if (log != null) {
            wc = null;
        }
        int stage = cfg.stage();
        // the top byte takes no part in the range check: with TBI it is bit 55 copied
        long inVa = stage == 1 && cfg.tbi() ? (va << 8) >> 8 : va;
        // the bits above the range's size: all 0 for TTB0 (and stage 2), all 1 for TTB1
        if (cfg.inputBits() < 64 && inVa >> cfg.inputBits() != cfg.topBits()) {
            if (log != null) {
                log.add(String.format("stage %d: input 0x%x outside the %d-bit %s range -> F_TRANSLATION",
                        stage, va, cfg.inputBits(), cfg.ttbName()));
            }
            return out.fail(EVT_F_TRANSLATION, cfg.startLevel(), stage);
        }
        if (cfg.epd()) {
            if (log != null) {
                log.add(cfg.ttb1() ? "stage 1: CD.EPD1 = 1, TTB1 walks disabled -> F_TRANSLATION"
                        : "stage 1: CD.EPD0 = 1, TTB0 walks disabled -> F_TRANSLATION");
            }
            return out.fail(EVT_F_TRANSLATION, cfg.startLevel(), stage);
        }
        for (int attempt = 0; attempt < HTTU_RETRIES; attempt++) {
            if (walkOnce(mem, cfg, va, inVa, write, need, update, s2, log, out, wc, wcTag)) {
                return out;
            }
            // an HTTU compare-and-exchange lost: someone changed the descriptor, walk again
        }
        // the descriptor kept changing under us: report a translation fault (CONSTRAINED UNPREDICTABLE)
        return out.fail(EVT_F_TRANSLATION, 3, stage);
    }

    /**
     * One walk from the start level to the leaf, the leaf's checks and its HTTU update. True when
     * done (translated or faulted, in {@code out}); false when the update lost a race and the
     * walk must start again.
     *
     * <p>Shaped for speed: the masks are loop invariants and the shift counts down to the
     * granule, so the descriptor chain is the only dependency between levels; nested, explain and
     * tracing steps, faults and HTTU updates are out of line; the leaf's permissions are one
     * table lookup ({@link #S1_PERM}, {@link #S2_PERM}).
     */
    private static boolean walkOnce(PhysMem mem, StageCfg cfg, long va, long inVa, boolean write, int need,
                                    boolean update, TableXlate s2, List<String> log, Result out, SmmuWalkCache wc,
                                    long wcTag) {
        final int g = cfg.granuleShift();
        final int stride = cfg.stride();
        final long outMask = cfg.outMask();
        final long strideMask = cfg.strideMask();
        final long tableMask = cfg.tableMask();
        int level = cfg.startLevel();
        int shift = cfg.startShift();
        long idxMask = cfg.startIdxMask();
        long table = cfg.startTable();
        if ((table & ~outMask) != 0) {
            return addrSizeFault(cfg, "table", table, level, log, out);
        }
        final boolean special = s2 != null || log != null || SmmuV3Trace.smmu_ptw_level.enabled();
        int attrs = 0;
        /* the walk cache: the generation read before the lookup guards the inserts */
        final SmmuWalkCache c = wc != null && wc.enabled() ? wc : null;
        final long gen = c != null ? c.generation() : 0;
        /* nested: the table at this level is already a PA (resumed from the cache) */
        boolean tablePa = false;
        /* nested: the descriptor of the level above waits for its table's PA */
        boolean pending = false;
        /* nested: the IPA of the descriptor read last; -1 where the walk resumed from the cache at a PA */
        long pteIpa = -1;
        if (wc != null) {
            long hit = c != null ? c.lookup(wcTag, inVa, level) : SmmuWalkCache.MISS;
            wc.count(hit != SmmuWalkCache.MISS);
            if (hit != SmmuWalkCache.MISS) {
                level = SmmuWalkCache.hitLevel(hit) + 1;
                attrs = SmmuWalkCache.hitAttrs(hit);
                table = SmmuWalkCache.hitTable(hit);
                shift = SmmuWalkCache.regionShift(g, level);
                idxMask = strideMask;
                tablePa = s2 != null;
            }
            walkCacheNote(cfg.stage(), va, hit, wc);
        }
        long ptePa;
        long pte;
        while (true) {
            ptePa = table + ((inVa >>> shift) & idxMask) * 8;
            if (special && s2 != null) {
                pteIpa = tablePa ? -1 : ptePa;
                if (!tablePa) {
                    if ((ptePa = tableIpa(s2, ptePa, level, log, out)) == -1) {
                        return true;
                    }
                    if (pending && s2.lastBlockShift() >= g) {
                        c.insert(wcTag, level - 1, inVa, ptePa & -(1L << g), attrs, gen);
                    }
                }
                tablePa = false;
                pending = false;
            }
            try {
                pte = mem.readqAcquire(ptePa);
            } catch (BusError e) {
                return walkAbort(cfg, ptePa, true, level, log, out);
            }
            if (special) {
                noteLevel(cfg.stage(), level, va, table, (inVa >>> shift) & idxMask, ptePa, pte, log);
            }
            if (shift == g || (pte & (PTE_VALID | PTE_TABLE)) != (PTE_VALID | PTE_TABLE)) {
                break;
            }
            table = pte & tableMask;
            if ((table & ~outMask) != 0) {
                return addrSizeFault(cfg, "table", table, level, log, out);
            }
            attrs |= (int) (pte >>> PTE_PXNTABLE) & 0xf; // PXNTable, UXNTable, APTable[1:0]
            if (c != null) {
                if (s2 == null) {
                    c.insert(wcTag, level, inVa, table, attrs, gen);
                } else {
                    pending = true; // cached once stage 2 has placed the next table
                }
            }
            level++;
            shift -= stride;
            idxMask = strideMask;
        }
        // a leaf: a page at the last level (descriptor type 0b11) or a block where the granule has them
        if ((pte & PTE_VALID) == 0 || (shift == g ? (pte & PTE_TABLE) == 0 : !blockAllowed(g, level))) {
            return fail(EVT_F_TRANSLATION, "  invalid descriptor -> F_TRANSLATION", cfg, level, log, out);
        }
        long pa = pte & OA_MASK & -(1L << shift);
        if ((pa & ~outMask) != 0) {
            return addrSizeFault(cfg, "output", pa, level, log, out);
        }
        final boolean hdDbm = cfg.hd() && bit(pte, PTE_DBM);
        int perm = cfg.stage() == 1 ? S1_PERM[s1PermIndex(pte, cfg.had() ? 0 : attrs, hdDbm, cfg.permFlags())]
                : S2_PERM[s2PermIndex(pte, hdDbm, cfg.permFlags())];
        boolean af = bit(pte, PTE_AF);
        if (!af && !cfg.ha() && !cfg.affd()) {
            return fail(EVT_F_ACCESS, "  AF = 0 without hardware update -> F_ACCESS", cfg, level, log, out);
        }
        long oa = pa | (va & ((1L << shift) - 1));
        if ((perm & need) != need) {
            out.perm = perm;
            out.pa = oa;
            return fail(EVT_F_PERMISSION, log == null ? null
                    : "  permissions " + permString(perm) + " do not allow the access -> F_PERMISSION", cfg, level, log, out);
        }
        if ((!af && cfg.ha()) || hdDbm) {
            perm = httu(mem, cfg, pte, ptePa, level, hdDbm, write, update, perm, log, out, s2, pteIpa);
            if (perm == HTTU_REWALK) {
                // nested, resumed from the walk cache: walk again from the top, where every
                // descriptor's IPA is known, for stage 2 to check the update
                return walkOnce(mem, cfg, va, inVa, write, need, update, s2, log, out, null, 0);
            }
            if (perm < 0) {
                return perm != HTTU_RACED;
            }
        }
        out.level = level;
        out.blockShift = shift;
        out.pa = oa;
        out.perm = perm;
        out.leaf = pte;
        out.global = cfg.stage() != 1 || !bit(pte, PTE_NG);
        if (special || SmmuV3Trace.smmu_ptw_leaf.enabled()) {
            noteLeaf(cfg.stage(), level, va, shift, oa, perm, log);
        }
        return true;
    }

    /**
     * A stage's walk constants, worked out once for a configuration that may take
     * {@link #walkFast}: a single stage (no nested table translation), the range's walks enabled
     * (EPD0 or EPD1 clear), a start table within the output size and an input size below 64
     * bits. Null from {@link #plan} otherwise. One per VA range: a TTB1 plan walks the inputs
     * whose bits above the range's size are ones.
     */
    static final class Plan {
        final int stage;
        final int granuleShift;
        final int stride;
        final int startLevel;
        final int startShift;
        final int inputBits;
        final long startIdxMask;
        final long strideMask;
        final long tableMask;
        /** Table address bits beyond the output size. */
        final long tableBeyond;
        /**
         * Leaf bits that must be set for a walk without fault or update: valid, and AF unless
         * AFFD is set without HA.
         */
        final long leafOnes;
        /**
         * Leaf bits that must be clear: output address bits beyond the output size (from the
         * granule up; the caller masks the block's offset bits out), and DBM when HD is on (HTTU
         * may have to dirty the descriptor).
         */
        final long leafZeros;
        final long table;
        final boolean tbi;
        /** The walk cache tags of the stage's walks ({@link SmmuWalkCache#tag}). */
        final long wcTag;
        /**
         * A stage 1 lower range (TTB0) with the 4K granule that starts at level 0: {@link #walk4k}
         * may walk it (without a walk cache).
         */
        final boolean s1Level0x4k;
        /**
         * For {@link #s1Level0x4k} plans (inputs of 48 bits at most): the input address bits that
         * must be clear, [63:inputBits], or with TBI [55:inputBits] (the top byte ignored, bit 55
         * copied into it).
         */
        final long inputBeyond;
        /** For {@link #walk4k}: bits a page descriptor must have set (type 0b11 and {@link #leafOnes}). */
        final long pageOnes;
        /** For {@link #walk4k}: bits a page descriptor must have clear ({@link #leafZeros} from bit 12 up). */
        final long pageZeros;
        /** WXN's and PAN's bits of a {@link #walk4k} answer's permission key. */
        final long permKey;
        /*
         * Declared last, so that the fields walk4k reads keep the places they had before
         * these (fields are laid out by size, then in declaration order).
         */
        /** Bits [63:inputBits] of the range's inputs (after TBI): {@link StageCfg#topBits}. */
        final long topBits;
        /** The permission tables' flags ({@link StageCfg#permFlags}). */
        final int permFlags;

        private Plan(StageCfg cfg, long table, long wcTag) {
            stage = cfg.stage();
            granuleShift = cfg.granuleShift();
            stride = cfg.stride();
            startLevel = cfg.startLevel();
            startShift = cfg.startShift();
            inputBits = cfg.inputBits();
            startIdxMask = cfg.startIdxMask();
            strideMask = cfg.strideMask();
            tableMask = cfg.tableMask();
            tableBeyond = tableMask & ~cfg.outMask();
            leafOnes = PTE_VALID | (cfg.ha() || !cfg.affd() ? 1L << PTE_AF : 0);
            leafZeros = (OA_MASK & ~cfg.outMask()) | (cfg.hd() ? 1L << PTE_DBM : 0);
            this.table = table;
            tbi = stage == 1 && cfg.tbi();
            topBits = cfg.topBits();
            permFlags = cfg.permFlags();
            this.wcTag = wcTag;
            s1Level0x4k = stage == 1 && granuleShift == 12 && startLevel == 0 && !cfg.ttb1();
            inputBeyond = -1L << inputBits & (tbi ? (1L << 56) - 1 : -1L);
            pageOnes = leafOnes | PTE_VALID | PTE_TABLE;
            pageZeros = leafZeros & -(1L << 12);
            permKey = (cfg.wxn() ? KEY_WXN : 0) | (cfg.pan() ? KEY_PAN : 0);
        }
    }

    /** The {@link Plan} of {@code cfg}, or null if its walks must all take {@link #walk}. */
    static Plan plan(StageCfg cfg) {
        return plan(cfg, 0);
    }

    /** {@link #plan(StageCfg)} for walks through a walk cache with the tags {@code wcTag}. */
    static Plan plan(StageCfg cfg, long wcTag) {
        long table = cfg.startTable();
        // hierarchical attributes disabled: the fast walks apply the tables' attributes, so none
        if (cfg.epd() || cfg.had() || cfg.inputBits() >= 64 || (table & ~cfg.outMask()) != 0) {
            return null;
        }
        return new Plan(cfg, table, wcTag);
    }

    /**
     * The walk of a translation that succeeds without updating a descriptor, with the constants of
     * {@code p}: true with the result in {@code out} ({@code fault}, {@code level}, {@code pa},
     * {@code blockShift}, {@code perm}, {@code global}). False, having changed nothing, for every
     * other walk (a fault, an HTTU update to make): the caller then takes {@link #walk}, which
     * reads the same descriptors and reports the fault or makes the update. A descriptor fetch
     * outside RAM throws {@link BusError} (the caller catches it, outside the loop, and takes
     * {@link #walk}). No trace events: callers take it only while the walk's events are off.
     */
    static boolean walkFast(PhysMem mem, Plan p, long va, int need, Result out) {
        return walkFast(mem, p, va, need, out, null);
    }

    /**
     * {@link #walkFast(PhysMem, Plan, long, int, Result)} through the walk cache
     * {@code wc} (null: none) with the plan's tags. Its lookup is counted only when the fast walk
     * answers (otherwise the full walk counts its own).
     */
    static boolean walkFast(PhysMem mem, Plan p, long va, int need, Result out, SmmuWalkCache wc) {
        final long inVa = p.tbi ? (va << 8) >> 8 : va;
        if (inVa >> p.inputBits != p.topBits) {
            return false;
        }
        final int g = p.granuleShift;
        long table = p.table;
        int shift = p.startShift;
        long idxMask = p.startIdxMask;
        int level = p.startLevel;
        int attrs = 0;
        final SmmuWalkCache c = wc != null && wc.enabled() ? wc : null;
        long gen = 0;
        long hit = SmmuWalkCache.MISS;
        if (c != null) {
            gen = c.generation();
            hit = c.lookup(p.wcTag, inVa, level);
            if (hit != SmmuWalkCache.MISS) {
                level = SmmuWalkCache.hitLevel(hit) + 1;
                attrs = SmmuWalkCache.hitAttrs(hit);
                table = SmmuWalkCache.hitTable(hit);
                shift = SmmuWalkCache.regionShift(g, level);
                idxMask = p.strideMask;
            }
        }
        long pte;
        while (true) {
            pte = mem.readqAcquire(table + ((inVa >>> shift) & idxMask) * 8);
            if (shift == g || (pte & (PTE_VALID | PTE_TABLE)) != (PTE_VALID | PTE_TABLE)) {
                break;
            }
            table = pte & p.tableMask;
            if ((table & p.tableBeyond) != 0) {
                return false;
            }
            attrs |= (int) (pte >>> PTE_PXNTABLE) & 0xf;
            if (c != null) {
                c.insert(p.wcTag, level, inVa, table, attrs, gen);
            }
            level++;
            shift -= p.stride;
            idxMask = p.strideMask;
        }
        if (shift == g ? (pte & (PTE_VALID | PTE_TABLE)) != (PTE_VALID | PTE_TABLE)
                : (pte & (PTE_VALID | PTE_TABLE)) != PTE_VALID || !blockAllowed(g, level)) {
            return false; // not a page at the last level, nor a block where the granule has them
        }
        // a leaf that translates as it is: AF, DBM and the output size checked at once
        if ((pte & p.leafOnes) != p.leafOnes || (pte & p.leafZeros & -(1L << shift)) != 0) {
            return false;
        }
        int perm = p.stage == 1 ? S1_PERM[s1PermIndex(pte, attrs, false, p.permFlags)]
                : S2_PERM[s2PermIndex(pte, false, p.permFlags)];
        if ((perm & need) != need) {
            return false;
        }
        out.fault = OK;
        out.level = level;
        out.blockShift = shift;
        out.pa = (pte & OA_MASK & -(1L << shift)) | (va & ((1L << shift) - 1));
        out.perm = perm;
        out.global = p.stage != 1 || !bit(pte, PTE_NG);
        if (wc != null) {
            wc.count(hit != SmmuWalkCache.MISS);
        }
        return true;
    }

    /** {@link #walk4k}'s answer when {@link #walkFast} must decide. */
    static final long WALK4K_NO = -1;

    /**
     * {@link #walkFast} without a walk cache for a plan with {@link Plan#s1Level0x4k}, unrolled
     * into its four levels with constant shifts and masks, and with its answer in one long
     * instead of a {@link Result}: the page's or block's output address bits in [47:12]
     * ({@link #walk4kPa}), the size's log2 in bits [5:0] ({@link #walk4kSize}), and in bits
     * [62:53] the bits the stage-1 permissions depend on ({@link #walk4kKey}, {@link
     * #s1PermOfKey}): the leaf's PXN and UXN where the leaf has them, its AP[2:1] in bits
     * [56:55], the plan's WXN in bit 57 and PAN in bit 58, and the tables' PXNTable, UXNTable
     * and APTable (ORed down the walk) where the tables have them. {@link #WALK4K_NO} (having changed nothing)
     * where walkFast would answer false even for an access that needs no permission; the caller
     * checks the permissions, most often by comparing the key with the last walk's, so that
     * they need not wait on a table load after the leaf's. {@code table} is the
     * plan's start table (the caller may keep it nearer to hand than the plan). A descriptor
     * fetch outside RAM throws {@link BusError}.
     * <p>
     * The four descriptors are fetched first and judged after, in one test, for the commonest
     * case (three table descriptors and a page). A walk that ends early (a block, an invalid
     * descriptor) has then also read words its tables do not lead to, which reading RAM cannot
     * disturb; it is walked again level by level ({@link #walk4kStepwise}), which reads only
     * what the tables lead to, and so is a walk whose extra reads left RAM.
     */
    static long walk4k(PhysMem mem, Plan p, long table, long va) {
        // walkFast's range check of the input address (TBI's sign extension included); the
        // indexes below take bits [47:12], where the input address is the address itself
        if ((va & p.inputBeyond) != 0) {
            return WALK4K_NO;
        }
        long d0, d1, d2, d3, notTables;
        try {
            d0 = mem.readqAcquire(table + ((va >>> 39) & p.startIdxMask) * 8);
            d1 = mem.readqAcquire((d0 & TABLE_4K) + ((va >>> 27) & 0xff8));
            // d ^ 3 clears a table descriptor's type bits [1:0] and keeps the rest: ORed, the
            // three hold any wrong type, any address bit beyond the output size, and the table
            // attributes (APTable, UXNTable, PXNTable) the permission index takes
            notTables = (d0 ^ 3) | (d1 ^ 3);
            d2 = mem.readqAcquire((d1 & TABLE_4K) + ((va >>> 18) & 0xff8));
            notTables |= d2 ^ 3;
            d3 = mem.readqAcquire((d2 & TABLE_4K) + ((va >>> 9) & 0xff8));
        } catch (BusError e) {
            return walk4kStepwise(mem, p, table, va);
        }
        // three tables (type 0b11, no address bit beyond the output size) and a page (type
        // 0b11, AF, no DBM to deal with, no address bit beyond the output size)
        if ((notTables & (p.tableBeyond | 3) | ~d3 & p.pageOnes | d3 & p.pageZeros) != 0) {
            return walk4kStepwise(mem, p, table, va);
        }
        // leaf4k's answer for a page, written out: through a helper shared with it, the walk
        // measured 4% slower in one JVM (AbCompare, both orders)
        return d3 & (TABLE_4K | LEAF_XN) | (d3 & LEAF_AP) << KEY_AP_SHIFT | notTables & TABLE_ATTRS | p.permKey | 12;
    }

    /**
     * {@link #walk4k} one level at a time, each descriptor judged before the next is fetched:
     * for the walks it does not answer in one go.
     */
    private static long walk4kStepwise(PhysMem mem, Plan p, long table, long va) {
        // a next-level table: type 0b11 and no address bit beyond the output size, in one test
        final long tableCheck = p.tableBeyond | 3;
        long d0 = mem.readqAcquire(table + ((va >>> 39) & p.startIdxMask) * 8);
        if (((d0 ^ 3) & tableCheck) != 0) {
            return WALK4K_NO; // level 0 has no blocks with 4K
        }
        long d1 = mem.readqAcquire((d0 & TABLE_4K) + ((va >>> 27) & 0xff8));
        if (((d1 ^ 3) & tableCheck) != 0) {
            return block4k(p, d1, d0, 30);
        }
        long d2 = mem.readqAcquire((d1 & TABLE_4K) + ((va >>> 18) & 0xff8));
        if (((d2 ^ 3) & tableCheck) != 0) {
            return block4k(p, d2, d0 | d1, 21);
        }
        long d3 = mem.readqAcquire((d2 & TABLE_4K) + ((va >>> 9) & 0xff8));
        return (d3 & 3) == (PTE_VALID | PTE_TABLE) ? leaf4k(p, d3, d0 | d1 | d2, 12) : WALK4K_NO;
    }

    /**
     * {@link #walk4k}'s answer for a descriptor {@code pte} that is not a next-level table at
     * level 1 or 2 (of size {@code 1 << shift}) under the table descriptors {@code tables} (ORed):
     * a block if of the block type.
     */
    private static long block4k(Plan p, long pte, long tables, int shift) {
        return (pte & 3) == PTE_VALID ? leaf4k(p, pte, tables, shift) : WALK4K_NO;
    }

    /**
     * {@link #walk4k}'s answer for the leaf {@code pte} (a page, or a block of the valid type)
     * of size {@code 1 << shift} under the table descriptors {@code tables} (ORed): the leaf
     * checks of {@link #walkFast} but the permissions, with AF, DBM and the output size in one
     * test.
     */
    private static long leaf4k(Plan p, long pte, long tables, int shift) {
        if ((~pte & p.leafOnes | pte & p.leafZeros & -(1L << shift)) != 0) {
            return WALK4K_NO;
        }
        return pte & OA_MASK & -(1L << shift) | pte & LEAF_XN | (pte & LEAF_AP) << KEY_AP_SHIFT
                | tables & TABLE_ATTRS | p.permKey | shift;
    }

    /* the permission key of a walk4k answer, bits [62:53]: the leaf's PXN and UXN (53, 54), its
       AP[2:1] (55, 56), WXN (57), PAN (58) and the tables' attributes (59..62) */
    private static final long LEAF_XN = 1L << PTE_PXN | 1L << PTE_UXN;
    private static final long LEAF_AP = 3L << PTE_AP1;
    /** From a leaf's AP[2:1] (bits [7:6]) to the answer's bits [56:55]. */
    private static final int KEY_AP_SHIFT = 55 - PTE_AP1;
    private static final long KEY_WXN = 1L << 57;
    private static final long KEY_PAN = 1L << 58;
    private static final long TABLE_ATTRS = 0xfL << PTE_PXNTABLE;

    /** The permission key of a {@link #walk4k} answer (not {@link #WALK4K_NO}): one of {@link #WALK4K_KEYS}. */
    static int walk4kKey(long w) {
        return (int) (w >>> 53);
    }

    /** The number of {@link #walk4kKey}s. */
    static final int WALK4K_KEYS = 1 << 10;

    /** The stage-1 permissions ({@code P_*} bits) of a {@link #walk4kKey}. */
    static int s1PermOfKey(int key) {
        long w = (long) key << 53;
        long pte = w & LEAF_XN | (w >>> KEY_AP_SHIFT) & LEAF_AP;
        int flags = ((w & KEY_WXN) != 0 ? S1_WXN : 0) | ((w & KEY_PAN) != 0 ? S1_PAN : 0);
        return S1_PERM[s1PermIndex(pte, (int) (w >>> PTE_PXNTABLE) & 0xf, false, flags)];
    }

    /** The page's or block's size of a {@link #walk4k} answer (not {@link #WALK4K_NO}). */
    static long walk4kSize(long w) {
        return 1L << w; // the shift count is w's bits [5:0]
    }

    /** The output address of {@code va} by a {@link #walk4k} answer (not {@link #WALK4K_NO}). */
    static long walk4kPa(long w, long va) {
        return w & TABLE_4K | va & walk4kSize(w) - 1;
    }

    /** The next-level table address bits of a 4K-granule table descriptor. */
    private static final long TABLE_4K = OA_MASK & -(1L << 12);

    /* out-of-line parts of walkOnce: nested and explain steps, faults, HTTU */

    /** Stage-2 translation of a stage-1 table descriptor's IPA; -1 with {@code out} holding the fault. */
    private static long tableIpa(TableXlate s2, long ipa, int level, List<String> log, Result out) {
        long pa = s2.xlate(ipa, false, EVT_CLASS_TT, out);
        if (pa == -1) {
            out.level = level;
            if (log != null) {
                log.add(String.format("stage 1 level %d: table IPA 0x%x faults at stage 2 -> %s", level, ipa,
                        eventName(out.fault)));
            }
        }
        return pa;
    }

    /** The walk cache trace event of a walk's lookup ({@code hit}: {@link SmmuWalkCache#lookup}'s answer). */
    private static void walkCacheNote(int stage, long va, long hit, SmmuWalkCache wc) {
        if (hit != SmmuWalkCache.MISS) {
            if (SmmuV3Trace.smmu_ptw_walk_cache_hit.enabled()) {
                SmmuV3Trace.smmu_ptw_walk_cache_hit.emit(stage, SmmuWalkCache.hitLevel(hit), va,
                        SmmuWalkCache.hitTable(hit), wc.hits(), wc.misses());
            }
        } else if (SmmuV3Trace.smmu_ptw_walk_cache_miss.enabled()) {
            SmmuV3Trace.smmu_ptw_walk_cache_miss.emit(stage, va, wc.hits(), wc.misses());
        }
    }

    /** The trace event and explain line of one descriptor fetch. */
    private static void noteLevel(int stage, int level, long va, long table, long idx, long ptePa, long pte,
                                  List<String> log) {
        if (SmmuV3Trace.smmu_ptw_level.enabled()) {
            SmmuV3Trace.smmu_ptw_level.emit(stage, level, va, table, ptePa, pte);
        }
        if (log != null) {
            log.add(String.format("stage %d level %d: table 0x%x index %d -> descriptor @0x%x = 0x%016x", stage,
                    level, table, idx, ptePa, pte));
        }
    }

    private static void noteLeaf(int stage, int level, long va, int shift, long oa, int perm, List<String> log) {
        if (SmmuV3Trace.smmu_ptw_leaf.enabled()) {
            SmmuV3Trace.smmu_ptw_leaf.emit(stage, level, va, oa, 1L << shift);
        }
        if (log != null) {
            log.add(String.format("  leaf at level %d: %s 0x%x, output 0x%x, perm %s", level,
                    level == 3 ? "page" : "block", 1L << shift, oa, permString(perm)));
        }
    }

    /** Records fault {@code f} at {@code level} in {@code out}; true (the walk is done). */
    private static boolean fail(int f, String message, StageCfg cfg, int level, List<String> log, Result out) {
        if (log != null) {
            log.add(message);
        }
        out.fail(f, level, cfg.stage());
        return true;
    }

    /** A table base, table descriptor or output address beyond the output size. */
    private static boolean addrSizeFault(StageCfg cfg, String what, long addr, int level, List<String> log,
                                         Result out) {
        return fail(EVT_F_ADDR_SIZE, log == null ? null : String.format(
                "stage %d level %d: %s 0x%x beyond %d-bit output size -> F_ADDR_SIZE", cfg.stage(), level, what, addr,
                cfg.outBits()), cfg, level, log, out);
    }

    /** An external abort on the descriptor at {@code ptePa}: its fetch ({@code read}) or its HTTU update. */
    private static boolean walkAbort(StageCfg cfg, long ptePa, boolean read, int level, List<String> log,
                                     Result out) {
        out.fetchAddr = ptePa;
        out.clazz = EVT_CLASS_TT;
        out.ttrnw = read;
        return fail(EVT_F_WALK_EABT, log == null ? null : String.format(
                "stage %d level %d: descriptor %s at 0x%x -> external abort", cfg.stage(), level,
                read ? "fetch" : "update", ptePa), cfg, level, log, out);
    }

    /**
     * {@link #httu}'s results that are not permissions: the compare-and-exchange lost, an
     * external abort, a stage 2 fault on a nested update, and a nested update whose descriptor's
     * IPA is not known (the walk resumed below it from the walk cache).
     */
    private static final int HTTU_RACED = -1, HTTU_ABORTED = -2, HTTU_S2_FAULT = -3, HTTU_REWALK = -4;

    /**
     * The leaf's HTTU update: sets AF, and makes a writable-clean descriptor ({@code dbm}: DBM set
     * with HD on) dirty on a write by clearing AP[2] (stage 1) or setting S2AP[1] (stage 2).
     * Returns the permissions to grant (write removed from a page left clean), {@link #HTTU_RACED}
     * when the compare-and-exchange lost, or {@link #HTTU_ABORTED} with an external abort in
     * {@code out}.
     * <p>
     * In a nested walk ({@code s2} not null) the update is a write of the stage-1 descriptor at
     * {@code pteIpa}, which stage 2 translates as one: without stage 2 write permission it is a
     * stage 2 fault of CLASS TT with TTRnW = 0 ({@link #HTTU_S2_FAULT}, the fault in {@code out},
     * the descriptor unchanged); with it, stage 2 may set its own AF or dirty state.
     * {@link #HTTU_REWALK} when {@code pteIpa} is not known (-1).
     */
    private static int httu(PhysMem mem, StageCfg cfg, long pte, long ptePa, int level, boolean dbm, boolean write,
                            boolean update, int perm, List<String> log, Result out, TableXlate s2, long pteIpa) {
        final int stage = cfg.stage();
        boolean readOnly = stage == 1 ? bit(pte, PTE_AP2) : !bit(pte, PTE_S2AP_W);
        long upd = pte;
        if (!bit(pte, PTE_AF) && cfg.ha()) {
            upd |= 1L << PTE_AF;
        }
        boolean dirtyNow = write && readOnly && dbm;
        if (dirtyNow) {
            upd = stage == 1 ? upd & ~(1L << PTE_AP2) : upd | (1L << PTE_S2AP_W);
        }
        if (readOnly && dbm && !dirtyNow) {
            // writable-clean: grant what is true now; a later write walks again to dirty it
            perm &= ~(P_UW | P_PW);
        }
        if (upd == pte) {
            return perm;
        }
        if (!update) {
            if (log != null) {
                log.add(String.format("  (HTTU would write 0x%016x)", upd));
            }
            return perm;
        }
        if (s2 != null) {
            if (pteIpa == -1) {
                return HTTU_REWALK;
            }
            if (s2.xlate(pteIpa, true, EVT_CLASS_TT, out) == -1) {
                out.level = level;
                out.ttrnw = false;
                if (log != null) {
                    log.add(String.format("  HTTU: stage 2 refuses the write of the descriptor at IPA 0x%x -> %s",
                            pteIpa, eventName(out.fault)));
                }
                return HTTU_S2_FAULT;
            }
        }
        long witness;
        try {
            witness = mem.cmpxchgq(ptePa, pte, upd);
        } catch (BusError e) {
            walkAbort(cfg, ptePa, false, level, log, out);
            return HTTU_ABORTED;
        }
        if (witness != pte) {
            return HTTU_RACED;
        }
        if (log != null) {
            log.add(String.format("  HTTU: descriptor updated to 0x%016x", upd));
        }
        return perm;
    }

    /* table descriptor bits 59..62 as accumulated down the walk */
    private static final int TA_PXN = 1, TA_UXN = 2, TA_AP0 = 4, TA_AP1 = 8;

    /**
     * Stage-1 leaf permissions by {@link #s1PermIndex}: AP[2:1], PXN, UXN, the accumulated
     * table attributes, DBM-with-HD (writable-clean counts as writable), WXN and PAN.
     */
    private static final int[] S1_PERM = new int[1 << 11];
    /** Stage-2 leaf permissions by {@link #s2PermIndex}: S2AP[1:0], XN[1:0], DBM-with-HD, XNX. */
    private static final int[] S2_PERM = new int[1 << 6];

    /* the regime's flags in the permission tables' indexes ({@link StageCfg#permFlags}) */
    static final int S1_WXN = 0x200, S1_PAN = 0x400, S2_XNX = 0x20;

    private static int s1PermIndex(long pte, int attrs, boolean hdDbm, int flags) {
        return ((int) (pte >>> PTE_AP1) & 3) | ((int) (pte >>> (PTE_PXN - 2)) & 0xc) | attrs << 4
                | (hdDbm ? 0x100 : 0) | flags;
    }

    private static int s2PermIndex(long pte, boolean hdDbm, int flags) {
        return ((int) (pte >>> PTE_S2AP_R) & 3) | ((int) (pte >>> (PTE_S2_XN0 - 2)) & 0xc) | (hdDbm ? 0x10 : 0)
                | flags;
    }

    static {
        for (int i = 0; i < S1_PERM.length; i++) {
            S1_PERM[i] = s1Perm((i & 1) != 0, (i & 2) != 0, (i & 4) != 0, (i & 8) != 0, (i >>> 4) & 0xf,
                    (i & 0x100) != 0, (i & S1_WXN) != 0, (i & S1_PAN) != 0);
        }
        for (int i = 0; i < S2_PERM.length; i++) {
            boolean r = (i & 1) != 0, w = (i & 2) != 0 || (i & 0x10) != 0;
            // with IDR3.XNX, XN[1:0] (bits 54:53): 0b00 executable at EL1 and EL0, 0b01 at EL0
            // only, 0b10 at neither, 0b11 at EL1 only. Without it bit 53 is RES0 and bit 54 is
            // XN: 0b0x executable at both, 0b1x at neither
            int xn = (i >>> 2) & 3;
            if ((i & S2_XNX) == 0) {
                xn &= 2;
            }
            boolean px = xn == 0 || xn == 3, ux = xn == 0 || xn == 1;
            S2_PERM[i] = (r ? P_UR | P_PR : 0) | (w ? P_UW | P_PW : 0) | (px ? P_PX : 0) | (ux ? P_UX : 0) | P_PD;
        }
    }

    /**
     * The VMSAv8-64 stage-1 permission model (Arm ARM D8.4) for one combination of inputs. With
     * {@code pan} (CD.PAN, as PSTATE.PAN on a PE) a page that EL0 may read after APTable is
     * refused to privileged data accesses: {@link #P_PD} stays clear. Execute permissions are
     * worked out as without PAN.
     */
    private static int s1Perm(boolean ap1, boolean ap2, boolean pxn, boolean uxn, int attrs, boolean hdDbm,
                              boolean wxn, boolean pan) {
        boolean ro = (attrs & TA_AP1) != 0 || (ap2 && !hdDbm);
        boolean ur = ap1 && (attrs & TA_AP0) == 0;
        int perm = P_PR;
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
        boolean wxnDenies = wxn && !ro;
        if (!uxn && (attrs & TA_UXN) == 0 && !wxnDenies) {
            perm |= P_UX;
        }
        if (!pxn && (attrs & TA_PXN) == 0 && !el0Writable && !wxnDenies) {
            perm |= P_PX;
        }
        if (!(pan && ur)) {
            perm |= P_PD;
        }
        return perm;
    }

    static String permString(int p) {
        StringBuilder sb = new StringBuilder();
        sb.append((p & P_PR) != 0 ? 'r' : '-').append((p & P_PW) != 0 ? 'w' : '-').append((p & P_PX) != 0 ? 'x' : '-');
        sb.append('/');
        sb.append((p & P_UR) != 0 ? 'r' : '-').append((p & P_UW) != 0 ? 'w' : '-').append((p & P_UX) != 0 ? 'x' : '-');
        sb.append(" (priv/user)");
        if ((p & P_PD) == 0) {
            sb.append(", privileged data refused by PAN");
        }
        return sb.toString();
    }
}
