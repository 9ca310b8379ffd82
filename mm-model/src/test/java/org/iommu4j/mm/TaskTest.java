package org.iommu4j.mm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import org.iommu4j.base.Bits;
import org.iommu4j.base.Errno;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class TaskTest {
    @Test
    void uaccessReturnsErrnosAndByteCountsNeverExceptions() {
        MmWorld w = MmTestSupport.world();
        long baseline = w.pages.allocatedPages();
        Task t = new Task(w.mmAlloc()).runOn(w.cpu(3));
        long va = MmTestSupport.mmapAnon(t.mm, 2 * 4096, PROT_READ | PROT_WRITE);
        long[] v = new long[1];
        assertThat(t.putUser(0xdead, va, 4)).isZero();
        assertThat(t.getUser(va, 4, v)).isZero();
        assertThat(v[0]).isEqualTo(0xdead);
        assertThat(t.getUser(0x1000, 8, v)).isEqualTo(-Errno.EFAULT);
        assertThat(v[0]).isZero();
        assertThat(t.putUser(1, 0x1000, 8)).isEqualTo(-Errno.EFAULT);
        byte[] msg = "hello, smmu".getBytes();
        // Copy across the end of the mapping: the tail is not copied.
        long end = va + 2 * 4096;
        assertThat(t.copyToUser(end - 5, msg, 0, msg.length)).isEqualTo(msg.length - 5);
        byte[] back = new byte[msg.length];
        assertThat(t.copyFromUser(back, 0, end - 5, msg.length)).isEqualTo(msg.length - 5);
        assertThat(new String(back, 0, 5)).isEqualTo("hello");
        assertThat(back[6]).isZero();
        t.runOn(w.cpu(2));
        assertThat(t.getUser(va, 4, v)).isZero();
        t.exit();
        assertThat(w.pages.allocatedPages()).isEqualTo(baseline);
    }

    /** The build-time checks of bitfield.h for every mask of the constants classes. */
    @Test
    void everyMaskIsNonZeroAndContiguous() throws Exception {
        int n = 0;
        for (Class<?> c : new Class<?>[] {PgtableH.class, MmH.class}) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) && f.getType() == long.class && f.getName().endsWith("_MASK")) {
                    long m = f.getLong(null);
                    assertThat(Bits.checkMask(m)).as(f.getName()).isTrue();
                    n++;
                }
            }
        }
        assertThat(n).isGreaterThan(10);
        assertThat(PgtableH.MAIR_EL1_SET).isEqualTo(0x000000040044f0ffL);
    }

    /**
     * mmget_not_zero from several threads at once: each exchange that loses the race retries
     * with the count it finds, so none spins forever on a stale value, and every reference is
     * counted.
     */
    @Test
    void mmgetNotZeroFromManyThreadsCountsEveryReference() throws Exception {
        Mm mm = MmTestSupport.world().mmAlloc();
        int threads = 4, rounds = 200_000;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads, r -> {
            Thread th = new Thread(r, "mmget");
            th.setDaemon(true); // a thread spinning on a stale count must not keep the JVM up
            return th;
        });
        try {
            java.util.List<java.util.concurrent.Future<?>> fs = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < rounds; i++) {
                        assertThat(mm.mmgetNotZero()).isTrue();
                        if ((i & 1) == 0) {
                            mm.mmput();
                        }
                    }
                }));
            }
            for (java.util.concurrent.Future<?> f : fs) {
                f.get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(mm.mmUsers.get()).isEqualTo(1 + threads * rounds / 2);
    }
}
