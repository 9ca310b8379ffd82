package org.iommu4j.platform;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.iommu4j.of.Fdt;
import org.iommu4j.base.Bits;
import org.iommu4j.base.Errno;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.device.ResourceEntry;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.dma.DmaDataDirection;
import org.iommu4j.dma.DmaMapping;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuDmaCookie;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.iommu.Iova;
import org.iommu4j.iommu.IovaDomain;
import org.iommu4j.pci.PciHostBridge;
import org.iommu4j.smmuv3.ArmSmmuDomain;
import org.iommu4j.smmuv3.ArmSmmuMaster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The machine booted from the bundled QEMU virt blob, end to end. */
@ExtendWith(NoWarnings.class)
class MachineTest {
    private static final long ADDR_51_5 = Bits.GENMASK_ULL(51, 5);

    /** reference qemu-linux-smmuv3 runA analysis.txt section 1, all 56 accesses up to power-off. */
    private static final String[] REFERENCE_MMIO = {
        "R 0x0 0xd40101a", "R 0x4 0x2730010", "R 0xc 0x1404", "R 0x14 0x74", "R 0x18 0x0",
        "R 0x20 0x0", "W 0x20 0x0", "R 0x24 0x0", "W 0x28 0xd75", "W 0x2c 0x6",
        "W 0x80 0x4000000000000000", "W 0x88 0x10210", "W 0x90 0x4000000000000010",
        "W 0x98 0x0", "W 0x9c 0x0", "W 0x20 0x8", "R 0x24 0x8",
        "W 0x98 0x2", "R 0x9c 0x2", "W 0x98 0x4", "R 0x9c 0x4",
        "W 0xa0 0x400000000000000f", "W 0x100a8 0x0", "W 0x100ac 0x0", "W 0x20 0xc", "R 0x24 0xc",
        "W 0x50 0x0", "R 0x54 0x0", "W 0x68 0x0", "W 0xb0 0x0", "W 0x50 0x5", "R 0x54 0x5",
        "W 0x20 0xd", "R 0x24 0xd",
        "W 0x98 0x5", "R 0x9c 0x5", "W 0x98 0x6", "R 0x9c 0x6", "W 0x98 0x8", "R 0x9c 0x8",
        "W 0x98 0xa", "R 0x9c 0xa", "W 0x98 0xb", "W 0x98 0xd", "R 0x9c 0xd",
        "W 0x98 0xe", "R 0x9c 0xe", "W 0x98 0xf", "R 0x9c 0xf", "W 0x98 0x11", "R 0x9c 0x11",
        "W 0x98 0x13", "R 0x9c 0x13", "W 0x98 0x14", "W 0x98 0x16", "R 0x9c 0x16",
    };

    private static final long[][] REFERENCE_CMDS = {
        {0x4L, 0x1fL}, {0x0fc02046L, 0}, {0x30L, 0}, {0x0fc02046L, 0},
        {0x0fc02046L, 0}, {0x0fc02046L, 0}, {0x0000000800000003L, 1}, {0x0fc02046L, 0},
        {0x0000000800000003L, 1}, {0x0fc02046L, 0}, {0x0000000800000001L, 0}, {0x0001000000000011L, 0}, {0x0fc02046L, 0},
        {0x0fc02046L, 0}, {0x0fc02046L, 0}, {0x0000001000000003L, 1}, {0x0fc02046L, 0},
        {0x0000001000000003L, 1}, {0x0fc02046L, 0}, {0x0000001000000001L, 0}, {0x0002000000000011L, 0}, {0x0fc02046L, 0},
    };

    private static String fmt(MmioTrace.Access a) {
        long v = a.value();
        if (a.write() && (a.offset() == 0x80 || a.offset() == 0x90 || a.offset() == 0xa0)) {
            v &= ~ADDR_51_5;
        }
        return String.format("%s 0x%x 0x%x", a.write() ? "W" : "R", a.offset(), v);
    }

    @Test
    void powerOffDisablesTheSmmuLikeTheReference() {
        Machine m = Machine.boot("qemu");
        int n = m.smmuMmio.accesses().size();
        m.close();
        List<String> tail = m.smmuMmio.accesses().subList(n, m.smmuMmio.accesses().size()).stream().map(MachineTest::fmt).toList();
        assertThat(tail).containsExactly("W 0x20 0x0", "R 0x24 0x0");
    }

    @Test
    void bootWithQemuCapsMatchesTheLinux61Reference() {
        try (Machine m = Machine.boot("qemu")) {
            assertThat(m.smmu.smmu.features).isEqualTo(0x00008305);
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("arm-smmu-v3 9050000.smmuv3: ias 44-bit, oas 44-bit (features 0x00008305)"));
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("arm-smmu-v3 9050000.smmuv3: allocated 65536 entries for cmdq"));
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("arm-smmu-v3 9050000.smmuv3: allocated 32768 entries for evtq"));
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("pci 0000:00:01.0: Adding to iommu group 0"));
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("pci 0000:00:02.0: Adding to iommu group 1"));

            /* Every MMIO access, in order, as Linux 6.1 did until the end of device attach. */
            List<String> got = m.smmuMmio.accesses().stream().map(MachineTest::fmt).toList();
            assertThat(got).containsExactly(REFERENCE_MMIO);

            /* The 22 commands, bit for bit. */
            assertThat(m.smmuModel.commandsConsumed()).isEqualTo(22);
            long q = m.smmu.smmu.cmdq.q.base;
            for (int i = 0; i < 22; i++) {
                assertThat(String.format("%d: 0x%016x 0x%016x", i, m.board.mem.readq(q + 16L * i), m.board.mem.readq(q + 16L * i + 8)))
                        .isEqualTo(String.format("%d: 0x%016x 0x%016x", i, REFERENCE_CMDS[i][0], REFERENCE_CMDS[i][1]));
            }

            /* STEs and CDs: memdump.txt words, addresses aside. */
            long[] cd0 = {0x0001e204c0003510L, 0x0002e204c0003510L};
            assertThat(m.functions).extracting(f -> f.dev().devName())
                    .containsExactly("0000:00:00.0", "0000:00:01.0", "0000:00:02.0");
            for (int k = 0; k < 2; k++) {
                Machine.PciFunction f = m.functions.get(k + 1);
                assertThat(f.sid()).isEqualTo(k == 0 ? 0x8 : 0x10);
                long ste = m.smmu.armSmmuGetStepForSid(m.smmu.smmu, f.sid());
                assertThat(m.board.mem.readq(ste) & 0xfff000000000003fL).isEqualTo(0xbL);
                assertThat(m.board.mem.readq(ste + 8)).isEqualTo(0xd6L);
                ArmSmmuDomain d = ((ArmSmmuMaster) DevIommu.devIommuPrivGet(f.dev())).domain;
                assertThat(m.board.mem.readq(ste) & Bits.GENMASK_ULL(51, 6)).isEqualTo(d.s1Cfg.cdcfg.cdtab);
                long cd = d.s1Cfg.cdcfg.cdtab;
                assertThat(m.board.mem.readq(cd)).isEqualTo(cd0[k]);
                assertThat(m.board.mem.readq(cd + 24) & 0xffffffffL).isEqualTo(0xf404ff44L);
            }
            /* The host bridge's SID 0 and the neighbours keep the abort STE. */
            for (int sid : new int[] {0, 0x18}) {
                long ste = m.smmu.armSmmuGetStepForSid(m.smmu.smmu, sid);
                assertThat(m.board.mem.readq(ste)).isEqualTo(1L);
                assertThat(m.board.mem.readq(ste + 8)).isEqualTo(0x0000100000000000L);
            }
        }
    }

    /**
     * DMA masks after boot: the SMMU's for its table walker (OAS, 44 bits on QEMU), the virtio
     * functions' 64 bits from their driver; a 64-bit PCI function's first IOVA is still the
     * top page below 4 GiB (single-address-cycle first).
     */
    /**
     * The CPUs as the reference booted them: one, with KPTI forced on by KASLR, so the ASID
     * allocator has half the 16-bit space ("ASID allocator initialised with 32768 entries"), a
     * process gets an even ASID and the SMMU shares its user half (ASID | 1).
     */
    @Test
    void cpusBootWithKptiAsTheReference() {
        try (Machine m = Machine.boot("qemu")) {
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("] ASID allocator initialised with 32768 entries"));
            assertThat(m.cpus.config.nrCpus()).isEqualTo(1);
            org.iommu4j.mm.Mm mm = m.cpus.mmAlloc();
            m.cpus.cpu(0).switchMm(mm);
            assertThat(org.iommu4j.mm.ArmContext.ASID(mm)).isEqualTo(2);
            assertThat(m.cpus.context.arm64MmContextGet(mm)).isEqualTo(3);
        }
    }

    @Test
    void dmaMasksAfterBoot() {
        try (Machine m = Machine.boot("qemu")) {
            assertThat(m.smmuPdev.dmaMask[0]).isEqualTo(DmaMapping.DMA_BIT_MASK(44));
            assertThat(m.smmuPdev.coherentDmaMask).isEqualTo(DmaMapping.DMA_BIT_MASK(44));
            for (Machine.PciFunction f : m.functions.subList(1, 3)) {
                assertThat(f.dev().dmaMask[0]).as(f.dev().devName()).isEqualTo(-1L);
                assertThat(f.dev().coherentDmaMask).as(f.dev().devName()).isEqualTo(-1L);
                /* of_dma_configure: QEMU virt has no dma-ranges, so no bus limit and no range map. */
                assertThat(f.dev().busDmaLimit).isZero();
                assertThat(f.dev().dmaRangeMap).isNull();
                assertThat(f.dev().dmaCoherent).isTrue();
            }
            /* The host bridge's function has no driver: the 32-bit masks of pci_setup_device, and
             * of_dma_configure never ran (no DMA ops). */
            Machine.PciFunction host = m.functions.get(0);
            assertThat(host.dev().dmaMask[0]).isEqualTo(DmaMapping.DMA_BIT_MASK(32));
            assertThat(host.dev().coherentDmaMask).isEqualTo(DmaMapping.DMA_BIT_MASK(32));
            assertThat(host.dev().dmaOps).isNull();
            /* The other platform devices keep the 32-bit defaults of of_platform_device_create_pdata. */
            PlatformDevice uart = m.platformDevices.stream().filter(p -> p.devName().endsWith(".pl011")).findFirst().orElseThrow();
            assertThat(uart.dmaMask[0]).isEqualTo(DmaMapping.DMA_BIT_MASK(32));
            assertThat(uart.coherentDmaMask).isEqualTo(DmaMapping.DMA_BIT_MASK(32));

            Machine.PciFunction f = m.function(0x8);
            assertThat(f.dev().dmaOps).isSameAs(m.iommu.dma());
            DmaMapping dma = new DmaMapping(m.pages);
            long pa = m.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
            long iova = dma.dmaMapSingle(f.dev(), pa, 0x1000, DmaDataDirection.DMA_TO_DEVICE);
            assertThat(iova).isEqualTo(0xfffff000L);
            dma.dmaUnmapSingle(f.dev(), iova, 0x1000, DmaDataDirection.DMA_TO_DEVICE);
        }
    }

    /**
     * The host bridge described from QEMU virt's pcie node: bus range, I/O, 32-bit and 64-bit
     * memory windows (offset 0: CPU and PCI addresses equal), no dma-ranges; a virtio
     * function's DMA domain has exactly the two memory windows reserved.
     */
    @Test
    void hostBridgeWindowsFromTheDeviceTreeAreReservedInDmaDomains() {
        try (Machine m = Machine.boot("qemu")) {
            PciHostBridge bridge = m.pciHostBridge;
            assertThat(bridge.devName()).isEqualTo("pci0000:00");
            assertThat(bridge.windows).containsExactly(
                    new ResourceEntry(new Resource("pcie", 0, 0xff, Resource.IORESOURCE_BUS), 0),
                    new ResourceEntry(new Resource("pcie@10000000", 0, 0xffff, Resource.IORESOURCE_IO), 0),
                    new ResourceEntry(new Resource("pcie@10000000", 0x1000_0000L, 0x3efe_ffffL, Resource.IORESOURCE_MEM), 0),
                    new ResourceEntry(new Resource("pcie@10000000", 0x80_0000_0000L, 0xff_ffff_ffffL, Resource.IORESOURCE_MEM), 0));
            assertThat(bridge.dmaRanges).isEmpty();
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("host bridge /pcie@10000000 ranges:"));
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("      IO 0x003eff0000..0x003effffff -> 0x0000000000"));
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("     MEM 0x0010000000..0x003efeffff -> 0x0010000000"));
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("     MEM 0x8000000000..0xffffffffff -> 0x8000000000"));
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("Memory resource size exceeds max for 32 bits"));

            assertThat(Iommu.iommuGetDomainForDev(m.functions.get(0).dev())).isNull();
            for (Machine.PciFunction f : m.functions.subList(1, 3)) {
                IommuDomain d = Iommu.iommuGetDomainForDev(f.dev());
                IovaDomain iovad = ((IommuDmaCookie) d.iovaCookie).iovad;
                assertThat(iovad.nrIovas()).as(f.dev().devName()).isEqualTo(2);
                Iova mem32 = iovad.findIova(0x3efefL);
                assertThat(mem32.pfnLo).isEqualTo(0x10000L);
                assertThat(mem32.pfnHi).isEqualTo(0x3efefL);
                Iova mem64 = iovad.findIova(0x8000000L);
                assertThat(mem64.pfnLo).isEqualTo(0x8000000L);
                assertThat(mem64.pfnHi).isEqualTo(0xfffffffL);
            }
        }
    }

    /**
     * A pcie node without ranges: describing the bridge fails, pci-host-generic's probe fails
     * with -ENOMEM (what devm_pci_alloc_host_bridge's NULL becomes) and the machine boots
     * without PCI functions.
     */
    @Test
    void pcieNodeWithoutRangesFailsTheHostBridgeProbe() {
        org.iommu4j.of.DeviceNode root = Fdt.ofFdtUnflattenTree(Fdt.bundledVirtSmmuv3());
        assertThat(root.child("pcie@10000000").removeProperty("ranges")).isTrue();
        try (Machine m = new Machine(Fdt.flatten(root), "qemu")) {
            assertThat(m.pciHostBridge).isNull();
            assertThat(m.functions).isEmpty();
            assertThat(m.dmesg).anyMatch(l -> l.endsWith("pci-host-generic: probe of 4010000000.pcie failed with error -12"));
        }
    }

    @Test
    void auxDemoIsolatesPasids() {
        try (Machine m = new Machine(Fdt.bundledVirtSmmuv3(), "full")) {
            java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
            AuxDemo.Result r = AuxDemo.run(m, new java.io.PrintStream(buf, true));
            assertThat(r.exit()).isZero();
            assertThat(r.pasids()).containsExactly(1, 2, 3);
            for (int k = 0; k < 3; k++) {
                assertThat(r.bytesRead().get(k)).startsWith("aux domain " + k + ": page at PA 0x");
                assertThat(r.cds().get(k)).contains("CD[" + (k + 1) + "]");
            }
            assertThat(r.crossRet()).isEqualTo(-Errno.EFAULT);
            assertThat(r.events()).anyMatch(e -> e.equals("F_TRANSLATION sid 0x8 ssid 0x1 iova 0x300000 read stage 1"));
            assertThat(buf.toString()).contains("op=CFGI_CD");
        }
    }

    @Test
    void atcInvalidationReachesTheDevice() {
        try (Machine m = new Machine(Fdt.bundledVirtSmmuv3(), "full", true)) {
            Machine.PciFunction f = m.function(0x10);
            assertThat(f.model().atsEnabled()).isTrue();
            IommuDomain d = Iommu.iommuGetDomainForDev(f.dev());
            long pa = m.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
            m.board.mem.write(pa, "through the ATC".getBytes());
            long iova = 0x7000_0000L;
            assertThat(Iommu.iommuMap(d, iova, pa, 4096, IommuH.IOMMU_READ | IommuH.IOMMU_WRITE)).isZero();
            byte[] b = new byte[15];
            assertThat(f.model().dmaRead(iova, b)).isZero();
            assertThat(new String(b)).isEqualTo("through the ATC");
            assertThat(f.model().atcContains(DmaTransaction.NO_SSID, iova)).isTrue();
            long inv = f.model().atcInvalidations();
            assertThat(Iommu.iommuUnmap(d, iova, 4096)).isEqualTo(4096);
            assertThat(f.model().atcInvalidations()).isGreaterThan(inv);
            assertThat(f.model().atcContains(DmaTransaction.NO_SSID, iova)).isFalse();
            assertThat(f.model().dmaRead(iova, b)).isEqualTo(-Errno.EFAULT);

            /* Release: ATS off at the endpoint (then ATC_INV), PASID off after ATS. */
            assertThat(f.model().pasidEnabled()).isTrue();
            m.iommu.iommuReleaseDevice(f.dev());
            assertThat(f.model().atsEnabled()).isFalse();
            assertThat(f.model().pasidEnabled()).isFalse();
        }
    }

    @Test
    void atsDemoShowsTheAtcInvalidatedOnUnmap() {
        try (Machine m = new Machine(Fdt.bundledVirtSmmuv3(), "full", true)) {
            java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
            AtsDemo.Result r = AtsDemo.run(m, new java.io.PrintStream(buf, true));
            assertThat(r.exit()).isZero();
            assertThat(r.bytesRead()).startsWith("ATS page at PA 0x");
            assertThat(r.atsRequests()).isEqualTo(1);
            assertThat(r.atcHits()).isEqualTo(1);
            // the unmap's invalidation: TLBI for the page, then ATC_INV for the device, each synced
            assertThat(r.commands()).anyMatch(c -> c.contains("op=TLBI_NH_VA"));
            assertThat(r.commands()).anyMatch(c -> c.contains("op=ATC_INV"));
            assertThat(r.commands().get(r.commands().size() - 1)).contains("op=CMD_SYNC");
            assertThat(r.atcInvalidations()).isPositive();
            assertThat(r.staleEntryGone()).isTrue();
            assertThat(r.afterUnmap()).isEqualTo(-Errno.EFAULT);
        }
    }

    @Test
    void theHostBridgeSaysAtsSupportedOnlyWhenTheRootComplexDoesAts() {
        try (Machine m = new Machine(Fdt.bundledVirtSmmuv3(), "full")) {
            assertThat(m.function(0x10).model().atsEnabled()).isFalse();
            assertThat(m.dmesg).noneMatch(l -> l.contains("ats-supported added"));
        }
        try (Machine m = new Machine(Fdt.bundledVirtSmmuv3(), "full", true)) {
            assertThat(m.function(0x10).model().atsEnabled()).isTrue();
            assertThat(m.dmesg).anyMatch(l -> l.contains("/pcie@10000000: ats-supported added"));
        }
    }

    @Test
    void walkExplainsTheTranslation() {
        try (Machine m = Machine.boot("qemu")) {
            List<String> lines = m.smmuModel.explain(new DmaTransaction().set(0x8, DmaTransaction.NO_SSID, 0x1000, 4, DmaTransaction.ACC_READ));
            assertThat(lines).isNotEmpty();
            assertThat(String.join("\n", lines)).containsIgnoringCase("STE");
        }
    }

    @Test
    void badBlobsAreRejectedWithAReason() {
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> new Machine(new byte[] {1, 2, 3}, "qemu")))
                .isInstanceOf(Machine.BootException.class).hasMessageContaining("malformed device tree blob");
        byte[] blob = Fdt.bundledVirtSmmuv3();
        blob[0] = 0;
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> new Machine(blob, "qemu")))
                .isInstanceOf(Machine.BootException.class).hasMessageContaining("bad magic");
        byte[] truncated = java.util.Arrays.copyOf(Fdt.bundledVirtSmmuv3(), 200);
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> new Machine(truncated, "qemu")))
                .isInstanceOf(Machine.BootException.class).hasMessageContaining("malformed");
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> Machine.boot("bogus")))
                .isInstanceOf(Machine.BootException.class).hasMessageContaining("unknown SMMU capability set 'bogus'");
    }
}
