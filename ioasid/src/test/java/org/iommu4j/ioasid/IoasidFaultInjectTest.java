package org.iommu4j.ioasid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.ioasid.Ioasid.INVALID_IOASID;
import static org.iommu4j.ioasid.Ioasid.IOASID_SET_TYPE_MM;
import static org.iommu4j.ioasid.Ioasid.IOASID_SET_TYPE_NULL;
import static org.iommu4j.ioasid.Ioasid.PCI_PASID_MAX;

import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Notifier;
import org.iommu4j.base.NotifierBlock;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * fail_nth sweep (iommufd selftest style): for N = 1, 2, ... fail the Nth allocation of a whole
 * scenario, unwind what succeeded, and check nothing leaked (IDs, quota, capacity, sets, pending
 * notifiers, references), until a run completes without the injection firing.
 */
@ExtendWith(NoWarnings.class)
class IoasidFaultInjectTest {
    /** Sets up: notifier_mm, an MM set, a NULL set, IDs in both, a custom allocator. */
    private static void scenario(Ioasid io) {
        Object mm = new Object();
        NotifierBlock nb = NotifierBlock.of(0, (ev, d) -> Notifier.NOTIFY_OK);
        int r = io.ioasidRegisterNotifierMm(mm, nb);
        IoasidSet mmSet = null;
        IoasidSet nullSet = null;
        try {
            mmSet = io.ioasidSetAlloc(mm, 8, IOASID_SET_TYPE_MM);
            nullSet = io.ioasidSetAlloc(null, 8, IOASID_SET_TYPE_NULL);
            int[] ids = new int[10];
            for (int i = 0; i < 5; i++) {
                ids[i] = io.ioasidAlloc(mmSet, 1, 100_000, "m" + i);
                // Spread into separate radix leaves and mids so node allocations are injected too.
                ids[5 + i] = io.ioasidAlloc(nullSet, 5000 * (i + 1), 5_000_000 * (i + 1), "n" + i);
            }
            for (int id : ids) {
                if (id != INVALID_IOASID) {
                    assertThat(io.ioasidRefcount(id)).isEqualTo(1);
                    if (id % 2 == 0) {
                        assertThat(io.ioasidGet(null, id)).isZero();
                        assertThat(io.ioasidPut(null, id)).isFalse();
                    }
                }
            }
            for (int i = 0; i < 5; i++) {
                if (ids[i] != INVALID_IOASID) {
                    io.ioasidFree(mmSet, ids[i]);
                }
            }
        } catch (ErrnoException e) {
            // An injected -ENOMEM from ioasid_set_alloc: unwind below.
        } finally {
            if (nullSet != null) {
                io.ioasidSetPut(nullSet);
            }
            if (mmSet != null) {
                io.ioasidSetPut(mmSet);
            }
            if (r == 0) {
                assertThat(io.ioasidUnregisterNotifierMm(mm, nb)).isZero();
            }
        }
        IoasidAllocatorOps ops = new IoasidAllocatorOps((min, max, pd) -> 42, (id, pd) -> { }, null);
        if (io.ioasidRegisterAllocator(ops) == 0) {
            int id = io.ioasidAlloc(null, 1, 100, null);
            if (id != INVALID_IOASID) {
                io.ioasidPut(id);
            }
            io.ioasidUnregisterAllocator(ops);
        }
    }

    @Test
    void everyAllocationSiteFailsCleanly() {
        int n = 1;
        for (; n < 1000; n++) {
            Ioasid io = new Ioasid();
            FaultInject.failNth(n);
            scenario(io);
            boolean fired = FaultInject.disarm();
            assertThat(io.ioasidCount()).as("live IDs after fail_nth=%d", n).isZero();
            assertThat(io.ioasidNrSets()).as("sets after fail_nth=%d", n).isZero();
            assertThat(io.ioasidGetCapacityAvail()).as("capacity after fail_nth=%d", n).isEqualTo(PCI_PASID_MAX);
            assertThat(io.ioasidNrPendingNb()).as("pending nb after fail_nth=%d", n).isZero();
            // The world still works after the failure.
            IoasidSet s = io.ioasidSetAlloc(null, 1, IOASID_SET_TYPE_NULL);
            int id = io.ioasidAlloc(s, 1, 10, null);
            assertThat(id).isEqualTo(1);
            io.ioasidSetPut(s);
            assertThat(io.ioasidCount()).isZero();
            if (!fired) {
                break;
            }
        }
        assertThat(n).as("number of injection points").isGreaterThan(20);
    }
}
