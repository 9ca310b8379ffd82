package org.iommu4j.ioasid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.ioasid.Ioasid.INVALID_IOASID;
import static org.iommu4j.ioasid.Ioasid.IOASID_SET_TYPE_NULL;
import static org.iommu4j.ioasid.Ioasid.PCI_PASID_MAX;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.SplittableRandom;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The whole 20-bit space, and many threads against one quota. */
@ExtendWith(NoWarnings.class)
class IoasidStressTest {
    @Test
    void wholeTwentyBitSpaceInOneSetFreeAndReallocate() {
        Ioasid io = new Ioasid();
        int max = PCI_PASID_MAX - 1;
        IoasidSet s = io.ioasidSetAlloc(null, max, IOASID_SET_TYPE_NULL);
        for (int round = 0; round < 2; round++) {
            for (int want = 1; want <= max; want++) {
                int id = io.ioasidAlloc(s, 1, max, null);
                if (id != want) {
                    assertThat(id).as("allocation %d of round %d", want, round).isEqualTo(want);
                }
            }
            assertThat(s.nrIoasids()).isEqualTo(max);
            assertThat(io.ioasidAlloc(s, 1, max, null)).isEqualTo(INVALID_IOASID);
            // A hole in the middle of a full space is found again.
            io.ioasidFree(s, 777_777);
            assertThat(io.ioasidAlloc(s, 1, max, null)).isEqualTo(777_777);
            for (int id = 1; id <= max; id++) {
                io.ioasidFree(s, id);
            }
            assertThat(s.nrIoasids()).isZero();
            assertThat(io.ioasidCount()).isZero();
        }
    }

    @Test
    void threadsAllocatingAndFreeingAgainstOneQuota() throws Exception {
        Ioasid io = new Ioasid();
        final int quota = 64;
        final int threads = 4;
        final int iterations = 20_000;
        IoasidSet s = io.ioasidSetAlloc(null, quota, IOASID_SET_TYPE_NULL);
        // owner[id] = thread+1 holding it; a second owner means a duplicate ID.
        AtomicIntegerArray owner = new AtomicIntegerArray(1024);
        AtomicInteger live = new AtomicInteger();
        AtomicInteger maxLive = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        AtomicReference<Throwable> error = new AtomicReference<>();
        AtomicBoolean quotaSeen = new AtomicBoolean();
        CyclicBarrier start = new CyclicBarrier(threads);
        CountDownLatch done = new CountDownLatch(threads);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final int me = t + 1;
            Thread th = new Thread(() -> {
                try {
                    SplittableRandom rnd = new SplittableRandom(me);
                    List<Integer> mine = new ArrayList<>();
                    start.await();
                    for (int i = 0; i < iterations; i++) {
                        if (mine.isEmpty() || rnd.nextInt(3) != 0) {
                            int id = io.ioasidAlloc(s, 1, 1000, me);
                            if (id == INVALID_IOASID) {
                                failures.incrementAndGet();
                                quotaSeen.set(true);
                                continue;
                            }
                            if (!owner.compareAndSet(id, 0, me)) {
                                throw new AssertionError("IOASID " + id + " handed out twice");
                            }
                            int n = live.incrementAndGet();
                            maxLive.accumulateAndGet(n, Math::max);
                            if (!Integer.valueOf(me).equals(io.ioasidFind(s, id, null))) {
                                throw new AssertionError("wrong private for " + id);
                            }
                            mine.add(id);
                        } else {
                            int id = mine.remove(rnd.nextInt(mine.size()));
                            live.decrementAndGet();
                            owner.set(id, 0);
                            io.ioasidFree(s, id);
                        }
                    }
                    for (int id : mine) {
                        live.decrementAndGet();
                        owner.set(id, 0);
                        io.ioasidFree(s, id);
                    }
                } catch (Throwable e) {
                    error.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            });
            ts.add(th);
            th.start();
        }
        done.await();
        for (Thread th : ts) {
            th.join();
        }
        if (error.get() != null) {
            throw new AssertionError(error.get());
        }
        assertThat(maxLive.get()).isLessThanOrEqualTo(quota);
        assertThat(quotaSeen).isTrue();
        assertThat(s.nrIoasids()).isZero();
        assertThat(io.ioasidCount()).isZero();
        io.ioasidSetPut(s);
        assertThat(io.ioasidGetCapacityAvail()).isEqualTo(PCI_PASID_MAX);
    }

    @Test
    void lockFreeReadersSeeConsistentEntriesWhileWritersChurn() throws Exception {
        Ioasid io = new Ioasid();
        IoasidSet s = io.ioasidSetAlloc(null, 256, IOASID_SET_TYPE_NULL);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> error = new AtomicReference<>();
        CountDownLatch readerStarted = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            readerStarted.countDown();
            while (!stop.get()) {
                for (int id = 1; id <= 256; id++) {
                    try {
                        Object p = io.ioasidFind(s, id, null);
                        if (p != null && !(p instanceof Integer i && i == id)) {
                            error.compareAndSet(null, new AssertionError("id " + id + " has private " + p));
                        }
                    } catch (org.iommu4j.base.ErrnoException e) {
                        if (e.err() != -org.iommu4j.base.Errno.ENOENT) {
                            error.compareAndSet(null, e);
                        }
                    }
                }
            }
        });
        reader.start();
        readerStarted.await();
        for (int round = 0; round < 200; round++) {
            for (int i = 1; i <= 256; i++) {
                int id = io.ioasidAlloc(s, i, i, i);
                assertThat(id).isEqualTo(i);
            }
            for (int i = 1; i <= 256; i++) {
                io.ioasidFree(s, i);
            }
        }
        stop.set(true);
        reader.join();
        assertThat(error.get()).isNull();
    }
}
