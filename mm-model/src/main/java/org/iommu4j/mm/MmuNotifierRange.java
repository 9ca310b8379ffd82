package org.iommu4j.mm;

import static org.iommu4j.mm.MmH.MMU_NOTIFIER_RANGE_BLOCKABLE;

import org.iommu4j.base.Port;

/** {@code struct mmu_notifier_range}: the span [start, end) being invalidated and why. */
@Port("include/linux/mmu_notifier.h:mmu_notifier_range")
public final class MmuNotifierRange {
    public VmAreaStruct vma;
    public Mm mm;
    public long start;
    /** Exclusive. */
    public long end;
    public int flags;
    /** One of MmH.MMU_NOTIFY_*. */
    public int event;

    @Port("include/linux/mmu_notifier.h:mmu_notifier_range_init")
    public static void mmuNotifierRangeInit(MmuNotifierRange range, int event, int flags, VmAreaStruct vma,
            Mm mm, long start, long end) {
        range.vma = vma;
        range.event = event;
        range.mm = mm;
        range.start = start;
        range.end = end;
        range.flags = flags;
    }

    /** Initialised for a blocking context (the common case). */
    public static MmuNotifierRange of(int event, VmAreaStruct vma, Mm mm, long start, long end) {
        MmuNotifierRange r = new MmuNotifierRange();
        mmuNotifierRangeInit(r, event, MMU_NOTIFIER_RANGE_BLOCKABLE, vma, mm, start, end);
        return r;
    }

    @Port("include/linux/mmu_notifier.h:mmu_notifier_range_blockable")
    public boolean mmuNotifierRangeBlockable() {
        return (flags & MMU_NOTIFIER_RANGE_BLOCKABLE) != 0;
    }

    @Override
    public String toString() {
        return "range[" + Long.toHexString(start) + "-" + Long.toHexString(end) + " event=" + event + "]";
    }
}
