package org.iommu4j.of;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.iommu4j.base.Port;

/**
 * {@code struct property}: a name and a raw big-endian value ({@code length} = value.length).
 * Values are immutable once the property is built; helpers decode cells and strings.
 */
@Port("include/linux/of.h:property")
public final class Property {
    public final String name;
    private final byte[] value;

    public Property(String name, byte[] value) {
        this.name = name;
        this.value = value.clone();
    }

    /** A property of big-endian u32 cells. */
    public static Property ofCells(String name, int... cells) {
        byte[] v = new byte[cells.length * 4];
        for (int i = 0; i < cells.length; i++) {
            Be.put32(v, i * 4, cells[i]);
        }
        return new Property(name, v);
    }

    /** A property holding NUL-terminated strings (a string list). */
    public static Property ofStrings(String name, String... strings) {
        StringBuilder sb = new StringBuilder();
        for (String s : strings) {
            sb.append(s).append('\0');
        }
        return new Property(name, sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** An empty (boolean) property. */
    public static Property ofEmpty(String name) {
        return new Property(name, new byte[0]);
    }

    /** {@code prop->length}. */
    public int length() {
        return value.length;
    }

    /** A copy of the raw value. */
    public byte[] value() {
        return value.clone();
    }

    /** The raw value without copying (callers must not modify it). */
    byte[] raw() {
        return value;
    }

    /** Big-endian u32 cell {@code i} (caller checks {@code (i + 1) * 4 <= length()}). */
    public int cell(int i) {
        return Be.get32(value, i * 4);
    }

    /** Number of whole u32 cells. */
    public int cellCount() {
        return value.length / 4;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Property p && p.name.equals(name) && Arrays.equals(p.value, value);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(value);
    }

    @Override
    public String toString() {
        return name + " = " + Dts.formatValue(value);
    }
}
