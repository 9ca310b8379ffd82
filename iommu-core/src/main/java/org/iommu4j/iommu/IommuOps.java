package org.iommu4j.iommu;

import java.util.List;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;

/**
 * {@code struct iommu_ops} (include/linux/iommu.h, v5.15 member order; v5.15 has no separate
 * {@code iommu_domain_ops}, so domain callbacks live here).
 *
 * <p>Naming: members are the kernel's names in camelCase ({@code attach_dev} is {@code attachDev}).
 * An op the kernel allows to be NULL is a default method paired with {@code has<Op>()} returning
 * false; a driver that implements the op
 * overrides both (a reflective test checks the pairs). The core tests {@code has<Op>()} where
 * the kernel tests the pointer, and reacts as the kernel does to NULL. Ops the core calls
 * without a NULL check in v5.15 (domain_alloc, domain_free, iova_to_phys, probe_device,
 * release_device, device_group, pgsize_bitmap) are abstract.
 *
 * <p>Not carried over from v5.15 (never used by this stack): {@code set_pgtable_quirks},
 * {@code apply_resv_region}, {@code cache_invalidate}, {@code sva_bind_gpasid}/{@code sva_unbind_gpasid}.
 * {@code enable_nesting} is here: on SMMUv3 it only turns a domain not yet attached into a
 * stage-2 one, as v5.15 does; v5.15 has no guest stage-1 (cache_invalidate, bind_gpasid) behind it.
 */
@Port("include/linux/iommu.h:iommu_ops")
public interface IommuOps {
    /** Whether the IOMMU offers IOMMU_CAP_* {@code cap}. */
    default boolean capable(int cap) {
        return false;
    }

    default boolean hasCapable() {
        return false;
    }

    /** A new domain of IOMMU_DOMAIN_* {@code type}; null on failure or unsupported type. */
    IommuDomain domainAlloc(int type);

    /** Releases a domain this driver allocated. */
    void domainFree(IommuDomain domain);

    /** Puts {@code dev}'s translation under {@code domain}. Returns 0 or -errno (-EINVAL = incompatible). */
    default int attachDev(IommuDomain domain, Device dev) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean hasAttachDev() {
        return false;
    }

    /** Takes {@code dev} out of {@code domain}. */
    default void detachDev(IommuDomain domain, Device dev) {}

    default boolean hasDetachDev() {
        return false;
    }

    /** Maps one page of {@code size} bytes at {@code iova} to {@code paddr}. */
    default int map(IommuDomain domain, long iova, long paddr, long size, int prot, int gfp) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean hasMap() {
        return false;
    }

    /**
     * Map {@code pgcount} pages of {@code pgsize}; {@code mapped[0]} receives the bytes mapped,
     * even on error (the core unwinds them). Context: may be atomic when gfp is GFP_ATOMIC.
     */
    default int mapPages(IommuDomain domain, long iova, long paddr, long pgsize, long pgcount, int prot, int gfp, long[] mapped) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean hasMapPages() {
        return false;
    }

    /** Removes one page of {@code size}; returns bytes unmapped (0 on failure). */
    default long unmap(IommuDomain domain, long iova, long size, IommuIotlbGather gather) {
        return 0;
    }

    default boolean hasUnmap() {
        return false;
    }

    /** Removes {@code pgcount} pages of {@code pgsize}; returns bytes unmapped. */
    default long unmapPages(IommuDomain domain, long iova, long pgsize, long pgcount, IommuIotlbGather gather) {
        return 0;
    }

    default boolean hasUnmapPages() {
        return false;
    }

    /** Invalidates every TLB entry of the domain and waits for completion. */
    default void flushIotlbAll(IommuDomain domain) {}

    default boolean hasFlushIotlbAll() {
        return false;
    }

    /** Makes mappings just created visible to the IOMMU (for hardware that caches misses). */
    default void iotlbSyncMap(IommuDomain domain, long iova, long size) {}

    default boolean hasIotlbSyncMap() {
        return false;
    }

    /** Invalidates what {@code gather} collected, waits for it, and leaves the gather empty. */
    default void iotlbSync(IommuDomain domain, IommuIotlbGather gather) {}

    default boolean hasIotlbSync() {
        return false;
    }

    /** The physical address {@code iova} maps to (0 if not mapped). */
    long iovaToPhys(IommuDomain domain, long iova);

    /** Takes {@code dev} under this driver; throws ErrnoException (ERR_PTR) on failure. */
    IommuDevice probeDevice(Device dev) throws ErrnoException;

    /** Releases the driver's state for {@code dev}. */
    void releaseDevice(Device dev);

    /** Last probe step, once {@code dev} has a group and is attached to its domain. */
    default void probeFinalize(Device dev) {}

    default boolean hasProbeFinalize() {
        return false;
    }

    /** The group {@code dev} belongs in (existing or new); throws ErrnoException on failure. */
    IommuGroup deviceGroup(Device dev) throws ErrnoException;

    /**
     * Asks that {@code domain}, not yet attached, be built for nested translation (on SMMUv3 a
     * stage-2 domain). Context: may sleep. Returns 0 or -errno (-EPERM once attached).
     */
    default int enableNesting(IommuDomain domain) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean hasEnableNesting() {
        return false;
    }

    /** Appends {@code dev}'s reserved IOVA regions to {@code list}. */
    default void getResvRegions(Device dev, List<IommuResvRegion> list) {}

    default boolean hasGetResvRegions() {
        return false;
    }

    /** Releases regions handed out by get_resv_regions. */
    default void putResvRegions(Device dev, List<IommuResvRegion> list) {}

    default boolean hasPutResvRegions() {
        return false;
    }

    /** Adds the IDs of one DT {@code iommus}/{@code iommu-map} specifier to the fwspec. Returns 0 or -errno. */
    default int ofXlate(Device dev, org.iommu4j.of.OfPhandleArgs args) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean hasOfXlate() {
        return false;
    }

    /** Whether the default-domain attach waits until {@code dev}'s driver binds. */
    default boolean isAttachDeferred(IommuDomain domain, Device dev) {
        return false;
    }

    default boolean hasIsAttachDeferred() {
        return false;
    }

    /** Check whether a device has IOMMU_DEV_FEAT_* {@code f}. */
    default boolean devHasFeat(Device dev, int f) {
        return false;
    }

    default boolean hasDevHasFeat() {
        return false;
    }

    default boolean devFeatEnabled(Device dev, int f) {
        return false;
    }

    default boolean hasDevFeatEnabled() {
        return false;
    }

    default int devEnableFeat(Device dev, int f) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean hasDevEnableFeat() {
        return false;
    }

    default int devDisableFeat(Device dev, int f) {
        return -org.iommu4j.base.Errno.EBUSY;
    }

    default boolean hasDevDisableFeat() {
        return false;
    }

    /** Attaches an aux domain beside the device's primary domain (seed 000 / v5.2-v5.17). */
    default int auxAttachDev(IommuDomain domain, Device dev) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean hasAuxAttachDev() {
        return false;
    }

    default void auxDetachDev(IommuDomain domain, Device dev) {}

    default boolean hasAuxDetachDev() {
        return false;
    }

    /** PASID of the aux domain on {@code dev}, or -errno. */
    default int auxGetPasid(IommuDomain domain, Device dev) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean hasAuxGetPasid() {
        return false;
    }

    /**
     * Bind process address space {@code mm} (an mm-model {@code MmStruct}, opaque to the core) to
     * device; throws ErrnoException (ERR_PTR).
     */
    default IommuSva svaBind(Device dev, Object mm, Object drvdata) throws ErrnoException {
        throw new ErrnoException(-org.iommu4j.base.Errno.ENODEV);
    }

    default boolean hasSvaBind() {
        return false;
    }

    default void svaUnbind(IommuSva handle) {}

    default boolean hasSvaUnbind() {
        return false;
    }

    default int svaGetPasid(IommuSva handle) {
        return IommuH.IOMMU_PASID_INVALID;
    }

    default boolean hasSvaGetPasid() {
        return false;
    }

    /** Completes a page request group (or resumes a stall) in hardware. Returns 0 or -errno. */
    default int pageResponse(Device dev, IommuFaultEvent evt, IommuPageResponse msg) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean hasPageResponse() {
        return false;
    }

    /** The default domain type {@code dev} needs (0 = no preference). */
    default int defDomainType(Device dev) {
        return 0;
    }

    default boolean hasDefDomainType() {
        return false;
    }

    /** Attach {@code domain}'s translation to {@code dev} at {@code pasid} (seed 003 v3; later upstream set_dev_pasid). */
    @Port(value = "include/linux/iommu.h:iommu_ops.attach_dev_pasid", seed = "003")
    default int attachDevPasid(IommuDomain domain, Device dev, int pasid) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean hasAttachDevPasid() {
        return false;
    }

    @Port(value = "include/linux/iommu.h:iommu_ops.detach_dev_pasid", seed = "003")
    default void detachDevPasid(IommuDomain domain, Device dev, int pasid) {}

    default boolean hasDetachDevPasid() {
        return false;
    }

    /** Every page size the driver could use, as a bitmap. */
    long pgsizeBitmap();

    /** Owning module (for try_module_get); null = built-in. */
    default Object owner() {
        return null;
    }
}
