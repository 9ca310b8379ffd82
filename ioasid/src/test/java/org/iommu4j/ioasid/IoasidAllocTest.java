package org.iommu4j.ioasid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.base.Errno.EACCES;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOENT;
import static org.iommu4j.ioasid.Ioasid.INVALID_IOASID;
import static org.iommu4j.ioasid.Ioasid.IOASID_SET_TYPE_NULL;

import java.util.concurrent.atomic.AtomicInteger;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Printk;
import org.iommu4j.base.Warn;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The v5.11 allocator API: alloc, find, set_data, get/put, free. */
@ExtendWith(NoWarnings.class)
class IoasidAllocTest {
    private final Ioasid io = new Ioasid();

    private static int errnoOf(Runnable r) {
        try {
            r.run();
            return 0;
        } catch (ErrnoException e) {
            return e.err();
        }
    }

    @Test
    void allocatesLowestFreeIdInInclusiveRange() {
        assertThat(io.ioasidAlloc(null, 1, 3, "a")).isEqualTo(1);
        assertThat(io.ioasidAlloc(null, 1, 3, "b")).isEqualTo(2);
        assertThat(io.ioasidAlloc(null, 1, 3, "c")).isEqualTo(3);
        assertThat(io.ioasidAlloc(null, 1, 3, "d")).isEqualTo(INVALID_IOASID);
        assertThat(Printk.grep("Failed to alloc ioasid from 1 to 3")).isNotEmpty();
        assertThat(io.ioasidPut(2)).isTrue();
        assertThat(io.ioasidAlloc(null, 1, 3, "e")).isEqualTo(2);
        assertThat(io.ioasidFind(null, 2, null)).isEqualTo("e");
        assertThat(io.ioasidCount()).isEqualTo(3);
    }

    @Test
    void singleIdRangeAndInvertedRange() {
        assertThat(io.ioasidAlloc(null, 7, 7, null)).isEqualTo(7);
        assertThat(io.ioasidAlloc(null, 7, 7, null)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasidAlloc(null, 9, 8, null)).isEqualTo(INVALID_IOASID);
    }

    @Test
    void maxAboveTwoToThe31IsUnsignedAndInvalidIsNeverReturned() {
        int id = io.ioasidAlloc(null, 0xFFFF_FFFE, INVALID_IOASID, null);
        assertThat(Integer.toUnsignedLong(id)).isEqualTo(0xFFFF_FFFEL);
        assertThat(io.ioasidAlloc(null, 0xFFFF_FFFE, INVALID_IOASID, null)).isEqualTo(INVALID_IOASID);
        assertThat(io.ioasidFind(null, id, null)).isNull();
    }

    @Test
    void findErrorsEnoentAndEacces() {
        IoasidSet a = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        IoasidSet b = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        int id = io.ioasidAlloc(a, 1, 100, "priv");
        assertThat(io.ioasidFind(a, id, null)).isEqualTo("priv");
        assertThat(io.ioasidFind(null, id, null)).isEqualTo("priv");
        assertThat(errnoOf(() -> io.ioasidFind(b, id, null))).isEqualTo(-EACCES);
        assertThat(errnoOf(() -> io.ioasidFind(a, 99, null))).isEqualTo(-ENOENT);
    }

    @Test
    void getterRunsOnPrivateAndCanRejectIt() {
        int id = io.ioasidAlloc(null, 1, 10, "mm");
        AtomicInteger seen = new AtomicInteger();
        assertThat(io.ioasidFind(null, id, p -> { seen.incrementAndGet(); return p.equals("mm"); })).isEqualTo("mm");
        assertThat(io.ioasidFind(null, id, p -> false)).isNull();
        assertThat(seen).hasValue(1);
    }

    @Test
    void setDataReplacesPrivateOrEnoent() {
        int id = io.ioasidAlloc(null, 1, 10, "old");
        assertThat(io.ioasidSetData(id, "new")).isZero();
        assertThat(io.ioasidFind(null, id, null)).isEqualTo("new");
        assertThat(io.ioasidSetData(5, "x")).isEqualTo(-ENOENT);
    }

    /** Seed 002: attach never replaces data (-EBUSY); detach clears it; unknown IDs change nothing. */
    @Test
    void attachDataOnlyWhenNoneDetachClears() {
        int id = io.ioasidAlloc(null, 1, 10, "old");
        assertThat(io.ioasidAttachData(id, "att")).isEqualTo(-EBUSY);
        assertThat(io.ioasidFind(null, id, null)).isEqualTo("old");
        io.ioasidDetachData(id);
        assertThat(io.ioasidFind(null, id, null)).isNull();
        assertThat(io.ioasidAttachData(id, "att")).isZero();
        assertThat(io.ioasidFind(null, id, null)).isEqualTo("att");
        assertThat(io.ioasidAttachData(id, "att")).isEqualTo(-EBUSY);
        assertThat(io.ioasidAttachData(77, "x")).isEqualTo(-ENOENT);
        io.ioasidDetachData(77);
        assertThat(Printk.grep("IOASID 77 not found to detach data from")).isNotEmpty();
        assertThat(io.ioasidFind(null, id, null)).isEqualTo("att");
    }

    @Test
    void v511GetPutRefcounting() {
        int id = io.ioasidAlloc(null, 1, 10, null);
        io.ioasidGet(id);
        assertThat(io.ioasidRefcount(id)).isEqualTo(2);
        assertThat(io.ioasidPut(id)).isFalse();
        assertThat(io.ioasidPut(id)).isTrue();
        assertThat(errnoOf(() -> io.ioasidFind(null, id, null))).isEqualTo(-ENOENT);
        assertThat(io.ioasidPut(id)).isFalse();
        assertThat(Printk.grep("Trying to put unknown IOASID " + id)).isNotEmpty();
    }

    @Test
    void v511GetOnUnknownIdWarns() {
        io.ioasidGet(42);
        assertThat(Warn.drain()).hasSize(1);
    }

    @Test
    void v510FreeDropsTheAllocationReference() {
        int id = io.ioasidAlloc(null, 1, 10, null);
        io.ioasidFree(id);
        assertThat(io.ioasidCount()).isZero();
        io.ioasidFree(id);
        assertThat(Printk.grep("Trying to free unknown IOASID " + id)).isNotEmpty();
    }

    @Test
    void getErrorsEinvalAndEacces() {
        IoasidSet a = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        IoasidSet b = io.ioasidSetAlloc(null, 10, IOASID_SET_TYPE_NULL);
        int id = io.ioasidAlloc(a, 1, 100, null);
        assertThat(io.ioasidGet(a, 55)).isEqualTo(-EINVAL);
        assertThat(io.ioasidGet(b, id)).isEqualTo(-EACCES);
        assertThat(io.ioasidGet(a, id)).isZero();
        assertThat(io.ioasidGet(null, id)).isZero();
        assertThat(io.ioasidRefcount(id)).isEqualTo(3);
    }

    @Test
    void allocAndReclaimAreTraced() {
        try (var cap = Trace.capture("ioasid:*")) {
            int id = io.ioasidAlloc(null, 5, 10, null);
            io.ioasidPut(id);
            assertThat(cap.of("ioasid_alloc")).hasSize(1);
            assertThat(cap.of("ioasid_reclaim")).hasSize(1);
        }
    }

    @Test
    void independentWorlds() {
        Ioasid other = new Ioasid();
        assertThat(io.ioasidAlloc(null, 1, 10, null)).isEqualTo(1);
        assertThat(other.ioasidAlloc(null, 1, 10, null)).isEqualTo(1);
    }
}
