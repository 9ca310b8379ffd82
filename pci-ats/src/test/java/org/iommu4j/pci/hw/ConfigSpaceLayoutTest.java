package org.iommu4j.pci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The default endpoint's configuration space byte by byte, written from the PCIe register
 * definitions (PCI 3.0 6.1, PCIe r5 7.5.3, 7.8.9, 10.5.1, 10.5.2), and the access rules:
 * read-only bits stay, RW1C bits clear, reserved bits ignore writes.
 */
@ExtendWith(NoWarnings.class)
class ConfigSpaceLayoutTest {
    static final long ECAM = 0x4010_0000_0L;

    /** offset -> expected byte; every byte not listed is 0. */
    static Map<Integer, Integer> defaultLayout() {
        Map<Integer, Integer> m = new HashMap<>();
        put(m, 0x00, 0x36, 0x1b, 0x01, 0x01);       // vendor 1b36, device 0101
        put(m, 0x04, 0x00, 0x00, 0x10, 0x00);       // command 0, status: capabilities list
        put(m, 0x08, 0x01, 0x00, 0x80, 0x08);       // revision 1, class 08 80 00
        put(m, 0x2c, 0x36, 0x1b, 0x00, 0x11);       // subsystem vendor / id
        put(m, 0x34, 0x40);                         // capabilities pointer
        put(m, 0x40, 0x10, 0x00, 0x92, 0x00);       // PCIe cap, last; v2, RC integrated endpoint
        put(m, 0x44, 0x00, 0x80, 0x00, 0x00);       // DevCap: role-based error reporting
        put(m, 0x48, 0x10, 0x28);                   // DevCtl: relaxed ordering, no snoop, 512-byte MRRS
        put(m, 0x64, 0x00, 0x00, 0x30, 0x00);       // DevCap2: End-End TLP Prefix + Extended Fmt Supported
        put(m, 0x100, 0x1b, 0x00, 0x81, 0x10);      // PASID v1, next 0x108
        put(m, 0x104, 0x06, 0x14, 0x00, 0x00);      // exec+priv supported, width 20; control 0
        put(m, 0x108, 0x0f, 0x00, 0x01, 0x11);      // ATS v1, next 0x110
        put(m, 0x10c, 0x20, 0x00, 0x00, 0x00);      // page aligned, qdep 0 (= 32); control 0
        put(m, 0x110, 0x13, 0x00, 0x01, 0x00);      // PRI v1, last
        put(m, 0x114, 0x00, 0x00, 0x00, 0x81);      // control 0; status Stopped + PRG resp PASID
        put(m, 0x118, 0x20, 0x00, 0x00, 0x00);      // outstanding capacity 32
        return m;
    }

    static void put(Map<Integer, Integer> m, int off, int... bytes) {
        for (int i = 0; i < bytes.length; i++) {
            m.put(off + i, bytes[i]);
        }
    }

    static void assertLayout(byte[] cfg, Map<Integer, Integer> expected) {
        assertThat(cfg).hasSize(4096);
        for (int i = 0; i < 4096; i++) {
            int want = expected.getOrDefault(i, 0);
            assertThat(cfg[i] & 0xff).as("config byte 0x%03x", i).isEqualTo(want);
        }
    }

    @Test
    void defaultEndpointLayoutByteByByte() {
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder().build());
        assertLayout(ep.configSnapshot(), defaultLayout());
        assertThat(ep.pasidCapOffset()).isEqualTo(0x100);
        assertThat(ep.atsCapOffset()).isEqualTo(0x108);
        assertThat(ep.priCapOffset()).isEqualTo(0x110);
        assertThat(ep.acsCapOffset()).isZero();
    }

    @Test
    void capabilitiesLeftOutAreUnlinked() {
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder().noPasid().noPri()
                .ats(5, false).endEndPrefix(false).pcieType(PcieSpec.PCIE_TYPE_ENDPOINT).build());
        Map<Integer, Integer> m = defaultLayout();
        for (int i = 0x100; i < 0x120; i++) {
            m.remove(i);
        }
        put(m, 0x100, 0x0f, 0x00, 0x01, 0x00);      // ATS first and last
        put(m, 0x104, 0x05, 0x00, 0x00, 0x00);      // qdep 5, not page aligned
        put(m, 0x40, 0x10, 0x00, 0x02, 0x00);       // type endpoint, so Link registers:
        put(m, 0x4c, 0x11, 0x00, 0x00, 0x00);       // LnkCap: x1, 2.5 GT/s
        put(m, 0x52, 0x11, 0x00);                   // LnkSta: trained x1 at 2.5 GT/s
        put(m, 0x6c, 0x02, 0x00, 0x00, 0x00);       // LnkCap2: supported speeds 2.5 GT/s
        put(m, 0x70, 0x01, 0x00);                   // LnkCtl2: target speed 2.5 GT/s
        m.remove(0x66);                             // no EE prefix, so no Extended Fmt claim either
        assertLayout(ep.configSnapshot(), m);
        assertThat(ep.atsCapOffset()).isEqualTo(0x100);
        assertThat(ep.pasidCapOffset()).isZero();
    }

    @Test
    void linkRegistersOnlyWhereThereIsALink() {
        // PCIe r5 7.5.3: an endpoint has a Link and its registers; an RC integrated endpoint has
        // none and they are reserved
        PciEndpointModel rciep = new PciEndpointModel("rciep", PciEndpointCaps.builder().build());
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder()
                .pcieType(PcieSpec.PCIE_TYPE_ENDPOINT).build());
        int lnkctl = 0x40 + PcieSpec.PCIE_LNKCTL;
        for (int off : new int[] {PcieSpec.PCIE_LNKCAP, PcieSpec.PCIE_LNKCTL, PcieSpec.PCIE_LNKCAP2,
                PcieSpec.PCIE_LNKCTL2}) {
            rciep.configWrite(0x40 + off, -1, 4);
            assertThat(rciep.configRead(0x40 + off, 4)).as("RCiEP 0x%x", off).isZero();
        }
        // Max Link Speed names a bit of the Supported Link Speeds Vector that is set
        int maxSpeed = ep.configRead(0x40 + PcieSpec.PCIE_LNKCAP, 4) & 0xf;
        assertThat(maxSpeed).isEqualTo(1);
        assertThat(ep.configRead(0x40 + PcieSpec.PCIE_LNKCAP2, 4) & 1 << maxSpeed).isNotZero();
        assertThat(ep.configRead(0x40 + PcieSpec.PCIE_LNKCAP, 4) >>> 4 & 0x3f).as("x1").isEqualTo(1);
        ep.configWrite(lnkctl, 0xffffffff, 4);
        assertThat(ep.configRead(lnkctl, 2)).isEqualTo(0xcb);
        assertThat(ep.configRead(lnkctl + 2, 2)).as("Link Status is read-only").isEqualTo(0x11);
    }

    @Test
    void noExtendedCapabilitiesReadsZeroHeader() {
        PciEndpointModel ep = new PciEndpointModel("ep",
                PciEndpointCaps.builder().noPasid().noAts().noPri().build());
        assertThat(ep.configRead(0x100, 4)).isZero();
    }

    @Test
    void acsCapabilityLaidOutAfterPri() {
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder()
                .acs(PcieSpec.ACS_RR | PcieSpec.ACS_CR).build());
        assertThat(ep.acsCapOffset()).isEqualTo(0x120);
        assertThat(ep.configRead(0x110, 4) >>> 20).isEqualTo(0x120);
        assertThat(ep.configRead(0x120, 4)).isEqualTo(0x0001000d);
        assertThat(ep.configRead(0x124, 2)).isEqualTo(0x0c);
    }

    /**
     * PCIe r5 7.7.8.2 and 7.7.8.4: a function offering P2P Egress Control has an Egress Control
     * Vector after the ACS Control register, its size in ACS Capability [15:8] (0 would mean 256
     * bits); the implemented bits are RW and reset to 0, the rest read 0.
     */
    @Test
    void acsEgressControlBringsItsVector() {
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder()
                .acs(PcieSpec.ACS_RR | PcieSpec.ACS_CR | PcieSpec.ACS_EC).build());
        int acs = ep.acsCapOffset();
        int cap = ep.configRead(acs + PcieSpec.ACS_CAP, 2);
        assertThat(cap & 0x7f).isEqualTo(PcieSpec.ACS_RR | PcieSpec.ACS_CR | PcieSpec.ACS_EC);
        assertThat(cap >>> PcieSpec.ACS_CAP_EGRESS_VECTOR_SIZE_SHIFT).isEqualTo(8);
        assertThat(ep.configRead(acs + PcieSpec.ACS_EGRESS_CTL_V, 4)).isZero();
        ep.configWrite(acs + PcieSpec.ACS_EGRESS_CTL_V, -1, 4);
        assertThat(ep.configRead(acs + PcieSpec.ACS_EGRESS_CTL_V, 4)).isEqualTo(0xff);
        ep.configWrite(acs + PcieSpec.ACS_CTRL, -1, 2);
        assertThat(ep.configRead(acs + PcieSpec.ACS_CTRL, 2))
                .isEqualTo(PcieSpec.ACS_RR | PcieSpec.ACS_CR | PcieSpec.ACS_EC);
        ep.reset();
        assertThat(ep.configRead(acs + PcieSpec.ACS_EGRESS_CTL_V, 4)).isZero();

        // without Egress Control there is no vector: size field 0, nothing writable after Control
        PciEndpointModel plain = new PciEndpointModel("plain", PciEndpointCaps.builder()
                .acs(PcieSpec.ACS_RR | PcieSpec.ACS_CR).build());
        int pacs = plain.acsCapOffset();
        assertThat(plain.configRead(pacs + PcieSpec.ACS_CAP, 2) >>> 8).isZero();
        plain.configWrite(pacs + PcieSpec.ACS_EGRESS_CTL_V, -1, 4);
        assertThat(plain.configRead(pacs + PcieSpec.ACS_EGRESS_CTL_V, 4)).isZero();
    }

    @Test
    void anEndpointCannotOfferThePortOnlyAcsControls() {
        for (int bit : new int[] {PcieSpec.ACS_SV, PcieSpec.ACS_TB, PcieSpec.ACS_UF}) {
            PciEndpointCaps.Builder b = PciEndpointCaps.builder().acs(PcieSpec.ACS_RR | bit);
            assertThatThrownBy(b::build).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("read 0 in an endpoint");
        }
    }

    @Test
    void writingAllOnesEverywhereChangesOnlyWritableBits() {
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder().build());
        for (int off = 0; off < 4096; off += 4) {
            ep.configWrite(off, -1, 4);
        }
        Map<Integer, Integer> m = defaultLayout();
        put(m, 0x04, 0x47, 0x05);                   // command: IO, MEM, master, parity, SERR, INTx off
        put(m, 0x0c, 0xff);                         // cache line size
        put(m, 0x3c, 0xff);                         // interrupt line
        put(m, 0x48, 0xff, 0x78);                   // DevCtl writable bits (no Aux Power PM Enable)
        put(m, 0x106, 0x07);                        // PASID enable, exec, priv
        put(m, 0x10e, 0x1f, 0x80);                  // ATS STU all ones + enable
        put(m, 0x114, 0x01, 0x00, 0x00, 0x80);      // PRI enabled (reset bit not stored), not Stopped
        put(m, 0x11c, 0xff, 0xff, 0xff, 0xff);      // allocation
        assertLayout(ep.configSnapshot(), m);
        assertThat(ep.atsEnabled()).isTrue();
        assertThat(ep.pasidEnabled()).isTrue();
        assertThat(ep.priEnabled()).isTrue();
    }

    @Test
    void deviceControlResetValuesAndHardwiredBits() {
        // PCIe r5 7.5.3.4: Relaxed Ordering and No Snoop default to 1, Max_Read_Request_Size to
        // 010b; features the function lacks (Extended Tag, Phantom Functions, Aux Power) stay 0
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder().build());
        int devctl = ep.pcieCapOffset() + PcieSpec.PCIE_DEVCTL;
        assertThat(ep.configRead(devctl, 2)).isEqualTo(0x2810);
        ep.configWrite(devctl, 0xffff, 2);
        assertThat(ep.configRead(devctl, 2)).isEqualTo(0x78ff);
        ep.configWrite(devctl + 1, 0x00, 1);                   // byte write: MRRS 128, no snoop off
        assertThat(ep.configRead(devctl, 2)).isEqualTo(0x00ff);
        ep.reset();
        assertThat(ep.configRead(devctl, 2)).isEqualTo(0x2810);
    }

    @Test
    void endEndPrefixSupportImpliesExtendedFmt() {
        // PCIe r5 7.5.3.15: Extended Fmt Field Supported must be set where End-End TLP Prefixes are
        int devcap2 = 0x40 + PcieSpec.PCIE_DEVCAP2;
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder().build());
        assertThat(ep.configRead(devcap2, 4) & (PcieSpec.DEVCAP2_END_END_PREFIX | PcieSpec.DEVCAP2_EXT_FMT))
                .isEqualTo(PcieSpec.DEVCAP2_END_END_PREFIX | PcieSpec.DEVCAP2_EXT_FMT);
        ep.configWrite(devcap2, 0, 4);                         // read-only
        assertThat(ep.configRead(devcap2, 4)).isEqualTo(PcieSpec.DEVCAP2_END_END_PREFIX | PcieSpec.DEVCAP2_EXT_FMT);
    }

    @Test
    void unsupportedPasidFeaturesAreReadOnlyZero() {
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder().pasid(8, false, true).build());
        ep.configWrite(0x106, 0x7, 2);
        assertThat(ep.configRead(0x106, 2)).isEqualTo(0x5);
        assertThat(ep.configRead(0x104, 2)).isEqualTo(0x0804);
    }

    @Test
    void statusErrorBitsAreWriteOneToClear() {
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder().build());
        // Only the device sets them; a write of 1 to a clear RW1C bit leaves it clear.
        ep.configWrite(0x06, 0xffff, 2);
        assertThat(ep.configRead(0x06, 2)).isEqualTo(0x0010);
    }

    @Test
    void subDwordAccessesAndMisalignedOnes() {
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder().build());
        assertThat(ep.configRead(0x00, 1)).isEqualTo(0x36);
        assertThat(ep.configRead(0x01, 1)).isEqualTo(0x1b);
        assertThat(ep.configRead(0x02, 2)).isEqualTo(0x0101);
        assertThat(ep.configRead(0x01, 2)).isEqualTo(0xffff);  // misaligned: all ones
        assertThat(ep.configRead(0x02, 4)).isEqualTo(-1);
        assertThat(ep.configRead(4096, 1)).isEqualTo(0xff);
        ep.configWrite(0x05, 0x04, 1);                         // byte write to command high byte
        assertThat(ep.configRead(0x04, 2)).isEqualTo(0x0400);
        ep.configWrite(0x03, 0xffff, 2);                       // misaligned write dropped
        assertThat(ep.configRead(0x00, 4)).isEqualTo(0x01011b36);
    }

    @Test
    void offsetsNearIntMaxAndOddSizesReadAllOnesAndWriteNothing() {
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder().build());
        byte[] before = ep.configSnapshot();
        // off + size used to overflow to a negative number and pass the range check
        assertThat(ep.configRead(Integer.MAX_VALUE - 3, 4)).isEqualTo(-1);
        assertThat(ep.configRead(Integer.MAX_VALUE - 1, 2)).isEqualTo(0xffff);
        assertThat(ep.configRead(Integer.MIN_VALUE, 1)).isEqualTo(0xff);
        ep.configWrite(Integer.MAX_VALUE - 3, -1, 4);
        ep.configWrite(-4, -1, 4);
        for (int size : new int[] {0, 3, 8, -1}) {
            assertThat(ep.configRead(0x04, size)).as("size %d", size).isEqualTo(size == 3 ? 0xffffff : -1);
            ep.configWrite(0x04, -1, size);
        }
        assertThat(ep.configSnapshot()).isEqualTo(before);
    }

    @Test
    void requesterIdAndEcamDecoding() {
        Board board = Board.withRam(1 << 20);
        PciHostBridgeModel hb = new PciHostBridgeModel("pcie", 0, 3);
        PciEndpointModel a = hb.add(2, "a", PciEndpointCaps.builder().build());
        PciEndpointModel b = hb.add(2, 5, new PciEndpointModel("b", PciEndpointCaps.builder().ids(0x8086, 0x0b25).build()));
        hb.mapEcam(board.mmio, ECAM);
        assertThat(hb.ecamSize()).isEqualTo(4L << 20);
        assertThat(a.requesterId()).isEqualTo(0x0010);
        assertThat(b.requesterId()).isEqualTo(0x0015);
        assertThat(PcieSpec.ecamOffset(0, 2, 5, 0x10c)).isEqualTo(0x1510cL);
        assertThat(board.mmio.read(ECAM + PcieSpec.ecamOffset(0, 2, 5, 0), 4)).isEqualTo(0x0b258086L);
        assertThat(board.mmio.read(ECAM + PcieSpec.ecamOffset(0, 2, 0, 0), 2)).isEqualTo(0x1b36L);
        // function 0 became multi-function
        assertThat(board.mmio.read(ECAM + PcieSpec.ecamOffset(0, 2, 0, 0x0e), 1)).isEqualTo(0x80L);
        assertThat(board.mmio.read(ECAM + PcieSpec.ecamOffset(0, 2, 5, 0x0e), 1)).isEqualTo(0x80L);
        // nothing at 3.0, nor on bus 1: all ones
        assertThat(board.mmio.read(ECAM + PcieSpec.ecamOffset(0, 3, 0, 0), 4)).isEqualTo(0xffffffffL);
        assertThat(board.mmio.read(ECAM + PcieSpec.ecamOffset(1, 2, 0, 0), 2)).isEqualTo(0xffffL);
        board.mmio.write(ECAM + PcieSpec.ecamOffset(0, 3, 0, 4), 0x4, 2); // dropped, no error
        // ECAM writes reach the function
        board.mmio.write(ECAM + PcieSpec.ecamOffset(0, 2, 5, 4), 0x4, 2);
        assertThat(b.configRead(4, 2)).isEqualTo(4);
        // 8-byte ECAM access = two dwords
        assertThat(board.mmio.read(ECAM + PcieSpec.ecamOffset(0, 2, 0, 0), 8)).isEqualTo(0x0010_0000_0101_1b36L);
        assertThat(hb.endpoints()).containsExactly(a, b);
        assertThat(a.toString()).isEqualTo("a@00:02.0");
    }

    @Test
    void hostBridgeRejectsBadPlacement() {
        PciHostBridgeModel hb = new PciHostBridgeModel("pcie");
        assertThatThrownBy(() -> hb.add(1, 1, new PciEndpointModel("x", PciEndpointCaps.builder().build())))
                .isInstanceOf(IllegalArgumentException.class);
        hb.add(1, "y", PciEndpointCaps.builder().build());
        assertThatThrownBy(() -> hb.add(1, "z", PciEndpointCaps.builder().build()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> hb.add(32, 0, new PciEndpointModel("w", PciEndpointCaps.builder().build())))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PciEndpointCaps.builder().pasid(21, false, false).build())
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void priResetStoppedAndRw1cStatus() {
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder().build());
        int pri = ep.priCapOffset();
        assertThat(ep.configRead(pri + PcieSpec.PRI_STATUS, 2) & PcieSpec.PRI_STATUS_STOPPED).isNotZero();
        ep.configWrite(pri + PcieSpec.PRI_ALLOC_REQ, 4, 4);
        ep.configWrite(pri + PcieSpec.PRI_CTRL, PcieSpec.PRI_CTRL_ENABLE, 2);
        assertThat(ep.configRead(pri + PcieSpec.PRI_STATUS, 2) & PcieSpec.PRI_STATUS_STOPPED).isZero();
        // an unexpected response sets UPRGI; writing 1 clears it, writing 0 does not
        ep.pageResponse(new org.iommu4j.base.hw.PageResponse(0, 0, false, 7, 0));
        assertThat(ep.configRead(pri + PcieSpec.PRI_STATUS, 2) & PcieSpec.PRI_STATUS_UPRGI).isNotZero();
        ep.configWrite(pri + PcieSpec.PRI_STATUS, 0, 2);
        assertThat(ep.configRead(pri + PcieSpec.PRI_STATUS, 2) & PcieSpec.PRI_STATUS_UPRGI).isNotZero();
        ep.configWrite(pri + PcieSpec.PRI_STATUS, PcieSpec.PRI_STATUS_UPRGI | PcieSpec.PRI_STATUS_STOPPED
                | PcieSpec.PRI_STATUS_PRG_RESP_PASID, 2);
        assertThat(ep.configRead(pri + PcieSpec.PRI_STATUS, 2)).isEqualTo(PcieSpec.PRI_STATUS_PRG_RESP_PASID);
        assertThat(ep.unexpectedPrgIndexes()).containsExactly(7);
        // reset is ignored while enabled, and never reads back
        ep.configWrite(pri + PcieSpec.PRI_CTRL, PcieSpec.PRI_CTRL_ENABLE | PcieSpec.PRI_CTRL_RESET, 2);
        assertThat(ep.configRead(pri + PcieSpec.PRI_CTRL, 2)).isEqualTo(PcieSpec.PRI_CTRL_ENABLE);
        ep.configWrite(pri + PcieSpec.PRI_CTRL, 0, 2);
        assertThat(ep.configRead(pri + PcieSpec.PRI_STATUS, 2) & PcieSpec.PRI_STATUS_STOPPED).isNotZero();
        ep.configWrite(pri + PcieSpec.PRI_CTRL, PcieSpec.PRI_CTRL_RESET, 2);
        assertThat(ep.configRead(pri + PcieSpec.PRI_CTRL, 2)).isZero();
        // max requests is read-only
        ep.configWrite(pri + PcieSpec.PRI_MAX_REQ, 99, 4);
        assertThat(ep.configRead(pri + PcieSpec.PRI_MAX_REQ, 4)).isEqualTo(32);
    }

    @Test
    void resetRestoresEverything() {
        PciEndpointModel ep = new PciEndpointModel("ep", PciEndpointCaps.builder().build());
        for (int off = 0; off < 4096; off += 4) {
            ep.configWrite(off, -1, 4);
        }
        ep.reset();
        assertLayout(ep.configSnapshot(), defaultLayout());
        assertThat(ep.atsEnabled()).isFalse();
    }

    private static PciVendorCap vndr(int len, int tag, int writableByte) {
        byte[] b = new byte[len];
        byte[] w = new byte[len];
        b[0] = PcieSpec.CAP_ID_VNDR;
        b[2] = (byte) len;
        b[3] = (byte) tag;
        if (writableByte > 0) {
            w[writableByte] = (byte) 0xff;
        }
        return new PciVendorCap(b, w);
    }

    @Test
    void conventionalFunctionChainsMsixThenItsVendorCapabilitiesFromTheLast() {
        // QEMU 7.2's virtio function on a PCIe root bus: vendor capabilities of 16, 16, 16, 20
        // and 20 bytes from 0x40, then MSI-X at 0x98 at the head of the list
        PciEndpointCaps.Builder b = PciEndpointCaps.builder().conventional().ids(0x1af4, 0x1005).revision(0)
                .subsystem(0x1af4, 4).interruptPin(1).bar(PciBar.mem32(1, 0x1000, false)).msix(2, 1, 0, 1, 0x800);
        for (int len : new int[] {16, 16, 16, 20}) {
            b.vendorCap(vndr(len, len, 0));
        }
        b.vendorCap(vndr(20, 5, 4));
        PciEndpointModel ep = new PciEndpointModel("ep", b.build());
        assertThat(ep.pcieCapOffset()).isZero();
        assertThat(ep.msixCapOffset()).isEqualTo(0x98);
        assertThat(ep.configRead(PcieSpec.CFG_STATUS, 2) & PcieSpec.STS_CAP_LIST).isNotZero();
        assertThat(ep.configRead(PcieSpec.CFG_REVISION_ID, 1)).isZero();
        assertThat(ep.configRead(PcieSpec.CFG_SUBSYSTEM_VENDOR_ID, 4)).isEqualTo(0x0004_1af4);
        assertThat(ep.configRead(PcieSpec.CFG_INTERRUPT_PIN, 1)).isEqualTo(1);
        int[] chain = new int[7];
        int n = 0;
        for (int at = ep.configRead(PcieSpec.CFG_CAP_PTR, 1); at != 0; at = ep.configRead(at + 1, 1)) {
            chain[n++] = at;
        }
        assertThat(java.util.Arrays.copyOf(chain, n)).containsExactly(0x98, 0x84, 0x70, 0x60, 0x50, 0x40);
        assertThat(ep.configRead(0x98, 1)).isEqualTo(PcieSpec.CAP_ID_MSIX);
        assertThat(ep.configRead(0x70, 4)).isEqualTo(0x1414_6009);   // tag 0x14, length 20, next 0x60
        // only the bits the capability declares writable take a write
        ep.configWrite(0x84, -1, 4);
        ep.configWrite(0x88, 0x1234_5678, 4);
        assertThat(ep.configRead(0x84, 4)).isEqualTo(0x0514_7009);
        assertThat(ep.configRead(0x88, 4)).isEqualTo(0x78);
        // 256 bytes of config space: the extended space reads all-ones and ignores writes
        assertThat(ep.configRead(0x100, 4)).isEqualTo(-1);
        ep.configWrite(0x100, 0, 4);
        assertThat(ep.configSnapshot()[0x100]).isZero();
    }

    @Test
    void conventionalFunctionRefusesExtendedCapabilitiesAndOverlappingVendorCapabilities() {
        assertThatThrownBy(() -> PciEndpointCaps.builder().conventional().ats(0, true).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PCI Express");
        PciEndpointCaps.Builder b = PciEndpointCaps.builder().conventional().bar(PciBar.mem32(1, 0x1000, false))
                .msix(1, 1, 0, 1, 0x800);
        for (int i = 0; i < 6; i++) {
            b.vendorCap(vndr(16, i, 0));
        }
        PciEndpointCaps overlapping = b.build();
        assertThatThrownBy(() -> new PciEndpointModel("ep", overlapping))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("beyond 0x98");
        assertThatThrownBy(() -> new PciVendorCap(new byte[] {PcieSpec.CAP_ID_VNDR, 0, 5, 0}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Capability Length");
    }
}
