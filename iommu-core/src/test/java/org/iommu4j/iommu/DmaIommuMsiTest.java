package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.iommu.IommuH.*;

import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.irq.MsiDesc;
import org.iommu4j.base.irq.MsiMsg;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** dma-iommu's MSI support: doorbell pages mapped per domain, messages rewritten to their IOVA. */
@ExtendWith(NoWarnings.class)
class DmaIommuMsiTest {
    static final long DOORBELL = 0x0809_0040L;
    World w;
    Device dev;
    IommuDomain dom;

    @BeforeEach
    void setUp() {
        w = new World();
        dev = w.added("dev", 1);
        dom = Iommu.iommuGetDomainForDev(dev);
        w.mock.log.clear();
    }

    static MsiMsg doorbellMsg(long addr, int data) {
        MsiMsg m = new MsiMsg();
        m.addressLo = (int) addr;
        m.addressHi = (int) (addr >>> 32);
        m.data = data;
        return m;
    }

    @Test
    void dmaDomainMapsTheDoorbellPageOnceFromTheIovaAllocator() {
        MsiDesc a = new MsiDesc(dev, 1);
        MsiDesc b = new MsiDesc(dev, 4);
        assertThat(w.iommu.dma().iommuDmaPrepareMsi(a, DOORBELL)).isZero();
        assertThat(w.iommu.dma().iommuDmaPrepareMsi(b, DOORBELL + 0x10)).isZero();
        IommuDmaMsiPage page = (IommuDmaMsiPage) a.iommuCookie;
        assertThat(b.iommuCookie).isSameAs(page);
        assertThat(page.phys).isEqualTo(0x0809_0000L);
        // one map, of one granule: write-only, no-exec, device memory
        assertThat(w.mock.log).containsExactly(String.format("map_pages 0x%x->0x8090000 0x1000*1", page.iova));
        assertThat(Iommu.iommuIovaToPhys(dom, page.iova + 0x40)).isEqualTo(DOORBELL);
        assertThat(((IommuDmaCookie) dom.iovaCookie).msiPageList).containsExactly(page);

        MsiMsg msg = doorbellMsg(DOORBELL, 7);
        DmaIommu.iommuDmaComposeMsiMsg(a, msg);
        assertThat(msg.address()).isEqualTo(page.iova + 0x40);
        assertThat(msg.data).isEqualTo(7);
    }

    @Test
    void unmanagedDomainWithoutCookieLeavesTheMessageAlone() {
        IommuDomain un = w.iommu.iommuDomainAlloc(w.bus);
        assertThat(w.iommu.iommuAttachDevice(un, dev)).isZero();
        MsiDesc d = new MsiDesc(dev, 1);
        d.iommuCookie = "stale";
        assertThat(w.iommu.dma().iommuDmaPrepareMsi(d, DOORBELL)).isZero();
        assertThat(d.iommuCookie).isNull();
        MsiMsg msg = doorbellMsg(DOORBELL, 1);
        DmaIommu.iommuDmaComposeMsiMsg(d, msg);
        assertThat(msg.address()).isEqualTo(DOORBELL);
        w.iommu.iommuDetachDevice(un, dev);
        w.iommu.iommuDomainFree(un);
    }

    @Test
    void msiCookieHandsOutPagesFromItsBase() {
        IommuDomain un = w.iommu.iommuDomainAlloc(w.bus);
        assertThat(w.iommu.iommuAttachDevice(un, dev)).isZero();
        assertThat(DmaIommu.iommuGetMsiCookie(dom, 0x800_0000L)).isEqualTo(-EINVAL);   // DMA domain
        assertThat(DmaIommu.iommuGetMsiCookie(un, 0x800_0000L)).isZero();
        assertThat(DmaIommu.iommuGetMsiCookie(un, 0x800_0000L)).isEqualTo(-EEXIST);
        MsiDesc d1 = new MsiDesc(dev, 1);
        MsiDesc d2 = new MsiDesc(dev, 1);
        assertThat(w.iommu.dma().iommuDmaPrepareMsi(d1, DOORBELL)).isZero();
        assertThat(w.iommu.dma().iommuDmaPrepareMsi(d2, 0x0a00_0000L)).isZero();
        assertThat(((IommuDmaMsiPage) d1.iommuCookie).iova).isEqualTo(0x800_0000L);
        assertThat(((IommuDmaMsiPage) d2.iommuCookie).iova).isEqualTo(0x800_1000L);
        MsiMsg msg = doorbellMsg(DOORBELL, 0);
        DmaIommu.iommuDmaComposeMsiMsg(d1, msg);
        assertThat(msg.address()).isEqualTo(0x800_0040L);
        w.iommu.iommuDetachDevice(un, dev);
        w.iommu.iommuDomainFree(un);
    }

    /**
     * iommu_dma_get_msi_page allocates its record first: when that first allocation fails the
     * doorbell is not mapped and no IOVA is taken (-ENOMEM), and a later attempt maps it.
     */
    @Test
    void failedRecordAllocationTouchesNoIovaAndNoPageTable() {
        MsiDesc d = new MsiDesc(dev, 1);
        FaultInject.failNth(1);
        assertThat(w.iommu.dma().iommuDmaPrepareMsi(d, DOORBELL)).isEqualTo(-ENOMEM);
        assertThat(FaultInject.disarm()).isTrue();
        assertThat(d.iommuCookie).isNull();
        assertThat(w.mock.log).isEmpty();
        IommuDmaCookie cookie = (IommuDmaCookie) dom.iovaCookie;
        assertThat(cookie.msiPageList).isEmpty();
        assertThat(cookie.iovad.nrIovas()).isZero();

        assertThat(w.iommu.dma().iommuDmaPrepareMsi(d, DOORBELL)).isZero();
        assertThat(cookie.msiPageList).containsExactly((IommuDmaMsiPage) d.iommuCookie);
    }

    @Test
    void mapFailureIsEnomemAndGivesTheIovaBack() {
        IommuDomain un = w.iommu.iommuDomainAlloc(w.bus);
        assertThat(w.iommu.iommuAttachDevice(un, dev)).isZero();
        assertThat(DmaIommu.iommuGetMsiCookie(un, 0x800_0000L)).isZero();
        assertThat(Iommu.iommuMap(un, 0x800_0000L, 0x4000_0000L, 0x1000, IOMMU_READ)).isZero();
        MsiDesc d = new MsiDesc(dev, 1);
        assertThat(w.iommu.dma().iommuDmaPrepareMsi(d, DOORBELL)).isEqualTo(-ENOMEM);
        Warn.drain(); // the page table's WARN on a live entry
        assertThat(d.iommuCookie).isNull();
        IommuDmaCookie cookie = (IommuDmaCookie) un.iovaCookie;
        assertThat(cookie.msiPageList).isEmpty();
        assertThat(cookie.msiIova).isEqualTo(0x800_0000L);
        // compose with a cookie but no page: a bug, warned, the message untouched
        MsiMsg msg = doorbellMsg(DOORBELL, 0);
        DmaIommu.iommuDmaComposeMsiMsg(d, msg);
        assertThat(Warn.drain()).hasSize(1);
        assertThat(msg.address()).isEqualTo(DOORBELL);
        w.iommu.iommuDetachDevice(un, dev);
        w.iommu.iommuDomainFree(un);
    }
}
