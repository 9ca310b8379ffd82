package org.iommu4j.mm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class ArmContextTest {
    private static MmWorld world8(int cpus) {
        return MmTestSupport.world(MmWorld.Config.defaults().withAsidBits(8).withNrCpus(cpus));
    }

    private static List<Mm> mms(MmWorld w, int n) {
        List<Mm> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(w.mmAlloc());
        }
        return l;
    }

    @Test
    void asidsStartAtOneAndFollowTheMmAcrossCpus() {
        MmWorld w = MmTestSupport.world();
        ArmContext ctx = w.context;
        Mm a = w.mmAlloc();
        Mm b = w.mmAlloc();
        assertThat(ctx.asidBits).isEqualTo(16);
        w.cpu(0).switchMm(a);
        assertThat(a.context.id.get()).isEqualTo((1L << 16) | 1);
        assertThat(w.cpu(0).asid()).isEqualTo(1);
        assertThat(w.cpu(0).ttbr0()).isEqualTo(a.pgd | (1L << 48));
        w.cpu(1).switchMm(b);
        assertThat(b.asid()).isEqualTo(2);
        w.cpu(2).switchMm(a);
        assertThat(w.cpu(2).asid()).isEqualTo(1);
        assertThat(ctx.asidGenMatch(a.context.id.get())).isTrue();
        assertThat(ctx.activeAsid(2)).isEqualTo(a.context.id.get());
        assertThat(ctx.ctxid2asid(a.context.id.get())).isEqualTo(1);
        for (int i = 0; i < 3; i++) {
            w.cpu(i).switchToIdle();
        }
    }

    @Test
    void rolloverKeepsRunningAndPinnedAsidsAndFlushesTlbs() {
        MmWorld w = world8(4);
        ArmContext ctx = w.context;
        Mm running = w.mmAlloc();
        Mm pinned = w.mmAlloc();
        w.cpu(1).switchMm(running);
        int runningAsid = running.asid();
        long pinnedAsid = ctx.arm64MmContextGet(pinned);
        assertThat(pinnedAsid).isNotZero();
        // Give CPU 2 a TLB entry to see it flushed on its next switch after the rollover.
        long va = MmTestSupport.mmapAnon(running, 4096, MmH.PROT_READ);
        w.cpu(2).switchMm(running);
        w.cpu(2).load(va, 8);
        assertThat(w.cpu(2).tlbEntries()).isEqualTo(1);
        w.cpu(2).switchToIdle();

        long gen0 = ctx.generation();
        List<Mm> churn = mms(w, 600);
        Cpu cpu0 = w.cpu(0);
        try (var cap = org.iommu4j.base.trace.Trace.capture("mm:arm64_asid_rollover")) {
            for (Mm m : churn) {
                cpu0.switchMm(m);
                assertThat(m.asid()).isNotEqualTo(runningAsid).isNotEqualTo((int) pinnedAsid).isNotZero();
            }
            assertThat(cap.records()).hasSize((int) ctx.rollovers());
        }
        assertThat(ctx.rollovers()).isGreaterThanOrEqualTo(2);
        assertThat(ctx.generation()).isGreaterThan(gen0);
        // Still-running mm keeps its number in the new generation.
        w.cpu(1).switchMm(running);
        assertThat(running.asid()).isEqualTo(runningAsid);
        assertThat(ctx.asidGenMatch(running.context.id.get())).isTrue();
        // The pinned mm keeps its number whenever it runs again.
        w.cpu(3).switchMm(pinned);
        assertThat(pinned.asid()).isEqualTo((int) pinnedAsid);
        assertThat(ctx.arm64MmContextGet(pinned)).isEqualTo(pinnedAsid);
        // CPU 2's pending flush ran when it switched.
        w.cpu(2).switchMm(churn.get(0));
        assertThat(w.cpu(2).tlbEntries()).isZero();
        // Current-generation ASIDs are unique.
        Map<Integer, Mm> owners = new HashMap<>();
        for (Mm m : concat(churn, List.of(running, pinned))) {
            if (ctx.asidGenMatch(m.context.id.get())) {
                assertThat(owners.put(m.asid(), m)).as("ASID %d", m.asid()).isNull();
            }
        }
        ctx.arm64MmContextPut(pinned);
        ctx.arm64MmContextPut(pinned);
        assertThat(ctx.asidPinned(pinnedAsid)).isFalse();
        for (int i = 0; i < 4; i++) {
            w.cpu(i).switchToIdle();
        }
    }

    private static List<Mm> concat(List<Mm> a, List<Mm> b) {
        List<Mm> l = new ArrayList<>(a);
        l.addAll(b);
        return l;
    }

    @Test
    void pinnedLimitReturnsZeroAndPutMakesRoom() {
        MmWorld w = world8(4);
        ArmContext ctx = w.context;
        assertThat(ctx.maxPinnedAsids()).isEqualTo(256 - 4 - 2);
        List<Mm> l = mms(w, 251);
        Set<Long> asids = new HashSet<>();
        for (int i = 0; i < 250; i++) {
            long a = ctx.arm64MmContextGet(l.get(i));
            assertThat(a).isNotZero();
            assertThat(asids.add(a)).isTrue();
        }
        assertThat(ctx.nrPinnedAsids()).isEqualTo(250);
        assertThat(ctx.arm64MmContextGet(l.get(250))).isZero();
        // A second get on a pinned mm is a reference, not a new pin.
        long again = ctx.arm64MmContextGet(l.get(0));
        assertThat(again).isEqualTo(l.get(0).asid());
        assertThat(l.get(0).context.pinned.refcountRead()).isEqualTo(2);
        ctx.arm64MmContextPut(l.get(0));
        assertThat(ctx.arm64MmContextGet(l.get(250))).isZero();
        ctx.arm64MmContextPut(l.get(0));
        assertThat(ctx.nrPinnedAsids()).isEqualTo(249);
        assertThat(ctx.arm64MmContextGet(l.get(250))).isNotZero();
        // Switching still works with 250 pinned: rollovers find free ASIDs.
        for (Mm m : mms(w, 20)) {
            w.cpu(0).switchMm(m);
            assertThat(m.asid()).isNotZero();
        }
        w.cpu(0).switchToIdle();
    }

    @Test
    void withoutPinningSupportGetReturnsZero() {
        MmWorld w = MmTestSupport.world(MmWorld.Config.defaults().withPinning(false));
        Mm m = w.mmAlloc();
        assertThat(w.context.arm64MmContextGet(m)).isZero();
        w.context.arm64MmContextPut(m); // no-op
        assertThat(m.context.pinned.refcountRead()).isZero();
    }

    @Test
    void kptiHandsOutUserAsidsWithBit0Set() {
        MmWorld w = MmTestSupport.world(MmWorld.Config.defaults().withAsidBits(8).withKpti(true));
        Mm a = w.mmAlloc();
        Mm b = w.mmAlloc();
        long pa = w.context.arm64MmContextGet(a);
        assertThat(pa & 1).isEqualTo(1);
        w.cpu(0).switchMm(b);
        assertThat(b.asid() & 1).isZero(); // kernel ASID even
        assertThat(w.cpu(0).asid()).isEqualTo(b.asid() | 1);
        assertThat(w.context.maxPinnedAsids()).isEqualTo(128 - 4 - 2);
        w.cpu(0).switchToIdle();
    }

    @Test
    void concurrentSwitchAndPinKeepsPinnedAsidsStableAndCpusConsistent() throws Exception {
        int nCpus = 4;
        MmWorld w = world8(nCpus);
        ArmContext ctx = w.context;
        List<Mm> pool = mms(w, 400);
        List<Mm> pinnedForever = pool.subList(0, 10);
        Map<Mm, Long> pinnedAsid = new HashMap<>();
        for (Mm m : pinnedForever) {
            pinnedAsid.put(m, ctx.arm64MmContextGet(m));
        }
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        CyclicBarrier start = new CyclicBarrier(nCpus + 1);
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < nCpus; c++) {
            final int id = c;
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    Cpu cpu = w.cpu(id);
                    java.util.Random r = new java.util.Random(id);
                    for (int i = 0; i < 3000; i++) {
                        Mm m = pool.get(r.nextInt(pool.size()));
                        if (id == 0 && i % 7 == 0) {
                            Mm p = pool.get(10 + r.nextInt(pool.size() - 10));
                            long a = ctx.arm64MmContextGet(p);
                            if (a != 0 && a != p.asid()) {
                                errors.add("pin returned " + a + " but mm has " + p.asid());
                            }
                            if (a != 0) {
                                ctx.arm64MmContextPut(p);
                            }
                        }
                        cpu.switchMm(m);
                        if (cpu.asid() != (m.context.id.get() & 0xff)) {
                            errors.add("cpu " + id + " runs asid " + cpu.asid() + " for ctx " + m.context.id.get());
                        }
                        Long pa = pinnedAsid.get(m);
                        if (pa != null && pa != cpu.asid()) {
                            errors.add("pinned mm moved from " + pa + " to " + cpu.asid());
                        }
                    }
                    cpu.switchToIdle();
                } catch (Exception e) {
                    errors.add(e.toString());
                }
            });
            threads.add(t);
            t.start();
        }
        start.await();
        for (Thread t : threads) {
            t.join();
        }
        assertThat(errors).isEmpty();
        assertThat(ctx.rollovers()).isPositive();
        assertThat(ctx.nrPinnedAsids()).isEqualTo(10);
        for (Mm m : pinnedForever) {
            assertThat(ctx.asidPinned(pinnedAsid.get(m))).isTrue();
            assertThat((long) m.asid()).isEqualTo(pinnedAsid.get(m));
        }
    }
}
