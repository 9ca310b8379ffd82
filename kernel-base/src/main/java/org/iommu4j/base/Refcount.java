package org.iommu4j.base;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code refcount_t} (include/linux/refcount.h, lib/refcount.c, v5.15): an atomic counter that
 * saturates instead of wrapping. Incrementing from zero (use after free), overflow and underflow
 * go through {@link #refcountWarnSaturate}: the counter is set to {@link #REFCOUNT_SATURATED}
 * and a warning is given. A saturated counter stays (about) there: the object leaks rather than
 * being freed twice.
 *
 * <p>Like the kernel's, the operations are a fetch-and-add or a compare-and-exchange loop
 * followed by a check of the old value; the saturation store is not atomic with it, so a
 * racing update may move a saturated counter a little, never near zero.
 *
 * <p>One difference: the kernel's warnings are {@code WARN_ONCE} per saturation kind for the
 * whole boot; here {@link Warn#WARN_ONCE} is once per call site of the refcount function, so
 * that each test sees the warnings it causes.
 */
@Port("include/linux/refcount.h:refcount_t")
public final class Refcount {
    /** INT_MIN / 2, as in the kernel. */
    @Port("include/linux/refcount.h:REFCOUNT_SATURATED")
    public static final int REFCOUNT_SATURATED = Integer.MIN_VALUE / 2;
    /** INT_MAX. */
    @Port("include/linux/refcount.h:REFCOUNT_MAX")
    public static final int REFCOUNT_MAX = Integer.MAX_VALUE;

    // enum refcount_saturation_type
    public static final int REFCOUNT_ADD_NOT_ZERO_OVF = 0;
    public static final int REFCOUNT_ADD_OVF = 1;
    public static final int REFCOUNT_ADD_UAF = 2;
    public static final int REFCOUNT_SUB_UAF = 3;
    public static final int REFCOUNT_DEC_LEAK = 4;

    private final AtomicInteger refs;

    /** {@code REFCOUNT_INIT(n)}. */
    @Port("include/linux/refcount.h:REFCOUNT_INIT")
    public Refcount(int initial) {
        refs = new AtomicInteger(initial);
    }

    /** Saturates the counter and warns about the kind of misuse {@code t} names. */
    @Port("lib/refcount.c:refcount_warn_saturate")
    public void refcountWarnSaturate(int t) {
        refs.set(REFCOUNT_SATURATED);
        switch (t) {
            case REFCOUNT_ADD_NOT_ZERO_OVF:
            case REFCOUNT_ADD_OVF:
                Warn.WARN_ONCE(true, "refcount_t: saturated; leaking memory.");
                break;
            case REFCOUNT_ADD_UAF:
                Warn.WARN_ONCE(true, "refcount_t: addition on 0; use-after-free.");
                break;
            case REFCOUNT_SUB_UAF:
                Warn.WARN_ONCE(true, "refcount_t: underflow; use-after-free.");
                break;
            case REFCOUNT_DEC_LEAK:
                Warn.WARN_ONCE(true, "refcount_t: decrement hit 0; leaking memory.");
                break;
            default:
                Warn.WARN_ONCE(true, "refcount_t: unknown saturation event!?");
        }
    }

    @Port("include/linux/refcount.h:refcount_set")
    public void refcountSet(int n) {
        refs.set(n);
    }

    /** The count; the kernel returns it as an unsigned int (a saturated count reads 0xc0000000). */
    @Port("include/linux/refcount.h:refcount_read")
    public int refcountRead() {
        return refs.get();
    }

    /**
     * Adds {@code i} unless the count is zero; false (and no change) if it was zero. An old or
     * resulting value below zero saturates and warns, and still answers true.
     */
    @Port("include/linux/refcount.h:refcount_add_not_zero")
    public boolean refcountAddNotZero(int i) {
        // try_cmpxchg loop: a failed exchange hands back the current value to retry with.
        int old = refs.get();
        while (old != 0) {
            int witness = refs.compareAndExchange(old, old + i);
            if (witness == old) {
                break;
            }
            old = witness;
        }
        if (old < 0 || old + i < 0) {
            refcountWarnSaturate(REFCOUNT_ADD_NOT_ZERO_OVF);
        }
        return old != 0;
    }

    /** Increments unless zero; returns false (and changes nothing) if the count was zero. */
    @Port("include/linux/refcount.h:refcount_inc_not_zero")
    public boolean refcountIncNotZero() {
        return refcountAddNotZero(1);
    }

    /** Adds {@code i}; from zero that is a use after free, past INT_MAX an overflow: both saturate. */
    @Port("include/linux/refcount.h:refcount_add")
    public void refcountAdd(int i) {
        int old = refs.getAndAdd(i);
        if (old == 0) {
            refcountWarnSaturate(REFCOUNT_ADD_UAF);
        } else if (old < 0 || old + i < 0) {
            refcountWarnSaturate(REFCOUNT_ADD_OVF);
        }
    }

    @Port("include/linux/refcount.h:refcount_inc")
    public void refcountInc() {
        refcountAdd(1);
    }

    /**
     * Subtracts {@code i}; true when the count reached zero (the caller frees the object). Going
     * below zero, or starting saturated, saturates and warns (underflow).
     */
    @Port("include/linux/refcount.h:refcount_sub_and_test")
    public boolean refcountSubAndTest(int i) {
        int old = refs.getAndAdd(-i);
        if (old == i) {
            return true;
        }
        if (old < 0 || old - i < 0) {
            refcountWarnSaturate(REFCOUNT_SUB_UAF);
        }
        return false;
    }

    /** Decrements; true when the count reached zero (the caller frees the object). */
    @Port("include/linux/refcount.h:refcount_dec_and_test")
    public boolean refcountDecAndTest() {
        return refcountSubAndTest(1);
    }

    /** Decrements a count that must stay above zero; reaching zero (or below) saturates: a leak. */
    @Port("include/linux/refcount.h:refcount_dec")
    public void refcountDec() {
        int old = refs.getAndDecrement();
        if (old <= 1) {
            refcountWarnSaturate(REFCOUNT_DEC_LEAK);
        }
    }

    /** Takes the count from 1 to 0; false (and no change) for any other value. */
    @Port("lib/refcount.c:refcount_dec_if_one")
    public boolean refcountDecIfOne() {
        return refs.compareAndSet(1, 0);
    }

    /**
     * Decrements unless the count is 1; false (and no change) if it is 1. A saturated count is
     * left alone (true); a zero count warns (underflow) and is left at zero (true), without
     * saturating.
     */
    @Port("lib/refcount.c:refcount_dec_not_one")
    public boolean refcountDecNotOne() {
        int val = refs.get();
        while (true) {
            if (val == REFCOUNT_SATURATED) {
                return true;
            }
            if (val == 1) {
                return false;
            }
            // val - 1 > val as unsigned ints: only val == 0.
            if (val == 0) {
                Warn.WARN_ONCE(true, "refcount_t: underflow; use-after-free.");
                return true;
            }
            int witness = refs.compareAndExchange(val, val - 1);
            if (witness == val) {
                return true;
            }
            val = witness;
        }
    }

    @Override
    public String toString() {
        return "refcount(" + refs.get() + ")";
    }
}
