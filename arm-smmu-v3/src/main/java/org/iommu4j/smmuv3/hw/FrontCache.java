package org.iommu4j.smmuv3.hw;

/**
 * A cache in front of {@link ConfigCache} and {@link SmmuTlb} (the SMMU's micro-TLB): told of
 * every invalidation of either, and credited with the hits it served in their place, so the
 * architected caches' counters read as if every translation had looked them up.
 */
interface FrontCache {
    /** An entry of the cache behind was invalidated (or the cache disabled); runs under its lock. */
    void invalidated();

    /** Translations served, each a hit of the STE cache and of the TLB. */
    long hits();

    /** Of {@link #hits()}, those that also hit a cached CD. */
    long cdHits();
}
