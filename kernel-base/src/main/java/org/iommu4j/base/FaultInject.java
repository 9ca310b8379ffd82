package org.iommu4j.base;

/**
 * Fault injection in the style of the kernel's {@code should_fail()} with the per-task
 * {@code fail-nth} knob (lib/fault-inject.c, Documentation/fault-injection): a test arms the
 * current thread with N; the Nth call of {@link #shouldFail} on that thread returns true (the
 * allocation site then fails as if memory were exhausted) and disarms the knob.
 *
 * <p>iommufd's fail_nth selftest method: for N = 1, 2, ... run the operation with fail-nth = N
 * and check it fails cleanly and leaks nothing, until a run completes without the injection
 * firing ({@link #fired()} false).
 */
@Port("lib/fault-inject.c:should_fail")
public final class FaultInject {
    private FaultInject() {}

    private static final class State {
        int remaining;
        boolean fired;
        String site;
        int calls;
    }

    private static final ThreadLocal<State> STATE = ThreadLocal.withInitial(State::new);

    /**
     * Arms: the {@code n}th injection point reached on this thread fails; 0 disarms. A negative
     * {@code n} is refused, as the kernel's fail-nth file refuses what is not an unsigned int.
     */
    public static void failNth(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("fail-nth must be 0 or positive: " + n);
        }
        State s = STATE.get();
        s.remaining = n;
        s.fired = false;
        s.site = null;
        s.calls = 0;
    }

    /** Disarms and returns whether the injection fired. */
    public static boolean disarm() {
        State s = STATE.get();
        boolean f = s.fired;
        s.remaining = 0;
        return f;
    }

    /** Whether the armed injection has fired since {@link #failNth}. */
    public static boolean fired() {
        return STATE.get().fired;
    }

    /** The site name of the injection that fired, or null. */
    public static String firedSite() {
        return STATE.get().site;
    }

    /** How many injection points were passed since arming. */
    public static int calls() {
        return STATE.get().calls;
    }

    /** An injection point; true means "fail this allocation". Costs one ThreadLocal read. */
    public static boolean shouldFail(String site) {
        State s = STATE.get();
        if (s.remaining <= 0) {
            return false;
        }
        s.calls++;
        if (--s.remaining == 0) {
            s.fired = true;
            s.site = site;
            return true;
        }
        return false;
    }
}
