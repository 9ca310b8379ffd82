package org.iommu4j.base.trace;

import java.util.Arrays;
import java.util.List;

/**
 * One trace event declaration (the image of a TRACE_EVENT / trace-events line): a system, a
 * name, typed fields and a printf-style format applied to the fields in order.
 *
 * <p>Call sites guard argument building with {@link #enabled()}, a single volatile read, so a
 * disabled event costs nothing on a hot path:
 * <pre>{@code if (MAP.enabled()) MAP.emit(iova, paddr, size);}</pre>
 */
public final class TraceEvent {
    private final String system;
    private final String name;
    private final List<String> fields;
    private final String format;
    volatile boolean enabled;

    TraceEvent(String system, String name, String format, String... fields) {
        this.system = system;
        this.name = name;
        this.format = format;
        this.fields = List.copyOf(Arrays.asList(fields));
    }

    public String system() {
        return system;
    }

    public String name() {
        return name;
    }

    /** "system:name", the key sinks filter on. */
    public String fullName() {
        return system + ":" + name;
    }

    public List<String> fields() {
        return fields;
    }

    public String format() {
        return format;
    }

    /** True if at least one sink listens to this event. */
    public boolean enabled() {
        return enabled;
    }

    /** Records the event with its field values in declaration order (no-op when disabled). */
    public void emit(Object... args) {
        if (!enabled) {
            return;
        }
        if (args.length != fields.size()) {
            throw new AssertionError(fullName() + " takes " + fields.size() + " fields, got " + args.length);
        }
        Trace.dispatch(this, args);
    }

    @Override
    public String toString() {
        return fullName();
    }
}
