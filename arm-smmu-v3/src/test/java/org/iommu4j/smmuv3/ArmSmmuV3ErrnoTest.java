package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.*;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.iommu4j.base.device.Device;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuFault;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The remaining error returns of the driver's section in kernel-api.md, and the event path. */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3ErrnoTest {

    @Test
    void handleEvtReportsTranslationFaultsOnly() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        Device dev = tb.master("d", 0x8, 0);
        List<org.iommu4j.iommu.IommuFault> reported = new ArrayList<>();
        assertThat(Iommu.iommuRegisterDeviceFaultHandler(dev, (fault, data) -> {
            reported.add(fault.copy());
            return 0;
        }, null)).isZero();
        /* F_PERMISSION, sid 8, SSV ssid 3, write, addr 0x1234000: an unrecoverable fault */
        long[] evt = {0x0000000800003813L, 0, 0x1234000L, 0};
        assertThat(tb.drv.armSmmuHandleEvt(tb.drv.smmu, evt)).isZero();
        assertThat(reported).singleElement().satisfies(f -> {
            assertThat(f.type).isEqualTo(IommuFault.IOMMU_FAULT_DMA_UNRECOV);
            assertThat(f.event.reason).isEqualTo(IommuFault.IOMMU_FAULT_REASON_PERMISSION);
            assertThat(f.event.flags).isEqualTo(IommuFault.IOMMU_FAULT_UNRECOV_ADDR_VALID | IommuFault.IOMMU_FAULT_UNRECOV_PASID_VALID);
            assertThat(f.event.pasid).isEqualTo(3);
            assertThat(f.event.perm).isEqualTo(IommuFault.IOMMU_FAULT_PERM_WRITE);
            assertThat(f.event.addr).isEqualTo(0x1234000L);
        });
        /* stage 2 */
        assertThat(tb.drv.armSmmuHandleEvt(tb.drv.smmu, new long[] {0x0000000800000010L, EVTQ_1_S2, 0, 0})).isEqualTo(-EFAULT);
        /* C_BAD_CD is not a page fault */
        assertThat(tb.drv.armSmmuHandleEvt(tb.drv.smmu, new long[] {0x000000080000000aL, 0, 0, 0})).isEqualTo(-EOPNOTSUPP);
        /* unknown StreamID */
        assertThat(tb.drv.armSmmuHandleEvt(tb.drv.smmu, new long[] {0x0000009900000010L, 0, 0, 0})).isEqualTo(-EINVAL);
        /* nobody listening: the core's -EINVAL, so the thread logs the record */
        assertThat(Iommu.iommuUnregisterDeviceFaultHandler(dev)).isZero();
        assertThat(tb.drv.armSmmuHandleEvt(tb.drv.smmu, evt)).isEqualTo(-EINVAL);
    }

    @Test
    void eventsAreTraced() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe()).isZero();
        Device dev = tb.master("d", 0x9, 0);
        assertThat(tb.drv.armSmmuAttachDev(tb.dmaDomain(), dev)).isZero();
        try (Trace.Capture cap = Trace.capture("arm_smmu:evt")) {
            assertThat(tb.dma(0x9, DmaTransaction.NO_SSID, 0x5000, DmaTransaction.ACC_READ).status).isEqualTo(DmaResult.ABORT);
            tb.board.irqs.quiesce();
            assertThat(cap.records()).hasSize(1);
            assertThat(cap.records().get(0).longField("sid")).isEqualTo(9);
            assertThat(cap.records().get(0).longField("addr")).isEqualTo(0x5000);
        }
    }

    @Test
    void vmidExhaustionIsEnospc() {
        BitSet map = new BitSet();
        for (int i = 0; i < 256; i++) {
            assertThat(ArmSmmuV3.armSmmuBitmapAlloc(map, 8)).isEqualTo(i);
        }
        assertThat(ArmSmmuV3.armSmmuBitmapAlloc(map, 8)).isEqualTo(-ENOSPC);
        ArmSmmuV3.armSmmuBitmapFree(map, 17);
        assertThat(ArmSmmuV3.armSmmuBitmapAlloc(map, 8)).isEqualTo(17);
    }

    @Test
    void badIommuCellsIsEinvalButProbeGoesOn() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        PlatformDevice x = new PlatformDevice("x");
        x.ofNode = SmmuTestBed.smmuNode(2);
        assertThat(tb.drv.armSmmuDeviceDtProbe(x, tb.drv.smmu)).isEqualTo(-EINVAL);
        x.ofNode = SmmuTestBed.smmuNode(-1);
        assertThat(tb.drv.armSmmuDeviceDtProbe(x, tb.drv.smmu)).isEqualTo(-EINVAL);
        assertThat(tb.drv.smmu.features & ARM_SMMU_FEAT_COHERENCY).isZero();
        x.ofNode = SmmuTestBed.smmuNode(1, "dma-coherent");
        assertThat(tb.drv.armSmmuDeviceDtProbe(x, tb.drv.smmu)).isZero();
        assertThat(tb.drv.smmu.features & ARM_SMMU_FEAT_COHERENCY).isNotZero();
        SmmuTestBed tb2 = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb2.probe(3, "dma-coherent")).isZero();
        /* disable_bypass wins: the SMMU is enabled anyway */
        assertThat(tb2.model.mmioRead(0x24, 4) & 1).isEqualTo(1);
    }

    @Test
    void quirksFromTheDeviceTree() {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        assertThat(tb.probe(1, "dma-coherent", "hisilicon,broken-prefetch-cmd")).isZero();
        assertThat(tb.drv.smmu.options & ARM_SMMU_OPT_SKIP_PREFETCH).isNotZero();
        Device dev = tb.master("d", 0x8, 0);
        int before = tb.prod();
        assertThat(tb.drv.armSmmuAttachDev(tb.dmaDomain(), dev)).isZero();
        assertThat(tb.opcodes(before, tb.prod())).doesNotContain(CMDQ_OP_PREFETCH_CFG);
    }
}
