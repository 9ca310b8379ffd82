package org.iommu4j.platform.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import org.iommu4j.platform.AtsDemo;
import org.iommu4j.platform.AuxDemo;
import org.iommu4j.platform.Machine;
import org.iommu4j.platform.MsiDemo;
import org.iommu4j.platform.SvaDemo;
import org.iommu4j.platform.UnplugDemo;
import org.iommu4j.platform.VirtioDemo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code iommu-sim demo [NAME]}: run one demo, or all of them. */
@Command(name = "demo", mixinStandardHelpOptions = true, description = "Run a demo (aux, ats, sva, msi, virtio, unplug), or every demo when no name is given.")
public final class DemoCommand implements Callable<Integer> {
    static final List<String> DEMOS = List.of("aux", "ats", "sva", "msi", "virtio", "unplug");

    @Spec
    CommandSpec spec;

    @Mixin
    BootMixin opts;

    @Parameters(arity = "0..1", paramLabel = "NAME", description = "Demo name: aux, ats, sva, msi, virtio (the reference's run B: QEMU's SMMU, modern virtio devices) or unplug (run B's virtio-blk hot-unplugged, then rescanned).")
    String name;

    @Override
    public Integer call() {
        var w = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        if (name != null && !DEMOS.contains(name)) {
            err.println("iommu-sim demo: error: unknown demo '" + name + "' (available: " + String.join(", ", DEMOS) + ")");
            err.flush();
            return 2;
        }
        int rc = 0;
        for (String d : name == null ? DEMOS : List.of(name)) {
            w.println("=== demo " + d);
            boolean runB = d.equals("virtio") || d.equals("unplug");
            if ("qemu".equals(opts.options.caps) && !runB) {
                err.println("iommu-sim demo " + d + ": error: needs --caps full (QEMU's SMMU has no substreams or ATS)");
                err.flush();
                return 2;
            }
            try (Machine m = runB ? opts.options.bootRunB()
                    : opts.options.boot("full", !d.equals("aux") && !d.equals("msi"))) {
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8);
                int mark = m.dmesg.size();
                int exit = switch (d) {
                    case "ats" -> AtsDemo.run(m, ps).exit();
                    case "sva" -> SvaDemo.run(m, ps).exit();
                    case "msi" -> MsiDemo.run(m, ps).exit();
                    case "virtio" -> VirtioDemo.run(m, ps).exit();
                    case "unplug" -> UnplugDemo.run(m, ps).exit();
                    default -> AuxDemo.run(m, ps).exit();
                };
                w.print(buf.toString(StandardCharsets.UTF_8));
                w.println("--- kernel log during the demo:");
                for (String l : m.dmesg.subList(mark, m.dmesg.size())) {
                    w.println(l);
                }
                rc |= exit;
            } catch (Machine.BootException e) {
                err.println("iommu-sim demo: error: " + e.getMessage());
                err.flush();
                return 2;
            }
        }
        w.flush();
        return rc;
    }
}
