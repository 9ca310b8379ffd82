package org.iommu4j.ioasid;

import java.util.concurrent.ConcurrentHashMap;
import org.iommu4j.base.Notifier;
import org.iommu4j.base.Port;
import org.iommu4j.base.Refcount;

/**
 * {@code struct ioasid_set} (seed 002): a group of IOASIDs with one owner (a VM, a process's mm),
 * a quota reserved from the system capacity, set-private IDs and its own notifier chain.
 *
 * <p>A set is valid while it is registered in its world's {@code ioasid_sets}; after its last
 * {@code ioasid_set_put} it is dead and every call taking it fails. Mutable fields are protected by
 * {@code ioasid_allocator_lock}; {@link #spids} is a concurrent map so that
 * {@code ioasid_find_by_spid} is lock-free.
 */
@Port(value = "include/linux/ioasid.h:ioasid_set", seed = "002")
public final class IoasidSet {
    /** The owner's token (an mm for IOASID_SET_TYPE_MM, null for IOASID_SET_TYPE_NULL). */
    public final Object token;
    /** IOASID_SET_TYPE_NULL or IOASID_SET_TYPE_MM. */
    public final int type;
    /** Index in the world's {@code ioasid_sets}. */
    public final int id;

    /** Maximum number of IOASIDs (unsigned). */
    int quota;
    /** IOASIDs currently charged to the set, FREE_PENDING ones included. */
    int nrIoasids;
    final Refcount ref = new Refcount(1);
    /** The set's notifier chain (v4 {@code nh}). */
    final Notifier.Atomic nh = new Notifier.Atomic();
    /** Head of the list of the set's IOASIDs, in allocation order (walks sort it by ID). */
    IoasidData head;
    IoasidData tail;
    /** spid -> IOASID, for the IDs with a set-private ID attached. */
    final ConcurrentHashMap<Integer, IoasidData> spids = new ConcurrentHashMap<>();
    /** Cleared when the set is freed. */
    volatile boolean live = true;

    IoasidSet(Object token, int type, int quota, int id) {
        this.token = token;
        this.type = type;
        this.quota = quota;
        this.id = id;
    }

    /** The set's quota (read without the lock: a snapshot). */
    public int quota() {
        return quota;
    }

    /** IOASIDs charged to the set (read without the lock: a snapshot). */
    public int nrIoasids() {
        return nrIoasids;
    }

    @Override
    public String toString() {
        return "ioasid_set{id=" + id + ", type=" + type + ", quota=" + Integer.toUnsignedString(quota)
                + ", nr_ioasids=" + nrIoasids + "}";
    }
}
