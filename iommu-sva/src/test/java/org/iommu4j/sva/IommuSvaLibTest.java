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
        long va = Mmap.vm_mmap(mm, 0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS);
        assertThat(MmH.IS_ERR_VALUE(va)).as("mmap").isFalse();
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
        Mm mm = w.mm_alloc();
        assertThat(sva.iommu_sva_alloc_pasid(mm, 0, 10)).isEqualTo(-EINVAL);
        assertThat(sva.iommu_sva_alloc_pasid(mm, INVALID_IOASID, 10)).isEqualTo(-EINVAL);
        assertThat(sva.iommu_sva_alloc_pasid(mm, 1, INVALID_IOASID)).isEqualTo(-EINVAL);
        assertThat(sva.iommu_sva_alloc_pasid(mm, 10, 9)).isEqualTo(-EINVAL);
        assertThat(mm.pasid).isZero();
        assertThat(ioasid.ioasid_count()).isZero();
    }

    @Test
    void oneMmOnePasidSharedByReference() {
        Mm mm = w.mm_alloc();
        assertThat(sva.iommu_sva_alloc_pasid(mm, 1, 0xfffff)).isZero();
        int pasid = mm.pasid;
        assertThat(pasid).isEqualTo(1);
        assertThat(ioasid.ioasid_refcount(pasid)).isEqualTo(1);
        // A second bind of the same mm (another device) takes a reference on the same PASID.
        assertThat(sva.iommu_sva_alloc_pasid(mm, 1, 15)).isZero();
        assertThat(mm.pasid).isEqualTo(pasid);
        assertThat(ioasid.ioasid_refcount(pasid)).isEqualTo(2);
        // A device whose PASID range does not hold it cannot share it.
        assertThat(sva.iommu_sva_alloc_pasid(mm, 2, 15)).isEqualTo(-EOVERFLOW);
        assertThat(ioasid.ioasid_refcount(pasid)).isEqualTo(2);
        // Another mm gets another PASID.
        Mm mm2 = w.mm_alloc();
        assertThat(sva.iommu_sva_alloc_pasid(mm2, 1, 15)).isZero();
        assertThat(mm2.pasid).isEqualTo(2);

        sva.iommu_sva_free_pasid(mm);
        assertThat(mm.pasid).isEqualTo(pasid);
        assertThat(sva.iommu_sva_find(pasid)).isSameAs(mm);
        mm.mmput();
        sva.iommu_sva_free_pasid(mm);
        assertThat(mm.pasid).isZero();
        assertThatThrownBy(() -> sva.iommu_sva_find(pasid))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.err()).isEqualTo(-ENOENT));
        // The freed PASID is the next one handed out.
        Mm mm3 = w.mm_alloc();
        assertThat(sva.iommu_sva_alloc_pasid(mm3, 1, 15)).isZero();
        assertThat(mm3.pasid).isEqualTo(pasid);
    }

    /** Any non-zero {@code mm->pasid} is the mm's PASID: reused if in range, never replaced. */
    @Test
    void nonZeroMmPasidIsNeverReplaced() {
        Mm mm = w.mm_alloc();
        mm.pasid = INVALID_IOASID;
        assertThat(sva.iommu_sva_alloc_pasid(mm, 1, 0xfffff)).isEqualTo(-EOVERFLOW);
        assertThat(mm.pasid).isEqualTo(INVALID_IOASID);
        assertThat(ioasid.ioasid_count()).isZero();
    }

    @Test
    void setQuotaAndRangeExhaustionGiveEnomem() {
        IommuSvaLib small = new IommuSvaLib(ioasid, 2);
        Mm a = w.mm_alloc();
        Mm b = w.mm_alloc();
        Mm c = w.mm_alloc();
        assertThat(small.iommu_sva_alloc_pasid(a, 1, 100)).isZero();
        assertThat(small.iommu_sva_alloc_pasid(b, 1, 100)).isZero();
        assertThat(small.iommu_sva_alloc_pasid(c, 1, 100)).isEqualTo(-ENOMEM);
        assertThat(c.pasid).isZero();
        // A one-PASID range that is taken.
        assertThat(sva.iommu_sva_alloc_pasid(c, a.pasid, a.pasid)).isEqualTo(-ENOMEM);
        // Out of memory for the IOASID's data.
        FaultInject.failNth(1);
        assertThat(sva.iommu_sva_alloc_pasid(c, 1, 100)).isEqualTo(-ENOMEM);
        assertThat(c.pasid).isZero();
        small.iommu_sva_free_pasid(a);
        assertThat(small.iommu_sva_alloc_pasid(c, 1, 100)).isZero();
        // No capacity left for a set: the constructor reports -ENOSPC.
        assertThatThrownBy(() -> new IommuSvaLib(new Ioasid(), Ioasid.PCI_PASID_MAX + 1))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.err()).isEqualTo(-ENOSPC));
    }

    @Test
    void findTakesAnMmUsersReferenceAndChecksTheOwner() {
        Mm mm = w.mm_alloc();
        sva.iommu_sva_alloc_pasid(mm, 1, 100);
        int users = mm.mm_users.get();
        assertThat(sva.iommu_sva_find(mm.pasid)).isSameAs(mm);
        assertThat(mm.mm_users.get()).isEqualTo(users + 1);
        mm.mmput();
        // A PASID of another user of the allocator is not SVA's.
        int other = ioasid.ioasid_alloc(null, 200, 300, "not an mm");
        assertThatThrownBy(() -> sva.iommu_sva_find(other))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.err()).isEqualTo(-EACCES));
        assertThatThrownBy(() -> sva.iommu_sva_find(77))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.err()).isEqualTo(-ENOENT));
        // The process exits while its PASID is still allocated (a bond holds mm_count): the
        // PASID is found but its mm has no users left, so the lookup gives null.
        Mm gone = w.mm_alloc();
        assertThat(sva.iommu_sva_alloc_pasid(gone, 1, 100)).isZero();
        gone.mmgrab();
        gone.mmput();
        assertThat(gone.exited()).isTrue();
        assertThat(sva.iommu_sva_find(gone.pasid)).isNull();
        assertThat(gone.mm_users.get()).isZero();
        sva.iommu_sva_free_pasid(gone);
        gone.mmdrop();
    }

    @Test
    void pageRequestsAreResolvedInTheMmOfTheirPasid() {
        Mm mm = w.mm_alloc();
        long rw = mmapAnon(mm, 4 * 4096, PROT_READ | PROT_WRITE);
        long ro = mmapAnon(mm, 4096, PROT_READ);
        long x = mmapAnon(mm, 4096, PROT_READ | PROT_EXEC);
        sva.iommu_sva_alloc_pasid(mm, 1, 100);
        int pasid = mm.pasid;
        int users = mm.mm_users.get();
        int pv = IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;

        // A read maps the zero page; a write a fresh writable page.
        try (var cap = Trace.capture("mm:handle_mm_fault")) {
            assertThat(IommuSvaLib.iommu_sva_handle_iopf(prq(pasid, pv, IOMMU_FAULT_PERM_READ, rw), sva))
                    .isEqualTo(IOMMU_PAGE_RESP_SUCCESS);
            assertThat(IommuSvaLib.iommu_sva_handle_iopf(prq(pasid, pv,
                    IOMMU_FAULT_PERM_READ | IOMMU_FAULT_PERM_WRITE, rw + 4096 + 0x10), sva)).isEqualTo(IOMMU_PAGE_RESP_SUCCESS);
            assertThat(IommuSvaLib.iommu_sva_handle_iopf(prq(pasid, pv,
                    IOMMU_FAULT_PERM_READ | IOMMU_FAULT_PERM_EXEC | IOMMU_FAULT_PERM_PRIV, x), sva)).isEqualTo(IOMMU_PAGE_RESP_SUCCESS);
            // The fault flags: remote always; user unless privileged; write; instruction.
            assertThat(cap.records()).extracting(r -> ((Number) r.field("flags")).intValue()).containsExactly(
                    FAULT_FLAG_REMOTE | FAULT_FLAG_USER,
                    FAULT_FLAG_REMOTE | FAULT_FLAG_USER | FAULT_FLAG_WRITE,
                    FAULT_FLAG_REMOTE | FAULT_FLAG_INSTRUCTION);
        }
        assertThat(MmFault.pte_of(mm, rw) & OA).isEqualTo(w.zero_page());
        long wpte = MmFault.pte_of(mm, rw + 4096);
        assertThat(Pgtable.pte_write(wpte)).isTrue();
        assertThat(wpte & OA).isNotEqualTo(w.zero_page());
        assertThat(Pgtable.pte_valid(MmFault.pte_of(mm, x))).isTrue();

        // Refused, and nothing mapped: a write to a read-only VMA, exec of a non-exec VMA, an
        // unmapped address, no PASID, an unknown PASID.
        assertThat(IommuSvaLib.iommu_sva_handle_iopf(prq(pasid, pv, IOMMU_FAULT_PERM_WRITE, ro), sva))
                .isEqualTo(IOMMU_PAGE_RESP_INVALID);
        assertThat(MmFault.pte_of(mm, ro)).isZero();
        assertThat(IommuSvaLib.iommu_sva_handle_iopf(prq(pasid, pv, IOMMU_FAULT_PERM_EXEC, rw + 2 * 4096), sva))
                .isEqualTo(IOMMU_PAGE_RESP_INVALID);
        assertThat(MmFault.pte_of(mm, rw + 2 * 4096)).isZero();
        assertThat(IommuSvaLib.iommu_sva_handle_iopf(prq(pasid, pv, IOMMU_FAULT_PERM_READ, rw + 64 * 4096), sva))
                .isEqualTo(IOMMU_PAGE_RESP_INVALID);
        assertThat(IommuSvaLib.iommu_sva_handle_iopf(prq(pasid, 0, IOMMU_FAULT_PERM_READ, rw + 3 * 4096), sva))
                .isEqualTo(IOMMU_PAGE_RESP_INVALID);
        assertThat(IommuSvaLib.iommu_sva_handle_iopf(prq(pasid + 1, pv, IOMMU_FAULT_PERM_READ, rw + 3 * 4096), sva))
                .isEqualTo(IOMMU_PAGE_RESP_INVALID);
        assertThat(MmFault.pte_of(mm, rw + 3 * 4096)).isZero();
        // Every path dropped the reference it took, and left the mmap lock free.
        assertThat(mm.mm_users.get()).isEqualTo(users);
        assertThat(mm.mmap_lock.getReadLockCount()).isZero();
    }

    @Test
    void aFaultErrorIsInvalid() {
        Mm mm = w.mm_alloc();
        long rw = mmapAnon(mm, 4096, PROT_READ | PROT_WRITE);
        sva.iommu_sva_alloc_pasid(mm, 1, 100);
        // The page-table allocation of the fault fails: VM_FAULT_OOM, answered INVALID.
        FaultInject.failNth(1);
        assertThat(IommuSvaLib.iommu_sva_handle_iopf(prq(mm.pasid, IOMMU_FAULT_PAGE_REQUEST_PASID_VALID,
                IOMMU_FAULT_PERM_WRITE, rw), sva)).isEqualTo(IOMMU_PAGE_RESP_INVALID);
        assertThat(FaultInject.fired()).isTrue();
        assertThat(MmFault.pte_of(mm, rw)).isZero();
    }
}
