package org.iommu4j.pci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.pci.Pci.PCI_DEVFN;
import static org.iommu4j.pci.Pci.pci_read_config_dword;
import static org.iommu4j.pci.Pci.pci_read_config_word;
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
        return pci_read_config_word(d, d.atsCap + PCI_ATS_CTRL);
    }

    int priCtrl(PciDev d) {
        return pci_read_config_word(d, d.priCap + PCI_PRI_CTRL);
    }

    int pasidCtrl(PciDev d) {
        return pci_read_config_word(d, d.pasidCap + PCI_PASID_CTRL);
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
        assertThat(pci_ats_supported(full)).isTrue();
        full.untrusted = true;
        assertThat(pci_ats_supported(full)).isFalse();
        assertThat(pci_enable_ats(full, 12)).isEqualTo(-EINVAL);
        assertThat(atsCtrl(full)).isZero();
    }

    @Test
    void noatsHidesTheCapability() {
        PciWorld n = new PciWorld();
        n.pci.pcie_ats_disabled = true;
        n.enumerate();
        PciDev d = n.dev(1, 0);
        assertThat(d.atsCap).isZero();
        assertThat(pci_ats_supported(d)).isFalse();
        assertThat(pci_enable_ats(d, 12)).isEqualTo(-EINVAL);
        assertThat(pci_ats_queue_depth(d)).isEqualTo(-EINVAL);
        assertThat(pci_ats_page_aligned(d)).isZero();
    }

    @Test
    void enableAtsWritesStuAndEnable() {
        assertThat(pci_enable_ats(full, 16)).isZero();
        assertThat(full.atsEnabled).isTrue();
        assertThat(full.atsStu).isEqualTo(16);
        assertThat(atsCtrl(full)).isEqualTo(PCI_ATS_CTRL_ENABLE | 4);
        assertThat(w.full.atsEnabled()).isTrue();
        assertThat(w.full.atsStu()).isEqualTo(4);
        // already enabled: WARN and -EBUSY
        Warnings.expectWarning(() -> assertThat(pci_enable_ats(full, 12)).isEqualTo(-EBUSY));
        assertThat(atsCtrl(full)).isEqualTo(PCI_ATS_CTRL_ENABLE | 4);
    }

    @Test
    void enableAtsRejectsSmallPages() {
        assertThat(pci_enable_ats(full, 11)).isEqualTo(-EINVAL);
        assertThat(full.atsEnabled).isFalse();
        assertThat(atsCtrl(full)).isZero();
        assertThat(pci_enable_ats(full, 12)).isZero();
        assertThat(atsCtrl(full)).isEqualTo(PCI_ATS_CTRL_ENABLE);
    }

    @Test
    void disableAtsKeepsStu() {
        assertThat(pci_enable_ats(full, 14)).isZero();
        pci_disable_ats(full);
        assertThat(full.atsEnabled).isFalse();
        assertThat(atsCtrl(full)).isEqualTo(2);
        assertThat(w.full.atsEnabled()).isFalse();
        // not enabled: WARN, nothing written
        Warnings.expectWarning(() -> pci_disable_ats(full));
        assertThat(atsCtrl(full)).isEqualTo(2);
    }

    @Test
    void restoreAtsState() {
        pci_restore_ats_state(full);
        assertThat(atsCtrl(full)).isZero();
        assertThat(pci_enable_ats(full, 13)).isZero();
        w.full.reset();
        assertThat(atsCtrl(full)).isZero();
        pci_restore_ats_state(full);
        assertThat(atsCtrl(full)).isEqualTo(PCI_ATS_CTRL_ENABLE | 1);
    }

    @Test
    void queueDepthAndPageAligned() {
        assertThat(pci_ats_queue_depth(full)).isEqualTo(8);
        assertThat(pci_ats_queue_depth(atsOnly)).isEqualTo(PCI_ATS_MAX_QDEP);
        assertThat(pci_ats_page_aligned(full)).isEqualTo(1);
        assertThat(pci_ats_page_aligned(atsOnly)).isZero();
    }

    @Test
    void virtualFunctionFollowsItsPf() {
        PciDev vf = vf();
        assertThat(pci_ats_queue_depth(vf)).isZero();
        // ATS: the PF's STU must already be the one asked for
        assertThat(pci_enable_ats(vf, 12)).isEqualTo(-EINVAL);
        assertThat(pci_enable_ats(full, 13)).isZero();
        assertThat(pci_enable_ats(vf, 12)).isEqualTo(-EINVAL);
        assertThat(pci_enable_ats(vf, 13)).isZero();
        assertThat(atsCtrl(vf)).isEqualTo(PCI_ATS_CTRL_ENABLE); // no STU of its own
        pci_disable_ats(vf);
        vf.atsEnabled = true;
        pci_restore_ats_state(vf);
        assertThat(atsCtrl(vf)).isEqualTo(PCI_ATS_CTRL_ENABLE);
        // PRI and PASID: shared with the PF
        assertThat(pci_pri_supported(vf)).isTrue();
        assertThat(pci_prg_resp_pasid_required(vf)).isEqualTo(1);
        assertThat(pci_enable_pri(vf, 8)).isEqualTo(-EINVAL);
        assertThat(pci_enable_pasid(vf, 0)).isEqualTo(-EINVAL);
        assertThat(pci_pasid_features(vf)).isEqualTo(PCI_PASID_CAP_EXEC);
        assertThat(pci_max_pasids(vf)).isEqualTo(1 << 16);
        assertThat(pci_enable_pasid(full, 0)).isZero();
        assertThat(pci_reset_pri(full)).isZero();
        assertThat(pci_enable_pri(full, 8)).isZero();
        assertThat(pci_enable_pri(vf, 8)).isZero();
        assertThat(pci_enable_pasid(vf, 0)).isZero();
        assertThat(pci_reset_pri(vf)).isZero();
        // VF disables and restores touch nothing
        pci_disable_pri(vf);
        pci_disable_pasid(vf);
        pci_restore_pri_state(vf);
        pci_restore_pasid_state(vf);
        assertThat(full.priEnabled).isTrue();
        assertThat(full.pasidEnabled).isTrue();
        assertThat(w.mf1.configRead(w.mf1.priCapOffset() + PCI_PRI_CTRL, 2)).isZero();
    }

    /* ---------------- PRI ---------------- */

    @Test
    void priInitAndQueries() {
        assertThat(pci_pri_supported(full)).isTrue();
        assertThat(pci_pri_supported(atsOnly)).isFalse();
        assertThat(pci_prg_resp_pasid_required(full)).isEqualTo(1);
        assertThat(pci_prg_resp_pasid_required(mf0)).isZero();
        assertThat(pci_prg_resp_pasid_required(atsOnly)).isZero();
    }

    @Test
    void enablePriAllocatesAtMostTheCapacity() {
        assertThat(pci_enable_pri(full, 16)).isZero();
        assertThat(full.priEnabled).isTrue();
        assertThat(full.priReqsAlloc).isEqualTo(16);
        assertThat(pci_read_config_dword(full, full.priCap + PCI_PRI_ALLOC_REQ)).isEqualTo(16);
        assertThat(priCtrl(full)).isEqualTo(PCI_PRI_CTRL_ENABLE);
        assertThat(w.full.priEnabled()).isTrue();
        // twice: WARN, -EBUSY
        Warnings.expectWarning(() -> assertThat(pci_enable_pri(full, 16)).isEqualTo(-EBUSY));
        pci_disable_pri(full);
        assertThat(pci_enable_pri(full, 1000)).isZero();
        assertThat(full.priReqsAlloc).isEqualTo(64);
        assertThat(pci_read_config_dword(full, full.priCap + PCI_PRI_ALLOC_REQ)).isEqualTo(64);
    }

    @Test
    void enablePriWithoutCapability() {
        assertThat(pci_enable_pri(atsOnly, 16)).isEqualTo(-EINVAL);
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
        assertThat(pci_read_config_word(full, full.priCap + PCI_PRI_STATUS) & PCI_PRI_STATUS_STOPPED).isZero();
        assertThat(pci_enable_pri(full, 4)).isEqualTo(-EBUSY);
        assertThat(full.priEnabled).isFalse();
        assertThat(pci_reset_pri(full)).isZero();
        assertThat(priCtrl(full)).isZero(); // Reset never reads back
        assertThat(pci_read_config_word(full, full.priCap + PCI_PRI_STATUS) & PCI_PRI_STATUS_STOPPED).isNotZero();
        assertThat(pci_enable_pri(full, 4)).isZero();
    }

    @Test
    void disablePri() {
        Warnings.expectWarning(() -> pci_disable_pri(full));
        assertThat(pci_enable_pri(full, 4)).isZero();
        pci_disable_pri(full);
        assertThat(full.priEnabled).isFalse();
        assertThat(priCtrl(full)).isZero();
        assertThat(w.full.priEnabled()).isFalse();
    }

    @Test
    void resetPri() {
        assertThat(pci_reset_pri(atsOnly)).isEqualTo(-EINVAL);
        assertThat(pci_enable_pri(full, 4)).isZero();
        Warnings.expectWarning(() -> assertThat(pci_reset_pri(full)).isEqualTo(-EBUSY));
        assertThat(priCtrl(full)).isEqualTo(PCI_PRI_CTRL_ENABLE);
    }

    @Test
    void restorePriState() {
        pci_restore_pri_state(full);
        assertThat(priCtrl(full)).isZero();
        assertThat(pci_enable_pri(full, 7)).isZero();
        w.full.reset();
        assertThat(priCtrl(full)).isZero();
        assertThat(pci_read_config_dword(full, full.priCap + PCI_PRI_ALLOC_REQ)).isZero();
        pci_restore_pri_state(full);
        assertThat(priCtrl(full)).isEqualTo(PCI_PRI_CTRL_ENABLE);
        assertThat(pci_read_config_dword(full, full.priCap + PCI_PRI_ALLOC_REQ)).isEqualTo(7);
    }

    /* ---------------- PASID ---------------- */

    @Test
    void pasidQueries() {
        assertThat(pci_pasid_features(full)).isEqualTo(PCI_PASID_CAP_EXEC);
        assertThat(pci_pasid_features(mf0)).isEqualTo(PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV);
        assertThat(pci_pasid_features(atsOnly)).isEqualTo(-EINVAL);
        assertThat(pci_max_pasids(full)).isEqualTo(1 << 16);
        assertThat(pci_max_pasids(mf0)).isEqualTo(1 << 20);
        assertThat(pci_max_pasids(atsOnly)).isEqualTo(-EINVAL);
    }

    @Test
    void enablePasid() {
        assertThat(pci_enable_pasid(full, PCI_PASID_CAP_PRIV)).isEqualTo(-EINVAL);
        assertThat(pci_enable_pasid(full, PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV)).isEqualTo(-EINVAL);
        assertThat(pasidCtrl(full)).isZero();
        assertThat(pci_enable_pasid(full, PCI_PASID_CAP_EXEC)).isZero();
        assertThat(full.pasidEnabled).isTrue();
        assertThat(full.pasidFeatures).isEqualTo(PCI_PASID_CAP_EXEC);
        assertThat(pasidCtrl(full)).isEqualTo(PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_EXEC);
        assertThat(w.full.pasidEnabled()).isTrue();
        Warnings.expectWarning(() -> assertThat(pci_enable_pasid(full, 0)).isEqualTo(-EBUSY));
    }

    @Test
    void enablePasidNeedsPrefixPathAndCapability() {
        // no End-End TLP prefix support: checked before the capability
        assertThat(atsOnly.eetlpPrefixPath).isFalse();
        assertThat(pci_enable_pasid(atsOnly, 0)).isEqualTo(-EINVAL);
        atsOnly.eetlpPrefixPath = true;
        assertThat(pci_enable_pasid(atsOnly, 0)).isEqualTo(-EINVAL); // no PASID capability
        assertThat(atsOnly.pasidEnabled).isFalse();
    }

    /** v5.15 enables PASID whatever the ACS state of the path (the ACS check came later). */
    @Test
    void enablePasidDoesNotCheckAcs() {
        // a multi-function endpoint without an ACS capability
        assertThat(mf1.acsCap).isZero();
        assertThat(pci_enable_pasid(mf1, 0)).isZero();
        assertThat(mf1.pasidEnabled).isTrue();
        assertThat(pasidCtrl(mf1)).isEqualTo(PCI_PASID_CTRL_ENABLE);
        assertThat(w.mf1.pasidEnabled()).isTrue();
        // a multi-function endpoint with an ACS capability left disabled (no pci_request_acs)
        assertThat(mf0.acsCap).isNotZero();
        assertThat(pci_read_config_word(mf0, mf0.acsCap + PCI_ACS_CTRL)).isZero();
        assertThat(pci_enable_pasid(mf0, PCI_PASID_CAP_PRIV)).isZero();
        assertThat(pasidCtrl(mf0)).isEqualTo(PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_PRIV);
    }

    @Test
    void disableAndRestorePasid() {
        Warnings.expectWarning(() -> pci_disable_pasid(full));
        pci_restore_pasid_state(full);
        assertThat(pasidCtrl(full)).isZero();
        assertThat(pci_enable_pasid(full, PCI_PASID_CAP_EXEC)).isZero();
        w.full.reset();
        assertThat(pasidCtrl(full)).isZero();
        pci_restore_pasid_state(full);
        assertThat(pasidCtrl(full)).isEqualTo(PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_EXEC);
        pci_disable_pasid(full);
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
        assertThat(pci_ats_supported(d)).isFalse();
        assertThat(pci_enable_ats(d, 12)).isEqualTo(-ENODEV);
        assertThat(pci_ats_queue_depth(d)).isEqualTo(-ENODEV);
        assertThat(pci_ats_page_aligned(d)).isZero();
        pci_disable_ats(d); // no WARN in the stub
        pci_restore_ats_state(d);
        assertThat(pci_enable_pri(d, 4)).isEqualTo(-ENODEV);
        assertThat(pci_reset_pri(d)).isEqualTo(-ENODEV);
        assertThat(pci_prg_resp_pasid_required(d)).isZero();
        assertThat(pci_pri_supported(d)).isFalse();
        pci_disable_pri(d);
        pci_restore_pri_state(d);
        assertThat(pci_enable_pasid(d, 0)).isEqualTo(-EINVAL);
        assertThat(pci_pasid_features(d)).isEqualTo(-EINVAL);
        assertThat(pci_max_pasids(d)).isEqualTo(-EINVAL);
        pci_disable_pasid(d);
        pci_restore_pasid_state(d);
        // nothing reached the device
        assertThat(n.full.configSnapshot()).isEqualTo(
                new org.iommu4j.pci.hw.PciEndpointModel("x", n.full.caps()).configSnapshot());
    }
}
