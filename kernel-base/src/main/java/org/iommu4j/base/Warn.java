package org.iommu4j.base;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceEvent;

/**
 * {@code WARN_ON} and friends (include/asm-generic/bug.h). A warning never stops the caller: it
 * returns the condition, logs a "WARNING: at Class.method(File:line)" line to the kernel log,
 * emits the {@code kernel:warning} trace event and is kept in a process-wide list that the test
 * extension {@code org.iommu4j.base.test.NoWarnings} checks after each test, so an unexpected
 * warning fails the test that caused it.
 */
public final class Warn {
    private Warn() {}

    public static final TraceEvent WARNING = Trace.event("kernel", "warning", "WARNING: at %s: %s", "site", "msg");

    private static final List<String> WARNINGS = new CopyOnWriteArrayList<>();
    private static final Set<String> ONCE = ConcurrentHashMap.newKeySet();
    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);

    @Port("include/asm-generic/bug.h:WARN_ON")
    public static boolean WARN_ON(boolean condition) {
        if (condition) {
            report(callSite(), "WARN_ON");
        }
        return condition;
    }

    /** Warns at most once per call site (the caller's class and line). */
    @Port("include/asm-generic/bug.h:WARN_ON_ONCE")
    public static boolean WARN_ON_ONCE(boolean condition) {
        if (condition) {
            String site = callSite();
            if (ONCE.add(site)) {
                report(site, "WARN_ON_ONCE");
            }
        }
        return condition;
    }

    @Port("include/asm-generic/bug.h:WARN")
    public static boolean WARN(boolean condition, String message) {
        if (condition) {
            report(callSite(), message);
        }
        return condition;
    }

    @Port("include/asm-generic/bug.h:WARN_ONCE")
    public static boolean WARN_ONCE(boolean condition, String message) {
        if (condition) {
            String site = callSite();
            if (ONCE.add(site)) {
                report(site, message);
            }
        }
        return condition;
    }

    /** Warnings raised since the last {@link #drain}, oldest first. */
    public static List<String> warnings() {
        return List.copyOf(WARNINGS);
    }

    /** Returns and forgets the warnings raised so far. */
    public static List<String> drain() {
        List<String> out = new ArrayList<>(WARNINGS);
        WARNINGS.removeAll(out);
        return out;
    }

    private static void report(String site, String message) {
        String line = "WARNING: at " + site + ": " + message;
        WARNINGS.add(line);
        Printk.printk(Printk.KERN_WARNING, line);
        if (WARNING.enabled()) {
            WARNING.emit(site, message);
        }
    }

    private static String callSite() {
        return WALKER.walk(frames -> frames
                .filter(f -> f.getDeclaringClass() != Warn.class && f.getDeclaringClass() != Bits.class
                        && f.getDeclaringClass() != Refcount.class && f.getDeclaringClass() != Kref.class)
                .findFirst()
                .map(f -> f.getClassName() + "." + f.getMethodName() + "(" + f.getFileName() + ":" + f.getLineNumber() + ")")
                .orElse("?"));
    }
}
