package org.iommu4j.bench.ioasid;

import static org.iommu4j.ioasid.Ioasid.INVALID_IOASID;
import static org.iommu4j.ioasid.Ioasid.IOASID_SET_TYPE_NULL;
import static org.iommu4j.ioasid.Ioasid.PCI_PASID_MAX;

import java.util.concurrent.TimeUnit;
import org.iommu4j.ioasid.Ioasid;
import org.iommu4j.ioasid.IoasidSet;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * ioasid with 1M live IDs (the 20-bit PASID space minus a few holes) in one set: an alloc+free
 * pair (alloc finds the lowest hole, free reclaims it) and a lock-free ioasid_find.
 * Targets: alloc+free under 1 us, find under 100 ns.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgs = {"-Xmx2g"})
public class IoasidBench {
    /** Live IDs during the benchmark. */
    static final int LIVE = 1_000_000;

    Ioasid io;
    IoasidSet set;
    int cursor;
    int mask = (1 << 19) - 1;

    @Setup(Level.Trial)
    public void setUp() {
        io = new Ioasid();
        set = io.ioasidSetAlloc(null, PCI_PASID_MAX - 1, IOASID_SET_TYPE_NULL);
        for (int i = 0; i < LIVE; i++) {
            if (io.ioasidAlloc(set, 1, PCI_PASID_MAX - 1, null) == INVALID_IOASID) {
                throw new IllegalStateException("setup allocation failed at " + i);
            }
        }
    }

    /** Alloc then free one ID with 1M others live. */
    @Benchmark
    public int allocFreePair() {
        int id = io.ioasidAlloc(set, 1, PCI_PASID_MAX - 1, null);
        io.ioasidFree(set, id);
        return id;
    }

    /** ioasid_find of a live ID (spread over the space), with the set ownership check. */
    @Benchmark
    public Object find() {
        int id = 1 + (cursor = (cursor + 7919) & mask);
        return io.ioasidFind(set, id, null);
    }

    /** ioasid_find without a set (no ownership check), the v5.11 PASID-user form. */
    @Benchmark
    public Object findNullSet() {
        int id = 1 + (cursor = (cursor + 7919) & mask);
        return io.ioasidFind(null, id, null);
    }
}
