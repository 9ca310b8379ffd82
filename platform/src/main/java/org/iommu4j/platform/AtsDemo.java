package org.iommu4j.platform;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Errno;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceRecord;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.pci.hw.PciEndpointModel;

/**
 * The ATS demo: a PCI function whose root complex does ATS gets ATS enabled by the driver at
 * attach; its DMA fetches a translation from the SMMU into the device's ATC, later DMA hits the
 * ATC, and iommu_unmap makes the driver send CMD_ATC_INV (then CMD_SYNC), which the SMMU
 * forwards to the device, so the next DMA cannot use a stale ATC entry and faults.
 */
public final class AtsDemo {
    /** What the demo observed, for tests. */
    public record Result(String bytesRead, long atsRequests, long atcHits, List<String> commands, long atcInvalidations,
            boolean staleEntryGone, int afterUnmap, int exit) {}

    static final int SID = 0x10;
    static final long IOVA = 0x7000_0000L;

    private AtsDemo() {}

    public static Result run(Machine m, PrintStream out) {
        Machine.PciFunction f = m.function(SID);
        if (f == null || !f.model().atsEnabled()) {
            out.printf("demo ats: no PCI function with ATS enabled at StreamID 0x%x (needs --caps full)%n", SID);
            return new Result("", 0, 0, List.of(), 0, false, 0, 1);
        }
        PciEndpointModel ep = f.model();
        out.printf("%s: ATS enabled by the driver (STU field %d: %d-byte translation unit)%n", f.dev().devName(),
                ep.atsStu(), 1 << (12 + ep.atsStu()));
        IommuDomain d = Iommu.iommuGetDomainForDev(f.dev());
        long pa = m.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
        String text = String.format("ATS page at PA 0x%x", pa);
        m.board.mem.write(pa, text.getBytes(StandardCharsets.US_ASCII));
        int ret = Iommu.iommuMap(d, IOVA, pa, 4096, IommuH.IOMMU_READ | IommuH.IOMMU_WRITE);
        out.printf("iommu_map(IOVA 0x%x -> PA 0x%x) = %d%n", IOVA, pa, ret);

        byte[] buf = new byte[text.length()];
        long req0 = ep.atsRequests();
        int r1 = ep.dmaRead(IOVA, buf);
        String read = new String(buf, StandardCharsets.US_ASCII);
        out.printf("DMA read IOVA 0x%x: ret %d, \"%s\"; translation requests %d, ATC holds the page: %b%n", IOVA, r1, read,
                ep.atsRequests() - req0, ep.atcContains(DmaTransaction.NO_SSID, IOVA));
        long hits0 = ep.atcHits();
        int r2 = ep.dmaRead(IOVA, buf);
        long reqs = ep.atsRequests() - req0;
        long hits = ep.atcHits() - hits0;
        out.printf("DMA read again: ret %d, served by the ATC (hits +%d, translation requests %d)%n", r2, hits, reqs);

        List<String> cmds = new ArrayList<>();
        long inv0 = ep.atcInvalidations();
        try (Trace.Capture cap = Trace.capture("arm_smmu:cmdq_cmd")) {
            long unmapped = Iommu.iommuUnmap(d, IOVA, 4096);
            out.printf("iommu_unmap(IOVA 0x%x) = 0x%x%n", IOVA, unmapped);
            for (TraceRecord rec : cap.records()) {
                cmds.add(rec.message());
                out.println("  cmd " + rec.message());
            }
        }
        long invs = ep.atcInvalidations() - inv0;
        boolean gone = !ep.atcContains(DmaTransaction.NO_SSID, IOVA);
        out.printf("device ATC: %d invalidation(s) received, entry for IOVA 0x%x gone: %b%n", invs, IOVA, gone);
        int after = ep.dmaRead(IOVA, buf);
        out.printf("DMA read after unmap: ret %d (%s)%n", after, after == -Errno.EFAULT ? "-EFAULT: no stale translation" : "STALE");
        m.board.irqs.quiesce();
        boolean ok = r1 == 0 && r2 == 0 && read.equals(text) && hits == 1 && invs > 0 && gone && after == -Errno.EFAULT;
        return new Result(read, reqs, hits, cmds, invs, gone, after, ok ? 0 : 1);
    }
}
