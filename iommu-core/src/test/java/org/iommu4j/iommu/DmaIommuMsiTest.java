package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.iommu.IommuH.*;

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
        dom = Iommu.iommu_get_domain_for_dev(dev);
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
        assertThat(w.iommu.dma().iommu_dma_prepare_msi(a, DOORBELL)).isZero();
        assertThat(w.iommu.dma().iommu_dma_prepare_msi(b, DOORBELL + 0x10)).isZero();
        IommuDmaMsiPage page = (IommuDmaMsiPage) a.iommuCookie;
        assertThat(b.iommuCookie).isSameAs(page);
        assertThat(page.phys).isEqualTo(0x0809_0000L);
        // one map, of one granule: write-only, no-exec, device memory
        assertThat(w.mock.log).containsExactly(String.format("map_pages 0x%x->0x8090000 0x1000*1", page.iova));
        assertThat(Iommu.iommu_iova_to_phys(dom, page.iova + 0x40)).isEqualTo(DOORBELL);
        assertThat(((IommuDmaCookie) dom.iovaCookie).msiPageList).containsExactly(page);

        MsiMsg msg = doorbellMsg(DOORBELL, 7);
        DmaIommu.iommu_dma_compose_msi_msg(a, msg);
        assertThat(msg.address()).isEqualTo(page.iova + 0x40);
        assertThat(msg.data).isEqualTo(7);
    }

    @Test
    void unmanagedDomainWithoutCookieLeavesTheMessageAlone() {
        IommuDomain un = w.iommu.iommu_domain_alloc(w.bus);
        assertThat(w.iommu.iommu_attach_device(un, dev)).isZero();
        MsiDesc d = new MsiDesc(dev, 1);
        d.iommuCookie = "stale";
        assertThat(w.iommu.dma().iommu_dma_prepare_msi(d, DOORBELL)).isZero();
        assertThat(d.iommuCookie).isNull();
        MsiMsg msg = doorbellMsg(DOORBELL, 1);
        DmaIommu.iommu_dma_compose_msi_msg(d, msg);
        assertThat(msg.address()).isEqualTo(DOORBELL);
        w.iommu.iommu_detach_device(un, dev);
        w.iommu.iommu_domain_free(un);
    }

    @Test
    void msiCookieHandsOutPagesFromItsBase() {
        IommuDomain un = w.iommu.iommu_domain_alloc(w.bus);
        assertThat(w.iommu.iommu_attach_device(un, dev)).isZero();
        assertThat(DmaIommu.iommu_get_msi_cookie(dom, 0x800_0000L)).isEqualTo(-EINVAL);   // DMA domain
        assertThat(DmaIommu.iommu_get_msi_cookie(un, 0x800_0000L)).isZero();
        assertThat(DmaIommu.iommu_get_msi_cookie(un, 0x800_0000L)).isEqualTo(-EEXIST);
        MsiDesc d1 = new MsiDesc(dev, 1);
        MsiDesc d2 = new MsiDesc(dev, 1);
        assertThat(w.iommu.dma().iommu_dma_prepare_msi(d1, DOORBELL)).isZero();
        assertThat(w.iommu.dma().iommu_dma_prepare_msi(d2, 0x0a00_0000L)).isZero();
        assertThat(((IommuDmaMsiPage) d1.iommuCookie).iova).isEqualTo(0x800_0000L);
        assertThat(((IommuDmaMsiPage) d2.iommuCookie).iova).isEqualTo(0x800_1000L);
        MsiMsg msg = doorbellMsg(DOORBELL, 0);
        DmaIommu.iommu_dma_compose_msi_msg(d1, msg);
        assertThat(msg.address()).isEqualTo(0x800_0040L);
        w.iommu.iommu_detach_device(un, dev);
        w.iommu.iommu_domain_free(un);
    }

    @Test
    void mapFailureIsEnomemAndGivesTheIovaBack() {
        IommuDomain un = w.iommu.iommu_domain_alloc(w.bus);
        assertThat(w.iommu.iommu_attach_device(un, dev)).isZero();
        assertThat(DmaIommu.iommu_get_msi_cookie(un, 0x800_0000L)).isZero();
        assertThat(Iommu.iommu_map(un, 0x800_0000L, 0x4000_0000L, 0x1000, IOMMU_READ)).isZero();
        MsiDesc d = new MsiDesc(dev, 1);
        assertThat(w.iommu.dma().iommu_dma_prepare_msi(d, DOORBELL)).isEqualTo(-ENOMEM);
        Warn.drain(); // the page table's WARN on a live entry
        assertThat(d.iommuCookie).isNull();
        IommuDmaCookie cookie = (IommuDmaCookie) un.iovaCookie;
        assertThat(cookie.msiPageList).isEmpty();
        assertThat(cookie.msiIova).isEqualTo(0x800_0000L);
        // compose with a cookie but no page: a bug, warned, the message untouched
        MsiMsg msg = doorbellMsg(DOORBELL, 0);
        DmaIommu.iommu_dma_compose_msi_msg(d, msg);
        assertThat(Warn.drain()).hasSize(1);
        assertThat(msg.address()).isEqualTo(DOORBELL);
        w.iommu.iommu_detach_device(un, dev);
        w.iommu.iommu_domain_free(un);
    }
}
