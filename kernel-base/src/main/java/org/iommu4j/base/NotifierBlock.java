package org.iommu4j.base;

/** {@code struct notifier_block}: a callback with a priority (higher runs first). */
@Port("include/linux/notifier.h:notifier_block")
public interface NotifierBlock {
    /** The callback; returns NOTIFY_DONE/OK/BAD/STOP (see {@link Notifier}). */
    int notifierCall(long action, Object data);

    /** Chain position: higher priorities are called first. */
    default int priority() {
        return 0;
    }

    /** A notifier block from a lambda and a priority. */
    static NotifierBlock of(int priority, java.util.function.ToIntBiFunction<Long, Object> fn) {
        return new NotifierBlock() {
            @Override
            public int notifierCall(long action, Object data) {
                return fn.applyAsInt(action, data);
            }

            @Override
            public int priority() {
                return priority;
            }
        };
    }
}
