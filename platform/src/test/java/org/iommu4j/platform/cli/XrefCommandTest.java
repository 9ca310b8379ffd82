package org.iommu4j.platform.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code iommu-sim xref}: the @Port cross-reference found from the compiled classes. */
class XrefCommandTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cl = new CommandLine(new IommuSim());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    @Test
    void symbolPrintsItsPortEntry() {
        assertThat(run("xref", "alloc_pages")).isZero();
        String text = out.toString();
        assertThat(text.lines().toList()).singleElement().satisfies(line -> {
            assertThat(line).startsWith("include/linux/gfp.h");
            assertThat(line).contains(" alloc_pages ");
            assertThat(line).endsWith("org.iommu4j.mm.PageAlloc#allocPages");
        });
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void fileColonSymbolAndFileQueries() {
        assertThat(run("xref", "mm/page_alloc.c:get_zeroed_page")).isZero();
        assertThat(out.toString()).contains("org.iommu4j.mm.PageAlloc#getZeroedPage");
        out.getBuffer().setLength(0);
        assertThat(run("xref", "include/linux/bits.h")).isZero();
        assertThat(out.toString()).contains("GENMASK_ULL").contains("org.iommu4j.base.Bits#GENMASK");
    }

    @Test
    void everyPortIsListedWithoutASymbol() {
        assertThat(run("xref")).isZero();
        String text = out.toString();
        assertThat(text).contains("org.iommu4j.base.Bits#FIELD_PREP").contains("org.iommu4j.mm.PageAlloc#allocPages");
        long n = text.lines().count();
        assertThat(err.toString().trim()).isEqualTo(n + " ports");
        assertThat(n).isGreaterThan(100);
    }

    @Test
    void unknownSymbolExitsOneWithAMessage() {
        assertThat(run("xref", "no_such_kernel_symbol_xyz")).isEqualTo(1);
        assertThat(out.toString()).isEmpty();
        assertThat(err.toString()).contains("xref: no port of 'no_such_kernel_symbol_xyz' found");
    }

    @Test
    void staticExecuteReturnsTheExitCode() {
        PrintStream saved = System.out;
        PrintStream savedErr = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ByteArrayOutputStream ebuf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(ebuf, true, StandardCharsets.UTF_8));
            assertThat(IommuSim.execute("xref", "alloc_pages")).isZero();
            assertThat(IommuSim.execute("xref", "no_such_kernel_symbol_xyz")).isEqualTo(1);
            assertThat(IommuSim.execute("xref", "a", "b")).isEqualTo(2); // usage error
        } finally {
            System.setOut(saved);
            System.setErr(savedErr);
        }
        assertThat(buf.toString(StandardCharsets.UTF_8)).contains("org.iommu4j.mm.PageAlloc#allocPages");
        assertThat(ebuf.toString(StandardCharsets.UTF_8)).contains("no port of 'no_such_kernel_symbol_xyz'");
    }
}
