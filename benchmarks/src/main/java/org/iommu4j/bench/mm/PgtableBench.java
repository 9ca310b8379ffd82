package org.iommu4j.bench.mm;

import java.util.concurrent.TimeUnit;
import org.iommu4j.base.hw.Board;
import org.iommu4j.mm.MmWorld;
import org.iommu4j.mm.Pgtable;
import org.iommu4j.mm.PgtableH;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Map and walk costs of the arm64 page tables: mapping and unmapping 2 MiB as 512 PTEs
 * (per-page cost), mapping it as one block, and a software walk of a 4-level table to the PTE.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PgtableBench {
    MmWorld world;
    Pgtable pt;
    long pgd;
    long walkPgd;
    long i;

    @Setup
    public void boot() {
        world = MmWorld.create(Board.withRam(256L << 20));
        pt = world.pgtable;
        pgd = pt.pgdAlloc();
        walkPgd = pt.pgdAlloc();
        pt.__createPgdMapping(walkPgd, 0x4000_0000L, 0x7f_0000_0000L, 64L << 20, PgtableH.PAGE_KERNEL,
                Pgtable.NO_BLOCK_MAPPINGS);
    }

    @Benchmark
    @OperationsPerInvocation(512)
    public int mapUnmap2MiBOfPages() {
        int r = pt.__createPgdMapping(pgd, 0x4020_0000L, 0x10_0000_0000L, 2L << 20, PgtableH.PAGE_KERNEL,
                Pgtable.NO_BLOCK_MAPPINGS);
        return r + pt.__removePgdMapping(pgd, 0x10_0000_0000L, 2L << 20);
    }

    @Benchmark
    public int mapUnmap2MiBBlock() {
        int r = pt.__createPgdMapping(pgd, 0x4020_0000L, 0x10_0000_0000L, 2L << 20, PgtableH.PAGE_KERNEL, 0);
        return r + pt.__removePgdMapping(pgd, 0x10_0000_0000L, 2L << 20);
    }

    @Benchmark
    public long walk4Levels() {
        long va = 0x7f_0000_0000L + ((i++ * 4096) & ((64L << 20) - 1));
        return pt.walkEntry(walkPgd, va);
    }
}
