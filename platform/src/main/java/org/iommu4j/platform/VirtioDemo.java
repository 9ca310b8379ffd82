package org.iommu4j.platform;

import java.io.PrintStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceRecord;
import org.iommu4j.pci.hw.virtio.VirtioRngModel;
import org.iommu4j.virtio.VirtioBlk;
import org.iommu4j.virtio.VirtioDevice;
import org.iommu4j.virtio.VirtioH;
import org.iommu4j.virtio.VirtioRng;

/**
 * The reference's run B on the simulated machine: virtio-blk and virtio-rng with
 * VIRTIO_F_ACCESS_PLATFORM, so every ring and buffer access is a DMA translated by the SMMU;
 * reads 16 KiB and then all of the disk, and 32 bytes from the rng, and prints the SMMU
 * commands and translations per StreamID of those reads beside the reference's.
 */
public final class VirtioDemo {
    /** What the demo observed, for tests. */
    public record Result(String md5First16k, String md5Disk, boolean rngMatches, Map<String, Integer> commands,
            Map<Integer, Integer> translations, int exit) {}

    /* The reference's run B (analysis.txt sections 4 and 6): whole run, boot included. */
    static final int REF_SYNC = 134;
    static final int REF_TLBI_NH_VA = 122;
    static final int REF_TRANSLATIONS_RNG = 131;
    static final int REF_TRANSLATIONS_BLK = 517;
    static final String MD5_16K = "60e24ea4b8d2da8d8d3aa152630e9f0d";
    static final String MD5_DISK = "53154684e7db82f6a99c39408ed03fd0";

    private VirtioDemo() {}

    /** The MD5 of {@code b} in hex, as md5sum prints it (the reference's disk checks). */
    public static String md5(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    public static Result run(Machine m, PrintStream out) {
        VirtioDevice rngDev = null;
        VirtioDevice blkDev = null;
        if (m.virtio != null) {
            for (VirtioDevice d : m.virtio.devices) {
                if (d.idDevice == VirtioH.VIRTIO_ID_RNG && VirtioRng.info(d) != null) {
                    rngDev = d;
                } else if (d.idDevice == VirtioH.VIRTIO_ID_BLOCK && VirtioBlk.blk(d) != null) {
                    blkDev = d;
                }
            }
        }
        if (rngDev == null || blkDev == null) {
            out.println("demo virtio: needs run B's machine (modern virtio-rng and virtio-blk with their drivers bound)");
            return new Result("", "", false, Map.of(), Map.of(), 1);
        }
        for (VirtioDevice d : m.virtio.devices) {
            out.printf("%s on %s: features 0x%x (VERSION_1 %b, ACCESS_PLATFORM %b), %d queue(s)%n", d.devName(),
                    d.parent.devName(), d.features, (d.features >>> VirtioH.VIRTIO_F_VERSION_1 & 1) != 0,
                    (d.features >>> VirtioH.VIRTIO_F_ACCESS_PLATFORM & 1) != 0, d.vqs.size());
        }
        VirtioBlk.VirtioBlkDev vblk = VirtioBlk.blk(blkDev);
        Map<String, Integer> cmds = new TreeMap<>();
        Map<Integer, Integer> xlates = new TreeMap<>();
        byte[] first = new byte[16384];
        byte[] all = new byte[(int) Math.min(vblk.capacity * 512, 64L << 20)];
        byte[] rng = new byte[32];
        int r1;
        int r2;
        int r3;
        try (Trace.Capture cap = Trace.capture("smmuv3:smmuv3_cmdq_opcode", "smmuv3:smmuv3_translate_success")) {
            r1 = m.virtioBlk.virtblkRead(vblk, 0, first);
            r2 = m.virtioBlk.virtblkRead(vblk, 0, all);
            long buf = VirtioRng.allocBuffer(m.virtio);
            r3 = m.virtioRng.virtioRead(VirtioRng.info(rngDev), buf, rng.length, true);
            m.board.mem.read(buf, rng, 0, rng.length);
            m.pages.freePages(buf, 0);
            m.board.irqs.quiesce();
            for (TraceRecord rec : cap.records()) {
                if (rec.event().name().equals("smmuv3_cmdq_opcode")) {
                    cmds.merge(((String) rec.field("cmd")).replace("CMD_", ""), 1, Integer::sum);
                } else {
                    xlates.merge((int) rec.longField("sid"), 1, Integer::sum);
                }
            }
        }
        String md5a = md5(first);
        String md5b = md5(all);
        boolean rngOk = r3 == rng.length && java.util.Arrays.equals(rng, VirtioRngModel.expected(m.virtioOptions.rngSeed(), 32));
        out.printf("read 16 KiB of /dev/%s: %d, md5 %s (reference %s)%n", vblk.diskName, r1, md5a, MD5_16K);
        out.printf("read all %d bytes: %d, md5 %s (reference %s)%n", all.length, r2, md5b, MD5_DISK);
        out.printf("read 32 bytes from virtio-rng: %d, %s the generator's first 32 bytes: %s%n", r3,
                rngOk ? "equal to" : "NOT", HexFormat.of().formatHex(rng));
        out.println("SMMU commands during the reads      here   reference (whole run B)");
        out.printf("  CMD_SYNC                          %4d   %4d%n", cmds.getOrDefault("SYNC", 0), REF_SYNC);
        out.printf("  TLBI_NH_VA                        %4d   %4d%n", cmds.getOrDefault("TLBI_NH_VA", 0), REF_TLBI_NH_VA);
        cmds.forEach((k, v) -> {
            if (!k.equals("SYNC") && !k.equals("TLBI_NH_VA")) {
                out.printf("  %-32s  %4d   %4d%n", k, v, 0);
            }
        });
        out.println("translations (smmuv3_translate_success) per StreamID");
        out.printf("  sid 0x8  (virtio-rng)             %4d   %4d%n", xlates.getOrDefault(0x8, 0), REF_TRANSLATIONS_RNG);
        out.printf("  sid 0x10 (virtio-blk)             %4d   %4d%n", xlates.getOrDefault(0x10, 0), REF_TRANSLATIONS_BLK);
        out.println("Why they differ: the reference counts the whole boot (12 CMD_SYNCs of probe and attach before any");
        out.println("DMA) and Linux 6.1's block layer: its readahead, partition scan and page-cache folios merge");
        out.println("physically contiguous pages into one segment (one range TLBI for several pages); here each page is");
        out.println("one segment and each request one 128 KiB readahead. As on Linux, both devices offer INDIRECT_DESC and");
        out.println("EVENT_IDX as QEMU does and the driver uses them: each block request is one ring descriptor naming an");
        out.println("indirect table mapped with dma_map_single, whose unmap at completion adds one TLBI_NH_VA and its");
        out.println("CMD_SYNC per request (strict mode); every unmap is one TLBI_NH_VA followed by its CMD_SYNC.");
        out.println("Translations count the model's translate_success events: one per 4 KiB piece of each DMA (the");
        out.println("indirect table's read included), so they follow the transfer sizes.");
        boolean ok = r1 == 0 && r2 == 0 && md5a.equals(MD5_16K) && (all.length != 1 << 20 || md5b.equals(MD5_DISK)) && rngOk
                && cmds.getOrDefault("SYNC", 0).equals(cmds.getOrDefault("TLBI_NH_VA", -1));
        return new Result(md5a, md5b, rngOk, cmds, xlates, ok ? 0 : 1);
    }
}
