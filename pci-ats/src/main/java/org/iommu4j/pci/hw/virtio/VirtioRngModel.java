package org.iommu4j.pci.hw.virtio;

import java.util.SplittableRandom;

/**
 * virtio-rng (virtio 1.1 section 5.4; QEMU hw/virtio/virtio-rng.c): one request queue of 8
 * (QEMU's size); each device-writable buffer is filled entirely with bytes from a deterministic
 * generator (a seeded {@link SplittableRandom}, standing for QEMU's rng backend), device-readable
 * buffers in a chain are ignored (5.4.6: the driver places none; QEMU ignores them), and the
 * chain is returned with the number of bytes written.
 */
public final class VirtioRngModel extends VirtioDeviceModel {
    public static final int QUEUE_SIZE = 8;
    private final ByteStream stream;
    private long bytesGiven;

    /** The generator's output as one byte stream: chunks of any size concatenate to the same bytes. */
    private static final class ByteStream {
        private final SplittableRandom rng;
        private long word;
        private int left;

        ByteStream(long seed) {
            rng = new SplittableRandom(seed);
        }

        void next(byte[] b) {
            for (int i = 0; i < b.length; i++) {
                if (left == 0) {
                    word = rng.nextLong();
                    left = 8;
                }
                b[i] = (byte) word;
                word >>>= 8;
                left--;
            }
        }
    }

    public VirtioRngModel(long seed) {
        this.stream = new ByteStream(seed);
    }

    /** The first {@code n} bytes the device with {@code seed} gives (what a driver should read). */
    public static byte[] expected(long seed, int n) {
        byte[] b = new byte[n];
        new ByteStream(seed).next(b);
        return b;
    }

    /** Bytes written into the driver's buffers so far. */
    public long bytesGiven() {
        return bytesGiven;
    }

    @Override
    public int deviceId() {
        return VirtioSpec.VIRTIO_ID_ENTROPY;
    }

    @Override
    public long deviceFeatures() {
        return 0;
    }

    @Override
    public int[] queueSizes() {
        return new int[] {QUEUE_SIZE};
    }

    @Override
    public byte[] config() {
        return new byte[0];
    }

    @Override
    protected void handleOutput(VirtioPciProxy proxy, VirtQueue vq) {
        VirtQueue.Element e;
        while ((e = proxy.pop(vq)) != null) {
            byte[] b = new byte[(int) Math.min(e.bytes(true), 1 << 20)];
            stream.next(b);
            vq.writeIn(e, 0, b, 0, b.length);
            bytesGiven += b.length;
            proxy.push(vq, e, b.length);
        }
    }
}
