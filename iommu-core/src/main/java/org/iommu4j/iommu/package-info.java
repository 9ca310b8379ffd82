/**
 * The IOMMU core (drivers/iommu of Linux v5.15 plus the seed series): {@link org.iommu4j.iommu.Iommu}
 * (iommu.c as an instance per simulated machine), the ops interface drivers implement
 * ({@link org.iommu4j.iommu.IommuOps}), domains, groups, fwspec, the fault uapi, iova.c
 * ({@link org.iommu4j.iommu.IovaDomain}), dma-iommu.c ({@link org.iommu4j.iommu.DmaIommu}) and
 * of_iommu.c ({@link org.iommu4j.iommu.OfIommu}).
 *
 * <p>Naming, one rule for the project (DESIGN.md): ported functions and ops members are the
 * kernel's names in camelCase ({@code iommu_map} is {@code iommuMap}, {@code attach_dev} is
 * {@code attachDev}); an optional op {@code fooBar} pairs with {@code hasFooBar()} (default false) and the core tests it where the kernel tests the pointer;
 * struct fields are camelCase ({@code pgsizeBitmap}); constants keep their kernel names.
 */
package org.iommu4j.iommu;
