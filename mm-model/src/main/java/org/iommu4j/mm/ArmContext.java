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
 * without locking (fast path of {@link #check_and_switch_context}); otherwise
 * {@code cpu_asid_lock} is taken and {@code new_context} hands out a free ASID, starting a new
 * generation (rollover) when the bitmap is full. A rollover keeps the ASIDs that are live on
 * some CPU (per-CPU active/reserved ASIDs) and the pinned ones, and marks every CPU's TLB for a
 * flush before it next switches.
 *
 * <p>Pinning ({@link #arm64_mm_context_get}): an SMMU sharing the CPU page tables must see one
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

    public final int asid_bits;
    private final int nrCpus;
    private final boolean kpti;
    /** Protects asid_map, pinned map, reserved_asids, tlb_flush_pending, cur_idx, the slow path. */
    private final ReentrantLock cpu_asid_lock = new ReentrantLock();
    private final AtomicLong asid_generation = new AtomicLong();
    private final long[] asid_map;
    private final long[] pinned_asid_map;
    private final AtomicLongArray active_asids;
    private final long[] reserved_asids;
    private final boolean[] tlb_flush_pending;
    private final long max_pinned_asids;
    private long nr_pinned_asids;
    private int cur_idx = 1;
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
        this.asid_bits = asidBits;
        this.nrCpus = nrCpus;
        this.kpti = kpti;
        asid_generation.set(ASID_FIRST_VERSION());
        asid_map = new long[(int) (NUM_USER_ASIDS() / 64)];
        pinned_asid_map = pinning ? new long[asid_map.length] : null;
        active_asids = new AtomicLongArray(nrCpus);
        reserved_asids = new long[nrCpus];
        tlb_flush_pending = new boolean[nrCpus];
        if (kpti) {
            set_kpti_asid_bits(asid_map);
        }
        // asids_update_limit()
        long available = NUM_USER_ASIDS();
        if (kpti) {
            available /= 2;
            if (pinned_asid_map != null) {
                set_kpti_asid_bits(pinned_asid_map);
            }
        }
        Warn.WARN_ON(available - 1 <= nrCpus);
        max_pinned_asids = available - nrCpus - 2;
        Printk.pr_info("ASID allocator initialised with %d entries", available);
    }

    /* ---- context.c macros ---- */

    /** ~GENMASK(asid_bits - 1, 0). */
    public long ASID_MASK() {
        return ~GENMASK(asid_bits - 1, 0);
    }

    public long ASID_FIRST_VERSION() {
        return 1L << asid_bits;
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
    public boolean asid_gen_match(long asid) {
        return ((asid ^ asid_generation.get()) >>> asid_bits) == 0;
    }

    public long generation() {
        return asid_generation.get();
    }

    public long rollovers() {
        return rollovers.get();
    }

    public long max_pinned_asids() {
        return max_pinned_asids;
    }

    public long nr_pinned_asids() {
        cpu_asid_lock.lock();
        try {
            return nr_pinned_asids;
        } finally {
            cpu_asid_lock.unlock();
        }
    }

    public boolean kpti() {
        return kpti;
    }

    public int nrCpus() {
        return nrCpus;
    }

    /** active_asids[cpu] (0 after a rollover until the CPU switches again). */
    public long active_asid(int cpu) {
        return active_asids.get(cpu);
    }

    /* ---- bitmap helpers ---- */

    private static boolean test_bit(long[] map, long nr) {
        return (map[(int) (nr >>> 6)] & (1L << nr)) != 0;
    }

    private static void __set_bit(long[] map, long nr) {
        map[(int) (nr >>> 6)] |= 1L << nr;
    }

    private static void __clear_bit(long[] map, long nr) {
        map[(int) (nr >>> 6)] &= ~(1L << nr);
    }

    private static boolean __test_and_set_bit(long[] map, long nr) {
        boolean old = test_bit(map, nr);
        __set_bit(map, nr);
        return old;
    }

    private long find_next_zero_bit(long[] map, long size, long offset) {
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
    private static void set_kpti_asid_bits(long[] map) {
        java.util.Arrays.fill(map, 0xaaaaaaaaaaaaaaaaL);
    }

    @Port("arch/arm64/mm/context.c:set_reserved_asid_bits")
    private void set_reserved_asid_bits() {
        if (pinned_asid_map != null) {
            System.arraycopy(pinned_asid_map, 0, asid_map, 0, asid_map.length);
        } else if (kpti) {
            set_kpti_asid_bits(asid_map);
        } else {
            java.util.Arrays.fill(asid_map, 0);
        }
    }

    /** Rebuilds the bitmap for a new generation. Call only holding cpu_asid_lock. */
    @Port("arch/arm64/mm/context.c:flush_context")
    private void flush_context() {
        set_reserved_asid_bits();
        for (int i = 0; i < nrCpus; i++) {
            long asid = active_asids.getAndSet(i, 0);
            // A CPU that went through a rollover without switching since still runs the mm of
            // its reserved ASID: keep it.
            if (asid == 0) {
                asid = reserved_asids[i];
            }
            __set_bit(asid_map, ctxid2asid(asid));
            reserved_asids[i] = asid;
        }
        java.util.Arrays.fill(tlb_flush_pending, true);
        rollovers.incrementAndGet();
        if (ROLLOVER.enabled()) {
            ROLLOVER.emit(asid_generation.get());
        }
    }

    /** Updates every reserved copy of {@code asid} to {@code newasid}; true if there was one. */
    @Port("arch/arm64/mm/context.c:check_update_reserved_asid")
    private boolean check_update_reserved_asid(long asid, long newasid) {
        boolean hit = false;
        for (int cpu = 0; cpu < nrCpus; cpu++) {
            if (reserved_asids[cpu] == asid) {
                hit = true;
                reserved_asids[cpu] = newasid;
            }
        }
        return hit;
    }

    /** Chooses the mm's context id for the current generation. Call only holding cpu_asid_lock. */
    @Port("arch/arm64/mm/context.c:new_context")
    private long new_context(Mm mm) {
        long asid = mm.context.id.get();
        long generation = asid_generation.get();

        if (asid != 0) {
            long newasid = asid2ctxid(ctxid2asid(asid), generation);
            // Live on a CPU during the rollover: keep it.
            if (check_update_reserved_asid(asid, newasid)) {
                return newasid;
            }
            // Pinned: its bit was carried over from pinned_asid_map.
            if (mm.context.pinned.refcount_read() != 0) {
                return newasid;
            }
            // Reuse the old number if still free in this generation.
            if (!__test_and_set_bit(asid_map, ctxid2asid(asid))) {
                return newasid;
            }
        }

        asid = find_next_zero_bit(asid_map, NUM_USER_ASIDS(), cur_idx);
        if (asid == NUM_USER_ASIDS()) {
            generation = asid_generation.addAndGet(ASID_FIRST_VERSION());
            flush_context();
            // More ASIDs than CPUs + pinned: this always succeeds.
            asid = find_next_zero_bit(asid_map, NUM_USER_ASIDS(), 1);
        }
        __set_bit(asid_map, asid);
        cur_idx = (int) asid;
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
    public void check_and_switch_context(Mm mm, Cpu cpu) {
        int c = cpu.id;
        long asid = mm.context.id.get();
        long old_active_asid = active_asids.get(c);
        // The cmpxchg fails if a rollover zeroed our active ASID meanwhile (pairs with the
        // xchg in flush_context), which sends us to the slow path.
        if (old_active_asid != 0 && asid_gen_match(asid) && active_asids.compareAndSet(c, old_active_asid, asid)) {
            cpu.cpu_switch_mm(mm.pgd, mm, asid);
            return;
        }
        cpu_asid_lock.lock();
        try {
            asid = mm.context.id.get();
            if (!asid_gen_match(asid)) {
                asid = new_context(mm);
                mm.context.id.set(asid);
                if (NEW_CONTEXT.enabled()) {
                    NEW_CONTEXT.emit(c, asid, asid_generation.get());
                }
            }
            if (tlb_flush_pending[c]) {
                tlb_flush_pending[c] = false;
                cpu.local_flush_tlb_all();
            }
            active_asids.set(c, asid);
        } finally {
            cpu_asid_lock.unlock();
        }
        cpu.cpu_switch_mm(mm.pgd, mm, asid);
    }

    /**
     * Pins the mm's ASID so it survives rollovers, for sharing with an SMMU.
     *
     * <p>Return: the hardware ASID (bit 0 set under KPTI), or 0 if pinning is unavailable or
     * {@code max_pinned_asids} are already pinned. A second call for the same mm only takes a
     * reference. Locking: cpu_asid_lock.
     */
    @Port("arch/arm64/mm/context.c:arm64_mm_context_get")
    public long arm64_mm_context_get(Mm mm) {
        if (pinned_asid_map == null) {
            return 0;
        }
        long asid;
        cpu_asid_lock.lock();
        try {
            asid = mm.context.id.get();
            if (!mm.context.pinned.refcount_inc_not_zero()) {
                if (nr_pinned_asids >= max_pinned_asids) {
                    asid = 0;
                } else {
                    if (!asid_gen_match(asid)) {
                        // Stale generation: new_context keeps the number where it can, else picks a new one.
                        asid = new_context(mm);
                        mm.context.id.set(asid);
                    }
                    nr_pinned_asids++;
                    __set_bit(pinned_asid_map, ctxid2asid(asid));
                    mm.context.pinned.refcount_set(1);
                }
            }
        } finally {
            cpu_asid_lock.unlock();
        }
        asid = ctxid2asid(asid);
        if (asid != 0 && kpti) {
            asid |= 1;
        }
        return asid;
    }

    /** Drops a pin; the last one releases the ASID to normal rollover. */
    @Port("arch/arm64/mm/context.c:arm64_mm_context_put")
    public void arm64_mm_context_put(Mm mm) {
        if (pinned_asid_map == null) {
            return;
        }
        long asid = mm.context.id.get();
        cpu_asid_lock.lock();
        try {
            if (mm.context.pinned.refcount_dec_and_test()) {
                __clear_bit(pinned_asid_map, ctxid2asid(asid));
                nr_pinned_asids--;
            }
        } finally {
            cpu_asid_lock.unlock();
        }
    }

    /** Test/teaching view: is {@code asid} set in the current bitmap. */
    public boolean asid_in_use(long asid) {
        cpu_asid_lock.lock();
        try {
            return test_bit(asid_map, asid);
        } finally {
            cpu_asid_lock.unlock();
        }
    }

    /** Test/teaching view: is {@code asid} pinned. */
    public boolean asid_pinned(long asid) {
        cpu_asid_lock.lock();
        try {
            return pinned_asid_map != null && test_bit(pinned_asid_map, asid);
        } finally {
            cpu_asid_lock.unlock();
        }
    }
}
