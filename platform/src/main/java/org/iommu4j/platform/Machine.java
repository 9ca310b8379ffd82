package org.iommu4j.platform;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.Errno;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.DevPrintk;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.DeviceDriver;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.dma.DmaMapping;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.OfDevice;
import org.iommu4j.iommu.OfIommu;
import org.iommu4j.mm.PageAlloc;
import org.iommu4j.of.DeviceNode;
import org.iommu4j.of.DeviceTreeException;
import org.iommu4j.of.Fdt;
import org.iommu4j.of.OfPciRange;
import org.iommu4j.of.OfPciRangeParser;
import org.iommu4j.of.Of;
import org.iommu4j.of.OfPlatform;
import org.iommu4j.of.Property;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciBus;
import org.iommu4j.pci.PciDev;
import org.iommu4j.pci.PciDriver;
import org.iommu4j.pci.PciHostBridge;
import org.iommu4j.pci.hw.PciEndpointCaps;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.pci.hw.PciHostBridgeModel;
import org.iommu4j.smmuv3.ArmSmmuV3;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.iommu4j.smmuv3.hw.SmmuV3;

/**
 * The simulated machine assembled from a device tree: RAM from /memory, the SMMUv3 model at its
 * {@code reg} with its interrupts, the ECAM PCIe host bridge with its endpoints (DMA through the
 * SMMU, StreamIDs from {@code iommu-map}), the driver probed the way Linux does, then each PCI
 * function configured ({@code of_iommu_configure}) and probed by the IOMMU core, which attaches
 * its default domain.
 *
 * <p>This is the only place the driver and the hardware model meet.
 */
public final class Machine implements AutoCloseable {
    /** A boot that cannot complete: the message says why (for the CLI). */
    public static final class BootException extends RuntimeException {
        public BootException(String msg) {
            super(msg);
        }
    }

    /** A PCI function: its hardware model, the kernel's pci_dev and its StreamID. */
    public record PciFunction(PciEndpointModel model, PciDev dev, int sid) {}

    /** The unflattened device tree the machine was built from. */
    public final DeviceNode root;
    private final Of of;
    /** Platform devices created from the tree (of_platform_default_populate). */
    public final List<PlatformDevice> platformDevices = new ArrayList<>();
    /**
     * {@code platform_bus_type}: the bus whose iommu_ops the SMMU driver sets. The machine's
     * platform devices are not added to it (their drivers are probed directly), so setting its
     * ops probes nothing.
     */
    public final org.iommu4j.base.device.BusType platformBus = PlatformDevice.newPlatformBus(
            (dev, drv) -> dev.ofNode instanceof DeviceNode np
                    && drv.ofMatchTable().stream().anyMatch(c -> Of.ofDeviceIsCompatible(np, c) > 0));
    public OfIommu ofIommu;
    /** drivers/of/device.c: DMA configuration of devices from the tree. */
    public OfDevice ofDevice;
    public final String capsName;
    public Board board;
    public PageAlloc pages;
    public SmmuV3 smmuModel;
    public MmioTrace smmuMmio;
    public ArmSmmuV3 smmu;
    public PlatformDevice smmuPdev;
    public Iommu iommu;
    public org.iommu4j.ioasid.Ioasid ioasid;
    /** The CPUs' side of SVA: their page tables, ASIDs and MMU notifiers, on the machine's RAM. */
    public org.iommu4j.mm.MmWorld cpus;
    /** iommu-sva-lib: PASIDs of the address spaces bound to devices. */
    public org.iommu4j.sva.IommuSvaLib sva;
    public Pci pci;
    /** The GICv3 ITS driver over the board's MSI doorbell, for a tree with an arm,gic-v3-its; else null. */
    public IrqGicV3Its its;
    /** The GICv2m driver, for a tree whose GICv2 has arm,gic-v2m-frame children (QEMU virt's); else null. */
    public IrqGicV2m v2m;
    /** The GICv2m frame models, at their nodes' reg. */
    public final List<org.iommu4j.base.hw.GicV2mFrame> v2mFrames = new ArrayList<>();
    public PciHostBridgeModel hostBridge;
    /** The kernel's {@code pci_host_bridge} of the PCIe node (windows from its {@code ranges}); null without PCIe. */
    public PciHostBridge pciHostBridge;
    public final List<PciFunction> functions = new ArrayList<>();
    /** The kernel log lines printed during this machine's life (dmesg). */
    public final List<String> dmesg = new CopyOnWriteArrayList<>();
    private final AutoCloseable follow;
    private final List<Object[]> endpoints;
    /** The PCIe host bridge's node (what pci_dma_configure configures functions from); null without one. */
    private DeviceNode pcieNode;
    /** The functions of {@link #endpoints} on the bridge: each has a driver (virtio-pci or the test's). */
    private final List<PciEndpointModel> driven = new ArrayList<>();

    /** Run B's virtio devices and drivers, or null (run A: nothing behind the BARs). */
    public final VirtioOptions virtioOptions;
    /** The virtio device models behind each modern function's BAR 4, by StreamID (run B). */
    public final java.util.Map<Integer, org.iommu4j.pci.hw.virtio.VirtioPciProxy> virtioProxies = new java.util.TreeMap<>();
    /** The DMA API (kernel/dma/mapping.c) drivers call; with dma-iommu behind a DMA domain. */
    public DmaMapping dma;
    /** The virtio bus and its drivers (run B); null in run A. */
    public org.iommu4j.virtio.Virtio virtio;
    public org.iommu4j.virtio.VirtioRng virtioRng;
    public org.iommu4j.virtio.VirtioBlk virtioBlk;

    /**
     * The reference's run B: the virtio functions modern-only ({@code disable-legacy=on}), their
     * devices offering VIRTIO_F_VERSION_1 and VIRTIO_F_ACCESS_PLATFORM ({@code iommu_platform=on})
     * so all their DMA goes through the SMMU, virtio-blk over {@code disk} (read-only), virtio-rng
     * with a generator seeded by {@code rngSeed}; the drivers (virtio_pci, virtio-rng, virtio_blk)
     * probe them at boot.
     */
    public record VirtioOptions(byte[] disk, long rngSeed, boolean indirectDesc, boolean eventIdx) {
        /** With the ring features QEMU 7.2 offers by default (indirect_desc=on, event_idx=on). */
        public VirtioOptions(byte[] disk, long rngSeed) {
            this(disk, rngSeed, true, true);
        }

        /** The reference disk and seed 0. */
        public static VirtioOptions runB() {
            return new VirtioOptions(referenceDisk(), 0);
        }

        /** The same with QEMU's indirect_desc and event_idx properties set as given. */
        public VirtioOptions withRingFeatures(boolean indirect, boolean event) {
            return new VirtioOptions(disk, rngSeed, indirect, event);
        }

        long ringFeatures() {
            return (indirectDesc ? 1L << org.iommu4j.pci.hw.virtio.VirtioSpec.VIRTIO_F_RING_INDIRECT_DESC : 0)
                    | (eventIdx ? 1L << org.iommu4j.pci.hw.virtio.VirtioSpec.VIRTIO_F_RING_EVENT_IDX : 0);
        }
    }

    /**
     * The reference's 1 MiB test disk: for i in 0..255, sha256 of the decimal string of i,
     * repeated 128 times (its README's recipe; md5 53154684e7db82f6a99c39408ed03fd0).
     */
    public static byte[] referenceDisk() {
        try {
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            byte[] disk = new byte[256 * 128 * 32];
            for (int i = 0; i < 256; i++) {
                byte[] h = sha.digest(Integer.toString(i).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                for (int r = 0; r < 128; r++) {
                    System.arraycopy(h, 0, disk, (i * 128 + r) * 32, 32);
                }
            }
            return disk;
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError("SHA-256 is in every JDK", e);
        }
    }

    /** Boots run B's machine: the bundled blob, QEMU's SMMU, the reference disk. */
    public static Machine bootRunB() {
        return bootRunB(VirtioOptions.runB());
    }

    /** Boots run B's machine with the given virtio options. */
    public static Machine bootRunB(VirtioOptions options) {
        return new Machine(Fdt.bundledVirtSmmuv3(), "qemu", false, options);
    }
    private DeviceNode smmuNode;

    /**
     * Endpoints the reference used, as QEMU 7.2 builds them ({@link VirtioPci}): virtio-rng at
     * 00:01.0 (SID 0x8), virtio-blk with one queue at 00:02.0 (SID 0x10). With {@code full}
     * they are PCI Express functions with PASID, ATS and PRI besides (QEMU has no such virtio
     * function; the capabilities let the SVA and ATS paths run on the platform).
     */
    static List<Object[]> defaultEndpoints(boolean full) {
        return defaultEndpoints(full, false);
    }

    /** {@code modern}: the functions as {@code disable-legacy=on} builds them (run B). */
    static List<Object[]> defaultEndpoints(boolean full, boolean modern) {
        List<Object[]> eps = new ArrayList<>();
        PciEndpointCaps.Builder rng = modern ? VirtioPci.rngModern() : VirtioPci.rng();
        PciEndpointCaps.Builder blk = modern ? VirtioPci.blkModern(1) : VirtioPci.blk(1);
        if (full) {
            for (PciEndpointCaps.Builder b : List.of(rng, blk)) {
                b.pcieCapability(true).pasid(20, true, true).ats(0, true).pri(32, true);
            }
        }
        eps.add(new Object[] {1, "virtio-rng", rng.build()});
        eps.add(new Object[] {2, "virtio-blk", blk.build()});
        return eps;
    }

    public static SmmuCaps caps(String name) {
        if (name == null || name.equals("qemu")) {
            return SmmuCaps.qemu();
        }
        if (name.equals("full")) {
            return SmmuCaps.full();
        }
        throw new BootException("unknown SMMU capability set '" + name + "' (expected qemu or full)");
    }

    /** Boots the bundled QEMU virt blob. */
    public static Machine boot(String capsName) {
        return new Machine(Fdt.bundledVirtSmmuv3(), capsName);
    }

    public Machine(byte[] blob, String capsName) {
        this(blob, capsName, false);
    }

    /**
     * @param rcAts treat the host bridge as ATS-capable even without the DT's "ats-supported"
     *     (QEMU's blob never has it); PCI functions with ATS then translate through their ATC
     */
    public Machine(byte[] blob, String capsName, boolean rcAts) {
        this(blob, capsName, rcAts, defaultEndpoints("full".equals(capsName)), null);
    }

    /**
     * @param virtio run B's virtio devices and drivers ({@link VirtioOptions}); null for run A's
     *     functions with nothing behind their BARs
     */
    public Machine(byte[] blob, String capsName, boolean rcAts, VirtioOptions virtio) {
        this(blob, capsName, rcAts, defaultEndpoints("full".equals(capsName), virtio != null), virtio);
    }

    /**
     * A machine whose root bus holds {@code endpoints} ({device, name, PciEndpointCaps} each)
     * instead of the two virtio functions: for tests that need a function QEMU's virt machine
     * does not have.
     */
    Machine(byte[] blob, String capsName, boolean rcAts, List<Object[]> endpoints) {
        this(blob, capsName, rcAts, endpoints, null);
    }

    private Machine(byte[] blob, String capsName, boolean rcAts, List<Object[]> endpoints, VirtioOptions virtio) {
        this.endpoints = endpoints;
        this.virtioOptions = virtio;
        SmmuCaps caps = caps(capsName);
        this.capsName = capsName == null ? "qemu" : capsName;
        try {
            this.root = Fdt.ofFdtUnflattenTree(blob);
        } catch (DeviceTreeException e) {
            throw new BootException("malformed device tree blob: " + e.getMessage());
        }
        this.of = new Of(root);
        this.follow = Printk.follow(l -> dmesg.add(l.dmesg()));
        try {
            build(caps, rcAts);
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    /** The first node with {@code device_type = "memory"}, as early_init_dt_scan_memory looks for it. */
    private DeviceNode memoryNode() {
        String[] type = new String[1];
        for (DeviceNode np : of.allnodes()) {
            if (Of.ofPropertyReadString(np, "device_type", type) == 0 && type[0].equals("memory")) {
                return np;
            }
        }
        return null;
    }

    private PlatformDevice platformDevice(DeviceNode np) {
        for (PlatformDevice pdev : platformDevices) {
            if (pdev.ofNode == np) {
                return pdev;
            }
        }
        return null;
    }

    private void build(SmmuCaps caps, boolean rcAts) {

        /* RAM */
        Resource[] res = new Resource[1];
        DeviceNode memory = memoryNode();
        if (memory == null || Of.ofAddressToResource(memory, 0, res) != 0) {
            throw new BootException("device tree has no memory node with a reg");
        }
        String[] machineModel = new String[1];
        if (Of.ofPropertyReadString(root, "compatible", machineModel) != 0) {
            machineModel[0] = "?";
        }
        Printk.prInfo("Machine model: %s", machineModel[0]);
        Printk.prInfo("Memory: %dK RAM at 0x%x", res[0].resourceSize() >> 10, res[0].start());
        try {
            /* The ITS's doorbell only where the tree puts an ITS: QEMU virt's GICv2 has none. */
            PhysMem ram = new PhysMem(res[0].start(), res[0].resourceSize());
            long translater = itsTranslater();
            this.board = translater < 0 ? new Board(ram) : new Board(ram, translater);
            this.pages = PageAlloc.forAllRam(board.mem);
        } catch (IllegalArgumentException e) {
            throw new BootException(memory.path() + ": unusable reg: " + e.getMessage());
        }

        /* Platform devices from the tree, their interrupts mapped by the board's GIC. */
        OfPlatform.ofPlatformDefaultPopulate(root, null, platformDevices, board.irqs::irqCreateMapping);

        /* irqchip init (of_irq_init): a GICv2's MSI frames, modelled at their reg, then gicv2m_init. */
        DeviceNode gic = gicV2Node();
        if (gic != null) {
            gicv2mFrameModels(gic);
            IrqGicV2m drv = new IrqGicV2m(of, board.mmio, board.irqs);
            this.v2m = drv.gicv2mInit(gic) == 0 && drv.pciMsiDomain != null ? drv : null;
        }

        /* SMMU: the model at the node's reg, wired to the node's interrupts. */
        smmuNode = of.ofFindCompatibleNode(null, null, "arm,smmu-v3");
        smmuPdev = smmuNode == null ? null : platformDevice(smmuNode);
        if (smmuPdev == null) {
            throw new BootException("device tree has no arm,smmu-v3 node");
        }
        Resource mem = smmuPdev.platformGetResource(Resource.IORESOURCE_MEM, 0);
        if (mem == null) {
            throw new BootException(smmuNode.path() + ": no reg");
        }
        this.smmuModel = new SmmuV3(board, caps);
        this.smmuMmio = new MmioTrace(smmuModel);
        try {
            board.mmio.map("smmuv3@" + Long.toHexString(mem.start()), mem.start(), Math.max(mem.resourceSize(), 0x20000), smmuMmio);
        } catch (IllegalArgumentException e) {
            throw new BootException(smmuNode.path() + ": unusable reg: " + e.getMessage());
        }
        int combined = smmuPdev.platformGetIrqBynameOptional("combined");
        if (combined > 0) {
            smmuModel.wireIrqs(combined, combined, combined, combined);
        } else {
            smmuModel.wireIrqs(smmuPdev.platformGetIrqBynameOptional("eventq"),
                    smmuPdev.platformGetIrqBynameOptional("priq"),
                    smmuPdev.platformGetIrqBynameOptional("gerror"),
                    smmuPdev.platformGetIrqBynameOptional("cmdq-sync"));
        }

        /* The CPUs (their ASIDs, page tables, TLBI broadcasts) and the IOASID allocator with the
         * SVA library: the kernel has them before any IOMMU driver probes. */
        // As the reference boots: one CPU, and KPTI ("forced ON by KASLR"), so ASIDs come in pairs
        // ("ASID allocator initialised with 32768 entries").
        this.cpus = org.iommu4j.mm.MmWorld.create(board, pages,
                org.iommu4j.mm.MmWorld.Config.defaults().withNrCpus(1).withKpti(true));
        this.ioasid = new org.iommu4j.ioasid.Ioasid();
        this.sva = new org.iommu4j.sva.IommuSvaLib(ioasid);

        /* Driver probe: the platform bus matches "arm,smmu-v3" and calls the driver's probe. */
        /* of_msi_configure: the SMMU's platform MSIs come from the domain its msi-parent names;
         * the ITS's is the only platform MSI domain this machine builds (the SMMU model's
         * event queue and GERROR MSIs then write to GITS_TRANSLATER). Any other parent leaves
         * the driver without an MSI domain: it falls back to the wired interrupts. */
        DeviceNode msiParent = Of.ofParsePhandle(smmuNode, "msi-parent", 0);
        boolean itsParent = msiParent != null && board.msi != null && Of.ofDeviceIsCompatible(msiParent, ITS_COMPATIBLE) > 0;
        /* The IOMMU core (iommu_subsys_init, a subsys_initcall) and the PCI and platform buses
         * exist before any driver probes. */
        this.iommu = new Iommu(pages, ioasid, "");
        if (v2m != null) {
            v2m.dma = iommu.dma(); // CONFIG_IOMMU_DMA: MSIs of devices in DMA domains get remapped
        }
        this.ofIommu = new OfIommu(iommu);
        this.ofDevice = new OfDevice(ofIommu, iommu);
        this.pci = new Pci();
        this.smmu = new ArmSmmuV3(board.mem, pages, board.mmio, board.irqs, itsParent ? board.msi : null);
        smmu.mmWorld = cpus;
        smmu.iommuSva = sva;
        smmu.msiDomain = Of.ofFindProperty(smmuNode, "msi-parent") != null;
        /* Seed 000: aux-domain SSIDs come from ioasid (the driver's private set; no set object in v5.15). */
        smmu.privateIoasid = new ArmSmmuV3.SsidAllocator() {
            @Override
            public int alloc(int min, int max) {
                return ioasid.ioasidAlloc(null, min, max, null);
            }

            @Override
            public void free(int id) {
                ioasid.ioasidFree(null, id);
            }
        };
        smmu.deviceGroupFn = dev -> Pci.devIsPci(dev) ? iommu.pciDeviceGroup(dev) : iommu.genericDeviceGroup(dev);
        /* The probe ends by registering the SMMU with the core and setting the buses' ops. */
        smmu.iommuCore = iommu;
        smmu.pciBusType = pci.pciBusType;
        smmu.platformBusType = platformBus;
        int ret = smmu.armSmmuDriver.probe(smmuPdev);
        if (ret != 0) {
            throw new BootException(String.format(Locale.ROOT, "arm-smmu-v3 probe failed: %d", ret));
        }

        /* PCIe host bridge */
        DeviceNode pcie = of.ofFindCompatibleNode(null, null, "pci-host-ecam-generic");
        PlatformDevice pcieDev = pcie == null ? null : platformDevice(pcie);
        Resource ecam = pcieDev == null ? null : pcieDev.platformGetResource(Resource.IORESOURCE_MEM, 0);
        if (ecam == null) {
            this.hostBridge = null;
            return;
        }
        int[] busRange = {0, 255};
        Of.ofPropertyReadU32Array(pcie, "bus-range", busRange, 2);
        if (busRange[0] < 0 || busRange[1] > 255 || busRange[1] < busRange[0]) {
            throw new BootException(String.format(Locale.ROOT, "%s: bad bus-range <%d %d>", pcie.path(), busRange[0], busRange[1]));
        }
        this.hostBridge = new PciHostBridgeModel(pcie.name, busRange[0], busRange[1]);
        if (rcAts && !Of.ofPropertyReadBool(pcie, "ats-supported")) {
            /* QEMU's blob never says so; the machine's root complex does ATS, so the firmware says it. */
            pcie.setProperty(Property.ofEmpty("ats-supported"));
            Printk.prInfo("%s: ats-supported added (root complex with ATS)", pcie.path());
        }
        /* gpex_host_initfn: the host bridge's own PCI function at 00:00.0, then the -device functions. */
        hostBridge.add(GpexRoot.DEVICE, "gpex-root", GpexRoot.caps());
        for (Object[] ep : endpoints) {
            driven.add(hostBridge.add((Integer) ep[0], (String) ep[1], (PciEndpointCaps) ep[2]));
        }
        try {
            hostBridge.mapEcam(board.mmio, ecam.start());
        } catch (IllegalArgumentException e) {
            throw new BootException(pcie.path() + ": unusable reg: " + e.getMessage());
        }
        mapWindows(pcie);
        /* The wiring: each requester's StreamID is what the tree's iommu-map says it is. */
        for (PciEndpointModel m : hostBridge.endpoints()) {
            int sid = streamId(pcie, m.requesterId());
            if (sid >= 0) {
                m.plug(board, smmuModel, sid);
            }
            if (virtioOptions != null && sid >= 0) {
                org.iommu4j.pci.hw.virtio.VirtioDeviceModel vdm = switch (m.name()) {
                    case "virtio-rng" -> new org.iommu4j.pci.hw.virtio.VirtioRngModel(virtioOptions.rngSeed());
                    case "virtio-blk" -> new org.iommu4j.pci.hw.virtio.VirtioBlkModel(virtioOptions.disk(), null);
                    default -> null;
                };
                if (vdm != null) {
                    var proxy = new org.iommu4j.pci.hw.virtio.VirtioPciProxy(m, vdm, virtioOptions.ringFeatures());
                    m.setBarHandler(VirtioPci.MODERN_MEM_BAR, proxy);
                    virtioProxies.put(sid, proxy);
                }
            }
        }
        /* A GICv3 ITS the tree describes: the driver at the board's doorbell and the PCI/MSI
         * domain on it (its_pci_msi_init), registered under the ITS node for msi-map lookups. */
        DeviceNode itsNode = of.ofFindCompatibleNode(null, null, ITS_COMPATIBLE);
        if (board.msi != null && itsNode != null) {
            this.its = new IrqGicV3Its(board.msi, iommu.dma(), board.irqs, itsNode);
            board.irqs.irqDomainAdd(itsNode, org.iommu4j.base.hw.IrqController.DOMAIN_BUS_PCI_MSI, its.pciMsiDomain);
        }
        /* What the PCI core asks of the layers above it, ported here with the tree: the MSI
         * domain pci_device_add gives each function (pci_set_msi_domain) and the bus's
         * dma_configure really_probe runs before a driver's probe (pci_dma_configure). */
        this.pcieNode = pcie;
        pci.pciSetMsiDomain = dev -> PciOf.pciSetMsiDomain(dev, pcie, board.irqs);
        pci.pciBusType.dmaConfigure = this::pciDmaConfigure;
        /* The machine's record of each function the PCI core adds: its model and StreamID. */
        pci.pciBusType.busNotifier.blockingNotifierChainRegister(this::recordPciFunction);
        this.dma = new DmaMapping(pages);
        if (virtioOptions != null) {
            this.virtio = new org.iommu4j.virtio.Virtio(board.mem, dma, board.irqs);
        }
        /* Driver probe: pci-host-generic describes the bridge from the node (bus range,
         * windows, dma-ranges), maps the ECAM window over its bus range and scans it. */
        PciBus[] scanned = {null};
        DeviceDriver genPci = new DeviceDriver() {
            @Override
            public String name() {
                return "pci-host-generic";
            }

            @Override
            public List<String> ofMatchTable() {
                return List.of("pci-host-ecam-generic");
            }

            @Override
            public int probe(Device dev) {
                pciHostBridge = PciOf.devmPciAllocHostBridge(dev);
                if (pciHostBridge == null) {
                    return -Errno.ENOMEM;
                }
                scanned[0] = pci.pciHostCommonProbe(pciHostBridge, board.mmio, ecam);
                return 0;
            }
        };
        /* really_probe: platform_dma_configure first (the node has no iommus: no IOMMU). */
        pcieDev.driver = genPci;
        int probed = ofDevice.ofDmaConfigure(pcieDev, pcie, true);
        if (probed == 0) {
            probed = genPci.probe(pcieDev);
        }
        if (probed != 0) {
            pcieDev.driver = null;
            Printk.prErr("%s: probe of %s failed with error %d", genPci.name(), pcieDev.devName(), probed);
            return;
        }
        PciOf.pciRegisterHostBridgeMsi(scanned[0], pcieDev, board.irqs);
        /* module_pci_driver(virtio_pci_driver), then the stand-in driver of the functions a test
         * adds: registered after the host bridge's enumeration (drivers/pci links before
         * drivers/virtio), so driver_attach binds the functions already added, in bus order; a
         * function a rescan adds later is bound by pci_bus_add_devices' device_attach. */
        pci.pciBusType.driverRegister(virtioPciDriver);
        pci.pciBusType.driverRegister(endpointDriver);
        if (this.virtio != null) {
            /* insmod virtio-rng, then virtio_blk (the reference's order): each binds its device */
            this.virtioRng = new org.iommu4j.virtio.VirtioRng();
            virtio.registerVirtioDriver(virtioRng);
            this.virtioBlk = new org.iommu4j.virtio.VirtioBlk();
            virtio.registerVirtioDriver(virtioBlk);
        }
    }

    /** The GICv3 ITS binding's compatible. */
    static final String ITS_COMPATIBLE = "arm,gic-v3-its";

    /**
     * GITS_TRANSLATER's physical address of the first ITS the tree describes (an
     * {@code arm,gic-v3-its} msi-controller with a {@code reg}), or -1 without one.
     */
    private long itsTranslater() {
        DeviceNode its = of.ofFindCompatibleNode(null, null, ITS_COMPATIBLE);
        Resource[] r = new Resource[1];
        if (its == null || !Of.ofPropertyReadBool(its, "msi-controller") || Of.ofAddressToResource(its, 0, r) != 0
                || r[0].resourceSize() < Board.GITS_TRANSLATER + 4) {
            return -1;
        }
        return r[0].start() + Board.GITS_TRANSLATER;
    }

    /** Compatibles of the GICv2 driver (irq-gic.c's IRQCHIP_DECLAREs); the first such node is the root GIC. */
    private static final String[] GIC_V2_COMPATIBLES = {"arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a9-gic",
        "arm,cortex-a7-gic", "arm,arm11mp-gic", "arm,eb11mp-gic", "arm,pl390", "arm,tc11mp-gic"};

    private DeviceNode gicV2Node() {
        for (DeviceNode np : of.allnodes()) {
            for (String c : GIC_V2_COMPATIBLES) {
                if (Of.ofDeviceIsCompatible(np, c) > 0 && Of.ofPropertyReadBool(np, "interrupt-controller")) {
                    return np;
                }
            }
        }
        return null;
    }

    /**
     * The board's side of the GICv2m frames after {@code gic}: a model at each msi-controller
     * frame's reg, with QEMU virt's SPIs (the n-th frame the next 64). A frame without a usable
     * reg gets no model (its driver probe fails on the same reg).
     */
    private void gicv2mFrameModels(DeviceNode gic) {
        int baseSpi = org.iommu4j.base.hw.GicV2mFrame.QEMU_VIRT_BASE_SPI;
        int num = org.iommu4j.base.hw.GicV2mFrame.QEMU_VIRT_NUM_SPIS;
        for (DeviceNode np = of.ofFindCompatibleNode(gic, null, IrqGicV2m.GICV2M_COMPATIBLE); np != null;
                np = of.ofFindCompatibleNode(np, null, IrqGicV2m.GICV2M_COMPATIBLE)) {
            Resource[] r = new Resource[1];
            if (Of.ofFindProperty(np, "msi-controller") == null || Of.ofAddressToResource(np, 0, r) != 0
                    || baseSpi + 32 + num > 1020) {
                continue;
            }
            var frame = new org.iommu4j.base.hw.GicV2mFrame(board.irqs, baseSpi, num);
            try {
                board.mmio.map("gicv2m@" + Long.toHexString(r[0].start()), r[0].start(),
                        org.iommu4j.base.hw.GicV2mFrame.FRAME_SIZE, frame);
            } catch (IllegalArgumentException e) {
                throw new BootException(np.path() + ": unusable reg: " + e.getMessage());
            }
            v2mFrames.add(frame);
            baseSpi += num;
        }
    }

    /**
     * The host bridge's address windows where the node's {@code ranges} put them: each I/O or
     * memory range's CPU addresses reach the PCI bus at its PCI address (the board is what the
     * tree describes, as the SMMU sits at its {@code reg}).
     */
    private void mapWindows(DeviceNode pcie) {
        OfPciRangeParser parser = new OfPciRangeParser();
        if (Of.ofPciRangeParserInit(parser, pcie) != 0) {
            return;
        }
        OfPciRange range = new OfPciRange();
        while (Of.ofPciRangeParserOne(parser, range) != null) {
            long type = range.flags & Resource.IORESOURCE_TYPE_BITS;
            if (range.cpuAddr == Of.OF_BAD_ADDR || range.size == 0
                    || (type != Resource.IORESOURCE_IO && type != Resource.IORESOURCE_MEM)) {
                continue;
            }
            try {
                hostBridge.mapWindow(board.mmio, range.cpuAddr, range.size, range.pciAddr, type == Resource.IORESOURCE_IO);
            } catch (IllegalArgumentException e) {
                throw new BootException(pcie.path() + ": unusable ranges: " + e.getMessage());
            }
        }
    }

    /**
     * virtio-pci's probe on a machine that models no virtio device behind the functions' BARs
     * (they read as zero): only its PCI side, enable the function (its BARs decode from now on),
     * ask for 64-bit DMA, else 32-bit (as vp_modern_probe does), make it a bus master. A machine
     * with virtio devices takes the port itself, {@link
     * org.iommu4j.virtio.VirtioPciCommon#virtioPciProbe}. 0 or -errno (the driver core logs it).
     */
    private static int pciSideOfVirtioPciProbe(PciDev dev) {
        int rc = Pci.pciEnableDevice(dev);
        if (rc != 0) {
            return rc;
        }
        if (DmaMapping.dmaSetMaskAndCoherent(dev, DmaMapping.DMA_BIT_MASK(64)) != 0
                && DmaMapping.dmaSetMaskAndCoherent(dev, DmaMapping.DMA_BIT_MASK(32)) != 0) {
            DevPrintk.devWarn(dev, "Failed to enable 64-bit or 32-bit DMA.  Trying to continue, but this might not work.");
        }
        Pci.pciSetMaster(dev);
        return 0;
    }

    /**
     * The bus's {@code dma_configure} (pci_dma_configure, {@link PciOf#pciDmaConfigure}): the
     * host bridge node's dma-ranges, coherency, and the IOMMU its iommu-map names (of_iommu
     * configures the fwspec and the IOMMU core probes the function: its group, default domain
     * and STE), then the DMA ops. A function left without an IOMMU is reported.
     */
    private int pciDmaConfigure(Device dev) {
        int ret = PciOf.pciDmaConfigure(ofDevice, Pci.toPciDev(dev));
        if (ret != 0) {
            Printk.prErr("pci %s: DMA configuration failed: %d", dev.devName(), ret);
        } else if (DevIommu.devIommuFwspecGet(dev) == null) {
            Printk.prErr("pci %s: no IOMMU configured", dev.devName());
        }
        return ret;
    }

    /**
     * Records each function the PCI core adds to its bus (BUS_NOTIFY_ADD_DEVICE, from
     * pci_device_add): its hardware model and the StreamID the host bridge's iommu-map gives its
     * Requester ID. A function found again by a rescan takes its model's entry over.
     */
    private int recordPciFunction(long action, Object data) {
        if (action != org.iommu4j.base.device.BusType.BUS_NOTIFY_ADD_DEVICE) {
            return org.iommu4j.base.Notifier.NOTIFY_DONE;
        }
        PciDev dev = Pci.toPciDev((Device) data);
        PciEndpointModel model = modelOf(dev);
        int sid = streamId(pcieNode, Pci.pciDevId(dev));
        Printk.prInfo("pci %s: [%04x:%04x] StreamID 0x%x", dev.devName(), dev.vendor, dev.device, sid);
        PciFunction f = new PciFunction(model, dev, sid);
        synchronized (functions) {
            for (int i = 0; i < functions.size(); i++) {
                if (functions.get(i).model() == model) {
                    functions.set(i, f);
                    return org.iommu4j.base.Notifier.NOTIFY_OK;
                }
            }
            functions.add(f);
        }
        return org.iommu4j.base.Notifier.NOTIFY_OK;
    }

    /**
     * {@code echo 1 > /sys/bus/pci/rescan}: every root bus rescanned (pci_rescan_bus), so a
     * function removed before, still answering in config space, is found, assigned, added
     * and bound to its driver again.
     */
    public void pciRescan() {
        pci.rescanStore("1\n", 2);
    }

    /**
     * The stand-in driver of the functions a test adds (ones QEMU's virt machine does not have):
     * it binds them through the driver core, so they get their DMA configuration as a driven
     * function does, and its probe makes them bus masters; the test plays the rest of the
     * driver. It leaves Red Hat/Qumranet's functions to virtio-pci.
     */
    private final PciDriver endpointDriver = new PciDriver() {
        @Override
        public String name() {
            return "test-endpoint";
        }

        @Override
        public int[][] idTable() {
            return new int[0][];
        }

        @Override
        public boolean pciMatchId(PciDev dev) {
            PciEndpointModel model = modelOf(dev);
            return dev.vendor != VirtioPci.VIRTIO_PCI_VENDOR_ID && driven.contains(model);
        }

        @Override
        public int probe(Device dev) {
            Pci.pciSetMaster(Pci.toPciDev(dev));
            return 0;
        }
    };

    /**
     * The virtio-pci driver (drivers/virtio/virtio_pci_common.c), bound by the driver core to
     * Red Hat/Qumranet's functions (virtio_pci_id_table: that vendor, any device). Its probe is
     * {@link org.iommu4j.virtio.VirtioPciCommon#virtioPciProbe} on a machine with virtio devices
     * (run B), else only {@link #pciSideOfVirtioPciProbe} (run A: nothing behind the BARs). Its
     * remove (device_release_driver, from pci_stop_and_remove_bus_device or device_del) is
     * {@link org.iommu4j.virtio.VirtioPciCommon#virtioPciRemove} for a function the port
     * probed, else the undoing of the PCI side.
     */
    private final PciDriver virtioPciDriver = new PciDriver() {
        @Override
        public String name() {
            return "virtio-pci";
        }

        @Override
        public int[][] idTable() {
            return new int[][] {{VirtioPci.VIRTIO_PCI_VENDOR_ID, PCI_ANY_ID}};
        }

        @Override
        public int probe(Device dev) {
            PciDev pdev = Pci.toPciDev(dev);
            return virtio != null ? org.iommu4j.virtio.VirtioPciCommon.virtioPciProbe(virtio, pdev)
                    : pciSideOfVirtioPciProbe(pdev);
        }

        @Override
        public void remove(Device dev) {
            PciDev pdev = Pci.toPciDev(dev);
            if (pdev.devGetDrvdata() instanceof org.iommu4j.virtio.VirtioPciDevice) {
                org.iommu4j.virtio.VirtioPciCommon.virtioPciRemove(pdev);
            } else {
                // what pciSideOfVirtioPciProbe did: only pci_disable_device to undo
                Pci.pciDisableDevice(pdev);
            }
        }
    };

    /** The host bridge's model of the function {@code dev} stands for. */
    private PciEndpointModel modelOf(PciDev dev) {
        return hostBridge.function(dev.pciBus.number, Pci.PCI_SLOT(dev.devfn), Pci.PCI_FUNC(dev.devfn));
    }

    /** The StreamID {@code rid} is given by {@code iommu-map}, or -errno. */
    private static int streamId(DeviceNode bridge, int rid) {
        DeviceNode[] target = {null};
        int[] sid = {0};
        int ret = Of.ofMapId(bridge, rid, "iommu-map", "iommu-map-mask", target, sid);
        return ret != 0 ? ret : sid[0];
    }

    public PciFunction function(int sid) {
        for (PciFunction f : functions) {
            if (f.sid() == sid) {
                return f;
            }
        }
        return null;
    }

    /** Device by StreamID, for tools. */
    public Device deviceForSid(int sid) {
        PciFunction f = function(sid);
        return f == null ? null : f.dev();
    }

    /** Power off: the driver's shutdown (CR0 = 0), then the model and the log consumer. */
    @Override
    public void close() {
        if (smmu != null && smmu.smmu.base != null) {
            smmu.armSmmuDeviceShutdown();
        }
        closeQuietly();
    }

    private void closeQuietly() {
        if (board != null) {
            board.irqs.quiesce();
        }
        if (smmu != null) {
            /* the IOPF queues' workers (what arm_smmu_device_remove frees) */
            smmu.armSmmuFreeIopfQueues();
        }
        if (virtioBlk != null) {
            /* virtio_blk's module exit: its workqueue (and worker threads) */
            virtioBlk.fini();
        }
        if (smmuModel != null) {
            smmuModel.close();
        }
        if (board != null) {
            /* devres: the drivers' requested IRQs (and their threads) go with the machine */
            board.irqs.freeAllIrqs();
            /* and the CPU that delivered them */
            board.irqs.shutdown();
        }
        try {
            follow.close();
        } catch (Exception e) {
            // a printk consumer cannot fail to close
        }
    }
}
