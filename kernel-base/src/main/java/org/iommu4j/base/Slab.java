package org.iommu4j.base;

import java.util.function.Supplier;

/**
 * kmalloc/kzalloc (mm/slab_common.c) for Java objects: the object is created by its constructor,
 * but the allocation site is a fault-injection point ({@link FaultInject}) so ported code keeps
 * its {@code -ENOMEM} paths and tests can exercise them.
 */
public final class Slab {
    private Slab() {}

    /** Returns a new object, or null if fault injection fails this allocation. */
    @Port("include/linux/slab.h:kzalloc")
    public static <T> T kzalloc(Supplier<T> ctor, int gfp) {
        return kmallocShouldFail(gfp) ? null : ctor.get();
    }

    /** The injection point alone, for sites that allocate several objects at once. */
    @Port("mm/failslab.c:should_failslab")
    public static boolean kmallocShouldFail(int gfp) {
        return (gfp & Gfp.__GFP_NOFAIL) == 0 && FaultInject.shouldFail("kmalloc");
    }
}
