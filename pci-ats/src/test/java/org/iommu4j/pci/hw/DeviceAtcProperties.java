package org.iommu4j.pci.hw;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.iommu4j.base.hw.AtcInvalidation;

/** The ATC against a list-of-ranges reference: what an invalidation drops, and only that. */
class DeviceAtcProperties {
    record Entry(int pasid, long base, long size) {
        boolean covers(int p, long iova) {
            return p == pasid && Long.compareUnsigned(iova - base, size) < 0;
        }
    }

    record Op(boolean insert, int pasid, long addr, long size, boolean pasidValid, boolean global) {}

    @Provide
    Arbitrary<List<Op>> ops() {
        return op().list().ofMaxSize(40);
    }

    Arbitrary<Op> op() {
        Arbitrary<Integer> pasid = Arbitraries.of(-1, 0, 1, 7);
        Arbitrary<Long> page = Arbitraries.longs().between(0, 63).map(p -> p << 12);
        Arbitrary<Long> size = Arbitraries.of(0x1000L, 0x4000L, 0x20_0000L, 0L);
        return Combinators.combine(Arbitraries.integers().between(0, 3), pasid, page, size,
                Arbitraries.of(true, false), Arbitraries.of(true, false))
                .as((k, p, a, s, pv, g) -> new Op(k != 0, p, a, s, pv, g));
    }

    @Property(tries = 200, seed = "20261203")
    void invalidationDropsExactlyTheCoveredEntries(@ForAll("ops") List<Op> ops) {
        DeviceAtc atc = new DeviceAtc(64);
        List<Entry> ref = new ArrayList<>();
        for (Op op : ops) {
            if (op.insert()) {
                long size = op.size() == 0 ? 0x1000 : op.size();
                long base = op.addr() & -size;
                ref.removeIf(e -> e.pasid() == op.pasid() && e.base() == base);
                ref.add(new Entry(op.pasid(), base, size));
                atc.insert(op.pasid(), base, size, 0x4000_0000L + base, 3);
            } else {
                AtcInvalidation inv = new AtcInvalidation(0, op.pasid(), op.pasidValid(), op.addr(), op.size(), op.global());
                int before = ref.size();
                ref.removeIf(e -> (!inv.pasidValid() || e.pasid() == inv.pasid()) // Global ignored
                        && (inv.all() || (Long.compareUnsigned(e.base(), inv.addr() + inv.size() - 1) <= 0
                        && Long.compareUnsigned(inv.addr(), e.base() + e.size() - 1) <= 0)));
                assertThat(atc.invalidate(inv)).isEqualTo(before - ref.size());
            }
            assertThat(atc.validEntries()).isEqualTo(ref.size());
        }
        for (int p : new int[] {-1, 0, 1, 7}) {
            for (long iova = 0; iova < 0x40_0000L; iova += 0x1000) {
                final long a = iova;
                boolean want = ref.stream().anyMatch(e -> e.covers(p, a));
                assertThat(atc.lookup(p, iova) >= 0).as("pasid %d iova 0x%x", p, iova).isEqualTo(want);
            }
        }
    }
}
