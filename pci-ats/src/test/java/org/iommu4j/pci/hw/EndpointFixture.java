package org.iommu4j.pci.hw;

import static org.iommu4j.pci.hw.PcieSpec.*;

import org.iommu4j.base.hw.Board;

/** A board with 16 MiB of RAM and one endpoint behind a {@link FakeUpstreamPort}, SID 0x10. */
class EndpointFixture {
    static final long RAM = 0x4000_0000L;
    static final int SID = 0x10;
    final Board board = Board.withRamAndItsDoorbell(16 << 20); // the MSI tests write to its doorbell
    final FakeUpstreamPort iommu = new FakeUpstreamPort();
    final PciEndpointModel ep;

    EndpointFixture(PciEndpointCaps caps) {
        ep = new PciEndpointModel("ep0", caps);
        ep.plug(board, iommu, SID);
        ep.configWrite(CFG_COMMAND, CMD_BUS_MASTER | CMD_MEMORY, 2);
    }

    EndpointFixture() {
        this(PciEndpointCaps.builder().build());
    }

    EndpointFixture pasid(int ctrlBits) {
        ep.configWrite(ep.pasidCapOffset() + PASID_CTRL, PASID_CTRL_ENABLE | ctrlBits, 2);
        return this;
    }

    EndpointFixture ats(int stu) {
        ep.configWrite(ep.atsCapOffset() + ATS_CTRL, ATS_CTRL_ENABLE | stu, 2);
        return this;
    }

    EndpointFixture pri(int alloc) {
        ep.configWrite(ep.priCapOffset() + PRI_ALLOC_REQ, alloc, 4);
        ep.configWrite(ep.priCapOffset() + PRI_CTRL, PRI_CTRL_ENABLE, 2);
        return this;
    }

    int priStatus() {
        return ep.configRead(ep.priCapOffset() + PRI_STATUS, 2);
    }

    static byte[] pattern(int len, int seed) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }
}
