package org.iommu4j.base.hw;

import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;

import java.util.ArrayDeque;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;

/**
 * The interrupt controller and the kernel's genirq layer in one: virtual IRQ numbers mapped from
 * wired lines (GIC SPIs) or MSI vectors, {@code request_threaded_irq} semantics, and delivery.
 *
 * <p>Delivery model: {@link #raise} (a device asserting an edge, or an MSI write) queues the
 * interrupt; one delivery thread, standing for the CPU that takes interrupts, runs the hard
 * handler, and a handler returning IRQ_WAKE_THREAD wakes the action's own thread
 * ("irq/N-name"), which runs the threaded handler. An edge raised while the thread is already
 * flagged is merged, as IRQTF_RUNTHREAD merges. {@link #synchronizeIrq} and {@link #quiesce}
 * wait for handlers to finish, so tests never sleep.
 */
public final class IrqController {
    public static final int IRQF_TRIGGER_RISING = 0x00000001;
    public static final int IRQF_TRIGGER_HIGH = 0x00000004;
    public static final int IRQF_SHARED = 0x00000080;
    public static final int IRQF_ONESHOT = 0x00002000;

    /* enum irq_domain_bus_token (include/linux/irqdomain.h, v5.15): what a domain serves */
    public static final int DOMAIN_BUS_ANY = 0;
    public static final int DOMAIN_BUS_WIRED = 1;
    public static final int DOMAIN_BUS_GENERIC_MSI = 2;
    public static final int DOMAIN_BUS_PCI_MSI = 3;
    public static final int DOMAIN_BUS_PLATFORM_MSI = 4;
    public static final int DOMAIN_BUS_NEXUS = 5;

    /** One entry of {@code irq_domain_list}: the domain's fwnode, bus token and the domain itself. */
    private record DomainEntry(Object fwnode, int busToken, Object domain) {}

    private final class Desc {
        final int irq;
        /** The wired line (GIC INTID) behind the virq, or -1 (a virq no line raises). */
        volatile int hwirq;
        volatile IrqHandler handler;
        volatile IrqHandler threadFn;
        volatile String name;
        volatile Object devId;
        Thread thread;
        boolean runThread;
        boolean threadBusy;
        boolean stopThread;
        final AtomicLong count = new AtomicLong();
        final AtomicLong threadCount = new AtomicLong();
        final AtomicLong unhandled = new AtomicLong();
        volatile boolean disabled;
        /** Masks and unmasks the source (an MSI vector's Mask bit), or null. */
        volatile IrqChip chip;
        /** {@code IRQD_ACTIVATED}: the domain's activate op ran (and its deactivate not since). */
        volatile boolean activated;

        Desc(int irq, int hwirq) {
            this.irq = irq;
            this.hwirq = hwirq;
        }
    }

    private final String name;
    private final ConcurrentHashMap<Integer, Desc> descs = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Integer, Integer> hwirqToVirq = new ConcurrentHashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Integer> pending = new ArrayDeque<>();
    private int delivering;
    /**
     * {@code allocated_irqs} (kernel/irq/irqdesc.c): the virqs in use. A new one is the lowest
     * free run from 16 (the first numbers are the ones the board never hands out), and a freed
     * one ({@link #irqFreeDescs}) is taken again.
     */
    private final java.util.BitSet allocatedIrqs = new java.util.BitSet();
    private static final int FIRST_VIRQ = 16;
    private Thread cpu;
    /** Powered off ({@link #shutdown}): the delivery thread is gone and no interrupt is raised. */
    private boolean stopped;
    /** {@code irq_domain_list}, guarded by {@code irq_domain_mutex} (here the list's monitor). */
    private final java.util.List<DomainEntry> irqDomainList = new java.util.ArrayList<>();
    /** Edges on wired lines no virq was mapped to (the kernel never enabled them). */
    private final AtomicLong unmappedEdges = new AtomicLong();

    public IrqController(String name) {
        this.name = name;
    }

    /** Maps a hardware line number (e.g. GIC SPI + 32) to a virq, allocating it once. */
    @Port("kernel/irq/irqdomain.c:irq_create_mapping")
    public int irqCreateMapping(int hwirq) {
        return hwirqToVirq.computeIfAbsent(hwirq, h -> allocVirq(h));
    }

    /**
     * Binds a virq allocated without a line ({@link #allocVirqs}) to wired line {@code hwirq}:
     * what the GIC domain's alloc does for a virq a stacked domain (GICv2m) asks it for. 0;
     * -EINVAL if the virq is unknown or already bound, -EBUSY if the line already has a virq
     * (the kernel's hierarchy would silently take the line over; refusing shows the double use).
     */
    @Port("kernel/irq/irqdomain.c:irq_domain_associate")
    public int irqDomainAssociate(int virq, int hwirq) {
        Desc d = descs.get(virq);
        if (d == null || d.hwirq >= 0 || hwirq < 0) {
            return -EINVAL;
        }
        if (hwirqToVirq.putIfAbsent(hwirq, virq) != null) {
            return -EBUSY;
        }
        d.hwirq = hwirq;
        return 0;
    }

    /** Unbinds {@code virq} from its wired line; the line then raises nothing. */
    @Port("kernel/irq/irqdomain.c:irq_domain_disassociate")
    public void irqDomainDisassociate(int virq) {
        Desc d = descs.get(virq);
        if (d == null || d.hwirq < 0) {
            return;
        }
        hwirqToVirq.remove(d.hwirq, virq);
        d.hwirq = -1;
    }

    /** The virq wired line {@code hwirq} is mapped to, or 0 ({@code irq_find_mapping}). */
    @Port("include/linux/irqdomain.h:irq_find_mapping")
    public int irqFindMapping(int hwirq) {
        Integer v = hwirqToVirq.get(hwirq);
        return v == null ? 0 : v;
    }

    /**
     * Hardware side: an edge on wired line {@code hwirq} (a GIC INTID), as a device pulsing its
     * SPI. Raises the line's virq; a line the kernel never mapped is one it never enabled, so the
     * edge is dropped and counted ({@link #unmappedEdges}). True if a virq was raised.
     */
    public boolean raiseLine(int hwirq) {
        Integer virq = hwirqToVirq.get(hwirq);
        if (virq == null) {
            unmappedEdges.incrementAndGet();
            return false;
        }
        raise(virq);
        return true;
    }

    /** Edges dropped by {@link #raiseLine} on lines without a virq. */
    public long unmappedEdges() {
        return unmappedEdges.get();
    }

    /* ---------------- irq domains: the list firmware lookups search ---------------- */

    /**
     * Adds {@code domain} to {@code irq_domain_list} under {@code fwnode} (its firmware node,
     * e.g. the MSI controller's device-tree node) with bus token {@code busToken}: what
     * {@code __irq_domain_add} followed by {@code irq_domain_update_bus_token} leave behind.
     */
    @Port("kernel/irq/irqdomain.c:__irq_domain_add")
    public void irqDomainAdd(Object fwnode, int busToken, Object domain) {
        synchronized (irqDomainList) {
            irqDomainList.add(new DomainEntry(fwnode, busToken, domain));
        }
    }

    @Port("kernel/irq/irqdomain.c:irq_domain_remove")
    public void irqDomainRemove(Object domain) {
        synchronized (irqDomainList) {
            irqDomainList.removeIf(e -> e.domain() == domain);
        }
    }

    /**
     * The domain added under {@code fwnode} with {@code busToken} (any token for
     * DOMAIN_BUS_ANY), or null; null {@code fwnode} finds nothing. The first match wins, as the
     * kernel's list walk.
     */
    @Port("kernel/irq/irqdomain.c:irq_find_matching_fwspec")
    public Object irqFindMatchingHost(Object fwnode, int busToken) {
        if (fwnode == null) {
            return null;
        }
        synchronized (irqDomainList) {
            for (DomainEntry e : irqDomainList) {
                if (e.fwnode() == fwnode && (busToken == DOMAIN_BUS_ANY || e.busToken() == busToken)) {
                    return e.domain();
                }
            }
        }
        return null;
    }

    /**
     * Allocates {@code n} consecutive virqs with no wired line (MSI vectors): the lowest free run
     * of n, as __irq_alloc_descs finds it in {@code allocated_irqs}; returns the first.
     */
    @Port("kernel/irq/irqdesc.c:__irq_alloc_descs")
    public int allocVirqs(int n) {
        lock.lock();
        try {
            int first = lowestFreeRun(n);
            for (int i = 0; i < n; i++) {
                descs.put(first + i, new Desc(first + i, -1));
            }
            allocatedIrqs.set(first, first + n);
            return first;
        } finally {
            lock.unlock();
        }
    }

    private int allocVirq(int hwirq) {
        lock.lock();
        try {
            int v = lowestFreeRun(1);
            descs.put(v, new Desc(v, hwirq));
            allocatedIrqs.set(v);
            return v;
        } finally {
            lock.unlock();
        }
    }

    /** bitmap_find_next_zero_area from {@link #FIRST_VIRQ}: the first of n free virqs in a row. */
    private int lowestFreeRun(int n) {
        int start = allocatedIrqs.nextClearBit(FIRST_VIRQ);
        while (true) {
            int busy = allocatedIrqs.nextSetBit(start);
            if (busy < 0 || busy - start >= n) {
                return start;
            }
            start = allocatedIrqs.nextClearBit(busy);
        }
    }

    /**
     * Gives {@code cnt} virqs from {@code from} back: their descriptors go and the numbers are
     * free for the next allocation. A virq with an action still installed is left alone, as
     * a driver bug (the kernel would free the descriptor under it): WARN.
     */
    @Port("kernel/irq/irqdesc.c:irq_free_descs")
    public void irqFreeDescs(int from, int cnt) {
        lock.lock();
        try {
            for (int v = from; v < from + cnt; v++) {
                Desc d = descs.get(v);
                if (d == null || org.iommu4j.base.Warn.WARN(d.handler != null || d.thread != null,
                        "irq_free_descs: irq " + v + " still has an action")) {
                    continue;
                }
                descs.remove(v);
                allocatedIrqs.clear(v);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Gives {@code irq} a chip that masks it until a handler is installed and after it is freed. */
    @Port("kernel/irq/chip.c:irq_set_chip")
    public int irqSetChip(int irq, IrqChip chip) {
        Desc d = descs.get(irq);
        if (d == null) {
            return -EINVAL;
        }
        d.chip = chip;
        d.activated = false;
        return 0;
    }

    /**
     * Activates {@code irq} in its domain unless it is active already: the chip's
     * {@link IrqChip#activate} (for an MSI vector, its message written to the device). 0, or
     * -EINVAL for an unknown irq.
     */
    @Port("kernel/irq/irqdomain.c:irq_domain_activate_irq")
    public int irqDomainActivateIrq(int irq) {
        Desc d = descs.get(irq);
        if (d == null) {
            return -EINVAL;
        }
        synchronized (d) {
            if (!d.activated) {
                IrqChip chip = d.chip;
                if (chip != null) {
                    chip.activate(irq);
                }
                d.activated = true;
            }
        }
        return 0;
    }

    /** Deactivates an active {@code irq}: the chip's {@link IrqChip#deactivate} (an MSI vector's message zeroed). */
    @Port("kernel/irq/irqdomain.c:irq_domain_deactivate_irq")
    public void irqDomainDeactivateIrq(int irq) {
        Desc d = descs.get(irq);
        if (d == null) {
            return;
        }
        synchronized (d) {
            if (d.activated) {
                IrqChip chip = d.chip;
                if (chip != null) {
                    chip.deactivate(irq);
                }
                d.activated = false;
            }
        }
    }

    /** Whether {@code irq} is active in its domain ({@code IRQD_ACTIVATED}). */
    @Port("include/linux/irq.h:irqd_is_activated")
    public boolean irqdIsActivated(int irq) {
        Desc d = descs.get(irq);
        return d != null && d.activated;
    }

    /**
     * Installs a primary handler and/or a threaded handler. A null {@code handler} with a
     * thread function means "always wake the thread" and needs IRQF_ONESHOT, as in the kernel.
     */
    @Port("kernel/irq/manage.c:request_threaded_irq")
    public int requestThreadedIrq(int irq, IrqHandler handler, IrqHandler threadFn, int flags, String devname, Object devId) {
        Desc d = descs.get(irq);
        if (d == null || (handler == null && threadFn == null)) {
            return -EINVAL;
        }
        if (handler == null && (flags & IRQF_ONESHOT) == 0) {
            Printk.prErr("genirq: Threaded irq requested with handler=NULL and !ONESHOT for %s (irq %d)", devname, irq);
            return -EINVAL;
        }
        lock.lock();
        try {
            if (d.handler != null || d.threadFn != null) {
                return -EBUSY;
            }
            d.handler = handler != null ? handler : (i, dev) -> IrqHandler.IRQ_WAKE_THREAD;
            d.threadFn = threadFn;
            d.name = devname;
            d.devId = devId;
            d.disabled = false;
            if (threadFn != null) {
                d.stopThread = false;
                Thread t = new Thread(() -> irqThread(d), "irq/" + irq + "-" + devname);
                t.setDaemon(true);
                d.thread = t;
                t.start();
            }
        } finally {
            lock.unlock();
        }
        // __setup_irq: irq_activate (a vector deactivated by an earlier free_irq gets its
        // message again), then irq_startup
        irqDomainActivateIrq(irq);
        IrqChip chip = d.chip;
        if (chip != null) {
            chip.irqUnmask(irq); // irq_startup
        }
        return 0;
    }

    @Port("include/linux/interrupt.h:request_irq")
    public int requestIrq(int irq, IrqHandler handler, int flags, String devname, Object devId) {
        return requestThreadedIrq(irq, handler, null, flags, devname, devId);
    }

    /**
     * Removes the action: the irq is shut down (masked), running handlers are waited for, then
     * it is deactivated in its domain ({@code __free_irq}: "There is no interrupt on the fly
     * anymore. Deactivate it completely"; an MSI vector's message is zeroed). An irq with no
     * action of {@code devId} (never requested, freed already, another dev_id's) is a WARN
     * ("Trying to free already-free IRQ"), nothing changed; an unknown irq is nothing.
     */
    @Port("kernel/irq/manage.c:free_irq")
    public void freeIrq(int irq, Object devId) {
        Desc d = descs.get(irq);
        if (d == null) {
            return;
        }
        lock.lock();
        try {
            // __free_irq: the action of dev_id, or a WARN and nothing done
            if ((d.handler == null && d.threadFn == null) || d.devId != devId) {
                Warn.WARN(true, String.format(Locale.ROOT, "Trying to free already-free IRQ %d", irq));
                return;
            }
        } finally {
            lock.unlock();
        }
        IrqChip chip = d.chip;
        if (chip != null && d.handler != null) {
            chip.irqMask(irq); // irq_shutdown
        }
        synchronizeIrq(irq);
        Thread t;
        boolean hadAction;
        lock.lock();
        try {
            hadAction = d.handler != null || d.threadFn != null;
            d.handler = null;
            d.threadFn = null;
            d.stopThread = true;
            t = d.thread;
            d.thread = null;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (hadAction) {
            irqDomainDeactivateIrq(irq);
        }
    }

    @Port("kernel/irq/manage.c:disable_irq")
    public void disableIrq(int irq) {
        Desc d = descs.get(irq);
        if (d != null) {
            d.disabled = true;
            synchronizeIrq(irq);
        }
    }

    @Port("kernel/irq/manage.c:enable_irq")
    public void enableIrq(int irq) {
        Desc d = descs.get(irq);
        if (d != null) {
            d.disabled = false;
        }
    }

    /** A device asserts the interrupt (edge). Never blocks on handlers. */
    public void raise(int irq) {
        lock.lock();
        try {
            if (stopped) {
                return; // powered off: the edge reaches no CPU
            }
            pending.addLast(irq);
            if (cpu == null) {
                cpu = new Thread(this::deliveryLoop, name + "-cpu0-irq");
                cpu.setDaemon(true);
                cpu.start();
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Times the hard handler of {@code irq} ran. */
    public long count(int irq) {
        Desc d = descs.get(irq);
        return d == null ? 0 : d.count.get();
    }

    /** Times the threaded handler of {@code irq} ran. */
    public long threadCount(int irq) {
        Desc d = descs.get(irq);
        return d == null ? 0 : d.threadCount.get();
    }

    public boolean hasAction(int irq) {
        Desc d = descs.get(irq);
        return d != null && d.handler != null;
    }

    /** Waits until the hard and threaded handlers of {@code irq} are not running or pending. */
    @Port("kernel/irq/manage.c:synchronize_irq")
    public void synchronizeIrq(int irq) {
        Desc d = descs.get(irq);
        if (d == null) {
            return;
        }
        lock.lock();
        try {
            while (pending.contains(irq) || (delivering == irq) || d.runThread || d.threadBusy) {
                if (Thread.currentThread() == d.thread || Thread.currentThread() == cpu) {
                    return; // called from the handler itself
                }
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Frees every interrupt that has an action, joining its thread: what devres does for the
     * devices' {@code devm_request_*irq} when the whole board goes away.
     */
    public void freeAllIrqs() {
        for (Integer irq : new java.util.ArrayList<>(descs.keySet())) {
            Desc d = descs.get(irq);
            if (d != null && (d.handler != null || d.thread != null)) {
                freeIrq(irq, d.devId);
            }
        }
    }

    /**
     * Power off: the CPU's delivery thread ends (after what is pending is dropped) and later
     * edges go nowhere. For a machine being closed, after its drivers' IRQs were freed.
     */
    public void shutdown() {
        Thread t;
        lock.lock();
        try {
            stopped = true;
            pending.clear();
            t = cpu;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (t != null && t != Thread.currentThread()) {
            boolean interrupted = false;
            while (t.isAlive()) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits until every raised interrupt has been fully handled (hard and threaded). */
    public void quiesce() {
        lock.lock();
        try {
            while (!idleLocked()) {
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    private boolean idleLocked() {
        if (!pending.isEmpty() || delivering != 0) {
            return false;
        }
        for (Desc d : descs.values()) {
            if (d.runThread || d.threadBusy) {
                return false;
            }
        }
        return true;
    }

    private void deliveryLoop() {
        Trace0.setCpuZero();
        while (true) {
            int irq;
            lock.lock();
            try {
                while (pending.isEmpty()) {
                    if (stopped) {
                        return;
                    }
                    changed.awaitUninterruptibly();
                }
                irq = pending.pollFirst();
                delivering = irq;
            } finally {
                lock.unlock();
            }
            try {
                handleIrq(irq);
            } finally {
                lock.lock();
                try {
                    delivering = 0;
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    @Port("kernel/irq/handle.c:handle_irq_event")
    private void handleIrq(int irq) {
        Desc d = descs.get(irq);
        if (d == null || d.disabled) {
            return;
        }
        IrqHandler h = d.handler;
        if (h == null) {
            d.unhandled.incrementAndGet();
            return;
        }
        d.count.incrementAndGet();
        int ret;
        try {
            ret = h.handle(irq, d.devId);
        } catch (RuntimeException | AssertionError e) {
            org.iommu4j.base.Warn.WARN(true, "hard irq handler for irq " + irq + " threw " + e);
            return;
        }
        if (ret == IrqHandler.IRQ_NONE) {
            d.unhandled.incrementAndGet();
        }
        if (ret == IrqHandler.IRQ_WAKE_THREAD && d.threadFn != null) {
            lock.lock();
            try {
                d.runThread = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    @Port("kernel/irq/manage.c:irq_thread")
    private void irqThread(Desc d) {
        while (true) {
            IrqHandler fn;
            lock.lock();
            try {
                while (!d.runThread && !d.stopThread) {
                    changed.awaitUninterruptibly();
                }
                if (d.stopThread && !d.runThread) {
                    return;
                }
                d.runThread = false;
                d.threadBusy = true;
                fn = d.threadFn;
            } finally {
                lock.unlock();
            }
            try {
                if (fn != null) {
                    d.threadCount.incrementAndGet();
                    fn.handle(d.irq, d.devId);
                }
            } catch (RuntimeException | AssertionError e) {
                org.iommu4j.base.Warn.WARN(true, "threaded irq handler for irq " + d.irq + " threw " + e);
            } finally {
                lock.lock();
                try {
                    d.threadBusy = false;
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /** Tiny indirection so the delivery thread reports CPU 0 in traces. */
    private static final class Trace0 {
        static void setCpuZero() {
            org.iommu4j.base.trace.Trace.setCpu(0);
        }
    }
}
