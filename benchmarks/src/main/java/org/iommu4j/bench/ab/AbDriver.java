package org.iommu4j.bench.ab;

import java.util.Arrays;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;
import org.iommu4j.bench.base.PhysMemBench;
import org.iommu4j.bench.smmu.SmmuTranslateBench;

/**
 * One benchmark method of one build, called in a loop of its own: {@link AbCompare} loads this
 * class once per side, each copy in its own class loader, so each side's loop is compiled apart
 * with a single call target, as in a JMH fork.
 */
public final class AbDriver implements LongUnaryOperator {
    /**
     * The methods {@link AbCompare} can time: SmmuTranslateBench.translate with the TLB on and
     * off, PhysMemBench's random and sequential reads (1 MiB), and the same-run baselines of the
     * walk and the reads: the four dependent reads and a probe, the {@code long[]} random and
     * sequential reads, and the random reads through bare frames (the floor of any framed memory,
     * {@link PhysMemBench#framesReadRandom}). The hit path's baseline, a lone map probe, is not among them: in a loop
     * of its own here it measures about 0.9 ns against 2.9 ns under JMH, so its ratio would not
     * be the target's.
     */
    public static final String[] KINDS = {"smmu-hit", "smmu-walk", "physmem-random", "physmem-sequential",
        "smmu-walk-baseline", "physmem-random-baseline", "physmem-sequential-baseline", "physmem-random-frames"};

    private final SmmuTranslateBench smmu = new SmmuTranslateBench();
    private final PhysMemBench physmem = new PhysMemBench();
    /** The benchmark method {@code kind} names, picked once. */
    private final LongSupplier method;

    /** {@code kind}: one of {@link #KINDS}. */
    public AbDriver(String kind) {
        if (!Arrays.asList(KINDS).contains(kind)) {
            throw new IllegalArgumentException("unknown benchmark " + kind + "; one of " + String.join(", ", KINDS));
        }
        if (kind.startsWith("smmu")) {
            smmu.tlb = kind.equals("smmu-hit");
            smmu.setUp();
        } else {
            physmem.mib = 1;
            physmem.setup();
        }
        method = switch (kind) {
            case "smmu-hit", "smmu-walk" -> smmu::translate;
            case "smmu-walk-baseline" -> smmu::baselineFourReadsAndProbe;
            case "physmem-random" -> physmem::physmemReadRandom;
            case "physmem-sequential" -> physmem::physmemReadSequential;
            case "physmem-random-baseline" -> physmem::arrayReadRandom;
            case "physmem-random-frames" -> physmem::framesReadRandom;
            default -> physmem::arrayReadSequential; // physmem-sequential-baseline
        };
    }

    /** Operations one call of {@code kind}'s method performs (its @OperationsPerInvocation). */
    public static int opsPerCall(String kind) {
        return kind.startsWith("physmem") ? 4096 : 1;
    }

    /**
     * Calls the method {@code n} times; returns what they returned, summed (kept live). A driver
     * runs one kind in a class loader of its own, so this loop's call site has one target.
     */
    @Override
    public long applyAsLong(long n) {
        long s = 0;
        for (long i = 0; i < n; i++) {
            s += method.getAsLong();
        }
        return s;
    }
}
