package org.iommu4j.bench.smmu;

import java.util.concurrent.TimeUnit;
import org.eclipse.collections.impl.map.mutable.primitive.LongObjectHashMap;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.iommu4j.smmuv3.hw.SmmuV3;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * DMA translations through the simulated SMMUv3: the TLB-hit path and a 4-level stage-1 walk
 * (TLB and walk cache off, configuration cache on: with the walk cache on, a walk would resume
 * at level 3 from the cached level-2 table descriptor and read one descriptor, not four), each
 * beside its same-run baseline: one primitive-map probe for the hit path, four dependent PhysMem
 * reads for the walk.
 * Targets: hit path within 3x of one probe and allocation-free (run with -prof gc);
 * walk within 2x of four dependent reads + one probe.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgs = {"-Xmx1g"})
public class SmmuTranslateBench {
    static final long SMMU = 0x0905_0000L;
    static final long VA = 0x7f12_3400_0000L;
    static final int PAGES = 256;

    /** true: the TLB-hit path; false: TLB and walk cache off, every translation walks the four levels. */
    @Param({"true", "false"})
    public boolean tlb;

    Board board;
    PhysMem mem;
    SmmuV3 smmu;
    final DmaTransaction txn = new DmaTransaction();
    final DmaResult res = new DmaResult();
    LongObjectHashMap<Object> map;
    long root;
    int cursor;
    private long brk = 0x4010_0000L;

    private long alloc(long size) {
        long a = brk;
        brk += Math.max(4096, (size + 4095) & ~4095L);
        return a;
    }

    private void writel(int off, int v) {
        board.mmio.write(SMMU + off, Integer.toUnsignedLong(v), 4);
    }

    private void writeq(int off, long v) {
        board.mmio.write(SMMU + off, v, 8);
    }

    /** A 4-level 4K table mapping PAGES pages at VA, written as a driver would. */
    private void map(long va, long pa) {
        long table = root;
        for (int level = 0; level < 3; level++) {
            long pte = table + 8 * ((va >>> (39 - 9 * level)) & 511);
            long d = mem.readq(pte);
            if ((d & 1) == 0) {
                d = alloc(4096) | 3;
                mem.writeq(pte, d);
            }
            table = d & 0x0000_ffff_ffff_f000L;
        }
        mem.writeq(table + 8 * ((va >>> 12) & 511), pa | (1L << 10) | (1L << 6) | (1L << 11) | 3);
    }

    @Setup(Level.Trial)
    public void setUp() {
        board = Board.withRam(1L << 30);
        mem = board.mem;
        smmu = new SmmuV3(board, SmmuCaps.full());
        smmu.mapMmio(SMMU);
        long strtab = alloc(64 * 256);
        long cmdq = alloc(16 * 64);
        long evtq = alloc(32 * 32);
        writeq(0x80, strtab);
        writel(0x88, 8);
        writeq(0x90, cmdq | 6);
        writeq(0xa0, evtq | 5);
        writel(0x20, 0xc);
        root = alloc(4096);
        long cd = alloc(64);
        // CD: T0SZ 16, TG0 4K, EPD1 (no TTB1 walks, as Linux sets it), V, IPS 48-bit, AA64, R, A, ASID 1
        mem.writeq(cd, 16 | (1L << 30) | (1L << 31) | (5L << 32) | (1L << 41) | (1L << 45) | (1L << 46) | (1L << 48));
        mem.writeq(cd + 8, root);
        // STE 1: stage 1, linear CD table
        mem.writeq(strtab + 64, 1 | (5L << 1) | cd);
        writel(0x20, 0xd);
        for (int i = 0; i < PAGES; i++) {
            map(VA + 4096L * i, 0x5000_0000L + 4096L * i);
        }
        smmu.tlb().setEnabled(tlb);
        smmu.walkCache().setEnabled(tlb);
        map = new LongObjectHashMap<>();
        for (int i = 0; i < PAGES; i++) {
            map.put((VA >>> 12) + i, new Object());
        }
        for (int i = 0; i < PAGES; i++) {
            txn.set(1, DmaTransaction.NO_SSID, VA + 4096L * i, 4, DmaTransaction.ACC_READ);
            smmu.translate(txn, res);
            if (res.status != DmaResult.OK) {
                throw new IllegalStateException("setup translation failed: " + res);
            }
        }
    }

    private long nextVa() {
        cursor = (cursor + 97) & (PAGES - 1);
        return VA + 4096L * cursor + 0x40;
    }

    /** One DMA translation: TLB hit with tlb=true, a 4-level walk with tlb=false. */
    @Benchmark
    public long translate() {
        txn.set(1, DmaTransaction.NO_SSID, nextVa(), 4, DmaTransaction.ACC_READ);
        smmu.translate(txn, res);
        return res.pa;
    }

    /** Baseline for the hit path: one primitive-keyed map probe. */
    @Benchmark
    public Object baselineProbe() {
        return map.get(nextVa() >>> 12);
    }

    /** Baseline for the walk: four dependent 64-bit reads from PhysMem (the table descriptors). */
    @Benchmark
    public long baselineFourReads() {
        long va = nextVa();
        long table = root;
        long d = 0;
        for (int level = 0; level < 4; level++) {
            d = mem.readqAcquire(table + 8 * ((va >>> (39 - 9 * level)) & 511));
            table = d & 0x0000_ffff_ffff_f000L;
        }
        return d;
    }

    /** Baseline for the walk: four dependent reads plus one map probe. */
    @Benchmark
    public long baselineFourReadsAndProbe() {
        return baselineFourReads() + (map.get(nextVa() >>> 12) == null ? 0 : 1);
    }
}
