package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** lib/ratelimit.c's ___ratelimit: a burst per interval, and the suppressed count told once the next one starts. */
class RatelimitStateTest {
    @Test
    void burstPerIntervalThenTheSuppressedCountIsTold() {
        AtomicLong now = new AtomicLong(1_000);
        RatelimitState rs = new RatelimitState(100, 3);
        rs.clock = now::get;
        Printk.clear();
        int passed = 0;
        for (int i = 0; i < 5; i++) {
            passed += rs.ratelimit("f") ? 1 : 0;
        }
        assertThat(passed).isEqualTo(3);
        now.addAndGet(100); // begin + interval is not yet past
        assertThat(rs.ratelimit("f")).isFalse();
        assertThat(Printk.grep("callbacks suppressed")).isEmpty();
        now.addAndGet(1);
        assertThat(rs.ratelimit("f")).isTrue();
        assertThat(Printk.grep("f: 3 callbacks suppressed")).hasSize(1);
        RatelimitState never = new RatelimitState(0, 0);
        for (int i = 0; i < 20; i++) {
            assertThat(never.ratelimit("g")).isTrue();
        }
        RatelimitState mute = new RatelimitState(100, 0);
        mute.clock = now::get;
        assertThat(mute.ratelimit("h")).isFalse();
    }
}
