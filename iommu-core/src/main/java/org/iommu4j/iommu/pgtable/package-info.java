/**
 * io-pgtable.c and io-pgtable-arm.c (v5.15): {@link org.iommu4j.iommu.pgtable.IoPgtable#allocIoPgtableOps},
 * the configuration ({@link org.iommu4j.iommu.pgtable.IoPgtableCfg}), the driver's TLB callbacks
 * ({@link org.iommu4j.iommu.pgtable.IommuFlushOps}) and the VMSAv8-64 LPAE formats writing real
 * descriptors into simulated physical memory, with the kernel's selftest
 * ({@link org.iommu4j.iommu.pgtable.IoPgtableArmSelftest}).
 */
package org.iommu4j.iommu.pgtable;
