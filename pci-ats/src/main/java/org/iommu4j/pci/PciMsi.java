package org.iommu4j.pci;

import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.EIO;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.base.Errno.ENOTSUPP;
import static org.iommu4j.base.Errno.ERANGE;
import static org.iommu4j.pci.Pci.pci_find_capability;
import static org.iommu4j.pci.Pci.pci_read_config_dword;
import static org.iommu4j.pci.Pci.pci_read_config_word;
import static org.iommu4j.pci.Pci.pci_write_config_dword;
import static org.iommu4j.pci.Pci.pci_write_config_word;
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
 * {@link #pci_msi_setup_msi_irqs}). v5.15 has no {@code msix_program_entries} any more: each
 * vector's message is written when the domain activates it, and {@link #msix_update_entries}
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

    /** Flags of the PCI/MSI domains {@link #pci_msi_create_irq_domain} builds. */
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
    static PciDev msi_desc_to_pci_dev(MsiDesc desc) {
        return (PciDev) desc.dev;
    }

    @Port("include/linux/msi.h:first_pci_msi_entry")
    static MsiDesc first_pci_msi_entry(PciDev dev) {
        return MsiDesc.first_msi_entry(dev);
    }

    /* ---------------- masking ---------------- */

    /** The Mask Bits covering every vector the function can do. */
    @Port("drivers/pci/msi.c:msi_multi_mask")
    static int msi_multi_mask(MsiDesc desc) {
        // a shift by 32 would wrap in Java as in C: 32 vectors need all bits
        if (desc.msiAttribMultiCap >= 5) {
            return 0xffffffff;
        }
        return (1 << (1 << desc.msiAttribMultiCap)) - 1;
    }

    /** Clears then sets bits of the Mask Bits shadow and writes it, if the function can mask. */
    @Port("drivers/pci/msi.c:pci_msi_update_mask")
    static void pci_msi_update_mask(MsiDesc desc, int clear, int set) {
        if (!desc.msiAttribCanMask) {
            return;
        }
        synchronized (desc) { // dev->msi_lock
            desc.msiMask &= ~clear;
            desc.msiMask |= set;
            pci_write_config_dword(msi_desc_to_pci_dev(desc), desc.maskPos, desc.msiMask);
        }
    }

    @Port("drivers/pci/msi.c:pci_msi_mask")
    public static void pci_msi_mask(MsiDesc desc, int mask) {
        pci_msi_update_mask(desc, 0, mask);
    }

    @Port("drivers/pci/msi.c:pci_msi_unmask")
    public static void pci_msi_unmask(MsiDesc desc, int mask) {
        pci_msi_update_mask(desc, mask, 0);
    }

    @Port("drivers/pci/msi.c:pci_msix_desc_addr")
    static long pci_msix_desc_addr(MsiDesc desc) {
        return (long) desc.msiAttribEntryNr * PCI_MSIX_ENTRY_SIZE;
    }

    /** Writes the entry's Vector Control; the caller flushes and keeps {@code msix_ctrl}. */
    @Port("drivers/pci/msi.c:pci_msix_write_vector_ctrl")
    static void pci_msix_write_vector_ctrl(MsiDesc desc, int ctrl) {
        desc.maskBase.writel(ctrl, pci_msix_desc_addr(desc) + PCI_MSIX_ENTRY_VECTOR_CTRL);
    }

    @Port("drivers/pci/msi.c:pci_msix_mask")
    static void pci_msix_mask(MsiDesc desc) {
        desc.msixCtrl |= PCI_MSIX_ENTRY_CTRL_MASKBIT;
        pci_msix_write_vector_ctrl(desc, desc.msixCtrl);
        desc.maskBase.readl(0); // flush the write to the function
    }

    @Port("drivers/pci/msi.c:pci_msix_unmask")
    static void pci_msix_unmask(MsiDesc desc) {
        desc.msixCtrl &= ~PCI_MSIX_ENTRY_CTRL_MASKBIT;
        pci_msix_write_vector_ctrl(desc, desc.msixCtrl);
    }

    @Port("drivers/pci/msi.c:__pci_msi_mask_desc")
    static void __pci_msi_mask_desc(MsiDesc desc, int mask) {
        if (msi_desc_to_pci_dev(desc).pciBus.pci.pci_msi_ignore_mask || desc.msiAttribIsVirtual) {
            return;
        }
        if (desc.msiAttribIsMsix) {
            pci_msix_mask(desc);
        } else {
            pci_msi_mask(desc, mask);
        }
    }

    @Port("drivers/pci/msi.c:__pci_msi_unmask_desc")
    static void __pci_msi_unmask_desc(MsiDesc desc, int mask) {
        if (msi_desc_to_pci_dev(desc).pciBus.pci.pci_msi_ignore_mask || desc.msiAttribIsVirtual) {
            return;
        }
        if (desc.msiAttribIsMsix) {
            pci_msix_unmask(desc);
        } else {
            pci_msi_unmask(desc, mask);
        }
    }

    /** The PCI/MSI chip's irq_mask: the vector's Mask bit. */
    @Port("drivers/pci/msi.c:pci_msi_mask_irq")
    public static void pci_msi_mask_irq(int virq, MsiDesc desc) {
        __pci_msi_mask_desc(desc, 1 << (virq - desc.irq));
    }

    @Port("drivers/pci/msi.c:pci_msi_unmask_irq")
    public static void pci_msi_unmask_irq(int virq, MsiDesc desc) {
        __pci_msi_unmask_desc(desc, 1 << (virq - desc.irq));
    }

    /* ---------------- messages ---------------- */

    /** Reads the message programmed in the function's capability into {@code msg}. */
    @Port("drivers/pci/msi.c:__pci_read_msi_msg")
    public static void __pci_read_msi_msg(MsiDesc entry, MsiMsg msg) {
        PciDev dev = msi_desc_to_pci_dev(entry);
        if (entry.msiAttribIsMsix) {
            long base = pci_msix_desc_addr(entry);
            if (entry.msiAttribIsVirtual) {
                return;
            }
            msg.addressLo = entry.maskBase.readl(base + PCI_MSIX_ENTRY_LOWER_ADDR);
            msg.addressHi = entry.maskBase.readl(base + PCI_MSIX_ENTRY_UPPER_ADDR);
            msg.data = entry.maskBase.readl(base + PCI_MSIX_ENTRY_DATA);
            return;
        }
        int pos = dev.msiCap;
        msg.addressLo = pci_read_config_dword(dev, pos + PCI_MSI_ADDRESS_LO);
        if (entry.msiAttribIs64) {
            msg.addressHi = pci_read_config_dword(dev, pos + PCI_MSI_ADDRESS_HI);
            msg.data = pci_read_config_word(dev, pos + PCI_MSI_DATA_64);
        } else {
            msg.addressHi = 0;
            msg.data = pci_read_config_word(dev, pos + PCI_MSI_DATA_32);
        }
    }

    /**
     * Programs {@code msg} into the function: Multiple Message Enable from the descriptor, the
     * address (the upper half only on a 64-bit capability: a 32-bit one silently keeps the low
     * half, as v5.15 does), the data; a read of Message Control flushes the writes. The message
     * is remembered in {@code entry.msg}.
     */
    @Port("drivers/pci/msi.c:__pci_write_msi_msg")
    public static void __pci_write_msi_msg(MsiDesc entry, MsiMsg msg) {
        PciDev dev = msi_desc_to_pci_dev(entry);
        if (entry.msiAttribIsMsix) {
            if (!entry.msiAttribIsVirtual) {
                long base = pci_msix_desc_addr(entry);
                int ctrl = entry.msixCtrl;
                boolean unmasked = (ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT) == 0;
                // PCI 3.0 6.8.2: changing an unmasked entry's address or data is undefined
                if (unmasked) {
                    pci_msix_write_vector_ctrl(entry, ctrl | PCI_MSIX_ENTRY_CTRL_MASKBIT);
                }
                entry.maskBase.writel(msg.addressLo, base + PCI_MSIX_ENTRY_LOWER_ADDR);
                entry.maskBase.writel(msg.addressHi, base + PCI_MSIX_ENTRY_UPPER_ADDR);
                entry.maskBase.writel(msg.data, base + PCI_MSIX_ENTRY_DATA);
                if (unmasked) {
                    pci_msix_write_vector_ctrl(entry, ctrl);
                }
                entry.maskBase.readl(base + PCI_MSIX_ENTRY_DATA); // the writes reach the function
            }
            entry.msg.addressLo = msg.addressLo;
            entry.msg.addressHi = msg.addressHi;
            entry.msg.data = msg.data;
            return;
        }
        int pos = dev.msiCap;
        int msgctl = pci_read_config_word(dev, pos + PCI_MSI_FLAGS);
        msgctl &= ~PCI_MSI_FLAGS_QSIZE;
        msgctl |= entry.msiAttribMultiple << 4;
        pci_write_config_word(dev, pos + PCI_MSI_FLAGS, msgctl);
        pci_write_config_dword(dev, pos + PCI_MSI_ADDRESS_LO, msg.addressLo);
        if (entry.msiAttribIs64) {
            pci_write_config_dword(dev, pos + PCI_MSI_ADDRESS_HI, msg.addressHi);
            pci_write_config_word(dev, pos + PCI_MSI_DATA_64, msg.data);
        } else {
            pci_write_config_word(dev, pos + PCI_MSI_DATA_32, msg.data);
        }
        pci_read_config_word(dev, pos + PCI_MSI_FLAGS);
        entry.msg.addressLo = msg.addressLo;
        entry.msg.addressHi = msg.addressHi;
        entry.msg.data = msg.data;
    }

    /* ---------------- enable / disable ---------------- */

    @Port("drivers/pci/msi.c:pci_msi_set_enable")
    static void pci_msi_set_enable(PciDev dev, boolean enable) {
        int control = pci_read_config_word(dev, dev.msiCap + PCI_MSI_FLAGS);
        control &= ~PCI_MSI_FLAGS_ENABLE;
        if (enable) {
            control |= PCI_MSI_FLAGS_ENABLE;
        }
        pci_write_config_word(dev, dev.msiCap + PCI_MSI_FLAGS, control);
    }

    @Port("drivers/pci/msi.c:pci_intx_for_msi")
    static void pci_intx_for_msi(PciDev dev, boolean enable) {
        Pci.pci_intx(dev, enable); // no PCI_DEV_FLAGS_MSI_INTX_DISABLE_BUG quirk here
    }

    /** At enumeration: finds the MSI capability and turns MSI off if firmware left it on. */
    @Port("drivers/pci/msi.c:pci_msi_init")
    static void pci_msi_init(PciDev dev) {
        dev.msiCap = pci_find_capability(dev, PCI_CAP_ID_MSI);
        if (dev.msiCap == 0) {
            return;
        }
        int ctrl = pci_read_config_word(dev, dev.msiCap + PCI_MSI_FLAGS);
        if ((ctrl & PCI_MSI_FLAGS_ENABLE) != 0) {
            pci_write_config_word(dev, dev.msiCap + PCI_MSI_FLAGS, ctrl & ~PCI_MSI_FLAGS_ENABLE);
        }
    }

    @Port("drivers/pci/msi.c:pci_msix_clear_and_set_ctrl")
    static void pci_msix_clear_and_set_ctrl(PciDev dev, int clear, int set) {
        int ctrl = pci_read_config_word(dev, dev.msixCap + PCI_MSIX_FLAGS);
        ctrl &= ~clear;
        ctrl |= set;
        pci_write_config_word(dev, dev.msixCap + PCI_MSIX_FLAGS, ctrl);
    }

    /** At enumeration: finds the MSI-X capability and turns MSI-X off if firmware left it on. */
    @Port("drivers/pci/msi.c:pci_msix_init")
    static void pci_msix_init(PciDev dev) {
        dev.msixCap = pci_find_capability(dev, PCI_CAP_ID_MSIX);
        if (dev.msixCap == 0) {
            return;
        }
        int ctrl = pci_read_config_word(dev, dev.msixCap + PCI_MSIX_FLAGS);
        if ((ctrl & PCI_MSIX_FLAGS_ENABLE) != 0) {
            pci_write_config_word(dev, dev.msixCap + PCI_MSIX_FLAGS, ctrl & ~PCI_MSIX_FLAGS_ENABLE);
        }
    }

    /** Whether MSI may be used at all for {@code nvec} vectors of {@code dev}. */
    @Port("drivers/pci/msi.c:pci_msi_supported")
    static boolean pci_msi_supported(PciDev dev, int nvec) {
        if (dev == null || !dev.pciBus.pci.pci_msi_enable) {
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
    public static int pci_msi_vec_count(PciDev dev) {
        if (dev.msiCap == 0) {
            return -EINVAL;
        }
        int msgctl = pci_read_config_word(dev, dev.msiCap + PCI_MSI_FLAGS);
        return 1 << ((msgctl & PCI_MSI_FLAGS_QMASK) >> 1);
    }

    @Port("drivers/pci/msi.c:msix_table_size")
    static int msix_table_size(int flags) {
        return (flags & PCI_MSIX_FLAGS_QSIZE) + 1;
    }

    /** MSI-X Table entries the function has (Table Size + 1); -EINVAL without MSI-X capability. */
    @Port("drivers/pci/msi.c:pci_msix_vec_count")
    public static int pci_msix_vec_count(PciDev dev) {
        if (dev.msixCap == 0) {
            return -EINVAL;
        }
        int control = pci_read_config_word(dev, dev.msixCap + PCI_MSIX_FLAGS);
        return msix_table_size(control);
    }

    /** Maps the Table: its BAR (which must be assigned) plus the Table Offset; null if it cannot. */
    @Port("drivers/pci/msi.c:msix_map_region")
    static IoMem msix_map_region(PciDev dev, int nrEntries) {
        int tableOffset = pci_read_config_dword(dev, dev.msixCap + PCI_MSIX_TABLE);
        int bir = tableOffset & PCI_MSIX_TABLE_BIR;
        long flags = Pci.pci_resource_flags(dev, bir);
        if (flags == 0 || (flags & Resource.IORESOURCE_UNSET) != 0) {
            return null;
        }
        long physAddr = Pci.pci_resource_start(dev, bir) + Integer.toUnsignedLong(tableOffset & PCI_MSIX_TABLE_OFFSET);
        return IoMem.ioremap(dev.pciBus.sysdata.mmio, physAddr, (long) nrEntries * PCI_MSIX_ENTRY_SIZE);
    }

    /** One descriptor per vector, for the asked entries (or 0..nvec-1), with its Vector Control read. */
    @Port("drivers/pci/msi.c:msix_setup_entries")
    static int msix_setup_entries(PciDev dev, IoMem base, MsixEntry[] entries, int nvec) {
        int vecCount = pci_msix_vec_count(dev);
        for (int i = 0; i < nvec; i++) {
            MsiDesc entry = MsiDesc.alloc_msi_entry(dev, 1);
            entry.msiAttribIsMsix = true;
            entry.msiAttribIs64 = true;
            entry.msiAttribEntryNr = entries != null ? entries[i].entry : i;
            entry.msiAttribIsVirtual = entry.msiAttribEntryNr >= vecCount;
            entry.msiAttribDefaultIrq = dev.irq;
            entry.maskBase = base;
            if (!entry.msiAttribIsVirtual) {
                entry.msixCtrl = base.readl(pci_msix_desc_addr(entry) + PCI_MSIX_ENTRY_VECTOR_CTRL);
            }
            dev.msiList.add(entry);
        }
        return 0;
    }

    /** Tells the driver each entry's virq. */
    @Port("drivers/pci/msi.c:msix_update_entries")
    static void msix_update_entries(PciDev dev, MsixEntry[] entries) {
        if (entries != null) {
            int i = 0;
            for (MsiDesc entry : dev.msiList) {
                entries[i++].vector = entry.irq;
            }
        }
    }

    /** Sets every Table entry's Mask bit. */
    @Port("drivers/pci/msi.c:msix_mask_all")
    static void msix_mask_all(PciDev dev, IoMem base, int tsize) {
        if (dev.pciBus.pci.pci_msi_ignore_mask) {
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
    static int msix_capability_init(PciDev dev, MsixEntry[] entries, int nvec) {
        // some functions need MSI-X enabled before the Table answers: enable it, all masked
        pci_msix_clear_and_set_ctrl(dev, 0, PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE);
        int control = pci_read_config_word(dev, dev.msixCap + PCI_MSIX_FLAGS);
        int tsize = msix_table_size(control);
        IoMem base = msix_map_region(dev, tsize);
        int ret;
        if (base == null) {
            ret = -ENOMEM;
        } else {
            msix_mask_all(dev, base, tsize);
            ret = msix_setup_entries(dev, base, entries, nvec);
            if (ret == 0) {
                ret = pci_msi_setup_msi_irqs(dev, nvec, PCI_CAP_ID_MSIX);
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
                    ret = msi_verify_entries(dev);
                    if (ret == 0) {
                        msix_update_entries(dev, entries);
                        pci_intx_for_msi(dev, false);
                        dev.msixEnabled = true;
                        pci_msix_clear_and_set_ctrl(dev, PCI_MSIX_FLAGS_MASKALL, 0);
                        return 0;
                    }
                }
                free_msi_irqs(dev);
            }
        }
        pci_msix_clear_and_set_ctrl(dev, PCI_MSIX_FLAGS_ENABLE, 0);
        return ret;
    }

    /** Checks the request and sets up MSI-X: 0, the entries the function has (nvec too big), or -errno. */
    @Port("drivers/pci/msi.c:__pci_enable_msix")
    static int __pci_enable_msix(PciDev dev, MsixEntry[] entries, int nvec, int flags) {
        if (!pci_msi_supported(dev, nvec)) {
            return -EINVAL;
        }
        int nrEntries = pci_msix_vec_count(dev);
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
            DevPrintk.dev_info(dev, "can't enable MSI-X (MSI IRQ already assigned)");
            return -EINVAL;
        }
        return msix_capability_init(dev, entries, nvec);
    }

    @Port("drivers/pci/msi.c:__pci_enable_msix_range")
    static int __pci_enable_msix_range(PciDev dev, MsixEntry[] entries, int minvec, int maxvec, int flags) {
        int nvec = maxvec;
        if (maxvec < minvec) {
            return -ERANGE;
        }
        if (Warn.WARN_ON_ONCE(dev.msixEnabled)) {
            return -EINVAL;
        }
        for (;;) {
            int rc = __pci_enable_msix(dev, entries, nvec, flags);
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
    public static int pci_enable_msix_range(PciDev dev, MsixEntry[] entries, int minvec, int maxvec) {
        return __pci_enable_msix_range(dev, entries, minvec, maxvec, 0);
    }

    /** MSI-X off: each entry masked as the function started, MSI-X Enable clear, INTx back. */
    @Port("drivers/pci/msi.c:pci_msix_shutdown")
    static void pci_msix_shutdown(PciDev dev) {
        if (!dev.pciBus.pci.pci_msi_enable || !dev.msixEnabled) {
            return;
        }
        for (MsiDesc entry : dev.msiList) {
            if (!entry.msiAttribIsVirtual) {
                pci_msix_mask(entry);
            }
        }
        pci_msix_clear_and_set_ctrl(dev, PCI_MSIX_FLAGS_ENABLE, 0);
        pci_intx_for_msi(dev, true);
        dev.msixEnabled = false;
    }

    @Port("drivers/pci/msi.c:pci_disable_msix")
    public static void pci_disable_msix(PciDev dev) {
        if (!dev.pciBus.pci.pci_msi_enable || !dev.msixEnabled) {
            return;
        }
        pci_msix_shutdown(dev);
        free_msi_irqs(dev);
    }

    /** A descriptor for {@code nvec} vectors, its attributes read from Message Control. */
    @Port("drivers/pci/msi.c:msi_setup_entry")
    static MsiDesc msi_setup_entry(PciDev dev, int nvec) {
        MsiDesc entry = MsiDesc.alloc_msi_entry(dev, nvec);
        int control = pci_read_config_word(dev, dev.msiCap + PCI_MSI_FLAGS);
        entry.msiAttribIsMsix = false;
        entry.msiAttribIs64 = (control & PCI_MSI_FLAGS_64BIT) != 0;
        entry.msiAttribEntryNr = 0;
        entry.msiAttribCanMask = !dev.pciBus.pci.pci_msi_ignore_mask && (control & PCI_MSI_FLAGS_MASKBIT) != 0;
        entry.msiAttribDefaultIrq = dev.irq;
        entry.msiAttribMultiCap = (control & PCI_MSI_FLAGS_QMASK) >> 1;
        entry.msiAttribMultiple = Bits.ilog2(Bits.roundup_pow_of_two(nvec));
        entry.maskPos = dev.msiCap + ((control & PCI_MSI_FLAGS_64BIT) != 0 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
        if (entry.msiAttribCanMask) {
            entry.msiMask = pci_read_config_dword(dev, entry.maskPos);
        }
        return entry;
    }

    /** A 64-bit message for a function that said it can only do 32 bits is refused (-EIO). */
    @Port("drivers/pci/msi.c:msi_verify_entries")
    static int msi_verify_entries(PciDev dev) {
        if (!dev.no64bitMsi) {
            return 0;
        }
        for (MsiDesc entry : dev.msiList) {
            if (entry.msg.addressHi != 0) {
                DevPrintk.dev_err(dev, "arch assigned 64-bit MSI address %#x%08x but device only supports 32 bits",
                        entry.msg.addressHi, entry.msg.addressLo);
                return -EIO;
            }
        }
        return 0;
    }

    /** Allocates the vectors from the device's MSI domain (the irq-domain hierarchy path). */
    @Port("drivers/pci/msi.c:pci_msi_setup_msi_irqs")
    static int pci_msi_setup_msi_irqs(PciDev dev, int nvec, int type) {
        MsiDomain domain = dev.msiDomain;
        if (domain != null) {
            return domain.msi_domain_alloc_irqs(dev, nvec);
        }
        // arch_setup_msi_irqs: the weak default has no MSI controller to ask
        return -ENOSPC;
    }

    @Port("drivers/pci/msi.c:pci_msi_teardown_msi_irqs")
    static void pci_msi_teardown_msi_irqs(PciDev dev) {
        MsiDomain domain = dev.msiDomain;
        if (domain != null) {
            domain.msi_domain_free_irqs(dev);
        }
    }

    /** Frees the vectors and the descriptors; a vector still with a handler is a driver bug. */
    @Port("drivers/pci/msi.c:free_msi_irqs")
    static void free_msi_irqs(PciDev dev) {
        MsiDomain domain = dev.msiDomain;
        for (MsiDesc entry : dev.msiList) {
            if (entry.irq != 0 && domain != null) {
                for (int i = 0; i < entry.nvecUsed; i++) {
                    // BUG_ON in the kernel: the driver must free_irq() first; here a warning
                    Warn.WARN_ON(domain.irq_has_action(entry.irq + i));
                }
            }
        }
        pci_msi_teardown_msi_irqs(dev);
        dev.msiList.clear();
    }

    /**
     * Sets up MSI with {@code nvec} vectors: 0, a positive number of vectors the domain could
     * give instead (multi-MSI refused), or -errno (-ENOSPC when the domain's allocation failed,
     * whatever the reason below it; -EIO from {@link #msi_verify_entries}).
     */
    @Port("drivers/pci/msi.c:msi_capability_init")
    static int msi_capability_init(PciDev dev, int nvec) {
        pci_msi_set_enable(dev, false); // off while the message is set up
        MsiDesc entry = msi_setup_entry(dev, nvec);
        // the function resets with every vector unmasked: mask them all until a driver asks
        pci_msi_mask(entry, msi_multi_mask(entry));
        dev.msiList.add(entry);
        int ret = pci_msi_setup_msi_irqs(dev, nvec, PCI_CAP_ID_MSI);
        if (ret == 0) {
            ret = msi_verify_entries(dev);
        }
        if (ret != 0) {
            pci_msi_unmask(entry, msi_multi_mask(entry));
            free_msi_irqs(dev);
            return ret;
        }
        pci_intx_for_msi(dev, false);
        pci_msi_set_enable(dev, true);
        dev.msiEnabled = true;
        dev.irq = entry.irq;
        return 0;
    }

    /** Vectors enabled (between minvec and maxvec), or -errno. */
    @Port("drivers/pci/msi.c:__pci_enable_msi_range")
    static int __pci_enable_msi_range(PciDev dev, int minvec, int maxvec) {
        if (!pci_msi_supported(dev, minvec)) {
            return -EINVAL;
        }
        if (dev.msixEnabled) {
            DevPrintk.dev_info(dev, "can't enable MSI (MSI-X already enabled)");
            return -EINVAL;
        }
        if (maxvec < minvec) {
            return -ERANGE;
        }
        if (Warn.WARN_ON_ONCE(dev.msiEnabled)) {
            return -EINVAL;
        }
        int nvec = pci_msi_vec_count(dev);
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
            int rc = msi_capability_init(dev, nvec);
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
    public static int pci_enable_msi(PciDev dev) {
        int rc = __pci_enable_msi_range(dev, 1, 1);
        return rc < 0 ? rc : 0;
    }

    /**
     * Allocates between {@code minVecs} and {@code maxVecs} vectors of the kinds {@code flags}
     * allows, MSI-X first, then MSI, then the legacy interrupt; returns how many, or the last
     * kind's -errno (-ENOSPC if none was allowed). The simulated functions have no legacy
     * interrupt ({@code dev->irq} is 0); affinity spreading is not modelled.
     */
    @Port("drivers/pci/msi.c:pci_alloc_irq_vectors_affinity")
    public static int pci_alloc_irq_vectors(PciDev dev, int minVecs, int maxVecs, int flags) {
        int nvecs = -ENOSPC;
        if ((flags & PCI_IRQ_MSIX) != 0) {
            nvecs = __pci_enable_msix_range(dev, null, minVecs, maxVecs, flags);
            if (nvecs > 0) {
                return nvecs;
            }
        }
        if ((flags & PCI_IRQ_MSI) != 0) {
            nvecs = __pci_enable_msi_range(dev, minVecs, maxVecs);
            if (nvecs > 0) {
                return nvecs;
            }
        }
        if ((flags & PCI_IRQ_LEGACY) != 0 && minVecs == 1 && dev.irq != 0) {
            Pci.pci_intx(dev, true);
            return 1;
        }
        return nvecs;
    }

    /** MSI off, INTx back on, the vectors unmasked as the function had them, then freed. */
    @Port("drivers/pci/msi.c:pci_msi_shutdown")
    static void pci_msi_shutdown(PciDev dev) {
        if (!dev.pciBus.pci.pci_msi_enable || !dev.msiEnabled) {
            return;
        }
        MsiDesc desc = first_pci_msi_entry(dev);
        pci_msi_set_enable(dev, false);
        pci_intx_for_msi(dev, true);
        dev.msiEnabled = false;
        pci_msi_unmask(desc, msi_multi_mask(desc));
        dev.irq = desc.msiAttribDefaultIrq;
    }

    @Port("drivers/pci/msi.c:pci_disable_msi")
    public static void pci_disable_msi(PciDev dev) {
        if (!dev.pciBus.pci.pci_msi_enable || !dev.msiEnabled) {
            return;
        }
        pci_msi_shutdown(dev);
        free_msi_irqs(dev);
    }

    @Port("drivers/pci/msi.c:pci_free_irq_vectors")
    public static void pci_free_irq_vectors(PciDev dev) {
        pci_disable_msix(dev);
        pci_disable_msi(dev);
    }

    /** The virq of vector {@code nr}, or -EINVAL (with a warning) if there is no such vector. */
    @Port("drivers/pci/msi.c:pci_irq_vector")
    public static int pci_irq_vector(PciDev dev, int nr) {
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
            MsiDesc entry = first_pci_msi_entry(dev);
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
    public static void pci_msi_domain_write_msg(int virq, MsiDesc desc, MsiMsg msg) {
        if (desc.irq == virq) {
            __pci_write_msi_msg(desc, msg);
        }
    }

    @Port("drivers/pci/msi.c:pci_msi_desc_is_multi_msi")
    static boolean pci_msi_desc_is_multi_msi(MsiDesc desc) {
        return !desc.msiAttribIsMsix && desc.nvecUsed > 1;
    }

    /** Multi-MSI asked of a domain that cannot: 1 (retry with one vector); MSI-X: -ENOTSUPP. */
    @Port("drivers/pci/msi.c:pci_msi_domain_check_cap")
    public static int pci_msi_domain_check_cap(MsiDomain domain, Device dev) {
        MsiDesc desc = first_pci_msi_entry((PciDev) dev);
        if (pci_msi_desc_is_multi_msi(desc) && (domain.flags & MsiDomain.MSI_FLAG_MULTI_PCI_MSI) == 0) {
            return 1;
        }
        if (desc.msiAttribIsMsix && (domain.flags & MsiDomain.MSI_FLAG_PCI_MSIX) == 0) {
            return -ENOTSUPP;
        }
        return 0;
    }

    /** A failed multi-MSI allocation asks for a retry with one vector. */
    @Port("drivers/pci/msi.c:pci_msi_domain_handle_error")
    public static int pci_msi_domain_handle_error(MsiDomain domain, MsiDesc desc, int error) {
        if (pci_msi_desc_is_multi_msi(desc) && error == -ENOSPC) {
            return 1;
        }
        return error;
    }

    /**
     * Builds a PCI/MSI domain over {@code parent}: the PCI ops (check_cap, handle_error) around
     * the parent's own {@code msi_prepare}, and the PCI chip's write.
     */
    @Port("drivers/pci/msi.c:pci_msi_create_irq_domain")
    public static MsiDomain pci_msi_create_irq_domain(String name, MsiPrepare prepare, MsiDomain.ParentDomain parent,
                                                      org.iommu4j.base.hw.IrqController irqs) {
        MsiDomain.MsiDomainOps ops = new MsiDomain.MsiDomainOps() {
            @Override
            public int msi_check(MsiDomain domain, Device dev) {
                return pci_msi_domain_check_cap(domain, dev);
            }

            @Override
            public int msi_prepare(MsiDomain domain, Device dev, int nvec, MsiDomain.MsiAllocInfo arg) {
                return prepare.msi_prepare(domain, dev, nvec, arg);
            }

            @Override
            public boolean hasHandleError() {
                return true;
            }

            @Override
            public int handle_error(MsiDomain domain, MsiDesc desc, int error) {
                return pci_msi_domain_handle_error(domain, desc, error);
            }
        };
        MsiDomain.MsiChip chip = new MsiDomain.MsiChip() {
            @Override
            public void irq_write_msi_msg(int virq, MsiDesc desc, MsiMsg msg) {
                pci_msi_domain_write_msg(virq, desc, msg);
            }

            @Override
            public void irq_mask(int virq, MsiDesc desc) {
                pci_msi_mask_irq(virq, desc);
            }

            @Override
            public void irq_unmask(int virq, MsiDesc desc) {
                pci_msi_unmask_irq(virq, desc);
            }
        };
        return new MsiDomain(name, PCI_MSI_DOMAIN_FLAGS, ops, chip, parent, irqs);
    }

    /** The parent's {@code msi_domain_ops.msi_prepare} (the ITS's its_pci_msi_prepare). */
    @FunctionalInterface
    public interface MsiPrepare {
        int msi_prepare(MsiDomain domain, Device dev, int nvec, MsiDomain.MsiAllocInfo arg);
    }
}
