package org.iommu4j.pci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.pci.hw.PcieSpec.*;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.hw.MmioBus;
import org.iommu4j.base.hw.MmioDevice;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Base Address Registers (PCI 3.0 6.2.5.1): the sizing protocol, decode gated by the Command
 * register, and the host bridge's windows routing CPU accesses to the claiming BAR.
 */
@ExtendWith(NoWarnings.class)
class BarTest {
    /** The memory windows and the I/O window of QEMU's virt machine (CPU address = bus address for memory). */
    static final long MEM32 = 0x1000_0000L;
    static final long MEM64 = 0x80_0000_0000L;
    static final long IO_CPU = 0x3eff_0000L;

    static PciEndpointCaps virtioLike() {
        return PciEndpointCaps.builder().noPasid().noAts().noPri()
                .bar(PciBar.io(0, 0x20)).bar(PciBar.mem32(1, 0x1000, false)).bar(PciBar.mem64(4, 0x4000, true)).build();
    }

    /** Records every access a BAR handler sees, and answers reads with a marker. */
    static final class Regs implements MmioDevice {
        final List<String> log = new ArrayList<>();

        @Override
        public long mmioRead(long offset, int size) {
            log.add(String.format("r 0x%x/%d", offset, size));
            return 0x1234_5678_9abc_def0L >>> (64 - 8 * size);
        }

        @Override
        public void mmioWrite(long offset, long value, int size) {
            log.add(String.format("w 0x%x/%d=0x%x", offset, size, value));
        }
    }

    final MmioBus mmio = new MmioBus();
    final PciHostBridgeModel hb = new PciHostBridgeModel("pcie");
    final PciEndpointModel ep = hb.add(1, "ep", virtioLike());

    BarTest() {
        hb.mapWindow(mmio, MEM32, 0x2eff_0000L, MEM32, false);
        hb.mapWindow(mmio, MEM64, 0x80_0000_0000L, MEM64, false);
        hb.mapWindow(mmio, IO_CPU, 0x1_0000L, 0, true);
    }

    private int size(int bar) {
        int reg = CFG_BAR0 + 4 * bar;
        int old = ep.configRead(reg, 4);
        ep.configWrite(reg, 0xffffffff, 4);
        int sz = ep.configRead(reg, 4);
        ep.configWrite(reg, old, 4);
        return sz;
    }

    @Test
    void sizingReadsBackTheSizeMaskWithTheTypeBitsReadOnly() {
        assertThat(ep.configRead(0x10, 4)).isEqualTo(0x1);                 // I/O
        assertThat(ep.configRead(0x14, 4)).isZero();                       // 32-bit memory
        assertThat(ep.configRead(0x20, 4)).isEqualTo(0xc);                 // 64-bit prefetchable
        assertThat(size(0)).isEqualTo(0xffffffe1);                      // 32 bytes of I/O
        assertThat(size(1)).isEqualTo(0xfffff000);                      // 4 KiB
        assertThat(size(4)).isEqualTo(0xffffc00c);                      // 16 KiB, type bits kept
        assertThat(size(5)).isEqualTo(0xffffffff);                      // upper half: all address bits
        assertThat(size(2)).isZero();                                   // unimplemented BARs read 0
        assertThat(size(3)).isZero();
        ep.configWrite(0x30, 0xfffff800, 4);
        assertThat(ep.configRead(0x30, 4)).isZero();                       // no Expansion ROM
        // the old values came back: nothing is left programmed
        assertThat(ep.configRead(0x10, 4)).isEqualTo(0x1);
        assertThat(ep.configRead(0x20, 4)).isEqualTo(0xc);
        assertThat(ep.configRead(0x24, 4)).isZero();
    }

    @Test
    void thirtyTwoBitPrefetchableAndLargeSixtyFourBitBars() {
        PciEndpointModel m = new PciEndpointModel("m", PciEndpointCaps.builder()
                .bar(PciBar.mem32(0, 1L << 31, true)).bar(PciBar.mem64(2, 1L << 36, false)).build());
        m.configWrite(0x10, -1, 4);
        assertThat(m.configRead(0x10, 4)).isEqualTo(0x80000008);
        m.configWrite(0x18, -1, 4);
        m.configWrite(0x1c, -1, 4);
        assertThat(m.configRead(0x18, 4)).isEqualTo(0x4);                  // low half: no address bits
        assertThat(m.configRead(0x1c, 4)).isEqualTo(0xfffffff0);           // 64 GiB
    }

    private void program() {
        ep.configWrite(0x10, 0x1080, 4);
        ep.configWrite(0x14, 0x1000_0000, 4);
        ep.configWrite(0x20, 0x0, 4);
        ep.configWrite(0x24, 0x80, 4);
    }

    @Test
    void decodeOffLeavesEveryAccessUnclaimed() {
        Regs regs = new Regs();
        ep.setBarHandler(1, regs);
        program();
        assertThat(ep.barAddress(1)).isEqualTo(PciEndpointModel.BAR_UNMAPPED);
        assertThat(mmio.read(MEM32, 4)).isEqualTo(0xffffffffL);           // Unsupported Request
        mmio.write(MEM32, 7, 4);
        assertThat(regs.log).isEmpty();
        assertThat(hb.unsupportedRequests()).isEqualTo(2);
        ep.configWrite(CFG_COMMAND, CMD_IO, 2);                             // I/O decode only
        assertThat(mmio.read(MEM32, 4)).isEqualTo(0xffffffffL);
        assertThat(regs.log).isEmpty();
    }

    @Test
    void decodeOnRoutesEachWindowToTheClaimingBar() {
        Regs io = new Regs();
        Regs mem = new Regs();
        Regs pref = new Regs();
        ep.setBarHandler(0, io);
        ep.setBarHandler(1, mem);
        ep.setBarHandler(4, pref);
        program();
        ep.configWrite(CFG_COMMAND, CMD_IO | CMD_MEMORY, 2);
        assertThat(ep.barAddress(0)).isEqualTo(0x1080);
        assertThat(ep.barAddress(1)).isEqualTo(MEM32);
        assertThat(ep.barAddress(4)).isEqualTo(MEM64);

        assertThat(mmio.read(MEM32 + 0x10, 4)).isEqualTo(0x12345678L);
        mmio.write(MEM32 + 0xff8, 0xaa, 8);
        mmio.write(MEM64 + 0x3000, 0x55, 2);
        assertThat(mmio.read(IO_CPU + 0x1080 + 0x12, 1)).isEqualTo(0x12L);
        assertThat(mem.log).containsExactly("r 0x10/4", "w 0xff8/8=0xaa");
        assertThat(pref.log).containsExactly("w 0x3000/2=0x55");
        assertThat(io.log).containsExactly("r 0x12/1");
        assertThat(hb.unsupportedRequests()).isZero();

        // just past the BAR, straddling its end, or in the gap below: nobody claims it
        assertThat(mmio.read(MEM32 + 0x1000, 4)).isEqualTo(0xffffffffL);
        assertThat(mmio.read(MEM32 + 0xffc, 8)).isEqualTo(-1L);
        assertThat(mmio.read(MEM64 + 0x4000, 2)).isEqualTo(0xffffL);
        assertThat(mmio.read(IO_CPU + 0x10a0, 1)).isEqualTo(0xffL);
        assertThat(hb.unsupportedRequests()).isEqualTo(4);
        assertThat(mem.log).hasSize(2);

        // decode off again: the BARs keep their addresses but claim nothing
        ep.configWrite(CFG_COMMAND, 0, 2);
        assertThat(mmio.read(MEM64, 4)).isEqualTo(0xffffffffL);
        assertThat(pref.log).hasSize(1);
        assertThat(ep.configRead(0x24, 4)).isEqualTo(0x80);
    }

    @Test
    void unassignedAndSizingAddressesAreNeverClaimed() {
        ep.configWrite(CFG_COMMAND, CMD_IO | CMD_MEMORY, 2);
        assertThat(ep.barAddress(1)).isEqualTo(PciEndpointModel.BAR_UNMAPPED);  // address 0
        assertThat(ep.barClaiming(false, 0, 4)).isEqualTo(-1);
        ep.configWrite(0x14, -1, 4);                                            // sizing, decode on
        assertThat(ep.barAddress(1)).isEqualTo(PciEndpointModel.BAR_UNMAPPED);
        ep.configWrite(0x20, -1, 4);
        ep.configWrite(0x24, -1, 4);
        assertThat(ep.barAddress(4)).isEqualTo(PciEndpointModel.BAR_UNMAPPED);
        assertThat(ep.barAddress(2)).isEqualTo(PciEndpointModel.BAR_UNMAPPED);  // BAR 2 does not exist on this function
        assertThat(ep.barAddress(9)).isEqualTo(PciEndpointModel.BAR_UNMAPPED);
    }

    @Test
    void withoutAHandlerABarReadsZeroAndIgnoresWrites() {
        program();
        ep.configWrite(CFG_COMMAND, CMD_MEMORY, 2);
        mmio.write(MEM32 + 8, 0xffff_ffffL, 4);
        assertThat(mmio.read(MEM32 + 8, 4)).isZero();
        assertThat(hb.unsupportedRequests()).isZero();
    }

    @Test
    void resetClearsTheAddressesAndDecode() {
        program();
        ep.configWrite(CFG_COMMAND, CMD_MEMORY, 2);
        ep.reset();
        assertThat(ep.configRead(0x14, 4)).isZero();
        assertThat(ep.configRead(0x20, 4)).isEqualTo(0xc);
        assertThat(ep.barAddress(1)).isEqualTo(PciEndpointModel.BAR_UNMAPPED);
    }

    @Test
    void badBarsAreRefusedWithAReason() {
        assertThatThrownBy(() -> PciBar.mem32(1, 0x1800, false)).hasMessageContaining("not a power of two");
        assertThatThrownBy(() -> PciBar.mem32(1, 8, false)).hasMessageContaining("below 16 bytes");
        assertThatThrownBy(() -> PciBar.io(0, 0x200)).hasMessageContaining("not in 4..256");
        assertThatThrownBy(() -> PciBar.io(0, 2)).hasMessageContaining("not in 4..256");
        assertThatThrownBy(() -> PciBar.mem64(5, 0x1000, true)).hasMessageContaining("cannot hold a 64-bit BAR");
        assertThatThrownBy(() -> PciBar.mem32(6, 0x1000, false)).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> PciBar.mem32(0, 1L << 32, false)).hasMessageContaining("32-bit BAR");
        assertThatThrownBy(() -> new PciBar(0, PciBar.IO, true, 16)).hasMessageContaining("no Prefetchable bit");
        assertThatThrownBy(() -> PciEndpointCaps.builder().bar(PciBar.mem64(0, 0x1000, false))
                .bar(PciBar.mem32(1, 0x1000, false)).build()).hasMessageContaining("BAR register 1 used twice");
        assertThatThrownBy(() -> ep.setBarHandler(2, new Regs())).hasMessageContaining("no BAR 2");
    }
}
