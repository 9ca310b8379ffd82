package org.iommu4j.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.iommu4j.platform.cli.IommuSim;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** boot / demo / walk through the command line: output, exit codes, clean errors. */
class IommuSimCommandsTest {
    record Run(int rc, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new IommuSim());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int rc = cl.execute(args);
        return new Run(rc, out.toString(), err.toString());
    }

    @Test
    void bootPrintsTheProbeLineAndGroups() {
        Run r = run("boot", "--caps", "qemu");
        assertThat(r.rc()).isZero();
        assertThat(r.out()).contains("ias 44-bit, oas 44-bit (features 0x00008305)", "Adding to iommu group 1",
                "0000:00:01.0 StreamID 0x8 group 0");
        // the virtio functions as QEMU 7.2 builds them, their BARs assigned from the windows
        // and the devices enabled by virtio-pci, in v5.15's words (the reference ran Linux 6.1)
        assertThat(r.out()).contains("pci 0000:00:01.0: [1af4:1005] type 00 class 0x00ff00",
                "pci 0000:00:02.0: reg 0x10: [io  0x0000-0x007f]",
                "pci 0000:00:01.0: BAR 4: assigned [mem 0x8000000000-0x8000003fff 64bit pref]",
                "pci 0000:00:01.0: BAR 0: assigned [io  0x1080-0x109f]",
                "virtio-pci 0000:00:01.0: Adding to iommu group 0",
                "virtio-pci 0000:00:01.0: enabling device (0000 -> 0003)");
    }

    @Test
    void demoRunsEveryDemo() {
        Run r = run("demo");
        assertThat(r.rc()).isZero();
        assertThat(r.out()).contains("=== demo aux", "PASID 3", "-EFAULT: isolated", "event decoded: F_TRANSLATION sid 0x8 ssid 0x1");
        assertThat(r.out()).contains("=== demo ats", "ATS enabled by the driver", "op=ATC_INV",
                "DMA read after unmap: ret -14 (-EFAULT: no stale translation)");
        assertThat(r.out()).contains("=== demo msi", "pci_alloc_irq_vectors(0000:00:01.0, 1, 2, PCI_IRQ_MSIX) = 2",
                "virq", "handled 3 time(s)", "SMMU event: F_TRANSLATION sid 0x10 addr 0x8020040 write");
        assertThat(r.out()).contains("=== demo unplug", "pci_stop_and_remove_bus_device(0000:00:02.0)",
                "smmuv3_cmdq_cfgi_ste: sid=0x10", "(V=1 Config=abort)", "pci 0000:00:02.0: Removing from iommu group 1");
    }

    @Test
    void demoMsiAlone() {
        Run r = run("demo", "msi");
        assertThat(r.rc()).isZero();
        assertThat(r.out()).contains("=== demo msi", "-EFAULT: the SMMU terminated the write").doesNotContain("=== demo aux");
    }

    @Test
    void walkPrintsSteps() {
        Run r = run("walk", "--sid", "0x8", "--iova", "0xfffff000");
        assertThat(r.rc()).isZero();
        assertThat(r.out()).contains("walk sid 0x8 iova 0xfffff000");
    }

    @Test
    void badInputGivesAMessageAndNonZeroExit(@TempDir Path tmp) throws Exception {
        Run r = run("boot", "--caps", "bogus");
        assertThat(r.rc()).isNotZero();
        assertThat(r.err()).contains("unknown SMMU capability set 'bogus'").doesNotContain("Exception");

        r = run("boot", "--dtb", tmp.resolve("missing.dtb").toString());
        assertThat(r.rc()).isNotZero();
        assertThat(r.err()).contains("no such file").doesNotContain("Exception");

        Path bad = tmp.resolve("bad.dtb");
        Files.write(bad, new byte[] {(byte) 0xd0, 0x0d, (byte) 0xfe, (byte) 0xed, 0, 0, 0, 1});
        r = run("boot", "--dtb", bad.toString());
        assertThat(r.rc()).isNotZero();
        assertThat(r.err()).contains("malformed device tree blob").doesNotContain("Exception");

        r = run("demo", "nope");
        assertThat(r.rc()).isNotZero();
        assertThat(r.err()).contains("unknown demo 'nope'");

        r = run("walk", "--sid", "zz", "--iova", "0");
        assertThat(r.rc()).isNotZero();
        assertThat(r.err()).contains("bad --sid 'zz'");

        r = run("demo", "aux", "--caps", "qemu");
        assertThat(r.rc()).isNotZero();
        assertThat(r.err()).contains("needs --caps full");

        r = run("demo", "ats", "--caps", "qemu");
        assertThat(r.rc()).isNotZero();
        assertThat(r.err()).contains("iommu-sim demo ats: error: needs --caps full");
    }
}
