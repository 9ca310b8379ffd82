package org.iommu4j.smmuv3.hw;

import static org.iommu4j.smmuv3.hw.SmmuV3Internal.*;
import static org.iommu4j.smmuv3.hw.SmmuV3Trace.*;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.eclipse.collections.impl.map.mutable.primitive.LongObjectHashMap;
import org.iommu4j.base.hw.AtcInvalidation;
import org.iommu4j.base.hw.AtsEndpoint;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.BusError;
import org.iommu4j.base.hw.DmaPort;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.hw.Interconnect;
import org.iommu4j.base.hw.MmioDevice;
import org.iommu4j.base.hw.PageRequest;
import org.iommu4j.base.hw.PageResponse;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.base.trace.Trace;

/**
 * A simulated Arm SMMUv3 (IHI 0070), written from the architecture, that the Linux driver
 * programs through MMIO and memory exactly as it programs the real thing.
 *
 * <p>What it can do: the register file of page 0 and page 1 with reset values, RO/RAZ/WI
 * behaviour, 64-bit registers as two halves, the CR0/CR0ACK and IRQ_CTRL/IRQ_CTRLACK
 * handshakes, the GBPA update protocol and GERROR/GERRORN toggling; the command queue
 * (consumed synchronously on the CMDQ_PROD write, or on a consumer thread) with every
 * non-secure command Linux issues and CONS.ERR reporting; event and PRI queues with wrap and
 * overflow flags; linear and 2-level stream tables; STE configurations abort, bypass, stage 1,
 * stage 2 and nested; linear and 2-level CD tables; substream rules (S1DSS, S1CDMax); VMSAv8-64
 * walks for both stages with HTTU, stage 1 with its two VA ranges (TTB0 and TTB1, chosen by input
 * bit 55, except in the EL2 regime of CR2.E2H = 0, which has TTB0 alone), CD.PAN, and stage 2's
 * XN with and without IDR3.XNX; a configuration cache, a TLB and a walk cache of table
 * descriptors invalidated only by the architected commands, honouring their Leaf and TTL fields
 * as strictly as the architecture allows (fronted by a micro-TLB that any invalidation empties,
 * so the hit path is one array probe); the terminate and stall fault models (a stall whose record the Event queue
 * can't take is held and retried once it can); ATS translation requests (Success with the
 * permissions of section 13.7.1, Unsupported Request, Completer Abort) and translated
 * transactions (CR0.ATSCHK, STE.EATS); PRI page requests and responses, with the automatic
 * responses of chapter 8 (PRI queue off or aborted, overflow with IDR3.PPS / STE.PPAR); BTM
 * (ASET-aware); wired and MSI interrupts; the validity rules of STEs and CDs (ILLEGAL and
 * IGNORED fields, reserved encodings that behave as others); QEMU-named trace events;
 * {@link #explain} for a step-by-step account of one translation.
 *
 * <p>What it can't do: the secure programming interface, ATOS/VATOS, ECMDQ, VMS/PIDM, MPAM,
 * 52-bit addresses, AArch32 tables, split-stage ATS and DPT (IDR0.NS1ATS is set),
 * CR2.REC_CFG_ATS, event merging; memory attributes are accepted and ignored, except stage 2
 * Device memory under STE.S2PTW. A stage-1 fault under a CD with A = 0 (and IDR0.TERM_MODEL = 0)
 * terminates the transaction RAZ/WI ({@link DmaResult#RAZ_WI}); with A = 1 it aborts.
 *
 * <p>Locking: {@code lock} guards the register file, queue pointers, GERROR, the stall table
 * and writes into the event and PRI queues; {@code cmdqLock} serialises command consumption and
 * is taken before {@code lock}, never after. Calls out to endpoints (ATC invalidation, PRG
 * responses) and stall resolution happen holding only {@code cmdqLock}, so a device may react
 * on its own thread. The caches have their own monitors. Translation reads registers through
 * volatile fields and never holds {@code lock} while walking.
 */
public final class SmmuV3 implements MmioDevice, DmaPort {
    private final Board board;
    private final PhysMem mem;
    private final SmmuCaps caps;
    private final FrontCache microFront = new FrontCache() {
        @Override
        public void invalidated() {
            killMicro();
        }

        @Override
        public long steHits() {
            return microHits + cfgHits + walk4kHits;
        }

        @Override
        public long cdHits() {
            // most hits use a CD: those without one are the ones counted (a walk4k entry has one)
            return microHits - microNoCdHits + cfgHits - cfgNoCdHits + walk4kHits;
        }

        @Override
        public long tlbHits() {
            return microHits;
        }

        @Override
        public long tlbMisses() {
            return walk4kHits;
        }

        @Override
        public long walkMisses() {
            return walk4kHits;
        }
    };
    private final ConfigCache configCache = new ConfigCache(microFront);
    private final SmmuTlb tlb = new SmmuTlb(256, 4, microFront);
    /**
     * Table descriptors of stage-1 and stage-2 walks. Invalidated before the TLB by each command,
     * so a walk that resumed from an entry an invalidation removes has read the TLB's generation
     * before that invalidation too, and its TLB and micro-TLB inserts are dropped.
     */
    private final SmmuWalkCache walkCache = new SmmuWalkCache(256, 4, microFront);

    private final ReentrantLock lock = new ReentrantLock();
    private final ReentrantLock cmdqLock = new ReentrantLock();

    /* ---------------- register file (guarded by lock; volatile for the translation path) ---------------- */

    private volatile int cr0, cr0ack, cr1, cr2, gbpa = GBPA_RESET, irqCtrl, irqCtrlAck, gerror, gerrorn;
    private volatile long strtabBase;
    private volatile int strtabBaseCfg;
    private final long[] irqCfg0 = new long[3];
    private final int[] irqCfg1 = new int[3];
    private final int[] irqCfg2 = new int[3];
    private static final int IRQ_GERROR = 0, IRQ_EVTQ = 1, IRQ_PRIQ = 2;
    private static final String[] IRQ_NAMES = {"gerror", "eventq", "priq", "cmd-sync"};

    /** One architected queue: its BASE register and the PROD/CONS registers. */
    private static final class Queue {
        final int entrySize;
        final int maxLog2;
        long base;
        int prod;
        int cons;

        Queue(int entrySize, int maxLog2) {
            this.entrySize = entrySize;
            this.maxLog2 = maxLog2;
        }

        /** LOG2SIZE above the implemented maximum acts as the maximum. */
        int log2size() {
            return Math.min((int) (base & 0x1f), maxLog2);
        }

        /** The base address; low bits below the queue size are treated as zero (CONSTRAINED UNPREDICTABLE). */
        long addr() {
            long size = Math.max(32L, (long) entrySize << log2size());
            return base & Q_BASE_ADDR_MASK & ~(size - 1);
        }

        long slot(int ptr) {
            return addr() + (long) Q_IDX(ptr, log2size()) * entrySize;
        }
    }

    private final Queue cmdq;
    private final Queue evtq;
    private final Queue priq;

    private volatile int virqEvtq = -1, virqPriq = -1, virqGerror = -1, virqSync = -1;

    /* ---------------- state beyond the registers ---------------- */

    /** Held transactions by (SID << 16 | STAG). Guarded by lock. */
    private final LongObjectHashMap<Stall> stalls = new LongObjectHashMap<>();
    /**
     * Stalled transactions whose event record could not be written because the Event queue was
     * not writable (section 7.2.1: stall events are not discarded). Each is retried, as though it
     * had just arrived, once the queue is writable again. Guarded by {@code lock}.
     */
    private final List<Stall> unrecordedStalls = new ArrayList<>();
    private int nextStag;
    /** An ATC invalidation failed since the last CMD_SYNC. Guarded by cmdqLock. */
    private boolean atcInvFailed;
    private static final int EVENT_LOG_MAX = 4096;
    private final ArrayDeque<SmmuEvent> eventLog = new ArrayDeque<>();
    private long eventsRecorded, eventsLost, eventsDiscarded, priRecorded, priLost, syncs, sevs, commands;

    /**
     * The micro-TLB (a TBU's front cache): whole translations keyed by (StreamID, SubstreamID,
     * 4K input page), each stamped with {@link #microEpoch} and {@link Trace#generation()} when
     * it was made. Every invalidation of the configuration cache or the TLB (and disabling
     * either), and every CR0 write, advances the epoch and so kills every micro entry: it never
     * holds what the architected caches would not. Entries are not made while a hit-path trace
     * event is enabled, and one made before such an event was enabled no longer matches the
     * trace generation, so traces always show the architected caches. Entries are immutable;
     * the array is read and written without a lock (a lost or stale slot only costs a miss).
     */
    private static final class MicroEntry {
        final int sid;
        final int ssid;
        final long page;
        final long paPage;
        /** Bit a set: the translation grants an access of DmaTransaction.access a (0..15). */
        final int allowed;
        final long pageSize;
        /** {@link #stamp} of the epoch and trace generation the entry was made in. */
        final long stamp;
        /** The translation used a CD (a hit on it is a CD hit as well). */
        final boolean hasCd;
        /** The translation's permissions as DmaResult ones, for a privileged / an unprivileged access. */
        final int dmaPermPriv;
        final int dmaPermUser;

        MicroEntry(int sid, int ssid, long page, long paPage, int perm, long pageSize, long epoch, long traceGen,
                   boolean hasCd) {
            this.sid = sid;
            this.ssid = ssid;
            this.page = page;
            this.paPage = paPage;
            this.allowed = ALLOWED[perm & SmmuPtw.P_ALL];
            this.pageSize = pageSize;
            this.stamp = stamp(epoch, traceGen);
            this.hasCd = hasCd;
            this.dmaPermPriv = dmaPerm(perm, true);
            this.dmaPermUser = dmaPerm(perm, false);
        }
    }

    /**
     * The configuration front cache: the STE and CD a (StreamID, SubstreamID) translates with,
     * for the accesses that miss the micro-TLB (the TLB turned off, a new page). Made only once
     * the configuration cache holds (or would hold) them, stamped and killed like
     * {@link MicroEntry}, and credited to the configuration cache's hit counters: it serves
     * nothing the configuration cache would not. Its entries lead straight to the TLB lookup and
     * the walk, past the checks the STE and CD already passed for that (StreamID, SubstreamID).
     *
     * <p>An entry is also the route every translation past its STE and CD takes (made for it
     * when it cannot be cached): the TLB tags, and for a single stage the constants of
     * {@link SmmuPtw#walkFast}, worked out once.
     */
    private static final class CfgEntry {
        final int sid;
        final int ssid;
        final ConfigCache.Ste ste;
        /** Null for a stage-2-only configuration. */
        final ConfigCache.Cd cd;
        /** {@link #stamp} of the epoch and trace generation the entry was made in. */
        final long stamp;
        /* the TLB tags of this configuration's translations */
        final int regime;
        final int vmid;
        final int asid;
        /** Stage 1 with CD.TBI0: the top byte of a TTB0 input takes no part in the TLB tag. */
        final boolean tbi;
        /** Stage 1 walks whose table addresses stage 2 translates. */
        final boolean nested;
        /** Broadcast TLB maintenance applies to its TLB entries: CD.ASET = 0, or stage 2 only. */
        final boolean shared;
        /** ATS translation requests are served: the SMMU has ATS and the effective STE.EATS is not abort. */
        final boolean atsOk;
        /** The walk cache tags of the walk of the first stage to walk ({@link SmmuWalkCache#tag}). */
        final long wcTag;
        /**
         * The fast walk's constants for the one stage to walk; null (every walk the full one) for
         * nested configurations, while a walk trace event is on, or where {@link SmmuPtw#plan}
         * has none.
         */
        final SmmuPtw.Plan plan;
        /**
         * A TLB or translation trace event was on when this entry was made; when false they are
         * not checked again (an event's change advances the trace generation, which kills a
         * cached entry, and a fresh one serves one translation).
         */
        final boolean traced;
        /**
         * The TLB was on when this entry was made. Switching the TLB invalidates it, which
         * advances the epoch and kills this entry, so while the entry is current this is the
         * switch's setting (read after the epoch the entry is stamped with).
         */
        final boolean tlbOn;
        /**
         * Translations with this entry walk (the TLB is off) with the fast walk's plan and trace
         * nothing: {@link #walkOnly} may serve them.
         */
        final boolean walkOnly;
        /** {@link #walkOnly} with a plan {@link SmmuPtw#walk4k} may walk. */
        final boolean walk4k;
        /** The plan's start table, one load nearer than through {@link #plan} (0 without a plan). */
        final long table;
        /*
         * Declared last, so that the fields walk4kHit reads keep the places they had before
         * these (fields are laid out by size, then in declaration order).
         */
        /** Stage 1 with two VA ranges and CD.TBI1: the top byte of a TTB1 input takes no part in the TLB tag. */
        final boolean tbi1;
        /** Stage 1 with CD.PAN applying: a TLB tag (the entries' permissions have it applied). */
        final boolean pan;
        /** The walk cache tags of stage 1's TTB1 walks (0 with one VA range). */
        final long wcTag1;
        /**
         * {@link #plan} for the inputs of stage 1's upper VA range (input bit 55 set): TTB1's;
         * null as for plan, and with one VA range.
         */
        final SmmuPtw.Plan plan1;

        CfgEntry(int sid, int ssid, ConfigCache.Ste ste, ConfigCache.Cd cd, long epoch, long traceGen,
                 SmmuCaps caps, boolean tlbOn) {
            this.sid = sid;
            this.ssid = ssid;
            this.ste = ste;
            this.cd = cd;
            this.stamp = stamp(epoch, traceGen);
            this.tlbOn = tlbOn;
            if (cd != null) {
                regime = ste.strw() == STE_STRW_EL2 ? SmmuTlb.REGIME_EL2 : SmmuTlb.REGIME_NS_EL1;
                vmid = regime == SmmuTlb.REGIME_EL2 || !caps.s2p() ? 0 : ste.vmid();
                asid = cd.asid();
                tbi = cd.s1().tbi();
                tbi1 = cd.s1hi() != null && cd.s1hi().tbi();
                pan = cd.s1().pan();
            } else {
                regime = SmmuTlb.REGIME_S2;
                vmid = ste.vmid();
                asid = 0;
                tbi = false;
                tbi1 = false;
                pan = false;
            }
            nested = cd != null && ste.s2() != null;
            shared = cd == null || !CD_ASET(cd.words());
            atsOk = caps.ats() && ste.eats() != STE_EATS_ABT;
            SmmuPtw.StageCfg first = cd != null ? cd.s1() : ste.s2();
            wcTag = SmmuWalkCache.tag(regime, vmid, asid, nested, shared, first.granuleShift());
            SmmuPtw.StageCfg hi = cd != null ? cd.s1hi() : null;
            wcTag1 = hi != null ? SmmuWalkCache.tag(regime, vmid, asid, nested, shared, hi.granuleShift(), true) : 0;
            this.traced = smmu_iotlb_lookup_hit.enabled() || smmu_iotlb_lookup_miss.enabled()
                    || smmu_iotlb_insert.enabled() || smmuv3_translate_success.enabled();
            // the fast walk emits no walk events: none while they are on (a change of either
            // advances the trace generation, which kills this entry)
            boolean noPlan = nested || smmu_ptw_level.enabled() || smmu_ptw_leaf.enabled()
                    || smmu_ptw_walk_cache_hit.enabled() || smmu_ptw_walk_cache_miss.enabled();
            this.plan = noPlan ? null : SmmuPtw.plan(first, wcTag);
            this.plan1 = noPlan || hi == null ? null : SmmuPtw.plan(hi, wcTag1);
            this.walkOnly = !tlbOn && plan != null && !traced;
            this.walk4k = walkOnly && plan.s1Level0x4k;
            this.table = plan != null ? plan.table : 0;
        }
    }

    private static final int CFG_BITS = 8;
    private final CfgEntry[] cfgFront = new CfgEntry[1 << CFG_BITS];
    /**
     * Configuration front cache hits, and those of them without a CD (plain counters, as
     * {@link #microHits}).
     */
    private long cfgHits, cfgNoCdHits;
    /**
     * Translations {@link #walk4kHit} answered: each one configuration hit (with a CD), one TLB
     * miss and one walk cache miss, credited to those caches' counters through {@link
     * #microFront} so that the hot path counts once.
     */
    private long walk4kHits;

    /**
     * The last {@link SmmuPtw#walk4k} permission key (bits [24:15]) with its {@link #S1_PERMS}
     * entry; -1 before the first. Most walks find the permissions of the one before, so the
     * permissions reach the result without waiting on the leaf descriptor's load and a table load
     * after it: only the compare (a predicted branch) waits. One int, so a racing thread reads a
     * key with its own entry.
     */
    private int walkPerm = -1;

    /**
     * The configuration front cache entry last written, looked at before the array: a run of one
     * stream's translations finds its entry (and the walk its start table) without waiting on the
     * index hash and the array load. Written with the array, so it is the entry the array holds
     * at its index (two threads writing one index may leave each its own, alike stamped: each
     * served what the array would have served had its write come last).
     */
    private CfgEntry cfgLast;

    private static int cfgIdx(int sid, int ssid) {
        long h = (((long) sid << 20) + ssid) * 0x9E3779B97F4A7C15L;
        return (int) (h >>> (64 - CFG_BITS));
    }

    private static final int MICRO_BITS = 10;
    private final MicroEntry[] micro = new MicroEntry[1 << MICRO_BITS];
    /**
     * A requester's walk state, kept in its {@link DmaResult#cb} so that a translation, nested
     * ones included, allocates nothing: the walk's result, a stage-2 result, and the translator
     * of stage-1 table addresses through stage 2 (bound to the SMMU, STE and log of the
     * translation in progress).
     */
    private static final class WalkScratch implements SmmuPtw.TableXlate {
        /** The scratch kept in {@code res}, made on the first walk into it. */
        static WalkScratch of(DmaResult res) {
            if (res.cb instanceof WalkScratch w) {
                return w;
            }
            WalkScratch w = new WalkScratch();
            res.cb = w;
            return w;
        }

        final SmmuPtw.Result result = new SmmuPtw.Result();
        final SmmuPtw.Result s2 = new SmmuPtw.Result();
        SmmuV3 smmu;
        ConfigCache.Ste ste;
        List<String> log;

        WalkScratch bind(SmmuV3 smmu, ConfigCache.Ste ste, List<String> log) {
            this.smmu = smmu;
            this.ste = ste;
            this.log = log;
            return this;
        }

        @Override
        public long xlate(long ipa, boolean write, int clazz, SmmuPtw.Result out) {
            return smmu.s2Xlate(ste, ipa, clazz, write, out, log, s2);
        }

        @Override
        public int lastBlockShift() {
            return s2.blockShift;
        }
    }
    /**
     * Micro-TLB hits, and those of them without a CD (plain counters: exact single-threaded,
     * approximate under concurrency). The CD hits are the difference: most hits use a CD, so
     * the common hit updates one counter.
     */
    private long microHits, microNoCdHits;
    /** See {@link MicroEntry}; advanced by {@link #killMicro}. */
    private volatile long microEpoch;
    private static final VarHandle MICRO_EPOCH;

    static {
        try {
            MICRO_EPOCH = MethodHandles.lookup().findVarHandle(SmmuV3.class, "microEpoch", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Invalidates every micro-TLB entry (called by the caches on any invalidation, and on CR0 writes). */
    private void killMicro() {
        MICRO_EPOCH.getAndAdd(this, 1L);
    }

    /**
     * One number for an (epoch, trace generation) pair that changes whenever either does: both only
     * ever grow (the epoch by {@link #killMicro}, the generation by its contract), so their sum is
     * equal to an earlier sum only if neither has moved. A front cache entry stamped with it is
     * current with one compare.
     */
    private static long stamp(long epoch, long traceGen) {
        return epoch + traceGen;
    }

    private static int microIdx(int sid, int ssid, long page) {
        long h = (page + ((long) sid << 20) + ssid) * 0x9E3779B97F4A7C15L;
        return (int) (h >>> (64 - MICRO_BITS));
    }

    private static boolean hitTraced() {
        return smmuv3_translate_success.enabled() || smmu_iotlb_lookup_hit.enabled() || smmuv3_config_cache_hit.enabled();
    }

    private Thread consumer;
    private boolean consumerStop;
    private boolean doorbell;
    private final Condition doorbellRung = lock.newCondition();
    private final AutoCloseable btmHandle;

    /** A simulated SMMU on {@code board}; nothing is mapped or wired until {@link #mapMmio} / {@link #wireIrqs}. */
    public SmmuV3(Board board, SmmuCaps caps) {
        this.board = board;
        this.mem = board.mem;
        this.caps = caps;
        this.cmdq = new Queue(CMDQ_ENTRY_SIZE, caps.cmdqs());
        this.evtq = new Queue(EVTQ_ENTRY_SIZE, caps.eventqs());
        this.priq = new Queue(PRIQ_ENTRY_SIZE, caps.priqs());
        this.btmHandle = caps.btm() ? board.interconnect.addListener(this::btmTlbi) : null;
    }

    /** Maps the 128 KiB register region (page 0 and page 1) at {@code base} on the board's MMIO bus. */
    public void mapMmio(long base) {
        board.mmio.map("smmuv3@" + Long.toHexString(base), base, MMIO_SIZE, this);
    }

    /** Wires the interrupt lines to virqs of {@code board.irqs}; -1 = not wired; a combined line = the same virq. */
    public void wireIrqs(int eventqVirq, int priqVirq, int gerrorVirq, int cmdqSyncVirq) {
        virqEvtq = eventqVirq;
        virqPriq = priqVirq;
        virqGerror = gerrorVirq;
        virqSync = cmdqSyncVirq;
    }

    public SmmuCaps caps() {
        return caps;
    }

    public ConfigCache configCache() {
        return configCache;
    }

    public SmmuTlb tlb() {
        return tlb;
    }

    public SmmuWalkCache walkCache() {
        return walkCache;
    }

    /** Stops the consumer thread and leaves the interconnect. */
    public void close() {
        setConsumerThread(false);
        if (btmHandle != null) {
            try {
                btmHandle.close();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }

    /* =========================================================================================
     * MMIO decode
     * ========================================================================================= */

    private static boolean is64(int off) {
        return switch (off) {
            case A_GERROR_IRQ_CFG0, A_STRTAB_BASE, A_CMDQ_BASE, A_EVENTQ_BASE, A_EVENTQ_IRQ_CFG0, A_PRIQ_BASE,
                 A_PRIQ_IRQ_CFG0 -> true;
            default -> false;
        };
    }

    /**
     * Whether an access is one the register file decodes: 4 or 8 bytes, naturally aligned,
     * inside the two pages. Anything else is CONSTRAINED UNPREDICTABLE; this model answers it
     * RAZ/WI with an unimp trace, so an unaligned 32-bit access never lands on a register (or on
     * half of a 64-bit one) and a 64-bit access never straddles two 32-bit registers it does not
     * start at.
     */
    private static boolean decodable(long offset, int size) {
        return (size == 4 || size == 8) && (offset & (size - 1)) == 0 && offset >= 0 && offset < MMIO_SIZE;
    }

    @Override
    public long mmioRead(long offset, int size) {
        long v;
        lock.lock();
        try {
            int off = (int) offset;
            if (!decodable(offset, size)) {
                unimp("%d-byte read at 0x%x", size, offset);
                v = 0;
            } else if (size == 8 && is64(off)) {
                v = read64(off);
            } else if (size == 8) {
                v = Integer.toUnsignedLong(read32(off)) | (Integer.toUnsignedLong(read32(off + 4)) << 32);
            } else if (size == 4 && is64(off & ~7)) {
                long r = read64(off & ~7);
                v = (off & 4) == 0 ? r & 0xffffffffL : r >>> 32;
            } else {
                v = Integer.toUnsignedLong(read32(off));
            }
        } finally {
            lock.unlock();
        }
        if (smmuv3_read_mmio.enabled()) {
            smmuv3_read_mmio.emit(offset, v, size);
        }
        return v;
    }

    @Override
    public void mmioWrite(long offset, long value, int size) {
        if (smmuv3_write_mmio.enabled()) {
            smmuv3_write_mmio.emit(offset, value, size);
        }
        boolean kick;
        lock.lock();
        try {
            int off = (int) offset;
            if (!decodable(offset, size)) {
                unimp("%d-byte write at 0x%x", size, offset);
                kick = false;
            } else if (size == 8 && is64(off)) {
                kick = write64(off, value);
            } else if (size == 8) {
                kick = write32(off, (int) value);
                kick |= write32(off + 4, (int) (value >>> 32));
            } else if (size == 4 && is64(off & ~7)) {
                long r = read64(off & ~7);
                long nv = (off & 4) == 0 ? (r & 0xffffffff00000000L) | (value & 0xffffffffL)
                        : (r & 0xffffffffL) | (value << 32);
                kick = write64(off & ~7, nv);
            } else {
                kick = write32(off, (int) value);
            }
            // EVENTQ_CONS, CR0.EVENTQEN or GERRORN may have made the Event queue writable again
            retryUnrecordedStalls();
        } finally {
            lock.unlock();
        }
        if (kick) {
            kickCmdq();
        }
    }

    /**
     * Whether the 32-bit word at {@code off} belongs to a register this SMMU does not have: the
     * *_IRQ_CFG0/1/2 MSI configuration registers are present only with IDR0.MSI, the PRI queue's
     * PRIQ_BASE, PRIQ_PROD and PRIQ_CONS only with IDR0.PRI, and PRIQ_IRQ_CFG0/1/2 only with both.
     * An absent register is RES0: it reads as zero and ignores writes.
     */
    private boolean absent(int off) {
        boolean msiReg = switch (off) {
            case A_GERROR_IRQ_CFG0, A_GERROR_IRQ_CFG0 + 4, A_GERROR_IRQ_CFG1, A_GERROR_IRQ_CFG2,
                 A_EVENTQ_IRQ_CFG0, A_EVENTQ_IRQ_CFG0 + 4, A_EVENTQ_IRQ_CFG1, A_EVENTQ_IRQ_CFG2,
                 A_PRIQ_IRQ_CFG0, A_PRIQ_IRQ_CFG0 + 4, A_PRIQ_IRQ_CFG1, A_PRIQ_IRQ_CFG2 -> true;
            default -> false;
        };
        boolean priReg = switch (off) {
            case A_PRIQ_BASE, A_PRIQ_BASE + 4, PAGE1 + A_PRIQ_PROD, PAGE1 + A_PRIQ_CONS,
                 A_PRIQ_IRQ_CFG0, A_PRIQ_IRQ_CFG0 + 4, A_PRIQ_IRQ_CFG1, A_PRIQ_IRQ_CFG2 -> true;
            default -> false;
        };
        return msiReg && !caps.msi() || priReg && !caps.pri();
    }

    /** Call only holding lock. */
    private long read64(int off) {
        if (absent(off)) {
            return raz(off);
        }
        return switch (off) {
            case A_GERROR_IRQ_CFG0 -> irqCfg0[IRQ_GERROR];
            case A_STRTAB_BASE -> strtabBase;
            case A_CMDQ_BASE -> cmdq.base;
            case A_EVENTQ_BASE -> evtq.base;
            case A_EVENTQ_IRQ_CFG0 -> irqCfg0[IRQ_EVTQ];
            case A_PRIQ_BASE -> priq.base;
            case A_PRIQ_IRQ_CFG0 -> irqCfg0[IRQ_PRIQ];
            default -> throw new AssertionError("not a 64-bit register: 0x" + Integer.toHexString(off));
        };
    }

    /** ID registers at 0xFD0..0xFFC: PIDR4..7, PIDR0..3, CIDR0..3 of an MMU-600-like part. */
    private static final int[] IDREGS = {0x04, 0, 0, 0, 0x84, 0xb4, 0xf0, 0x10, 0x0d, 0xf0, 0x05, 0xb1};

    /** Call only holding lock. */
    private int read32(int off) {
        if (absent(off)) {
            return raz(off);
        }
        if (off >= PAGE1) {
            // Page 1 holds only the output-queue PROD/CONS registers; the rest is RES0.
            return switch (off - PAGE1) {
                case A_EVENTQ_PROD -> evtq.prod;
                case A_EVENTQ_CONS -> evtq.cons;
                case A_PRIQ_PROD -> priq.prod;
                case A_PRIQ_CONS -> priq.cons;
                default -> raz(off);
            };
        }
        if (off >= A_IDREGS && off < A_IDREGS + 4 * IDREGS.length) {
            return IDREGS[(off - A_IDREGS) / 4];
        }
        return switch (off) {
            case A_IDR0 -> caps.idr0();
            case A_IDR1 -> caps.idr1();
            case A_IDR2 -> caps.idr2();
            case A_IDR3 -> caps.idr3();
            case A_IDR4 -> caps.idr4();
            case A_IDR5 -> caps.idr5();
            case A_IIDR -> caps.iidr();
            case A_AIDR -> caps.aidr();
            case A_CR0 -> cr0;
            case A_CR0ACK -> cr0ack;
            case A_CR1 -> cr1;
            case A_CR2 -> cr2;
            case A_STATUSR -> 0;
            case A_GBPA -> gbpa;
            case A_AGBPA -> 0;
            case A_IRQ_CTRL -> irqCtrl;
            case A_IRQ_CTRLACK -> irqCtrlAck;
            case A_GERROR -> gerror;
            case A_GERRORN -> gerrorn;
            case A_GERROR_IRQ_CFG1 -> irqCfg1[IRQ_GERROR];
            case A_GERROR_IRQ_CFG2 -> irqCfg2[IRQ_GERROR];
            case A_STRTAB_BASE_CFG -> strtabBaseCfg;
            case A_CMDQ_PROD -> cmdq.prod;
            case A_CMDQ_CONS -> cmdq.cons;
            case A_EVENTQ_IRQ_CFG1 -> irqCfg1[IRQ_EVTQ];
            case A_EVENTQ_IRQ_CFG2 -> irqCfg2[IRQ_EVTQ];
            case A_PRIQ_IRQ_CFG1 -> irqCfg1[IRQ_PRIQ];
            case A_PRIQ_IRQ_CFG2 -> irqCfg2[IRQ_PRIQ];
            // EVENTQ/PRIQ PROD/CONS live on page 1 only: 0xA8.. of page 0 is reserved (RAZ/WI)
            default -> raz(off);
        };
    }

    private int raz(int off) {
        if (smmuv3_unhandled_mmio.enabled()) {
            smmuv3_unhandled_mmio.emit(off, "read");
        }
        return 0;
    }

    private int cr0Mask() {
        int m = R_CR0_SMMUEN | R_CR0_EVENTQEN | R_CR0_CMDQEN;
        if (caps.pri()) {
            m |= R_CR0_PRIQEN;
        }
        if (caps.ats()) {
            m |= R_CR0_ATSCHK;
        }
        return m;
    }

    /** Call only holding lock. Returns true if the command queue should be consumed. */
    private boolean write64(int off, long v) {
        if (absent(off)) {
            wi(off, (int) v);
            return false;
        }
        switch (off) {
            case A_GERROR_IRQ_CFG0 -> writeIrqCfg0(IRQ_GERROR, R_IRQ_CTRL_GERROR_IRQEN, v);
            case A_EVENTQ_IRQ_CFG0 -> writeIrqCfg0(IRQ_EVTQ, R_IRQ_CTRL_EVENTQ_IRQEN, v);
            case A_PRIQ_IRQ_CFG0 -> writeIrqCfg0(IRQ_PRIQ, R_IRQ_CTRL_PRI_IRQEN, v);
            case A_STRTAB_BASE -> {
                if ((cr0 & R_CR0_SMMUEN) != 0 || (cr0ack & R_CR0_SMMUEN) != 0) {
                    guestError("STRTAB_BASE written while SMMUEN = 1: ignored");
                } else {
                    strtabBase = v & (STRTAB_BASE_RA | STRTAB_BASE_ADDR_MASK);
                }
            }
            case A_CMDQ_BASE -> writeQueueBase(cmdq, R_CR0_CMDQEN, "CMDQ_BASE", v);
            case A_EVENTQ_BASE -> writeQueueBase(evtq, R_CR0_EVENTQEN, "EVENTQ_BASE", v);
            case A_PRIQ_BASE -> writeQueueBase(priq, R_CR0_PRIQEN, "PRIQ_BASE", v);
            default -> throw new AssertionError("not a 64-bit register: 0x" + Integer.toHexString(off));
        }
        return false;
    }

    private void writeIrqCfg0(int which, int irqen, long v) {
        if ((irqCtrl & irqen) != 0) {
            guestError("IRQ_CFG0 written while its IRQ is enabled: ignored");
            return;
        }
        irqCfg0[which] = v & IRQ_CFG0_ADDR_MASK;
    }

    private void writeQueueBase(Queue q, int enBit, String name, long v) {
        if ((cr0 & enBit) != 0 || (cr0ack & enBit) != 0) {
            guestError(name + " written while the queue is enabled: ignored");
            return;
        }
        q.base = v & Q_BASE_WRITABLE;
    }

    /** Call only holding lock. Returns true if the command queue should be consumed. */
    private boolean write32(int off, int v) {
        if (absent(off)) {
            wi(off, v);
            return false;
        }
        if (off >= PAGE1) {
            switch (off - PAGE1) {
                case A_EVENTQ_PROD -> {
                    if ((cr0 & R_CR0_EVENTQEN) != 0) {
                        guestError("EVENTQ_PROD written while EVENTQEN = 1: ignored");
                    } else {
                        evtq.prod = v & (Q_PTR_MASK | Q_OVF_FLAG);
                    }
                }
                case A_EVENTQ_CONS -> evtq.cons = v & (Q_PTR_MASK | Q_OVF_FLAG);
                case A_PRIQ_PROD -> {
                    if ((cr0 & R_CR0_PRIQEN) != 0) {
                        guestError("PRIQ_PROD written while PRIQEN = 1: ignored");
                    } else {
                        priq.prod = v & (Q_PTR_MASK | Q_OVF_FLAG);
                    }
                }
                case A_PRIQ_CONS -> priq.cons = v & (Q_PTR_MASK | Q_OVF_FLAG);
                default -> wi(off, v);
            }
            return false;
        }
        switch (off) {
            case A_CR0 -> {
                return updateCr0(v & cr0Mask());
            }
            case A_CR1 -> cr1 = v & 0xfff;
            case A_CR2 -> cr2 = v & (R_CR2_RECINVSID | R_CR2_PTM | (caps.hyp() ? R_CR2_E2H : 0));
            case A_GBPA -> {
                // The update protocol: a write with Update = 1 takes effect and the SMMU clears
                // Update at once; a write with Update = 0 is ignored.
                if ((v & R_GBPA_UPDATE) != 0) {
                    gbpa = v & R_GBPA_WRITABLE;
                    if (smmuv3_write_gbpa.enabled()) {
                        smmuv3_write_gbpa.emit(gbpa);
                    }
                } else {
                    guestError("GBPA written without Update: ignored");
                }
            }
            case A_IRQ_CTRL -> {
                int m = R_IRQ_CTRL_GERROR_IRQEN | R_IRQ_CTRL_EVENTQ_IRQEN | (caps.pri() ? R_IRQ_CTRL_PRI_IRQEN : 0);
                irqCtrl = v & m;
                irqCtrlAck = irqCtrl;
            }
            case A_GERRORN -> {
                return writeGerrorn(v);
            }
            case A_GERROR_IRQ_CFG1 -> irqCfg1[IRQ_GERROR] = v;
            case A_GERROR_IRQ_CFG2 -> irqCfg2[IRQ_GERROR] = v & 0x3f;
            case A_STRTAB_BASE_CFG -> {
                if ((cr0 & R_CR0_SMMUEN) != 0 || (cr0ack & R_CR0_SMMUEN) != 0) {
                    guestError("STRTAB_BASE_CFG written while SMMUEN = 1: ignored");
                } else {
                    strtabBaseCfg = v & STRTAB_BASE_CFG_WRITABLE;
                }
            }
            case A_CMDQ_PROD -> {
                cmdq.prod = v & Q_PTR_MASK;
                return true;
            }
            case A_CMDQ_CONS -> {
                if ((cr0 & R_CR0_CMDQEN) != 0) {
                    guestError("CMDQ_CONS written while CMDQEN = 1: ignored");
                } else {
                    cmdq.cons = v & (Q_PTR_MASK | (0x7f << R_CMDQ_CONS_ERR_SHIFT));
                }
            }
            case A_EVENTQ_IRQ_CFG1 -> irqCfg1[IRQ_EVTQ] = v;
            case A_EVENTQ_IRQ_CFG2 -> irqCfg2[IRQ_EVTQ] = v & 0x3f;
            case A_PRIQ_IRQ_CFG1 -> irqCfg1[IRQ_PRIQ] = v;
            case A_PRIQ_IRQ_CFG2 -> irqCfg2[IRQ_PRIQ] = v & 0x3f;
            default -> wi(off, v);
        }
        return false;
    }

    private void wi(int off, int v) {
        if (off < A_CR0 || (off >= A_IDREGS && off < 0x1000)) {
            if (smmuv3_write_mmio_idr.enabled()) {
                smmuv3_write_mmio_idr.emit(off, v);
            }
        } else if (smmuv3_unhandled_mmio.enabled()) {
            smmuv3_unhandled_mmio.emit(off, "write");
        }
    }

    /** CR0 write: the change takes effect at once and CR0ACK follows. Call only holding lock. */
    private boolean updateCr0(int v) {
        int old = cr0;
        cr0 = v;
        cr0ack = v;
        killMicro();
        if (smmuv3_update_cr0.enabled()) {
            smmuv3_update_cr0.emit(v, old);
        }
        if ((old & R_CR0_SMMUEN) != 0 && (v & R_CR0_SMMUEN) == 0) {
            terminateStalls(-1); // disabling translation drops held transactions
        }
        return (v & R_CR0_CMDQEN) != 0 && (old & R_CR0_CMDQEN) == 0;
    }

    /** GERRORN write: software acknowledges errors. Call only holding lock. */
    private boolean writeGerrorn(int v) {
        int old = gerrorn;
        gerrorn = v & R_GERROR_MASK;
        if (smmuv3_write_gerrorn.enabled()) {
            smmuv3_write_gerrorn.emit(gerrorn ^ old, old, gerrorn);
        }
        // CMDQ_ERR acknowledged: consumption resumes without a PROD write
        return ((old ^ gerror) & R_GERROR_CMDQ_ERR) != 0 && ((gerrorn ^ gerror) & R_GERROR_CMDQ_ERR) == 0;
    }

    /** Raises global errors: toggles each bit of {@code bits} not already active. Call only holding lock. */
    private void raiseGerror(int bits) {
        int active = gerror ^ gerrorn;
        int toggle = bits & ~active;
        if (toggle == 0) {
            return;
        }
        gerror ^= toggle;
        if (smmuv3_write_gerror.enabled()) {
            smmuv3_write_gerror.emit(toggle, gerror);
        }
        if ((irqCtrl & R_IRQ_CTRL_GERROR_IRQEN) != 0) {
            triggerIrq(IRQ_GERROR);
        }
    }

    /** Signals interrupt {@code which} by MSI if configured, else on the wired line. Call only holding lock. */
    private void triggerIrq(int which) {
        long addr = irqCfg0[which];
        boolean msi = caps.msi() && addr != 0;
        if (smmuv3_trigger_irq.enabled()) {
            smmuv3_trigger_irq.emit(IRQ_NAMES[which], msi ? 1 : 0);
        }
        if (msi) {
            try {
                board.sysbus.write32(addr, irqCfg1[which]);
            } catch (BusError e) {
                int err = switch (which) {
                    case IRQ_EVTQ -> R_GERROR_MSI_EVENTQ_ABT_ERR;
                    case IRQ_PRIQ -> R_GERROR_MSI_PRIQ_ABT_ERR;
                    default -> R_GERROR_MSI_GERROR_ABT_ERR;
                };
                if (which == IRQ_GERROR) {
                    gerror ^= err & ~(gerror ^ gerrorn); // no second interrupt for the failed one
                } else {
                    raiseGerror(err);
                }
            }
            return;
        }
        int virq = switch (which) {
            case IRQ_EVTQ -> virqEvtq;
            case IRQ_PRIQ -> virqPriq;
            default -> virqGerror;
        };
        if (virq >= 0) {
            board.irqs.raise(virq);
        }
    }

    /* =========================================================================================
     * Command queue
     * ========================================================================================= */

    /**
     * Consumes commands on the calling thread (default), or wakes the consumer thread. In the
     * synchronous mode every command up to PROD has completed when the CMDQ_PROD write returns.
     */
    private void kickCmdq() {
        lock.lock();
        try {
            if (consumer != null) {
                doorbell = true;
                doorbellRung.signalAll();
                return;
            }
        } finally {
            lock.unlock();
        }
        cmdqConsume();
    }

    /** Switches between synchronous consumption (false, the default) and a consumer thread (true). */
    public void setConsumerThread(boolean on) {
        Thread t;
        lock.lock();
        try {
            if (on == (consumer != null)) {
                return;
            }
            if (on) {
                consumerStop = false;
                consumer = new Thread(this::consumerLoop, "smmuv3-cmdq");
                consumer.setDaemon(true);
                consumer.start();
                doorbell = true;
                doorbellRung.signalAll();
                return;
            }
            consumerStop = true;
            doorbellRung.signalAll();
            t = consumer;
            consumer = null;
        } finally {
            lock.unlock();
        }
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void consumerLoop() {
        while (true) {
            lock.lock();
            try {
                while (!doorbell && !consumerStop) {
                    doorbellRung.awaitUninterruptibly();
                }
                if (consumerStop) {
                    return;
                }
                doorbell = false;
            } finally {
                lock.unlock();
            }
            cmdqConsume();
        }
    }

    private boolean cmdqErrActive() {
        return ((gerror ^ gerrorn) & R_GERROR_CMDQ_ERR) != 0;
    }

    /**
     * Executes commands from CONS to PROD. Stops on an empty queue, when CMDQEN is clear, while
     * GERROR.CMDQ_ERR is active, and on an error, leaving CONS on the failing command with
     * CONS.ERR set before GERROR.CMDQ_ERR toggles.
     */
    private void cmdqConsume() {
        cmdqLock.lock();
        try {
            while (true) {
                long dw0, dw1;
                int cons;
                lock.lock();
                try {
                    int n = cmdq.log2size();
                    if ((cr0 & R_CR0_CMDQEN) == 0 || cmdqErrActive() || Q_EMPTY(cmdq.prod, cmdq.cons, n)) {
                        if (smmuv3_cmdq_consume_out.enabled()) {
                            smmuv3_cmdq_consume_out.emit(Q_IDX(cmdq.prod, n), Q_IDX(cmdq.cons, n), Q_WRAP(cmdq.prod, n),
                                    Q_WRAP(cmdq.cons, n));
                        }
                        return;
                    }
                    cons = cmdq.cons;
                    if (smmuv3_cmdq_consume.enabled()) {
                        smmuv3_cmdq_consume.emit(Q_IDX(cmdq.prod, n), Q_IDX(cons, n), Q_WRAP(cmdq.prod, n), Q_WRAP(cons, n));
                    }
                    long a = cmdq.slot(cons);
                    try {
                        dw0 = mem.readqAcquire(a);
                        dw1 = mem.readqAcquire(a + 8);
                    } catch (BusError e) {
                        cmdqError(CERROR_ABT, "fetch");
                        return;
                    }
                } finally {
                    lock.unlock();
                }
                int err = executeCommand(dw0, dw1);
                lock.lock();
                try {
                    commands++;
                    if (err != CERROR_NONE) {
                        cmdqError(err, cmdName(CMD_OP(dw0)));
                        return;
                    }
                    int n = cmdq.log2size();
                    cmdq.cons = Q_INCR(cons, n) | (cmdq.cons & ~((2 << n) - 1) & ~Q_PTR_MASK);
                } finally {
                    lock.unlock();
                }
            }
        } finally {
            cmdqLock.unlock();
        }
    }

    /** Call only holding lock. */
    private void cmdqError(int err, String what) {
        if (smmuv3_cmdq_consume_error.enabled()) {
            smmuv3_cmdq_consume_error.emit(what, err);
        }
        cmdq.cons = (int) FIELD_DP64(cmdq.cons, R_CMDQ_CONS_ERR_SHIFT, R_CMDQ_CONS_ERR_LENGTH, err);
        raiseGerror(R_GERROR_CMDQ_ERR);
    }

    /** Executes one command; returns CERROR_NONE or the error that stops the queue. Holds cmdqLock only. */
    private int executeCommand(long dw0, long dw1) {
        int op = CMD_OP(dw0);
        if (smmuv3_cmdq_opcode.enabled()) {
            smmuv3_cmdq_opcode.emit(cmdName(op));
        }
        if (CMD_SSEC(dw0)) {
            guestError(cmdName(op) + " with SSec = 1 on the non-secure queue");
            return CERROR_ILL;
        }
        int sid = CMD_SID(dw0);
        switch (op) {
            case CMD_PREFETCH_CONFIG, CMD_PREFETCH_ADDR -> {
                // a prefetch is a hint; this model fetches on demand
            }
            case CMD_CFGI_STE -> {
                configCache.invalidateSid(sid);
                if (smmuv3_cmdq_cfgi_ste.enabled()) {
                    smmuv3_cmdq_cfgi_ste.emit(sid);
                }
            }
            case CMD_CFGI_STE_RANGE -> {
                int range = CMD_STE_RANGE(dw1);
                long start = 0, end = 0xffffffffL;
                if (range < 31) {
                    long span = 1L << (range + 1);
                    start = Integer.toUnsignedLong(sid) & ~(span - 1);
                    end = start + span - 1;
                }
                configCache.invalidateSidRange(start, end);
                if (smmuv3_cmdq_cfgi_ste_range.enabled()) {
                    smmuv3_cmdq_cfgi_ste_range.emit(start, end);
                }
            }
            case CMD_CFGI_CD -> {
                configCache.invalidateCd(sid, CMD_SSID(dw0));
                if (smmuv3_cmdq_cfgi_cd.enabled()) {
                    smmuv3_cmdq_cfgi_cd.emit(sid, CMD_SSID(dw0), false);
                }
            }
            case CMD_CFGI_CD_ALL -> {
                configCache.invalidateCdAll(sid);
                if (smmuv3_cmdq_cfgi_cd.enabled()) {
                    smmuv3_cmdq_cfgi_cd.emit(sid, 0, true);
                }
            }
            case CMD_TLBI_NH_ALL, CMD_TLBI_NH_ASID, CMD_TLBI_NH_VA, CMD_TLBI_NH_VAA -> {
                if (!caps.s1p()) {
                    return CERROR_ILL;
                }
                tlbiS1(op, SmmuTlb.REGIME_NS_EL1, caps.s2p() ? CMD_VMID(dw0) : 0, dw0, dw1);
            }
            case CMD_TLBI_EL2_ALL, CMD_TLBI_EL2_ASID, CMD_TLBI_EL2_VA, CMD_TLBI_EL2_VAA -> {
                if (!caps.s1p() || !caps.hyp()) {
                    return CERROR_ILL;
                }
                tlbiS1(op - (CMD_TLBI_EL2_ALL - CMD_TLBI_NH_ALL), SmmuTlb.REGIME_EL2, SmmuTlb.ANY, dw0, dw1);
            }
            case CMD_TLBI_S12_VMALL -> {
                if (!caps.s2p()) {
                    return CERROR_ILL;
                }
                int vmid = CMD_VMID(dw0);
                tlbi((1 << SmmuTlb.REGIME_NS_EL1) | (1 << SmmuTlb.REGIME_S2), vmid, SmmuTlb.ANY, 0, 0, 0, true, false,
                        "S12_VMALL");
                traceTlbi(op, vmid, 0, 0, 0, false);
            }
            case CMD_TLBI_S2_IPA -> {
                if (!caps.s2p()) {
                    return CERROR_ILL;
                }
                int vmid = CMD_VMID(dw0);
                long[] r = tlbiRange(dw0, dw1, CMD_IPA(dw1));
                int ttl = tlbiTtl(dw1);
                // stage-2 walk entries only: stage-1 walk entries of nested configurations (their
                // table addresses came through stage 2) stay, as combined TLB entries do
                if (!CMD_LEAF(dw1)) {
                    walkCache.invalidate(1 << SmmuTlb.REGIME_S2, vmid, SmmuTlb.ANY, r[0], r[1], ttl, false, "S2_IPA");
                }
                tlb.invalidateIpa(vmid, r[0], r[1], ttl);
                traceTlbi(op, vmid, 0, r[0], r[1] >>> 12, CMD_LEAF(dw1));
            }
            case CMD_TLBI_NSNH_ALL -> {
                tlbi((1 << SmmuTlb.REGIME_NS_EL1) | (1 << SmmuTlb.REGIME_S2), SmmuTlb.ANY, SmmuTlb.ANY, 0, 0, 0, true,
                        false, "NSNH_ALL");
                traceTlbi(op, 0, 0, 0, 0, false);
            }
            case CMD_ATC_INV -> {
                if (!caps.ats()) {
                    return CERROR_ILL;
                }
                atcInv(sid, dw0, dw1);
            }
            case CMD_PRI_RESP -> {
                int resp = CMD_PRI_RESP(dw1);
                if (!caps.pri() || resp == 3) {
                    return CERROR_ILL;
                }
                priResp(sid, dw0, dw1, resp);
            }
            case CMD_RESUME -> {
                if (caps.stallModel() == STALL_MODEL_TERMINATE) {
                    return CERROR_ILL;
                }
                resume(sid, CMD_RESUME_STAG(dw1), CMD_RESUME_AC(dw0), CMD_RESUME_AB(dw0));
            }
            case CMD_STALL_TERM -> {
                if (caps.stallModel() == STALL_MODEL_TERMINATE) {
                    return CERROR_ILL;
                }
                lock.lock();
                try {
                    terminateStalls(sid);
                } finally {
                    lock.unlock();
                }
            }
            case CMD_SYNC -> {
                return cmdSync(dw0, dw1);
            }
            default -> {
                guestError("illegal command opcode 0x" + Integer.toHexString(op));
                return CERROR_ILL;
            }
        }
        return CERROR_NONE;
    }

    /** {@code len}, or less so that [start, start + len) does not pass the top of the address space. */
    private static long clampToTop(long start, long len) {
        return Long.compareUnsigned(len, -start) > 0 && start != 0 ? -start : len;
    }

    /** The [start, length) of a TLBI by address: one address, or with IDR3.RIL a (NUM+1) << SCALE page range. */
    private long[] tlbiRange(long dw0, long dw1, long addr) {
        int tg = CMD_TG(dw1);
        if (tg == 0 || !caps.ril()) {
            return new long[] {addr, 1};
        }
        int pageShift = switch (tg) {
            case 1 -> 12;
            case 2 -> 14;
            default -> 16;
        };
        long pages = (long) (CMD_NUM(dw0) + 1) << CMD_SCALE(dw0);
        long start = addr & ~((1L << pageShift) - 1);
        return new long[] {start, pages << pageShift};
    }

    /** TLBI_NH_* and TLBI_EL2_* ({@code op} normalised to the NH opcode). */
    private void tlbiS1(int op, int regime, int vmid, long dw0, long dw1) {
        int asid = CMD_ASID(dw0);
        if (!caps.asid16()) {
            asid &= 0xff;
        }
        int mask = 1 << regime;
        switch (op) {
            case CMD_TLBI_NH_ALL -> {
                tlbi(mask, vmid, SmmuTlb.ANY, 0, 0, 0, true, false, regime == SmmuTlb.REGIME_EL2 ? "EL2_ALL" : "NH_ALL");
                traceTlbi(op, vmid, 0, 0, 0, false);
            }
            case CMD_TLBI_NH_ASID -> {
                walkCache.invalidate(mask, vmid, asid, 0, 0, 0, false, "ASID");
                tlb.invalidate(mask, vmid, asid, false, 0, 0, "ASID");
                traceTlbi(op, vmid, asid, 0, 0, false);
            }
            case CMD_TLBI_NH_VA, CMD_TLBI_NH_VAA -> {
                // the EL2 regime of CR2.E2H = 0 has no ASIDs (CD.ASID is IGNORED in it): TLBI_EL2_VA
                // acts on the address alone, as TLBI_EL2_VAA does
                boolean byAsid = op == CMD_TLBI_NH_VA && (regime != SmmuTlb.REGIME_EL2 || (cr2 & R_CR2_E2H) != 0);
                long[] r = tlbiRange(dw0, dw1, CMD_VA(dw1));
                // the VA field's top byte may be bit 55's copy or a TBI tag: the address is taken
                // as bits [55:0] sign-extended from bit 55, so bit 55 names the VA range, as
                // the TLB keeps its entries' addresses (see translateStages)
                long start = (r[0] << 8) >> 8;
                long len = clampToTop(start, r[1]);
                tlbi(mask, vmid, byAsid ? asid : SmmuTlb.ANY, start, len, tlbiTtl(dw1), !CMD_LEAF(dw1),
                        false, op == CMD_TLBI_NH_VA ? "VA" : "VAA");
                traceTlbi(op, vmid, asid, start, r[1] >>> 12, CMD_LEAF(dw1));
            }
            default -> throw new AssertionError(op);
        }
    }

    /**
     * The TLB maintenance of one TLBI command or broadcast: the walk cache's entries in scope when
     * {@code walk} (not a Leaf = 1 operation), then the TLB's ({@code vaScoped}: global entries
     * too, as by VA). Walk entries go first: see {@link #walkCache}.
     */
    private void tlbi(int regimeMask, int vmid, int asid, long start, long len, int ttl, boolean walk,
                      boolean broadcastOnly, String scope) {
        if (walk) {
            walkCache.invalidate(regimeMask, vmid, asid, start, len, ttl, broadcastOnly, scope);
        }
        tlb.invalidate(regimeMask, vmid, asid, true, start, len, ttl, broadcastOnly, scope);
    }

    /**
     * The TTL hint of a TLBI by address, as the leaf level it names (1..3), or 0 for none. The
     * hint comes with the range fields: with TG = 0 (a single-address command) or without
     * IDR3.RIL it is taken as absent. A level the granule has no leaves at (level 1 with 16K
     * pages) is treated as no hint, as the Arm ARM's TTL encodings direct. What a hint does is
     * modelled as strictly as allowed: leaves at another level, and walk entries at or below
     * the level named, stay.
     */
    private int tlbiTtl(long dw1) {
        int tg = CMD_TG(dw1);
        int ttl = CMD_TTL(dw1);
        if (tg == 0 || !caps.ril() || tg == 2 && ttl == 1) {
            return 0;
        }
        return ttl;
    }

    private void traceTlbi(int op, int vmid, int asid, long addr, long pages, boolean leaf) {
        if (smmuv3_cmdq_tlbi.enabled()) {
            smmuv3_cmdq_tlbi.emit(cmdName(op), vmid, asid, addr, pages, leaf);
        }
    }

    /**
     * CMD_ATC_INV (section 4.5.1): an ATS Invalidation Request to the endpoint's ATC, with the
     * SubstreamID as PASID when SSV is set and the SMMU has substreams (without them SSV is
     * taken as 0). A completion timeout surfaces at the next CMD_SYNC. Ignored while SMMUEN is 0.
     */
    private void atcInv(int sid, long dw0, long dw1) {
        if ((cr0 & R_CR0_SMMUEN) == 0) {
            if (smmuv3_cmdq_ignored.enabled()) {
                smmuv3_cmdq_ignored.emit("ATC_INV", sid);
            }
            return;
        }
        int size = CMD_ATC_SIZE(dw1);
        long bytes = size >= 52 ? -1L : 4096L << size;
        long addr = bytes == -1L ? 0 : CMD_VA(dw1) & ~(bytes - 1);
        boolean ssv = CMD_SSV(dw0) && caps.ssidSize() > 0;
        AtcInvalidation inv = new AtcInvalidation(sid, CMD_SSID(dw0), ssv, addr, bytes, ssv && CMD_ATC_GLOBAL(dw0));
        AtsEndpoint ep = board.endpoints.lookup(sid);
        int result = AtsEndpoint.INV_OK;
        if (ep == null) {
            guestError("ATC_INV for StreamID 0x" + Integer.toHexString(sid) + " without an endpoint");
        } else {
            result = ep.atcInvalidate(inv);
        }
        if (result == AtsEndpoint.INV_TIMEOUT) {
            atcInvFailed = true; // an Unsupported Request completes without error (section 3.9.1.5)
        }
        if (smmuv3_cmdq_atc_inv.enabled()) {
            smmuv3_cmdq_atc_inv.emit(sid, CMD_SSID(dw0), ssv, addr, bytes, result);
        }
    }

    /**
     * CMD_PRI_RESP (section 4.5.2): a PRG Response to the endpoint, with the SubstreamID as PASID
     * when SSV is set and the SMMU has substreams (STE.PPAR plays no part: it governs only the
     * SMMU's automatic responses). Ignored while SMMUEN is 0.
     */
    private void priResp(int sid, long dw0, long dw1, int resp) {
        if ((cr0 & R_CR0_SMMUEN) == 0) {
            if (smmuv3_cmdq_ignored.enabled()) {
                smmuv3_cmdq_ignored.emit("PRI_RESP", sid);
            }
            return;
        }
        int code = switch (resp) {
            case PRI_RESP_SUCCESS -> PageResponse.SUCCESS;
            case PRI_RESP_INVALID -> PageResponse.INVALID_REQUEST;
            default -> PageResponse.FAILURE;
        };
        boolean ssv = CMD_SSV(dw0) && caps.ssidSize() > 0;
        int ssid = ssv ? CMD_SSID(dw0) : PageRequest.NO_PASID;
        if (smmuv3_cmdq_pri_resp.enabled()) {
            smmuv3_cmdq_pri_resp.emit(sid, ssid, CMD_PRI_PRGIDX(dw1), resp);
        }
        AtsEndpoint ep = board.endpoints.lookup(sid);
        if (ep == null) {
            guestError("PRI_RESP for StreamID 0x" + Integer.toHexString(sid) + " without an endpoint");
            return;
        }
        ep.pageResponse(new PageResponse(sid, ssid, ssv, CMD_PRI_PRGIDX(dw1), code));
    }

    private int cmdSync(long dw0, long dw1) {
        int cs = CMD_SYNC_CS(dw0);
        if (cs == 3) {
            return CERROR_ILL;
        }
        if (atcInvFailed) {
            atcInvFailed = false;
            return CERROR_ATC_INV_SYNC;
        }
        long msiAddr = CMD_SYNC_MSIADDR(dw1);
        int msiData = CMD_SYNC_MSIDATA(dw0);
        if (smmuv3_cmdq_sync.enabled()) {
            smmuv3_cmdq_sync.emit(cs, msiAddr, msiData);
        }
        lock.lock();
        try {
            syncs++;
            if (cs == SYNC_CS_IRQ) {
                if (caps.msi() && msiAddr != 0) {
                    try {
                        board.sysbus.write32(msiAddr, msiData);
                    } catch (BusError e) {
                        raiseGerror(R_GERROR_MSI_CMDQ_ABT_ERR);
                    }
                } else if (virqSync >= 0) {
                    board.irqs.raise(virqSync);
                }
            } else if (cs == SYNC_CS_SEV && caps.sev()) {
                sevs++;
            }
        } finally {
            lock.unlock();
        }
        return CERROR_NONE;
    }

    /* =========================================================================================
     * Event queue, PRI queue, stalls
     * ========================================================================================= */

    /**
     * Writes an event record. Returns false if it was not written: EVENTQEN = 0 or an
     * unacknowledged GERROR.EVENTQ_ABT_ERR (discarded), queue full (lost; PROD.OVFLG toggles
     * unless an overflow is already unacknowledged) or an abort writing the queue (which raises
     * EVENTQ_ABT_ERR).
     */
    private boolean recordEvent(SmmuEvent e) {
        if (smmuv3_record_event.enabled()) {
            smmuv3_record_event.emit(eventName(e.id()), e.id(), e.sid());
        }
        lock.lock();
        try {
            if ((cr0 & R_CR0_EVENTQEN) == 0 || ((gerror ^ gerrorn) & R_GERROR_EVENTQ_ABT_ERR) != 0) {
                eventsDiscarded++;
                return false;
            }
            int n = evtq.log2size();
            int prod = evtq.prod;
            if (Q_FULL(prod, evtq.cons, n)) {
                if (((prod ^ evtq.cons) & Q_OVF_FLAG) == 0) {
                    evtq.prod = prod ^ Q_OVF_FLAG;
                }
                eventsLost++;
                if (smmuv3_evtq_overflow.enabled()) {
                    smmuv3_evtq_overflow.emit(eventName(e.id()), e.sid());
                }
                return false;
            }
            long[] rec = SmmuEvent.encode(e);
            long a = evtq.slot(prod);
            try {
                for (int i = 0; i < 4; i++) {
                    mem.writeq(a + 8L * i, rec[i]);
                }
            } catch (BusError err) {
                raiseGerror(R_GERROR_EVENTQ_ABT_ERR);
                return false;
            }
            evtq.prod = Q_INCR(prod, n) | (prod & Q_OVF_FLAG);
            eventsRecorded++;
            if (eventLog.size() == EVENT_LOG_MAX) {
                eventLog.removeFirst();
            }
            eventLog.addLast(e);
            if ((irqCtrl & R_IRQ_CTRL_EVENTQ_IRQEN) != 0) {
                triggerIrq(IRQ_EVTQ);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The Event queue is writable (section 7.2.1): enabled, not full, and no unacknowledged
     * EVENTQ_ABT_ERR. Call only holding lock.
     */
    private boolean eventqWritable() {
        return (cr0 & R_CR0_EVENTQEN) != 0 && !Q_FULL(evtq.prod, evtq.cons, evtq.log2size())
                && ((gerror ^ gerrorn) & R_GERROR_EVENTQ_ABT_ERR) == 0;
    }

    /**
     * Holds {@code st} stalled without its event record, to be retried once the Event queue is
     * writable (at once if it already is again). Call only holding lock.
     */
    private void parkUnrecorded(Stall st, long addr) {
        unrecordedStalls.add(st);
        if (smmuv3_stall_unrecorded.enabled()) {
            smmuv3_stall_unrecorded.emit(st.sid, st.stag, addr);
        }
        retryUnrecordedStalls();
    }

    /**
     * If the Event queue is writable, retries every stalled transaction whose event could not be
     * recorded: each goes back to its master, which presents it again as a new transaction (it
     * then translates, or faults and stalls again, this time with its record). Call only holding
     * lock.
     */
    private void retryUnrecordedStalls() {
        if (unrecordedStalls.isEmpty() || !eventqWritable()) {
            return;
        }
        for (Stall st : unrecordedStalls) {
            if (stalls.remove(stallKey(st.sid, st.stag)) != null) {
                if (smmuv3_stall_retry.enabled()) {
                    smmuv3_stall_retry.emit(st.sid, st.stag);
                }
                st.resolve(DmaResult.StallToken.RETRY);
            }
        }
        unrecordedStalls.clear();
    }

    /** A stalled transaction: resolved by RESUME (retry or terminate), STALL_TERM or disabling the SMMU. */
    private static final class Stall implements DmaResult.StallToken {
        final int sid;
        final int stag;
        private int state = -1;

        Stall(int sid, int stag) {
            this.sid = sid;
            this.stag = stag;
        }

        @Override
        public synchronized boolean await() {
            boolean interrupted = false;
            while (state < 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            return state == RETRY;
        }

        @Override
        public synchronized int poll() {
            return state;
        }

        /** Resolves the stall with a {@link DmaResult.StallToken} outcome (the first one counts). */
        synchronized void resolve(int outcome) {
            if (state < 0) {
                state = outcome;
                notifyAll();
            }
        }
    }

    private static long stallKey(int sid, int stag) {
        return (Integer.toUnsignedLong(sid) << 16) | stag;
    }

    /** Allocates a STAG and holds a transaction; null if STALL_MAX transactions are already held. Call only holding lock. */
    private Stall newStall(int sid) {
        int max = caps.stallMax() == 0 ? 1 << 16 : caps.stallMax();
        if (stalls.size() >= max) {
            return null;
        }
        for (int i = 0; i < 1 << 16; i++) {
            int stag = (nextStag++) & 0xffff;
            if (!stalls.containsKey(stallKey(sid, stag))) {
                Stall s = new Stall(sid, stag);
                stalls.put(stallKey(sid, stag), s);
                return s;
            }
        }
        return null;
    }

    /**
     * CMD_RESUME (section 4.7.1): Action 1 retries the transaction; Action 0 terminates it, with
     * an abort if Abort is 1 or TERM_MODEL is 1, otherwise completing it RAZ/WI.
     */
    private void resume(int sid, int stag, boolean retry, boolean abort) {
        Stall s;
        lock.lock();
        try {
            s = stalls.remove(stallKey(sid, stag));
            if (s != null) {
                unrecordedStalls.remove(s); // a STAG software never saw: CONSTRAINED UNPREDICTABLE, honoured
            }
        } finally {
            lock.unlock();
        }
        if (smmuv3_cmdq_resume.enabled()) {
            smmuv3_cmdq_resume.emit(sid, stag, retry, s != null);
        }
        if (s != null) {
            s.resolve(retry ? DmaResult.StallToken.RETRY
                    : abort || caps.termModel() ? DmaResult.StallToken.TERMINATED
                    : DmaResult.StallToken.TERMINATED_RAZ_WI);
        } else {
            guestError("RESUME of StreamID 0x" + Integer.toHexString(sid) + " STAG " + stag + ": no such stall, ignored");
        }
    }

    /** Terminates every held transaction of {@code sid} (-1: all). Call only holding lock. */
    private void terminateStalls(int sid) {
        List<Stall> victims = new ArrayList<>();
        stalls.forEachValue(s -> {
            if (sid == -1 || s.sid == sid) {
                victims.add(s);
            }
        });
        for (Stall s : victims) {
            stalls.remove(stallKey(s.sid, s.stag));
            unrecordedStalls.remove(s);
            s.resolve(DmaResult.StallToken.TERMINATED);
        }
    }

    /** Transactions currently held by the stall model. */
    public int stalledCount() {
        lock.lock();
        try {
            return stalls.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * A PCIe Page Request Message from an endpoint (chapter 8 of the architecture). It is written
     * to the PRI queue when the queue is enabled, not in overflow and not stopped by
     * GERROR.PRIQ_ABT_ERR. Otherwise it is discarded and, unless it is a Stop Marker, the SMMU
     * answers the device itself:
     * <ul>
     * <li>PRIQEN (or SMMUEN) 0, or PRIQ_ABT_ERR active: every page request gets Response Failure
     *     without a PASID;</li>
     * <li>the queue full, or an overflow not yet acknowledged (PROD.OVFLG != CONS.OVACKFLG): the
     *     first loss toggles OVFLG, a request with Last = 0 is dropped silently and one with
     *     Last = 1 is answered by {@link #overflowResponse};</li>
     * <li>the write of the entry aborting (modelled as a synchronous abort): PRIQ_ABT_ERR, and
     *     Response Failure without a PASID.</li>
     * </ul>
     */
    @Override
    public void pageRequest(PageRequest req) {
        if (!caps.pri()) {
            return;
        }
        boolean queued = false;
        boolean overflowLast = false;
        boolean failure = false;
        lock.lock();
        try {
            if ((cr0 & (R_CR0_SMMUEN | R_CR0_PRIQEN)) != (R_CR0_SMMUEN | R_CR0_PRIQEN)
                    || ((gerror ^ gerrorn) & R_GERROR_PRIQ_ABT_ERR) != 0) {
                priLost++;
                failure = true;
            } else {
                int n = priq.log2size();
                int prod = priq.prod;
                boolean overflowActive = ((prod ^ priq.cons) & Q_OVF_FLAG) != 0;
                if (overflowActive || Q_FULL(prod, priq.cons, n)) {
                    if (!overflowActive) {
                        priq.prod = prod ^ Q_OVF_FLAG;
                    }
                    priLost++;
                    overflowLast = req.last();
                } else {
                    long dw0 = Integer.toUnsignedLong(req.sid());
                    if (req.pasidValid() && caps.ssidSize() > 0) {
                        dw0 = FIELD_DP64(dw0, 32, 20, req.pasid());
                        dw0 |= 1L << 63;
                    }
                    dw0 |= (req.priv() ? 1L << 58 : 0) | (req.exec() ? 1L << 59 : 0) | (req.read() ? 1L << 60 : 0)
                            | (req.write() ? 1L << 61 : 0) | (req.last() ? 1L << 62 : 0);
                    long dw1 = (req.prgIndex() & 0x1ffL) | (req.addr() & ~0xfffL);
                    long a = priq.slot(prod);
                    try {
                        mem.writeq(a, dw0);
                        mem.writeq(a + 8, dw1);
                        priq.prod = Q_INCR(prod, n) | (prod & Q_OVF_FLAG);
                        priRecorded++;
                        queued = true;
                        if ((irqCtrl & R_IRQ_CTRL_PRI_IRQEN) != 0) {
                            triggerIrq(IRQ_PRIQ);
                        }
                    } catch (BusError e) {
                        raiseGerror(R_GERROR_PRIQ_ABT_ERR);
                        priLost++;
                        failure = true;
                    }
                }
            }
        } finally {
            lock.unlock();
        }
        if (smmuv3_pri_request.enabled()) {
            smmuv3_pri_request.emit(req.sid(), req.pasid(), req.addr(), req.prgIndex(), req.last(), queued);
        }
        PageResponse auto = null;
        if (req.stopMarker()) {
            auto = null; // a Stop Marker is never answered, wherever it ends up
        } else if (failure) {
            auto = new PageResponse(req.sid(), PageRequest.NO_PASID, false, req.prgIndex(), PageResponse.FAILURE);
        } else if (overflowLast) {
            auto = overflowResponse(req);
        }
        if (auto != null) {
            if (smmuv3_pri_auto_response.enabled()) {
                smmuv3_pri_auto_response.emit(auto.sid(), auto.pasidValid() ? auto.pasid() : -1, auto.prgIndex(),
                        auto.code());
            }
            AtsEndpoint ep = board.endpoints.lookup(req.sid());
            if (ep != null) {
                ep.pageResponse(auto);
            }
        }
    }

    /**
     * The automatic PRG Response to a last page request lost to PRI queue overflow (section 8.1):
     * Success, with the request's PASID when it had one, the SMMU has substreams, and either
     * IDR3.PPS is set or the StreamID's STE has PPAR set. With IDR3.PPS clear the STE is looked up
     * (through the configuration cache); a StreamID whose STE can't be read (beyond the table, an
     * external abort, an ILLEGAL STE) gets Response Failure without a PASID. CR2.REC_CFG_ATS is
     * not implemented, so that lookup records no event.
     */
    private PageResponse overflowResponse(PageRequest req) {
        int sid = req.sid();
        boolean withPasid;
        if (!req.pasidValid() || caps.ssidSize() == 0) {
            withPasid = false;
        } else if (caps.pps()) {
            withPasid = true;
        } else {
            ConfigCache.Ste ste = steQuiet(sid);
            if (ste == null) {
                return new PageResponse(sid, PageRequest.NO_PASID, false, req.prgIndex(), PageResponse.FAILURE);
            }
            withPasid = STE_PPAR(ste.words());
        }
        return new PageResponse(sid, withPasid ? req.pasid() : PageRequest.NO_PASID, withPasid, req.prgIndex(),
                PageResponse.SUCCESS);
    }

    /**
     * The STE of {@code sid} for a check outside a transaction: from the configuration cache, or
     * fetched (and cached) without recording an event; null if it can't be read or is ILLEGAL.
     */
    private ConfigCache.Ste steQuiet(int sid) {
        ConfigCache.Ste ste = configCache.lookupSte(sid);
        if (ste == null) {
            long gen = configCache.generation();
            ste = findSte(sid, false, 0, null, new DmaResult(), false);
            if (ste != null) {
                configCache.insertSte(sid, ste, gen);
            }
        }
        return ste;
    }

    /* =========================================================================================
     * BTM
     * ========================================================================================= */

    /** A broadcast TLBI from a CPU: applies when BTM is implemented and CR2.PTM = 0. */
    private void btmTlbi(Interconnect.Tlbi op) {
        if ((cr2 & R_CR2_PTM) != 0) {
            return;
        }
        if (smmuv3_btm.enabled()) {
            smmuv3_btm.emit(op.kind().name(), op.asid(), op.vmid(), op.va());
        }
        int el1 = 1 << SmmuTlb.REGIME_NS_EL1, el2 = 1 << SmmuTlb.REGIME_EL2;
        int vmid = caps.s2p() ? op.vmid() : 0;
        long len = Math.max(1, op.pages()) << (op.granuleShift() == 0 ? 12 : op.granuleShift());
        // bits [55:0] sign-extended from bit 55 (the VA range), as for TLBI_NH_VA
        long va = (op.va() << 8) >> 8;
        len = clampToTop(va, len);
        // A VHE host's TLBIs target the EL2&0 regime: apply to both (over-invalidation is allowed).
        // Entries of a non-shared ASID (CD.ASET = 1) may ignore the operations that match an ASID
        // (ASIDE1IS, VA{L}E1IS) and here do; every other broadcast reaches them (section 3.17).
        // A last-level operation (VALE1IS, VAALE1IS) leaves the walk cache; VAE1IS, VAAE1IS and
        // the ASID and VMALL operations remove walk entries as well.
        boolean walk = !op.leaf();
        switch (op.kind()) {
            case ALL -> {
                tlbi(el1, vmid, SmmuTlb.ANY, 0, 0, 0, true, false, "BTM_ALL");
                tlbi(el2, SmmuTlb.ANY, SmmuTlb.ANY, 0, 0, 0, true, false, "BTM_ALL");
            }
            case ASID -> {
                walkCache.invalidate(el1, vmid, op.asid(), 0, 0, 0, true, "BTM_ASID");
                walkCache.invalidate(el2, SmmuTlb.ANY, op.asid(), 0, 0, 0, true, "BTM_ASID");
                tlb.invalidate(el1, vmid, op.asid(), false, 0, 0, true, "BTM_ASID");
                tlb.invalidate(el2, SmmuTlb.ANY, op.asid(), false, 0, 0, true, "BTM_ASID");
            }
            case VA -> {
                tlbi(el1, vmid, op.asid(), va, len, 0, walk, true, "BTM_VA");
                tlbi(el2, SmmuTlb.ANY, op.asid(), va, len, 0, walk, true, "BTM_VA");
            }
            case VAA -> {
                tlbi(el1, vmid, SmmuTlb.ANY, va, len, 0, walk, false, "BTM_VAA");
                tlbi(el2, SmmuTlb.ANY, SmmuTlb.ANY, va, len, 0, walk, false, "BTM_VAA");
            }
        }
    }

    /* =========================================================================================
     * Translation
     * ========================================================================================= */

    @Override
    public void translate(DmaTransaction txn, DmaResult res) {
        if (!microHit(txn, res) && !walk4kHit(txn, res)) {
            translateMiss(txn, res);
        }
    }

    /**
     * The TLB-off walk's fast path, beside the micro-TLB's and as small, so that the compiler
     * may take both into {@link #translate}'s caller: a plain access whose (StreamID,
     * SubstreamID) has the configuration front cache's last entry, current and {@link
     * CfgEntry#walk4k}, with the walk cache off, and a walk {@link #walk4kAnswer} answers. Counts
     * the configuration hit, TLB miss and walk cache miss {@link #translateMiss} would have
     * counted, in one counter ({@link #walk4kHits}); false, having changed nothing, for
     * translateMiss to take it from the top.
     */
    private boolean walk4kHit(DmaTransaction txn, DmaResult res) {
        // the transaction's fields before the epoch's volatile read, which later loads may not
        // pass: values the caller has just stored then need no reload
        final long va = txn.addr;
        final int sid = txn.sid, ssid = txn.ssid, access = txn.access;
        final boolean plain = !txn.ats && !txn.translated;
        final long epoch0 = microEpoch; // before the entry, as in translateMiss
        CfgEntry e = cfgLast;
        if (e == null || !e.walk4k || e.sid != sid || e.ssid != ssid || !plain
                || e.stamp != stamp(epoch0, Trace.generation()) || walkCache.enabled()
                || !walk4kAnswer(va, access, res, e)) {
            return false;
        }
        walk4kHits++;
        return true;
    }

    /**
     * A translation the micro-TLB did not serve: through the configuration front cache's entry
     * when there is one, else the full way. Apart from {@link #translate} so that the micro-TLB
     * hit path stays small.
     */
    private void translateMiss(DmaTransaction txn, DmaResult res) {
        // the epoch is read first, as in translateInternal
        final long epoch0 = microEpoch;
        CfgEntry fc = cfgHit(txn, epoch0);
        if (fc != null) {
            if (fc.walkOnly && !txn.ats && walkOnly(txn, res, fc)) {
                return;
            }
            translateStages(txn, res, fc, epoch0, null);
        } else {
            translateInternal(txn, res, null);
        }
    }

    /**
     * {@link #translateStages} for an entry that walks with the TLB off and nothing traced
     * ({@link CfgEntry#walkOnly}), when the fast walk answers: the same counts and result in
     * fewer steps. False, having changed nothing, for translateStages to take it from the top.
     * With the walk cache off too, the commonest plan (stage 1, 4K granule, start level 0) takes
     * {@link SmmuPtw#walk4k} ({@link #walk4kAnswer}), as in {@link #walk4kHit}: here for entries
     * other than the front cache's last.
     */
    private boolean walkOnly(DmaTransaction txn, DmaResult res, CfgEntry e) {
        if (e.walk4k && !walkCache.enabled()) {
            // walk4kHit has just walked (and declined) the last entry's
            if (e == cfgLast || !walk4kAnswer(txn.addr, txn.access, res, e)) {
                return false;
            }
            walkCache.count(false);
            tlb.countMissOff();
            return true;
        }
        final SmmuPtw.Result r = WalkScratch.of(res).result;
        final SmmuPtw.Plan plan = (txn.addr & VA_RANGE_BIT) != 0 ? e.plan1 : e.plan;
        if (plan == null || !walkFast(mem, plan, txn.addr, needOf(txn), r, walkCache)) {
            return false;
        }
        tlb.countMissOff();
        res.translated(r.pa, dmaPerm(r.perm, txn.isPriv()), 1L << r.blockShift);
        return true;
    }

    /**
     * {@link SmmuPtw#walk4k} of {@code va} with {@code e}'s plan, and its answer when the walk
     * gives one with the permissions the {@code access} (DmaTransaction.ACC_* bits) needs: the
     * result; the caller counts the TLB's and the walk cache's misses (walk4k counts nothing;
     * walkFast would have counted the walk cache's). False, having changed nothing, otherwise.
     */
    private boolean walk4kAnswer(long va, int access, DmaResult res, CfgEntry e) {
        long w = walk4k(mem, e.plan, e.table, va);
        if (w == SmmuPtw.WALK4K_NO) {
            return false;
        }
        int key = SmmuPtw.walk4kKey(w);
        int m = walkPerm;
        if (m >>> 15 != key) {
            m = key << 15 | S1_PERMS[key];
            walkPerm = m;
        }
        int need = NEED[access & 15];
        if ((m & need) != need) {
            return false;
        }
        boolean priv = (access & DmaTransaction.ACC_PRIV) != 0;
        res.translated(SmmuPtw.walk4kPa(w, va), (priv ? m >>> 11 : m >>> 7) & 15, SmmuPtw.walk4kSize(w));
        return true;
    }

    /**
     * The micro-TLB hit path, kept apart from {@link #translateInternal} so it compiles to a few
     * loads and compares: an untranslated, non-ATS access whose (StreamID, SubstreamID, page)
     * entry is of the current epoch (so SMMUEN is still 1 and no cache was invalidated since it
     * was made) and of the current trace generation, and grants the access. Counts the hits the
     * architected caches would have counted.
     */
    private boolean microHit(DmaTransaction txn, DmaResult res) {
        if (txn.ats || txn.translated) {
            return false;
        }
        long page = txn.addr >>> 12;
        int sid = txn.sid;
        MicroEntry m = micro[microIdx(sid, txn.ssid, page)];
        if (m == null || m.page != page || m.sid != sid || m.ssid != txn.ssid
                || m.stamp != stamp(microEpoch, Trace.generation()) || (m.allowed >>> txn.access & 1) == 0) {
            return false;
        }
        microHits++;
        if (!m.hasCd) {
            microNoCdHits++;
        }
        res.translated(m.paPage | (txn.addr & 0xfff), txn.isPriv() ? m.dmaPermPriv : m.dmaPermUser, m.pageSize);
        return true;
    }

    /**
     * A step-by-step account of how {@code txn} would translate now: the stream table lookup,
     * the STE and CD addresses and words, every page-table level with its descriptor, and the
     * result or fault. A dry run: no cache is used or filled, no event recorded, no HTTU write.
     */
    public List<String> explain(DmaTransaction txn) {
        List<String> log = new ArrayList<>();
        log.add("transaction " + txn);
        DmaResult res = new DmaResult();
        try {
            translateInternal(txn, res, log);
        } catch (RuntimeException e) {
            log.add("model error: " + e);
        }
        log.add("result: " + res);
        return log;
    }

    private static final int ALL_PERMS = DmaResult.PERM_R | DmaResult.PERM_W | DmaResult.PERM_X | DmaResult.PERM_PRIV;

    /** The SmmuPtw permission bits an access needs. */
    private static int needOf(DmaTransaction txn) {
        return NEED[txn.access & 15];
    }

    /** {@link #needOf} by the four DmaTransaction.ACC_* bits. */
    private static final int[] NEED = new int[16];
    /**
     * By SmmuPtw permission bits: the DmaTransaction.access values (bit a for access a) they
     * grant, for the micro-TLB's one-shift check. A shift takes the access's low five bits: with
     * bit 4 set it finds no bit (a miss: the full path decides), else it finds the bit of the
     * access's low four bits, the ones {@link #needOf} reads.
     */
    private static final int[] ALLOWED = new int[SmmuPtw.P_ALL + 1];

    static {
        for (int a = 0; a < NEED.length; a++) {
            NEED[a] = needOfAccess(a);
        }
        for (int p = 0; p <= SmmuPtw.P_ALL; p++) {
            for (int a = 0; a < NEED.length; a++) {
                if ((p & NEED[a]) == NEED[a]) {
                    ALLOWED[p] |= 1 << a;
                }
            }
        }
    }

    private static int needOfAccess(int access) {
        int p = 0;
        boolean priv = (access & DmaTransaction.ACC_PRIV) != 0;
        if ((access & DmaTransaction.ACC_WRITE) != 0) {
            p |= priv ? SmmuPtw.P_PW : SmmuPtw.P_UW;
        } else {
            p |= priv ? SmmuPtw.P_PR : SmmuPtw.P_UR;
        }
        if ((access & DmaTransaction.ACC_EXEC) != 0) {
            p |= priv ? SmmuPtw.P_PX : SmmuPtw.P_UX;
        } else if (priv) {
            p |= SmmuPtw.P_PD; // a privileged data access: PAN may refuse it
        }
        return p;
    }

    /**
     * By {@link SmmuPtw#walk4kKey}: its SmmuPtw permissions (bits [6:0]) and
     * their DmaResult ones ({@link #dmaPerm}), unprivileged in bits [10:7] and privileged in bits
     * [14:11].
     */
    private static final int[] S1_PERMS = new int[SmmuPtw.WALK4K_KEYS];

    static {
        for (int i = 0; i < S1_PERMS.length; i++) {
            int p = SmmuPtw.s1PermOfKey(i);
            S1_PERMS[i] = p | dmaPermOf(p, false) << 7 | dmaPermOf(p, true) << 11;
        }
    }

    /** SmmuPtw permission bits to DmaResult ones, at the transaction's privilege. */
    private static int dmaPerm(int p, boolean priv) {
        return DMA_PERM[(priv ? SmmuPtw.P_ALL + 1 : 0) | (p & SmmuPtw.P_ALL)];
    }

    /** {@link #dmaPerm} by privilege (unprivileged first) and SmmuPtw permission bits. */
    private static final int[] DMA_PERM = new int[2 * (SmmuPtw.P_ALL + 1)];

    static {
        for (int p = 0; p <= SmmuPtw.P_ALL; p++) {
            DMA_PERM[p] = dmaPermOf(p, false);
            DMA_PERM[SmmuPtw.P_ALL + 1 + p] = dmaPermOf(p, true);
        }
    }

    private static int dmaPermOf(int p, boolean priv) {
        int r = 0;
        if (priv) {
            // a page PAN refuses to privileged data accesses grants them neither read nor write
            if ((p & SmmuPtw.P_PD) == 0) {
                p &= ~(SmmuPtw.P_PR | SmmuPtw.P_PW);
            }
            r |= ((p & SmmuPtw.P_PR) != 0 ? DmaResult.PERM_R : 0) | ((p & SmmuPtw.P_PW) != 0 ? DmaResult.PERM_W : 0)
                    | ((p & SmmuPtw.P_PX) != 0 ? DmaResult.PERM_X : 0) | DmaResult.PERM_PRIV;
        } else {
            r |= ((p & SmmuPtw.P_UR) != 0 ? DmaResult.PERM_R : 0) | ((p & SmmuPtw.P_UW) != 0 ? DmaResult.PERM_W : 0)
                    | ((p & SmmuPtw.P_UX) != 0 ? DmaResult.PERM_X : 0);
        }
        return r;
    }

    private void translateInternal(DmaTransaction txn, DmaResult res, List<String> log) {
        res.reset();
        // The epoch is read before CR0: a CR0 write that lands after it kills what this makes
        final long epoch0 = microEpoch;
        final boolean dry = log != null;
        final int sid = txn.sid;
        final boolean ssv = txn.ssidValid();
        final int ssid = ssv ? txn.ssid : 0;
        if ((cr0 & R_CR0_SMMUEN) == 0) {
            // ATS needs translation on: these two record their events even so (section 3.9.1)
            if (txn.ats) {
                event(new SmmuEvent.BadAtsTreq(sid, ssid, ssv, txn.addr, !txn.isWrite(), txn.isExec(), txn.isPriv()),
                        log);
                res.atsUr(EVT_F_BAD_ATS_TREQ);
                return;
            }
            if (txn.translated) {
                event(new SmmuEvent.TranslForbidden(sid, txn.addr, !txn.isWrite()), log);
                res.abort(EVT_F_TRANSL_FORBIDDEN);
                return;
            }
            boolean abort = (gbpa & R_GBPA_ABORT) != 0;
            if (log != null) {
                log.add(String.format("SMMUEN = 0: GBPA = 0x%x -> %s", gbpa, abort ? "abort" : "bypass"));
            }
            if (smmuv3_translate_disable.enabled()) {
                smmuv3_translate_disable.emit("smmuv3", sid, txn.addr, txn.isWrite());
            }
            if (abort || txn.addr >>> caps.oasBits() != 0) {
                res.abort(0); // an address beyond the OAS: terminated, no event (section 3.4)
            } else {
                res.ok(txn.addr, ALL_PERMS);
            }
            return;
        }
        final boolean atsChk = (cr0 & R_CR0_ATSCHK) != 0;
        if (txn.translated && !atsChk) {
            // no configuration is consulted: only the address size is checked (this model aborts,
            // without an event, a physical address beyond the OAS: section 3.9.1.1)
            if (log != null) {
                log.add("ATS-translated transaction, CR0.ATSCHK = 0: passes through unchecked");
            }
            if (txn.addr >>> caps.oasBits() != 0) {
                res.abort(0);
            } else {
                res.ok(txn.addr, ALL_PERMS);
            }
            return;
        }
        // Configuration errors of ATS traffic are not recorded (CR2.REC_CFG_ATS is not
        // implemented); a Translation Request that meets one is answered Completer Abort.
        final boolean recordCfg = !txn.ats && !txn.translated;

        /* ---- configuration: STE ---- */
        ConfigCache.Ste ste = dry ? null : configCache.lookupSte(sid);
        if (ste != null) {
            if (smmuv3_config_cache_hit.enabled()) {
                smmuv3_config_cache_hit.emit(sid, configCache.steHits(), configCache.steMisses());
            }
        } else {
            if (!dry && smmuv3_config_cache_miss.enabled()) {
                smmuv3_config_cache_miss.emit(sid, configCache.steHits(), configCache.steMisses());
            }
            long gen = configCache.generation();
            ste = findSte(sid, ssv, ssid, log, res, recordCfg);
            if (ste == null) {
                atsCompleterAbort(txn, res);
                return;
            }
            if (!dry) {
                configCache.insertSte(sid, ste, gen);
            }
        }
        int config = ste.config();
        if (config == STE_CFG_ABORT) {
            if (log != null) {
                log.add("STE.Config = abort: transaction terminated silently");
            }
            abortTrace(txn);
            if (txn.ats) {
                res.atsUr(0);
            } else {
                res.abort(0);
            }
            return;
        }

        /* ---- ATS (section 3.9.1) ---- */
        if (txn.translated) {
            // CR0.ATSCHK = 1: a bypass STE or an effective EATS of 0b00 forbids Translated traffic
            if (config == STE_CFG_BYPASS || ste.eats() == STE_EATS_ABT) {
                event(new SmmuEvent.TranslForbidden(sid, txn.addr, !txn.isWrite()), log);
                res.abort(EVT_F_TRANSL_FORBIDDEN);
                return;
            }
            if (log != null) {
                log.add("ATS-translated transaction: STE.EATS allows it, passes through");
            }
            res.ok(txn.addr, ALL_PERMS);
            return;
        }
        if (txn.ats && (!caps.ats() || config == STE_CFG_BYPASS || ste.eats() == STE_EATS_ABT)) {
            event(new SmmuEvent.BadAtsTreq(sid, ssid, ssv, txn.addr, !txn.isWrite(), txn.isExec(), txn.isPriv()), log);
            res.atsUr(EVT_F_BAD_ATS_TREQ);
            return;
        }

        boolean s1 = (config & 1) != 0;
        if (!s1 && ssv) {
            configError(txn, res, new SmmuEvent.BadSubstreamId(sid, ssid), recordCfg, log);
            return;
        }
        if (config == STE_CFG_BYPASS) {
            if (log != null) {
                log.add("STE.Config = bypass: output = input");
            }
            if (smmuv3_translate_bypass.enabled()) {
                smmuv3_translate_bypass.emit("smmuv3", sid, txn.addr, txn.isWrite());
            }
            if (!bypassAddrSizeFault(txn, res, log)) {
                res.ok(txn.addr, ALL_PERMS);
            }
            return;
        }

        /* ---- substream and CD ---- */
        ConfigCache.Cd cd = null;
        boolean s1Bypass = false;
        if (s1) {
            int cdIdx;
            if (ssv) {
                if (ssid == 0 && ste.s1cdmax() != 0 && ste.s1dss() == STE_S1DSS_SSID0) {
                    // CD 0 belongs to the traffic without a substream
                    if (log != null) {
                        log.add("SSID 0 with S1DSS = SSID0: CD 0 is reserved for traffic without a substream");
                    }
                    configError(txn, res, new SmmuEvent.StreamDisabled(sid), recordCfg, log);
                    return;
                }
                if (ste.s1cdmax() == 0 || Integer.toUnsignedLong(ssid) >= 1L << ste.s1cdmax()) {
                    if (log != null) {
                        log.add(String.format("SSID 0x%x not valid with S1CDMax %d / S1DSS %d", ssid, ste.s1cdmax(),
                                ste.s1dss()));
                    }
                    configError(txn, res, new SmmuEvent.BadSubstreamId(sid, ssid), recordCfg, log);
                    return;
                }
                cdIdx = ssid;
            } else if (ste.s1cdmax() == 0) {
                cdIdx = 0;
            } else {
                switch (ste.s1dss()) {
                    case STE_S1DSS_TERMINATE -> {
                        if (log != null) {
                            log.add("no SSID and S1DSS = terminate");
                        }
                        configError(txn, res, new SmmuEvent.StreamDisabled(sid), recordCfg, log);
                        return;
                    }
                    case STE_S1DSS_BYPASS -> {
                        s1Bypass = true;
                        cdIdx = -1;
                    }
                    default -> cdIdx = 0;
                }
            }
            if (!s1Bypass) {
                cd = dry ? null : configCache.lookupCd(sid, cdIdx);
                if (cd == null) {
                    long gen = configCache.generation();
                    cd = findCd(txn, ste, cdIdx, log, res);
                    if (cd == null) {
                        atsCompleterAbort(txn, res);
                        return;
                    }
                    if (!dry) {
                        configCache.insertCd(sid, ste, cdIdx, cd, gen);
                    }
                }
            } else if (log != null) {
                log.add("no SSID and S1DSS = bypass: stage 1 bypassed");
            }
        }

        if (cd == null && ste.s2() == null) {
            // stage 1 bypassed, no stage 2
            if (!bypassAddrSizeFault(txn, res, log)) {
                res.ok(txn.addr, ALL_PERMS);
            }
            return;
        }
        translateStages(txn, res, cfgEntry(txn, ste, cd, epoch0, dry), epoch0, log);
    }

    /**
     * The TLB lookup, table walk and result of a transaction whose STE, and CD for stage 1, are
     * known ({@code e}: from the configuration front cache, or made from the configuration cache
     * or the tables). Every exit sets the whole result, so a caller need not reset it first (a
     * success with {@link DmaResult#translated}; a fault after a reset).
     */
    /**
     * A configuration error {@code e} met by {@code txn}: recorded if {@code record}, the
     * transaction aborted, or for a Translation Request answered Completer Abort.
     */
    private void configError(DmaTransaction txn, DmaResult res, SmmuEvent e, boolean record, List<String> log) {
        if (record) {
            event(e, log);
        }
        res.abort(e.id());
        atsCompleterAbort(txn, res);
    }

    /**
     * For an ATS Translation Request, turns the abort {@code res} holds (a configuration error)
     * into a Translation Completion with Completer Abort status.
     */
    private static void atsCompleterAbort(DmaTransaction txn, DmaResult res) {
        if (txn.ats && res.status == DmaResult.ABORT) {
            res.atsCa(res.faultReason);
        }
    }

    private void translateStages(DmaTransaction txn, DmaResult res, CfgEntry e, long epoch0, List<String> log) {
        final boolean dry = log != null;
        final ConfigCache.Ste ste = e.ste;
        final ConfigCache.Cd cd = e.cd;
        final boolean priv = txn.isPriv();
        final int need = txn.ats ? 0 : needOf(txn);
        // input bit 55 picks stage 1's VA range; the tag is the whole address, but for a top
        // byte the range's TBI ignores, taken as bit 55's copy (as TLBI addresses are read)
        final boolean upper = (txn.addr & VA_RANGE_BIT) != 0;
        final long tagAddr = upper ? (e.tbi1 ? txn.addr | ~VA_LOW56 : txn.addr)
                : e.tbi ? txn.addr & VA_LOW56 : txn.addr;
        /* ---- TLB ---- */
        // The TLB's switch as the entry saw it (no volatile read here): the TLB-off walk skips
        // the lookup, the generation and the insert, each a volatile read.
        final boolean tlbOn = e.tlbOn;
        final boolean lookup = !dry && !txn.ats;
        if (lookup && !tlbOn) {
            tlb.countMissOff();
        }
        if (lookup && tlbOn && tlb.lookup(e.regime, e.vmid, e.asid, e.shared, e.pan, tagAddr, need, res)) {
            if (e.traced && smmu_iotlb_lookup_hit.enabled()) {
                smmu_iotlb_lookup_hit.emit(e.asid, e.vmid, txn.addr, tlb.hits(), tlb.misses());
            }
            microInsert(txn, res.pa, res.perm, res.pageSize, epoch0, cd != null);
            res.translated(res.pa, dmaPerm(res.perm, priv), res.pageSize);
            if (e.traced && smmuv3_translate_success.enabled()) {
                smmuv3_translate_success.emit("smmuv3", txn.sid, txn.addr, res.pa, res.perm);
            }
            return;
        }
        if (!dry && e.traced && smmu_iotlb_lookup_miss.enabled()) {
            smmu_iotlb_lookup_miss.emit(e.asid, e.vmid, txn.addr, tlb.hits(), tlb.misses());
        }

        /* ---- walk ---- */
        final long gen = tlbOn ? tlb.generation() : 0;
        final WalkScratch scratch = dry ? new WalkScratch() : WalkScratch.of(res);
        final SmmuPtw.Result r = scratch.result;
        final SmmuPtw.Plan plan = upper ? e.plan1 : e.plan;
        if (plan == null || dry || !walkFast(mem, plan, txn.addr, need, r, walkCache)) {
            res.reset(); // a fault fills in only its own fields
            if (!walkStages(txn, res, e, need, scratch, log)) {
                return;
            }
        }
        final long pa = r.pa;
        final int perm = r.perm;
        final int blockShift = r.blockShift;
        if (txn.ats) {
            atsCompletion(txn, res, pa, perm, blockShift, log);
            return;
        }
        if (!dry && tlbOn) {
            tlb.insert(e.regime, e.vmid, e.asid, r.global, e.nested, e.shared, e.pan, tagAddr, blockShift, r.level, pa,
                    perm, gen);
            if (e.traced && smmu_iotlb_insert.enabled()) {
                smmu_iotlb_insert.emit(e.asid, e.vmid, txn.addr, blockShift, r.level);
            }
            microInsert(txn, pa, perm, 1L << blockShift, epoch0, cd != null);
        }
        res.translated(pa, dmaPerm(perm, priv), 1L << blockShift);
        if (e.traced && smmuv3_translate_success.enabled()) {
            smmuv3_translate_success.emit("smmuv3", txn.sid, txn.addr, pa, res.perm);
        }
    }

    /**
     * The Translation Completion of a walk that succeeded (section 13.7.1, without STE
     * INSTCFG/PRIVCFG overrides): R and W as the page grants them at the request's privilege,
     * Exe only if requested and readable and executable, Priv as requested; Priv and Exe only
     * with a PASID. A page that grants none of them is a Success completion with R = W = 0
     * ({@link DmaResult#ATS_FAULT}); one that grants less than the request wants (a write to a
     * read-only page) completes with what it grants, and the endpoint may ask for more with PRI.
     * A privileged request under CD.PAN is taken as a data access: a page EL0 may access grants
     * it neither R nor W, and so no Exe ({@link #dmaPermOf}).
     */
    private static void atsCompletion(DmaTransaction txn, DmaResult res, long pa, int perm, int blockShift,
                                      List<String> log) {
        boolean pasid = txn.ssidValid();
        boolean trPriv = pasid && txn.isPriv();
        int page = dmaPerm(perm, trPriv);
        int r = page & DmaResult.PERM_R;
        int w = page & DmaResult.PERM_W;
        int x = pasid && txn.isExec() && r != 0 ? page & DmaResult.PERM_X : 0;
        int granted = r | w | x | (trPriv ? DmaResult.PERM_PRIV : 0);
        res.reset();
        res.pa = pa & -(1L << blockShift);
        res.perm = granted;
        res.pageSize = 1L << blockShift;
        boolean any = (r | w | x) != 0;
        res.status = any ? DmaResult.OK : DmaResult.ATS_FAULT;
        res.faultReason = any ? 0 : EVT_F_PERMISSION;
        if (log != null) {
            log.add(String.format("ATS completion: 0x%x size 0x%x perm 0x%x", res.pa, res.pageSize, granted));
        }
    }

    /** explain's line for the start of a stage's walk. */
    private static String stageLine(String base, SmmuPtw.StageCfg c, String tagName, int tag) {
        return String.format("%s: %s 0x%x, %d-bit input, granule %dK, start level %d, %s %d", base, c.ttbName(),
                c.ttb(), c.inputBits(), 1 << (c.granuleShift() - 10), c.startLevel(), tagName, tag);
    }

    /** Input address bit 55: it picks stage 1's VA range (TTB1 when set) in a regime with two. */
    private static final long VA_RANGE_BIT = 1L << 55;
    /** Input address bits [55:0]: all but the top byte TBI may ignore. */
    private static final long VA_LOW56 = 0x00ff_ffff_ffff_ffffL;

    /**
     * {@link SmmuPtw#walkFast}; false, for the full walk to report it, on an external abort on a
     * descriptor fetch (caught here, outside the walk loop).
     */
    private static boolean walkFast(PhysMem mem, SmmuPtw.Plan plan, long va, int need,
                                    SmmuPtw.Result r, SmmuWalkCache wc) {
        try {
            return SmmuPtw.walkFast(mem, plan, va, need, r, wc);
        } catch (BusError e) {
            return false;
        }
    }

    /** {@link SmmuPtw#walk4k}; {@link SmmuPtw#WALK4K_NO} on an external abort on a descriptor fetch. */
    private static long walk4k(PhysMem mem, SmmuPtw.Plan plan, long table, long va) {
        try {
            return SmmuPtw.walk4k(mem, plan, table, va);
        } catch (BusError e) {
            return SmmuPtw.WALK4K_NO;
        }
    }

    /**
     * The input address check of a stage 1 that is bypassed (STE.Config bypass or stage 2 only,
     * or S1DSS bypass), section 3.4: an address beyond the IAS (the OAS here, with VMSAv8-64
     * tables only) is a stage 1 Address Size fault, recorded whatever CD.R might say (no CD is
     * used) and terminated with an abort; an ATS request gets a completion without access. True
     * when the fault was taken.
     */
    private boolean bypassAddrSizeFault(DmaTransaction txn, DmaResult res, List<String> log) {
        if (txn.addr >>> caps.oasBits() == 0) {
            return false;
        }
        if (log != null) {
            log.add(String.format("input address 0x%x beyond the %d-bit IAS with stage 1 bypassed", txn.addr,
                    caps.oasBits()));
        }
        if (txn.ats) {
            res.status = DmaResult.ATS_FAULT;
            res.faultReason = EVT_F_ADDR_SIZE;
            return true;
        }
        boolean ssv = txn.ssidValid();
        event(new SmmuEvent.AddrSize(new SmmuEvent.Fault(txn.sid, ssv ? txn.ssid : 0, ssv, 0, false, txn.isPriv(),
                txn.isExec(), !txn.isWrite(), false, EVT_CLASS_IN, false, txn.addr, 0)), log);
        abortTrace(txn);
        res.abort(EVT_F_ADDR_SIZE);
        return true;
    }

    /**
     * The full walk of {@code e}'s stages into {@code scratch.result}: stage 1 (its table
     * addresses through stage 2 when nested, then its output through stage 2) or stage 2 alone.
     * True with the output address, permissions, block size and global flag in the result;
     * false after reporting the fault.
     */
    private boolean walkStages(DmaTransaction txn, DmaResult res, CfgEntry e, int need, WalkScratch scratch,
                               List<String> log) {
        final boolean dry = log != null;
        final ConfigCache.Ste ste = e.ste;
        final ConfigCache.Cd cd = e.cd;
        final SmmuPtw.Result r = scratch.result;
        if (cd == null) {
            if (bypassAddrSizeFault(txn, res, log)) {
                return false;
            }
            if (log != null) {
                log.add(stageLine("stage 2", ste.s2(), "VMID", e.vmid));
            }
            SmmuPtw.walk(mem, ste.s2(), txn.addr, txn.isWrite(), need, !dry, null, log, r, walkCache, e.wcTag);
            if (r.fault != SmmuPtw.OK) {
                r.ipa = txn.addr;
                fault(txn, res, ste, null, r, log);
                return false;
            }
            r.global = true;
            return true;
        }
        // bound only for nested walks: three reference stores (and their GC barriers) saved otherwise
        SmmuPtw.TableXlate s2x = e.nested ? scratch.bind(this, ste, log) : null;
        // input bit 55 picks the VA range where there are two; with one (no s1hi) TTB0 takes all
        // inputs, and its range check refuses those with bit 55 set
        final boolean upper = (txn.addr & VA_RANGE_BIT) != 0 && cd.s1hi() != null;
        final SmmuPtw.StageCfg s1 = upper ? cd.s1hi() : cd.s1();
        if (log != null) {
            log.add(cd.s1hi() == null ? "stage 1: one VA range (EL2 without E2H): TTB0"
                    : upper ? "stage 1: input bit 55 = 1: the upper VA range, TTB1"
                    : "stage 1: input bit 55 = 0: the lower VA range, TTB0");
            log.add(stageLine("stage 1", s1, "ASID", e.asid));
        }
        SmmuPtw.walk(mem, s1, txn.addr, txn.isWrite(), need, !dry, s2x, log, r, walkCache,
                upper ? e.wcTag1 : e.wcTag);
        if (r.fault != SmmuPtw.OK) {
            fault(txn, res, ste, cd, r, log);
            return false;
        }
        if (!e.nested) {
            return true;
        }
        long ipa = r.pa;
        int perm = r.perm;
        int blockShift = r.blockShift;
        long out = s2Xlate(ste, ipa, EVT_CLASS_IN, r, log, scratch.s2);
        if (out == -1) {
            fault(txn, res, ste, cd, r, log);
            return false;
        }
        perm &= r.perm;
        if ((perm & need) != need) {
            r.reset();
            r.fault = EVT_F_PERMISSION;
            r.s2 = true;
            r.ipa = ipa;
            fault(txn, res, ste, cd, r, log);
            return false;
        }
        r.pa = out;
        r.perm = perm;
        r.blockShift = Math.min(blockShift, r.blockShift);
        return true;
    }

    /**
     * The configuration front cache's entry for the transaction, or null: an access (not
     * ATS-translated; an ATS request only where ATS is served) whose (StreamID, SubstreamID)
     * entry is of this translation's epoch and of the current trace generation. Counts the STE
     * and CD hits it serves.
     */
    private CfgEntry cfgHit(DmaTransaction txn, long epoch0) {
        if (txn.translated) {
            return null;
        }
        int sid = txn.sid;
        CfgEntry c = cfgLast;
        if (c == null || c.sid != sid || c.ssid != txn.ssid) {
            c = cfgFront[cfgIdx(sid, txn.ssid)];
        }
        if (c == null || c.sid != sid || c.ssid != txn.ssid || c.stamp != stamp(epoch0, Trace.generation())
                || txn.ats && !c.atsOk) {
            return null;
        }
        cfgHits++;
        if (c.cd == null) {
            cfgNoCdHits++;
        }
        return c;
    }

    /**
     * The route of a translation with {@code ste} and {@code cd} (null: stage 2 only), kept in the
     * configuration front cache for the next plain access of its (StreamID, SubstreamID) unless
     * this is a dry run or an ATS-translated access, the configuration cache is off, a
     * configuration cache trace event is on, or something was invalidated since the translation
     * began.
     */
    private CfgEntry cfgEntry(DmaTransaction txn, ConfigCache.Ste ste, ConfigCache.Cd cd, long epoch0, boolean dry) {
        long traceGen = Trace.generation(); // before the enabled checks: a racing enable changes it
        CfgEntry e = new CfgEntry(txn.sid, txn.ssid, ste, cd, epoch0, traceGen, caps, tlb.enabled());
        if (!dry && !txn.translated && configCache.enabled() && !smmuv3_config_cache_hit.enabled()
                && !smmuv3_config_cache_miss.enabled() && microEpoch == epoch0) {
            cfgFront[cfgIdx(txn.sid, txn.ssid)] = e;
            cfgLast = e;
        }
        return e;
    }

    private void microInsert(DmaTransaction txn, long pa, int perm, long pageSize, long epoch0, boolean hasCd) {
        long traceGen = Trace.generation(); // before the enabled checks: a racing enable changes it
        if (tlb.enabled() && configCache.enabled() && !hitTraced() && microEpoch == epoch0) {
            long page = txn.addr >>> 12;
            micro[microIdx(txn.sid, txn.ssid, page)] = new MicroEntry(txn.sid, txn.ssid, page, pa & ~0xfffL, perm,
                    pageSize, epoch0, traceGen, hasCd);
        }
    }

    /** Stage-2 translation of an IPA for a nested configuration; -1 with {@code out} holding the fault. */
    private long s2Xlate(ConfigCache.Ste ste, long ipa, int clazz, SmmuPtw.Result out, List<String> log,
                         SmmuPtw.Result r) {
        return s2Xlate(ste, ipa, clazz, false, out, log, r);
    }

    /**
     * {@link #s2Xlate(ConfigCache.Ste, long, int, SmmuPtw.Result, List, SmmuPtw.Result)} for a
     * table or CD access ({@code clazz} CD or TT) that reads, or with {@code write} writes (a
     * stage-1 descriptor's HTTU update): stage 2 must grant it, and may itself be made dirty.
     */
    private long s2Xlate(ConfigCache.Ste ste, long ipa, int clazz, boolean write, SmmuPtw.Result out,
                         List<String> log, SmmuPtw.Result r) {
        int need = clazz == EVT_CLASS_IN ? 0 : write ? SmmuPtw.P_PW : SmmuPtw.P_PR;
        SmmuPtw.walk(mem, ste.s2(), ipa, write, need, log == null, null, log, r,
                walkCache, SmmuWalkCache.tag(SmmuTlb.REGIME_S2, ste.vmid(), 0, false, true, ste.s2().granuleShift()));
        if (r.fault != SmmuPtw.OK) {
            out.fault = r.fault;
            out.level = r.level;
            out.s2 = true;
            out.ipa = ipa;
            out.clazz = clazz;
            out.fetchAddr = r.fetchAddr;
            return -1;
        }
        if (clazz == EVT_CLASS_IN) {
            out.perm = r.perm;
            out.blockShift = r.blockShift;
        } else if (STE_S2PTW(ste.words()) && ((r.leaf >>> 4) & 3) == 0) {
            // STE.S2PTW: a CD fetch or stage 1 walk to a Device page at stage 2 (MemAttr[3:2] = 0)
            if (log != null) {
                log.add(String.format("stage 2: IPA 0x%x is Device memory and STE.S2PTW = 1 -> F_PERMISSION", ipa));
            }
            out.fault = EVT_F_PERMISSION;
            out.level = r.level;
            out.s2 = true;
            out.ipa = ipa;
            out.clazz = clazz;
            return -1;
        }
        return r.pa;
    }

    private void abortTrace(DmaTransaction txn) {
        if (smmuv3_translate_abort.enabled()) {
            smmuv3_translate_abort.emit("smmuv3", txn.sid, txn.addr, txn.isWrite());
        }
    }

    /** Records (or, in explain, describes) an event; true if it was written to the queue. */
    private boolean event(SmmuEvent e, List<String> log) {
        if (log != null) {
            log.add("event " + eventName(e.id()) + " would be recorded: " + e);
            return false;
        }
        return recordEvent(e);
    }

    /** A walk fault: ATS fault, stall, or terminate with an event as the CD/STE asks. */
    private void fault(DmaTransaction txn, DmaResult res, ConfigCache.Ste ste, ConfigCache.Cd cd, SmmuPtw.Result r,
                       List<String> log) {
        int id = r.fault;
        if (txn.ats) {
            if (id == EVT_F_WALK_EABT) {
                // an external abort is a configuration error for ATS: Completer Abort, unrecorded
                if (log != null) {
                    log.add("ATS request: F_WALK_EABT -> Completer Abort");
                }
                res.atsCa(id);
                return;
            }
            if (log != null) {
                log.add("ATS request: fault " + eventName(id) + " returned to the device (it may use PRI)");
            }
            res.status = DmaResult.ATS_FAULT;
            res.faultReason = id;
            return;
        }
        boolean s2 = r.s2;
        boolean record = s2 ? ste.s2record() : cd.record();
        boolean stallable = id != EVT_F_WALK_EABT && (s2 ? ste.s2stall() : cd.stall());
        boolean ssv = txn.ssidValid();
        int ssid = ssv ? txn.ssid : 0;
        if (stallable && log == null) {
            Stall st;
            boolean recorded = false;
            lock.lock();
            try {
                st = newStall(txn.sid);
                if (st != null) {
                    recorded = eventqWritable() && recordEvent(faultEvent(id, new SmmuEvent.Fault(txn.sid, ssid, ssv,
                            st.stag, true, txn.isPriv(), txn.isExec(), !txn.isWrite(), s2, r.clazz, r.ttrnw, txn.addr,
                            r.ipa), r.fetchAddr));
                    if (!recorded) {
                        parkUnrecorded(st, txn.addr); // no room, or the write aborted: held without its record
                    }
                }
            } finally {
                lock.unlock();
            }
            if (st != null) {
                if (recorded && smmuv3_stall.enabled()) {
                    smmuv3_stall.emit(txn.sid, st.stag, txn.addr);
                }
                res.status = DmaResult.STALLED;
                res.faultReason = id;
                res.stall = st;
                return;
            }
            // every stall resource (STALL_MAX) in use: the transaction is terminated instead
        } else if (stallable && log != null) {
            log.add("fault " + eventName(id) + " would stall the transaction (STALL event)");
            res.status = DmaResult.STALLED;
            res.faultReason = id;
            return;
        }
        if (record || id == EVT_F_WALK_EABT) {
            event(faultEvent(id, new SmmuEvent.Fault(txn.sid, ssid, ssv, 0, false, txn.isPriv(), txn.isExec(),
                    !txn.isWrite(), s2, r.clazz, r.ttrnw, txn.addr, r.ipa), r.fetchAddr), log);
        } else if (log != null) {
            log.add("fault " + eventName(id) + " not recorded (" + (s2 ? "STE.S2R" : "CD.R") + " = 0)");
        }
        abortTrace(txn);
        if (!s2 && cd != null && !cd.abort()) {
            // CD.A = 0 and TERM_MODEL = 0: terminated, but read-as-zero / write-ignored
            if (log != null) {
                log.add("CD.A = 0: the transaction is terminated RAZ/WI (reads return zero, writes are ignored)");
            }
            res.razWi(id);
            return;
        }
        res.abort(id);
    }

    private static SmmuEvent faultEvent(int id, SmmuEvent.Fault f, long fetchAddr) {
        return switch (id) {
            case EVT_F_TRANSLATION -> new SmmuEvent.Translation(f);
            case EVT_F_ADDR_SIZE -> new SmmuEvent.AddrSize(f);
            case EVT_F_ACCESS -> new SmmuEvent.Access(f);
            case EVT_F_PERMISSION -> new SmmuEvent.Permission(f);
            case EVT_F_WALK_EABT -> new SmmuEvent.WalkEabt(f, fetchAddr);
            default -> throw new AssertionError("not a walk fault: " + id);
        };
    }

    /* ---------------- stream table and STE ---------------- */

    /**
     * Locates, fetches and decodes the STE of {@code sid} (for a transaction with {@code ssv},
     * {@code ssid}); null with the reason in {@code res} when it can't be: the StreamID beyond the
     * table, an external abort, an ILLEGAL STE. The events these raise are recorded only if
     * {@code record} (ATS traffic, and lookups outside a transaction, record none).
     */
    private ConfigCache.Ste findSte(int sid, boolean ssv, int ssid, List<String> log, DmaResult res,
                                    boolean record) {
        long base = strtabBase & STRTAB_BASE_ADDR_MASK;
        int cfg = strtabBaseCfg;
        int log2size = Math.min(ex32(cfg, R_STRTAB_BASE_CFG_LOG2SIZE_SHIFT, R_STRTAB_BASE_CFG_LOG2SIZE_LENGTH),
                caps.sidSize());
        int fmt = ex32(cfg, R_STRTAB_BASE_CFG_FMT_SHIFT, R_STRTAB_BASE_CFG_FMT_LENGTH);
        if (smmuv3_find_ste.enabled()) {
            smmuv3_find_ste.emit(sid, fmt, ex32(cfg, R_STRTAB_BASE_CFG_SPLIT_SHIFT, R_STRTAB_BASE_CFG_SPLIT_LENGTH));
        }
        if (Integer.toUnsignedLong(sid) >= 1L << log2size) {
            if (log != null) {
                log.add(String.format("StreamID 0x%x beyond the stream table (LOG2SIZE %d)", sid, log2size));
            }
            if (record) {
                badStreamId(sid, ssid, ssv, log);
            }
            res.abort(EVT_C_BAD_STREAMID);
            return null;
        }
        long steAddr;
        if (fmt == ST_FMT_2LVL && caps.stLevel() == 1) {
            int split = ex32(cfg, R_STRTAB_BASE_CFG_SPLIT_SHIFT, R_STRTAB_BASE_CFG_SPLIT_LENGTH);
            if (split != 6 && split != 8 && split != 10) {
                split = 6; // reserved SPLIT: CONSTRAINED UNPREDICTABLE, this model uses 6
            }
            if (split > log2size) {
                split = log2size;
            }
            long l1Addr = (base & ~((1L << Math.max(6, log2size - split + 3)) - 1)) + ((long) (sid >>> split) << 3);
            long l1;
            try {
                l1 = mem.readqAcquire(l1Addr);
            } catch (BusError e) {
                if (record) {
                    event(new SmmuEvent.SteFetch(sid, ssid, ssv, l1Addr), log);
                }
                res.abort(EVT_F_STE_FETCH);
                return null;
            }
            int span = STRTAB_L1_SPAN(l1);
            long l2Ptr = STRTAB_L1_L2PTR(l1);
            int l2Idx = sid & ((1 << split) - 1);
            if (log != null) {
                log.add(String.format("2-level stream table @0x%x (SPLIT %d): L1 descriptor @0x%x = 0x%016x (Span %d, L2Ptr 0x%x)",
                        base, split, l1Addr, l1, span, l2Ptr));
            }
            if (smmuv3_find_ste_2lvl.enabled()) {
                smmuv3_find_ste_2lvl.emit(base, l1Addr, sid >>> split, l2Ptr, l2Idx, span == 0 ? 0 : 1 << (span - 1));
            }
            // Span 0 (and the reserved 12..31), or a Span beyond the split point, leave the
            // StreamIDs below this descriptor invalid (section 5.1.1)
            if (span == 0 || span > 11 || span - 1 > split || l2Idx >= 1 << (span - 1)) {
                if (record) {
                    badStreamId(sid, ssid, ssv, log);
                }
                res.abort(EVT_C_BAD_STREAMID);
                return null;
            }
            // the level-2 array is aligned to its size: L2Ptr[5 + Span - 1:0] are taken as zero
            steAddr = (l2Ptr & -(64L << (span - 1))) + (long) l2Idx * STE_SIZE;
        } else {
            steAddr = (base & ~((1L << Math.max(6, log2size + 6)) - 1)) + (Integer.toUnsignedLong(sid) << 6);
            if (log != null) {
                log.add(String.format("linear stream table @0x%x (LOG2SIZE %d)", base, log2size));
            }
        }
        if (smmuv3_get_ste.enabled()) {
            smmuv3_get_ste.emit(steAddr);
        }
        long[] w = new long[STE_DWORDS];
        try {
            for (int i = 0; i < STE_DWORDS; i++) {
                w[i] = mem.readqAcquire(steAddr + 8L * i);
            }
        } catch (BusError e) {
            if (log != null) {
                log.add(String.format("STE fetch at 0x%x aborted", steAddr));
            }
            if (record) {
                event(new SmmuEvent.SteFetch(sid, ssid, ssv, steAddr), log);
            }
            res.abort(EVT_F_STE_FETCH);
            return null;
        }
        if (log != null) {
            log.add(String.format("STE @0x%x: %s", steAddr, words(w)));
        }
        String why = steIllegal(w);
        if (why != null) {
            if (log != null) {
                log.add("STE is ILLEGAL: " + why);
            }
            guestErrorIfLive(log, "C_BAD_STE sid 0x" + Integer.toHexString(sid) + ": " + why);
            if (record) {
                event(new SmmuEvent.BadSte(sid, ssid, ssv), log);
            }
            res.abort(EVT_C_BAD_STE);
            return null;
        }
        ConfigCache.Ste ste = decodeSte(steAddr, w);
        if (log != null) {
            log.add(String.format("STE: config %s, S1Fmt %d, S1ContextPtr 0x%x, S1CDMax %d, S1DSS %d, EATS %d, STRW %d, VMID %d",
                    configName(ste.config()), ste.s1fmt(), ste.ctxPtr(), ste.s1cdmax(), ste.s1dss(), ste.eats(), ste.strw(),
                    ste.vmid()));
        }
        return ste;
    }

    private void badStreamId(int sid, int ssid, boolean ssv, List<String> log) {
        if ((cr2 & R_CR2_RECINVSID) != 0) {
            event(new SmmuEvent.BadStreamId(sid, ssid, ssv), log);
        } else if (log != null) {
            log.add("C_BAD_STREAMID not recorded (CR2.RECINVSID = 0)");
        }
    }

    private static String configName(int c) {
        return switch (c) {
            case STE_CFG_ABORT -> "abort";
            case STE_CFG_BYPASS -> "bypass";
            case STE_CFG_S1 -> "stage-1";
            case STE_CFG_S2 -> "stage-2";
            case STE_CFG_NESTED -> "nested";
            default -> "0b" + Integer.toBinaryString(c);
        };
    }

    static String words(long[] w) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < w.length; i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(String.format("%016x", w[i]));
        }
        return sb.toString();
    }

    private static int granuleShiftOfTg0(int tg) {
        return switch (tg) {
            case TG0_4K -> 12;
            case TG0_64K -> 16;
            case TG0_16K -> 14;
            default -> -1;
        };
    }

    /** TG1's encoding is not TG0's: 1 16K, 2 4K, 3 64K; 0 is reserved (-1). */
    private static int granuleShiftOfTg1(int tg) {
        return switch (tg) {
            case TG1_16K -> 14;
            case TG1_4K -> 12;
            case TG1_64K -> 16;
            default -> -1;
        };
    }

    /** Why an STE is ILLEGAL (C_BAD_STE), or null if it is usable. */
    private String steIllegal(long[] s) {
        if (!STE_VALID(s)) {
            return "V = 0";
        }
        int config = STE_CONFIG(s);
        if ((config & 4) == 0 || config == STE_CFG_BYPASS) {
            return null; // abort / bypass: the other fields are ignored
        }
        boolean s1 = (config & 1) != 0, s2 = (config & 2) != 0;
        if (s1 && !caps.s1p()) {
            return "stage 1 not implemented";
        }
        if (s2 && !caps.s2p()) {
            return "stage 2 not implemented";
        }
        int strw = STE_STRW(s);
        if (!s2) { // with stage 2 STRW is IGNORED: the StreamWorld is NS-EL1
            if (strw == STE_STRW_EL3 || strw == 3) {
                return "STRW reserved for the non-secure stream";
            }
            if (strw == STE_STRW_EL2 && !caps.hyp()) {
                return "STRW = EL2 without HYP";
            }
        }
        // S2VMID tags the translations of an NS-EL1 stream whenever stage 2 is implemented
        if (caps.s2p() && !caps.vmid16() && (config & 3) != 0 && (s2 || strw != STE_STRW_EL2)
                && STE_S2VMID(s) >>> 8 != 0) {
            return "S2VMID[15:8] = 0x" + Integer.toHexString(STE_S2VMID(s) >>> 8) + " without 16-bit VMIDs";
        }
        if (caps.ats()) {
            // EATS 0b11 (DPT checks) behaves as 0b00 without IDR3.DPT; 0b10 (split-stage) is
            // ILLEGAL with IDR0.NS1ATS, which every ATS-capable model sets
            if (STE_EATS(s) == 1 && s2 && STE_S2S(s)) {
                return "EATS = full ATS with stage 2 stalling (S2S)";
            }
            if (STE_EATS(s) == 2) {
                return "EATS = split-stage ATS with IDR0.NS1ATS = 1";
            }
        }
        if (s1) {
            int fmt = STE_S1FMT(s);
            boolean substreams = caps.ssidSize() != 0 && STE_S1CDMAX(s) != 0;
            if (substreams && fmt != STE_S1FMT_LINEAR && fmt != 3 && !caps.cd2l()) {
                return "S1Fmt " + fmt + " without CD2L";
            }
            if (caps.ssidSize() != 0 && STE_S1CDMAX(s) > caps.ssidSize()) {
                return "S1CDMax " + STE_S1CDMAX(s) + " above SSIDSIZE " + caps.ssidSize();
            }
            if (STE_S1STALLD(s) && caps.stallModel() != STALL_MODEL_STALL) {
                return "S1STALLD with STALL_MODEL " + caps.stallModel();
            }
            if ((STE_CTXPTR(s) >>> caps.oasBits()) != 0) {
                return "S1ContextPtr beyond OAS";
            }
        }
        if (s2) {
            if (!STE_S2AA64(s)) {
                return "S2AA64 = 0 (AArch32 tables not implemented)";
            }
            int g = switch (STE_S2TG(s)) {
                case 0 -> 12;
                case 1 -> 16;
                case 2 -> 14;
                default -> -1;
            };
            if (g < 0 || !caps.granule(g)) {
                return "S2TG granule not implemented";
            }
            if (STE_S2ENDI(s) && caps.ttendian() == TTENDIAN_LE) {
                return "S2ENDI = 1 on a little-endian-only SMMU";
            }
            if (STE_S2S(s) && caps.stallModel() == STALL_MODEL_TERMINATE) {
                return "S2S with STALL_MODEL terminate";
            }
            if (!STE_S2S(s) && caps.stallModel() == STALL_MODEL_FORCE) {
                return "S2S = 0 with STALL_MODEL force";
            }
            if (STE_S2HA(s) && caps.httu() == SmmuCaps.HTTU_NONE) {
                return "S2HA = 1 without HTTU";
            }
            if (STE_S2HD(s) && caps.httu() != SmmuCaps.HTTU_ACCESS_DIRTY) {
                return "S2HD = 1 without dirty-state HTTU";
            }
            // S2T0SZ within [MAX(16 or 12 for 64K, 64 - IAS), 39] (no STT; IAS = OAS, VMSAv8-64 only)
            int t0sz = STE_S2T0SZ(s);
            if (t0sz > 39 || t0sz < Math.max(g == 16 ? 12 : 16, 64 - caps.oasBits())) {
                return "S2T0SZ " + t0sz + " out of range";
            }
            int ps = oas2bits(Math.min(STE_S2PS(s), caps.oas()));
            if (STE_S2TTB(s) >>> ps != 0 || (g < 16 && STE_S2TTB(s) >>> 48 != 0)) {
                return "S2TTB 0x" + Long.toHexString(STE_S2TTB(s)) + " beyond the " + ps + "-bit S2PS";
            }
            if (SmmuPtw.StageCfg.s2(g, STE_S2T0SZ(s), STE_S2SL0(s), 0, 48, false, false, false) == null) {
                return "S2T0SZ / S2SL0 inconsistent";
            }
        }
        return null;
    }

    private ConfigCache.Ste decodeSte(long addr, long[] s) {
        int config = STE_CONFIG(s);
        if ((config & 4) == 0) {
            config = STE_CFG_ABORT;
        }
        int vmid = caps.vmid16() ? STE_S2VMID(s) : STE_S2VMID(s) & 0xff;
        SmmuPtw.StageCfg s2 = null;
        boolean s2stall = false, s2record = false;
        if ((config & 6) == 6) {
            int g = switch (STE_S2TG(s)) {
                case 0 -> 12;
                case 1 -> 16;
                default -> 14;
            };
            int ps = oas2bits(Math.min(STE_S2PS(s), caps.oas()));
            boolean ha = STE_S2HA(s);
            boolean hd = ha && STE_S2HD(s); // S2HD without S2HA: reserved, as neither
            s2 = SmmuPtw.StageCfg.s2(g, STE_S2T0SZ(s), STE_S2SL0(s), STE_S2TTB(s), ps, ha, hd, STE_S2AFFD(s),
                    caps.xnx());
            s2stall = STE_S2S(s);
            s2record = STE_S2R(s);
        }
        // reserved encodings behave as named ones: S1Fmt 0b11 as linear, S1DSS 0b11 as terminate;
        // without substreams S1CDMax is IGNORED (section 5.2)
        int s1fmt = STE_S1FMT(s) == 3 ? STE_S1FMT_LINEAR : STE_S1FMT(s);
        int s1cdmax = caps.ssidSize() == 0 ? 0 : STE_S1CDMAX(s);
        int s1dss = STE_S1DSS(s) == 3 ? STE_S1DSS_TERMINATE : STE_S1DSS(s);
        // EATS: IGNORED without ATS, 0b11 as 0b00 without DPT; STRW IGNORED with stage 2
        int eats = !caps.ats() || STE_EATS(s) == 3 ? STE_EATS_ABT : STE_EATS(s);
        int strw = (config & 2) != 0 ? STE_STRW_NSEL1 : STE_STRW(s);
        return new ConfigCache.Ste(addr, s, config, s1fmt, STE_CTXPTR(s), s1cdmax, s1dss, STE_S1STALLD(s), eats,
                strw, vmid, s2, s2stall, s2record);
    }

    /* ---------------- CD ---------------- */

    /** Fetches a table word or CD through stage 2 if the STE is nested; -1 after recording the fault. */
    private long cdAddr(DmaTransaction txn, ConfigCache.Ste ste, long ipa, DmaResult res, List<String> log) {
        if (ste.s2() == null) {
            return ipa;
        }
        SmmuPtw.Result r = new SmmuPtw.Result();
        long pa = s2Xlate(ste, ipa, EVT_CLASS_CD, r, log, new SmmuPtw.Result());
        if (pa == -1) {
            fault(txn, res, ste, null, r, log);
        }
        return pa;
    }

    /** Locates, fetches and decodes CD {@code cdIdx}; null after recording the event and setting {@code res}. */
    private ConfigCache.Cd findCd(DmaTransaction txn, ConfigCache.Ste ste, int cdIdx, List<String> log, DmaResult res) {
        int sid = txn.sid;
        boolean ssv = txn.ssidValid();
        int ssid = ssv ? txn.ssid : 0;
        boolean record = !txn.ats; // an ATS request's configuration errors are not recorded
        long ptr = ste.ctxPtr();
        long cdIpa;
        if (ste.s1cdmax() == 0 || ste.s1fmt() == STE_S1FMT_LINEAR) {
            cdIpa = ptr + (long) cdIdx * CD_SIZE;
        } else {
            int split = ste.s1fmt() == STE_S1FMT_4K_L2 ? 6 : 10;
            long l1Ipa = ptr + ((long) (cdIdx >>> split) << 3);
            long l1Pa = cdAddr(txn, ste, l1Ipa, res, log);
            if (l1Pa == -1) {
                return null;
            }
            long l1;
            try {
                l1 = mem.readqAcquire(l1Pa);
            } catch (BusError e) {
                if (record) {
                    event(new SmmuEvent.CdFetch(sid, ssid, ssv, l1Pa), log);
                }
                res.abort(EVT_F_CD_FETCH);
                return null;
            }
            if (log != null) {
                log.add(String.format("2-level CD table @0x%x (%d CDs per leaf): L1CD @0x%x = 0x%016x", ptr, 1 << split,
                        l1Pa, l1));
            }
            if (!CD_L1_VALID(l1) || (ste.s2() == null && CD_L1_L2PTR(l1) >>> caps.oasBits() != 0)) {
                if (log != null) {
                    log.add(CD_L1_VALID(l1) ? "L1CD.L2Ptr beyond the OAS" : "L1CD.V = 0");
                }
                if (record) {
                    event(new SmmuEvent.BadSubstreamId(sid, ssid), log);
                }
                res.abort(EVT_C_BAD_SUBSTREAMID);
                return null;
            }
            cdIpa = CD_L1_L2PTR(l1) + (long) (cdIdx & ((1 << split) - 1)) * CD_SIZE;
        }
        long cdPa = cdAddr(txn, ste, cdIpa, res, log);
        if (cdPa == -1) {
            return null;
        }
        if (smmuv3_get_cd.enabled()) {
            smmuv3_get_cd.emit(cdPa);
        }
        long[] c = new long[CD_DWORDS];
        try {
            for (int i = 0; i < CD_DWORDS; i++) {
                c[i] = mem.readqAcquire(cdPa + 8L * i);
            }
        } catch (BusError e) {
            if (record) {
                event(new SmmuEvent.CdFetch(sid, ssid, ssv, cdPa), log);
            }
            res.abort(EVT_F_CD_FETCH);
            return null;
        }
        if (log != null) {
            log.add(String.format("CD %d @0x%x: %s", cdIdx, cdPa, words(c)));
        }
        String why = cdIllegal(c, ste);
        if (why != null) {
            if (log != null) {
                log.add("CD is ILLEGAL: " + why);
            }
            guestErrorIfLive(log, "C_BAD_CD sid 0x" + Integer.toHexString(sid) + ": " + why);
            if (record) {
                event(new SmmuEvent.BadCd(sid, ssid, ssv), log);
            }
            res.abort(EVT_C_BAD_CD);
            return null;
        }
        boolean epd0 = cdEpd0(c, ste);
        // with EPD0 the TTB0 fields are IGNORED: a walk is never made, any consistent shape will do
        int g = epd0 ? 12 : granuleShiftOfTg0(CD_TG0(c));
        int t0sz = epd0 ? 16 : CD_T0SZ(c);
        int ips = oas2bits(Math.min(CD_IPS(c), caps.oas()));
        boolean ha = CD_HA(c);
        boolean hd = ha && CD_HD(c); // HD without HA: reserved, as neither (section 5.4)
        boolean twoRanges = cdTwoRanges(ste);
        // PAN as on a PE with PSTATE.PAN: only a regime with EL0 has it (the EL2 regime of E2H = 0
        // has none); SMMUv3 has no ID register field for it, every implementation honours it
        boolean pan = twoRanges && CD_PAN(c);
        SmmuPtw.StageCfg s1 = SmmuPtw.StageCfg.s1(g, t0sz, CD_TTB0(c), ips, ha, hd, CD_AFFD(c), CD_TBI0(c), epd0,
                CD_WXN(c), caps.had() && CD_HAD0(c), false, pan);
        // the upper VA range: T1SZ, TG1, TTB1, TBI1, EPD1, HAD1 (with EPD1 the other fields are
        // IGNORED, and any consistent shape will do, as for EPD0)
        SmmuPtw.StageCfg s1hi = null;
        if (twoRanges) {
            boolean epd1 = CD_EPD1(c);
            int g1 = epd1 ? 12 : granuleShiftOfTg1(CD_TG1(c));
            int t1sz = epd1 ? 16 : CD_T1SZ(c);
            s1hi = SmmuPtw.StageCfg.s1(g1, t1sz, CD_TTB1(c), ips, ha, hd, CD_AFFD(c), CD_TBI1(c), epd1, CD_WXN(c),
                    caps.had() && CD_HAD1(c), true, pan);
        }
        int asid = CD_ASID(c);
        if (smmuv3_decode_cd.enabled()) {
            smmuv3_decode_cd.emit(asid, s1.ttb(), CD_T0SZ(c), CD_TG0(c));
        }
        // the validity rules leave S and A meaning what they say (section 5.5)
        return new ConfigCache.Cd(cdPa, c, asid, s1, s1hi, CD_S(c), CD_R(c), CD_A(c));
    }

    /**
     * Whether a CD reached through {@code ste} describes a stage-1 regime with two VA ranges
     * (TTB0 and TTB1): every StreamWorld but EL2 without CR2.E2H, whose regime has one (TTB0),
     * and where EPD1, T1SZ, TG1, TTB1, TBI1 and HAD1 are IGNORED.
     */
    private boolean cdTwoRanges(ConfigCache.Ste ste) {
        return !(ste.strw() == STE_STRW_EL2 && (cr2 & R_CR2_E2H) == 0);
    }

    /** CD.EPD0 as it applies: IGNORED (0) for a StreamWorld of EL2 without E2H. */
    private boolean cdEpd0(long[] c, ConfigCache.Ste ste) {
        return CD_EPD0(c) && cdTwoRanges(ste); // the EPDx bits exist where the regime has two ranges
    }

    /**
     * Why a CD reached through {@code ste} is ILLEGAL (C_BAD_CD), or null (section 5.4, and 5.5
     * for the fault configuration). The TTB0 fields (T0SZ, TG0, TTB0) count only while EPD0 is 0.
     */
    private String cdIllegal(long[] c, ConfigCache.Ste ste) {
        if (!CD_VALID(c)) {
            return "V = 0";
        }
        if (!CD_AA64(c)) {
            return "AA64 = 0 (AArch32 tables not implemented)";
        }
        boolean epd0 = cdEpd0(c, ste);
        if (!epd0) {
            int g = granuleShiftOfTg0(CD_TG0(c));
            if (g < 0 || !caps.granule(g)) {
                return "TG0 granule not implemented";
            }
            int t0sz = CD_T0SZ(c);
            int minT0sz = caps.vax() == 1 && g == 16 ? 12 : 16;
            // out of [min, 39]: ILLEGAL from SMMUv3.1 (CONSTRAINED UNPREDICTABLE in 3.0, the same here)
            if (t0sz < minT0sz || t0sz > 39) {
                return "T0SZ " + t0sz + " out of range";
            }
            int ips = oas2bits(Math.min(CD_IPS(c), caps.oas()));
            if (CD_TTB0(c) >>> ips != 0 || (g < 16 && CD_TTB0(c) >>> 48 != 0)) {
                return "TTB0 0x" + Long.toHexString(CD_TTB0(c)) + " beyond the " + ips + "-bit IPS";
            }
        }
        // the TTB1 half by the same rules while EPD1 is 0, in the regimes with two VA ranges (EPD1
        // is IGNORED in the EL2 regime of E2H = 0)
        if (!CD_EPD1(c) && cdTwoRanges(ste)) {
            int g = granuleShiftOfTg1(CD_TG1(c));
            if (g < 0 || !caps.granule(g)) {
                return "TG1 granule not implemented";
            }
            int t1sz = CD_T1SZ(c);
            if (t1sz < (caps.vax() == 1 && g == 16 ? 12 : 16) || t1sz > 39) {
                return "T1SZ " + t1sz + " out of range";
            }
            int ips = oas2bits(Math.min(CD_IPS(c), caps.oas()));
            if (CD_TTB1(c) >>> ips != 0 || (g < 16 && CD_TTB1(c) >>> 48 != 0)) {
                return "TTB1 0x" + Long.toHexString(CD_TTB1(c)) + " beyond the " + ips + "-bit IPS";
            }
        }
        if (CD_ENDI(c) && caps.ttendian() == TTENDIAN_LE && !(epd0 && CD_EPD1(c))) {
            return "ENDI = 1 on a little-endian-only SMMU";
        }
        if (CD_HA(c) && caps.httu() == SmmuCaps.HTTU_NONE) {
            return "HA = 1 without HTTU";
        }
        if (CD_HD(c) && caps.httu() != SmmuCaps.HTTU_ACCESS_DIRTY) {
            return "HD = 1 without dirty-state HTTU";
        }
        if (!caps.asid16() && CD_ASID(c) >>> 8 != 0 && !(ste.strw() == STE_STRW_EL2 && (cr2 & R_CR2_E2H) == 0)) {
            return "ASID[15:8] = 0x" + Integer.toHexString(CD_ASID(c) >>> 8) + " without 16-bit ASIDs";
        }
        if (CD_S(c) && caps.stallModel() == STALL_MODEL_TERMINATE) {
            return "S = 1 with STALL_MODEL terminate";
        }
        if (CD_S(c) && caps.stallModel() == STALL_MODEL_STALL && ste.s1stalld()) {
            return "S = 1 under STE.S1STALLD = 1";
        }
        if (!CD_S(c) && caps.stallModel() == STALL_MODEL_FORCE) {
            return "S = 0 with STALL_MODEL force";
        }
        if (!CD_A(c) && caps.termModel()) {
            return "A = 0 with TERM_MODEL 1 (no RAZ/WI termination)";
        }
        return null;
    }

    /* =========================================================================================
     * Diagnostics
     * ========================================================================================= */

    private void guestErrorIfLive(List<String> log, String msg) {
        if (log == null) {
            guestError(msg);
        }
    }

    private static void guestError(String msg) {
        if (smmuv3_guest_error.enabled()) {
            smmuv3_guest_error.emit(msg);
        }
    }

    private static void unimp(String fmt, Object... args) {
        if (smmuv3_unimp.enabled()) {
            smmuv3_unimp.emit(String.format(fmt, args));
        }
    }

    /* ---------------- accessors for tests and tools ---------------- */

    /** The last (up to 4096) event records written to the event queue, oldest first. */
    public List<SmmuEvent> events() {
        lock.lock();
        try {
            return new ArrayList<>(eventLog);
        } finally {
            lock.unlock();
        }
    }

    public void clearEvents() {
        lock.lock();
        try {
            eventLog.clear();
        } finally {
            lock.unlock();
        }
    }

    private long locked(java.util.function.LongSupplier s) {
        lock.lock();
        try {
            return s.getAsLong();
        } finally {
            lock.unlock();
        }
    }

    /** Event records written into the queue. */
    public long eventsRecorded() {
        return locked(() -> eventsRecorded);
    }

    /** Event records lost because the queue was full. */
    public long eventsLost() {
        return locked(() -> eventsLost);
    }

    /** Event records discarded because EVENTQEN = 0. */
    public long eventsDiscarded() {
        return locked(() -> eventsDiscarded);
    }

    public long priRecorded() {
        return locked(() -> priRecorded);
    }

    public long priLost() {
        return locked(() -> priLost);
    }

    /** CMD_SYNCs completed. */
    public long syncCount() {
        return locked(() -> syncs);
    }

    /** CMD_SYNCs completed with CS = SEV (a send-event). */
    public long sevCount() {
        return locked(() -> sevs);
    }

    /** Commands consumed (including the failing ones). */
    public long commandsConsumed() {
        return locked(() -> commands);
    }

    public int gerror() {
        return gerror;
    }

    public int gerrorn() {
        return gerrorn;
    }

    /** Active global errors: GERROR xor GERRORN. */
    public int gerrorActive() {
        return gerror ^ gerrorn;
    }

    /** CMDQ_CONS.ERR. */
    public int cmdqConsErr() {
        return ex32(cmdq.cons, R_CMDQ_CONS_ERR_SHIFT, R_CMDQ_CONS_ERR_LENGTH);
    }
}
