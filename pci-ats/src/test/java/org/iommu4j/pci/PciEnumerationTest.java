package org.iommu4j.pci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.pci.Pci.*;
import static org.iommu4j.pci.PciRegs.*;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.device.ResourceEntry;
import org.iommu4j.base.Errno;
import org.iommu4j.base.NotifierBlock;
import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.DmaMappingH;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.MmioDevice;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.pci.hw.PciEndpointCaps;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.pci.hw.PciHostBridgeModel;
import org.iommu4j.pci.hw.PcieSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** probe.c / access.c / pci.c: enumeration through ECAM, config accessors, capability search. */
@ExtendWith(NoWarnings.class)
class PciEnumerationTest {
    @Test
    void scanFindsEveryFunctionWithItsIdentityAndCapabilities() {
        PciWorld w = new PciWorld().enumerate();
        assertThat(w.root.devices).extracting(Device::devName)
                .containsExactly("0000:00:01.0", "0000:00:02.0", "0000:00:03.0", "0000:00:03.1");
        assertThat(w.pci.pciBusType.devices()).hasSize(4);
        PciDev full = w.dev(1, 0);
        assertThat(full.vendor).isEqualTo(0x1b36);
        assertThat(full.device).isEqualTo(0x0101);
        assertThat(full.devClass).isEqualTo(0x088000);
        assertThat(full.revision).isEqualTo(1);
        assertThat(full.cfgSize).isEqualTo(4096);
        assertThat(full.pcieCap).isEqualTo(0x40);
        assertThat(pciPcieType(full)).isEqualTo(PCI_EXP_TYPE_RC_END);
        assertThat(full.eetlpPrefixPath).isTrue();
        // the kernel's offsets agree with the model's layout
        assertThat(full.pasidCap).isEqualTo(w.full.pasidCapOffset());
        assertThat(full.atsCap).isEqualTo(w.full.atsCapOffset());
        assertThat(full.priCap).isEqualTo(w.full.priCapOffset());
        assertThat(full.pasidRequired).isTrue();
        assertThat(full.multifunction).isFalse();
        PciDev atsOnly = w.dev(2, 0);
        assertThat(atsOnly.vendor).isEqualTo(0x8086);
        assertThat(atsOnly.atsCap).isEqualTo(0x100);
        assertThat(atsOnly.pasidCap).isZero();
        assertThat(atsOnly.priCap).isZero();
        assertThat(atsOnly.eetlpPrefixPath).isFalse();
        assertThat(pciPcieType(atsOnly)).isEqualTo(PCI_EXP_TYPE_ENDPOINT);
        PciDev mf0 = w.dev(3, 0);
        assertThat(mf0.multifunction).isTrue();
        assertThat(mf0.acsCap).isEqualTo(w.mf0.acsCapOffset());
        assertThat(mf0.pasidRequired).isFalse();
        assertThat(w.dev(3, 1).devfn).isEqualTo(0x19);
        assertThat(w.dev(4, 0)).isNull();
        assertThat(w.pci.rootBuses()).containsExactly(w.root);
    }

    /** pci_device_add gives every function dma_parms: 64 KiB segments, 4 GiB segment boundary. */
    @Test
    void everyFunctionGetsTheDmaLimitsOfPciDeviceAdd() {
        PciWorld w = new PciWorld().enumerate();
        for (PciDev d : w.root.devices) {
            assertThat(d.dmaParms).isSameAs(d.pciDmaParms);
            assertThat(DmaMappingH.dmaGetSegBoundary(d)).isEqualTo(0xffffffffL);
            assertThat(DmaMappingH.dmaGetMaxSegSize(d)).isEqualTo(65536);
        }
        // A driver may lift them.
        PciDev d = w.dev(1, 0);
        assertThat(DmaMappingH.dmaSetSegBoundary(d, -1L)).isZero();
        assertThat(DmaMappingH.dmaGetSegBoundary(d)).isEqualTo(-1L);
        assertThat(DmaMappingH.dmaGetSegBoundary(w.dev(2, 0))).isEqualTo(0xffffffffL);
    }

    @Test
    void idsAndTypeHelpers() {
        PciWorld w = new PciWorld().enumerate();
        PciDev d = w.dev(3, 1);
        assertThat(PCI_DEVFN(3, 1)).isEqualTo(0x19);
        assertThat(PCI_SLOT(0x19)).isEqualTo(3);
        assertThat(PCI_FUNC(0x19)).isEqualTo(1);
        assertThat(PCI_DEVID(2, 0x19)).isEqualTo(0x0219);
        assertThat(pciDevId(d)).isEqualTo(0x0019).isEqualTo(w.mf1.requesterId());
        assertThat(devIsPci(d)).isTrue();
        assertThat(toPciDev((Device) d)).isSameAs(d);
        assertThat(pciName(d)).isEqualTo("0000:00:03.1");
        assertThat(devIsPci(new PlatformDevice("smmu"))).isFalse();
        assertThat(devIsPci(null)).isFalse();
        List<Integer> aliases = new ArrayList<>();
        assertThat(pciForEachDmaAlias(d, (p, alias) -> {
            aliases.add(alias);
            return 0;
        })).isZero();
        assertThat(aliases).containsExactly(0x19);
        assertThat(pciForEachDmaAlias(d, (p, alias) -> 7)).isEqualTo(7);
    }

    @Test
    void configAccessorsGoThroughEcam() {
        PciWorld w = new PciWorld().enumerate();
        PciDev d = w.dev(1, 0);
        assertThat(pciReadConfigByte(d, PCI_CAPABILITY_LIST)).isEqualTo(0x40);
        assertThat(pciReadConfigWord(d, PCI_VENDOR_ID)).isEqualTo(0x1b36);
        assertThat(pciReadConfigDword(d, PCI_VENDOR_ID)).isEqualTo(0x01011b36);
        assertThat(pciWriteConfigWord(d, PCI_COMMAND, PCI_COMMAND_MASTER)).isEqualTo(PCIBIOS_SUCCESSFUL);
        assertThat(w.full.configRead(PCI_COMMAND, 2)).isEqualTo(PCI_COMMAND_MASTER);
        assertThat(pciWriteConfigByte(d, PCI_INTERRUPT_LINE, 0x2a)).isZero();
        assertThat(w.full.configRead(PCI_INTERRUPT_LINE, 1)).isEqualTo(0x2a);
        assertThat(pciWriteConfigDword(d, w.full.priCapOffset() + PCI_PRI_ALLOC_REQ, 5)).isZero();
        assertThat(w.full.configRead(w.full.priCapOffset() + PCI_PRI_ALLOC_REQ, 4)).isEqualTo(5);
        // misaligned or out-of-range registers
        assertThat(pciWriteConfigWord(d, 0x3, 1)).isEqualTo(PCIBIOS_BAD_REGISTER_NUMBER);
        assertThat(pciWriteConfigDword(d, 4096, 1)).isEqualTo(PCIBIOS_BAD_REGISTER_NUMBER);
        assertThat(pciReadConfigWord(d, 0x1)).isEqualTo(0xffff);
        assertThat(pciReadConfigDword(d, 4094)).isEqualTo(-1);
        assertThat(pciReadConfigByte(d, -1)).isEqualTo(0xff);
        assertThat(pciWriteConfigByte(d, Integer.MIN_VALUE, 1)).isEqualTo(PCIBIOS_BAD_REGISTER_NUMBER);
        assertThat(pciWriteConfigDword(d, Integer.MAX_VALUE - 3, 1)).isEqualTo(PCIBIOS_BAD_REGISTER_NUMBER);
        // sizes no config accessor has: refused before they reach the ECAM window
        for (int size : new int[] {0, 3, 8, -4}) {
            assertThat(pciBusWriteConfig(d.pciBus, d.devfn, PCI_COMMAND, size, 0)).isEqualTo(PCIBIOS_BAD_REGISTER_NUMBER);
            assertThat(pciBusReadConfig(d.pciBus, d.devfn, PCI_VENDOR_ID, size)).isEqualTo(size == 3 ? 0xffffff : -1);
        }
        assertThat(w.full.configRead(PCI_COMMAND, 2)).isEqualTo(PCI_COMMAND_MASTER);
        // a function nobody implements reads all-ones and takes no writes
        int absent = PCI_DEVFN(31, 7);
        assertThat(pciBusReadConfig(d.pciBus, absent, PCI_VENDOR_ID, 4)).isEqualTo(-1);
        assertThat(pciBusReadConfig(d.pciBus, absent, PCI_VENDOR_ID, 2)).isEqualTo(0xffff);
        assertThat(pciBusWriteConfig(d.pciBus, absent, PCI_COMMAND, 2, 0)).isEqualTo(PCIBIOS_SUCCESSFUL);
        assertThat(pcibiosErrToErrno(PCIBIOS_BAD_REGISTER_NUMBER)).isEqualTo(-Errno.EFAULT);
        assertThat(pcibiosErrToErrno(PCIBIOS_DEVICE_NOT_FOUND)).isEqualTo(-Errno.ENODEV);
        assertThat(pcibiosErrToErrno(PCIBIOS_FUNC_NOT_SUPPORTED)).isEqualTo(-Errno.ENOENT);
        assertThat(pcibiosErrToErrno(PCIBIOS_BAD_VENDOR_ID)).isEqualTo(-Errno.ENOTTY);
        assertThat(pcibiosErrToErrno(PCIBIOS_SET_FAILED)).isEqualTo(-Errno.EIO);
        assertThat(pcibiosErrToErrno(PCIBIOS_BUFFER_TOO_SMALL)).isEqualTo(-Errno.ENOSPC);
        assertThat(pcibiosErrToErrno(0x42)).isEqualTo(-Errno.ERANGE);
        assertThat(pcibiosErrToErrno(0)).isZero();
        // bus/dev beyond the window: all ones, not found
        int[] v = new int[1];
        PciConfigWindow win = w.root.sysdata;
        assertThat(win.pciEcamMapBus(1, 0, 0)).isZero();
        assertThat(win.pciEcamMapBus(0, 0x19, 0x104)).isEqualTo(PciWorld.ECAM + 0x19104);
        assertThat(pciGenericConfigRead(new PciBus(w.pci, 0, 1, win), 0, 0, 4, v)).isEqualTo(PCIBIOS_DEVICE_NOT_FOUND);
        assertThat(v[0]).isEqualTo(-1);
        assertThat(pciGenericConfigWrite(new PciBus(w.pci, 0, 1, win), 0, 0, 4, 0)).isEqualTo(PCIBIOS_DEVICE_NOT_FOUND);
    }

    @Test
    void unmappedEcamReadsAsNothing() {
        PciWorld w = new PciWorld();
        PciBus bus = w.pci.pciHostCommonProbe(w.board.mmio, 0x50_0000_0000L, 0, 0);
        assertThat(bus.devices).isEmpty();
        int[] v = new int[1];
        assertThat(pciGenericConfigRead(bus, 0, 0, 4, v)).isEqualTo(PCIBIOS_DEVICE_NOT_FOUND);
        assertThat(pciGenericConfigWrite(bus, 0, 0, 4, 0)).isEqualTo(PCIBIOS_DEVICE_NOT_FOUND);
        assertThatThrownBy(() -> pciEcamCreate(w.board.mmio, 0, 3, 2))
                .isInstanceOf(ErrnoException.class)
                .satisfies(e -> assertThat(((ErrnoException) e).err()).isEqualTo(-Errno.EINVAL));
    }

    /**
     * pci_setup_device / pci_device_add: every function starts with 32-bit masks, dma_mask
     * pointing at pdev->dma_mask; the root bus hangs off a registered host bridge.
     */
    @Test
    void functionsStartWith32BitMasksUnderARegisteredHostBridge() {
        PciWorld w = new PciWorld().enumerate();
        for (PciDev d : w.root.devices) {
            assertThat(d.dmaMask).as(d.devName()).isSameAs(d.pciDmaMask);
            assertThat(d.dmaMask[0]).as(d.devName()).isEqualTo(0xffffffffL);
            assertThat(d.coherentDmaMask).as(d.devName()).isEqualTo(0xffffffffL);
        }
        PciHostBridge bridge = pciFindHostBridge(w.dev(1, 0).pciBus);
        assertThat(bridge).isSameAs(w.root.bridge);
        assertThat(bridge.bus).isSameAs(w.root);
        assertThat(bridge.devName()).isEqualTo("pci0000:00");
        // Described by nobody: only the bus range, no memory windows, no inbound ranges.
        assertThat(bridge.windows).containsExactly(new ResourceEntry(new Resource("PCI busn", 0, 0, Resource.IORESOURCE_BUS), 0));
        assertThat(bridge.dmaRanges).isEmpty();
    }

    /** A bridge described by its creator keeps its windows; one without a bus range is refused. */
    @Test
    void hostCommonProbeTakesADescribedBridge() {
        PciWorld w = new PciWorld();
        PciHostBridge bridge = pciAllocHostBridge();
        assertThat(bridge.devName()).isNull();
        // gen_pci_init: no IORESOURCE_BUS window, -ENODEV
        assertThatThrownBy(() -> w.pci.pciHostCommonProbe(bridge, w.board.mmio, PciWorld.ECAM))
                .isInstanceOf(ErrnoException.class)
                .satisfies(e -> assertThat(((ErrnoException) e).err()).isEqualTo(-Errno.ENODEV));
        assertThat(w.pci.rootBuses()).isEmpty();
        Resource mem = new Resource("pcie", 0x1000_0000L, 0x3efe_ffffL, Resource.IORESOURCE_MEM);
        pciAddResource(bridge.windows, new Resource("busn", 0, 0, Resource.IORESOURCE_BUS));
        pciAddResourceOffset(bridge.windows, mem, 0);
        PciBus bus = w.pci.pciHostCommonProbe(bridge, w.board.mmio, PciWorld.ECAM);
        assertThat(bus.devices).hasSize(4);
        assertThat(pciFindHostBridge(bus)).isSameAs(bridge);
        assertThat(resourceListFirstType(bridge.windows, Resource.IORESOURCE_MEM).res()).isEqualTo(mem);
        assertThat(resourceListFirstType(bridge.windows, Resource.IORESOURCE_IO)).isNull();
    }

    @Test
    void capabilitySearch() {
        PciWorld w = new PciWorld().enumerate();
        PciDev d = w.dev(3, 0);
        assertThat(pciFindCapability(d, PCI_CAP_ID_EXP)).isEqualTo(0x40);
        assertThat(pciFindCapability(d, 0x05)).isZero(); // no MSI
        assertThat(pciFindExtCapability(d, PCI_EXT_CAP_ID_PASID)).isEqualTo(0x100);
        assertThat(pciFindExtCapability(d, PCI_EXT_CAP_ID_ATS)).isEqualTo(0x108);
        assertThat(pciFindExtCapability(d, PCI_EXT_CAP_ID_PRI)).isEqualTo(0x110);
        assertThat(pciFindExtCapability(d, PCI_EXT_CAP_ID_ACS)).isEqualTo(0x120);
        assertThat(pciFindExtCapability(d, PCI_EXT_CAP_ID_SRIOV)).isZero();
        assertThat(pciFindNextExtCapability(d, 0x100, PCI_EXT_CAP_ID_PASID)).isZero();
        assertThat(pcieCapabilityReadDword(d, PCI_EXP_DEVCAP2) & PCI_EXP_DEVCAP2_EE_PREFIX).isNotZero();
        assertThat(pcieCapabilityReadWord(d, PCI_EXP_FLAGS) & PCI_EXP_FLAGS_VERS).isEqualTo(2);
    }

    /**
     * pcie_capability_read_word/dword read only registers the function's capability implements:
     * a misaligned offset, the Link registers of an RC integrated endpoint (which has no Link),
     * the Slot and Root registers of an endpoint, and every register from Device Capabilities 2
     * on in a version 1 capability all read 0. A version 1 function therefore has no End-End TLP
     * Prefix path, and pci_enable_pasid refuses it.
     */
    @Test
    void pcieCapabilityReadsOnlyImplementedRegisters() {
        PciWorld w = new PciWorld();
        // 00:01.0 reports a version 1 PCI Express capability; everything else reads as the model has it
        long flags01 = PcieSpec.ecamOffset(0, 1, 0, 0x40 + PCI_EXP_FLAGS);
        long base = mapEcamReading(w, "ecam-v1", (offset, size, v) -> {
            if (flags01 >= offset && flags01 < offset + size) {
                int shift = (int) (8 * (flags01 - offset));
                v = v & ~((long) PCI_EXP_FLAGS_VERS << shift) | 1L << shift;
            }
            return v;
        });
        w.root = w.pci.pciHostCommonProbe(w.board.mmio, base, 0, 0);
        PciDev v1 = w.dev(1, 0);
        PciDev ep = w.dev(2, 0);     // an Endpoint with a Link, version 2
        PciDev rciep = w.dev(3, 0);  // an RC integrated endpoint, version 2

        assertThat(pcieCapabilityReadWord(v1, PCI_EXP_FLAGS) & PCI_EXP_FLAGS_VERS).isEqualTo(1);
        // the raw register says End-End TLP Prefix Supported, but it is not part of a v1 capability
        assertThat(pciReadConfigDword(v1, v1.pcieCap + PCI_EXP_DEVCAP2) & PCI_EXP_DEVCAP2_EE_PREFIX).isNotZero();
        assertThat(pcieCapabilityReadDword(v1, PCI_EXP_DEVCAP2)).isZero();
        assertThat(v1.eetlpPrefixPath).isFalse();
        assertThat(v1.pasidCap).isNotZero();
        assertThat(PciAts.pciEnablePasid(v1, 0)).isEqualTo(-Errno.EINVAL);

        // misaligned offsets read 0, not all-ones
        assertThat(pcieCapabilityReadWord(ep, PCI_EXP_FLAGS + 1)).isZero();
        assertThat(pcieCapabilityReadDword(ep, PCI_EXP_DEVCAP + 2)).isZero();
        // the Link registers exist for an Endpoint, not for an RC integrated endpoint
        assertThat(pcieCapabilityReadDword(ep, PCI_EXP_LNKCAP)).isEqualTo(pciReadConfigDword(ep, ep.pcieCap + PCI_EXP_LNKCAP));
        assertThat(pcieCapabilityReadDword(ep, PCI_EXP_LNKCAP)).isNotZero();
        assertThat(pcieCapabilityReadDword(rciep, PCI_EXP_LNKCAP)).isZero();
        // no Slot or Root registers in an endpoint; its Device Capabilities 2 is there
        assertThat(pcieCapabilityReadWord(ep, PCI_EXP_SLTSTA)).isZero();
        assertThat(pcieCapabilityReadWord(ep, PCI_EXP_RTCTL)).isZero();
        assertThat(pcieCapabilityReadDword(rciep, PCI_EXP_DEVCAP2) & PCI_EXP_DEVCAP2_EE_PREFIX).isNotZero();
        assertThat(rciep.eetlpPrefixPath).isTrue();
    }

    @Test
    void busMastering() {
        PciWorld w = new PciWorld().enumerate();
        PciDev d = w.dev(2, 0);
        w.full.configWrite(PCI_COMMAND, 0, 2);
        pciSetMaster(d);
        assertThat(pciReadConfigWord(d, PCI_COMMAND) & PCI_COMMAND_MASTER).isNotZero();
        pciClearMaster(d);
        assertThat(pciReadConfigWord(d, PCI_COMMAND) & PCI_COMMAND_MASTER).isZero();
    }

    @Test
    void acsRequestedBeforeScanIsEnabled() {
        PciWorld w = new PciWorld();
        w.pci.pciRequestAcs();
        w.enumerate();
        PciDev mf0 = w.dev(3, 0);
        int ctrl = pciReadConfigWord(mf0, mf0.acsCap + PCI_ACS_CTRL);
        // an endpoint offers only the redirect controls (SV, TB and UF belong to ports)
        assertThat(ctrl).isEqualTo(PCI_ACS_RR | PCI_ACS_CR);
        // UF, which the function does not implement, counts as on
        assertThat(pciAcsPathEnabled(mf0, null, PCI_ACS_RR | PCI_ACS_UF)).isTrue();
        // 3.1 is multi-function without ACS: not isolated
        assertThat(pciAcsPathEnabled(w.dev(3, 1), null, PCI_ACS_RR | PCI_ACS_UF)).isFalse();
        // single-function endpoints need none
        assertThat(pciAcsPathEnabled(w.dev(1, 0), null, PCI_ACS_RR | PCI_ACS_UF)).isTrue();
    }

    /**
     * pci_acs_enabled (v5.15) says "not isolated" for a Root Complex Event Collector and a
     * PCIe-to-PCI bridge whatever their ACS capability or function count, while a single-function
     * RC integrated endpoint needs no ACS at all.
     */
    @Test
    void acsIsNeverEnabledForAnEventCollectorOrAPcieToPciBridge() {
        Board board = Board.withRam(16 << 20);
        PciHostBridgeModel hb = new PciHostBridgeModel("pcie", 0, 0);
        PciEndpointCaps.Builder plain = PciEndpointCaps.builder()
                .noPasid().noAts().noPri();
        hb.add(1, "rcec", plain.pcieType(PCI_EXP_TYPE_RC_EC).build());
        hb.add(2, "pcibridge", plain.pcieType(PCI_EXP_TYPE_PCI_BRIDGE).build());
        hb.add(3, "rciep", plain.pcieType(PCI_EXP_TYPE_RC_END).build());
        // a multi-function Event Collector whose function 0 has every redirect control on
        hb.add(4, "rcec-mf0", plain.pcieType(PCI_EXP_TYPE_RC_EC)
                .acs(PcieSpec.ACS_RR | PcieSpec.ACS_CR).build());
        hb.add(4, 1, new PciEndpointModel("rcec-mf1", plain.noAcs().build()));
        hb.mapEcam(board.mmio, PciWorld.ECAM);
        Pci pci = new Pci();
        pci.pciRequestAcs();
        pci.pciHostCommonProbe(board.mmio, PciWorld.ECAM, 0, 0);
        PciDev rcec = pci.pciGetDomainBusAndSlot(0, 0, PCI_DEVFN(1, 0));
        PciDev bridge = pci.pciGetDomainBusAndSlot(0, 0, PCI_DEVFN(2, 0));
        PciDev rciep = pci.pciGetDomainBusAndSlot(0, 0, PCI_DEVFN(3, 0));
        PciDev mf0 = pci.pciGetDomainBusAndSlot(0, 0, PCI_DEVFN(4, 0));
        int flags = PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF;

        assertThat(pciPcieType(rcec)).isEqualTo(PCI_EXP_TYPE_RC_EC);
        assertThat(pciAcsEnabled(rcec, flags)).isFalse();
        assertThat(pciAcsPathEnabled(rcec, null, flags)).isFalse();
        assertThat(pciAcsEnabled(bridge, flags)).isFalse();
        assertThat(mf0.multifunction).isTrue();
        assertThat(pciReadConfigWord(mf0, mf0.acsCap + PCI_ACS_CTRL)).isEqualTo(PCI_ACS_RR | PCI_ACS_CR);
        assertThat(pciAcsEnabled(mf0, flags)).isFalse();
        assertThat(pciAcsEnabled(rciep, flags)).isTrue();
        assertThat(pciAcsPathEnabled(rciep, null, flags)).isTrue();
    }

    /**
     * pci_scan_slot marks every function found beside function 0 multi-function, even one whose
     * own Header Type leaves the Multi-Function bit clear (PCIe only recommends it there), so
     * pci_acs_enabled asks such a function for ACS like its siblings.
     */
    @Test
    void aSecondFunctionIsMultiFunctionWhateverItsHeaderTypeSays() {
        PciWorld w = new PciWorld();
        // ECAM as the host bridge decodes it, except that 00:03.1 reads its Multi-Function bit as 0
        long fn31 = PcieSpec.ecamOffset(0, 3, 1, 0);
        long base = mapEcamReading(w, "ecam-fn1-no-mf", (offset, size, v) -> {
            long hdr = fn31 + PCI_HEADER_TYPE;
            if (hdr >= offset && hdr < offset + size) {
                v &= ~(0x80L << (8 * (hdr - offset)));
            }
            return v;
        });
        w.pci.pciRequestAcs();
        w.root = w.pci.pciHostCommonProbe(w.board.mmio, base, 0, 0);
        PciDev fn1 = w.dev(3, 1);
        assertThat(pciReadConfigByte(fn1, PCI_HEADER_TYPE) & 0x80).isZero();
        assertThat(w.dev(3, 0).multifunction).isTrue();
        assertThat(fn1.multifunction).isTrue();
        // a multi-function endpoint without ACS is not isolated from its siblings
        assertThat(pciAcsEnabled(fn1, PCI_ACS_RR | PCI_ACS_CR)).isFalse();
        assertThat(pciAcsPathEnabled(fn1, null, PCI_ACS_RR | PCI_ACS_CR)).isFalse();
    }

    @Test
    void acsWithNoatsEnablesOnlyWhatTheEndpointOffers() {
        // v5.15 adds Translation Blocking under pci=noats (or for untrusted devices) where the
        // capability offers it; an endpoint never does (PCIe 7.7.8.2 hardwires TB to 0 outside
        // ports), so mf0 gets its redirect controls and nothing more
        PciWorld w = new PciWorld();
        w.pci.pciRequestAcs();
        w.pci.pcieAtsDisabled = true;
        w.enumerate();
        PciDev mf0 = w.dev(3, 0);
        assertThat(pciReadConfigWord(mf0, mf0.acsCap + PCI_ACS_CAP) & PCI_ACS_TB).isZero();
        assertThat(pciReadConfigWord(mf0, mf0.acsCap + PCI_ACS_CTRL)).isEqualTo(PCI_ACS_RR | PCI_ACS_CR);
        // without a request for ACS nothing is enabled
        PciWorld plain = new PciWorld();
        plain.pci.pcieAtsDisabled = true;
        plain.enumerate();
        PciDev p = plain.dev(3, 0);
        assertThat(pciReadConfigWord(p, p.acsCap + PCI_ACS_CTRL)).isZero();
    }

    @Test
    void driversBindByIdAndNotifiersSeeDevices() {
        PciWorld w = new PciWorld();
        List<String> seen = new ArrayList<>();
        w.pci.pciBusType.busNotifier.blockingNotifierChainRegister((NotifierBlock) (action, data) -> {
            if (action == BusType.BUS_NOTIFY_ADD_DEVICE) {
                seen.add(((Device) data).devName());
            }
            return 0;
        });
        w.enumerate();
        assertThat(seen).hasSize(4);
        List<PciDev> probed = new ArrayList<>();
        PciDriver drv = new PciDriver() {
            @Override
            public int[][] idTable() {
                return new int[][] {{0x8086, PCI_ANY_ID}};
            }

            @Override
            public String name() {
                return "testdrv";
            }

            @Override
            public int probe(Device dev) {
                probed.add(toPciDev(dev));
                return 0;
            }
        };
        w.pci.pciBusType.driverRegister(drv);
        assertThat(probed).containsExactly(w.dev(2, 0));
        w.pci.pciRemoveRootBus(w.root);
        assertThat(w.pci.pciBusType.devices()).isEmpty();
        assertThat(w.pci.rootBuses()).isEmpty();
    }

    /** What a wrapped ECAM window answers for a read of {@code size} bytes at {@code offset} that read {@code v}. */
    private interface EcamRead {
        long patch(long offset, int size, long v);
    }

    /**
     * Maps a second ECAM window onto {@code w}'s host bridge whose reads {@code read} may change
     * (writes go through as they are), and returns its base.
     */
    private static long mapEcamReading(PciWorld w, String name, EcamRead read) {
        MmioDevice ecam = new MmioDevice() {
            @Override
            public long mmioRead(long offset, int size) {
                return read.patch(offset, size, w.hb.mmioRead(offset, size));
            }

            @Override
            public void mmioWrite(long offset, long value, int size) {
                w.hb.mmioWrite(offset, value, size);
            }
        };
        long base = PciWorld.ECAM + 0x1000_0000L;
        w.board.mmio.map(name, base, w.hb.ecamSize(), ecam);
        return base;
    }
}
