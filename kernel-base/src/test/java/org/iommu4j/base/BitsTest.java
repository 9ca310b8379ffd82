package org.iommu4j.base;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.base.Bits.*;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** bits.h / bitfield.h / log2.h / align.h helpers, checked by bit pattern. */
@ExtendWith(NoWarnings.class)
class BitsTest {

    @Test
    void bitSetsExactlyOneBitIncludingBit63() {
        assertThat(BIT(0)).isEqualTo(1L);
        assertThat(BIT(31)).isEqualTo(0x8000_0000L);
        assertThat(BIT(32)).isEqualTo(0x1_0000_0000L);
        assertThat(BIT(63)).isEqualTo(0x8000_0000_0000_0000L);
        assertThat(BIT_ULL(63)).isEqualTo(Long.MIN_VALUE);
        for (int i = 0; i < 64; i++) {
            assertThat(Long.bitCount(BIT(i))).isEqualTo(1);
            assertThat(Long.numberOfTrailingZeros(BIT_ULL(i))).isEqualTo(i);
        }
    }

    @Test
    void genmaskByBitPattern() {
        assertThat(GENMASK(0, 0)).isEqualTo(0x1L);
        assertThat(GENMASK(3, 0)).isEqualTo(0xfL);
        assertThat(GENMASK(7, 4)).isEqualTo(0xf0L);
        assertThat(GENMASK(31, 0)).isEqualTo(0xffff_ffffL);
        assertThat(GENMASK_ULL(47, 12)).isEqualTo(0x0000_ffff_ffff_f000L);
        assertThat(GENMASK_ULL(51, 4)).isEqualTo(0x000f_ffff_ffff_fff0L);
        assertThat(GENMASK_ULL(63, 0)).isEqualTo(0xffff_ffff_ffff_ffffL);
        assertThat(GENMASK_ULL(63, 63)).isEqualTo(0x8000_0000_0000_0000L);
        assertThat(GENMASK_ULL(63, 32)).isEqualTo(0xffff_ffff_0000_0000L);
        assertThat(GENMASK_ULL(62, 1)).isEqualTo(0x7fff_ffff_ffff_fffeL);
        assertThat(GENMASK(63, 60)).isEqualTo(0xf000_0000_0000_0000L);
        assertThat(GENMASK32(31, 31)).isEqualTo(0x8000_0000);
        assertThat(GENMASK32(31, 0)).isEqualTo(-1);
        assertThat(GENMASK32(15, 8)).isEqualTo(0xff00);
    }

    @Property(tries = 200, seed = "20261203")
    void genmaskIsTheContiguousRunHtoL(@ForAll @IntRange(min = 0, max = 63) int a, @ForAll @IntRange(min = 0, max = 63) int b) {
        int h = Math.max(a, b), l = Math.min(a, b);
        long m = GENMASK_ULL(h, l);
        assertThat(Long.bitCount(m)).isEqualTo(h - l + 1);
        assertThat(Long.numberOfTrailingZeros(m)).isEqualTo(l);
        assertThat(63 - Long.numberOfLeadingZeros(m)).isEqualTo(h);
        assertThat(checkMask(m)).isTrue();
    }

    @Test
    void genmaskRejectsBadArguments() {
        assertThatThrownBy(() -> GENMASK(3, 4)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GENMASK_ULL(64, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GENMASK_ULL(5, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GENMASK32(32, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void fieldPrepShiftsFromTheMasksLowestBitAndMasks() {
        assertThat(FIELD_PREP(GENMASK(7, 4), 0xa)).isEqualTo(0xa0L);
        assertThat(FIELD_PREP(GENMASK_ULL(47, 12), 0x12345L)).isEqualTo(0x12345000L);
        assertThat(FIELD_PREP(GENMASK_ULL(63, 60), 0xf)).isEqualTo(0xf000_0000_0000_0000L);
        assertThat(FIELD_PREP(GENMASK_ULL(63, 63), 1)).isEqualTo(Long.MIN_VALUE);
        assertThat(FIELD_PREP(GENMASK_ULL(63, 0), -1L)).isEqualTo(-1L);
        assertThat(FIELD_PREP(BIT(0), 1)).isEqualTo(1L);
    }

    @Test
    void fieldPrepDropsExcessBitsAndWarnsInStrictMode() {
        // Strict mode is on under NoWarnings: the value does not fit, the kernel masks it anyway.
        assertThat(FIELD_PREP(GENMASK(7, 4), 0x1a)).isEqualTo(0xa0L);
        assertThat(Warn.drain()).singleElement().asString().contains("FIELD_PREP").contains("0x1a");
        Bits.setStrict(false);
        try {
            assertThat(FIELD_PREP(GENMASK_ULL(63, 62), 0x7)).isEqualTo(0xc000_0000_0000_0000L);
            assertThat(Warn.warnings()).isEmpty();
        } finally {
            Bits.setStrict(true);
        }
    }

    @Test
    void fieldGetExtractsIncludingBit63() {
        long reg = 0xdead_beef_cafe_f00dL;
        assertThat(FIELD_GET(GENMASK(3, 0), reg)).isEqualTo(0xdL);
        assertThat(FIELD_GET(GENMASK_ULL(63, 48), reg)).isEqualTo(0xdeadL);
        assertThat(FIELD_GET(GENMASK_ULL(63, 63), reg)).isEqualTo(1L);
        assertThat(FIELD_GET(GENMASK_ULL(63, 63), 0x7fff_ffff_ffff_ffffL)).isEqualTo(0L);
        assertThat(FIELD_GET(GENMASK_ULL(63, 0), reg)).isEqualTo(reg);
        assertThat(FIELD_GET(GENMASK_ULL(47, 12), reg)).isEqualTo(0xbeef_cafe_fL);
        assertThat(FIELD_GET32(GENMASK(15, 8), reg)).isEqualTo(0xf0);
    }

    @Property(tries = 200, seed = "20261203")
    void fieldGetOfFieldPrepIsTheValueModuloTheField(@ForAll @IntRange(min = 0, max = 63) int a,
            @ForAll @IntRange(min = 0, max = 63) int b, @ForAll long val) {
        Bits.setStrict(false);
        try {
            long mask = GENMASK_ULL(Math.max(a, b), Math.min(a, b));
            long prepared = FIELD_PREP(mask, val);
            assertThat(prepared & ~mask).isZero();
            assertThat(FIELD_GET(mask, prepared)).isEqualTo(val & FIELD_MAX(mask));
            // FIELD_FIT sees the value's bits that stay inside 64 bits once shifted into place.
            long visible = -1L >>> bfShf(mask);
            assertThat(FIELD_FIT(mask, val)).isEqualTo((val & visible & ~FIELD_MAX(mask)) == 0);
        } finally {
            Bits.setStrict(true);
        }
    }

    @Test
    void fieldMaxAndFit() {
        assertThat(FIELD_MAX(GENMASK(7, 4))).isEqualTo(0xfL);
        assertThat(FIELD_MAX(GENMASK_ULL(63, 63))).isEqualTo(1L);
        assertThat(FIELD_MAX(GENMASK_ULL(63, 0))).isEqualTo(-1L);
        assertThat(FIELD_MAX(GENMASK_ULL(63, 12))).isEqualTo(0x000f_ffff_ffff_ffffL);
        assertThat(FIELD_FIT(GENMASK(7, 4), 0xf)).isTrue();
        assertThat(FIELD_FIT(GENMASK(7, 4), 0x10)).isFalse();
        assertThat(FIELD_FIT(GENMASK(7, 4), -1L)).isFalse();
        assertThat(FIELD_FIT(GENMASK_ULL(63, 63), 1)).isTrue();
        assertThat(FIELD_FIT(GENMASK_ULL(63, 0), -1L)).isTrue();
        assertThat(FIELD_FIT(GENMASK_ULL(62, 60), 0x8)).isFalse();
        // As in C: bits shifted out past bit 63 are not seen, so for a field that reaches bit
        // 63 every value "fits".
        assertThat(FIELD_FIT(GENMASK_ULL(63, 63), 2)).isTrue();
        assertThat(FIELD_FIT(GENMASK_ULL(63, 60), 0x10)).isTrue();
        assertThat(FIELD_FIT(GENMASK_ULL(63, 60), -1L)).isTrue();
    }

    /** Strict FIELD_PREP checks what the kernel's build-time check does, whole value against FIELD_MAX. */
    @Test
    void strictFieldPrepChecksTheWholeValue() {
        assertThat(FIELD_PREP(GENMASK_ULL(63, 60), 0x1f)).isEqualTo(0xf000_0000_0000_0000L);
        assertThat(Warn.drain()).singleElement().asString().contains("FIELD_PREP").contains("0x1f");
    }

    @Test
    void checkMaskIsTheBuildTimeCheck() {
        assertThat(checkMask(0)).isFalse();
        assertThat(checkMask(0b101)).isFalse();
        assertThat(checkMask(BIT(63) | BIT(0))).isFalse();
        assertThat(checkMask(0xf0)).isTrue();
        assertThat(checkMask(-1L)).isTrue();
        assertThat(checkMask(Long.MIN_VALUE)).isTrue();
        assertThat(checkMask(GENMASK_ULL(63, 1))).isTrue();
        assertThat(bfShf(GENMASK_ULL(63, 40))).isEqualTo(40);
    }

    @Test
    void log2AndBitops() {
        assertThat(ilog2(1)).isZero();
        assertThat(ilog2(4096)).isEqualTo(12);
        assertThat(ilog2(4097)).isEqualTo(12);
        assertThat(ilog2(Long.MIN_VALUE)).isEqualTo(63);
        assertThat(ilog2(-1L)).isEqualTo(63);
        assertThat(isPowerOf2(0)).isFalse();
        assertThat(isPowerOf2(1)).isTrue();
        assertThat(isPowerOf2(Long.MIN_VALUE)).isTrue();
        assertThat(isPowerOf2(6)).isFalse();
        assertThat(roundupPowOfTwo(0)).isEqualTo(1);
        assertThat(roundupPowOfTwo(1)).isEqualTo(1);
        assertThat(roundupPowOfTwo(3)).isEqualTo(4);
        assertThat(roundupPowOfTwo(4096)).isEqualTo(4096);
        assertThat(roundupPowOfTwo(4097)).isEqualTo(8192);
        assertThat(roundupPowOfTwo(0x4000_0000_0000_0001L)).isEqualTo(Long.MIN_VALUE);
        assertThat(rounddownPowOfTwo(4097)).isEqualTo(4096);
        assertThat(rounddownPowOfTwo(-1L)).isEqualTo(Long.MIN_VALUE);
        assertThat(orderBase2(0)).isZero();
        assertThat(orderBase2(1)).isZero();
        assertThat(orderBase2(2)).isEqualTo(1);
        assertThat(orderBase2(5)).isEqualTo(3);
        assertThat(orderBase2(8)).isEqualTo(3);
        assertThat(orderBase2(Long.MIN_VALUE)).isEqualTo(63);
        assertThat(orderBase2(Long.MIN_VALUE + 1)).isEqualTo(64);
        assertThat(orderBase2(-1L)).isEqualTo(64);
        assertThat(__ffs(0x80)).isEqualTo(7);
        assertThat(__ffs(Long.MIN_VALUE)).isEqualTo(63);
        assertThat(__fls(0x81)).isEqualTo(7);
        assertThat(__fls(-1L)).isEqualTo(63);
        assertThat(fls64(0)).isZero();
        assertThat(fls64(1)).isEqualTo(1);
        assertThat(fls64(Long.MIN_VALUE)).isEqualTo(64);
        assertThat(fls(0)).isZero();
        assertThat(fls(0x8000_0000)).isEqualTo(32);
        assertThat(ffs(0)).isZero();
        assertThat(ffs(1)).isEqualTo(1);
        assertThat(ffs(0x8000_0000)).isEqualTo(32);
        assertThat(hweight64(-1L)).isEqualTo(64);
        assertThat(hweight64(0xf0f0L)).isEqualTo(8);
    }

    @Test
    void alignAndKernelHelpers() {
        assertThat(ALIGN(0, 4096)).isZero();
        assertThat(ALIGN(1, 4096)).isEqualTo(4096);
        assertThat(ALIGN(4096, 4096)).isEqualTo(4096);
        assertThat(ALIGN(0x7fff_ffff_ffff_f001L, 4096)).isEqualTo(Long.MIN_VALUE);
        assertThat(ALIGN_DOWN(0x1fffL, 4096)).isEqualTo(0x1000L);
        assertThat(ALIGN_DOWN(-1L, 4096)).isEqualTo(0xffff_ffff_ffff_f000L);
        assertThat(IS_ALIGNED(0x2000, 4096)).isTrue();
        assertThat(IS_ALIGNED(0x2008, 4096)).isFalse();
        assertThat(IS_ALIGNED(Long.MIN_VALUE, 1L << 62)).isTrue();
        assertThat(DIV_ROUND_UP(10, 3)).isEqualTo(4);
        assertThat(DIV_ROUND_UP(9, 3)).isEqualTo(3);
        assertThat(DIV_ROUND_UP(Long.MIN_VALUE, 2)).isEqualTo(1L << 62);
        assertThat(lower32Bits(0x1234_5678_9abc_def0L)).isEqualTo(0x9abc_def0);
        assertThat(upper32Bits(0x1234_5678_9abc_def0L)).isEqualTo(0x1234_5678);
        assertThat(upper32Bits(-1L)).isEqualTo(-1);
        assertThat(u32(-1)).isEqualTo(0xffff_ffffL);
        assertThat(hex(255)).isEqualTo("0xff");
    }

    @Test
    void unsignedComparisonsTreatHighBitAsLarge() {
        long big = 0x8000_0000_0000_0000L;
        assertThat(ult(1, big)).isTrue();
        assertThat(ult(big, 1)).isFalse();
        assertThat(ule(big, big)).isTrue();
        assertThat(ugt(-1L, big)).isTrue();
        assertThat(uge(0, 0)).isTrue();
        assertThat(uge(0, -1L)).isFalse();
        assertThat(umin(-1L, 5)).isEqualTo(5);
        assertThat(umax(-1L, 5)).isEqualTo(-1L);
        // min_not_zero: unsigned, zero means "no value".
        assertThat(minNotZero(0, -1L)).isEqualTo(-1L);
        assertThat(minNotZero(-1L, 0)).isEqualTo(-1L);
        assertThat(minNotZero(0, 0)).isZero();
        assertThat(minNotZero(-1L, 0xffffffffL)).isEqualTo(0xffffffffL);
    }
}
