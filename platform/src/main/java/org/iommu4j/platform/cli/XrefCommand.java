package org.iommu4j.platform.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import org.iommu4j.platform.xref.PortIndex;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code iommu-sim xref [SYMBOL]}: where each kernel symbol is ported. */
@Command(name = "xref", mixinStandardHelpOptions = true,
        description = "List every @Port in the code (kernel file, symbol, seed, Java class and member), "
                + "or those matching SYMBOL (a kernel symbol, a file, or file:symbol).")
final class XrefCommand implements Callable<Integer> {
    @Parameters(arity = "0..1", paramLabel = "SYMBOL")
    String symbol;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        List<PortIndex.Entry> entries = PortIndex.scan();
        List<PortIndex.Entry> shown = symbol == null ? entries : PortIndex.matching(entries, symbol);
        for (PortIndex.Entry e : shown) {
            out.println(e.format());
        }
        if (symbol != null && shown.isEmpty()) {
            spec.commandLine().getErr().println("xref: no port of '" + symbol + "' found");
            return 1;
        }
        out.flush();
        if (symbol == null) {
            spec.commandLine().getErr().println(entries.size() + " ports");
        }
        return 0;
    }
}
