package org.iommu4j.pci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.pci.Pci.*;
import static org.iommu4j.pci.PciRegs.*;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.IoMem;
import org.iommu4j.base.hw.MmioDevice;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.pci.hw.PciBar;
import org.iommu4j.pci.hw.PciEndpointCaps;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.pci.hw.PciHostBridgeModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * BAR sizing at enumeration (probe.c), assignment from the host bridge's windows (setup-bus.c,
 * setup-res.c, bus.c, resource.c) and pci_enable_device, on QEMU virt's windows with the two
 * virtio functions of the reference boot (Linux 6.1 on QEMU 7.2, run A): the addresses must be
 * the ones Linux gave them.
 */
class PciResourceTest {
    static final long ECAM = 0x40_1000_0000L;
    static final long IO_CPU = 0x3eff_0000L;
    final List<String> log = new CopyOnWriteArrayList<>();
    final AutoCloseable follow = Printk.follow(l -> log.add(l.text()));
    final Board board = Board.withRam(1 << 20);
    final PciHostBridgeModel hb = new PciHostBridgeModel("pcie", 0, 0);
    final Pci pci = new Pci();

    @AfterEach
    void close() throws Exception {
        follow.close();
    }

    static PciEndpointCaps.Builder virtio(int device, int cls, long ioSize) {
        return PciEndpointCaps.builder().ids(0x1af4, device).classCode(cls).noPasid().noAts().noPri()
                .bar(PciBar.io(0, ioSize)).bar(PciBar.mem32(1, 0x1000, false)).bar(PciBar.mem64(4, 0x4000, true));
    }

    private PciBus boot() {
        return boot(board, hb, pci);
    }

    /** QEMU virt's ECAM and windows for {@code hb} on {@code board}, then pci_host_common_probe. */
    static PciBus boot(Board board, PciHostBridgeModel hb, Pci pci) {
        hb.mapEcam(board.mmio, ECAM);
        hb.mapWindow(board.mmio, 0x1000_0000L, 0x2eff_0000L, 0x1000_0000L, false);
        hb.mapWindow(board.mmio, 0x80_0000_0000L, 0x80_0000_0000L, 0x80_0000_0000L, false);
        hb.mapWindow(board.mmio, IO_CPU, 0x1_0000L, 0, true);
        PciHostBridge bridge = pciAllocHostBridge();
        pciAddResource(bridge.windows, new Resource("pcie", 0, 0, Resource.IORESOURCE_BUS));
        pciAddResource(bridge.windows, new Resource("pcie@10000000", 0, 0xffff, Resource.IORESOURCE_IO));
        pciAddResource(bridge.windows, new Resource("pcie@10000000", 0x1000_0000L, 0x3efe_ffffL, Resource.IORESOURCE_MEM));
        pciAddResource(bridge.windows, new Resource("pcie@10000000", 0x80_0000_0000L, 0xff_ffff_ffffL,
                Resource.IORESOURCE_MEM));
        return pci.pciHostCommonProbe(bridge, board.mmio, ECAM);
    }

    private PciDev dev(int slot) {
        return pci.pciGetDomainBusAndSlot(0, 0, PCI_DEVFN(slot, 0));
    }

    @Test
    void virtioFunctionsGetTheAddressesLinuxGaveThem() {
        PciEndpointModel rng = hb.add(1, "rng", virtio(0x1005, 0x00ff00, 0x20).build());
        PciEndpointModel blk = hb.add(2, "blk", virtio(0x1001, 0x010000, 0x80).build());
        boot();
        assertThat(log).containsSubsequence(
                "pci_bus 0000:00: root bus resource [bus 00]",
                "pci_bus 0000:00: root bus resource [io  0x0000-0xffff]",
                "pci_bus 0000:00: root bus resource [mem 0x10000000-0x3efeffff]",
                "pci_bus 0000:00: root bus resource [mem 0x8000000000-0xffffffffff]",
                "pci 0000:00:01.0: [1af4:1005] type 00 class 0x00ff00",
                "pci 0000:00:01.0: reg 0x10: [io  0x0000-0x001f]",
                "pci 0000:00:01.0: reg 0x14: [mem 0x00000000-0x00000fff]",
                "pci 0000:00:01.0: reg 0x20: [mem 0x00000000-0x00003fff 64bit pref]",
                "pci 0000:00:02.0: [1af4:1001] type 00 class 0x010000",
                "pci 0000:00:02.0: reg 0x10: [io  0x0000-0x007f]",
                "pci 0000:00:02.0: reg 0x14: [mem 0x00000000-0x00000fff]",
                "pci 0000:00:02.0: reg 0x20: [mem 0x00000000-0x00003fff 64bit pref]",
                "pci 0000:00:01.0: BAR 4: assigned [mem 0x8000000000-0x8000003fff 64bit pref]",
                "pci 0000:00:02.0: BAR 4: assigned [mem 0x8000004000-0x8000007fff 64bit pref]",
                "pci 0000:00:01.0: BAR 1: assigned [mem 0x10000000-0x10000fff]",
                "pci 0000:00:02.0: BAR 1: assigned [mem 0x10001000-0x10001fff]",
                "pci 0000:00:02.0: BAR 0: assigned [io  0x1000-0x107f]",
                "pci 0000:00:01.0: BAR 0: assigned [io  0x1080-0x109f]");
        PciDev d = dev(1);
        assertThat(pciResourceStart(d, 4)).isEqualTo(0x80_0000_0000L);
        assertThat(pciResourceLen(d, 4)).isEqualTo(0x4000);
        assertThat(pciResourceFlags(d, 4)).isEqualTo(Resource.IORESOURCE_MEM | Resource.IORESOURCE_MEM_64
                | Resource.IORESOURCE_PREFETCH | Resource.IORESOURCE_SIZEALIGN | PCI_BASE_ADDRESS_MEM_TYPE_64
                | PCI_BASE_ADDRESS_MEM_PREFETCH);
        assertThat(pciResourceLen(d, 5)).isZero();                    // the upper half: no resource
        assertThat(pciResourceFlags(d, 2)).isZero();
        assertThat(pciResourceFlags(d, PciDev.PCI_ROM_RESOURCE)).isZero();
        // the BARs hold the bus addresses, written through config space
        assertThat(rng.configRead(0x10, 4)).isEqualTo(0x1081);
        assertThat(rng.configRead(0x14, 4)).isEqualTo(0x1000_0000);
        assertThat(rng.configRead(0x20, 4)).isEqualTo(0xc);
        assertThat(rng.configRead(0x24, 4)).isEqualTo(0x80);
        assertThat(blk.configRead(0x10, 4)).isEqualTo(0x1001);
        // nothing decodes before a driver enables the device
        assertThat(rng.configRead(PCI_COMMAND, 2)).isZero();
        assertThat(rng.barAddress(1)).isEqualTo(PciEndpointModel.BAR_UNMAPPED);
    }

    @Test
    void enableDeviceTurnsOnDecodeAndTheBarAnswersThroughIomap() {
        PciEndpointModel rng = hb.add(1, "rng", virtio(0x1005, 0x00ff00, 0x20).build());
        int[] seen = new int[2];
        rng.setBarHandler(4, new MmioDevice() {
            @Override
            public long mmioRead(long offset, int size) {
                seen[0] = (int) offset;
                return 0xfeed;
            }

            @Override
            public void mmioWrite(long offset, long value, int size) {
                seen[1] = (int) value;
            }
        });
        boot();
        PciDev d = dev(1);
        IoMem before = PciIomap.pciIomap(d, 4, 0);
        assertThat(before.readl(0x10)).isEqualTo(-1);                   // decode off: Unsupported Request
        assertThat(hb.unsupportedRequests()).isEqualTo(1);
        assertThat(pciEnableDevice(d)).isZero();
        assertThat(log).contains("pci 0000:00:01.0: enabling device (0000 -> 0003)");
        assertThat(rng.configRead(PCI_COMMAND, 2)).isEqualTo(PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
        assertThat(pciIsEnabled(d)).isTrue();
        IoMem regs = PciIomap.pciIomap(d, 4, 0);
        assertThat(regs.physBase()).isEqualTo(0x80_0000_0000L);
        assertThat(regs.readl(0x10)).isEqualTo(0xfeed);
        regs.writel(0x77, 0x20);
        assertThat(seen).containsExactly(0x10, 0x77);
        assertThat(PciIomap.pciIomapRange(d, 4, 0x1000, 0x100).physBase()).isEqualTo(0x80_0000_1000L);
        assertThat(PciIomap.pciIomapRange(d, 4, 0x4000, 0)).isNull();  // offset beyond the BAR
        assertThat(PciIomap.pciIomap(d, 2, 0)).isNull();                // no BAR there
        assertThat(PciIomap.pciIomap(d, 0, 0)).isNull();                // I/O: no port space
        // nested enables: the second changes nothing, only the last disable stops DMA
        log.clear();
        Pci.pciSetMaster(d);
        assertThat(pciEnableDevice(d)).isZero();
        assertThat(log).isEmpty();
        pciDisableDevice(d);
        assertThat(rng.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MASTER).isNotZero();
        pciDisableDevice(d);
        assertThat(rng.configRead(PCI_COMMAND, 2)).isEqualTo(PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
        assertThat(d.isBusmaster).isFalse();
        assertThat(pciIsEnabled(d)).isFalse();
    }

    @Test
    void sizingTurnsDecodeOffAndRestoresTheCommandRegister() {
        PciEndpointModel rng = hb.add(1, "rng", virtio(0x1005, 0x00ff00, 0x20).build());
        List<String> cmdWrites = new CopyOnWriteArrayList<>();
        // firmware left decode on
        rng.configWrite(PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
        try (Trace.Sink t = Trace.subscribe(Trace.filter("pcidev_cfg_write"), r -> {
            if (((Number) r.args()[1]).intValue() == PCI_COMMAND) {
                cmdWrites.add(String.format("%04x", ((Number) r.args()[3]).intValue()));
            }
        })) {
            boot();
        }
        // off and back on around each of BARs 0, 1, 4, around the ROM, and around the 64-bit BAR's update
        assertThat(cmdWrites).startsWith("0000", "0003", "0000", "0003");
        assertThat(rng.configRead(PCI_COMMAND, 2)).isEqualTo(PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    }

    @Test
    void aBarNoWindowCanHoldStaysUnassignedAndEnableFails() {
        // 1 GiB of non-prefetchable 32-bit memory: the 32-bit window holds 750 MiB
        PciEndpointModel big = hb.add(1, "big", PciEndpointCaps.builder().noPasid().noAts().noPri()
                .bar(PciBar.mem32(0, 1L << 30, false)).bar(PciBar.mem32(1, 0x1000, false)).build());
        boot();
        assertThat(log).contains("pci 0000:00:01.0: BAR 0: no space for [mem size 0x40000000]",
                "pci 0000:00:01.0: BAR 0: failed to assign [mem size 0x40000000]",
                "pci 0000:00:01.0: BAR 1: assigned [mem 0x10000000-0x10000fff]");
        PciDev d = dev(1);
        assertThat(pciResourceFlags(d, 0)).isZero();                    // reset_resource
        assertThat(big.configRead(0x10, 4)).isZero();
        assertThat(pciEnableDevice(d)).isZero();                        // only BAR 1 is left
        assertThat(big.configRead(PCI_COMMAND, 2)).isEqualTo(PCI_COMMAND_MEMORY);
    }

    @Test
    void enableRefusesAnUnassignedBar() {
        hb.add(1, "rng", virtio(0x1005, 0x00ff00, 0x20).build());
        boot();
        PciDev d = dev(1);
        d.resource[1].flags |= Resource.IORESOURCE_UNSET;
        assertThat(pciEnableDevice(d)).isEqualTo(-EINVAL);
        assertThat(log).contains("pci 0000:00:01.0: can't enable device: BAR 1 [mem size 0x00001000] not assigned");
        assertThat(pciIsEnabled(d)).isFalse();
        d.resource[1].flags &= ~Resource.IORESOURCE_UNSET;
        org.iommu4j.base.device.KernelResource.releaseResource(d.resource[1]);
        assertThat(pciEnableDevice(d)).isEqualTo(-EINVAL);
        assertThat(log).contains("pci 0000:00:01.0: can't enable device: BAR 1 [mem 0x10000000-0x10000fff] not claimed");
    }

    /**
     * pci_request_selected_regions claims all the BARs asked for or none: a BAR someone holds is
     * refused with "can't reserve" and the ones claimed before it go back; an empty BAR in the
     * mask is no obstacle. pci_release_selected_regions gives them back.
     */
    @Test
    void selectedRegionsAreClaimedAllOrNone() {
        hb.add(1, "rng", virtio(0x1005, 0x00ff00, 0x20).build());
        boot();
        PciDev d = dev(1);
        int bars = 1 << 1 | 1 << 2 | 1 << 4; // BAR 2 is empty
        assertThat(pciRequestSelectedRegions(d, bars, "first")).isZero();
        assertThat(d.resource[1].child.name).isEqualTo("first");
        assertThat(d.resource[4].child.flags & Resource.IORESOURCE_BUSY).isNotZero();
        pciReleaseRegion(d, 1);
        assertThat(d.resource[1].child).isNull();
        // BAR 1 is free again, BAR 4 is not: nothing is claimed
        assertThat(pciRequestSelectedRegions(d, 1 << 1 | 1 << 4, "second")).isEqualTo(-org.iommu4j.base.Errno.EBUSY);
        assertThat(log).contains("pci 0000:00:01.0: BAR 4: can't reserve [mem 0x8000000000-0x8000003fff 64bit pref]");
        assertThat(d.resource[1].child).isNull();
        assertThat(d.resource[4].child.name).isEqualTo("first");
        pciReleaseSelectedRegions(d, 1 << 4);
        assertThat(pciRequestSelectedRegions(d, 1 << 0 | 1 << 1 | 1 << 4, "second")).isZero();
        assertThat(d.resource[0].child.name).isEqualTo("second");
        pciReleaseSelectedRegions(d, 1 << 0 | 1 << 1 | 1 << 4);
        assertThat(d.resource[0].child).isNull();
        assertThat(d.resource[4].child).isNull();
    }

    @Test
    void aBarThatCannotBeSizedIsIgnored() {
        assertThat(pciSize(0, 0xfffff000L, 0xfffffff0L)).isEqualTo(0x1000);
        assertThat(pciSize(0, 0, 0xfffffff0L)).isZero();
        // a BAR programmed all-ones whose size bits do not fill the mask is bogus
        assertThat(pciSize(0xfffff000L, 0xfffff000L, 0xfffffff0L)).isEqualTo(0x1000);
        assertThat(pciSize(0xff000000L, 0xff000000L, 0xfffffff0L)).isEqualTo(0x1000000);
        assertThat(pciSize(0x10, 0x10, 0xfffffff0L)).isZero();
    }

    /**
     * pci_host_common_probe on QEMU virt's ECAM region: the window is announced on the host
     * bridge's parent device before the bridge and its root bus resources, in v5.15's formats
     * (the reference log, Linux 6.1, has the same two lines).
     */
    @Test
    void ecamWindowAndHostBridgeAreAnnouncedOnTheParentDevice() {
        hb.add(1, "rng", virtio(0x1005, 0x00ff00, 0x20).build());
        hb.mapEcam(board.mmio, ECAM);
        org.iommu4j.base.device.PlatformDevice pdev = new org.iommu4j.base.device.PlatformDevice("4010000000.pcie");
        PciHostBridge bridge = pciAllocHostBridge();
        bridge.parent = pdev;
        pciAddResource(bridge.windows, new Resource("pcie", 0, 0xff, Resource.IORESOURCE_BUS));
        PciBus bus = pci.pciHostCommonProbe(bridge, board.mmio,
                new Resource("pcie@10000000", ECAM, ECAM + 0x0fff_ffffL, Resource.IORESOURCE_MEM));
        assertThat(bus.sysdata.busStart).isZero();
        assertThat(bus.sysdata.busEnd).isEqualTo(0xff);
        assertThat(bus.sysdata.resStart).isEqualTo(ECAM);
        assertThat(log).containsSubsequence(
                "4010000000.pcie: ECAM at [mem 0x4010000000-0x401fffffff] for [bus 00-ff]",
                "4010000000.pcie: PCI host bridge to bus 0000:00",
                "pci_bus 0000:00: root bus resource [bus 00-ff]",
                "pci 0000:00:01.0: [1af4:1005] type 00 class 0x00ff00");
    }

    /** An ECAM region smaller than the bus range: the range is cut to the buses that fit, with a warning. */
    @Test
    void ecamRegionTooSmallForTheBusRangeCutsTheRange() {
        org.iommu4j.base.device.PlatformDevice pdev = new org.iommu4j.base.device.PlatformDevice("30000000.pcie");
        PciConfigWindow cfg = pciEcamCreate(pdev, board.mmio,
                new Resource("reg", 0x3000_0000L, 0x303f_ffffL, Resource.IORESOURCE_MEM),
                new Resource("busn", 0x10, 0x1f, Resource.IORESOURCE_BUS));
        assertThat(cfg.busStart).isEqualTo(0x10);
        assertThat(cfg.busEnd).isEqualTo(0x13);
        assertThat(log).containsSubsequence(
                "30000000.pcie: ECAM area [mem 0x30000000-0x303fffff] can only accommodate [bus 10-13]"
                        + " (reduced from [bus 10-1f] desired)",
                "30000000.pcie: ECAM at [mem 0x30000000-0x303fffff] for [bus 10-13]");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> pciEcamCreate(pdev, board.mmio,
                new Resource("reg", 0x3000_0000L, 0x303f_ffffL, Resource.IORESOURCE_MEM),
                new Resource("busn", 2, 1, Resource.IORESOURCE_BUS)))
                .isInstanceOf(org.iommu4j.base.ErrnoException.class)
                .satisfies(e -> assertThat(((org.iommu4j.base.ErrnoException) e).err()).isEqualTo(-EINVAL));
    }
}
