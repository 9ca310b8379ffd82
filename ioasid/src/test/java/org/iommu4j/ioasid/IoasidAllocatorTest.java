package org.iommu4j.ioasid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EAGAIN;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.ioasid.Ioasid.INVALID_IOASID;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Printk;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Custom allocators: registration rules, shared spaces, switching back to the default. */
@ExtendWith(NoWarnings.class)
class IoasidAllocatorTest {
    private final Ioasid io = new Ioasid();

    /** A "host" allocator handing out IDs from its own counter, logging calls. */
    static final class Host {
        final List<String> log = new ArrayList<>();
        int next;

        Host(int first) {
            next = first;
        }

        int alloc(int min, int max, Object pdata) {
            log.add("alloc " + min + ".." + max + " " + pdata);
            return next > max ? INVALID_IOASID : next++;
        }

        void free(int id, Object pdata) {
            log.add("free " + id + " " + pdata);
        }
    }

    @Test
    void firstCustomAllocatorBecomesActiveWhenDefaultIsEmpty() {
        Host h = new Host(100);
        IoasidAllocatorOps ops = new IoasidAllocatorOps(h::alloc, h::free, "pd");
        assertThat(io.ioasidRegisterAllocator(ops)).isZero();
        int id = io.ioasidAlloc(null, 1, 1000, "x");
        assertThat(id).isEqualTo(100);
        assertThat(io.ioasidFind(null, id, null)).isEqualTo("x");
        assertThat(io.ioasidPut(id)).isTrue();
        assertThat(h.log).containsExactly("alloc 1..1000 pd", "free 100 pd");
        io.ioasidUnregisterAllocator(ops);
        assertThat(Printk.grep("switch to default")).isNotEmpty();
        assertThat(io.ioasidAlloc(null, 1, 1000, null)).isEqualTo(1);
    }

    @Test
    void eagainWhileDefaultAllocatorHasLiveIds() {
        int id = io.ioasidAlloc(null, 1, 10, null);
        Host h = new Host(100);
        IoasidAllocatorOps ops = new IoasidAllocatorOps(h::alloc, h::free, null);
        assertThat(io.ioasidRegisterAllocator(ops)).isEqualTo(-EAGAIN);
        io.ioasidPut(id);
        assertThat(io.ioasidRegisterAllocator(ops)).isZero();
    }

    @Test
    void eexistForTheSameOpsTwice() {
        Host h = new Host(100);
        IoasidAllocatorOps ops = new IoasidAllocatorOps(h::alloc, h::free, null);
        assertThat(io.ioasidRegisterAllocator(ops)).isZero();
        assertThat(io.ioasidRegisterAllocator(ops)).isEqualTo(-EEXIST);
    }

    @Test
    void enomemWhenAllocatorDataCannotBeAllocated() {
        Host h = new Host(100);
        IoasidAllocatorOps ops = new IoasidAllocatorOps(h::alloc, h::free, null);
        FaultInject.failNth(1);
        assertThat(io.ioasidRegisterAllocator(ops)).isEqualTo(-ENOMEM);
        FaultInject.failNth(0);
        assertThat(io.ioasidAlloc(null, 1, 10, null)).isEqualTo(1);
    }

    @Test
    void identicalFunctionsShareOneSpaceAndSurviveUnregisterOfOneSharer() {
        Host h = new Host(100);
        IoasidAllocatorOps.AllocFn a = h::alloc;
        IoasidAllocatorOps.FreeFn f = h::free;
        IoasidAllocatorOps ops1 = new IoasidAllocatorOps(a, f, "one");
        IoasidAllocatorOps ops2 = new IoasidAllocatorOps(a, f, "two");
        assertThat(io.ioasidRegisterAllocator(ops1)).isZero();
        int id = io.ioasidAlloc(null, 1, 1000, "kept");
        assertThat(io.ioasidRegisterAllocator(ops2)).isZero();
        io.ioasidUnregisterAllocator(ops2);
        assertThat(io.ioasidFind(null, id, null)).isEqualTo("kept");
        assertThat(io.ioasidAlloc(null, 1, 1000, null)).isEqualTo(101);
    }

    @Test
    void nextRegisteredAllocatorTakesOverWhenActiveOneLeaves() {
        Host h1 = new Host(100);
        Host h2 = new Host(500);
        IoasidAllocatorOps ops1 = new IoasidAllocatorOps(h1::alloc, h1::free, null);
        IoasidAllocatorOps ops2 = new IoasidAllocatorOps(h2::alloc, h2::free, null);
        assertThat(io.ioasidRegisterAllocator(ops1)).isZero();
        assertThat(io.ioasidRegisterAllocator(ops2)).isZero();
        assertThat(io.ioasidAlloc(null, 1, 1000, null)).isEqualTo(100);
        assertThat(io.ioasidPut(100)).isTrue();
        io.ioasidUnregisterAllocator(ops1);
        assertThat(Printk.grep("IOASID allocator changed")).isNotEmpty();
        assertThat(io.ioasidAlloc(null, 1, 1000, null)).isEqualTo(500);
    }

    @Test
    void unregisterWithNothingRegisteredOnlyLogs() {
        Host h = new Host(1);
        io.ioasidUnregisterAllocator(new IoasidAllocatorOps(h::alloc, h::free, null));
        assertThat(Printk.grep("No custom IOASID allocators active!")).isNotEmpty();
    }

    @Test
    void unregisterWithOutstandingIdsWarns() {
        Host h = new Host(100);
        IoasidAllocatorOps ops = new IoasidAllocatorOps(h::alloc, h::free, null);
        io.ioasidRegisterAllocator(ops);
        io.ioasidAlloc(null, 1, 1000, null);
        io.ioasidUnregisterAllocator(ops);
        assertThat(org.iommu4j.base.Warn.drain()).hasSize(1);
    }

    @Test
    void customAllocatorReturningABusyIdIsUndone() {
        Host h = new Host(100);
        IoasidAllocatorOps ops = new IoasidAllocatorOps((min, max, pd) -> 100, h::free, null);
        io.ioasidRegisterAllocator(ops);
        assertThat(io.ioasidAlloc(null, 1, 1000, "first")).isEqualTo(100);
        assertThat(io.ioasidAlloc(null, 1, 1000, "second")).isEqualTo(INVALID_IOASID);
        assertThat(h.log).containsExactly("free 100 null");
        assertThat(io.ioasidFind(null, 100, null)).isEqualTo("first");
    }

    @Test
    void customAllocatorFailureGivesInvalid() {
        Host h = new Host(2000);
        io.ioasidRegisterAllocator(new IoasidAllocatorOps(h::alloc, h::free, null));
        assertThat(io.ioasidAlloc(null, 1, 1000, null)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasidCount()).isZero();
    }
}
