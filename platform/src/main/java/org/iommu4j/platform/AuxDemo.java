package org.iommu4j.platform;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.Errno;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceRecord;
import org.iommu4j.iommu.DevIommu;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuDomain;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.smmuv3.ArmSmmuDomain;
import org.iommu4j.smmuv3.ArmSmmuMaster;
import org.iommu4j.smmuv3.ArmSmmuV3;

/**
 * The auxiliary-domain demo (seed 000): one PCI function with PASID, three aux domains each
 * mapping its own page, a DMA per PASID, and a DMA with one PASID into another domain's IOVA that
 * faults and is decoded from the event queue.
 */
public final class AuxDemo {
    /** What the demo observed, for tests. */
    public record Result(List<Integer> pasids, List<String> bytesRead, int crossRet, List<String> events, List<String> cds, int exit) {}

    private AuxDemo() {}

    public static Result run(Machine m, PrintStream out) {
        Machine.PciFunction f = m.function(0x8);
        if (f == null) {
            out.println("demo aux: no PCI function with StreamID 0x8");
            return new Result(List.of(), List.of(), 0, List.of(), List.of(), 1);
        }
        Device dev = f.dev();
        if (!Iommu.iommuDevHasFeature(dev, IommuH.IOMMU_DEV_FEAT_AUX)) {
            out.println("demo aux: " + dev.devName() + " has no AUX support (no PASID/substreams: try --caps full)");
            return new Result(List.of(), List.of(), 0, List.of(), List.of(), 1);
        }
        int ret = Iommu.iommuDevEnableFeature(dev, IommuH.IOMMU_DEV_FEAT_AUX);
        out.printf("iommu_dev_enable_feature(%s, IOMMU_DEV_FEAT_AUX) = %d%n", dev.devName(), ret);
        ArmSmmuMaster master = (ArmSmmuMaster) DevIommu.devIommuPrivGet(dev);
        ArmSmmuDomain parent = master.domain;
        out.printf("  master: ssid_bits %d, parent domain ASID %d, CD table %s at 0x%x%n", master.ssidBits,
                parent.s1Cfg.cd.asid, parent.s1Cfg.s1fmt == 0 ? "linear" : "2-level", parent.s1Cfg.cdcfg.cdtab);

        List<Integer> pasids = new ArrayList<>();
        List<Long> iovas = new ArrayList<>();
        List<String> cds = new ArrayList<>();
        List<IommuDomain> doms = new ArrayList<>();
        try (Trace.Capture cap = Trace.capture("arm_smmu:cmdq_cmd")) {
            for (int k = 0; k < 3; k++) {
                cap.clear();
                IommuDomain dom = m.iommu.iommuDomainAlloc(m.pci.pciBusType);
                ret = m.iommu.iommuAuxAttachDevice(dom, dev);
                int pasid = Iommu.iommuAuxGetPasid(dom, dev);
                long pa = m.pages.allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
                byte[] msg = String.format("aux domain %d: page at PA 0x%x", k, pa).getBytes(StandardCharsets.US_ASCII);
                m.board.mem.write(pa, msg);
                long iova = 0x200000L + k * 0x100000L;
                int mret = Iommu.iommuMap(dom, iova, pa, 4096, IommuH.IOMMU_READ | IommuH.IOMMU_WRITE);
                out.printf("aux domain %d: iommu_aux_attach_device = %d, PASID %d, ASID %d, iommu_map(IOVA 0x%x -> PA 0x%x) = %d%n",
                        k, ret, pasid, ((ArmSmmuDomain) dom).s1Cfg.cd.asid, iova, pa, mret);
                long cdptr = m.smmu.armSmmuGetCdPtr(parent, pasid);
                String cd = String.format("CD[%d] @0x%x: 0x%016x 0x%016x 0x%016x 0x%016x", pasid, cdptr,
                        m.board.mem.readq(cdptr), m.board.mem.readq(cdptr + 8), m.board.mem.readq(cdptr + 16), m.board.mem.readq(cdptr + 24));
                cds.add(cd);
                out.println("  " + cd);
                for (TraceRecord r : cap.records()) {
                    out.println("  cmd " + r.message());
                }
                pasids.add(pasid);
                iovas.add(iova);
                doms.add(dom);
            }
        }

        List<String> read = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            byte[] buf = new byte[64];
            int r = f.model().dmaRead(pasids.get(k), iovas.get(k), buf);
            int n = 0;
            while (n < buf.length && buf[n] != 0) {
                n++;
            }
            String s = new String(buf, 0, n, StandardCharsets.US_ASCII);
            read.add(s);
            out.printf("DMA read PASID %d IOVA 0x%x: ret %d, %d bytes: \"%s\"%n", pasids.get(k), iovas.get(k), r, buf.length, s);
        }

        /* Isolation: PASID of domain 0 into domain 1's IOVA. */
        int before = m.smmu.decodedEvents.size();
        byte[] buf = new byte[64];
        int cross = f.model().dmaRead(pasids.get(0), iovas.get(1), buf);
        out.printf("DMA read PASID %d IOVA 0x%x (domain 1's page): ret %d (%s)%n", pasids.get(0), iovas.get(1), cross,
                cross == -Errno.EFAULT ? "-EFAULT: isolated" : "NOT ISOLATED");
        m.board.irqs.quiesce();
        List<String> events = new ArrayList<>(m.smmu.decodedEvents.subList(before, m.smmu.decodedEvents.size()));
        for (String e : events) {
            out.println("event decoded: " + e);
        }

        for (int k = 0; k < 3; k++) {
            m.iommu.iommuAuxDetachDevice(doms.get(k), dev);
            m.iommu.iommuDomainFree(doms.get(k));
        }
        out.printf("aux domains detached; DMA with PASID %d now: %d%n", pasids.get(0),
                f.model().dmaRead(pasids.get(0), iovas.get(0), new byte[8]));
        m.board.irqs.quiesce();
        return new Result(pasids, read, cross, events, cds, cross == -Errno.EFAULT ? 0 : 1);
    }

    static int noSsid() {
        return DmaTransaction.NO_SSID;
    }

    static ArmSmmuV3 driver(Machine m) {
        return m.smmu;
    }
}
