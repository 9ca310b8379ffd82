package org.iommu4j.platform;

import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOSPC;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.iommu4j.base.Bitmap;
import org.iommu4j.base.Bits;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.hw.IoMem;
import org.iommu4j.base.hw.IrqController;
import org.iommu4j.base.hw.MmioBus;
import org.iommu4j.base.irq.MsiDesc;
import org.iommu4j.base.irq.MsiDomain;
import org.iommu4j.base.irq.MsiMsg;
import org.iommu4j.iommu.DmaIommu;
import org.iommu4j.of.DeviceNode;
import org.iommu4j.of.Of;
import org.iommu4j.of.OfIrq;
import org.iommu4j.of.OfPhandleArgs;
import org.iommu4j.pci.PciMsi;

/**
 * drivers/irqchip/irq-gic-v2m.c (v5.15, device-tree probe): the GICv2m MSI frames under a GICv2,
 * each a bank of SPIs that a write of the SPI's number to MSI_SETSPI_NS raises. The inner
 * domain allocates SPIs from the frames' bitmaps and binds each vector's virq to its SPI in the
 * GIC ({@link #gicv2mIrqGicDomainAlloc}); the PCI/MSI domain stacked on it is what the
 * host bridge's {@code msi-map} leads PCI functions to.
 *
 * <ul>
 * <li>{@link #gicv2mInit}: every {@code arm,gic-v2m-frame} with {@code msi-controller} after the
 *     GIC node: its {@code reg}, its SPIs from {@code arm,msi-base-spi}/{@code arm,msi-num-spis}
 *     or else MSI_TYPER, the {@code GICv2m: range[mem ...], SPI[first:last]} line, then the
 *     domains (registered under the first frame's node, bus token PCI_MSI);</li>
 * <li>{@link #alloc} ({@code gicv2m_irq_domain_alloc}): a naturally aligned run of SPIs, then
 *     {@code iommu_dma_prepare_msi(desc, frame + MSI_SETSPI_NS)}; -ENOSPC when every frame is
 *     full;</li>
 * <li>{@link #irqComposeMsiMsg} ({@code gicv2m_compose_msi_msg}): address = the frame's
 *     MSI_SETSPI_NS, data = the SPI's INTID, then {@code iommu_dma_compose_msi_msg}.</li>
 * </ul>
 * The platform-MSI domain (gicv2m_pmsi_domain_info) and the ACPI (MADT) probe are not ported:
 * no device of the modelled machines asks for platform MSIs from a v2m frame.
 */
public final class IrqGicV2m implements MsiDomain.ParentDomain {
    public static final int V2M_MSI_TYPER = 0x008;
    public static final int V2M_MSI_TYPER_BASE_SHIFT = 16;
    public static final int V2M_MSI_TYPER_BASE_MASK = 0x3FF;
    public static final int V2M_MSI_TYPER_NUM_MASK = 0x3FF;
    public static final int V2M_MSI_SETSPI_NS = 0x040;
    public static final int V2M_MIN_SPI = 32;
    public static final int V2M_MAX_SPI = 1019;
    public static final int V2M_MSI_IIDR = 0xFCC;

    @Port("drivers/irqchip/irq-gic-v2m.c:V2M_MSI_TYPER_BASE_SPI")
    static int V2M_MSI_TYPER_BASE_SPI(int x) {
        return (x >>> V2M_MSI_TYPER_BASE_SHIFT) & V2M_MSI_TYPER_BASE_MASK;
    }

    @Port("drivers/irqchip/irq-gic-v2m.c:V2M_MSI_TYPER_NUM_SPI")
    static int V2M_MSI_TYPER_NUM_SPI(int x) {
        return x & V2M_MSI_TYPER_NUM_MASK;
    }

    /** MSI_IIDR of APM X-Gene's frame, whose MSI data is the offset from its first SPI. */
    public static final int XGENE_GICV2M_MSI_IIDR = 0x06000170;
    /** MSI_IIDR of Broadcom NS2's frame, whose MSI data is the SPI number less 32. */
    public static final int BCM_NS2_GICV2M_MSI_IIDR = 0x0000013f;

    /* v2m_data.flags */
    public static final int GICV2M_NEEDS_SPI_OFFSET = 0x00000001;
    public static final int GICV2M_GRAVITON_ADDRESS_ONLY = 0x00000002;

    /** The compatible of a frame. */
    public static final String GICV2M_COMPATIBLE = "arm,gic-v2m-frame";

    /** {@code struct v2m_data}: one frame. */
    @Port("drivers/irqchip/irq-gic-v2m.c:v2m_data")
    public static final class V2mData {
        public DeviceNode fwnode;
        public Resource res;
        IoMem base;
        /** INTID of the first SPI the frame raises. */
        public int spiStart;
        public int nrSpis;
        /** Subtracted from the INTID to make the MSI data (GICV2M_NEEDS_SPI_OFFSET). */
        public int spiOffset;
        /** SPIs in use, bit n for spiStart + n; guarded by {@code v2m_lock}. */
        long[] bm;
        public int flags;
    }

    /** {@code irq_data} of one of the inner domain's virqs: its SPI and frame ({@code chip_data}). */
    private record V2mIrqData(int hwirq, V2mData v2m) {}

    private final Of of;
    private final MmioBus mmio;
    /** The GIC: this domain's parent, whose wired lines the SPIs are. */
    private final IrqController gic;
    /** The GIC's node ({@code domain->parent->fwnode}). */
    private DeviceNode gicNode;
    /** {@code v2m_nodes}; {@code v2m_lock} (the list's monitor) guards it and the bitmaps. */
    private final List<V2mData> v2mNodes = new ArrayList<>();
    /** The inner domain's irq_data, by virq. */
    private final Map<Integer, V2mIrqData> irqData = new HashMap<>();
    /**
     * dma-iommu, or null while the IOMMU core is not up (or for a kernel without
     * CONFIG_IOMMU_DMA): then nothing is remapped, as iommu_dma_prepare_msi does for a device
     * without a DMA domain.
     */
    public volatile DmaIommu dma;
    /** The PCI/MSI domain on the inner domain; null until {@link #gicv2mInit} found a frame. */
    public MsiDomain pciMsiDomain;

    public IrqGicV2m(Of of, MmioBus mmio, IrqController gic) {
        this.of = of;
        this.mmio = mmio;
        this.gic = gic;
    }

    /** The frame's doorbell: MSI_SETSPI_NS (the Graviton variant encodes the SPI in the address). */
    @Port("drivers/irqchip/irq-gic-v2m.c:gicv2m_get_msi_addr")
    static long gicv2mGetMsiAddr(V2mData v2m, int hwirq) {
        if ((v2m.flags & GICV2M_GRAVITON_ADDRESS_ONLY) != 0) {
            return v2m.res.start() | (long) (hwirq - 32) << 3;
        }
        return v2m.res.start() + V2M_MSI_SETSPI_NS;
    }

    /** Doorbell address and the SPI as data, then the IOMMU's IOVA in place of the address. */
    @Override
    @Port("drivers/irqchip/irq-gic-v2m.c:gicv2m_compose_msi_msg")
    public void irqComposeMsiMsg(int virq, MsiDesc desc, MsiMsg msg) {
        V2mIrqData d;
        synchronized (v2mNodes) {
            d = irqData.get(virq);
        }
        V2mData v2m = d.v2m();
        long addr = gicv2mGetMsiAddr(v2m, d.hwirq());
        msg.addressHi = (int) (addr >>> 32);
        msg.addressLo = (int) addr;
        msg.data = (v2m.flags & GICV2M_GRAVITON_ADDRESS_ONLY) != 0 ? 0 : d.hwirq();
        if ((v2m.flags & GICV2M_NEEDS_SPI_OFFSET) != 0) {
            msg.data -= v2m.spiOffset;
        }
        DmaIommu.iommuDmaComposeMsiMsg(desc, msg);
    }

    /**
     * Asks the GIC domain for {@code virq} on SPI {@code hwirq}, edge-triggered: the GIC's
     * three-cell specifier {@code <GIC_SPI hwirq-32 IRQ_TYPE_EDGE_RISING>}, translated as the GIC
     * translates it, binds the virq to that line. 0, or -EINVAL (the parent is no device-tree
     * GIC, or the translation fails), or the GIC's -EBUSY for a line already in use.
     */
    @Port("drivers/irqchip/irq-gic-v2m.c:gicv2m_irq_gic_domain_alloc")
    private int gicv2mIrqGicDomainAlloc(int virq, int hwirq) {
        if (gicNode == null) {
            return -EINVAL;
        }
        OfPhandleArgs fwspec = new OfPhandleArgs();
        fwspec.np = gicNode;
        fwspec.argsCount = 3;
        fwspec.args[0] = OfIrq.GIC_SPI;
        fwspec.args[1] = hwirq - 32;
        fwspec.args[2] = OfIrq.IRQ_TYPE_EDGE_RISING;
        OfIrq.HwIrq[] line = new OfIrq.HwIrq[1];
        int err = OfIrq.irqDomainTranslate(fwspec, line);
        if (err != 0) {
            return err;
        }
        return gic.irqDomainAssociate(virq, line[0].hwirq()); // the line is edge (IRQ_TYPE_EDGE_RISING)
    }

    @Port("drivers/irqchip/irq-gic-v2m.c:gicv2m_unalloc_msi")
    private void gicv2mUnallocMsi(V2mData v2m, int hwirq, int nrIrqs) {
        synchronized (v2mNodes) {
            Bitmap.bitmapReleaseRegion(v2m.bm, hwirq - v2m.spiStart, Bits.getCountOrder(nrIrqs));
        }
    }

    /**
     * Takes {@code nrIrqs} SPIs (a naturally aligned power-of-two run) from the first frame that
     * has them, has the doorbell mapped for the device ({@code iommu_dma_prepare_msi}), then
     * binds each virq to its SPI. 0; -ENOSPC when no frame has room; the error of
     * iommu_dma_prepare_msi (as v5.15, the SPIs then stay taken); the GIC's error (SPIs given
     * back).
     */
    @Override
    @Port("drivers/irqchip/irq-gic-v2m.c:gicv2m_irq_domain_alloc")
    public int alloc(MsiDomain domain, int virq, int nrIrqs, MsiDomain.MsiAllocInfo info) {
        V2mData v2m = null;
        int offset = -1;
        synchronized (v2mNodes) {
            for (V2mData tmp : v2mNodes) {
                offset = Bitmap.bitmapFindFreeRegion(tmp.bm, tmp.nrSpis, Bits.getCountOrder(nrIrqs));
                if (offset >= 0) {
                    v2m = tmp;
                    break;
                }
            }
        }
        if (v2m == null) {
            return -ENOSPC;
        }
        int hwirq = v2m.spiStart + offset;
        DmaIommu d = dma;
        if (d != null) {
            int err = d.iommuDmaPrepareMsi(info.desc, gicv2mGetMsiAddr(v2m, hwirq));
            if (err != 0) {
                return err;
            }
        }
        for (int i = 0; i < nrIrqs; i++) {
            int err = gicv2mIrqGicDomainAlloc(virq + i, hwirq + i);
            if (err != 0) {
                for (int j = 0; j < i; j++) {
                    gic.irqDomainDisassociate(virq + j); // irq_domain_free_irqs_parent
                }
                gicv2mUnallocMsi(v2m, hwirq, nrIrqs);
                return err;
            }
            synchronized (v2mNodes) {
                irqData.put(virq + i, new V2mIrqData(hwirq + i, v2m)); // irq_domain_set_hwirq_and_chip
            }
        }
        return 0;
    }

    @Override
    @Port("drivers/irqchip/irq-gic-v2m.c:gicv2m_irq_domain_free")
    public void free(MsiDomain domain, int virq, int nrIrqs) {
        V2mIrqData d;
        synchronized (v2mNodes) {
            d = irqData.get(virq);
            for (int i = 0; i < nrIrqs; i++) {
                irqData.remove(virq + i);
            }
        }
        if (d == null) {
            return;
        }
        gicv2mUnallocMsi(d.v2m(), d.hwirq(), nrIrqs);
        for (int i = 0; i < nrIrqs; i++) {
            gic.irqDomainDisassociate(virq + i); // irq_domain_free_irqs_parent
        }
    }

    @Port("drivers/irqchip/irq-gic-v2m.c:is_msi_spi_valid")
    static boolean isMsiSpiValid(int base, int num) {
        if (Integer.compareUnsigned(base, V2M_MIN_SPI) < 0) {
            Printk.prErr("GICv2m: Invalid MSI base SPI (base:%d)", Integer.toUnsignedLong(base));
            return false;
        }
        if (num == 0 || Long.compareUnsigned(Integer.toUnsignedLong(base) + Integer.toUnsignedLong(num), V2M_MAX_SPI) > 0) {
            Printk.prErr("GICv2m: Number of SPIs (%d) exceed maximum (%d)", Integer.toUnsignedLong(num),
                    V2M_MAX_SPI - V2M_MIN_SPI + 1);
            return false;
        }
        return true;
    }

    @Port("drivers/irqchip/irq-gic-v2m.c:gicv2m_teardown")
    private void gicv2mTeardown() {
        synchronized (v2mNodes) {
            v2mNodes.clear();
        }
    }

    /**
     * The inner domain and the PCI/MSI domain on it, under the first frame's node: the domain
     * every frame's SPIs come from. 0 (also with no frame: nothing to do).
     */
    @Port("drivers/irqchip/irq-gic-v2m.c:gicv2m_allocate_domains")
    private int gicv2mAllocateDomains() {
        V2mData v2m;
        synchronized (v2mNodes) {
            v2m = v2mNodes.isEmpty() ? null : v2mNodes.get(0);
        }
        if (v2m == null) {
            return 0;
        }
        gic.irqDomainAdd(v2m.fwnode, IrqController.DOMAIN_BUS_NEXUS, this);
        pciMsiDomain = PciMsi.pciMsiCreateIrqDomain("GICv2m-PCI-MSI", IrqGicV2m::msiDomainOpsPrepare, this, gic);
        gic.irqDomainAdd(v2m.fwnode, IrqController.DOMAIN_BUS_PCI_MSI, pciMsiDomain);
        return 0;
    }

    /** The default msi_prepare of an MSI domain (MSI_FLAG_USE_DEF_DOM_OPS): nothing to prepare. */
    @Port("kernel/irq/msi.c:msi_domain_ops_prepare")
    static int msiDomainOpsPrepare(MsiDomain domain, Device dev, int nvec, MsiDomain.MsiAllocInfo arg) {
        return 0;
    }

    /**
     * One frame: its registers at {@code res}, its SPIs from the arguments when both are non-zero
     * (firmware override), else from MSI_TYPER; the implementation quirks by MSI_IIDR. 0 or
     * -EINVAL (a Graviton frame without an override, an SPI range the GIC cannot have).
     */
    @Port("drivers/irqchip/irq-gic-v2m.c:gicv2m_init_one")
    int gicv2mInitOne(DeviceNode fwnode, int spiStart, int nrSpis, Resource res, int flags) {
        V2mData v2m = new V2mData();
        v2m.fwnode = fwnode;
        v2m.flags = flags;
        v2m.res = res;
        v2m.base = IoMem.ioremap(mmio, res.start(), res.resourceSize());
        if (spiStart != 0 && nrSpis != 0) {
            v2m.spiStart = spiStart;
            v2m.nrSpis = nrSpis;
        } else {
            if ((v2m.flags & GICV2M_GRAVITON_ADDRESS_ONLY) != 0) {
                return -EINVAL;
            }
            int typer = v2m.base.readlRelaxed(V2M_MSI_TYPER);
            v2m.spiStart = V2M_MSI_TYPER_BASE_SPI(typer);
            v2m.nrSpis = V2M_MSI_TYPER_NUM_SPI(typer);
        }
        if (!isMsiSpiValid(v2m.spiStart, v2m.nrSpis)) {
            return -EINVAL;
        }
        if ((v2m.flags & GICV2M_GRAVITON_ADDRESS_ONLY) == 0) {
            switch (v2m.base.readlRelaxed(V2M_MSI_IIDR)) {
                case XGENE_GICV2M_MSI_IIDR -> {
                    v2m.flags |= GICV2M_NEEDS_SPI_OFFSET;
                    v2m.spiOffset = v2m.spiStart;
                }
                case BCM_NS2_GICV2M_MSI_IIDR -> {
                    v2m.flags |= GICV2M_NEEDS_SPI_OFFSET;
                    v2m.spiOffset = 32;
                }
                default -> { }
            }
        }
        v2m.bm = Bitmap.bitmapZalloc(v2m.nrSpis);
        synchronized (v2mNodes) {
            v2mNodes.add(v2m);
        }
        Printk.prInfo("GICv2m: range%s, SPI[%d:%d]", org.iommu4j.base.device.KernelResource.resourceString(res), v2m.spiStart, v2m.spiStart + v2m.nrSpis - 1);
        return 0;
    }

    /**
     * Probes every GICv2m frame that follows the GIC's node {@code parentHandle} in the tree and
     * has {@code msi-controller}, then creates the domains. 0, or the first frame's error
     * (then nothing of this driver stays: no frame, no domain).
     */
    @Port("drivers/irqchip/irq-gic-v2m.c:gicv2m_of_init")
    public int gicv2mInit(DeviceNode parentHandle) {
        this.gicNode = parentHandle;
        int ret = 0;
        for (DeviceNode child = of.ofFindCompatibleNode(parentHandle, null, GICV2M_COMPATIBLE); child != null;
                child = of.ofFindCompatibleNode(child, null, GICV2M_COMPATIBLE)) {
            if (Of.ofFindProperty(child, "msi-controller") == null) {
                continue;
            }
            Resource[] res = new Resource[1];
            ret = Of.ofAddressToResource(child, 0, res);
            if (ret != 0) {
                Printk.prErr("GICv2m: Failed to allocate v2m resource.");
                break;
            }
            int[] spiStart = {0};
            int[] nrSpis = {0};
            if (Of.ofPropertyReadU32(child, "arm,msi-base-spi", spiStart) == 0
                    && Of.ofPropertyReadU32(child, "arm,msi-num-spis", nrSpis) == 0) {
                Printk.prInfo("GICv2m: DT overriding V2M MSI_TYPER (base:%d, num:%d)",
                        Integer.toUnsignedLong(spiStart[0]), Integer.toUnsignedLong(nrSpis[0]));
            }
            ret = gicv2mInitOne(child, spiStart[0], nrSpis[0], res[0], 0);
            if (ret != 0) {
                break;
            }
        }
        if (ret == 0) {
            ret = gicv2mAllocateDomains();
        }
        if (ret != 0) {
            gicv2mTeardown();
        }
        return ret;
    }

    /** The frames probed, in order (for tests and demos). */
    public List<V2mData> frames() {
        synchronized (v2mNodes) {
            return List.copyOf(v2mNodes);
        }
    }

    /** The SPI (INTID) behind {@code virq}, or -1. */
    public int hwirq(int virq) {
        synchronized (v2mNodes) {
            V2mIrqData d = irqData.get(virq);
            return d == null ? -1 : d.hwirq();
        }
    }
}
