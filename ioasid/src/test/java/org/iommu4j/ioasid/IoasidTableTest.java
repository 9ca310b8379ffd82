package org.iommu4j.ioasid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.ENOMEM;

import org.iommu4j.base.FaultInject;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The xarray-like ID table: lowest-free allocation, full-subtree skipping, lock-free load. */
@ExtendWith(NoWarnings.class)
class IoasidTableTest {
    @Test
    void emptyTableGivesMinAndLoadsNothing() {
        IoasidTable t = new IoasidTable();
        assertThat(t.findFree(5, 10)).isEqualTo(5);
        assertThat(t.findFree(0xFFFF_FFF0L, 0xFFFF_FFFEL)).isEqualTo(0xFFFF_FFF0L);
        assertThat(t.load(5)).isNull();
        assertThat(t.load(-2)).isNull();
        assertThat(t.findFree(10, 5)).isEqualTo(-1);
        assertThat(t.isEmpty()).isTrue();
    }

    @Test
    void insertLoadEraseAtLeafMidAndTopBoundaries() {
        IoasidTable t = new IoasidTable();
        int[] ids = {0, 4095, 4096, (1 << 22) - 1, 1 << 22, -2, 0x7FFF_FFFF};
        for (int id : ids) {
            assertThat(t.insert(id, "e" + id)).isZero();
        }
        for (int id : ids) {
            assertThat(t.load(id)).isEqualTo("e" + id);
            assertThat(t.insert(id, "x")).isEqualTo(-EBUSY);
        }
        assertThat(t.count()).isEqualTo(ids.length);
        for (int id : ids) {
            assertThat(t.erase(id)).isEqualTo("e" + id);
            assertThat(t.load(id)).isNull();
            assertThat(t.erase(id)).isNull();
        }
        assertThat(t.isEmpty()).isTrue();
    }

    @Test
    void fullLeafIsSkippedAndReopensOnErase() {
        IoasidTable t = new IoasidTable();
        for (int i = 0; i < 2 * IoasidTable.LEAF_SIZE; i++) {
            assertThat(t.findFree(0, 0xFFFF_FFFEL)).isEqualTo(i);
            assertThat(t.insert(i, i)).isZero();
        }
        assertThat(t.findFree(0, 0xFFFF_FFFEL)).isEqualTo(2 * IoasidTable.LEAF_SIZE);
        assertThat(t.findFree(0, 2 * IoasidTable.LEAF_SIZE - 1)).isEqualTo(-1);
        t.erase(4100);
        assertThat(t.findFree(0, 0xFFFF_FFFEL)).isEqualTo(4100);
        t.erase(17);
        assertThat(t.findFree(0, 0xFFFF_FFFEL)).isEqualTo(17);
        assertThat(t.findFree(18, 0xFFFF_FFFEL)).isEqualTo(4100);
        assertThat(t.findFree(18, 4099)).isEqualTo(-1);
    }

    @Test
    void nodeAllocationFailureLeavesTableUnchanged() {
        IoasidTable t = new IoasidTable();
        FaultInject.failNth(1);
        assertThat(t.insert(7, "a")).isEqualTo(-ENOMEM);
        FaultInject.failNth(2);
        assertThat(t.insert(7, "a")).isEqualTo(-ENOMEM);
        FaultInject.failNth(0);
        assertThat(t.load(7)).isNull();
        assertThat(t.count()).isZero();
        assertThat(t.insert(7, "a")).isZero();
    }

    @Test
    void nextClearScansAcrossWords() {
        long[] bits = {-1L, -1L, 0b1011L};
        assertThat(IoasidTable.nextClear(bits, 0, 191)).isEqualTo(130);
        assertThat(IoasidTable.nextClear(bits, 0, 129)).isEqualTo(-1);
        assertThat(IoasidTable.nextClear(bits, 131, 191)).isEqualTo(132);
    }
}
