package org.iommu4j.mm;

import static org.iommu4j.base.Bits.FIELD_PREP;
import static org.iommu4j.mm.PgtableH.ID_AA64MMFR0_ASID_MASK;
import static org.iommu4j.mm.PgtableH.ID_AA64MMFR0_PARANGE_48;
import static org.iommu4j.mm.PgtableH.ID_AA64MMFR0_PARANGE_MASK;

import org.iommu4j.base.Port;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.Interconnect;
import org.iommu4j.base.hw.Interconnect.Tlbi;
import org.iommu4j.base.hw.PhysMem;

/**
 * The CPU side of one simulated machine: physical memory and its page allocator, the page-table
 * geometry, the CPUs with their TLBs, the ASID allocator, the SRCU domain of MMU notifiers, and
 * the DVM interconnect TLB invalidations are broadcast on. Kernel globals of mm/ and
 * arch/arm64/mm live here, so every test builds an independent world.
 *
 * <p>Typical use:
 * <pre>{@code
 * MmWorld w = MmWorld.create(Board.withRam(SZ_256M));
 * Mm mm = w.mm_alloc();
 * long va = Mmap.vm_mmap(mm, 0, SZ_1M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
 * Cpu cpu = w.cpu(0);
 * cpu.switch_mm(mm);
 * cpu.store(va, 42, 8);          // demand-faults a zeroed page, sets it dirty
 * mm.mmput();                    // exit: notifiers' release, unmap, free page tables
 * }</pre>
 *
 * <p>Also holds the tlbflush.h operations (arch/arm64/include/asm/tlbflush.h): every flush
 * invalidates each simulated CPU's TLB and, when some agent listens, is broadcast on the
 * {@link Interconnect} as the TLBI ...IS instruction the kernel would issue (for an SMMU with
 * BTM).
 */
public final class MmWorld {
    /**
     * Machine parameters. pageShift 12/14/16; vaBits 39 or 48 typically; asidBits 8/16;
     * hwAfDbm: the CPUs update AF and dirty state in hardware (TCR_EL1.HA/HD); pinning: whether
     * arm64_mm_context_get can pin; kpti: kernel unmapped at EL0 (ASID pairs).
     */
    public record Config(int pageShift, int vaBits, int asidBits, int nrCpus, boolean hwAfDbm, boolean pinning,
            boolean kpti) {
        public static Config defaults() {
            return new Config(12, 48, 16, 4, true, true, false);
        }

        public Config withVaBits(int v) {
            return new Config(pageShift, v, asidBits, nrCpus, hwAfDbm, pinning, kpti);
        }

        public Config withPageShift(int v) {
            return new Config(v, vaBits, asidBits, nrCpus, hwAfDbm, pinning, kpti);
        }

        public Config withAsidBits(int v) {
            return new Config(pageShift, vaBits, v, nrCpus, hwAfDbm, pinning, kpti);
        }

        public Config withNrCpus(int v) {
            return new Config(pageShift, vaBits, asidBits, v, hwAfDbm, pinning, kpti);
        }

        public Config withHwAfDbm(boolean v) {
            return new Config(pageShift, vaBits, asidBits, nrCpus, v, pinning, kpti);
        }

        public Config withPinning(boolean v) {
            return new Config(pageShift, vaBits, asidBits, nrCpus, hwAfDbm, v, kpti);
        }

        public Config withKpti(boolean v) {
            return new Config(pageShift, vaBits, asidBits, nrCpus, hwAfDbm, pinning, v);
        }
    }

    public final Config config;
    public final PhysMem mem;
    public final PageAlloc pages;
    public final Pgtable pgtable;
    public final Interconnect interconnect;
    public final ArmContext context;
    /** vm.max_map_count. */
    public volatile int sysctlMaxMapCount = MmH.DEFAULT_MAX_MAP_COUNT;
    /** The SRCU domain of mm/mmu_notifier.c. */
    public final Srcu srcu = new Srcu("mmu_notifier");
    private final Cpu[] cpus;
    /** empty_zero_page: mapped read-only by read faults on private anonymous memory. */
    private final long zeroPage;

    public MmWorld(PhysMem mem, PageAlloc pages, Interconnect interconnect, Config config) {
        this.config = config;
        this.mem = mem;
        this.pages = pages;
        this.interconnect = interconnect;
        this.pgtable = new Pgtable(mem, pages, config.pageShift(), config.vaBits());
        this.context = new ArmContext(config.asidBits(), config.nrCpus(), config.pinning(), config.kpti());
        this.zeroPage = pages.allocPages(org.iommu4j.base.Gfp.GFP_KERNEL | org.iommu4j.base.Gfp.__GFP_ZERO
                | org.iommu4j.base.Gfp.__GFP_NOFAIL, pgtable.pageOrder);
        this.cpus = new Cpu[config.nrCpus()];
        for (int i = 0; i < cpus.length; i++) {
            cpus[i] = new Cpu(this, i);
        }
    }

    /** A world over all the board's RAM with the default configuration. */
    public static MmWorld create(Board board) {
        return create(board, Config.defaults());
    }

    public static MmWorld create(Board board, Config config) {
        return new MmWorld(board.mem, PageAlloc.forAllRam(board.mem), board.interconnect, config);
    }

    /**
     * A world sharing the machine's page allocator: when drivers also allocate pages (stream
     * tables, queues), every user of the board must use this one PageAlloc.
     */
    public static MmWorld create(Board board, PageAlloc pages, Config config) {
        return new MmWorld(board.mem, pages, board.interconnect, config);
    }

    /** A world on its own 64 MiB board (tests). */
    public static MmWorld createDefault() {
        return create(Board.withRam(64L << 20));
    }

    /**
     * A new address space with one user and no mapping; null if its pgd cannot be allocated.
     */
    @Port("kernel/fork.c:mm_alloc")
    public Mm mmAlloc() {
        long pgd = pgtable.pgdAlloc();
        if (pgd == 0) {
            return null;
        }
        return new Mm(this, pgd);
    }

    /** Physical address of the zero page ({@code ZERO_PAGE}). */
    @Port("arch/arm64/include/asm/pgtable.h:ZERO_PAGE")
    public long zeroPage() {
        return zeroPage;
    }

    public Cpu cpu(int i) {
        return cpus[i];
    }

    public int nrCpus() {
        return cpus.length;
    }

    /* ---------------- system registers an SVA driver copies into a CD ---------------- */

    /** {@code read_sysreg(mair_el1)}. */
    public long readMairEl1() {
        return PgtableH.MAIR_EL1_SET;
    }

    /** ID_AA64MMFR0_EL1 as read_sanitised_ftr_reg returns it: PARange 48 bits, ASIDBits. */
    public long readIdAa64mmfr0El1() {
        return FIELD_PREP(ID_AA64MMFR0_PARANGE_MASK, ID_AA64MMFR0_PARANGE_48)
                | FIELD_PREP(ID_AA64MMFR0_ASID_MASK, config.asidBits() == 16 ? 2 : 0);
    }

    /** {@code vabits_actual}. */
    public int vabitsActual() {
        return pgtable.VA_BITS;
    }

    /* ---------------- asm/tlbflush.h ---------------- */

    /** Largest range flushed page by page before falling back to flush_tlb_mm. */
    @Port("arch/arm64/include/asm/tlbflush.h:MAX_TLBI_OPS")
    public int MAX_TLBI_OPS() {
        return pgtable.PTRS_PER_PTE;
    }

    /** One event per TLBI the kernel would issue (the local and broadcast effect alike). */
    public static final org.iommu4j.base.trace.TraceEvent TLBI = org.iommu4j.base.trace.Trace.event("mm", "tlbi",
            "%s asid=%d va=%#x leaf=%b", "kind", "asid", "va", "leaf");

    private void broadcast(Tlbi.Kind kind, int asid, long va, boolean leaf, long pages) {
        if (TLBI.enabled()) {
            TLBI.emit(kind, asid, va, leaf);
        }
        if (interconnect != null && interconnect.hasListeners()) {
            interconnect.broadcast(new Tlbi(kind, asid, 0, va, leaf, pgtable.PAGE_SHIFT, pages));
        }
    }

    /** TLBI VMALLE1IS. */
    @Port("arch/arm64/include/asm/tlbflush.h:flush_tlb_all")
    public void flushTlbAll() {
        for (Cpu c : cpus) {
            c.tlbiAll();
        }
        broadcast(Tlbi.Kind.ALL, 0, 0, false, 0);
    }

    /** TLBI ASIDE1IS for the mm's ASID (and its user twin under KPTI). */
    @Port("arch/arm64/include/asm/tlbflush.h:flush_tlb_mm")
    public void flushTlbMm(Mm mm) {
        int asid = mm.asid();
        for (Cpu c : cpus) {
            c.tlbiAsid(asid);
            if (config.kpti()) {
                c.tlbiAsid(asid | 1);
            }
        }
        broadcast(Tlbi.Kind.ASID, asid, 0, false, 0);
        if (config.kpti()) {
            broadcast(Tlbi.Kind.ASID, asid | 1, 0, false, 0);
        }
    }

    /** TLBI VALE1IS of one user page. */
    @Port("arch/arm64/include/asm/tlbflush.h:flush_tlb_page")
    public void flushTlbPage(VmAreaStruct vma, long uaddr) {
        flushVa(vma.vmMm.asid(), uaddr & pgtable.PAGE_MASK, true);
    }

    private void flushVa(int asid, long va, boolean leaf) {
        for (Cpu c : cpus) {
            c.tlbiVa(asid, va);
            if (config.kpti()) {
                c.tlbiVa(asid | 1, va);
            }
        }
        broadcast(Tlbi.Kind.VA, asid, va, leaf, 1);
        if (config.kpti()) {
            broadcast(Tlbi.Kind.VA, asid | 1, va, leaf, 1);
        }
    }

    /** TLBI VAE1IS for each page of [start, end), or flush_tlb_mm for large ranges. */
    @Port("arch/arm64/include/asm/tlbflush.h:flush_tlb_range")
    public void flushTlbRange(VmAreaStruct vma, long start, long end) {
        __flushTlbRange(vma.vmMm, start, end, pgtable.PAGE_SIZE, false);
    }

    @Port("arch/arm64/include/asm/tlbflush.h:__flush_tlb_range")
    public void __flushTlbRange(Mm mm, long start, long end, long stride, boolean lastLevel) {
        start = start & -stride;
        end = (end + stride - 1) & -stride;
        if (Long.compareUnsigned(end - start, (long) MAX_TLBI_OPS() * stride) >= 0) {
            flushTlbMm(mm);
            return;
        }
        int asid = mm.asid();
        for (long addr = start; Long.compareUnsigned(addr, end) < 0; addr += stride) {
            flushVa(asid, addr, lastLevel);
        }
    }

    /**
     * TLBI VAALE1IS (last level, all ASIDs) for each page of a kernel range, or VMALLE1IS for
     * large ranges.
     */
    @Port("arch/arm64/include/asm/tlbflush.h:flush_tlb_kernel_range")
    public void flushTlbKernelRange(long start, long end) {
        if (Long.compareUnsigned(end - start, (long) MAX_TLBI_OPS() * pgtable.PAGE_SIZE) > 0) {
            flushTlbAll();
            return;
        }
        for (long addr = start & pgtable.PAGE_MASK; Long.compareUnsigned(addr, end) < 0; addr += pgtable.PAGE_SIZE) {
            for (Cpu c : cpus) {
                c.tlbiVaa(addr);
            }
            broadcast(Tlbi.Kind.VAA, 0, addr, true, 1);
        }
    }
}
