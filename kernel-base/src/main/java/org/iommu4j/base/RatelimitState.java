package org.iommu4j.base;

import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * {@code struct ratelimit_state} with lib/ratelimit.c's {@code ___ratelimit}: at most
 * {@code burst} passes per {@code interval}; when a new interval starts, "func: N callbacks
 * suppressed" is printed at warning level for what the last one refused. Time is read from
 * {@link #clock} in nanoseconds (the kernel counts jiffies).
 */
@Port("include/linux/ratelimit_types.h:ratelimit_state")
public final class RatelimitState {
    /** DEFAULT_RATELIMIT_INTERVAL, 5 * HZ, in nanoseconds. */
    public static final long DEFAULT_RATELIMIT_INTERVAL = 5_000_000_000L;
    /** DEFAULT_RATELIMIT_BURST. */
    public static final int DEFAULT_RATELIMIT_BURST = 10;

    private final long intervalNanos;
    private final int burst;
    private long begin;
    private boolean started;
    private int printed;
    private int missed;
    /** The time source; tests may replace it. */
    public volatile LongSupplier clock = System::nanoTime;

    /** DEFINE_RATELIMIT_STATE(name, interval, burst); an interval of 0 never limits. */
    public RatelimitState(long intervalNanos, int burst) {
        this.intervalNanos = intervalNanos;
        this.burst = burst;
    }

    /** True if the caller ({@code func}, named in the "callbacks suppressed" line) may print. */
    @Port("lib/ratelimit.c:___ratelimit")
    public synchronized boolean ratelimit(String func) {
        if (intervalNanos == 0) {
            return true;
        }
        long now = clock.getAsLong();
        if (!started) {
            begin = now;
            started = true;
        }
        // the interval has run out (time_is_before_jiffies(begin + interval))
        if (now - (begin + intervalNanos) > 0) {
            if (missed != 0) {
                Printk.printk(Printk.KERN_WARNING, String.format(Locale.ROOT, "%s: %d callbacks suppressed", func, missed));
                missed = 0;
            }
            begin = now;
            printed = 0;
        }
        if (burst != 0 && burst > printed) {
            printed++;
            return true;
        }
        missed++;
        return false;
    }
}
