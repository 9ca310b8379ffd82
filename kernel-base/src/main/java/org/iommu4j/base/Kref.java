package org.iommu4j.base;

/** {@code struct kref} (include/linux/kref.h) over {@link Refcount}. */
@Port("include/linux/kref.h:kref")
public final class Kref {
    private final Refcount refcount = new Refcount(1);

    /** A kref starts at 1, as after {@link #krefInit}. */
    public Kref() {}

    @Port("include/linux/kref.h:kref_init")
    public void krefInit() {
        refcount.refcountSet(1);
    }

    @Port("include/linux/kref.h:kref_read")
    public int krefRead() {
        return refcount.refcountRead();
    }

    @Port("include/linux/kref.h:kref_get")
    public void krefGet() {
        refcount.refcountInc();
    }

    @Port("include/linux/kref.h:kref_get_unless_zero")
    public boolean krefGetUnlessZero() {
        return refcount.refcountIncNotZero();
    }

    /** Drops a reference; runs {@code release} and returns 1 when it was the last one. */
    @Port("include/linux/kref.h:kref_put")
    public int krefPut(Runnable release) {
        if (refcount.refcountDecAndTest()) {
            release.run();
            return 1;
        }
        return 0;
    }
}
