package org.iommu4j.pci.hw;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** Random config writes never touch a bit the spec makes read-only. */
class ConfigSpaceProperties {
    @Property(tries = 200, seed = "20261203")
    void writesOnlyChangeWritableOrW1cBits(@ForAll @IntRange(min = 0, max = 1023) int dword, @ForAll int value,
                                           @ForAll @IntRange(min = 0, max = 2) int sizeLog) {
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder()
                .acs(PcieSpec.ACS_RR | PcieSpec.ACS_CR).build());
        int size = 1 << sizeLog;
        int off = dword * 4 + (value & 3 & ~(size - 1));
        byte[] before = ep.configSnapshot();
        ep.configWrite(off, value, size);
        byte[] after = ep.configSnapshot();
        for (int i = 0; i < 4096; i++) {
            boolean covered = i >= off && i < off + size;
            boolean priSide = i >= ep.priCapOffset() + PcieSpec.PRI_STATUS && i < ep.priCapOffset() + PcieSpec.PRI_STATUS + 2;
            if (!covered && !priSide) {
                assertThat(after[i]).as("byte 0x%x outside the write", i).isEqualTo(before[i]);
            }
        }
        // identity and capability structure never change
        assertThat(ep.configRead(0, 4)).isEqualTo(0x01011b36);
        assertThat(ep.configRead(0x34, 1)).isEqualTo(0x40);
        assertThat(ep.configRead(0x100, 4)).isEqualTo(0x1081001b);
        assertThat(ep.configRead(0x108, 4)).isEqualTo(0x1101000f);
        assertThat(ep.configRead(0x110, 4)).isEqualTo(0x12010013);
        assertThat(ep.configRead(0x118, 4)).isEqualTo(32);
    }
}
