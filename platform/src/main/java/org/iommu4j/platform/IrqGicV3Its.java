package org.iommu4j.platform;

import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;

import java.util.HashMap;
import java.util.Map;
import org.iommu4j.base.Bitmap;
import org.iommu4j.base.Bits;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.IrqController;
import org.iommu4j.base.hw.MsiController;
import org.iommu4j.base.irq.MsiDesc;
import org.iommu4j.base.irq.MsiDomain;
import org.iommu4j.base.irq.MsiMsg;
import org.iommu4j.iommu.DmaIommu;
import org.iommu4j.of.DeviceNode;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciMsi;

/**
 * The GICv3 ITS driver's MSI path (drivers/irqchip/irq-gic-v3-its.c and irq-gic-v3-its-pci-msi.c,
 * v5.15), over the board's {@link MsiController} doorbell: the ITS domain that a PCI/MSI domain
 * sits on, with the two calls into dma-iommu that make MSIs work behind an IOMMU.
 *
 * <ul>
 * <li>{@link #itsPciMsiPrepare} / {@link #itsMsiPrepare}: one {@link ItsDevice} per DeviceID
 *     (the function's Requester ID through the host bridge's {@code msi-map}), with a power
 *     of two of events;</li>
 * <li>{@link #alloc} ({@code its_irq_domain_alloc}): takes the vectors' events, then
 *     {@code iommu_dma_prepare_msi(desc, GITS_TRANSLATER)}, whose error is returned as is (the
 *     PCI/MSI layer above reports -ENOSPC);</li>
 * <li>{@link #irqComposeMsiMsg} ({@code its_irq_compose_msi_msg}): address = the doorbell's
 *     physical address, data = the event, then {@code iommu_dma_compose_msi_msg} rewrites the
 *     address to its IOVA.</li>
 * </ul>
 * The ITS tables (device table, ITTs, LPI configuration) are not modelled: the doorbell routes a
 * data value straight to its virq. It sees no DeviceID, so each ITS device's events are a block of
 * one machine-wide data space ({@link MsiController#allocateDataBlock}) rather than numbered from
 * 0; the block is aligned to its size, so a function's {@code data | N} stays inside it.
 */
public final class IrqGicV3Its implements MsiDomain.ParentDomain {
    /** {@code struct its_device}: the events of one DeviceID. */
    @Port("drivers/irqchip/irq-gic-v3-its.c:its_device")
    public static final class ItsDevice {
        public final int deviceId;
        /** First data value of the device's events (its event 0). */
        public final int eventBase;
        /** Entries of its ITT ({@code nr_ites}): the vectors asked for, at least 2. */
        public final int nrItes;
        /** Events it may use ({@code event_map.nr_lpis}): the vectors asked for, a power of two. */
        public final int nrLpis;
        /** {@code event_map.lpi_map}: events in use. */
        final long[] lpiMap;
        boolean shared;

        ItsDevice(int deviceId, int eventBase, int nrItes, int nrLpis) {
            this.deviceId = deviceId;
            this.eventBase = eventBase;
            this.nrItes = nrItes;
            this.nrLpis = nrLpis;
            this.lpiMap = Bitmap.bitmapZalloc(nrLpis);
        }
    }

    /** One vector's place: its device and event. */
    private record Event(ItsDevice dev, int event, MsiDesc desc) {}

    private final MsiController doorbell;
    /** The ITS node ({@code irq_domain_get_of_node} of its domains). */
    private final DeviceNode node;
    /** dma-iommu, or null for a kernel without CONFIG_IOMMU_DMA (then nothing is remapped). */
    private final DmaIommu dma;
    /** {@code its->dev_alloc_lock} guards devices; the domain's monitor serialises the rest. */
    private final Map<Integer, ItsDevice> devices = new HashMap<>();
    private final Map<Integer, Event> events = new HashMap<>();
    /** The PCI/MSI domain stacked on this ITS. */
    public final MsiDomain pciMsiDomain;

    /**
     * An ITS whose device-tree node is {@code node} (the PCI/MSI domain's of_node: what
     * {@code msi-map} entries name; null for none).
     */
    public IrqGicV3Its(MsiController doorbell, DmaIommu dma, IrqController irqs, DeviceNode node) {
        this.node = node;
        this.doorbell = doorbell;
        this.dma = dma;
        this.pciMsiDomain = PciMsi.pciMsiCreateIrqDomain("ITS-PCI-MSI", this::itsPciMsiPrepare, this, irqs);
    }

    /** {@code its->get_msi_base}: the physical address of GITS_TRANSLATER. */
    @Port("drivers/irqchip/irq-gic-v3-its.c:its_irq_get_msi_base")
    long itsIrqGetMsiBase(ItsDevice itsDev) {
        return doorbell.doorbellAddress();
    }

    /**
     * The PCI side of prepare: DeviceID from the Requester ID, events rounded up to a power of
     * two (32 at least for DeviceID 0, as for hardware that does not wire DeviceIDs).
     */
    @Port("drivers/irqchip/irq-gic-v3-its-pci-msi.c:its_pci_msi_prepare")
    int itsPciMsiPrepare(MsiDomain domain, Device dev, int nvec, MsiDomain.MsiAllocInfo info) {
        if (!Pci.devIsPci(dev)) {
            return -EINVAL;
        }
        PciDev pdev = Pci.toPciDev(dev);
        // no aliasing bridges here: the function is its own DMA alias; the DeviceID is its
        // Requester ID as the host bridge's msi-map translates it for this ITS
        int devId = PciOf.pciMsiDomainGetMsiRid(node, pdev);
        info.scratchpad[0] = devId;
        int minnvec = devId == 0 ? 32 : 1;
        nvec = Math.max(minnvec, (int) Bits.roundupPowOfTwo(nvec));
        return itsMsiPrepare(devId, nvec, info);
    }

    /** Finds or creates the ITS device of {@code devId}; leaves it in scratchpad[0]. 0 or -ENOMEM. */
    @Port("drivers/irqchip/irq-gic-v3-its.c:its_msi_prepare")
    synchronized int itsMsiPrepare(int devId, int nvec, MsiDomain.MsiAllocInfo info) {
        ItsDevice itsDev = devices.get(devId);
        int err = 0;
        if (itsDev != null) {
            itsDev.shared = true; // seen before, through an alias
        } else {
            itsDev = itsCreateDevice(devId, nvec);
            if (itsDev == null) {
                err = -ENOMEM;
            }
        }
        info.scratchpad[0] = itsDev;
        return err;
    }

    @Port("drivers/irqchip/irq-gic-v3-its.c:its_create_device")
    private ItsDevice itsCreateDevice(int devId, int nvecs) {
        // the ITT holds at least two entries (a power of two of at least one bit), but only the
        // LPIs asked for are taken: a one-vector device has one event to give out
        int nrItes = Math.max(2, nvecs);
        ItsDevice d = new ItsDevice(devId, doorbell.allocateDataBlock(nrItes), nrItes, nvecs);
        devices.put(devId, d);
        return d;
    }

    /** A free naturally aligned run of {@code nvecs} events; its first event, or -ENOSPC. */
    @Port("drivers/irqchip/irq-gic-v3-its.c:its_alloc_device_irq")
    private static int itsAllocDeviceIrq(ItsDevice dev, int nvecs) {
        int idx = Bitmap.bitmapFindFreeRegion(dev.lpiMap, dev.nrLpis, Bits.getCountOrder(nvecs));
        return idx < 0 ? -ENOSPC : idx;
    }

    /**
     * Takes the events of {@code nrIrqs} vectors, has the doorbell mapped for the device
     * ({@code iommu_dma_prepare_msi}), then routes each event to its virq. 0, -ENOSPC (no
     * events left), or the error of iommu_dma_prepare_msi (-ENOMEM).
     */
    @Override
    @Port("drivers/irqchip/irq-gic-v3-its.c:its_irq_domain_alloc")
    public synchronized int alloc(MsiDomain domain, int virq, int nrIrqs, MsiDomain.MsiAllocInfo info) {
        ItsDevice itsDev = (ItsDevice) info.scratchpad[0];
        int hwirq = itsAllocDeviceIrq(itsDev, nrIrqs);
        if (hwirq < 0) {
            return hwirq;
        }
        if (dma != null) {
            int err = dma.iommuDmaPrepareMsi(info.desc, itsIrqGetMsiBase(itsDev));
            if (err != 0) {
                return err; // as v5.15: the events stay taken until the device goes
            }
        }
        for (int i = 0; i < nrIrqs; i++) {
            events.put(virq + i, new Event(itsDev, hwirq + i, info.desc));
            doorbell.route(itsDev.eventBase + hwirq + i, virq + i);
        }
        return 0;
    }

    @Override
    @Port("drivers/irqchip/irq-gic-v3-its.c:its_irq_domain_free")
    public synchronized void free(MsiDomain domain, int virq, int nrIrqs) {
        ItsDevice itsDev = null;
        for (int i = 0; i < nrIrqs; i++) {
            Event e = events.remove(virq + i);
            if (e == null) {
                continue;
            }
            itsDev = e.dev();
            Bitmap.bitmapReleaseRegion(itsDev.lpiMap, e.event(), 0);
            doorbell.unroute(itsDev.eventBase + e.event());
        }
        if (itsDev != null && !itsDev.shared && Bitmap.bitmapEmpty(itsDev.lpiMap, itsDev.nrLpis)) {
            devices.remove(itsDev.deviceId); // its_free_device
        }
    }

    /** Doorbell address and event as the message, then the IOMMU's IOVA in place of the address. */
    @Override
    @Port("drivers/irqchip/irq-gic-v3-its.c:its_irq_compose_msi_msg")
    public void irqComposeMsiMsg(int virq, MsiDesc desc, MsiMsg msg) {
        Event e;
        synchronized (this) {
            e = events.get(virq);
        }
        long addr = itsIrqGetMsiBase(e.dev());
        msg.addressLo = (int) addr;
        msg.addressHi = (int) (addr >>> 32);
        msg.data = e.dev().eventBase + e.event(); // its_get_event_id, in the shared data space
        if (dma != null) {
            DmaIommu.iommuDmaComposeMsiMsg(e.desc(), msg);
        }
    }

    /** The ITS device of {@code devId}, or null (for tests and demos). */
    public synchronized ItsDevice device(int devId) {
        return devices.get(devId);
    }
}
