package org.iommu4j.of;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/** Mutated DTS sources parse or fail with a DeviceTreeException naming line:column. */
class DtsFuzzTest {
    private static final String[] SOURCES = {Fixtures.text("fixtures/syntax.dts"),
        Fixtures.text("fixtures/smmu-bindings.dts")};
    private static final String NOISE = "{}<>[]();:&/\"'\\,=#@x0 \n(((((-~";

    static String mutate(long seed) {
        Random rnd = new Random(seed);
        StringBuilder sb = new StringBuilder(SOURCES[rnd.nextInt(SOURCES.length)]);
        int ops = 1 + rnd.nextInt(4);
        for (int i = 0; i < ops && sb.length() > 0; i++) {
            int at = rnd.nextInt(sb.length());
            switch (rnd.nextInt(4)) {
                case 0 -> sb.setLength(at);
                case 1 -> sb.setCharAt(at, NOISE.charAt(rnd.nextInt(NOISE.length())));
                case 2 -> sb.deleteCharAt(at);
                default -> sb.insert(at, NOISE.charAt(rnd.nextInt(NOISE.length())));
            }
        }
        return sb.toString();
    }

    @Property(tries = 3000, seed = "20261203")
    void mutatedSourcesFailCleanly(@ForAll long seed) {
        String src = mutate(seed);
        try {
            Fdt f = Dts.parse(src);
            assertThat(Fdt.parse(f.toBytes()).root().sameTree(f.root())).isTrue();
        } catch (DeviceTreeException e) {
            assertThat(e.getMessage()).startsWith("at line ");
        }
    }

    @net.jqwik.api.Example
    void deepNestingIsAnError() {
        String deep = "/dts-v1/;\n/ {" + "n {".repeat(100) + "};".repeat(101);
        try {
            Dts.parse(deep);
            throw new AssertionError("accepted");
        } catch (DeviceTreeException e) {
            assertThat(e.getMessage()).contains("nested deeper");
        }
        String expr = "/dts-v1/;\n/ { v = <" + "(".repeat(5000) + "1" + ")".repeat(5000) + ">; };";
        try {
            Dts.parse(expr);
            throw new AssertionError("accepted");
        } catch (DeviceTreeException e) {
            assertThat(e.getMessage()).contains("nested too deeply");
        }
    }
}
