package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Sizes.SZ_1G;
import static org.iommu4j.base.Sizes.SZ_2M;
import static org.iommu4j.base.Sizes.SZ_4K;
import static org.iommu4j.iommu.IommuH.*;

import java.util.List;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceRecord;
import org.iommu4j.dma.Scatterlist;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** iommu_map/unmap splitting by pgsize_bitmap, gather ranges, errors and unwinding. */
@ExtendWith(NoWarnings.class)
class IommuMapTest {
    World w;
    IommuDomain dom;

    @BeforeEach
    void setUp() {
        w = new World();
        w.iommu.busSetIommu(w.bus, w.mock);
        dom = w.iommu.iommuDomainAlloc(w.bus);
        assertThat(dom).isNotNull();
        assertThat(dom.type).isEqualTo(IOMMU_DOMAIN_UNMANAGED);
        assertThat(dom.ops).isSameAs(w.mock);
        assertThat(dom.pgsizeBitmap).isEqualTo(SZ_4K | SZ_2M | SZ_1G);
        w.mock.log.clear();
    }

    @Test
    void mapSplitsByAlignmentAndSize() {
        try (var cap = Trace.capture("iommu:map", "iommu:unmap")) {
            assertThat(Iommu.iommuMap(dom, 0x1ff000L, 0x401ff000L, 0x402000L, IOMMU_READ | IOMMU_WRITE)).isZero();
            assertThat(w.mock.log).containsExactly(
                    "map_pages 0x1ff000->0x401ff000 0x1000*1",
                    "map_pages 0x200000->0x40200000 0x200000*2",
                    "map_pages 0x600000->0x40600000 0x1000*1");
            assertThat(Iommu.iommuIovaToPhys(dom, 0x1ff123L)).isEqualTo(0x401ff123L);
            assertThat(Iommu.iommuIovaToPhys(dom, 0x5fffffL)).isEqualTo(0x405fffffL);
            assertThat(Iommu.iommuIovaToPhys(dom, 0x600fffL)).isEqualTo(0x40600fffL);
            assertThat(Iommu.iommuIovaToPhys(dom, 0x601000L)).isZero();
            w.mock.log.clear();

            assertThat(Iommu.iommuUnmap(dom, 0x1ff000L, 0x402000L)).isEqualTo(0x402000L);
            assertThat(w.mock.log).containsExactly(
                    "unmap_pages 0x1ff000 0x1000*1",
                    "unmap_pages 0x200000 0x200000*2",
                    "sync 0x1ff000-0x1fffff/0x1000", // a 2M page does not merge with the 4K gather
                    "unmap_pages 0x600000 0x1000*1",
                    "sync 0x200000-0x5fffff/0x200000", // two adjacent 2M pages merged
                    "sync 0x600000-0x600fff/0x1000"); // iommu_unmap's final sync
            List<TraceRecord> maps = cap.of("iommu:map");
            assertThat(maps).hasSize(1);
            assertThat(maps.get(0).longField("iova")).isEqualTo(0x1ff000L);
            assertThat(maps.get(0).longField("paddr")).isEqualTo(0x401ff000L);
            assertThat(maps.get(0).longField("size")).isEqualTo(0x402000L);
            TraceRecord u = cap.of("iommu:unmap").get(0);
            assertThat(u.longField("unmapped_size")).isEqualTo(0x402000L);
        }
    }

    @Test
    void misalignedIovaOrPhysGivesSmallPages() {
        // iova and paddr differently offset inside 2M: only 4K pages can be used.
        assertThat(Iommu.iommuMap(dom, 0x200000L, 0x40201000L, SZ_2M, IOMMU_READ)).isZero();
        assertThat(w.mock.log).containsExactly("map_pages 0x200000->0x40201000 0x1000*512");
    }

    @Test
    void oneGigabyteBlock() {
        assertThat(Iommu.iommuMap(dom, SZ_1G, 0, 2 * SZ_1G, IOMMU_READ)).isZero();
        assertThat(w.mock.log).containsExactly("map_pages 0x40000000->0x0 0x40000000*2");
        assertThat(Iommu.iommuIovaToPhys(dom, SZ_1G + 0x12345678L)).isEqualTo(0x12345678L);
    }

    @Test
    void unmapFastLeavesSyncToCallerAndGatherMerges() {
        assertThat(Iommu.iommuMap(dom, 0, 0x40000000L, 16 * SZ_4K, IOMMU_READ)).isZero();
        IommuIotlbGather g = new IommuIotlbGather();
        w.mock.log.clear();
        assertThat(Iommu.iommuUnmapFast(dom, 0x3000, 2 * SZ_4K, g)).isEqualTo(2 * SZ_4K);
        assertThat(Iommu.iommuUnmapFast(dom, 0x5000, SZ_4K, g)).isEqualTo(SZ_4K);
        assertThat(w.mock.log).noneMatch(s -> s.startsWith("sync"));
        assertThat(g.start).isEqualTo(0x3000);
        assertThat(g.end).isEqualTo(0x5fff);
        assertThat(g.pgsize).isEqualTo(SZ_4K);
        // A disjoint page syncs the gathered range first.
        assertThat(Iommu.iommuUnmapFast(dom, 0x9000, SZ_4K, g)).isEqualTo(SZ_4K);
        assertThat(w.mock.log).contains("sync 0x3000-0x5fff/0x1000");
        assertThat(g.start).isEqualTo(0x9000);
        Iommu.iommuIotlbSync(dom, g);
        assertThat(w.mock.log).endsWith("sync 0x9000-0x9fff/0x1000");
        assertThat(g.start).isEqualTo(-1L);
        assertThat(g.end).isZero();
        assertThat(g.pgsize).isZero();
    }

    @Test
    void gatherHelpers() {
        IommuIotlbGather g = new IommuIotlbGather();
        assertThat(Iommu.iommuIotlbGatherIsDisjoint(g, 0x1000, 0x1000)).isFalse();
        Iommu.iommuIotlbGatherAddRange(g, 0x2000, 0x1000);
        assertThat(Iommu.iommuIotlbGatherIsDisjoint(g, 0x3000, 0x1000)).isFalse(); // adjacent above
        assertThat(Iommu.iommuIotlbGatherIsDisjoint(g, 0x1000, 0x1000)).isFalse(); // adjacent below
        assertThat(Iommu.iommuIotlbGatherIsDisjoint(g, 0x4000, 0x1000)).isTrue();
        assertThat(Iommu.iommuIotlbGatherIsDisjoint(g, 0x0, 0x1000)).isTrue();
        Iommu.iommuIotlbGatherAddRange(g, 0xffff_ffff_ffff_f000L, 0x1000);
        assertThat(g.end).isEqualTo(-1L);
        assertThat(g.start).isEqualTo(0x2000);
        Iommu.iommuFlushIotlbAll(dom);
        assertThat(w.mock.log).containsExactly("flush_iotlb_all");
    }

    @Test
    void mapErrors() {
        assertThat(Iommu.iommuMap(dom, 0x800, 0x40000000L, SZ_4K, IOMMU_READ)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuMap(dom, 0x1000, 0x40000800L, SZ_4K, IOMMU_READ)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuMap(dom, 0x1000, 0x40000000L, 0x1800, IOMMU_READ)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuUnmap(dom, 0x800, SZ_4K)).isZero();
        // Not a paging domain.
        IommuDomain ident = w.iommu.iommuDomainAllocType(w.bus, IOMMU_DOMAIN_IDENTITY);
        assertThat(Iommu.iommuMap(ident, 0x1000, 0x1000, SZ_4K, IOMMU_READ)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuUnmap(ident, 0x1000, SZ_4K)).isZero();
        assertThat(Iommu.iommuIovaToPhys(ident, 0x1234)).isEqualTo(0x1234);
        IommuDomain blocked = w.iommu.iommuDomainAllocType(w.bus, IOMMU_DOMAIN_BLOCKED);
        assertThat(Iommu.iommuIovaToPhys(blocked, 0x1234)).isZero();
        // Empty page-size bitmap.
        dom.pgsizeBitmap = 0;
        assertThat(Iommu.iommuMap(dom, 0x1000, 0x1000, SZ_4K, IOMMU_READ)).isEqualTo(-ENODEV);
        assertThat(Iommu.iommuUnmap(dom, 0x1000, SZ_4K)).isZero();
        w.iommu.iommuDomainFree(ident);
        w.iommu.iommuDomainFree(blocked);
    }

    @Test
    void noMapOpIsEnodev() {
        MinimalOps ops = new MinimalOps(w.pageAlloc);
        org.iommu4j.base.device.BusType bus2 = new org.iommu4j.base.device.BusType("other", (d, x) -> false);
        assertThat(w.iommu.busSetIommu(bus2, ops)).isZero();
        IommuDomain d = w.iommu.iommuDomainAlloc(bus2);
        assertThat(Iommu.iommuMap(d, 0x1000, 0x1000, SZ_4K, IOMMU_READ)).isEqualTo(-ENODEV);
        assertThat(Iommu.iommuUnmap(d, 0x1000, SZ_4K)).isZero();
        Iommu.iommuFlushIotlbAll(d); // NULL op: nothing
        IommuIotlbGather g = new IommuIotlbGather();
        Iommu.iommuIotlbSync(d, g);
        w.iommu.iommuDomainFree(d);
    }

    @Test
    void legacyMapOpIsCalledPerPage() {
        MockIommu legacy = new MockIommu(w.pageAlloc) {
            @Override
            public boolean hasMapPages() {
                return false;
            }

            @Override
            public boolean hasUnmapPages() {
                return false;
            }

            @Override
            public boolean hasMap() {
                return true;
            }

            @Override
            public boolean hasUnmap() {
                return true;
            }

            @Override
            public int map(IommuDomain domain, long iova, long paddr, long size, int prot, int gfp) {
                log.add(String.format("map 0x%x", iova));
                return toMockDomain(domain).pgtbl.map(iova, paddr, size, prot, gfp);
            }

            @Override
            public long unmap(IommuDomain domain, long iova, long size, IommuIotlbGather gather) {
                log.add(String.format("unmap 0x%x", iova));
                return toMockDomain(domain).pgtbl.unmap(iova, size, gather);
            }
        };
        legacy.core = w.iommu;
        org.iommu4j.base.device.BusType bus2 = new org.iommu4j.base.device.BusType("legacy", (d, x) -> false);
        w.iommu.busSetIommu(bus2, legacy);
        IommuDomain d = w.iommu.iommuDomainAlloc(bus2);
        assertThat(Iommu.iommuMap(d, 0x1000, 0x40001000L, 3 * SZ_4K, IOMMU_READ)).isZero();
        assertThat(legacy.log).containsExactly("map 0x1000", "map 0x2000", "map 0x3000");
        legacy.log.clear();
        assertThat(Iommu.iommuUnmap(d, 0x1000, 3 * SZ_4K)).isEqualTo(3 * SZ_4K);
        assertThat(legacy.log).containsExactly("unmap 0x1000", "unmap 0x2000", "unmap 0x3000", "sync 0x1000-0x3fff/0x1000");
        w.iommu.iommuDomainFree(d);
    }

    @Test
    void mapSg() {
        Scatterlist[] sg = {new Scatterlist(0x40000000L, 0x2000), new Scatterlist(0x40002000L, 0x1000), new Scatterlist(0x40010000L, 0x1000)};
        assertThat(Iommu.iommuMapSg(dom, 0x100000L, sg, 3, IOMMU_READ)).isEqualTo(0x4000L);
        assertThat(w.mock.log).containsExactly(
                "map_pages 0x100000->0x40000000 0x1000*3",
                "map_pages 0x103000->0x40010000 0x1000*1");
        assertThat(Iommu.iommuIovaToPhys(dom, 0x103010L)).isEqualTo(0x40010010L);
    }

    @Test
    void failNthSweepOnMapUnwindsAndLeaksNothing() {
        long base = w.pageAlloc.allocatedPages();
        for (int n = 1; ; n++) {
            IommuDomain d = w.iommu.iommuDomainAlloc(w.bus);
            FaultInject.failNth(n);
            int ret = d == null ? -ENOMEM : Iommu.iommuMap(d, 0x1ff000L, 0x401ff000L, 0x402000L + SZ_1G, IOMMU_READ);
            boolean fired = FaultInject.disarm();
            if (d != null) {
                if (ret != 0) {
                    assertThat(ret).isEqualTo(-ENOMEM);
                    // Everything mapped before the failure was unwound.
                    assertThat(Iommu.iommuIovaToPhys(d, 0x1ff000L)).isZero();
                    assertThat(Iommu.iommuIovaToPhys(d, 0x200000L)).isZero();
                } else {
                    assertThat(Iommu.iommuIovaToPhys(d, 0x1ff000L)).isEqualTo(0x401ff000L);
                }
                w.iommu.iommuDomainFree(d);
            }
            assertThat(w.pageAlloc.allocatedPages()).isEqualTo(base);
            if (!fired) {
                assertThat(ret).isZero();
                assertThat(n).isGreaterThan(3);
                break;
            }
        }
    }
}
