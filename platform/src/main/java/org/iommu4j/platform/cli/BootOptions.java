package org.iommu4j.platform.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.iommu4j.of.Fdt;
import org.iommu4j.platform.Machine;

/** Options every machine-booting command shares. */
final class BootOptions {
    Path dtb;
    String caps;

    /** Boots, or throws {@link Machine.BootException} with the reason. */
    Machine boot(String defaultCaps) {
        return boot(defaultCaps, false);
    }

    /** Run B's machine ({@link Machine#bootRunB}): QEMU's SMMU unless --caps says otherwise. */
    Machine bootRunB() {
        return new Machine(blob(), caps != null ? caps : "qemu", false, Machine.VirtioOptions.runB());
    }

    /** {@link #boot(String)}; {@code rcAts}: the root complex does ATS (see {@link Machine}). */
    Machine boot(String defaultCaps, boolean rcAts) {
        return new Machine(blob(), caps != null ? caps : defaultCaps, rcAts);
    }

    private byte[] blob() {
        byte[] blob;
        if (dtb == null) {
            blob = Fdt.bundledVirtSmmuv3();
        } else {
            if (!Files.isRegularFile(dtb)) {
                throw new Machine.BootException("cannot read device tree '" + dtb + "': no such file");
            }
            try {
                blob = Files.readAllBytes(dtb);
            } catch (IOException e) {
                throw new Machine.BootException("cannot read device tree '" + dtb + "': " + e.getMessage());
            }
        }
        return blob;
    }
}
