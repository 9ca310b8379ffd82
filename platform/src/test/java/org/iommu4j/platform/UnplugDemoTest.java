package org.iommu4j.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code demo unplug}: run B's virtio-blk hot-unplugged and rescanned, as the SMMU sees it. */
class UnplugDemoTest {
    @Test
    void theTeardownUnmapsTheRingThenAbortsTheStreamThenFreesTheDomainAndARescanBringsItBack() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (Machine m = Machine.bootRunB()) {
            UnplugDemo.Result r = UnplugDemo.run(m, new PrintStream(buf, true, StandardCharsets.UTF_8));
            assertThat(r.exit()).isZero();
            // STE word 0: V with Config stage 1 translate (0b101) before; V with Config abort after,
            // the S1 context pointer and every other field cleared
            assertThat(r.steBefore() & 0xf).isEqualTo(0b1011);
            assertThat(r.steAfter()).isEqualTo(1);
            assertThat(r.teardown()).extracting(l -> l.substring(0, l.indexOf(':'))).containsExactly(
                    "unmap", "smmuv3_cmdq_opcode", "smmuv3_cmdq_tlbi", "smmuv3_cmdq_opcode",
                    "smmuv3_cmdq_opcode", "smmuv3_cmdq_cfgi_ste", "smmuv3_cmdq_opcode",
                    "remove_device_from_group", "smmuv3_cmdq_opcode", "smmuv3_cmdq_tlbi", "smmuv3_cmdq_opcode");
            assertThat(r.teardown().get(1)).endsWith("CMD_TLBI_NH_VA");
            assertThat(r.teardown().get(5)).endsWith("sid=0x10");
            assertThat(r.teardown().get(8)).endsWith("CMD_TLBI_NH_ASID");
            assertThat(r.dmaAfter()).startsWith("ret -14, smmuv3_translate_abort").endsWith("ring memory unchanged");
            // the rescan: a new group first, then the STE installed again, and the disk reads as before
            assertThat(r.rescan().get(0)).isEqualTo("add_device_to_group: IOMMU: groupID=1 device=0000:00:02.0");
            assertThat(r.rescan()).contains("smmuv3_cmdq_cfgi_ste: sid=0x10");
            assertThat(r.steRescanned()).isEqualTo(r.steBefore());
            assertThat(r.md5Rescanned()).isEqualTo("60e24ea4b8d2da8d8d3aa152630e9f0d");
        }
        assertThat(buf.toString(StandardCharsets.UTF_8)).contains("(V=1 Config=stage 1 translate)",
                "(V=1 Config=abort); MSI-X off, Bus Master off; in a group: false, on the virtio bus: false");
    }

    @Test
    void withoutRunBsMachineItSaysWhatItNeeds() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (Machine m = Machine.boot("qemu")) {
            assertThat(UnplugDemo.run(m, new PrintStream(buf, true, StandardCharsets.UTF_8)).exit()).isEqualTo(1);
        }
        assertThat(buf.toString(StandardCharsets.UTF_8)).contains("demo unplug: needs run B's machine");
    }
}
