package org.iommu4j.platform;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.hw.MmioDevice;

/** A tracing wrapper in front of a device's registers, like QEMU's smmuv3_read/write_mmio trace. */
public final class MmioTrace implements MmioDevice {
    /** One access; offsets are relative to the device's base. */
    public record Access(boolean write, long offset, long value, int size) {
        @Override
        public String toString() {
            return String.format("%s 0x%x 0x%x (%d-byte)", write ? "W" : "R", offset, value, size);
        }
    }

    private final MmioDevice target;
    private final List<Access> log = new CopyOnWriteArrayList<>();
    private volatile boolean enabled = true;

    public MmioTrace(MmioDevice target) {
        this.target = target;
    }

    public List<Access> accesses() {
        return List.copyOf(log);
    }

    public void setEnabled(boolean on) {
        enabled = on;
    }

    @Override
    public long mmioRead(long offset, int size) {
        long v = target.mmioRead(offset, size);
        if (enabled) {
            log.add(new Access(false, offset, v, size));
        }
        return v;
    }

    @Override
    public void mmioWrite(long offset, long value, int size) {
        if (enabled) {
            log.add(new Access(true, offset, value, size));
        }
        target.mmioWrite(offset, value, size);
    }
}
