package org.iommu4j.platform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.iommu4j.base.Warn;
import org.iommu4j.of.DeviceNode;
import org.iommu4j.of.Fdt;
import org.iommu4j.of.Property;
import org.junit.jupiter.api.Test;

/**
 * A machine built from a blob that parses but says strange things (a memory node beyond 48 bits
 * or not page aligned, registers that wrap, a bad bus-range, cells of any value, properties cut
 * short or missing) either boots or refuses with a {@link Machine.BootException}; nothing else
 * escapes, and a closed machine leaves no thread behind.
 */
class MachineBadBlobTest {
    private static final String[] NAMES = {"reg", "interrupts", "iommu-map", "iommu-map-mask", "msi-map", "bus-range",
        "ranges", "dma-ranges", "#address-cells", "#size-cells", "#interrupt-cells", "#iommu-cells", "#msi-cells",
        "interrupt-names", "compatible", "interrupt-map", "interrupt-map-mask", "phandle", "msi-parent",
        "interrupt-parent", "device_type", "dma-coherent", "iommus"};
    private static final int[] CELLS = {0, -1, 1, 2, 3, 0x7fffffff, 0x80000000, 0xfff, 0x1000, 0x40000000, 0x10000, 0xffff};

    /** Rewrites 1 to 3 properties of interesting names: removed, cut or grown, or one cell replaced. */
    static byte[] mutateValues(byte[] base, Random rnd) {
        Fdt f = Fdt.parse(base);
        List<DeviceNode> nodes = new ArrayList<>();
        ArrayDeque<DeviceNode> q = new ArrayDeque<>(List.of(f.root()));
        while (!q.isEmpty()) {
            DeviceNode n = q.poll();
            nodes.add(n);
            q.addAll(n.children());
        }
        int ops = 1 + rnd.nextInt(3);
        for (int i = 0; i < ops; i++) {
            DeviceNode n;
            String name;
            if (rnd.nextInt(3) > 0) {
                do {
                    n = nodes.get(rnd.nextInt(nodes.size()));
                    List<Property> ps = n.properties();
                    name = ps.isEmpty() ? null : ps.get(rnd.nextInt(ps.size())).name;
                } while (name == null || !Arrays.asList(NAMES).contains(name) && rnd.nextInt(4) != 0);
            } else {
                n = nodes.get(rnd.nextInt(nodes.size()));
                name = NAMES[rnd.nextInt(NAMES.length)];
            }
            Property old = n.findProperty(name);
            byte[] v = old == null ? new byte[4 * rnd.nextInt(5)] : old.value().clone();
            switch (rnd.nextInt(6)) {
                case 0 -> n.removeProperty(name);
                case 1 -> n.setProperty(new Property(name, Arrays.copyOf(v, rnd.nextInt(v.length + 6))));
                default -> {
                    if (v.length >= 4) {
                        int c = 4 * rnd.nextInt(v.length / 4);
                        int x = rnd.nextInt(4) == 0 ? rnd.nextInt() : CELLS[rnd.nextInt(CELLS.length)];
                        v[c] = (byte) (x >>> 24);
                        v[c + 1] = (byte) (x >>> 16);
                        v[c + 2] = (byte) (x >>> 8);
                        v[c + 3] = (byte) x;
                    }
                    n.setProperty(new Property(name, v));
                }
            }
        }
        return f.toBytes();
    }

    private static long irqThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("irq/")).count();
    }

    /** Boots {@code blob}; true if it booted, false if refused with a BootException. */
    private static boolean boots(byte[] blob) {
        try {
            new Machine(blob, null).close();
            return true;
        } catch (Machine.BootException e) {
            assertThat(e.getMessage()).isNotBlank();
            return false;
        } finally {
            Warn.drain();
        }
    }

    @Test
    void strangeValuesBootOrAreRefused() {
        byte[] base = Fdt.bundledVirtSmmuv3();
        long threads = irqThreads();
        int booted = 0;
        int refused = 0;
        for (long seed = 0; seed < 800; seed++) {
            if (boots(mutateValues(base, new Random(seed)))) {
                booted++;
            } else {
                refused++;
            }
        }
        assertThat(booted).isGreaterThan(100);
        assertThat(refused).isGreaterThan(10);
        // each closed machine freed its drivers' interrupts (the event queue thread used to stay)
        assertThat(irqThreads()).isEqualTo(threads);
    }

    private static byte[] withProperty(String path, Property p) {
        Fdt f = Fdt.parse(Fdt.bundledVirtSmmuv3());
        DeviceNode n = f.root();
        for (String c : path.substring(1).split("/")) {
            n = n.child(c);
        }
        n.setProperty(p);
        return f.toBytes();
    }

    @Test
    void memoryAndRegistersTheBoardCannotHaveAreBootErrors() {
        // RAM not page aligned; RAM reaching past 2^48 (used to size a frame directory of gigabytes)
        assertThatThrownBy(() -> new Machine(withProperty("/memory@40000000", Property.ofCells("reg", 0, 0x40000800, 0, 0x4000_0000)), null))
                .isInstanceOf(Machine.BootException.class).hasMessageContaining("/memory@40000000: unusable reg");
        assertThatThrownBy(() -> new Machine(withProperty("/memory@40000000", Property.ofCells("reg", 0, 0x40000000, 0x4000_0000, 0)), null))
                .isInstanceOf(Machine.BootException.class).hasMessageContaining("48-bit");
        // an SMMU register window that wraps past 2^64
        assertThatThrownBy(() -> new Machine(withProperty("/smmuv3@9050000", Property.ofCells("reg", -1, -0x1000, 0, 0x20000)), null))
                .isInstanceOf(Machine.BootException.class).hasMessageContaining("/smmuv3@9050000: unusable reg");
        // a bus-range the host bridge cannot have
        assertThatThrownBy(() -> new Machine(withProperty("/pcie@10000000", Property.ofCells("bus-range", 5, 1)), null))
                .isInstanceOf(Machine.BootException.class).hasMessageContaining("bad bus-range <5 1>");
    }
}
