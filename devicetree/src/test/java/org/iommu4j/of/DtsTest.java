package org.iommu4j.of;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The DTS reader against blobs compiled by dtc 1.6.1 (committed fixtures). */
@ExtendWith(NoWarnings.class)
class DtsTest {
    @ParameterizedTest
    @ValueSource(strings = {"fixtures/syntax", "fixtures/smmu-bindings", "virt-smmuv3"})
    void sourceParsesToTheTreeDtcCompiled(String base) {
        Fdt fromDts = Dts.parse(Fixtures.text(base + ".dts"));
        Fdt fromDtb = Fdt.parse(Fixtures.bytes(base + ".dtb"));
        assertThat(Dts.format(fromDts)).isEqualTo(Dts.format(fromDtb));
        assertThat(fromDts.root().sameTree(fromDtb.root())).isTrue();
        assertThat(fromDts.memreserve()).isEqualTo(fromDtb.memreserve());
        // and our blob of the source reads back to dtc's tree
        assertThat(Fdt.parse(fromDts.toBytes()).root().sameTree(fromDtb.root())).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"fixtures/syntax", "fixtures/smmu-bindings"})
    void writerOutputIsByteIdenticalToDtc(String base) {
        assertThat(Dts.parse(Fixtures.text(base + ".dts")).toBytes()).isEqualTo(Fixtures.bytes(base + ".dtb"));
    }

    @Test
    void syntaxValues() {
        DeviceNode r = Dts.parse(Fixtures.text("fixtures/syntax.dts")).root();
        assertThat(r.findProperty("model").value()).isEqualTo("syntax \"test\"\tAA\0".getBytes());
        assertThat(r.findProperty("bytes").value()).isEqualTo(new byte[] {0, 1, (byte) 0xfe, (byte) 0xff});
        Property cells = r.findProperty("cells");
        assertThat(cells.cellCount()).isEqualTo(7);
        assertThat(cells.cell(1)).isEqualTo(20);
        assertThat(cells.cell(2)).isEqualTo(030);
        assertThat(cells.cell(3)).isEqualTo('A');
        assertThat(cells.cell(4)).isEqualTo(0x13);
        assertThat(cells.cell(5)).isEqualTo(4);
        assertThat(cells.cell(6)).isEqualTo(0xff);
        long[] w = new long[1];
        assertThat(Of.ofPropertyReadU64(r, "wide", w)).isZero();
        assertThat(w[0]).isEqualTo(0x123456789abcdef0L);
        assertThat(r.findProperty("tiny").value()).isEqualTo(new byte[] {1, 2, 3});
        assertThat(new String(r.findProperty("ref-path").value())).isEqualTo("/node@1\0");
        DeviceNode n1 = r.child("node@1");
        assertThat(n1.findProperty("value").cell(0)).isEqualTo(2); // &l1 override
        assertThat(n1.findProperty("extra")).isNull(); // /delete-property/
        assertThat(n1.child("deleted")).isNull(); // /delete-node/
        assertThat(n1.child("child").findProperty("y")).isNotNull(); // merged child
        Property refs = r.findProperty("ref-cells");
        assertThat(refs.cell(0)).isEqualTo(n1.phandle);
        assertThat(refs.cell(2)).isEqualTo(0x10); // explicit phandle kept
        assertThat(n1.phandle).isEqualTo(1);
        assertThat(r.child("node@2").phandle).isEqualTo(2);
    }

    /** Found by the DTS fuzz test: a redefined or deleted property drops the old value's references. */
    @Test
    void redefinedPropertiesForgetTheirOldReferences() {
        DeviceNode r = Dts.parse("/dts-v1/;\n/ {\n\tt: t { };\n\tp = <&t 1 &t>;\n\tp;\n"
                + "\tq = &t;\n\tq = <7>;\n\tz = <&t>;\n\t/delete-property/ z;\n};\n").root();
        assertThat(r.findProperty("p").length()).isZero();
        assertThat(r.findProperty("q").cell(0)).isEqualTo(7);
        assertThat(r.findProperty("z")).isNull();
        // nothing referenced t in the end: it gets no phandle
        assertThat(r.child("t").findProperty("phandle")).isNull();
    }

    @Test
    void formatParsesBack() {
        Fdt q = Fdt.parse(Fixtures.qemuDtb());
        Fdt back = Dts.parse(Dts.format(q));
        assertThat(back.root().sameTree(q.root())).isTrue();
    }

    @Test
    void errorsNameLineAndColumn() {
        assertThatThrownBy(() -> Dts.parse("/ { };")).isInstanceOf(DeviceTreeException.class)
                .hasMessageContaining("line 1:1").hasMessageContaining("/dts-v1/");
        assertThatThrownBy(() -> Dts.parse("/dts-v1/;\n/ {\n\tp = <&nowhere>;\n};\n"))
                .hasMessageContaining("line 3:7").hasMessageContaining("undefined node nowhere");
        assertThatThrownBy(() -> Dts.parse("/dts-v1/;\n/ { s = \"abc; };"))
                .hasMessageContaining("line 2").hasMessageContaining("unterminated string");
        assertThatThrownBy(() -> Dts.parse("/dts-v1/;\n/ { v = <0xzz>; };"))
                .hasMessageContaining("bad number \"0xzz\"");
        assertThatThrownBy(() -> Dts.parse("/dts-v1/;\n/ { v = <1 >; w = <-")).isInstanceOf(DeviceTreeException.class);
        assertThatThrownBy(() -> Dts.parse("/dts-v1/;\n/ { v = <(>; };")).isInstanceOf(DeviceTreeException.class)
                .hasMessageContaining("bad number \"\"");
        assertThatThrownBy(() -> Dts.parse("/dts-v1/;\n/ { v = /bits/ 8 <256>; };"))
                .hasMessageContaining("does not fit in 8 bits");
        assertThatThrownBy(() -> Dts.parse("/dts-v1/;\n/ { v = <1> };"))
                .hasMessageContaining("expected ',' or ';'");
        assertThatThrownBy(() -> Dts.parse("/dts-v1/;\n/ { n { };"))
                .hasMessageContaining("unexpected end of input");
        assertThatThrownBy(() -> Dts.parse("/dts-v1/;\n&x { };"))
                .hasMessageContaining("undefined node x");
        assertThatThrownBy(() -> Dts.parse("/dts-v1/;")).hasMessageContaining("no root node");
        assertThatThrownBy(() -> Dts.parse("/dts-v1/;\n/ { v = [0g]; };")).hasMessageContaining("bad byte");
        assertThatThrownBy(() -> Dts.parse("/dts-v1/;\n/* open")).hasMessageContaining("unterminated comment");
    }
}
