package org.iommu4j.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.device.PlatformDevice;
import org.iommu4j.base.device.Resource;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuFwspec;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.mm.PageAlloc;
import org.iommu4j.of.DeviceNode;
import org.iommu4j.of.Property;
import org.iommu4j.smmuv3.hw.SmmuCaps;
import org.iommu4j.smmuv3.hw.SmmuV3;

/**
 * The driver against the SMMUv3 model on a bare board (no device tree): the model's registers at
 * QEMU virt's 0x09050000 behind an {@link MmioRecorder}, wired SPIs named as QEMU's DT names them.
 * Only tests touch both packages; the driver never imports the model.
 */
final class SmmuTestBed {
    /** What a call returned, and the kernel log lines printed while it ran. */
    record Printed<T>(T value, List<String> lines) {}

    /** Runs {@code body}, collecting the kernel log lines it prints. */
    static <T> Printed<T> printed(java.util.concurrent.Callable<T> body) throws Exception {
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable f = org.iommu4j.base.Printk.follow(l -> lines.add(l.text()))) {
            return new Printed<>(body.call(), lines);
        }
    }

    static final long SMMU_BASE = 0x0905_0000L;

    final Board board = Board.withRamAndItsDoorbell(1L << 30); // the SMMU MSI tests target its doorbell
    final PageAlloc pages = PageAlloc.forAllRam(board.mem);
    final SmmuV3 model;
    final MmioRecorder rec;
    final ArmSmmuV3 drv;
    final PlatformDevice pdev = new PlatformDevice("9050000.smmuv3");
    /** The platform bus whose ops probe sets (no devices on it unless a test adds some). */
    final BusType platformBus = PlatformDevice.newPlatformBus(null);

    SmmuTestBed(SmmuCaps caps) {
        model = new SmmuV3(board, caps);
        rec = new MmioRecorder(model);
        board.mmio.map("smmuv3", SMMU_BASE, 0x20000, rec);
        int evtq = board.irqs.irqCreateMapping(32 + 0x4a);
        int priq = board.irqs.irqCreateMapping(32 + 0x4b);
        int sync = board.irqs.irqCreateMapping(32 + 0x4c);
        int gerror = board.irqs.irqCreateMapping(32 + 0x4d);
        model.wireIrqs(evtq, priq, gerror, sync);
        pdev.addResource(new Resource("smmu", SMMU_BASE, SMMU_BASE + 0x20000 - 1, Resource.IORESOURCE_MEM));
        pdev.addResource(new Resource("eventq", evtq, evtq, Resource.IORESOURCE_IRQ));
        pdev.addResource(new Resource("priq", priq, priq, Resource.IORESOURCE_IRQ));
        pdev.addResource(new Resource("cmdq-sync", sync, sync, Resource.IORESOURCE_IRQ));
        pdev.addResource(new Resource("gerror", gerror, gerror, Resource.IORESOURCE_IRQ));
        drv = new ArmSmmuV3(board.mem, pages, board.mmio, board.irqs, board.msi);
        /* What probe registers with: a core of the default policy (a test wanting another sets
         * its own before probing) and the platform bus; no PCI bus unless a test gives one. */
        drv.iommuCore = new Iommu();
        drv.platformBusType = platformBus;
    }

    int probe() {
        return probe(1, "dma-coherent");
    }

    /** Probes with a device-tree node carrying {@code #iommu-cells} (absent if negative) and the boolean props. */
    int probe(int iommuCells, String... boolProps) {
        return probe(pdev, iommuCells, boolProps);
    }

    int probe(PlatformDevice p, int iommuCells, String... boolProps) {
        p.ofNode = smmuNode(iommuCells, boolProps);
        return drv.armSmmuDeviceProbe(p);
    }

    /** An {@code arm,smmu-v3} node as QEMU's virt tree has it (reg/interrupts live in the resources). */
    static DeviceNode smmuNode(int iommuCells, String... boolProps) {
        DeviceNode np = DeviceNode.root().addChild("smmuv3@9050000");
        np.setProperty(Property.ofStrings("compatible", "arm,smmu-v3"));
        if (iommuCells >= 0) {
            np.setProperty(Property.ofCells("#iommu-cells", iommuCells));
        }
        for (String b : boolProps) {
            np.setProperty(Property.ofEmpty(b));
        }
        return np;
    }

    /** A platform master with one StreamID (and optional pasid-num-bits), probed by the driver. */
    Device master(String name, int sid, int pasidBits) {
        Device dev = new Device(name);
        assertThat(Iommu.iommuFwspecInit(dev, pdev, drv.armSmmuOps)).isZero();
        assertThat(Iommu.iommuFwspecAddIds(dev, new int[] {sid}, 1)).isZero();
        IommuFwspec fw = DevIommu.devIommuFwspecGet(dev);
        fw.numPasidBits = pasidBits;
        drv.armSmmuProbeDevice(dev);
        return dev;
    }

    ArmSmmuDomain dmaDomain() {
        return drv.armSmmuDomainAlloc(IommuH.IOMMU_DOMAIN_DMA);
    }

    /** Commands in the command queue, [from, to), as raw dword pairs. */
    List<long[]> commands(int from, int to) {
        List<long[]> out = new ArrayList<>();
        long base = drv.smmu.cmdq.q.base;
        for (int i = from; i < to; i++) {
            out.add(new long[] {board.mem.readq(base + 16L * i), board.mem.readq(base + 16L * i + 8)});
        }
        return out;
    }

    /** The hardware PROD value = number of commands written so far (no wrap in these tests). */
    int prod() {
        return drv.smmu.cmdq.q.page.readl(drv.smmu.cmdq.q.prodReg) & ((1 << drv.smmu.cmdq.q.llq.maxNShift) - 1);
    }

    List<Integer> opcodes(int from, int to) {
        List<Integer> ops = new ArrayList<>();
        for (long[] c : commands(from, to)) {
            ops.add((int) (c[0] & 0xff));
        }
        return ops;
    }

    DmaResult dma(int sid, int ssid, long addr, int access) {
        DmaTransaction txn = new DmaTransaction().set(sid, ssid, addr, 4, access);
        DmaResult res = new DmaResult();
        model.translate(txn, res);
        return res;
    }

    long ste(int sid, int dword) {
        return board.mem.readq(drv.armSmmuGetStepForSid(drv.smmu, sid) + 8L * dword);
    }
}
