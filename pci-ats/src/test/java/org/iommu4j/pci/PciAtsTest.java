package org.iommu4j.pci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.pci.Pci.PCI_DEVFN;
import static org.iommu4j.pci.Pci.pciReadConfigDword;
import static org.iommu4j.pci.Pci.pciReadConfigWord;
import static org.iommu4j.pci.PciAts.*;
import static org.iommu4j.pci.PciRegs.*;

import java.util.concurrent.TimeUnit;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * drivers/pci/ats.c, function by function: return codes, struct pci_dev state and the
 * registers the device model ends up with.
 */
@ExtendWith(NoWarnings.class)
class PciAtsTest {
    PciWorld w;
    PciDev full;
    PciDev atsOnly;
    PciDev mf0;
    PciDev mf1;

    @BeforeEach
    void setUp() {
        w = new PciWorld().enumerate();
        full = w.dev(1, 0);
        atsOnly = w.dev(2, 0);
        mf0 = w.dev(3, 0);
        mf1 = w.dev(3, 1);
    }

    int atsCtrl(PciDev d) {
        return pciReadConfigWord(d, d.atsCap + PCI_ATS_CTRL);
    }

    int priCtrl(PciDev d) {
        return pciReadConfigWord(d, d.priCap + PCI_PRI_CTRL);
    }

    int pasidCtrl(PciDev d) {
        return pciReadConfigWord(d, d.pasidCap + PCI_PASID_CTRL);
    }

    /** A VF at 03.1's config space whose PF is 01.0. */
    PciDev vf() {
        PciDev vf = new PciDev(w.root, PCI_DEVFN(3, 1));
        vf.isVirtfn = true;
        vf.physfn = full;
        vf.atsCap = w.mf1.atsCapOffset();
        full.isPhysfn = true;
        return vf;
    }

    /* ---------------- ATS ---------------- */

    @Test
    void atsSupported() {
        assertThat(pciAtsSupported(full)).isTrue();
        full.untrusted = true;
        assertThat(pciAtsSupported(full)).isFalse();
        assertThat(pciEnableAts(full, 12)).isEqualTo(-EINVAL);
        assertThat(atsCtrl(full)).isZero();
    }

    @Test
    void noatsHidesTheCapability() {
        PciWorld n = new PciWorld();
        n.pci.pcieAtsDisabled = true;
        n.enumerate();
        PciDev d = n.dev(1, 0);
        assertThat(d.atsCap).isZero();
        assertThat(pciAtsSupported(d)).isFalse();
        assertThat(pciEnableAts(d, 12)).isEqualTo(-EINVAL);
        assertThat(pciAtsQueueDepth(d)).isEqualTo(-EINVAL);
        assertThat(pciAtsPageAligned(d)).isZero();
    }

    @Test
    void enableAtsWritesStuAndEnable() {
        assertThat(pciEnableAts(full, 16)).isZero();
        assertThat(full.atsEnabled).isTrue();
        assertThat(full.atsStu).isEqualTo(16);
        assertThat(atsCtrl(full)).isEqualTo(PCI_ATS_CTRL_ENABLE | 4);
        assertThat(w.full.atsEnabled()).isTrue();
        assertThat(w.full.atsStu()).isEqualTo(4);
        // already enabled: WARN and -EBUSY
        Warnings.expectWarning(() -> assertThat(pciEnableAts(full, 12)).isEqualTo(-EBUSY));
        assertThat(atsCtrl(full)).isEqualTo(PCI_ATS_CTRL_ENABLE | 4);
    }

    @Test
    void enableAtsRejectsSmallPages() {
        assertThat(pciEnableAts(full, 11)).isEqualTo(-EINVAL);
        assertThat(full.atsEnabled).isFalse();
        assertThat(atsCtrl(full)).isZero();
        assertThat(pciEnableAts(full, 12)).isZero();
        assertThat(atsCtrl(full)).isEqualTo(PCI_ATS_CTRL_ENABLE);
    }

    @Test
    void disableAtsKeepsStu() {
        assertThat(pciEnableAts(full, 14)).isZero();
        pciDisableAts(full);
        assertThat(full.atsEnabled).isFalse();
        assertThat(atsCtrl(full)).isEqualTo(2);
        assertThat(w.full.atsEnabled()).isFalse();
        // not enabled: WARN, nothing written
        Warnings.expectWarning(() -> pciDisableAts(full));
        assertThat(atsCtrl(full)).isEqualTo(2);
    }

    @Test
    void restoreAtsState() {
        pciRestoreAtsState(full);
        assertThat(atsCtrl(full)).isZero();
        assertThat(pciEnableAts(full, 13)).isZero();
        w.full.reset();
        assertThat(atsCtrl(full)).isZero();
        pciRestoreAtsState(full);
        assertThat(atsCtrl(full)).isEqualTo(PCI_ATS_CTRL_ENABLE | 1);
    }

    @Test
    void queueDepthAndPageAligned() {
        assertThat(pciAtsQueueDepth(full)).isEqualTo(8);
        assertThat(pciAtsQueueDepth(atsOnly)).isEqualTo(PCI_ATS_MAX_QDEP);
        assertThat(pciAtsPageAligned(full)).isEqualTo(1);
        assertThat(pciAtsPageAligned(atsOnly)).isZero();
    }

    @Test
    void virtualFunctionFollowsItsPf() {
        PciDev vf = vf();
        assertThat(pciAtsQueueDepth(vf)).isZero();
        // ATS: the PF's STU must already be the one asked for
        assertThat(pciEnableAts(vf, 12)).isEqualTo(-EINVAL);
        assertThat(pciEnableAts(full, 13)).isZero();
        assertThat(pciEnableAts(vf, 12)).isEqualTo(-EINVAL);
        assertThat(pciEnableAts(vf, 13)).isZero();
        assertThat(atsCtrl(vf)).isEqualTo(PCI_ATS_CTRL_ENABLE); // no STU of its own
        pciDisableAts(vf);
        vf.atsEnabled = true;
        pciRestoreAtsState(vf);
        assertThat(atsCtrl(vf)).isEqualTo(PCI_ATS_CTRL_ENABLE);
        // PRI and PASID: shared with the PF
        assertThat(pciPriSupported(vf)).isTrue();
        assertThat(pciPrgRespPasidRequired(vf)).isEqualTo(1);
        assertThat(pciEnablePri(vf, 8)).isEqualTo(-EINVAL);
        assertThat(pciEnablePasid(vf, 0)).isEqualTo(-EINVAL);
        assertThat(pciPasidFeatures(vf)).isEqualTo(PCI_PASID_CAP_EXEC);
        assertThat(pciMaxPasids(vf)).isEqualTo(1 << 16);
        assertThat(pciEnablePasid(full, 0)).isZero();
        assertThat(pciResetPri(full)).isZero();
        assertThat(pciEnablePri(full, 8)).isZero();
        assertThat(pciEnablePri(vf, 8)).isZero();
        assertThat(pciEnablePasid(vf, 0)).isZero();
        assertThat(pciResetPri(vf)).isZero();
        // VF disables and restores touch nothing
        pciDisablePri(vf);
        pciDisablePasid(vf);
        pciRestorePriState(vf);
        pciRestorePasidState(vf);
        assertThat(full.priEnabled).isTrue();
        assertThat(full.pasidEnabled).isTrue();
        assertThat(w.mf1.configRead(w.mf1.priCapOffset() + PCI_PRI_CTRL, 2)).isZero();
    }

    /* ---------------- PRI ---------------- */

    @Test
    void priInitAndQueries() {
        assertThat(pciPriSupported(full)).isTrue();
        assertThat(pciPriSupported(atsOnly)).isFalse();
        assertThat(pciPrgRespPasidRequired(full)).isEqualTo(1);
        assertThat(pciPrgRespPasidRequired(mf0)).isZero();
        assertThat(pciPrgRespPasidRequired(atsOnly)).isZero();
    }

    @Test
    void enablePriAllocatesAtMostTheCapacity() {
        assertThat(pciEnablePri(full, 16)).isZero();
        assertThat(full.priEnabled).isTrue();
        assertThat(full.priReqsAlloc).isEqualTo(16);
        assertThat(pciReadConfigDword(full, full.priCap + PCI_PRI_ALLOC_REQ)).isEqualTo(16);
        assertThat(priCtrl(full)).isEqualTo(PCI_PRI_CTRL_ENABLE);
        assertThat(w.full.priEnabled()).isTrue();
        // twice: WARN, -EBUSY
        Warnings.expectWarning(() -> assertThat(pciEnablePri(full, 16)).isEqualTo(-EBUSY));
        pciDisablePri(full);
        assertThat(pciEnablePri(full, 1000)).isZero();
        assertThat(full.priReqsAlloc).isEqualTo(64);
        assertThat(pciReadConfigDword(full, full.priCap + PCI_PRI_ALLOC_REQ)).isEqualTo(64);
    }

    @Test
    void enablePriWithoutCapability() {
        assertThat(pciEnablePri(atsOnly, 16)).isEqualTo(-EINVAL);
        assertThat(atsOnly.priEnabled).isFalse();
    }

    @Test
    void enablePriNeedsStoppedAndResetMakesIt() {
        // a request left outstanding by an earlier owner keeps PRI from being Stopped
        w.full.configWrite(PCI_COMMAND, PCI_COMMAND_MASTER, 2);
        w.full.configWrite(full.priCap + PCI_PRI_ALLOC_REQ, 1, 4);
        w.full.configWrite(full.priCap + PCI_PRI_CTRL, PCI_PRI_CTRL_ENABLE, 2);
        w.full.setPrgResponseTimeout(1, TimeUnit.MILLISECONDS);
        w.full.pageRequest(DmaTransaction.NO_SSID, 0x1000, DmaTransaction.ACC_READ);
        w.full.configWrite(full.priCap + PCI_PRI_CTRL, 0, 2);
        assertThat(pciReadConfigWord(full, full.priCap + PCI_PRI_STATUS) & PCI_PRI_STATUS_STOPPED).isZero();
        assertThat(pciEnablePri(full, 4)).isEqualTo(-EBUSY);
        assertThat(full.priEnabled).isFalse();
        assertThat(pciResetPri(full)).isZero();
        assertThat(priCtrl(full)).isZero(); // Reset never reads back
        assertThat(pciReadConfigWord(full, full.priCap + PCI_PRI_STATUS) & PCI_PRI_STATUS_STOPPED).isNotZero();
        assertThat(pciEnablePri(full, 4)).isZero();
    }

    @Test
    void disablePri() {
        Warnings.expectWarning(() -> pciDisablePri(full));
        assertThat(pciEnablePri(full, 4)).isZero();
        pciDisablePri(full);
        assertThat(full.priEnabled).isFalse();
        assertThat(priCtrl(full)).isZero();
        assertThat(w.full.priEnabled()).isFalse();
    }

    @Test
    void resetPri() {
        assertThat(pciResetPri(atsOnly)).isEqualTo(-EINVAL);
        assertThat(pciEnablePri(full, 4)).isZero();
        Warnings.expectWarning(() -> assertThat(pciResetPri(full)).isEqualTo(-EBUSY));
        assertThat(priCtrl(full)).isEqualTo(PCI_PRI_CTRL_ENABLE);
    }

    @Test
    void restorePriState() {
        pciRestorePriState(full);
        assertThat(priCtrl(full)).isZero();
        assertThat(pciEnablePri(full, 7)).isZero();
        w.full.reset();
        assertThat(priCtrl(full)).isZero();
        assertThat(pciReadConfigDword(full, full.priCap + PCI_PRI_ALLOC_REQ)).isZero();
        pciRestorePriState(full);
        assertThat(priCtrl(full)).isEqualTo(PCI_PRI_CTRL_ENABLE);
        assertThat(pciReadConfigDword(full, full.priCap + PCI_PRI_ALLOC_REQ)).isEqualTo(7);
    }

    /* ---------------- PASID ---------------- */

    @Test
    void pasidQueries() {
        assertThat(pciPasidFeatures(full)).isEqualTo(PCI_PASID_CAP_EXEC);
        assertThat(pciPasidFeatures(mf0)).isEqualTo(PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV);
        assertThat(pciPasidFeatures(atsOnly)).isEqualTo(-EINVAL);
        assertThat(pciMaxPasids(full)).isEqualTo(1 << 16);
        assertThat(pciMaxPasids(mf0)).isEqualTo(1 << 20);
        assertThat(pciMaxPasids(atsOnly)).isEqualTo(-EINVAL);
    }

    @Test
    void enablePasid() {
        assertThat(pciEnablePasid(full, PCI_PASID_CAP_PRIV)).isEqualTo(-EINVAL);
        assertThat(pciEnablePasid(full, PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV)).isEqualTo(-EINVAL);
        assertThat(pasidCtrl(full)).isZero();
        assertThat(pciEnablePasid(full, PCI_PASID_CAP_EXEC)).isZero();
        assertThat(full.pasidEnabled).isTrue();
        assertThat(full.pasidFeatures).isEqualTo(PCI_PASID_CAP_EXEC);
        assertThat(pasidCtrl(full)).isEqualTo(PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_EXEC);
        assertThat(w.full.pasidEnabled()).isTrue();
        Warnings.expectWarning(() -> assertThat(pciEnablePasid(full, 0)).isEqualTo(-EBUSY));
    }

    @Test
    void enablePasidNeedsPrefixPathAndCapability() {
        // no End-End TLP prefix support: checked before the capability
        assertThat(atsOnly.eetlpPrefixPath).isFalse();
        assertThat(pciEnablePasid(atsOnly, 0)).isEqualTo(-EINVAL);
        atsOnly.eetlpPrefixPath = true;
        assertThat(pciEnablePasid(atsOnly, 0)).isEqualTo(-EINVAL); // no PASID capability
        assertThat(atsOnly.pasidEnabled).isFalse();
    }

    /** v5.15 enables PASID whatever the ACS state of the path (the ACS check came later). */
    @Test
    void enablePasidDoesNotCheckAcs() {
        // a multi-function endpoint without an ACS capability
        assertThat(mf1.acsCap).isZero();
        assertThat(pciEnablePasid(mf1, 0)).isZero();
        assertThat(mf1.pasidEnabled).isTrue();
        assertThat(pasidCtrl(mf1)).isEqualTo(PCI_PASID_CTRL_ENABLE);
        assertThat(w.mf1.pasidEnabled()).isTrue();
        // a multi-function endpoint with an ACS capability left disabled (no pci_request_acs)
        assertThat(mf0.acsCap).isNotZero();
        assertThat(pciReadConfigWord(mf0, mf0.acsCap + PCI_ACS_CTRL)).isZero();
        assertThat(pciEnablePasid(mf0, PCI_PASID_CAP_PRIV)).isZero();
        assertThat(pasidCtrl(mf0)).isEqualTo(PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_PRIV);
    }

    @Test
    void disableAndRestorePasid() {
        Warnings.expectWarning(() -> pciDisablePasid(full));
        pciRestorePasidState(full);
        assertThat(pasidCtrl(full)).isZero();
        assertThat(pciEnablePasid(full, PCI_PASID_CAP_EXEC)).isZero();
        w.full.reset();
        assertThat(pasidCtrl(full)).isZero();
        pciRestorePasidState(full);
        assertThat(pasidCtrl(full)).isEqualTo(PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_EXEC);
        pciDisablePasid(full);
        assertThat(full.pasidEnabled).isFalse();
        assertThat(pasidCtrl(full)).isZero();
        assertThat(w.full.pasidEnabled()).isFalse();
    }

    /* ---------------- CONFIG_PCI_* off: include/linux/pci-ats.h stubs ---------------- */

    @Test
    void stubsWhenNotConfigured() {
        PciWorld n = new PciWorld();
        n.pci.CONFIG_PCI_ATS = false;
        n.pci.CONFIG_PCI_PRI = false;
        n.pci.CONFIG_PCI_PASID = false;
        n.enumerate();
        PciDev d = n.dev(1, 0);
        assertThat(d.atsCap).isZero();
        assertThat(d.priCap).isZero();
        assertThat(d.pasidCap).isZero();
        // pci_configure_eetlp_prefix is compiled out with CONFIG_PCI_PASID
        assertThat(d.eetlpPrefixPath).isFalse();
        assertThat(pciAtsSupported(d)).isFalse();
        assertThat(pciEnableAts(d, 12)).isEqualTo(-ENODEV);
        assertThat(pciAtsQueueDepth(d)).isEqualTo(-ENODEV);
        assertThat(pciAtsPageAligned(d)).isZero();
        pciDisableAts(d); // no WARN in the stub
        pciRestoreAtsState(d);
        assertThat(pciEnablePri(d, 4)).isEqualTo(-ENODEV);
        assertThat(pciResetPri(d)).isEqualTo(-ENODEV);
        assertThat(pciPrgRespPasidRequired(d)).isZero();
        assertThat(pciPriSupported(d)).isFalse();
        pciDisablePri(d);
        pciRestorePriState(d);
        assertThat(pciEnablePasid(d, 0)).isEqualTo(-EINVAL);
        assertThat(pciPasidFeatures(d)).isEqualTo(-EINVAL);
        assertThat(pciMaxPasids(d)).isEqualTo(-EINVAL);
        pciDisablePasid(d);
        pciRestorePasidState(d);
        // nothing reached the device
        assertThat(n.full.configSnapshot()).isEqualTo(
                new org.iommu4j.pci.hw.PciEndpointModel("x", n.full.caps()).configSnapshot());
    }
}
