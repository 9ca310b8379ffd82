package org.iommu4j.iommu.pgtable;

import static org.assertj.core.api.Assertions.assertThat;

import org.iommu4j.base.Printk;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.mm.PageAlloc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Runs the ported arm_lpae_do_selftests matrix: 18 configurations, all PASS, nothing leaked. */
@ExtendWith(NoWarnings.class)
class IoPgtableArmSelftestTest {
    @Test
    void allConfigurationsPass() {
        PageAlloc pa = PageAlloc.forAllRam(Board.withRam(256L << 20).mem);
        long before = pa.allocatedPages();
        Printk.clear();
        IoPgtableArmSelftest st = new IoPgtableArmSelftest(pa);
        assertThat(st.armLpaeDoSelftests()).isZero();
        assertThat(st.failures).isEmpty();
        assertThat(st.pass).isEqualTo(18);
        assertThat(st.fail).isZero();
        assertThat(Printk.grep("selftest: completed with 18 PASS 0 FAIL")).hasSize(1);
        assertThat(Printk.grep("selftest: pgsize_bitmap 0x20010000, IAS 48")).isNotEmpty();
        assertThat(pa.allocatedPages()).isEqualTo(before);
    }
}
