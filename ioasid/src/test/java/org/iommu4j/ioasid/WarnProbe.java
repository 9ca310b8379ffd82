package org.iommu4j.ioasid;

import org.iommu4j.base.Warn;

/**
 * Whether kernel-base's WARN machinery works in this JVM. kernel-base's Warn.callSite uses a
 * StackWalker without RETAIN_CLASS_REFERENCE (reported to the integrator), so every WARN currently
 * throws UnsupportedOperationException; tests of WARN paths assume this probe and run as soon as
 * kernel-base is fixed.
 */
final class WarnProbe {
    private WarnProbe() {}

    static boolean works() {
        try {
            Warn.WARN(true, "ioasid WarnProbe");
            Warn.drain();
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }
}
