package org.iommu4j.mm;

import static org.iommu4j.mm.MmH.FAULT_FLAG_INSTRUCTION;
import static org.iommu4j.mm.MmH.FAULT_FLAG_USER;
import static org.iommu4j.mm.MmH.FAULT_FLAG_WRITE;
import static org.iommu4j.mm.MmH.VM_FAULT_BADACCESS;
import static org.iommu4j.mm.MmH.VM_FAULT_BADMAP;
import static org.iommu4j.mm.MmH.VM_FAULT_ERROR;
import static org.iommu4j.mm.PgtableH.PTE_ADDR_MASK;
import static org.iommu4j.mm.PgtableH.PTE_AF;
import static org.iommu4j.mm.PgtableH.PTE_DBM;
import static org.iommu4j.mm.PgtableH.PTE_RDONLY;
import static org.iommu4j.mm.PgtableH.PTE_USER;
import static org.iommu4j.mm.PgtableH.PTE_UXN;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.base.trace.Trace;

/**
 * One simulated arm64 CPU running user code at EL0: TTBR0_EL1 (page-table root and ASID), a TLB
 * tagged by ASID, a hardware table walker that may set AF and clear AP[2] itself (FEAT_HAFDBS
 * when {@link MmWorld.Config#hwAfDbm}), and the exception path into the kernel's page-fault
 * handler ({@link MmFault#doPageFault}).
 *
 * <p>Threads: a Cpu is driven by one thread at a time, as a real CPU runs one instruction
 * stream; TLB invalidations (TLBI broadcast, rollover flushes) arrive from any thread.
 *
 * <p>TLB: direct-mapped, 1024 entries of page granularity (a block mapping is cached one page at
 * a time), tag = valid | ASID | VA page number. Hit path: two array loads, a compare, a
 * permission test and the PhysMem access; it allocates nothing. Entries are only filled with
 * AF set. A fill that raced with an invalidation is dropped (a per-CPU flush sequence checked
 * after the fill), so an invalidation that returned has removed every entry filled from the old
 * table contents. Not modelled: an access that already passed its TLB lookup when a TLBI
 * completes on another thread (the DSB that would wait for it).
 */
public final class Cpu {
    /** A user access the kernel answered with a signal (SIGSEGV, SIGBUS) or the OOM killer. */
    public static final class UserFault extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final long addr;
        /** The vm_fault_t (plus VM_FAULT_BADMAP/BADACCESS) that failed. */
        public final int fault;

        UserFault(long addr, int fault, String what) {
            super(what + " at 0x" + Long.toHexString(addr) + " (fault 0x" + Integer.toHexString(fault) + ")");
            this.addr = addr;
            this.fault = fault;
        }
    }

    public static final int ACC_READ = 0;
    public static final int ACC_WRITE = 1;
    public static final int ACC_EXEC = 2;

    private static final int TLB_BITS = 10;
    private static final int TLB_SIZE = 1 << TLB_BITS;
    private static final long TAG_VALID = 1L << 63;

    public final int id;
    private final MmWorld world;
    private final PhysMem mem;
    private final Pgtable pgt;
    private final int pageShift;
    private final long pageMask;
    private final int vaBits;
    private final boolean hafdbm;
    private final long pageSize;
    private final long outMask;

    /* TTBR0_EL1 and what it was loaded from. */
    private Mm activeMm;
    private long ttbr0;
    private long pgd;
    private long asid;
    /** asid * hash constant and TAG_VALID | asid << 40, cached at switch time for the hit path. */
    private long asidHash;
    private long tagBase = TAG_VALID;

    private final long[] tlbTag = new long[TLB_SIZE];
    private final long[] tlbDesc = new long[TLB_SIZE];
    private final byte[] tlbShift = new byte[TLB_SIZE];
    private final AtomicInteger flushSeq = new AtomicInteger();
    private volatile int blockEntries;

    private long hits;
    private long misses;
    private long faults;

    Cpu(MmWorld world, int id) {
        this.world = world;
        this.id = id;
        this.mem = world.mem;
        this.pgt = world.pgtable;
        this.pageShift = pgt.PAGE_SHIFT;
        this.pageMask = pgt.PAGE_MASK;
        this.vaBits = pgt.VA_BITS;
        this.hafdbm = world.config.hwAfDbm();
        this.pageSize = 1L << pageShift;
        this.outMask = PTE_ADDR_MASK & pageMask;
    }

    /* ---------------- context switch ---------------- */

    /**
     * Runs {@code next} on this CPU (the mm half of context_switch): takes a lazy mm_count
     * reference on it, drops the one on the previous mm, and switches ASID and TTBR0 through
     * check_and_switch_context.
     */
    public void switchMm(Mm next) {
        Mm prev = activeMm;
        Trace.setCpu(id);
        if (prev == next) {
            world.context.checkAndSwitchContext(next, this);
            return;
        }
        next.mmgrab();
        world.context.checkAndSwitchContext(next, this);
        if (prev != null) {
            prev.mmdrop();
        }
    }

    /** Leaves user space: TTBR0 to the reserved (empty) table, dropping the lazy mm reference. */
    public void switchToIdle() {
        Mm prev = activeMm;
        activeMm = null;
        pgd = 0;
        ttbr0 = 0;
        asid = 0; // init_mm's reserved ASID: never tags a user entry
        asidHash = 0;
        tagBase = TAG_VALID;
        if (prev != null) {
            prev.mmdrop();
        }
    }

    /** Loads TTBR0_EL1 ({@code cpu_switch_mm}). */
    void cpuSwitchMm(long pgdPa, Mm mm, long ctxid) {
        long hwAsid = world.context.ctxid2asid(ctxid);
        if (world.config.kpti()) {
            hwAsid |= 1;
        }
        this.pgd = pgdPa;
        this.asid = hwAsid;
        this.ttbr0 = pgdPa | (hwAsid << 48);
        this.asidHash = hwAsid * 0x9E3779B1L;
        this.tagBase = TAG_VALID | (hwAsid << 40);
        this.activeMm = mm;
    }

    public Mm activeMm() {
        return activeMm;
    }

    /** TTBR0_EL1 as loaded: BADDR | ASID << 48. */
    public long ttbr0() {
        return ttbr0;
    }

    public int asid() {
        return (int) asid;
    }

    /* ---------------- loads and stores at EL0 ---------------- */

    /** LDR of {@code size} bytes (1, 2, 4, 8), zero-extended. Throws UserFault on a signal. */
    public long load(long va, int size) {
        if (((va & ~pageMask) + size) > (1L << pageShift)) {
            return loadSplit(va, size);
        }
        return mem.read(translate(va, ACC_READ), size);
    }

    /** STR of {@code size} bytes. Throws UserFault on a signal. */
    public void store(long va, long value, int size) {
        if (((va & ~pageMask) + size) > (1L << pageShift)) {
            storeSplit(va, value, size);
            return;
        }
        mem.write(translate(va, ACC_WRITE), value, size);
    }

    /** 64-bit LDR. The TLB-hit case is open-coded: range check, tag compare, EL0 read permission. */
    public long ldr(long va) {
        long off = va & ~pageMask;
        if (off <= pageSize - 8 && (va >>> vaBits) == 0) {
            long vpn = va >>> pageShift;
            int i = (int) ((vpn ^ (vpn >>> TLB_BITS) ^ asidHash) & (TLB_SIZE - 1));
            if (tlbTag[i] == (tagBase | vpn)) {
                long d = tlbDesc[i];
                if ((d & PTE_USER) != 0) {
                    hits++;
                    return mem.readq((d & outMask) | off);
                }
            }
            return mem.readq(translate(va, ACC_READ));
        }
        return loadSplit(va, 8);
    }

    public void str(long va, long value) {
        if ((va & ~pageMask) > (1L << pageShift) - 8) {
            storeSplit(va, value, 8);
            return;
        }
        mem.writeq(translate(va, ACC_WRITE), value);
    }

    public int ldrb(long va) {
        return mem.readb(translate(va, ACC_READ));
    }

    public void strb(long va, int value) {
        mem.writeb(translate(va, ACC_WRITE), value);
    }

    /** An instruction fetch of 4 bytes (execute permission). */
    public int fetch(long va) {
        return (int) mem.read(translate(va, ACC_EXEC), 4);
    }

    private long loadSplit(long va, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (long) mem.readb(translate(va + i, ACC_READ)) << (8 * i);
        }
        return v;
    }

    private void storeSplit(long va, long value, int size) {
        // Check every byte first so a faulting store writes nothing.
        for (int i = 0; i < size; i++) {
            translate(va + i, ACC_WRITE);
        }
        for (int i = 0; i < size; i++) {
            mem.writeb(translate(va + i, ACC_WRITE), (int) (value >>> (8 * i)));
        }
    }

    /* ---------------- translation ---------------- */

    private static int slot(long vpn, long asid) {
        long h = vpn ^ (vpn >>> TLB_BITS) ^ (asid * 0x9E3779B1L);
        return (int) (h & (TLB_SIZE - 1));
    }

    private static boolean permits(long d, int acc) {
        switch (acc) {
            case ACC_READ:
                return (d & PTE_USER) != 0;
            case ACC_WRITE:
                return (d & (PTE_USER | PTE_RDONLY)) == PTE_USER;
            default:
                return (d & PTE_UXN) == 0;
        }
    }

    /** VA to PA for an EL0 access; faults into the kernel and retries; throws UserFault on a signal. */
    public long translate(long va, int acc) {
        long vpn = va >>> pageShift;
        long a = asid;
        int i = slot(vpn, a);
        // The range check keeps a TTBR1-half VA from forging another ASID's tag.
        if ((va >>> vaBits) == 0 && tlbTag[i] == (TAG_VALID | (a << 40) | vpn)) {
            long d = tlbDesc[i];
            if (permits(d, acc)) {
                hits++;
                return (d & PTE_ADDR_MASK & pageMask) | (va & ~pageMask);
            }
        }
        return translateSlow(va, acc);
    }

    private long translateSlow(long va, int acc) {
        misses++;
        for (int attempt = 0; ; attempt++) {
            Mm mm = activeMm;
            if (mm == null || (va >>> vaBits) != 0) {
                // TTBR1 half or no user mm: the kernel finds no VMA.
                throw new UserFault(va, VM_FAULT_BADMAP, "SIGSEGV");
            }
            int seq = flushSeq.get();
            long e = pgt.walkEntry(pgd, va);
            int level = (int) (e & 7);
            long descPa = e & ~7L;
            long desc = mem.readqAcquire(descPa);
            boolean valid = level == 3 ? (desc & 3) == 3 : (desc & 3) == 1;
            int kind = 0; // 0 ok, 1 translation, 2 access flag, 3 permission
            if (!valid) {
                kind = 1;
            } else {
                if ((desc & PTE_AF) == 0) {
                    if (hafdbm) {
                        long w = mem.cmpxchgq(descPa, desc, desc | PTE_AF);
                        if (w != desc) {
                            continue; // the descriptor changed under us: walk again
                        }
                        desc |= PTE_AF;
                    } else {
                        kind = 2;
                    }
                }
                if (kind == 0 && !permits(desc, acc)) {
                    if (acc == ACC_WRITE && hafdbm && (desc & (PTE_DBM | PTE_RDONLY | PTE_USER)) == (PTE_DBM | PTE_RDONLY | PTE_USER)) {
                        // Hardware dirty-state update: AP[2] cleared atomically, no fault.
                        long w = mem.cmpxchgq(descPa, desc, desc & ~PTE_RDONLY);
                        if (w != desc) {
                            continue;
                        }
                        desc &= ~PTE_RDONLY;
                    } else {
                        kind = 3;
                    }
                }
            }
            long vpn = va >>> pageShift;
            long a = asid;
            int i = slot(vpn, a);
            if (kind == 0) {
                int shift = pgt.levelShift(level);
                long outMask = PTE_ADDR_MASK & -(1L << shift);
                long pa = (desc & outMask) | (va & ((1L << shift) - 1));
                long d = (desc & ~PTE_ADDR_MASK) | (pa & pageMask & PTE_ADDR_MASK);
                tlbDesc[i] = d;
                tlbShift[i] = (byte) shift;
                if (shift != pageShift) {
                    blockEntries++;
                }
                TAG.setVolatile(tlbTag, i, TAG_VALID | (a << 40) | vpn);
                if (flushSeq.get() != seq) {
                    TAG.setVolatile(tlbTag, i, 0L);
                }
                return pa;
            }
            // The faulting translation is not kept.
            tlbTag[i] = 0;
            faults++;
            if (attempt >= 4) {
                throw new UserFault(va, MmH.VM_FAULT_SIGBUS, "unresolvable fault");
            }
            int flags = FAULT_FLAG_USER;
            if (acc == ACC_WRITE) {
                flags |= FAULT_FLAG_WRITE;
            } else if (acc == ACC_EXEC) {
                flags |= FAULT_FLAG_INSTRUCTION;
            }
            int fault = MmFault.doPageFault(mm, va, flags);
            if ((fault & (VM_FAULT_ERROR | VM_FAULT_BADMAP | VM_FAULT_BADACCESS)) != 0) {
                String sig = (fault & MmH.VM_FAULT_OOM) != 0 ? "OOM" : (fault & MmH.VM_FAULT_SIGBUS) != 0 ? "SIGBUS" : "SIGSEGV";
                throw new UserFault(va, fault, sig);
            }
        }
    }

    /* ---------------- TLB maintenance (local effect of TLBI) ---------------- */

    /** {@code local_flush_tlb_all}: TLBI VMALLE1 on this CPU. */
    public void localFlushTlbAll() {
        tlbiAll();
    }

    void tlbiAll() {
        flushSeq.incrementAndGet();
        for (int i = 0; i < TLB_SIZE; i++) {
            TAG.setVolatile(tlbTag, i, 0L);
        }
        blockEntries = 0;
    }

    void tlbiAsid(long asid) {
        flushSeq.incrementAndGet();
        for (int i = 0; i < TLB_SIZE; i++) {
            long t = (long) TAG.getVolatile(tlbTag, i);
            if (t != 0 && ((t >>> 40) & 0xffff) == asid) {
                TAG.compareAndSet(tlbTag, i, t, 0L);
            }
        }
    }

    void tlbiVa(long asid, long va) {
        flushSeq.incrementAndGet();
        long vpn = (va & ((1L << vaBits) - 1)) >>> pageShift;
        int i = slot(vpn, asid);
        long want = TAG_VALID | (asid << 40) | vpn;
        TAG.compareAndSet(tlbTag, i, want, 0L);
        if (blockEntries != 0) {
            invalidateBlocks(va, asid, false);
        }
    }

    void tlbiVaa(long va) {
        flushSeq.incrementAndGet();
        long vpn = (va & ((1L << vaBits) - 1)) >>> pageShift;
        for (int i = 0; i < TLB_SIZE; i++) {
            long t = (long) TAG.getVolatile(tlbTag, i);
            if (t != 0) {
                long tv = t & ((1L << 40) - 1);
                int shift = tlbShift[i];
                if ((tv >>> (shift - pageShift)) == (vpn >>> (shift - pageShift))) {
                    TAG.compareAndSet(tlbTag, i, t, 0L);
                }
            }
        }
    }

    private void invalidateBlocks(long va, long asid, boolean anyAsid) {
        long vpn = (va & ((1L << vaBits) - 1)) >>> pageShift;
        for (int i = 0; i < TLB_SIZE; i++) {
            long t = (long) TAG.getVolatile(tlbTag, i);
            int shift = tlbShift[i];
            if (t != 0 && shift != pageShift && (anyAsid || ((t >>> 40) & 0xffff) == asid)) {
                long tv = t & ((1L << 40) - 1);
                if ((tv >>> (shift - pageShift)) == (vpn >>> (shift - pageShift))) {
                    TAG.compareAndSet(tlbTag, i, t, 0L);
                }
            }
        }
    }

    /** Valid TLB entries (test view). */
    public int tlbEntries() {
        int n = 0;
        for (int i = 0; i < TLB_SIZE; i++) {
            if ((long) TAG.getVolatile(tlbTag, i) != 0) {
                n++;
            }
        }
        return n;
    }

    /** True if the TLB holds a translation of {@code va} for {@code asid} (test view). */
    public boolean tlbHolds(long asid, long va) {
        long vpn = va >>> pageShift;
        int i = slot(vpn, asid);
        return (long) TAG.getVolatile(tlbTag, i) == (TAG_VALID | (asid << 40) | vpn);
    }

    public long tlbHits() {
        return hits;
    }

    public long tlbMisses() {
        return misses;
    }

    public long faults() {
        return faults;
    }

    private static final VarHandle TAG = MethodHandles.arrayElementVarHandle(long[].class);
}
