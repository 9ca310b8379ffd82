package org.iommu4j.base;

import static org.iommu4j.base.Errno.ENOSPC;

import java.util.BitSet;

/**
 * The part of lib/idr.c's IDA the ports use ({@code ida_simple_get}, {@code ida_simple_remove}):
 * the lowest free ID in a range; an ID given back is the next one taken again.
 */
public final class Ida {
    private final BitSet used = new BitSet();

    /** The lowest free ID in [start, end) (end 0: no upper bound but int's), or -ENOSPC. */
    @Port("include/linux/idr.h:ida_simple_get")
    public synchronized int idaSimpleGet(int start, int end) {
        int limit = end == 0 ? Integer.MAX_VALUE : end;
        int id = used.nextClearBit(start);
        if (id >= limit) {
            return -ENOSPC;
        }
        used.set(id);
        return id;
    }

    @Port("include/linux/idr.h:ida_simple_remove")
    public synchronized void idaSimpleRemove(int id) {
        used.clear(id);
    }
}
