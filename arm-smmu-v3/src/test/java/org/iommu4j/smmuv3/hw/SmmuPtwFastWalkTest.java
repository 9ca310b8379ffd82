package org.iommu4j.smmuv3.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.hw.SmmuPtw.P_PD;
import static org.iommu4j.smmuv3.hw.SmmuPtw.P_PR;
import static org.iommu4j.smmuv3.hw.SmmuPtw.P_PW;
import static org.iommu4j.smmuv3.hw.SmmuPtw.P_PX;
import static org.iommu4j.smmuv3.hw.SmmuPtw.P_UR;
import static org.iommu4j.smmuv3.hw.SmmuPtw.P_UW;
import static org.iommu4j.smmuv3.hw.SmmuPtw.P_UX;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.statistics.Statistics;
import org.iommu4j.base.hw.BusError;
import org.iommu4j.base.hw.PhysMem;

/**
 * {@link SmmuPtw#walkFast}, the walk of translations that succeed without a descriptor update,
 * against the full {@link SmmuPtw#walk}: whenever it answers, the full walk gives the same
 * answer and has nothing to update; it never writes memory; and it declines every walk that
 * faults or must update a descriptor.
 */
class SmmuPtwFastWalkTest {
    private static final long RAM = 0x4000_0000L;
    private static final long RAM_SIZE = 64L << 20;
    /** A second RAM range, beyond 32- and 36-bit output sizes. */
    private static final long HIGH_RAM = 1L << 36;
    private static final long OUTSIDE_RAM = 0x1_0000_0000L;
    /** What accesses need: SmmuV3 adds {@link SmmuPtw#P_PD} to a privileged data access's. */
    private static final int[] NEEDS = {P_UR, P_UW | P_UR, P_PR, P_PW, P_PR | P_PD, P_PW | P_PD, P_UX, P_PX,
        P_PR | P_PX, 0};

    /** Tables of random descriptors along one address's path, and the addresses written. */
    private static final class Tables {
        final PhysMem mem = new PhysMem(List.of(new PhysMem.Range(RAM, RAM_SIZE), new PhysMem.Range(HIGH_RAM, RAM_SIZE)));
        final List<Long> written = new ArrayList<>();
        /** Where the next table goes in the low and in the high RAM range. */
        final long[] brk = {RAM + 0x10000, HIGH_RAM};

        long alloc(long size) {
            return alloc(size, 0);
        }

        /** A table in the high RAM range: in RAM, but beyond small output sizes. */
        long allocHigh(long size) {
            return alloc(size, 1);
        }

        private long alloc(long size, int range) {
            long align = Math.max(size, 64);
            long a = (brk[range] + align - 1) & -align;
            brk[range] = a + size;
            return a;
        }

        void write(long pa, long v) {
            mem.writeq(pa, v);
            written.add(pa);
        }

        long[] snapshot() {
            long[] v = new long[written.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = mem.readq(written.get(i));
            }
            return v;
        }
    }

    private record Sample(SmmuPtw.StageCfg cfg, Tables tables, long va, int need) {}

    /**
     * Random tables built from {@code seed}; null when the drawn regime is not a valid one. With
     * {@code fourLevel4k}, always a stage-1 4K-granule regime that starts at level 0 (input
     * sizes of 40 to 48 bits). A stage 1 may be an upper VA range (TTB1, its inputs' top bits
     * ones) and have PAN; a stage 2 may lack XNX.
     */
    private static Sample sample(long seed, boolean fourLevel4k) {
        SplittableRandom r = new SplittableRandom(seed);
        Tables t = new Tables();
        int g = fourLevel4k ? 12 : new int[] {12, 14, 16}[r.nextInt(3)];
        int stage = !fourLevel4k && r.nextInt(4) == 0 ? 2 : 1;
        int outBits = new int[] {32, 36, 40, 44, 48}[r.nextInt(5)];
        boolean ha = r.nextBoolean(), hd = ha && r.nextBoolean(), affd = r.nextInt(4) == 0;
        int t0sz = 16 + r.nextInt(fourLevel4k ? 9 : 24);
        SmmuPtw.StageCfg probe = stage == 1
                ? SmmuPtw.StageCfg.s1(g, t0sz, 0, outBits, ha, hd, affd, false, false, false)
                : SmmuPtw.StageCfg.s2(g, t0sz, r.nextInt(3), 0, outBits, ha, hd, affd);
        if (probe == null) {
            return null;
        }
        int start = probe.startLevel();
        int stride = g - 3;
        long ttb = t.alloc(8L << probe.startBits());
        if (r.nextInt(40) == 0) {
            ttb = OUTSIDE_RAM;
        } else if (r.nextInt(40) == 0) {
            ttb |= 1L << 47; // beyond most output sizes
        }
        boolean ttb1 = stage == 1 && r.nextInt(3) == 0, pan = stage == 1 && r.nextInt(3) == 0;
        SmmuPtw.StageCfg cfg = stage == 1
                ? SmmuPtw.StageCfg.s1(g, t0sz, ttb, outBits, ha, hd, affd, r.nextBoolean(), r.nextInt(30) == 0,
                        r.nextInt(4) == 0, false, ttb1, pan)
                : SmmuPtw.StageCfg.s2(g, t0sz, (3 - start) - (g == 12 ? 1 : 0), ttb, outBits, ha, hd, affd,
                        r.nextBoolean());
        int ias = probe.inputBits();
        long va = r.nextLong() & ((1L << ias) - 1) & -8L;
        if (ttb1) {
            va |= -1L << ias; // the upper range: every bit above its size set
        }
        if (r.nextInt(20) == 0) {
            va ^= 1L << (56 + r.nextInt(8)); // the top byte: ignored with TBI, out of range without
        } else if (r.nextInt(20) == 0) {
            va ^= 1L << (ias + r.nextInt(56 - ias)); // out of range with or without TBI
        }
        int leafLevel = Math.max(start, 3 - r.nextInt(3));
        long table = ttb;
        for (int level = start; level <= 3 && ttb != OUTSIDE_RAM; level++) {
            int bits = level == start ? probe.startBits() : stride;
            int shift = g + stride * (3 - level);
            long pte = (table & 0x0000_ffff_ffff_ffffL & -64L) + 8 * ((va >>> shift) & ((1L << bits) - 1));
            if (!t.mem.isRam(pte, 8)) {
                break;
            }
            if (level == leafLevel) {
                t.write(pte, leaf(r, shift, level == 3));
                break;
            }
            long next = r.nextInt(10) == 0 ? t.allocHigh(1L << g) : t.alloc(1L << g);
            long d = next | 3;
            if (r.nextInt(3) == 0) {
                d |= (long) r.nextInt(16) << 59; // PXNTable, UXNTable, APTable
            }
            if (r.nextInt(30) == 0) {
                d &= ~2L; // a block descriptor in its place
            } else if (r.nextInt(30) == 0) {
                d &= ~1L; // invalid
            } else if (r.nextInt(40) == 0) {
                d = (d & 0xfff) | OUTSIDE_RAM;
            } else if (r.nextInt(40) == 0) {
                d |= 1L << (outBits + r.nextInt(48 - outBits + 1) - 1); // table address beyond the output size
            }
            t.write(pte, d);
            table = d & 0x0000_ffff_ffff_f000L & -(1L << g);
        }
        return new Sample(cfg, t, va, NEEDS[r.nextInt(NEEDS.length)]);
    }

    /** A leaf with random attributes: type, AF, DBM, AP/S2AP, XN bits, nG, output address. */
    private static long leaf(SplittableRandom r, int shift, boolean page) {
        long oa = (r.nextLong() & 0x0000_00ff_ffff_ffffL) & -(1L << shift);
        if (r.nextInt(3) == 0) {
            oa &= 0xffff_ffffL; // inside every output size
        }
        long d = oa | (page ? 3 : 1);
        if (r.nextInt(25) == 0) {
            d ^= page ? 2 : 1; // a reserved type at the last level, or an invalid block
        }
        if (r.nextInt(5) != 0) {
            d |= 1L << 10; // AF
        }
        if (r.nextInt(3) == 0) {
            d |= 1L << 51; // DBM
        }
        d |= (long) r.nextInt(4) << 6; // AP[2:1] or S2AP
        d |= (long) r.nextInt(4) << 53; // PXN/UXN or XN
        if (r.nextBoolean()) {
            d |= 1L << 11; // nG
        }
        return d;
    }

    @Property(tries = 3000, seed = "20261203")
    void walkFastAnswersExactlyAsTheFullWalk(@ForAll long seed) {
        checkAgainstFullWalk(sample(seed, false));
    }

    /**
     * The same, for the commonest shape alone (a stage-1 4K-granule walk from level 0, as Linux's
     * io-pgtable-arm and SVA page tables make), which the mixed draws above reach rarely.
     */
    @Property(tries = 2000, seed = "20261203")
    void fourLevel4kWalkAnswersExactlyAsTheFullWalk(@ForAll long seed) {
        Sample s = sample(seed, true);
        assertThat(s).isNotNull();
        assertThat(s.cfg().startLevel()).isZero();
        checkAgainstFullWalk(s);
    }

    private static void checkAgainstFullWalk(Sample s) {
        if (s == null) {
            Statistics.label("outcome").collect("no regime");
            return;
        }
        SmmuPtw.Plan plan = SmmuPtw.plan(s.cfg());
        if (plan == null) {
            Statistics.label("outcome").collect("no plan");
            return;
        }
        Tables t = s.tables();
        long[] before = t.snapshot();
        SmmuPtw.Result fast = new SmmuPtw.Result();
        boolean answered;
        try {
            answered = SmmuPtw.walkFast(t.mem, plan, s.va(), s.need(), fast);
        } catch (BusError e) {
            answered = false;
        }
        assertThat(t.snapshot()).as("the fast walk never writes").containsExactly(before);
        if (plan.s1Level0x4k) {
            checkWalk4k(t, plan, s, answered, fast);
            assertThat(t.snapshot()).as("walk4k never writes").containsExactly(before);
        }
        boolean write = (s.need() & (P_UW | P_PW)) != 0;
        SmmuPtw.Result full = SmmuPtw.walk(t.mem, s.cfg(), s.va(), write, s.need(), true, null, null,
                new SmmuPtw.Result());
        boolean updated = !java.util.Arrays.equals(t.snapshot(), before);
        if (answered) {
            assertThat(full.fault).as("the full walk agrees there is no fault").isEqualTo(SmmuPtw.OK);
            assertThat(updated).as("nothing for HTTU to update").isFalse();
            assertThat(fast.fault).isEqualTo(SmmuPtw.OK);
            assertThat(fast.pa).isEqualTo(full.pa);
            assertThat(fast.perm).isEqualTo(full.perm);
            assertThat(fast.level).isEqualTo(full.level);
            assertThat(fast.blockShift).isEqualTo(full.blockShift);
            assertThat(fast.global).isEqualTo(full.global);
        } else {
            assertThat(full.fault != SmmuPtw.OK || updated || s.cfg().hd() && dbmLeaf(t))
                    .as("declined only for a fault, an HTTU update, or a DBM leaf with HD on")
                    .isTrue();
        }
        Statistics.label("outcome").collect(answered ? "fast" : full.fault != SmmuPtw.OK ? "fault" : "full walk");
        if (s.cfg().ttb1() || s.cfg().pan()) {
            // the upper range's and PAN's walks answered fast and faulting, each
            String what = s.cfg().ttb1() ? "TTB1" : "PAN";
            String outcome = answered ? " fast" : full.fault != SmmuPtw.OK ? " fault" : " full";
            Statistics.label("TTB1 and PAN").collect(what + outcome);
            Statistics.label("TTB1 and PAN").coverage(c -> {
                c.check("TTB1 fast").count(n -> n > 0);
                c.check("TTB1 fault").count(n -> n > 0);
                c.check("PAN fast").count(n -> n > 0);
                c.check("PAN fault").count(n -> n > 0);
            });
        }
        Statistics.label("outcome").coverage(c -> {
            c.check("fast").percentage(p -> p > 10);
            c.check("fault").percentage(p -> p > 10);
            c.check("full walk").count(n -> n > 0);
        });
    }

    /**
     * {@link SmmuPtw#walk4k}, with its caller's permission check, answers exactly where
     * {@link SmmuPtw#walkFast} does ({@code answered}, with {@code fast}), with the same output
     * address, permissions and page or block size.
     */
    private static void checkWalk4k(Tables t, SmmuPtw.Plan plan, Sample s, boolean answered, SmmuPtw.Result fast) {
        long w;
        try {
            w = SmmuPtw.walk4k(t.mem, plan, plan.table, s.va());
        } catch (BusError e) {
            w = SmmuPtw.WALK4K_NO;
        }
        int perm = w == SmmuPtw.WALK4K_NO ? 0 : SmmuPtw.s1PermOfKey(SmmuPtw.walk4kKey(w));
        boolean granted = w != SmmuPtw.WALK4K_NO && (perm & s.need()) == s.need();
        assertThat(granted).as("walk4k answers where walkFast does").isEqualTo(answered);
        if (answered) {
            assertThat(SmmuPtw.walk4kPa(w, s.va())).isEqualTo(fast.pa);
            assertThat(perm).isEqualTo(fast.perm);
            assertThat(SmmuPtw.walk4kSize(w)).isEqualTo(1L << fast.blockShift);
            Statistics.label("walk4k").collect(fast.level == 3 ? "page" : "block");
        } else {
            Statistics.label("walk4k").collect(w == SmmuPtw.WALK4K_NO ? "declined" : "not permitted");
        }
        Statistics.label("walk4k").coverage(c -> {
            c.check("page").count(n -> n > 0);
            c.check("block").count(n -> n > 0);
        });
    }

    /**
     * The last descriptor written (the leaf, or where the walk ends first: a block or invalid
     * descriptor built from a table descriptor, which never has DBM) has DBM: with HD on, the
     * full walk decides what a writable-clean page grants, so the fast walk leaves it.
     */
    private static boolean dbmLeaf(Tables t) {
        return !t.written.isEmpty() && (t.mem.readq(t.written.get(t.written.size() - 1)) & 1L << 51) != 0;
    }

    @Example
    void declinesAnAccessFlagUpdateAndDirtying() {
        Tables t = new Tables();
        long root = t.alloc(4096);
        SmmuPtw.StageCfg cfg = SmmuPtw.StageCfg.s1(12, 16, root, 48, true, true, false, false, false, false);
        long va = 0x1234_5000L;
        long pte = mapPage(t, root, va, 0x5000_0000L | 3 | 1L << 51 | 1L << 7 | 1L << 6); // AF = 0, DBM, clean
        SmmuPtw.Result out = new SmmuPtw.Result();
        assertThat(SmmuPtw.walkFast(t.mem, SmmuPtw.plan(cfg), va, P_UR, out)).as("AF to set").isFalse();
        assertThat(t.mem.readq(pte) & 1L << 10).as("untouched").isZero();
        SmmuPtw.walk(t.mem, cfg, va, false, P_UR, true, null, null, out);
        assertThat(t.mem.readq(pte) & 1L << 10).as("the full walk set AF").isNotZero();
        assertThat(SmmuPtw.walkFast(t.mem, SmmuPtw.plan(cfg), va, P_UW, out)).as("dirty to set").isFalse();
        t.mem.writeq(pte, t.mem.readq(pte) & ~(1L << 51)); // DBM cleared: a plain read-only page
        assertThat(SmmuPtw.walkFast(t.mem, SmmuPtw.plan(cfg), va, P_UR, out)).isTrue();
        assertThat(out.pa).isEqualTo(0x5000_0000L | (va & 0xfff));
        assertThat(SmmuPtw.walkFast(t.mem, SmmuPtw.plan(cfg), va, P_UW, out)).as("a permission fault").isFalse();
    }

    @Example
    void noPlanForDisabledOrOversizedTables() {
        assertThat(SmmuPtw.plan(SmmuPtw.StageCfg.s1(12, 16, RAM, 48, false, false, false, false, true, false)))
                .as("EPD0").isNull();
        assertThat(SmmuPtw.plan(SmmuPtw.StageCfg.s1(12, 16, 1L << 40, 32, false, false, false, false, false, false)))
                .as("TTB0 beyond the output size").isNull();
        assertThat(SmmuPtw.plan(SmmuPtw.StageCfg.s1(12, 16, RAM, 48, false, false, false, false, false, false)))
                .isNotNull();
    }

    /**
     * walk4k fetches all four levels before it judges them: where the walk ends early, the
     * words fetched beyond its end (here outside RAM, or random words of RAM) change nothing.
     */
    @Example
    void walk4kAnswersAWalkThatEndsEarlyAsIfNothingMoreWereRead() {
        Tables t = new Tables();
        long root = t.alloc(4096);
        SmmuPtw.Plan plan = SmmuPtw.plan(SmmuPtw.StageCfg.s1(12, 16, root, 48, false, false, false, false, false, false));
        long l1 = t.alloc(4096);
        t.write(root, l1 | 3);
        // a 1G block whose output lies outside RAM: its output address, as a table, is too
        long gigVa = 0x4000_0000L + 0x1234_5678L;
        t.write(l1 + 8, OUTSIDE_RAM | 1L << 10 | 1);
        long w = SmmuPtw.walk4k(t.mem, plan, root, gigVa);
        assertThat(SmmuPtw.walk4kPa(w, gigVa)).isEqualTo(OUTSIDE_RAM | 0x1234_5678L);
        assertThat(SmmuPtw.walk4kSize(w)).isEqualTo(1L << 30);
        // a 2M block in RAM, over words that look like table descriptors
        long l2 = t.alloc(4096);
        long out = RAM + (8L << 20);
        t.write(l1 + 16, l2 | 3);
        t.write(l2 + 8 * 5, out | 1L << 10 | 1);
        for (int i = 0; i < 512; i++) {
            t.write(out + 8L * i, (out + 4096) | 3);
        }
        long twoMegVa = 0x8000_0000L + (5L << 21) + 0x1_2345L;
        w = SmmuPtw.walk4k(t.mem, plan, root, twoMegVa);
        assertThat(SmmuPtw.walk4kPa(w, twoMegVa)).isEqualTo(out | 0x1_2345L);
        assertThat(SmmuPtw.walk4kSize(w)).isEqualTo(1L << 21);
        // an invalid descriptor whose other bits lead outside RAM: declined, nothing thrown
        t.write(l1 + 24, OUTSIDE_RAM | 2);
        assertThat(SmmuPtw.walk4k(t.mem, plan, root, 0xc000_0000L)).isEqualTo(SmmuPtw.WALK4K_NO);
        // walkFast agrees on both blocks (AP 0b00: privileged access only)
        SmmuPtw.Result r = new SmmuPtw.Result();
        assertThat(SmmuPtw.walkFast(t.mem, plan, gigVa, P_PR, r)).isTrue();
        assertThat(r.pa).isEqualTo(OUTSIDE_RAM | 0x1234_5678L);
        assertThat(SmmuPtw.walkFast(t.mem, plan, twoMegVa, P_PR, r)).isTrue();
        assertThat(r.pa).isEqualTo(out | 0x1_2345L);
    }

    /** A 4K, 4-level mapping of one page with leaf descriptor {@code leaf}; returns the leaf's address. */
    private static long mapPage(Tables t, long root, long va, long leaf) {
        long table = root;
        for (int level = 0; level < 3; level++) {
            long next = t.alloc(4096);
            t.write(table + 8 * ((va >>> (39 - 9 * level)) & 511), next | 3);
            table = next;
        }
        long pte = table + 8 * ((va >>> 12) & 511);
        t.write(pte, leaf);
        return pte;
    }
}
