package org.iommu4j.base.hw;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The MMIO address space: non-overlapping regions, each answered by an {@link MmioDevice}. An
 * access no region claims is a {@link BusError} (an SError on arm64: a driver bug).
 *
 * <p>A region never reaches past the top of the 64-bit address space, and an access that would
 * ({@code addr + size} wrapping) belongs to no region, so a device only ever sees offsets inside
 * its region. Access sizes are those a CPU load or store can have: 1, 2, 4 or 8 bytes; any other
 * size is a simulator bug ({@link IllegalArgumentException}).
 */
public final class MmioBus {
    /** One mapped region [base, base + size). */
    public record Region(String name, long base, long size, MmioDevice device) {
        boolean contains(long addr, int len) {
            long off = addr - base;
            // off < size and len <= size - off, unsigned: addr below base wraps off to a huge value
            return Long.compareUnsigned(off, size) < 0 && Long.compareUnsigned(len, size - off) <= 0;
        }
    }

    private final List<Region> regions = new CopyOnWriteArrayList<>();

    /** Maps a device; overlapping an existing region is a board-construction error. */
    public synchronized Region map(String name, long base, long size, MmioDevice device) {
        if (device == null) {
            throw new IllegalArgumentException(name + ": no device");
        }
        if (size == 0 || Long.compareUnsigned(base + size - 1, base) < 0) {
            throw new IllegalArgumentException(name + String.format(": region [0x%x, +0x%x) is empty or wraps past 2^64", base, size));
        }
        for (Region r : regions) {
            // inclusive ends: a region may end exactly at 2^64
            if (Long.compareUnsigned(base, r.base() + r.size() - 1) <= 0 && Long.compareUnsigned(r.base(), base + size - 1) <= 0) {
                throw new IllegalArgumentException(name + " overlaps " + r.name());
            }
        }
        Region r = new Region(name, base, size, device);
        regions.add(r);
        return r;
    }

    public void unmap(Region r) {
        regions.remove(r);
    }

    public List<Region> regions() {
        return new ArrayList<>(regions);
    }

    /** The region containing [addr, addr + len), or null. */
    public Region find(long addr, int len) {
        for (Region r : regions) {
            if (r.contains(addr, len)) {
                return r;
            }
        }
        return null;
    }

    public long read(long addr, int size) {
        checkSize(size);
        Region r = find(addr, size);
        if (r == null) {
            throw new BusError(addr, "MMIO read of unmapped address");
        }
        return r.device().mmioRead(addr - r.base(), size);
    }

    public void write(long addr, long value, int size) {
        checkSize(size);
        Region r = find(addr, size);
        if (r == null) {
            throw new BusError(addr, "MMIO write to unmapped address");
        }
        r.device().mmioWrite(addr - r.base(), value, size);
    }

    private static void checkSize(int size) {
        if (size != 4 && size != 8 && size != 1 && size != 2) {
            throw new IllegalArgumentException("MMIO access of " + size + " bytes (want 1, 2, 4 or 8)");
        }
    }
}
