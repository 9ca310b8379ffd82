package org.iommu4j.platform.cli;

import picocli.CommandLine.Option;
import java.nio.file.Path;

/** picocli mixin carrying {@link BootOptions}. */
public final class BootMixin {
    final BootOptions options = new BootOptions();

    @Option(names = "--dtb", paramLabel = "FILE", description = "Device tree blob (default: the bundled QEMU virt, iommu=smmuv3).")
    void dtb(Path p) {
        options.dtb = p;
    }

    @Option(names = "--caps", paramLabel = "qemu|full", description = "SMMU capabilities: qemu (QEMU 7.2) or full (every feature the model has).")
    void caps(String c) {
        options.caps = c;
    }
}
