package org.iommu4j.base.hw;

/**
 * A PCIe Page Request Message (PCIe r5 10.4.1): requester, optional PASID, page address, access
 * requested, the Page Request Group index and whether it is the group's last request.
 */
public record PageRequest(int sid, int pasid, boolean pasidValid, boolean priv, boolean exec, boolean read,
                          boolean write, long addr, int prgIndex, boolean last) {
    public static final int NO_PASID = -1;

    /**
     * A Stop PASID Marker (PCIe r5 10.4.1.2): Last set, Read and Write clear, with a PASID. It
     * asks for no page and is never answered; without a PASID the same bits are a page request.
     */
    public boolean stopMarker() {
        return pasidValid && last && !read && !write;
    }
}
