package org.iommu4j.base.trace;

import java.util.Locale;

/**
 * One recorded trace event: when, on which thread and "CPU", and its field values.
 *
 * @param timestampNanos nanoseconds since the trace clock started
 * @param task the thread name (ftrace's comm)
 * @param pid the thread id
 * @param cpu the simulated CPU number (0 for threads that are not simulated CPUs)
 * @param event the declaration
 * @param args field values in declaration order
 */
public record TraceRecord(long timestampNanos, String task, long pid, int cpu, TraceEvent event, Object[] args) {

    /** The value of the named field. */
    public Object field(String name) {
        int i = event.fields().indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException(event.fullName() + " has no field " + name);
        }
        return args[i];
    }

    /** Numeric field value. */
    public long longField(String name) {
        return ((Number) field(name)).longValue();
    }

    /** The formatted payload, e.g. {@code "IOMMU: iova=0x0000000000001000 ... size=4096"}. */
    public String message() {
        return String.format(Locale.ROOT, event.format(), args);
    }

    /** ftrace's text line: {@code "  task-pid  [cpu] time: event: message"}. */
    public String ftrace() {
        String comm = task.length() > 16 ? task.substring(0, 16) : task;
        long us = timestampNanos / 1000;
        return String.format(Locale.ROOT, "%16s-%-5d [%03d] %5d.%06d: %s: %s",
                comm, pid, cpu, us / 1_000_000, us % 1_000_000, event.name(), message());
    }

    @Override
    public String toString() {
        return ftrace();
    }
}
