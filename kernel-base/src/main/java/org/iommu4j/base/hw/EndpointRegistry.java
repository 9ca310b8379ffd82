package org.iommu4j.base.hw;

import org.eclipse.collections.impl.map.mutable.primitive.IntObjectHashMap;

/** StreamID to endpoint wiring, filled in by the board as it plugs devices behind an IOMMU. */
public final class EndpointRegistry {
    private final IntObjectHashMap<AtsEndpoint> bySid = new IntObjectHashMap<>();

    public synchronized void register(int sid, AtsEndpoint ep) {
        bySid.put(sid, ep);
    }

    public synchronized void unregister(int sid) {
        bySid.remove(sid);
    }

    /** The endpoint behind {@code sid}, or null. */
    public synchronized AtsEndpoint lookup(int sid) {
        return bySid.get(sid);
    }
}
