package org.iommu4j.smmuv3.hw;

/**
 * Caches in front of {@link ConfigCache} and {@link SmmuTlb} (the SMMU's micro-TLB and its
 * configuration front cache): told of every invalidation of either, and credited with the hits
 * they served in their place, so the architected caches' counters read as if every translation
 * had looked them up.
 */
interface FrontCache {
    /** An entry of the cache behind was invalidated (or the cache disabled); runs under its lock. */
    void invalidated();

    /** Translations that found their STE in a front cache. */
    long steHits();

    /** Of {@link #steHits()}, those that also found their CD there. */
    long cdHits();

    /** Translations served whole by a front cache, each a TLB hit. */
    long tlbHits();

    /**
     * Translations a front path walked with the TLB off, without asking the TLB: each a TLB
     * miss, as the TLB counts a lookup while it is off.
     */
    long tlbMisses();

    /** Of {@link #tlbMisses()}, those walked without asking the walk cache (off): each a miss of it. */
    long walkMisses();
}
