package org.iommu4j.base.device;

import static org.iommu4j.base.Errno.ENXIO;
import static org.iommu4j.base.Errno.EPROBE_DEFER;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Port;
import org.iommu4j.base.Warn;

/** {@code struct platform_device} with its resources (drivers/base/platform.c). */
@Port("include/linux/platform_device.h:platform_device")
public class PlatformDevice extends Device {
    /**
     * {@code pdev->dma_parms} (v5.7+), the storage {@code dev.dma_parms} points at; named apart
     * from {@link Device#dmaParms}, the pointer.
     */
    public final DeviceDmaParameters platformDmaParms = new DeviceDmaParameters();
    /**
     * {@code u64 platform_dma_mask} (v5.7+): the cell {@link Device#dmaMask} points at unless
     * whoever created the device gave it another one.
     */
    public final long[] platformDmaMask = new long[1];

    private final List<Resource> resources = new ArrayList<>();

    /** Stands for {@code platform_device_alloc}, which every platform device is made by. */
    public PlatformDevice(String name) {
        super(name);
        setupPdevDmaMasks();
    }

    /**
     * Gives the device its dma_parms, zeroed (no segment limits until its driver sets some), and
     * 32-bit DMA masks where none is set yet: a platform device is assumed to drive 32 address
     * bits until its driver says more with {@code dma_set_mask_and_coherent}.
     */
    @Port("drivers/base/platform.c:setup_pdev_dma_masks")
    private void setupPdevDmaMasks() {
        dmaParms = platformDmaParms;
        if (coherentDmaMask == 0) {
            coherentDmaMask = DMA_BIT_MASK_32;
        }
        if (dmaMask == null) {
            platformDmaMask[0] = DMA_BIT_MASK_32;
            dmaMask = platformDmaMask;
        }
    }

    /** {@code DMA_BIT_MASK(32)} (dma-mapping.h lives above kernel-base). */
    private static final long DMA_BIT_MASK_32 = 0xffffffffL;

    public void addResource(Resource r) {
        resources.add(r);
    }

    public List<Resource> resources() {
        return List.copyOf(resources);
    }

    /** The {@code num}th resource of {@code type}, or null. */
    @Port("drivers/base/platform.c:platform_get_resource")
    public Resource platformGetResource(long type, int num) {
        for (Resource r : resources) {
            if (r.type() == type && num-- == 0) {
                return r;
            }
        }
        return null;
    }

    @Port("drivers/base/platform.c:platform_get_resource_byname")
    public Resource platformGetResourceByname(long type, String name) {
        for (Resource r : resources) {
            if (r.type() == type && name.equals(r.name())) {
                return r;
            }
        }
        return null;
    }

    /**
     * The {@code num}th IRQ number, or -ENXIO, quietly. An IRQ resource of 0 WARNs ("0 is an
     * invalid IRQ number") and is still returned, as v5.15 does.
     */
    @Port("drivers/base/platform.c:platform_get_irq_optional")
    public int platformGetIrqOptional(int num) {
        Resource r = platformGetResource(Resource.IORESOURCE_IRQ, num);
        int ret = r == null ? -ENXIO : (int) r.start();
        Warn.WARN(ret == 0, "0 is an invalid IRQ number");
        return ret;
    }

    /** {@link #platformGetIrqOptional}, logging "IRQ index N not found" on failure (not on deferral). */
    @Port("drivers/base/platform.c:platform_get_irq")
    public int platformGetIrq(int num) {
        int ret = platformGetIrqOptional(num);
        if (ret < 0 && ret != -EPROBE_DEFER) {
            DevPrintk.devErr(this, "IRQ index %d not found", num);
        }
        return ret;
    }

    /** The IRQ named {@code name}, or -ENXIO; an IRQ of 0 WARNs and is returned. */
    @Port("drivers/base/platform.c:__platform_get_irq_byname")
    private int __platformGetIrqByname(String name) {
        Resource r = platformGetResourceByname(Resource.IORESOURCE_IRQ, name);
        if (r != null) {
            Warn.WARN(r.start() == 0, "0 is an invalid IRQ number");
            return (int) r.start();
        }
        return -ENXIO;
    }

    /** The IRQ named {@code name}, or -ENXIO after logging "IRQ NAME not found". */
    @Port("drivers/base/platform.c:platform_get_irq_byname")
    public int platformGetIrqByname(String name) {
        int ret = __platformGetIrqByname(name);
        if (ret < 0 && ret != -EPROBE_DEFER) {
            DevPrintk.devErr(this, "IRQ %s not found", name);
        }
        return ret;
    }

    /** The IRQ named {@code name}, or -ENXIO, without a message. */
    @Port("drivers/base/platform.c:platform_get_irq_byname_optional")
    public int platformGetIrqBynameOptional(String name) {
        return __platformGetIrqByname(name);
    }

    /** How many IRQs {@link #platformGetIrqOptional} finds at indexes 0, 1, ... before the first error. */
    @Port("drivers/base/platform.c:platform_irq_count")
    public int platformIrqCount() {
        int nr = 0;
        int ret;
        while ((ret = platformGetIrqOptional(nr)) >= 0) {
            nr++;
        }
        if (ret == -EPROBE_DEFER) {
            return ret;
        }
        return nr;
    }

    /** Creates the platform bus, matching drivers by name or OF compatible. */
    @Port("drivers/base/platform.c:platform_bus_type")
    public static BusType newPlatformBus(java.util.function.BiPredicate<Device, DeviceDriver> ofMatch) {
        return new BusType("platform", (dev, drv) -> drv.name().equals(dev.devName())
                || (ofMatch != null && ofMatch.test(dev, drv)));
    }

    /** Convenience: a list of all resources of a type. */
    public List<Resource> resourcesOfType(long type) {
        List<Resource> out = new ArrayList<>();
        for (Resource r : resources) {
            if (r.type() == type) {
                out.add(r);
            }
        }
        return out;
    }
}
