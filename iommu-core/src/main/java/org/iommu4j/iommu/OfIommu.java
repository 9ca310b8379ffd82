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
 * {@link Iommu#iommuDeviceRegister} must be given a hardware device whose {@code ofNode} (or
 * {@code fwnode}) is that node. Seed additions for platform devices: {@code pasid-num-bits}
 * (seed 000) into {@code fwspec.numPasidBits} and {@code dma-can-stall} (seed 004) into
 * {@code fwspec.canStall}; for PCI, the host bridge's {@code ats-supported} sets
 * IOMMU_FWSPEC_PCI_RC_ATS. PCI DMA aliases are not modelled: a function's only alias is its
 * own RID.
 */
@Port("drivers/iommu/of_iommu.c")
public final class OfIommu {
    /** {@code NO_IOMMU}: a positive "success, but no IOMMU" result. */
    static final int NO_IOMMU = 1;

    private final Iommu iommu;

    public OfIommu(Iommu iommu) {
        this.iommu = iommu;
    }

    @Port("drivers/iommu/of_iommu.c:of_iommu_xlate")
    private int ofIommuXlate(Device dev, OfPhandleArgs iommuSpec) {
        Object fwnode = iommuSpec.np;
        IommuOps ops = iommu.iommuOpsFromFwnode(fwnode);
        if ((ops != null && !ops.hasOfXlate()) || !Of.ofDeviceIsAvailable(iommuSpec.np)) {
            return NO_IOMMU;
        }
        int ret = Iommu.iommuFwspecInit(dev, fwnode, ops);
        if (ret != 0) {
            return ret;
        }
        // No driver for that node yet: the fwspec stays (fwnode only) and the probe is deferred.
        if (ops == null) {
            return driverDeferredProbeCheckState(dev);
        }
        return ops.ofXlate(dev, iommuSpec);
    }

    /** The IOMMU driver is not there yet: defer (deferred probing never times out here). */
    @Port("drivers/base/dd.c:driver_deferred_probe_check_state")
    private static int driverDeferredProbeCheckState(Device dev) {
        return -EPROBE_DEFER;
    }

    @Port("drivers/iommu/of_iommu.c:of_iommu_configure_dev_id")
    private int ofIommuConfigureDevId(DeviceNode masterNp, Device dev, int id) {
        OfPhandleArgs iommuSpec = new OfPhandleArgs();
        iommuSpec.argsCount = 1;
        DeviceNode[] target = {null};
        int[] out = {0};
        int err = Of.ofMapId(masterNp, id, "iommu-map", "iommu-map-mask", target, out);
        if (err != 0) {
            return err == -ENODEV ? NO_IOMMU : err;
        }
        if (target[0] == null) {
            return NO_IOMMU; // pass-through: no entry matched
        }
        iommuSpec.np = target[0];
        iommuSpec.args[0] = out[0];
        return ofIommuXlate(dev, iommuSpec);
    }

    @Port("drivers/iommu/of_iommu.c:of_iommu_configure_dev")
    private int ofIommuConfigureDev(DeviceNode masterNp, Device dev) {
        OfPhandleArgs iommuSpec = new OfPhandleArgs();
        int err = NO_IOMMU;
        int idx = 0;
        while (Of.ofParsePhandleWithArgs(masterNp, "iommus", "#iommu-cells", idx, iommuSpec) == 0) {
            err = ofIommuXlate(dev, iommuSpec);
            idx++;
            if (err != 0) {
                break;
            }
        }
        return err;
    }

    @Port("drivers/iommu/of_iommu.c:of_iommu_configure_device")
    private int ofIommuConfigureDevice(DeviceNode masterNp, Device dev, int[] id) {
        return id != null ? ofIommuConfigureDevId(masterNp, dev, id[0]) : ofIommuConfigureDev(masterNp, dev);
    }

    /** {@code pci_for_each_dma_alias} with {@code of_pci_iommu_init}: the function's own RID. */
    @Port("drivers/iommu/of_iommu.c:of_pci_iommu_init")
    private int ofPciIommuInit(Device dev, DeviceNode np) {
        org.iommu4j.pci.PciDev pdev = (org.iommu4j.pci.PciDev) dev;
        int alias = org.iommu4j.pci.Pci.pciDevId(pdev);
        return ofIommuConfigureDevId(np, dev, alias);
    }

    @Port("drivers/iommu/iommu.c:device_iommu_mapped")
    static boolean deviceIommuMapped(Device dev) {
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
    public IommuOps ofIommuConfigure(Device dev, DeviceNode masterNp, int[] id) {
        IommuFwspec fwspec = DevIommu.devIommuFwspecGet(dev);
        int err;
        if (masterNp == null) {
            return null;
        }
        if (fwspec != null) {
            if (fwspec.ops != null) {
                return fwspec.ops;
            }
            // a fwspec left by a deferred probe has no ops: drop it and build it anew
            Iommu.iommuFwspecFree(dev);
        }
        // Only the master's own node counts: iommus/iommu-map of ancestors are not inherited (bindings/iommu/iommu.txt, Notes).
        if (DmaIommu.devIsPci(dev) && dev instanceof org.iommu4j.pci.PciDev pdev) {
            // v5.15 asks the PCI core for ACS here; enumeration enables it only on functions added
            // from now on (those already scanned keep their ACS control as it is)
            pdev.pciBus.pci.pciRequestAcs();
            err = ofPciIommuInit(dev, masterNp);
            fwspec = DevIommu.devIommuFwspecGet(dev);
            if (fwspec != null && Of.ofPropertyReadBool(masterNp, "ats-supported")) {
                fwspec.flags |= IommuH.IOMMU_FWSPEC_PCI_RC_ATS;
            }
        } else {
            err = ofIommuConfigureDevice(masterNp, dev, id);
            fwspec = DevIommu.devIommuFwspecGet(dev);
            if (err == 0 && fwspec != null) {
                int[] bits = {0};
                if (Of.ofPropertyReadU32(masterNp, "pasid-num-bits", bits) == 0) {
                    fwspec.numPasidBits = bits[0];
                }
                fwspec.canStall = Of.ofPropertyReadBool(masterNp, "dma-can-stall");
            }
        }
        // err is positive when there is no usable IOMMU (not an error), 0 when the fwspec is
        // complete, negative on failure
        IommuOps ops = null;
        if (err == 0) {
            // of_iommu_xlate may have replaced the fwspec
            fwspec = DevIommu.devIommuFwspecGet(dev);
            ops = fwspec.ops;
        }
        // a device the bus probe skipped (it had no fwspec then) is probed now
        if (err == 0 && dev.bus != null && !deviceIommuMapped(dev)) {
            err = iommu.iommuProbeDevice(dev);
        }
        // only -EPROBE_DEFER reaches the caller; any other failure means no IOMMU
        if (err == -EPROBE_DEFER) {
            throw new ErrnoException(err);
        } else if (err < 0) {
            DevPrintk.devDbg(dev, "Adding to IOMMU failed: %d", err);
            ops = null;
        }
        return ops;
    }
}
