package org.iommu4j.base.hw;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The MMIO address space: non-overlapping regions, each answered by an {@link MmioDevice}. An
 * access no region claims is a {@link BusError} (an SError on arm64: a driver bug).
 */
public final class MmioBus {
    /** One mapped region [base, base + size). */
    public record Region(String name, long base, long size, MmioDevice device) {
        boolean contains(long addr, int len) {
            return Long.compareUnsigned(addr, base) >= 0 && Long.compareUnsigned(addr + len, base + size) <= 0;
        }
    }

    private final List<Region> regions = new CopyOnWriteArrayList<>();

    /** Maps a device; overlapping an existing region is a board-construction error. */
    public synchronized Region map(String name, long base, long size, MmioDevice device) {
        for (Region r : regions) {
            if (Long.compareUnsigned(base, r.base() + r.size()) < 0 && Long.compareUnsigned(r.base(), base + size) < 0) {
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
        Region r = find(addr, size);
        if (r == null) {
            throw new BusError(addr, "MMIO read of unmapped address");
        }
        return r.device().mmioRead(addr - r.base(), size);
    }

    public void write(long addr, long value, int size) {
        Region r = find(addr, size);
        if (r == null) {
            throw new BusError(addr, "MMIO write to unmapped address");
        }
        r.device().mmioWrite(addr - r.base(), value, size);
    }
}
