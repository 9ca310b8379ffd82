package org.iommu4j.platform;

import static org.iommu4j.base.Errno.EFAULT;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuFwspec;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.mm.PageAlloc;
import org.iommu4j.pci.Pci;
import org.iommu4j.pci.PciBus;
import org.iommu4j.pci.PciDev;
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

    public final Dtb dtb;
    public final String capsName;
    public Board board;
    public PageAlloc pages;
    public SmmuV3 smmuModel;
    public MmioTrace smmuMmio;
    public ArmSmmuV3 smmu;
    public PlatformDevice smmuPdev;
    public Iommu iommu;
    public org.iommu4j.ioasid.Ioasid ioasid;
    public Pci pci;
    public PciHostBridgeModel hostBridge;
    public final List<PciFunction> functions = new ArrayList<>();
    /** The kernel log lines printed during this machine's life (dmesg). */
    public final List<String> dmesg = new CopyOnWriteArrayList<>();
    private final AutoCloseable follow;
    private Dtb.Node smmuNode;

    /** Endpoints the reference used: virtio-rng at 00:01.0 (SID 0x8), virtio-blk at 00:02.0 (SID 0x10). */
    static List<Object[]> defaultEndpoints(boolean full) {
        List<Object[]> eps = new ArrayList<>();
        PciEndpointCaps.Builder rng = PciEndpointCaps.builder().ids(0x1af4, 0x1044).classCode(0x00ff00);
        PciEndpointCaps.Builder blk = PciEndpointCaps.builder().ids(0x1af4, 0x1042).classCode(0x010000);
        if (!full) {
            rng.noPasid().noAts().noPri();
            blk.noPasid().noAts().noPri();
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
        return new Machine(Dtb.bundledVirt(), capsName);
    }

    public Machine(byte[] blob, String capsName) {
        this(blob, capsName, false);
    }

    /**
     * @param rcAts treat the host bridge as ATS-capable even without the DT's "ats-supported"
     *     (QEMU's blob never has it); PCI functions with ATS then translate through their ATC
     */
    public Machine(byte[] blob, String capsName, boolean rcAts) {
        SmmuCaps caps = caps(capsName);
        this.capsName = capsName == null ? "qemu" : capsName;
        try {
            this.dtb = Dtb.parse(blob);
        } catch (Dtb.MalformedDtbException e) {
            throw new BootException("malformed device tree blob: " + e.getMessage());
        }
        this.follow = Printk.follow(l -> dmesg.add(l.dmesg()));
        try {
            build(caps, rcAts);
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    /* Fields assigned by build(): final semantics kept by assigning exactly once. */
    private void build(SmmuCaps caps, boolean rcAts) {

        /* RAM */
        Dtb.Node memory = dtb.child("memory");
        if (memory == null || memory.reg().isEmpty()) {
            throw new BootException("device tree has no /memory node with a reg");
        }
        long[] ram = memory.reg().get(0);
        Printk.pr_info("Machine model: %s", dtb.root.strings("compatible").isEmpty() ? "?" : dtb.root.strings("compatible").get(0));
        Printk.pr_info("Memory: %dK RAM at 0x%x", ram[1] >> 10, ram[0]);
        this.board = new Board(new PhysMem(ram[0], ram[1]));
        this.pages = PageAlloc.forAllRam(board.mem);

        /* SMMU */
        List<Dtb.Node> smmus = dtb.findCompatible("arm,smmu-v3");
        if (smmus.isEmpty()) {
            throw new BootException("device tree has no arm,smmu-v3 node");
        }
        smmuNode = smmus.get(0);
        List<long[]> reg = smmuNode.reg();
        if (reg.isEmpty()) {
            throw new BootException(smmuNode.path() + ": no reg");
        }
        long base = reg.get(0)[0];
        long size = reg.get(0)[1];
        this.smmuModel = new SmmuV3(board, caps);
        this.smmuMmio = new MmioTrace(smmuModel);
        board.mmio.map("smmuv3@" + Long.toHexString(base), base, Math.max(size, 0x20000), smmuMmio);
        this.smmuPdev = new PlatformDevice(Long.toHexString(base) + "." + smmuNode.baseName());
        smmuPdev.ofNode = smmuNode;
        smmuPdev.addResource(new Resource(smmuNode.name, base, base + size - 1, Resource.IORESOURCE_MEM));
        int[] intr = smmuNode.cells("interrupts");
        List<String> names = smmuNode.strings("interrupt-names");
        int evtq = -1;
        int priq = -1;
        int gerror = -1;
        int sync = -1;
        if (intr != null) {
            for (int i = 0; i + 2 < intr.length; i += 3) {
                int hwirq = (intr[i] == 0 ? 32 : 16) + intr[i + 1];
                int virq = board.irqs.irq_create_mapping(hwirq);
                String n = i / 3 < names.size() ? names.get(i / 3) : "irq" + i / 3;
                smmuPdev.addResource(new Resource(n, virq, virq, Resource.IORESOURCE_IRQ));
                switch (n) {
                    case "eventq" -> evtq = virq;
                    case "priq" -> priq = virq;
                    case "gerror" -> gerror = virq;
                    case "cmdq-sync" -> sync = virq;
                    case "combined" -> {
                        evtq = virq;
                        priq = virq;
                        gerror = virq;
                        sync = virq;
                    }
                    default -> { }
                }
            }
        }
        smmuModel.wireIrqs(evtq, priq, gerror, sync);

        /* Driver probe */
        this.smmu = new ArmSmmuV3(board.mem, pages, board.mmio, board.irqs, board.msi);
        smmu.msi_domain = smmuNode.has("msi-parent");
        List<String> props = new ArrayList<>(smmuNode.props.keySet());
        int ret = smmu.arm_smmu_device_probe(smmuPdev, smmuNode.u32("#iommu-cells", -1), props);
        if (ret != 0) {
            throw new BootException(String.format(Locale.ROOT, "arm-smmu-v3 probe failed: %d", ret));
        }

        /* IOMMU core and registration */
        this.ioasid = new org.iommu4j.ioasid.Ioasid();
        this.iommu = new Iommu(pages, ioasid, "");
        /* Seed 000: aux-domain SSIDs come from ioasid (the driver's private set; no set object in v5.15). */
        smmu.private_ioasid = new ArmSmmuV3.SsidAllocator() {
            @Override
            public int alloc(int min, int max) {
                return ioasid.ioasid_alloc(null, min, max, null);
            }

            @Override
            public void free(int id) {
                ioasid.ioasid_free(null, id);
            }
        };
        this.pci = new Pci();
        smmu.device_group_fn = dev -> Pci.dev_is_pci(dev) ? iommu.pci_device_group(dev) : iommu.generic_device_group(dev);
        smmu.iommu.fwnode = smmuNode;
        smmu.iommu.dev = smmuPdev;
        iommu.iommu_device_register(smmu.iommu, smmu.arm_smmu_ops, smmuPdev);
        iommu.bus_set_iommu(pci.pci_bus_type, smmu.arm_smmu_ops);

        /* PCIe host bridge */
        List<Dtb.Node> hosts = dtb.findCompatible("pci-host-ecam-generic");
        if (hosts.isEmpty()) {
            this.hostBridge = null;
            return;
        }
        Dtb.Node pcie = hosts.get(0);
        long ecam = pcie.reg().get(0)[0];
        int[] busRange = pcie.cells("bus-range");
        int busStart = busRange == null ? 0 : busRange[0];
        int busEnd = busRange == null ? 255 : busRange[1];
        this.hostBridge = new PciHostBridgeModel(pcie.name, busStart, busEnd);
        boolean full = "full".equals(this.capsName);
        boolean ats = rcAts || pcie.has("ats-supported");
        for (Object[] ep : defaultEndpoints(full)) {
            hostBridge.add((Integer) ep[0], (String) ep[1], (PciEndpointCaps) ep[2]);
        }
        hostBridge.mapEcam(board.mmio, ecam);
        for (PciEndpointModel m : hostBridge.endpoints()) {
            int sid = of_map_id(pcie, m.requesterId());
            if (sid >= 0) {
                m.plug(board, smmuModel, sid);
            }
        }
        PciBus bus = pci.pci_host_common_probe(board.mmio, ecam, busStart, busEnd);
        for (PciDev dev : bus.devices) {
            int rid = (bus.number << 8) | dev.devfn;
            PciEndpointModel model = hostBridge.function(bus.number, dev.devfn >> 3, dev.devfn & 7);
            int sid = of_map_id(pcie, rid);
            Printk.pr_info("pci %s: [%04x:%04x] StreamID 0x%x", dev.dev_name(), dev.vendor, dev.device, sid);
            Pci.pci_set_master(dev);
            int r = of_iommu_configure(dev, pcie, sid, ats);
            if (r != 0) {
                Printk.pr_err("pci %s: IOMMU configuration failed: %d", dev.dev_name(), r);
            }
            functions.add(new PciFunction(model, dev, sid));
        }
    }

    /**
     * drivers/of/base.c:of_map_id for "iommu-map": the masked RID inside an entry's range maps to
     * iommu-base + offset; no map means identity; no matching entry -EFAULT.
     */
    public int of_map_id(Dtb.Node node, int rid) {
        int[] map = node.cells("iommu-map");
        if (map == null) {
            return rid;
        }
        int mask = node.u32("iommu-map-mask", 0xffffffff);
        int masked = rid & mask;
        for (int i = 0; i + 3 < map.length; i += 4) {
            int ridBase = map[i];
            Dtb.Node target = dtb.byPhandle(map[i + 1]);
            int outBase = map[i + 2];
            int len = map[i + 3];
            if (target == null) {
                continue;
            }
            if (Integer.compareUnsigned(masked, ridBase) >= 0 && Integer.compareUnsigned(masked - ridBase, len) < 0) {
                return outBase + (masked - ridBase);
            }
        }
        return -EFAULT;
    }

    /**
     * drivers/iommu/of_iommu.c:of_iommu_configure for a PCI function: fwspec from the IOMMU's
     * ops and the mapped StreamID (+ the root complex ATS flag), then iommu_probe_device.
     */
    int of_iommu_configure(PciDev dev, Dtb.Node pcie, int sid, boolean rcAts) {
        if (sid < 0) {
            return sid;
        }
        int ret = Iommu.iommu_fwspec_init(dev, smmuNode, smmu.arm_smmu_ops);
        if (ret != 0) {
            return ret;
        }
        ret = smmu.arm_smmu_of_xlate(dev, new int[] {sid});
        if (ret != 0) {
            return ret;
        }
        IommuFwspec fw = Iommu.dev_iommu_fwspec_get(dev);
        /* "ats-supported" on the host bridge (or the machine's rcAts override). */
        if (rcAts) {
            fw.flags |= IommuH.IOMMU_FWSPEC_PCI_RC_ATS;
        }
        return iommu.iommu_probe_device(dev);
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
            smmu.arm_smmu_device_shutdown();
        }
        closeQuietly();
    }

    private void closeQuietly() {
        if (board != null) {
            board.irqs.quiesce();
        }
        if (smmuModel != null) {
            smmuModel.close();
        }
        try {
            follow.close();
        } catch (Exception e) {
            // a printk consumer cannot fail to close
        }
    }
}
