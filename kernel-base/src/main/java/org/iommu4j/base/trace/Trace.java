package org.iommu4j.base.trace;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The trace bus: the one place kernel tracepoints and hardware-model trace events go.
 *
 * <p>Events are declared once ({@link #event}) in a per-module registry class. A sink subscribes
 * with a filter on "system:name"; an event is enabled exactly while some sink's filter matches
 * it, so disabled events cost one volatile read at the call site.
 *
 * <p>The bus is process-wide like the kernel's trace buffer. Sinks run on the emitting thread,
 * synchronously; they must be quick and must not call back into traced code.
 */
public final class Trace {
    private Trace() {}

    private static final Map<String, TraceEvent> EVENTS = new ConcurrentHashMap<>();
    private static final List<Sink> SINKS = new CopyOnWriteArrayList<>();
    private static final long T0 = System.nanoTime();
    private static final ThreadLocal<Integer> CPU = ThreadLocal.withInitial(() -> 0);
    /** Advanced after any event's enabled state may have changed; see {@link #generation()}. */
    private static volatile long generation;

    /**
     * A number that only grows: it advances after any event is enabled or disabled (a sink came or
     * went, or an event was declared while a sink listened), and never goes back (callers may add
     * it to other growing counters and still see every change). A hot path that skips its trace
     * checks while it serves from a front cache stamps the cache's entries with this value and
     * drops any whose stamp differs, so turning tracing on takes effect at once.
     */
    public static long generation() {
        return generation;
    }

    private static synchronized void advanceGeneration() {
        generation++;
    }

    /** A subscriber. */
    public static final class Sink implements AutoCloseable {
        private final Predicate<TraceEvent> filter;
        private final Consumer<TraceRecord> consumer;

        private Sink(Predicate<TraceEvent> filter, Consumer<TraceRecord> consumer) {
            this.filter = filter;
            this.consumer = consumer;
        }

        /** Unsubscribes. */
        @Override
        public void close() {
            SINKS.remove(this);
            recomputeEnabled();
        }
    }

    /** A sink that keeps every matching record in memory, for tests and the CLI. */
    public static final class Capture implements AutoCloseable {
        private final List<TraceRecord> records = new CopyOnWriteArrayList<>();
        private final Sink sink;

        private Capture(Predicate<TraceEvent> filter) {
            this.sink = subscribe(filter, records::add);
        }

        public List<TraceRecord> records() {
            return List.copyOf(records);
        }

        /** Records of one event ("system:name" or bare "name"). */
        public List<TraceRecord> of(String event) {
            List<TraceRecord> out = new ArrayList<>();
            for (TraceRecord r : records) {
                if (r.event().fullName().equals(event) || r.event().name().equals(event)) {
                    out.add(r);
                }
            }
            return out;
        }

        public void clear() {
            records.clear();
        }

        @Override
        public void close() {
            sink.close();
        }
    }

    /**
     * Declares (or returns the already declared) event system:name. Declaring the same name twice
     * with different fields is a programming error.
     */
    public static TraceEvent event(String system, String name, String format, String... fields) {
        TraceEvent ev = EVENTS.computeIfAbsent(system + ":" + name, k -> new TraceEvent(system, name, format, fields));
        if (ev.fields().size() != fields.length) {
            throw new IllegalStateException("trace event " + ev.fullName() + " declared twice with different fields");
        }
        for (Sink s : SINKS) {
            if (s.filter.test(ev)) {
                ev.enabled = true;
                advanceGeneration();
            }
        }
        return ev;
    }

    /** All declared events. */
    public static List<TraceEvent> events() {
        return List.copyOf(EVENTS.values());
    }

    /** Subscribes {@code consumer} to every event the filter accepts. */
    public static Sink subscribe(Predicate<TraceEvent> filter, Consumer<TraceRecord> consumer) {
        Sink s = new Sink(filter, consumer);
        SINKS.add(s);
        recomputeEnabled();
        return s;
    }

    /**
     * A filter from glob patterns like ftrace's set_event: "iommu:*", "smmuv3_*", "*:map", "*".
     * A pattern without ':' matches the event name in any system.
     */
    public static Predicate<TraceEvent> filter(String... patterns) {
        return ev -> {
            for (String p : patterns) {
                String target = p.contains(":") ? ev.fullName() : ev.name();
                if (glob(p, target)) {
                    return true;
                }
            }
            return false;
        };
    }

    /** Captures every event matching the patterns until closed. */
    public static Capture capture(String... patterns) {
        return new Capture(filter(patterns));
    }

    /** Sets the simulated CPU number reported for the current thread. */
    public static void setCpu(int cpu) {
        CPU.set(cpu);
    }

    static void dispatch(TraceEvent ev, Object[] args) {
        Thread t = Thread.currentThread();
        TraceRecord r = new TraceRecord(System.nanoTime() - T0, t.getName(), t.getId(), CPU.get(), ev, args.clone());
        for (Sink s : SINKS) {
            if (s.filter.test(ev)) {
                s.consumer.accept(r);
            }
        }
    }

    private static void recomputeEnabled() {
        for (TraceEvent ev : EVENTS.values()) {
            boolean on = false;
            for (Sink s : SINKS) {
                if (s.filter.test(ev)) {
                    on = true;
                    break;
                }
            }
            ev.enabled = on;
        }
        advanceGeneration();
    }

    static boolean glob(String pattern, String s) {
        return globAt(pattern, 0, s, 0);
    }

    private static boolean globAt(String p, int pi, String s, int si) {
        while (pi < p.length()) {
            char c = p.charAt(pi);
            if (c == '*') {
                for (int k = si; k <= s.length(); k++) {
                    if (globAt(p, pi + 1, s, k)) {
                        return true;
                    }
                }
                return false;
            }
            if (si >= s.length() || (c != '?' && c != s.charAt(si))) {
                return false;
            }
            pi++;
            si++;
        }
        return si == s.length();
    }
}
