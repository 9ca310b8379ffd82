package org.iommu4j.base.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class MmioBusTest {
    /** A register file that logs every access and stores 64-bit registers by offset. */
    static final class Regs implements MmioDevice {
        final List<String> log = new ArrayList<>();
        final long[] regs = new long[64];

        @Override
        public long mmioRead(long offset, int size) {
            log.add("R" + size * 8 + "@" + Long.toHexString(offset));
            long v = regs[(int) (offset >>> 3)];
            return (offset & 4) != 0 ? v >>> 32 : (size == 4 ? v & 0xffff_ffffL : v);
        }

        @Override
        public void mmioWrite(long offset, long value, int size) {
            log.add("W" + size * 8 + "@" + Long.toHexString(offset) + "=" + Long.toHexString(value));
            int i = (int) (offset >>> 3);
            if (size == 8) {
                regs[i] = value;
            } else if ((offset & 4) != 0) {
                regs[i] = (regs[i] & 0xffff_ffffL) | (value << 32);
            } else {
                regs[i] = (regs[i] & 0xffff_ffff_0000_0000L) | (value & 0xffff_ffffL);
            }
        }
    }

    final MmioBus bus = new MmioBus();
    final Regs smmu = new Regs();

    @Test
    void ioremapAccessorsReachTheDeviceAtRegionRelativeOffsets() {
        bus.map("smmu", 0x0905_0000L, 0x200, smmu);
        IoMem base = IoMem.ioremap(bus, 0x0905_0000L, 0x200);
        assertThat(base.physBase()).isEqualTo(0x0905_0000L);
        assertThat(base.size()).isEqualTo(0x200);
        base.writel(0x8000_0001, 0x20);
        base.writelRelaxed(0x7, 0x24);
        assertThat(base.readl(0x20)).isEqualTo(0x8000_0001);
        assertThat(base.readlRelaxed(0x24)).isEqualTo(7);
        assertThat(base.readq(0x20)).isEqualTo(0x0000_0007_8000_0001L);
        base.writeq(0xffff_0000_1234_5678L, 0x80);
        base.writeqRelaxed(1L, 0x88);
        assertThat(base.readqRelaxed(0x80)).isEqualTo(0xffff_0000_1234_5678L);
        assertThat(smmu.log).containsExactly("W32@20=80000001", "W32@24=7", "R32@20", "R32@24", "R64@20",
                "W64@80=ffff000012345678", "W64@88=1", "R64@80");
    }

    @Test
    void loHiWriteqIsTwoHalvesLowFirst() {
        bus.map("smmu", 0x0905_0000L, 0x200, smmu);
        IoMem base = IoMem.ioremap(bus, 0x0905_0000L, 0x200);
        base.loHiWriteq(0xaaaa_bbbb_cccc_ddddL, 0x90);
        assertThat(smmu.log).containsExactly("W32@90=ccccdddd", "W32@94=aaaabbbb");
        assertThat(smmu.regs[0x90 / 8]).isEqualTo(0xaaaa_bbbb_cccc_ddddL);
    }

    @Test
    void offsetCookieIsPointerArithmetic() {
        bus.map("smmu", 0x0905_0000L, 0x20000, smmu);
        IoMem page1 = IoMem.ioremap(bus, 0x0905_0000L, 0x20000).offset(0x100);
        assertThat(page1.physBase()).isEqualTo(0x0905_0100L);
        assertThat(page1.size()).isEqualTo(0x20000 - 0x100);
        page1.writel(1, 0x8);
        assertThat(smmu.log).containsExactly("W32@108=1");
    }

    /**
     * iounmap ends the mapping for every cookie offset from it: an access afterwards is the
     * kernel's paging-request oops (a driver bug), and reaches no register. Another ioremap of
     * the same registers is unaffected; iounmap(NULL) does nothing.
     */
    @Test
    void iounmapEndsTheMappingForEveryCookieOfIt() {
        bus.map("smmu", 0x0905_0000L, 0x20000, smmu);
        IoMem base = IoMem.ioremap(bus, 0x0905_0000L, 0x20000);
        IoMem page1 = base.offset(0x100);
        IoMem other = IoMem.ioremap(bus, 0x0905_0000L, 0x200);
        IoMem.iounmap(base);
        IoMem.iounmap(null);
        assertThat(base.mapped()).isFalse();
        assertThat(page1.mapped()).isFalse();
        assertThatThrownBy(() -> page1.writel(1, 0x8)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Unable to handle kernel paging request").hasMessageContaining("0x9050108");
        assertThatThrownBy(() -> base.readb(0)).isInstanceOf(IllegalStateException.class);
        assertThat(smmu.log).isEmpty();
        other.writel(2, 0x8);
        assertThat(other.mapped()).isTrue();
        assertThat(smmu.log).containsExactly("W32@8=2");
    }

    @Test
    void overlappingRegionsAreRejectedAdjacentOnesAccepted() {
        bus.map("a", 0x1000, 0x1000, smmu);
        assertThatThrownBy(() -> bus.map("b", 0x1800, 0x1000, new Regs())).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("b overlaps a");
        assertThatThrownBy(() -> bus.map("c", 0x0, 0x1001, new Regs())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> bus.map("d", 0x1fff, 0x1, new Regs())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> bus.map("e", 0x0, 0x10000, new Regs())).isInstanceOf(IllegalArgumentException.class);
        bus.map("below", 0x0, 0x1000, new Regs());
        bus.map("above", 0x2000, 0x1000, new Regs());
        assertThat(bus.regions()).extracting(MmioBus.Region::name).containsExactly("a", "below", "above");
        assertThat(bus.find(0x2ffc, 4).name()).isEqualTo("above");
        assertThat(bus.find(0x2ffc, 8)).isNull();
    }

    @Test
    void unmappedAccessesAreBusErrors() {
        MmioBus.Region r = bus.map("smmu", 0x0905_0000L, 0x100, smmu);
        assertThatThrownBy(() -> bus.read(0x0906_0000L, 4)).isInstanceOf(BusError.class)
                .hasMessageContaining("MMIO read of unmapped address at 0x9060000");
        assertThatThrownBy(() -> bus.write(0x0904_fffcL, 0, 4)).isInstanceOf(BusError.class)
                .satisfies(e -> assertThat(((BusError) e).address()).isEqualTo(0x0904_fffcL));
        // An access that runs past the end of a region is not claimed by it.
        assertThatThrownBy(() -> bus.read(0x0905_00fcL, 8)).isInstanceOf(BusError.class);
        IoMem io = IoMem.ioremap(bus, 0x0905_0000L, 0x100);
        bus.unmap(r);
        assertThatThrownBy(() -> io.readl(0)).isInstanceOf(BusError.class);
        assertThat(smmu.log).isEmpty();
    }

    @Test
    void anAccessWrappingPastTwoToThe64IsNotClaimedByALowRegion() {
        bus.map("low", 0x0, 0x1000, smmu);
        // addr + size wraps to 2 or 4, inside "low": the device used to get an offset near 2^64
        assertThatThrownBy(() -> bus.read(-2L, 4)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> bus.write(-4L, 1, 8)).isInstanceOf(BusError.class);
        assertThat(bus.find(-1L, 1)).isNull();
        assertThat(smmu.log).isEmpty();
    }

    @Test
    void aRegionMayEndAtTheTopOfTheAddressSpaceButNotWrapPastIt() {
        Regs top = new Regs();
        bus.map("top", -0x200L, 0x200, top);
        top.regs[0x1f8 / 8] = 0x1234;
        assertThat(bus.read(-8L, 8)).isEqualTo(0x1234);
        assertThatThrownBy(() -> bus.map("wraps", -0x1000L, 0x2000, new Regs())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("wraps past 2^64");
        assertThatThrownBy(() -> bus.map("empty", 0x1000, 0, new Regs())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> bus.map("huge", 0x1000, -1L, new Regs())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> bus.map("nodev", 0x1000, 0x10, null)).isInstanceOf(IllegalArgumentException.class);
        // the overlap test still sees "top" when the new region ends at 2^64 too
        assertThatThrownBy(() -> bus.map("under", -0x400L, 0x400, new Regs())).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("under overlaps top");
        bus.map("below", -0x400L, 0x200, new Regs());
        assertThat(bus.regions()).extracting(MmioBus.Region::name).containsExactly("top", "below");
    }

    @Test
    void accessSizesACpuCannotIssueAreRejected() {
        bus.map("smmu", 0x0905_0000L, 0x200, smmu);
        for (int size : new int[] {0, 3, 5, 16, -4}) {
            assertThatThrownBy(() -> bus.read(0x0905_0000L, size)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("MMIO access of " + size + " bytes");
            assertThatThrownBy(() -> bus.write(0x0905_0000L, 0, size)).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(smmu.log).isEmpty();
        bus.read(0x0905_0000L, 1);
        bus.write(0x0905_0000L, 0, 2);
        assertThat(smmu.log).containsExactly("R8@0", "W16@0=0");
    }
}
