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
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** probe.c / access.c / pci.c: enumeration through ECAM, config accessors, capability search. */
@ExtendWith(NoWarnings.class)
class PciEnumerationTest {
    @Test
    void scanFindsEveryFunctionWithItsIdentityAndCapabilities() {
        PciWorld w = new PciWorld().enumerate();
        assertThat(w.root.devices).extracting(Device::dev_name)
                .containsExactly("0000:00:01.0", "0000:00:02.0", "0000:00:03.0", "0000:00:03.1");
        assertThat(w.pci.pci_bus_type.devices()).hasSize(4);
        PciDev full = w.dev(1, 0);
        assertThat(full.vendor).isEqualTo(0x1b36);
        assertThat(full.device).isEqualTo(0x0101);
        assertThat(full.devClass).isEqualTo(0x088000);
        assertThat(full.revision).isEqualTo(1);
        assertThat(full.cfgSize).isEqualTo(4096);
        assertThat(full.pcieCap).isEqualTo(0x40);
        assertThat(pci_pcie_type(full)).isEqualTo(PCI_EXP_TYPE_RC_END);
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
        assertThat(pci_pcie_type(atsOnly)).isEqualTo(PCI_EXP_TYPE_ENDPOINT);
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
            assertThat(DmaMappingH.dma_get_seg_boundary(d)).isEqualTo(0xffffffffL);
            assertThat(DmaMappingH.dma_get_max_seg_size(d)).isEqualTo(65536);
        }
        // A driver may lift them.
        PciDev d = w.dev(1, 0);
        assertThat(DmaMappingH.dma_set_seg_boundary(d, -1L)).isZero();
        assertThat(DmaMappingH.dma_get_seg_boundary(d)).isEqualTo(-1L);
        assertThat(DmaMappingH.dma_get_seg_boundary(w.dev(2, 0))).isEqualTo(0xffffffffL);
    }

    @Test
    void idsAndTypeHelpers() {
        PciWorld w = new PciWorld().enumerate();
        PciDev d = w.dev(3, 1);
        assertThat(PCI_DEVFN(3, 1)).isEqualTo(0x19);
        assertThat(PCI_SLOT(0x19)).isEqualTo(3);
        assertThat(PCI_FUNC(0x19)).isEqualTo(1);
        assertThat(PCI_DEVID(2, 0x19)).isEqualTo(0x0219);
        assertThat(pci_dev_id(d)).isEqualTo(0x0019).isEqualTo(w.mf1.requesterId());
        assertThat(dev_is_pci(d)).isTrue();
        assertThat(to_pci_dev((Device) d)).isSameAs(d);
        assertThat(pci_name(d)).isEqualTo("0000:00:03.1");
        assertThat(dev_is_pci(new PlatformDevice("smmu"))).isFalse();
        assertThat(dev_is_pci(null)).isFalse();
        List<Integer> aliases = new ArrayList<>();
        assertThat(pci_for_each_dma_alias(d, (p, alias) -> {
            aliases.add(alias);
            return 0;
        })).isZero();
        assertThat(aliases).containsExactly(0x19);
        assertThat(pci_for_each_dma_alias(d, (p, alias) -> 7)).isEqualTo(7);
    }

    @Test
    void configAccessorsGoThroughEcam() {
        PciWorld w = new PciWorld().enumerate();
        PciDev d = w.dev(1, 0);
        assertThat(pci_read_config_byte(d, PCI_CAPABILITY_LIST)).isEqualTo(0x40);
        assertThat(pci_read_config_word(d, PCI_VENDOR_ID)).isEqualTo(0x1b36);
        assertThat(pci_read_config_dword(d, PCI_VENDOR_ID)).isEqualTo(0x01011b36);
        assertThat(pci_write_config_word(d, PCI_COMMAND, PCI_COMMAND_MASTER)).isEqualTo(PCIBIOS_SUCCESSFUL);
        assertThat(w.full.configRead(PCI_COMMAND, 2)).isEqualTo(PCI_COMMAND_MASTER);
        assertThat(pci_write_config_byte(d, PCI_INTERRUPT_LINE, 0x2a)).isZero();
        assertThat(w.full.configRead(PCI_INTERRUPT_LINE, 1)).isEqualTo(0x2a);
        assertThat(pci_write_config_dword(d, w.full.priCapOffset() + PCI_PRI_ALLOC_REQ, 5)).isZero();
        assertThat(w.full.configRead(w.full.priCapOffset() + PCI_PRI_ALLOC_REQ, 4)).isEqualTo(5);
        // misaligned or out-of-range registers
        assertThat(pci_write_config_word(d, 0x3, 1)).isEqualTo(PCIBIOS_BAD_REGISTER_NUMBER);
        assertThat(pci_write_config_dword(d, 4096, 1)).isEqualTo(PCIBIOS_BAD_REGISTER_NUMBER);
        assertThat(pci_read_config_word(d, 0x1)).isEqualTo(0xffff);
        assertThat(pci_read_config_dword(d, 4094)).isEqualTo(-1);
        assertThat(pci_read_config_byte(d, -1)).isEqualTo(0xff);
        assertThat(pci_write_config_byte(d, Integer.MIN_VALUE, 1)).isEqualTo(PCIBIOS_BAD_REGISTER_NUMBER);
        assertThat(pci_write_config_dword(d, Integer.MAX_VALUE - 3, 1)).isEqualTo(PCIBIOS_BAD_REGISTER_NUMBER);
        // sizes no config accessor has: refused before they reach the ECAM window
        for (int size : new int[] {0, 3, 8, -4}) {
            assertThat(pci_bus_write_config(d.pciBus, d.devfn, PCI_COMMAND, size, 0)).isEqualTo(PCIBIOS_BAD_REGISTER_NUMBER);
            assertThat(pci_bus_read_config(d.pciBus, d.devfn, PCI_VENDOR_ID, size)).isEqualTo(size == 3 ? 0xffffff : -1);
        }
        assertThat(w.full.configRead(PCI_COMMAND, 2)).isEqualTo(PCI_COMMAND_MASTER);
        // a function nobody implements reads all-ones and takes no writes
        int absent = PCI_DEVFN(31, 7);
        assertThat(pci_bus_read_config(d.pciBus, absent, PCI_VENDOR_ID, 4)).isEqualTo(-1);
        assertThat(pci_bus_read_config(d.pciBus, absent, PCI_VENDOR_ID, 2)).isEqualTo(0xffff);
        assertThat(pci_bus_write_config(d.pciBus, absent, PCI_COMMAND, 2, 0)).isEqualTo(PCIBIOS_SUCCESSFUL);
        assertThat(pcibios_err_to_errno(PCIBIOS_BAD_REGISTER_NUMBER)).isEqualTo(-Errno.EFAULT);
        assertThat(pcibios_err_to_errno(PCIBIOS_DEVICE_NOT_FOUND)).isEqualTo(-Errno.ENODEV);
        assertThat(pcibios_err_to_errno(PCIBIOS_FUNC_NOT_SUPPORTED)).isEqualTo(-Errno.ENOENT);
        assertThat(pcibios_err_to_errno(PCIBIOS_BAD_VENDOR_ID)).isEqualTo(-Errno.ENOTTY);
        assertThat(pcibios_err_to_errno(PCIBIOS_SET_FAILED)).isEqualTo(-Errno.EIO);
        assertThat(pcibios_err_to_errno(PCIBIOS_BUFFER_TOO_SMALL)).isEqualTo(-Errno.ENOSPC);
        assertThat(pcibios_err_to_errno(0x42)).isEqualTo(-Errno.ERANGE);
        assertThat(pcibios_err_to_errno(0)).isZero();
        // bus/dev beyond the window: all ones, not found
        int[] v = new int[1];
        PciConfigWindow win = w.root.sysdata;
        assertThat(win.pci_ecam_map_bus(1, 0, 0)).isZero();
        assertThat(win.pci_ecam_map_bus(0, 0x19, 0x104)).isEqualTo(PciWorld.ECAM + 0x19104);
        assertThat(pci_generic_config_read(new PciBus(w.pci, 0, 1, win), 0, 0, 4, v)).isEqualTo(PCIBIOS_DEVICE_NOT_FOUND);
        assertThat(v[0]).isEqualTo(-1);
        assertThat(pci_generic_config_write(new PciBus(w.pci, 0, 1, win), 0, 0, 4, 0)).isEqualTo(PCIBIOS_DEVICE_NOT_FOUND);
    }

    @Test
    void unmappedEcamReadsAsNothing() {
        PciWorld w = new PciWorld();
        PciBus bus = w.pci.pci_host_common_probe(w.board.mmio, 0x50_0000_0000L, 0, 0);
        assertThat(bus.devices).isEmpty();
        int[] v = new int[1];
        assertThat(pci_generic_config_read(bus, 0, 0, 4, v)).isEqualTo(PCIBIOS_DEVICE_NOT_FOUND);
        assertThat(pci_generic_config_write(bus, 0, 0, 4, 0)).isEqualTo(PCIBIOS_DEVICE_NOT_FOUND);
        assertThatThrownBy(() -> pci_ecam_create(w.board.mmio, 0, 3, 2))
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
            assertThat(d.dmaMask).as(d.dev_name()).isSameAs(d.pciDmaMask);
            assertThat(d.dmaMask[0]).as(d.dev_name()).isEqualTo(0xffffffffL);
            assertThat(d.coherentDmaMask).as(d.dev_name()).isEqualTo(0xffffffffL);
        }
        PciHostBridge bridge = pci_find_host_bridge(w.dev(1, 0).pciBus);
        assertThat(bridge).isSameAs(w.root.bridge);
        assertThat(bridge.bus).isSameAs(w.root);
        assertThat(bridge.dev_name()).isEqualTo("pci0000:00");
        // Described by nobody: only the bus range, no memory windows, no inbound ranges.
        assertThat(bridge.windows).containsExactly(new ResourceEntry(new Resource("PCI busn", 0, 0, Resource.IORESOURCE_BUS), 0));
        assertThat(bridge.dmaRanges).isEmpty();
    }

    /** A bridge described by its creator keeps its windows; one without a bus range is refused. */
    @Test
    void hostCommonProbeTakesADescribedBridge() {
        PciWorld w = new PciWorld();
        PciHostBridge bridge = pci_alloc_host_bridge();
        assertThat(bridge.dev_name()).isNull();
        assertThatThrownBy(() -> w.pci.pci_host_common_probe(bridge, w.board.mmio, PciWorld.ECAM))
                .isInstanceOf(ErrnoException.class)
                .satisfies(e -> assertThat(((ErrnoException) e).err()).isEqualTo(-Errno.EINVAL));
        assertThat(w.pci.rootBuses()).isEmpty();
        Resource mem = new Resource("pcie", 0x1000_0000L, 0x3efe_ffffL, Resource.IORESOURCE_MEM);
        pci_add_resource(bridge.windows, new Resource("busn", 0, 0, Resource.IORESOURCE_BUS));
        pci_add_resource_offset(bridge.windows, mem, 0);
        PciBus bus = w.pci.pci_host_common_probe(bridge, w.board.mmio, PciWorld.ECAM);
        assertThat(bus.devices).hasSize(4);
        assertThat(pci_find_host_bridge(bus)).isSameAs(bridge);
        assertThat(resource_list_first_type(bridge.windows, Resource.IORESOURCE_MEM).res()).isEqualTo(mem);
        assertThat(resource_list_first_type(bridge.windows, Resource.IORESOURCE_IO)).isNull();
    }

    @Test
    void capabilitySearch() {
        PciWorld w = new PciWorld().enumerate();
        PciDev d = w.dev(3, 0);
        assertThat(pci_find_capability(d, PCI_CAP_ID_EXP)).isEqualTo(0x40);
        assertThat(pci_find_capability(d, 0x05)).isZero(); // no MSI
        assertThat(pci_find_ext_capability(d, PCI_EXT_CAP_ID_PASID)).isEqualTo(0x100);
        assertThat(pci_find_ext_capability(d, PCI_EXT_CAP_ID_ATS)).isEqualTo(0x108);
        assertThat(pci_find_ext_capability(d, PCI_EXT_CAP_ID_PRI)).isEqualTo(0x110);
        assertThat(pci_find_ext_capability(d, PCI_EXT_CAP_ID_ACS)).isEqualTo(0x120);
        assertThat(pci_find_ext_capability(d, PCI_EXT_CAP_ID_SRIOV)).isZero();
        assertThat(pci_find_next_ext_capability(d, 0x100, PCI_EXT_CAP_ID_PASID)).isZero();
        assertThat(pcie_capability_read_dword(d, PCI_EXP_DEVCAP2) & PCI_EXP_DEVCAP2_EE_PREFIX).isNotZero();
        assertThat(pcie_capability_read_word(d, PCI_EXP_FLAGS) & PCI_EXP_FLAGS_VERS).isEqualTo(2);
    }

    @Test
    void busMastering() {
        PciWorld w = new PciWorld().enumerate();
        PciDev d = w.dev(2, 0);
        w.full.configWrite(PCI_COMMAND, 0, 2);
        pci_set_master(d);
        assertThat(pci_read_config_word(d, PCI_COMMAND) & PCI_COMMAND_MASTER).isNotZero();
        pci_clear_master(d);
        assertThat(pci_read_config_word(d, PCI_COMMAND) & PCI_COMMAND_MASTER).isZero();
    }

    @Test
    void acsRequestedBeforeScanIsEnabled() {
        PciWorld w = new PciWorld();
        w.pci.pci_request_acs();
        w.enumerate();
        PciDev mf0 = w.dev(3, 0);
        int ctrl = pci_read_config_word(mf0, mf0.acsCap + PCI_ACS_CTRL);
        // an endpoint offers only the redirect controls (SV, TB and UF belong to ports)
        assertThat(ctrl).isEqualTo(PCI_ACS_RR | PCI_ACS_CR);
        // UF, which the function does not implement, counts as on
        assertThat(pci_acs_path_enabled(mf0, null, PCI_ACS_RR | PCI_ACS_UF)).isTrue();
        // 3.1 is multi-function without ACS: not isolated
        assertThat(pci_acs_path_enabled(w.dev(3, 1), null, PCI_ACS_RR | PCI_ACS_UF)).isFalse();
        // single-function endpoints need none
        assertThat(pci_acs_path_enabled(w.dev(1, 0), null, PCI_ACS_RR | PCI_ACS_UF)).isTrue();
    }

    @Test
    void acsWithNoatsEnablesOnlyWhatTheEndpointOffers() {
        // v5.15 adds Translation Blocking under pci=noats (or for untrusted devices) where the
        // capability offers it; an endpoint never does (PCIe 7.7.8.2 hardwires TB to 0 outside
        // ports), so mf0 gets its redirect controls and nothing more
        PciWorld w = new PciWorld();
        w.pci.pci_request_acs();
        w.pci.pcie_ats_disabled = true;
        w.enumerate();
        PciDev mf0 = w.dev(3, 0);
        assertThat(pci_read_config_word(mf0, mf0.acsCap + PCI_ACS_CAP) & PCI_ACS_TB).isZero();
        assertThat(pci_read_config_word(mf0, mf0.acsCap + PCI_ACS_CTRL)).isEqualTo(PCI_ACS_RR | PCI_ACS_CR);
        // without a request for ACS nothing is enabled
        PciWorld plain = new PciWorld();
        plain.pci.pcie_ats_disabled = true;
        plain.enumerate();
        PciDev p = plain.dev(3, 0);
        assertThat(pci_read_config_word(p, p.acsCap + PCI_ACS_CTRL)).isZero();
    }

    @Test
    void driversBindByIdAndNotifiersSeeDevices() {
        PciWorld w = new PciWorld();
        List<String> seen = new ArrayList<>();
        w.pci.pci_bus_type.busNotifier.blocking_notifier_chain_register((NotifierBlock) (action, data) -> {
            if (action == BusType.BUS_NOTIFY_ADD_DEVICE) {
                seen.add(((Device) data).dev_name());
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
                probed.add(to_pci_dev(dev));
                return 0;
            }
        };
        w.pci.pci_bus_type.driver_register(drv);
        assertThat(probed).containsExactly(w.dev(2, 0));
        w.pci.pci_remove_root_bus(w.root);
        assertThat(w.pci.pci_bus_type.devices()).isEmpty();
        assertThat(w.pci.rootBuses()).isEmpty();
    }
}
