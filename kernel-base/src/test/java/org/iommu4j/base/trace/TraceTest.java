package org.iommu4j.base.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The trace bus. Event names are unique to this class ("kbtest*") because the bus is global. */
@ExtendWith(NoWarnings.class)
class TraceTest {
    static final TraceEvent MAP = Trace.event("kbtest", "map", "IOMMU: iova=0x%016x - 0x%016x paddr=0x%016x size=%d",
            "iova", "iova_end", "paddr", "size");
    static final TraceEvent UNMAP = Trace.event("kbtest", "unmap", "IOMMU: iova=0x%016x size=%d", "iova", "size");
    static final TraceEvent HW = Trace.event("kbtest_hw", "smmuv3_cmdq_opcode", "<--- %s", "opcode");

    @Test
    void enabledOnlyWhileAMatchingSinkExists() {
        assertThat(MAP.enabled()).isFalse();
        try (var cap = Trace.capture("kbtest:map")) {
            assertThat(MAP.enabled()).isTrue();
            assertThat(UNMAP.enabled()).isFalse();
            assertThat(HW.enabled()).isFalse();
        }
        assertThat(MAP.enabled()).isFalse();
    }

    @Test
    void emitWhileDisabledRecordsNothing() {
        MAP.emit(1L, 2L, 3L, 4L);
        try (var cap = Trace.capture("kbtest:*")) {
            assertThat(cap.records()).isEmpty();
        }
    }

    @Test
    void captureKeepsTypedFieldsInOrder() {
        try (var cap = Trace.capture("kbtest:*")) {
            MAP.emit(0x1000L, 0x1fffL, 0x4000_0000L, 4096);
            UNMAP.emit(0x1000L, 4096);
            assertThat(cap.records()).extracting(r -> r.event().name()).containsExactly("map", "unmap");
            TraceRecord r = cap.of("kbtest:map").get(0);
            assertThat(r.field("iova")).isEqualTo(0x1000L);
            assertThat(r.longField("paddr")).isEqualTo(0x4000_0000L);
            assertThat(r.longField("size")).isEqualTo(4096);
            assertThat(r.message()).isEqualTo("IOMMU: iova=0x0000000000001000 - 0x0000000000001fff paddr=0x0000000040000000 size=4096");
            assertThat(cap.of("unmap")).hasSize(1);
            assertThatThrownBy(() -> r.field("nope")).isInstanceOf(IllegalArgumentException.class);
            cap.clear();
            assertThat(cap.records()).isEmpty();
        }
    }

    @Test
    void globFilters() {
        assertThat(Trace.filter("kbtest:*").test(MAP)).isTrue();
        assertThat(Trace.filter("kbtest:*").test(HW)).isFalse();
        assertThat(Trace.filter("smmuv3_*").test(HW)).isTrue();  // no ':' matches the name in any system
        assertThat(Trace.filter("smmuv3_*").test(MAP)).isFalse();
        assertThat(Trace.filter("*:map").test(MAP)).isTrue();
        assertThat(Trace.filter("*:map").test(UNMAP)).isFalse();
        assertThat(Trace.filter("*map").test(UNMAP)).isTrue();
        assertThat(Trace.filter("ma?").test(MAP)).isTrue();
        assertThat(Trace.filter("ma?").test(UNMAP)).isFalse();
        assertThat(Trace.filter("*").test(HW)).isTrue();
        assertThat(Trace.filter("nothing", "unmap").test(UNMAP)).isTrue();
        assertThat(Trace.filter().test(MAP)).isFalse();
        assertThat(Trace.glob("a*b*c", "aXXbYc")).isTrue();
        assertThat(Trace.glob("a*b*c", "aXXbYcd")).isFalse();
        assertThat(Trace.glob("", "")).isTrue();
    }

    @Test
    void anEventDeclaredAfterASinkIsEnabledAtOnce() {
        try (var cap = Trace.capture("kbtest_late:*")) {
            TraceEvent late = Trace.event("kbtest_late", "ev", "v=%d", "v");
            assertThat(late.enabled()).isTrue();
            late.emit(5);
            assertThat(cap.records()).singleElement().extracting(TraceRecord::message).isEqualTo("v=5");
        }
    }

    @Test
    void redeclaringReturnsTheSameEventAndDifferentFieldsAreRejected() {
        assertThat(Trace.event("kbtest", "unmap", "IOMMU: iova=0x%016x size=%d", "iova", "size")).isSameAs(UNMAP);
        assertThatThrownBy(() -> Trace.event("kbtest", "unmap", "x", "only"))
                .isInstanceOf(IllegalStateException.class);
        assertThat(Trace.events()).contains(MAP, UNMAP, HW);
        assertThat(MAP.fullName()).isEqualTo("kbtest:map");
        assertThat(MAP.system()).isEqualTo("kbtest");
        assertThat(MAP.fields()).containsExactly("iova", "iova_end", "paddr", "size");
        assertThat(MAP).hasToString("kbtest:map");
    }

    @Test
    void wrongArgumentCountIsAProgrammingError() {
        try (var cap = Trace.capture("kbtest:unmap")) {
            assertThatThrownBy(() -> UNMAP.emit(1L)).isInstanceOf(AssertionError.class).hasMessageContaining("takes 2 fields");
        }
    }

    @Test
    void ftraceLineFormat() throws Exception {
        List<String> lines = new ArrayList<>();
        Thread t = new Thread(() -> {
            Trace.setCpu(3);
            try (var cap = Trace.capture("kbtest:unmap")) {
                UNMAP.emit(0x2000L, 8192);
                lines.add(cap.records().get(0).ftrace());
                lines.add(String.valueOf(Thread.currentThread().getId()));
            }
        }, "a-very-long-thread-name-xyz");
        t.start();
        t.join();
        String line = lines.get(0);
        long tid = Long.parseLong(lines.get(1));
        // "            task-pid   [cpu] sec.usec: event: message", task cut to 16 characters.
        assertThat(line).matches("a-very-long-thre-" + tid + " *\\[003\\] +\\d+\\.\\d{6}: unmap: IOMMU: iova=0x0000000000002000 size=8192");
        try (var cap = Trace.capture("kbtest:unmap")) {
            UNMAP.emit(1L, 2);
            TraceRecord r = cap.records().get(0);
            assertThat(r.ftrace()).isEqualTo(r.toString());
            assertThat(r.task()).isEqualTo(Thread.currentThread().getName());
            assertThat(r.cpu()).isZero();
        }
    }

    @Test
    void customSinkReceivesOnTheEmittingThread() {
        List<String> threads = new ArrayList<>();
        try (var sink = Trace.subscribe(Trace.filter("kbtest_hw:*"), r -> threads.add(Thread.currentThread().getName()))) {
            HW.emit("CMD_SYNC");
        }
        assertThat(threads).containsExactly(Thread.currentThread().getName());
        assertThat(HW.enabled()).isFalse();
    }

    @Test
    void overlappingSinksKeepTheEventEnabledUntilTheLastCloses() {
        var a = Trace.capture("kbtest:map");
        var b = Trace.capture("*:map");
        a.close();
        assertThat(MAP.enabled()).isTrue();
        MAP.emit(1L, 2L, 3L, 4L);
        assertThat(b.records()).hasSize(1);
        assertThat(a.records()).isEmpty();
        b.close();
        assertThat(MAP.enabled()).isFalse();
    }
}
