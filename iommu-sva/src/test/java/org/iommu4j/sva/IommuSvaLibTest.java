package org.iommu4j.sva;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.base.Errno.EACCES;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENOENT;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.base.Errno.EOVERFLOW;
import static org.iommu4j.ioasid.Ioasid.INVALID_IOASID;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQ;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PERM_EXEC;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PERM_PRIV;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PERM_READ;
import static org.iommu4j.iommu.IommuFault.IOMMU_FAULT_PERM_WRITE;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_INVALID;
import static org.iommu4j.iommu.IommuPageResponse.IOMMU_PAGE_RESP_SUCCESS;
import static org.iommu4j.mm.MmH.FAULT_FLAG_INSTRUCTION;
import static org.iommu4j.mm.MmH.FAULT_FLAG_REMOTE;
import static org.iommu4j.mm.MmH.FAULT_FLAG_USER;
import static org.iommu4j.mm.MmH.FAULT_FLAG_WRITE;
import static org.iommu4j.mm.MmH.MAP_ANONYMOUS;
import static org.iommu4j.mm.MmH.MAP_PRIVATE;
import static org.iommu4j.mm.MmH.PROT_EXEC;
import static org.iommu4j.mm.MmH.PROT_READ;
import static org.iommu4j.mm.MmH.PROT_WRITE;

import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.iommu4j.ioasid.Ioasid;
import org.iommu4j.iommu.IommuFault;
import org.iommu4j.mm.Mm;
import org.iommu4j.mm.MmFault;
import org.iommu4j.mm.MmH;
import org.iommu4j.mm.MmWorld;
import org.iommu4j.mm.Mmap;
import org.iommu4j.mm.Pgtable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * iommu-sva-lib: PASID allocation, sharing and release per mm (with the IOASID set's
 * references and quota), the PASID-to-mm lookup, and the resolution of page requests in the
 * mm's page tables.
 */
@ExtendWith(NoWarnings.class)
class IommuSvaLibTest {
    static final long OA = 0x0000_FFFF_FFFF_F000L;

    final MmWorld w = MmWorld.create(Board.withRam(64L << 20));
    final Ioasid ioasid = new Ioasid();
    final IommuSvaLib sva = new IommuSvaLib(ioasid);

    static long mmapAnon(Mm mm, long len, int prot) {
        long va = Mmap.vmMmap(mm, 0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS);
        assertThat(org.iommu4j.base.Errno.IS_ERR_VALUE(va)).as("mmap").isFalse();
        return va;
    }

    static IommuFault prq(int pasid, int flags, int perm, long addr) {
        IommuFault f = new IommuFault();
        f.type = IOMMU_FAULT_PAGE_REQ;
        f.prm.flags = flags | IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
        f.prm.pasid = pasid;
        f.prm.grpid = 1;
        f.prm.perm = perm;
        f.prm.addr = addr;
        return f;
    }

    @Test
    void badRangesAreRefusedAndChangeNothing() {
        Mm mm = w.mmAlloc();
        assertThat(sva.iommuSvaAllocPasid(mm, 0, 10)).isEqualTo(-EINVAL);
        assertThat(sva.iommuSvaAllocPasid(mm, INVALID_IOASID, 10)).isEqualTo(-EINVAL);
        assertThat(sva.iommuSvaAllocPasid(mm, 1, INVALID_IOASID)).isEqualTo(-EINVAL);
        assertThat(sva.iommuSvaAllocPasid(mm, 10, 9)).isEqualTo(-EINVAL);
        assertThat(mm.pasid).isZero();
        assertThat(ioasid.ioasidCount()).isZero();
    }

    @Test
    void oneMmOnePasidSharedByReference() {
        Mm mm = w.mmAlloc();
        assertThat(sva.iommuSvaAllocPasid(mm, 1, 0xfffff)).isZero();
        int pasid = mm.pasid;
        assertThat(pasid).isEqualTo(1);
        assertThat(ioasid.ioasidRefcount(pasid)).isEqualTo(1);
        // A second bind of the same mm (another device) takes a reference on the same PASID.
        assertThat(sva.iommuSvaAllocPasid(mm, 1, 15)).isZero();
        assertThat(mm.pasid).isEqualTo(pasid);
        assertThat(ioasid.ioasidRefcount(pasid)).isEqualTo(2);
        // A device whose PASID range does not hold it cannot share it.
        assertThat(sva.iommuSvaAllocPasid(mm, 2, 15)).isEqualTo(-EOVERFLOW);
        assertThat(ioasid.ioasidRefcount(pasid)).isEqualTo(2);
        // Another mm gets another PASID.
        Mm mm2 = w.mmAlloc();
        assertThat(sva.iommuSvaAllocPasid(mm2, 1, 15)).isZero();
        assertThat(mm2.pasid).isEqualTo(2);

        sva.iommuSvaFreePasid(mm);
        assertThat(mm.pasid).isEqualTo(pasid);
        assertThat(sva.iommuSvaFind(pasid)).isSameAs(mm);
        mm.mmput();
        sva.iommuSvaFreePasid(mm);
        assertThat(mm.pasid).isZero();
        assertThatThrownBy(() -> sva.iommuSvaFind(pasid))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.err()).isEqualTo(-ENOENT));
        // The freed PASID is the next one handed out.
        Mm mm3 = w.mmAlloc();
        assertThat(sva.iommuSvaAllocPasid(mm3, 1, 15)).isZero();
        assertThat(mm3.pasid).isEqualTo(pasid);
    }

    /** Any non-zero {@code mm->pasid} is the mm's PASID: reused if in range, never replaced. */
    @Test
    void nonZeroMmPasidIsNeverReplaced() {
        Mm mm = w.mmAlloc();
        mm.pasid = INVALID_IOASID;
        assertThat(sva.iommuSvaAllocPasid(mm, 1, 0xfffff)).isEqualTo(-EOVERFLOW);
        assertThat(mm.pasid).isEqualTo(INVALID_IOASID);
        assertThat(ioasid.ioasidCount()).isZero();
    }

    @Test
    void setQuotaAndRangeExhaustionGiveEnomem() {
        IommuSvaLib small = new IommuSvaLib(ioasid, 2);
        Mm a = w.mmAlloc();
        Mm b = w.mmAlloc();
        Mm c = w.mmAlloc();
        assertThat(small.iommuSvaAllocPasid(a, 1, 100)).isZero();
        assertThat(small.iommuSvaAllocPasid(b, 1, 100)).isZero();
        assertThat(small.iommuSvaAllocPasid(c, 1, 100)).isEqualTo(-ENOMEM);
        assertThat(c.pasid).isZero();
        // A one-PASID range that is taken.
        assertThat(sva.iommuSvaAllocPasid(c, a.pasid, a.pasid)).isEqualTo(-ENOMEM);
        // Out of memory for the IOASID's data.
        FaultInject.failNth(1);
        assertThat(sva.iommuSvaAllocPasid(c, 1, 100)).isEqualTo(-ENOMEM);
        assertThat(c.pasid).isZero();
        small.iommuSvaFreePasid(a);
        assertThat(small.iommuSvaAllocPasid(c, 1, 100)).isZero();
        // No capacity left for a set: the constructor reports -ENOSPC.
        assertThatThrownBy(() -> new IommuSvaLib(new Ioasid(), Ioasid.PCI_PASID_MAX + 1))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.err()).isEqualTo(-ENOSPC));
    }

    @Test
    void findTakesAnMmUsersReferenceAndChecksTheOwner() {
        Mm mm = w.mmAlloc();
        sva.iommuSvaAllocPasid(mm, 1, 100);
        int users = mm.mmUsers.get();
        assertThat(sva.iommuSvaFind(mm.pasid)).isSameAs(mm);
        assertThat(mm.mmUsers.get()).isEqualTo(users + 1);
        mm.mmput();
        // A PASID of another user of the allocator is not SVA's.
        int other = ioasid.ioasidAlloc(null, 200, 300, "not an mm");
        assertThatThrownBy(() -> sva.iommuSvaFind(other))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.err()).isEqualTo(-EACCES));
        assertThatThrownBy(() -> sva.iommuSvaFind(77))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.err()).isEqualTo(-ENOENT));
        // The process exits while its PASID is still allocated (a bond holds mm_count): the
        // PASID is found but its mm has no users left, so the lookup gives null.
        Mm gone = w.mmAlloc();
        assertThat(sva.iommuSvaAllocPasid(gone, 1, 100)).isZero();
        gone.mmgrab();
        gone.mmput();
        assertThat(gone.exited()).isTrue();
        assertThat(sva.iommuSvaFind(gone.pasid)).isNull();
        assertThat(gone.mmUsers.get()).isZero();
        sva.iommuSvaFreePasid(gone);
        gone.mmdrop();
    }

    @Test
    void pageRequestsAreResolvedInTheMmOfTheirPasid() {
        Mm mm = w.mmAlloc();
        long rw = mmapAnon(mm, 4 * 4096, PROT_READ | PROT_WRITE);
        long ro = mmapAnon(mm, 4096, PROT_READ);
        long x = mmapAnon(mm, 4096, PROT_READ | PROT_EXEC);
        sva.iommuSvaAllocPasid(mm, 1, 100);
        int pasid = mm.pasid;
        int users = mm.mmUsers.get();
        int pv = IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;

        // A read maps the zero page; a write a fresh writable page.
        try (var cap = Trace.capture("mm:handle_mm_fault")) {
            assertThat(IommuSvaLib.iommuSvaHandleIopf(prq(pasid, pv, IOMMU_FAULT_PERM_READ, rw), sva))
                    .isEqualTo(IOMMU_PAGE_RESP_SUCCESS);
            assertThat(IommuSvaLib.iommuSvaHandleIopf(prq(pasid, pv,
                    IOMMU_FAULT_PERM_READ | IOMMU_FAULT_PERM_WRITE, rw + 4096 + 0x10), sva)).isEqualTo(IOMMU_PAGE_RESP_SUCCESS);
            assertThat(IommuSvaLib.iommuSvaHandleIopf(prq(pasid, pv,
                    IOMMU_FAULT_PERM_READ | IOMMU_FAULT_PERM_EXEC | IOMMU_FAULT_PERM_PRIV, x), sva)).isEqualTo(IOMMU_PAGE_RESP_SUCCESS);
            // The fault flags: remote always; user unless privileged; write; instruction.
            assertThat(cap.records()).extracting(r -> ((Number) r.field("flags")).intValue()).containsExactly(
                    FAULT_FLAG_REMOTE | FAULT_FLAG_USER,
                    FAULT_FLAG_REMOTE | FAULT_FLAG_USER | FAULT_FLAG_WRITE,
                    FAULT_FLAG_REMOTE | FAULT_FLAG_INSTRUCTION);
        }
        assertThat(MmFault.pteOf(mm, rw) & OA).isEqualTo(w.zeroPage());
        long wpte = MmFault.pteOf(mm, rw + 4096);
        assertThat(Pgtable.pteWrite(wpte)).isTrue();
        assertThat(wpte & OA).isNotEqualTo(w.zeroPage());
        assertThat(Pgtable.pteValid(MmFault.pteOf(mm, x))).isTrue();

        // Refused, and nothing mapped: a write to a read-only VMA, exec of a non-exec VMA, an
        // unmapped address, no PASID, an unknown PASID.
        assertThat(IommuSvaLib.iommuSvaHandleIopf(prq(pasid, pv, IOMMU_FAULT_PERM_WRITE, ro), sva))
                .isEqualTo(IOMMU_PAGE_RESP_INVALID);
        assertThat(MmFault.pteOf(mm, ro)).isZero();
        assertThat(IommuSvaLib.iommuSvaHandleIopf(prq(pasid, pv, IOMMU_FAULT_PERM_EXEC, rw + 2 * 4096), sva))
                .isEqualTo(IOMMU_PAGE_RESP_INVALID);
        assertThat(MmFault.pteOf(mm, rw + 2 * 4096)).isZero();
        assertThat(IommuSvaLib.iommuSvaHandleIopf(prq(pasid, pv, IOMMU_FAULT_PERM_READ, rw + 64 * 4096), sva))
                .isEqualTo(IOMMU_PAGE_RESP_INVALID);
        assertThat(IommuSvaLib.iommuSvaHandleIopf(prq(pasid, 0, IOMMU_FAULT_PERM_READ, rw + 3 * 4096), sva))
                .isEqualTo(IOMMU_PAGE_RESP_INVALID);
        assertThat(IommuSvaLib.iommuSvaHandleIopf(prq(pasid + 1, pv, IOMMU_FAULT_PERM_READ, rw + 3 * 4096), sva))
                .isEqualTo(IOMMU_PAGE_RESP_INVALID);
        assertThat(MmFault.pteOf(mm, rw + 3 * 4096)).isZero();
        // Every path dropped the reference it took, and left the mmap lock free.
        assertThat(mm.mmUsers.get()).isEqualTo(users);
        assertThat(mm.mmapLock.getReadLockCount()).isZero();
    }

    @Test
    void aFaultErrorIsInvalid() {
        Mm mm = w.mmAlloc();
        long rw = mmapAnon(mm, 4096, PROT_READ | PROT_WRITE);
        sva.iommuSvaAllocPasid(mm, 1, 100);
        // The page-table allocation of the fault fails: VM_FAULT_OOM, answered INVALID.
        FaultInject.failNth(1);
        assertThat(IommuSvaLib.iommuSvaHandleIopf(prq(mm.pasid, IOMMU_FAULT_PAGE_REQUEST_PASID_VALID,
                IOMMU_FAULT_PERM_WRITE, rw), sva)).isEqualTo(IOMMU_PAGE_RESP_INVALID);
        assertThat(FaultInject.fired()).isTrue();
        assertThat(MmFault.pteOf(mm, rw)).isZero();
    }
}
