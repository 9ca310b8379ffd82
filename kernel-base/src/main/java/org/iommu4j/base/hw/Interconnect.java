package org.iommu4j.base.hw;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The coherent interconnect's distributed-virtual-memory (DVM) channel: CPUs broadcast TLB
 * maintenance (arm64 TLBI ...IS) and every listening agent, e.g. an SMMU with Broadcast TLB
 * Maintenance (BTM), receives it. Listeners run on the broadcasting thread before the broadcast
 * returns (the DSB that completes a TLBI waits for all agents).
 */
public final class Interconnect {
    /** A broadcast TLB invalidation. */
    public record Tlbi(Kind kind, int asid, int vmid, long va, boolean leaf, int granuleShift, long pages) {
        public enum Kind {
            /** TLBI VMALLE1IS: all entries of the current VMID. */
            ALL,
            /** TLBI ASIDE1IS. */
            ASID,
            /** TLBI VAE1IS / VALE1IS (one page or, with pages > 1, a range). */
            VA,
            /** TLBI VAAE1IS: the VA for every ASID. */
            VAA
        }
    }

    /** A DVM participant. */
    public interface TlbiListener {
        void tlbi(Tlbi op);
    }

    private final List<TlbiListener> listeners = new CopyOnWriteArrayList<>();

    public AutoCloseable addListener(TlbiListener l) {
        listeners.add(l);
        return () -> listeners.remove(l);
    }

    public void broadcast(Tlbi op) {
        for (TlbiListener l : listeners) {
            l.tlbi(op);
        }
    }

    public boolean hasListeners() {
        return !listeners.isEmpty();
    }
}
