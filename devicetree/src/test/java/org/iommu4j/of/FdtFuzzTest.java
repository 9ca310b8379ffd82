package org.iommu4j.of;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.device.Resource;

/**
 * Mutated blobs (bit flips, truncation, splices, header field rewrites, inserted and deleted
 * words) either parse — and then every API used on them returns normally — or fail with a
 * DeviceTreeException naming an offset. Never another exception, an OOM or a hang.
 */
class FdtFuzzTest {
    private static byte[][] seeds;

    @BeforeContainer
    static void load() {
        seeds = new byte[][] {Fixtures.qemuDtb(), Fixtures.bytes("fixtures/smmu-bindings.dtb"),
            Fixtures.bytes("fixtures/syntax.dtb")};
    }

    static byte[] mutate(long seed) {
        Random rnd = new Random(seed);
        byte[] base = seeds[rnd.nextInt(seeds.length)];
        byte[] b = base.clone();
        int ops = 1 + rnd.nextInt(3);
        for (int op = 0; op < ops && b.length > 0; op++) {
            switch (rnd.nextInt(7)) {
                case 0 -> { // bit flips
                    int n = 1 + rnd.nextInt(8);
                    for (int i = 0; i < n; i++) {
                        b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                    }
                }
                case 1 -> b = Arrays.copyOf(b, rnd.nextInt(b.length + 1)); // truncation
                case 2 -> { // splice: a chunk of some seed over a random place
                    byte[] src = seeds[rnd.nextInt(seeds.length)];
                    int len = 1 + rnd.nextInt(Math.min(256, src.length));
                    int from = rnd.nextInt(src.length - len + 1);
                    int to = rnd.nextInt(b.length);
                    System.arraycopy(src, from, b, to, Math.min(len, b.length - to));
                }
                case 3 -> { // header field rewrite with an interesting value
                    int field = 4 * (1 + rnd.nextInt(9));
                    int[] vals = {0, -1, 0x7fffffff, 0x80000000, b.length, b.length + 4, rnd.nextInt(), 17, 16, 0x28};
                    if (field + 4 <= b.length) {
                        Be.put32(b, field, vals[rnd.nextInt(vals.length)]);
                    }
                }
                case 4 -> { // token-aligned word rewrite in the struct block
                    int off = (rnd.nextInt(Math.max(1, b.length / 4))) * 4;
                    int[] toks = {1, 2, 3, 4, 9, 0, -1, 0x7fffffff, rnd.nextInt(64)};
                    if (off + 4 <= b.length) {
                        Be.put32(b, off, toks[rnd.nextInt(toks.length)]);
                    }
                }
                case 5 -> { // insert a word (shifts everything after it)
                    int at = rnd.nextInt(b.length / 4 + 1) * 4;
                    byte[] n = new byte[b.length + 4];
                    System.arraycopy(b, 0, n, 0, at);
                    Be.put32(n, at, rnd.nextInt(10));
                    System.arraycopy(b, at, n, at + 4, b.length - at);
                    b = n;
                }
                default -> { // delete a word
                    if (b.length >= 4) {
                        int at = rnd.nextInt(b.length / 4) * 4;
                        byte[] n = new byte[b.length - 4];
                        System.arraycopy(b, 0, n, 0, at);
                        System.arraycopy(b, at + 4, n, at, b.length - at - 4);
                        b = n;
                    }
                }
            }
        }
        return b;
    }

    /** Uses a parsed (possibly strange) tree the way the platform and of_iommu do. */
    static void exercise(Fdt f) {
        Of of = new Of(f.root());
        List<PlatformDevice> devs = new ArrayList<>();
        OfPlatform.ofPlatformDefaultPopulate(f.root(), null, devs);
        OfPhandleArgs a = new OfPhandleArgs();
        Resource[] r = new Resource[1];
        int[] id = new int[1];
        String[] s = new String[1];
        for (DeviceNode n : of.allnodes()) {
            for (int i = 0; i < 3; i++) {
                Of.ofParsePhandleWithArgs(n, "iommus", "#iommu-cells", i, a);
                Of.ofParsePhandleWithArgs(n, "msi-parent", "#msi-cells", i, a);
                Of.ofAddressToResource(n, i, r);
                OfIrq.ofIrqGet(n, i);
                Of.ofPropertyReadStringIndex(n, "compatible", i, s);
            }
            OfIrq.ofIrqGetByname(n, "eventq");
            DeviceNode[] t = new DeviceNode[1];
            Of.ofMapId(n, 0x8, "iommu-map", "iommu-map-mask", t, id);
            Of.ofMapId(n, 0x10, "msi-map", "msi-map-mask", null, id);
            Of.ofNAddrCells(n);
            Of.ofDmaIsCoherent(n);
        }
        of.ofFindNodeByPath("/smmuv3@9050000");
        of.ofFindNodeByPath("serial0");
        Fdt back = Fdt.parse(f.toBytes());
        assertThat(back.root().sameTree(f.root())).isTrue();
    }

    @Property(tries = 5000, seed = "20261203")
    void mutatedBlobsFailCleanly(@ForAll long seed) {
        byte[] b = mutate(seed);
        try {
            exercise(Fdt.parse(b));
        } catch (DeviceTreeException e) {
            assertThat(e.getMessage()).startsWith("at offset 0x");
            assertThat(e.offset()).isBetween(0L, (long) b.length);
        }
        Warn.drain();
    }

    @net.jqwik.api.Example
    void mutationsReallyBreakBlobs() {
        int failed = 0;
        int parsed = 0;
        Printk.class.getName();
        for (long seed = 0; seed < 500; seed++) {
            try {
                Fdt.parse(mutate(seed));
                parsed++;
            } catch (DeviceTreeException e) {
                failed++;
            }
        }
        assertThat(failed).isGreaterThan(100);
        assertThat(parsed).isGreaterThan(10);
    }
}
