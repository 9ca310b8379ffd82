package org.iommu4j.iommu;

import static org.iommu4j.base.Bits.__ffs;
import static org.iommu4j.base.Bits.__fls;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSYS;
import static org.iommu4j.base.Errno.EPERM;
import static org.iommu4j.base.Gfp.GFP_ATOMIC;
import static org.iommu4j.base.Gfp.GFP_KERNEL;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQ;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID;
import static org.iommu4j.iommu.IommuH.*;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_PASID_VALID;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_VERSION_1;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Notifier;
import org.iommu4j.base.NotifierBlock;
import org.iommu4j.base.Port;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Slab;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.Device;
import org.iommu4j.dma.Scatterlist;

/**
 * drivers/iommu/iommu.c (v5.15) as an instance: the kernel's globals (IOMMU device list, group
 * IDA, default domain type, {@code iommu.strict}) are fields, so each simulated machine builds
 * its own {@code new Iommu(...)}. Also carries the aux-domain API (seed 000 / v5.2-v5.17), the
 * seed 001 adapters and the seed 003 DMA-API-with-PASID calls.
 *
 * <p>Naming: ported functions keep their kernel snake_case names ({@code iommu_map},
 * {@code iommu_attach_device}); struct fields are camelCase.
 *
 * <p>Locking: {@code group.mutex} protects a group's device list and domains (the kernel's
 * {@code group->mutex}); {@code dev_iommu.lock} protects the fault parameters;
 * {@link #iommuDeviceLock} the IOMMU device list; {@link #iommuDmaLock} (seed 003) the DMA PASID
 * of domains. Order: group.mutex -> dev_iommu.lock -> fault_param.lock.
 */
@Port("drivers/iommu/iommu.c:iommu_device_list")
public final class Iommu {
    // iommu_cmd_line bits
    static final int IOMMU_CMD_LINE_DMA_API = 1 << 0;
    static final int IOMMU_CMD_LINE_STRICT = 1 << 1;

    /** The registered IOMMUs; writes under iommuDeviceLock, lock-free reads. */
    private final List<IommuDevice> iommuDeviceList = new CopyOnWriteArrayList<>();
    private final ReentrantLock iommuDeviceLock = new ReentrantLock();
    /** {@code iommu_group_ida}. Guarded by itself. */
    private final BitSet iommuGroupIda = new BitSet();
    private volatile int iommuDefDomainType = IOMMU_DOMAIN_DMA;
    private volatile boolean iommuDmaStrict = true;
    private int iommuCmdLine;
    /** Bus notifier blocks installed by bus_set_iommu. */
    private final Map<BusType, NotifierBlock> busNotifiers = new IdentityHashMap<>();
    /** Seed 003: protects IommuDomain.pasid / pasidUsers. */
    final ReentrantLock iommuDmaLock = new ReentrantLock();
    /** Seed 001 adapter: the device an aux domain was last attached to (for DOMAIN_ATTR_AUXD_ID). Guarded by itself. */
    private final Map<IommuDomain, Device> auxDevice = new IdentityHashMap<>();
    /** dma-iommu for this machine, or null when no page allocator was given. */
    private final DmaIommu dmaIommu;
    /** Seed 003 PASID allocator (the kernel's {@code iommu_dma_pasid} ioasid set). */
    private final PasidSource pasidSource;

    /**
     * The PASID space used by seed 003's DMA-with-PASID ({@code ioasid_alloc(&iommu_dma_pasid, min,
     * max, dev)} / {@code ioasid_free}). {@link Iommu#pasidSourceFrom} adapts an ioasid instance.
     */
    public interface PasidSource {
        /** Returns an ID in [min, max] or INVALID_IOASID (-1). */
        int alloc(int min, int max, Object priv);

        void free(int pasid);
    }

    /**
     * A world with the default policy of an arm64 v5.15 kernel (translated DMA domains,
     * {@code iommu.strict=1}), no dma-iommu and no PASID allocator.
     */
    public Iommu() {
        this(null, (PasidSource) null, null);
    }

    /**
     * @param pageAlloc the machine's page allocator, for dma-iommu (null: no DMA API over the
     *     IOMMU; devices keep dma-direct)
     * @param pasidSource PASIDs for seed 003 (null: {@code iommu_attach_dma_pasid} fails -ENOMEM)
     * @param cmdline kernel command line words ({@code iommu.passthrough=0|1},
     *     {@code iommu.strict=0|1}); null or empty for defaults
     */
    public Iommu(org.iommu4j.mm.PageAlloc pageAlloc, PasidSource pasidSource, String cmdline) {
        this.pasidSource = pasidSource;
        if (cmdline != null) {
            for (String w : cmdline.trim().split("\\s+")) {
                if (w.startsWith("iommu.passthrough=")) {
                    iommu_set_def_domain_type(w.substring(18));
                } else if (w.startsWith("iommu.strict=")) {
                    iommu_dma_setup(w.substring(13));
                }
            }
        }
        iommu_subsys_init();
        this.dmaIommu = pageAlloc != null ? new DmaIommu(this, pageAlloc) : null;
    }

    /**
     * A world whose seed 003 PASIDs come from {@code ioasid} (the kernel's
     * {@code iommu_dma_pasid}: here IDs of no set, i.e. {@code ioasid_alloc(NULL, ...)}).
     */
    public Iommu(org.iommu4j.mm.PageAlloc pageAlloc, org.iommu4j.ioasid.Ioasid ioasid, String cmdline) {
        this(pageAlloc, ioasid == null ? null : pasidSourceFrom(ioasid), cmdline);
    }

    /** Adapts an ioasid world to {@link PasidSource} (null set, v5.11 semantics). */
    public static PasidSource pasidSourceFrom(org.iommu4j.ioasid.Ioasid ioasid) {
        return new PasidSource() {
            @Override
            public int alloc(int min, int max, Object priv) {
                return ioasid.ioasid_alloc(null, min, max, priv);
            }

            @Override
            public void free(int pasid) {
                ioasid.ioasid_free(null, pasid);
            }
        };
    }

    /** dma-iommu of this world (null without a page allocator). */
    public DmaIommu dma() {
        return dmaIommu;
    }

    // ---------------------------------------------------------------------------------------
    // Command line and defaults
    // ---------------------------------------------------------------------------------------

    @Port("drivers/iommu/iommu.c:iommu_set_def_domain_type")
    private void iommu_set_def_domain_type(String str) {
        boolean pt = str.equals("1") || str.equalsIgnoreCase("y") || str.equalsIgnoreCase("on");
        iommuDefDomainType = pt ? IOMMU_DOMAIN_IDENTITY : IOMMU_DOMAIN_DMA;
        iommuCmdLine |= IOMMU_CMD_LINE_DMA_API;
    }

    @Port("drivers/iommu/iommu.c:iommu_dma_setup")
    private void iommu_dma_setup(String str) {
        iommuDmaStrict = str.equals("1") || str.equalsIgnoreCase("y") || str.equalsIgnoreCase("on");
        iommuCmdLine |= IOMMU_CMD_LINE_STRICT;
    }

    @Port("drivers/iommu/iommu.c:iommu_subsys_init")
    private void iommu_subsys_init() {
        if (!iommu_default_passthrough() && !iommuDmaStrict) {
            iommuDefDomainType = IOMMU_DOMAIN_DMA_FQ;
        }
        Printk.pr_info("iommu: Default domain type: %s %s", iommu_domain_type_str(iommuDefDomainType),
                (iommuCmdLine & IOMMU_CMD_LINE_DMA_API) != 0 ? "(set via kernel command line)" : "");
        if (!iommu_default_passthrough()) {
            Printk.pr_info("iommu: DMA domain TLB invalidation policy: %s mode %s", iommuDmaStrict ? "strict" : "lazy",
                    (iommuCmdLine & IOMMU_CMD_LINE_STRICT) != 0 ? "(set via kernel command line)" : "");
        }
    }

    @Port("drivers/iommu/iommu.c:iommu_default_passthrough")
    public boolean iommu_default_passthrough() {
        return iommuDefDomainType == IOMMU_DOMAIN_IDENTITY;
    }

    @Port("drivers/iommu/iommu.c:iommu_set_default_passthrough")
    public void iommu_set_default_passthrough(boolean cmdLine) {
        if (cmdLine) {
            iommuCmdLine |= IOMMU_CMD_LINE_DMA_API;
        }
        iommuDefDomainType = IOMMU_DOMAIN_IDENTITY;
    }

    @Port("drivers/iommu/iommu.c:iommu_set_default_translated")
    public void iommu_set_default_translated(boolean cmdLine) {
        if (cmdLine) {
            iommuCmdLine |= IOMMU_CMD_LINE_DMA_API;
        }
        // DMA_FQ is chosen once, by iommu_subsys_init, from iommu.strict.
        iommuDefDomainType = IOMMU_DOMAIN_DMA;
    }

    @Port("drivers/iommu/iommu.c:iommu_set_dma_strict")
    public void iommu_set_dma_strict() {
        iommuDmaStrict = true;
        if (iommuDefDomainType == IOMMU_DOMAIN_DMA_FQ) {
            iommuDefDomainType = IOMMU_DOMAIN_DMA;
        }
    }

    /** {@code iommu_dma_strict}. */
    public boolean iommu_dma_strict() {
        return iommuDmaStrict;
    }

    /** {@code iommu_def_domain_type}. */
    public int iommu_def_domain_type() {
        return iommuDefDomainType;
    }

    // ---------------------------------------------------------------------------------------
    // IOMMU devices
    // ---------------------------------------------------------------------------------------

    /** Registers an IOMMU instance with the core. The fwnode is the hardware device's fwnode (or DT node). */
    @Port("drivers/iommu/iommu.c:iommu_device_register")
    public int iommu_device_register(IommuDevice iommu, IommuOps ops, Device hwdev) {
        iommu.ops = ops;
        if (hwdev != null) {
            iommu.fwnode = hwdev.fwnode != null ? hwdev.fwnode : hwdev.ofNode;
            iommu.dev = hwdev;
        }
        iommuDeviceLock.lock();
        try {
            iommuDeviceList.add(iommu);
        } finally {
            iommuDeviceLock.unlock();
        }
        return 0;
    }

    @Port("drivers/iommu/iommu.c:iommu_device_unregister")
    public void iommu_device_unregister(IommuDevice iommu) {
        iommuDeviceLock.lock();
        try {
            iommuDeviceList.remove(iommu);
        } finally {
            iommuDeviceLock.unlock();
        }
    }

    /** The ops of the IOMMU registered for {@code fwnode}, or null. */
    @Port("drivers/iommu/iommu.c:iommu_ops_from_fwnode")
    public IommuOps iommu_ops_from_fwnode(Object fwnode) {
        for (IommuDevice iommu : iommuDeviceList) {
            if (iommu.fwnode == fwnode) {
                return iommu.ops;
            }
        }
        return null;
    }

    /** Snapshot of the registered IOMMUs. */
    public List<IommuDevice> iommu_devices() {
        return List.copyOf(iommuDeviceList);
    }

    // ---------------------------------------------------------------------------------------
    // dev_iommu, fwspec
    // ---------------------------------------------------------------------------------------

    @Port("drivers/iommu/iommu.c:dev_iommu_get")
    static DevIommu dev_iommu_get(Device dev) {
        DevIommu param = DevIommu.dev_iommu(dev);
        if (param != null) {
            return param;
        }
        param = Slab.kzalloc(DevIommu::new, GFP_KERNEL);
        if (param == null) {
            return null;
        }
        dev.iommu = param;
        return param;
    }

    @Port("drivers/iommu/iommu.c:dev_iommu_free")
    static void dev_iommu_free(Device dev) {
        iommu_fwspec_free(dev);
        dev.iommu = null;
    }

    /** Initialises {@code dev}'s fwspec for the IOMMU at {@code iommuFwnode}. 0, -EINVAL (other ops), -ENOMEM. */
    @Port("drivers/iommu/iommu.c:iommu_fwspec_init")
    public static int iommu_fwspec_init(Device dev, Object iommuFwnode, IommuOps ops) {
        IommuFwspec fwspec = DevIommu.dev_iommu_fwspec_get(dev);
        if (fwspec != null) {
            return ops == fwspec.ops ? 0 : -EINVAL;
        }
        if (dev_iommu_get(dev) == null) {
            return -ENOMEM;
        }
        // Room for one ID up front; most devices have exactly one.
        fwspec = Slab.kzalloc(IommuFwspec::new, GFP_KERNEL);
        if (fwspec == null) {
            return -ENOMEM;
        }
        fwspec.ids = new int[1];
        fwspec.iommuFwnode = iommuFwnode;
        fwspec.ops = ops;
        DevIommu.dev_iommu_fwspec_set(dev, fwspec);
        return 0;
    }

    @Port("drivers/iommu/iommu.c:iommu_fwspec_free")
    public static void iommu_fwspec_free(Device dev) {
        IommuFwspec fwspec = DevIommu.dev_iommu_fwspec_get(dev);
        if (fwspec != null) {
            DevIommu.dev_iommu_fwspec_set(dev, null);
        }
    }

    /** Appends IDs (StreamIDs) to the fwspec. 0, -EINVAL (no fwspec), -ENOMEM. */
    @Port("drivers/iommu/iommu.c:iommu_fwspec_add_ids")
    public static int iommu_fwspec_add_ids(Device dev, int[] ids, int numIds) {
        IommuFwspec fwspec = DevIommu.dev_iommu_fwspec_get(dev);
        if (fwspec == null) {
            return -EINVAL;
        }
        int newNum = fwspec.numIds + numIds;
        if (newNum > 1 && newNum > fwspec.ids.length) {
            // krealloc
            if (Slab.kmalloc_should_fail(GFP_KERNEL)) {
                return -ENOMEM;
            }
            fwspec.ids = java.util.Arrays.copyOf(fwspec.ids, newNum);
        }
        for (int i = 0; i < numIds; i++) {
            fwspec.ids[fwspec.numIds + i] = ids[i];
        }
        fwspec.numIds = newNum;
        return 0;
    }

    @Port("include/linux/iommu.h:dev_iommu_fwspec_get")
    public static IommuFwspec dev_iommu_fwspec_get(Device dev) {
        return DevIommu.dev_iommu_fwspec_get(dev);
    }

    // ---------------------------------------------------------------------------------------
    // Probe / release
    // ---------------------------------------------------------------------------------------

    private static IommuOps bus_ops(Device dev) {
        return dev.bus == null ? null : (IommuOps) dev.bus.iommuOps;
    }

    @Port("drivers/iommu/iommu.c:__iommu_probe_device")
    private int __iommu_probe_device(Device dev, List<IommuGroup> groupList) {
        IommuOps ops = bus_ops(dev);
        if (ops == null) {
            return -ENODEV;
        }
        if (dev_iommu_get(dev) == null) {
            return -ENOMEM;
        }
        IommuDevice iommuDev;
        try {
            iommuDev = ops.probe_device(dev);
        } catch (ErrnoException e) {
            dev_iommu_free(dev);
            return e.err();
        }
        DevIommu.dev_iommu(dev).iommuDev = iommuDev;

        IommuGroup group;
        try {
            group = iommu_group_get_for_dev(dev);
        } catch (ErrnoException e) {
            ops.release_device(dev);
            dev_iommu_free(dev);
            return e.err();
        }
        iommu_group_put(group);

        if (groupList != null && group.defaultDomain == null && !group.onList) {
            group.onList = true;
            groupList.add(group);
        }
        return 0;
    }

    /**
     * Probes {@code dev} with its bus's IOMMU: driver probe_device, group, default domain,
     * attach, probe_finalize; also sets up dma-iommu when the default domain is a DMA domain
     * (arm64's arch_setup_dma_ops -> iommu_setup_dma_ops). 0 or -errno (-ENODEV: no IOMMU).
     */
    @Port("drivers/iommu/iommu.c:iommu_probe_device")
    public int iommu_probe_device(Device dev) {
        IommuOps ops = bus_ops(dev);
        int ret = __iommu_probe_device(dev, null);
        if (ret != 0) {
            return ret;
        }
        IommuGroup group = iommu_group_get(dev);
        if (group == null) {
            iommu_release_device(dev);
            return -ENODEV;
        }
        // Ignored on failure: a driver may offer no default domain, and the device then has none.
        group.mutex.lock();
        try {
            iommu_alloc_default_domain(group, dev);
            if (group.defaultDomain != null) {
                ret = __iommu_attach_device(group.defaultDomain, dev);
                if (ret != 0) {
                    group.mutex.unlock();
                    iommu_group_put(group);
                    iommu_release_device(dev);
                    return ret;
                }
            }
            iommu_create_device_direct_mappings(group, dev);
        } finally {
            if (group.mutex.isHeldByCurrentThread()) {
                group.mutex.unlock();
            }
        }
        iommu_group_put(group);
        if (ops.has_probe_finalize()) {
            ops.probe_finalize(dev);
        }
        arch_setup_dma_ops(dev);
        return 0;
    }

    /**
     * arm64's arch_setup_dma_ops with of_dma_configure's arguments: records whether the device
     * snoops caches and, when it is behind an IOMMU, sets up dma-iommu over
     * [dmaBase, dmaBase + size - 1].
     */
    @Port("arch/arm64/mm/dma-mapping.c:arch_setup_dma_ops")
    public void arch_setup_dma_ops(Device dev, long dmaBase, long size, IommuOps iommu, boolean coherent) {
        dev.dmaCoherent = coherent;
        if (iommu != null && dmaIommu != null) {
            dmaIommu.iommu_setup_dma_ops(dev, dmaBase, dmaBase + size - 1);
        }
    }

    /** arm64 arch_setup_dma_ops: install dma-iommu when the device sits in a DMA domain. */
    @Port("arch/arm64/mm/dma-mapping.c:arch_setup_dma_ops")
    private void arch_setup_dma_ops(Device dev) {
        if (dmaIommu != null) {
            dmaIommu.iommu_setup_dma_ops(dev, 0, -1L);
        }
    }

    @Port("drivers/iommu/iommu.c:iommu_release_device")
    public void iommu_release_device(Device dev) {
        DevIommu param = DevIommu.dev_iommu(dev);
        if (param == null) {
            return;
        }
        IommuOps ops = bus_ops(dev);
        if (ops != null) {
            ops.release_device(dev);
        }
        iommu_group_remove_device(dev);
        if (dev.dmaOps == dmaIommu && dmaIommu != null) {
            dev.dmaOps = null;
        }
        dev_iommu_free(dev);
    }

    @Port("drivers/iommu/iommu.c:iommu_create_device_direct_mappings")
    private int iommu_create_device_direct_mappings(IommuGroup group, Device dev) {
        IommuDomain domain = group.defaultDomain;
        if (domain == null || !iommu_is_dma_domain(domain)) {
            return 0;
        }
        List<IommuResvRegion> mappings = new ArrayList<>();
        iommu_get_resv_regions(dev, mappings);
        int ret = 0;
        long pgSize = 1L << __ffs(domain.pgsizeBitmap);
        // Regions of different devices may overlap: pages already mapped are skipped, and each
        // run of unmapped pages is mapped with one iommu_map (so block mappings can be used).
        outer:
        for (IommuResvRegion entry : mappings) {
            // ALIGN() rounds both ends up: an unaligned head page is left out.
            long start = (entry.start + pgSize - 1) & ~(pgSize - 1);
            long end = (entry.start + entry.length + pgSize - 1) & ~(pgSize - 1);
            if (entry.type != IOMMU_RESV_DIRECT && entry.type != IOMMU_RESV_DIRECT_RELAXABLE) {
                continue;
            }
            long mapSize = 0;
            for (long addr = start; Long.compareUnsigned(addr, end) <= 0; addr += pgSize) {
                if (addr != end && iommu_iova_to_phys(domain, addr) == 0) {
                    mapSize += pgSize;
                    continue;
                }
                // map_end: a mapped page or the end closes the run.
                if (mapSize != 0) {
                    ret = iommu_map(domain, addr - mapSize, addr - mapSize, mapSize, entry.prot);
                    if (ret != 0) {
                        break outer;
                    }
                    mapSize = 0;
                }
            }
        }
        if (ret == 0) {
            iommu_flush_iotlb_all(domain);
        }
        iommu_put_resv_regions(dev, mappings);
        return ret;
    }

    @Port("drivers/iommu/iommu.c:iommu_get_resv_regions")
    public void iommu_get_resv_regions(Device dev, List<IommuResvRegion> list) {
        IommuOps ops = bus_ops(dev);
        if (ops != null && ops.has_get_resv_regions()) {
            ops.get_resv_regions(dev, list);
        }
    }

    @Port("drivers/iommu/iommu.c:iommu_put_resv_regions")
    public void iommu_put_resv_regions(Device dev, List<IommuResvRegion> list) {
        IommuOps ops = bus_ops(dev);
        if (ops != null && ops.has_put_resv_regions()) {
            ops.put_resv_regions(dev, list);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Groups
    // ---------------------------------------------------------------------------------------

    /** Allocates a new group (ID from the IDA); throws ErrnoException(-ENOMEM). */
    @Port("drivers/iommu/iommu.c:iommu_group_alloc")
    public IommuGroup iommu_group_alloc() {
        if (Slab.kmalloc_should_fail(GFP_KERNEL)) {
            throw new ErrnoException(-ENOMEM);
        }
        int id;
        synchronized (iommuGroupIda) {
            id = iommuGroupIda.nextClearBit(0);
            iommuGroupIda.set(id);
        }
        return new IommuGroup(this, id);
    }

    @Port("drivers/iommu/iommu.c:iommu_group_release")
    private void iommu_group_release(IommuGroup group) {
        Printk.pr_debug("Releasing group %d", group.id);
        if (group.iommuDataRelease != null) {
            group.iommuDataRelease.run();
        }
        synchronized (iommuGroupIda) {
            iommuGroupIda.clear(group.id);
        }
        if (group.defaultDomain != null) {
            iommu_domain_free(group.defaultDomain);
        }
    }

    /** The group of {@code dev} with a new reference, or null. */
    @Port("drivers/iommu/iommu.c:iommu_group_get")
    public static IommuGroup iommu_group_get(Device dev) {
        IommuGroup group = (IommuGroup) dev.iommuGroup;
        if (group != null) {
            group.kref.kref_get();
        }
        return group;
    }

    @Port("drivers/iommu/iommu.c:iommu_group_ref_get")
    public static IommuGroup iommu_group_ref_get(IommuGroup group) {
        group.kref.kref_get();
        return group;
    }

    @Port("drivers/iommu/iommu.c:iommu_group_put")
    public static void iommu_group_put(IommuGroup group) {
        if (group != null) {
            group.kref.kref_put(() -> group.core.iommu_group_release(group));
        }
    }

    @Port("drivers/iommu/iommu.c:iommu_group_get_iommudata")
    public static Object iommu_group_get_iommudata(IommuGroup group) {
        return group.iommuData;
    }

    @Port("drivers/iommu/iommu.c:iommu_group_set_iommudata")
    public static void iommu_group_set_iommudata(IommuGroup group, Object data, Runnable release) {
        group.iommuData = data;
        group.iommuDataRelease = release;
    }

    @Port("drivers/iommu/iommu.c:iommu_group_set_name")
    public static int iommu_group_set_name(IommuGroup group, String name) {
        group.name = name;
        return 0;
    }

    /** Adds {@code dev} to {@code group} (the device holds a group reference). 0 or -errno. */
    @Port("drivers/iommu/iommu.c:iommu_group_add_device")
    public int iommu_group_add_device(IommuGroup group, Device dev) {
        if (Slab.kmalloc_should_fail(GFP_KERNEL)) {
            return -ENOMEM;
        }
        IommuGroup.GroupDevice device = new IommuGroup.GroupDevice(dev, dev.dev_name());
        group.kref.kref_get();
        dev.iommuGroup = group;
        int ret = 0;
        group.mutex.lock();
        try {
            group.devices.add(device);
            if (group.domain != null && !iommu_is_attach_deferred(group.domain, dev)) {
                ret = __iommu_attach_device(group.domain, dev);
            }
            if (ret != 0) {
                group.devices.remove(device);
            }
        } finally {
            group.mutex.unlock();
        }
        if (ret != 0) {
            dev.iommuGroup = null;
            iommu_group_put(group);
            DevPrintk.dev_err(dev, "Failed to add to iommu group %d: %d", group.id, ret);
            return ret;
        }
        // Group listeners (vfio) learn of the new member.
        group.notifier.blocking_notifier_call_chain(IOMMU_GROUP_NOTIFY_ADD_DEVICE, dev);
        if (IommuTrace.add_device_to_group.enabled()) {
            IommuTrace.add_device_to_group.emit(group.id, dev.dev_name());
        }
        DevPrintk.dev_info(dev, "Adding to iommu group %d", group.id);
        return 0;
    }

    @Port("drivers/iommu/iommu.c:iommu_group_remove_device")
    public void iommu_group_remove_device(Device dev) {
        IommuGroup group = (IommuGroup) dev.iommuGroup;
        if (group == null) {
            return;
        }
        DevPrintk.dev_info(dev, "Removing from iommu group %d", group.id);
        group.notifier.blocking_notifier_call_chain(IOMMU_GROUP_NOTIFY_DEL_DEVICE, dev);
        IommuGroup.GroupDevice device = null;
        group.mutex.lock();
        try {
            for (IommuGroup.GroupDevice d : group.devices) {
                if (d.dev == dev) {
                    device = d;
                    group.devices.remove(d);
                    if (IommuTrace.remove_device_from_group.enabled()) {
                        IommuTrace.remove_device_from_group.emit(group.id, dev.dev_name());
                    }
                    break;
                }
            }
        } finally {
            group.mutex.unlock();
        }
        if (device == null) {
            return;
        }
        dev.iommuGroup = null;
        iommu_group_put(group);
    }

    @Port("drivers/iommu/iommu.c:iommu_group_device_count")
    static int iommu_group_device_count(IommuGroup group) {
        return group.devices.size();
    }

    /** Calls {@code fn} for each device of the group under the group mutex; stops at the first non-zero return. */
    @Port("drivers/iommu/iommu.c:iommu_group_for_each_dev")
    public static int iommu_group_for_each_dev(IommuGroup group, Object data, java.util.function.ToIntBiFunction<Device, Object> fn) {
        group.mutex.lock();
        try {
            return __iommu_group_for_each_dev(group, data, fn);
        } finally {
            group.mutex.unlock();
        }
    }

    @Port("drivers/iommu/iommu.c:__iommu_group_for_each_dev")
    private static int __iommu_group_for_each_dev(IommuGroup group, Object data, java.util.function.ToIntBiFunction<Device, Object> fn) {
        int ret = 0;
        for (IommuGroup.GroupDevice d : group.devices) {
            ret = fn.applyAsInt(d.dev, data);
            if (ret != 0) {
                break;
            }
        }
        return ret;
    }

    @Port("drivers/iommu/iommu.c:iommu_group_register_notifier")
    public static int iommu_group_register_notifier(IommuGroup group, NotifierBlock nb) {
        return group.notifier.blocking_notifier_chain_register(nb);
    }

    @Port("drivers/iommu/iommu.c:iommu_group_unregister_notifier")
    public static int iommu_group_unregister_notifier(IommuGroup group, NotifierBlock nb) {
        return group.notifier.blocking_notifier_chain_unregister(nb);
    }

    /** A new group per device ({@code generic_device_group}); throws ErrnoException. */
    @Port("drivers/iommu/iommu.c:generic_device_group")
    public IommuGroup generic_device_group(Device dev) {
        return iommu_group_alloc();
    }

    /**
     * {@code pci_device_group}. The simulated PCI topology has no DMA aliases and full ACS, so
     * every function gets its own group, as generic_device_group does.
     */
    @Port("drivers/iommu/iommu.c:pci_device_group")
    public IommuGroup pci_device_group(Device dev) {
        return iommu_group_alloc();
    }

    @Port("drivers/iommu/iommu.c:iommu_group_get_for_dev")
    private IommuGroup iommu_group_get_for_dev(Device dev) {
        IommuOps ops = bus_ops(dev);
        IommuGroup group = iommu_group_get(dev);
        if (group != null) {
            return group;
        }
        if (ops == null) {
            throw new ErrnoException(-EINVAL);
        }
        group = ops.device_group(dev);
        if (Warn.WARN_ON_ONCE(group == null)) {
            throw new ErrnoException(-EINVAL);
        }
        int ret = iommu_group_add_device(group, dev);
        if (ret != 0) {
            iommu_group_put(group);
            throw new ErrnoException(ret);
        }
        return group;
    }

    /** The group's default domain (no reference; the kernel's iommu_group_default_domain). */
    @Port("drivers/iommu/iommu.c:iommu_group_default_domain")
    public static IommuDomain iommu_group_default_domain(IommuGroup group) {
        return group.defaultDomain;
    }

    // ---------------------------------------------------------------------------------------
    // Default domains
    // ---------------------------------------------------------------------------------------

    @Port("drivers/iommu/iommu.c:iommu_get_def_domain_type")
    private static int iommu_get_def_domain_type(Device dev) {
        IommuOps ops = bus_ops(dev);
        // An external-facing PCI device is always isolated: a (strict) DMA domain, whatever the
        // command line or the driver prefers.
        if (DmaIommu.dev_is_pci(dev) && dev instanceof org.iommu4j.pci.PciDev pdev && pdev.untrusted) {
            return IOMMU_DOMAIN_DMA;
        }
        return ops != null && ops.has_def_domain_type() ? ops.def_domain_type(dev) : 0;
    }

    @Port("drivers/iommu/iommu.c:iommu_group_alloc_default_domain")
    private int iommu_group_alloc_default_domain(BusType bus, IommuGroup group, int type) {
        IommuDomain dom = __iommu_domain_alloc(bus, type);
        if (dom == null && type != IOMMU_DOMAIN_DMA) {
            dom = __iommu_domain_alloc(bus, IOMMU_DOMAIN_DMA);
            if (dom != null) {
                Printk.pr_warn("Failed to allocate default IOMMU domain of type %d for group %s - Falling back to IOMMU_DOMAIN_DMA",
                        type, group.name);
            }
        }
        if (dom == null) {
            return -ENOMEM;
        }
        group.defaultDomain = dom;
        if (group.domain == null) {
            group.domain = dom;
        }
        return 0;
    }

    @Port("drivers/iommu/iommu.c:iommu_alloc_default_domain")
    private int iommu_alloc_default_domain(IommuGroup group, Device dev) {
        if (group.defaultDomain != null) {
            return 0;
        }
        int type = iommu_get_def_domain_type(dev);
        if (type == 0) {
            type = iommuDefDomainType;
        }
        return iommu_group_alloc_default_domain(dev.bus, group, type);
    }

    // ---------------------------------------------------------------------------------------
    // Bus setup
    // ---------------------------------------------------------------------------------------

    @Port("drivers/iommu/iommu.c:iommu_bus_notifier")
    private int iommu_bus_notifier(long action, Object data) {
        Device dev = (Device) data;
        if (action == BusType.BUS_NOTIFY_ADD_DEVICE) {
            int ret = iommu_probe_device(dev);
            return ret != 0 ? Notifier.NOTIFY_DONE : Notifier.NOTIFY_OK;
        } else if (action == BusType.BUS_NOTIFY_REMOVED_DEVICE) {
            iommu_release_device(dev);
            return Notifier.NOTIFY_OK;
        }
        // Other bus events: forwarded, as group events, to the device's group if it has one.
        IommuGroup group = iommu_group_get(dev);
        if (group == null) {
            return 0;
        }
        long groupAction = 0;
        if (action == BusType.BUS_NOTIFY_BIND_DRIVER) {
            groupAction = IOMMU_GROUP_NOTIFY_BIND_DRIVER;
        } else if (action == BusType.BUS_NOTIFY_BOUND_DRIVER) {
            groupAction = IOMMU_GROUP_NOTIFY_BOUND_DRIVER;
        } else if (action == BusType.BUS_NOTIFY_UNBIND_DRIVER) {
            groupAction = IOMMU_GROUP_NOTIFY_UNBIND_DRIVER;
        } else if (action == BusType.BUS_NOTIFY_UNBOUND_DRIVER) {
            groupAction = IOMMU_GROUP_NOTIFY_UNBOUND_DRIVER;
        }
        if (groupAction != 0) {
            group.notifier.blocking_notifier_call_chain(groupAction, dev);
        }
        iommu_group_put(group);
        return 0;
    }

    @Port("drivers/iommu/iommu.c:probe_iommu_group")
    private int probe_iommu_group(Device dev, List<IommuGroup> groupList) {
        // A device with a group has been probed before: skip it.
        IommuGroup group = iommu_group_get(dev);
        if (group != null) {
            iommu_group_put(group);
            return 0;
        }
        int ret = __iommu_probe_device(dev, groupList);
        if (ret == -ENODEV) {
            ret = 0;
        }
        return ret;
    }

    @Port("drivers/iommu/iommu.c:probe_alloc_default_domain")
    private void probe_alloc_default_domain(BusType bus, IommuGroup group) {
        int type = 0;
        Device first = null;
        for (IommuGroup.GroupDevice d : group.devices) {
            // probe_get_default_domain_type
            int t = iommu_get_def_domain_type(d.dev);
            if (t != 0) {
                if (type != 0 && type != t) {
                    DevPrintk.dev_warn(d.dev, "Device needs domain type %s, but device %s in the same iommu group requires type %s - using default",
                            iommu_domain_type_str(t), first.dev_name(), iommu_domain_type_str(type));
                    type = 0;
                }
                if (first == null) {
                    first = d.dev;
                    type = t;
                }
            }
        }
        if (type == 0) {
            type = iommuDefDomainType;
        }
        iommu_group_alloc_default_domain(bus, group, type);
    }

    @Port("drivers/iommu/iommu.c:bus_iommu_probe")
    int bus_iommu_probe(BusType bus) {
        List<IommuGroup> groupList = new ArrayList<>();
        int ret = 0;
        for (Device dev : bus.devices()) {
            ret = probe_iommu_group(dev, groupList);
            if (ret != 0) {
                return ret;
            }
        }
        // Default domains are allocated once all devices of each new group are known.
        for (IommuGroup group : groupList) {
            group.onList = false;
            List<Device> devs;
            group.mutex.lock();
            try {
                probe_alloc_default_domain(bus, group);
                if (group.defaultDomain == null) {
                    continue;
                }
                for (IommuGroup.GroupDevice d : group.devices) {
                    iommu_create_device_direct_mappings(group, d.dev);
                }
                ret = __iommu_group_for_each_dev(group, group.defaultDomain, (dev, data) -> {
                    IommuDomain domain = (IommuDomain) data;
                    return iommu_is_attach_deferred(domain, dev) ? 0 : __iommu_attach_device(domain, dev);
                });
                devs = new ArrayList<>();
                for (IommuGroup.GroupDevice d : group.devices) {
                    devs.add(d.dev);
                }
            } finally {
                group.mutex.unlock();
            }
            if (ret != 0) {
                break;
            }
            // __iommu_group_dma_finalize
            for (Device dev : devs) {
                IommuOps ops = bus_ops(dev);
                if (ops.has_probe_finalize()) {
                    ops.probe_finalize(dev);
                }
                arch_setup_dma_ops(dev);
            }
        }
        return ret;
    }

    @Port("drivers/iommu/iommu.c:iommu_bus_init")
    private int iommu_bus_init(BusType bus, IommuOps ops) {
        if (Slab.kmalloc_should_fail(GFP_KERNEL)) {
            return -ENOMEM;
        }
        NotifierBlock nb = (action, data) -> iommu_bus_notifier(action, data);
        int err = bus.busNotifier.blocking_notifier_chain_register(nb);
        if (err != 0) {
            return err;
        }
        err = bus_iommu_probe(bus);
        if (err != 0) {
            // Clean up: remove_iommu_group on every device.
            for (Device dev : bus.devices()) {
                iommu_release_device(dev);
            }
            bus.busNotifier.blocking_notifier_chain_unregister(nb);
            return err;
        }
        synchronized (busNotifiers) {
            busNotifiers.put(bus, nb);
        }
        return 0;
    }

    /**
     * Sets the IOMMU driver of a bus and probes its existing devices. 0, -EBUSY (already set),
     * -ENOMEM, probe error. {@code ops == null} clears (and unhooks the bus notifier).
     */
    @Port("drivers/iommu/iommu.c:bus_set_iommu")
    public int bus_set_iommu(BusType bus, IommuOps ops) {
        if (ops == null) {
            bus.iommuOps = null;
            NotifierBlock nb;
            synchronized (busNotifiers) {
                nb = busNotifiers.remove(bus);
            }
            if (nb != null) {
                bus.busNotifier.blocking_notifier_chain_unregister(nb);
            }
            return 0;
        }
        if (bus.iommuOps != null) {
            return -EBUSY;
        }
        bus.iommuOps = ops;
        int err = iommu_bus_init(bus, ops);
        if (err != 0) {
            bus.iommuOps = null;
        }
        return err;
    }

    @Port("drivers/iommu/iommu.c:iommu_present")
    public static boolean iommu_present(BusType bus) {
        return bus.iommuOps != null;
    }

    @Port("drivers/iommu/iommu.c:iommu_capable")
    public static boolean iommu_capable(BusType bus, int cap) {
        IommuOps ops = (IommuOps) bus.iommuOps;
        if (ops == null || !ops.has_capable()) {
            return false;
        }
        return ops.capable(cap);
    }

    // ---------------------------------------------------------------------------------------
    // Domains
    // ---------------------------------------------------------------------------------------

    @Port("include/linux/iommu.h:iommu_is_dma_domain")
    public static boolean iommu_is_dma_domain(IommuDomain domain) {
        return (domain.type & __IOMMU_DOMAIN_DMA_API) != 0;
    }

    @Port("drivers/iommu/iommu.c:iommu_set_fault_handler")
    public static void iommu_set_fault_handler(IommuDomain domain, IommuDomain.FaultHandler handler, Object token) {
        if (domain == null) {
            return;
        }
        domain.handler = handler;
        domain.handlerToken = token;
    }

    @Port("drivers/iommu/iommu.c:__iommu_domain_alloc")
    private IommuDomain __iommu_domain_alloc(BusType bus, int type) {
        if (bus == null || bus.iommuOps == null) {
            return null;
        }
        IommuOps ops = (IommuOps) bus.iommuOps;
        // The driver sees the type as asked (v5.15 drivers accept DMA_FQ themselves).
        IommuDomain domain = ops.domain_alloc(type);
        if (domain == null) {
            return null;
        }
        domain.ops = ops;
        domain.type = type;
        // Start from every size the ops offer; the driver may narrow it per domain later.
        domain.pgsizeBitmap = ops.pgsize_bitmap();
        // Core-side DMA cookie only if the driver did not make one (a second would be -EEXIST).
        if (iommu_is_dma_domain(domain) && domain.iovaCookie == null && DmaIommu.iommu_get_dma_cookie(domain) != 0) {
            iommu_domain_free(domain);
            domain = null;
        }
        return domain;
    }

    /** An UNMANAGED domain for {@code bus}'s IOMMU, or null. */
    @Port("drivers/iommu/iommu.c:iommu_domain_alloc")
    public IommuDomain iommu_domain_alloc(BusType bus) {
        return __iommu_domain_alloc(bus, IOMMU_DOMAIN_UNMANAGED);
    }

    /** Domain of an explicit type (seed / test helper; the kernel reaches it via default domains). */
    public IommuDomain iommu_domain_alloc_type(BusType bus, int type) {
        return __iommu_domain_alloc(bus, type);
    }

    @Port("drivers/iommu/iommu.c:iommu_domain_free")
    public void iommu_domain_free(IommuDomain domain) {
        DmaIommu.iommu_put_dma_cookie(domain);
        synchronized (auxDevice) {
            auxDevice.remove(domain);
        }
        domain.ops.domain_free(domain);
    }

    // ---------------------------------------------------------------------------------------
    // Attach / detach
    // ---------------------------------------------------------------------------------------

    @Port("drivers/iommu/iommu.c:__iommu_attach_device")
    private static int __iommu_attach_device(IommuDomain domain, Device dev) {
        if (!domain.ops.has_attach_dev()) {
            return -ENODEV;
        }
        int ret = domain.ops.attach_dev(domain, dev);
        if (ret == 0 && IommuTrace.attach_device_to_domain.enabled()) {
            IommuTrace.attach_device_to_domain.emit(dev.dev_name());
        }
        return ret;
    }

    /**
     * Attaches the single device of its group to {@code domain}. 0, -ENODEV (no group / no
     * attach_dev), -EINVAL (group has != 1 device, or driver incompatibility), -EBUSY (group not
     * on its default domain).
     */
    @Port("drivers/iommu/iommu.c:iommu_attach_device")
    public int iommu_attach_device(IommuDomain domain, Device dev) {
        IommuGroup group = iommu_group_get(dev);
        if (group == null) {
            return -ENODEV;
        }
        // Group mutex: the single-device check below stays true during the attach.
        group.mutex.lock();
        int ret;
        try {
            ret = -EINVAL;
            if (iommu_group_device_count(group) == 1) {
                ret = __iommu_attach_group(domain, group);
            }
        } finally {
            group.mutex.unlock();
        }
        iommu_group_put(group);
        return ret;
    }

    @Port("drivers/iommu/iommu.c:iommu_is_attach_deferred")
    private static boolean iommu_is_attach_deferred(IommuDomain domain, Device dev) {
        return domain.ops.has_is_attach_deferred() && domain.ops.is_attach_deferred(domain, dev);
    }

    @Port("drivers/iommu/iommu.c:__iommu_detach_device")
    private static void __iommu_detach_device(IommuDomain domain, Device dev) {
        if (iommu_is_attach_deferred(domain, dev)) {
            return;
        }
        if (!domain.ops.has_detach_dev()) {
            return;
        }
        domain.ops.detach_dev(domain, dev);
        if (IommuTrace.detach_device_from_domain.enabled()) {
            IommuTrace.detach_device_from_domain.emit(dev.dev_name());
        }
    }

    /**
     * Detaches the single device of its group, re-attaching the default domain. WARNs if the
     * group has more than one device. As in v5.15, {@code domain} is not checked against the
     * group's current domain: whatever is attached is replaced by the default domain (a group
     * without one detaches its devices from {@code domain}).
     */
    @Port("drivers/iommu/iommu.c:iommu_detach_device")
    public void iommu_detach_device(IommuDomain domain, Device dev) {
        IommuGroup group = iommu_group_get(dev);
        if (group == null) {
            return;
        }
        group.mutex.lock();
        try {
            if (Warn.WARN_ON(iommu_group_device_count(group) != 1)) {
                return;
            }
            __iommu_detach_group(domain, group);
        } finally {
            group.mutex.unlock();
            iommu_group_put(group);
        }
    }

    /** The group's current domain, or null. */
    @Port("drivers/iommu/iommu.c:iommu_get_domain_for_dev")
    public static IommuDomain iommu_get_domain_for_dev(Device dev) {
        IommuGroup group = iommu_group_get(dev);
        if (group == null) {
            return null;
        }
        IommuDomain domain = group.domain;
        iommu_group_put(group);
        return domain;
    }

    /** The default domain of {@code dev}'s group (caller knows the group exists). */
    @Port("drivers/iommu/iommu.c:iommu_get_dma_domain")
    public static IommuDomain iommu_get_dma_domain(Device dev) {
        IommuGroup group = (IommuGroup) dev.iommuGroup;
        return group == null ? null : group.defaultDomain;
    }

    @Port("drivers/iommu/iommu.c:__iommu_attach_group")
    private static int __iommu_attach_group(IommuDomain domain, IommuGroup group) {
        if (group.defaultDomain != null && group.domain != group.defaultDomain) {
            return -EBUSY;
        }
        // iommu_group_do_attach_device: an explicit attach is never deferred.
        int ret = __iommu_group_for_each_dev(group, domain, (dev, data) -> __iommu_attach_device((IommuDomain) data, dev));
        if (ret == 0) {
            group.domain = domain;
        }
        return ret;
    }

    /** Attaches all devices of {@code group}. 0, -EBUSY, driver error. */
    @Port("drivers/iommu/iommu.c:iommu_attach_group")
    public static int iommu_attach_group(IommuDomain domain, IommuGroup group) {
        group.mutex.lock();
        try {
            return __iommu_attach_group(domain, group);
        } finally {
            group.mutex.unlock();
        }
    }

    @Port("drivers/iommu/iommu.c:__iommu_detach_group")
    private static void __iommu_detach_group(IommuDomain domain, IommuGroup group) {
        if (group.defaultDomain == null) {
            __iommu_group_for_each_dev(group, domain, (dev, data) -> {
                __iommu_detach_device((IommuDomain) data, dev);
                return 0;
            });
            group.domain = null;
            return;
        }
        if (group.domain == group.defaultDomain) {
            return;
        }
        // Detach by re-attaching to the default domain (iommu_group_do_attach_device, not deferred).
        int ret = __iommu_group_for_each_dev(group, group.defaultDomain, (dev, data) -> __iommu_attach_device((IommuDomain) data, dev));
        if (ret != 0) {
            Warn.WARN_ON(true);
        } else {
            group.domain = group.defaultDomain;
        }
    }

    @Port("drivers/iommu/iommu.c:iommu_detach_group")
    public static void iommu_detach_group(IommuDomain domain, IommuGroup group) {
        group.mutex.lock();
        try {
            __iommu_detach_group(domain, group);
        } finally {
            group.mutex.unlock();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Map / unmap
    // ---------------------------------------------------------------------------------------

    /** Translates {@code iova}: identity domains return it, blocked ones 0. */
    @Port("drivers/iommu/iommu.c:iommu_iova_to_phys")
    public static long iommu_iova_to_phys(IommuDomain domain, long iova) {
        if (domain.type == IOMMU_DOMAIN_IDENTITY) {
            return iova;
        }
        if (domain.type == IOMMU_DOMAIN_BLOCKED) {
            return 0;
        }
        return domain.ops.iova_to_phys(domain, iova);
    }

    /**
     * Picks the largest page size usable at {@code iova}/{@code paddr} for {@code size} bytes and,
     * through {@code count[0]} (may be null), how many such pages fit before a larger size
     * becomes usable.
     */
    @Port("drivers/iommu/iommu.c:iommu_pgsize")
    static long iommu_pgsize(IommuDomain domain, long iova, long paddr, long size, long[] count) {
        long addrMerge = paddr | iova;
        // Candidates: the domain's page sizes no larger than size.
        long pgsizes = domain.pgsizeBitmap & org.iommu4j.base.Bits.GENMASK(__fls(size), 0);
        // ... and no larger than the common alignment of iova and paddr.
        if (addrMerge != 0) {
            pgsizes &= org.iommu4j.base.Bits.GENMASK(__ffs(addrMerge), 0);
        }
        // Callers check alignment to the smallest page, so a candidate must remain (the kernel BUG_ONs).
        if (pgsizes == 0) {
            throw new AssertionError("iommu_pgsize: no page size fits iova " + Long.toHexString(iova));
        }
        // Use the largest candidate.
        int pgsizeIdx = __fls(pgsizes);
        long pgsize = 1L << pgsizeIdx;
        if (count == null) {
            return pgsize;
        }
        // The smallest supported size above it, if any, bounds how many pages to use.
        pgsizes = domain.pgsizeBitmap & ~org.iommu4j.base.Bits.GENMASK(pgsizeIdx, 0);
        if (pgsizes != 0) {
            int pgsizeIdxNext = __ffs(pgsizes);
            long pgsizeNext = 1L << pgsizeIdxNext;
            // That size only becomes usable if iova and paddr share their offset within it.
            if (((iova ^ paddr) & (pgsizeNext - 1)) == 0) {
                // Bytes until the addresses reach that size's alignment.
                long offset = pgsizeNext - (addrMerge & (pgsizeNext - 1));
                // Stop the small pages there when at least one larger page fits after them.
                if (Long.compareUnsigned(offset + pgsizeNext, size) <= 0) {
                    size = offset;
                }
            }
        }
        count[0] = size >>> pgsizeIdx;
        return pgsize;
    }

    // The kernel's pr_debug lines of the map/unmap loops are left out: building their varargs
    // would allocate on the hot path even with debug output off.

    @Port("drivers/iommu/iommu.c:__iommu_map_pages")
    private static int __iommu_map_pages(IommuDomain domain, long iova, long paddr, long size, int prot, int gfp, long[] mapped) {
        IommuOps ops = domain.ops;
        long[] count = new long[1];
        long pgsize = iommu_pgsize(domain, iova, paddr, size, count);
        int ret;
        if (ops.has_map_pages()) {
            ret = ops.map_pages(domain, iova, paddr, pgsize, count[0], prot, gfp, mapped);
        } else {
            ret = ops.map(domain, iova, paddr, pgsize, prot, gfp);
            mapped[0] = ret != 0 ? 0 : pgsize;
        }
        return ret;
    }

    @Port("drivers/iommu/iommu.c:__iommu_map")
    private static int __iommu_map(IommuDomain domain, long iova, long paddr, long size, int prot, int gfp) {
        IommuOps ops = domain.ops;
        long origIova = iova;
        long origSize = size;
        long origPaddr = paddr;
        int ret = 0;

        if (!(ops.has_map() || ops.has_map_pages()) || domain.pgsizeBitmap == 0) {
            return -ENODEV;
        }
        if ((domain.type & __IOMMU_DOMAIN_PAGING) == 0) {
            return -EINVAL;
        }
        // iova, paddr and size: all multiples of the minimum page size.
        long minPagesz = 1L << __ffs(domain.pgsizeBitmap);
        if (((iova | paddr | size) & (minPagesz - 1)) != 0) {
            Printk.pr_err("unaligned: iova 0x%x pa 0x%x size 0x%x min_pagesz 0x%x", iova, paddr, size, minPagesz);
            return -EINVAL;
        }
        long[] mapped = new long[1];
        while (size != 0) {
            mapped[0] = 0;
            ret = __iommu_map_pages(domain, iova, paddr, size, prot, gfp, mapped);
            // A failed call may still have mapped a prefix: count it so the unwind removes it.
            size -= mapped[0];
            if (ret != 0) {
                break;
            }
            iova += mapped[0];
            paddr += mapped[0];
        }
        // On failure, remove whatever part was mapped.
        if (ret != 0) {
            iommu_unmap(domain, origIova, origSize - size);
        } else if (IommuTrace.map.enabled()) {
            IommuTrace.map.emit(origIova, origPaddr, origSize);
        }
        return ret;
    }

    @Port("drivers/iommu/iommu.c:_iommu_map")
    private static int _iommu_map(IommuDomain domain, long iova, long paddr, long size, int prot, int gfp) {
        IommuOps ops = domain.ops;
        int ret = __iommu_map(domain, iova, paddr, size, prot, gfp);
        if (ret == 0 && ops.has_iotlb_sync_map()) {
            ops.iotlb_sync_map(domain, iova, size);
        }
        return ret;
    }

    /**
     * Maps [iova, iova+size) to paddr, split into the page sizes of the domain. Context: may
     * sleep. 0, -ENODEV (no map op or empty bitmap), -EINVAL (not a paging domain, misaligned),
     * driver/page-table errors (-EEXIST, -ENOMEM, -ERANGE) after unwinding.
     */
    @Port("drivers/iommu/iommu.c:iommu_map")
    public static int iommu_map(IommuDomain domain, long iova, long paddr, long size, int prot) {
        return _iommu_map(domain, iova, paddr, size, prot, GFP_KERNEL);
    }

    /** {@link #iommu_map} for atomic context (GFP_ATOMIC allocations). */
    @Port("drivers/iommu/iommu.c:iommu_map_atomic")
    public static int iommu_map_atomic(IommuDomain domain, long iova, long paddr, long size, int prot) {
        return _iommu_map(domain, iova, paddr, size, prot, GFP_ATOMIC);
    }

    @Port("drivers/iommu/iommu.c:__iommu_unmap_pages")
    private static long __iommu_unmap_pages(IommuDomain domain, long iova, long size, IommuIotlbGather gather) {
        IommuOps ops = domain.ops;
        long[] count = new long[1];
        long pgsize = iommu_pgsize(domain, iova, iova, size, count);
        return ops.has_unmap_pages() ? ops.unmap_pages(domain, iova, pgsize, count[0], gather)
                : ops.unmap(domain, iova, pgsize, gather);
    }

    @Port("drivers/iommu/iommu.c:__iommu_unmap")
    private static long __iommu_unmap(IommuDomain domain, long iova, long size, IommuIotlbGather gather) {
        IommuOps ops = domain.ops;
        long unmapped = 0;
        long origIova = iova;
        if (!(ops.has_unmap() || ops.has_unmap_pages()) || domain.pgsizeBitmap == 0) {
            return 0;
        }
        if ((domain.type & __IOMMU_DOMAIN_PAGING) == 0) {
            return 0;
        }
        long minPagesz = 1L << __ffs(domain.pgsizeBitmap);
        if (((iova | size) & (minPagesz - 1)) != 0) {
            Printk.pr_err("unaligned: iova 0x%x size 0x%x min_pagesz 0x%x", iova, size, minPagesz);
            return 0;
        }
        // Loop until size bytes are gone or an unmapped IOVA stops us.
        while (Long.compareUnsigned(unmapped, size) < 0) {
            long unmappedPage = __iommu_unmap_pages(domain, iova, size - unmapped, gather);
            if (unmappedPage == 0) {
                break;
            }
            iova += unmappedPage;
            unmapped += unmappedPage;
        }
        if (IommuTrace.unmap.enabled()) {
            IommuTrace.unmap.emit(origIova, size, unmapped);
        }
        return unmapped;
    }

    /** Unmaps up to {@code size} bytes (stops at the first hole) and syncs the IOTLB. Returns bytes unmapped. */
    @Port("drivers/iommu/iommu.c:iommu_unmap")
    public static long iommu_unmap(IommuDomain domain, long iova, long size) {
        IommuIotlbGather gather = new IommuIotlbGather();
        long ret = __iommu_unmap(domain, iova, size, gather);
        iommu_iotlb_sync(domain, gather);
        return ret;
    }

    /** Unmaps without syncing: invalidations gather in {@code gather} until iommu_iotlb_sync. */
    @Port("drivers/iommu/iommu.c:iommu_unmap_fast")
    public static long iommu_unmap_fast(IommuDomain domain, long iova, long size, IommuIotlbGather gather) {
        return __iommu_unmap(domain, iova, size, gather);
    }

    /** Maps a scatterlist contiguously at {@code iova}; returns bytes mapped or -errno. */
    @Port("drivers/iommu/iommu.c:__iommu_map_sg")
    private static long __iommu_map_sg(IommuDomain domain, long iova, Scatterlist[] sg, int nents, int prot, int gfp) {
        IommuOps ops = domain.ops;
        long len = 0;
        long mapped = 0;
        long start = 0;
        for (int i = 0; i <= nents; i++) {
            long sPhys = i < nents ? sg[i].sg_phys() : -1L;
            if (len != 0 && (i == nents || sPhys != start + len)) {
                int ret = __iommu_map(domain, iova + mapped, start, len, prot, gfp);
                if (ret != 0) {
                    // Failure: unmap what this call mapped so far.
                    iommu_unmap(domain, iova, mapped);
                    return ret;
                }
                mapped += len;
                len = 0;
            }
            if (i == nents) {
                break;
            }
            if (len != 0) {
                len += Integer.toUnsignedLong(sg[i].length);
            } else {
                len = Integer.toUnsignedLong(sg[i].length);
                start = sPhys;
            }
        }
        if (ops.has_iotlb_sync_map()) {
            ops.iotlb_sync_map(domain, iova, mapped);
        }
        return mapped;
    }

    @Port("drivers/iommu/iommu.c:iommu_map_sg")
    public static long iommu_map_sg(IommuDomain domain, long iova, Scatterlist[] sg, int nents, int prot) {
        return __iommu_map_sg(domain, iova, sg, nents, prot, GFP_KERNEL);
    }

    @Port("drivers/iommu/iommu.c:iommu_map_sg_atomic")
    public static long iommu_map_sg_atomic(IommuDomain domain, long iova, Scatterlist[] sg, int nents, int prot) {
        return __iommu_map_sg(domain, iova, sg, nents, prot, GFP_ATOMIC);
    }

    // ---- IOTLB ----

    @Port("include/linux/iommu.h:iommu_flush_iotlb_all")
    public static void iommu_flush_iotlb_all(IommuDomain domain) {
        if (domain.ops.has_flush_iotlb_all()) {
            domain.ops.flush_iotlb_all(domain);
        }
    }

    /** Flushes the gathered range ({@code iotlb_sync}) and resets the gather. */
    @Port("include/linux/iommu.h:iommu_iotlb_sync")
    public static void iommu_iotlb_sync(IommuDomain domain, IommuIotlbGather gather) {
        if (domain.ops.has_iotlb_sync()) {
            domain.ops.iotlb_sync(domain, gather);
        }
        gather.iommu_iotlb_gather_init();
    }

    /** True if [iova, iova+size) neither overlaps nor touches the gathered range. */
    @Port("include/linux/iommu.h:iommu_iotlb_gather_is_disjoint")
    public static boolean iommu_iotlb_gather_is_disjoint(IommuIotlbGather gather, long iova, long size) {
        long start = iova;
        long end = start + size - 1;
        return gather.end != 0 && (Long.compareUnsigned(end + 1, gather.start) < 0 || Long.compareUnsigned(start, gather.end + 1) > 0);
    }

    /** Grows the gathered range to include [iova, iova+size). */
    @Port("include/linux/iommu.h:iommu_iotlb_gather_add_range")
    public static void iommu_iotlb_gather_add_range(IommuIotlbGather gather, long iova, long size) {
        long end = iova + size - 1;
        if (Long.compareUnsigned(gather.start, iova) > 0) {
            gather.start = iova;
        }
        if (Long.compareUnsigned(gather.end, end) < 0) {
            gather.end = end;
        }
    }

    /**
     * Adds a page to the gather. The gather holds one page size and one contiguous range: a page
     * that breaks either is preceded by an iotlb_sync, and the gather starts over from it.
     */
    @Port("include/linux/iommu.h:iommu_iotlb_gather_add_page")
    public static void iommu_iotlb_gather_add_page(IommuDomain domain, IommuIotlbGather gather, long iova, long size) {
        if ((gather.pgsize != 0 && gather.pgsize != size) || iommu_iotlb_gather_is_disjoint(gather, iova, size)) {
            iommu_iotlb_sync(domain, gather);
        }
        gather.pgsize = size;
        iommu_iotlb_gather_add_range(gather, iova, size);
    }

    @Port("include/linux/iommu.h:iommu_iotlb_gather_queued")
    public static boolean iommu_iotlb_gather_queued(IommuIotlbGather gather) {
        return gather != null && gather.queued;
    }

    // ---------------------------------------------------------------------------------------
    // Legacy domain fault report
    // ---------------------------------------------------------------------------------------

    /** Calls the domain's fault handler. -ENOSYS when none is installed. Emits io_page_fault. */
    @Port("drivers/iommu/iommu.c:report_iommu_fault")
    public static int report_iommu_fault(IommuDomain domain, Device dev, long iova, int flags) {
        int ret = -ENOSYS;
        // A handler is optional: only a domain owner that set one is told.
        if (domain.handler != null) {
            ret = domain.handler.handle(domain, dev, iova, flags, domain.handlerToken);
        }
        if (IommuTrace.io_page_fault.enabled()) {
            IommuTrace.io_page_fault.emit(dev.driverName(), dev.dev_name(), iova, flags);
        }
        return ret;
    }

    // ---------------------------------------------------------------------------------------
    // Device fault API
    // ---------------------------------------------------------------------------------------

    /** Registers the one fault handler of {@code dev}. 0, -EINVAL (no dev_iommu), -EBUSY, -ENOMEM. */
    @Port("drivers/iommu/iommu.c:iommu_register_device_fault_handler")
    public static int iommu_register_device_fault_handler(Device dev, IommuDevFaultHandler handler, Object data) {
        DevIommu param = DevIommu.dev_iommu(dev);
        if (param == null) {
            return -EINVAL;
        }
        param.lock.lock();
        try {
            // A device takes a single fault handler: -EBUSY if one is set.
            if (param.faultParam != null) {
                return -EBUSY;
            }
            IommuFaultParam fp = Slab.kzalloc(IommuFaultParam::new, GFP_KERNEL);
            if (fp == null) {
                return -ENOMEM;
            }
            fp.handler = handler;
            fp.data = data;
            param.faultParam = fp;
            return 0;
        } finally {
            param.lock.unlock();
        }
    }

    /** Unregisters the fault handler. 0 (also when none), -EINVAL (no dev_iommu), -EBUSY (faults pending). */
    @Port("drivers/iommu/iommu.c:iommu_unregister_device_fault_handler")
    public static int iommu_unregister_device_fault_handler(Device dev) {
        DevIommu param = DevIommu.dev_iommu(dev);
        if (param == null) {
            return -EINVAL;
        }
        param.lock.lock();
        try {
            if (param.faultParam == null) {
                return 0;
            }
            // Pending faults still need the handler for their responses: -EBUSY.
            param.faultParam.lock.lock();
            try {
                if (!param.faultParam.faults.isEmpty()) {
                    return -EBUSY;
                }
            } finally {
                param.faultParam.lock.unlock();
            }
            param.faultParam = null;
            return 0;
        } finally {
            param.lock.unlock();
        }
    }

    /**
     * Reports a fault to the device's handler (called with dev_iommu.lock held). A page request
     * with LAST_PAGE is first recorded as pending (for iommu_page_response) and dropped again if
     * the handler fails. 0, -EINVAL (no dev_iommu/event/handler), -ENOMEM, handler's error. On
     * error the caller (driver) must complete the fault itself.
     */
    @Port("drivers/iommu/iommu.c:iommu_report_device_fault")
    public static int iommu_report_device_fault(Device dev, IommuFaultEvent evt) {
        DevIommu param = DevIommu.dev_iommu(dev);
        if (param == null || evt == null) {
            return -EINVAL;
        }
        // Without a registered handler the fault is not reported (-EINVAL).
        param.lock.lock();
        try {
            IommuFaultParam fparam = param.faultParam;
            if (fparam == null || fparam.handler == null) {
                return -EINVAL;
            }
            IommuFaultEvent evtPending = null;
            if (evt.fault.type == IOMMU_FAULT_PAGE_REQ && (evt.fault.prm.flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE) != 0) {
                if (Slab.kmalloc_should_fail(GFP_KERNEL)) {
                    return -ENOMEM;
                }
                evtPending = evt.copy();
                fparam.lock.lock();
                try {
                    fparam.faults.add(evtPending);
                } finally {
                    fparam.lock.unlock();
                }
            }
            // Traced before the handler runs (the series traced it after): a handler that hands
            // the fault to another thread could otherwise see it answered before it is traced.
            if (IommuTrace.dev_fault.enabled()) {
                IommuTrace.trace_dev_fault(dev, evt.fault);
            }
            int ret = fparam.handler.handle(evt.fault, fparam.data);
            if (ret != 0 && evtPending != null) {
                fparam.lock.lock();
                try {
                    fparam.faults.remove(evtPending);
                } finally {
                    fparam.lock.unlock();
                }
            }
            return ret;
        } finally {
            param.lock.unlock();
        }
    }

    /**
     * Completes a pending page request group through the page_response op of the device's
     * current domain. 0 or the driver's page_response result; -ENODEV (no domain, or its ops
     * lack page_response); -EINVAL (no handler, bad version/flags, no matching request).
     * {@code msg} may be modified (PASID_VALID cleared when the request did not need a PASID).
     */
    @Port("drivers/iommu/iommu.c:iommu_page_response")
    public static int iommu_page_response(Device dev, IommuPageResponse msg) {
        DevIommu param = DevIommu.dev_iommu(dev);
        boolean hasPasid = (msg.flags & IOMMU_PAGE_RESP_PASID_VALID) != 0;
        IommuDomain domain = iommu_get_domain_for_dev(dev);
        if (domain == null || !domain.ops.has_page_response()) {
            return -ENODEV;
        }
        IommuOps ops = domain.ops;
        if (param == null || param.faultParam == null) {
            return -EINVAL;
        }
        if (msg.version != IOMMU_PAGE_RESP_VERSION_1 || (msg.flags & ~IOMMU_PAGE_RESP_PASID_VALID) != 0) {
            return -EINVAL;
        }
        int ret = -EINVAL;
        IommuFaultParam fp = param.faultParam;
        // A response needs a matching pending fault: none at all means -EINVAL.
        fp.lock.lock();
        try {
            if (fp.faults.isEmpty()) {
                DevPrintk.dev_warn(dev, "no pending PRQ, drop response");
                return ret;
            }
            // Match a pending request: by group ID, plus PASID when the request needs it.
            for (int i = 0; i < fp.faults.size(); i++) {
                IommuFaultEvent evt = fp.faults.get(i);
                IommuFault.PageRequest prm = evt.fault.prm;
                if (prm.grpid != msg.grpid) {
                    continue;
                }
                boolean needsPasid = (prm.flags & IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID) != 0;
                if (needsPasid && (!hasPasid || msg.pasid != prm.pasid)) {
                    continue;
                }
                if (!needsPasid && hasPasid) {
                    // a PASID the request did not need is dropped from the response, not refused
                    msg.flags &= ~IOMMU_PAGE_RESP_PASID_VALID;
                    msg.pasid = 0;
                }
                ret = ops.page_response(dev, evt, msg);
                if (IommuTrace.dev_page_response.enabled()) {
                    IommuTrace.dev_page_response.emit(dev.dev_name(), msg.code, msg.pasid, msg.grpid);
                }
                fp.faults.remove(i);
                break;
            }
        } finally {
            fp.lock.unlock();
        }
        return ret;
    }

    // ---------------------------------------------------------------------------------------
    // Features
    // ---------------------------------------------------------------------------------------

    @Port("drivers/iommu/iommu.c:iommu_dev_has_feature")
    public static boolean iommu_dev_has_feature(Device dev, int feat) {
        IommuOps ops = bus_ops(dev);
        if (ops != null && ops.has_dev_has_feat()) {
            return ops.dev_has_feat(dev, feat);
        }
        return false;
    }

    /** Enables a device feature. 0, -ENODEV (no IOMMU / no op), driver error. */
    @Port("drivers/iommu/iommu.c:iommu_dev_enable_feature")
    public static int iommu_dev_enable_feature(Device dev, int feat) {
        DevIommu param = DevIommu.dev_iommu(dev);
        if (param != null && param.iommuDev != null) {
            IommuOps ops = param.iommuDev.ops;
            if (ops != null && ops.has_dev_enable_feat()) {
                return ops.dev_enable_feat(dev, feat);
            }
        }
        return -ENODEV;
    }

    /** Disables a device feature. 0, -EBUSY (no IOMMU / no op), driver error. */
    @Port("drivers/iommu/iommu.c:iommu_dev_disable_feature")
    public static int iommu_dev_disable_feature(Device dev, int feat) {
        DevIommu param = DevIommu.dev_iommu(dev);
        if (param != null && param.iommuDev != null) {
            IommuOps ops = param.iommuDev.ops;
            if (ops != null && ops.has_dev_disable_feat()) {
                return ops.dev_disable_feat(dev, feat);
            }
        }
        return -EBUSY;
    }

    @Port("drivers/iommu/iommu.c:iommu_dev_feature_enabled")
    public static boolean iommu_dev_feature_enabled(Device dev, int feat) {
        DevIommu param = DevIommu.dev_iommu(dev);
        if (param != null && param.iommuDev != null) {
            IommuOps ops = param.iommuDev.ops;
            if (ops != null && ops.has_dev_feat_enabled()) {
                return ops.dev_feat_enabled(dev, feat);
            }
        }
        return false;
    }

    // ---------------------------------------------------------------------------------------
    // Aux domains (seed 000; v5.2..v5.17)
    // ---------------------------------------------------------------------------------------

    /**
     * Attaches an aux domain to {@code dev} (no group lock: aux domains sit beside the group's
     * domain). 0, -ENODEV (no op), driver error.
     */
    @Port(value = "drivers/iommu/iommu.c:iommu_aux_attach_device", seed = "000")
    public int iommu_aux_attach_device(IommuDomain domain, Device dev) {
        int ret = -ENODEV;
        if (domain.ops.has_aux_attach_dev()) {
            ret = domain.ops.aux_attach_dev(domain, dev);
        }
        if (ret == 0) {
            synchronized (auxDevice) {
                auxDevice.put(domain, dev);
            }
            if (IommuTrace.attach_device_to_domain.enabled()) {
                IommuTrace.attach_device_to_domain.emit(dev.dev_name());
            }
        }
        return ret;
    }

    @Port(value = "drivers/iommu/iommu.c:iommu_aux_detach_device", seed = "000")
    public void iommu_aux_detach_device(IommuDomain domain, Device dev) {
        if (domain.ops.has_aux_detach_dev()) {
            domain.ops.aux_detach_dev(domain, dev);
            synchronized (auxDevice) {
                auxDevice.remove(domain, dev);
            }
            if (IommuTrace.detach_device_from_domain.enabled()) {
                IommuTrace.detach_device_from_domain.emit(dev.dev_name());
            }
        }
    }

    /** The PASID of aux domain {@code domain} on {@code dev}, or -errno (-ENODEV: no op). */
    @Port(value = "drivers/iommu/iommu.c:iommu_aux_get_pasid", seed = "000")
    public static int iommu_aux_get_pasid(IommuDomain domain, Device dev) {
        int ret = -ENODEV;
        if (domain.ops.has_aux_get_pasid()) {
            ret = domain.ops.aux_get_pasid(domain, dev);
        }
        return ret;
    }

    // ---- seed 001 adapters (2018 RFC names over the aux core) ----

    /**
     * Seed 001 {@code iommu_sva_init_device(dev, features, min_pasid, max_pasid, mm_exit)}: with
     * {@code IOMMU_SVA_FEAT_AUXD}, enables aux domains on the device (the PASID range is the
     * driver's, as in the merged API; min/max are accepted and ignored). Other feature bits:
     * -EINVAL. Adapter over {@link #iommu_dev_enable_feature}.
     */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_init_device", seed = "001")
    public static int iommu_sva_init_device(Device dev, int features, int minPasid, int maxPasid, Object mmExit) {
        if ((features & ~IOMMU_SVA_FEAT_AUXD) != 0 || features == 0) {
            return -EINVAL;
        }
        if (Integer.compareUnsigned(minPasid, maxPasid) > 0) {
            return -EINVAL;
        }
        return iommu_dev_enable_feature(dev, IOMMU_DEV_FEAT_AUX);
    }

    /** Seed 001 {@code iommu_sva_shutdown_device}: disables aux domains. Adapter. */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_shutdown_device", seed = "001")
    public static int iommu_sva_shutdown_device(Device dev) {
        if (!iommu_dev_feature_enabled(dev, IOMMU_DEV_FEAT_AUX)) {
            return 0;
        }
        return iommu_dev_disable_feature(dev, IOMMU_DEV_FEAT_AUX);
    }

    /**
     * Seed 001 {@code iommu_domain_get_attr(domain, DOMAIN_ATTR_AUXD_ID, &pasid)}: the aux
     * domain's PASID (from the device it was last aux-attached to) in {@code data[0]}. 0,
     * -EINVAL (other attribute, or domain not aux-attached), aux_get_pasid error.
     */
    @Port(value = "drivers/iommu/iommu.c:iommu_domain_get_attr", seed = "001")
    public int iommu_domain_get_attr(IommuDomain domain, int attr, int[] data) {
        if (attr != DOMAIN_ATTR_AUXD_ID) {
            return -EINVAL;
        }
        Device dev;
        synchronized (auxDevice) {
            dev = auxDevice.get(domain);
        }
        if (dev == null) {
            return -EINVAL;
        }
        int pasid = iommu_aux_get_pasid(domain, dev);
        if (pasid < 0) {
            return pasid;
        }
        data[0] = pasid;
        return 0;
    }

    /**
     * Seed 001-era {@code iommu_set_dev_attr(dev, IOMMU_DEV_ATTR_AUXD_ENABLED, &on)}: enables or
     * disables aux domains ({@code data} a Boolean). -EINVAL for other attributes. Adapter.
     */
    @Port(value = "drivers/iommu/iommu.c:iommu_set_dev_attr", seed = "001")
    public static int iommu_set_dev_attr(Device dev, int attr, Object data) {
        if (attr != IOMMU_DEV_ATTR_AUXD_ENABLED || !(data instanceof Boolean)) {
            return -EINVAL;
        }
        return (Boolean) data ? iommu_dev_enable_feature(dev, IOMMU_DEV_FEAT_AUX)
                : iommu_dev_disable_feature(dev, IOMMU_DEV_FEAT_AUX);
    }

    /** Seed 001-era {@code iommu_get_dev_attr}: AUXD capability / enabled into {@code out[0]}. */
    @Port(value = "drivers/iommu/iommu.c:iommu_get_dev_attr", seed = "001")
    public static int iommu_get_dev_attr(Device dev, int attr, boolean[] out) {
        if (attr == IOMMU_DEV_ATTR_AUXD_CAPABILITY) {
            out[0] = iommu_dev_has_feature(dev, IOMMU_DEV_FEAT_AUX);
            return 0;
        } else if (attr == IOMMU_DEV_ATTR_AUXD_ENABLED) {
            out[0] = iommu_dev_feature_enabled(dev, IOMMU_DEV_FEAT_AUX);
            return 0;
        }
        return -EINVAL;
    }

    // ---------------------------------------------------------------------------------------
    // SVA (merged v5.10-v5.15 core wrappers)
    // ---------------------------------------------------------------------------------------

    /**
     * Binds {@code mm} (mm-model's mm_struct, opaque here) to {@code dev} under the group
     * mutex. Throws ErrnoException: -ENODEV (no op / no group), -EINVAL (group size != 1),
     * driver errors.
     */
    @Port("drivers/iommu/iommu.c:iommu_sva_bind_device")
    public static IommuSva iommu_sva_bind_device(Device dev, Object mm, Object drvdata) {
        IommuOps ops = bus_ops(dev);
        if (ops == null || !ops.has_sva_bind()) {
            throw new ErrnoException(-ENODEV);
        }
        IommuGroup group = iommu_group_get(dev);
        if (group == null) {
            throw new ErrnoException(-ENODEV);
        }
        // Group mutex: membership and domain stay fixed during the bind.
        group.mutex.lock();
        try {
            // SVA does not support groups of more than one device.
            if (iommu_group_device_count(group) != 1) {
                throw new ErrnoException(-EINVAL);
            }
            return ops.sva_bind(dev, mm, drvdata);
        } finally {
            group.mutex.unlock();
            iommu_group_put(group);
        }
    }

    /** Drops a bond. The device must have stopped DMA on the PASID and flushed page requests. */
    @Port("drivers/iommu/iommu.c:iommu_sva_unbind_device")
    public static void iommu_sva_unbind_device(IommuSva handle) {
        Device dev = handle.dev;
        IommuOps ops = bus_ops(dev);
        if (ops == null || !ops.has_sva_unbind()) {
            return;
        }
        IommuGroup group = iommu_group_get(dev);
        if (group == null) {
            return;
        }
        group.mutex.lock();
        try {
            ops.sva_unbind(handle);
        } finally {
            group.mutex.unlock();
            iommu_group_put(group);
        }
    }

    @Port("drivers/iommu/iommu.c:iommu_sva_get_pasid")
    public static int iommu_sva_get_pasid(IommuSva handle) {
        IommuOps ops = bus_ops(handle.dev);
        if (ops == null || !ops.has_sva_get_pasid()) {
            return IOMMU_PASID_INVALID;
        }
        return ops.sva_get_pasid(handle);
    }

    // ---------------------------------------------------------------------------------------
    // Seed 003: DMA API with PASID
    // ---------------------------------------------------------------------------------------

    /** Seed 003 v2 {@code iommu_set_dev_pasid_max}: stored as a width in dev_iommu.pasid_bits. */
    @Port(value = "drivers/iommu/iommu.c:iommu_set_dev_pasid_max", seed = "003")
    public static void iommu_set_dev_pasid_max(Device dev, int max) {
        DevIommu param = DevIommu.dev_iommu(dev);
        if (param != null) {
            param.pasidBits = max <= 0 ? 0 : 32 - Integer.numberOfLeadingZeros(max);
        }
    }

    /** Seed 003 v2 {@code iommu_get_dev_pasid_max}: largest PASID usable for DMA (0 = none). */
    @Port(value = "drivers/iommu/iommu.c:iommu_get_dev_pasid_max", seed = "003")
    public static int iommu_get_dev_pasid_max(Device dev) {
        DevIommu param = DevIommu.dev_iommu(dev);
        if (param == null || param.pasidBits == 0) {
            return 0;
        }
        return param.pasidBits >= 31 ? Integer.MAX_VALUE : (1 << param.pasidBits) - 1;
    }

    /**
     * Seed 003 v3: lets {@code dev} issue DMA API traffic tagged with a PASID. The first device of
     * a DMA domain allocates the domain's one PASID (ioasid, range [1, 2^pasid_bits - 1]); the
     * domain op attach_dev_pasid makes PASID-tagged requests translate exactly as untagged ones
     * (IOVA table or bypass). On success
     * {@code pasid[0]} holds the PASID.
     * Returns 0; -ENODEV (no current domain or no attach_dev_pasid op); -EPERM (UNMANAGED or
     * BLOCKED domain); -EINVAL (device has no PASID bits); -ENOMEM (no PASID); driver error.
     */
    @Port(value = "drivers/iommu/dma-iommu.c:iommu_attach_dma_pasid", seed = "003")
    public int iommu_attach_dma_pasid(Device dev, int[] pasid) {
        IommuDomain dom = iommu_get_domain_for_dev(dev);
        if (dom == null || dom.ops == null || !dom.ops.has_attach_dev_pasid()) {
            return -ENODEV;
        }
        // UNMANAGED and BLOCKED domains never carry DMA API mappings: -EPERM.
        if (dom.type == IOMMU_DOMAIN_UNMANAGED || dom.type == IOMMU_DOMAIN_BLOCKED) {
            DevPrintk.dev_warn(dev, "Invalid domain type %d", dom.type);
            return -EPERM;
        }
        iommuDmaLock.lock();
        try {
            int id = dom.pasid;
            boolean fresh = false;
            if (id == 0) {
                // The domain has no PASID yet: take one for the whole domain (all its devices share it, so one IOTLB tag).
                int max = iommu_get_dev_pasid_max(dev);
                if (max == 0) {
                    return -EINVAL;
                }
                id = pasidSource == null ? -1 : pasidSource.alloc(1, max, dev);
                if (id == -1) {
                    return -ENOMEM;
                }
                dom.pasid = id;
                dom.pasidUsers = 0;
                fresh = true;
            }
            int ret = dom.ops.attach_dev_pasid(dom, dev, id);
            if (ret == 0) {
                pasid[0] = id;
                dom.pasidUsers++;
                return 0;
            }
            if (fresh) {
                pasidSource.free(id);
                dom.pasid = 0;
            }
            return ret;
        } finally {
            iommuDmaLock.unlock();
        }
    }

    /**
     * Seed 003 v3: stops PASID-tagged DMA API use by {@code dev} (the device must have quiesced
     * it); the last user frees the domain's PASID.
     */
    @Port(value = "drivers/iommu/dma-iommu.c:iommu_detach_dma_pasid", seed = "003")
    public void iommu_detach_dma_pasid(Device dev) {
        IommuDomain dom = iommu_get_domain_for_dev(dev);
        if (Warn.WARN_ON(dom == null || dom.ops == null || !dom.ops.has_detach_dev_pasid())) {
            return;
        }
        iommuDmaLock.lock();
        try {
            int pasid = dom.pasid;
            if (pasid == 0 || pasid == -1 || dom.pasidUsers == 0) {
                return;
            }
            dom.ops.detach_dev_pasid(dom, dev, pasid);
            if (--dom.pasidUsers == 0) {
                pasidSource.free(pasid);
                dom.pasid = 0;
            }
        } finally {
            iommuDmaLock.unlock();
        }
    }

    /** Seed 003 v2 name of {@link #iommu_attach_dma_pasid}. */
    @Port(value = "drivers/iommu/dma-iommu.c:iommu_enable_pasid_dma", seed = "003")
    public int iommu_enable_pasid_dma(Device dev, int[] pasid) {
        return iommu_attach_dma_pasid(dev, pasid);
    }

    /** Seed 003 v2 name of {@link #iommu_detach_dma_pasid}; {@code pasid} must be the one enabled. */
    @Port(value = "drivers/iommu/dma-iommu.c:iommu_disable_pasid_dma", seed = "003")
    public void iommu_disable_pasid_dma(Device dev, int pasid) {
        IommuDomain dom = iommu_get_domain_for_dev(dev);
        if (dom != null && Warn.WARN_ON(dom.pasid != pasid)) {
            return;
        }
        iommu_detach_dma_pasid(dev);
    }
}
