package org.iommu4j.base.hw;

/**
 * A device register file mapped on the {@link MmioBus}. Offsets are relative to the start of
 * the device's region; {@code size} is 4 or 8 (bytes). A model answers accesses it does not
 * implement as RAZ/WI and traces them, as real hardware does.
 */
public interface MmioDevice {
    long mmioRead(long offset, int size);

    void mmioWrite(long offset, long value, int size);
}
