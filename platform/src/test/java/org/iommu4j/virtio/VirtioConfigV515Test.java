package org.iommu4j.virtio;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The virtio core and drivers' configuration accesses, in v5.15's order and number. */
class VirtioConfigV515Test {

    /** A transport that answers from fixed values and logs every access. */
    static final class LoggingOps implements VirtioConfigOps {
        final List<String> log = new ArrayList<>();
        int status;
        int[] generations = {0};
        int genReads;
        long capacity = 2048;

        @Override
        public long get(VirtioDevice vdev, int offset, int len) {
            log.add("get " + offset + "/" + len);
            return offset == VirtioH.VIRTIO_BLK_CFG_CAPACITY ? capacity : 0;
        }

        @Override
        public void set(VirtioDevice vdev, int offset, long val, int len) {}

        @Override
        public int generation(VirtioDevice vdev) {
            log.add("generation");
            return generations[Math.min(genReads++, generations.length - 1)];
        }

        @Override
        public int getStatus(VirtioDevice vdev) {
            return status;
        }

        @Override
        public void setStatus(VirtioDevice vdev, int s) {
            log.add("status " + s);
            status = s;
        }

        @Override
        public void reset(VirtioDevice vdev) {
            status = 0;
        }

        @Override
        public int findVqs(VirtioDevice vdev, int nvqs, Virtqueue[] vqs, VirtioRing.VqCallback[] callbacks, String[] names) {
            log.add("find_vqs " + nvqs);
            return 0;
        }

        @Override
        public void delVqs(VirtioDevice vdev) {}

        @Override
        public long getFeatures(VirtioDevice vdev) {
            return 0;
        }

        @Override
        public int finalizeFeatures(VirtioDevice vdev) {
            return 0;
        }

        @Override
        public String busName(VirtioDevice vdev) {
            return "test";
        }
    }

    private static VirtioDevice device(LoggingOps ops) {
        VirtioDevice vdev = new Virtio(null, null, null).allocDevice(null);
        vdev.config = ops;
        return vdev;
    }

    /** v5.15's virtio_cread32 (and 8, 16) is one get: no generation reads around it. */
    @Test
    void fourByteFieldIsOneGetWithoutGeneration() {
        LoggingOps ops = new LoggingOps();
        Virtio.virtioCread(device(ops), VirtioH.VIRTIO_BLK_CFG_SEG_MAX, 4);
        Virtio.virtioCread(device(ops), VirtioH.VIRTIO_BLK_CFG_NUM_QUEUES, 2);
        assertEquals(List.of("get 12/4", "get 34/2"), ops.log);
    }

    /** virtio_cread64 retries while the generation moves, comparing with the last one read. */
    @Test
    void eightByteFieldRetriesUntilGenerationHolds() {
        LoggingOps ops = new LoggingOps();
        ops.generations = new int[] {0, 1, 1};
        assertEquals(2048, Virtio.virtioCread(device(ops), VirtioH.VIRTIO_BLK_CFG_CAPACITY, 8));
        assertEquals(List.of("generation", "get 0/8", "generation", "get 0/8", "generation"), ops.log);
    }

    /** virtblk_probe reads the capacity (virtblk_update_capacity) before virtio_device_ready. */
    @Test
    void blkReadsCapacityBeforeDriverOk() {
        LoggingOps ops = new LoggingOps();
        VirtioDevice vdev = device(ops);
        VirtioBlk drv = new VirtioBlk();
        assertEquals(0, drv.probe(vdev));
        drv.fini();
        int capacity = ops.log.indexOf("get 0/8");
        int driverOk = ops.log.indexOf("status " + VirtioH.VIRTIO_CONFIG_S_DRIVER_OK);
        assertEquals(true, capacity >= 0 && driverOk > capacity, ops.log.toString());
    }
}
