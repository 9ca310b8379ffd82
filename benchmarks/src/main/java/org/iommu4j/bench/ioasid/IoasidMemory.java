package org.iommu4j.bench.ioasid;

import static org.iommu4j.ioasid.Ioasid.IOASID_SET_TYPE_NULL;
import static org.iommu4j.ioasid.Ioasid.PCI_PASID_MAX;

import org.iommu4j.ioasid.Ioasid;
import org.iommu4j.ioasid.IoasidSet;

/**
 * Memory per live IOASID: used heap after GC with 1M live IDs in one set, minus the used heap of
 * the empty world, divided by the number of IDs. Run with {@code java -cp ... IoasidMemory}.
 */
public final class IoasidMemory {
    private IoasidMemory() {}

    static long usedAfterGc() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(50);
            used = Math.min(used, rt.totalMemory() - rt.freeMemory());
        }
        return used;
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        Ioasid io = new Ioasid();
        IoasidSet set = io.ioasidSetAlloc(null, PCI_PASID_MAX - 1, IOASID_SET_TYPE_NULL);
        long before = usedAfterGc();
        for (int i = 0; i < n; i++) {
            io.ioasidAlloc(set, 1, PCI_PASID_MAX - 1, null);
        }
        long after = usedAfterGc();
        System.out.printf("live IOASIDs: %d, heap delta: %d bytes, %.1f bytes per live IOASID%n",
                io.ioasidCount(), after - before, (after - before) / (double) n);
        System.out.println(set);
    }
}
