package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * arm_smmu_evtq_thread logs an event nobody handled only while its ratelimit state (interval
 * 5 s, burst 10) allows; the next interval starts with "arm_smmu_evtq_thread: N callbacks
 * suppressed". Every event is still consumed (and decoded here).
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3EvtqRatelimitTest {

    @Test
    void unhandledEventsAreLoggedAtMostTenTimesPerFiveSeconds() throws Exception {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        AtomicLong now = new AtomicLong(1_000_000_000L);
        tb.drv.evtqRs.clock = now::get;
        Device dev = tb.master("dev0", 0x20, 0);
        ArmSmmuDomain d = tb.dmaDomain();
        assertThat(tb.drv.armSmmuAttachDev(d, dev)).isZero();

        List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable f = Printk.follow(l -> log.add(l.text()))) {
            /* 13 unmapped reads, each a translation fault no handler takes */
            for (int i = 0; i < 13; i++) {
                DmaResult r = tb.dma(0x20, DmaTransaction.NO_SSID, 0x100000L + i * 0x1000L, DmaTransaction.ACC_READ);
                assertThat(r.status).isEqualTo(DmaResult.ABORT);
                tb.board.irqs.quiesce();
            }
            assertThat(tb.drv.decodedEvents).hasSize(13);
            assertThat(log.stream().filter(l -> l.contains("event 0x10 received:")).count()).isEqualTo(10);
            assertThat(log).noneMatch(l -> l.contains("callbacks suppressed"));

            /* Still inside the interval: suppressed too */
            now.addAndGet(4_000_000_000L);
            tb.dma(0x20, DmaTransaction.NO_SSID, 0x200000L, DmaTransaction.ACC_READ);
            tb.board.irqs.quiesce();
            assertThat(log.stream().filter(l -> l.contains("event 0x10 received:")).count()).isEqualTo(10);

            /* Past 5 s from the first: the count of refused ones, then the event is logged again */
            now.addAndGet(1_500_000_000L);
            tb.dma(0x20, DmaTransaction.NO_SSID, 0x300000L, DmaTransaction.ACC_READ);
            tb.board.irqs.quiesce();
        }
        assertThat(tb.drv.decodedEvents).hasSize(15);
        assertThat(log).contains("arm_smmu_evtq_thread: 4 callbacks suppressed");
        int sup = log.indexOf("arm_smmu_evtq_thread: 4 callbacks suppressed");
        assertThat(log.subList(sup, log.size())).anyMatch(l -> l.contains("event 0x10 received:"));
        assertThat(log.stream().filter(l -> l.contains("event 0x10 received:")).count()).isEqualTo(11);
        tb.model.close();
    }
}
