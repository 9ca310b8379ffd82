package org.iommu4j.bench.base;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.iommu4j.base.hw.PhysMem;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Simulated physical memory against a plain {@code long[]} of the same size, in the same run:
 * aligned 64-bit reads and writes, sequential, random, and random with each address depending
 * on the previous read.
 *
 * <p>Each benchmark method performs {@link #OPS} accesses (one invocation walks a precomputed
 * index array), so the reported time is per access. The {@code long[]} baseline uses the same
 * indices; the target is a {@code PhysMem} read within 3x of the array read.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar PhysMem -f 1 -wi 3 -i 5}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PhysMemBench {
    static final int OPS = 4096;
    static final long BASE = 0x4000_0000L;

    /** Working set in MiB: 1 fits in L2/L3, 64 does not. */
    @Param({"1", "64"})
    public int mib;

    PhysMem mem;
    long[] array;
    /**
     * The same words as {@link #array}, in 4 KiB frames of 512 words: the floor of a memory kept
     * in Java arrays of one frame each (a frame table load, a frame load, the bounds checks Java
     * makes), which PhysMem was until its RAM became host-mapped regions; kept for comparison.
     */
    long[][] frames;
    /** Word indices (not byte offsets) to visit, sequential or shuffled. */
    int[] seq;
    int[] rnd;
    long value = 0x0123_4567_89ab_cdefL;
    /** Where the dependent-read chain continues. */
    long chase;

    @Setup(Level.Trial)
    public void setup() {
        long bytes = (long) mib << 20;
        mem = new PhysMem(BASE, bytes);
        int words = (int) (bytes >>> 3);
        array = new long[words];
        frames = new long[words >>> 9][512];
        // Each word holds the index of the next word of one random cycle through all of them
        // (Sattolo's shuffle), for the dependent-read benchmarks; writing every word also
        // touches every frame, so the hit path is measured, not first-touch allocation.
        SplittableRandom r = new SplittableRandom(42);
        int[] next = new int[words];
        for (int i = 0; i < words; i++) {
            next[i] = i;
        }
        for (int i = words - 1; i > 0; i--) {
            int j = r.nextInt(i);
            int t = next[i];
            next[i] = next[j];
            next[j] = t;
        }
        for (int i = 0; i < words; i++) {
            mem.writeq(BASE + ((long) i << 3), next[i]);
            array[i] = next[i];
            frames[i >>> 9][i & 511] = next[i];
        }
        seq = new int[OPS];
        rnd = new int[OPS];
        int start = r.nextInt(Math.max(1, words - OPS));
        for (int i = 0; i < OPS; i++) {
            seq[i] = (start + i) % words;
            rnd[i] = r.nextInt(words);
        }
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public long physmemReadSequential() {
        long s = 0;
        for (int i : seq) {
            s += mem.readq(BASE + ((long) i << 3));
        }
        return s;
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public long arrayReadSequential() {
        long s = 0;
        for (int i : seq) {
            s += array[i];
        }
        return s;
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public long physmemReadRandom() {
        long s = 0;
        for (int i : rnd) {
            s += mem.readq(BASE + ((long) i << 3));
        }
        return s;
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public long arrayReadRandom() {
        long s = 0;
        for (int i : rnd) {
            s += array[i];
        }
        return s;
    }

    /**
     * {@link #arrayReadRandom} through {@link #frames}: how far from a flat array two dependent
     * array loads already are, before any of PhysMem's own work.
     */
    @Benchmark
    @OperationsPerInvocation(OPS)
    public long framesReadRandom() {
        long s = 0;
        long[][] ft = frames;
        for (int i : rnd) {
            long pa = BASE + ((long) i << 3);
            s += ft[(int) ((pa - BASE) >>> 12)][(int) (pa & 0xfff) >>> 3];
        }
        return s;
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public void physmemWriteSequential() {
        long v = value++;
        for (int i : seq) {
            mem.writeq(BASE + ((long) i << 3), v);
        }
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public void arrayWriteSequential() {
        long v = value++;
        for (int i : seq) {
            array[i] = v;
        }
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public void physmemWriteRandom() {
        long v = value++;
        for (int i : rnd) {
            mem.writeq(BASE + ((long) i << 3), v);
        }
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public void arrayWriteRandom() {
        long v = value++;
        for (int i : rnd) {
            array[i] = v;
        }
    }

    /**
     * Dependent random reads (each address comes from the previous read, as in a page-table
     * walk): the latency of one access rather than the throughput of independent ones.
     */
    @Benchmark
    @OperationsPerInvocation(OPS)
    public long physmemReadDependent() {
        long i = chase;
        for (int k = 0; k < OPS; k++) {
            i = mem.readq(BASE + (i << 3));
        }
        chase = i;
        return i;
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public long arrayReadDependent() {
        long i = chase;
        for (int k = 0; k < OPS; k++) {
            i = array[(int) i];
        }
        chase = i;
        return i;
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public long physmemReadAcquireRandom() {
        long s = 0;
        for (int i : rnd) {
            s += mem.readqAcquire(BASE + ((long) i << 3));
        }
        return s;
    }
}
