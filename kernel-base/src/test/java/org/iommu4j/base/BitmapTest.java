package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** lib/bitmap.c's regions: naturally aligned power-of-two runs, first fit, -ENOMEM when full. */
class BitmapTest {
    @Test
    void regionsAreAlignedFirstFitAndReleased() {
        long[] bm = Bitmap.bitmapZalloc(70);
        assertThat(bm).hasSize(2);
        assertThat(Bitmap.bitmapFindFreeRegion(bm, 70, 0)).isZero();
        // a run of 4 skips the taken bit 0 and starts at a multiple of 4
        assertThat(Bitmap.bitmapFindFreeRegion(bm, 70, 2)).isEqualTo(4);
        assertThat(Bitmap.bitmapFindFreeRegion(bm, 70, 0)).isEqualTo(1);
        // a run of 64 fits only at 0, which is taken; 64..127 crosses the end at 70
        assertThat(Bitmap.bitmapFindFreeRegion(bm, 70, 6)).isEqualTo(-Errno.ENOMEM);
        // runs crossing the word boundary are set in both words
        assertThat(Bitmap.bitmapFindFreeRegion(bm, 70, 3)).isEqualTo(8);
        Bitmap.bitmapReleaseRegion(bm, 4, 2);
        assertThat(Bitmap.testBit(4, bm)).isFalse();
        assertThat(Bitmap.testBit(8, bm)).isTrue();
        assertThat(Bitmap.bitmapEmpty(bm, 70)).isFalse();
        Bitmap.bitmapReleaseRegion(bm, 0, 0);
        Bitmap.bitmapReleaseRegion(bm, 1, 0);
        Bitmap.bitmapReleaseRegion(bm, 8, 3);
        assertThat(Bitmap.bitmapEmpty(bm, 70)).isTrue();
        assertThat(Bitmap.bitmapFindFreeRegion(bm, 70, 6)).isZero();
        assertThat(Bitmap.bitmapFindFreeRegion(bm, 70, 2)).isEqualTo(64);
        assertThat(Bitmap.testBit(67, bm)).isTrue();
        assertThat(Bitmap.bitmapFindFreeRegion(bm, 70, 2)).isEqualTo(-Errno.ENOMEM);
        assertThat(Bitmap.bitmapFindFreeRegion(bm, 70, -1)).isEqualTo(-Errno.ENOMEM);
    }

    @Test
    void countOrder() {
        assertThat(Bits.getCountOrder(0)).isEqualTo(-1);
        assertThat(Bits.getCountOrder(1)).isZero();
        assertThat(Bits.getCountOrder(2)).isEqualTo(1);
        assertThat(Bits.getCountOrder(3)).isEqualTo(2);
        assertThat(Bits.getCountOrder(4)).isEqualTo(2);
        assertThat(Bits.getCountOrder(5)).isEqualTo(3);
        assertThat(Bits.getCountOrder(32)).isEqualTo(5);
    }
}
