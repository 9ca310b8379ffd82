package org.iommu4j.iopf;

import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.EOPNOTSUPP;
import static org.iommu4j.base.Gfp.GFP_KERNEL;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQ;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_INVALID;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_PASID_VALID;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_SUCCESS;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_VERSION_1;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.Port;
import org.iommu4j.base.Slab;
import org.iommu4j.base.Warn;
import org.iommu4j.base.Workqueue;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.Device;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuDevFaultHandler;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuFault;
import org.iommu4j.iommu.IommuPageResponse;

/**
 * drivers/iommu/io-pgfault.c (v5.15): recoverable I/O page faults, from the IOMMU driver's fault
 * report to the page response.
 *
 * <p>The flow. An IOMMU driver that takes page requests (PRI) or stalled transactions allocates
 * an {@link IopfQueue} ({@link #iopfQueueAlloc}), adds each device to it
 * ({@link #iopfQueueAddDevice}) and registers {@link #iommuQueueIopf} as the device's fault
 * handler with {@code iommu_register_device_fault_handler(dev, IoPgfault::iommu_queue_iopf, dev)}.
 * Its fault thread then reports each request with {@code iommu_report_device_fault}, which calls
 * {@link #iommuQueueIopf} under {@code dev->iommu->lock}: a request that is not the last of its
 * page request group is kept aside (the device's partial list); the last one gathers the
 * partials of its group and queues the whole group on the queue's workqueue. A worker handles
 * the group's faults in order ({@link #iopfHandleGroup}) and answers the group with one page
 * response ({@code iommu_page_response}, i.e. the driver's PRI_RESP or RESUME).
 *
 * <p>Who resolves a fault. Linux v5.15 calls iommu-sva-lib's {@code iommu_sva_find} and
 * {@code handle_mm_fault} from here, which makes io-pgfault and iommu-sva depend on each other.
 * This port breaks that cycle the way later kernels (v6.2+) do: each fault is passed to the
 * {@link IommuDomain#iopfHandler} of the device's domain with its {@link IommuDomain#faultData};
 * the handler returns an {@code enum iommu_page_response_code}. iommu-sva installs its handler
 * there (the v5.15 {@code iopf_handle_single}); a domain without one answers every group
 * {@code IOMMU_PAGE_RESP_INVALID}, as v5.15 does for a fault it cannot resolve.
 *
 * <p>Locking: {@link IopfQueue#lock} is taken before {@code dev->iommu->lock} (add, remove);
 * the device's partial list is guarded by {@code dev->iommu->lock}, which the fault report
 * holds while it calls {@link #iommuQueueIopf}. Groups run on the queue's unbound (unordered)
 * workqueue: requests of one group stay in order, groups may complete out of order.
 */
public final class IoPgfault {
    private IoPgfault() {}

    /** {@code struct iopf_queue}: a workqueue and the devices that report faults into it. */
    @Port("drivers/iommu/io-pgfault.c:iopf_queue")
    public static final class IopfQueue {
        final Workqueue wq;
        /** The devices added to this queue. Guarded by {@link #lock}. */
        final List<IopfDeviceParam> devices = new ArrayList<>();
        final ReentrantLock lock = new ReentrantLock();

        IopfQueue(Workqueue wq) {
            this.wq = wq;
        }

        /** The workqueue's name ({@code iopf_queue/NAME}). */
        public String name() {
            return wq.name();
        }

        /** Number of devices added to the queue. */
        public int nrDevices() {
            lock.lock();
            try {
                return devices.size();
            } finally {
                lock.unlock();
            }
        }
    }

    /** {@code struct iopf_device_param}: a device's link to its queue and its partial requests. */
    @Port("drivers/iommu/io-pgfault.c:iopf_device_param")
    static final class IopfDeviceParam {
        final Device dev;
        final IopfQueue queue;
        /**
         * Requests of groups whose last request has not arrived, most recent first (the kernel's
         * list_add). Guarded by {@code dev->iommu->lock}.
         */
        final List<IopfFault> partial = new ArrayList<>();

        IopfDeviceParam(Device dev, IopfQueue queue) {
            this.dev = dev;
            this.queue = queue;
        }
    }

    /** {@code struct iopf_fault}: one page request, kept on a partial list or in a group. */
    @Port("drivers/iommu/io-pgfault.c:iopf_fault")
    static final class IopfFault {
        final IommuFault fault;

        IopfFault(IommuFault fault) {
            this.fault = fault;
        }
    }

    /** {@code struct iopf_group}: the requests of one page request group, last one at the end. */
    @Port("drivers/iommu/io-pgfault.c:iopf_group")
    static final class IopfGroup {
        final IopfFault last_fault;
        final List<IopfFault> faults = new ArrayList<>();
        final Workqueue.WorkStruct work = new Workqueue.WorkStruct(() -> iopfHandleGroup(this));
        final Device dev;

        IopfGroup(Device dev, IommuFault last) {
            this.dev = dev;
            this.last_fault = new IopfFault(last);
        }
    }

    /**
     * Answers a group: one page response for its last request, with the group's status, and the
     * PASID when the request carried one and the response must too.
     */
    @Port("drivers/iommu/io-pgfault.c:iopf_complete_group")
    static int iopfCompleteGroup(Device dev, IopfFault iopf, int status) {
        IommuFault.PageRequest prm = iopf.fault.prm;
        IommuPageResponse resp = new IommuPageResponse();
        resp.version = IOMMU_PAGE_RESP_VERSION_1;
        resp.pasid = prm.pasid;
        resp.grpid = prm.grpid;
        resp.code = status;
        if ((prm.flags & IOMMU_FAULT_PAGE_REQUEST_PASID_VALID) != 0
                && (prm.flags & IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID) != 0) {
            resp.flags = IOMMU_PAGE_RESP_PASID_VALID;
        }
        return Iommu.iommuPageResponse(dev, resp);
    }

    /**
     * The work of one group: each request, in order, goes to the device domain's
     * {@link IommuDomain#iopfHandler}; the first status other than SUCCESS sticks and the
     * requests after it are not handled; then the group is answered.
     */
    @Port("drivers/iommu/io-pgfault.c:iopf_handle_group")
    static void iopfHandleGroup(IopfGroup group) {
        int status = IOMMU_PAGE_RESP_SUCCESS;
        IommuDomain domain = Iommu.iommuGetDomainForDev(group.dev);
        IommuDevFaultHandler handler = domain == null ? null : domain.iopfHandler;
        if (handler == null) {
            DevPrintk.devWarn(group.dev, "iopf (pasid %d) without domain attached or handler installed",
                    group.last_fault.fault.prm.pasid);
            status = IOMMU_PAGE_RESP_INVALID;
        }
        for (IopfFault iopf : group.faults) {
            // After the first failure the group's status is final: later requests are skipped.
            if (status == IOMMU_PAGE_RESP_SUCCESS) {
                status = handler.handle(iopf.fault, domain.faultData);
            }
        }
        iopfCompleteGroup(group.dev, group.last_fault, status);
    }

    /**
     * The device fault handler IOMMU drivers register for recoverable faults ({@code cookie} is
     * the device). Called by {@code iommu_report_device_fault} with {@code dev->iommu->lock} held.
     * A request that is not the last of its group is kept until the last one arrives; the last
     * one queues its whole group for {@link #iopfHandleGroup}.
     *
     * @return 0; -EOPNOTSUPP (not a page request); -ENODEV (the device is in no queue); -ENOMEM
     *     (then the caller answers the request itself, and the group's partial requests are
     *     dropped)
     */
    @Port("drivers/iommu/io-pgfault.c:iommu_queue_iopf")
    public static int iommuQueueIopf(IommuFault fault, Object cookie) {
        Device dev = (Device) cookie;
        DevIommu param = DevIommu.devIommu(dev);
        Warn.WARN_ON_ONCE(param != null && !param.lock.isHeldByCurrentThread());

        if (fault.type != IOMMU_FAULT_PAGE_REQ) {
            // Only page requests are handled here (-EOPNOTSUPP for anything else).
            return -EOPNOTSUPP;
        }
        // With dev->iommu->lock held the device cannot leave its queue, nor the queue go away.
        IopfDeviceParam iopfParam = param == null ? null : (IopfDeviceParam) param.iopfParam;
        if (iopfParam == null) {
            return -ENODEV;
        }
        if ((fault.prm.flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE) == 0) {
            IopfFault iopf = Slab.kzalloc(() -> new IopfFault(fault.copy()), GFP_KERNEL);
            if (iopf == null) {
                return -ENOMEM;
            }
            // Group still open: park the request on the partial list.
            iopfParam.partial.add(0, iopf);
            return 0;
        }
        IopfGroup group = Slab.kzalloc(() -> new IopfGroup(dev, fault.copy()), GFP_KERNEL);
        if (group == null) {
            // The caller answers the request; the group's partial requests must not linger.
            iopfParam.partial.removeIf(iopf -> iopf.fault.prm.grpid == fault.prm.grpid);
            return -ENOMEM;
        }
        // The group's partial requests go before the last one. Each moved request is put at the
        // head in turn, as list_move does, so a group reads in the partial list's reverse
        // order: the order in which the requests arrived.
        for (Iterator<IopfFault> it = iopfParam.partial.iterator(); it.hasNext(); ) {
            IopfFault iopf = it.next();
            if (iopf.fault.prm.grpid == fault.prm.grpid) {
                it.remove();
                group.faults.add(0, iopf);
            }
        }
        group.faults.add(group.last_fault);
        iopfParam.queue.wq.queueWork(group.work);
        return 0;
    }

    /**
     * Waits until every group queued for the device so far has been handled and answered. The
     * driver calls it before freeing a PASID, after draining its own hardware queue, so that no
     * fault of the old address space reaches the PASID's next user.
     *
     * @return 0; -ENODEV (no IOMMU data, or the device is in no queue)
     */
    @Port("drivers/iommu/io-pgfault.c:iopf_queue_flush_dev")
    public static int iopfQueueFlushDev(Device dev) {
        DevIommu param = DevIommu.devIommu(dev);
        if (param == null) {
            return -ENODEV;
        }
        param.lock.lock();
        try {
            IopfDeviceParam iopfParam = (IopfDeviceParam) param.iopfParam;
            if (iopfParam == null) {
                return -ENODEV;
            }
            iopfParam.queue.wq.flushWorkqueue();
            return 0;
        } finally {
            param.lock.unlock();
        }
    }

    /**
     * Drops every partial request of every device of the queue: after the hardware queue
     * overflowed, the last requests of their groups may have been lost.
     *
     * @return 0; -EINVAL (no queue)
     */
    @Port("drivers/iommu/io-pgfault.c:iopf_queue_discard_partial")
    public static int iopfQueueDiscardPartial(IopfQueue queue) {
        if (queue == null) {
            return -EINVAL;
        }
        queue.lock.lock();
        try {
            for (IopfDeviceParam iopfParam : queue.devices) {
                DevIommu param = DevIommu.devIommu(iopfParam.dev);
                param.lock.lock();
                try {
                    iopfParam.partial.clear();
                } finally {
                    param.lock.unlock();
                }
            }
        } finally {
            queue.lock.unlock();
        }
        return 0;
    }

    /**
     * Makes the device a producer of faults for the queue.
     *
     * @return 0; -ENODEV (no IOMMU data); -ENOMEM; -EBUSY (already in a queue)
     */
    @Port("drivers/iommu/io-pgfault.c:iopf_queue_add_device")
    public static int iopfQueueAddDevice(IopfQueue queue, Device dev) {
        DevIommu param = DevIommu.devIommu(dev);
        if (param == null) {
            return -ENODEV;
        }
        IopfDeviceParam iopfParam = Slab.kzalloc(() -> new IopfDeviceParam(dev, queue), GFP_KERNEL);
        if (iopfParam == null) {
            return -ENOMEM;
        }
        queue.lock.lock();
        param.lock.lock();
        try {
            if (param.iopfParam != null) {
                return -EBUSY;
            }
            queue.devices.add(0, iopfParam);
            param.iopfParam = iopfParam;
            return 0;
        } finally {
            param.lock.unlock();
            queue.lock.unlock();
        }
    }

    /**
     * Removes the device from the queue and drops its partial requests. The caller makes sure no
     * new fault arrives and that the queued ones were flushed.
     *
     * @return 0; -EINVAL (no IOMMU data or queue, or the device is not in this queue)
     */
    @Port("drivers/iommu/io-pgfault.c:iopf_queue_remove_device")
    public static int iopfQueueRemoveDevice(IopfQueue queue, Device dev) {
        DevIommu param = DevIommu.devIommu(dev);
        if (param == null || queue == null) {
            return -EINVAL;
        }
        IopfDeviceParam iopfParam;
        queue.lock.lock();
        param.lock.lock();
        try {
            iopfParam = (IopfDeviceParam) param.iopfParam;
            if (iopfParam == null || iopfParam.queue != queue) {
                return -EINVAL;
            }
            queue.devices.remove(iopfParam);
            param.iopfParam = null;
        } finally {
            param.lock.unlock();
            queue.lock.unlock();
        }
        // Requests whose group never completed go with the device.
        iopfParam.partial.clear();
        return 0;
    }

    /**
     * A fault queue whose groups run on an unbound workqueue named {@code iopf_queue/NAME}: the
     * requests of one group are ordered, different groups need not be.
     *
     * @return the queue, or null when out of memory
     */
    @Port("drivers/iommu/io-pgfault.c:iopf_queue_alloc")
    public static IopfQueue iopfQueueAlloc(String name) {
        if (Slab.kmallocShouldFail(GFP_KERNEL)) {
            return null;
        }
        return new IopfQueue(Workqueue.allocWorkqueue("iopf_queue/" + name, Workqueue.WQ_UNBOUND, 0));
    }

    /** Removes every device from the queue, then waits for its work and frees it. Null is a no-op. */
    @Port("drivers/iommu/io-pgfault.c:iopf_queue_free")
    public static void iopfQueueFree(IopfQueue queue) {
        if (queue == null) {
            return;
        }
        List<IopfDeviceParam> devices;
        queue.lock.lock();
        try {
            devices = new ArrayList<>(queue.devices);
        } finally {
            queue.lock.unlock();
        }
        for (IopfDeviceParam iopfParam : devices) {
            iopfQueueRemoveDevice(queue, iopfParam.dev);
        }
        queue.wq.destroyWorkqueue();
    }

    /** The device's queue, or null when it is in none (for tests and the CLI). */
    public static IopfQueue iopfQueueOf(Device dev) {
        DevIommu param = DevIommu.devIommu(dev);
        IopfDeviceParam p = param == null ? null : (IopfDeviceParam) param.iopfParam;
        return p == null ? null : p.queue;
    }

    /** Number of the device's partial requests (groups whose last request has not arrived). */
    public static int iopfNrPartial(Device dev) {
        DevIommu param = DevIommu.devIommu(dev);
        if (param == null) {
            return 0;
        }
        param.lock.lock();
        try {
            IopfDeviceParam p = (IopfDeviceParam) param.iopfParam;
            return p == null ? 0 : p.partial.size();
        } finally {
            param.lock.unlock();
        }
    }
}
