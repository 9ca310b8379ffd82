package org.iommu4j.smmuv3.hw;

import java.util.concurrent.locks.StampedLock;

/**
 * The walk cache: table descriptors (not leaves) read by stage-1 and stage-2 walks, so that a
 * walk after a TLB miss starts from the deepest cached level instead of the start table. Real
 * SMMUs cache intermediate walk state this way (Arm ARM D8.13, "translation table walk caches";
 * SMMUv3 section 3.17 counts them among the TLB structures that the TLBI commands maintain), and
 * a driver that frees or replaces a table and then invalidates with Leaf = 1, or with a TTL
 * hint that names the wrong level, goes on walking the old table. This model keeps every entry
 * it may keep, so such a driver bug shows.
 *
 * <p>Tags ({@link #tag} packs them into one long): translation regime ({@link SmmuTlb#REGIME_NS_EL1},
 * {@link SmmuTlb#REGIME_EL2}, {@link SmmuTlb#REGIME_S2}), VMID, ASID (stage 1; 0 for stage 2:
 * table descriptors have no nG, so no walk entry is global), the granule, whether the stage-1
 * table addresses came through stage 2 (nested), whether broadcast TLB maintenance applies
 * (CD.ASET = 0, or stage 2), and the stage-1 VA range (TTB0 or TTB1): the two ranges' tables are
 * apart even where their granules match. (Their input addresses differ as well: a TTB1 input's
 * bits above the range's size are ones, and entries keep them.) Per entry besides: the level of
 * the cached descriptor and the base of the input address range it covers (the block a
 * descriptor at that level would map).
 * Outputs: the next-level table's physical address (after stage 2 for a nested stage 1) and the
 * hierarchical attributes accumulated down to and including the descriptor (PXNTable, UXNTable,
 * APTable[1:0], descriptor bits 59..62).
 *
 * <p>Invalidation (section 4.4, the TLBI commands): by regime, VMID, ASID and address range;
 * a TTL hint {@code n} (levels 1..3) says the leaf is at level n, so only descriptors above it
 * (levels below n) are in scope. Leaf = 1 commands never come here: only final-level entries are
 * required to go, and this model keeps walk entries whenever it may. Entries leave otherwise
 * only by replacement.
 *
 * <p>Locking as {@link SmmuTlb}: a {@link StampedLock} with optimistic lookups, inserts and
 * invalidations under the write lock, and {@link #generation()} guarding inserts against a racing
 * invalidation. Counters are plain fields.
 */
public final class SmmuWalkCache {
    private final int ways;
    private final int setBits;
    private final boolean[] valid;
    private final long[] tag;
    private final byte[] level;
    private final long[] inBase;
    /** Next-level table address with the accumulated attributes in bits [5:2] and the level in [1:0]. */
    private final long[] out;
    private final byte[] victim;
    private volatile boolean enabled = true;
    private volatile long generation;
    private long hits, misses;
    /** Credited with the misses of the walks that did not ask this cache while it was off. */
    private final FrontCache front;
    private final StampedLock sl = new StampedLock();

    SmmuWalkCache(int sets, int ways, FrontCache front) {
        this.front = front;
        if (Integer.bitCount(sets) != 1 || ways < 1) {
            throw new IllegalArgumentException("sets must be a power of two");
        }
        this.ways = ways;
        this.setBits = Integer.numberOfTrailingZeros(sets);
        int n = sets * ways;
        valid = new boolean[n];
        tag = new long[n];
        level = new byte[n];
        inBase = new long[n];
        out = new long[n];
        victim = new byte[sets];
    }

    /* tag layout: ASID [15:0], VMID [31:16], regime [33:32], nested 34, shared 35, granule shift [40:36], TTB1 41 */
    private static final int T_VMID = 16, T_REGIME = 32, T_NESTED = 34, T_SHARED = 35, T_GRANULE = 36, T_TTB1 = 41;

    /** The tags of a walk's entries, packed (see the class comment); the lower VA range (TTB0) or stage 2. */
    static long tag(int regime, int vmid, int asid, boolean nested, boolean shared, int granuleShift) {
        return tag(regime, vmid, asid, nested, shared, granuleShift, false);
    }

    /** {@link #tag(int, int, int, boolean, boolean, int)} for a stage-1 VA range: TTB1's with {@code ttb1}. */
    static long tag(int regime, int vmid, int asid, boolean nested, boolean shared, int granuleShift, boolean ttb1) {
        return (asid & 0xffffL) | (vmid & 0xffffL) << T_VMID | (long) regime << T_REGIME
                | (nested ? 1L << T_NESTED : 0) | (shared ? 1L << T_SHARED : 0) | (long) granuleShift << T_GRANULE
                | (ttb1 ? 1L << T_TTB1 : 0);
    }

    private static int regimeOf(long t) {
        return (int) (t >>> T_REGIME) & 3;
    }

    private static int granuleOf(long t) {
        return (int) (t >>> T_GRANULE) & 0x1f;
    }

    /** log2 of the input range a descriptor at {@code lvl} covers with granule {@code g}. */
    static int regionShift(int g, int lvl) {
        return g + (g - 3) * (3 - lvl);
    }

    private int set(long t, long base, int lvl) {
        long h = base * 0x9E3779B97F4A7C15L + (t + lvl) * 0xC2B2AE3D27D4EB4FL;
        return (int) (h >>> (64 - setBits)) * ways;
    }

    /** A lookup's result when nothing matched. */
    static final long MISS = -1;

    /** The level of a {@link #lookup} hit's cached descriptor. */
    static int hitLevel(long hit) {
        return (int) hit & 3;
    }

    /** The attributes accumulated down to a {@link #lookup} hit's descriptor (bits 59..62 as 0..3). */
    static int hitAttrs(long hit) {
        return (int) (hit >>> 2) & 0xf;
    }

    /** The next-level table of a {@link #lookup} hit. */
    static long hitTable(long hit) {
        return hit & ~0xfffL;
    }

    /**
     * The deepest entry for input address {@code va} (within the stage's input range) with tags
     * {@code t}, searching levels 2 down to {@code startLevel}: {@link #MISS}, or the packed
     * entry ({@link #hitLevel}, {@link #hitAttrs}, {@link #hitTable}). Counts nothing (see
     * {@link #count}); a disabled cache misses.
     */
    long lookup(long t, long va, int startLevel) {
        if (!enabled) {
            return MISS;
        }
        long stamp = sl.tryOptimisticRead();
        long r = probe(t, va, startLevel);
        if (!sl.validate(stamp)) {
            stamp = sl.readLock();
            try {
                r = probe(t, va, startLevel);
            } finally {
                sl.unlockRead(stamp);
            }
        }
        return r;
    }

    /** Reads only; the caller validates. */
    private long probe(long t, long va, int startLevel) {
        final int g = granuleOf(t);
        for (int lvl = 2; lvl >= startLevel; lvl--) {
            long base = va & -(1L << regionShift(g, lvl));
            int s = set(t, base, lvl);
            for (int i = s; i < s + ways; i++) {
                if (valid[i] && tag[i] == t && level[i] == lvl && inBase[i] == base) {
                    return out[i];
                }
            }
        }
        return MISS;
    }

    /** Counts one walk's lookup as a hit or a miss (once per walk, whichever way it went). */
    void count(boolean hit) {
        if (hit) {
            hits++;
        } else {
            misses++;
        }
    }

    /**
     * Caches the table descriptor a walk with tags {@code t} read at {@code lvl} for input
     * address {@code va}: next-level table {@code next} and the attributes accumulated so far.
     * Dropped if an invalidation ran since the walk read {@link #generation()} as {@code gen}.
     */
    void insert(long t, int lvl, long va, long next, int attrs, long gen) {
        if (!enabled || gen != generation) {
            return;
        }
        long stamp = sl.writeLock();
        try {
            if (!enabled || gen != generation) {
                return;
            }
            long base = va & -(1L << regionShift(granuleOf(t), lvl));
            int s = set(t, base, lvl);
            int slot = -1;
            for (int i = s; i < s + ways; i++) {
                if (valid[i] && tag[i] == t && level[i] == lvl && inBase[i] == base) {
                    slot = i;
                    break;
                }
            }
            if (slot < 0) {
                slot = SetAssoc.freeOrVictim(valid, victim, s, ways);
            }
            valid[slot] = true;
            tag[slot] = t;
            level[slot] = (byte) lvl;
            inBase[slot] = base;
            out[slot] = (next & ~0xfffL) | (long) (attrs & 0xf) << 2 | lvl;
        } finally {
            sl.unlockWrite(stamp);
        }
    }

    /**
     * Removes the entries of the regimes in {@code regimeMask} (bit per regime) matching VMID and
     * ASID ({@link SmmuTlb#ANY} = all) whose input range overlaps [start, start + len)
     * ({@code len == 0}: any address) and, with a TTL hint {@code ttl} (1..3; 0 = none), whose
     * level is above the leaf level it names. With {@code broadcastOnly} only the entries
     * broadcast TLB maintenance applies to. Returns how many.
     */
    public int invalidate(int regimeMask, int vm, int as, long start, long len, int ttl, boolean broadcastOnly,
                          String scope) {
        long stamp = sl.writeLock();
        int removed = 0;
        try {
            generation++;
            long end = start + len - 1;
            for (int i = 0; i < valid.length; i++) {
                if (!valid[i]) {
                    continue;
                }
                long t = tag[i];
                if ((regimeMask & (1 << regimeOf(t))) == 0 || broadcastOnly && (t & 1L << T_SHARED) == 0
                        || vm != SmmuTlb.ANY && (int) (t >>> T_VMID & 0xffff) != vm
                        || as != SmmuTlb.ANY && (int) (t & 0xffff) != as
                        || ttl != 0 && level[i] >= ttl) {
                    continue;
                }
                if (len != 0) {
                    long eStart = inBase[i];
                    long eEnd = eStart + (1L << regionShift(granuleOf(t), level[i])) - 1;
                    if (Long.compareUnsigned(eEnd, start) < 0 || Long.compareUnsigned(eStart, end) > 0) {
                        continue;
                    }
                }
                valid[i] = false;
                removed++;
            }
        } finally {
            sl.unlockWrite(stamp);
        }
        if (SmmuV3Trace.smmu_ptw_walk_cache_inv.enabled()) {
            SmmuV3Trace.smmu_ptw_walk_cache_inv.emit(scope, removed);
        }
        return removed;
    }

    public int invalidateAll() {
        return invalidate(7, SmmuTlb.ANY, SmmuTlb.ANY, 0, 0, 0, false, "ALL");
    }

    /** The teaching switch: off, every walk starts at the start table; either way the cache is emptied. */
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
        return hits;
    }

    public long misses() {
        return misses + front.walkMisses();
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
