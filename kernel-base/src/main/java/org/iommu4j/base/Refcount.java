package org.iommu4j.base;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code refcount_t} (include/linux/refcount.h): an atomic counter that saturates instead of
 * wrapping. Incrementing from zero (use after free), overflow and underflow WARN once and leave
 * the counter at {@link #REFCOUNT_SATURATED}, where it stays: the object leaks rather than being
 * freed twice.
 */
@Port("include/linux/refcount.h:refcount_t")
public final class Refcount {
    /** INT_MIN / 2, as in the kernel. */
    public static final int REFCOUNT_SATURATED = Integer.MIN_VALUE / 2;

    private final AtomicInteger refs;

    public Refcount(int initial) {
        refs = new AtomicInteger(initial);
    }

    @Port("include/linux/refcount.h:refcount_set")
    public void refcount_set(int n) {
        refs.set(n);
    }

    @Port("include/linux/refcount.h:refcount_read")
    public int refcount_read() {
        return refs.get();
    }

    @Port("include/linux/refcount.h:refcount_inc")
    public void refcount_inc() {
        int old = refs.getAndIncrement();
        if (old == 0) {
            refs.set(REFCOUNT_SATURATED);
            Warn.WARN_ONCE(true, "refcount_t: addition on 0; use-after-free.");
        } else if (old < 0 || old + 1 < 0) {
            refs.set(REFCOUNT_SATURATED);
            Warn.WARN_ONCE(true, "refcount_t: saturated; leaking memory.");
        }
    }

    /** Increments unless zero; returns false (and changes nothing) if the count was zero. */
    @Port("include/linux/refcount.h:refcount_inc_not_zero")
    public boolean refcount_inc_not_zero() {
        // try_cmpxchg loop: a failed exchange hands back the current value to retry with.
        int old = refs.get();
        while (true) {
            if (old == 0) {
                return false;
            }
            if (old < 0) {
                return true; // saturated: stays saturated
            }
            int witness = refs.compareAndExchange(old, old + 1);
            if (witness == old) {
                break;
            }
            old = witness;
        }
        if (old + 1 < 0) {
            refs.set(REFCOUNT_SATURATED);
            Warn.WARN_ONCE(true, "refcount_t: saturated; leaking memory.");
        }
        return true;
    }

    /** Decrements; true when the count reached zero (the caller frees the object). */
    @Port("include/linux/refcount.h:refcount_dec_and_test")
    public boolean refcount_dec_and_test() {
        int old = refs.get();
        while (true) {
            if (old <= 0) {
                // Zero or saturated: refcount_warn_saturate(REFCOUNT_SUB_UAF) re-saturates.
                refs.set(REFCOUNT_SATURATED);
                Warn.WARN_ONCE(true, "refcount_t: underflow; use-after-free.");
                return false;
            }
            int witness = refs.compareAndExchange(old, old - 1);
            if (witness == old) {
                return old == 1;
            }
            old = witness; // lost a race: retry with the current value
        }
    }

    @Port("include/linux/refcount.h:refcount_dec")
    public void refcount_dec() {
        // The kernel decrements first and then checks the old value: reaching zero (or
        // decrementing a saturated/zero count) saturates, REFCOUNT_DEC_LEAK.
        int old = refs.getAndDecrement();
        if (old <= 1) {
            refs.set(REFCOUNT_SATURATED);
            Warn.WARN_ONCE(true, "refcount_t: decrement hit 0; leaking memory.");
        }
    }

    @Override
    public String toString() {
        return "refcount(" + refs.get() + ")";
    }
}
