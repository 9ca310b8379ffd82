package org.iommu4j.pci;

import org.iommu4j.base.Port;
import org.iommu4j.base.hw.MmioBus;

/**
 * {@code struct pci_config_window} (include/linux/pci-ecam.h): a host bridge's ECAM region
 * and the bus range it decodes, with the generic ECAM {@code map_bus}.
 */
@Port("include/linux/pci-ecam.h:pci_config_window")
public final class PciConfigWindow {
    /** The MMIO space the window lives in ({@code cfg->win} is an ioremap of it). */
    public final MmioBus mmio;
    /** {@code cfg->res.start}. */
    public final long resStart;
    /** {@code cfg->busr}. */
    public final int busStart;
    public final int busEnd;

    PciConfigWindow(MmioBus mmio, long resStart, int busStart, int busEnd) {
        this.mmio = mmio;
        this.resStart = resStart;
        this.busStart = busStart;
        this.busEnd = busEnd;
    }

    /** Physical address of the register, or 0 (NULL) if the bus is outside the window. */
    @Port("drivers/pci/ecam.c:pci_ecam_map_bus")
    public long pciEcamMapBus(int busn, int devfn, int where) {
        if (busn < busStart || busn > busEnd) {
            return 0;
        }
        busn -= busStart;
        // bus_shift 20: the standard ECAM layout
        return resStart + ((long) busn << 20 | (long) devfn << 12 | where);
    }
}
