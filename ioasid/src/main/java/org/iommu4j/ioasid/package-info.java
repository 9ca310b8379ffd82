/**
 * drivers/iommu/ioasid.c and include/linux/ioasid.h: the I/O Address Space ID (PASID) allocator of
 * v5.11 with the IOASID set API of seed 002. Entry point: {@link org.iommu4j.ioasid.Ioasid}, one
 * instance per simulated kernel. Method names are the kernel's in camelCase
 * ({@code ioasid_alloc} is {@code ioasidAlloc}); each carries the kernel symbol in its
 * {@code @Port}, which {@code iommu-sim xref ioasid_alloc} looks up.
 */
package org.iommu4j.ioasid;
