package org.iommu4j.platform;

import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Bits;
import org.iommu4j.base.Errno;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceRecord;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.iommu.IommuSva;
import org.iommu4j.mm.ArmContext;
import org.iommu4j.mm.Cpu;
import org.iommu4j.mm.Mm;
import org.iommu4j.mm.MmFault;
import org.iommu4j.mm.Mmap;
import org.iommu4j.pci.hw.PciEndpointModel;
import org.iommu4j.smmuv3.ArmSmmuDomain;
import org.iommu4j.smmuv3.ArmSmmuV3H;

/**
 * The Shared Virtual Addressing demo (seed 004): a process maps a buffer and writes into it; a
 * PCI function with PASID, ATS and PRI is bound to the process; the context descriptor the driver
 * writes at the process's PASID points at the process's own page tables with its pinned ASID; the
 * device reads what the process wrote, and writes into a page the process never touched, which
 * the device gets by a Page Request that io-pgfault and the SVA library resolve with
 * handle_mm_fault; the process reads what the device wrote; munmap reaches the device's ATC, so
 * a DMA to the unmapped page is refused.
 */
public final class SvaDemo {
    /** What the demo observed, for tests. */
    public record Result(int pasid, int asid, String deviceRead, String processRead, long pageRequests,
            List<String> commands, int afterUnmap, int exit) {}

    static final int SID = 0x10;

    private SvaDemo() {}

    public static Result run(Machine m, PrintStream out) {
        Machine.PciFunction f = m.function(SID);
        if (f == null || !f.model().atsEnabled()) {
            out.printf("demo sva: no PCI function with ATS enabled at StreamID 0x%x (needs --caps full)%n", SID);
            return new Result(0, 0, "", "", 0, List.of(), 0, 1);
        }
        Device dev = f.dev();
        PciEndpointModel ep = f.model();

        /* The process: a 4-page buffer, a message in its first page. */
        Mm mm = m.cpus.mmAlloc();
        Cpu cpu = m.cpus.cpu(0);
        cpu.switchMm(mm);
        long buf = Mmap.vmMmap(mm, 0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
        String msg = "written by the process";
        store(cpu, buf, msg);
        out.printf("process: mmap 4 pages at 0x%x, wrote \"%s\" at 0x%x (CPU ASID %d, pgd 0x%x)%n", buf, msg, buf,
                ArmContext.ASID(mm), mm.pgd);

        /* The device driver: IOPF then SVA, then bind. */
        out.printf("iommu_dev_enable_feature(%s, IOMMU_DEV_FEAT_IOPF) = %d%n", dev.devName(),
                Iommu.iommuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_IOPF));
        out.printf("iommu_dev_enable_feature(%s, IOMMU_DEV_FEAT_SVA) = %d (PRI enabled on the device: %b)%n",
                dev.devName(), Iommu.iommuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_SVA), ep.priEnabled());
        IommuSva handle;
        List<String> commands = new ArrayList<>();
        try (Trace.Capture cap = Trace.capture("arm_smmu:cmdq_cmd")) {
            try {
                handle = Iommu.iommuSvaBindDevice(dev, mm, null);
            } catch (ErrnoException e) {
                out.printf("iommu_sva_bind_device = %d%n", e.err());
                return new Result(0, 0, "", "", 0, List.of(), 0, 1);
            }
            int pasid = Iommu.iommuSvaGetPasid(handle);
            ArmSmmuDomain dom = (ArmSmmuDomain) Iommu.iommuGetDomainForDev(dev);
            long cdptr = m.smmu.armSmmuGetCdPtr(dom, pasid);
            long cd0 = m.board.mem.readq(cdptr);
            long ttb0 = m.board.mem.readq(cdptr + 8) & ArmSmmuV3H.CTXDESC_CD_1_TTB0_MASK;
            int asid = (int) Bits.FIELD_GET(ArmSmmuV3H.CTXDESC_CD_0_ASID, cd0);
            out.printf("iommu_sva_bind_device: PASID %d; CD at 0x%x: ASID %d (the CPU's, pinned%s), TTB0 0x%x (the"
                    + " process's pgd), ASET %d%n", pasid, cdptr, asid,
                    m.cpus.config.kpti() ? "; with KPTI its user half, ASID | 1" : "", ttb0,
                    Bits.FIELD_GET(ArmSmmuV3H.CTXDESC_CD_0_ASET, cd0));
            note(cap, commands, out);

            /* The device reads the process's buffer through ATS. */
            byte[] in = new byte[msg.length()];
            int r1 = ep.dmaRead(pasid, buf, in);
            String deviceRead = new String(in, StandardCharsets.US_ASCII);
            out.printf("device DMA read  PASID %d VA 0x%x: ret %d, \"%s\"%n", pasid, buf, r1, deviceRead);

            /* ... and writes into a page the process never touched: ATS fault, Page Request. */
            long page2 = buf + 2 * 4096;
            String reply = "written by the device";
            long prq0 = ep.atsRequests();
            out.printf("page 0x%x before: PTE 0x%x (not present)%n", page2, MmFault.pteOf(mm, page2));
            int r2 = ep.dmaWrite(pasid, page2, reply.getBytes(StandardCharsets.US_ASCII));
            long pte = MmFault.pteOf(mm, page2);
            out.printf("device DMA write PASID %d VA 0x%x: ret %d (translation requests %d); PTE now 0x%x%n", pasid,
                    page2, r2, ep.atsRequests() - prq0, pte);
            note(cap, commands, out);
            String processRead = load(cpu, page2, reply.length());
            out.printf("process reads 0x%x: \"%s\"%n", page2, processRead);

            /* munmap: the MMU notifier invalidates the device's ATC for the PASID. */
            int um = Mmap.vmMunmap(mm, page2, 4096);
            out.printf("process: munmap(0x%x) = %d; device ATC still holds it: %b%n", page2, um,
                    ep.atcContains(pasid, page2));
            note(cap, commands, out);
            int after = ep.dmaWrite(pasid, page2, reply.getBytes(StandardCharsets.US_ASCII));
            out.printf("device DMA write after munmap: ret %d (%s)%n", after,
                    after == -Errno.EFAULT ? "-EFAULT: the Page Request was answered Invalid Request" : "UNEXPECTED");
            note(cap, commands, out);

            Iommu.iommuSvaUnbindDevice(handle);
            out.printf("iommu_sva_unbind_device: CD dword0 now 0x%x, process PASID %d, ASID pinned %b%n",
                    m.board.mem.readq(cdptr), mm.pasid, mm.context.pinned.refcountRead() != 0);
            note(cap, commands, out);
            out.printf("iommu_dev_disable_feature(SVA) = %d, (IOPF) = %d%n",
                    Iommu.iommuDevDisableFeature(dev, IommuH.IOMMU_DEV_FEAT_SVA),
                    Iommu.iommuDevDisableFeature(dev, IommuH.IOMMU_DEV_FEAT_IOPF));
            m.board.irqs.quiesce();
            boolean ok = r1 == 0 && deviceRead.equals(msg) && r2 == 0 && processRead.equals(reply)
                    && after == -Errno.EFAULT && mm.pasid == 0;
            return new Result(pasid, asid, deviceRead, processRead, ep.atsRequests() - prq0, commands, after,
                    ok ? 0 : 1);
        }
    }

    private static void note(Trace.Capture cap, List<String> commands, PrintStream out) {
        for (TraceRecord rec : cap.records()) {
            commands.add(rec.message());
            out.println("  cmd " + rec.message());
        }
        cap.clear();
    }

    private static void store(Cpu cpu, long va, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < b.length; i++) {
            cpu.strb(va + i, b[i]);
        }
    }

    private static String load(Cpu cpu, long va, int len) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) cpu.ldrb(va + i);
        }
        return new String(b, StandardCharsets.US_ASCII);
    }
}
