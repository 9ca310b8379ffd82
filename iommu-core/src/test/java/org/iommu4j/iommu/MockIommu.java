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
        return (Master) DevIommu.dev_iommu_priv_get(dev);
    }

    public static MockDomain to_mock_domain(IommuDomain d) {
        return (MockDomain) d;
    }

    final IommuFlushOps flushOps = new IommuFlushOps() {
        @Override
        public void tlb_flush_all(Object cookie) {
            log.add("tlb_flush_all");
        }

        @Override
        public void tlb_flush_walk(long iova, long size, long granule, Object cookie) {
            log.add(String.format("flush_walk 0x%x+0x%x/0x%x", iova, size, granule));
        }

        @Override
        public boolean has_tlb_flush_walk() {
            return true;
        }

        @Override
        public void tlb_add_page(IommuIotlbGather gather, long iova, long granule, Object cookie) {
            Iommu.iommu_iotlb_gather_add_page((IommuDomain) cookie, gather, iova, granule);
        }

        @Override
        public boolean has_tlb_add_page() {
            return true;
        }
    };

    @Override
    public boolean capable(int cap) {
        return cap == IOMMU_CAP_CACHE_COHERENCY;
    }

    @Override
    public boolean has_capable() {
        return true;
    }

    @Override
    public IommuDomain domain_alloc(int type) {
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
            d.pgtbl = IoPgtable.alloc_io_pgtable_ops(IoPgtable.ARM_64_LPAE_S1, cfg, d);
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
    public void domain_free(IommuDomain domain) {
        MockDomain d = to_mock_domain(domain);
        IoPgtable.free_io_pgtable_ops(d.pgtbl);
        log.add("domain_free");
    }

    @Override
    public int attach_dev(IommuDomain domain, Device dev) {
        if (attachError != 0) {
            return attachError;
        }
        Master m = master(dev);
        if (m.domain != null) {
            m.domain.devices.remove(dev);
        }
        m.domain = to_mock_domain(domain);
        m.domain.devices.add(dev);
        log.add("attach " + dev.dev_name());
        return 0;
    }

    @Override
    public boolean has_attach_dev() {
        return true;
    }

    @Override
    public void detach_dev(IommuDomain domain, Device dev) {
        Master m = master(dev);
        to_mock_domain(domain).devices.remove(dev);
        m.domain = null;
        log.add("detach " + dev.dev_name());
    }

    @Override
    public boolean has_detach_dev() {
        return true;
    }

    @Override
    public boolean is_attach_deferred(IommuDomain domain, Device dev) {
        return deferredAttach.contains(dev.dev_name());
    }

    @Override
    public boolean has_is_attach_deferred() {
        return true;
    }

    @Override
    public int map_pages(IommuDomain domain, long iova, long paddr, long pgsize, long pgcount, int prot, int gfp, long[] mapped) {
        MockDomain d = to_mock_domain(domain);
        log.add(String.format("map_pages 0x%x->0x%x 0x%x*%d", iova, paddr, pgsize, pgcount));
        return d.pgtbl.map_pages(iova, paddr, pgsize, pgcount, prot, gfp, mapped);
    }

    @Override
    public boolean has_map_pages() {
        return true;
    }

    @Override
    public long unmap_pages(IommuDomain domain, long iova, long pgsize, long pgcount, IommuIotlbGather gather) {
        log.add(String.format("unmap_pages 0x%x 0x%x*%d", iova, pgsize, pgcount));
        return to_mock_domain(domain).pgtbl.unmap_pages(iova, pgsize, pgcount, gather);
    }

    @Override
    public boolean has_unmap_pages() {
        return true;
    }

    @Override
    public void flush_iotlb_all(IommuDomain domain) {
        log.add("flush_iotlb_all");
    }

    @Override
    public boolean has_flush_iotlb_all() {
        return true;
    }

    @Override
    public void iotlb_sync(IommuDomain domain, IommuIotlbGather gather) {
        if (gather.pgsize != 0) {
            log.add(String.format("sync 0x%x-0x%x/0x%x", gather.start, gather.end, gather.pgsize));
        }
    }

    @Override
    public boolean has_iotlb_sync() {
        return true;
    }

    @Override
    public long iova_to_phys(IommuDomain domain, long iova) {
        MockDomain d = to_mock_domain(domain);
        return d.pgtbl == null ? 0 : d.pgtbl.iova_to_phys(iova);
    }

    @Override
    public IommuDevice probe_device(Device dev) {
        IommuFwspec fwspec = Iommu.dev_iommu_fwspec_get(dev);
        if (fwspec == null || fwspec.ops != this) {
            throw new ErrnoException(-ENODEV);
        }
        Master m = Slab.kzalloc(() -> new Master(dev), Gfp.GFP_KERNEL);
        if (m == null) {
            throw new ErrnoException(-ENOMEM);
        }
        DevIommu.dev_iommu_priv_set(dev, m);
        DevIommu.dev_iommu(dev).pasidBits = fwspec.numPasidBits;
        log.add("probe " + dev.dev_name());
        return iommuDev;
    }

    @Override
    public void release_device(Device dev) {
        DevIommu.dev_iommu_priv_set(dev, null);
        log.add("release " + dev.dev_name());
    }

    @Override
    public IommuGroup device_group(Device dev) {
        if (sharedGroup.contains(dev.dev_name())) {
            if (shared == null) {
                shared = core.generic_device_group(dev);
                return shared;
            }
            return Iommu.iommu_group_ref_get(shared);
        }
        return core.generic_device_group(dev);
    }

    @Override
    public void get_resv_regions(Device dev, List<IommuResvRegion> list) {
        list.addAll(resvRegions);
    }

    @Override
    public boolean has_get_resv_regions() {
        return true;
    }

    @Override
    public int of_xlate(Device dev, org.iommu4j.of.OfPhandleArgs args) {
        log.add("of_xlate " + dev.dev_name() + " " + args);
        return Iommu.iommu_fwspec_add_ids(dev, args.args, 1);
    }

    @Override
    public boolean has_of_xlate() {
        return true;
    }

    @Override
    public boolean dev_has_feat(Device dev, int f) {
        return supportedFeatures.contains(f);
    }

    @Override
    public boolean has_dev_has_feat() {
        return true;
    }

    @Override
    public boolean dev_feat_enabled(Device dev, int f) {
        Master m = master(dev);
        return m != null && m.features.contains(f);
    }

    @Override
    public boolean has_dev_feat_enabled() {
        return true;
    }

    @Override
    public int dev_enable_feat(Device dev, int f) {
        if (!supportedFeatures.contains(f)) {
            return -ENODEV;
        }
        if (!master(dev).features.add(f)) {
            return -EBUSY;
        }
        return 0;
    }

    @Override
    public boolean has_dev_enable_feat() {
        return true;
    }

    @Override
    public int dev_disable_feat(Device dev, int f) {
        if (!master(dev).features.remove(f)) {
            return -EINVAL;
        }
        return 0;
    }

    @Override
    public boolean has_dev_disable_feat() {
        return true;
    }

    @Override
    public int aux_attach_dev(IommuDomain domain, Device dev) {
        Master m = master(dev);
        if (!m.features.contains(IOMMU_DEV_FEAT_AUX)) {
            return -EINVAL;
        }
        MockDomain d = to_mock_domain(domain);
        if (d.auxPasid < 0) {
            d.auxPasid = nextAuxPasid++;
        }
        d.auxParentDev = dev;
        log.add("aux_attach " + dev.dev_name() + " pasid " + d.auxPasid);
        return 0;
    }

    @Override
    public boolean has_aux_attach_dev() {
        return true;
    }

    @Override
    public void aux_detach_dev(IommuDomain domain, Device dev) {
        log.add("aux_detach " + dev.dev_name());
        to_mock_domain(domain).auxParentDev = null;
    }

    @Override
    public boolean has_aux_detach_dev() {
        return true;
    }

    @Override
    public int aux_get_pasid(IommuDomain domain, Device dev) {
        MockDomain d = to_mock_domain(domain);
        return d.auxPasid < 0 ? -EINVAL : d.auxPasid;
    }

    @Override
    public boolean has_aux_get_pasid() {
        return true;
    }

    @Override
    public IommuSva sva_bind(Device dev, Object mm, Object drvdata) {
        if (!master(dev).features.contains(IOMMU_DEV_FEAT_SVA)) {
            throw new ErrnoException(-ENODEV);
        }
        log.add("sva_bind " + dev.dev_name());
        return new IommuSva(dev);
    }

    @Override
    public boolean has_sva_bind() {
        return true;
    }

    @Override
    public void sva_unbind(IommuSva handle) {
        log.add("sva_unbind " + handle.dev.dev_name());
    }

    @Override
    public boolean has_sva_unbind() {
        return true;
    }

    @Override
    public int sva_get_pasid(IommuSva handle) {
        return 42;
    }

    @Override
    public boolean has_sva_get_pasid() {
        return true;
    }

    @Override
    public int page_response(Device dev, IommuFaultEvent evt, IommuPageResponse msg) {
        responses.add(msg);
        log.add(String.format("page_response grpid %d code %d", msg.grpid, msg.code));
        return 0;
    }

    @Override
    public boolean has_page_response() {
        return true;
    }

    @Override
    public int def_domain_type(Device dev) {
        return defDomainType.getOrDefault(dev.dev_name(), 0);
    }

    @Override
    public boolean has_def_domain_type() {
        return true;
    }

    @Override
    public int attach_dev_pasid(IommuDomain domain, Device dev, int pasid) {
        if (attachPasidError != 0) {
            return attachPasidError;
        }
        to_mock_domain(domain).pasids.put(dev, pasid);
        log.add("attach_dev_pasid " + dev.dev_name() + " " + pasid);
        return 0;
    }

    @Override
    public boolean has_attach_dev_pasid() {
        return true;
    }

    @Override
    public void detach_dev_pasid(IommuDomain domain, Device dev, int pasid) {
        to_mock_domain(domain).pasids.remove(dev);
        log.add("detach_dev_pasid " + dev.dev_name() + " " + pasid);
    }

    @Override
    public boolean has_detach_dev_pasid() {
        return true;
    }

    @Override
    public long pgsize_bitmap() {
        return pgsizeBitmap;
    }
}
