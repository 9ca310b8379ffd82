package org.iommu4j.sva;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EEXIST;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.base.Errno.EPERM;
import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.ioasid.Ioasid;
import org.iommu4j.iommu.Iommu;
import org.iommu4j.iommu.IommuH;
import org.iommu4j.iommu.IommuSva;
import org.iommu4j.iommu.MockIommu;
import org.iommu4j.iommu.MockMachine;
import org.iommu4j.mm.Mm;
import org.iommu4j.mm.MmWorld;
import org.iommu4j.mm.MmuNotifier;
import org.iommu4j.mm.Mmap;
import org.iommu4j.mm.PageAlloc;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Seed 004's generic SVA library: per-device SVA parameters, one io_mm (PASID and driver
 * context) per mm, one bond per device taken by reference, and the driver's io_mm_ops called as
 * devices attach and detach (once per domain), as the CPU invalidates and when the mm exits.
 * The driver side is a recording io_mm_ops; the devices are the core's MockIommu devices.
 */
@ExtendWith(NoWarnings.class)
class IommuSvaGenericTest {
    MmWorld cpus;
    Ioasid ioasid;
    IommuSvaLib sva;
    MockMachine machine;
    MockIommu mock;
    Device a;
    Device b;
    Device c;
    Mm mm;
    final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    int attachRet;
    ErrnoException allocError;

    /** A driver that logs each call: "alloc", "attach dev pasid ctx domain", and so on. */
    final IoMmOps ops = new IoMmOps() {
        int contexts;

        @Override
        public Object alloc(Mm m) {
            if (allocError != null) {
                throw allocError;
            }
            String ctx = "ctx" + ++contexts;
            calls.add("alloc " + ctx);
            return ctx;
        }

        @Override
        public int attach(Device dev, int pasid, Object ctx, boolean attachDomain) {
            calls.add("attach " + dev.devName() + " " + pasid + " " + ctx + (attachDomain ? " domain" : ""));
            return attachRet;
        }

        @Override
        public void invalidate(Device dev, int pasid, Object ctx, long vaddr, long size) {
            calls.add(String.format("invalidate %s %d 0x%x+0x%x", dev.devName(), pasid, vaddr, size));
        }

        @Override
        public void clear(Device dev, int pasid, Object ctx) {
            calls.add("clear " + dev.devName() + " " + pasid);
        }

        @Override
        public void detach(Device dev, int pasid, Object ctx, boolean detachDomain, boolean cleared) {
            calls.add("detach " + dev.devName() + " " + pasid + (detachDomain ? " domain" : "") + (cleared ? " cleared" : ""));
        }

        @Override
        public void free(Object ctx) {
            calls.add("free " + ctx);
        }
    };

    @BeforeEach
    void setUp() {
        Board board = Board.withRam(64L << 20);
        PageAlloc pages = PageAlloc.forAllRam(board.mem);
        cpus = MmWorld.create(board, pages, MmWorld.Config.defaults());
        ioasid = new Ioasid();
        sva = new IommuSvaLib(ioasid);
        machine = new MockMachine(pages, ioasid);
        mock = machine.mock;
        // a and b share a group, hence a domain; c is alone.
        mock.sharedGroup.add("a");
        mock.sharedGroup.add("b");
        a = machine.added("a", 1);
        b = machine.added("b", 2);
        c = machine.added("c", 3);
        assertThat(Iommu.iommuGetDomainForDev(a)).isSameAs(Iommu.iommuGetDomainForDev(b))
                .isNotSameAs(Iommu.iommuGetDomainForDev(c));
        mm = cpus.mmAlloc();
    }

    void enable(Device d, int min, int max) {
        assertThat(sva.iommuSvaEnable(d, new IommuSvaParam(min, max))).isZero();
    }

    static int err(Runnable r) {
        try {
            r.run();
        } catch (ErrnoException e) {
            return e.err();
        }
        return 0;
    }

    /** Waits for the io_mms put so far to be freed (the SRCU callbacks). */
    void synchronize() {
        MmuNotifier.mmuNotifierSynchronize(cpus);
    }

    @Test
    void enableAndDisable() {
        Device bare = new Device("bare");
        assertThat(sva.iommuSvaEnable(bare, new IommuSvaParam(1, 10))).isEqualTo(-ENODEV);
        assertThat(sva.iommuSvaDisable(bare)).isEqualTo(-EINVAL);
        assertThat(sva.iommuSvaDisable(a)).isEqualTo(-ENODEV);
        FaultInject.failNth(1);
        assertThat(sva.iommuSvaEnable(a, new IommuSvaParam(1, 10))).isEqualTo(-ENOMEM);
        assertThat(IommuSvaLib.iommuSvaEnabled(a)).isFalse();
        enable(a, 1, 10);
        assertThat(IommuSvaLib.iommuSvaEnabled(a)).isTrue();
        assertThat(sva.iommuSvaEnable(a, new IommuSvaParam(1, 10))).isEqualTo(-EEXIST);
        IommuSva h = sva.iommuSvaBindGeneric(a, mm, ops, null);
        assertThat(sva.iommuSvaDisable(a)).isEqualTo(-EBUSY);
        sva.iommuSvaUnbindGeneric(h);
        assertThat(sva.iommuSvaDisable(a)).isZero();
        assertThat(IommuSvaLib.iommuSvaEnabled(a)).isFalse();
        // Not enabled: no bind.
        assertThat(err(() -> sva.iommuSvaBindGeneric(a, mm, ops, null))).isEqualTo(-ENODEV);
        assertThat(err(() -> sva.iommuSvaBindGeneric(bare, mm, ops, null))).isEqualTo(-ENODEV);
    }

    @Test
    void oneIoMmPerMmOneBondPerDeviceOneAttachPerDomain() {
        enable(a, 1, 100);
        enable(b, 1, 100);
        enable(c, 1, 100);
        IommuSva ha = sva.iommuSvaBindGeneric(a, mm, ops, "drv");
        int pasid = sva.iommuSvaGetPasidGeneric(ha);
        assertThat(pasid).isEqualTo(1);
        // Bound again: the same bond.
        assertThat(sva.iommuSvaBindGeneric(a, mm, ops, "drv")).isSameAs(ha);
        // Another drvdata for the same device: refused (and warned about).
        assertThat(err(() -> sva.iommuSvaBindGeneric(a, mm, ops, "other"))).isEqualTo(-EINVAL);
        assertThat(Warn.drain()).hasSize(1);
        IommuSva hb = sva.iommuSvaBindGeneric(b, mm, ops, "drv");
        IommuSva hc = sva.iommuSvaBindGeneric(c, mm, ops, "drv");
        assertThat(sva.iommuSvaGetPasidGeneric(hb)).isEqualTo(pasid);
        assertThat(sva.iommuSvaGetPasidGeneric(hc)).isEqualTo(pasid);
        // One context for the mm; b shares a's domain, so only a and c write the PASID entry.
        assertThat(calls).containsExactly("alloc ctx1", "attach a 1 ctx1 domain", "attach b 1 ctx1",
                "attach c 1 ctx1 domain");
        // The PASID's data is the mm: the SVA fault handler finds it.
        assertThat(sva.iommuSvaFind(pasid)).isSameAs(mm);
        mm.mmput();

        calls.clear();
        sva.iommuSvaUnbindGeneric(ha); // a had two references
        assertThat(calls).isEmpty();
        sva.iommuSvaUnbindGeneric(ha);
        sva.iommuSvaUnbindGeneric(hb); // the last of the domain clears its entry
        sva.iommuSvaUnbindGeneric(hc);
        assertThat(sva.iommuSvaGetPasidGeneric(hc)).isEqualTo(IommuH.IOMMU_PASID_INVALID);
        synchronize();
        assertThat(calls).containsExactly("detach a 1", "detach b 1 domain", "detach c 1 domain", "free ctx1");
        assertThatThrownBy(() -> sva.iommuSvaFind(pasid)).isInstanceOf(ErrnoException.class);
        assertThat(MmuNotifier.subscriptions(mm)).isZero();
    }

    /** Seed 004 v5's io_mm_attach looks for the device's bond before allocating a new one. */
    @Test
    void bindingAgainAllocatesNothing() {
        enable(a, 1, 100);
        IommuSva h = sva.iommuSvaBindGeneric(a, mm, ops, "drv");
        calls.clear();
        // Out of memory at the first allocation: taking the bond again needs none.
        FaultInject.failNth(1);
        IommuSva again = sva.iommuSvaBindGeneric(a, mm, ops, "drv");
        assertThat(FaultInject.disarm()).isFalse();
        assertThat(again).isSameAs(h);
        // Another drvdata is refused for what it is (-EINVAL), not for memory.
        FaultInject.failNth(1);
        assertThat(err(() -> sva.iommuSvaBindGeneric(a, mm, ops, "other"))).isEqualTo(-EINVAL);
        assertThat(FaultInject.disarm()).isFalse();
        assertThat(Warn.drain()).hasSize(1);
        assertThat(calls).isEmpty();
        // Two references on one bond, one io_mm reference: two unbinds detach once.
        sva.iommuSvaUnbindGeneric(h);
        assertThat(sva.iommuSvaDisable(a)).isEqualTo(-EBUSY);
        sva.iommuSvaUnbindGeneric(again);
        synchronize();
        assertThat(calls).containsExactly("detach a 1 domain", "free ctx1");
        assertThat(ioasid.ioasidCount()).isZero();
        assertThat(MmuNotifier.subscriptions(mm)).isZero();
        assertThat(sva.iommuSvaDisable(a)).isZero();
    }

    @Test
    void theCpusInvalidationsReachEveryBoundDevice() {
        enable(a, 1, 100);
        enable(c, 1, 100);
        long va = Mmap.vmMmap(mm, 0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
        cpus.cpu(0).switchMm(mm);
        cpus.cpu(0).str(va, 1);
        IommuSva ha = sva.iommuSvaBindGeneric(a, mm, ops, null);
        IommuSva hc = sva.iommuSvaBindGeneric(c, mm, ops, null);
        calls.clear();
        assertThat(Mmap.vmMunmap(mm, va, 4096)).isZero();
        assertThat(calls).contains(String.format("invalidate a 1 0x%x+0x1000", va),
                String.format("invalidate c 1 0x%x+0x1000", va));
        cpus.cpu(0).switchToIdle();
        sva.iommuSvaUnbindGeneric(ha);
        sva.iommuSvaUnbindGeneric(hc);
    }

    @Test
    void anExitingMmIsClearedAndKeepsItsPasidUntilUnbind() {
        enable(a, 1, 100);
        IommuSva h = sva.iommuSvaBindGeneric(a, mm, ops, null);
        calls.clear();
        mm.mmget();
        mm.mmput();
        mm.mmput(); // the process exits
        assertThat(calls).containsExactly("clear a 1");
        assertThat(sva.iommuSvaGetPasidGeneric(h)).isEqualTo(1);
        sva.iommuSvaUnbindGeneric(h);
        synchronize();
        assertThat(calls).containsExactly("clear a 1", "detach a 1 domain cleared", "free ctx1");
    }

    @Test
    void failuresLoseNothing() {
        enable(a, 5, 6);
        // The driver cannot attach: the bond, the io_mm, its context and PASID all go.
        attachRet = -EPERM;
        assertThat(err(() -> sva.iommuSvaBindGeneric(a, mm, ops, null))).isEqualTo(-EPERM);
        synchronize();
        assertThat(calls).containsExactly("alloc ctx1", "attach a 5 ctx1 domain", "free ctx1");
        assertThat(ioasid.ioasidCount()).isZero();
        assertThat(MmuNotifier.subscriptions(mm)).isZero();
        attachRet = 0;
        // The driver cannot allocate its context: its error, and the PASID is given back.
        allocError = new ErrnoException(-EBUSY);
        assertThat(err(() -> sva.iommuSvaBindGeneric(a, mm, ops, null))).isEqualTo(-EBUSY);
        assertThat(ioasid.ioasidCount()).isZero();
        allocError = null;
        // No PASID left in the device's range: -ENOSPC.
        Mm m2 = cpus.mmAlloc();
        Mm m3 = cpus.mmAlloc();
        IommuSva h1 = sva.iommuSvaBindGeneric(a, mm, ops, null);
        IommuSva h2 = sva.iommuSvaBindGeneric(a, m2, ops, null);
        assertThat(err(() -> sva.iommuSvaBindGeneric(a, m3, ops, null))).isEqualTo(-ENOSPC);
        // Out of memory at each allocation of a bind in turn (fail_nth): the io_mm (-ENOMEM), the
        // PASID's data (ioasid_alloc fails: -ENOSPC), the notifier's registration and the bond
        // (-ENOMEM); each undone.
        sva.iommuSvaUnbindGeneric(h2);
        synchronize();
        List<Integer> errors = new ArrayList<>();
        for (int n = 1; ; n++) {
            FaultInject.failNth(n);
            IommuSva h;
            try {
                h = sva.iommuSvaBindGeneric(a, m3, ops, null);
            } catch (ErrnoException e) {
                errors.add(e.err());
                FaultInject.disarm();
                synchronize();
                assertThat(ioasid.ioasidCount()).as("n=%d", n).isEqualTo(1);
                assertThat(MmuNotifier.subscriptions(m3)).as("n=%d", n).isZero();
                continue;
            } finally {
                FaultInject.disarm();
            }
            sva.iommuSvaUnbindGeneric(h);
            break;
        }
        assertThat(errors).containsExactly(-ENOMEM, -ENOSPC, -ENOMEM, -ENOMEM);
        sva.iommuSvaUnbindGeneric(h1);
        synchronize();
        assertThat(ioasid.ioasidCount()).isZero();
        assertThat(sva.iommuSvaDisable(a)).isZero();
    }
}
