package org.iommu4j.pci.hw.virtio;

import static org.iommu4j.pci.hw.virtio.VirtioSpec.*;

import java.util.Locale;
import org.iommu4j.base.hw.MmioDevice;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceEvent;
import org.iommu4j.pci.hw.PciEndpointModel;

/**
 * The virtio-pci modern transport in the function's modern memory BAR (virtio 1.1 section 4.1;
 * QEMU hw/virtio/virtio-pci.c's VirtIOPCIProxy): common configuration, ISR status, device
 * configuration and notifications, at the offsets the function's vendor capabilities name
 * (QEMU's layout: 0x0, 0x1000, 0x2000, 0x3000 with notify_off_multiplier 4, notify_off = queue
 * index), plus the device's queues and their used-buffer notifications by MSI-X.
 *
 * <p>What it can do: feature negotiation over the two 32-bit windows, FEATURES_OK refused
 * (reads back clear) for a driver feature the device did not offer, or without VERSION_1 (a
 * modern-only device) or without ACCESS_PLATFORM when offered (as QEMU's
 * virtio_validate_features); reset by writing 0 to device_status; queue_size writes limited to
 * powers of two up to the maximum; a vector the MSI-X Table does not have reads back
 * VIRTIO_MSI_NO_VECTOR (4.1.5.1.2); ISR read-to-clear. A notification is handled before the
 * write completes (as QEMU without ioeventfd, in the vCPU's exit): the device pops the queue,
 * DMAs through the IOMMU, pushes used elements and sends the queue's MSI-X vector unless the
 * driver suppressed it. A driver error it cannot answer in a request status (a malformed ring,
 * a DMA the IOMMU refused) sets DEVICE_NEEDS_RESET and sends the configuration vector (2.1.2);
 * the device then ignores notifications until reset.
 *
 * <p>What it can't do: the legacy interface, INTx (the function has an Interrupt Pin, but the
 * board models no INTx line: without MSI-X only the ISR bit is set), the PCI configuration
 * access capability's window, packed rings, config generation changes
 * (the configuration never changes, so config_generation stays 0).
 *
 * <p>Locking: the proxy's monitor guards every register and queue; a notification runs the
 * device under it (the host bridge's window serialises BAR accesses anyway).
 */
public final class VirtioPciProxy implements MmioDevice {
    /* QEMU's region layout in the modern BAR (virtio_pci_modern_regions_init). */
    public static final long COMMON_OFFSET = 0x0000;
    public static final long ISR_OFFSET = 0x1000;
    public static final long DEVICE_OFFSET = 0x2000;
    public static final long NOTIFY_OFFSET = 0x3000;
    public static final int NOTIFY_OFF_MULTIPLIER = 4;
    public static final long REGION_SIZE = 0x1000;

    static final TraceEvent virtio_set_status = Trace.event("virtio", "virtio_set_status", "%s status=0x%x", "dev", "val");
    static final TraceEvent virtio_queue_notify = Trace.event("virtio", "virtio_queue_notify", "%s vq=%d", "dev", "vq");
    static final TraceEvent virtqueue_pop = Trace.event("virtio", "virtqueue_pop", "%s vq=%d head=%d out=%d in=%d",
            "dev", "vq", "head", "out_num", "in_num");
    static final TraceEvent virtqueue_push = Trace.event("virtio", "virtqueue_push", "%s vq=%d head=%d len=%d",
            "dev", "vq", "head", "len");
    static final TraceEvent virtio_notify = Trace.event("virtio", "virtio_notify", "%s vector=%d -> %d", "dev", "vector", "ret");
    static final TraceEvent virtio_guest_error = Trace.event("virtio", "virtio_guest_error", "%s LOG_GUEST_ERROR: %s", "dev", "msg");

    private final String name;
    private final PciEndpointModel ep;
    private final VirtioDeviceModel vdev;
    private final VirtQueue[] vqs;
    private final long hostFeatures;
    private long guestFeatures;
    private int dfselect;
    private int gfselect;
    private int status;
    private int isr;
    private int configVector = VIRTIO_MSI_NO_VECTOR;
    private int queueSel;
    private String lastError;
    private long notifications;

    /**
     * The ring features every QEMU 7.2 virtio device offers by default (DEFINE_VIRTIO_COMMON_FEATURES:
     * indirect_desc=on, event_idx=on); its legacy-only notify_on_empty/any_layout are not
     * modelled (a modern driver ignores them), packed=off.
     */
    public static final long QEMU_COMMON_FEATURES = 1L << VIRTIO_F_RING_INDIRECT_DESC | 1L << VIRTIO_F_RING_EVENT_IDX;

    /** A function offering {@link #QEMU_COMMON_FEATURES}, as QEMU's virtio-*-pci do by default. */
    public VirtioPciProxy(PciEndpointModel ep, VirtioDeviceModel vdev) {
        this(ep, vdev, QEMU_COMMON_FEATURES);
    }

    /**
     * A function offering its device's features, VERSION_1, ACCESS_PLATFORM and those of
     * {@code ringFeatures} (a subset of {@link #QEMU_COMMON_FEATURES}; QEMU's indirect_desc and
     * event_idx properties).
     */
    public VirtioPciProxy(PciEndpointModel ep, VirtioDeviceModel vdev, long ringFeatures) {
        this.name = ep.name();
        this.ep = ep;
        this.vdev = vdev;
        int[] sizes = vdev.queueSizes();
        this.vqs = new VirtQueue[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            vqs[i] = new VirtQueue(ep, i, sizes[i]);
        }
        this.hostFeatures = vdev.deviceFeatures() | (ringFeatures & QEMU_COMMON_FEATURES) | 1L << VIRTIO_F_VERSION_1
                | 1L << VIRTIO_F_ACCESS_PLATFORM;
    }

    public VirtioDeviceModel device() {
        return vdev;
    }

    public synchronized int status() {
        return status;
    }

    /** The features the driver wrote (what was negotiated once FEATURES_OK stuck). */
    public synchronized long guestFeatures() {
        return guestFeatures;
    }

    public long hostFeatures() {
        return hostFeatures;
    }

    /** The message of the error that set DEVICE_NEEDS_RESET, or null. */
    public synchronized String lastError() {
        return lastError;
    }

    public synchronized long notifications() {
        return notifications;
    }

    /* ---------------- MMIO decode ---------------- */

    @Override
    public synchronized long mmioRead(long offset, int size) {
        if (size == 8) { // the regions take 1-, 2- and 4-byte accesses: an 8-byte one is two halves
            return (mmioRead(offset, 4) & 0xffffffffL) | mmioRead(offset + 4, 4) << 32;
        }
        long mask = size == 4 ? 0xffffffffL : (1L << (8 * size)) - 1;
        if (offset < COMMON_OFFSET + REGION_SIZE) {
            return commonRead((int) offset) & mask;
        }
        if (offset < ISR_OFFSET + REGION_SIZE) {
            if (offset != ISR_OFFSET) {
                return 0;
            }
            int v = isr; // 4.1.4.5.1: reading clears it
            isr = 0;
            return v;
        }
        if (offset < DEVICE_OFFSET + REGION_SIZE) {
            byte[] cfg = vdev.config();
            int off = (int) (offset - DEVICE_OFFSET);
            long v = 0;
            for (int i = 0; i < size && off + i < cfg.length; i++) {
                v |= (long) (cfg[off + i] & 0xff) << (8 * i);
            }
            return v;
        }
        return 0; // notification region: reads are not defined, RAZ
    }

    @Override
    public void mmioWrite(long offset, long value, int size) {
        if (size == 8) {
            mmioWrite(offset, value & 0xffffffffL, 4);
            mmioWrite(offset + 4, value >>> 32, 4);
            return;
        }
        if (offset >= NOTIFY_OFFSET && offset < NOTIFY_OFFSET + (long) NOTIFY_OFF_MULTIPLIER * 1024) {
            notify((int) ((offset - NOTIFY_OFFSET) / NOTIFY_OFF_MULTIPLIER));
            return;
        }
        synchronized (this) {
            if (offset < COMMON_OFFSET + REGION_SIZE) {
                commonWrite((int) offset, value);
            }
            // ISR is read-only; the device configuration (read-only fields only here) ignores writes
        }
    }

    private VirtQueue selected() {
        return queueSel < vqs.length ? vqs[queueSel] : null;
    }

    private long commonRead(int off) {
        VirtQueue vq = selected();
        switch (off) {
            case COMMON_DFSELECT: return dfselect;
            case COMMON_DF: return dfselect < 2 ? hostFeatures >>> (32 * dfselect) & 0xffffffffL : 0;
            case COMMON_GFSELECT: return gfselect;
            case COMMON_GF: return gfselect < 2 ? guestFeatures >>> (32 * gfselect) & 0xffffffffL : 0;
            case COMMON_MSIX: return configVector;
            case COMMON_NUMQ: return vqs.length;
            case COMMON_STATUS: return status;
            case COMMON_CFGGENERATION: return 0;
            case COMMON_Q_SELECT: return queueSel;
            case COMMON_Q_SIZE: return vq == null ? 0 : vq.num; // 0: the queue does not exist
            case COMMON_Q_MSIX: return vq == null ? VIRTIO_MSI_NO_VECTOR : vq.vector;
            case COMMON_Q_ENABLE: return vq != null && vq.enabled ? 1 : 0;
            case COMMON_Q_NOFF: return vq == null ? 0 : vq.index;
            case COMMON_Q_DESCLO: return vq == null ? 0 : vq.desc & 0xffffffffL;
            case COMMON_Q_DESCHI: return vq == null ? 0 : vq.desc >>> 32;
            case COMMON_Q_AVAILLO: return vq == null ? 0 : vq.avail & 0xffffffffL;
            case COMMON_Q_AVAILHI: return vq == null ? 0 : vq.avail >>> 32;
            case COMMON_Q_USEDLO: return vq == null ? 0 : vq.used & 0xffffffffL;
            case COMMON_Q_USEDHI: return vq == null ? 0 : vq.used >>> 32;
            default: return 0;
        }
    }

    private static long setHalf(long old, boolean hi, long v) {
        return hi ? old & 0xffffffffL | (v & 0xffffffffL) << 32 : old & ~0xffffffffL | v & 0xffffffffL;
    }

    private void commonWrite(int off, long v) {
        VirtQueue vq = selected();
        switch (off) {
            case COMMON_DFSELECT -> dfselect = (int) v;
            case COMMON_GFSELECT -> gfselect = (int) v;
            case COMMON_GF -> {
                // 3.1.1: features are fixed once FEATURES_OK is set
                if (gfselect < 2 && (status & FEATURES_OK) == 0) {
                    guestFeatures = setHalf(guestFeatures, gfselect == 1, v);
                }
            }
            case COMMON_MSIX -> configVector = vectorOrNone((int) v & 0xffff);
            case COMMON_STATUS -> setStatus((int) v & 0xff);
            case COMMON_Q_SELECT -> queueSel = (int) v & 0xffff;
            case COMMON_Q_SIZE -> {
                int n = (int) v & 0xffff;
                if (vq != null && !vq.enabled && n != 0 && n <= vq.maxSize && (n & (n - 1)) == 0) {
                    vq.num = n;
                }
            }
            case COMMON_Q_MSIX -> {
                if (vq != null) {
                    vq.vector = vectorOrNone((int) v & 0xffff);
                }
            }
            case COMMON_Q_ENABLE -> {
                if (vq != null && (v & 0xffff) == 1) { // 4.1.4.3.2: the driver never writes 0
                    vq.enabled = true;
                }
            }
            case COMMON_Q_DESCLO, COMMON_Q_DESCHI -> {
                if (vq != null && !vq.enabled) {
                    vq.desc = setHalf(vq.desc, off == COMMON_Q_DESCHI, v);
                }
            }
            case COMMON_Q_AVAILLO, COMMON_Q_AVAILHI -> {
                if (vq != null && !vq.enabled) {
                    vq.avail = setHalf(vq.avail, off == COMMON_Q_AVAILHI, v);
                }
            }
            case COMMON_Q_USEDLO, COMMON_Q_USEDHI -> {
                if (vq != null && !vq.enabled) {
                    vq.used = setHalf(vq.used, off == COMMON_Q_USEDHI, v);
                }
            }
            default -> {
                // read-only fields (device_feature, num_queues, config_generation, queue_notify_off)
            }
        }
    }

    /** 4.1.5.1.2: a vector beyond the MSI-X Table cannot be mapped, so the register reads NO_VECTOR. */
    private int vectorOrNone(int v) {
        int table = ep.caps().msixVectors();
        return v != VIRTIO_MSI_NO_VECTOR && v < table ? v : VIRTIO_MSI_NO_VECTOR;
    }

    private void setStatus(int val) {
        if (virtio_set_status.enabled()) {
            virtio_set_status.emit(name, val);
        }
        if (val == 0) {
            reset();
            return;
        }
        if ((val & FEATURES_OK) != 0 && (status & FEATURES_OK) == 0 && !featuresAcceptable()) {
            val &= ~FEATURES_OK; // 3.1.1: the device does not accept them, the bit reads back clear
        }
        if ((val & FEATURES_OK) != 0 && (status & FEATURES_OK) == 0) {
            for (VirtQueue vq : vqs) {
                vq.features = guestFeatures;
            }
        }
        status = val | (status & DEVICE_NEEDS_RESET);
    }

    private boolean featuresAcceptable() {
        String why = null;
        if ((guestFeatures & ~hostFeatures) != 0) {
            why = String.format(Locale.ROOT, "features 0x%x were not offered", guestFeatures & ~hostFeatures);
        } else if ((guestFeatures & 1L << VIRTIO_F_VERSION_1) == 0) {
            why = "VIRTIO_F_VERSION_1 not accepted by a modern-only device";
        } else if ((guestFeatures & 1L << VIRTIO_F_ACCESS_PLATFORM) == 0) {
            why = "VIRTIO_F_ACCESS_PLATFORM not accepted: the device's DMA goes through the IOMMU";
        }
        if (why != null) {
            guestError("FEATURES_OK refused: " + why);
        }
        return why == null;
    }

    private void reset() {
        status = 0;
        guestFeatures = 0;
        dfselect = gfselect = 0;
        queueSel = 0;
        isr = 0;
        configVector = VIRTIO_MSI_NO_VECTOR;
        lastError = null;
        for (VirtQueue vq : vqs) {
            vq.reset();
        }
        vdev.reset();
    }

    /* ---------------- queues and notifications ---------------- */

    private void notify(int q) {
        boolean run;
        synchronized (this) {
            notifications++;
            if (virtio_queue_notify.enabled()) {
                virtio_queue_notify.emit(name, q);
            }
            VirtQueue vq = q < vqs.length ? vqs[q] : null;
            run = vq != null && vq.enabled && (status & DRIVER_OK) != 0 && (status & DEVICE_NEEDS_RESET) == 0;
            if (!run) {
                if (vq == null || !vq.enabled || (status & DRIVER_OK) == 0) {
                    guestError(String.format(Locale.ROOT, "notification of vq %d ignored (%s)", q,
                            vq == null ? "no such queue" : !vq.enabled ? "queue not enabled" : "DRIVER_OK not set"));
                }
                return;
            }
            try {
                vdev.handleOutput(this, vq);
            } catch (VirtioError e) {
                error(e.getMessage());
            }
        }
    }

    /** A chain the device took, traced. */
    VirtQueue.Element pop(VirtQueue vq) {
        VirtQueue.Element e = vq.pop();
        if (e != null && virtqueue_pop.enabled()) {
            virtqueue_pop.emit(name, vq.index, e.head, e.segments(false), e.segments(true));
        }
        return e;
    }

    /** Returns a chain used, then sends the queue's notification unless the driver suppressed it. */
    void push(VirtQueue vq, VirtQueue.Element e, int written) {
        vq.push(e, written);
        if (virtqueue_push.enabled()) {
            virtqueue_push.emit(name, vq.index, e.head, written);
        }
        if (vq.shouldNotify()) {
            isr |= ISR_QUEUE;
            sendVector(vq.vector);
        }
    }

    private void sendVector(int vector) {
        if (vector == VIRTIO_MSI_NO_VECTOR || !ep.msixEnabled()) {
            return; // no INTx line on this board: the ISR bit is all the driver gets
        }
        int ret = ep.raiseMsix(vector);
        if (virtio_notify.enabled()) {
            virtio_notify.emit(name, vector, ret);
        }
    }

    private void guestError(String msg) {
        if (virtio_guest_error.enabled()) {
            virtio_guest_error.emit(name, msg);
        }
    }

    /** QEMU's virtio_error: the device needs a reset, and says so by a configuration change (2.1.2). */
    private void error(String msg) {
        guestError(msg);
        lastError = msg;
        status |= DEVICE_NEEDS_RESET;
        if ((status & DRIVER_OK) != 0) {
            isr |= ISR_CONFIG;
            sendVector(configVector);
        }
    }
}
