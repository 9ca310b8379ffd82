/**
 * drivers/iommu/ioasid.c and include/linux/ioasid.h: the I/O Address Space ID (PASID) allocator of
 * v5.11 with the IOASID set API of seed 002. Entry point: {@link org.iommu4j.ioasid.Ioasid}, one
 * instance per simulated kernel. Method names keep the kernel's snake_case for greppability.
 */
package org.iommu4j.ioasid;
