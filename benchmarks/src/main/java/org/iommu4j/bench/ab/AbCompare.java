package org.iommu4j.bench.ab;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.LongUnaryOperator;

/**
 * Two builds of the same benchmark compared in one JVM, for changes too small for separate JMH
 * runs on a noisy machine (where the machine's state moves a ratio by more than the change).
 * Each build's benchmarks jar gets its own class loader; each round times build A and build B
 * back to back (in alternating order), so a change in the machine's state hits both alike.
 * Prints both times and the median of B/A with its quartiles. An A/A run (one jar twice) shows
 * the resolution: its median has stayed within 2-3% of 1. Repeat the run a few times: now and
 * then a JVM compiles one build worse, and that run stands out.
 *
 * <p>Either side may name its own method, {@code JAR#KIND}, in place of KIND: one jar's
 * benchmark over its same-run baseline, {@code X.jar#smmu-walk-baseline X.jar smmu-walk}, is a
 * target's ratio measured round by round in one JVM, which the machine's slower and faster spells
 * (they move separate JMH forks by up to 20%) leave alone.
 *
 * <p>Usage: {@code java -cp benchmarks.jar org.iommu4j.bench.ab.AbCompare A.jar[#KIND] B.jar[#KIND] KIND [ROUNDS]}
 * with KIND one of {@link AbDriver#KINDS}. Build each jar with
 * {@code mvn -B -q -pl benchmarks -am package -DskipTests -Dbench.build.dir=DIR}.
 */
public final class AbCompare {
    private AbCompare() {}

    /** The driver of {@code kind} from the benchmarks jar {@code jar}, in a class loader of its own. */
    private static LongUnaryOperator load(Path jar, String kind) throws Exception {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException("no such jar: " + jar);
        }
        URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()},
                ClassLoader.getPlatformClassLoader());
        return (LongUnaryOperator) loader.loadClass(AbDriver.class.getName())
                .getConstructor(String.class).newInstance(kind);
    }

    /** One side of the comparison: a benchmarks jar and the benchmark to time from it. */
    private record Side(Path jar, String kind) {
        /** {@code JAR} (timing {@code kind}) or {@code JAR#KIND}. */
        static Side parse(String arg, String kind) {
            int hash = arg.lastIndexOf('#');
            String k = hash < 0 ? kind : arg.substring(hash + 1);
            if (!Arrays.asList(AbDriver.KINDS).contains(k)) {
                throw new IllegalArgumentException("unknown benchmark " + k + "; one of "
                        + String.join(", ", AbDriver.KINDS));
            }
            return new Side(Path.of(hash < 0 ? arg : arg.substring(0, hash)), k);
        }
    }

    /** What the calls returned, kept so the JIT cannot drop them. */
    static long sink;

    /** Nanoseconds per operation of {@code calls} calls. */
    private static double time(LongUnaryOperator op, int calls, int opsPerCall) {
        long t0 = System.nanoTime();
        sink += op.applyAsLong(calls);
        return (System.nanoTime() - t0) / ((double) calls * opsPerCall);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3 || !Arrays.asList(AbDriver.KINDS).contains(args[2])) {
            System.err.println("usage: AbCompare A.jar[#KIND] B.jar[#KIND] KIND [ROUNDS]; KIND one of "
                    + String.join(", ", AbDriver.KINDS));
            System.exit(2);
        }
        String kind = args[2];
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 200;
        if (rounds < 4) {
            throw new IllegalArgumentException("ROUNDS must be at least 4, for the quartiles");
        }
        Side sa = Side.parse(args[0], kind);
        Side sb = Side.parse(args[1], kind);
        int ops = AbDriver.opsPerCall(sa.kind());
        if (AbDriver.opsPerCall(sb.kind()) != ops) {
            throw new IllegalArgumentException(sa.kind() + " and " + sb.kind() + " count different operations per call");
        }
        LongUnaryOperator a = load(sa.jar(), sa.kind());
        LongUnaryOperator b = load(sb.jar(), sb.kind());
        int calls = Math.max(1, 20_000 / ops);
        for (int w = 0; w < 150; w++) {
            time(a, calls, ops);
            time(b, calls, ops);
        }
        double[] ta = new double[rounds];
        double[] tb = new double[rounds];
        double[] ba = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            if ((r & 1) == 0) {
                ta[r] = time(a, calls, ops);
                tb[r] = time(b, calls, ops);
            } else {
                tb[r] = time(b, calls, ops);
                ta[r] = time(a, calls, ops);
            }
            ba[r] = tb[r] / ta[r];
        }
        for (double[] v : new double[][] {ta, tb, ba}) {
            Arrays.sort(v);
        }
        int m = rounds / 2;
        System.out.printf("%s: A %.2f ns/op, B %.2f ns/op (medians); B/A %.3f (quartiles %.3f, %.3f)%n",
                sa.kind().equals(sb.kind()) ? kind : sb.kind() + " over " + sa.kind(), ta[m], tb[m], ba[m], ba[rounds / 4],
                ba[rounds * 3 / 4]);
    }
}
