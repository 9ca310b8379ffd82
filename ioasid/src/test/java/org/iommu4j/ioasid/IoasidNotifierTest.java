package org.iommu4j.ioasid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOENT;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.ioasid.Ioasid.INVALID_IOASID;
import static org.iommu4j.ioasid.Ioasid.IOASID_NOTIFY_ALLOC;
import static org.iommu4j.ioasid.Ioasid.IOASID_NOTIFY_BIND;
import static org.iommu4j.ioasid.Ioasid.IOASID_NOTIFY_FREE;
import static org.iommu4j.ioasid.Ioasid.IOASID_NOTIFY_UNBIND;
import static org.iommu4j.ioasid.Ioasid.IOASID_PRIO_CPU;
import static org.iommu4j.ioasid.Ioasid.IOASID_PRIO_DEVICE;
import static org.iommu4j.ioasid.Ioasid.IOASID_PRIO_IOMMU;
import static org.iommu4j.ioasid.Ioasid.IOASID_PRIO_LAST;
import static org.iommu4j.ioasid.Ioasid.IOASID_SET_TYPE_MM;
import static org.iommu4j.ioasid.Ioasid.IOASID_SET_TYPE_NULL;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Notifier;
import org.iommu4j.base.NotifierBlock;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Notifications: exact event sequences, chains, priorities, mm notifiers and their pending list. */
@ExtendWith(NoWarnings.class)
class IoasidNotifierTest {
    private final Ioasid io = new Ioasid();
    private final List<String> log = new ArrayList<>();

    private static String name(long ev) {
        return switch ((int) ev) {
            case IOASID_NOTIFY_ALLOC -> "ALLOC";
            case IOASID_NOTIFY_FREE -> "FREE";
            case IOASID_NOTIFY_BIND -> "BIND";
            case IOASID_NOTIFY_UNBIND -> "UNBIND";
            default -> "?" + ev;
        };
    }

    private NotifierBlock recorder(String who, int prio) {
        return NotifierBlock.of(prio, (ev, data) -> {
            IoasidNbArgs a = (IoasidNbArgs) data;
            log.add(who + " " + name(ev) + " id=" + a.id() + " spid=" + a.spid()
                    + " set=" + (a.set() == null ? "-" : a.set().id) + " pdata=" + a.pdata());
            return Notifier.NOTIFY_OK;
        });
    }

    @Test
    void allocBindUnbindFreeWithRefsLastPut() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        assertThat(io.ioasidRegisterNotifier(null, recorder("global", IOASID_PRIO_LAST))).isZero();
        assertThat(io.ioasidRegisterNotifier(s, recorder("set", IOASID_PRIO_IOMMU))).isZero();

        int id = io.ioasidAlloc(s, 5, 100, "P");
        assertThat(io.ioasidAttachSpid(id, 42)).isZero();
        assertThat(io.ioasidAttachSpid(id, 43)).isEqualTo(-EINVAL);
        io.ioasidDetachSpid(id);
        io.ioasidDetachSpid(id); // nothing attached: logged, no UNBIND
        assertThat(io.ioasidGet(s, id)).isZero();
        assertThat(io.ioasidGet(null, id)).isZero();
        io.ioasidFree(s, id);
        // FREE goes out when the owner frees, while other references are still held
        assertThat(log).hasSize(5);
        assertThat(io.ioasidPut(s, id)).isFalse();
        assertThat(io.ioasidPut(null, id)).isTrue();
        assertThat(log).hasSize(5);

        // seed 002: only FREE reaches the global chain
        assertThat(log).containsExactly(
                "set ALLOC id=5 spid=-1 set=0 pdata=P",
                "set BIND id=5 spid=42 set=0 pdata=P",
                "set UNBIND id=5 spid=42 set=0 pdata=P",
                "global FREE id=5 spid=-1 set=0 pdata=P",
                "set FREE id=5 spid=-1 set=0 pdata=P");
    }

    @Test
    void freeIsSentOnceWhenTheOwnerDropsTheLastReference() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasidRegisterNotifier(s, recorder("set", IOASID_PRIO_LAST));
        int id = io.ioasidAlloc(s, 1, 100, null);
        io.ioasidFree(s, id);
        io.ioasidFree(s, id);
        io.ioasidPut(s, id);
        assertThat(log).containsExactly("set ALLOC id=1 spid=-1 set=0 pdata=null",
                "set FREE id=1 spid=-1 set=0 pdata=null");
    }

    /** Seed 002: FREE asks the reference holders to let go; their puts from the notifier reclaim the ID. */
    @Test
    void referenceHoldersDropTheirReferencesOnFree() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        List<String> holder = new ArrayList<>();
        io.ioasidRegisterNotifier(s, NotifierBlock.of(IOASID_PRIO_CPU, (ev, d) -> {
            int id = ((IoasidNbArgs) d).id();
            if (ev == IOASID_NOTIFY_ALLOC) {
                assertThat(io.ioasidGetLocked(s, id)).isZero();
                holder.add("get " + id);
            } else if (ev == IOASID_NOTIFY_FREE) {
                // still findable, already FREE_PENDING, and this reference is not the last
                assertThat(io.ioasidFind(s, id, null)).isEqualTo("P");
                assertThat(io.ioasidIsFreePending(id)).isTrue();
                assertThat(io.ioasidPutLocked(s, id)).isFalse();
                holder.add("put " + id);
            }
            return Notifier.NOTIFY_OK;
        }));
        io.ioasidRegisterNotifier(s, recorder("set", IOASID_PRIO_LAST));
        int id = io.ioasidAlloc(s, 1, 10, "P");
        assertThat(io.ioasidRefcount(id)).isEqualTo(2);
        io.ioasidFree(s, id);
        assertThat(holder).containsExactly("get " + id, "put " + id);
        assertThat(log).containsExactly("set ALLOC id=1 spid=-1 set=0 pdata=P",
                "set FREE id=1 spid=-1 set=0 pdata=P");
        // the owner's reference was the last one: reclaimed, quota credited
        assertThat(io.ioasidCount()).isZero();
        assertThat(s.nrIoasids()).isZero();
        assertThat(io.ioasidAlloc(s, 1, 10, null)).isEqualTo(id);
    }

    @Test
    void priorityOrderCpuIommuDeviceLast() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasidRegisterNotifier(s, recorder("last", IOASID_PRIO_LAST));
        io.ioasidRegisterNotifier(s, recorder("device", IOASID_PRIO_DEVICE));
        io.ioasidRegisterNotifier(s, recorder("cpu", IOASID_PRIO_CPU));
        io.ioasidRegisterNotifier(s, recorder("iommu", IOASID_PRIO_IOMMU));
        io.ioasidAlloc(s, 1, 10, null);
        assertThat(log).extracting(l -> l.split(" ")[0]).containsExactly("cpu", "iommu", "device", "last");
    }

    /** A set chain sees its own IDs' events; the global chain sees every ID's FREE, and only that. */
    @Test
    void setChainOnlySeesItsOwnIdsAndGlobalSeesEveryFree() {
        IoasidSet a = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        IoasidSet b = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasidRegisterNotifier(a, recorder("a", 0));
        NotifierBlock g = recorder("g", 0);
        io.ioasidRegisterNotifier(null, g);
        int inB = io.ioasidAlloc(b, 1, 10, null);
        int noSet = io.ioasidAlloc(null, 20, 30, null);
        assertThat(io.ioasidAttachSpid(inB, 7)).isZero();
        assertThat(log).isEmpty();
        io.ioasidFree(b, inB);
        io.ioasidPut(noSet);
        assertThat(log).containsExactly("g FREE id=1 spid=7 set=1 pdata=null",
                "g FREE id=20 spid=-1 set=- pdata=null");
        assertThat(io.ioasidUnregisterNotifier(null, g)).isZero();
        assertThat(io.ioasidUnregisterNotifier(null, g)).isEqualTo(-ENOENT);
        io.ioasidPut(io.ioasidAlloc(null, 20, 30, null));
        assertThat(log).hasSize(2);
    }

    @Test
    void onlyEmptyLiveSetsAcceptNotifiers() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasidAlloc(s, 1, 10, null);
        assertThat(io.ioasidRegisterNotifier(s, recorder("x", 0))).isEqualTo(-EBUSY);
        IoasidSet dead = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasidSetPut(dead);
        assertThat(io.ioasidRegisterNotifier(dead, recorder("x", 0))).isEqualTo(-EINVAL);
    }

    @Test
    void mmNotifierWaitsForTheMmSetThenFollowsIt() {
        Object mm = new Object();
        NotifierBlock nb = recorder("mm", IOASID_PRIO_CPU);
        assertThat(io.ioasidRegisterNotifierMm(mm, nb)).isZero();
        assertThat(io.ioasidRegisterNotifierMm(mm, nb)).isEqualTo(-EBUSY);
        assertThat(io.ioasidNrPendingNb()).isEqualTo(1);

        IoasidSet other = io.ioasidSetAlloc(new Object(), 10, IOASID_SET_TYPE_MM);
        io.ioasidAlloc(other, 1, 10, null);
        assertThat(log).isEmpty();

        IoasidSet s = io.ioasidSetAlloc(mm, 10, IOASID_SET_TYPE_MM);
        int id = io.ioasidAlloc(s, 1, 10, "mmdata");
        io.ioasidPut(s, id);
        assertThat(log).containsExactly("mm ALLOC id=2 spid=-1 set=1 pdata=mmdata",
                "mm FREE id=2 spid=-1 set=1 pdata=mmdata");

        io.ioasidSetPut(s);
        log.clear();
        IoasidSet again = io.ioasidSetAlloc(mm, 10, IOASID_SET_TYPE_MM);
        io.ioasidAlloc(again, 1, 10, null);
        assertThat(log).containsExactly("mm ALLOC id=2 spid=-1 set=" + again.id + " pdata=null");

        assertThat(io.ioasidUnregisterNotifierMm(mm, nb)).isZero();
        assertThat(io.ioasidUnregisterNotifierMm(mm, nb)).isEqualTo(-ENOENT);
        assertThat(io.ioasidNrPendingNb()).isZero();
        io.ioasidAlloc(again, 1, 10, null);
        assertThat(log).hasSize(1);
    }

    /** Seed 002: an mm notifier is removed only by mm, never from the set chain it follows. */
    @Test
    void mmNotifierCannotBeUnregisteredFromItsSetChain() {
        Object mm = new Object();
        NotifierBlock nb = recorder("mm", 0);
        IoasidSet s = io.ioasidSetAlloc(mm, 10, IOASID_SET_TYPE_MM);
        assertThat(io.ioasidRegisterNotifierMm(mm, nb)).isZero();

        assertThat(io.ioasidUnregisterNotifier(s, nb)).isEqualTo(-EBUSY);
        assertThat(Printk.grep("Cannot unregister NB from pending list")).isNotEmpty();
        assertThat(io.ioasidUnregisterNotifier(null, nb)).isEqualTo(-EBUSY);
        // Still registered: the set's IDs still reach it, and so do a later set's.
        io.ioasidPut(s, io.ioasidAlloc(s, 1, 10, null));
        assertThat(log).containsExactly("mm ALLOC id=1 spid=-1 set=" + s.id + " pdata=null",
                "mm FREE id=1 spid=-1 set=" + s.id + " pdata=null");
        io.ioasidSetPut(s);
        IoasidSet again = io.ioasidSetAlloc(mm, 10, IOASID_SET_TYPE_MM);
        io.ioasidAlloc(again, 1, 10, null);
        assertThat(log).hasSize(3);

        assertThat(io.ioasidUnregisterNotifierMm(mm, nb)).isZero();
        io.ioasidAlloc(again, 1, 10, null);
        assertThat(log).hasSize(3);
    }

    @Test
    void mmNotifierErrors() {
        NotifierBlock nb = recorder("mm", 0);
        assertThat(io.ioasidRegisterNotifierMm(null, nb)).isEqualTo(-EINVAL);
        Object mm = new Object();
        IoasidSet s = io.ioasidSetAlloc(mm, 10, IOASID_SET_TYPE_MM);
        io.ioasidAlloc(s, 1, 10, null);
        assertThat(io.ioasidRegisterNotifierMm(mm, nb)).isEqualTo(-EBUSY);
        FaultInject.failNth(1);
        assertThat(io.ioasidRegisterNotifierMm(new Object(), nb)).isEqualTo(-ENOMEM);
        FaultInject.failNth(0);
        assertThat(io.ioasidNrPendingNb()).isZero();
    }

    @Test
    void mmNotifierOnAnExistingEmptySetIsActiveAtOnce() {
        Object mm = new Object();
        IoasidSet s = io.ioasidSetAlloc(mm, 10, IOASID_SET_TYPE_MM);
        assertThat(io.ioasidRegisterNotifierMm(mm, recorder("mm", 0))).isZero();
        io.ioasidAlloc(s, 1, 10, null);
        assertThat(log).hasSize(1);
        assertThat(io.ioasidFindBySpid(s, 3)).isEqualTo(INVALID_IOASID);
    }

    @Test
    void notifierMayUseLockFreeLookups() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        List<Object> seen = new ArrayList<>();
        io.ioasidRegisterNotifier(s, NotifierBlock.of(0, (ev, d) -> {
            seen.add(io.ioasidFind(s, ((IoasidNbArgs) d).id(), null));
            return Notifier.NOTIFY_DONE;
        }));
        int id = io.ioasidAlloc(s, 1, 10, "v");
        io.ioasidFree(s, id);
        assertThat(seen).containsExactly("v", "v");
    }

    @Test
    void notifierDefersBlockingWorkToTheOrderedWorkqueue() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        List<String> done = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<org.iommu4j.base.Workqueue.WorkStruct> works = new ArrayList<>();
        io.ioasidRegisterNotifier(s, NotifierBlock.of(0, (ev, d) -> {
            int id = ((IoasidNbArgs) d).id();
            var w = new org.iommu4j.base.Workqueue.WorkStruct(() -> {
                // Runs without the allocator lock: may take it.
                done.add(name(ev) + " " + id + " held=" + io.ioasidAllocatorLock.isHeldByCurrentThread()
                        + " worker=" + Thread.currentThread().getName().startsWith("kworker/ioasid_wq"));
                io.ioasidCount();
            });
            works.add(w);
            assertThat(io.ioasidQueueWork(w)).isTrue();
            return Notifier.NOTIFY_OK;
        }));
        int id = io.ioasidAlloc(s, 1, 10, null);
        io.ioasidFree(s, id);
        for (var w : works) {
            org.iommu4j.base.Workqueue.flushWork(w);
        }
        assertThat(done).containsExactly("ALLOC 1 held=false worker=true", "FREE 1 held=false worker=true");
    }

    @Test
    void lockedVariantsFromANotifierAndLockdepOutsideIt() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasidRegisterNotifier(s, NotifierBlock.of(0, (ev, d) -> {
            if (ev == IOASID_NOTIFY_ALLOC) {
                assertThat(io.ioasidGetLocked(s, ((IoasidNbArgs) d).id())).isZero();
                io.ioasidSetGetLocked(s);
            }
            return Notifier.NOTIFY_OK;
        }));
        int id = io.ioasidAlloc(s, 1, 10, null);
        assertThat(io.ioasidRefcount(id)).isEqualTo(2);
        io.ioasidSetPut(s);
        assertThat(io.ioasidSetValid(s)).isTrue();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> io.ioasidPutLocked(s, id))
                .isInstanceOf(AssertionError.class).hasMessageContaining("ioasid_allocator_lock");
    }

    @Test
    void setTeardownSurvivesAFreeNotifierThatFreesOtherIdsOfTheSet() {
        IoasidSet s = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasidRegisterNotifier(s, NotifierBlock.of(0, (ev, d) -> {
            int id = ((IoasidNbArgs) d).id();
            if (ev == IOASID_NOTIFY_FREE && id == 1) {
                io.ioasidFree(s, 2);
                io.ioasidFree(s, 3);
            }
            log.add(name(ev) + " " + id);
            return Notifier.NOTIFY_OK;
        }));
        for (int i = 0; i < 5; i++) {
            io.ioasidAlloc(s, 1, 10, null);
        }
        log.clear();
        io.ioasidSetPut(s);
        assertThat(log).containsExactly("FREE 2", "FREE 3", "FREE 1", "FREE 4", "FREE 5");
        assertThat(io.ioasidCount()).isZero();
    }

    /** Seed 002 v4 teardown: free_all_in_set, then set_free once the last reference is gone. */
    @Test
    void v4FreeAllInSetThenSetFree() {
        Object mm = new Object();
        IoasidSet s = io.ioasidSetAlloc(mm, 8, IOASID_SET_TYPE_MM);
        assertThat(io.ioasidRegisterNotifier(s, recorder("set", IOASID_PRIO_IOMMU))).isZero();
        int a = io.ioasidAlloc(s, 1, 100, "A");
        int b = io.ioasidAlloc(s, 1, 100, "B");
        assertThat(io.ioasidGet(s, b)).isZero();
        assertThat(io.ioasidSetFree(s)).isEqualTo(-EBUSY);

        io.ioasidFreeAllInSet(s);
        // a is gone; b stays FREE_PENDING with its reference, still counted in the set
        assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(() -> io.ioasidFind(null, a, null),
                org.iommu4j.base.ErrnoException.class).err()).isEqualTo(-ENOENT);
        assertThat(io.ioasidIsFreePending(b)).isTrue();
        assertThat(s.nrIoasids()).isEqualTo(1);
        assertThat(io.ioasidSetFree(s)).isEqualTo(-EBUSY);
        assertThat(io.ioasidSetValid(s)).isTrue();

        assertThat(io.ioasidPut(s, b)).isTrue();
        assertThat(io.ioasidGetCapacityAvail()).isEqualTo(Ioasid.PCI_PASID_MAX - 8);
        assertThat(io.ioasidSetFree(s)).isZero();
        assertThat(io.ioasidSetValid(s)).isFalse();
        assertThat(io.ioasidGetCapacityAvail()).isEqualTo(Ioasid.PCI_PASID_MAX);
        // FREE exactly once per ID, none for the set itself
        assertThat(log).containsExactly(
                "set ALLOC id=1 spid=-1 set=0 pdata=A",
                "set ALLOC id=2 spid=-1 set=0 pdata=B",
                "set FREE id=1 spid=-1 set=0 pdata=A",
                "set FREE id=2 spid=-1 set=0 pdata=B");
        // dead or null sets
        assertThat(io.ioasidSetFree(s)).isEqualTo(-EINVAL);
        assertThat(io.ioasidSetFree(null)).isEqualTo(-EINVAL);
        // the mm token is free for a new set
        assertThat(io.ioasidSetAlloc(mm, 8, IOASID_SET_TYPE_MM).id).isEqualTo(s.id);
        io.ioasidFreeAllInSet(s);
        assertThat(Warn.drain()).hasSize(1);
    }
}
