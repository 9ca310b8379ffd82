package org.iommu4j.base.device;

import org.iommu4j.base.Port;

/**
 * {@code struct resource_entry} (include/linux/resource_ext.h): a resource on a list, with the
 * offset from the address the bus sees to the resource's address (for a PCI host bridge
 * window: CPU address minus PCI bus address).
 */
@Port("include/linux/resource_ext.h:resource_entry")
public record ResourceEntry(Resource res, long offset) {}
