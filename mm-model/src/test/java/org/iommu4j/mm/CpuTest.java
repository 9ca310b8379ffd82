package org.iommu4j.mm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_FIXED;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iommu4j.base.hw.Interconnect.Tlbi;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class CpuTest {
    private final MmWorld w = MmTestSupport.world();
    private final Mm mm = w.mmAlloc();
    private final Cpu cpu = w.cpu(0);

    @Test
    void loadsAndStoresOfEverySizeAreLittleEndianAndCrossPages() {
        long va = MmTestSupport.mmapAnon(mm, 2 * 4096, PROT_READ | PROT_WRITE);
        cpu.switchMm(mm);
        cpu.str(va, 0x1122334455667788L);
        assertThat(cpu.ldrb(va)).isEqualTo(0x88);
        assertThat(cpu.load(va + 1, 2)).isEqualTo(0x6677);
        assertThat(cpu.load(va + 4, 4)).isEqualTo(0x11223344L);
        cpu.store(va + 4093, 0xAABBCCDDEEL, 8); // crosses into the second page
        assertThat(cpu.load(va + 4093, 8)).isEqualTo(0xAABBCCDDEEL);
        assertThat(cpu.ldr(va + 4093)).isEqualTo(0xAABBCCDDEEL);
        cpu.strb(va + 4096, 0x5a);
        assertThat(cpu.load(va + 4096, 1)).isEqualTo(0x5a);
        long pa = MmFault.pteOf(mm, va + 4096) & 0x0000_FFFF_FFFF_F000L;
        assertThat(w.mem.readb(pa)).isEqualTo(0x5a);
        long hits = cpu.tlbHits();
        cpu.ldr(va);
        assertThat(cpu.tlbHits()).isEqualTo(hits + 1);
        assertThat(w.pgtable.dump(mm.pgd)).hasSize(2)
                .allMatch(l -> l.contains(" L3 URW") && l.endsWith(" AF DBM D"));
        cpu.switchToIdle();
        // An idle CPU has no user translations.
        assertThatThrownBy(() -> cpu.ldr(va)).isInstanceOf(Cpu.UserFault.class);
    }

    @Test
    void tlbIsTaggedByAsid() {
        Mm other = w.mmAlloc();
        long va = 0x7000_0000L;
        for (Mm m : List.of(mm, other)) {
            assertThat(Mmap.vmMmap(m, va, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)).isEqualTo(va);
        }
        cpu.switchMm(mm);
        cpu.str(va, 1);
        cpu.switchMm(other);
        cpu.str(va, 2);
        // High VA bits must not alias into the ASID part of the tag: running ASID 1 with VA bit
        // 53 set would otherwise form the tag of ASID 3's entry for va.
        Mm third = w.mmAlloc();
        assertThat(Mmap.vmMmap(third, va, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)).isEqualTo(va);
        cpu.switchMm(third);
        cpu.str(va, 3);
        assertThat(third.asid()).isEqualTo(3);
        cpu.switchMm(mm);
        assertThat(mm.asid()).isEqualTo(1);
        long forged = va | (2L << 52);
        assertThatThrownBy(() -> cpu.ldr(forged)).isInstanceOf(Cpu.UserFault.class);
        cpu.switchMm(other);
        assertThat(cpu.tlbHolds(mm.asid(), va)).isTrue();
        assertThat(cpu.tlbHolds(other.asid(), va)).isTrue();
        long misses = cpu.tlbMisses();
        assertThat(cpu.ldr(va)).isEqualTo(2);
        cpu.switchMm(mm);
        assertThat(cpu.ldr(va)).isEqualTo(1);
        assertThat(cpu.tlbMisses()).isEqualTo(misses);
        cpu.switchToIdle();
        other.mmput();
        third.mmput();
    }

    @Test
    void munmapAndMprotectFlushEveryCpuAndBroadcastTlbi() throws Exception {
        List<Tlbi> seen = new CopyOnWriteArrayList<>();
        try (AutoCloseable l = w.interconnect.addListener(seen::add)) {
            long va = MmTestSupport.mmapAnon(mm, 4 * 4096, PROT_READ | PROT_WRITE);
            Cpu cpu1 = w.cpu(1);
            cpu.switchMm(mm);
            cpu1.switchMm(mm);
            for (int i = 0; i < 4; i++) {
                cpu.str(va + i * 4096L, i);
                cpu1.ldr(va + i * 4096L);
            }
            assertThat(cpu1.tlbHolds(mm.asid(), va + 4096)).isTrue();
            seen.clear();
            try (var cap = org.iommu4j.base.trace.Trace.capture("mm:tlbi")) {
                assertThat(Mmap.mprotect(mm, va, 4096, PROT_READ)).isZero();
                assertThat(cap.records()).hasSize(1);
            }
            assertThat(seen).contains(new Tlbi(Tlbi.Kind.VA, mm.asid(), 0, va, false, 12, 1));
            assertThatThrownBy(() -> cpu1.str(va, 9)).isInstanceOf(Cpu.UserFault.class);
            seen.clear();
            assertThat(Mmap.vmMunmap(mm, va + 4096, 2 * 4096)).isZero();
            assertThat(seen).contains(new Tlbi(Tlbi.Kind.VA, mm.asid(), 0, va + 4096, true, 12, 1),
                    new Tlbi(Tlbi.Kind.VA, mm.asid(), 0, va + 2 * 4096, true, 12, 1));
            assertThat(cpu1.tlbHolds(mm.asid(), va + 4096)).isFalse();
            assertThatThrownBy(() -> cpu1.ldr(va + 4096)).isInstanceOf(Cpu.UserFault.class);
            assertThat(cpu1.ldr(va + 3 * 4096)).isEqualTo(3);
            // Large ranges fall back to TLBI ASIDE1IS. The range is what was zapped (its first
            // and last pages are mapped) plus one page per freed table, not the whole VMA.
            long big = MmTestSupport.mmapAnon(mm, 600 * 4096L, PROT_READ | PROT_WRITE);
            cpu.str(big, 1);
            cpu.str(big + 599 * 4096L, 2);
            seen.clear();
            assertThat(Mmap.vmMunmap(mm, big, 600 * 4096L)).isZero();
            assertThat(seen).contains(new Tlbi(Tlbi.Kind.ASID, mm.asid(), 0, 0, false, 12, 0));
            cpu1.switchToIdle();
            cpu.switchToIdle();
            seen.clear();
            int asid = mm.asid();
            mm.mmput();
            assertThat(seen).contains(new Tlbi(Tlbi.Kind.ASID, asid, 0, 0, false, 12, 0));
        }
    }

    @Test
    void kernelRangeFlushBroadcastsLastLevelTlbiForEveryAsid() throws Exception {
        List<Tlbi> seen = new CopyOnWriteArrayList<>();
        long kva = 0xffff000000200000L;
        try (AutoCloseable l = w.interconnect.addListener(seen::add)) {
            w.flushTlbKernelRange(kva, kva + 2 * 4096);
            // TLBI VAALE1IS per page: leaf entries only, any ASID.
            assertThat(seen).containsExactly(new Tlbi(Tlbi.Kind.VAA, 0, 0, kva, true, 12, 1),
                    new Tlbi(Tlbi.Kind.VAA, 0, 0, kva + 4096, true, 12, 1));
            seen.clear();
            // Beyond MAX_TLBI_OPS pages: TLBI VMALLE1IS.
            w.flushTlbKernelRange(kva, kva + (w.MAX_TLBI_OPS() + 1L) * 4096);
            assertThat(seen).containsExactly(new Tlbi(Tlbi.Kind.ALL, 0, 0, 0, false, 12, 0));
        }
    }

    @Test
    void concurrentReaderSeesUnmapAsFaultNeverAsStaleData() throws Exception {
        long va = MmTestSupport.mmapAnon(mm, 4096, PROT_READ | PROT_WRITE);
        cpu.switchMm(mm);
        cpu.str(va, 0xfeed);
        Cpu reader = w.cpu(1);
        java.util.concurrent.CountDownLatch warmed = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<String> bad = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean unmapped = new java.util.concurrent.atomic.AtomicBoolean();
        Thread t = new Thread(() -> {
            reader.switchMm(mm);
            reader.ldr(va);
            warmed.countDown();
            while (true) {
                boolean after = unmapped.get();
                try {
                    long v = reader.ldr(va);
                    if (after) {
                        bad.set("read " + v + " after munmap returned");
                        break;
                    }
                } catch (Cpu.UserFault f) {
                    break;
                }
            }
            reader.switchToIdle();
        });
        t.start();
        warmed.await();
        assertThat(Mmap.vmMunmap(mm, va, 4096)).isZero();
        unmapped.set(true);
        t.join();
        assertThat(bad.get()).isNull();
        cpu.switchToIdle();
    }
}
