package org.iommu4j.mm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.mm.MmH.FAULT_FLAG_INSTRUCTION;
import static org.iommu4j.mm.MmH.FAULT_FLAG_USER;
import static org.iommu4j.mm.MmH.FAULT_FLAG_WRITE;
import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_SHARED;
import static org.iommu4j.mm.MmH.PROT_EXEC;
import static org.iommu4j.mm.MmH.PROT_NONE;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;
import static org.iommu4j.mm.MmH.VM_FAULT_BADACCESS;
import static org.iommu4j.mm.MmH.VM_FAULT_BADMAP;
import static org.iommu4j.mm.MmH.VM_FAULT_OOM;
import static org.iommu4j.mm.MmH.VM_FAULT_SIGSEGV;
import static org.iommu4j.mm.MmH.VM_FAULT_WRITE;

import org.iommu4j.base.FaultInject;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class MmFaultTest {
    static final long RDONLY = 1L << 7, AF = 1L << 10, DBM = 1L << 51, SW_DIRTY = 1L << 55, SW_SPECIAL = 1L << 56;
    static final long OA = 0x0000_FFFF_FFFF_F000L;

    private final MmWorld w = MmTestSupport.world();
    private final Mm mm = w.mmAlloc();

    private int fault(long va, int flags) {
        mm.mmapReadLock();
        try {
            return MmFault.handleMmFault(Mmap.findVma(mm, va), va, flags);
        } finally {
            mm.mmapReadUnlock();
        }
    }

    @Test
    void demandPagingReadMapsZeroPageWriteAllocatesZeroedDirtyPage() {
        long va = MmTestSupport.mmapAnon(mm, 4 * 4096, PROT_READ | PROT_WRITE);
        long before = w.pages.allocatedPages();
        assertThat(MmFault.pteOf(mm, va)).isZero();
        assertThat(fault(va, FAULT_FLAG_USER)).isZero();
        long pte = MmFault.pteOf(mm, va);
        assertThat(pte & OA).isEqualTo(w.zeroPage());
        assertThat(pte & (RDONLY | SW_SPECIAL | AF)).isEqualTo(RDONLY | SW_SPECIAL | AF);
        long tables = w.pages.allocatedPages() - before;
        assertThat(tables).isEqualTo(3); // pud, pmd, pte tables; the zero page is not allocated
        // Write fault on the zero page: copy into a new zeroed page, young, dirty, writable.
        try (var cap = Trace.capture("mm:handle_mm_fault")) {
            assertThat(fault(va, FAULT_FLAG_USER | FAULT_FLAG_WRITE)).isEqualTo(VM_FAULT_WRITE);
            assertThat(cap.records()).hasSize(1);
        }
        long pte2 = MmFault.pteOf(mm, va);
        assertThat(pte2 & OA).isNotEqualTo(w.zeroPage());
        assertThat(Pgtable.pteDirty(pte2)).isTrue();
        assertThat(Pgtable.pteYoung(pte2)).isTrue();
        assertThat(Pgtable.pteWrite(pte2)).isTrue();
        assertThat(pte2 & RDONLY).isZero();
        assertThat(w.mem.readq(pte2 & OA)).isZero();
        assertThat(w.pages.allocatedPages() - before).isEqualTo(4);
        assertThat(mm.rssAnon.get()).isEqualTo(1);
        // A direct write fault on an empty PTE allocates at once.
        assertThat(fault(va + 4096, FAULT_FLAG_USER | FAULT_FLAG_WRITE)).isZero();
        assertThat(Pgtable.pteDirty(MmFault.pteOf(mm, va + 4096))).isTrue();
        assertThat(mm.rssAnon.get()).isEqualTo(2);
        // Repeating a satisfied fault changes nothing.
        long p3 = MmFault.pteOf(mm, va + 4096);
        assertThat(fault(va + 4096, FAULT_FLAG_USER | FAULT_FLAG_WRITE)).isZero();
        assertThat(MmFault.pteOf(mm, va + 4096)).isEqualTo(p3);
    }

    @Test
    void writeUpgradeReusesThePageWithoutCopy() {
        long va = MmTestSupport.mmapAnon(mm, 4096, PROT_READ | PROT_WRITE);
        assertThat(fault(va, FAULT_FLAG_WRITE)).isZero();
        long page = MmFault.pteOf(mm, va) & OA;
        w.mem.writeq(page, 0x1234);
        assertThat(Mmap.mprotect(mm, va, 4096, PROT_READ)).isZero();
        long ro = MmFault.pteOf(mm, va);
        assertThat(Pgtable.pteWrite(ro)).isFalse();
        assertThat(ro & RDONLY).isNotZero();
        assertThat(Pgtable.pteDirty(ro)).as("software dirty kept").isTrue();
        // handle_mm_fault leaves the VMA check to its callers: the write-protect path runs but
        // cannot make the page of a read-only VMA writable.
        assertThat(fault(va, FAULT_FLAG_WRITE)).isEqualTo(VM_FAULT_WRITE);
        assertThat(MmFault.pteOf(mm, va)).isEqualTo(ro);
        assertThat(Mmap.mprotect(mm, va, 4096, PROT_READ | PROT_WRITE)).isZero();
        long pagesBefore = w.pages.allocatedPages();
        assertThat(Pgtable.pteWrite(MmFault.pteOf(mm, va))).as("private: still read-only until a write fault").isFalse();
        assertThat(fault(va, FAULT_FLAG_WRITE)).isEqualTo(VM_FAULT_WRITE);
        long rw = MmFault.pteOf(mm, va);
        assertThat(rw & OA).isEqualTo(page);
        assertThat(w.mem.readq(page)).isEqualTo(0x1234);
        assertThat(Pgtable.pteWrite(rw)).isTrue();
        assertThat(rw & RDONLY).isZero();
        assertThat(w.pages.allocatedPages()).isEqualTo(pagesBefore);
    }

    @Test
    void zeroPageCopyThatLosesToAPteChangeReturnsZeroAndFreesItsPage() {
        long va = MmTestSupport.mmapAnon(mm, 4096, PROT_READ | PROT_WRITE);
        assertThat(fault(va, 0)).isZero();
        long zeroPte = MmFault.pteOf(mm, va);
        long ptep = w.pgtable.followPte(mm.pgd, va);
        // A secondary MMU's invalidate_range_start runs inside wp_page_copy's window; while
        // it runs the PTE changes (here: ageing clears AF, as reclaim would).
        MmuNotifier sub = new MmuNotifier(new MmuNotifierOps() {
            @Override
            public int invalidateRangeStart(MmuNotifier s, MmuNotifierRange r) {
                w.pgtable.ptepTestAndClearYoung(ptep);
                return 0;
            }

            @Override
            public boolean hasInvalidateRangeStart() {
                return true;
            }
        });
        assertThat(MmuNotifier.mmuNotifierRegister(sub, mm)).isZero();
        long pages = w.pages.allocatedPages();
        assertThat(fault(va, FAULT_FLAG_USER | FAULT_FLAG_WRITE)).as("no copy made").isZero();
        assertThat(MmFault.pteOf(mm, va)).isEqualTo(zeroPte & ~AF);
        assertThat(w.pages.allocatedPages()).as("the new page went back").isEqualTo(pages);
        assertThat(mm.rssAnon.get()).isZero();
        MmuNotifier.mmuNotifierUnregister(sub, mm);
        // The retried write copies.
        assertThat(fault(va, FAULT_FLAG_USER | FAULT_FLAG_WRITE)).isEqualTo(VM_FAULT_WRITE);
        assertThat(MmFault.pteOf(mm, va) & OA).isNotEqualTo(w.zeroPage());
    }

    @Test
    void handleMmFaultLeavesVmaPermissionsToItsCallersAndTheArchEntryChecksThem() {
        long ro = MmTestSupport.mmapAnon(mm, 4096, PROT_READ);
        long rw = MmTestSupport.mmapAnon(mm, 4096, PROT_READ | PROT_WRITE);
        long none = MmTestSupport.mmapAnon(mm, 4096, PROT_NONE);
        // arm64's arch_vma_access_permitted allows everything: a write fault in a read-only
        // VMA maps a private page read-only and succeeds; an instruction fault in a
        // non-executable VMA maps the page execute-never; a read of PROT_NONE maps the zero
        // page inaccessible. The access itself is still refused by the PTE.
        assertThat(fault(ro, FAULT_FLAG_WRITE)).isZero();
        long pte = MmFault.pteOf(mm, ro);
        assertThat(Pgtable.ptePresent(pte) && !Pgtable.pteWrite(pte) && (pte & RDONLY) != 0).isTrue();
        assertThat(pte & OA).isNotEqualTo(w.zeroPage());
        assertThat(fault(rw, FAULT_FLAG_INSTRUCTION)).isZero();
        assertThat(Pgtable.pteUserExec(MmFault.pteOf(mm, rw))).isFalse();
        assertThat(fault(none, 0)).isZero();
        pte = MmFault.pteOf(mm, none);
        assertThat(Pgtable.pteValid(pte)).isFalse();
        assertThat(Pgtable.ptePresent(pte)).isTrue();
        assertThat(pte & OA).isEqualTo(w.zeroPage());
        // handle_mm_fault on an address outside the VMA it was given.
        mm.mmapReadLock();
        try {
            assertThat(MmFault.handleMmFault(Mmap.findVma(mm, ro), ro + 4096 * 100, 0)).isEqualTo(VM_FAULT_SIGSEGV);
            assertThat(MmFault.handleMmFault(null, ro, 0)).isEqualTo(VM_FAULT_SIGSEGV);
        } finally {
            mm.mmapReadUnlock();
        }
        // The arch entry: no VMA -> BADMAP, forbidden -> BADACCESS.
        assertThat(MmFault.doPageFault(mm, 0x1000, FAULT_FLAG_USER)).isEqualTo(VM_FAULT_BADMAP);
        assertThat(MmFault.doPageFault(mm, ro, FAULT_FLAG_USER | FAULT_FLAG_WRITE)).isEqualTo(VM_FAULT_BADACCESS);
        assertThat(MmFault.doPageFault(mm, rw, FAULT_FLAG_USER | FAULT_FLAG_INSTRUCTION)).isEqualTo(VM_FAULT_BADACCESS);
        assertThat(MmFault.doPageFault(mm, none, FAULT_FLAG_USER)).isEqualTo(VM_FAULT_BADACCESS);
        // (rw holds the zero page the instruction fault mapped: the write copies it.)
        assertThat(MmFault.doPageFault(mm, rw + 8, FAULT_FLAG_USER | FAULT_FLAG_WRITE)).isEqualTo(VM_FAULT_WRITE);
        // And a CPU touching unmapped memory gets the signal.
        Cpu cpu = w.cpu(0);
        cpu.switchMm(mm);
        assertThatThrownBy(() -> cpu.load(0x2000, 8)).isInstanceOf(Cpu.UserFault.class)
                .satisfies(e -> assertThat(((Cpu.UserFault) e).fault).isEqualTo(VM_FAULT_BADMAP));
        assertThatThrownBy(() -> cpu.store(ro, 1, 8)).isInstanceOf(Cpu.UserFault.class)
                .satisfies(e -> assertThat(((Cpu.UserFault) e).fault).isEqualTo(VM_FAULT_BADACCESS));
        assertThatThrownBy(() -> cpu.fetch(rw)).isInstanceOf(Cpu.UserFault.class);
        assertThatThrownBy(() -> cpu.load(-4096L, 8)).isInstanceOf(Cpu.UserFault.class);
        cpu.switchToIdle();
    }

    @Test
    void execFaultOnExecutableMapping() {
        long x = MmTestSupport.mmapAnon(mm, 4096, PROT_READ | PROT_EXEC);
        assertThat(fault(x, FAULT_FLAG_INSTRUCTION)).isZero();
        assertThat(Pgtable.pteUserExec(MmFault.pteOf(mm, x))).isTrue();
    }

    @Test
    void oomFromFaultInjectionOnEachAllocationLeaksNothing() {
        long va = MmTestSupport.mmapAnon(mm, 4096, PROT_READ | PROT_WRITE);
        long baseline = w.pages.allocatedPages();
        // Allocation sites on the first write fault: pud, pmd, pte tables, then the page.
        for (int n = 1; ; n++) {
            FaultInject.failNth(n);
            int r = fault(va, FAULT_FLAG_WRITE);
            boolean fired = FaultInject.fired();
            FaultInject.failNth(0);
            if (!fired) {
                assertThat(r).isZero();
                assertThat(n).isBetween(2, 5);
                break;
            }
            assertThat(r).as("n=%d", n).isEqualTo(VM_FAULT_OOM);
            assertThat(MmFault.pteOf(mm, va) & 1).isZero();
        }
        assertThat(w.pages.allocatedPages() - baseline).isEqualTo(4);
        // wp_page_copy's allocation fails too.
        long va2 = MmTestSupport.mmapAnon(mm, 4096, PROT_READ | PROT_WRITE);
        assertThat(fault(va2, 0)).isZero();
        FaultInject.failNth(1);
        assertThat(fault(va2, FAULT_FLAG_WRITE)).isEqualTo(VM_FAULT_OOM);
        FaultInject.failNth(0);
        assertThat(MmFault.pteOf(mm, va2) & OA).isEqualTo(w.zeroPage());
        mm.mmput();
        assertThat(w.pages.allocatedPages()).isEqualTo(baseline - 1);
    }

    @Test
    void cpuFaultOomIsReportedAsUserFault() {
        long va = MmTestSupport.mmapAnon(mm, 4096, PROT_READ | PROT_WRITE);
        Cpu cpu = w.cpu(0);
        cpu.switchMm(mm);
        FaultInject.failNth(1);
        assertThatThrownBy(() -> cpu.store(va, 1, 4)).isInstanceOf(Cpu.UserFault.class)
                .satisfies(e -> assertThat(((Cpu.UserFault) e).fault & VM_FAULT_OOM).isNotZero());
        FaultInject.failNth(0);
        cpu.store(va, 1, 4);
        assertThat(cpu.load(va, 4)).isEqualTo(1);
        cpu.switchToIdle();
    }

    @Test
    void hardwareDirtyBitManagementOnSharedMapping() {
        long va = Mmap.vmMmap(mm, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
        Cpu cpu = w.cpu(0);
        cpu.switchMm(mm);
        cpu.load(va, 8);
        long clean = MmFault.pteOf(mm, va);
        assertThat(clean & (DBM | RDONLY)).isEqualTo(DBM | RDONLY);
        assertThat(Pgtable.pteDirty(clean)).isFalse();
        long faults = cpu.faults();
        cpu.store(va, 5, 8);
        long dirty = MmFault.pteOf(mm, va);
        assertThat(cpu.faults()).as("DBM: no fault for the write").isEqualTo(faults);
        assertThat(dirty & RDONLY).isZero();
        assertThat(Pgtable.pteHwDirty(dirty)).isTrue();
        assertThat(dirty & SW_DIRTY).isZero();
        // Write-protect folds the hardware dirty state into the software bit.
        w.pgtable.ptepSetWrprotect(w.pgtable.followPte(mm.pgd, va));
        long wp = MmFault.pteOf(mm, va);
        assertThat(wp & (SW_DIRTY | RDONLY)).isEqualTo(SW_DIRTY | RDONLY);
        assertThat(Pgtable.pteWrite(wp)).isFalse();
        cpu.switchToIdle();
    }

    @Test
    void withoutHardwareAfDbmTheKernelSetsYoungAndDirty() {
        MmWorld sw = MmTestSupport.world(MmWorld.Config.defaults().withHwAfDbm(false));
        Mm m = sw.mmAlloc();
        long va = Mmap.vmMmap(m, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
        Cpu cpu = sw.cpu(0);
        cpu.switchMm(m);
        cpu.load(va, 8);
        long ptep = sw.pgtable.followPte(m.pgd, va);
        assertThat(sw.pgtable.ptepTestAndClearYoung(ptep)).isTrue();
        sw.flushTlbMm(m);
        long f0 = cpu.faults();
        cpu.load(va, 8); // access flag fault
        assertThat(cpu.faults()).isEqualTo(f0 + 1);
        assertThat(Pgtable.pteYoung(sw.pgtable.ptepGet(ptep))).isTrue();
        cpu.store(va, 9, 8); // permission fault: software dirty
        long pte = sw.pgtable.ptepGet(ptep);
        assertThat(cpu.faults()).isEqualTo(f0 + 2);
        assertThat(pte & (SW_DIRTY | RDONLY)).isEqualTo(SW_DIRTY);
        assertThat(cpu.load(va, 8)).isEqualTo(9);
        cpu.switchToIdle();
        m.mmput();
    }

    @Test
    void concurrentFaultsOnTheSamePagesInstallEachPageOnce() throws Exception {
        long baseline = w.pages.allocatedPages();
        int pages = 256;
        long va = MmTestSupport.mmapAnon(mm, pages * 4096L, PROT_READ | PROT_WRITE);
        java.util.concurrent.CyclicBarrier go = new java.util.concurrent.CyclicBarrier(4);
        java.util.List<Thread> ts = new java.util.ArrayList<>();
        java.util.concurrent.ConcurrentLinkedQueue<Throwable> errors = new java.util.concurrent.ConcurrentLinkedQueue<>();
        for (int c = 0; c < 4; c++) {
            final int id = c;
            Thread t = new Thread(() -> {
                try {
                    Cpu cpu = w.cpu(id);
                    cpu.switchMm(mm);
                    go.await();
                    for (int i = 0; i < pages; i++) {
                        long a = va + ((i * 7L + id * 13L) % pages) * 4096;
                        if (id % 2 == 0) {
                            cpu.str(a + 8 * id, id + 1);
                        } else {
                            cpu.ldr(a);
                            cpu.str(a + 8 * id, id + 1);
                        }
                    }
                    cpu.switchToIdle();
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            ts.add(t);
            t.start();
        }
        for (Thread t : ts) {
            t.join();
        }
        assertThat(errors).isEmpty();
        assertThat(mm.rssAnon.get()).isEqualTo(pages);
        Cpu cpu = w.cpu(0);
        cpu.switchMm(mm);
        for (int i = 0; i < pages; i++) {
            for (int id = 0; id < 4; id++) {
                assertThat(cpu.ldr(va + i * 4096L + 8 * id)).isEqualTo(id + 1);
            }
        }
        cpu.switchToIdle();
        mm.mmput();
        assertThat(w.pages.allocatedPages()).isEqualTo(baseline - 1);
    }

    @Test
    void populateFaultsEveryPageIn() {
        long va = Mmap.vmMmap(mm, 0, 8 * 4096, PROT_READ | PROT_WRITE, MmH.MAP_PRIVATE | MAP_ANONYMOUS | MmH.MAP_POPULATE);
        for (int i = 0; i < 8; i++) {
            long pte = MmFault.pteOf(mm, va + i * 4096L);
            assertThat(Pgtable.pteDirty(pte)).isTrue();
        }
        assertThat(mm.rssAnon.get()).isEqualTo(8);
        // PROT_NONE is not populated (GUP refuses it), and mmap still succeeds.
        long none = Mmap.vmMmap(mm, 0, 2 * 4096, PROT_NONE, MmH.MAP_PRIVATE | MAP_ANONYMOUS | MmH.MAP_POPULATE);
        assertThat(org.iommu4j.base.Errno.IS_ERR_VALUE(none)).isFalse();
        assertThat(MmFault.pteOf(mm, none)).isZero();
        assertThat(MmFault.pteOf(mm, none + 4096)).isZero();
        // Execute-only is (reads are forced): the zero page, mapped readable without EPAN.
        long x = Mmap.vmMmap(mm, 0, 4096, PROT_EXEC, MmH.MAP_PRIVATE | MAP_ANONYMOUS | MmH.MAP_POPULATE);
        assertThat(MmFault.pteOf(mm, x) & OA).isEqualTo(w.zeroPage());
    }
}
