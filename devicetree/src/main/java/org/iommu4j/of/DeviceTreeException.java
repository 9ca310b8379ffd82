package org.iommu4j.of;

/**
 * A malformed device tree (flattened blob or source). The message names the byte offset (blob)
 * or line:column (source) and the problem. The only exception the readers in this package throw
 * on bad input.
 */
public class DeviceTreeException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long offset;

    /** @param offset byte offset in the blob (or -1 when not applicable) */
    public DeviceTreeException(long offset, String problem) {
        super(offset >= 0 ? "at offset 0x" + Long.toHexString(offset) + ": " + problem : problem);
        this.offset = offset;
    }

    /** A DTS error at a source position. */
    public DeviceTreeException(int line, int column, String problem) {
        super("at line " + line + ":" + column + ": " + problem);
        this.offset = -1;
    }

    /** Byte offset in the blob where the problem was found, or -1. */
    public long offset() {
        return offset;
    }
}
