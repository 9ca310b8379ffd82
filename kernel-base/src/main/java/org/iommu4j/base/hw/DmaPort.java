package org.iommu4j.base.hw;

/**
 * The upstream port a bus master (a platform device or a PCI endpoint behind a root complex)
 * issues transactions into: an IOMMU implements it; {@link #DIRECT} is the identity (no IOMMU).
 *
 * <p>{@link #translate} must be allocation-free on its hit path and may be called concurrently
 * from many device threads. {@link #pageRequest} carries PCIe PRI Page Request Messages
 * upstream; the IOMMU answers later through {@link AtsEndpoint#pageResponse}.
 */
public interface DmaPort {
    void translate(DmaTransaction txn, DmaResult res);

    /** A PRI page request message; IOMMUs without PRI drop it. */
    default void pageRequest(PageRequest req) {}

    /** No translation: the input address is the physical address, every access allowed. */
    DmaPort DIRECT = (txn, res) -> res.ok(txn.addr, DmaResult.PERM_R | DmaResult.PERM_W | DmaResult.PERM_X | DmaResult.PERM_PRIV);
}
