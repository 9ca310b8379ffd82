package org.iommu4j.bench.mm;

import static org.iommu4j.mm.MmH.FAULT_FLAG_WRITE;
import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;

import java.util.concurrent.TimeUnit;
import org.iommu4j.base.hw.Board;
import org.iommu4j.mm.Mm;
import org.iommu4j.mm.MmFault;
import org.iommu4j.mm.MmWorld;
import org.iommu4j.mm.Mmap;
import org.iommu4j.mm.VmAreaStruct;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Demand-faulting 1 GiB of anonymous memory (262,144 4 KiB pages) with write faults through
 * handle_mm_fault: page allocation (zeroed), table allocation and PTE installation. Each
 * measurement is one sweep over a freshly mapped GiB of a fresh machine (single shot); the
 * score is time per page, so pages/s = 1e9 / score. A fresh machine per iteration keeps the
 * figure independent of how many simulated frames earlier sweeps touched (zeroing a touched
 * frame costs a 4 KiB fill, an untouched one nothing).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgs = {"-Xmx3g"})
public class DemandFaultBench {
    static final long GIB = 1L << 30;
    static final int PAGES = (int) (GIB >>> 12);

    MmWorld world;
    Mm mm;
    long va;

    @Setup(Level.Iteration)
    public void map() {
        world = MmWorld.create(Board.withRam(GIB + (64L << 20)));
        mm = world.mmAlloc();
        va = Mmap.vmMmap(mm, 0, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    }

    @TearDown(Level.Iteration)
    public void unmap() {
        mm.mmput();
        world = null;
        mm = null;
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public int demandFault1GiB() {
        int acc = 0;
        mm.mmapReadLock();
        try {
            VmAreaStruct vma = Mmap.findVma(mm, va);
            for (long a = va; a < va + GIB; a += 4096) {
                acc |= MmFault.handleMmFault(vma, a, FAULT_FLAG_WRITE);
            }
        } finally {
            mm.mmapReadUnlock();
        }
        return acc;
    }
}
