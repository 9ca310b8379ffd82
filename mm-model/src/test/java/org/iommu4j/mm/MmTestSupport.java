package org.iommu4j.mm;

import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;

import org.iommu4j.base.hw.Board;

/** Shared helpers: worlds on small boards, mappings, the independent walker. */
final class MmTestSupport {
    private MmTestSupport() {}

    static MmWorld world() {
        return MmWorld.create(Board.withRam(64L << 20));
    }

    static MmWorld world(MmWorld.Config c) {
        return MmWorld.create(Board.withRam(64L << 20), c);
    }

    static long mmapAnon(Mm mm, long len, int prot) {
        long va = Mmap.vmMmap(mm, 0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS);
        if (org.iommu4j.base.Errno.IS_ERR_VALUE(va)) {
            throw new AssertionError("mmap failed: " + va);
        }
        return va;
    }

    static Vmsav8Walker walker(MmWorld w) {
        return new Vmsav8Walker(w.mem, w.pgtable.PAGE_SHIFT, 64 - w.pgtable.VA_BITS);
    }
}
