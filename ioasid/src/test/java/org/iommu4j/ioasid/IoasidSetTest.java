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
            io.ioasid_set_alloc(token, quota, type);
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
        assertThat(setAllocErr(mm, 10, IOASID_SET_TYPE_MM)).isZero();
        assertThat(setAllocErr(mm, 10, IOASID_SET_TYPE_MM)).isEqualTo(-EEXIST);
        FaultInject.failNth(1);
        assertThat(setAllocErr(new Object(), 10, IOASID_SET_TYPE_MM)).isEqualTo(-ENOMEM);
        FaultInject.failNth(0);
        assertThat(io.ioasid_nr_sets()).isEqualTo(1);
        assertThat(io.ioasid_get_capacity_avail()).isEqualTo(PCI_PASID_MAX - 10);
    }

    @Test
    void quotaIsEnforcedAndAdjustable() {
        IoasidSet s = io.ioasid_set_alloc(null, 3, IOASID_SET_TYPE_NULL);
        int a = io.ioasid_alloc(s, 1, 1000, null);
        int b = io.ioasid_alloc(s, 1, 1000, null);
        int c = io.ioasid_alloc(s, 1, 1000, null);
        assertThat(new int[] {a, b, c}).containsExactly(1, 2, 3);
        assertThat(io.ioasid_alloc(s, 1, 1000, null)).isEqualTo(INVALID_IOASID);
        assertThat(s.nr_ioasids()).isEqualTo(3);

        assertThat(io.ioasid_adjust_set(s, 2)).isEqualTo(-EINVAL);
        assertThat(io.ioasid_adjust_set(s, 0)).isEqualTo(-EINVAL);
        assertThat(io.ioasid_adjust_set(s, -5)).isEqualTo(-EINVAL);
        assertThat(io.ioasid_adjust_set(s, PCI_PASID_MAX + 1)).isEqualTo(-ENOSPC);
        assertThat(io.ioasid_adjust_set(s, 4)).isZero();
        assertThat(io.ioasid_get_capacity_avail()).isEqualTo(PCI_PASID_MAX - 4);
        assertThat(io.ioasid_alloc(s, 1, 1000, null)).isEqualTo(4);
        assertThat(io.ioasid_alloc(s, 1, 1000, null)).isEqualTo(INVALID_IOASID);

        io.ioasid_free(s, 4);
        assertThat(io.ioasid_adjust_set(s, 3)).isZero();
        assertThat(io.ioasid_get_capacity_avail()).isEqualTo(PCI_PASID_MAX - 3);
        assertThat(io.ioasid_adjust_set(s, PCI_PASID_MAX)).isZero();
        assertThat(io.ioasid_get_capacity_avail()).isZero();
        assertThat(setAllocErr(null, 1, IOASID_SET_TYPE_NULL)).isEqualTo(-ENOSPC);
        assertThat(io.ioasid_adjust_set(null, 3)).isEqualTo(-EINVAL);
    }

    @Test
    void capacityIsInstalledOnceBeforeAnySet() {
        assertThat(io.ioasid_get_capacity()).isEqualTo(PCI_PASID_MAX);
        io.ioasid_install_capacity(1 << 16);
        assertThat(io.ioasid_get_capacity()).isEqualTo(1 << 16);
        io.ioasid_install_capacity(1 << 10);
        assertThat(io.ioasid_get_capacity()).isEqualTo(1 << 16);
        assertThat(Printk.grep("IOASID capacity is already set.")).isNotEmpty();
        assertThat(setAllocErr(null, (1 << 16) + 1, IOASID_SET_TYPE_NULL)).isEqualTo(-ENOSPC);
        IoasidSet s = io.ioasid_set_alloc(null, 1 << 15, IOASID_SET_TYPE_NULL);
        assertThat(io.ioasid_get_capacity_avail()).isEqualTo(1 << 15);
        io.ioasid_set_put(s);
        assertThat(io.ioasid_get_capacity_avail()).isEqualTo(1 << 16);

        Ioasid other = new Ioasid();
        other.ioasid_set_alloc(null, 5, IOASID_SET_TYPE_NULL);
        other.ioasid_install_capacity(100);
        assertThat(other.ioasid_get_capacity()).isEqualTo(PCI_PASID_MAX);
    }

    @Test
    void aSetCanNeverTouchAnotherSetsIoasid() {
        IoasidSet a = io.ioasid_set_alloc(null, 5, IOASID_SET_TYPE_NULL);
        IoasidSet b = io.ioasid_set_alloc(null, 5, IOASID_SET_TYPE_NULL);
        int id = io.ioasid_alloc(a, 1, 100, "a's");
        io.ioasid_free(b, id);
        assertThat(io.ioasid_put(b, id)).isFalse();
        assertThat(io.ioasid_refcount(id)).isEqualTo(1);
        assertThat(io.ioasid_is_free_pending(id)).isFalse();
        assertThat(io.ioasid_find(a, id, null)).isEqualTo("a's");
        assertThat(a.nr_ioasids()).isEqualTo(1);
        assertThat(b.nr_ioasids()).isZero();
    }

    @Test
    void freePendingRefusesNewReferencesAndReclaimsOnLastPut() {
        IoasidSet s = io.ioasid_set_alloc(null, 5, IOASID_SET_TYPE_NULL);
        int id = io.ioasid_alloc(s, 1, 100, null);
        assertThat(io.ioasid_get(s, id)).isZero();
        io.ioasid_free(s, id);
        assertThat(io.ioasid_is_free_pending(id)).isTrue();
        // seed 002: a freed ID is busy, not unknown
        assertThat(io.ioasid_get(s, id)).isEqualTo(-EBUSY);
        assertThat(io.ioasid_get(null, id)).isEqualTo(-EBUSY);
        assertThat(Printk.grep("Trying to get IOASID " + id + " being freed")).isNotEmpty();
        assertThat(io.ioasid_refcount(id)).isEqualTo(1);
        io.ioasid_free(s, id);
        assertThat(Printk.grep("IOASID " + id + " already freed")).isNotEmpty();
        assertThat(io.ioasid_refcount(id)).isEqualTo(1);
        assertThat(s.nr_ioasids()).isEqualTo(1);
        assertThat(io.ioasid_put(s, id)).isTrue();
        assertThat(s.nr_ioasids()).isZero();
        assertThat(io.ioasid_count()).isZero();
    }

    @Test
    void forEachVisitsTheSetsIdsInAllocationOrder() {
        IoasidSet a = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        IoasidSet b = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasid_alloc(a, 1, 100, null);
        io.ioasid_alloc(b, 1, 100, null);
        io.ioasid_alloc(a, 1, 100, null);
        io.ioasid_alloc(a, 1, 100, null);
        io.ioasid_free(a, 3);
        List<String> seen = new ArrayList<>();
        io.ioasid_set_for_each_ioasid(a, (id, d) -> seen.add(id + ":" + d), "tok");
        assertThat(seen).containsExactly("1:tok", "4:tok");
        // fn may free the current ID (it runs with the lock held, which is reentrant here).
        io.ioasid_set_for_each_ioasid(a, (id, d) -> io.ioasid_free(a, id), null);
        assertThat(a.nr_ioasids()).isZero();
        assertThat(b.nr_ioasids()).isEqualTo(1);
    }

    @Test
    void lastSetPutFreesAllIdsAndReturnsTheQuota() {
        IoasidSet s = io.ioasid_set_alloc(null, 100, IOASID_SET_TYPE_NULL);
        for (int i = 0; i < 50; i++) {
            io.ioasid_alloc(s, 1, 1000, null);
        }
        io.ioasid_set_get(s);
        io.ioasid_set_put(s);
        assertThat(io.ioasid_count()).isEqualTo(50);
        io.ioasid_set_put(s);
        assertThat(io.ioasid_count()).isZero();
        assertThat(io.ioasid_set_valid(s)).isFalse();
        assertThat(io.ioasid_get_capacity_avail()).isEqualTo(PCI_PASID_MAX);
        assertThat(io.ioasid_alloc(s, 1, 1000, null)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasid_adjust_set(s, 10)).isEqualTo(-EINVAL);
    }

    @Test
    void setTeardownKeepsReferencedIdsUntilTheirLastPut() {
        IoasidSet s = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        int kept = io.ioasid_alloc(s, 1, 100, "k");
        int gone = io.ioasid_alloc(s, 1, 100, "g");
        assertThat(io.ioasid_get(s, kept)).isZero();
        io.ioasid_set_put(s);
        assertThat(io.ioasid_is_free_pending(kept)).isTrue();
        assertThat(io.ioasid_find(null, kept, null)).isEqualTo("k");
        assertThat(io.ioasid_refcount(gone)).isZero();
        assertThat(io.ioasid_put(s, kept)).isTrue();
        assertThat(io.ioasid_count()).isZero();
    }

    @Test
    void aFreedMmTokenCanGetANewSet() {
        Object mm = new Object();
        IoasidSet s = io.ioasid_set_alloc(mm, 10, IOASID_SET_TYPE_MM);
        assertThat(s.token).isSameAs(mm);
        assertThat(s.type).isEqualTo(IOASID_SET_TYPE_MM);
        io.ioasid_set_put(s);
        IoasidSet s2 = io.ioasid_set_alloc(mm, 10, IOASID_SET_TYPE_MM);
        assertThat(s2.id).isEqualTo(s.id);
        assertThat(io.ioasid_set_valid(s)).isFalse();
        assertThat(io.ioasid_set_valid(s2)).isTrue();
    }

    @Test
    void deadSetOperationsWarn() {
        IoasidSet s = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        io.ioasid_set_put(s);
        io.ioasid_set_put(s);
        io.ioasid_set_get(s);
        io.ioasid_set_for_each_ioasid(s, (id, d) -> { }, null);
        assertThat(Warn.drain()).hasSize(3);
    }

    @Test
    void spidAttachDetachFindAndErrors() {
        IoasidSet a = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        IoasidSet b = io.ioasid_set_alloc(null, 10, IOASID_SET_TYPE_NULL);
        int x = io.ioasid_alloc(a, 1, 100, null);
        int y = io.ioasid_alloc(a, 1, 100, null);
        int z = io.ioasid_alloc(b, 1, 100, null);
        assertThat(io.ioasid_attach_spid(x, 7)).isZero();
        assertThat(io.ioasid_attach_spid(y, 7)).isEqualTo(-EINVAL);
        assertThat(io.ioasid_attach_spid(x, 8)).isEqualTo(-EINVAL);
        assertThat(io.ioasid_attach_spid(y, INVALID_IOASID)).isEqualTo(-EINVAL);
        assertThat(io.ioasid_attach_spid(55, 9)).isEqualTo(-ENOENT);
        assertThat(io.ioasid_attach_spid(z, 7)).isZero();
        int nullSetId = io.ioasid_alloc(null, 200, 300, null);
        assertThat(io.ioasid_attach_spid(nullSetId, 9)).isEqualTo(-EINVAL);

        assertThat(io.ioasid_find_by_spid(a, 7)).isEqualTo(x);
        assertThat(io.ioasid_find_by_spid(b, 7)).isEqualTo(z);
        assertThat(io.ioasid_find_by_spid(a, 8)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasid_find_by_spid(null, 7)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasid_find_by_spid(a, 7, true)).isEqualTo(x);
        assertThat(io.ioasid_refcount(x)).isEqualTo(2);

        io.ioasid_detach_spid(x);
        // seed 002: void; a second detach and an unknown IOASID are logged and change nothing
        io.ioasid_detach_spid(x);
        assertThat(Printk.grep("Invalid IOASID entry " + x + " to detach")).isNotEmpty();
        io.ioasid_detach_spid(55);
        assertThat(Printk.grep("Invalid IOASID entry 55 to detach")).isNotEmpty();
        assertThat(io.ioasid_find_by_spid(b, 7)).isEqualTo(z);
        assertThat(io.ioasid_find_by_spid(a, 7)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasid_attach_spid(y, 7)).isZero();

        io.ioasid_free(a, y);
        assertThat(io.ioasid_find_by_spid(a, 7)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasid_attach_spid(x, 7)).isZero();
        assertThat(io.ioasid_get(a, x)).isZero();
        io.ioasid_free(a, x);
        assertThat(io.ioasid_find_by_spid(a, 7, true)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasid_attach_spid(x, 9)).isEqualTo(-ENOENT);
    }
}
