package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Sizes.SZ_4K;
import static org.iommu4j.iommu.IommuH.IOMMU_READ;
import static org.iommu4j.iommu.IommuH.IOMMU_WRITE;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Concurrent iommu_map/iommu_unmap of disjoint ranges that share intermediate tables: the
 * lock-free table installation (cmpxchg, loser frees its table) must give every thread its
 * translations and leak no table page.
 */
@ExtendWith(NoWarnings.class)
class IommuConcurrencyTest {
    @Test
    void disjointMapsRaceOnSharedTables() throws Exception {
        World w = new World();
        w.iommu.busSetIommu(w.bus, w.mock);
        long base = w.pageAlloc.allocatedPages();
        IommuDomain dom = w.iommu.iommuDomainAlloc(w.bus);
        final int threads = 4;
        final int rounds = 30;
        CyclicBarrier barrier = new CyclicBarrier(threads);
        AtomicInteger errors = new AtomicInteger();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final int id = t;
            Thread th = new Thread(() -> {
                try {
                    for (int r = 0; r < rounds; r++) {
                        barrier.await();
                        // Each round uses a fresh 1G region so tables get installed concurrently.
                        long iova = ((long) r << 30) + id * 0x200000L + id * SZ_4K;
                        long pa = 0x40000000L + id * SZ_4K;
                        if (Iommu.iommuMap(dom, iova, pa, SZ_4K, IOMMU_READ | IOMMU_WRITE) != 0
                                || Iommu.iommuIovaToPhys(dom, iova + 5) != pa + 5) {
                            errors.incrementAndGet();
                        }
                        if (r % 2 == 1 && Iommu.iommuUnmap(dom, iova, SZ_4K) != SZ_4K) {
                            errors.incrementAndGet();
                        }
                    }
                } catch (Exception e) {
                    errors.incrementAndGet();
                }
            });
            ts.add(th);
            th.start();
        }
        for (Thread th : ts) {
            th.join();
        }
        assertThat(errors.get()).isZero();
        for (int r = 0; r < rounds; r += 2) {
            for (int id = 0; id < threads; id++) {
                long iova = ((long) r << 30) + id * 0x200000L + id * SZ_4K;
                assertThat(Iommu.iommuIovaToPhys(dom, iova)).isEqualTo(0x40000000L + id * SZ_4K);
            }
        }
        w.iommu.iommuDomainFree(dom);
        assertThat(w.pageAlloc.allocatedPages()).isEqualTo(base);
    }
}
