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
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Kstrtox;
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
 * <p>Naming: ported functions are the kernel's names in camelCase ({@code iommu_map} is
 * {@code iommuMap}, {@code __iommu_map} is {@code __iommuMap}), struct fields too; the kernel
 * symbol is in each {@code @Port}.
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
    /** {@code iommu_group_ida}. */
    private final org.iommu4j.base.Ida iommuGroupIda = new org.iommu4j.base.Ida();
    private volatile int iommuDefDomainType = IOMMU_DOMAIN_DMA;
    private volatile boolean iommuDmaStrict = true;
    private int iommuCmdLine;
    /** iommu-sysfs.c: the iommu device class, registered with the core ({@code iommu_dev_init}). */
    private final IommuSysfs iommuSysfs = new IommuSysfs();
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
                // do_early_param: a handler that refuses its value leaves a warning, nothing else.
                int ret = 0;
                if (w.startsWith("iommu.passthrough=")) {
                    ret = iommuSetDefDomainType(w.substring(18));
                } else if (w.startsWith("iommu.strict=")) {
                    ret = iommuDmaSetup(w.substring(13));
                }
                if (ret != 0) {
                    Printk.prWarn("Malformed early option '%s'", w.substring(0, w.indexOf('=')));
                }
            }
        }
        iommuSubsysInit();
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
                return ioasid.ioasidAlloc(null, min, max, priv);
            }

            @Override
            public void free(int pasid) {
                ioasid.ioasidFree(null, pasid);
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

    /**
     * {@code iommu.passthrough=}: 0, or -EINVAL for a value kstrtobool does not read, which
     * leaves the default domain type and the "set via kernel command line" mark as they were.
     */
    @Port("drivers/iommu/iommu.c:iommu_set_def_domain_type")
    private int iommuSetDefDomainType(String str) {
        boolean[] pt = new boolean[1];
        int ret = Kstrtox.kstrtobool(str, pt);
        if (ret != 0) {
            return ret;
        }
        if (pt[0]) {
            iommuSetDefaultPassthrough(true);
        } else {
            iommuSetDefaultTranslated(true);
        }
        return 0;
    }

    /** {@code iommu.strict=}: 0, or -EINVAL (strictness and the command-line mark unchanged). */
    @Port("drivers/iommu/iommu.c:iommu_dma_setup")
    private int iommuDmaSetup(String str) {
        boolean[] strict = new boolean[1];
        int ret = Kstrtox.kstrtobool(str, strict);
        if (ret == 0) {
            iommuDmaStrict = strict[0];
            iommuCmdLine |= IOMMU_CMD_LINE_STRICT;
        }
        return ret;
    }

    @Port("drivers/iommu/iommu.c:iommu_subsys_init")
    private void iommuSubsysInit() {
        if (!iommuDefaultPassthrough() && !iommuDmaStrict) {
            iommuDefDomainType = IOMMU_DOMAIN_DMA_FQ;
        }
        Printk.prInfo("iommu: Default domain type: %s %s", iommuDomainTypeStr(iommuDefDomainType),
                (iommuCmdLine & IOMMU_CMD_LINE_DMA_API) != 0 ? "(set via kernel command line)" : "");
        if (!iommuDefaultPassthrough()) {
            Printk.prInfo("iommu: DMA domain TLB invalidation policy: %s mode %s", iommuDmaStrict ? "strict" : "lazy",
                    (iommuCmdLine & IOMMU_CMD_LINE_STRICT) != 0 ? "(set via kernel command line)" : "");
        }
    }

    @Port("drivers/iommu/iommu.c:iommu_default_passthrough")
    public boolean iommuDefaultPassthrough() {
        return iommuDefDomainType == IOMMU_DOMAIN_IDENTITY;
    }

    @Port("drivers/iommu/iommu.c:iommu_set_default_passthrough")
    public void iommuSetDefaultPassthrough(boolean cmdLine) {
        if (cmdLine) {
            iommuCmdLine |= IOMMU_CMD_LINE_DMA_API;
        }
        iommuDefDomainType = IOMMU_DOMAIN_IDENTITY;
    }

    @Port("drivers/iommu/iommu.c:iommu_set_default_translated")
    public void iommuSetDefaultTranslated(boolean cmdLine) {
        if (cmdLine) {
            iommuCmdLine |= IOMMU_CMD_LINE_DMA_API;
        }
        // DMA_FQ is chosen once, by iommu_subsys_init, from iommu.strict.
        iommuDefDomainType = IOMMU_DOMAIN_DMA;
    }

    @Port("drivers/iommu/iommu.c:iommu_set_dma_strict")
    public void iommuSetDmaStrict() {
        iommuDmaStrict = true;
        if (iommuDefDomainType == IOMMU_DOMAIN_DMA_FQ) {
            iommuDefDomainType = IOMMU_DOMAIN_DMA;
        }
    }

    /** {@code iommu_dma_strict}. */
    public boolean iommuDmaStrict() {
        return iommuDmaStrict;
    }

    /** {@code iommu_def_domain_type}. */
    public int iommuDefDomainType() {
        return iommuDefDomainType;
    }

    // ---------------------------------------------------------------------------------------
    // IOMMU devices
    // ---------------------------------------------------------------------------------------

    /**
     * Registers an IOMMU instance with the core: its ops, and the hardware device's fwnode (or DT
     * node) that of_iommu finds it by. {@code iommu.dev}, the sysfs device, is
     * {@link IommuSysfs#iommuDeviceSysfsAdd}'s.
     *
     * <p>Return: 0. v5.15's only failure, -EINVAL with a WARN for ops of a loadable module without
     * an owner, cannot happen here: there are no modules, every driver is built in.
     */
    @Port("drivers/iommu/iommu.c:iommu_device_register")
    public int iommuDeviceRegister(IommuDevice iommu, IommuOps ops, Device hwdev) {
        iommu.ops = ops;
        if (hwdev != null) {
            iommu.fwnode = hwdev.fwnode != null ? hwdev.fwnode : hwdev.ofNode;
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
    public void iommuDeviceUnregister(IommuDevice iommu) {
        iommuDeviceLock.lock();
        try {
            iommuDeviceList.remove(iommu);
        } finally {
            iommuDeviceLock.unlock();
        }
    }

    /** The ops of the IOMMU registered for {@code fwnode}, or null. */
    @Port("drivers/iommu/iommu.c:iommu_ops_from_fwnode")
    public IommuOps iommuOpsFromFwnode(Object fwnode) {
        for (IommuDevice iommu : iommuDeviceList) {
            if (iommu.fwnode == fwnode) {
                return iommu.ops;
            }
        }
        return null;
    }

    /** The iommu device class of this core (iommu-sysfs.c). */
    public IommuSysfs iommuSysfs() {
        return iommuSysfs;
    }

    /** Snapshot of the registered IOMMUs. */
    public List<IommuDevice> iommuDevices() {
        return List.copyOf(iommuDeviceList);
    }

    // ---------------------------------------------------------------------------------------
    // dev_iommu, fwspec
    // ---------------------------------------------------------------------------------------

    @Port("drivers/iommu/iommu.c:dev_iommu_get")
    static DevIommu devIommuGet(Device dev) {
        DevIommu param = DevIommu.devIommu(dev);
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
    static void devIommuFree(Device dev) {
        iommuFwspecFree(dev);
        dev.iommu = null;
    }

    /** Initialises {@code dev}'s fwspec for the IOMMU at {@code iommuFwnode}. 0, -EINVAL (other ops), -ENOMEM. */
    @Port("drivers/iommu/iommu.c:iommu_fwspec_init")
    public static int iommuFwspecInit(Device dev, Object iommuFwnode, IommuOps ops) {
        IommuFwspec fwspec = DevIommu.devIommuFwspecGet(dev);
        if (fwspec != null) {
            return ops == fwspec.ops ? 0 : -EINVAL;
        }
        if (devIommuGet(dev) == null) {
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
        DevIommu.devIommuFwspecSet(dev, fwspec);
        return 0;
    }

    @Port("drivers/iommu/iommu.c:iommu_fwspec_free")
    public static void iommuFwspecFree(Device dev) {
        IommuFwspec fwspec = DevIommu.devIommuFwspecGet(dev);
        if (fwspec != null) {
            DevIommu.devIommuFwspecSet(dev, null);
        }
    }

    /** Appends IDs (StreamIDs) to the fwspec. 0, -EINVAL (no fwspec), -ENOMEM. */
    @Port("drivers/iommu/iommu.c:iommu_fwspec_add_ids")
    public static int iommuFwspecAddIds(Device dev, int[] ids, int numIds) {
        IommuFwspec fwspec = DevIommu.devIommuFwspecGet(dev);
        if (fwspec == null) {
            return -EINVAL;
        }
        int newNum = fwspec.numIds + numIds;
        if (newNum > 1 && newNum > fwspec.ids.length) {
            // krealloc
            if (Slab.kmallocShouldFail(GFP_KERNEL)) {
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

    // ---------------------------------------------------------------------------------------
    // Probe / release
    // ---------------------------------------------------------------------------------------

    private static IommuOps busOps(Device dev) {
        return dev.bus == null ? null : (IommuOps) dev.bus.iommuOps;
    }

    @Port("drivers/iommu/iommu.c:__iommu_probe_device")
    private int __iommuProbeDevice(Device dev, List<IommuGroup> groupList) {
        IommuOps ops = busOps(dev);
        if (ops == null) {
            return -ENODEV;
        }
        if (devIommuGet(dev) == null) {
            return -ENOMEM;
        }
        IommuDevice iommuDev;
        try {
            iommuDev = ops.probeDevice(dev);
        } catch (ErrnoException e) {
            devIommuFree(dev);
            return e.err();
        }
        DevIommu.devIommu(dev).iommuDev = iommuDev;

        IommuGroup group;
        try {
            group = iommuGroupGetForDev(dev);
        } catch (ErrnoException e) {
            ops.releaseDevice(dev);
            devIommuFree(dev);
            return e.err();
        }
        iommuGroupPut(group);

        if (groupList != null && group.defaultDomain == null && !group.onList) {
            group.onList = true;
            groupList.add(group);
        }

        // sysfs: IOMMU/devices/DEV and DEV/iommu; the result is ignored, as in v5.15
        iommuSysfs.iommuDeviceLink(iommuDev, dev);

        return 0;
    }

    /**
     * Probes {@code dev} with its bus's IOMMU: driver probe_device, group, default domain,
     * attach, probe_finalize; also sets up dma-iommu when the default domain is a DMA domain
     * (arm64's arch_setup_dma_ops -> iommu_setup_dma_ops). 0 or -errno (-ENODEV: no IOMMU).
     */
    @Port("drivers/iommu/iommu.c:iommu_probe_device")
    public int iommuProbeDevice(Device dev) {
        IommuOps ops = busOps(dev);
        int ret = __iommuProbeDevice(dev, null);
        if (ret != 0) {
            return ret;
        }
        IommuGroup group = iommuGroupGet(dev);
        if (group == null) {
            iommuReleaseDevice(dev);
            return -ENODEV;
        }
        // Ignored on failure: a driver may offer no default domain, and the device then has none.
        group.mutex.lock();
        try {
            iommuAllocDefaultDomain(group, dev);
            if (group.defaultDomain != null) {
                ret = __iommuAttachDevice(group.defaultDomain, dev);
                if (ret != 0) {
                    group.mutex.unlock();
                    iommuGroupPut(group);
                    iommuReleaseDevice(dev);
                    return ret;
                }
            }
            iommuCreateDeviceDirectMappings(group, dev);
        } finally {
            if (group.mutex.isHeldByCurrentThread()) {
                group.mutex.unlock();
            }
        }
        iommuGroupPut(group);
        if (ops.hasProbeFinalize()) {
            ops.probeFinalize(dev);
        }
        archSetupDmaOps(dev);
        return 0;
    }

    /**
     * arm64's arch_setup_dma_ops with of_dma_configure's arguments: records whether the device
     * snoops caches and, when it is behind an IOMMU, sets up dma-iommu over
     * [dmaBase, dmaBase + size - 1].
     */
    @Port("arch/arm64/mm/dma-mapping.c:arch_setup_dma_ops")
    public void archSetupDmaOps(Device dev, long dmaBase, long size, IommuOps iommu, boolean coherent) {
        dev.dmaCoherent = coherent;
        if (iommu != null && dmaIommu != null) {
            dmaIommu.iommuSetupDmaOps(dev, dmaBase, dmaBase + size - 1);
        }
    }

    /** arm64 arch_setup_dma_ops: install dma-iommu when the device sits in a DMA domain. */
    @Port("arch/arm64/mm/dma-mapping.c:arch_setup_dma_ops")
    private void archSetupDmaOps(Device dev) {
        if (dmaIommu != null) {
            dmaIommu.iommuSetupDmaOps(dev, 0, -1L);
        }
    }

    @Port("drivers/iommu/iommu.c:iommu_release_device")
    public void iommuReleaseDevice(Device dev) {
        DevIommu param = DevIommu.devIommu(dev);
        if (param == null) {
            return;
        }
        IommuOps ops = busOps(dev);
        iommuSysfs.iommuDeviceUnlink(param.iommuDev, dev);
        if (ops != null) {
            ops.releaseDevice(dev);
        }
        iommuGroupRemoveDevice(dev);
        if (dev.dmaOps == dmaIommu && dmaIommu != null) {
            dev.dmaOps = null;
        }
        devIommuFree(dev);
    }

    @Port("drivers/iommu/iommu.c:iommu_create_device_direct_mappings")
    private int iommuCreateDeviceDirectMappings(IommuGroup group, Device dev) {
        IommuDomain domain = group.defaultDomain;
        if (domain == null || !iommuIsDmaDomain(domain)) {
            return 0;
        }
        List<IommuResvRegion> mappings = new ArrayList<>();
        iommuGetResvRegions(dev, mappings);
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
                if (addr != end && iommuIovaToPhys(domain, addr) == 0) {
                    mapSize += pgSize;
                    continue;
                }
                // map_end: a mapped page or the end closes the run.
                if (mapSize != 0) {
                    ret = iommuMap(domain, addr - mapSize, addr - mapSize, mapSize, entry.prot);
                    if (ret != 0) {
                        break outer;
                    }
                    mapSize = 0;
                }
            }
        }
        if (ret == 0) {
            iommuFlushIotlbAll(domain);
        }
        iommuPutResvRegions(dev, mappings);
        return ret;
    }

    @Port("drivers/iommu/iommu.c:iommu_get_resv_regions")
    public void iommuGetResvRegions(Device dev, List<IommuResvRegion> list) {
        IommuOps ops = busOps(dev);
        if (ops != null && ops.hasGetResvRegions()) {
            ops.getResvRegions(dev, list);
        }
    }

    @Port("drivers/iommu/iommu.c:iommu_put_resv_regions")
    public void iommuPutResvRegions(Device dev, List<IommuResvRegion> list) {
        IommuOps ops = busOps(dev);
        if (ops != null && ops.hasPutResvRegions()) {
            ops.putResvRegions(dev, list);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Groups
    // ---------------------------------------------------------------------------------------

    /** Allocates a new group (ID from the IDA); throws ErrnoException(-ENOMEM). */
    @Port("drivers/iommu/iommu.c:iommu_group_alloc")
    public IommuGroup iommuGroupAlloc() {
        if (Slab.kmallocShouldFail(GFP_KERNEL)) {
            throw new ErrnoException(-ENOMEM);
        }
        return new IommuGroup(this, iommuGroupIda.idaSimpleGet(0, 0));
    }

    @Port("drivers/iommu/iommu.c:iommu_group_release")
    private void iommuGroupRelease(IommuGroup group) {
        Printk.prDebug("Releasing group %d", group.id);
        if (group.iommuDataRelease != null) {
            group.iommuDataRelease.run();
        }
        iommuGroupIda.idaSimpleRemove(group.id);
        if (group.defaultDomain != null) {
            iommuDomainFree(group.defaultDomain);
        }
    }

    /** The group of {@code dev} with a new reference, or null. */
    @Port("drivers/iommu/iommu.c:iommu_group_get")
    public static IommuGroup iommuGroupGet(Device dev) {
        IommuGroup group = (IommuGroup) dev.iommuGroup;
        if (group != null) {
            group.kref.krefGet();
        }
        return group;
    }

    @Port("drivers/iommu/iommu.c:iommu_group_ref_get")
    public static IommuGroup iommuGroupRefGet(IommuGroup group) {
        group.kref.krefGet();
        return group;
    }

    @Port("drivers/iommu/iommu.c:iommu_group_put")
    public static void iommuGroupPut(IommuGroup group) {
        if (group != null) {
            group.kref.krefPut(() -> group.core.iommuGroupRelease(group));
        }
    }

    @Port("drivers/iommu/iommu.c:iommu_group_get_iommudata")
    public static Object iommuGroupGetIommudata(IommuGroup group) {
        return group.iommuData;
    }

    @Port("drivers/iommu/iommu.c:iommu_group_set_iommudata")
    public static void iommuGroupSetIommudata(IommuGroup group, Object data, Runnable release) {
        group.iommuData = data;
        group.iommuDataRelease = release;
    }

    @Port("drivers/iommu/iommu.c:iommu_group_set_name")
    public static int iommuGroupSetName(IommuGroup group, String name) {
        group.name = name;
        return 0;
    }

    /** Adds {@code dev} to {@code group} (the device holds a group reference). 0 or -errno. */
    @Port("drivers/iommu/iommu.c:iommu_group_add_device")
    public int iommuGroupAddDevice(IommuGroup group, Device dev) {
        if (Slab.kmallocShouldFail(GFP_KERNEL)) {
            return -ENOMEM;
        }
        IommuGroup.GroupDevice device = new IommuGroup.GroupDevice(dev, dev.devName());
        group.kref.krefGet();
        dev.iommuGroup = group;
        int ret = 0;
        group.mutex.lock();
        try {
            group.devices.add(device);
            if (group.domain != null && !iommuIsAttachDeferred(group.domain, dev)) {
                ret = __iommuAttachDevice(group.domain, dev);
            }
            if (ret != 0) {
                group.devices.remove(device);
            }
        } finally {
            group.mutex.unlock();
        }
        if (ret != 0) {
            dev.iommuGroup = null;
            iommuGroupPut(group);
            DevPrintk.devErr(dev, "Failed to add to iommu group %d: %d", group.id, ret);
            return ret;
        }
        // Group listeners (vfio) learn of the new member.
        group.notifier.blockingNotifierCallChain(IOMMU_GROUP_NOTIFY_ADD_DEVICE, dev);
        if (IommuTrace.add_device_to_group.enabled()) {
            IommuTrace.add_device_to_group.emit(group.id, dev.devName());
        }
        DevPrintk.devInfo(dev, "Adding to iommu group %d", group.id);
        return 0;
    }

    @Port("drivers/iommu/iommu.c:iommu_group_remove_device")
    public void iommuGroupRemoveDevice(Device dev) {
        IommuGroup group = (IommuGroup) dev.iommuGroup;
        if (group == null) {
            return;
        }
        DevPrintk.devInfo(dev, "Removing from iommu group %d", group.id);
        group.notifier.blockingNotifierCallChain(IOMMU_GROUP_NOTIFY_DEL_DEVICE, dev);
        IommuGroup.GroupDevice device = null;
        group.mutex.lock();
        try {
            for (IommuGroup.GroupDevice d : group.devices) {
                if (d.dev == dev) {
                    device = d;
                    group.devices.remove(d);
                    if (IommuTrace.remove_device_from_group.enabled()) {
                        IommuTrace.remove_device_from_group.emit(group.id, dev.devName());
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
        iommuGroupPut(group);
    }

    @Port("drivers/iommu/iommu.c:iommu_group_device_count")
    static int iommuGroupDeviceCount(IommuGroup group) {
        return group.devices.size();
    }

    /** Calls {@code fn} for each device of the group under the group mutex; stops at the first non-zero return. */
    @Port("drivers/iommu/iommu.c:iommu_group_for_each_dev")
    public static int iommuGroupForEachDev(IommuGroup group, Object data, java.util.function.ToIntBiFunction<Device, Object> fn) {
        group.mutex.lock();
        try {
            return __iommuGroupForEachDev(group, data, fn);
        } finally {
            group.mutex.unlock();
        }
    }

    @Port("drivers/iommu/iommu.c:__iommu_group_for_each_dev")
    private static int __iommuGroupForEachDev(IommuGroup group, Object data, java.util.function.ToIntBiFunction<Device, Object> fn) {
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
    public static int iommuGroupRegisterNotifier(IommuGroup group, NotifierBlock nb) {
        return group.notifier.blockingNotifierChainRegister(nb);
    }

    @Port("drivers/iommu/iommu.c:iommu_group_unregister_notifier")
    public static int iommuGroupUnregisterNotifier(IommuGroup group, NotifierBlock nb) {
        return group.notifier.blockingNotifierChainUnregister(nb);
    }

    /** A new group per device ({@code generic_device_group}); throws ErrnoException. */
    @Port("drivers/iommu/iommu.c:generic_device_group")
    public IommuGroup genericDeviceGroup(Device dev) {
        return iommuGroupAlloc();
    }

    /**
     * {@code pci_device_group}. The simulated PCI topology has no DMA aliases and full ACS, so
     * every function gets its own group, as generic_device_group does.
     */
    @Port("drivers/iommu/iommu.c:pci_device_group")
    public IommuGroup pciDeviceGroup(Device dev) {
        return iommuGroupAlloc();
    }

    @Port("drivers/iommu/iommu.c:iommu_group_get_for_dev")
    private IommuGroup iommuGroupGetForDev(Device dev) {
        IommuOps ops = busOps(dev);
        IommuGroup group = iommuGroupGet(dev);
        if (group != null) {
            return group;
        }
        if (ops == null) {
            throw new ErrnoException(-EINVAL);
        }
        group = ops.deviceGroup(dev);
        if (Warn.WARN_ON_ONCE(group == null)) {
            throw new ErrnoException(-EINVAL);
        }
        int ret = iommuGroupAddDevice(group, dev);
        if (ret != 0) {
            iommuGroupPut(group);
            throw new ErrnoException(ret);
        }
        return group;
    }

    /** The group's default domain (no reference; the kernel's iommu_group_default_domain). */
    @Port("drivers/iommu/iommu.c:iommu_group_default_domain")
    public static IommuDomain iommuGroupDefaultDomain(IommuGroup group) {
        return group.defaultDomain;
    }

    // ---------------------------------------------------------------------------------------
    // Default domains
    // ---------------------------------------------------------------------------------------

    @Port("drivers/iommu/iommu.c:iommu_get_def_domain_type")
    private static int iommuGetDefDomainType(Device dev) {
        IommuOps ops = busOps(dev);
        // An external-facing PCI device is always isolated: a (strict) DMA domain, whatever the
        // command line or the driver prefers.
        if (DmaIommu.devIsPci(dev) && dev instanceof org.iommu4j.pci.PciDev pdev && pdev.untrusted) {
            return IOMMU_DOMAIN_DMA;
        }
        return ops != null && ops.hasDefDomainType() ? ops.defDomainType(dev) : 0;
    }

    @Port("drivers/iommu/iommu.c:iommu_group_alloc_default_domain")
    private int iommuGroupAllocDefaultDomain(BusType bus, IommuGroup group, int type) {
        IommuDomain dom = __iommuDomainAlloc(bus, type);
        if (dom == null && type != IOMMU_DOMAIN_DMA) {
            dom = __iommuDomainAlloc(bus, IOMMU_DOMAIN_DMA);
            if (dom != null) {
                Printk.prWarn("Failed to allocate default IOMMU domain of type %d for group %s - Falling back to IOMMU_DOMAIN_DMA",
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
    private int iommuAllocDefaultDomain(IommuGroup group, Device dev) {
        if (group.defaultDomain != null) {
            return 0;
        }
        int type = iommuGetDefDomainType(dev);
        if (type == 0) {
            type = iommuDefDomainType;
        }
        return iommuGroupAllocDefaultDomain(dev.bus, group, type);
    }

    // ---------------------------------------------------------------------------------------
    // Bus setup
    // ---------------------------------------------------------------------------------------

    @Port("drivers/iommu/iommu.c:iommu_bus_notifier")
    private int iommuBusNotifier(long action, Object data) {
        Device dev = (Device) data;
        if (action == BusType.BUS_NOTIFY_ADD_DEVICE) {
            int ret = iommuProbeDevice(dev);
            return ret != 0 ? Notifier.NOTIFY_DONE : Notifier.NOTIFY_OK;
        } else if (action == BusType.BUS_NOTIFY_REMOVED_DEVICE) {
            iommuReleaseDevice(dev);
            return Notifier.NOTIFY_OK;
        }
        // Other bus events: forwarded, as group events, to the device's group if it has one.
        IommuGroup group = iommuGroupGet(dev);
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
            group.notifier.blockingNotifierCallChain(groupAction, dev);
        }
        iommuGroupPut(group);
        return 0;
    }

    @Port("drivers/iommu/iommu.c:probe_iommu_group")
    private int probeIommuGroup(Device dev, List<IommuGroup> groupList) {
        // A device with a group has been probed before: skip it.
        IommuGroup group = iommuGroupGet(dev);
        if (group != null) {
            iommuGroupPut(group);
            return 0;
        }
        int ret = __iommuProbeDevice(dev, groupList);
        if (ret == -ENODEV) {
            ret = 0;
        }
        return ret;
    }

    @Port("drivers/iommu/iommu.c:probe_alloc_default_domain")
    private void probeAllocDefaultDomain(BusType bus, IommuGroup group) {
        int type = 0;
        Device first = null;
        for (IommuGroup.GroupDevice d : group.devices) {
            // probe_get_default_domain_type
            int t = iommuGetDefDomainType(d.dev);
            if (t != 0) {
                if (type != 0 && type != t) {
                    DevPrintk.devWarn(d.dev, "Device needs domain type %s, but device %s in the same iommu group requires type %s - using default",
                            iommuDomainTypeStr(t), first.devName(), iommuDomainTypeStr(type));
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
        iommuGroupAllocDefaultDomain(bus, group, type);
    }

    @Port("drivers/iommu/iommu.c:bus_iommu_probe")
    int busIommuProbe(BusType bus) {
        List<IommuGroup> groupList = new ArrayList<>();
        int ret = 0;
        for (Device dev : bus.devices()) {
            ret = probeIommuGroup(dev, groupList);
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
                probeAllocDefaultDomain(bus, group);
                if (group.defaultDomain == null) {
                    continue;
                }
                for (IommuGroup.GroupDevice d : group.devices) {
                    iommuCreateDeviceDirectMappings(group, d.dev);
                }
                ret = __iommuGroupForEachDev(group, group.defaultDomain, (dev, data) -> {
                    IommuDomain domain = (IommuDomain) data;
                    return iommuIsAttachDeferred(domain, dev) ? 0 : __iommuAttachDevice(domain, dev);
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
                IommuOps ops = busOps(dev);
                if (ops.hasProbeFinalize()) {
                    ops.probeFinalize(dev);
                }
                archSetupDmaOps(dev);
            }
        }
        return ret;
    }

    @Port("drivers/iommu/iommu.c:iommu_bus_init")
    private int iommuBusInit(BusType bus, IommuOps ops) {
        if (Slab.kmallocShouldFail(GFP_KERNEL)) {
            return -ENOMEM;
        }
        NotifierBlock nb = (action, data) -> iommuBusNotifier(action, data);
        int err = bus.busNotifier.blockingNotifierChainRegister(nb);
        if (err != 0) {
            return err;
        }
        err = busIommuProbe(bus);
        if (err != 0) {
            // Clean up: remove_iommu_group on every device.
            for (Device dev : bus.devices()) {
                iommuReleaseDevice(dev);
            }
            bus.busNotifier.blockingNotifierChainUnregister(nb);
            return err;
        }
        return 0;
    }

    /**
     * Sets the IOMMU driver of a bus and probes its existing devices. 0, -EBUSY (already set),
     * -ENOMEM, probe error.
     *
     * <p>{@code ops == null} (a driver's remove) only clears {@code bus->iommu_ops}, as v5.15
     * does: devices probed before keep their groups and domains, and iommu_bus_init's notifier
     * block stays on the bus (v5.15 never frees it), so a device added later is still offered
     * to iommu_probe_device, which finds no ops and leaves it without an IOMMU (-ENODEV). Ops
     * set again later add a second notifier block beside it, as in v5.15, where SMMUv3's
     * suppress_bind_attrs keeps a driver from being unbound and probed again.
     */
    @Port("drivers/iommu/iommu.c:bus_set_iommu")
    public int busSetIommu(BusType bus, IommuOps ops) {
        if (ops == null) {
            bus.iommuOps = null;
            return 0;
        }
        if (bus.iommuOps != null) {
            return -EBUSY;
        }
        bus.iommuOps = ops;
        int err = iommuBusInit(bus, ops);
        if (err != 0) {
            bus.iommuOps = null;
        }
        return err;
    }

    @Port("drivers/iommu/iommu.c:iommu_present")
    public static boolean iommuPresent(BusType bus) {
        return bus.iommuOps != null;
    }

    @Port("drivers/iommu/iommu.c:iommu_capable")
    public static boolean iommuCapable(BusType bus, int cap) {
        IommuOps ops = (IommuOps) bus.iommuOps;
        if (ops == null || !ops.hasCapable()) {
            return false;
        }
        return ops.capable(cap);
    }

    // ---------------------------------------------------------------------------------------
    // Domains
    // ---------------------------------------------------------------------------------------

    @Port("include/linux/iommu.h:iommu_is_dma_domain")
    public static boolean iommuIsDmaDomain(IommuDomain domain) {
        return (domain.type & __IOMMU_DOMAIN_DMA_API) != 0;
    }

    @Port("drivers/iommu/iommu.c:iommu_set_fault_handler")
    public static void iommuSetFaultHandler(IommuDomain domain, IommuDomain.FaultHandler handler, Object token) {
        if (domain == null) {
            return;
        }
        domain.handler = handler;
        domain.handlerToken = token;
    }

    @Port("drivers/iommu/iommu.c:__iommu_domain_alloc")
    private IommuDomain __iommuDomainAlloc(BusType bus, int type) {
        if (bus == null || bus.iommuOps == null) {
            return null;
        }
        IommuOps ops = (IommuOps) bus.iommuOps;
        // The driver sees the type as asked (v5.15 drivers accept DMA_FQ themselves).
        IommuDomain domain = ops.domainAlloc(type);
        if (domain == null) {
            return null;
        }
        domain.ops = ops;
        domain.type = type;
        // Start from every size the ops offer; the driver may narrow it per domain later.
        domain.pgsizeBitmap = ops.pgsizeBitmap();
        // Core-side DMA cookie only if the driver did not make one (a second would be -EEXIST).
        if (iommuIsDmaDomain(domain) && domain.iovaCookie == null && DmaIommu.iommuGetDmaCookie(domain) != 0) {
            iommuDomainFree(domain);
            domain = null;
        }
        return domain;
    }

    /** An UNMANAGED domain for {@code bus}'s IOMMU, or null. */
    @Port("drivers/iommu/iommu.c:iommu_domain_alloc")
    public IommuDomain iommuDomainAlloc(BusType bus) {
        return __iommuDomainAlloc(bus, IOMMU_DOMAIN_UNMANAGED);
    }

    /** Domain of an explicit type (seed / test helper; the kernel reaches it via default domains). */
    public IommuDomain iommuDomainAllocType(BusType bus, int type) {
        return __iommuDomainAlloc(bus, type);
    }

    @Port("drivers/iommu/iommu.c:iommu_domain_free")
    public void iommuDomainFree(IommuDomain domain) {
        DmaIommu.iommuPutDmaCookie(domain);
        synchronized (auxDevice) {
            auxDevice.remove(domain);
        }
        domain.ops.domainFree(domain);
    }

    // ---------------------------------------------------------------------------------------
    // Attach / detach
    // ---------------------------------------------------------------------------------------

    @Port("drivers/iommu/iommu.c:__iommu_attach_device")
    private static int __iommuAttachDevice(IommuDomain domain, Device dev) {
        if (!domain.ops.hasAttachDev()) {
            return -ENODEV;
        }
        int ret = domain.ops.attachDev(domain, dev);
        if (ret == 0 && IommuTrace.attach_device_to_domain.enabled()) {
            IommuTrace.attach_device_to_domain.emit(dev.devName());
        }
        return ret;
    }

    /**
     * Attaches the single device of its group to {@code domain}. 0, -ENODEV (no group / no
     * attach_dev), -EINVAL (group has != 1 device, or driver incompatibility), -EBUSY (group not
     * on its default domain).
     */
    @Port("drivers/iommu/iommu.c:iommu_attach_device")
    public int iommuAttachDevice(IommuDomain domain, Device dev) {
        IommuGroup group = iommuGroupGet(dev);
        if (group == null) {
            return -ENODEV;
        }
        // Group mutex: the single-device check below stays true during the attach.
        group.mutex.lock();
        int ret;
        try {
            ret = -EINVAL;
            if (iommuGroupDeviceCount(group) == 1) {
                ret = __iommuAttachGroup(domain, group);
            }
        } finally {
            group.mutex.unlock();
        }
        iommuGroupPut(group);
        return ret;
    }

    @Port("drivers/iommu/iommu.c:iommu_is_attach_deferred")
    private static boolean iommuIsAttachDeferred(IommuDomain domain, Device dev) {
        return domain.ops.hasIsAttachDeferred() && domain.ops.isAttachDeferred(domain, dev);
    }

    @Port("drivers/iommu/iommu.c:__iommu_detach_device")
    private static void __iommuDetachDevice(IommuDomain domain, Device dev) {
        if (iommuIsAttachDeferred(domain, dev)) {
            return;
        }
        if (!domain.ops.hasDetachDev()) {
            return;
        }
        domain.ops.detachDev(domain, dev);
        if (IommuTrace.detach_device_from_domain.enabled()) {
            IommuTrace.detach_device_from_domain.emit(dev.devName());
        }
    }

    /**
     * Detaches the single device of its group, re-attaching the default domain. WARNs if the
     * group has more than one device. As in v5.15, {@code domain} is not checked against the
     * group's current domain: whatever is attached is replaced by the default domain (a group
     * without one detaches its devices from {@code domain}).
     */
    @Port("drivers/iommu/iommu.c:iommu_detach_device")
    public void iommuDetachDevice(IommuDomain domain, Device dev) {
        IommuGroup group = iommuGroupGet(dev);
        if (group == null) {
            return;
        }
        group.mutex.lock();
        try {
            if (Warn.WARN_ON(iommuGroupDeviceCount(group) != 1)) {
                return;
            }
            __iommuDetachGroup(domain, group);
        } finally {
            group.mutex.unlock();
            iommuGroupPut(group);
        }
    }

    /** The group's current domain, or null. */
    @Port("drivers/iommu/iommu.c:iommu_get_domain_for_dev")
    public static IommuDomain iommuGetDomainForDev(Device dev) {
        IommuGroup group = iommuGroupGet(dev);
        if (group == null) {
            return null;
        }
        IommuDomain domain = group.domain;
        iommuGroupPut(group);
        return domain;
    }

    /** The default domain of {@code dev}'s group (caller knows the group exists). */
    @Port("drivers/iommu/iommu.c:iommu_get_dma_domain")
    public static IommuDomain iommuGetDmaDomain(Device dev) {
        IommuGroup group = (IommuGroup) dev.iommuGroup;
        return group == null ? null : group.defaultDomain;
    }

    @Port("drivers/iommu/iommu.c:__iommu_attach_group")
    private static int __iommuAttachGroup(IommuDomain domain, IommuGroup group) {
        if (group.defaultDomain != null && group.domain != group.defaultDomain) {
            return -EBUSY;
        }
        // iommu_group_do_attach_device: an explicit attach is never deferred.
        int ret = __iommuGroupForEachDev(group, domain, (dev, data) -> __iommuAttachDevice((IommuDomain) data, dev));
        if (ret == 0) {
            group.domain = domain;
        }
        return ret;
    }

    /** Attaches all devices of {@code group}. 0, -EBUSY, driver error. */
    @Port("drivers/iommu/iommu.c:iommu_attach_group")
    public static int iommuAttachGroup(IommuDomain domain, IommuGroup group) {
        group.mutex.lock();
        try {
            return __iommuAttachGroup(domain, group);
        } finally {
            group.mutex.unlock();
        }
    }

    @Port("drivers/iommu/iommu.c:__iommu_detach_group")
    private static void __iommuDetachGroup(IommuDomain domain, IommuGroup group) {
        if (group.defaultDomain == null) {
            __iommuGroupForEachDev(group, domain, (dev, data) -> {
                __iommuDetachDevice((IommuDomain) data, dev);
                return 0;
            });
            group.domain = null;
            return;
        }
        if (group.domain == group.defaultDomain) {
            return;
        }
        // Detach by re-attaching to the default domain (iommu_group_do_attach_device, not deferred).
        int ret = __iommuGroupForEachDev(group, group.defaultDomain, (dev, data) -> __iommuAttachDevice((IommuDomain) data, dev));
        if (ret != 0) {
            Warn.WARN_ON(true);
        } else {
            group.domain = group.defaultDomain;
        }
    }

    @Port("drivers/iommu/iommu.c:iommu_detach_group")
    public static void iommuDetachGroup(IommuDomain domain, IommuGroup group) {
        group.mutex.lock();
        try {
            __iommuDetachGroup(domain, group);
        } finally {
            group.mutex.unlock();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Map / unmap
    // ---------------------------------------------------------------------------------------

    /** Translates {@code iova}: identity domains return it, blocked ones 0. */
    @Port("drivers/iommu/iommu.c:iommu_iova_to_phys")
    public static long iommuIovaToPhys(IommuDomain domain, long iova) {
        if (domain.type == IOMMU_DOMAIN_IDENTITY) {
            return iova;
        }
        if (domain.type == IOMMU_DOMAIN_BLOCKED) {
            return 0;
        }
        return domain.ops.iovaToPhys(domain, iova);
    }

    /**
     * Picks the largest page size usable at {@code iova}/{@code paddr} for {@code size} bytes and,
     * through {@code count[0]} (may be null), how many such pages fit before a larger size
     * becomes usable.
     */
    @Port("drivers/iommu/iommu.c:iommu_pgsize")
    static long iommuPgsize(IommuDomain domain, long iova, long paddr, long size, long[] count) {
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
    private static int __iommuMapPages(IommuDomain domain, long iova, long paddr, long size, int prot, int gfp, long[] mapped) {
        IommuOps ops = domain.ops;
        long[] count = new long[1];
        long pgsize = iommuPgsize(domain, iova, paddr, size, count);
        int ret;
        if (ops.hasMapPages()) {
            ret = ops.mapPages(domain, iova, paddr, pgsize, count[0], prot, gfp, mapped);
        } else {
            ret = ops.map(domain, iova, paddr, pgsize, prot, gfp);
            mapped[0] = ret != 0 ? 0 : pgsize;
        }
        return ret;
    }

    @Port("drivers/iommu/iommu.c:__iommu_map")
    private static int __iommuMap(IommuDomain domain, long iova, long paddr, long size, int prot, int gfp) {
        IommuOps ops = domain.ops;
        long origIova = iova;
        long origSize = size;
        long origPaddr = paddr;
        int ret = 0;

        if (!(ops.hasMap() || ops.hasMapPages()) || domain.pgsizeBitmap == 0) {
            return -ENODEV;
        }
        if ((domain.type & __IOMMU_DOMAIN_PAGING) == 0) {
            return -EINVAL;
        }
        // iova, paddr and size: all multiples of the minimum page size.
        long minPagesz = 1L << __ffs(domain.pgsizeBitmap);
        if (((iova | paddr | size) & (minPagesz - 1)) != 0) {
            Printk.prErr("unaligned: iova 0x%x pa 0x%x size 0x%x min_pagesz 0x%x", iova, paddr, size, minPagesz);
            return -EINVAL;
        }
        long[] mapped = new long[1];
        while (size != 0) {
            mapped[0] = 0;
            ret = __iommuMapPages(domain, iova, paddr, size, prot, gfp, mapped);
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
            iommuUnmap(domain, origIova, origSize - size);
        } else if (IommuTrace.map.enabled()) {
            IommuTrace.map.emit(origIova, origPaddr, origSize);
        }
        return ret;
    }

    @Port("drivers/iommu/iommu.c:_iommu_map")
    private static int _iommuMap(IommuDomain domain, long iova, long paddr, long size, int prot, int gfp) {
        IommuOps ops = domain.ops;
        int ret = __iommuMap(domain, iova, paddr, size, prot, gfp);
        if (ret == 0 && ops.hasIotlbSyncMap()) {
            ops.iotlbSyncMap(domain, iova, size);
        }
        return ret;
    }

    /**
     * Maps [iova, iova+size) to paddr, split into the page sizes of the domain. Context: may
     * sleep. 0, -ENODEV (no map op or empty bitmap), -EINVAL (not a paging domain, misaligned),
     * driver/page-table errors (-EEXIST, -ENOMEM, -ERANGE) after unwinding.
     */
    @Port("drivers/iommu/iommu.c:iommu_map")
    public static int iommuMap(IommuDomain domain, long iova, long paddr, long size, int prot) {
        return _iommuMap(domain, iova, paddr, size, prot, GFP_KERNEL);
    }

    /** {@link #iommuMap} for atomic context (GFP_ATOMIC allocations). */
    @Port("drivers/iommu/iommu.c:iommu_map_atomic")
    public static int iommuMapAtomic(IommuDomain domain, long iova, long paddr, long size, int prot) {
        return _iommuMap(domain, iova, paddr, size, prot, GFP_ATOMIC);
    }

    @Port("drivers/iommu/iommu.c:__iommu_unmap_pages")
    private static long __iommuUnmapPages(IommuDomain domain, long iova, long size, IommuIotlbGather gather) {
        IommuOps ops = domain.ops;
        long[] count = new long[1];
        long pgsize = iommuPgsize(domain, iova, iova, size, count);
        return ops.hasUnmapPages() ? ops.unmapPages(domain, iova, pgsize, count[0], gather)
                : ops.unmap(domain, iova, pgsize, gather);
    }

    @Port("drivers/iommu/iommu.c:__iommu_unmap")
    private static long __iommuUnmap(IommuDomain domain, long iova, long size, IommuIotlbGather gather) {
        IommuOps ops = domain.ops;
        long unmapped = 0;
        long origIova = iova;
        if (!(ops.hasUnmap() || ops.hasUnmapPages()) || domain.pgsizeBitmap == 0) {
            return 0;
        }
        if ((domain.type & __IOMMU_DOMAIN_PAGING) == 0) {
            return 0;
        }
        long minPagesz = 1L << __ffs(domain.pgsizeBitmap);
        if (((iova | size) & (minPagesz - 1)) != 0) {
            Printk.prErr("unaligned: iova 0x%x size 0x%x min_pagesz 0x%x", iova, size, minPagesz);
            return 0;
        }
        // Loop until size bytes are gone or an unmapped IOVA stops us.
        while (Long.compareUnsigned(unmapped, size) < 0) {
            long unmappedPage = __iommuUnmapPages(domain, iova, size - unmapped, gather);
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
    public static long iommuUnmap(IommuDomain domain, long iova, long size) {
        IommuIotlbGather gather = new IommuIotlbGather();
        long ret = __iommuUnmap(domain, iova, size, gather);
        iommuIotlbSync(domain, gather);
        return ret;
    }

    /** Unmaps without syncing: invalidations gather in {@code gather} until iommu_iotlb_sync. */
    @Port("drivers/iommu/iommu.c:iommu_unmap_fast")
    public static long iommuUnmapFast(IommuDomain domain, long iova, long size, IommuIotlbGather gather) {
        return __iommuUnmap(domain, iova, size, gather);
    }

    /** Maps a scatterlist contiguously at {@code iova}; returns bytes mapped or -errno. */
    @Port("drivers/iommu/iommu.c:__iommu_map_sg")
    private static long __iommuMapSg(IommuDomain domain, long iova, Scatterlist[] sg, int nents, int prot, int gfp) {
        IommuOps ops = domain.ops;
        long len = 0;
        long mapped = 0;
        long start = 0;
        for (int i = 0; i <= nents; i++) {
            long sPhys = i < nents ? sg[i].sgPhys() : -1L;
            if (len != 0 && (i == nents || sPhys != start + len)) {
                int ret = __iommuMap(domain, iova + mapped, start, len, prot, gfp);
                if (ret != 0) {
                    // Failure: unmap what this call mapped so far.
                    iommuUnmap(domain, iova, mapped);
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
        if (ops.hasIotlbSyncMap()) {
            ops.iotlbSyncMap(domain, iova, mapped);
        }
        return mapped;
    }

    @Port("drivers/iommu/iommu.c:iommu_map_sg")
    public static long iommuMapSg(IommuDomain domain, long iova, Scatterlist[] sg, int nents, int prot) {
        return __iommuMapSg(domain, iova, sg, nents, prot, GFP_KERNEL);
    }

    @Port("drivers/iommu/iommu.c:iommu_map_sg_atomic")
    public static long iommuMapSgAtomic(IommuDomain domain, long iova, Scatterlist[] sg, int nents, int prot) {
        return __iommuMapSg(domain, iova, sg, nents, prot, GFP_ATOMIC);
    }

    // ---- IOTLB ----

    @Port("include/linux/iommu.h:iommu_flush_iotlb_all")
    public static void iommuFlushIotlbAll(IommuDomain domain) {
        if (domain.ops.hasFlushIotlbAll()) {
            domain.ops.flushIotlbAll(domain);
        }
    }

    /** Flushes the gathered range ({@code iotlb_sync}) and resets the gather. */
    @Port("include/linux/iommu.h:iommu_iotlb_sync")
    public static void iommuIotlbSync(IommuDomain domain, IommuIotlbGather gather) {
        if (domain.ops.hasIotlbSync()) {
            domain.ops.iotlbSync(domain, gather);
        }
        gather.iommuIotlbGatherInit();
    }

    /** True if [iova, iova+size) neither overlaps nor touches the gathered range. */
    @Port("include/linux/iommu.h:iommu_iotlb_gather_is_disjoint")
    public static boolean iommuIotlbGatherIsDisjoint(IommuIotlbGather gather, long iova, long size) {
        long start = iova;
        long end = start + size - 1;
        return gather.end != 0 && (Long.compareUnsigned(end + 1, gather.start) < 0 || Long.compareUnsigned(start, gather.end + 1) > 0);
    }

    /** Grows the gathered range to include [iova, iova+size). */
    @Port("include/linux/iommu.h:iommu_iotlb_gather_add_range")
    public static void iommuIotlbGatherAddRange(IommuIotlbGather gather, long iova, long size) {
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
    public static void iommuIotlbGatherAddPage(IommuDomain domain, IommuIotlbGather gather, long iova, long size) {
        if ((gather.pgsize != 0 && gather.pgsize != size) || iommuIotlbGatherIsDisjoint(gather, iova, size)) {
            iommuIotlbSync(domain, gather);
        }
        gather.pgsize = size;
        iommuIotlbGatherAddRange(gather, iova, size);
    }

    @Port("include/linux/iommu.h:iommu_iotlb_gather_queued")
    public static boolean iommuIotlbGatherQueued(IommuIotlbGather gather) {
        return gather != null && gather.queued;
    }

    // ---------------------------------------------------------------------------------------
    // Legacy domain fault report
    // ---------------------------------------------------------------------------------------

    /** Calls the domain's fault handler. -ENOSYS when none is installed. Emits io_page_fault. */
    @Port("drivers/iommu/iommu.c:report_iommu_fault")
    public static int reportIommuFault(IommuDomain domain, Device dev, long iova, int flags) {
        int ret = -ENOSYS;
        // A handler is optional: only a domain owner that set one is told.
        if (domain.handler != null) {
            ret = domain.handler.handle(domain, dev, iova, flags, domain.handlerToken);
        }
        if (IommuTrace.io_page_fault.enabled()) {
            IommuTrace.io_page_fault.emit(dev.driverName(), dev.devName(), iova, flags);
        }
        return ret;
    }

    /**
     * Asks the driver to build the UNMANAGED {@code domain} for nesting, before its first attach.
     * 0, or -EINVAL (not an UNMANAGED domain, or the driver has no enable_nesting), or the
     * driver's -errno (-EPERM on SMMUv3 once the domain is attached).
     */
    @Port("drivers/iommu/iommu.c:iommu_enable_nesting")
    public static int iommuEnableNesting(IommuDomain domain) {
        if (domain.type != IOMMU_DOMAIN_UNMANAGED) {
            return -EINVAL;
        }
        if (!domain.ops.hasEnableNesting()) {
            return -EINVAL;
        }
        return domain.ops.enableNesting(domain);
    }

    // ---------------------------------------------------------------------------------------
    // Device fault API
    // ---------------------------------------------------------------------------------------

    /** Registers the one fault handler of {@code dev}. 0, -EINVAL (no dev_iommu), -EBUSY, -ENOMEM. */
    @Port("drivers/iommu/iommu.c:iommu_register_device_fault_handler")
    public static int iommuRegisterDeviceFaultHandler(Device dev, IommuDevFaultHandler handler, Object data) {
        DevIommu param = DevIommu.devIommu(dev);
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
    public static int iommuUnregisterDeviceFaultHandler(Device dev) {
        DevIommu param = DevIommu.devIommu(dev);
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
    public static int iommuReportDeviceFault(Device dev, IommuFaultEvent evt) {
        DevIommu param = DevIommu.devIommu(dev);
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
                if (Slab.kmallocShouldFail(GFP_KERNEL)) {
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
                IommuTrace.traceDevFault(dev, evt.fault);
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
    public static int iommuPageResponse(Device dev, IommuPageResponse msg) {
        DevIommu param = DevIommu.devIommu(dev);
        boolean hasPasid = (msg.flags & IOMMU_PAGE_RESP_PASID_VALID) != 0;
        IommuDomain domain = iommuGetDomainForDev(dev);
        if (domain == null || !domain.ops.hasPageResponse()) {
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
                DevPrintk.devWarn(dev, "no pending PRQ, drop response");
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
                ret = ops.pageResponse(dev, evt, msg);
                if (IommuTrace.dev_page_response.enabled()) {
                    IommuTrace.dev_page_response.emit(dev.devName(), msg.code, msg.pasid, msg.grpid);
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
    public static boolean iommuDevHasFeature(Device dev, int feat) {
        IommuOps ops = busOps(dev);
        if (ops != null && ops.hasDevHasFeat()) {
            return ops.devHasFeat(dev, feat);
        }
        return false;
    }

    /** Enables a device feature. 0, -ENODEV (no IOMMU / no op), driver error. */
    @Port("drivers/iommu/iommu.c:iommu_dev_enable_feature")
    public static int iommuDevEnableFeature(Device dev, int feat) {
        DevIommu param = DevIommu.devIommu(dev);
        if (param != null && param.iommuDev != null) {
            IommuOps ops = param.iommuDev.ops;
            if (ops != null && ops.hasDevEnableFeat()) {
                return ops.devEnableFeat(dev, feat);
            }
        }
        return -ENODEV;
    }

    /** Disables a device feature. 0, -EBUSY (no IOMMU / no op), driver error. */
    @Port("drivers/iommu/iommu.c:iommu_dev_disable_feature")
    public static int iommuDevDisableFeature(Device dev, int feat) {
        DevIommu param = DevIommu.devIommu(dev);
        if (param != null && param.iommuDev != null) {
            IommuOps ops = param.iommuDev.ops;
            if (ops != null && ops.hasDevDisableFeat()) {
                return ops.devDisableFeat(dev, feat);
            }
        }
        return -EBUSY;
    }

    @Port("drivers/iommu/iommu.c:iommu_dev_feature_enabled")
    public static boolean iommuDevFeatureEnabled(Device dev, int feat) {
        DevIommu param = DevIommu.devIommu(dev);
        if (param != null && param.iommuDev != null) {
            IommuOps ops = param.iommuDev.ops;
            if (ops != null && ops.hasDevFeatEnabled()) {
                return ops.devFeatEnabled(dev, feat);
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
    public int iommuAuxAttachDevice(IommuDomain domain, Device dev) {
        int ret = -ENODEV;
        if (domain.ops.hasAuxAttachDev()) {
            ret = domain.ops.auxAttachDev(domain, dev);
        }
        if (ret == 0) {
            synchronized (auxDevice) {
                auxDevice.put(domain, dev);
            }
            if (IommuTrace.attach_device_to_domain.enabled()) {
                IommuTrace.attach_device_to_domain.emit(dev.devName());
            }
        }
        return ret;
    }

    @Port(value = "drivers/iommu/iommu.c:iommu_aux_detach_device", seed = "000")
    public void iommuAuxDetachDevice(IommuDomain domain, Device dev) {
        if (domain.ops.hasAuxDetachDev()) {
            domain.ops.auxDetachDev(domain, dev);
            synchronized (auxDevice) {
                auxDevice.remove(domain, dev);
            }
            if (IommuTrace.detach_device_from_domain.enabled()) {
                IommuTrace.detach_device_from_domain.emit(dev.devName());
            }
        }
    }

    /** The PASID of aux domain {@code domain} on {@code dev}, or -errno (-ENODEV: no op). */
    @Port(value = "drivers/iommu/iommu.c:iommu_aux_get_pasid", seed = "000")
    public static int iommuAuxGetPasid(IommuDomain domain, Device dev) {
        int ret = -ENODEV;
        if (domain.ops.hasAuxGetPasid()) {
            ret = domain.ops.auxGetPasid(domain, dev);
        }
        return ret;
    }

    // ---- seed 001 adapters (2018 RFC names over the aux core) ----

    /**
     * Seed 001 {@code iommu_sva_init_device(dev, features, min_pasid, max_pasid, mm_exit)}: with
     * {@code IOMMU_SVA_FEAT_AUXD}, enables aux domains on the device (the PASID range is the
     * driver's, as in the merged API; min/max are accepted and ignored). Other feature bits:
     * -EINVAL. Adapter over {@link #iommuDevEnableFeature}.
     */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_init_device", seed = "001")
    public static int iommuSvaInitDevice(Device dev, int features, int minPasid, int maxPasid, Object mmExit) {
        if ((features & ~IOMMU_SVA_FEAT_AUXD) != 0 || features == 0) {
            return -EINVAL;
        }
        if (Integer.compareUnsigned(minPasid, maxPasid) > 0) {
            return -EINVAL;
        }
        return iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_AUX);
    }

    /** Seed 001 {@code iommu_sva_shutdown_device}: disables aux domains. Adapter. */
    @Port(value = "drivers/iommu/iommu-sva.c:iommu_sva_shutdown_device", seed = "001")
    public static int iommuSvaShutdownDevice(Device dev) {
        if (!iommuDevFeatureEnabled(dev, IOMMU_DEV_FEAT_AUX)) {
            return 0;
        }
        return iommuDevDisableFeature(dev, IOMMU_DEV_FEAT_AUX);
    }

    /**
     * Seed 001 {@code iommu_domain_get_attr(domain, DOMAIN_ATTR_AUXD_ID, &pasid)}: the aux
     * domain's PASID (from the device it was last aux-attached to) in {@code data[0]}. 0,
     * -EINVAL (other attribute, or domain not aux-attached), aux_get_pasid error.
     */
    @Port(value = "drivers/iommu/iommu.c:iommu_domain_get_attr", seed = "001")
    public int iommuDomainGetAttr(IommuDomain domain, int attr, int[] data) {
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
        int pasid = iommuAuxGetPasid(domain, dev);
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
    public static int iommuSetDevAttr(Device dev, int attr, Object data) {
        if (attr != IOMMU_DEV_ATTR_AUXD_ENABLED || !(data instanceof Boolean)) {
            return -EINVAL;
        }
        return (Boolean) data ? iommuDevEnableFeature(dev, IOMMU_DEV_FEAT_AUX)
                : iommuDevDisableFeature(dev, IOMMU_DEV_FEAT_AUX);
    }

    /** Seed 001-era {@code iommu_get_dev_attr}: AUXD capability / enabled into {@code out[0]}. */
    @Port(value = "drivers/iommu/iommu.c:iommu_get_dev_attr", seed = "001")
    public static int iommuGetDevAttr(Device dev, int attr, boolean[] out) {
        if (attr == IOMMU_DEV_ATTR_AUXD_CAPABILITY) {
            out[0] = iommuDevHasFeature(dev, IOMMU_DEV_FEAT_AUX);
            return 0;
        } else if (attr == IOMMU_DEV_ATTR_AUXD_ENABLED) {
            out[0] = iommuDevFeatureEnabled(dev, IOMMU_DEV_FEAT_AUX);
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
    public static IommuSva iommuSvaBindDevice(Device dev, Object mm, Object drvdata) {
        IommuOps ops = busOps(dev);
        if (ops == null || !ops.hasSvaBind()) {
            throw new ErrnoException(-ENODEV);
        }
        IommuGroup group = iommuGroupGet(dev);
        if (group == null) {
            throw new ErrnoException(-ENODEV);
        }
        // Group mutex: membership and domain stay fixed during the bind.
        group.mutex.lock();
        try {
            // SVA does not support groups of more than one device.
            if (iommuGroupDeviceCount(group) != 1) {
                throw new ErrnoException(-EINVAL);
            }
            return ops.svaBind(dev, mm, drvdata);
        } finally {
            group.mutex.unlock();
            iommuGroupPut(group);
        }
    }

    /** Drops a bond. The device must have stopped DMA on the PASID and flushed page requests. */
    @Port("drivers/iommu/iommu.c:iommu_sva_unbind_device")
    public static void iommuSvaUnbindDevice(IommuSva handle) {
        Device dev = handle.dev;
        IommuOps ops = busOps(dev);
        if (ops == null || !ops.hasSvaUnbind()) {
            return;
        }
        IommuGroup group = iommuGroupGet(dev);
        if (group == null) {
            return;
        }
        group.mutex.lock();
        try {
            ops.svaUnbind(handle);
        } finally {
            group.mutex.unlock();
            iommuGroupPut(group);
        }
    }

    @Port("drivers/iommu/iommu.c:iommu_sva_get_pasid")
    public static int iommuSvaGetPasid(IommuSva handle) {
        IommuOps ops = busOps(handle.dev);
        if (ops == null || !ops.hasSvaGetPasid()) {
            return IOMMU_PASID_INVALID;
        }
        return ops.svaGetPasid(handle);
    }

    // ---------------------------------------------------------------------------------------
    // Seed 003: DMA API with PASID
    // ---------------------------------------------------------------------------------------

    /**
     * Seed 003 v2 {@code iommu_set_dev_pasid_max}: records {@code max} as given (VT-d passes
     * {@code pci_max_pasids()}). A device without dev_iommu is a caller bug: WARN, nothing set.
     */
    @Port(value = "include/linux/iommu.h:iommu_set_dev_pasid_max", seed = "003")
    public static void iommuSetDevPasidMax(Device dev, int max) {
        DevIommu param = DevIommu.devIommu(dev);
        if (Warn.WARN_ON(param == null)) {
            return;
        }
        param.pasidMax = max;
    }

    /**
     * Seed 003 v2 {@code iommu_get_dev_pasid_max}: the value iommu_set_dev_pasid_max recorded.
     * When none was (v3 drivers give a width instead), the largest PASID of
     * {@code dev_iommu.pasid_bits}; 0 = no PASID. No dev_iommu: WARN and 0.
     */
    @Port(value = "include/linux/iommu.h:iommu_get_dev_pasid_max", seed = "003")
    public static int iommuGetDevPasidMax(Device dev) {
        DevIommu param = DevIommu.devIommu(dev);
        if (Warn.WARN_ON(param == null)) {
            return 0;
        }
        if (param.pasidMax != 0) {
            return param.pasidMax;
        }
        if (param.pasidBits == 0) {
            return 0;
        }
        return param.pasidBits >= 31 ? Integer.MAX_VALUE : (1 << param.pasidBits) - 1;
    }

    /**
     * Seed 003 v3: lets {@code dev} issue DMA API traffic tagged with a PASID. The first device of
     * a DMA domain allocates the domain's one PASID (ioasid, range [1, max] with max from
     * {@link #iommuGetDevPasidMax}: the v2 pasid_max, else 2^pasid_bits - 1); the domain op
     * attach_dev_pasid makes PASID-tagged requests translate exactly as untagged ones (IOVA
     * table or bypass). On success {@code pasid[0]} holds the PASID.
     * Returns 0; -ENODEV (no current domain or no attach_dev_pasid op); -EPERM (UNMANAGED or
     * BLOCKED domain); -EINVAL (device has no PASID bits); -ENOMEM (no PASID); driver error.
     */
    @Port(value = "drivers/iommu/dma-iommu.c:iommu_attach_dma_pasid", seed = "003")
    public int iommuAttachDmaPasid(Device dev, int[] pasid) {
        IommuDomain dom = iommuGetDomainForDev(dev);
        if (dom == null || dom.ops == null || !dom.ops.hasAttachDevPasid()) {
            return -ENODEV;
        }
        // UNMANAGED and BLOCKED domains never carry DMA API mappings: -EPERM.
        if (dom.type == IOMMU_DOMAIN_UNMANAGED || dom.type == IOMMU_DOMAIN_BLOCKED) {
            DevPrintk.devWarn(dev, "Invalid domain type %d", dom.type);
            return -EPERM;
        }
        iommuDmaLock.lock();
        try {
            int id = dom.pasid;
            boolean fresh = false;
            if (id == 0) {
                // The domain has no PASID yet: take one for the whole domain (all its devices share it, so one IOTLB tag).
                int max = iommuGetDevPasidMax(dev);
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
            int ret = dom.ops.attachDevPasid(dom, dev, id);
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
    public void iommuDetachDmaPasid(Device dev) {
        IommuDomain dom = iommuGetDomainForDev(dev);
        if (Warn.WARN_ON(dom == null || dom.ops == null || !dom.ops.hasDetachDevPasid())) {
            return;
        }
        iommuDmaLock.lock();
        try {
            int pasid = dom.pasid;
            if (pasid == 0 || pasid == -1 || dom.pasidUsers == 0) {
                return;
            }
            dom.ops.detachDevPasid(dom, dev, pasid);
            if (--dom.pasidUsers == 0) {
                pasidSource.free(pasid);
                dom.pasid = 0;
            }
        } finally {
            iommuDmaLock.unlock();
        }
    }

    /** Seed 003 v2 name of {@link #iommuAttachDmaPasid}. */
    @Port(value = "drivers/iommu/dma-iommu.c:iommu_enable_pasid_dma", seed = "003")
    public int iommuEnablePasidDma(Device dev, int[] pasid) {
        return iommuAttachDmaPasid(dev, pasid);
    }

    /** Seed 003 v2 name of {@link #iommuDetachDmaPasid}; {@code pasid} must be the one enabled. */
    @Port(value = "drivers/iommu/dma-iommu.c:iommu_disable_pasid_dma", seed = "003")
    public void iommuDisablePasidDma(Device dev, int pasid) {
        IommuDomain dom = iommuGetDomainForDev(dev);
        if (dom != null && Warn.WARN_ON(dom.pasid != pasid)) {
            return;
        }
        iommuDetachDmaPasid(dev);
    }
}
