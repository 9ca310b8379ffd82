package org.iommu4j.pci;

import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.pci.Pci.pciFindExtCapability;
import static org.iommu4j.pci.Pci.pciPhysfn;
import static org.iommu4j.pci.Pci.pciReadConfigDword;
import static org.iommu4j.pci.Pci.pciReadConfigWord;
import static org.iommu4j.pci.Pci.pciWriteConfigDword;
import static org.iommu4j.pci.Pci.pciWriteConfigWord;
import static org.iommu4j.pci.PciRegs.*;

import org.iommu4j.base.Port;
import org.iommu4j.base.Warn;

/**
 * drivers/pci/ats.c (v5.15, CONFIG_PCI_ATS, CONFIG_PCI_PRI and CONFIG_PCI_PASID set): Address
 * Translation Services, the Page Request Interface and PASID, in the kernel's function order.
 *
 * <p>The capability offsets are found once at enumeration ({@code pci_*_init}); the enable
 * functions keep the enabled state in {@link PciDev} so the {@code restore} functions can
 * replay it after a reset. VFs share their PF's PRI and PASID capabilities.
 *
 * <p>Ordering callers must follow (PCIe; ats.c does not check it): enable PASID before ATS and
 * disable it after ATS; PRI is only useful with ATS enabled; reset PRI before enabling it.
 *
 * <p>Locking: none, as in the kernel: the device's IOMMU driver serialises these calls.
 */
public final class PciAts {
    private PciAts() {}

    /*
     * CONFIG_PCI_ATS / CONFIG_PCI_PRI / CONFIG_PCI_PASID of the device's PCI world: when one is
     * off, its functions take the include/linux/pci-ats.h stub behaviour (ATS: enable and queue
     * depth -ENODEV; PRI: enable and reset -ENODEV, PASID-required 0; PASID: all -EINVAL;
     * "supported" queries false, the rest do nothing).
     */
    @Port("include/linux/pci-ats.h:pci_enable_ats")
    private static boolean atsConfigured(PciDev dev) {
        return dev.pciBus.pci.CONFIG_PCI_ATS;
    }

    @Port("include/linux/pci-ats.h:pci_enable_pri")
    private static boolean priConfigured(PciDev dev) {
        return dev.pciBus.pci.CONFIG_PCI_PRI;
    }

    @Port("include/linux/pci-ats.h:pci_enable_pasid")
    private static boolean pasidConfigured(PciDev dev) {
        return dev.pciBus.pci.CONFIG_PCI_PASID;
    }

    /** Finds the ATS capability unless {@code pci=noats}. */
    @Port("drivers/pci/ats.c:pci_ats_init")
    public static void pciAtsInit(PciDev dev) {
        if (!atsConfigured(dev)) {
            return;
        }
        if (pciAtsDisabled(dev)) {
            return;
        }
        int pos = pciFindExtCapability(dev, PCI_EXT_CAP_ID_ATS);
        if (pos == 0) {
            return;
        }
        dev.atsCap = pos;
    }

    @Port("drivers/pci/pci.c:pci_ats_disabled")
    private static boolean pciAtsDisabled(PciDev dev) {
        return dev.pciBus.pci.pcieAtsDisabled;
    }

    /** True if the device has ATS and may use it (not untrusted). */
    @Port("drivers/pci/ats.c:pci_ats_supported")
    public static boolean pciAtsSupported(PciDev dev) {
        if (!atsConfigured(dev)) {
            return false;
        }
        if (dev.atsCap == 0) {
            return false;
        }
        return !dev.untrusted;
    }

    /**
     * Enables ATS with a Smallest Translation Unit of 2^{@code ps} bytes.
     *
     * @return 0; -EINVAL if ATS is unsupported, {@code ps} is below 12 or (VF) differs from the
     *     PF's STU; -EBUSY (and a WARN) if already enabled
     */
    @Port("drivers/pci/ats.c:pci_enable_ats")
    public static int pciEnableAts(PciDev dev, int ps) {
        if (!atsConfigured(dev)) {
            return -ENODEV;
        }
        if (!pciAtsSupported(dev)) {
            return -EINVAL;
        }
        if (Warn.WARN_ON(dev.atsEnabled)) {
            return -EBUSY;
        }
        if (ps < PCI_ATS_MIN_STU) {
            return -EINVAL;
        }
        // a VF has no STU of its own: it must match the one already programmed in its PF
        int ctrl = PCI_ATS_CTRL_ENABLE;
        if (dev.isVirtfn) {
            PciDev pdev = pciPhysfn(dev);
            if (pdev.atsStu != ps) {
                return -EINVAL;
            }
        } else {
            dev.atsStu = ps;
            ctrl |= PCI_ATS_CTRL_STU(dev.atsStu - PCI_ATS_MIN_STU);
        }
        pciWriteConfigWord(dev, dev.atsCap + PCI_ATS_CTRL, ctrl);
        dev.atsEnabled = true;
        return 0;
    }

    /** Clears ATS Enable; WARNs and does nothing if ATS is not enabled. */
    @Port("drivers/pci/ats.c:pci_disable_ats")
    public static void pciDisableAts(PciDev dev) {
        if (!atsConfigured(dev)) {
            return;
        }
        if (Warn.WARN_ON(!dev.atsEnabled)) {
            return;
        }
        int ctrl = pciReadConfigWord(dev, dev.atsCap + PCI_ATS_CTRL);
        ctrl &= ~PCI_ATS_CTRL_ENABLE;
        pciWriteConfigWord(dev, dev.atsCap + PCI_ATS_CTRL, ctrl);
        dev.atsEnabled = false;
    }

    /** Re-programs ATS after a reset if it was enabled. */
    @Port("drivers/pci/ats.c:pci_restore_ats_state")
    public static void pciRestoreAtsState(PciDev dev) {
        if (!atsConfigured(dev)) {
            return;
        }
        if (!dev.atsEnabled) {
            return;
        }
        int ctrl = PCI_ATS_CTRL_ENABLE;
        if (!dev.isVirtfn) {
            ctrl |= PCI_ATS_CTRL_STU(dev.atsStu - PCI_ATS_MIN_STU);
        }
        pciWriteConfigWord(dev, dev.atsCap + PCI_ATS_CTRL, ctrl);
    }

    /**
     * The ATS Invalidate Queue Depth as a real count: 1..32 (the field's 0 means 32); 0 for a
     * VF, whose queue is shared with its PF.
     *
     * @return the depth, or -EINVAL without an ATS capability
     */
    @Port("drivers/pci/ats.c:pci_ats_queue_depth")
    public static int pciAtsQueueDepth(PciDev dev) {
        if (!atsConfigured(dev)) {
            return -ENODEV;
        }
        if (dev.atsCap == 0) {
            return -EINVAL;
        }
        if (dev.isVirtfn) {
            return 0;
        }
        int cap = pciReadConfigWord(dev, dev.atsCap + PCI_ATS_CAP);
        return PCI_ATS_CAP_QDEP(cap) != 0 ? PCI_ATS_CAP_QDEP(cap) : PCI_ATS_MAX_QDEP;
    }

    /** 1 if the device's untranslated requests are page aligned (Page Aligned Request), else 0. */
    @Port("drivers/pci/ats.c:pci_ats_page_aligned")
    public static int pciAtsPageAligned(PciDev pdev) {
        if (!atsConfigured(pdev)) {
            return 0;
        }
        if (pdev.atsCap == 0) {
            return 0;
        }
        int cap = pciReadConfigWord(pdev, pdev.atsCap + PCI_ATS_CAP);
        if ((cap & PCI_ATS_CAP_PAGE_ALIGNED) != 0) {
            return 1;
        }
        return 0;
    }

    /* ---------------- CONFIG_PCI_PRI ---------------- */

    /** Finds the PRI capability and latches "PRG Response PASID Required". */
    @Port("drivers/pci/ats.c:pci_pri_init")
    public static void pciPriInit(PciDev pdev) {
        if (!priConfigured(pdev)) {
            return;
        }
        pdev.priCap = pciFindExtCapability(pdev, PCI_EXT_CAP_ID_PRI);
        if (pdev.priCap == 0) {
            return;
        }
        int status = pciReadConfigWord(pdev, pdev.priCap + PCI_PRI_STATUS);
        if ((status & PCI_PRI_STATUS_PASID) != 0) {
            pdev.pasidRequired = true;
        }
    }

    /**
     * Enables PRI with {@code min(capacity, reqs)} outstanding page requests allocated.
     *
     * @return 0 (also for a VF whose PF has PRI enabled); -EINVAL for a VF whose PF has not, or
     *     without a PRI capability; -EBUSY (and a WARN) if already enabled, or if the
     *     capability is not Stopped (requests still outstanding: reset it first)
     */
    @Port("drivers/pci/ats.c:pci_enable_pri")
    public static int pciEnablePri(PciDev pdev, int reqs) {
        if (!priConfigured(pdev)) {
            return -ENODEV;
        }
        int pri = pdev.priCap;
        // VFs have no PRI capability: they use the PF's, enabled or not
        if (pdev.isVirtfn) {
            if (pciPhysfn(pdev).priEnabled) {
                return 0;
            }
            return -EINVAL;
        }
        if (Warn.WARN_ON(pdev.priEnabled)) {
            return -EBUSY;
        }
        if (pri == 0) {
            return -EINVAL;
        }
        int status = pciReadConfigWord(pdev, pri + PCI_PRI_STATUS);
        if ((status & PCI_PRI_STATUS_STOPPED) == 0) {
            return -EBUSY;
        }
        int maxRequests = pciReadConfigDword(pdev, pri + PCI_PRI_MAX_REQ);
        reqs = Integer.compareUnsigned(maxRequests, reqs) < 0 ? maxRequests : reqs;
        pdev.priReqsAlloc = reqs;
        pciWriteConfigDword(pdev, pri + PCI_PRI_ALLOC_REQ, reqs);
        int control = PCI_PRI_CTRL_ENABLE;
        pciWriteConfigWord(pdev, pri + PCI_PRI_CTRL, control);
        pdev.priEnabled = true;
        return 0;
    }

    /** Clears PRI Enable; a VF does nothing; WARNs if PRI is not enabled. */
    @Port("drivers/pci/ats.c:pci_disable_pri")
    public static void pciDisablePri(PciDev pdev) {
        if (!priConfigured(pdev)) {
            return;
        }
        int pri = pdev.priCap;
        if (pdev.isVirtfn) {
            return;
        }
        if (Warn.WARN_ON(!pdev.priEnabled)) {
            return;
        }
        if (pri == 0) {
            return;
        }
        int control = pciReadConfigWord(pdev, pri + PCI_PRI_CTRL);
        control &= ~PCI_PRI_CTRL_ENABLE;
        pciWriteConfigWord(pdev, pri + PCI_PRI_CTRL, control);
        pdev.priEnabled = false;
    }

    /** Re-programs the allocation and PRI Enable after a reset if PRI was enabled. */
    @Port("drivers/pci/ats.c:pci_restore_pri_state")
    public static void pciRestorePriState(PciDev pdev) {
        if (!priConfigured(pdev)) {
            return;
        }
        int control = PCI_PRI_CTRL_ENABLE;
        int reqs = pdev.priReqsAlloc;
        int pri = pdev.priCap;
        if (pdev.isVirtfn) {
            return;
        }
        if (!pdev.priEnabled) {
            return;
        }
        if (pri == 0) {
            return;
        }
        pciWriteConfigDword(pdev, pri + PCI_PRI_ALLOC_REQ, reqs);
        pciWriteConfigWord(pdev, pri + PCI_PRI_CTRL, control);
    }

    /**
     * Resets the PRI state machine (drops outstanding requests, making it Stopped).
     *
     * @return 0 (a VF: nothing to do); -EBUSY (and a WARN) while PRI is enabled; -EINVAL without
     *     a PRI capability
     */
    @Port("drivers/pci/ats.c:pci_reset_pri")
    public static int pciResetPri(PciDev pdev) {
        if (!priConfigured(pdev)) {
            return -ENODEV;
        }
        int pri = pdev.priCap;
        if (pdev.isVirtfn) {
            return 0;
        }
        if (Warn.WARN_ON(pdev.priEnabled)) {
            return -EBUSY;
        }
        if (pri == 0) {
            return -EINVAL;
        }
        int control = PCI_PRI_CTRL_RESET;
        pciWriteConfigWord(pdev, pri + PCI_PRI_CTRL, control);
        return 0;
    }

    /** 1 if PRG Responses to this device must carry a PASID, else 0 (a VF asks its PF). */
    @Port("drivers/pci/ats.c:pci_prg_resp_pasid_required")
    public static int pciPrgRespPasidRequired(PciDev pdev) {
        if (!priConfigured(pdev)) {
            return 0;
        }
        if (pdev.isVirtfn) {
            pdev = pciPhysfn(pdev);
        }
        return pdev.pasidRequired ? 1 : 0;
    }

    /** True if the device (or, for a VF, its PF) has a PRI capability. */
    @Port("drivers/pci/ats.c:pci_pri_supported")
    public static boolean pciPriSupported(PciDev pdev) {
        if (!priConfigured(pdev)) {
            return false;
        }
        return pciPhysfn(pdev).priCap != 0;
    }

    /* ---------------- CONFIG_PCI_PASID ---------------- */

    @Port("drivers/pci/ats.c:pci_pasid_init")
    public static void pciPasidInit(PciDev pdev) {
        if (!pasidConfigured(pdev)) {
            return;
        }
        pdev.pasidCap = pciFindExtCapability(pdev, PCI_EXT_CAP_ID_PASID);
    }

    /**
     * Enables PASID with {@code features} ({@code PCI_PASID_CAP_EXEC}, {@code PCI_PASID_CAP_PRIV}).
     *
     * <p>v5.15 does not look at ACS: the check that Request Redirect and Upstream Forwarding be
     * enabled on the path (commit 201007ef707a) came in late 2022 with the SVA domain series.
     *
     * @return 0 (also for a VF whose PF has PASID enabled); -EINVAL for a VF whose PF has not,
     *     without End-End TLP Prefix support on the path, without a PASID capability, or for a
     *     feature the device does not support; -EBUSY (and a WARN) if already enabled
     */
    @Port("drivers/pci/ats.c:pci_enable_pasid")
    public static int pciEnablePasid(PciDev pdev, int features) {
        if (!pasidConfigured(pdev)) {
            return -EINVAL;
        }
        int pasid = pdev.pasidCap;
        // VFs have no PASID capability; they follow their PF's configuration
        if (pdev.isVirtfn) {
            if (pciPhysfn(pdev).pasidEnabled) {
                return 0;
            }
            return -EINVAL;
        }
        if (Warn.WARN_ON(pdev.pasidEnabled)) {
            return -EBUSY;
        }
        if (!pdev.eetlpPrefixPath) {
            return -EINVAL;
        }
        if (pasid == 0) {
            return -EINVAL;
        }
        int supported = pciReadConfigWord(pdev, pasid + PCI_PASID_CAP);
        supported &= PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV;
        if ((supported & features) != features) {
            return -EINVAL;
        }
        int control = PCI_PASID_CTRL_ENABLE | features;
        pdev.pasidFeatures = features;
        pciWriteConfigWord(pdev, pasid + PCI_PASID_CTRL, control);
        pdev.pasidEnabled = true;
        return 0;
    }

    /** Clears the PASID control register; a VF does nothing; WARNs if PASID is not enabled. */
    @Port("drivers/pci/ats.c:pci_disable_pasid")
    public static void pciDisablePasid(PciDev pdev) {
        if (!pasidConfigured(pdev)) {
            return;
        }
        int control = 0;
        int pasid = pdev.pasidCap;
        if (pdev.isVirtfn) {
            return;
        }
        if (Warn.WARN_ON(!pdev.pasidEnabled)) {
            return;
        }
        if (pasid == 0) {
            return;
        }
        pciWriteConfigWord(pdev, pasid + PCI_PASID_CTRL, control);
        pdev.pasidEnabled = false;
    }

    /** Re-programs PASID Enable and the features after a reset if PASID was enabled. */
    @Port("drivers/pci/ats.c:pci_restore_pasid_state")
    public static void pciRestorePasidState(PciDev pdev) {
        if (!pasidConfigured(pdev)) {
            return;
        }
        int pasid = pdev.pasidCap;
        if (pdev.isVirtfn) {
            return;
        }
        if (!pdev.pasidEnabled) {
            return;
        }
        if (pasid == 0) {
            return;
        }
        int control = PCI_PASID_CTRL_ENABLE | pdev.pasidFeatures;
        pciWriteConfigWord(pdev, pasid + PCI_PASID_CTRL, control);
    }

    /**
     * The PASID features the device supports ({@code PCI_PASID_CAP_EXEC|PRIV} mask), from the
     * PF for a VF; -EINVAL without a PASID capability.
     */
    @Port("drivers/pci/ats.c:pci_pasid_features")
    public static int pciPasidFeatures(PciDev pdev) {
        if (!pasidConfigured(pdev)) {
            return -EINVAL;
        }
        if (pdev.isVirtfn) {
            pdev = pciPhysfn(pdev);
        }
        int pasid = pdev.pasidCap;
        if (pasid == 0) {
            return -EINVAL;
        }
        int supported = pciReadConfigWord(pdev, pasid + PCI_PASID_CAP);
        supported &= PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV;
        return supported;
    }

    @Port("drivers/pci/ats.c:PASID_NUMBER_SHIFT")
    private static final int PASID_NUMBER_SHIFT = 8;
    @Port("drivers/pci/ats.c:PASID_NUMBER_MASK")
    private static final int PASID_NUMBER_MASK = 0x1f << PASID_NUMBER_SHIFT;

    /** The number of PASIDs (1 &lt;&lt; Max PASID Width), from the PF for a VF; -EINVAL without PASID. */
    @Port("drivers/pci/ats.c:pci_max_pasids")
    public static int pciMaxPasids(PciDev pdev) {
        if (!pasidConfigured(pdev)) {
            return -EINVAL;
        }
        if (pdev.isVirtfn) {
            pdev = pciPhysfn(pdev);
        }
        int pasid = pdev.pasidCap;
        if (pasid == 0) {
            return -EINVAL;
        }
        int supported = pciReadConfigWord(pdev, pasid + PCI_PASID_CAP);
        supported = (supported & PASID_NUMBER_MASK) >> PASID_NUMBER_SHIFT;
        return 1 << supported;
    }
}
