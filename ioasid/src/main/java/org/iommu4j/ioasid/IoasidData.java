package org.iommu4j.ioasid;

import static org.iommu4j.ioasid.Ioasid.INVALID_IOASID;

import org.iommu4j.base.Port;
import org.iommu4j.base.Refcount;

/**
 * {@code struct ioasid_data}: one allocated IOASID.
 *
 * <p>{@code id}, {@code set} are written before the entry is published in the allocator's table
 * and never change afterwards, so lock-free readers may use them. {@code private_} is the
 * RCU-protected pointer: volatile. Everything else is protected by {@code ioasid_allocator_lock}.
 */
@Port("drivers/iommu/ioasid.c:ioasid_data")
final class IoasidData {
    /** States (seed 002 v4: IOASID_STATE_*). */
    static final byte IOASID_STATE_IDLE = 0;
    static final byte IOASID_STATE_ACTIVE = 1;
    static final byte IOASID_STATE_FREE_PENDING = 2;
    static final byte IOASID_STATE_FREED = 3;

    int id;
    IoasidSet set;
    volatile Object private_;
    /** Set-private ID (guest PASID), INVALID_IOASID when none is attached. */
    int spid = INVALID_IOASID;
    byte state;
    final Refcount refs = new Refcount(1);
    /** Links in the owning set's list of IDs (the set's xarray in the seed). */
    IoasidData setPrev;
    IoasidData setNext;
}
