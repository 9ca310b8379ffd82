package org.iommu4j.virtio;

import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ETIMEDOUT;

import java.util.concurrent.TimeUnit;
import org.iommu4j.base.Completion;
import org.iommu4j.base.Gfp;
import org.iommu4j.base.Port;
import org.iommu4j.dma.Scatterlist;

/**
 * drivers/char/hw_random/virtio-rng.c (v5.15): one "input" queue; a read hands the caller's
 * buffer to the device and waits for it to come back filled. The hwrng core (rng_dev_read,
 * add_early_randomness) is not ported: {@link #virtioRead} is what it calls.
 */
public final class VirtioRng implements VirtioDriver {
    /** {@code struct virtrng_info}. */
    @Port("drivers/char/hw_random/virtio-rng.c:virtrng_info")
    public static final class VirtrngInfo {
        public Virtqueue vq;
        public final Completion haveData = new Completion();
        public String name;
        public int dataAvail;
        public int index;
        public boolean busy;
        public boolean hwrngRemoved;
    }

    /** How long a blocking read waits in the simulation (the kernel waits until killed). */
    public long waitNanos = TimeUnit.SECONDS.toNanos(10);
    /** {@code rng_index_ida}. */
    private final org.iommu4j.base.Ida rngIndexIda = new org.iommu4j.base.Ida();

    @Override
    public String name() {
        return "virtio_rng";
    }

    @Override
    public int deviceId() {
        return VirtioH.VIRTIO_ID_RNG;
    }

    @Override
    public int[] featureTable() {
        return new int[0];
    }

    @Port("drivers/char/hw_random/virtio-rng.c:random_recv_done")
    private static void randomRecvDone(Virtqueue vq) {
        VirtrngInfo vi = (VirtrngInfo) vq.vdev.priv;
        int[] len = {0};
        // nothing used yet (a shared vector, or an interrupt already served): ignore
        if (VirtioRing.virtqueueGetBuf(vi.vq, len) == null) {
            return;
        }
        vi.dataAvail = len[0];
        vi.haveData.complete();
    }

    /** Gives the device one writable buffer to fill, and kicks. */
    @Port("drivers/char/hw_random/virtio-rng.c:register_buffer")
    private static int registerBuffer(VirtrngInfo vi, long buf, int size) {
        Scatterlist[] sg = {new Scatterlist(buf, size)}; // sg_init_one
        // at most one buffer is ever in flight, so the add finds room
        int ret = VirtioRing.virtqueueAddInbuf(vi.vq, sg, 1, buf, Gfp.GFP_KERNEL);
        VirtioRing.virtqueueKick(vi.vq);
        return ret;
    }

    /**
     * hwrng's read: gives {@code buf} (a kernel buffer: physical address) of {@code size} bytes to
     * the device if no read is in flight; with {@code wait}, the bytes the device wrote, else 0.
     * -ENODEV after removal; -ETIMEDOUT if the device never answered within {@link #waitNanos}
     * (the kernel's killable wait, bounded in the simulation).
     */
    @Port("drivers/char/hw_random/virtio-rng.c:virtio_read")
    public int virtioRead(VirtrngInfo vi, long buf, int size, boolean wait) {
        if (vi.hwrngRemoved) {
            return -ENODEV;
        }
        if (!vi.busy) {
            vi.busy = true;
            vi.haveData.reinitCompletion();
            registerBuffer(vi, buf, size);
        }
        if (!wait) {
            return 0;
        }
        if (!vi.haveData.waitForCompletionTimeout(waitNanos, TimeUnit.NANOSECONDS)) {
            return -ETIMEDOUT;
        }
        vi.busy = false;
        return vi.dataAvail;
    }

    @Port("drivers/char/hw_random/virtio-rng.c:probe_common")
    private int probeCommon(VirtioDevice vdev) {
        VirtrngInfo vi = new VirtrngInfo();
        int index = rngIndexIda.idaSimpleGet(0, 0);
        if (index < 0) {
            return index;
        }
        vi.index = index;
        vi.name = "virtio_rng." + index;
        vdev.priv = vi;
        // one queue, "input"
        Virtqueue[] vqs = new Virtqueue[1];
        int err = Virtio.virtioFindVqs(vdev, 1, vqs, new VirtioRing.VqCallback[] {VirtioRng::randomRecvDone},
                new String[] {"input"});
        if (err != 0) {
            vdev.priv = null;
            // the index goes back for the next device
            rngIndexIda.idaSimpleRemove(index);
            return err;
        }
        vi.vq = vqs[0];
        return 0;
    }

    @Override
    @Port("drivers/char/hw_random/virtio-rng.c:virtrng_probe")
    public int probe(VirtioDevice vdev) {
        return probeCommon(vdev);
    }

    /**
     * Unbinds: a read waiting for data is woken (and finds the device gone), the device is reset
     * so it no longer touches the buffer, then the queue goes and the index is given back.
     * {@code hwrng_unregister}: there is no hwrng core in this project (nothing was registered
     * with one at probe), so there is nothing to unregister.
     */
    @Port("drivers/char/hw_random/virtio-rng.c:remove_common")
    private void removeCommon(VirtioDevice vdev) {
        VirtrngInfo vi = (VirtrngInfo) vdev.priv;
        vi.hwrngRemoved = true;
        vi.dataAvail = 0;
        vi.haveData.complete();
        vdev.config.reset(vdev);
        vi.busy = false;
        vdev.config.delVqs(vdev);
        rngIndexIda.idaSimpleRemove(vi.index);
    }

    @Override
    @Port("drivers/char/hw_random/virtio-rng.c:virtrng_remove")
    public void remove(VirtioDevice vdev) {
        removeCommon(vdev);
    }

    /** The driver's state for {@code vdev}, or null. */
    public static VirtrngInfo info(VirtioDevice vdev) {
        return vdev.priv instanceof VirtrngInfo vi ? vi : null;
    }

    /** A kmalloc'd buffer for reads (the hwrng core's rng_buffer): a zeroed page, or 0. */
    public static long allocBuffer(Virtio virtio) {
        long pa = virtio.dma.pageAlloc().allocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO);
        return pa;
    }
}
