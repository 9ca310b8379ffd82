package org.iommu4j.platform.cli;

import java.util.concurrent.Callable;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.platform.Machine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code iommu-sim walk}: boot, then show the SMMU's translation of one access step by step. */
@Command(name = "walk", mixinStandardHelpOptions = true,
        description = "Boot, then print the SMMU model's translation of (sid, ssid, iova): STE, CD, each table level, result or fault.")
public final class WalkCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    BootMixin opts;

    @Option(names = "--sid", required = true, paramLabel = "N", description = "StreamID (decimal or 0x hex).")
    String sid;

    @Option(names = "--ssid", paramLabel = "M", description = "SubstreamID (PASID); none by default.")
    String ssid;

    @Option(names = "--iova", required = true, paramLabel = "X", description = "Input address (decimal or 0x hex).")
    String iova;

    @Option(names = "--write", description = "A write access (default: read).")
    boolean write;

    static long parse(String what, String s) {
        try {
            String t = s.trim().toLowerCase(java.util.Locale.ROOT).replace("_", "");
            return t.startsWith("0x") ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseUnsignedLong(t);
        } catch (NumberFormatException e) {
            throw new Machine.BootException("bad " + what + " '" + s + "': not a number");
        }
    }

    @Override
    public Integer call() {
        var w = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        try {
            long s = parse("--sid", sid);
            long a = parse("--iova", iova);
            int ss = ssid == null ? DmaTransaction.NO_SSID : (int) parse("--ssid", ssid);
            if (s > 0xffffffffL) {
                throw new Machine.BootException("bad --sid '" + sid + "': above 32 bits");
            }
            try (Machine m = opts.options.boot("qemu")) {
                DmaTransaction txn = new DmaTransaction().set((int) s, ss, a, 4, write ? DmaTransaction.ACC_WRITE : DmaTransaction.ACC_READ);
                w.printf("walk sid 0x%x%s iova 0x%x (%s)%n", s, ss == DmaTransaction.NO_SSID ? "" : String.format(" ssid 0x%x", ss), a,
                        write ? "write" : "read");
                for (String line : m.smmuModel.explain(txn)) {
                    w.println(line);
                }
            }
            w.flush();
            return 0;
        } catch (Machine.BootException e) {
            err.println("iommu-sim walk: error: " + e.getMessage());
            err.flush();
            return 2;
        }
    }
}
