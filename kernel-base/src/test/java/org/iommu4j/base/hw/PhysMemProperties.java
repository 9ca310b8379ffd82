package org.iommu4j.base.hw;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.BitSet;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/** Random writes of every width and alignment, then reads, against a plain byte[] model. */
class PhysMemProperties {
    static final long BASE = 0x4000_0000L;
    static final int FRAMES = 4;
    static final int LEN = FRAMES * PhysMem.FRAME_SIZE;

    /** One write: kind 0..4 = b/w/l/q/bulk at offset with value (bulk: length from value). */
    record Op(int kind, int off, long value) {}

    @Provide
    Arbitrary<Op> ops() {
        return Combinators.combine(Arbitraries.integers().between(0, 4), Arbitraries.integers().between(0, LEN - 1),
                Arbitraries.longs()).as(Op::new);
    }

    @Property(tries = 200, seed = "20261203")
    void randomWritesThenReadsMatchAByteArrayModel(@ForAll @Size(max = 60) List<@From("ops") Op> ops,
            @ForAll @Size(min = 1, max = 20) List<@net.jqwik.api.constraints.IntRange(min = 0, max = LEN - 8) Integer> probes) {
        PhysMem mem = new PhysMem(BASE, LEN);
        byte[] model = new byte[LEN];
        BitSet touched = new BitSet();
        for (Op op : ops) {
            int size = switch (op.kind()) {
                case 0 -> 1;
                case 1 -> 2;
                case 2 -> 4;
                case 3 -> 8;
                default -> (int) Long.remainderUnsigned(op.value(), 300) + 1;
            };
            int off = Math.min(op.off(), LEN - size);
            long pa = BASE + off;
            if (op.kind() < 4) {
                mem.write(pa, op.value(), size);
                for (int i = 0; i < size; i++) {
                    model[off + i] = (byte) (op.value() >>> (8 * i));
                }
            } else {
                byte[] src = new byte[size];
                for (int i = 0; i < size; i++) {
                    src[i] = (byte) (op.value() * (i + 1));
                }
                mem.write(pa, src);
                System.arraycopy(src, 0, model, off, size);
            }
            touched.set(off / PhysMem.FRAME_SIZE, (off + size - 1) / PhysMem.FRAME_SIZE + 1);
        }
        assertThat(mem.readBytes(BASE, LEN)).isEqualTo(model);
        assertThat(mem.touchedFrames()).isEqualTo(touched.cardinality());
        for (int p : probes) {
            long expect = 0;
            for (int i = 7; i >= 0; i--) {
                expect = (expect << 8) | (model[p + i] & 0xff);
            }
            assertThat(mem.readq(BASE + p)).isEqualTo(expect);
            assertThat(mem.readl(BASE + p)).isEqualTo((int) expect);
            assertThat(mem.readw(BASE + p)).isEqualTo((int) (expect & 0xffff));
            assertThat(mem.readb(BASE + p)).isEqualTo((int) (expect & 0xff));
        }
    }
}
