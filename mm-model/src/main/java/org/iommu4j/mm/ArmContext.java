package org.iommu4j.mm;

import static org.iommu4j.base.Bits.GENMASK;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceEvent;

/**
 * The arm64 ASID allocator (arch/arm64/mm/context.c, v5.15) with ASID pinning for SVA.
 *
 * <p>{@code mm->context.id} holds generation | ASID: the low {@code asid_bits} bits are the
 * hardware ASID, the bits above count rollovers (the generation advances by
 * {@code 1 << asid_bits}). An mm whose generation is current can run with its ASID on any CPU
 * without locking (fast path of {@link #checkAndSwitchContext}); otherwise
 * {@code cpu_asid_lock} is taken and {@code new_context} hands out a free ASID, starting a new
 * generation (rollover) when the bitmap is full. A rollover keeps the ASIDs that are live on
 * some CPU (per-CPU active/reserved ASIDs) and the pinned ones, and marks every CPU's TLB for a
 * flush before it next switches.
 *
 * <p>Pinning ({@link #arm64MmContextGet}): an SMMU sharing the CPU page tables must see one
 * ASID for the mm for as long as it is bound, so a pinned ASID is reserved across rollovers
 * (the bitmap is re-seeded from {@code pinned_asid_map}). At most {@code max_pinned_asids}
 * (usable ASIDs - CPUs - 2) may be pinned so a rollover always finds a free ASID.
 *
 * <p>Invariants (under cpu_asid_lock): every ASID in {@code pinned_asid_map} is set in
 * {@code asid_map}; {@code nr_pinned_asids} is the population of {@code pinned_asid_map};
 * ASID 0 is never handed out (init_mm's reserved TTBR0).
 * Non-invariants: {@code active_asids[cpu]} may be zeroed by a rollover at any time (the CPU
 * then takes the slow path); the fast path reads the generation without the lock.
 */
@Port("arch/arm64/mm/context.c:asids_init")
public final class ArmContext {
    public static final TraceEvent NEW_CONTEXT = Trace.event("mm", "arm64_new_context",
            "cpu=%d ctx=%#x gen=%#x", "cpu", "ctxid", "generation");
    public static final TraceEvent ROLLOVER = Trace.event("mm", "arm64_asid_rollover",
            "generation=%#x", "generation");

    /** {@code mm->context}: generation|ASID and the pin count (arch/arm64/include/asm/mmu.h). */
    @Port("arch/arm64/include/asm/mmu.h:mm_context_t")
    public static final class MmContext {
        /** atomic64_t id. */
        public final AtomicLong id = new AtomicLong();
        /** refcount_t pinned. */
        public final org.iommu4j.base.Refcount pinned = new org.iommu4j.base.Refcount(0);
    }

    public final int asidBits;
    private final int nrCpus;
    private final boolean kpti;
    /** Protects asid_map, pinned map, reserved_asids, tlb_flush_pending, cur_idx, the slow path. */
    private final ReentrantLock cpuAsidLock = new ReentrantLock();
    private final AtomicLong asidGeneration = new AtomicLong();
    private final long[] asidMap;
    private final long[] pinnedAsidMap;
    private final AtomicLongArray activeAsids;
    private final long[] reservedAsids;
    private final boolean[] tlbFlushPending;
    private final long maxPinnedAsids;
    private long nrPinnedAsids;
    private int curIdx = 1;
    private final AtomicLong rollovers = new AtomicLong();

    /**
     * @param asidBits 8 or 16 (ID_AA64MMFR0_EL1.ASIDBits)
     * @param nrCpus   possible CPUs
     * @param pinning  whether pinned_asid_map exists (false: arm64_mm_context_get returns 0)
     * @param kpti     kernel unmapped at EL0: ASIDs come in pairs, odd ones for user space.
     *                 Without it this is a kernel built without CONFIG_UNMAP_KERNEL_AT_EL0. A
     *                 v5.15 built with it (the arm64 default) but not using KPTI differs in its
     *                 first generation only: asids_init reserves the odd ASIDs before it knows,
     *                 so the first ASID is 2, and the first rollover frees them.
     */
    public ArmContext(int asidBits, int nrCpus, boolean pinning, boolean kpti) {
        if (asidBits != 8 && asidBits != 16) {
            throw new IllegalArgumentException("asid_bits must be 8 or 16");
        }
        if (nrCpus < 1) {
            throw new IllegalArgumentException("need a CPU");
        }
        this.asidBits = asidBits;
        this.nrCpus = nrCpus;
        this.kpti = kpti;
        asidGeneration.set(ASID_FIRST_VERSION());
        asidMap = new long[(int) (NUM_USER_ASIDS() / 64)];
        pinnedAsidMap = pinning ? new long[asidMap.length] : null;
        activeAsids = new AtomicLongArray(nrCpus);
        reservedAsids = new long[nrCpus];
        tlbFlushPending = new boolean[nrCpus];
        if (kpti) {
            setKptiAsidBits(asidMap);
        }
        // asids_update_limit()
        long available = NUM_USER_ASIDS();
        if (kpti) {
            available /= 2;
            if (pinnedAsidMap != null) {
                setKptiAsidBits(pinnedAsidMap);
            }
        }
        Warn.WARN_ON(available - 1 <= nrCpus);
        maxPinnedAsids = available - nrCpus - 2;
        Printk.prInfo("ASID allocator initialised with %d entries", available);
    }

    /* ---- context.c macros ---- */

    /** ~GENMASK(asid_bits - 1, 0). */
    public long ASID_MASK() {
        return ~GENMASK(asidBits - 1, 0);
    }

    public long ASID_FIRST_VERSION() {
        return 1L << asidBits;
    }

    public long NUM_USER_ASIDS() {
        return ASID_FIRST_VERSION();
    }

    @Port("arch/arm64/mm/context.c:ctxid2asid")
    public long ctxid2asid(long ctxid) {
        return ctxid & ~ASID_MASK();
    }

    @Port("arch/arm64/mm/context.c:asid2ctxid")
    public static long asid2ctxid(long asid, long genid) {
        return asid | genid;
    }

    /** {@code ASID(mm)} (asm/mmu.h): the hardware ASID in mm->context.id. */
    @Port("arch/arm64/include/asm/mmu.h:ASID")
    public static int ASID(Mm mm) {
        return (int) (mm.context.id.get() & 0xffff);
    }

    /** True if the context id belongs to the current generation. */
    @Port("arch/arm64/mm/context.c:asid_gen_match")
    public boolean asidGenMatch(long asid) {
        return ((asid ^ asidGeneration.get()) >>> asidBits) == 0;
    }

    public long generation() {
        return asidGeneration.get();
    }

    public long rollovers() {
        return rollovers.get();
    }

    public long maxPinnedAsids() {
        return maxPinnedAsids;
    }

    public long nrPinnedAsids() {
        cpuAsidLock.lock();
        try {
            return nrPinnedAsids;
        } finally {
            cpuAsidLock.unlock();
        }
    }

    public boolean kpti() {
        return kpti;
    }

    public int nrCpus() {
        return nrCpus;
    }

    /** active_asids[cpu] (0 after a rollover until the CPU switches again). */
    public long activeAsid(int cpu) {
        return activeAsids.get(cpu);
    }

    /* ---- bitmap helpers ---- */

    private static boolean testBit(long[] map, long nr) {
        return (map[(int) (nr >>> 6)] & (1L << nr)) != 0;
    }

    private static void __setBit(long[] map, long nr) {
        map[(int) (nr >>> 6)] |= 1L << nr;
    }

    private static void __clearBit(long[] map, long nr) {
        map[(int) (nr >>> 6)] &= ~(1L << nr);
    }

    private static boolean __testAndSetBit(long[] map, long nr) {
        boolean old = testBit(map, nr);
        __setBit(map, nr);
        return old;
    }

    private long findNextZeroBit(long[] map, long size, long offset) {
        for (long i = offset; i < size; i++) {
            long w = map[(int) (i >>> 6)];
            if (w == -1L) {
                i |= 63;
                continue;
            }
            if ((w & (1L << i)) == 0) {
                return i;
            }
        }
        return size;
    }

    /**
     * Marks every odd ASID as taken (0xaa in each byte): under KPTI ASIDs come in pairs, the
     * allocator hands out the even one (the kernel's, with TTBR1) and user space runs with its
     * odd twin (USER_ASID_FLAG).
     */
    @Port("arch/arm64/mm/context.c:set_kpti_asid_bits")
    private static void setKptiAsidBits(long[] map) {
        java.util.Arrays.fill(map, 0xaaaaaaaaaaaaaaaaL);
    }

    @Port("arch/arm64/mm/context.c:set_reserved_asid_bits")
    private void setReservedAsidBits() {
        if (pinnedAsidMap != null) {
            System.arraycopy(pinnedAsidMap, 0, asidMap, 0, asidMap.length);
        } else if (kpti) {
            setKptiAsidBits(asidMap);
        } else {
            java.util.Arrays.fill(asidMap, 0);
        }
    }

    /** Rebuilds the bitmap for a new generation. Call only holding cpu_asid_lock. */
    @Port("arch/arm64/mm/context.c:flush_context")
    private void flushContext() {
        setReservedAsidBits();
        for (int i = 0; i < nrCpus; i++) {
            long asid = activeAsids.getAndSet(i, 0);
            // A CPU that went through a rollover without switching since still runs the mm of
            // its reserved ASID: keep it.
            if (asid == 0) {
                asid = reservedAsids[i];
            }
            __setBit(asidMap, ctxid2asid(asid));
            reservedAsids[i] = asid;
        }
        java.util.Arrays.fill(tlbFlushPending, true);
        rollovers.incrementAndGet();
        if (ROLLOVER.enabled()) {
            ROLLOVER.emit(asidGeneration.get());
        }
    }

    /** Updates every reserved copy of {@code asid} to {@code newasid}; true if there was one. */
    @Port("arch/arm64/mm/context.c:check_update_reserved_asid")
    private boolean checkUpdateReservedAsid(long asid, long newasid) {
        boolean hit = false;
        for (int cpu = 0; cpu < nrCpus; cpu++) {
            if (reservedAsids[cpu] == asid) {
                hit = true;
                reservedAsids[cpu] = newasid;
            }
        }
        return hit;
    }

    /** Chooses the mm's context id for the current generation. Call only holding cpu_asid_lock. */
    @Port("arch/arm64/mm/context.c:new_context")
    private long newContext(Mm mm) {
        long asid = mm.context.id.get();
        long generation = asidGeneration.get();

        if (asid != 0) {
            long newasid = asid2ctxid(ctxid2asid(asid), generation);
            // Live on a CPU during the rollover: keep it.
            if (checkUpdateReservedAsid(asid, newasid)) {
                return newasid;
            }
            // Pinned: its bit was carried over from pinned_asid_map.
            if (mm.context.pinned.refcountRead() != 0) {
                return newasid;
            }
            // Reuse the old number if still free in this generation.
            if (!__testAndSetBit(asidMap, ctxid2asid(asid))) {
                return newasid;
            }
        }

        asid = findNextZeroBit(asidMap, NUM_USER_ASIDS(), curIdx);
        if (asid == NUM_USER_ASIDS()) {
            generation = asidGeneration.addAndGet(ASID_FIRST_VERSION());
            flushContext();
            // More ASIDs than CPUs + pinned: this always succeeds.
            asid = findNextZeroBit(asidMap, NUM_USER_ASIDS(), 1);
        }
        __setBit(asidMap, asid);
        curIdx = (int) asid;
        return asid2ctxid(asid, generation);
    }

    /**
     * Makes {@code mm} current on {@code cpu}: gives it a current-generation ASID if needed,
     * performs a pending local TLB flush, and loads TTBR0 ({@code cpu_switch_mm}).
     *
     * <p>Context: called on the CPU that switches (the calling thread owns {@code cpu}).
     * Locking: lock-free fast path; otherwise takes cpu_asid_lock.
     */
    @Port("arch/arm64/mm/context.c:check_and_switch_context")
    public void checkAndSwitchContext(Mm mm, Cpu cpu) {
        int c = cpu.id;
        long asid = mm.context.id.get();
        long oldActiveAsid = activeAsids.get(c);
        // The cmpxchg fails if a rollover zeroed our active ASID meanwhile (pairs with the
        // xchg in flush_context), which sends us to the slow path.
        if (oldActiveAsid != 0 && asidGenMatch(asid) && activeAsids.compareAndSet(c, oldActiveAsid, asid)) {
            cpu.cpuSwitchMm(mm.pgd, mm, asid);
            return;
        }
        cpuAsidLock.lock();
        try {
            asid = mm.context.id.get();
            if (!asidGenMatch(asid)) {
                asid = newContext(mm);
                mm.context.id.set(asid);
                if (NEW_CONTEXT.enabled()) {
                    NEW_CONTEXT.emit(c, asid, asidGeneration.get());
                }
            }
            if (tlbFlushPending[c]) {
                tlbFlushPending[c] = false;
                cpu.localFlushTlbAll();
            }
            activeAsids.set(c, asid);
        } finally {
            cpuAsidLock.unlock();
        }
        cpu.cpuSwitchMm(mm.pgd, mm, asid);
    }

    /**
     * Pins the mm's ASID so it survives rollovers, for sharing with an SMMU.
     *
     * <p>Return: the hardware ASID (bit 0 set under KPTI), or 0 if pinning is unavailable or
     * {@code max_pinned_asids} are already pinned. A second call for the same mm only takes a
     * reference. Locking: cpu_asid_lock.
     */
    @Port("arch/arm64/mm/context.c:arm64_mm_context_get")
    public long arm64MmContextGet(Mm mm) {
        if (pinnedAsidMap == null) {
            return 0;
        }
        long asid;
        cpuAsidLock.lock();
        try {
            asid = mm.context.id.get();
            if (!mm.context.pinned.refcountIncNotZero()) {
                if (nrPinnedAsids >= maxPinnedAsids) {
                    asid = 0;
                } else {
                    if (!asidGenMatch(asid)) {
                        // Stale generation: new_context keeps the number where it can, else picks a new one.
                        asid = newContext(mm);
                        mm.context.id.set(asid);
                    }
                    nrPinnedAsids++;
                    __setBit(pinnedAsidMap, ctxid2asid(asid));
                    mm.context.pinned.refcountSet(1);
                }
            }
        } finally {
            cpuAsidLock.unlock();
        }
        asid = ctxid2asid(asid);
        if (asid != 0 && kpti) {
            asid |= 1;
        }
        return asid;
    }

    /** Drops a pin; the last one releases the ASID to normal rollover. */
    @Port("arch/arm64/mm/context.c:arm64_mm_context_put")
    public void arm64MmContextPut(Mm mm) {
        if (pinnedAsidMap == null) {
            return;
        }
        long asid = mm.context.id.get();
        cpuAsidLock.lock();
        try {
            if (mm.context.pinned.refcountDecAndTest()) {
                __clearBit(pinnedAsidMap, ctxid2asid(asid));
                nrPinnedAsids--;
            }
        } finally {
            cpuAsidLock.unlock();
        }
    }

    /** Test/teaching view: is {@code asid} set in the current bitmap. */
    public boolean asidInUse(long asid) {
        cpuAsidLock.lock();
        try {
            return testBit(asidMap, asid);
        } finally {
            cpuAsidLock.unlock();
        }
    }

    /** Test/teaching view: is {@code asid} pinned. */
    public boolean asidPinned(long asid) {
        cpuAsidLock.lock();
        try {
            return pinnedAsidMap != null && testBit(pinnedAsidMap, asid);
        } finally {
            cpuAsidLock.unlock();
        }
    }
}
