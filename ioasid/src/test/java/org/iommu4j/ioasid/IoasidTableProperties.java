package org.iommu4j.ioasid;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** IoasidTable against a TreeSet model (jqwik; no JUnit extensions here). */
class IoasidTableProperties {
    /** Against a TreeSet model: findFree is the lowest absent index in range. */
    @Property(tries = 200, seed = "20261203")
    void findFreeMatchesModel(@ForAll @IntRange(min = 0, max = 9000) int lo,
                              @ForAll @IntRange(min = 0, max = 400) int span,
                              @ForAll("ops") int[] script) {
        IoasidTable t = new IoasidTable();
        TreeSet<Long> model = new TreeSet<>();
        for (int op : script) {
            long id = op & 0x3FFF;
            if (op < 0) {
                assertThat(t.erase((int) id) != null).isEqualTo(model.remove(id));
            } else {
                long f = t.findFree(id, id + 64);
                long expect = -1;
                for (long i = id; i <= id + 64; i++) {
                    if (!model.contains(i)) {
                        expect = i;
                        break;
                    }
                }
                assertThat(f).isEqualTo(expect);
                if (f >= 0) {
                    assertThat(t.insert((int) f, f)).isZero();
                    model.add(f);
                }
            }
        }
        long f = t.findFree(lo, lo + span);
        long expect = -1;
        for (long i = lo; i <= lo + span; i++) {
            if (!model.contains(i)) {
                expect = i;
                break;
            }
        }
        assertThat(f).isEqualTo(expect);
        assertThat(t.count()).isEqualTo(model.size());
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<int[]> ops() {
        return net.jqwik.api.Arbitraries.integers().between(-0x4000, 0x3FFF).array(int[].class).ofMaxSize(300);
    }
}
