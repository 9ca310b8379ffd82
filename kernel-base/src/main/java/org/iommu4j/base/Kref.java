package org.iommu4j.base;

/** {@code struct kref} (include/linux/kref.h) over {@link Refcount}. */
@Port("include/linux/kref.h:kref")
public final class Kref {
    private final Refcount refcount = new Refcount(1);

    /** A kref starts at 1 ({@code kref_init}). */
    @Port("include/linux/kref.h:kref_init")
    public Kref() {}

    @Port("include/linux/kref.h:kref_init")
    public void kref_init() {
        refcount.refcount_set(1);
    }

    @Port("include/linux/kref.h:kref_read")
    public int kref_read() {
        return refcount.refcount_read();
    }

    @Port("include/linux/kref.h:kref_get")
    public void kref_get() {
        refcount.refcount_inc();
    }

    @Port("include/linux/kref.h:kref_get_unless_zero")
    public boolean kref_get_unless_zero() {
        return refcount.refcount_inc_not_zero();
    }

    /** Drops a reference; runs {@code release} and returns 1 when it was the last one. */
    @Port("include/linux/kref.h:kref_put")
    public int kref_put(Runnable release) {
        if (refcount.refcount_dec_and_test()) {
            release.run();
            return 1;
        }
        return 0;
    }
}
