/**
 * drivers/of for iommu4j: flattened device trees, the {@code of_*} API the IOMMU bindings are read with.
 *
 * <h2>Public API (stable; iommu-core and platform code against it)</h2>
 * <ul>
 * <li>{@link org.iommu4j.of.Fdt}: {@code Fdt.parse(byte[])} (validating DTB v17 reader;
 *     {@code root()}, {@code memreserve()}, {@code bootCpuidPhys()}), {@code toBytes()} /
 *     {@code Fdt.flatten(root)} (writer), {@code Fdt.of_fdt_unflatten_tree(byte[])},
 *     {@code Fdt.bundledVirtSmmuv3()} (QEMU virt + SMMUv3 blob the platform boots from).</li>
 * <li>{@link org.iommu4j.of.Dts}: {@code Dts.parse(String)} (DTS source subset -> Fdt),
 *     {@code Dts.format(Fdt)}.</li>
 * <li>{@link org.iommu4j.of.DeviceNode} ({@code struct device_node}: name, full_name, phandle,
 *     parent, properties(), children(), path(); {@code DeviceNode.root()}, addChild,
 *     setProperty for building trees) and {@link org.iommu4j.of.Property}.</li>
 * <li>{@link org.iommu4j.of.Of}: the of_* functions. Searches that use the kernel global
 *     {@code of_root} are instance methods ({@code new Of(root).of_find_node_by_path(p)},
 *     {@code of_find_compatible_node(from, type, compat)}, {@code of_find_node_by_phandle});
 *     everything taking a node is static ({@code Of.of_property_read_u32(np, name, int[] out)},
 *     {@code Of.of_parse_phandle_with_args(np, "iommus", "#iommu-cells", i, OfPhandleArgs)},
 *     {@code Of.of_map_id(np, id, "iommu-map", "iommu-map-mask", DeviceNode[] target, int[] idOut)},
 *     {@code Of.of_address_to_resource(np, i, Resource[] r)}, ...). Out-parameters are
 *     one-element arrays; int results are 0 / -errno.</li>
 * <li>{@link org.iommu4j.of.OfPhandleArgs}: {@code np}, {@code args_count}, {@code args[]}.</li>
 * <li>{@link org.iommu4j.of.OfIrq}: interrupt parsing; numbers are GIC <em>hwirqs</em> (SPI n ->
 *     n + 32, PPI n -> n + 16): {@code of_irq_get}, {@code of_irq_get_byname},
 *     {@code of_irq_to_resource}.</li>
 * <li>{@link org.iommu4j.of.OfPlatform}: {@code of_platform_default_populate(root, parent, out)}
 *     creates {@link org.iommu4j.base.device.PlatformDevice}s with MEM + IRQ (hwirq) resources
 *     and {@code ofNode} set; the caller registers them.</li>
 * </ul>
 * Malformed input (blob or source) gives {@link org.iommu4j.of.DeviceTreeException}.
 */
package org.iommu4j.of;
