package org.iommu4j.platform.cli;

import java.util.concurrent.Callable;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuGroup;
import org.iommu4j.platform.Machine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code iommu-sim boot}: build the machine from a device tree and print its kernel log. */
@Command(name = "boot", mixinStandardHelpOptions = true,
        description = "Boot the machine from a device tree: SMMUv3 probe/reset, PCI functions, default domains; print dmesg.")
public final class BootCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    BootMixin opts;

    @picocli.CommandLine.Option(names = "--trace", paramLabel = "PATTERN",
            description = "Also print trace events matching PATTERN (e.g. 'arm_smmu:*', 'smmuv3:*') in ftrace format.")
    String trace;

    @Override
    public Integer call() {
        java.io.PrintWriter w = spec.commandLine().getOut();
        org.iommu4j.base.trace.Trace.Capture cap = trace == null ? null : org.iommu4j.base.trace.Trace.capture(trace);
        try (Machine m = opts.options.boot("qemu")) {
            for (String l : m.dmesg) {
                w.println(l);
            }
            if (cap != null) {
                w.println();
                for (org.iommu4j.base.trace.TraceRecord r : cap.records()) {
                    w.println(r.ftrace());
                }
            }
            w.println();
            w.printf("SMMU features 0x%08x, options 0x%x, %d commands issued%n", m.smmu.smmu.features, m.smmu.smmu.options,
                    m.smmuModel.commandsConsumed());
            for (Machine.PciFunction f : m.functions) {
                IommuGroup g = Iommu.iommuGroupGet(f.dev());
                w.printf("%s StreamID 0x%x group %s STE 0x%016x 0x%016x%n", f.dev().devName(), f.sid(),
                        g == null ? "-" : Integer.toString(g.iommuGroupId()),
                        m.board.mem.readq(m.smmu.armSmmuGetStepForSid(m.smmu.smmu, f.sid())),
                        m.board.mem.readq(m.smmu.armSmmuGetStepForSid(m.smmu.smmu, f.sid()) + 8));
                if (g != null) {
                    Iommu.iommuGroupPut(g);
                }
            }
            w.flush();
            return 0;
        } catch (Machine.BootException e) {
            spec.commandLine().getErr().println("iommu-sim boot: error: " + e.getMessage());
            spec.commandLine().getErr().flush();
            return 2;
        } finally {
            if (cap != null) {
                cap.close();
            }
        }
    }
}
