package org.iommu4j.iommu;

import java.util.List;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;

/**
 * {@code struct iommu_ops} (include/linux/iommu.h, v5.15 member order; v5.15 has no separate
 * {@code iommu_domain_ops}, so domain callbacks live here).
 *
 * <p>Naming: members keep the kernel's snake_case names. An op the kernel allows to be NULL is a
 * default method paired with {@code has_<op>()} returning false; a driver that implements the op
 * overrides both (a reflective test checks the pairs). The core tests {@code has_<op>()} where
 * the kernel tests the pointer, and reacts as the kernel does to NULL. Ops the core calls
 * without a NULL check in v5.15 (domain_alloc, domain_free, iova_to_phys, probe_device,
 * release_device, device_group, pgsize_bitmap) are abstract.
 *
 * <p>Not carried over from v5.15 (never used by this stack): {@code enable_nesting},
 * {@code set_pgtable_quirks}, {@code apply_resv_region}, {@code cache_invalidate},
 * {@code sva_bind_gpasid}/{@code sva_unbind_gpasid}.
 */
@Port("include/linux/iommu.h:iommu_ops")
public interface IommuOps {
    /** Whether the IOMMU offers IOMMU_CAP_* {@code cap}. */
    default boolean capable(int cap) {
        return false;
    }

    default boolean has_capable() {
        return false;
    }

    /** A new domain of IOMMU_DOMAIN_* {@code type}; null on failure or unsupported type. */
    IommuDomain domain_alloc(int type);

    /** Releases a domain this driver allocated. */
    void domain_free(IommuDomain domain);

    /** Puts {@code dev}'s translation under {@code domain}. Returns 0 or -errno (-EINVAL = incompatible). */
    default int attach_dev(IommuDomain domain, Device dev) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean has_attach_dev() {
        return false;
    }

    /** Takes {@code dev} out of {@code domain}. */
    default void detach_dev(IommuDomain domain, Device dev) {}

    default boolean has_detach_dev() {
        return false;
    }

    /** Maps one page of {@code size} bytes at {@code iova} to {@code paddr}. */
    default int map(IommuDomain domain, long iova, long paddr, long size, int prot, int gfp) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean has_map() {
        return false;
    }

    /**
     * Map {@code pgcount} pages of {@code pgsize}; {@code mapped[0]} receives the bytes mapped,
     * even on error (the core unwinds them). Context: may be atomic when gfp is GFP_ATOMIC.
     */
    default int map_pages(IommuDomain domain, long iova, long paddr, long pgsize, long pgcount, int prot, int gfp, long[] mapped) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean has_map_pages() {
        return false;
    }

    /** Removes one page of {@code size}; returns bytes unmapped (0 on failure). */
    default long unmap(IommuDomain domain, long iova, long size, IommuIotlbGather gather) {
        return 0;
    }

    default boolean has_unmap() {
        return false;
    }

    /** Removes {@code pgcount} pages of {@code pgsize}; returns bytes unmapped. */
    default long unmap_pages(IommuDomain domain, long iova, long pgsize, long pgcount, IommuIotlbGather gather) {
        return 0;
    }

    default boolean has_unmap_pages() {
        return false;
    }

    /** Invalidates every TLB entry of the domain and waits for completion. */
    default void flush_iotlb_all(IommuDomain domain) {}

    default boolean has_flush_iotlb_all() {
        return false;
    }

    /** Makes mappings just created visible to the IOMMU (for hardware that caches misses). */
    default void iotlb_sync_map(IommuDomain domain, long iova, long size) {}

    default boolean has_iotlb_sync_map() {
        return false;
    }

    /** Invalidates what {@code gather} collected, waits for it, and leaves the gather empty. */
    default void iotlb_sync(IommuDomain domain, IommuIotlbGather gather) {}

    default boolean has_iotlb_sync() {
        return false;
    }

    /** The physical address {@code iova} maps to (0 if not mapped). */
    long iova_to_phys(IommuDomain domain, long iova);

    /** Takes {@code dev} under this driver; throws ErrnoException (ERR_PTR) on failure. */
    IommuDevice probe_device(Device dev) throws ErrnoException;

    /** Releases the driver's state for {@code dev}. */
    void release_device(Device dev);

    /** Last probe step, once {@code dev} has a group and is attached to its domain. */
    default void probe_finalize(Device dev) {}

    default boolean has_probe_finalize() {
        return false;
    }

    /** The group {@code dev} belongs in (existing or new); throws ErrnoException on failure. */
    IommuGroup device_group(Device dev) throws ErrnoException;

    /** Appends {@code dev}'s reserved IOVA regions to {@code list}. */
    default void get_resv_regions(Device dev, List<IommuResvRegion> list) {}

    default boolean has_get_resv_regions() {
        return false;
    }

    /** Releases regions handed out by get_resv_regions. */
    default void put_resv_regions(Device dev, List<IommuResvRegion> list) {}

    default boolean has_put_resv_regions() {
        return false;
    }

    /** Adds the IDs of one DT {@code iommus}/{@code iommu-map} specifier to the fwspec. Returns 0 or -errno. */
    default int of_xlate(Device dev, org.iommu4j.of.OfPhandleArgs args) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean has_of_xlate() {
        return false;
    }

    /** Whether the default-domain attach waits until {@code dev}'s driver binds. */
    default boolean is_attach_deferred(IommuDomain domain, Device dev) {
        return false;
    }

    default boolean has_is_attach_deferred() {
        return false;
    }

    /** Check whether a device has IOMMU_DEV_FEAT_* {@code f}. */
    default boolean dev_has_feat(Device dev, int f) {
        return false;
    }

    default boolean has_dev_has_feat() {
        return false;
    }

    default boolean dev_feat_enabled(Device dev, int f) {
        return false;
    }

    default boolean has_dev_feat_enabled() {
        return false;
    }

    default int dev_enable_feat(Device dev, int f) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean has_dev_enable_feat() {
        return false;
    }

    default int dev_disable_feat(Device dev, int f) {
        return -org.iommu4j.base.Errno.EBUSY;
    }

    default boolean has_dev_disable_feat() {
        return false;
    }

    /** Attaches an aux domain beside the device's primary domain (seed 000 / v5.2-v5.17). */
    default int aux_attach_dev(IommuDomain domain, Device dev) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean has_aux_attach_dev() {
        return false;
    }

    default void aux_detach_dev(IommuDomain domain, Device dev) {}

    default boolean has_aux_detach_dev() {
        return false;
    }

    /** PASID of the aux domain on {@code dev}, or -errno. */
    default int aux_get_pasid(IommuDomain domain, Device dev) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean has_aux_get_pasid() {
        return false;
    }

    /**
     * Bind process address space {@code mm} (an mm-model {@code MmStruct}, opaque to the core) to
     * device; throws ErrnoException (ERR_PTR).
     */
    default IommuSva sva_bind(Device dev, Object mm, Object drvdata) throws ErrnoException {
        throw new ErrnoException(-org.iommu4j.base.Errno.ENODEV);
    }

    default boolean has_sva_bind() {
        return false;
    }

    default void sva_unbind(IommuSva handle) {}

    default boolean has_sva_unbind() {
        return false;
    }

    default int sva_get_pasid(IommuSva handle) {
        return IommuH.IOMMU_PASID_INVALID;
    }

    default boolean has_sva_get_pasid() {
        return false;
    }

    /** Completes a page request group (or resumes a stall) in hardware. Returns 0 or -errno. */
    default int page_response(Device dev, IommuFaultEvent evt, IommuPageResponse msg) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean has_page_response() {
        return false;
    }

    /** The default domain type {@code dev} needs (0 = no preference). */
    default int def_domain_type(Device dev) {
        return 0;
    }

    default boolean has_def_domain_type() {
        return false;
    }

    /** Attach {@code domain}'s translation to {@code dev} at {@code pasid} (seed 003 v3; later upstream set_dev_pasid). */
    @Port(value = "include/linux/iommu.h:iommu_ops.attach_dev_pasid", seed = "003")
    default int attach_dev_pasid(IommuDomain domain, Device dev, int pasid) {
        return -org.iommu4j.base.Errno.ENODEV;
    }

    default boolean has_attach_dev_pasid() {
        return false;
    }

    @Port(value = "include/linux/iommu.h:iommu_ops.detach_dev_pasid", seed = "003")
    default void detach_dev_pasid(IommuDomain domain, Device dev, int pasid) {}

    default boolean has_detach_dev_pasid() {
        return false;
    }

    /** Every page size the driver could use, as a bitmap. */
    long pgsize_bitmap();

    /** Owning module (for try_module_get); null = built-in. */
    default Object owner() {
        return null;
    }
}
