package org.iommu4j.iommu;

import org.iommu4j.base.Warn;

/**
 * Whether kernel-base's WARN machinery works in this JVM: its Warn.callSite uses a StackWalker
 * without RETAIN_CLASS_REFERENCE, so a WARN currently throws UnsupportedOperationException (owned
 * by kernel-base; reported). Tests that drive a WARN path assume this probe and run once fixed.
 */
public final class WarnProbe {
    private WarnProbe() {}

    public static boolean works() {
        try {
            Warn.WARN(true, "iommu-core WarnProbe");
            Warn.drain();
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }
}
