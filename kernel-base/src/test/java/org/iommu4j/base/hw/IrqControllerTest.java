package org.iommu4j.base.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.hw.IrqController.IRQF_ONESHOT;
import static org.iommu4j.base.hw.IrqHandler.*;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** genirq semantics on the simulated interrupt controller; all waits are on events. */
@ExtendWith(NoWarnings.class)
class IrqControllerTest {
    final IrqController irqs = new IrqController("testgic");

    private static void await(CountDownLatch l) {
        try {
            assertThat(l.await(30, TimeUnit.SECONDS)).as("latch").isTrue();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * allocated_irqs: a new run of virqs is the lowest free one, so numbers given back by
     * irq_free_descs are taken again; a virq that still has an action is not freed (WARN).
     */
    @Test
    void freedVirqsAreTakenAgainLowestFirst() {
        int a = irqs.allocVirqs(2);
        int b = irqs.allocVirqs(2);
        assertThat(b).isEqualTo(a + 2);
        irqs.irqFreeDescs(a, 2);
        assertThat(irqs.irqSetChip(a, null)).isEqualTo(-EINVAL); // no descriptor any more
        // a run of 3 does not fit in the hole of 2: it goes after b's
        assertThat(irqs.allocVirqs(3)).isEqualTo(b + 2);
        assertThat(irqs.allocVirqs(1)).isEqualTo(a);
        assertThat(irqs.allocVirqs(1)).isEqualTo(a + 1);

        assertThat(irqs.requestIrq(b, (i, dev) -> IRQ_HANDLED, 0, "busy", this)).isZero();
        irqs.irqFreeDescs(b, 1);
        assertThat(Warn.drain()).singleElement().asString().contains("irq " + b + " still has an action");
        assertThat(irqs.hasAction(b)).isTrue();
        assertThat(irqs.allocVirqs(1)).isNotEqualTo(b);
        irqs.freeIrq(b, this);
    }

    /** Power off: the delivery thread ends, and an edge raised afterwards runs no handler. */
    @Test
    void shutdownEndsTheDeliveryThreadAndLaterEdgesGoNowhere() throws Exception {
        int irq = irqs.irqCreateMapping(41);
        List<Thread> cpu = new CopyOnWriteArrayList<>();
        assertThat(irqs.requestIrq(irq, (i, dev) -> {
            cpu.add(Thread.currentThread());
            return IRQ_HANDLED;
        }, IrqController.IRQF_TRIGGER_RISING, "uart", this)).isZero();
        irqs.raise(irq);
        irqs.quiesce();
        assertThat(cpu).hasSize(1);
        irqs.freeIrq(irq, this);
        irqs.shutdown();
        assertThat(cpu.get(0).isAlive()).isFalse();
        irqs.raise(irq);
        irqs.quiesce();
        assertThat(irqs.count(irq)).isEqualTo(1);
        assertThat(cpu).hasSize(1);
    }

    @Test
    void mappingsAreStable() {
        int a = irqs.irqCreateMapping(106);
        assertThat(irqs.irqCreateMapping(106)).isEqualTo(a);
        int b = irqs.irqCreateMapping(107);
        assertThat(b).isNotEqualTo(a);
        int first = irqs.allocVirqs(3);
        assertThat(first).isNotIn(a, b);
        assertThat(irqs.hasAction(a)).isFalse();
    }

    @Test
    void hardHandlerRunsOnTheCpuThreadWithDevId() {
        int irq = irqs.irqCreateMapping(40);
        Object cookie = new Object();
        List<Object> seen = new CopyOnWriteArrayList<>();
        assertThat(irqs.requestIrq(irq, (i, dev) -> {
            seen.add(i);
            seen.add(dev);
            seen.add(Thread.currentThread().getName());
            return IRQ_HANDLED;
        }, IrqController.IRQF_TRIGGER_RISING, "uart", cookie)).isZero();
        assertThat(irqs.hasAction(irq)).isTrue();
        irqs.raise(irq);
        irqs.quiesce();
        assertThat(seen).containsExactly(irq, cookie, "testgic-cpu0-irq");
        assertThat(irqs.count(irq)).isEqualTo(1);
        assertThat(irqs.threadCount(irq)).isZero();
    }

    @Test
    void wakeThreadRunsTheThreadedHandlerOnItsOwnThread() {
        int irq = irqs.irqCreateMapping(41);
        AtomicReference<String> threadName = new AtomicReference<>();
        assertThat(irqs.requestThreadedIrq(irq, (i, d) -> IRQ_WAKE_THREAD, (i, d) -> {
            threadName.set(Thread.currentThread().getName());
            return IRQ_HANDLED;
        }, 0, "arm-smmu-v3-evtq", null)).isZero();
        irqs.raise(irq);
        irqs.quiesce();
        assertThat(threadName.get()).isEqualTo("irq/" + irq + "-arm-smmu-v3-evtq");
        assertThat(irqs.count(irq)).isEqualTo(1);
        assertThat(irqs.threadCount(irq)).isEqualTo(1);
    }

    @Test
    void hardHandlerReturningHandledDoesNotWakeTheThread() {
        int irq = irqs.irqCreateMapping(42);
        irqs.requestThreadedIrq(irq, (i, d) -> IRQ_HANDLED, (i, d) -> IRQ_HANDLED, 0, "x", null);
        irqs.raise(irq);
        irqs.raise(irq);
        irqs.quiesce();
        assertThat(irqs.count(irq)).isEqualTo(2);
        assertThat(irqs.threadCount(irq)).isZero();
    }

    @Test
    void threadOnlyRequestNeedsOneshot() {
        int irq = irqs.irqCreateMapping(43);
        assertThat(irqs.requestThreadedIrq(irq, null, (i, d) -> IRQ_HANDLED, 0, "no-oneshot-dev", null)).isEqualTo(-EINVAL);
        assertThat(Printk.grep("Threaded irq requested with handler=NULL and !ONESHOT for no-oneshot-dev")).isNotEmpty();
        assertThat(irqs.hasAction(irq)).isFalse();
        assertThat(irqs.requestThreadedIrq(irq, null, (i, d) -> IRQ_HANDLED, IRQF_ONESHOT, "oneshot", null)).isZero();
        irqs.raise(irq);
        irqs.quiesce();
        assertThat(irqs.threadCount(irq)).isEqualTo(1);
    }

    @Test
    void invalidRequestsAndDoubleRequest() {
        int irq = irqs.irqCreateMapping(44);
        assertThat(irqs.requestIrq(9999, (i, d) -> IRQ_HANDLED, 0, "x", null)).isEqualTo(-EINVAL);
        assertThat(irqs.requestThreadedIrq(irq, null, null, IRQF_ONESHOT, "x", null)).isEqualTo(-EINVAL);
        assertThat(irqs.requestIrq(irq, (i, d) -> IRQ_HANDLED, 0, "first", null)).isZero();
        assertThat(irqs.requestIrq(irq, (i, d) -> IRQ_HANDLED, 0, "second", null)).isEqualTo(-EBUSY);
        assertThat(irqs.requestThreadedIrq(irq, null, (i, d) -> IRQ_HANDLED, IRQF_ONESHOT, "third", null)).isEqualTo(-EBUSY);
    }

    @Test
    void freeIrqRemovesTheActionAndAllowsANewRequest() {
        int irq = irqs.irqCreateMapping(45);
        irqs.requestThreadedIrq(irq, (i, d) -> IRQ_WAKE_THREAD, (i, d) -> IRQ_HANDLED, 0, "old", null);
        irqs.raise(irq);
        irqs.freeIrq(irq, null); // waits for the raised interrupt to be handled first
        assertThat(irqs.count(irq)).isEqualTo(1);
        assertThat(irqs.threadCount(irq)).isEqualTo(1);
        assertThat(irqs.hasAction(irq)).isFalse();
        irqs.raise(irq);
        irqs.quiesce();
        assertThat(irqs.count(irq)).isEqualTo(1); // nobody home: unhandled
        assertThat(irqs.requestIrq(irq, (i, d) -> IRQ_HANDLED, 0, "new", null)).isZero();
        irqs.raise(irq);
        irqs.quiesce();
        assertThat(irqs.count(irq)).isEqualTo(2);
        irqs.freeIrq(9999, null); // unknown irq: nothing happens
    }

    @Test
    void synchronizeIrqWaitsForARunningHandler() throws Exception {
        int irq = irqs.irqCreateMapping(46);
        CountDownLatch inHandler = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        irqs.requestThreadedIrq(irq, (i, d) -> IRQ_WAKE_THREAD, (i, d) -> {
            inHandler.countDown();
            await(release);
            return IRQ_HANDLED;
        }, 0, "slow", null);
        irqs.raise(irq);
        await(inHandler);
        CountDownLatch synced = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            irqs.synchronizeIrq(irq);
            synced.countDown();
        });
        t.start();
        while (t.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
        }
        assertThat(synced.getCount()).isEqualTo(1);
        release.countDown();
        t.join();
        assertThat(irqs.threadCount(irq)).isEqualTo(1);
        irqs.synchronizeIrq(9999); // unknown irq returns at once
    }

    @Test
    void edgesRaisedWhileTheThreadRunsAreMergedIntoOneMoreRun() {
        int irq = irqs.irqCreateMapping(47);
        int marker = irqs.irqCreateMapping(147);
        CountDownLatch firstRun = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch markerSeen = new CountDownLatch(1);
        irqs.requestThreadedIrq(irq, (i, d) -> IRQ_WAKE_THREAD, (i, d) -> {
            firstRun.countDown();
            await(release);
            return IRQ_HANDLED;
        }, 0, "merge", null);
        irqs.requestIrq(marker, (i, d) -> {
            markerSeen.countDown();
            return IRQ_HANDLED;
        }, 0, "marker", null);
        irqs.raise(irq);
        await(firstRun);
        for (int k = 0; k < 5; k++) {
            irqs.raise(irq);
        }
        // Delivery is in order on one CPU: once the marker's handler runs, all five edges
        // have been fully handled by the hard handler.
        irqs.raise(marker);
        await(markerSeen);
        release.countDown();
        irqs.quiesce();
        assertThat(irqs.count(irq)).isEqualTo(6);
        assertThat(irqs.threadCount(irq)).isEqualTo(2);
    }

    @Test
    void disabledIrqIsNotDelivered() {
        int irq = irqs.irqCreateMapping(48);
        irqs.requestIrq(irq, (i, d) -> IRQ_HANDLED, 0, "dis", null);
        irqs.disableIrq(irq);
        irqs.raise(irq);
        irqs.quiesce();
        assertThat(irqs.count(irq)).isZero();
        irqs.enableIrq(irq);
        irqs.raise(irq);
        irqs.quiesce();
        assertThat(irqs.count(irq)).isEqualTo(1);
        irqs.disableIrq(9999);
        irqs.enableIrq(9999);
    }

    @Test
    void aThrowingHandlerWarnsAndDeliveryContinues() {
        int irq = irqs.irqCreateMapping(49);
        int other = irqs.irqCreateMapping(50);
        irqs.requestThreadedIrq(irq, (i, d) -> {
            throw new IllegalStateException("hard boom");
        }, (i, d) -> IRQ_HANDLED, 0, "boom", null);
        irqs.requestThreadedIrq(other, (i, d) -> IRQ_WAKE_THREAD, (i, d) -> {
            throw new IllegalStateException("thread boom");
        }, 0, "boom2", null);
        irqs.raise(irq);
        irqs.raise(other);
        irqs.raise(other);
        irqs.quiesce();
        assertThat(irqs.count(other)).isEqualTo(2);
        assertThat(Warn.drain()).anySatisfy(w -> assertThat(w).contains("hard boom"))
                .anySatisfy(w -> assertThat(w).contains("thread boom"));
    }

    @Test
    void quiesceWithNothingPendingReturnsAtOnce() {
        irqs.quiesce();
        assertThat(irqs.count(12345)).isZero();
        assertThat(irqs.threadCount(12345)).isZero();
    }

    @Test
    void raisingAVectorNobodyAllocatedIsDropped() {
        irqs.raise(12345);
        irqs.raise(-1);
        irqs.quiesce();
        assertThat(irqs.count(12345)).isZero();
        assertThat(irqs.hasAction(-1)).isFalse();
    }

    @Test
    void freeAllIrqsStopsEveryHandlerThread() throws InterruptedException {
        int a = irqs.irqCreateMapping(50);
        int b = irqs.irqCreateMapping(51);
        irqs.requestThreadedIrq(a, (i, d) -> IRQ_WAKE_THREAD, (i, d) -> IRQ_HANDLED, 0, "free-all-a", "devA");
        irqs.requestIrq(b, (i, d) -> IRQ_HANDLED, 0, "free-all-b", "devB");
        irqs.raise(a);
        irqs.quiesce();
        irqs.freeAllIrqs();
        assertThat(irqs.hasAction(a)).isFalse();
        assertThat(irqs.hasAction(b)).isFalse();
        assertThat(Thread.getAllStackTraces().keySet()).noneSatisfy(t -> assertThat(t.getName()).contains("free-all-a"));
        irqs.raise(a);
        irqs.quiesce();
        assertThat(irqs.threadCount(a)).isEqualTo(1);
    }

    /**
     * v5.15's __free_irq looks for the action of {@code dev_id}: an irq without one (never
     * requested, freed already, or requested for another dev_id) is "Trying to free already-free
     * IRQ" with a WARN, and nothing changes: another dev_id's action stays and still handles.
     */
    @Test
    void freeIrqOfAnAlreadyFreeIrqOrAnotherDevIdWarnsAndChangesNothing() {
        int irq = irqs.irqCreateMapping(46);
        irqs.freeIrq(irq, null);
        assertThat(Warn.drain()).singleElement().asString().contains("Trying to free already-free IRQ " + irq);

        Object owner = new Object();
        assertThat(irqs.requestIrq(irq, (i, d) -> IRQ_HANDLED, 0, "owned", owner)).isZero();
        irqs.freeIrq(irq, new Object());
        assertThat(Warn.drain()).singleElement().asString().contains("Trying to free already-free IRQ " + irq);
        assertThat(irqs.hasAction(irq)).isTrue();
        irqs.raise(irq);
        irqs.quiesce();
        assertThat(irqs.count(irq)).isEqualTo(1);

        irqs.freeIrq(irq, owner);
        assertThat(irqs.hasAction(irq)).isFalse();
        assertThat(Warn.drain()).isEmpty();
        irqs.freeIrq(irq, owner);
        assertThat(Warn.drain()).singleElement().asString().contains("Trying to free already-free IRQ " + irq);
    }
}
