package org.iommu4j.mm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_FIXED;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.MAP_SHARED;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random sequences of mmap/munmap/mprotect/load/store against a page-granular model of the
 * address space. After every step: the VMAs cover exactly the model's pages with its
 * protections; accesses succeed or fault as the model says and loads return the last stored
 * value; the independent walker agrees with every PTE. At exit nothing leaks.
 */
class AddressSpaceProperties {
    /** One operation on page indexes of a 64-page window. */
    record Op(int kind, int first, int pages, int prot, boolean shared, long value) {}

    static final long BASE = 0x40_0000_0000L;

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> op = Combinators.combine(Arbitraries.integers().between(0, 4), Arbitraries.integers().between(0, 63),
                Arbitraries.integers().between(1, 8), Arbitraries.of(0, 1, 3), Arbitraries.of(false, true),
                Arbitraries.longs()).as(Op::new);
        return op.list().ofMinSize(1).ofMaxSize(40);
    }

    record Page(int prot, boolean shared, long value) {}

    @Property(tries = 60, seed = "20261203")
    void addressSpaceMatchesTheModel(@ForAll("ops") List<Op> ops) {
        MmWorld w = MmTestSupport.world(MmWorld.Config.defaults().withVaBits(39).withNrCpus(2));
        long baseline = w.pages.allocatedPages();
        Mm mm = w.mmAlloc();
        Cpu cpu = w.cpu(1);
        cpu.switchMm(mm);
        Map<Integer, Page> model = new HashMap<>();
        Vmsav8Walker walker = MmTestSupport.walker(w);
        for (Op op : ops) {
            int last = Math.min(64, op.first + op.pages);
            long va = BASE + op.first * 4096L;
            long len = (last - op.first) * 4096L;
            switch (op.kind) {
                case 0 -> {
                    long r = Mmap.vmMmap(mm, va, len, op.prot, (op.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED);
                    assertThat(r).isEqualTo(va);
                    for (int p = op.first; p < last; p++) {
                        model.put(p, new Page(op.prot, op.shared, 0));
                    }
                }
                case 1 -> {
                    assertThat(Mmap.vmMunmap(mm, va, len)).isZero();
                    for (int p = op.first; p < last; p++) {
                        model.remove(p);
                    }
                }
                case 2 -> {
                    boolean covered = true;
                    for (int p = op.first; p < last; p++) {
                        covered &= model.containsKey(p);
                    }
                    int r = Mmap.mprotect(mm, va, len, op.prot);
                    if (covered) {
                        assertThat(r).isZero();
                        for (int p = op.first; p < last; p++) {
                            Page old = model.get(p);
                            model.put(p, new Page(op.prot, old.shared, old.value));
                        }
                    } else {
                        assertThat(r).isEqualTo(-org.iommu4j.base.Errno.ENOMEM);
                        // The kernel may have changed a prefix before finding the hole.
                        for (int p = op.first; p < last && model.containsKey(p); p++) {
                            Page old = model.get(p);
                            model.put(p, new Page(op.prot, old.shared, old.value));
                        }
                    }
                }
                case 3 -> {
                    Page pg = model.get(op.first);
                    long a = BASE + op.first * 4096L + 8 * (op.value & 0x1ff);
                    boolean ok = pg != null && (pg.prot & PROT_WRITE) != 0;
                    try {
                        cpu.str(a & ~7L, op.value);
                        assertThat(ok).as("store to page %d succeeded", op.first).isTrue();
                        model.put(op.first, new Page(pg.prot, pg.shared, op.value));
                        // keep a single slot per page in the model: store to slot 0 as well
                        cpu.str(BASE + op.first * 4096L, op.value);
                    } catch (Cpu.UserFault f) {
                        assertThat(ok).as("store to page %d faulted", op.first).isFalse();
                    }
                }
                default -> {
                    Page pg = model.get(op.first);
                    boolean ok = pg != null && (pg.prot & PROT_READ) != 0;
                    try {
                        long v = cpu.ldr(BASE + op.first * 4096L);
                        assertThat(ok).isTrue();
                        assertThat(v).isEqualTo(pg.value);
                    } catch (Cpu.UserFault f) {
                        assertThat(ok).isFalse();
                    }
                }
            }
            // VMAs equal the model.
            for (int p = 0; p < 64; p++) {
                VmAreaStruct vma = Mmap.findExtendVma(mm, BASE + p * 4096L);
                Page pg = model.get(p);
                if (pg == null) {
                    assertThat(vma).isNull();
                } else {
                    assertThat(vma).isNotNull();
                    assertThat(vma.vmFlags & 3).isEqualTo(pg.prot);
                    assertThat((vma.vmFlags & MmH.VM_SHARED) != 0).isEqualTo(pg.shared);
                }
                long pte = MmFault.pteOf(mm, BASE + p * 4096L);
                Vmsav8Walker.Result r = walker.walk(mm.pgd, BASE + p * 4096L);
                assertThat(r.ok()).isEqualTo((pte & 1) != 0);
                if (r.ok()) {
                    assertThat(pg).isNotNull();
                    assertThat(r.descriptor()).isEqualTo(pte);
                    assertThat(r.ap() & 1).as("EL0 access iff readable").isEqualTo((pg.prot & PROT_READ) != 0 ? 1 : 0);
                }
            }
        }
        cpu.switchToIdle();
        mm.mmput();
        assertThat(mm.freed()).isTrue();
        assertThat(w.pages.allocatedPages()).isEqualTo(baseline);
    }
}
