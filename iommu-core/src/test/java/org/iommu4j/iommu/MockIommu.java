package org.iommu4j.iommu;

import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.iommu.IommuH.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.Slab;
import org.iommu4j.base.Sizes;
import org.iommu4j.base.device.Device;
import org.iommu4j.iommu.pgtable.IoPgtable;
import org.iommu4j.iommu.pgtable.IoPgtableCfg;
import org.iommu4j.iommu.pgtable.IoPgtableOps;
import org.iommu4j.iommu.pgtable.IommuFlushOps;
import org.iommu4j.mm.PageAlloc;

/**
 * A small software IOMMU driver for the core's tests (like iommufd's mock domain): paging
 * domains are io-pgtable-arm stage-1 tables in simulated memory; every TLB maintenance call the
 * core or the page table makes is logged as a string, so tests check exact invalidation ranges.
 * Not Mockito: it is a real (simple) driver.
 */
public class MockIommu implements IommuOps {
    /** Domain of the mock driver. */
    public static final class MockDomain extends IommuDomain {
        public IoPgtableOps pgtbl;
        public final Set<Device> devices = new HashSet<>();
        public final Map<Device, Integer> pasids = new IdentityHashMap<>();
        public int auxPasid = -1;
        public Device auxParentDev;
    }

    /** Per-device driver data ({@code dev_iommu_priv}). */
    public static final class Master {
        final Device dev;
        final Set<Integer> features = new HashSet<>();
        MockDomain domain;

        Master(Device dev) {
            this.dev = dev;
        }
    }

    public final PageAlloc pageAlloc;
    public final IommuDevice iommuDev = new IommuDevice();
    public final Object fwnode = new Object();
    /** TLB maintenance and driver calls, in order. */
    public final List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
    public final List<IommuPageResponse> responses = java.util.Collections.synchronizedList(new ArrayList<>());
    public long pgsizeBitmap = Sizes.SZ_4K | Sizes.SZ_2M | Sizes.SZ_1G;
    public int ias = 48;
    /** Domain types domain_alloc accepts (DMA_FQ too, as v5.15's arm-smmu-v3 does). */
    public final Set<Integer> supportedTypes = new HashSet<>(Set.of(IOMMU_DOMAIN_UNMANAGED, IOMMU_DOMAIN_DMA, IOMMU_DOMAIN_DMA_FQ, IOMMU_DOMAIN_IDENTITY, IOMMU_DOMAIN_BLOCKED));
    /** Types domain_alloc was asked for, in order. */
    public final List<Integer> allocTypes = java.util.Collections.synchronizedList(new ArrayList<>());
    /** Devices (by name) whose attach is deferred ({@code is_attach_deferred}). */
    public final Set<String> deferredAttach = new HashSet<>();
    /** Errno attach_dev returns (0 = succeed). */
    public int attachError;
    /** Per-device def_domain_type answers. */
    public final Map<String, Integer> defDomainType = new HashMap<>();
    public final Set<Integer> supportedFeatures = new HashSet<>(Set.of(IOMMU_DEV_FEAT_AUX, IOMMU_DEV_FEAT_SVA, IOMMU_DEV_FEAT_IOPF));
    /** Devices (by name) sharing one group. */
    public final Set<String> sharedGroup = new HashSet<>();
    private IommuGroup shared;
    public final List<IommuResvRegion> resvRegions = new ArrayList<>();
    public Iommu core;
    private int nextAuxPasid = 100;
    public int attachPasidError;

    public MockIommu(PageAlloc pageAlloc) {
        this.pageAlloc = pageAlloc;
    }

    static Master master(Device dev) {
        return (Master) DevIommu.devIommuPrivGet(dev);
    }

    public static MockDomain toMockDomain(IommuDomain d) {
        return (MockDomain) d;
    }

    final IommuFlushOps flushOps = new IommuFlushOps() {
        @Override
        public void tlbFlushAll(Object cookie) {
            log.add("tlb_flush_all");
        }

        @Override
        public void tlbFlushWalk(long iova, long size, long granule, Object cookie) {
            log.add(String.format("flush_walk 0x%x+0x%x/0x%x", iova, size, granule));
        }

        @Override
        public boolean hasTlbFlushWalk() {
            return true;
        }

        @Override
        public void tlbAddPage(IommuIotlbGather gather, long iova, long granule, Object cookie) {
            Iommu.iommuIotlbGatherAddPage((IommuDomain) cookie, gather, iova, granule);
        }

        @Override
        public boolean hasTlbAddPage() {
            return true;
        }
    };

    @Override
    public boolean capable(int cap) {
        return cap == IOMMU_CAP_CACHE_COHERENCY;
    }

    @Override
    public boolean hasCapable() {
        return true;
    }

    @Override
    public IommuDomain domainAlloc(int type) {
        allocTypes.add(type);
        if (!supportedTypes.contains(type)) {
            return null;
        }
        MockDomain d = Slab.kzalloc(MockDomain::new, Gfp.GFP_KERNEL);
        if (d == null) {
            return null;
        }
        if ((type & __IOMMU_DOMAIN_PAGING) != 0) {
            IoPgtableCfg cfg = new IoPgtableCfg();
            cfg.pgsizeBitmap = pgsizeBitmap;
            cfg.ias = ias;
            cfg.oas = 48;
            cfg.coherentWalk = true;
            cfg.tlb = flushOps;
            cfg.pageAlloc = pageAlloc;
            d.pgtbl = IoPgtable.allocIoPgtableOps(IoPgtable.ARM_64_LPAE_S1, cfg, d);
            if (d.pgtbl == null) {
                return null;
            }
            d.pgsizeBitmap = cfg.pgsizeBitmap;
            d.geometry.apertureEnd = (1L << cfg.ias) - 1;
            d.geometry.forceAperture = true;
        }
        return d;
    }

    @Override
    public void domainFree(IommuDomain domain) {
        MockDomain d = toMockDomain(domain);
        IoPgtable.freeIoPgtableOps(d.pgtbl);
        log.add("domain_free");
    }

    @Override
    public int attachDev(IommuDomain domain, Device dev) {
        if (attachError != 0) {
            return attachError;
        }
        Master m = master(dev);
        if (m.domain != null) {
            m.domain.devices.remove(dev);
        }
        m.domain = toMockDomain(domain);
        m.domain.devices.add(dev);
        log.add("attach " + dev.devName());
        return 0;
    }

    @Override
    public boolean hasAttachDev() {
        return true;
    }

    @Override
    public void detachDev(IommuDomain domain, Device dev) {
        Master m = master(dev);
        toMockDomain(domain).devices.remove(dev);
        m.domain = null;
        log.add("detach " + dev.devName());
    }

    @Override
    public boolean hasDetachDev() {
        return true;
    }

    @Override
    public boolean isAttachDeferred(IommuDomain domain, Device dev) {
        return deferredAttach.contains(dev.devName());
    }

    @Override
    public boolean hasIsAttachDeferred() {
        return true;
    }

    @Override
    public int mapPages(IommuDomain domain, long iova, long paddr, long pgsize, long pgcount, int prot, int gfp, long[] mapped) {
        MockDomain d = toMockDomain(domain);
        log.add(String.format("map_pages 0x%x->0x%x 0x%x*%d", iova, paddr, pgsize, pgcount));
        return d.pgtbl.mapPages(iova, paddr, pgsize, pgcount, prot, gfp, mapped);
    }

    @Override
    public boolean hasMapPages() {
        return true;
    }

    @Override
    public long unmapPages(IommuDomain domain, long iova, long pgsize, long pgcount, IommuIotlbGather gather) {
        log.add(String.format("unmap_pages 0x%x 0x%x*%d", iova, pgsize, pgcount));
        return toMockDomain(domain).pgtbl.unmapPages(iova, pgsize, pgcount, gather);
    }

    @Override
    public boolean hasUnmapPages() {
        return true;
    }

    @Override
    public void flushIotlbAll(IommuDomain domain) {
        log.add("flush_iotlb_all");
    }

    @Override
    public boolean hasFlushIotlbAll() {
        return true;
    }

    @Override
    public void iotlbSync(IommuDomain domain, IommuIotlbGather gather) {
        if (gather.pgsize != 0) {
            log.add(String.format("sync 0x%x-0x%x/0x%x", gather.start, gather.end, gather.pgsize));
        }
    }

    @Override
    public boolean hasIotlbSync() {
        return true;
    }

    @Override
    public long iovaToPhys(IommuDomain domain, long iova) {
        MockDomain d = toMockDomain(domain);
        return d.pgtbl == null ? 0 : d.pgtbl.iovaToPhys(iova);
    }

    @Override
    public IommuDevice probeDevice(Device dev) {
        IommuFwspec fwspec = DevIommu.devIommuFwspecGet(dev);
        if (fwspec == null || fwspec.ops != this) {
            throw new ErrnoException(-ENODEV);
        }
        Master m = Slab.kzalloc(() -> new Master(dev), Gfp.GFP_KERNEL);
        if (m == null) {
            throw new ErrnoException(-ENOMEM);
        }
        DevIommu.devIommuPrivSet(dev, m);
        DevIommu.devIommu(dev).pasidBits = fwspec.numPasidBits;
        log.add("probe " + dev.devName());
        return iommuDev;
    }

    @Override
    public void releaseDevice(Device dev) {
        DevIommu.devIommuPrivSet(dev, null);
        log.add("release " + dev.devName());
    }

    @Override
    public IommuGroup deviceGroup(Device dev) {
        if (sharedGroup.contains(dev.devName())) {
            if (shared == null) {
                shared = core.genericDeviceGroup(dev);
                return shared;
            }
            return Iommu.iommuGroupRefGet(shared);
        }
        return core.genericDeviceGroup(dev);
    }

    @Override
    public void getResvRegions(Device dev, List<IommuResvRegion> list) {
        list.addAll(resvRegions);
    }

    @Override
    public boolean hasGetResvRegions() {
        return true;
    }

    @Override
    public int ofXlate(Device dev, org.iommu4j.of.OfPhandleArgs args) {
        log.add("of_xlate " + dev.devName() + " " + args);
        return Iommu.iommuFwspecAddIds(dev, args.args, 1);
    }

    @Override
    public boolean hasOfXlate() {
        return true;
    }

    @Override
    public boolean devHasFeat(Device dev, int f) {
        return supportedFeatures.contains(f);
    }

    @Override
    public boolean hasDevHasFeat() {
        return true;
    }

    @Override
    public boolean devFeatEnabled(Device dev, int f) {
        Master m = master(dev);
        return m != null && m.features.contains(f);
    }

    @Override
    public boolean hasDevFeatEnabled() {
        return true;
    }

    @Override
    public int devEnableFeat(Device dev, int f) {
        if (!supportedFeatures.contains(f)) {
            return -ENODEV;
        }
        if (!master(dev).features.add(f)) {
            return -EBUSY;
        }
        return 0;
    }

    @Override
    public boolean hasDevEnableFeat() {
        return true;
    }

    @Override
    public int devDisableFeat(Device dev, int f) {
        if (!master(dev).features.remove(f)) {
            return -EINVAL;
        }
        return 0;
    }

    @Override
    public boolean hasDevDisableFeat() {
        return true;
    }

    @Override
    public int auxAttachDev(IommuDomain domain, Device dev) {
        Master m = master(dev);
        if (!m.features.contains(IOMMU_DEV_FEAT_AUX)) {
            return -EINVAL;
        }
        MockDomain d = toMockDomain(domain);
        if (d.auxPasid < 0) {
            d.auxPasid = nextAuxPasid++;
        }
        d.auxParentDev = dev;
        log.add("aux_attach " + dev.devName() + " pasid " + d.auxPasid);
        return 0;
    }

    @Override
    public boolean hasAuxAttachDev() {
        return true;
    }

    @Override
    public void auxDetachDev(IommuDomain domain, Device dev) {
        log.add("aux_detach " + dev.devName());
        toMockDomain(domain).auxParentDev = null;
    }

    @Override
    public boolean hasAuxDetachDev() {
        return true;
    }

    @Override
    public int auxGetPasid(IommuDomain domain, Device dev) {
        MockDomain d = toMockDomain(domain);
        return d.auxPasid < 0 ? -EINVAL : d.auxPasid;
    }

    @Override
    public boolean hasAuxGetPasid() {
        return true;
    }

    @Override
    public IommuSva svaBind(Device dev, Object mm, Object drvdata) {
        if (!master(dev).features.contains(IOMMU_DEV_FEAT_SVA)) {
            throw new ErrnoException(-ENODEV);
        }
        log.add("sva_bind " + dev.devName());
        return new IommuSva(dev);
    }

    @Override
    public boolean hasSvaBind() {
        return true;
    }

    @Override
    public void svaUnbind(IommuSva handle) {
        log.add("sva_unbind " + handle.dev.devName());
    }

    @Override
    public boolean hasSvaUnbind() {
        return true;
    }

    @Override
    public int svaGetPasid(IommuSva handle) {
        return 42;
    }

    @Override
    public boolean hasSvaGetPasid() {
        return true;
    }

    @Override
    public int pageResponse(Device dev, IommuFaultEvent evt, IommuPageResponse msg) {
        responses.add(msg);
        log.add(String.format("page_response grpid %d code %d", msg.grpid, msg.code));
        return 0;
    }

    @Override
    public boolean hasPageResponse() {
        return true;
    }

    @Override
    public int defDomainType(Device dev) {
        return defDomainType.getOrDefault(dev.devName(), 0);
    }

    @Override
    public boolean hasDefDomainType() {
        return true;
    }

    @Override
    public int attachDevPasid(IommuDomain domain, Device dev, int pasid) {
        if (attachPasidError != 0) {
            return attachPasidError;
        }
        toMockDomain(domain).pasids.put(dev, pasid);
        log.add("attach_dev_pasid " + dev.devName() + " " + pasid);
        return 0;
    }

    @Override
    public boolean hasAttachDevPasid() {
        return true;
    }

    @Override
    public void detachDevPasid(IommuDomain domain, Device dev, int pasid) {
        toMockDomain(domain).pasids.remove(dev);
        log.add("detach_dev_pasid " + dev.devName() + " " + pasid);
    }

    @Override
    public boolean hasDetachDevPasid() {
        return true;
    }

    @Override
    public long pgsizeBitmap() {
        return pgsizeBitmap;
    }
}
