package org.iommu4j.pci.hw;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import org.iommu4j.base.hw.DmaPort;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.hw.PageRequest;

/**
 * A test IOMMU: a table of (PASID, IOVA range) -> (PA, permissions), answering untranslated
 * requests (OK / ABORT / STALLED), ATS Translation Requests (OK / ATS_FAULT) and Translated
 * requests (passed through), and logging everything it sees.
 */
public final class FakeUpstreamPort implements DmaPort {
    public record Mapping(int pasid, long iova, long size, long pa, int perm) {}

    public record Seen(int sid, int ssid, long addr, int size, int access, boolean ats, boolean translated) {}

    private final List<Mapping> maps = new ArrayList<>();
    public final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());
    public final List<PageRequest> pageRequests = Collections.synchronizedList(new ArrayList<>());
    /** Called (on the device's thread) for each page request; null = just record it. */
    public volatile Consumer<PageRequest> onPageRequest;
    /** Untranslated misses stall instead of aborting. */
    public volatile boolean stallOnFault;
    public volatile FakeStall lastStall;
    /** Untranslated misses complete read-as-zero / write-ignored instead of aborting. */
    public volatile boolean razWiOnFault;
    /** If not OK: the completion status every Translation Request gets (ATS_UR, ATS_CA). */
    public volatile int atsStatus = DmaResult.OK;
    /** Translated requests refused (an IOMMU that does not trust ATS). */
    public volatile boolean refuseTranslated;
    public static final int F_TRANSLATION = 0x10;
    public static final int F_PERMISSION = 0x13;

    public synchronized void map(int pasid, long iova, long size, long pa, int perm) {
        unmap(pasid, iova);
        maps.add(new Mapping(pasid, iova, size, pa, perm));
    }

    public synchronized void unmap(int pasid, long iova) {
        maps.removeIf(m -> m.pasid == pasid && Long.compareUnsigned(iova - m.iova, m.size) < 0);
    }

    private synchronized Mapping find(int pasid, long iova) {
        for (Mapping m : maps) {
            if (m.pasid == pasid && Long.compareUnsigned(iova - m.iova, m.size) < 0) {
                return m;
            }
        }
        return null;
    }

    public List<Seen> ofKind(boolean ats, boolean translated) {
        synchronized (seen) {
            return seen.stream().filter(s -> s.ats == ats && s.translated == translated).toList();
        }
    }

    private static int need(int access) {
        return ((access & DmaTransaction.ACC_READ) != 0 ? DmaResult.PERM_R : 0)
                | ((access & DmaTransaction.ACC_WRITE) != 0 ? DmaResult.PERM_W : 0)
                | ((access & DmaTransaction.ACC_EXEC) != 0 ? DmaResult.PERM_X : 0);
    }

    @Override
    public void translate(DmaTransaction txn, DmaResult res) {
        seen.add(new Seen(txn.sid, txn.ssid, txn.addr, txn.size, txn.access, txn.ats, txn.translated));
        if (txn.translated) {
            if (refuseTranslated) {
                res.abort(0x99);
            } else {
                res.ok(txn.addr, DmaResult.PERM_R | DmaResult.PERM_W);
            }
            return;
        }
        Mapping m = find(txn.ssid, txn.addr);
        boolean permitted = m != null && (m.perm & need(txn.access)) == need(txn.access);
        if (txn.ats) {
            if (atsStatus != DmaResult.OK) {
                res.status = atsStatus;
                return;
            }
            if (m == null) {
                res.status = DmaResult.ATS_FAULT;
                res.faultReason = F_TRANSLATION;
                return;
            }
            // ATS completions report what is allowed; the device checks the access itself
            res.ok(m.pa + (txn.addr - m.iova), m.perm);
            res.pageSize = m.size;
            return;
        }
        if (permitted) {
            res.ok(m.pa + (txn.addr - m.iova), m.perm);
            return;
        }
        if (stallOnFault) {
            FakeStall st = new FakeStall();
            lastStall = st;
            res.status = DmaResult.STALLED;
            res.stall = st;
            res.faultReason = F_TRANSLATION;
            stalled.countDown();
            return;
        }
        if (razWiOnFault) {
            res.razWi(m == null ? F_TRANSLATION : F_PERMISSION);
            return;
        }
        res.abort(m == null ? F_TRANSLATION : F_PERMISSION);
    }

    /** Counted down each time a transaction stalls. */
    public volatile CountDownLatch stalled = new CountDownLatch(1);

    @Override
    public void pageRequest(PageRequest req) {
        pageRequests.add(req);
        Consumer<PageRequest> c = onPageRequest;
        if (c != null) {
            c.accept(req);
        }
    }

    /** A stall the test resolves. */
    public static final class FakeStall implements DmaResult.StallToken {
        private final CountDownLatch done = new CountDownLatch(1);
        private volatile int outcome = PENDING;

        public void resolve(boolean retryIt) {
            resolve(retryIt ? RETRY : TERMINATED);
        }

        /** Resolves with a {@link DmaResult.StallToken} outcome. */
        public void resolve(int how) {
            this.outcome = how;
            done.countDown();
        }

        @Override
        public boolean await() {
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            return outcome == RETRY;
        }

        @Override
        public int poll() {
            return done.getCount() > 0 ? PENDING : outcome;
        }
    }
}
