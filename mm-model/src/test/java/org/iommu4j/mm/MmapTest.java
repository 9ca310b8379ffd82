package org.iommu4j.mm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EBADF;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EINTR;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.EOVERFLOW;
import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_FIXED;
import static org.iommu4j.mm.MmH.MAP_FIXED_NOREPLACE;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.PROT_EXEC;
import static org.iommu4j.mm.MmH.PROT_NONE;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;

import java.util.Random;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** VMA bookkeeping and the kernel's answers to bad input: errnos, never exceptions. */
@ExtendWith(NoWarnings.class)
class MmapTest {
    private static final int ANON = MAP_PRIVATE | MAP_ANONYMOUS;
    private final MmWorld w = MmTestSupport.world();
    private final Mm mm = w.mmAlloc();
    private final long task = w.pgtable.TASK_SIZE;

    @Test
    void mmapBadInputGetsTheKernelsErrors() {
        assertThat(Mmap.vmMmap(mm, 0, 0, PROT_READ, ANON)).isEqualTo(-EINVAL);
        assertThat(Mmap.vmMmap(mm, 0, 4096, PROT_READ, MAP_PRIVATE)).isEqualTo(-EBADF);
        assertThat(Mmap.vmMmap(mm, 0, 4096, PROT_READ, MAP_ANONYMOUS | 0x0f)).isEqualTo(-EINVAL);
        assertThat(Mmap.vmMmap(mm, 0x10001, 4096, PROT_READ, ANON | MAP_FIXED)).isEqualTo(-EINVAL);
        assertThat(Mmap.vmMmap(mm, task - 4096, 8192, PROT_READ, ANON | MAP_FIXED)).isEqualTo(-ENOMEM);
        assertThat(Mmap.vmMmap(mm, 0, task + 4096, PROT_READ, ANON)).isEqualTo(-ENOMEM);
        assertThat(Mmap.vmMmap(mm, 0, -1L, PROT_READ, ANON)).isEqualTo(-ENOMEM); // PAGE_ALIGN wraps to 0
        assertThat(Mmap.vmMmap(mm, -8192L, 4096, PROT_READ, ANON | MAP_FIXED)).isEqualTo(-ENOMEM);
        long a = Mmap.vmMmap(mm, 0x5000_0000L, 8192, PROT_READ, ANON | MAP_FIXED_NOREPLACE);
        assertThat(a).isEqualTo(0x5000_0000L);
        assertThat(Mmap.vmMmap(mm, 0x5000_1000L, 8192, PROT_READ, ANON | MAP_FIXED_NOREPLACE)).isEqualTo(-EEXIST);
        // Anonymous mappings take MAP_SHARED or MAP_PRIVATE only: MAP_SHARED_VALIDATE is a
        // file-mapping type.
        assertThat(Mmap.vmMmap(mm, 0, 4096, PROT_READ, MAP_ANONYMOUS | MmH.MAP_SHARED_VALIDATE)).isEqualTo(-EINVAL);
        // MAP_FIXED_NOREPLACE is MAP_FIXED before the hint is rounded: an address below
        // mmap_min_addr is not moved up, an unaligned one is refused.
        assertThat(Mmap.vmMmap(mm, 0x100, 4096, PROT_READ, ANON | MAP_FIXED_NOREPLACE)).isEqualTo(-EINVAL);
        // The file lookup comes first: a zero length of a file mapping is -EBADF here.
        assertThat(Mmap.vmMmap(mm, 0, 0, PROT_READ, MAP_PRIVATE)).isEqualTo(-EBADF);
        FaultInject.failNth(1);
        assertThat(Mmap.vmMmap(mm, 0, 4096, PROT_READ, ANON)).isEqualTo(-ENOMEM);
        FaultInject.failNth(0);
        assertThat(mm.vmas()).hasSize(1);
    }

    @Test
    void hintsAreHonouredWhenFreeAndPlacementIsTopDown() {
        long h = Mmap.vmMmap(mm, 0x1234_5000L, 4096, PROT_READ, ANON);
        assertThat(h).isEqualTo(0x1234_5000L);
        long a = Mmap.vmMmap(mm, 0, 4096, PROT_READ, ANON);
        long b = Mmap.vmMmap(mm, 0, 4096, PROT_READ, ANON);
        assertThat(a).isEqualTo(mm.mmapBase - 4096);
        assertThat(b).isEqualTo(a - 4096);
        long c = Mmap.vmMmap(mm, 0x1234_5000L, 4096, PROT_READ, ANON); // hint taken: placed elsewhere
        assertThat(c).isNotEqualTo(0x1234_5000L);
        long low = Mmap.vmMmap(mm, 0x10, 4096, PROT_READ, ANON); // below mmap_min_addr: rounded up
        assertThat(low).isGreaterThanOrEqualTo(Mmap.mmap_min_addr);
        // An unaligned hint is truncated to its page (round_hint_to_min), not rounded up.
        long u = Mmap.vmMmap(mm, 0x2345_6789L, 4096, PROT_READ, ANON);
        assertThat(u).isEqualTo(0x2345_6000L);
        assertThat(Mmap.findVma(mm, a).vmStart).isEqualTo(a);
        assertThat(Mmap.findVma(mm, a - 1).vmStart).isEqualTo(b);
        assertThat(Mmap.findVma(mm, task - 1)).isNull();
        assertThat(Mmap.findExtendVma(mm, a - 4096 * 100)).isNull();
    }

    @Test
    void mapFixedReplacesAndMunmapSplits() {
        long va = Mmap.vmMmap(mm, 0x6000_0000L, 5 * 4096, PROT_READ | PROT_WRITE, ANON | MAP_FIXED);
        Cpu cpu = w.cpu(0);
        cpu.switchMm(mm);
        cpu.str(va + 4096, 77);
        assertThat(Mmap.vmMmap(mm, va + 4096, 4096, PROT_READ, ANON | MAP_FIXED)).isEqualTo(va + 4096);
        assertThat(cpu.ldr(va + 4096)).as("fresh zero page after MAP_FIXED replaced it").isZero();
        assertThat(mm.vmas()).hasSize(3);
        assertThat(Mmap.vmMunmap(mm, va + 3 * 4096, 4096)).isZero();
        assertThat(mm.vmas()).extracting(v -> v.vmStart).containsExactly(va, va + 4096, va + 2 * 4096, va + 4 * 4096);
        assertThat(mm.mapCount).isEqualTo(4);
        assertThat(Mmap.vmMunmap(mm, va + 3 * 4096, 4096)).as("hole").isZero();
        assertThat(Mmap.vmMunmap(mm, va - 4096, 7 * 4096)).isZero();
        assertThat(mm.vmas()).isEmpty();
        assertThat(mm.mapCount).isZero();
        cpu.switchToIdle();
    }

    @Test
    void munmapInsideAVmaKeepsTheOriginalStructsForTheSurvivingParts() {
        long va = Mmap.vmMmap(mm, 0x6000_0000L, 4 * 4096, PROT_READ, ANON | MAP_FIXED);
        VmAreaStruct orig = Mmap.findVma(mm, va);
        assertThat(Mmap.vmMunmap(mm, va + 4096, 2 * 4096)).isZero();
        // __split_vma(vma, start, 0) then __split_vma(last, end, 1): both splits allocate the
        // part that goes away, so the struct a caller found survives as the lower part.
        assertThat(orig.vmStart).isEqualTo(va);
        assertThat(orig.vmEnd).isEqualTo(va + 4096);
        assertThat(Mmap.findVma(mm, va)).isSameAs(orig);
        VmAreaStruct upper = Mmap.findVma(mm, va + 3 * 4096);
        assertThat(upper.vmStart).isEqualTo(va + 3 * 4096);
        // Unmapping the head of a VMA: the struct keeps the tail.
        assertThat(Mmap.vmMunmap(mm, va + 3 * 4096, 0)).isEqualTo(-EINVAL);
        long b = Mmap.vmMmap(mm, 0x7000_0000L, 3 * 4096, PROT_READ, ANON | MAP_FIXED);
        VmAreaStruct bv = Mmap.findVma(mm, b);
        assertThat(Mmap.vmMunmap(mm, b, 4096)).isZero();
        assertThat(bv.vmStart).isEqualTo(b + 4096);
        assertThat(Mmap.findVma(mm, b)).isSameAs(bv);
        assertThat(mm.mapCount).isEqualTo(3);
    }

    @Test
    void munmapAndMprotectBadInput() {
        long va = Mmap.vmMmap(mm, 0x6000_0000L, 4 * 4096, PROT_READ, ANON | MAP_FIXED);
        assertThat(Mmap.vmMunmap(mm, va + 1, 4096)).isEqualTo(-EINVAL);
        assertThat(Mmap.vmMunmap(mm, va, 0)).isEqualTo(-EINVAL);
        assertThat(Mmap.vmMunmap(mm, task + 4096, 4096)).isEqualTo(-EINVAL);
        assertThat(Mmap.vmMunmap(mm, task - 4096, 8192)).isEqualTo(-EINVAL);
        assertThat(Mmap.vmMunmap(mm, -4096L, 4096)).isEqualTo(-EINVAL);
        assertThat(Mmap.mprotect(mm, va + 8, 4096, PROT_READ)).isEqualTo(-EINVAL);
        assertThat(Mmap.mprotect(mm, va, 4096, 0x100)).isEqualTo(-EINVAL);
        assertThat(Mmap.mprotect(mm, va, 0, PROT_READ)).isZero();
        assertThat(Mmap.mprotect(mm, va, 8 * 4096, PROT_READ)).isEqualTo(-ENOMEM); // runs past the VMA
        assertThat(Mmap.mprotect(mm, va - 4096, 4096, PROT_READ)).isEqualTo(-ENOMEM);
        assertThat(Mmap.mprotect(mm, -4096L, 8192, PROT_READ)).isEqualTo(-ENOMEM); // wraps
        assertThat(Mmap.mprotect(mm, va + 4096, 4096, PROT_READ | PROT_WRITE | PROT_EXEC)).isZero();
        assertThat(mm.vmas()).hasSize(3);
        assertThat(Mmap.findVma(mm, va + 4096).vmFlags & MmH.VM_ACCESS_FLAGS).isEqualTo(7);
        // Splitting beyond the map-count limit fails cleanly.
        int old = w.sysctlMaxMapCount;
        w.sysctlMaxMapCount = 3;
        try {
            assertThat(Mmap.mprotect(mm, va + 2 * 4096, 4096, PROT_READ | PROT_WRITE)).isEqualTo(-ENOMEM);
            assertThat(Mmap.vmMunmap(mm, va + 2 * 4096 + 0, 4096)).isZero(); // end of the VMA: no split needed
            assertThat(Mmap.vmMmap(mm, 0, 4096, PROT_READ, ANON)).isNotNegative();
            assertThat(Mmap.vmMmap(mm, 0, 4096, PROT_READ, ANON)).isEqualTo(-ENOMEM);
        } finally {
            w.sysctlMaxMapCount = old;
        }
    }

    @Test
    void lookupsOfAddressesOutsideTheUserRangeFindNothing() {
        long va = Mmap.vmMmap(mm, 0x6000_0000L, 4096, PROT_READ | PROT_WRITE, ANON | MAP_FIXED);
        Cpu cpu = w.cpu(0);
        cpu.switchMm(mm);
        cpu.str(va, 1);
        // Same low bits as va, but above TASK_SIZE: must not alias the user mapping.
        assertThat(MmFault.pteOf(mm, va | (1L << 60))).isZero();
        assertThat(MmFault.doPageFault(mm, va | (1L << 60), MmH.FAULT_FLAG_WRITE)).isEqualTo(MmH.VM_FAULT_BADMAP);
        assertThat(w.pgtable.followPte(mm.pgd, -4096L)).isZero();
        cpu.switchToIdle();
    }

    @Test
    void interruptedCallerGetsEintr() {
        Thread.currentThread().interrupt();
        try {
            assertThat(Mmap.vmMmap(mm, 0, 4096, PROT_READ, ANON)).isEqualTo(-EINTR);
            assertThat(Mmap.vmMunmap(mm, 0x10000, 4096)).isEqualTo(-EINTR);
            assertThat(Mmap.mprotect(mm, 0x10000, 4096, PROT_READ)).isEqualTo(-EINTR);
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void lifetimeCountersAndNoLeakAfterARandomWorkload() {
        long baseline = w.pages.allocatedPages();
        Mm m = w.mmAlloc();
        Cpu cpu = w.cpu(2);
        cpu.switchMm(m);
        Random r = new Random(3);
        for (int i = 0; i < 40; i++) {
            long len = 4096L * (1 + r.nextInt(64));
            long va = MmTestSupport.mmapAnon(m, len, PROT_READ | PROT_WRITE);
            for (int k = 0; k < 10; k++) {
                long a = va + (r.nextLong() & Long.MAX_VALUE) % len;
                if (r.nextBoolean()) {
                    cpu.strb(a, k);
                } else {
                    cpu.ldrb(a);
                }
            }
            if (r.nextInt(3) == 0) {
                assertThat(Mmap.vmMunmap(m, va + 4096 * r.nextInt((int) (len / 4096)), 4096 * 3)).isZero();
            }
            if (r.nextInt(4) == 0) {
                assertThat(Mmap.mprotect(m, va, 4096, PROT_READ)).isZero();
            }
        }
        assertThat(m.mmgetNotZero()).isTrue();
        m.mmput();
        assertThat(m.exited()).isFalse();
        m.mmgrab();
        m.mmput();
        assertThat(m.exited()).isTrue();
        assertThat(m.mmgetNotZero()).isFalse();
        assertThat(m.vmas()).isEmpty();
        assertThat(m.rssAnon.get()).isZero();
        assertThat(m.freed()).isFalse();
        m.mmdrop();
        assertThat(m.freed()).as("the CPU still holds a lazy reference").isFalse();
        cpu.switchToIdle();
        assertThat(m.freed()).isTrue();
        assertThat(w.pages.allocatedPages()).isEqualTo(baseline);
    }

    /**
     * v5.15's do_mmap checks the offset for wrap-around (-EOVERFLOW) and finds the place
     * (get_unmapped_area, MAP_FIXED_NOREPLACE's -EEXIST) before it reads the MAP type, so an
     * anonymous request with a bad type gets the range's error first. Nothing is mapped.
     */
    @Test
    void doMmapReportsTheRangeBeforeTheMapType() {
        int badType = MAP_ANONYMOUS | MmH.MAP_SHARED_VALIDATE;
        assertThat(Mmap.vmMmap(mm, 0x5000_0000L, 8192, PROT_READ, ANON | MAP_FIXED_NOREPLACE)).isEqualTo(0x5000_0000L);
        assertThat(Mmap.vmMmap(mm, 0x5000_1000L, 4096, PROT_READ, badType | MAP_FIXED_NOREPLACE)).isEqualTo(-EEXIST);
        assertThat(Mmap.vmMmap(mm, task - 4096, 8192, PROT_READ, badType | MAP_FIXED)).isEqualTo(-ENOMEM);
        assertThat(Mmap.vmMmap(mm, 0, task + 4096, PROT_READ, badType)).isEqualTo(-ENOMEM);
        assertThat(Mmap.vmMmap(mm, 0x6000_0000L, 4096, PROT_READ, badType | MAP_FIXED)).isEqualTo(-EINVAL);
        mm.mmapWriteLock();
        try {
            assertThat(Mmap.doMmap(mm, 0, 8192, PROT_READ, ANON, -1L)).isEqualTo(-EOVERFLOW);
            assertThat(Mmap.doMmap(mm, 0, 8192, PROT_READ, badType, -1L)).isEqualTo(-EOVERFLOW);
            assertThat(Mmap.doMmap(mm, 0x7000_0000L, 8192, PROT_READ, ANON | MAP_FIXED, -3L)).isEqualTo(0x7000_0000L);
        } finally {
            mm.mmapWriteUnlock();
        }
        assertThat(mm.vmas()).extracting(v -> v.vmStart).containsExactly(0x5000_0000L, 0x7000_0000L);
    }

    /**
     * v5.15's arch_get_unmapped_area_topdown refuses a length above TASK_SIZE - mmap_min_addr
     * (-ENOMEM) before it looks at MAP_FIXED; exactly that much fits.
     */
    @Test
    void noMappingIsLongerThanTheSpaceAboveMmapMinAddr() {
        assertThat(Mmap.vmMmap(mm, 0, task, PROT_READ, ANON | MAP_FIXED)).isEqualTo(-ENOMEM);
        assertThat(Mmap.vmMmap(mm, 0, task - 4095, PROT_READ, ANON | MAP_FIXED)).isEqualTo(-ENOMEM);
        assertThat(mm.vmas()).isEmpty();
        assertThat(Mmap.vmMmap(mm, 4096, task - 4096, PROT_NONE, ANON | MAP_FIXED)).isEqualTo(4096L);
        assertThat(mm.vmas()).hasSize(1);
    }

    /**
     * v5.15's do_mprotect_pkey takes PROT_GROWSDOWN/PROT_GROWSUP out of prot first (both at
     * once: -EINVAL before anything else), finds the VMA (none: -ENOMEM) and only then refuses
     * a grows request on a VMA that does not grow (-EINVAL; arm64 has no VM_GROWSUP).
     */
    @Test
    void mprotectGrowsBitsAsTheKernelJudgesThem() {
        long va = Mmap.vmMmap(mm, 0x4000_0000L, 2 * 4096, PROT_READ, ANON | MAP_FIXED);
        assertThat(va).isEqualTo(0x4000_0000L);
        int both = MmH.PROT_GROWSDOWN | MmH.PROT_GROWSUP;
        assertThat(Mmap.mprotect(mm, va + 8, 4096, PROT_READ | both)).isEqualTo(-EINVAL);
        assertThat(Mmap.mprotect(mm, 0x7000_0000L, 4096, PROT_READ | MmH.PROT_GROWSDOWN)).isEqualTo(-ENOMEM);
        assertThat(Mmap.mprotect(mm, 0x7000_0000L, 4096, PROT_READ | MmH.PROT_GROWSUP)).isEqualTo(-ENOMEM);
        assertThat(Mmap.mprotect(mm, va - 4096, 4096, PROT_READ | MmH.PROT_GROWSDOWN)).isEqualTo(-ENOMEM);
        assertThat(Mmap.mprotect(mm, va + 4096, 4096, PROT_WRITE | MmH.PROT_GROWSDOWN)).isEqualTo(-EINVAL);
        assertThat(Mmap.mprotect(mm, va, 4096, PROT_WRITE | MmH.PROT_GROWSUP)).isEqualTo(-EINVAL);
        assertThat(mm.vmas()).hasSize(1);
        assertThat(mm.vmas().get(0).vmFlags & MmH.VM_ACCESS_FLAGS).isEqualTo(MmH.VM_READ);
    }

    /**
     * __mm_populate (v5.15) goes VMA by VMA: holes are skipped, a PROT_NONE VMA fails with
     * -EFAULT (kept only without ignore_errors, and then the VMAs after it are left alone), and
     * a private writable VMA takes write faults, so a zero page already mapped there is
     * replaced by a writable page of its own.
     */
    @Test
    void populateSkipsHolesAndBreaksCopyOnWrite() {
        long a = Mmap.vmMmap(mm, 0x4000_0000L, 4096, PROT_READ | PROT_WRITE, ANON | MAP_FIXED);
        long none = Mmap.vmMmap(mm, 0x4000_2000L, 4096, PROT_NONE, ANON | MAP_FIXED);
        long b = Mmap.vmMmap(mm, 0x4000_4000L, 4096, PROT_READ, ANON | MAP_FIXED);
        assertThat(new long[] {a, none, b}).containsExactly(0x4000_0000L, 0x4000_2000L, 0x4000_4000L);
        // A read fault maps the zero page read-only in the writable VMA.
        mm.mmapReadLock();
        try {
            assertThat(MmFault.handleMmFault(Mmap.findVma(mm, a), a, 0)).isZero();
        } finally {
            mm.mmapReadUnlock();
        }
        assertThat(Pgtable.pteWrite(MmFault.pteOf(mm, a))).isFalse();
        long zero = w.pgtable.__pteToPhys(MmFault.pteOf(mm, a));

        assertThat(Mmap.__mmPopulate(mm, a, 5 * 4096, false)).isEqualTo(-org.iommu4j.base.Errno.EFAULT);
        assertThat(Pgtable.pteWrite(MmFault.pteOf(mm, a))).isTrue();
        assertThat(w.pgtable.__pteToPhys(MmFault.pteOf(mm, a))).isNotEqualTo(zero);
        assertThat(MmFault.pteOf(mm, b)).isZero(); // after the failing VMA: untouched

        assertThat(Mmap.__mmPopulate(mm, a, 5 * 4096, true)).isZero();
        assertThat(Pgtable.ptePresent(MmFault.pteOf(mm, b))).isTrue();
        assertThat(MmFault.pteOf(mm, none)).isZero();
        Mmap.mmPopulate(mm, 0x3fff_0000L, 0x10_0000L); // holes only around the VMAs: fine
    }
}
