package org.iommu4j.bench.mm;

import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;

import java.util.concurrent.TimeUnit;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.mm.Cpu;
import org.iommu4j.mm.Mm;
import org.iommu4j.mm.MmFault;
import org.iommu4j.mm.MmWorld;
import org.iommu4j.mm.Mmap;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A CPU load at a user VA through the TLB-hit path versus the PhysMem read it ends in. Both
 * sweep the same 16 pages (all TLB-resident) so the difference is the translation.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CpuLoadBench {
    static final int PAGES = 16;
    MmWorld world;
    Mm mm;
    Cpu cpu;
    PhysMem mem;
    long va;
    long[] pas = new long[PAGES];
    int i;

    @Setup
    public void boot() {
        world = MmWorld.create(Board.withRam(64L << 20));
        mem = world.mem;
        mm = world.mmAlloc();
        va = Mmap.vmMmap(mm, 0, PAGES * 4096L, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
        cpu = world.cpu(0);
        cpu.switchMm(mm);
        for (int p = 0; p < PAGES; p++) {
            cpu.str(va + p * 4096L, p);
            pas[p] = MmFault.pteOf(mm, va + p * 4096L) & 0x0000_FFFF_FFFF_F000L;
        }
    }

    @Benchmark
    public long cpuLoadTlbHit() {
        int p = (i++) & (PAGES - 1);
        return cpu.ldr(va + p * 4096L + 64);
    }

    @Benchmark
    public long physMemRead() {
        int p = (i++) & (PAGES - 1);
        return mem.readq(pas[p] + 64);
    }
}
