package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.smmuv3.ArmSmmuV3H.*;

import java.util.List;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * arm_smmu_setup_irqs / arm_smmu_setup_unique_irqs as v5.15 has them: a missing line is only
 * warned about ("no priq irq - PRI will be broken"), and an IRQ_CTRL that does not acknowledge
 * the enables gives "failed to enable irqs" without failing the reset.
 */
@ExtendWith(NoWarnings.class)
class ArmSmmuV3SetupIrqsTest {

    private static final String P = "arm-smmu-v3 9050000.smmuv3: ";

    @Test
    void aPriSmmuWithoutAPriqLineWarns() throws Exception {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.full());
        PlatformDevice p = new PlatformDevice("9050000.smmuv3");
        p.addResource(new Resource("smmu", SmmuTestBed.SMMU_BASE, SmmuTestBed.SMMU_BASE + 0x20000 - 1, Resource.IORESOURCE_MEM));
        int evtq = tb.pdev.platformGetIrqBynameOptional("eventq");
        int gerror = tb.pdev.platformGetIrqBynameOptional("gerror");
        p.addResource(new Resource("eventq", evtq, evtq, Resource.IORESOURCE_IRQ));
        p.addResource(new Resource("gerror", gerror, gerror, Resource.IORESOURCE_IRQ));
        SmmuTestBed.Printed<Integer> run = SmmuTestBed.printed(() -> tb.probe(p, 1, "dma-coherent"));
        assertThat(run.value()).isZero();
        List<String> log = run.lines();
        assertThat(tb.drv.smmu.features & ARM_SMMU_FEAT_PRI).isNotZero();
        assertThat(log).contains(P + "no priq irq - PRI will be broken");
        assertThat(log).noneMatch(l -> l.contains("no evtq irq") || l.contains("no gerr irq"));
        /* The PRIQ interrupt is still enabled in IRQ_CTRL */
        long irqCtrl = tb.rec.lastWrite(ARM_SMMU_IRQ_CTRL);
        assertThat(irqCtrl).isEqualTo(IRQ_CTRL_EVTQ_IRQEN | IRQ_CTRL_GERROR_IRQEN | IRQ_CTRL_PRIQ_IRQEN);
        tb.model.close();
    }

    @Test
    void irqEnablesNotAcknowledgedOnlyWarn() throws Exception {
        SmmuTestBed tb = new SmmuTestBed(SmmuCaps.qemu());
        /* IRQ_CTRLACK stays 0: disabling is acknowledged, enabling never is */
        tb.rec.readOverride.put(ARM_SMMU_IRQ_CTRLACK, 0L);
        SmmuTestBed.Printed<Integer> run = SmmuTestBed.printed(() -> tb.probe());
        assertThat(run.value()).isZero();
        List<String> log = run.lines();
        assertThat(log).contains(P + "failed to enable irqs");
        assertThat(log).noneMatch(l -> l.contains("failed to disable irqs") || l.contains("failed to setup irqs"));
        /* The SMMU is enabled all the same */
        long cr0 = tb.rec.lastWrite(ARM_SMMU_CR0);
        assertThat(cr0 & CR0_SMMUEN).isNotZero();
        tb.model.close();
    }
}
