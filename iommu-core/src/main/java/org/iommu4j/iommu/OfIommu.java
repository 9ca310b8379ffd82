package org.iommu4j.iommu;

import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.EPROBE_DEFER;

import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Port;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.Device;
import org.iommu4j.of.DeviceNode;
import org.iommu4j.of.Of;
import org.iommu4j.of.OfPhandleArgs;

/**
 * drivers/iommu/of_iommu.c (v5.15) plus the seed properties: fills a device's fwspec from its
 * device-tree node — {@code iommus = <&iommu args...>} for platform devices,
 * {@code iommu-map}/{@code iommu-map-mask} on the host bridge for PCI functions (their RID
 * through {@code of_map_id}) — then probes the device with the IOMMU core.
 *
 * <p>The IOMMU's firmware node is its {@link DeviceNode} (the kernel's {@code &np->fwnode}):
 * {@link Iommu#iommu_device_register} must be given a hardware device whose {@code ofNode} (or
 * {@code fwnode}) is that node. Seed additions for platform devices: {@code pasid-num-bits}
 * (seed 000) into {@code fwspec.numPasidBits} and {@code dma-can-stall} (seed 004) into
 * {@code fwspec.canStall}; for PCI, the host bridge's {@code ats-supported} sets
 * IOMMU_FWSPEC_PCI_RC_ATS. PCI DMA aliases are not modelled: a function's only alias is its
 * own RID.
 */
@Port("drivers/iommu/of_iommu.c:of_iommu_configure")
public final class OfIommu {
    /** {@code NO_IOMMU}: a positive "success, but no IOMMU" result. */
    static final int NO_IOMMU = 1;

    private final Iommu iommu;

    public OfIommu(Iommu iommu) {
        this.iommu = iommu;
    }

    @Port("drivers/iommu/of_iommu.c:of_iommu_xlate")
    private int of_iommu_xlate(Device dev, OfPhandleArgs iommuSpec) {
        Object fwnode = iommuSpec.np;
        IommuOps ops = iommu.iommu_ops_from_fwnode(fwnode);
        if ((ops != null && !ops.has_of_xlate()) || !Of.of_device_is_available(iommuSpec.np)) {
            return NO_IOMMU;
        }
        int ret = Iommu.iommu_fwspec_init(dev, fwnode, ops);
        if (ret != 0) {
            return ret;
        }
        // No driver for that node yet: the fwspec stays (fwnode only) and the probe is deferred.
        if (ops == null) {
            return driver_deferred_probe_check_state(dev);
        }
        return ops.of_xlate(dev, iommuSpec);
    }

    /** The IOMMU driver is not there yet: defer (deferred probing never times out here). */
    @Port("drivers/base/dd.c:driver_deferred_probe_check_state")
    private static int driver_deferred_probe_check_state(Device dev) {
        return -EPROBE_DEFER;
    }

    @Port("drivers/iommu/of_iommu.c:of_iommu_configure_dev_id")
    private int of_iommu_configure_dev_id(DeviceNode masterNp, Device dev, int id) {
        OfPhandleArgs iommuSpec = new OfPhandleArgs();
        iommuSpec.args_count = 1;
        DeviceNode[] target = {null};
        int[] out = {0};
        int err = Of.of_map_id(masterNp, id, "iommu-map", "iommu-map-mask", target, out);
        if (err != 0) {
            return err == -ENODEV ? NO_IOMMU : err;
        }
        if (target[0] == null) {
            return NO_IOMMU; // pass-through: no entry matched
        }
        iommuSpec.np = target[0];
        iommuSpec.args[0] = out[0];
        return of_iommu_xlate(dev, iommuSpec);
    }

    @Port("drivers/iommu/of_iommu.c:of_iommu_configure_dev")
    private int of_iommu_configure_dev(DeviceNode masterNp, Device dev) {
        OfPhandleArgs iommuSpec = new OfPhandleArgs();
        int err = NO_IOMMU;
        int idx = 0;
        while (Of.of_parse_phandle_with_args(masterNp, "iommus", "#iommu-cells", idx, iommuSpec) == 0) {
            err = of_iommu_xlate(dev, iommuSpec);
            idx++;
            if (err != 0) {
                break;
            }
        }
        return err;
    }

    @Port("drivers/iommu/of_iommu.c:of_iommu_configure_device")
    private int of_iommu_configure_device(DeviceNode masterNp, Device dev, int[] id) {
        return id != null ? of_iommu_configure_dev_id(masterNp, dev, id[0]) : of_iommu_configure_dev(masterNp, dev);
    }

    /** {@code pci_for_each_dma_alias} with {@code of_pci_iommu_init}: the function's own RID. */
    @Port("drivers/iommu/of_iommu.c:of_pci_iommu_init")
    private int of_pci_iommu_init(Device dev, DeviceNode np) {
        org.iommu4j.pci.PciDev pdev = (org.iommu4j.pci.PciDev) dev;
        int alias = org.iommu4j.pci.Pci.pci_dev_id(pdev);
        return of_iommu_configure_dev_id(np, dev, alias);
    }

    @Port("drivers/iommu/iommu.c:device_iommu_mapped")
    static boolean device_iommu_mapped(Device dev) {
        return dev.iommuGroup != null;
    }

    /**
     * Configures {@code dev}'s IOMMU from {@code masterNp} (the device's node, or the host
     * bridge's for PCI); {@code id} (nullable, one element) selects {@code iommu-map} translation
     * of that ID instead of {@code iommus}. Returns the IOMMU ops, or null when there is no
     * (usable) IOMMU or on error (logged at debug); throws ErrnoException(-EPROBE_DEFER) when the
     * IOMMU's driver has not registered yet.
     */
    @Port("drivers/iommu/of_iommu.c:of_iommu_configure")
    public IommuOps of_iommu_configure(Device dev, DeviceNode masterNp, int[] id) {
        IommuFwspec fwspec = Iommu.dev_iommu_fwspec_get(dev);
        int err;
        if (masterNp == null) {
            return null;
        }
        if (fwspec != null) {
            if (fwspec.ops != null) {
                return fwspec.ops;
            }
            // a fwspec left by a deferred probe has no ops: drop it and build it anew
            Iommu.iommu_fwspec_free(dev);
        }
        // Only the master's own node counts: iommus/iommu-map of ancestors are not inherited (bindings/iommu/iommu.txt, Notes).
        if (DmaIommu.dev_is_pci(dev) && dev instanceof org.iommu4j.pci.PciDev pdev) {
            // v5.15 asks the PCI core for ACS here; enumeration enables it only on functions added
            // from now on (those already scanned keep their ACS control as it is)
            pdev.pciBus.pci.pci_request_acs();
            err = of_pci_iommu_init(dev, masterNp);
            fwspec = Iommu.dev_iommu_fwspec_get(dev);
            if (fwspec != null && Of.of_property_read_bool(masterNp, "ats-supported")) {
                fwspec.flags |= IommuH.IOMMU_FWSPEC_PCI_RC_ATS;
            }
        } else {
            err = of_iommu_configure_device(masterNp, dev, id);
            fwspec = Iommu.dev_iommu_fwspec_get(dev);
            if (err == 0 && fwspec != null) {
                int[] bits = {0};
                if (Of.of_property_read_u32(masterNp, "pasid-num-bits", bits) == 0) {
                    fwspec.numPasidBits = bits[0];
                }
                fwspec.canStall = Of.of_property_read_bool(masterNp, "dma-can-stall");
            }
        }
        // err is positive when there is no usable IOMMU (not an error), 0 when the fwspec is
        // complete, negative on failure
        IommuOps ops = null;
        if (err == 0) {
            // of_iommu_xlate may have replaced the fwspec
            fwspec = Iommu.dev_iommu_fwspec_get(dev);
            ops = fwspec.ops;
        }
        // a device the bus probe skipped (it had no fwspec then) is probed now
        if (err == 0 && dev.bus != null && !device_iommu_mapped(dev)) {
            err = iommu.iommu_probe_device(dev);
        }
        // only -EPROBE_DEFER reaches the caller; any other failure means no IOMMU
        if (err == -EPROBE_DEFER) {
            throw new ErrnoException(err);
        } else if (err < 0) {
            DevPrintk.dev_dbg(dev, "Adding to IOMMU failed: %d", err);
            ops = null;
        }
        return ops;
    }
}
