package org.iommu4j.smmuv3.hw;

import java.util.concurrent.locks.StampedLock;
import org.iommu4j.base.hw.DmaResult;

/**
 * The TLB: final translations (stage 1, stage 2 or both combined) in a set-associative array
 * with round-robin replacement, so it has a hardware-like capacity and the hit path is a few
 * array probes with no allocation and no boxing.
 *
 * <p>Tags: regime ({@link #REGIME_NS_EL1} stage 1 or nested, {@link #REGIME_EL2},
 * {@link #REGIME_S2} stage 2 only), VMID, ASID (ignored for global entries), the input block
 * address and its size (page or block of the table's granule), the CD's PAN (its entries'
 * permissions have it applied, so a CD with PAN and one without never share one), and the
 * level of the leaf descriptor (stage 1's for a nested entry), which a TLBI's TTL hint is
 * matched against. A stage-1 input address is tagged whole, its top byte as the range's TBI
 * leaves it ({@code SmmuV3.translateStages}): a TTB1 entry's bits above the range's size are
 * ones, a TTB0 entry's zeros, so neither range's entries answer the other's addresses.
 * Outputs: the output block address and the permissions ({@link SmmuPtw#P_UR}.. bits). The set index hashes VMID, input
 * block and block size; a lookup probes every block size present in the TLB.
 *
 * <p>Entries leave only through {@code invalidate*} (the TLBI commands and BTM broadcasts) or
 * replacement. Locking: a {@link StampedLock}: lookups are optimistic reads (validated, retried
 * under the read lock if a writer intervened), inserts and invalidations take the write lock.
 * {@link #generation()} guards inserts against a racing invalidation, as in {@link ConfigCache}.
 * Counters are plain fields: exact single-threaded, approximate under concurrency.
 */
public final class SmmuTlb {
    public static final int REGIME_NS_EL1 = 0;
    public static final int REGIME_EL2 = 1;
    public static final int REGIME_S2 = 2;

    private final int ways;
    private final int setBits;
    private final boolean[] valid;
    private final byte[] regime;
    private final byte[] shift;
    /** The leaf's translation table level (1..3). */
    private final byte[] level;
    private final boolean[] global;
    private final boolean[] nested;
    /**
     * Whether broadcast TLB maintenance applies to the entry: stage-1 entries of a CD with
     * ASET = 0 (an ASID shared with the PEs), and stage-2 entries.
     */
    private final boolean[] shared;
    /** The entry's permissions have CD.PAN applied (a lookup under PAN finds only these, and the reverse). */
    private final boolean[] pan;
    private final int[] vmid;
    private final int[] asid;
    private final long[] inBase;
    private final long[] outBase;
    private final int[] perm;
    private final byte[] victim;
    /** Bit n set: some entry may have block size 2^n. */
    private long shiftsPresent;
    private volatile boolean enabled = true;
    private volatile long generation;
    private long hits, misses;
    private final StampedLock sl = new StampedLock();
    private final FrontCache front;

    SmmuTlb(int sets, int ways, FrontCache front) {
        this.front = front;
        if (Integer.bitCount(sets) != 1 || ways < 1) {
            throw new IllegalArgumentException("sets must be a power of two");
        }
        this.ways = ways;
        this.setBits = Integer.numberOfTrailingZeros(sets);
        int n = sets * ways;
        valid = new boolean[n];
        regime = new byte[n];
        shift = new byte[n];
        level = new byte[n];
        global = new boolean[n];
        nested = new boolean[n];
        shared = new boolean[n];
        pan = new boolean[n];
        vmid = new int[n];
        asid = new int[n];
        inBase = new long[n];
        outBase = new long[n];
        perm = new int[n];
        victim = new byte[sets];
    }

    private int set(int reg, int vm, long base, int sh) {
        long h = (base >>> sh) * 0x9E3779B97F4A7C15L + ((long) vm << 8 | reg << 6 | sh) * 0xC2B2AE3D27D4EB4FL;
        return (int) (h >>> (64 - setBits)) * ways;
    }

    /**
     * Looks up {@code addr} for a CD with PAN {@code pn}. Counts a hit or miss. Only entries whose
     * permissions include {@code need} hit: a permission miss re-walks, so a fault always comes
     * from the tables (faults are never cached). On a hit fills {@code res.pa}, {@code res.perm}
     * (raw {@link SmmuPtw} permission bits) and {@code res.pageSize}.
     */
    public boolean lookup(int reg, int vm, int as, boolean shr, boolean pn, long addr, int need, DmaResult res) {
        if (enabled) {
            long stamp = sl.tryOptimisticRead();
            boolean hit = probe(reg, vm, as, shr, pn, addr, need, res);
            if (!sl.validate(stamp)) {
                stamp = sl.readLock();
                try {
                    hit = probe(reg, vm, as, shr, pn, addr, need, res);
                } finally {
                    sl.unlockRead(stamp);
                }
            }
            if (hit) {
                hits++;
                return true;
            }
        }
        misses++;
        return false;
    }

    /**
     * A lookup asked of the TLB while it is off, by a caller that read {@link #enabled()} itself:
     * counted as the miss {@link #lookup} would count.
     */
    public void countMissOff() {
        misses++;
    }

    /**
     * May run without the lock: reads only; the caller validates. A global entry matches any
     * ASID, but only of its own ASID set: {@code shr} (CD.ASET = 0) finds only shared global
     * entries, a non-shared lookup only non-shared ones (section 3.17.1).
     */
    private boolean probe(int reg, int vm, int as, boolean shr, boolean pn, long addr, int need, DmaResult res) {
        long present = shiftsPresent;
        while (present != 0) {
            int sh = Long.numberOfTrailingZeros(present);
            present &= present - 1;
            long base = addr & -(1L << sh);
            int s = set(reg, vm, base, sh);
            for (int i = s; i < s + ways; i++) {
                if (valid[i] && shift[i] == sh && inBase[i] == base && regime[i] == reg && vmid[i] == vm
                        && (global[i] ? shared[i] == shr : asid[i] == as) && pan[i] == pn
                        && (perm[i] & need) == need) {
                    res.pa = outBase[i] | (addr & ((1L << sh) - 1));
                    res.perm = perm[i];
                    res.pageSize = 1L << sh;
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * An entry; {@code shr}: broadcast TLB maintenance applies to it (see {@link #shared});
     * {@code pn}: its permissions have CD.PAN applied; {@code lvl}: the level of its leaf
     * descriptor.
     */
    public void insert(int reg, int vm, int as, boolean glob, boolean nest, boolean shr, boolean pn, long addr, int sh,
                       int lvl, long out, int p, long gen) {
        if (!enabled || gen != generation) {
            return; // cheap early out; checked again under the lock
        }
        long stamp = sl.writeLock();
        try {
            insertLocked(reg, vm, as, glob, nest, shr, pn, addr, sh, lvl, out, p, gen);
        } finally {
            sl.unlockWrite(stamp);
        }
    }

    private void insertLocked(int reg, int vm, int as, boolean glob, boolean nest, boolean shr, boolean pn, long addr,
                              int sh, int lvl, long out, int p, long gen) {
        if (!enabled || gen != generation) {
            return;
        }
        long base = addr & -(1L << sh);
        int s = set(reg, vm, base, sh);
        int slot = -1;
        for (int i = s; i < s + ways; i++) {
            if (valid[i] && shift[i] == sh && inBase[i] == base && regime[i] == reg && vmid[i] == vm
                    && global[i] == glob && asid[i] == as && (!glob || shared[i] == shr) && pan[i] == pn) {
                slot = i;
                break;
            }
        }
        if (slot < 0) {
            slot = SetAssoc.freeOrVictim(valid, victim, s, ways);
        }
        valid[slot] = true;
        regime[slot] = (byte) reg;
        shift[slot] = (byte) sh;
        level[slot] = (byte) lvl;
        global[slot] = glob;
        nested[slot] = nest;
        shared[slot] = shr;
        pan[slot] = pn;
        vmid[slot] = vm;
        asid[slot] = as;
        inBase[slot] = base;
        outBase[slot] = out & -(1L << sh);
        perm[slot] = p;
        shiftsPresent |= 1L << sh;
    }

    /** Match-anything value for the vmid/asid arguments of {@link #invalidate}. */
    public static final int ANY = -1;

    /**
     * Removes entries of the regimes in {@code regimeMask} (bit per regime) matching VMID and
     * ASID ({@link #ANY} = all; a specific ASID spares global entries unless {@code vaScoped})
     * and overlapping [start, start + len) ({@code len == 0}: any address). Returns how many.
     */
    public int invalidate(int regimeMask, int vm, int as, boolean vaScoped, long start, long len, String scope) {
        return invalidate(regimeMask, vm, as, vaScoped, start, len, false, scope);
    }

    /**
     * {@link #invalidate(int, int, int, boolean, long, long, String)}, and with
     * {@code broadcastOnly} only the entries broadcast TLB maintenance applies to: a private
     * ASID's entries (CD.ASET = 1) stay, as the architecture allows.
     */
    public int invalidate(int regimeMask, int vm, int as, boolean vaScoped, long start, long len, boolean broadcastOnly,
                          String scope) {
        return invalidate(regimeMask, vm, as, vaScoped, start, len, 0, broadcastOnly, scope);
    }

    /**
     * {@link #invalidate(int, int, int, boolean, long, long, boolean, String)} with a TTL hint:
     * {@code ttl} 1..3 says the leaves to remove are at that level, and an entry whose leaf is
     * at another level stays (the hint is wrong for it, and then nothing is required to go:
     * the strictest reading of the TLBI commands' TTL field, section 4.4, and of the Arm ARM's
     * TTL hint); 0 = any level.
     */
    public int invalidate(int regimeMask, int vm, int as, boolean vaScoped, long start, long len, int ttl,
                          boolean broadcastOnly, String scope) {
        long stamp = sl.writeLock();
        try {
            return invalidateLocked(regimeMask, vm, as, vaScoped, start, len, ttl, broadcastOnly, scope);
        } finally {
            sl.unlockWrite(stamp);
        }
    }

    private int invalidateLocked(int regimeMask, int vm, int as, boolean vaScoped, long start, long len, int ttl,
                                 boolean broadcastOnly, String scope) {
        generation++;
        front.invalidated();
        int removed = 0;
        long end = start + len - 1;
        for (int i = 0; i < valid.length; i++) {
            if (!valid[i] || (regimeMask & (1 << regime[i])) == 0 || broadcastOnly && !shared[i]) {
                continue;
            }
            if (vm != ANY && vmid[i] != vm) {
                continue;
            }
            if (as != ANY && (global[i] ? !vaScoped : asid[i] != as)) {
                continue;
            }
            if (ttl != 0 && level[i] != ttl) {
                continue;
            }
            if (len != 0) {
                long eStart = inBase[i];
                long eEnd = eStart + (1L << shift[i]) - 1;
                if (Long.compareUnsigned(eEnd, start) < 0 || Long.compareUnsigned(eStart, end) > 0) {
                    continue;
                }
            }
            valid[i] = false;
            removed++;
        }
        if (SmmuV3Trace.smmu_iotlb_inv.enabled()) {
            SmmuV3Trace.smmu_iotlb_inv.emit(scope, removed);
        }
        return removed;
    }

    /**
     * TLBI_S2_IPA: the stage-2-only entries of the range (with the TTL hint {@code ttl}, as
     * {@link #invalidate(int, int, int, boolean, long, long, int, boolean, String)}). Combined
     * stage 1 + stage 2 (nested) entries stay: the command is not required to remove them, and
     * software follows a stage-2 change under a nested configuration with TLBI_NH_ALL or
     * TLBI_S12_VMALL (section 4.4, CMD_TLBI_S2_IPA; Linux does since its nesting support).
     */
    public int invalidateIpa(int vm, long start, long len, int ttl) {
        return invalidate(1 << REGIME_S2, vm, ANY, true, start, len, ttl, false, "S2_IPA");
    }

    public int invalidateAll() {
        return invalidate(7, ANY, ANY, true, 0, 0, "ALL");
    }

    public void setEnabled(boolean on) {
        enabled = on;
        invalidateAll();
    }

    public boolean enabled() {
        return enabled;
    }

    public long generation() {
        return generation;
    }

    public long hits() {
        return hits + front.tlbHits();
    }

    public long misses() {
        return misses + front.tlbMisses();
    }

    /** Valid entries. */
    public int size() {
        long stamp = sl.readLock();
        try {
            return SetAssoc.count(valid);
        } finally {
            sl.unlockRead(stamp);
        }
    }
}
