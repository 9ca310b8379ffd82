package org.iommu4j.mm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.mm.MmH.MMU_NOTIFY_CLEAR;
import static org.iommu4j.mm.MmH.MMU_NOTIFY_PROTECTION_VMA;
import static org.iommu4j.mm.MmH.MMU_NOTIFY_UNMAP;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.iommu4j.base.Errno;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class MmuNotifierTest {
    record Call(String what, long start, long end, int event) {}

    /** A secondary MMU that records every callback. */
    static class Recorder extends MmuNotifier {
        final List<Call> calls = Collections.synchronizedList(new ArrayList<>());
        Object privdata;

        List<Call> of(String what) {
            synchronized (calls) {
                return calls.stream().filter(c -> c.what.equals(what)).toList();
            }
        }
    }

    static class RecOps implements MmuNotifierOps {
        final AtomicInteger allocs = new AtomicInteger();
        final AtomicInteger frees = new AtomicInteger();
        volatile Runnable onStart;

        @Override
        public void release(MmuNotifier s, Mm mm) {
            ((Recorder) s).calls.add(new Call("release", 0, 0, -1));
        }

        @Override
        public boolean hasRelease() {
            return true;
        }

        @Override
        public int invalidateRangeStart(MmuNotifier s, MmuNotifierRange r) {
            Runnable h = onStart;
            if (h != null) {
                h.run();
            }
            ((Recorder) s).calls.add(new Call("start", r.start, r.end, r.event));
            return 0;
        }

        @Override
        public boolean hasInvalidateRangeStart() {
            return true;
        }

        @Override
        public void invalidateRangeEnd(MmuNotifier s, MmuNotifierRange r) {
            ((Recorder) s).calls.add(new Call("end", r.start, r.end, r.event));
        }

        @Override
        public boolean hasInvalidateRangeEnd() {
            return true;
        }

        @Override
        public void invalidateRange(MmuNotifier s, Mm mm, long start, long end) {
            ((Recorder) s).calls.add(new Call("range", start, end, -1));
        }

        @Override
        public boolean hasInvalidateRange() {
            return true;
        }

        @Override
        public MmuNotifier allocNotifier(Mm mm) {
            allocs.incrementAndGet();
            return new Recorder();
        }

        @Override
        public boolean hasAllocNotifier() {
            return true;
        }

        @Override
        public void freeNotifier(MmuNotifier s) {
            frees.incrementAndGet();
        }

        @Override
        public boolean hasFreeNotifier() {
            return true;
        }
    }

    private final MmWorld w = MmTestSupport.world();
    private final Mm mm = w.mmAlloc();
    private final Cpu cpu = w.cpu(0);

    private long touched(int pages) {
        long va = MmTestSupport.mmapAnon(mm, pages * 4096L, PROT_READ | PROT_WRITE);
        cpu.switchMm(mm);
        for (int i = 0; i < pages; i++) {
            cpu.str(va + i * 4096L, i);
        }
        return va;
    }

    private Recorder registered() {
        Recorder r = new Recorder();
        r.ops = new RecOps();
        assertThat(MmuNotifier.mmuNotifierRegister(r, mm)).isZero();
        return r;
    }

    @Test
    void munmapInvalidatesExactlyTheUnmappedRange() {
        long va = touched(8);
        Recorder r = registered();
        long s = va + 2 * 4096, e = va + 5 * 4096;
        assertThat(Mmap.vmMunmap(mm, s, 3 * 4096)).isZero();
        assertThat(r.of("start")).containsExactly(new Call("start", s, e, MMU_NOTIFY_UNMAP));
        assertThat(r.of("end")).containsExactly(new Call("end", s, e, MMU_NOTIFY_UNMAP));
        assertThat(r.of("range")).isNotEmpty().allMatch(c -> c.start == s && c.end == e);
        // Order: start, then the secondary invalidation(s), end before the final TLB-gather flush.
        assertThat(r.calls.get(0).what).isEqualTo("start");
        assertThat(r.of("release")).isEmpty();
        // Unmapping nothing calls nothing.
        r.calls.clear();
        assertThat(Mmap.vmMunmap(mm, s, 3 * 4096)).isZero();
        assertThat(r.calls).isEmpty();
        cpu.switchToIdle();
        MmuNotifier.mmuNotifierUnregister(r, mm);
    }

    @Test
    void mprotectInvalidatesItsRange() {
        long va = touched(4);
        Recorder r = registered();
        assertThat(Mmap.mprotect(mm, va + 4096, 2 * 4096, PROT_READ)).isZero();
        long s = va + 4096, e = va + 3 * 4096;
        assertThat(r.of("start")).containsExactly(new Call("start", s, e, MMU_NOTIFY_PROTECTION_VMA));
        assertThat(r.of("range")).containsExactly(new Call("range", s, e, -1));
        assertThat(r.of("end")).hasSize(1);
        cpu.switchToIdle();
        MmuNotifier.mmuNotifierUnregister(r, mm);
    }

    @Test
    void mprotectNotifiesFromTheFirstPopulatedPmdPerPudAndNotAtAllWithoutTables() throws Exception {
        cpu.switchMm(mm);
        long pmd = 2L << 20, pud = 1L << 30;
        // Untouched memory has no page table: nobody is told, no TLBI is sent.
        long fresh = Mmap.vmMmap(mm, 4 * pud, 4 * pmd, PROT_READ | PROT_WRITE, MmH.MAP_PRIVATE | MmH.MAP_ANONYMOUS | MmH.MAP_FIXED);
        Recorder r = registered();
        try (var cap = org.iommu4j.base.trace.Trace.capture("mm:tlbi")) {
            assertThat(Mmap.mprotect(mm, fresh, 4 * pmd, PROT_READ)).isZero();
            assertThat(cap.records()).isEmpty();
        }
        assertThat(r.calls).isEmpty();
        // Only the second PMD holds a PTE table: the range opens there.
        cpu.ldr(fresh + pmd + 8 * 4096);
        assertThat(Mmap.mprotect(mm, fresh + 4096, 4 * pmd - 4096, PROT_READ | PROT_WRITE)).isZero();
        assertThat(r.of("start")).containsExactly(new Call("start", fresh + pmd, fresh + 4 * pmd, MMU_NOTIFY_PROTECTION_VMA));
        assertThat(r.of("end")).hasSize(1);
        // A range across a PUD boundary gets one notification per PUD that has tables.
        long across = Mmap.vmMmap(mm, 6 * pud - pmd, 2 * pmd, PROT_READ | PROT_WRITE, MmH.MAP_PRIVATE | MmH.MAP_ANONYMOUS | MmH.MAP_FIXED);
        cpu.str(across, 1);
        cpu.str(across + pmd, 2);
        r.calls.clear();
        assertThat(Mmap.mprotect(mm, across, 2 * pmd, PROT_READ)).isZero();
        assertThat(r.of("start")).containsExactly(new Call("start", across, 6 * pud, MMU_NOTIFY_PROTECTION_VMA),
                new Call("start", 6 * pud, 6 * pud + pmd, MMU_NOTIFY_PROTECTION_VMA));
        assertThat(r.of("range")).containsExactly(new Call("range", across, 6 * pud, -1),
                new Call("range", 6 * pud, 6 * pud + pmd, -1));
        assertThatThrownBy(() -> cpu.str(across + pmd, 3)).isInstanceOf(Cpu.UserFault.class);
        cpu.switchToIdle();
        MmuNotifier.mmuNotifierUnregister(r, mm);
    }

    @Test
    void zeroPageCopyInvalidatesThePage() {
        long va = MmTestSupport.mmapAnon(mm, 4096, PROT_READ | PROT_WRITE);
        cpu.switchMm(mm);
        cpu.load(va, 8);
        Recorder r = registered();
        cpu.store(va + 16, 1, 8);
        assertThat(r.of("start")).containsExactly(new Call("start", va, va + 4096, MMU_NOTIFY_CLEAR));
        assertThat(r.of("range")).containsExactly(new Call("range", va, va + 4096, -1));
        assertThat(r.of("end")).hasSize(1);
        cpu.switchToIdle();
        MmuNotifier.mmuNotifierUnregister(r, mm);
    }

    /** A subscription that refuses to invalidate without blocking and has no end (as it must not). */
    static class RefusingOps implements MmuNotifierOps {
        final List<String> calls = Collections.synchronizedList(new ArrayList<>());

        @Override
        public int invalidateRangeStart(MmuNotifier s, MmuNotifierRange r) {
            calls.add(r.mmuNotifierRangeBlockable() ? "start" : "start nonblock");
            return r.mmuNotifierRangeBlockable() ? 0 : -Errno.EAGAIN;
        }

        @Override
        public boolean hasInvalidateRangeStart() {
            return true;
        }
    }

    @Test
    void nonblockStartThatOneSubscriptionRefusesEndsTheOthersThatStarted() {
        long va = MmTestSupport.mmapAnon(mm, 4096, PROT_READ);
        Recorder ok = registered(); // registered first: after the refusing one in the list (head insertion)
        MmuNotifier refusing = new MmuNotifier(new RefusingOps());
        assertThat(MmuNotifier.mmuNotifierRegister(refusing, mm)).isZero();
        Recorder okLater = registered(); // before the refusing one
        MmuNotifierRange range = MmuNotifierRange.of(MMU_NOTIFY_UNMAP, null, mm, va, va + 4096);

        assertThat(MmuNotifier.mmuNotifierInvalidateRangeStartNonblock(range)).isEqualTo(-Errno.EAGAIN);
        assertThat(range.mmuNotifierRangeBlockable()).isFalse();
        // Every start ran; each subscription whose start succeeded got its end, with no
        // secondary-TLB invalidate_range (that belongs to the caller's end, which it must skip).
        for (Recorder r : List.of(ok, okLater)) {
            assertThat(r.calls).containsExactly(new Call("start", va, va + 4096, MMU_NOTIFY_UNMAP),
                    new Call("end", va, va + 4096, MMU_NOTIFY_UNMAP));
        }
        assertThat(((RefusingOps) refusing.ops).calls).containsExactly("start nonblock");

        // Without a refusal the caller owns the end, as with the blocking form.
        MmuNotifier.mmuNotifierUnregister(refusing, mm);
        ok.calls.clear();
        okLater.calls.clear();
        assertThat(MmuNotifier.mmuNotifierInvalidateRangeStartNonblock(range)).isZero();
        assertThat(ok.calls).containsExactly(new Call("start", va, va + 4096, MMU_NOTIFY_UNMAP));
        MmuNotifier.mmuNotifierInvalidateRangeEnd(range);
        assertThat(ok.of("end")).hasSize(1);
        assertThat(okLater.of("end")).hasSize(1);
        MmuNotifier.mmuNotifierUnregister(ok, mm);
        MmuNotifier.mmuNotifierUnregister(okLater, mm);

        // An mm without notifiers: nothing to refuse.
        Mm bare = w.mmAlloc();
        assertThat(MmuNotifier.mmuNotifierInvalidateRangeStartNonblock(
                MmuNotifierRange.of(MMU_NOTIFY_UNMAP, null, bare, 0, 4096))).isZero();
        bare.mmput();
    }

    @Test
    void exitRunsReleaseOnceWhilePagesStillMappedAndNothingAfter() {
        long va = touched(2);
        cpu.switchToIdle();
        List<Long> pteAtRelease = new ArrayList<>();
        Recorder r = new Recorder();
        r.ops = new RecOps() {
            @Override
            public void release(MmuNotifier s, Mm m) {
                pteAtRelease.add(MmFault.pteOf(m, va));
                super.release(s, m);
            }
        };
        assertThat(MmuNotifier.mmuNotifierRegister(r, mm)).isZero();
        assertThat(mm.mmCount.get()).isEqualTo(2);
        mm.mmput();
        assertThat(mm.exited()).isTrue();
        assertThat(r.calls).containsExactly(new Call("release", 0, 0, -1));
        assertThat(pteAtRelease).hasSize(1).allMatch(p -> (p & 1) == 1);
        assertThat(mm.freed()).as("the notifier's mmgrab keeps the pgd").isFalse();
        // Unregister after exit: release is not run again; the last mm_count reference goes.
        MmuNotifier.mmuNotifierUnregister(r, mm);
        assertThat(r.of("release")).hasSize(1);
        assertThat(mm.freed()).isTrue();
    }

    @Test
    void unregisterRunsReleaseAndNoCallbackFollows() {
        long va = touched(2);
        Recorder r = registered();
        MmuNotifier.mmuNotifierUnregister(r, mm);
        assertThat(r.calls).containsExactly(new Call("release", 0, 0, -1));
        r.calls.clear();
        assertThat(Mmap.vmMunmap(mm, va, 8192)).isZero();
        assertThat(r.calls).isEmpty();
        assertThat(mm.mmCount.get()).isEqualTo(2); // the CPU's lazy reference + users
        cpu.switchToIdle();
    }

    @Test
    void unregisterWaitsForARunningCallback() throws Exception {
        long va = touched(2);
        cpu.switchToIdle();
        Recorder r = new Recorder();
        RecOps ops = new RecOps();
        r.ops = ops;
        assertThat(MmuNotifier.mmuNotifierRegister(r, mm)).isZero();
        CountDownLatch inCallback = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        ops.onStart = () -> {
            inCallback.countDown();
            try {
                letGo.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            order.add("callback done");
        };
        Thread unmapper = new Thread(() -> Mmap.vmMunmap(mm, va, 8192));
        unmapper.start();
        inCallback.await();
        Thread unreg = new Thread(() -> {
            MmuNotifier.mmuNotifierUnregister(r, mm);
            order.add("unregister returned");
        });
        unreg.start();
        // Wait until unregister is blocked in its grace period (the callback still runs).
        while (unreg.getState() != Thread.State.WAITING && unreg.getState() != Thread.State.BLOCKED) {
            Thread.onSpinWait();
        }
        assertThat(order).isEmpty();
        letGo.countDown();
        unreg.join();
        unmapper.join();
        assertThat(order).containsExactly("callback done", "unregister returned");
    }

    @Test
    void getSharesOneNotifierPerOpsAndMmAndPutFreesAfterGracePeriod() {
        RecOps ops = new RecOps();
        RecOps other = new RecOps();
        int count0 = mm.mmCount.get();
        MmuNotifier a = MmuNotifier.mmuNotifierGet(ops, mm);
        MmuNotifier b = MmuNotifier.mmuNotifierGet(ops, mm);
        MmuNotifier c = MmuNotifier.mmuNotifierGet(other, mm);
        assertThat(b).isSameAs(a);
        assertThat(c).isNotSameAs(a);
        assertThat(a.users()).isEqualTo(2);
        assertThat(a.mm).isSameAs(mm);
        assertThat(a.ops).isSameAs(ops);
        assertThat(ops.allocs.get()).isEqualTo(1);
        assertThat(mm.mmCount.get()).isEqualTo(count0 + 2);
        MmuNotifier.mmuNotifierPut(a);
        MmuNotifier.mmuNotifierSynchronize(w);
        assertThat(ops.frees.get()).isZero();
        long va = MmTestSupport.mmapAnon(mm, 4096, PROT_READ);
        MmuNotifier.mmuNotifierPut(b);
        // No new callback after put returned.
        assertThat(Mmap.vmMunmap(mm, va, 4096)).isZero();
        MmuNotifier.mmuNotifierSynchronize(w);
        assertThat(ops.frees.get()).isEqualTo(1);
        assertThat(((Recorder) a).calls).isEmpty();
        assertThat(mm.mmCount.get()).isEqualTo(count0 + 1);
        // A fresh get allocates again.
        MmuNotifier d = MmuNotifier.mmuNotifierGet(ops, mm);
        assertThat(d).isNotSameAs(a);
        assertThat(ops.allocs.get()).isEqualTo(2);
        MmuNotifier.mmuNotifierPut(d);
        MmuNotifier.mmuNotifierPut(c);
        MmuNotifier.mmuNotifierSynchronize(w);
        assertThat(mm.mmCount.get()).isEqualTo(count0);
    }

    @Test
    void seed004PassesPrivateDataToAllocNotifier() {
        RecOps ops = new RecOps() {
            @Override
            public MmuNotifier allocNotifier(Mm m, Object privdata) {
                Recorder r = new Recorder();
                r.privdata = privdata;
                return r;
            }
        };
        Object cookie = new Object();
        MmuNotifier n = MmuNotifier.mmuNotifierGet(ops, mm, cookie);
        assertThat(((Recorder) n).privdata).isSameAs(cookie);
        assertThat(MmuNotifier.mmuNotifierGet(ops, mm, "other")).isSameAs(n);
        MmuNotifier.mmuNotifierPut(n);
        MmuNotifier.mmuNotifierPut(n);
        MmuNotifier.mmuNotifierSynchronize(w);
    }

    @Test
    void errorsComeBackAsErrnos() {
        RecOps ops = new RecOps();
        MmuNotifier a = MmuNotifier.mmuNotifierGet(ops, mm);
        a.users = -1; // UINT_MAX
        assertThatThrownBy(() -> MmuNotifier.mmuNotifierGet(ops, mm)).isInstanceOf(ErrnoException.class)
                .satisfies(e -> assertThat(((ErrnoException) e).err()).isEqualTo(-Errno.EOVERFLOW));
        a.users = 1;
        MmuNotifier.mmuNotifierPut(a);
        MmuNotifier.mmuNotifierSynchronize(w);

        // alloc_notifier's ERR_PTR is passed through.
        RecOps failing = new RecOps() {
            @Override
            public MmuNotifier allocNotifier(Mm m) {
                throw new ErrnoException(Errno.ENOMEM);
            }
        };
        assertThatThrownBy(() -> MmuNotifier.mmuNotifierGet(failing, mm)).isInstanceOf(ErrnoException.class)
                .satisfies(e -> assertThat(((ErrnoException) e).err()).isEqualTo(-Errno.ENOMEM));

        // -ENOMEM allocating the subscription list (first registration on an mm): freed again.
        Mm fresh = w.mmAlloc();
        RecOps ops2 = new RecOps();
        FaultInject.failNth(1);
        assertThatThrownBy(() -> MmuNotifier.mmuNotifierGet(ops2, fresh)).isInstanceOf(ErrnoException.class)
                .satisfies(e -> assertThat(((ErrnoException) e).err()).isEqualTo(-Errno.ENOMEM));
        FaultInject.failNth(0);
        assertThat(ops2.frees.get()).isEqualTo(1);
        assertThat(fresh.mmCount.get()).isEqualTo(1);

        // -EINTR: a pending "fatal signal" (thread interrupt) while taking all locks.
        Recorder r = new Recorder();
        r.ops = new RecOps();
        Thread.currentThread().interrupt();
        int ret = MmuNotifier.mmuNotifierRegister(r, fresh);
        assertThat(Thread.interrupted()).isTrue();
        assertThat(ret).isEqualTo(-Errno.EINTR);
        assertThat(MmuNotifier.mmHasNotifiers(fresh)).isFalse();
        fresh.mmput();
        assertThat(fresh.freed()).isTrue();
    }
}
