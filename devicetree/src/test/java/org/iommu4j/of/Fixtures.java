package org.iommu4j.of;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Test resources: the QEMU blob and the dtc-compiled fixtures. */
final class Fixtures {
    private Fixtures() {}

    static byte[] bytes(String name) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String text(String name) {
        return new String(bytes(name), StandardCharsets.UTF_8);
    }

    static byte[] qemuDtb() {
        return bytes("virt-smmuv3.dtb");
    }

    static DeviceNode bindings() {
        return Fdt.parse(bytes("fixtures/smmu-bindings.dtb")).root();
    }
}
