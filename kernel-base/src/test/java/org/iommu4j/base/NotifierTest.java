package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.*;
import static org.iommu4j.base.Notifier.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class NotifierTest {

    private static NotifierBlock recording(List<String> log, String name, int priority, int ret) {
        return NotifierBlock.of(priority, (action, data) -> {
            log.add(name + ":" + action + ":" + data);
            return ret;
        });
    }

    @Test
    void constants() {
        assertThat(NOTIFY_DONE).isEqualTo(0);
        assertThat(NOTIFY_OK).isEqualTo(1);
        assertThat(NOTIFY_STOP_MASK).isEqualTo(0x8000);
        assertThat(NOTIFY_BAD).isEqualTo(0x8002);
        assertThat(NOTIFY_STOP).isEqualTo(0x8001);
    }

    @Test
    void errnoRoundTrip() {
        assertThat(notifierFromErrno(0)).isEqualTo(NOTIFY_OK);
        assertThat(notifierToErrno(NOTIFY_OK)).isZero();
        assertThat(notifierToErrno(NOTIFY_DONE)).isZero();
        assertThat(notifierToErrno(NOTIFY_STOP)).isZero();
        assertThat(notifierFromErrno(-EINVAL)).isEqualTo(NOTIFY_STOP_MASK | 23);
        for (int e : new int[] {EPERM, ENOMEM, EBUSY, EINVAL, ENODEV, EPROBE_DEFER, MAX_ERRNO}) {
            int ret = notifierFromErrno(-e);
            assertThat(ret & NOTIFY_STOP_MASK).isNotZero();
            assertThat(notifierToErrno(ret)).isEqualTo(-e);
        }
        // NOTIFY_BAD carries no errno beyond "something failed": -EPERM, as in the kernel.
        assertThat(notifierToErrno(NOTIFY_BAD)).isEqualTo(-EPERM);
    }

    @Test
    void callsInPriorityOrderHigherFirstEqualInRegistrationOrder() {
        List<String> log = new ArrayList<>();
        Notifier.Atomic head = new Notifier.Atomic();
        assertThat(head.isEmpty()).isTrue();
        assertThat(head.atomicNotifierCallChain(1, "x")).isEqualTo(NOTIFY_DONE);
        head.atomicNotifierChainRegister(recording(log, "low", -5, NOTIFY_OK));
        head.atomicNotifierChainRegister(recording(log, "mid1", 0, NOTIFY_DONE));
        head.atomicNotifierChainRegister(recording(log, "high", 10, NOTIFY_OK));
        head.atomicNotifierChainRegister(recording(log, "mid2", 0, NOTIFY_OK));
        assertThat(head.size()).isEqualTo(4);
        // The chain returns the last callback's value.
        assertThat(head.atomicNotifierCallChain(7, "d")).isEqualTo(NOTIFY_OK);
        assertThat(log).containsExactly("high:7:d", "mid1:7:d", "mid2:7:d", "low:7:d");
    }

    @Test
    void stopMaskEndsTheWalk() {
        List<String> log = new ArrayList<>();
        Notifier.Blocking head = new Notifier.Blocking();
        head.blockingNotifierChainRegister(recording(log, "a", 3, NOTIFY_OK));
        head.blockingNotifierChainRegister(recording(log, "b", 2, NOTIFY_STOP));
        head.blockingNotifierChainRegister(recording(log, "c", 1, NOTIFY_OK));
        assertThat(head.blockingNotifierCallChain(1, null)).isEqualTo(NOTIFY_STOP);
        assertThat(log).containsExactly("a:1:null", "b:1:null");

        log.clear();
        Notifier.Atomic bad = new Notifier.Atomic();
        bad.atomicNotifierChainRegister(recording(log, "veto", 0, notifierFromErrno(-EBUSY)));
        bad.atomicNotifierChainRegister(recording(log, "after", -1, NOTIFY_OK));
        int ret = bad.atomicNotifierCallChain(2, null);
        assertThat(notifierToErrno(ret)).isEqualTo(-EBUSY);
        assertThat(log).containsExactly("veto:2:null");
    }

    @Test
    void unregisterRemovesAndReportsMissing() {
        List<String> log = new ArrayList<>();
        Notifier.Atomic head = new Notifier.Atomic();
        NotifierBlock a = recording(log, "a", 0, NOTIFY_OK);
        NotifierBlock b = recording(log, "b", 0, NOTIFY_OK);
        head.atomicNotifierChainRegister(a);
        head.atomicNotifierChainRegister(b);
        assertThat(head.atomicNotifierChainUnregister(a)).isZero();
        assertThat(head.atomicNotifierChainUnregister(a)).isEqualTo(-ENOENT);
        head.atomicNotifierCallChain(0, "z");
        assertThat(log).containsExactly("b:0:z");
        Notifier.Blocking bh = new Notifier.Blocking();
        assertThat(bh.blockingNotifierChainUnregister(a)).isEqualTo(-ENOENT);
    }

    /** v5.15 WARNs on a double registration but returns 0 (the -EEXIST came in v5.17). */
    @Test
    void registeringTwiceWarnsAndReturnsZero() {
        Notifier.Blocking head = new Notifier.Blocking();
        List<String> log = new ArrayList<>();
        NotifierBlock a = recording(log, "a", 0, NOTIFY_OK);
        assertThat(head.blockingNotifierChainRegister(a)).isZero();
        assertThat(head.blockingNotifierChainRegister(recording(log, "b", 0, NOTIFY_OK))).isZero();
        assertThat(head.blockingNotifierChainRegister(a)).isZero();
        assertThat(head.size()).isEqualTo(2);
        assertThat(Warn.drain()).singleElement().asString().contains("double register detected");
        head.blockingNotifierCallChain(1, "x");
        assertThat(log).containsExactly("a:1:x", "b:1:x");
        Notifier.Atomic atomic = new Notifier.Atomic();
        assertThat(atomic.atomicNotifierChainRegister(a)).isZero();
        assertThat(atomic.atomicNotifierChainRegister(a)).isZero();
        assertThat(atomic.size()).isEqualTo(1);
        assertThat(Warn.drain()).singleElement().asString().contains("double register detected");
    }

    @Test
    void defaultPriorityIsZero() {
        NotifierBlock nb = (action, data) -> NOTIFY_DONE;
        assertThat(nb.priority()).isZero();
    }

    /** A block that counts its call, says it is in, and returns NOTIFY_OK once {@code release} opens. */
    private static NotifierBlock slowBlock(AtomicInteger calls, CountDownLatch inCallback, CountDownLatch release) {
        return NotifierBlock.of(0, (a, d) -> {
            calls.incrementAndGet();
            inCallback.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            return NOTIFY_OK;
        });
    }

    @Test
    void blockingUnregisterWaitsForARunningCallback() throws Exception {
        Notifier.Blocking head = new Notifier.Blocking();
        CountDownLatch inCallback = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        NotifierBlock slow = slowBlock(calls, inCallback, release);
        head.blockingNotifierChainRegister(slow);
        Thread caller = new Thread(() -> head.blockingNotifierCallChain(1, null));
        caller.start();
        inCallback.await();
        CountDownLatch unregistered = new CountDownLatch(1);
        Thread remover = new Thread(() -> {
            head.blockingNotifierChainUnregister(slow);
            unregistered.countDown();
        });
        remover.start();
        // Wait (without sleeping) until the remover is parked on the rwsem.
        while (remover.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
        }
        assertThat(unregistered.getCount()).isEqualTo(1);
        assertThat(head.size()).isEqualTo(1);
        release.countDown();
        remover.join();
        caller.join();
        assertThat(head.isEmpty()).isTrue();
        assertThat(head.blockingNotifierCallChain(1, null)).isEqualTo(NOTIFY_DONE);
        assertThat(calls).hasValue(1);
    }

    /**
     * atomic_notifier_chain_unregister ends with synchronize_rcu: it returns only after a call
     * chain walk already running the block has finished; a walk starting later skips it.
     */
    @Test
    void atomicUnregisterWaitsForAWalkInProgress() throws Exception {
        Notifier.Atomic head = new Notifier.Atomic();
        CountDownLatch inCallback = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        NotifierBlock slow = slowBlock(calls, inCallback, release);
        head.atomicNotifierChainRegister(slow);
        Thread caller = new Thread(() -> head.atomicNotifierCallChain(1, null));
        caller.setDaemon(true); // left blocked if an assertion below fails
        caller.start();
        inCallback.await();
        CountDownLatch unregistered = new CountDownLatch(1);
        int[] ret = {1};
        Thread remover = new Thread(() -> {
            ret[0] = head.atomicNotifierChainUnregister(slow);
            unregistered.countDown();
        });
        remover.setDaemon(true);
        remover.start();
        // Without sleeping: the remover either parks in the grace period or (wrongly) finishes.
        Thread.State st;
        while ((st = remover.getState()) != Thread.State.WAITING && st != Thread.State.TERMINATED) {
            Thread.onSpinWait();
        }
        assertThat(st).isEqualTo(Thread.State.WAITING);
        assertThat(unregistered.getCount()).isEqualTo(1);
        // Already off the chain: a new walk does not call it.
        assertThat(head.isEmpty()).isTrue();
        assertThat(head.atomicNotifierCallChain(2, null)).isEqualTo(NOTIFY_DONE);
        release.countDown();
        remover.join();
        caller.join();
        assertThat(ret[0]).isZero();
        assertThat(calls).hasValue(1);
    }

    /** A callback may unregister itself from its own walk without waiting for itself. */
    @Test
    void atomicCallbackMayUnregisterItself() {
        Notifier.Atomic head = new Notifier.Atomic();
        List<String> log = new ArrayList<>();
        NotifierBlock[] self = new NotifierBlock[1];
        self[0] = NotifierBlock.of(0, (a, d) -> {
            log.add("once:" + a + ":" + head.atomicNotifierChainUnregister(self[0]));
            return NOTIFY_OK;
        });
        head.atomicNotifierChainRegister(self[0]);
        head.atomicNotifierChainRegister(recording(log, "b", -1, NOTIFY_OK));
        head.atomicNotifierCallChain(1, "x");
        head.atomicNotifierCallChain(2, "y");
        assertThat(log).containsExactly("once:1:0", "b:1:x", "b:2:y");
    }

    /**
     * notifier_call_chain_robust: when a block stops the "up" event, the blocks called before it
     * get the "down" event (nr_calls - 1 of them), the stopping one and later ones do not.
     */
    @Test
    void robustChainRollsBackTheBlocksCalledBeforeTheVeto() {
        List<String> log = new ArrayList<>();
        Notifier.Blocking head = new Notifier.Blocking();
        head.blockingNotifierChainRegister(recording(log, "a", 3, NOTIFY_OK));
        head.blockingNotifierChainRegister(recording(log, "b", 2, NOTIFY_DONE));
        NotifierBlock veto = NotifierBlock.of(1, (a, d) -> {
            log.add("veto:" + a + ":" + d);
            return a == 10 ? notifierFromErrno(-EBUSY) : NOTIFY_OK;
        });
        head.blockingNotifierChainRegister(veto);
        head.blockingNotifierChainRegister(recording(log, "late", 0, NOTIFY_OK));
        int ret = head.blockingNotifierCallChainRobust(10, 11, "p");
        assertThat(notifierToErrno(ret)).isEqualTo(-EBUSY);
        assertThat(log).containsExactly("a:10:p", "b:10:p", "veto:10:p", "a:11:p", "b:11:p");

        // Nobody objects: one walk, no rollback.
        log.clear();
        assertThat(head.blockingNotifierCallChainRobust(20, 21, "q")).isEqualTo(NOTIFY_OK);
        assertThat(log).containsExactly("a:20:q", "b:20:q", "veto:20:q", "late:20:q");

        // The first block vetoes: nothing to roll back.
        log.clear();
        Notifier.Atomic atomic = new Notifier.Atomic();
        atomic.atomicNotifierChainRegister(veto);
        atomic.atomicNotifierChainRegister(recording(log, "after", -1, NOTIFY_OK));
        assertThat(notifierToErrno(atomic.atomicNotifierCallChainRobust(10, 11, "r"))).isEqualTo(-EBUSY);
        assertThat(log).containsExactly("veto:10:r");
        assertThat(new Notifier.Blocking().blockingNotifierCallChainRobust(1, 2, null)).isEqualTo(NOTIFY_DONE);
    }
}
