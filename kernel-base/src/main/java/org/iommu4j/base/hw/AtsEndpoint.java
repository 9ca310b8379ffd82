package org.iommu4j.base.hw;

/**
 * The downstream side of a PCIe endpoint that the IOMMU talks to: ATC invalidations and PRG
 * responses. The board registers each endpoint under its StreamID(s) in an
 * {@link EndpointRegistry}.
 */
public interface AtsEndpoint {
    /** Invalidation results: the Invalidate Completion came back. */
    int INV_OK = 0;
    /** No Invalidate Completion within the completion timeout. */
    int INV_TIMEOUT = 1;
    /** The endpoint answered Unsupported Request: no invalidation may have been done. */
    int INV_UNSUPPORTED = 2;

    /** Performs the invalidation and returns when its completion would be received. */
    int atcInvalidate(AtcInvalidation inv);

    /** Delivers a PRG response. */
    void pageResponse(PageResponse resp);
}
