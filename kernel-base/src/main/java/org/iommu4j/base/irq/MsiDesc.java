package org.iommu4j.base.irq;

import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;

/**
 * {@code struct msi_desc} (include/linux/msi.h, v5.15) for PCI MSI: one descriptor covers all the
 * vectors of a function's MSI capability ({@link #nvecUsed} consecutive virqs from {@link #irq}).
 * {@code msi_attrib} is flattened into the {@code msiAttrib*} fields. MSI-X entries are not
 * modelled.
 *
 * <p>Written by the PCI MSI code under the caller's serialisation (the kernel takes no lock for
 * set-up either); {@link #msiMask} changes under the device's {@code msi_lock}, here the
 * descriptor's monitor.
 */
@Port("include/linux/msi.h:msi_desc")
public final class MsiDesc {
    public final Device dev;
    /** First virq, 0 until the irq domain allocated the vectors. */
    public int irq;
    /** Vectors in use ({@code nvec_used}). */
    public final int nvecUsed;
    /** The last message written to the device ({@code entry->msg}). */
    public final MsiMsg msg = new MsiMsg();

    /* msi_attrib */
    public boolean msiAttribIsMsix;
    /** log2 of the vectors allocated ({@code multiple}). */
    public int msiAttribMultiple;
    /** log2 of the vectors the function can do ({@code multi_cap}). */
    public int msiAttribMultiCap;
    public boolean msiAttribCanMask;
    public boolean msiAttribIs64;
    public int msiAttribEntryNr;
    /** The pin-based irq the function had before MSI ({@code default_irq}). */
    public int msiAttribDefaultIrq;

    /** Config-space offset of the Mask Bits register ({@code mask_pos}). */
    public int maskPos;
    /** Shadow of the Mask Bits register ({@code msi_mask}). */
    public int msiMask;
    /** MSI-X: shadow of the entry's Vector Control ({@code msix_ctrl}). */
    public int msixCtrl;
    /** MSI-X: the mapped Table ({@code mask_base}); the entry is at {@code entry_nr * 16}. */
    public org.iommu4j.base.hw.IoMem maskBase;
    /** MSI-X: an entry beyond the Table (PCI_IRQ_VIRTUAL), never written to the function. */
    public boolean msiAttribIsVirtual;

    /**
     * {@code iommu_cookie}: set by the IOMMU DMA layer when it maps the doorbell for this device
     * (the doorbell page's mapping), null when no translation is needed.
     */
    public volatile Object iommuCookie;

    public MsiDesc(Device dev, int nvec) {
        this.dev = dev;
        this.nvecUsed = nvec;
    }

    /** Allocates a descriptor for {@code nvec} vectors (affinity masks are not modelled). */
    @Port("kernel/irq/msi.c:alloc_msi_entry")
    public static MsiDesc allocMsiEntry(Device dev, int nvec) {
        return new MsiDesc(dev, nvec);
    }

    @Port("include/linux/msi.h:msi_desc_to_dev")
    public static Device msiDescToDev(MsiDesc desc) {
        return desc.dev;
    }

    @Port("include/linux/msi.h:msi_desc_set_iommu_cookie")
    public static void msiDescSetIommuCookie(MsiDesc desc, Object cookie) {
        desc.iommuCookie = cookie;
    }

    @Port("include/linux/msi.h:msi_desc_get_iommu_cookie")
    public static Object msiDescGetIommuCookie(MsiDesc desc) {
        return desc.iommuCookie;
    }

    /** The first descriptor of {@code dev}'s list, or null ({@code first_msi_entry}). */
    @Port("include/linux/msi.h:first_msi_entry")
    public static MsiDesc firstMsiEntry(Device dev) {
        return dev.msiList.isEmpty() ? null : dev.msiList.get(0);
    }

    @Override
    public String toString() {
        return "msi_desc{" + dev.devName() + " irq " + irq + " nvec " + nvecUsed + " " + msg + "}";
    }
}
