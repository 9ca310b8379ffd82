package org.iommu4j.base.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLong;
import org.iommu4j.base.test.NoWarnings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoWarnings.class)
class PhysMemTest {
    static final long BASE = 0x4000_0000L;
    static final long SIZE = 16L << 20;
    final PhysMem mem = new PhysMem(BASE, SIZE);

    @Test
    void littleEndianByteOrder() {
        mem.writeq(BASE, 0x0807_0605_0403_0201L);
        for (int i = 0; i < 8; i++) {
            assertThat(mem.readb(BASE + i)).isEqualTo(i + 1);
        }
        assertThat(mem.readw(BASE)).isEqualTo(0x0201);
        assertThat(mem.readw(BASE + 6)).isEqualTo(0x0807);
        assertThat(mem.readl(BASE)).isEqualTo(0x0403_0201);
        assertThat(mem.readl(BASE + 4)).isEqualTo(0x0807_0605);
        mem.writel(BASE + 0x10, 0xdead_beef);
        assertThat(mem.readBytes(BASE + 0x10, 4)).containsExactly(0xef, 0xbe, 0xad, 0xde);
        mem.writew(BASE + 0x20, 0xabcd);
        assertThat(mem.readb(BASE + 0x20)).isEqualTo(0xcd);
        assertThat(mem.readb(BASE + 0x21)).isEqualTo(0xab);
        mem.writeb(BASE + 0x30, 0x1ff);
        assertThat(mem.readb(BASE + 0x30)).isEqualTo(0xff);
    }

    @Test
    void valuesWithTheHighBitSetAreNotSignExtendedByTheSizedAccessors() {
        mem.writeq(BASE, -1L);
        assertThat(mem.readb(BASE)).isEqualTo(0xff);
        assertThat(mem.readw(BASE)).isEqualTo(0xffff);
        assertThat(mem.read(BASE, 1)).isEqualTo(0xffL);
        assertThat(mem.read(BASE, 2)).isEqualTo(0xffffL);
        assertThat(mem.read(BASE, 4)).isEqualTo(0xffff_ffffL);
        assertThat(mem.read(BASE, 8)).isEqualTo(-1L);
        mem.write(BASE + 8, 0x8000_0000_0000_0001L, 8);
        mem.write(BASE + 16, 0x1234_5678L, 4);
        mem.write(BASE + 20, 0xbeefL, 2);
        mem.write(BASE + 22, 0x7fL, 1);
        assertThat(mem.readq(BASE + 8)).isEqualTo(0x8000_0000_0000_0001L);
        assertThat(mem.readq(BASE + 16)).isEqualTo(0x007f_beef_1234_5678L);
        assertThatThrownBy(() -> mem.read(BASE, 3)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> mem.write(BASE, 0, 16)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void neverWrittenMemoryReadsZeroWithoutAllocating() {
        assertThat(mem.readq(BASE + 0x12340)).isZero();
        assertThat(mem.readl(BASE + SIZE - 4)).isZero();
        assertThat(mem.readqVolatile(BASE + 0x8000)).isZero();
        assertThat(mem.readqAcquire(BASE + 0x8008)).isZero();
        assertThat(mem.readlAcquire(BASE + 0x8010)).isZero();
        assertThat(mem.readlVolatile(BASE + 0x8014)).isZero();
        assertThat(mem.readBytes(BASE + 0x3000, 10000)).containsOnly(0);
        mem.memset(BASE + 0x10000, 0, 3 * PhysMem.FRAME_SIZE);
        assertThat(mem.touchedFrames()).isZero();
    }

    @Test
    void touchedFramesCountsFramesEverWritten() {
        mem.writeb(BASE, 1);
        mem.writeq(BASE + 8, 2);
        assertThat(mem.touchedFrames()).isEqualTo(1);
        mem.writel(BASE + 0x1000, 3);
        assertThat(mem.touchedFrames()).isEqualTo(2);
        mem.memset(BASE + 0x5000, 0xaa, 2 * PhysMem.FRAME_SIZE + 1);
        assertThat(mem.touchedFrames()).isEqualTo(5);
        // Zeroing a touched frame keeps it (frames are never freed) and reads as zero.
        mem.memset(BASE, 0, PhysMem.FRAME_SIZE);
        assertThat(mem.readq(BASE + 8)).isZero();
        assertThat(mem.touchedFrames()).isEqualTo(5);
        assertThat(mem.readb(BASE + 0x7000)).isEqualTo(0xaa);
        assertThat(mem.readb(BASE + 0x7001)).isZero();
    }

    @Test
    void unalignedAccessesCrossingAFrameBoundary() {
        long edge = BASE + 0x2000;
        mem.writeq(edge - 3, 0x8877_6655_4433_2211L);
        assertThat(mem.touchedFrames()).isEqualTo(2);
        assertThat(mem.readq(edge - 3)).isEqualTo(0x8877_6655_4433_2211L);
        assertThat(mem.readb(edge - 3)).isEqualTo(0x11);
        assertThat(mem.readb(edge - 1)).isEqualTo(0x33);
        assertThat(mem.readb(edge)).isEqualTo(0x44);
        assertThat(mem.readb(edge + 4)).isEqualTo(0x88);
        mem.writel(edge + 0x1000 - 2, 0xa1b2_c3d4);
        assertThat(mem.readl(edge + 0x1000 - 2)).isEqualTo(0xa1b2_c3d4);
        mem.writew(edge + 0x2000 - 1, 0x5566);
        assertThat(mem.readw(edge + 0x2000 - 1)).isEqualTo(0x5566);
        // Crossing into a never-written frame: the missing half reads zero.
        long fresh = BASE + 0x20000;
        mem.writel(fresh - 4, 0xffff_ffff);
        assertThat(mem.readq(fresh - 4)).isEqualTo(0x0000_0000_ffff_ffffL);
        // Unaligned within a frame takes the fast path and is still little-endian.
        mem.writeq(BASE + 0x3001, 0x0102_0304_0506_0708L);
        assertThat(mem.readb(BASE + 0x3001)).isEqualTo(0x08);
        assertThat(mem.readq(BASE + 0x3001)).isEqualTo(0x0102_0304_0506_0708L);
    }

    @Test
    void accessesOutsideRamAreBusErrors() {
        assertThatThrownBy(() -> mem.readq(0)).isInstanceOf(BusError.class).hasMessageContaining("read outside RAM at 0x0");
        assertThatThrownBy(() -> mem.writeq(BASE - 8, 1)).isInstanceOf(BusError.class)
                .satisfies(e -> assertThat(((BusError) e).address()).isEqualTo(BASE - 8));
        assertThatThrownBy(() -> mem.readb(BASE + SIZE)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.writel(-8L, 1)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.readqAcquire(BASE + SIZE)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.cmpxchgq(BASE + SIZE, 0, 1)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.readBytes(BASE + SIZE - 4, 8)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.write(BASE - 1, new byte[4])).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.memset(BASE + SIZE - 1, 1, 2)).isInstanceOf(BusError.class);
        // A bus error is cheap: no stack trace.
        assertThatThrownBy(() -> mem.readq(0)).satisfies(e -> assertThat(e.getStackTrace()).isEmpty());
        assertThat(mem.touchedFrames()).isZero();
    }

    /** The page-table walkers' load: every range, its holes bus errors, alignment checked. */
    @Test
    void acquireLoadsReachEveryRamRange() {
        long high = 1L << 36;
        PhysMem two = new PhysMem(List.of(new PhysMem.Range(BASE, SIZE), new PhysMem.Range(high, SIZE)));
        two.writeq(BASE + 0x40, 1);
        two.writeq(high + 0x40, 2);
        assertThat(two.readqAcquire(BASE + 0x40)).isEqualTo(1);
        assertThat(two.readqAcquire(high + 0x40)).isEqualTo(2);
        assertThat(two.readqAcquire(high + SIZE - 8)).as("never written").isZero();
        assertThatThrownBy(() -> two.readqAcquire(BASE + SIZE)).as("the hole between the ranges")
                .isInstanceOf(BusError.class).hasMessageContaining("read outside RAM");
        assertThatThrownBy(() -> two.readqAcquire(high + SIZE)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> two.readqAcquire(high + 4)).isInstanceOf(IllegalArgumentException.class);
        assertThat(two.touchedFrames()).isEqualTo(2);
    }

    @Test
    void anAccessStraddlingTheEndOfRamIsRejectedWholeNotTorn() {
        long last = BASE + SIZE - 4;
        mem.writel(last, 0x1111_1111);
        assertThatThrownBy(() -> mem.writeq(last, -1L)).isInstanceOf(BusError.class);
        assertThat(mem.readl(last)).isEqualTo(0x1111_1111);
        assertThatThrownBy(() -> mem.readq(last)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.writew(BASE + SIZE - 1, 0)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.readw(BASE - 1)).isInstanceOf(BusError.class);
    }

    @Test
    void badBulkSlicesAreRejectedBeforeAnyByteMoves() {
        byte[] ones = new byte[3 * PhysMem.FRAME_SIZE];
        java.util.Arrays.fill(ones, (byte) 1);
        // a slice running past the source array used to write the first frames, then throw
        assertThatThrownBy(() -> mem.write(BASE, ones, 0, ones.length + 1)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> mem.write(BASE, ones, PhysMem.FRAME_SIZE, 2 * PhysMem.FRAME_SIZE + 1))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> mem.write(BASE, ones, -1, 4)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> mem.write(BASE, ones, 0, -4)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(mem.readq(BASE)).isZero();
        assertThat(mem.touchedFrames()).isZero();
        byte[] dst = new byte[8];
        java.util.Arrays.fill(dst, (byte) 7);
        assertThatThrownBy(() -> mem.read(BASE, dst, 4, 8)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> mem.read(BASE, dst, 0, -1)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(dst).containsOnly(7);
        assertThatThrownBy(() -> mem.readBytes(BASE, -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("negative length -1");
        assertThatThrownBy(() -> mem.memset(BASE, 1, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> mem.copy(BASE, BASE + 8, -8)).isInstanceOf(IllegalArgumentException.class);
        assertThat(mem.touchedFrames()).isZero();
    }

    @Test
    void rangesWrappingPastTheTopOfTheAddressSpaceAreBusErrors() {
        // pa + len wraps to a small address, which must not be taken for an end inside RAM
        assertThatThrownBy(() -> mem.readBytes(-16L, (int) (BASE + 32))).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.write(Long.MAX_VALUE, new byte[2])).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.memset(-1L, 1, BASE + 2)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.readq(-4L)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.writel(-2L, 1)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.readqAcquire(0xffff_ffff_ffff_fff8L)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.cmpxchgq(Long.MIN_VALUE, 0, 1)).isInstanceOf(BusError.class);
        assertThat(mem.isRam(BASE, -1)).isFalse();
        assertThat(mem.touchedFrames()).isZero();
    }

    /** RAM ranges far apart are regions of their own: same behaviour. */
    @Test
    void widelySpreadRamRanges() {
        PhysMem wide = new PhysMem(List.of(new PhysMem.Range(0x4000_0000L, 0x10_0000L),
                new PhysMem.Range(0x80_0000_0000L, 0x10_0000L)));
        assertThat(wide.readq(0x80_0000_0000L)).isZero();
        assertThat(wide.touchedFrames()).isZero();
        wide.writeq(0x80_0000_0ff8L, 0x1122_3344_5566_7788L);
        wide.writel(0x4000_0ffeL, 0xaabbccdd); // crosses a frame
        assertThat(wide.readq(0x80_0000_0ff8L)).isEqualTo(0x1122_3344_5566_7788L);
        assertThat(wide.readl(0x4000_0ffeL)).isEqualTo(0xaabbccdd);
        assertThat(wide.cmpxchgq(0x80_0000_0ff8L, 0x1122_3344_5566_7788L, 5)).isEqualTo(0x1122_3344_5566_7788L);
        assertThat(wide.readqAcquire(0x80_0000_0ff8L)).isEqualTo(5);
        assertThat(wide.touchedFrames()).isEqualTo(3);
        assertThatThrownBy(() -> wide.readq(0x40_0000_0000L)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> wide.writeq(0x80_0010_0000L, 1)).isInstanceOf(BusError.class);
        // and a region's edges: below the lowest and above the highest frame
        PhysMem near = new PhysMem(0x4000_0000L, 0x2000);
        assertThatThrownBy(() -> near.readq(0x3fff_fff8L)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> near.writeq(0x4000_2000L, 1)).isInstanceOf(BusError.class);
        near.writeq(0x4000_1ff8L, 9);
        assertThat(near.readq(0x4000_1ff8L)).isEqualTo(9);
    }

    /**
     * A range over 1 GiB is mapped as 1 GiB regions; an access across the seam is done byte by
     * byte, lands on both sides and counts both frames, and bulk accesses run across it.
     */
    @Test
    void aRangeOverOneGibIsSeamless() {
        long seam = BASE + (1L << 30);
        PhysMem big = new PhysMem(BASE, (1L << 30) + (1L << 20));
        big.writeq(seam - 4, 0x8877_6655_4433_2211L);
        assertThat(big.touchedFrames()).isEqualTo(2);
        assertThat(big.readq(seam - 4)).isEqualTo(0x8877_6655_4433_2211L);
        assertThat(big.readl(seam - 4)).isEqualTo(0x4433_2211);
        assertThat(big.readl(seam)).isEqualTo(0x8877_6655);
        big.writel(seam - 2, 0xa1b2_c3d4);
        assertThat(big.readw(seam - 2)).isEqualTo(0xc3d4);
        assertThat(big.readw(seam)).isEqualTo(0xa1b2);
        big.writew(seam - 1, 0x5566);
        assertThat(big.readw(seam - 1)).isEqualTo(0x5566);
        // aligned accesses on either side of the seam
        long below = big.readq(seam - 8);
        assertThat(big.cmpxchgq(seam - 8, below, below + 1)).isEqualTo(below);
        assertThat(big.readq(seam - 8)).isEqualTo(below + 1);
        big.writeqRelease(seam, 7);
        assertThat(big.readqAcquire(seam)).isEqualTo(7);
        byte[] src = new byte[3 * PhysMem.FRAME_SIZE];
        for (int i = 0; i < src.length; i++) {
            src[i] = (byte) (i * 7 + 3);
        }
        big.write(seam - PhysMem.FRAME_SIZE - 5, src);
        assertThat(big.readBytes(seam - PhysMem.FRAME_SIZE - 5, src.length)).isEqualTo(src);
        big.memset(seam - 3, 0, 6);
        assertThat(big.readBytes(seam - 3, 6)).containsOnly(0);
        assertThat(big.touchedFrames()).isEqualTo(4);
        assertThatThrownBy(() -> big.readq(BASE + (1L << 30) + (1L << 20) - 4)).isInstanceOf(BusError.class);
    }

    /** Two ranges that touch: an access across the boundary is RAM, done byte by byte. */
    @Test
    void adjacentRangesJoin() {
        PhysMem two = new PhysMem(List.of(new PhysMem.Range(BASE, 0x1000), new PhysMem.Range(BASE + 0x1000, 0x1000)));
        two.writeq(BASE + 0xffc, -1L);
        assertThat(two.readq(BASE + 0xff8)).isEqualTo(0xffff_ffff_0000_0000L);
        assertThat(two.readq(BASE + 0x1000)).isEqualTo(0x0000_0000_ffff_ffffL);
        assertThat(two.touchedFrames()).isEqualTo(2);
        assertThatThrownBy(() -> two.readq(BASE + 0x1ffc)).isInstanceOf(BusError.class);
    }

    /** The RAM file is deleted once mapped; a host that can't map falls back to a direct buffer. */
    @Test
    void ramLeavesNoFileBehindAndFallsBackWithoutOne() throws Exception {
        new PhysMem(BASE, SIZE).writeq(BASE, 1);
        java.nio.file.Path dir = PhysMem.RAM_DIR != null ? PhysMem.RAM_DIR
                : java.nio.file.Path.of(System.getProperty("java.io.tmpdir"));
        try (var files = java.nio.file.Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(PhysMem.RAM_FILE_PREFIX));
        }
        assertThat(PhysMem.allocate(1 << 20, PhysMem.ramDir(1 << 20)).sparse()).isTrue();
        assertThat(PhysMem.allocate(1 << 20, null).sparse()).as("in the default temporary directory").isTrue();
        // a shared-memory file system without room for the region is passed over
        assertThat(PhysMem.ramDir(Long.MAX_VALUE)).isNull();
        assertThat(mem.sparse()).isTrue();
        PhysMem.Backing fallback = PhysMem.allocate(1 << 20, java.nio.file.Path.of("/nonexistent-iommu4j"));
        assertThat(fallback.sparse()).isFalse();
        java.nio.ByteBuffer b = fallback.buf();
        assertThat(b.isDirect()).isTrue();
        assertThat(b.capacity()).isEqualTo(1 << 20);
        assertThat(b.getLong(0x8000)).isZero();
    }

    @Test
    void multipleRamRangesAndGeometry() {
        PhysMem two = new PhysMem(List.of(new PhysMem.Range(0x4000_0000L, 0x10_0000L), new PhysMem.Range(0x8000_0000L, 0x10_0000L)));
        assertThat(two.ramSize()).isEqualTo(0x20_0000L);
        assertThat(two.ranges()).hasSize(2);
        two.writeq(0x8000_0000L, 7);
        assertThat(two.readq(0x8000_0000L)).isEqualTo(7);
        assertThat(two.isRam(0x4000_0000L)).isTrue();
        assertThat(two.isRam(0x6000_0000L)).isFalse();
        assertThat(two.isRam(0x400f_fff8L, 8)).isTrue();
        assertThat(two.isRam(0x400f_fffcL, 8)).isFalse();
        assertThat(two.isRam(-8L, 16)).isFalse(); // wraps
        assertThatThrownBy(() -> two.readq(0x6000_0000L)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> new PhysMem(List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PhysMem(0x4000_0100L, 0x1000)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PhysMem(0x4000_0000L, 0x1001)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PhysMem(0x4000_0000L, 0)).isInstanceOf(IllegalArgumentException.class);
        // a range reaching past 2^48 used to be accepted up to 2^57 and to size the frame
        // directory from it (gigabytes of references); size + base wrapping past 2^64 too
        assertThatThrownBy(() -> new PhysMem(0x4000_0000L, 1L << 56)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("48-bit");
        assertThatThrownBy(() -> new PhysMem(PhysMem.MAX_PA, 0x1000)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PhysMem(0x4000_0000L, -0x1000L)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PhysMem(-0x1000L, 0x1000)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PhysMem(List.of(new PhysMem.Range(0x4000_0000L, 0x2000), new PhysMem.Range(0x4000_1000L, 0x1000))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("overlap");
        assertThat(new PhysMem(PhysMem.MAX_PA - 0x1000, 0x1000).isRam(PhysMem.MAX_PA - 8, 8)).isTrue();
        assertThat(new PhysMem.Range(0x1000, 0x1000).end()).isEqualTo(0x2000);
    }

    @Test
    void bulkCopiesAcrossFrames() {
        byte[] src = new byte[3 * PhysMem.FRAME_SIZE + 100];
        for (int i = 0; i < src.length; i++) {
            src[i] = (byte) (i * 31 + 7);
        }
        long pa = BASE + 0x4000 - 50;
        mem.write(pa, src);
        assertThat(mem.readBytes(pa, src.length)).isEqualTo(src);
        byte[] dst = new byte[src.length + 10];
        mem.read(pa, dst, 10, src.length);
        for (int i = 0; i < src.length; i++) {
            assertThat(dst[10 + i]).isEqualTo(src[i]);
        }
        mem.copy(BASE + 0x100000, pa, src.length);
        assertThat(mem.readBytes(BASE + 0x100000, src.length)).isEqualTo(src);
        mem.write(BASE, src, 5, 3);
        assertThat(mem.readBytes(BASE, 3)).containsExactly(src[5], src[6], src[7]);
        mem.writeq(BASE + 0x40, 0x0706_0504_0302_0100L);
        assertThat(mem.hexdump(BASE + 0x40, 20)).containsExactly(
                "0000000040000040: 00 01 02 03 04 05 06 07 00 00 00 00 00 00 00 00",
                "0000000040000050: 00 00 00 00");
    }

    /**
     * readqAcquire's one-compare fast path at the first region's edges: the first and last
     * words are read, and every misaligned or outside address still takes the checked path
     * (IllegalArgumentException before BusError, as for the other aligned accessors).
     */
    @Test
    void readqAcquireAtTheRegionEdges() {
        mem.writeq(BASE, 0x0102_0304_0506_0708L);
        mem.writeq(BASE + SIZE - 8, -3L);
        assertThat(mem.readqAcquire(BASE)).isEqualTo(0x0102_0304_0506_0708L);
        assertThat(mem.readqAcquire(BASE + SIZE - 8)).isEqualTo(-3L);
        for (int low = 1; low < 8; low++) {
            long pa = BASE + SIZE - 8 + low;
            assertThatThrownBy(() -> mem.readqAcquire(pa)).as("0x%x", pa).isInstanceOf(IllegalArgumentException.class);
            long below = BASE - 8 + low;
            assertThatThrownBy(() -> mem.readqAcquire(below)).as("0x%x", below)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> mem.readqAcquire(BASE - 8)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.readqAcquire(BASE + SIZE)).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.readqAcquire(BASE + (1L << 63))).isInstanceOf(BusError.class);
        assertThatThrownBy(() -> mem.readqAcquire(BASE - (1L << 61))).isInstanceOf(BusError.class);
    }

    @Test
    void orderedAndVolatileAccessors() {
        mem.writeqRelease(BASE + 0x100, 0x1122_3344_5566_7788L);
        assertThat(mem.readqAcquire(BASE + 0x100)).isEqualTo(0x1122_3344_5566_7788L);
        mem.writeqVolatile(BASE + 0x108, -2L);
        assertThat(mem.readqVolatile(BASE + 0x108)).isEqualTo(-2L);
        mem.writelRelease(BASE + 0x110, 0xcafe_f00d);
        assertThat(mem.readlAcquire(BASE + 0x110)).isEqualTo(0xcafe_f00d);
        mem.writelVolatile(BASE + 0x114, 5);
        assertThat(mem.readlVolatile(BASE + 0x114)).isEqualTo(5);
        assertThat(mem.readq(BASE + 0x110)).isEqualTo(0x0000_0005_cafe_f00dL);
        assertThatThrownBy(() -> mem.readqAcquire(BASE + 4)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> mem.writeqRelease(BASE + 1, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> mem.writelRelease(BASE + 2, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> mem.cmpxchgq(BASE + 4, 0, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void releaseAcquireMessagePassing() throws Exception {
        long data = BASE + 0x200, flag = BASE + 0x1200;
        for (int round = 1; round <= 200; round++) {
            long value = round * 0x1_0000_0001L;
            int r = round;
            Thread writer = new Thread(() -> {
                mem.writeq(data, value);
                mem.writeqRelease(flag, r);
            });
            writer.start();
            while (mem.readqAcquire(flag) != round) {
                Thread.onSpinWait();
            }
            assertThat(mem.readq(data)).isEqualTo(value);
            writer.join();
        }
    }

    @Test
    void cmpxchgSemantics() {
        long pa = BASE + 0x300;
        mem.writeq(pa, 5);
        assertThat(mem.cmpxchgq(pa, 5, 9)).isEqualTo(5);
        assertThat(mem.readq(pa)).isEqualTo(9);
        assertThat(mem.cmpxchgq(pa, 5, 11)).isEqualTo(9); // failed: returns the witness
        assertThat(mem.readq(pa)).isEqualTo(9);
        assertThat(mem.cmpxchgl(pa + 8, 0, 0x8000_0000)).isZero();
        assertThat(mem.readl(pa + 8)).isEqualTo(0x8000_0000);
        assertThat(mem.fetchOrq(pa, 0x8000_0000_0000_0000L)).isEqualTo(9);
        assertThat(mem.readq(pa)).isEqualTo(0x8000_0000_0000_0009L);
        // cmpxchg on a never-written frame sees zero.
        assertThat(mem.cmpxchgq(BASE + 0x90000, 0, 1)).isZero();
        assertThat(mem.readq(BASE + 0x90000)).isEqualTo(1);
    }

    @Test
    void concurrentCmpxchgIncrementsAreNotLost() throws Exception {
        long pa = BASE + 0x400;
        int threads = 4, n = 20_000;
        CyclicBarrier go = new CyclicBarrier(threads);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                await(go);
                for (int i = 0; i < n; i++) {
                    long old;
                    do {
                        old = mem.readqVolatile(pa);
                    } while (mem.cmpxchgq(pa, old, old + 1) != old);
                }
            });
            ts.add(th);
            th.start();
        }
        for (Thread th : ts) {
            th.join();
        }
        assertThat(mem.readq(pa)).isEqualTo((long) threads * n);
    }

    @Test
    void concurrentFirstTouchOfOneFrameInstallsOneFrame() throws Exception {
        int threads = 4, rounds = 300;
        CyclicBarrier go = new CyclicBarrier(threads);
        AtomicLong errors = new AtomicLong();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int me = t;
            Thread th = new Thread(() -> {
                for (int r = 0; r < rounds; r++) {
                    await(go);
                    // Every thread writes its own slot of the same, so far untouched, frame.
                    mem.writeq(BASE + (long) r * PhysMem.FRAME_SIZE + me * 8L, r * 16L + me + 1);
                }
            });
            ts.add(th);
            th.start();
        }
        for (Thread th : ts) {
            th.join();
        }
        assertThat(mem.touchedFrames()).isEqualTo(rounds);
        for (int r = 0; r < rounds; r++) {
            for (int t = 0; t < threads; t++) {
                if (mem.readq(BASE + (long) r * PhysMem.FRAME_SIZE + t * 8L) != r * 16L + t + 1) {
                    errors.incrementAndGet();
                }
            }
        }
        assertThat(errors).hasValue(0);
    }

    private static void await(CyclicBarrier b) {
        try {
            b.await();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
