package org.iommu4j.smmuv3;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.hw.MmioDevice;

/** A tracing wrapper in front of a device's registers: records every access, then forwards it. */
final class MmioRecorder implements MmioDevice {
    record Access(boolean write, long offset, long value, int size) {
        @Override
        public String toString() {
            return String.format("%s 0x%x 0x%x (%d)", write ? "W" : "R", offset, value, size);
        }
    }

    private final MmioDevice target;
    final List<Access> log = new CopyOnWriteArrayList<>();

    /** The value last written to the register at {@code offset}. */
    long lastWrite(long offset) {
        return log.stream().filter(a -> a.write() && a.offset() == offset).reduce((a, c) -> c).orElseThrow().value();
    }

    /** The writes recorded from {@code log} index {@code from} on. */
    List<Access> writesSince(int from) {
        return log.subList(from, log.size()).stream().filter(Access::write).toList();
    }

    MmioRecorder(MmioDevice target) {
        this.target = target;
    }

    /** Registers whose reads return a fixed value instead of the device's (the device is not read). */
    final java.util.Map<Long, Long> readOverride = new java.util.concurrent.ConcurrentHashMap<>();
    /** Called for every write (offset, value) after it is recorded; may change the overrides. */
    volatile java.util.function.BiConsumer<Long, Long> onWrite;
    /** Registers whose writes are recorded but not passed on. */
    final java.util.Set<Long> swallowWrites = java.util.concurrent.ConcurrentHashMap.newKeySet();

    @Override
    public long mmioRead(long offset, int size) {
        Long o = readOverride.get(offset);
        long v = o != null ? o : target.mmioRead(offset, size);
        log.add(new Access(false, offset, v, size));
        return v;
    }

    @Override
    public void mmioWrite(long offset, long value, int size) {
        log.add(new Access(true, offset, value, size));
        java.util.function.BiConsumer<Long, Long> hook = onWrite;
        if (hook != null) {
            hook.accept(offset, value);
        }
        if (swallowWrites.contains(offset)) {
            return;
        }
        target.mmioWrite(offset, value, size);
    }
}
