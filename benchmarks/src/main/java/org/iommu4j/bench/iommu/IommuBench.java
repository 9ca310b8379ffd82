package org.iommu4j.bench.iommu;

import static org.iommu4j.iommu.IommuH.IOMMU_READ;
import static org.iommu4j.iommu.IommuH.IOMMU_WRITE;

import java.util.concurrent.TimeUnit;
import org.iommu4j.base.Sizes;
import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.Board;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuDevice;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuGroup;
import org.iommu4j.iommu.IommuIotlbGather;
import org.iommu4j.iommu.IommuOps;
import org.iommu4j.iommu.IovaDomain;
import org.iommu4j.iommu.pgtable.IoPgtable;
import org.iommu4j.iommu.pgtable.IoPgtableCfg;
import org.iommu4j.iommu.pgtable.IoPgtableOps;
import org.iommu4j.iommu.pgtable.IommuFlushOps;
import org.iommu4j.mm.PageAlloc;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * iommu-core hot paths: iommu_map + iommu_unmap of a 4 KiB page and of a 2 MiB block on an
 * io-pgtable-arm stage-1 domain (a bare driver whose IOTLB sync is a no-op, so the numbers are
 * the core + page table cost), iommu_iova_to_phys, and the IOVA allocator (fast path with
 * rcaches, and the rbtree path). Target: 4 KiB map+unmap pair under 1 us.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class IommuBench {
    /** A bare driver: paging domains over io-pgtable-arm, nothing else. */
    static final class BenchOps implements IommuOps {
        final PageAlloc pa;
        final IommuFlushOps tlb = cookie -> {};

        BenchOps(PageAlloc pa) {
            this.pa = pa;
        }

        static final class Dom extends IommuDomain {
            IoPgtableOps pgtbl;
        }

        @Override
        public IommuDomain domainAlloc(int type) {
            Dom d = new Dom();
            IoPgtableCfg cfg = new IoPgtableCfg();
            cfg.pgsizeBitmap = pgsizeBitmap();
            cfg.ias = 48;
            cfg.oas = 48;
            cfg.coherentWalk = true;
            cfg.tlb = tlb;
            cfg.pageAlloc = pa;
            d.pgtbl = IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S1, cfg, d);
            return d;
        }

        @Override
        public void domainFree(IommuDomain domain) {
            IoPgtable.freeIoPgtableOps(((Dom) domain).pgtbl);
        }

        @Override
        public int mapPages(IommuDomain domain, long iova, long paddr, long pgsize, long pgcount, int prot, int gfp, long[] mapped) {
            return ((Dom) domain).pgtbl.mapPages(iova, paddr, pgsize, pgcount, prot, gfp, mapped);
        }

        @Override
        public boolean hasMapPages() {
            return true;
        }

        @Override
        public long unmapPages(IommuDomain domain, long iova, long pgsize, long pgcount, IommuIotlbGather gather) {
            return ((Dom) domain).pgtbl.unmapPages(iova, pgsize, pgcount, gather);
        }

        @Override
        public boolean hasUnmapPages() {
            return true;
        }

        @Override
        public long iovaToPhys(IommuDomain domain, long iova) {
            return ((Dom) domain).pgtbl.iovaToPhys(iova);
        }

        @Override
        public IommuDevice probeDevice(Device dev) {
            return new IommuDevice();
        }

        @Override
        public void releaseDevice(Device dev) {}

        @Override
        public IommuGroup deviceGroup(Device dev) {
            return null;
        }

        @Override
        public long pgsizeBitmap() {
            return Sizes.SZ_4K | Sizes.SZ_2M | Sizes.SZ_1G;
        }
    }

    IommuDomain dom;
    IovaDomain iovad;
    long iova4k = 0x12345000L;
    long iova2m = 0x40000000L;

    @Setup
    public void setup() {
        PageAlloc pa = PageAlloc.forAllRam(Board.withRam(64L << 20).mem);
        Iommu iommu = new Iommu();
        BusType bus = new BusType("bench", (d, drv) -> false);
        iommu.busSetIommu(bus, new BenchOps(pa));
        dom = iommu.iommuDomainAlloc(bus);
        // Populate the intermediate tables once, as a live domain has them.
        Iommu.iommuMap(dom, iova4k, 0x40000000L, Sizes.SZ_4K, IOMMU_READ);
        Iommu.iommuUnmap(dom, iova4k, Sizes.SZ_4K);
        Iommu.iommuMap(dom, 0x7000_0000L, 0x40000000L, Sizes.SZ_4K, IOMMU_READ);
        iovad = new IovaDomain();
        iovad.initIovaDomain(4096, 1);
    }

    @Benchmark
    public long mapUnmap4k() {
        Iommu.iommuMap(dom, iova4k, 0x40001000L, Sizes.SZ_4K, IOMMU_READ | IOMMU_WRITE);
        return Iommu.iommuUnmap(dom, iova4k, Sizes.SZ_4K);
    }

    @Benchmark
    public long mapUnmap2m() {
        Iommu.iommuMap(dom, iova2m, 0x40000000L, Sizes.SZ_2M, IOMMU_READ | IOMMU_WRITE);
        return Iommu.iommuUnmap(dom, iova2m, Sizes.SZ_2M);
    }

    @Benchmark
    public long iovaToPhys() {
        return Iommu.iommuIovaToPhys(dom, 0x7000_0123L);
    }

    @Benchmark
    public long iovaAllocFreeFast() {
        long pfn = iovad.allocIovaFast(1, 0xfffff, true);
        iovad.freeIovaFast(pfn, 1);
        return pfn;
    }

    @Benchmark
    public long iovaAllocFreeRbtree() {
        org.iommu4j.iommu.Iova i = iovad.allocIova(4, 0xfffff, true);
        iovad.__freeIova(i);
        return i.pfnLo;
    }
}
