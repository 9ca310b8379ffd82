package org.iommu4j.pci;

import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.EIO;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.base.Errno.ENOTSUPP;
import static org.iommu4j.base.Errno.ERANGE;
import static org.iommu4j.pci.Pci.pciFindCapability;
import static org.iommu4j.pci.Pci.pciReadConfigDword;
import static org.iommu4j.pci.Pci.pciReadConfigWord;
import static org.iommu4j.pci.Pci.pciWriteConfigDword;
import static org.iommu4j.pci.Pci.pciWriteConfigWord;
import static org.iommu4j.pci.PciRegs.*;

import org.iommu4j.base.Bits;
import org.iommu4j.base.Port;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.hw.IoMem;
import org.iommu4j.base.irq.MsiDesc;
import org.iommu4j.base.irq.MsiDomain;
import org.iommu4j.base.irq.MsiMsg;

/**
 * drivers/pci/msi.c (v5.15): enabling a function's MSI or MSI-X capability with vectors from its
 * MSI irq domain ({@code dev->msi_domain}, which the platform sets), programming the messages
 * the domain composes (into config space for MSI, into the MSI-X Table through the BAR for
 * MSI-X), masking, and teardown. Affinity spreading, sysfs and the legacy arch_setup_msi_irqs
 * path are not ported (a function without an MSI domain gets -ENOSPC, see
 * {@link #pciMsiSetupMsiIrqs}). v5.15 has no {@code msix_program_entries} any more: each
 * vector's message is written when the domain activates it, and {@link #msixUpdateEntries}
 * only reports the virqs.
 *
 * <p>Order of {@code msi_capability_init}, which the tests check against the config-space writes:
 * MSI Enable off; descriptor from Message Control; all vectors masked; vectors allocated from the
 * domain, which composes each message (the ITS, then dma-iommu's IOVA rewrite) and writes it
 * (Multiple Message Enable, address, data) while MSI is still off; INTx disabled; MSI Enable on.
 */
public final class PciMsi {
    private PciMsi() {}

    /* pci_alloc_irq_vectors flags (include/linux/pci.h) */
    public static final int PCI_IRQ_LEGACY = 1 << 0;
    public static final int PCI_IRQ_MSI = 1 << 1;
    public static final int PCI_IRQ_MSIX = 1 << 2;
    public static final int PCI_IRQ_AFFINITY = 1 << 3;

    /** Flags of the PCI/MSI domains {@link #pciMsiCreateIrqDomain} builds. */
    public static final int PCI_MSI_DOMAIN_FLAGS = MsiDomain.MSI_FLAG_USE_DEF_DOM_OPS
            | MsiDomain.MSI_FLAG_USE_DEF_CHIP_OPS | MsiDomain.MSI_FLAG_MULTI_PCI_MSI | MsiDomain.MSI_FLAG_PCI_MSIX
            | MsiDomain.MSI_FLAG_ACTIVATE_EARLY;

    /** {@code PCI_IRQ_VIRTUAL}: MSI-X entries beyond the Table are allowed (never written). */
    public static final int PCI_IRQ_VIRTUAL = 1 << 4;

    /** {@code struct msix_entry}: a Table entry the driver asks for, and the virq it got. */
    @Port("include/linux/pci.h:msix_entry")
    public static final class MsixEntry {
        public int vector;
        public int entry;

        public MsixEntry(int entry) {
            this.entry = entry;
        }
    }

    @Port("include/linux/msi.h:msi_desc_to_pci_dev")
    static PciDev msiDescToPciDev(MsiDesc desc) {
        return (PciDev) desc.dev;
    }

    @Port("include/linux/msi.h:first_pci_msi_entry")
    static MsiDesc firstPciMsiEntry(PciDev dev) {
        return MsiDesc.firstMsiEntry(dev);
    }

    /* ---------------- masking ---------------- */

    /** The Mask Bits covering every vector the function can do. */
    @Port("drivers/pci/msi.c:msi_multi_mask")
    static int msiMultiMask(MsiDesc desc) {
        // a shift by 32 would wrap in Java as in C: 32 vectors need all bits
        if (desc.msiAttribMultiCap >= 5) {
            return 0xffffffff;
        }
        return (1 << (1 << desc.msiAttribMultiCap)) - 1;
    }

    /** Clears then sets bits of the Mask Bits shadow and writes it, if the function can mask. */
    @Port("drivers/pci/msi.c:pci_msi_update_mask")
    static void pciMsiUpdateMask(MsiDesc desc, int clear, int set) {
        if (!desc.msiAttribCanMask) {
            return;
        }
        synchronized (desc) { // dev->msi_lock
            desc.msiMask &= ~clear;
            desc.msiMask |= set;
            pciWriteConfigDword(msiDescToPciDev(desc), desc.maskPos, desc.msiMask);
        }
    }

    @Port("drivers/pci/msi.c:pci_msi_mask")
    public static void pciMsiMask(MsiDesc desc, int mask) {
        pciMsiUpdateMask(desc, 0, mask);
    }

    @Port("drivers/pci/msi.c:pci_msi_unmask")
    public static void pciMsiUnmask(MsiDesc desc, int mask) {
        pciMsiUpdateMask(desc, mask, 0);
    }

    @Port("drivers/pci/msi.c:pci_msix_desc_addr")
    static long pciMsixDescAddr(MsiDesc desc) {
        return (long) desc.msiAttribEntryNr * PCI_MSIX_ENTRY_SIZE;
    }

    /** Writes the entry's Vector Control; the caller flushes and keeps {@code msix_ctrl}. */
    @Port("drivers/pci/msi.c:pci_msix_write_vector_ctrl")
    static void pciMsixWriteVectorCtrl(MsiDesc desc, int ctrl) {
        desc.maskBase.writel(ctrl, pciMsixDescAddr(desc) + PCI_MSIX_ENTRY_VECTOR_CTRL);
    }

    @Port("drivers/pci/msi.c:pci_msix_mask")
    static void pciMsixMask(MsiDesc desc) {
        desc.msixCtrl |= PCI_MSIX_ENTRY_CTRL_MASKBIT;
        pciMsixWriteVectorCtrl(desc, desc.msixCtrl);
        desc.maskBase.readl(0); // flush the write to the function
    }

    @Port("drivers/pci/msi.c:pci_msix_unmask")
    static void pciMsixUnmask(MsiDesc desc) {
        desc.msixCtrl &= ~PCI_MSIX_ENTRY_CTRL_MASKBIT;
        pciMsixWriteVectorCtrl(desc, desc.msixCtrl);
    }

    @Port("drivers/pci/msi.c:__pci_msi_mask_desc")
    static void __pciMsiMaskDesc(MsiDesc desc, int mask) {
        if (msiDescToPciDev(desc).pciBus.pci.pciMsiIgnoreMask || desc.msiAttribIsVirtual) {
            return;
        }
        if (desc.msiAttribIsMsix) {
            pciMsixMask(desc);
        } else {
            pciMsiMask(desc, mask);
        }
    }

    @Port("drivers/pci/msi.c:__pci_msi_unmask_desc")
    static void __pciMsiUnmaskDesc(MsiDesc desc, int mask) {
        if (msiDescToPciDev(desc).pciBus.pci.pciMsiIgnoreMask || desc.msiAttribIsVirtual) {
            return;
        }
        if (desc.msiAttribIsMsix) {
            pciMsixUnmask(desc);
        } else {
            pciMsiUnmask(desc, mask);
        }
    }

    /** The PCI/MSI chip's irq_mask: the vector's Mask bit. */
    @Port("drivers/pci/msi.c:pci_msi_mask_irq")
    public static void pciMsiMaskIrq(int virq, MsiDesc desc) {
        __pciMsiMaskDesc(desc, 1 << (virq - desc.irq));
    }

    @Port("drivers/pci/msi.c:pci_msi_unmask_irq")
    public static void pciMsiUnmaskIrq(int virq, MsiDesc desc) {
        __pciMsiUnmaskDesc(desc, 1 << (virq - desc.irq));
    }

    /* ---------------- messages ---------------- */

    /**
     * Reads the message programmed in the function (its MSI capability, or its MSI-X Table entry)
     * into {@code msg}; a virtual MSI-X entry has none: WARN_ON_ONCE, {@code msg} untouched.
     */
    @Port("drivers/pci/msi.c:__pci_read_msi_msg")
    public static void __pciReadMsiMsg(MsiDesc entry, MsiMsg msg) {
        PciDev dev = msiDescToPciDev(entry);
        if (entry.msiAttribIsMsix) {
            long base = pciMsixDescAddr(entry);
            // a virtual entry has no Table slot to read: asking for its message is a caller bug
            if (Warn.WARN_ON_ONCE(entry.msiAttribIsVirtual)) {
                return;
            }
            msg.addressLo = entry.maskBase.readl(base + PCI_MSIX_ENTRY_LOWER_ADDR);
            msg.addressHi = entry.maskBase.readl(base + PCI_MSIX_ENTRY_UPPER_ADDR);
            msg.data = entry.maskBase.readl(base + PCI_MSIX_ENTRY_DATA);
            return;
        }
        int pos = dev.msiCap;
        msg.addressLo = pciReadConfigDword(dev, pos + PCI_MSI_ADDRESS_LO);
        if (entry.msiAttribIs64) {
            msg.addressHi = pciReadConfigDword(dev, pos + PCI_MSI_ADDRESS_HI);
            msg.data = pciReadConfigWord(dev, pos + PCI_MSI_DATA_64);
        } else {
            msg.addressHi = 0;
            msg.data = pciReadConfigWord(dev, pos + PCI_MSI_DATA_32);
        }
    }

    /**
     * Programs {@code msg} into the function: Multiple Message Enable from the descriptor, the
     * address (the upper half only on a 64-bit capability: a 32-bit one silently keeps the low
     * half, as v5.15 does; {@link #msiVerifyEntries} then refuses such a message before MSI is
     * enabled), the data; a read of Message Control flushes the writes. The message is
     * remembered in {@code entry.msg}.
     */
    @Port("drivers/pci/msi.c:__pci_write_msi_msg")
    public static void __pciWriteMsiMsg(MsiDesc entry, MsiMsg msg) {
        PciDev dev = msiDescToPciDev(entry);
        if (entry.msiAttribIsMsix) {
            if (!entry.msiAttribIsVirtual) {
                long base = pciMsixDescAddr(entry);
                int ctrl = entry.msixCtrl;
                boolean unmasked = (ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT) == 0;
                // PCI 3.0 6.8.2: changing an unmasked entry's address or data is undefined
                if (unmasked) {
                    pciMsixWriteVectorCtrl(entry, ctrl | PCI_MSIX_ENTRY_CTRL_MASKBIT);
                }
                entry.maskBase.writel(msg.addressLo, base + PCI_MSIX_ENTRY_LOWER_ADDR);
                entry.maskBase.writel(msg.addressHi, base + PCI_MSIX_ENTRY_UPPER_ADDR);
                entry.maskBase.writel(msg.data, base + PCI_MSIX_ENTRY_DATA);
                if (unmasked) {
                    pciMsixWriteVectorCtrl(entry, ctrl);
                }
                entry.maskBase.readl(base + PCI_MSIX_ENTRY_DATA); // the writes reach the function
            }
            entry.msg.addressLo = msg.addressLo;
            entry.msg.addressHi = msg.addressHi;
            entry.msg.data = msg.data;
            return;
        }
        int pos = dev.msiCap;
        int msgctl = pciReadConfigWord(dev, pos + PCI_MSI_FLAGS);
        msgctl &= ~PCI_MSI_FLAGS_QSIZE;
        msgctl |= entry.msiAttribMultiple << 4;
        pciWriteConfigWord(dev, pos + PCI_MSI_FLAGS, msgctl);
        pciWriteConfigDword(dev, pos + PCI_MSI_ADDRESS_LO, msg.addressLo);
        if (entry.msiAttribIs64) {
            pciWriteConfigDword(dev, pos + PCI_MSI_ADDRESS_HI, msg.addressHi);
            pciWriteConfigWord(dev, pos + PCI_MSI_DATA_64, msg.data);
        } else {
            pciWriteConfigWord(dev, pos + PCI_MSI_DATA_32, msg.data);
        }
        pciReadConfigWord(dev, pos + PCI_MSI_FLAGS);
        entry.msg.addressLo = msg.addressLo;
        entry.msg.addressHi = msg.addressHi;
        entry.msg.data = msg.data;
    }

    /* ---------------- enable / disable ---------------- */

    @Port("drivers/pci/msi.c:pci_msi_set_enable")
    static void pciMsiSetEnable(PciDev dev, boolean enable) {
        int control = pciReadConfigWord(dev, dev.msiCap + PCI_MSI_FLAGS);
        control &= ~PCI_MSI_FLAGS_ENABLE;
        if (enable) {
            control |= PCI_MSI_FLAGS_ENABLE;
        }
        pciWriteConfigWord(dev, dev.msiCap + PCI_MSI_FLAGS, control);
    }

    @Port("drivers/pci/msi.c:pci_intx_for_msi")
    static void pciIntxForMsi(PciDev dev, boolean enable) {
        Pci.pciIntx(dev, enable); // no PCI_DEV_FLAGS_MSI_INTX_DISABLE_BUG quirk here
    }

    /**
     * At enumeration: finds the MSI capability, turns MSI off if firmware left it on, and marks a
     * function whose capability cannot hold a 64-bit Message Address as {@code no_64bit_msi} (so
     * {@link #msiVerifyEntries} refuses a message above 4 GiB instead of programming only its low
     * half). In v5.15 the flag is per function, so it applies to MSI-X messages as well.
     */
    @Port("drivers/pci/msi.c:pci_msi_init")
    static void pciMsiInit(PciDev dev) {
        dev.msiCap = pciFindCapability(dev, PCI_CAP_ID_MSI);
        if (dev.msiCap == 0) {
            return;
        }
        int ctrl = pciReadConfigWord(dev, dev.msiCap + PCI_MSI_FLAGS);
        if ((ctrl & PCI_MSI_FLAGS_ENABLE) != 0) {
            pciWriteConfigWord(dev, dev.msiCap + PCI_MSI_FLAGS, ctrl & ~PCI_MSI_FLAGS_ENABLE);
        }
        if ((ctrl & PCI_MSI_FLAGS_64BIT) == 0) {
            dev.no64bitMsi = true;
        }
    }

    @Port("drivers/pci/msi.c:pci_msix_clear_and_set_ctrl")
    static void pciMsixClearAndSetCtrl(PciDev dev, int clear, int set) {
        int ctrl = pciReadConfigWord(dev, dev.msixCap + PCI_MSIX_FLAGS);
        ctrl &= ~clear;
        ctrl |= set;
        pciWriteConfigWord(dev, dev.msixCap + PCI_MSIX_FLAGS, ctrl);
    }

    /** At enumeration: finds the MSI-X capability and turns MSI-X off if firmware left it on. */
    @Port("drivers/pci/msi.c:pci_msix_init")
    static void pciMsixInit(PciDev dev) {
        dev.msixCap = pciFindCapability(dev, PCI_CAP_ID_MSIX);
        if (dev.msixCap == 0) {
            return;
        }
        int ctrl = pciReadConfigWord(dev, dev.msixCap + PCI_MSIX_FLAGS);
        if ((ctrl & PCI_MSIX_FLAGS_ENABLE) != 0) {
            pciWriteConfigWord(dev, dev.msixCap + PCI_MSIX_FLAGS, ctrl & ~PCI_MSIX_FLAGS_ENABLE);
        }
    }

    /** Whether MSI may be used at all for {@code nvec} vectors of {@code dev}. */
    @Port("drivers/pci/msi.c:pci_msi_supported")
    static boolean pciMsiSupported(PciDev dev, int nvec) {
        if (dev == null || !dev.pciBus.pci.pciMsiEnable) {
            return false;
        }
        if (dev.noMsi) {
            return false;
        }
        if (nvec < 1) {
            return false;
        }
        // any bus on the way up that cannot do MSI (only root buses are modelled)
        return (dev.pciBus.busFlags & PciBus.PCI_BUS_FLAGS_NO_MSI) == 0;
    }

    /** Vectors the function asks for (Multiple Message Capable); -EINVAL without MSI capability. */
    @Port("drivers/pci/msi.c:pci_msi_vec_count")
    public static int pciMsiVecCount(PciDev dev) {
        if (dev.msiCap == 0) {
            return -EINVAL;
        }
        int msgctl = pciReadConfigWord(dev, dev.msiCap + PCI_MSI_FLAGS);
        return 1 << ((msgctl & PCI_MSI_FLAGS_QMASK) >> 1);
    }

    @Port("drivers/pci/msi.c:msix_table_size")
    static int msixTableSize(int flags) {
        return (flags & PCI_MSIX_FLAGS_QSIZE) + 1;
    }

    /** MSI-X Table entries the function has (Table Size + 1); -EINVAL without MSI-X capability. */
    @Port("drivers/pci/msi.c:pci_msix_vec_count")
    public static int pciMsixVecCount(PciDev dev) {
        if (dev.msixCap == 0) {
            return -EINVAL;
        }
        int control = pciReadConfigWord(dev, dev.msixCap + PCI_MSIX_FLAGS);
        return msixTableSize(control);
    }

    /** Maps the Table: its BAR (which must be assigned) plus the Table Offset; null if it cannot. */
    @Port("drivers/pci/msi.c:msix_map_region")
    static IoMem msixMapRegion(PciDev dev, int nrEntries) {
        int tableOffset = pciReadConfigDword(dev, dev.msixCap + PCI_MSIX_TABLE);
        int bir = tableOffset & PCI_MSIX_TABLE_BIR;
        long flags = Pci.pciResourceFlags(dev, bir);
        if (flags == 0 || (flags & Resource.IORESOURCE_UNSET) != 0) {
            return null;
        }
        long physAddr = Pci.pciResourceStart(dev, bir) + Integer.toUnsignedLong(tableOffset & PCI_MSIX_TABLE_OFFSET);
        return IoMem.ioremap(dev.pciBus.sysdata.mmio, physAddr, (long) nrEntries * PCI_MSIX_ENTRY_SIZE);
    }

    /** One descriptor per vector, for the asked entries (or 0..nvec-1), with its Vector Control read. */
    @Port("drivers/pci/msi.c:msix_setup_entries")
    static int msixSetupEntries(PciDev dev, IoMem base, MsixEntry[] entries, int nvec) {
        int vecCount = pciMsixVecCount(dev);
        for (int i = 0; i < nvec; i++) {
            MsiDesc entry = MsiDesc.allocMsiEntry(dev, 1);
            entry.msiAttribIsMsix = true;
            entry.msiAttribIs64 = true;
            entry.msiAttribEntryNr = entries != null ? entries[i].entry : i;
            entry.msiAttribIsVirtual = entry.msiAttribEntryNr >= vecCount;
            entry.msiAttribDefaultIrq = dev.irq;
            entry.maskBase = base;
            if (!entry.msiAttribIsVirtual) {
                entry.msixCtrl = base.readl(pciMsixDescAddr(entry) + PCI_MSIX_ENTRY_VECTOR_CTRL);
            }
            dev.msiList.add(entry);
        }
        return 0;
    }

    /** Tells the driver each entry's virq. */
    @Port("drivers/pci/msi.c:msix_update_entries")
    static void msixUpdateEntries(PciDev dev, MsixEntry[] entries) {
        if (entries != null) {
            int i = 0;
            for (MsiDesc entry : dev.msiList) {
                entries[i++].vector = entry.irq;
            }
        }
    }

    /** Sets every Table entry's Mask bit. */
    @Port("drivers/pci/msi.c:msix_mask_all")
    static void msixMaskAll(PciDev dev, IoMem base, int tsize) {
        if (dev.pciBus.pci.pciMsiIgnoreMask) {
            return;
        }
        for (int i = 0; i < tsize; i++) {
            base.writel(PCI_MSIX_ENTRY_CTRL_MASKBIT, (long) i * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL);
        }
    }

    /**
     * Sets up MSI-X with {@code nvec} vectors: MSI-X enabled with Function Mask while the Table
     * is mapped and fully masked, the vectors allocated (each message written masked, on
     * activation), then Function Mask off. 0, a positive number of vectors the domain could give
     * instead, or -errno (-ENOMEM: the Table's BAR is not assigned).
     */
    @Port("drivers/pci/msi.c:msix_capability_init")
    static int msixCapabilityInit(PciDev dev, MsixEntry[] entries, int nvec) {
        // some functions need MSI-X enabled before the Table answers: enable it, all masked
        pciMsixClearAndSetCtrl(dev, 0, PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE);
        int control = pciReadConfigWord(dev, dev.msixCap + PCI_MSIX_FLAGS);
        int tsize = msixTableSize(control);
        IoMem base = msixMapRegion(dev, tsize);
        int ret;
        if (base == null) {
            ret = -ENOMEM;
        } else {
            msixMaskAll(dev, base, tsize);
            ret = msixSetupEntries(dev, base, entries, nvec);
            if (ret == 0) {
                ret = pciMsiSetupMsiIrqs(dev, nvec, PCI_CAP_ID_MSIX);
                if (ret != 0) {
                    if (ret < 0) {
                        // some vectors were set up: report how many
                        int avail = 0;
                        for (MsiDesc entry : dev.msiList) {
                            if (entry.irq != 0) {
                                avail++;
                            }
                        }
                        if (avail != 0) {
                            ret = avail;
                        }
                    }
                } else {
                    ret = msiVerifyEntries(dev);
                    if (ret == 0) {
                        msixUpdateEntries(dev, entries);
                        pciIntxForMsi(dev, false);
                        dev.msixEnabled = true;
                        pciMsixClearAndSetCtrl(dev, PCI_MSIX_FLAGS_MASKALL, 0);
                        return 0;
                    }
                }
                freeMsiIrqs(dev);
            }
        }
        pciMsixClearAndSetCtrl(dev, PCI_MSIX_FLAGS_ENABLE, 0);
        return ret;
    }

    /** Checks the request and sets up MSI-X: 0, the entries the function has (nvec too big), or -errno. */
    @Port("drivers/pci/msi.c:__pci_enable_msix")
    static int __pciEnableMsix(PciDev dev, MsixEntry[] entries, int nvec, int flags) {
        if (!pciMsiSupported(dev, nvec)) {
            return -EINVAL;
        }
        int nrEntries = pciMsixVecCount(dev);
        if (nrEntries < 0) {
            return nrEntries;
        }
        if (nvec > nrEntries && (flags & PCI_IRQ_VIRTUAL) == 0) {
            return nrEntries;
        }
        if (entries != null) {
            for (int i = 0; i < nvec; i++) {
                if (entries[i].entry < 0 || entries[i].entry >= nrEntries) {
                    return -EINVAL; // no such entry
                }
                for (int j = i + 1; j < nvec; j++) {
                    if (entries[i].entry == entries[j].entry) {
                        return -EINVAL; // asked twice
                    }
                }
            }
        }
        if (dev.msiEnabled) {
            DevPrintk.devInfo(dev, "can't enable MSI-X (MSI IRQ already assigned)");
            return -EINVAL;
        }
        return msixCapabilityInit(dev, entries, nvec);
    }

    @Port("drivers/pci/msi.c:__pci_enable_msix_range")
    static int __pciEnableMsixRange(PciDev dev, MsixEntry[] entries, int minvec, int maxvec, int flags) {
        int nvec = maxvec;
        if (maxvec < minvec) {
            return -ERANGE;
        }
        if (Warn.WARN_ON_ONCE(dev.msixEnabled)) {
            return -EINVAL;
        }
        for (;;) {
            int rc = __pciEnableMsix(dev, entries, nvec, flags);
            if (rc == 0) {
                return nvec;
            }
            if (rc < 0) {
                return rc;
            }
            if (rc < minvec) {
                return -ENOSPC;
            }
            nvec = rc;
        }
    }

    /**
     * Enables MSI-X with between {@code minvec} and {@code maxvec} of the Table entries
     * {@code entries} names (each gets its virq in {@code vector}): how many, or -errno
     * (-ENOSPC fewer than minvec possible, -EINVAL bad or repeated entry or MSI on, -ERANGE).
     */
    @Port("drivers/pci/msi.c:pci_enable_msix_range")
    public static int pciEnableMsixRange(PciDev dev, MsixEntry[] entries, int minvec, int maxvec) {
        return __pciEnableMsixRange(dev, entries, minvec, maxvec, 0);
    }

    /** MSI-X off: each entry masked as the function started, MSI-X Enable clear, INTx back. */
    @Port("drivers/pci/msi.c:pci_msix_shutdown")
    static void pciMsixShutdown(PciDev dev) {
        if (!dev.pciBus.pci.pciMsiEnable || !dev.msixEnabled) {
            return;
        }
        for (MsiDesc entry : dev.msiList) {
            if (!entry.msiAttribIsVirtual) {
                pciMsixMask(entry);
            }
        }
        pciMsixClearAndSetCtrl(dev, PCI_MSIX_FLAGS_ENABLE, 0);
        pciIntxForMsi(dev, true);
        dev.msixEnabled = false;
    }

    @Port("drivers/pci/msi.c:pci_disable_msix")
    public static void pciDisableMsix(PciDev dev) {
        if (!dev.pciBus.pci.pciMsiEnable || !dev.msixEnabled) {
            return;
        }
        pciMsixShutdown(dev);
        freeMsiIrqs(dev);
    }

    /** A descriptor for {@code nvec} vectors, its attributes read from Message Control. */
    @Port("drivers/pci/msi.c:msi_setup_entry")
    static MsiDesc msiSetupEntry(PciDev dev, int nvec) {
        MsiDesc entry = MsiDesc.allocMsiEntry(dev, nvec);
        int control = pciReadConfigWord(dev, dev.msiCap + PCI_MSI_FLAGS);
        entry.msiAttribIsMsix = false;
        entry.msiAttribIs64 = (control & PCI_MSI_FLAGS_64BIT) != 0;
        entry.msiAttribEntryNr = 0;
        entry.msiAttribCanMask = !dev.pciBus.pci.pciMsiIgnoreMask && (control & PCI_MSI_FLAGS_MASKBIT) != 0;
        entry.msiAttribDefaultIrq = dev.irq;
        entry.msiAttribMultiCap = (control & PCI_MSI_FLAGS_QMASK) >> 1;
        entry.msiAttribMultiple = Bits.ilog2(Bits.roundupPowOfTwo(nvec));
        entry.maskPos = dev.msiCap + ((control & PCI_MSI_FLAGS_64BIT) != 0 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
        if (entry.msiAttribCanMask) {
            entry.msiMask = pciReadConfigDword(dev, entry.maskPos);
        }
        return entry;
    }

    /** A 64-bit message for a function that said it can only do 32 bits is refused (-EIO). */
    @Port("drivers/pci/msi.c:msi_verify_entries")
    static int msiVerifyEntries(PciDev dev) {
        if (!dev.no64bitMsi) {
            return 0;
        }
        for (MsiDesc entry : dev.msiList) {
            if (entry.msg.addressHi != 0) {
                DevPrintk.devErr(dev, "arch assigned 64-bit MSI address %#x%08x but device only supports 32 bits",
                        entry.msg.addressHi, entry.msg.addressLo);
                return -EIO;
            }
        }
        return 0;
    }

    /** Allocates the vectors from the device's MSI domain (the irq-domain hierarchy path). */
    @Port("drivers/pci/msi.c:pci_msi_setup_msi_irqs")
    static int pciMsiSetupMsiIrqs(PciDev dev, int nvec, int type) {
        MsiDomain domain = dev.msiDomain;
        if (domain != null) {
            return domain.msiDomainAllocIrqs(dev, nvec);
        }
        // arch_setup_msi_irqs: the weak default has no MSI controller to ask
        return -ENOSPC;
    }

    @Port("drivers/pci/msi.c:pci_msi_teardown_msi_irqs")
    static void pciMsiTeardownMsiIrqs(PciDev dev) {
        MsiDomain domain = dev.msiDomain;
        if (domain != null) {
            domain.msiDomainFreeIrqs(dev);
        }
    }

    /** Frees the vectors and the descriptors; a vector still with a handler is a driver bug. */
    @Port("drivers/pci/msi.c:free_msi_irqs")
    static void freeMsiIrqs(PciDev dev) {
        MsiDomain domain = dev.msiDomain;
        for (MsiDesc entry : dev.msiList) {
            if (entry.irq != 0 && domain != null) {
                for (int i = 0; i < entry.nvecUsed; i++) {
                    // BUG_ON in the kernel: the driver must free_irq() first; here a warning
                    Warn.WARN_ON(domain.irqHasAction(entry.irq + i));
                }
            }
        }
        pciMsiTeardownMsiIrqs(dev);
        dev.msiList.clear();
    }

    /**
     * Sets up MSI with {@code nvec} vectors: 0, a positive number of vectors the domain could
     * give instead (multi-MSI refused), or -errno (-ENOSPC when the domain's allocation failed,
     * whatever the reason below it; -EIO from {@link #msiVerifyEntries}).
     */
    @Port("drivers/pci/msi.c:msi_capability_init")
    static int msiCapabilityInit(PciDev dev, int nvec) {
        pciMsiSetEnable(dev, false); // off while the message is set up
        MsiDesc entry = msiSetupEntry(dev, nvec);
        // the function resets with every vector unmasked: mask them all until a driver asks
        pciMsiMask(entry, msiMultiMask(entry));
        dev.msiList.add(entry);
        int ret = pciMsiSetupMsiIrqs(dev, nvec, PCI_CAP_ID_MSI);
        if (ret == 0) {
            ret = msiVerifyEntries(dev);
        }
        if (ret != 0) {
            pciMsiUnmask(entry, msiMultiMask(entry));
            freeMsiIrqs(dev);
            return ret;
        }
        pciIntxForMsi(dev, false);
        pciMsiSetEnable(dev, true);
        dev.msiEnabled = true;
        dev.irq = entry.irq;
        return 0;
    }

    /** Vectors enabled (between minvec and maxvec), or -errno. */
    @Port("drivers/pci/msi.c:__pci_enable_msi_range")
    static int __pciEnableMsiRange(PciDev dev, int minvec, int maxvec) {
        if (!pciMsiSupported(dev, minvec)) {
            return -EINVAL;
        }
        if (dev.msixEnabled) {
            DevPrintk.devInfo(dev, "can't enable MSI (MSI-X already enabled)");
            return -EINVAL;
        }
        if (maxvec < minvec) {
            return -ERANGE;
        }
        if (Warn.WARN_ON_ONCE(dev.msiEnabled)) {
            return -EINVAL;
        }
        int nvec = pciMsiVecCount(dev);
        if (nvec < 0) {
            return nvec;
        }
        if (nvec < minvec) {
            return -ENOSPC;
        }
        if (nvec > maxvec) {
            nvec = maxvec;
        }
        for (;;) {
            int rc = msiCapabilityInit(dev, nvec);
            if (rc == 0) {
                return nvec;
            }
            if (rc < 0) {
                return rc;
            }
            if (rc < minvec) {
                return -ENOSPC;
            }
            nvec = rc;
        }
    }

    /** One MSI vector: 0 or -errno. */
    @Port("drivers/pci/msi.c:pci_enable_msi")
    public static int pciEnableMsi(PciDev dev) {
        int rc = __pciEnableMsiRange(dev, 1, 1);
        return rc < 0 ? rc : 0;
    }

    /**
     * Allocates between {@code minVecs} and {@code maxVecs} vectors of the kinds {@code flags}
     * allows, MSI-X first, then MSI, then the legacy interrupt; returns how many, or the last
     * kind's -errno (-ENOSPC if none was allowed). The simulated functions have no legacy
     * interrupt ({@code dev->irq} is 0); affinity spreading is not modelled.
     */
    @Port("drivers/pci/msi.c:pci_alloc_irq_vectors_affinity")
    public static int pciAllocIrqVectors(PciDev dev, int minVecs, int maxVecs, int flags) {
        int nvecs = -ENOSPC;
        if ((flags & PCI_IRQ_MSIX) != 0) {
            nvecs = __pciEnableMsixRange(dev, null, minVecs, maxVecs, flags);
            if (nvecs > 0) {
                return nvecs;
            }
        }
        if ((flags & PCI_IRQ_MSI) != 0) {
            nvecs = __pciEnableMsiRange(dev, minVecs, maxVecs);
            if (nvecs > 0) {
                return nvecs;
            }
        }
        if ((flags & PCI_IRQ_LEGACY) != 0 && minVecs == 1 && dev.irq != 0) {
            Pci.pciIntx(dev, true);
            return 1;
        }
        return nvecs;
    }

    /** MSI off, INTx back on, the vectors unmasked as the function had them, then freed. */
    @Port("drivers/pci/msi.c:pci_msi_shutdown")
    static void pciMsiShutdown(PciDev dev) {
        if (!dev.pciBus.pci.pciMsiEnable || !dev.msiEnabled) {
            return;
        }
        MsiDesc desc = firstPciMsiEntry(dev);
        pciMsiSetEnable(dev, false);
        pciIntxForMsi(dev, true);
        dev.msiEnabled = false;
        pciMsiUnmask(desc, msiMultiMask(desc));
        dev.irq = desc.msiAttribDefaultIrq;
    }

    @Port("drivers/pci/msi.c:pci_disable_msi")
    public static void pciDisableMsi(PciDev dev) {
        if (!dev.pciBus.pci.pciMsiEnable || !dev.msiEnabled) {
            return;
        }
        pciMsiShutdown(dev);
        freeMsiIrqs(dev);
    }

    @Port("drivers/pci/msi.c:pci_free_irq_vectors")
    public static void pciFreeIrqVectors(PciDev dev) {
        pciDisableMsix(dev);
        pciDisableMsi(dev);
    }

    /** The virq of vector {@code nr}, or -EINVAL (with a warning) if there is no such vector. */
    @Port("drivers/pci/msi.c:pci_irq_vector")
    public static int pciIrqVector(PciDev dev, int nr) {
        if (dev.msixEnabled) {
            int i = 0;
            for (MsiDesc entry : dev.msiList) {
                if (i == nr) {
                    return entry.irq;
                }
                i++;
            }
            Warn.WARN_ON_ONCE(true);
            return -EINVAL;
        }
        if (dev.msiEnabled) {
            MsiDesc entry = firstPciMsiEntry(dev);
            if (Warn.WARN_ON_ONCE(Integer.compareUnsigned(nr, entry.nvecUsed) >= 0)) {
                return -EINVAL;
            }
        } else if (Warn.WARN_ON_ONCE(nr != 0)) {
            return -EINVAL;
        }
        return dev.irq + nr;
    }

    /* ---------------- the PCI/MSI irq domain ---------------- */

    /** The PCI/MSI chip's irq_write_msi_msg: only the first vector of a multi-MSI block writes. */
    @Port("drivers/pci/msi.c:pci_msi_domain_write_msg")
    public static void pciMsiDomainWriteMsg(int virq, MsiDesc desc, MsiMsg msg) {
        if (desc.irq == virq) {
            __pciWriteMsiMsg(desc, msg);
        }
    }

    @Port("drivers/pci/msi.c:pci_msi_desc_is_multi_msi")
    static boolean pciMsiDescIsMultiMsi(MsiDesc desc) {
        return !desc.msiAttribIsMsix && desc.nvecUsed > 1;
    }

    /** Multi-MSI asked of a domain that cannot: 1 (retry with one vector); MSI-X: -ENOTSUPP. */
    @Port("drivers/pci/msi.c:pci_msi_domain_check_cap")
    public static int pciMsiDomainCheckCap(MsiDomain domain, Device dev) {
        MsiDesc desc = firstPciMsiEntry((PciDev) dev);
        if (pciMsiDescIsMultiMsi(desc) && (domain.flags & MsiDomain.MSI_FLAG_MULTI_PCI_MSI) == 0) {
            return 1;
        }
        if (desc.msiAttribIsMsix && (domain.flags & MsiDomain.MSI_FLAG_PCI_MSIX) == 0) {
            return -ENOTSUPP;
        }
        return 0;
    }

    /** A failed multi-MSI allocation asks for a retry with one vector. */
    @Port("drivers/pci/msi.c:pci_msi_domain_handle_error")
    public static int pciMsiDomainHandleError(MsiDomain domain, MsiDesc desc, int error) {
        if (pciMsiDescIsMultiMsi(desc) && error == -ENOSPC) {
            return 1;
        }
        return error;
    }

    /**
     * Builds a PCI/MSI domain over {@code parent}: the PCI ops (check_cap, handle_error) around
     * the parent's own {@code msi_prepare}, and the PCI chip's write.
     */
    @Port("drivers/pci/msi.c:pci_msi_create_irq_domain")
    public static MsiDomain pciMsiCreateIrqDomain(String name, MsiPrepare prepare, MsiDomain.ParentDomain parent,
                                                      org.iommu4j.base.hw.IrqController irqs) {
        MsiDomain.MsiDomainOps ops = new MsiDomain.MsiDomainOps() {
            @Override
            public int msiCheck(MsiDomain domain, Device dev) {
                return pciMsiDomainCheckCap(domain, dev);
            }

            @Override
            public int msiPrepare(MsiDomain domain, Device dev, int nvec, MsiDomain.MsiAllocInfo arg) {
                return prepare.msiPrepare(domain, dev, nvec, arg);
            }

            @Override
            public boolean hasHandleError() {
                return true;
            }

            @Override
            public int handleError(MsiDomain domain, MsiDesc desc, int error) {
                return pciMsiDomainHandleError(domain, desc, error);
            }
        };
        MsiDomain.MsiChip chip = new MsiDomain.MsiChip() {
            @Override
            public void irqWriteMsiMsg(int virq, MsiDesc desc, MsiMsg msg) {
                pciMsiDomainWriteMsg(virq, desc, msg);
            }

            @Override
            public void irqMask(int virq, MsiDesc desc) {
                pciMsiMaskIrq(virq, desc);
            }

            @Override
            public void irqUnmask(int virq, MsiDesc desc) {
                pciMsiUnmaskIrq(virq, desc);
            }
        };
        return new MsiDomain(name, PCI_MSI_DOMAIN_FLAGS, ops, chip, parent, irqs);
    }

    /** The parent's {@code msi_domain_ops.msi_prepare} (the ITS's its_pci_msi_prepare). */
    @FunctionalInterface
    public interface MsiPrepare {
        int msiPrepare(MsiDomain domain, Device dev, int nvec, MsiDomain.MsiAllocInfo arg);
    }
}
