package org.iommu4j.smmuv3.hw;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.hw.PhysMem;

/**
 * A board with one SMMU, driven the way a driver drives it: registers through the MMIO bus,
 * tables and queues in physical memory. The encoders here are the tests' own, written from the
 * facts sheet with literal bit positions, independent of the model's decoders.
 */
final class TestBed {
    static final long SMMU_BASE = 0x0905_0000L;
    static final long RAM = 0x4000_0000L;

    /* register offsets (facts sheet (a)) */
    static final int IDR0 = 0x0, IDR1 = 0x4, IDR3 = 0xc, IDR5 = 0x14, IIDR = 0x18, AIDR = 0x1c, CR0 = 0x20, CR0ACK = 0x24,
            CR1 = 0x28, CR2 = 0x2c, STATUSR = 0x40, GBPA = 0x44, IRQ_CTRL = 0x50, IRQ_CTRLACK = 0x54, GERROR = 0x60,
            GERRORN = 0x64, GERROR_IRQ_CFG0 = 0x68, GERROR_IRQ_CFG1 = 0x70, GERROR_IRQ_CFG2 = 0x74, STRTAB_BASE = 0x80,
            STRTAB_BASE_CFG = 0x88, CMDQ_BASE = 0x90, CMDQ_PROD = 0x98, CMDQ_CONS = 0x9c, EVENTQ_BASE = 0xa0,
            EVENTQ_PROD = 0x100a8, EVENTQ_CONS = 0x100ac, EVENTQ_IRQ_CFG0 = 0xb0, EVENTQ_IRQ_CFG1 = 0xb8,
            PRIQ_BASE = 0xc0, PRIQ_PROD = 0x100c8, PRIQ_CONS = 0x100cc, PRIQ_IRQ_CFG0 = 0xd0, PRIQ_IRQ_CFG1 = 0xd8;
    static final int CR0_SMMUEN = 1, CR0_PRIQEN = 2, CR0_EVTQEN = 4, CR0_CMDQEN = 8, CR0_ATSCHK = 16;
    static final int CR2_E2H = 1, CR2_RECINVSID = 2, CR2_PTM = 4;

    /* descriptor bits */
    static final long PTE_PAGE = 3, PTE_BLOCK = 1, AF = 1L << 10, AP_EL0 = 1L << 6, AP_RO = 1L << 7, NG = 1L << 11,
            DBM = 1L << 51, PXN = 1L << 53, UXN = 1L << 54, S2AP_R = 1L << 6, S2AP_W = 1L << 7, S2_XN = 1L << 54;
    /** An ordinary read-write, user-accessible, non-global stage-1 page. */
    static final long S1_RW = AF | AP_EL0 | NG;
    /** Stage 2 read-write Normal memory (MemAttr 0b1111, write-back, as io-pgtable-arm's OIWB). */
    static final long S2_RW = AF | S2AP_R | S2AP_W | (0xfL << 2);

    final Board board;
    final PhysMem mem;
    final SmmuV3 smmu;
    final SmmuCaps caps;
    private long brk = RAM + 0x10_0000;

    long strtab;
    int strtabLog2;
    boolean twoLevel;
    long cmdq;
    int cmdqLog2 = 6;
    long evtq;
    int evtqLog2 = 5;
    long priq;
    int priqLog2 = 5;
    int cmdProd;

    TestBed(SmmuCaps caps) {
        this.board = Board.withRamAndItsDoorbell(1L << 30); // the MSI tests target its doorbell
        this.mem = board.mem;
        this.caps = caps;
        this.smmu = new SmmuV3(board, caps);
        smmu.mapMmio(SMMU_BASE);
    }

    static TestBed full() {
        return new TestBed(SmmuCaps.full()).init();
    }

    /** Page-aligned zeroed memory (at least {@code align}-aligned). */
    long alloc(long size, long align) {
        align = Math.max(align, 4096);
        brk = (brk + align - 1) & -align;
        long a = brk;
        brk += Math.max(size, 4096);
        return a;
    }

    int readl(int off) {
        return (int) board.mmio.read(SMMU_BASE + off, 4);
    }

    long readq(int off) {
        return board.mmio.read(SMMU_BASE + off, 8);
    }

    void writel(int off, int v) {
        board.mmio.write(SMMU_BASE + off, Integer.toUnsignedLong(v), 4);
    }

    void writeq(int off, long v) {
        board.mmio.write(SMMU_BASE + off, v, 8);
    }

    /** The Linux bring-up: linear stream table of 2^8 entries, queues, RECINVSID, everything enabled. */
    TestBed init() {
        return init(false, 8);
    }

    TestBed init(boolean twoLvl, int log2) {
        writel(CR0, 0);
        writel(CR2, CR2_RECINVSID);
        strtabLog2 = log2;
        twoLevel = twoLvl;
        if (twoLvl) {
            int l1 = 1 << (log2 - 8);
            strtab = alloc(8L * l1, 64);
            writeq(STRTAB_BASE, strtab);
            writel(STRTAB_BASE_CFG, (1 << 16) | (8 << 6) | log2);
        } else {
            strtab = alloc(64L << log2, 64L << log2);
            writeq(STRTAB_BASE, strtab);
            writel(STRTAB_BASE_CFG, log2);
        }
        cmdq = alloc(16L << cmdqLog2, 16L << cmdqLog2);
        writeq(CMDQ_BASE, cmdq | cmdqLog2);
        writel(CMDQ_PROD, 0);
        writel(CMDQ_CONS, 0);
        cmdProd = 0;
        int cr0 = CR0_CMDQEN;
        writel(CR0, cr0);
        evtq = alloc(32L << evtqLog2, 32L << evtqLog2);
        writeq(EVENTQ_BASE, evtq | evtqLog2);
        writel(EVENTQ_PROD, 0);
        writel(EVENTQ_CONS, 0);
        cr0 |= CR0_EVTQEN;
        if (caps.pri()) {
            priq = alloc(16L << priqLog2, 16L << priqLog2);
            writeq(PRIQ_BASE, priq | priqLog2);
            writel(PRIQ_PROD, 0);
            writel(PRIQ_CONS, 0);
            cr0 |= CR0_PRIQEN;
        }
        writel(CR0, cr0);
        writel(CR0, cr0 | CR0_SMMUEN);
        return this;
    }

    /** Installs an L2 stream table (Span 9 = 256 STEs) under L1 index {@code l1}. */
    long installL2(int l1) {
        long l2 = alloc(64L * 256, 64L * 256);
        mem.writeq(strtab + 8L * l1, l2 | 9);
        return l2;
    }

    long steAddr(int sid) {
        if (!twoLevel) {
            return strtab + 64L * sid;
        }
        long l1 = mem.readq(strtab + 8L * (sid >>> 8));
        if ((l1 & 0x1f) == 0) {
            l1 = installL2(sid >>> 8) | 9;
        }
        return (l1 & 0x00ff_ffff_ffff_ffc0L) + 64L * (sid & 0xff);
    }

    void writeSte(int sid, long... dw) {
        long a = steAddr(sid);
        for (int i = 0; i < 8; i++) {
            mem.writeq(a + 8L * i, i < dw.length ? dw[i] : 0);
        }
    }

    /* ---------------- STE encoders (facts sheet (b)) ---------------- */

    static long[] steAbort() {
        return new long[] {0x1};
    }

    static long[] steBypass() {
        return new long[] {0x9};
    }

    /** Stage-1 STE: CD table at {@code cdtab}, S1FMT, S1CDMAX, S1DSS; STRW NS-EL1. */
    static long[] steS1(long cdtab, int s1fmt, int s1cdmax, int s1dss) {
        long dw0 = 1 | (5L << 1) | ((long) s1fmt << 4) | (cdtab & 0x000f_ffff_ffff_ffc0L) | ((long) s1cdmax << 59);
        long dw1 = s1dss | (1L << 2) | (1L << 4) | (3L << 6);
        return new long[] {dw0, dw1};
    }

    /** Stage-2 STE: VMID, 4K granule, S2T0SZ, SL0, 48-bit PS, AA64, S2R. */
    static long[] steS2(int vmid, long s2ttb, int t0sz, int sl0, int tg) {
        long dw0 = 1 | (6L << 1);
        long vtcr = t0sz | ((long) sl0 << 6) | (1L << 8) | (1L << 10) | (3L << 12) | ((long) tg << 14) | (5L << 16);
        long dw2 = vmid | (vtcr << 32) | (1L << 51) | (1L << 54) | (1L << 58);
        long dw3 = s2ttb & 0x000f_ffff_ffff_fff0L;
        return new long[] {dw0, 0, dw2, dw3};
    }

    /* ---------------- CD encoder (facts sheet (c)) ---------------- */

    /** A Linux-like stage-1 CD: T0SZ, TG0, IRGN/ORGN WBWA, SH0 ISH, EPD1, V, IPS 48-bit, AA64, R, A, ASET, ASID. */
    static long[] cd(int asid, long ttb0, int t0sz, int tg0) {
        long dw0 = t0sz | ((long) tg0 << 6) | (1L << 8) | (1L << 10) | (3L << 12) | (1L << 30) | (1L << 31) | (5L << 32)
                | (1L << 41) | (1L << 45) | (1L << 46) | (1L << 47) | ((long) asid << 48);
        return new long[] {dw0, ttb0 & 0x000f_ffff_ffff_fff0L, 0, 0x0404ff44L};
    }

    static final long CD_S = 1L << 44, CD_R = 1L << 45, CD_HD = 1L << 42, CD_HA = 1L << 43, CD_TBI0 = 1L << 38,
            CD_AFFD = 1L << 35, CD_EPD0 = 1L << 14, CD_V = 1L << 31;

    void writeCd(long addr, long... dw) {
        for (int i = 0; i < 8; i++) {
            mem.writeq(addr + 8L * i, i < dw.length ? dw[i] : 0);
        }
    }

    /* ---------------- commands (facts sheet (d)) ---------------- */

    /** Writes a command at PROD and rings the doorbell. */
    void cmd(long dw0, long dw1) {
        long slot = cmdq + 16L * (cmdProd & ((1 << cmdqLog2) - 1));
        mem.writeq(slot, dw0);
        mem.writeq(slot + 8, dw1);
        cmdProd = (cmdProd + 1) & ((2 << cmdqLog2) - 1);
        writel(CMDQ_PROD, cmdProd);
    }

    void sync() {
        cmd(0x46, 0);
    }

    void cfgiSte(int sid) {
        cmd(0x03 | ((long) sid << 32), 1);
        sync();
    }

    void cfgiAll() {
        cmd(0x04, 31);
        sync();
    }

    void cfgiCd(int sid, int ssid) {
        cmd(0x05 | ((long) ssid << 12) | ((long) sid << 32), 1);
        sync();
    }

    void tlbiAsid(int asid) {
        cmd(0x11 | ((long) asid << 48), 0);
        sync();
    }

    void tlbiVa(int asid, long va) {
        cmd(0x12 | ((long) asid << 48), (va & ~0xfffL) | 1);
        sync();
    }

    int cmdqCons() {
        return readl(CMDQ_CONS);
    }

    /* ---------------- event queue (facts sheet (e)) ---------------- */

    /** Reads the new event records (4 dwords each) and advances EVENTQ_CONS. */
    List<long[]> drainEvents() {
        List<long[]> out = new ArrayList<>();
        int prod = readl(EVENTQ_PROD);
        int cons = readl(EVENTQ_CONS);
        int mask = (2 << evtqLog2) - 1;
        while ((prod & mask) != (cons & mask)) {
            long a = evtq + 32L * (cons & ((1 << evtqLog2) - 1));
            out.add(new long[] {mem.readq(a), mem.readq(a + 8), mem.readq(a + 16), mem.readq(a + 24)});
            cons = ((cons & mask) + 1) & mask | (cons & 0x8000_0000);
        }
        writel(EVENTQ_CONS, cons);
        return out;
    }

    static int evtId(long[] e) {
        return (int) (e[0] & 0xff);
    }

    static int evtSid(long[] e) {
        return (int) (e[0] >>> 32);
    }

    static int evtSsid(long[] e) {
        return (int) ((e[0] >>> 12) & 0xfffff);
    }

    static boolean evtSsv(long[] e) {
        return ((e[0] >>> 11) & 1) != 0;
    }

    /* ---------------- DMA ---------------- */

    final DmaTransaction txn = new DmaTransaction();
    final DmaResult res = new DmaResult();

    DmaResult dma(int sid, int ssid, long addr, int access) {
        txn.set(sid, ssid, addr, 4, access);
        smmu.translate(txn, res);
        return res;
    }

    DmaResult read(int sid, long addr) {
        return dma(sid, DmaTransaction.NO_SSID, addr, DmaTransaction.ACC_READ);
    }

    DmaResult write(int sid, long addr) {
        return dma(sid, DmaTransaction.NO_SSID, addr, DmaTransaction.ACC_WRITE);
    }

    /* ---------------- page tables ---------------- */

    /** A VMSAv8-64 table tree built by the test (stage 1 or 2), 4K/16K/64K granule. */
    final class PageTable {
        final int g;
        final int ias;
        final int start;
        final int startBits;
        final long root;

        /** Stage-1 layout for {@code 64 - t0sz} input bits. */
        PageTable(int granuleShift, int ias) {
            this(granuleShift, ias, -1);
        }

        /** Explicit start level (stage 2 with SL0). */
        PageTable(int granuleShift, int ias, int startLevel) {
            this.g = granuleShift;
            this.ias = ias;
            int stride = g - 3;
            this.start = startLevel >= 0 ? startLevel : 4 - (ias - g + stride - 1) / stride;
            this.startBits = ias - (g + stride * (3 - start));
            long size = 8L << startBits;
            this.root = alloc(size, Math.max(size, 1L << g));
        }

        /** Maps one page (level 3) or block (level 1/2) at {@code va}. */
        long map(long va, long pa, int level, long attrs) {
            int stride = g - 3;
            long table = root;
            for (int l = start; l < level; l++) {
                int bits = l == start ? startBits : stride;
                int shift = g + stride * (3 - l);
                long pte = table + 8 * ((va >>> shift) & ((1L << bits) - 1));
                long d = mem.readq(pte);
                if ((d & 1) == 0) {
                    long next = alloc(1L << g, 1L << g);
                    mem.writeq(pte, next | 3);
                    d = next | 3;
                }
                table = d & 0x0000_ffff_ffff_f000L & ~((1L << g) - 1);
            }
            int bits = level == start ? startBits : stride;
            int shift = g + stride * (3 - level);
            long pte = table + 8 * ((va >>> shift) & ((1L << bits) - 1));
            mem.writeq(pte, (pa & ~((1L << shift) - 1)) | attrs | (level == 3 ? PTE_PAGE : PTE_BLOCK));
            return pte;
        }

        long map(long va, long pa, long attrs) {
            return map(va, pa, 3, attrs);
        }
    }

    /** Stage-1 setup for SID {@code sid}: linear CD table of 2^cdmax CDs, CD[ssid] with a 4K/48-bit table. */
    record S1(long cdtab, PageTable pt) {}

    S1 setupS1(int sid, int asid, int s1cdmax, int s1dss) {
        PageTable pt = new PageTable(12, 48);
        long cdtab = alloc(64L << s1cdmax, 64L << s1cdmax);
        writeCd(cdtab, cd(asid, pt.root, 16, 0));
        writeSte(sid, steS1(cdtab, 0, s1cdmax, s1dss));
        return new S1(cdtab, pt);
    }

    /**
     * {@link #setupS1} for SID 1 and ASID 9 in the EL2 regime (CR2.E2H = 1, STE.STRW = EL2) with
     * one read-write user page {@code va -> pa}.
     */
    S1 setupS1El2Mapped(long va, long pa) {
        writel(CR2, CR2_RECINVSID | CR2_E2H);
        S1 s1 = setupS1(1, 9, 0, 0);
        long[] ste = steS1(s1.cdtab(), 0, 0, 0);
        ste[1] |= 2L << 30; // STRW = EL2
        writeSte(1, ste);
        s1.pt().map(va, pa, S1_RW);
        return s1;
    }

    /** {@link #setupS1} for SID 1 and ASID 9 with one read-write user page {@code va -> pa}. */
    S1 setupS1Mapped(long va, long pa) {
        S1 s1 = setupS1(1, 9, 0, 0);
        s1.pt().map(va, pa, S1_RW);
        return s1;
    }

    /**
     * {@link #setupS1} for SID 1 and ASID 9 with STE.EATS = translate (ATS translation requests
     * served) and one page {@code va -> pa} with {@code attrs}.
     */
    S1 setupS1AtsMapped(long va, long pa, long attrs) {
        S1 s1 = setupS1(1, 9, 0, 0);
        long[] ste = steS1(s1.cdtab(), 0, 0, 0);
        ste[1] |= 1L << 28; // EATS = translate
        writeSte(1, ste);
        s1.pt().map(va, pa, attrs);
        return s1;
    }

    /** IPA stage 1 maps to in {@link #setupNested}, and where stage 2 puts it. */
    static final long NESTED_IPA = 0x4800_0000L, NESTED_PA = 0x5000_0000L;

    /**
     * A nested STE for {@code sid} (VMID 4, ASID 3): stage 1 maps {@code va} to
     * {@link #NESTED_IPA}; stage 2 identity-maps the 2 MiB blocks holding the tables and maps the
     * IPA's block to {@link #NESTED_PA}. Returns the stage-1 tables.
     */
    /** The stage 2 tables {@link #setupNested} made for {@code sid}. */
    PageTable nestedS2(int sid) {
        return nestedS2.get(sid);
    }

    private final java.util.Map<Integer, PageTable> nestedS2 = new java.util.HashMap<>();

    PageTable setupNested(int sid, long va) {
        PageTable s2 = new PageTable(12, 40, 1);
        nestedS2.put(sid, s2);
        PageTable s1 = new PageTable(12, 48);
        long cdtab = alloc(64, 64);
        writeCd(cdtab, cd(3, s1.root, 16, 0));
        s1.map(va, NESTED_IPA, S1_RW);
        for (long a = 0x4000_0000L; a < 0x4200_0000L; a += 1 << 21) {
            s2.map(a, a, 2, S2_RW);
        }
        s2.map(NESTED_IPA, NESTED_PA, 2, S2_RW);
        long[] ste = steS2(4, s2.root, 24, 1, 0);
        long[] s1ste = steS1(cdtab, 0, 0, 0);
        ste[0] = s1ste[0] | (7L << 1); // Config = nested
        ste[1] = s1ste[1];
        writeSte(sid, ste);
        return s1;
    }
}
