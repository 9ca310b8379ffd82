package org.iommu4j.ioasid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOENT;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.ioasid.Ioasid.INVALID_IOASID;
import static org.iommu4j.ioasid.Ioasid.IOASID_SET_TYPE_MM;
import static org.iommu4j.ioasid.Ioasid.IOASID_SET_TYPE_NULL;
import static org.iommu4j.ioasid.Ioasid.PCI_PASID_MAX;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Notifier;
import org.iommu4j.base.NotifierBlock;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Seed 002 sets: allocation checks, quota, capacity, ownership, iteration, teardown. */
@ExtendWith(NoWarnings.class)
class IoasidSetTest {
    private final Ioasid io = new Ioasid();

    private int setAllocErr(Object token, int quota, int type) {
        try {
            io.ioasidSetAlloc(token, quota, type);
            return 0;
        } catch (ErrnoException e) {
            return e.err();
        }
    }

    @Test
    void setAllocChecks() {
        Object mm = new Object();
        assertThat(setAllocErr(null, 10, 0)).isEqualTo(-EINVAL);
        assertThat(setAllocErr(null, 10, Ioasid.IOASID_SET_TYPE_NR)).isEqualTo(-EINVAL);
        assertThat(setAllocErr(null, 0, IOASID_SET_TYPE_NULL)).isEqualTo(-EINVAL);
        assertThat(setAllocErr(null, 10, IOASID_SET_TYPE_MM)).isEqualTo(-EINVAL);
        assertThat(setAllocErr(mm, 10, IOASID_SET_TYPE_NULL)).isEqualTo(-EINVAL);
        assertThat(setAllocErr(null, PCI_PASID_MAX + 1, IOASID_SET_TYPE_NULL)).isEqualTo(-ENOSPC);
        assertThat(setAllocErr(null, -1, IOASID_SET_TYPE_NULL)).isEqualTo(-ENOSPC);
        // Seed order: type past the enum, quota 0, capacity, then the type/token pairing, so an
        // unknown type below IOASID_SET_TYPE_NULL asking too much is refused for capacity.
        assertThat(setAllocErr(null, PCI_PASID_MAX + 1, 0)).isEqualTo(-ENOSPC);
        assertThat(setAllocErr(null, PCI_PASID_MAX + 1, -3)).isEqualTo(-ENOSPC);
        assertThat(setAllocErr(null, 0, 0)).isEqualTo(-EINVAL);
        assertThat(setAllocErr(null, 10, -3)).isEqualTo(-EINVAL);
        assertThat(setAllocErr(mm, 10, 0)).isEqualTo(-EINVAL);
        assertThat(setAllocErr(null, PCI_PASID_MAX + 1, Ioasid.IOASID_SET_TYPE_NR)).isEqualTo(-EINVAL);
        assertThat(setAllocErr(null, PCI_PASID_MAX + 1, IOASID_SET_TYPE_MM)).isEqualTo(-ENOSPC);
        assertThat(io.ioasidNrSets()).isZero();
        assertThat(io.ioasidGetCapacityAvail()).isEqualTo(PCI_PASID_MAX);
        assertThat(setAllocErr(mm, 10, IOASID_SET_TYPE_MM)).isZero();
        assertThat(setAllocErr(mm, 10, IOASID_SET_TYPE_MM)).isEqualTo(-EEXIST);
        FaultInject.failNth(1);
        assertThat(setAllocErr(new Object(), 10, IOASID_SET_TYPE_MM)).isEqualTo(-ENOMEM);
        FaultInject.failNth(0);
        assertThat(io.ioasidNrSets()).isEqualTo(1);
        assertThat(io.ioasidGetCapacityAvail()).isEqualTo(PCI_PASID_MAX - 10);
    }

    @Test
    void quotaIsEnforcedAndAdjustable() {
        IoasidSet s = io.ioasidSetAlloc(null, 3, IOASID_SET_TYPE_NULL);
        int a = io.ioasidAlloc(s, 1, 1000, null);
        int b = io.ioasidAlloc(s, 1, 1000, null);
        int c = io.ioasidAlloc(s, 1, 1000, null);
        assertThat(new int[] {a, b, c}).containsExactly(1, 2, 3);
        assertThat(io.ioasidAlloc(s, 1, 1000, null)).isEqualTo(INVALID_IOASID);
        assertThat(s.nrIoasids()).isEqualTo(3);

        assertThat(io.ioasidAdjustSet(s, 2)).isEqualTo(-EINVAL);
        assertThat(io.ioasidAdjustSet(s, 0)).isEqualTo(-EINVAL);
        assertThat(io.ioasidAdjustSet(s, -5)).isEqualTo(-EINVAL);
        assertThat(io.ioasidAdjustSet(s, PCI_PASID_MAX + 1)).isEqualTo(-ENOSPC);
        assertThat(io.ioasidAdjustSet(s, 4)).isZero();
        assertThat(io.ioasidGetCapacityAvail()).isEqualTo(PCI_PASID_MAX - 4);
        assertThat(io.ioasidAlloc(s, 1, 1000, null)).isEqualTo(4);
        assertThat(io.ioasidAlloc(s, 1, 1000, null)).isEqualTo(INVALID_IOASID);

        io.ioasidFree(s, 4);
        assertThat(io.ioasidAdjustSet(s, 3)).isZero();
        assertThat(io.ioasidGetCapacityAvail()).isEqualTo(PCI_PASID_MAX - 3);
        assertThat(io.ioasidAdjustSet(s, PCI_PASID_MAX)).isZero();
        assertThat(io.ioasidGetCapacityAvail()).isZero();
        assertThat(setAllocErr(null, 1, IOASID_SET_TYPE_NULL)).isEqualTo(-ENOSPC);
        assertThat(io.ioasidAdjustSet(null, 3)).isEqualTo(-EINVAL);
    }

    @Test
    void capacityIsInstalledOnceBeforeAnySet() {
        assertThat(io.ioasidGetCapacity()).isEqualTo(PCI_PASID_MAX);
        io.ioasidInstallCapacity(1 << 16);
        assertThat(io.ioasidGetCapacity()).isEqualTo(1 << 16);
        io.ioasidInstallCapacity(1 << 10);
        assertThat(io.ioasidGetCapacity()).isEqualTo(1 << 16);
        assertThat(Printk.grep("IOASID capacity is already set.")).isNotEmpty();
        assertThat(setAllocErr(null, (1 << 16) + 1, IOASID_SET_TYPE_NULL)).isEqualTo(-ENOSPC);
        IoasidSet s = io.ioasidSetAlloc(null, 1 << 15, IOASID_SET_TYPE_NULL);
        assertThat(io.ioasidGetCapacityAvail()).isEqualTo(1 << 15);
        io.ioasidSetPut(s);
        assertThat(io.ioasidGetCapacityAvail()).isEqualTo(1 << 16);

        Ioasid other = new Ioasid();
        other.ioasidSetAlloc(null, 5, IOASID_SET_TYPE_NULL);
        other.ioasidInstallCapacity(100);
        assertThat(other.ioasidGetCapacity()).isEqualTo(PCI_PASID_MAX);
    }

    @Test
    void aSetCanNeverTouchAnotherSetsIoasid() {
        IoasidSet a = io.ioasidSetAlloc(null, 5, IOASID_SET_TYPE_NULL);
        IoasidSet b = io.ioasidSetAlloc(null, 5, IOASID_SET_TYPE_NULL);
        int id = io.ioasidAlloc(a, 1, 100, "a's");
        io.ioasidFree(b, id);
        assertThat(io.ioasidPut(b, id)).isFalse();
        assertThat(io.ioasidRefcount(id)).isEqualTo(1);
        assertThat(io.ioasidIsFreePending(id)).isFalse();
        assertThat(io.ioasidFind(a, id, null)).isEqualTo("a's");
        assertThat(a.nrIoasids()).isEqualTo(1);
        assertThat(b.nrIoasids()).isZero();
    }

    @Test
    void freePendingRefusesNewReferencesAndReclaimsOnLastPut() {
        IoasidSet s = io.ioasidSetAlloc(null, 5, IOASID_SET_TYPE_NULL);
        int id = io.ioasidAlloc(s, 1, 100, null);
        assertThat(io.ioasidGet(s, id)).isZero();
        io.ioasidFree(s, id);
        assertThat(io.ioasidIsFreePending(id)).isTrue();
        // seed 002: a freed ID is busy, not unknown
        assertThat(io.ioasidGet(s, id)).isEqualTo(-EBUSY);
        assertThat(io.ioasidGet(null, id)).isEqualTo(-EBUSY);
        assertThat(Printk.grep("Trying to get IOASID " + id + " being freed")).isNotEmpty();
        assertThat(io.ioasidRefcount(id)).isEqualTo(1);
        io.ioasidFree(s, id);
        assertThat(Printk.grep("IOASID " + id + " already freed")).isNotEmpty();
        assertThat(io.ioasidRefcount(id)).isEqualTo(1);
        assertThat(s.nrIoasids()).isEqualTo(1);
        assertThat(io.ioasidPut(s, id)).isTrue();
        assertThat(s.nrIoasids()).isZero();
        assertThat(io.ioasidCount()).isZero();
    }

    @Test
    void forEachVisitsTheSetsIdsInAllocationOrder() {
        IoasidSet a = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        IoasidSet b = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasidAlloc(a, 1, 100, null);
        io.ioasidAlloc(b, 1, 100, null);
        io.ioasidAlloc(a, 1, 100, null);
        io.ioasidAlloc(a, 1, 100, null);
        io.ioasidFree(a, 3);
        List<String> seen = new ArrayList<>();
        io.ioasidSetForEachIoasid(a, (id, d) -> seen.add(id + ":" + d), "tok");
        assertThat(seen).containsExactly("1:tok", "4:tok");
        // fn may free the current ID (it runs with the lock held, which is reentrant here).
        io.ioasidSetForEachIoasid(a, (id, d) -> io.ioasidFree(a, id), null);
        assertThat(a.nrIoasids()).isZero();
        assertThat(b.nrIoasids()).isEqualTo(1);
    }

    @Test
    void lastSetPutFreesAllIdsAndReturnsTheQuota() {
        IoasidSet s = io.ioasidSetAlloc(null, 100, IOASID_SET_TYPE_NULL);
        for (int i = 0; i < 50; i++) {
            io.ioasidAlloc(s, 1, 1000, null);
        }
        io.ioasidSetGet(s);
        io.ioasidSetPut(s);
        assertThat(io.ioasidCount()).isEqualTo(50);
        io.ioasidSetPut(s);
        assertThat(io.ioasidCount()).isZero();
        assertThat(io.ioasidSetValid(s)).isFalse();
        assertThat(io.ioasidGetCapacityAvail()).isEqualTo(PCI_PASID_MAX);
        assertThat(io.ioasidAlloc(s, 1, 1000, null)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasidAdjustSet(s, 10)).isEqualTo(-EINVAL);
    }

    @Test
    void setTeardownKeepsReferencedIdsUntilTheirLastPut() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        int kept = io.ioasidAlloc(s, 1, 100, "k");
        int gone = io.ioasidAlloc(s, 1, 100, "g");
        assertThat(io.ioasidGet(s, kept)).isZero();
        io.ioasidSetPut(s);
        assertThat(io.ioasidIsFreePending(kept)).isTrue();
        assertThat(io.ioasidFind(null, kept, null)).isEqualTo("k");
        assertThat(io.ioasidRefcount(gone)).isZero();
        assertThat(io.ioasidPut(s, kept)).isTrue();
        assertThat(io.ioasidCount()).isZero();
    }

    /**
     * The seed walks a set's IOASIDs through its xarray, by ascending ID whatever the allocation
     * order: the iterator's calls and the FREE notifications of the set's teardown follow it.
     */
    @Test
    void setWalksGoByAscendingIdNotAllocationOrder() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        List<String> frees = new ArrayList<>();
        assertThat(io.ioasidRegisterNotifier(s, NotifierBlock.of(0, (ev, d) -> {
            if (ev == Ioasid.IOASID_NOTIFY_FREE) {
                frees.add(String.valueOf(((IoasidNbArgs) d).id()));
            }
            return Notifier.NOTIFY_OK;
        }))).isZero();
        assertThat(io.ioasidAlloc(s, 50, 60, null)).isEqualTo(50);
        assertThat(io.ioasidAlloc(s, 10, 20, null)).isEqualTo(10);
        assertThat(io.ioasidAlloc(s, 0x8000_0000, 0x8000_0010, null)).isEqualTo(0x8000_0000);
        assertThat(io.ioasidAlloc(s, 30, 40, null)).isEqualTo(30);

        List<Long> seen = new ArrayList<>();
        io.ioasidSetForEachIoasid(s, (id, d) -> seen.add(Integer.toUnsignedLong(id)), null);
        assertThat(seen).containsExactly(10L, 30L, 50L, 0x8000_0000L);
        // fn may free IDs ahead of it: they are not visited.
        seen.clear();
        io.ioasidSetForEachIoasid(s, (id, d) -> {
            seen.add(Integer.toUnsignedLong(id));
            if (id == 10) {
                io.ioasidFree(s, 30);
            }
        }, null);
        assertThat(seen).containsExactly(10L, 50L, 0x8000_0000L);
        assertThat(frees).containsExactly("30");

        frees.clear();
        io.ioasidSetPut(s);
        assertThat(frees).containsExactly("10", "50", String.valueOf(0x8000_0000));
        assertThat(io.ioasidCount()).isZero();
        assertThat(io.ioasidGetCapacityAvail()).isEqualTo(PCI_PASID_MAX);
    }

    /** Seed 002's ioasid_free WARNs on an ID whose set no longer exists, and changes nothing. */
    @Test
    void freeingAnIdOfADeadSetWarnsAndChangesNothing() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        int kept = io.ioasidAlloc(s, 1, 100, "k");
        assertThat(io.ioasidGet(s, kept)).isZero();
        io.ioasidSetPut(s);
        assertThat(io.ioasidSetValid(s)).isFalse();
        io.ioasidFree(s, kept);
        assertThat(Warn.drain()).hasSize(1);
        assertThat(io.ioasidIsFreePending(kept)).isTrue();
        assertThat(io.ioasidRefcount(kept)).isEqualTo(1);
        assertThat(io.ioasidPut(s, kept)).isTrue();
        assertThat(io.ioasidCount()).isZero();
    }

    @Test
    void aFreedMmTokenCanGetANewSet() {
        Object mm = new Object();
        IoasidSet s = io.ioasidSetAlloc(mm, 10, IOASID_SET_TYPE_MM);
        assertThat(s.token).isSameAs(mm);
        assertThat(s.type).isEqualTo(IOASID_SET_TYPE_MM);
        io.ioasidSetPut(s);
        IoasidSet s2 = io.ioasidSetAlloc(mm, 10, IOASID_SET_TYPE_MM);
        assertThat(s2.id).isEqualTo(s.id);
        assertThat(io.ioasidSetValid(s)).isFalse();
        assertThat(io.ioasidSetValid(s2)).isTrue();
    }

    @Test
    void deadSetOperationsWarn() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasidSetPut(s);
        io.ioasidSetPut(s);
        io.ioasidSetGet(s);
        io.ioasidSetForEachIoasid(s, (id, d) -> { }, null);
        assertThat(Warn.drain()).hasSize(3);
    }

    @Test
    void spidAttachDetachFindAndErrors() {
        IoasidSet a = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        IoasidSet b = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        int x = io.ioasidAlloc(a, 1, 100, null);
        int y = io.ioasidAlloc(a, 1, 100, null);
        int z = io.ioasidAlloc(b, 1, 100, null);
        assertThat(io.ioasidAttachSpid(x, 7)).isZero();
        assertThat(io.ioasidAttachSpid(y, 7)).isEqualTo(-EINVAL);
        assertThat(io.ioasidAttachSpid(x, 8)).isEqualTo(-EINVAL);
        assertThat(io.ioasidAttachSpid(y, INVALID_IOASID)).isEqualTo(-EINVAL);
        assertThat(io.ioasidAttachSpid(55, 9)).isEqualTo(-ENOENT);
        assertThat(io.ioasidAttachSpid(z, 7)).isZero();
        int nullSetId = io.ioasidAlloc(null, 200, 300, null);
        assertThat(io.ioasidAttachSpid(nullSetId, 9)).isEqualTo(-EINVAL);

        assertThat(io.ioasidFindBySpid(a, 7)).isEqualTo(x);
        assertThat(io.ioasidFindBySpid(b, 7)).isEqualTo(z);
        assertThat(io.ioasidFindBySpid(a, 8)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasidFindBySpid(null, 7)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasidFindBySpid(a, 7, true)).isEqualTo(x);
        assertThat(io.ioasidRefcount(x)).isEqualTo(2);

        io.ioasidDetachSpid(x);
        // seed 002: void; a second detach and an unknown IOASID are logged and change nothing
        io.ioasidDetachSpid(x);
        assertThat(Printk.grep("Invalid IOASID entry " + x + " to detach")).isNotEmpty();
        io.ioasidDetachSpid(55);
        assertThat(Printk.grep("Invalid IOASID entry 55 to detach")).isNotEmpty();
        assertThat(io.ioasidFindBySpid(b, 7)).isEqualTo(z);
        assertThat(io.ioasidFindBySpid(a, 7)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasidAttachSpid(y, 7)).isZero();

        io.ioasidFree(a, y);
        assertThat(io.ioasidFindBySpid(a, 7)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasidAttachSpid(x, 7)).isZero();
        assertThat(io.ioasidGet(a, x)).isZero();
        io.ioasidFree(a, x);
        assertThat(io.ioasidFindBySpid(a, 7, true)).isEqualTo(INVALID_IOASID);
        // x is FREE_PENDING and still has SPID 7: a second SPID is refused as for any IOASID.
        assertThat(io.ioasidAttachSpid(x, 9)).isEqualTo(-EINVAL);
        // Its two remaining references (the get and the earlier find with get) reclaim it.
        assertThat(io.ioasidPut(a, x)).isFalse();
        assertThat(io.ioasidPut(a, x)).isTrue();
        assertThat(io.ioasidAttachSpid(x, 9)).isEqualTo(-ENOENT);
    }

    /**
     * Seed 002's ioasid_attach_spid finds an IOASID by its allocator entry alone, so one that its
     * owner freed while others hold references still takes an SPID (BIND goes out), stays
     * FREE_PENDING, and gives the SPID back when it is reclaimed.
     */
    @Test
    void aFreePendingIdStillTakesAnSpidUntilReclaimed() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        List<String> events = new ArrayList<>();
        assertThat(io.ioasidRegisterNotifier(s, NotifierBlock.of(0, (ev, d) -> {
            events.add(ev + ":" + ((IoasidNbArgs) d).spid());
            return Notifier.NOTIFY_OK;
        }))).isZero();
        int id = io.ioasidAlloc(s, 1, 100, null);
        assertThat(io.ioasidGet(s, id)).isZero();
        io.ioasidFree(s, id);
        assertThat(io.ioasidIsFreePending(id)).isTrue();

        assertThat(io.ioasidAttachSpid(id, 5)).isZero();
        assertThat(events).containsExactly(Ioasid.IOASID_NOTIFY_ALLOC + ":-1",
                Ioasid.IOASID_NOTIFY_FREE + ":-1", Ioasid.IOASID_NOTIFY_BIND + ":5");
        assertThat(io.ioasidIsFreePending(id)).isTrue();
        assertThat(io.ioasidGet(s, id)).isEqualTo(-EBUSY);
        assertThat(io.ioasidFindBySpid(s, 5)).isEqualTo(id);

        assertThat(io.ioasidPut(s, id)).isTrue();
        assertThat(io.ioasidFindBySpid(s, 5)).isEqualTo(INVALID_IOASID);
        int next = io.ioasidAlloc(s, 1, 100, null);
        assertThat(io.ioasidAttachSpid(next, 5)).isZero();
    }
}
