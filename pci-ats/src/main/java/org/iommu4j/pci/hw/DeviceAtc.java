package org.iommu4j.pci.hw;

import org.iommu4j.base.hw.AtcInvalidation;

/**
 * The endpoint's Address Translation Cache (PCIe r5 10.2.2): a small fully associative table of
 * ATS completions. Each entry is tagged by PASID ({@code DmaTransaction.NO_SSID} for requests without one) and
 * an aligned untranslated range; its outputs are the translated base and the permissions the
 * completion granted. Replacement is round-robin.
 *
 * <p>Arrays of primitives, so lookups and inserts allocate nothing. Not thread-safe: the
 * endpoint guards it with its ATC lock.
 */
final class DeviceAtc {
    /* Tags. */
    private final boolean[] valid;
    private final int[] pasid;
    private final long[] base;
    private final long[] size;
    /* Outputs. */
    private final long[] pa;
    private final int[] perm;
    private int victim;

    DeviceAtc(int entries) {
        valid = new boolean[entries];
        pasid = new int[entries];
        base = new long[entries];
        size = new long[entries];
        pa = new long[entries];
        perm = new int[entries];
    }

    int capacity() {
        return valid.length;
    }

    /** The entry translating {@code iova} for {@code ssid}, or -1. */
    int lookup(int ssid, long iova) {
        for (int i = 0; i < valid.length; i++) {
            if (valid[i] && pasid[i] == ssid && Long.compareUnsigned(iova - base[i], size[i]) < 0) {
                return i;
            }
        }
        return -1;
    }

    long translate(int idx, long iova) {
        return pa[idx] + (iova - base[idx]);
    }

    int perm(int idx) {
        return perm[idx];
    }

    /** Caches a completion for [entryBase, entryBase + entrySize); replaces an entry with the same tag. */
    void insert(int ssid, long entryBase, long entrySize, long entryPa, int entryPerm) {
        int slot = -1;
        for (int i = 0; i < valid.length; i++) {
            if (valid[i] && pasid[i] == ssid && base[i] == entryBase) {
                slot = i;
                break;
            }
        }
        if (slot < 0) {
            for (int i = 0; i < valid.length; i++) {
                if (!valid[i]) {
                    slot = i;
                    break;
                }
            }
        }
        if (slot < 0) {
            slot = victim;
            victim = (victim + 1) % valid.length;
        }
        valid[slot] = true;
        pasid[slot] = ssid;
        base[slot] = entryBase;
        size[slot] = entrySize;
        pa[slot] = entryPa;
        perm[slot] = entryPerm;
    }

    /**
     * Drops what an ATS Invalidate Request covers (PCIe r5 10.3.1): without a PASID, the range in
     * every address space (PASID-tagged or not); with one, the range in that PASID only. The
     * Global Invalidate bit is ignored (10.3.8): the function does not set Global Invalidate
     * Supported and this ATC keeps no Global tags, so a Global request with a PASID drops that
     * PASID's range and leaves other PASIDs' entries. Returns the number of entries dropped.
     */
    int invalidate(AtcInvalidation inv) {
        int n = 0;
        boolean all = inv.all();
        for (int i = 0; i < valid.length; i++) {
            if (!valid[i]) {
                continue;
            }
            if (inv.pasidValid() && pasid[i] != inv.pasid()) {
                continue;
            }
            if (!all && !overlaps(base[i], size[i], inv.addr(), inv.size())) {
                continue;
            }
            valid[i] = false;
            n++;
        }
        return n;
    }

    private static boolean overlaps(long b1, long s1, long b2, long s2) {
        // [b1, b1 + s1) and [b2, b2 + s2), unsigned, ends may wrap to 0
        long e1 = b1 + s1 - 1;
        long e2 = b2 + s2 - 1;
        return Long.compareUnsigned(b1, e2) <= 0 && Long.compareUnsigned(b2, e1) <= 0;
    }

    int flush() {
        int n = 0;
        for (int i = 0; i < valid.length; i++) {
            if (valid[i]) {
                valid[i] = false;
                n++;
            }
        }
        return n;
    }

    int validEntries() {
        int n = 0;
        for (boolean v : valid) {
            if (v) {
                n++;
            }
        }
        return n;
    }
}
