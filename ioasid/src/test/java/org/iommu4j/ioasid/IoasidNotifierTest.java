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
        IoasidSet s = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        assertThat(io.ioasid_register_notifier(null, recorder("global", IOASID_PRIO_LAST))).isZero();
        assertThat(io.ioasid_register_notifier(s, recorder("set", IOASID_PRIO_IOMMU))).isZero();

        int id = io.ioasid_alloc(s, 5, 100, "P");
        assertThat(io.ioasid_attach_spid(id, 42)).isZero();
        assertThat(io.ioasid_attach_spid(id, 43)).isEqualTo(-EINVAL);
        io.ioasid_detach_spid(id);
        io.ioasid_detach_spid(id); // nothing attached: logged, no UNBIND
        assertThat(io.ioasid_get(s, id)).isZero();
        assertThat(io.ioasid_get(null, id)).isZero();
        io.ioasid_free(s, id);
        // FREE goes out when the owner frees, while other references are still held
        assertThat(log).hasSize(5);
        assertThat(io.ioasid_put(s, id)).isFalse();
        assertThat(io.ioasid_put(null, id)).isTrue();
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
        IoasidSet s = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasid_register_notifier(s, recorder("set", IOASID_PRIO_LAST));
        int id = io.ioasid_alloc(s, 1, 100, null);
        io.ioasid_free(s, id);
        io.ioasid_free(s, id);
        io.ioasid_put(s, id);
        assertThat(log).containsExactly("set ALLOC id=1 spid=-1 set=0 pdata=null",
                "set FREE id=1 spid=-1 set=0 pdata=null");
    }

    /** Seed 002: FREE asks the reference holders to let go; their puts from the notifier reclaim the ID. */
    @Test
    void referenceHoldersDropTheirReferencesOnFree() {
        IoasidSet s = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        List<String> holder = new ArrayList<>();
        io.ioasid_register_notifier(s, NotifierBlock.of(IOASID_PRIO_CPU, (ev, d) -> {
            int id = ((IoasidNbArgs) d).id();
            if (ev == IOASID_NOTIFY_ALLOC) {
                assertThat(io.ioasid_get_locked(s, id)).isZero();
                holder.add("get " + id);
            } else if (ev == IOASID_NOTIFY_FREE) {
                // still findable, already FREE_PENDING, and this reference is not the last
                assertThat(io.ioasid_find(s, id, null)).isEqualTo("P");
                assertThat(io.ioasid_is_free_pending(id)).isTrue();
                assertThat(io.ioasid_put_locked(s, id)).isFalse();
                holder.add("put " + id);
            }
            return Notifier.NOTIFY_OK;
        }));
        io.ioasid_register_notifier(s, recorder("set", IOASID_PRIO_LAST));
        int id = io.ioasid_alloc(s, 1, 10, "P");
        assertThat(io.ioasid_refcount(id)).isEqualTo(2);
        io.ioasid_free(s, id);
        assertThat(holder).containsExactly("get " + id, "put " + id);
        assertThat(log).containsExactly("set ALLOC id=1 spid=-1 set=0 pdata=P",
                "set FREE id=1 spid=-1 set=0 pdata=P");
        // the owner's reference was the last one: reclaimed, quota credited
        assertThat(io.ioasid_count()).isZero();
        assertThat(s.nr_ioasids()).isZero();
        assertThat(io.ioasid_alloc(s, 1, 10, null)).isEqualTo(id);
    }

    @Test
    void priorityOrderCpuIommuDeviceLast() {
        IoasidSet s = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasid_register_notifier(s, recorder("last", IOASID_PRIO_LAST));
        io.ioasid_register_notifier(s, recorder("device", IOASID_PRIO_DEVICE));
        io.ioasid_register_notifier(s, recorder("cpu", IOASID_PRIO_CPU));
        io.ioasid_register_notifier(s, recorder("iommu", IOASID_PRIO_IOMMU));
        io.ioasid_alloc(s, 1, 10, null);
        assertThat(log).extracting(l -> l.split(" ")[0]).containsExactly("cpu", "iommu", "device", "last");
    }

    /** A set chain sees its own IDs' events; the global chain sees every ID's FREE, and only that. */
    @Test
    void setChainOnlySeesItsOwnIdsAndGlobalSeesEveryFree() {
        IoasidSet a = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        IoasidSet b = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasid_register_notifier(a, recorder("a", 0));
        NotifierBlock g = recorder("g", 0);
        io.ioasid_register_notifier(null, g);
        int inB = io.ioasid_alloc(b, 1, 10, null);
        int noSet = io.ioasid_alloc(null, 20, 30, null);
        assertThat(io.ioasid_attach_spid(inB, 7)).isZero();
        assertThat(log).isEmpty();
        io.ioasid_free(b, inB);
        io.ioasid_put(noSet);
        assertThat(log).containsExactly("g FREE id=1 spid=7 set=1 pdata=null",
                "g FREE id=20 spid=-1 set=- pdata=null");
        assertThat(io.ioasid_unregister_notifier(null, g)).isZero();
        assertThat(io.ioasid_unregister_notifier(null, g)).isEqualTo(-ENOENT);
        io.ioasid_put(io.ioasid_alloc(null, 20, 30, null));
        assertThat(log).hasSize(2);
    }

    @Test
    void onlyEmptyLiveSetsAcceptNotifiers() {
        IoasidSet s = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasid_alloc(s, 1, 10, null);
        assertThat(io.ioasid_register_notifier(s, recorder("x", 0))).isEqualTo(-EBUSY);
        IoasidSet dead = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasid_set_put(dead);
        assertThat(io.ioasid_register_notifier(dead, recorder("x", 0))).isEqualTo(-EINVAL);
    }

    @Test
    void mmNotifierWaitsForTheMmSetThenFollowsIt() {
        Object mm = new Object();
        NotifierBlock nb = recorder("mm", IOASID_PRIO_CPU);
        assertThat(io.ioasid_register_notifier_mm(mm, nb)).isZero();
        assertThat(io.ioasid_register_notifier_mm(mm, nb)).isEqualTo(-EBUSY);
        assertThat(io.ioasid_nr_pending_nb()).isEqualTo(1);

        IoasidSet other = io.ioasid_set_alloc(new Object(), 10, IOASID_SET_TYPE_MM);
        io.ioasid_alloc(other, 1, 10, null);
        assertThat(log).isEmpty();

        IoasidSet s = io.ioasid_set_alloc(mm, 10, IOASID_SET_TYPE_MM);
        int id = io.ioasid_alloc(s, 1, 10, "mmdata");
        io.ioasid_put(s, id);
        assertThat(log).containsExactly("mm ALLOC id=2 spid=-1 set=1 pdata=mmdata",
                "mm FREE id=2 spid=-1 set=1 pdata=mmdata");

        io.ioasid_set_put(s);
        log.clear();
        IoasidSet again = io.ioasid_set_alloc(mm, 10, IOASID_SET_TYPE_MM);
        io.ioasid_alloc(again, 1, 10, null);
        assertThat(log).containsExactly("mm ALLOC id=2 spid=-1 set=" + again.id + " pdata=null");

        assertThat(io.ioasid_unregister_notifier_mm(mm, nb)).isZero();
        assertThat(io.ioasid_unregister_notifier_mm(mm, nb)).isEqualTo(-ENOENT);
        assertThat(io.ioasid_nr_pending_nb()).isZero();
        io.ioasid_alloc(again, 1, 10, null);
        assertThat(log).hasSize(1);
    }

    @Test
    void mmNotifierErrors() {
        NotifierBlock nb = recorder("mm", 0);
        assertThat(io.ioasid_register_notifier_mm(null, nb)).isEqualTo(-EINVAL);
        Object mm = new Object();
        IoasidSet s = io.ioasid_set_alloc(mm, 10, IOASID_SET_TYPE_MM);
        io.ioasid_alloc(s, 1, 10, null);
        assertThat(io.ioasid_register_notifier_mm(mm, nb)).isEqualTo(-EBUSY);
        FaultInject.failNth(1);
        assertThat(io.ioasid_register_notifier_mm(new Object(), nb)).isEqualTo(-ENOMEM);
        FaultInject.failNth(0);
        assertThat(io.ioasid_nr_pending_nb()).isZero();
    }

    @Test
    void mmNotifierOnAnExistingEmptySetIsActiveAtOnce() {
        Object mm = new Object();
        IoasidSet s = io.ioasid_set_alloc(mm, 10, IOASID_SET_TYPE_MM);
        assertThat(io.ioasid_register_notifier_mm(mm, recorder("mm", 0))).isZero();
        io.ioasid_alloc(s, 1, 10, null);
        assertThat(log).hasSize(1);
        assertThat(io.ioasid_find_by_spid(s, 3)).isEqualTo(INVALID_IOASID);
    }

    @Test
    void notifierMayUseLockFreeLookups() {
        IoasidSet s = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        List<Object> seen = new ArrayList<>();
        io.ioasid_register_notifier(s, NotifierBlock.of(0, (ev, d) -> {
            seen.add(io.ioasid_find(s, ((IoasidNbArgs) d).id(), null));
            return Notifier.NOTIFY_DONE;
        }));
        int id = io.ioasid_alloc(s, 1, 10, "v");
        io.ioasid_free(s, id);
        assertThat(seen).containsExactly("v", "v");
    }

    @Test
    void notifierDefersBlockingWorkToTheOrderedWorkqueue() {
        IoasidSet s = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        List<String> done = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<org.iommu4j.base.Workqueue.WorkStruct> works = new ArrayList<>();
        io.ioasid_register_notifier(s, NotifierBlock.of(0, (ev, d) -> {
            int id = ((IoasidNbArgs) d).id();
            var w = new org.iommu4j.base.Workqueue.WorkStruct(() -> {
                // Runs without the allocator lock: may take it.
                done.add(name(ev) + " " + id + " held=" + io.ioasid_allocator_lock.isHeldByCurrentThread()
                        + " worker=" + Thread.currentThread().getName().startsWith("kworker/ioasid_wq"));
                io.ioasid_count();
            });
            works.add(w);
            assertThat(io.ioasid_queue_work(w)).isTrue();
            return Notifier.NOTIFY_OK;
        }));
        int id = io.ioasid_alloc(s, 1, 10, null);
        io.ioasid_free(s, id);
        for (var w : works) {
            org.iommu4j.base.Workqueue.flush_work(w);
        }
        assertThat(done).containsExactly("ALLOC 1 held=false worker=true", "FREE 1 held=false worker=true");
    }

    @Test
    void lockedVariantsFromANotifierAndLockdepOutsideIt() {
        IoasidSet s = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasid_register_notifier(s, NotifierBlock.of(0, (ev, d) -> {
            if (ev == IOASID_NOTIFY_ALLOC) {
                assertThat(io.ioasid_get_locked(s, ((IoasidNbArgs) d).id())).isZero();
                io.ioasid_set_get_locked(s);
            }
            return Notifier.NOTIFY_OK;
        }));
        int id = io.ioasid_alloc(s, 1, 10, null);
        assertThat(io.ioasid_refcount(id)).isEqualTo(2);
        io.ioasid_set_put(s);
        assertThat(io.ioasid_set_valid(s)).isTrue();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> io.ioasid_put_locked(s, id))
                .isInstanceOf(AssertionError.class).hasMessageContaining("ioasid_allocator_lock");
    }

    @Test
    void setTeardownSurvivesAFreeNotifierThatFreesOtherIdsOfTheSet() {
        IoasidSet s = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasid_register_notifier(s, NotifierBlock.of(0, (ev, d) -> {
            int id = ((IoasidNbArgs) d).id();
            if (ev == IOASID_NOTIFY_FREE && id == 1) {
                io.ioasid_free(s, 2);
                io.ioasid_free(s, 3);
            }
            log.add(name(ev) + " " + id);
            return Notifier.NOTIFY_OK;
        }));
        for (int i = 0; i < 5; i++) {
            io.ioasid_alloc(s, 1, 10, null);
        }
        log.clear();
        io.ioasid_set_put(s);
        assertThat(log).containsExactly("FREE 2", "FREE 3", "FREE 1", "FREE 4", "FREE 5");
        assertThat(io.ioasid_count()).isZero();
    }

    /** Seed 002 v4 teardown: free_all_in_set, then set_free once the last reference is gone. */
    @Test
    void v4FreeAllInSetThenSetFree() {
        Object mm = new Object();
        IoasidSet s = io.ioasid_set_alloc(mm, 8, IOASID_SET_TYPE_MM);
        assertThat(io.ioasid_register_notifier(s, recorder("set", IOASID_PRIO_IOMMU))).isZero();
        int a = io.ioasid_alloc(s, 1, 100, "A");
        int b = io.ioasid_alloc(s, 1, 100, "B");
        assertThat(io.ioasid_get(s, b)).isZero();
        assertThat(io.ioasid_set_free(s)).isEqualTo(-EBUSY);

        io.ioasid_free_all_in_set(s);
        // a is gone; b stays FREE_PENDING with its reference, still counted in the set
        assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(() -> io.ioasid_find(null, a, null),
                org.iommu4j.base.ErrnoException.class).err()).isEqualTo(-ENOENT);
        assertThat(io.ioasid_is_free_pending(b)).isTrue();
        assertThat(s.nr_ioasids()).isEqualTo(1);
        assertThat(io.ioasid_set_free(s)).isEqualTo(-EBUSY);
        assertThat(io.ioasid_set_valid(s)).isTrue();

        assertThat(io.ioasid_put(s, b)).isTrue();
        assertThat(io.ioasid_get_capacity_avail()).isEqualTo(Ioasid.PCI_PASID_MAX - 8);
        assertThat(io.ioasid_set_free(s)).isZero();
        assertThat(io.ioasid_set_valid(s)).isFalse();
        assertThat(io.ioasid_get_capacity_avail()).isEqualTo(Ioasid.PCI_PASID_MAX);
        // FREE exactly once per ID, none for the set itself
        assertThat(log).containsExactly(
                "set ALLOC id=1 spid=-1 set=0 pdata=A",
                "set ALLOC id=2 spid=-1 set=0 pdata=B",
                "set FREE id=1 spid=-1 set=0 pdata=A",
                "set FREE id=2 spid=-1 set=0 pdata=B");
        // dead or null sets
        assertThat(io.ioasid_set_free(s)).isEqualTo(-EINVAL);
        assertThat(io.ioasid_set_free(null)).isEqualTo(-EINVAL);
        // the mm token is free for a new set
        assertThat(io.ioasid_set_alloc(mm, 8, IOASID_SET_TYPE_MM).id).isEqualTo(s.id);
        io.ioasid_free_all_in_set(s);
        assertThat(Warn.drain()).hasSize(1);
    }
}
