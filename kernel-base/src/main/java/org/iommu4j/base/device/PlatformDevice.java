package org.iommu4j.base.device;

import static org.iommu4j.base.Errno.ENXIO;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Port;

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

    /** The {@code num}th IRQ number, or -ENXIO. */
    @Port("drivers/base/platform.c:platform_get_irq")
    public int platformGetIrq(int num) {
        Resource r = platformGetResource(Resource.IORESOURCE_IRQ, num);
        return r == null ? -ENXIO : (int) r.start();
    }

    /** The IRQ named {@code name}, or -ENXIO. */
    @Port("drivers/base/platform.c:platform_get_irq_byname_optional")
    public int platformGetIrqBynameOptional(String name) {
        Resource r = platformGetResourceByname(Resource.IORESOURCE_IRQ, name);
        return r == null ? -ENXIO : (int) r.start();
    }

    @Port("drivers/base/platform.c:platform_irq_count")
    public int platformIrqCount() {
        int n = 0;
        for (Resource r : resources) {
            if (r.type() == Resource.IORESOURCE_IRQ) {
                n++;
            }
        }
        return n;
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
