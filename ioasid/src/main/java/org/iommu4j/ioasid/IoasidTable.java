package org.iommu4j.ioasid;

import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.ENOMEM;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.Slab;

/**
 * The xarray of one IOASID allocator (an {@code XA_FLAGS_ALLOC} xarray in the kernel): a map from a
 * u32 ID to its entry, with "lowest free index in [min, max]" allocation.
 *
 * <p>Implementation notes. A fixed three-level radix tree over the 32-bit index: bits [31:22]
 * select a {@link Mid} in the root, bits [21:12] a {@link Leaf} in that mid, bits [11:0] a slot.
 * Nodes are created on demand and never shrink (an xarray frees empty nodes; for a PASID space
 * that is refilled all the time keeping them is cheaper). Each level keeps a "full" bitmap of its
 * children, and each leaf a bitmap of used slots, so a free-index search skips full subtrees
 * 64 at a time: with the whole 20-bit PASID space live, finding the one free ID costs a few
 * dozen word reads. A dense table costs 4 bytes (slot) + 1/8 byte (bitmap) per ID.
 *
 * <p>Invariants (all changed only under the owner's lock, {@code ioasid_allocator_lock}):
 * a used bit is set iff its slot is non-null; a full bit is set iff the child's subtree has no
 * clear used bit; {@link #count} is the number of non-null slots.
 *
 * <p>Readers ({@link #load}) take no lock: the node pointers and slots are published with release
 * stores and read with acquire loads (the RCU-protected {@code xa_load} of the kernel), so an entry
 * is seen fully constructed or not at all. Bitmaps and counts are writer-only.
 */
final class IoasidTable {
    static final int LEAF_BITS = 12;
    static final int LEAF_SIZE = 1 << LEAF_BITS;
    static final int MID_BITS = 10;
    static final int MID_SIZE = 1 << MID_BITS;
    static final int ROOT_SIZE = 1 << (32 - LEAF_BITS - MID_BITS);
    static final long MID_SPAN = 1L << (LEAF_BITS + MID_BITS);

    static final class Leaf {
        final Object[] slots = new Object[LEAF_SIZE];
        final long[] used = new long[LEAF_SIZE / 64];
        int count;
    }

    static final class Mid {
        final Object[] leaves = new Object[MID_SIZE];
        final long[] full = new long[MID_SIZE / 64];
        int fullCount;
    }

    private final Object[] mids = new Object[ROOT_SIZE];
    private final long[] full = new long[ROOT_SIZE / 64];
    private int count;

    /** The entry at {@code id} (any u32), or null. Lock-free. */
    Object load(int id) {
        Mid m = (Mid) NODE.getAcquire(mids, id >>> (LEAF_BITS + MID_BITS));
        if (m == null) {
            return null;
        }
        Leaf l = (Leaf) NODE.getAcquire(m.leaves, (id >>> LEAF_BITS) & (MID_SIZE - 1));
        if (l == null) {
            return null;
        }
        return SLOT.getAcquire(l.slots, id & (LEAF_SIZE - 1));
    }

    /** Number of stored entries. Caller holds the lock. */
    int count() {
        return count;
    }

    /** {@code xa_empty}. Caller holds the lock. */
    boolean isEmpty() {
        return count == 0;
    }

    /**
     * The lowest free index in [min, max] (unsigned, inclusive), or -1 if none. Caller holds the
     * lock. Allocation-free.
     */
    long findFree(long min, long max) {
        if (min > max) {
            return -1;
        }
        int t = (int) (min >>> (LEAF_BITS + MID_BITS));
        int th = (int) (max >>> (LEAF_BITS + MID_BITS));
        while (t <= th) {
            t = nextClear(full, t, th);
            if (t < 0) {
                return -1;
            }
            long base = (long) t * MID_SPAN;
            int lo = (int) (Math.max(min, base) - base);
            int hi = (int) (Math.min(max, base + MID_SPAN - 1) - base);
            Mid m = (Mid) mids[t];
            if (m == null) {
                return base + lo;
            }
            int r = findFreeMid(m, lo, hi);
            if (r >= 0) {
                return base + r;
            }
            t++;
        }
        return -1;
    }

    private static int findFreeMid(Mid m, int lo, int hi) {
        int i = lo >>> LEAF_BITS;
        int ih = hi >>> LEAF_BITS;
        while (i <= ih) {
            i = nextClear(m.full, i, ih);
            if (i < 0) {
                return -1;
            }
            int base = i << LEAF_BITS;
            int l = Math.max(lo, base) - base;
            int h = Math.min(hi, base + LEAF_SIZE - 1) - base;
            Leaf leaf = (Leaf) m.leaves[i];
            if (leaf == null) {
                return base + l;
            }
            int r = nextClear(leaf.used, l, h);
            if (r >= 0) {
                return base + r;
            }
            i++;
        }
        return -1;
    }

    /** First clear bit in [from, to] (inclusive), or -1. */
    static int nextClear(long[] bits, int from, int to) {
        int w = from >>> 6;
        int lastW = to >>> 6;
        long word = ~bits[w] & (-1L << (from & 63));
        while (true) {
            if (word != 0) {
                int r = (w << 6) + Long.numberOfTrailingZeros(word);
                return r <= to ? r : -1;
            }
            if (++w > lastW) {
                return -1;
            }
            word = ~bits[w];
        }
    }

    /**
     * Stores {@code entry} at the free index {@code id}: 0, -EBUSY if occupied, -ENOMEM if a
     * node allocation fails (a GFP_ATOMIC allocation site, fault-injectable). Caller holds the
     * lock; the entry must be fully initialised (it is published here).
     */
    int insert(int id, Object entry) {
        int t = id >>> (LEAF_BITS + MID_BITS);
        int mi = (id >>> LEAF_BITS) & (MID_SIZE - 1);
        int si = id & (LEAF_SIZE - 1);
        Mid m = (Mid) mids[t];
        Leaf l = m == null ? null : (Leaf) m.leaves[mi];
        if (l != null && l.slots[si] != null) {
            return -EBUSY;
        }
        if (m == null) {
            m = Slab.kzalloc(Mid::new, Gfp.GFP_ATOMIC);
            if (m == null) {
                return -ENOMEM;
            }
            NODE.setRelease(mids, t, m);
        }
        if (l == null) {
            l = Slab.kzalloc(Leaf::new, Gfp.GFP_ATOMIC);
            if (l == null) {
                return -ENOMEM;
            }
            NODE.setRelease(m.leaves, mi, l);
        }
        l.used[si >>> 6] |= 1L << si;
        if (++l.count == LEAF_SIZE) {
            m.full[mi >>> 6] |= 1L << mi;
            if (++m.fullCount == MID_SIZE) {
                full[t >>> 6] |= 1L << t;
            }
        }
        count++;
        SLOT.setRelease(l.slots, si, entry);
        return 0;
    }

    /** {@code xa_erase}: removes and returns the entry at {@code id}, or null. Caller holds the lock. */
    Object erase(int id) {
        int t = id >>> (LEAF_BITS + MID_BITS);
        int mi = (id >>> LEAF_BITS) & (MID_SIZE - 1);
        int si = id & (LEAF_SIZE - 1);
        Mid m = (Mid) mids[t];
        Leaf l = m == null ? null : (Leaf) m.leaves[mi];
        if (l == null || l.slots[si] == null) {
            return null;
        }
        Object old = l.slots[si];
        SLOT.setRelease(l.slots, si, null);
        l.used[si >>> 6] &= ~(1L << si);
        if (l.count-- == LEAF_SIZE) {
            m.full[mi >>> 6] &= ~(1L << mi);
            if (m.fullCount-- == MID_SIZE) {
                full[t >>> 6] &= ~(1L << t);
            }
        }
        count--;
        return old;
    }

    // VarHandle mechanics: release stores publish nodes and entries to lock-free readers, whose
    // acquire loads pair with them (rcu_assign_pointer / rcu_dereference).
    private static final VarHandle NODE = MethodHandles.arrayElementVarHandle(Object[].class);
    private static final VarHandle SLOT = NODE;
}
