package org.iommu4j.of;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class FdtTest {
    @Test
    void bundledBlobIsTheQemuFixture() {
        assertThat(Fdt.bundledVirtSmmuv3()).isEqualTo(Fixtures.qemuDtb());
    }

    @Test
    void readsQemuHeaderAndTree() {
        Fdt f = Fdt.parse(Fixtures.qemuDtb());
        DeviceNode root = f.root();
        assertThat(root.fullName).isEqualTo("/");
        assertThat(root.path()).isEqualTo("/");
        assertThat(new String(root.findProperty("model").value())).isEqualTo("linux,dummy-virt\0");
        DeviceNode smmu = root.child("smmuv3@9050000");
        assertThat(smmu).isNotNull();
        assertThat(smmu.name).isEqualTo("smmuv3");
        assertThat(smmu.path()).isEqualTo("/smmuv3@9050000");
        assertThat(smmu.phandle).isEqualTo(0x8004);
        assertThat(f.memreserve()).isEmpty();
    }

    @Test
    void roundTripQemuBlobIsIdentical() {
        Fdt a = Fdt.parse(Fixtures.qemuDtb());
        byte[] w1 = a.toBytes();
        Fdt b = Fdt.parse(w1);
        assertThat(b.root().sameTree(a.root())).isTrue();
        assertThat(b.memreserve()).isEqualTo(a.memreserve());
        assertThat(b.bootCpuidPhys()).isEqualTo(a.bootCpuidPhys());
        assertThat(b.toBytes()).isEqualTo(w1);
    }

    @Test
    void roundTripKeepsMemreserveAndBootCpu() {
        Fdt a = Fdt.parse(Fixtures.bytes("fixtures/smmu-bindings.dtb"));
        assertThat(a.memreserve()).containsExactly(new Fdt.MemReserve(0x48000000L, 0x100000L),
                new Fdt.MemReserve(0x49000000L, 0x2000L));
        Fdt c = new Fdt(a.root(), a.memreserve(), 3);
        Fdt b = Fdt.parse(c.toBytes());
        assertThat(b.memreserve()).isEqualTo(a.memreserve());
        assertThat(b.bootCpuidPhys()).isEqualTo(3);
        assertThat(b.root().sameTree(a.root())).isTrue();
    }

    @Test
    void writerLayoutMatchesSpec() {
        DeviceNode root = DeviceNode.root();
        root.setProperty(Property.ofCells("#address-cells", 2));
        root.addChild("a@1").setProperty(Property.ofStrings("compatible", "x,y"));
        byte[] b = Fdt.flatten(root);
        assertThat(Be.get32(b, 0)).isEqualTo(Fdt.FDT_MAGIC);
        assertThat(Be.get32(b, 4)).isEqualTo(b.length);
        assertThat(Be.get32(b, 16)).isEqualTo(0x28); // reservation map
        assertThat(Be.get32(b, 8)).isEqualTo(0x38); // struct after the (0,0) terminator
        assertThat(Be.get32(b, 20)).isEqualTo(17);
        assertThat(Be.get32(b, 24)).isEqualTo(16);
        assertThat(Be.get32(b, 0x38)).isEqualTo(Fdt.FDT_BEGIN_NODE);
        int strOff = Be.get32(b, 12);
        assertThat(new String(b, strOff, Be.get32(b, 32))).isEqualTo("#address-cells\0compatible\0");
        assertThat(Be.get32(b, strOff - 4)).isEqualTo(Fdt.FDT_END);
        DeviceNode back = Fdt.ofFdtUnflattenTree(b);
        assertThat(back.sameTree(root)).isTrue();
        assertThat(back.child("a@1").findProperty("compatible").value()).isEqualTo("x,y\0".getBytes());
    }

    @Test
    void readsDtcCompiledFixtures() {
        for (String f : List.of("fixtures/smmu-bindings.dtb", "fixtures/syntax.dtb")) {
            Fdt a = Fdt.parse(Fixtures.bytes(f));
            assertThat(Fdt.parse(a.toBytes()).root().sameTree(a.root())).as(f).isTrue();
        }
    }

    private static byte[] qemu() {
        return Fixtures.qemuDtb();
    }

    @Test
    void badMagic() {
        byte[] b = qemu();
        b[0] = 0;
        assertThatThrownBy(() -> Fdt.parse(b)).isInstanceOf(DeviceTreeException.class)
                .hasMessageContaining("offset 0x0").hasMessageContaining("bad magic");
    }

    @Test
    void truncatedBlob() {
        byte[] b = java.util.Arrays.copyOf(qemu(), 100);
        assertThatThrownBy(() -> Fdt.parse(b)).isInstanceOf(DeviceTreeException.class)
                .hasMessageContaining("totalsize");
        assertThatThrownBy(() -> Fdt.parse(new byte[10])).isInstanceOf(DeviceTreeException.class)
                .hasMessageContaining("shorter than");
        assertThatThrownBy(() -> Fdt.parse(null)).isInstanceOf(DeviceTreeException.class);
    }

    @Test
    void blocksOutOfRange() {
        byte[] b = qemu();
        Be.put32(b, 36, 0x7fffffff); // size_dt_struct
        assertThatThrownBy(() -> Fdt.parse(b)).isInstanceOf(DeviceTreeException.class)
                .hasMessageContaining("offset 0x24").hasMessageContaining("structure block");
        byte[] c = qemu();
        Be.put32(c, 12, 0xfffffff0); // off_dt_strings
        assertThatThrownBy(() -> Fdt.parse(c)).hasMessageContaining("strings block");
        byte[] d = qemu();
        Be.put32(d, 16, 0x29); // misaligned reservation map
        assertThatThrownBy(() -> Fdt.parse(d)).hasMessageContaining("aligned");
    }

    @Test
    void headerFieldsOutsideTheBlobOrOverlappingTheHeader() {
        byte[] q = qemu();
        int total = Be.get32(q, 4);
        int[][] cases = {
            {4, total + 1}, {4, 0x27}, {4, -1},           // totalsize past the buffer, inside the header, 4 GiB - 1
            {8, 0x10}, {8, total}, {8, 0x2a},             // struct block inside the header, at the end, misaligned
            {12, 0x0}, {12, total + 4}, {16, 0x20},       // strings inside the header or past the end; rsvmap over it
            {32, total}, {36, total}, {36, -4},           // block sizes past the end (also u32 wraparound)
        };
        for (int[] c : cases) {
            byte[] b = qemu();
            Be.put32(b, c[0], c[1]);
            assertThatThrownBy(() -> Fdt.parse(b)).as("header field 0x%x = 0x%x", c[0], c[1])
                    .isInstanceOf(DeviceTreeException.class).hasMessageStartingWith("at offset 0x");
        }
        // the header itself cut short, and a blob whose totalsize claims more than is there
        assertThatThrownBy(() -> Fdt.parse(java.util.Arrays.copyOf(q, 0x27))).hasMessageContaining("shorter than the 0x28-byte header");
        assertThatThrownBy(() -> Fdt.parse(java.util.Arrays.copyOf(q, total - 1))).hasMessageContaining("totalsize");
    }

    @Test
    void structureBlockEndingEarly() {
        // no FDT_END after the root node, a property header or value cut by the block's end
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, END_NODE}, "")))
                .hasMessageContaining("token expected");
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, PROP, 4}, "p\0")))
                .hasMessageContaining("inside a property header");
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, PROP, 8, 0, 1}, "p\0")))
                .hasMessageContaining("property length 8 runs past the structure block");
        // a value whose length is not a multiple of 4 is padded: the next token is read aligned
        DeviceNode r = Fdt.parse(blob(new int[] {BEGIN, 0, PROP, 1, 0, 0x7f000000, END_NODE, END}, "p\0")).root();
        assertThat(r.findProperty("p").length()).isEqualTo(1);
        // an FDT_END_NODE that closes nothing
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, END_NODE, END_NODE, NOP, END}, "")))
                .hasMessageContaining("after the root node");
    }

    @Test
    void versionChecks() {
        byte[] b = qemu();
        Be.put32(b, 20, 16);
        assertThatThrownBy(() -> Fdt.parse(b)).hasMessageContaining("version 16");
        byte[] c = qemu();
        Be.put32(c, 24, 18);
        assertThatThrownBy(() -> Fdt.parse(c)).hasMessageContaining("last_comp_version");
    }

    /** A hand-built struct block: header + empty rsvmap + tokens + strings. */
    private static byte[] blob(int[] struct, String strings) {
        int offStruct = 0x28 + 16;
        int offStrings = offStruct + struct.length * 4;
        byte[] sb = strings.getBytes();
        byte[] b = new byte[offStrings + sb.length];
        Be.put32(b, 0, Fdt.FDT_MAGIC);
        Be.put32(b, 4, b.length);
        Be.put32(b, 8, offStruct);
        Be.put32(b, 12, offStrings);
        Be.put32(b, 16, 0x28);
        Be.put32(b, 20, 17);
        Be.put32(b, 24, 16);
        Be.put32(b, 32, sb.length);
        Be.put32(b, 36, struct.length * 4);
        for (int i = 0; i < struct.length; i++) {
            Be.put32(b, offStruct + i * 4, struct[i]);
        }
        System.arraycopy(sb, 0, b, offStrings, sb.length);
        return b;
    }

    private static final int BEGIN = 1;
    private static final int END_NODE = 2;
    private static final int PROP = 3;
    private static final int NOP = 4;
    private static final int END = 9;

    @Test
    void handBuiltMinimalBlobParses() {
        DeviceNode r = Fdt.parse(blob(new int[] {NOP, BEGIN, 0, PROP, 4, 0, 7, NOP, BEGIN, 0x61000000, END_NODE, END_NODE, END}, "p\0")).root();
        assertThat(r.findProperty("p").cell(0)).isEqualTo(7);
        assertThat(r.child("a")).isNotNull();
    }

    @Test
    void propertyBeforeRootNode() {
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {PROP, 0, 0, BEGIN, 0, END_NODE, END}, "p\0")))
                .isInstanceOf(DeviceTreeException.class).hasMessageContaining("offset 0x38")
                .hasMessageContaining("property before the root node");
    }

    @Test
    void propertyAfterSubnode() {
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, BEGIN, 0x61000000, END_NODE, PROP, 0, 0, END_NODE, END}, "p\0")))
                .hasMessageContaining("property after a subnode");
    }

    @Test
    void tokensOutOfOrder() {
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, END, END_NODE}, "")))
                .hasMessageContaining("FDT_END inside node");
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, END_NODE, END_NODE, END}, "")))
                .hasMessageContaining("after the root node");
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, 0x77, END_NODE, END}, "")))
                .hasMessageContaining("unknown token 0x77");
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {END_NODE, END}, "")))
                .hasMessageContaining("must start with FDT_BEGIN_NODE");
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, BEGIN, 0x61000000, END_NODE}, "")))
                .hasMessageContaining("truncated");
    }

    @Test
    void unterminatedStringsAndBadNames() {
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0x61616161}, "")))
                .hasMessageContaining("unterminated node name");
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, PROP, 0, 0, END_NODE, END}, "pp")))
                .hasMessageContaining("unterminated property name");
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, PROP, 0, 99, END_NODE, END}, "p\0")))
                .hasMessageContaining("name offset 0x63 outside the strings block");
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0x61000000, END_NODE, END}, "")))
                .hasMessageContaining("root node name must be empty");
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, BEGIN, 0x612f6200, END_NODE, END_NODE, END}, "")))
                .hasMessageContaining("bad node name \"a/b\"");
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, BEGIN, 0, END_NODE, END_NODE, END}, "")))
                .hasMessageContaining("bad node name \"\"");
    }

    @Test
    void absurdPropertyLengthAndDuplicates() {
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, PROP, 0x7ffffff0, 0, END_NODE, END}, "p\0")))
                .hasMessageContaining("property length 2147483632 runs past");
        assertThatThrownBy(() -> Fdt.parse(blob(new int[] {BEGIN, 0, PROP, 0, 0, PROP, 0, 0, END_NODE, END}, "p\0")))
                .hasMessageContaining("duplicate property \"p\"");
    }

    @Test
    void deepNestingRejectedWithoutStackOverflow() {
        int depth = 100;
        int[] s = new int[depth * 2 * 2 + 3];
        int i = 0;
        s[i++] = BEGIN;
        s[i++] = 0;
        for (int d = 0; d < depth; d++) {
            s[i++] = BEGIN;
            s[i++] = 0x61000000;
        }
        int[] t = java.util.Arrays.copyOf(s, i);
        assertThatThrownBy(() -> Fdt.parse(blob(t, ""))).hasMessageContaining("nested deeper than 64");
    }

    @Test
    void memreserveWithoutTerminator() {
        byte[] b = blob(new int[] {BEGIN, 0, END_NODE, END}, "");
        // point the reservation map at the struct block's last bytes: no (0,0) entry fits
        Be.put32(b, 16, b.length - 8);
        Be.put32(b, 32, 0);
        assertThatThrownBy(() -> Fdt.parse(b)).isInstanceOf(DeviceTreeException.class);
    }

    /**
     * Unflattening gives a node the phandle of its first "phandle" or "linux,phandle"
     * property (a later one does not override it) and of any "ibm,phandle"; the first cell
     * counts whatever the length. of_find_node_by_phandle refuses only 0.
     */
    @Test
    void unflattenedPhandlesAsPopulatePropertiesSetsThem() {
        DeviceNode t = DeviceNode.root();
        t.addChild("a").setProperty(Property.ofCells("linux,phandle", 1)).setProperty(Property.ofCells("phandle", 2));
        t.addChild("b").setProperty(Property.ofCells("phandle", 3, 4));
        t.addChild("c").setProperty(Property.ofCells("phandle", 5)).setProperty(Property.ofCells("ibm,phandle", 6));
        t.addChild("d").setProperty(Property.ofCells("phandle", 0xffffffff));
        DeviceNode root = Fdt.parse(Fdt.flatten(t)).root();
        assertThat(root.child("a").phandle).isEqualTo(1);
        assertThat(root.child("b").phandle).isEqualTo(3);
        assertThat(root.child("c").phandle).isEqualTo(6);
        Of of = new Of(root);
        assertThat(of.ofFindNodeByPhandle(1)).isSameAs(root.child("a"));
        assertThat(of.ofFindNodeByPhandle(2)).isNull();
        assertThat(of.ofFindNodeByPhandle(3)).isSameAs(root.child("b"));
        assertThat(of.ofFindNodeByPhandle(6)).isSameAs(root.child("c"));
        assertThat(of.ofFindNodeByPhandle(0xffffffff)).isSameAs(root.child("d"));
        assertThat(of.ofFindNodeByPhandle(0)).isNull();
    }
}
