package org.iommu4j.base;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The kernel log (printk, dev_info & co): a process-wide ring of dmesg-style lines
 * {@code "[    0.123456] arm-smmu-v3 9050000.smmuv3: ias 44-bit, ..."} plus live consumers
 * (the CLI prints them, tests capture them).
 */
public final class Printk {
    private Printk() {}

    public static final String KERN_EMERG = "0";
    public static final String KERN_ALERT = "1";
    public static final String KERN_CRIT = "2";
    public static final String KERN_ERR = "3";
    public static final String KERN_WARNING = "4";
    public static final String KERN_NOTICE = "5";
    public static final String KERN_INFO = "6";
    public static final String KERN_DEBUG = "7";

    /** One log line with its level. */
    public record Line(long timestampNanos, String level, String text) {
        public String dmesg() {
            long us = timestampNanos / 1000;
            return String.format(Locale.ROOT, "[%5d.%06d] %s", us / 1_000_000, us % 1_000_000, text);
        }

        @Override
        public String toString() {
            return dmesg();
        }
    }

    private static final int RING = 65536;
    private static final List<Line> LOG = new CopyOnWriteArrayList<>();
    private static final List<Consumer<Line>> CONSUMERS = new CopyOnWriteArrayList<>();
    private static final long T0 = System.nanoTime();
    private static volatile boolean debug;

    /** Whether KERN_DEBUG lines (dev_dbg) are kept. */
    public static void setDebug(boolean on) {
        debug = on;
    }

    public static void printk(String level, String text) {
        if (level.equals(KERN_DEBUG) && !debug) {
            return;
        }
        Line l = new Line(System.nanoTime() - T0, level, text);
        if (LOG.size() >= RING) {
            LOG.remove(0);
        }
        LOG.add(l);
        for (Consumer<Line> c : CONSUMERS) {
            c.accept(l);
        }
    }

    public static void prInfo(String fmt, Object... args) {
        printk(KERN_INFO, String.format(Locale.ROOT, fmt, args));
    }

    public static void prWarn(String fmt, Object... args) {
        printk(KERN_WARNING, String.format(Locale.ROOT, fmt, args));
    }

    public static void prErr(String fmt, Object... args) {
        printk(KERN_ERR, String.format(Locale.ROOT, fmt, args));
    }

    public static void prDebug(String fmt, Object... args) {
        if (debug) {
            printk(KERN_DEBUG, String.format(Locale.ROOT, fmt, args));
        }
    }

    /** Lines so far. */
    public static List<Line> lines() {
        return List.copyOf(LOG);
    }

    /** Texts of the lines so far containing {@code needle}. */
    public static List<String> grep(String needle) {
        List<String> out = new ArrayList<>();
        for (Line l : LOG) {
            if (l.text().contains(needle)) {
                out.add(l.text());
            }
        }
        return out;
    }

    public static void clear() {
        LOG.clear();
    }

    /** Adds a live consumer; close the returned handle to remove it. */
    public static AutoCloseable follow(Consumer<Line> consumer) {
        CONSUMERS.add(consumer);
        return () -> CONSUMERS.remove(consumer);
    }
}
