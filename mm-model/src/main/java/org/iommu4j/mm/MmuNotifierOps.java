package org.iommu4j.mm;

import org.iommu4j.base.Port;

/**
 * {@code struct mmu_notifier_ops} (include/linux/mmu_notifier.h, v5.15 members used by SVA).
 * Every member is optional in C; each has a default and a {@code has_*} twin telling the caller
 * whether the implementation provides it, so call sites read like the kernel's NULL tests. An
 * implementation overrides a member and its {@code has_*} together.
 */
@Port("include/linux/mmu_notifier.h:mmu_notifier_ops")
public interface MmuNotifierOps {
    /**
     * The mm is going away (exit_mmap) or the notifier is being unregistered: stop using the
     * address space. Called once; no other callback runs after it for this subscription.
     * Context: may sleep; runs inside the SRCU read side.
     */
    default void release(MmuNotifier subscription, Mm mm) {}

    default boolean hasRelease() {
        return false;
    }

    /**
     * Before PTEs in [range.start, range.end) change. Return 0, or -EAGAIN only when the range
     * is not blockable. Context: may sleep if blockable.
     */
    default int invalidateRangeStart(MmuNotifier subscription, MmuNotifierRange range) {
        return 0;
    }

    default boolean hasInvalidateRangeStart() {
        return false;
    }

    /** After the PTEs changed and the CPU TLBs were flushed. */
    default void invalidateRangeEnd(MmuNotifier subscription, MmuNotifierRange range) {}

    default boolean hasInvalidateRangeEnd() {
        return false;
    }

    /**
     * Secondary TLB invalidation of [start, end) (end exclusive), called when PTEs were cleared
     * or downgraded, together with the CPU TLB flush. Context: atomic, must not sleep.
     */
    default void invalidateRange(MmuNotifier subscription, Mm mm, long start, long end) {}

    default boolean hasInvalidateRange() {
        return false;
    }

    /**
     * Allocates the subscription for mmu_notifier_get; may throw ErrnoException (ERR_PTR).
     * Called with the mmap write lock held.
     */
    default MmuNotifier allocNotifier(Mm mm) {
        throw new UnsupportedOperationException("alloc_notifier");
    }

    default boolean hasAllocNotifier() {
        return false;
    }

    /**
     * Seed 004 variant: alloc_notifier(mm, privdata) receives the caller's private data passed
     * to mmu_notifier_get. The default forwards to the mainline member.
     */
    @Port(value = "include/linux/mmu_notifier.h:alloc_notifier", seed = "004")
    default MmuNotifier allocNotifier(Mm mm, Object privdata) {
        return allocNotifier(mm);
    }

    /** Frees a subscription of mmu_notifier_get/put after the SRCU grace period; must not sleep. */
    default void freeNotifier(MmuNotifier subscription) {}

    default boolean hasFreeNotifier() {
        return false;
    }
}
