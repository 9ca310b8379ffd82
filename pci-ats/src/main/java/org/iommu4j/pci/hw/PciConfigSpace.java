package org.iommu4j.pci.hw;

/**
 * One function's 4 KiB configuration space, held QEMU-style as three byte arrays: the value,
 * the writable-bit mask and the write-1-to-clear mask. A write changes only writable bits and
 * clears RW1C bits written as 1; every other bit (read-only, reserved) keeps its value. Side
 * effects of writes (enables, resets) belong to the function model, which calls {@link #write}
 * and then looks at the new value.
 *
 * <p>Not thread-safe: the owning function serialises accesses.
 */
public final class PciConfigSpace {
    private final byte[] config = new byte[PcieSpec.CFG_SPACE_EXP_SIZE];
    private final byte[] wmask = new byte[PcieSpec.CFG_SPACE_EXP_SIZE];
    private final byte[] w1cmask = new byte[PcieSpec.CFG_SPACE_EXP_SIZE];

    /** Little-endian read of 1, 2 or 4 bytes; the caller checks alignment and range. */
    public int read(int off, int size) {
        int v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | (config[off + i] & 0xff);
        }
        return v;
    }

    /** A bus write: applies the write masks byte by byte. */
    public void write(int off, int val, int size) {
        for (int i = 0; i < size; i++) {
            int b = val >>> (8 * i) & 0xff;
            int wm = wmask[off + i] & 0xff;
            int cm = w1cmask[off + i] & 0xff;
            int old = config[off + i] & 0xff;
            int nv = (old & ~wm) | (b & wm);
            nv &= ~(b & cm);
            config[off + i] = (byte) nv;
        }
    }

    /* Device-internal accessors (reset values and hardware-driven state), ignoring the masks. */

    public void set(int off, int val, int size) {
        for (int i = 0; i < size; i++) {
            config[off + i] = (byte) (val >>> (8 * i));
        }
    }

    public void setBits(int off, int bits, int size) {
        set(off, read(off, size) | bits, size);
    }

    public void clearBits(int off, int bits, int size) {
        set(off, read(off, size) & ~bits, size);
    }

    public void setWmask(int off, int mask, int size) {
        for (int i = 0; i < size; i++) {
            wmask[off + i] = (byte) (mask >>> (8 * i));
        }
    }

    public void setW1cmask(int off, int mask, int size) {
        for (int i = 0; i < size; i++) {
            w1cmask[off + i] = (byte) (mask >>> (8 * i));
        }
    }

    public int wmask(int off, int size) {
        int v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | (wmask[off + i] & 0xff);
        }
        return v;
    }

    /** A copy of the whole space, for dumps and byte-by-byte layout tests. */
    public byte[] snapshot() {
        return config.clone();
    }
}
