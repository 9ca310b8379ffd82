package org.iommu4j.smmuv3.hw;

import org.eclipse.collections.impl.map.mutable.primitive.IntObjectHashMap;

/**
 * The configuration cache: decoded STEs by StreamID and, under each, decoded CDs by
 * SubstreamID. Entries leave only through the architected invalidations (CFGI_STE,
 * CFGI_STE_RANGE, CFGI_ALL, CFGI_CD, CFGI_CD_ALL): a driver that rewrites an STE or CD without
 * them keeps getting the old configuration, as on hardware.
 *
 * <p>Tags: StreamID (STE), (StreamID, SubstreamID) (CD). Outputs: the decoded {@link Ste} /
 * {@link Cd}. A CD is only cached under a cached STE; invalidating the STE drops its CDs, since
 * they were located through it.
 *
 * <p>Locking: readers take no lock: the maps are copy-on-write snapshots published through
 * volatile fields, so the hit path is one volatile read and one primitive-map probe per level and
 * allocates nothing. Writers (inserts on a miss, invalidations) are synchronized on the cache.
 * {@link #generation()} increases with every invalidation so a translation that decoded a
 * configuration before an invalidation does not insert it after (the CMD_SYNC-vs-in-flight-fetch
 * rule). Hit/miss counters are plain fields: exact single-threaded, approximate under concurrency.
 */
public final class ConfigCache {
    /** A decoded STE. {@code words} are the 8 dwords as fetched. */
    public record Ste(long addr, long[] words, int config, int s1fmt, long ctxPtr, int s1cdmax, int s1dss,
                      boolean s1stalld, int eats, int strw, int vmid, SmmuPtw.StageCfg s2, boolean s2stall,
                      boolean s2record) {}

    /**
     * A decoded CD: {@code s1} the lower VA range's regime (TTB0), {@code s1hi} the upper's
     * (TTB1), null where the regime has one VA range (EL2 without E2H).
     */
    public record Cd(long addr, long[] words, int asid, SmmuPtw.StageCfg s1, SmmuPtw.StageCfg s1hi, boolean stall,
                     boolean record, boolean abort) {}

    private static final class Entry {
        final Ste ste;
        /** Copy-on-write; replaced under the cache monitor. */
        volatile IntObjectHashMap<Cd> cds = new IntObjectHashMap<>();

        Entry(Ste ste) {
            this.ste = ste;
        }
    }

    /** Copy-on-write snapshot; replaced under the cache monitor. */
    private volatile IntObjectHashMap<Entry> bySid = new IntObjectHashMap<>();
    private volatile boolean enabled = true;
    private volatile long generation;
    private long steHits, steMisses, cdHits, cdMisses;
    private final FrontCache front;

    ConfigCache(FrontCache front) {
        this.front = front;
    }

    private void bump() {
        generation++;
        front.invalidated();
    }

    public synchronized void setEnabled(boolean on) {
        enabled = on;
        if (!on) {
            bySid = new IntObjectHashMap<>();
            bump();
        }
    }

    public boolean enabled() {
        return enabled;
    }

    public long generation() {
        return generation;
    }

    /** The cached STE of {@code sid} or null; counts a hit or a miss. */
    public Ste lookupSte(int sid) {
        Entry e = enabled ? bySid.get(sid) : null;
        if (e == null) {
            steMisses++;
            return null;
        }
        steHits++;
        return e.ste;
    }

    public synchronized void insertSte(int sid, Ste ste, long gen) {
        if (enabled && gen == generation && !bySid.containsKey(sid)) {
            IntObjectHashMap<Entry> m = new IntObjectHashMap<>(bySid);
            m.put(sid, new Entry(ste));
            bySid = m;
        }
    }

    public Cd lookupCd(int sid, int ssid) {
        Entry e = enabled ? bySid.get(sid) : null;
        Cd cd = e == null ? null : e.cds.get(ssid);
        if (cd == null) {
            cdMisses++;
        } else {
            cdHits++;
        }
        return cd;
    }

    /** Caches a CD under its STE; dropped if the STE is no longer cached or {@code ste} is stale. */
    public synchronized void insertCd(int sid, Ste ste, int ssid, Cd cd, long gen) {
        Entry e = bySid.get(sid);
        if (enabled && gen == generation && e != null && e.ste == ste) {
            IntObjectHashMap<Cd> m = new IntObjectHashMap<>(e.cds);
            m.put(ssid, cd);
            e.cds = m;
        }
    }

    /** CFGI_STE: the STE of {@code sid} and everything located through it. */
    public synchronized void invalidateSid(int sid) {
        bump();
        if (bySid.containsKey(sid)) {
            IntObjectHashMap<Entry> m = new IntObjectHashMap<>(bySid);
            m.remove(sid);
            bySid = m;
        }
    }

    /** CFGI_STE_RANGE / CFGI_ALL: StreamIDs in [start, end] (unsigned). */
    public synchronized void invalidateSidRange(long start, long end) {
        bump();
        if (start == 0 && end >= 0xffffffffL) {
            bySid = new IntObjectHashMap<>();
            return;
        }
        IntObjectHashMap<Entry> m = new IntObjectHashMap<>(bySid);
        for (int k : bySid.keySet().toArray()) {
            long u = Integer.toUnsignedLong(k);
            if (u >= start && u <= end) {
                m.remove(k);
            }
        }
        bySid = m;
    }

    /** CFGI_CD. */
    public synchronized void invalidateCd(int sid, int ssid) {
        bump();
        Entry e = bySid.get(sid);
        if (e != null && e.cds.containsKey(ssid)) {
            IntObjectHashMap<Cd> m = new IntObjectHashMap<>(e.cds);
            m.remove(ssid);
            e.cds = m;
        }
    }

    /** CFGI_CD_ALL. */
    public synchronized void invalidateCdAll(int sid) {
        bump();
        Entry e = bySid.get(sid);
        if (e != null) {
            e.cds = new IntObjectHashMap<>();
        }
    }

    public synchronized void invalidateAll() {
        bump();
        bySid = new IntObjectHashMap<>();
    }

    /** A hit served by a front cache built from this one (the micro-TLB). */
    public long steHits() {
        return steHits + front.steHits();
    }

    public long steMisses() {
        return steMisses;
    }

    public long cdHits() {
        return cdHits + front.cdHits();
    }

    public long cdMisses() {
        return cdMisses;
    }

    public int size() {
        return bySid.size();
    }
}
