package org.iommu4j.smmuv3.hw;

/**
 * The slot bookkeeping {@link SmmuTlb} and {@link SmmuWalkCache} share: arrays of entries
 * grouped in sets of {@code ways} consecutive slots, with round-robin replacement per set.
 * Callers hold their cache's write lock (or, for {@link #count}, its read lock).
 */
final class SetAssoc {
    private SetAssoc() {}

    /**
     * A slot for a new entry in the set starting at {@code s}: the first invalid one, else the
     * set's next round-robin victim (advancing its counter in {@code victim}).
     */
    static int freeOrVictim(boolean[] valid, byte[] victim, int s, int ways) {
        for (int i = s; i < s + ways; i++) {
            if (!valid[i]) {
                return i;
            }
        }
        int setIdx = s / ways;
        int slot = s + (victim[setIdx] & 0xff) % ways;
        victim[setIdx]++;
        return slot;
    }

    /** Valid entries. */
    static int count(boolean[] valid) {
        int n = 0;
        for (boolean v : valid) {
            if (v) {
                n++;
            }
        }
        return n;
    }
}
