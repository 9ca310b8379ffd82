package org.iommu4j.base.hw;

/**
 * A PCIe Page Request Message (PCIe r5 10.4.1): requester, optional PASID, page address, access
 * requested, the Page Request Group index and whether it is the group's last request.
 */
public record PageRequest(int sid, int pasid, boolean pasidValid, boolean priv, boolean exec, boolean read,
                          boolean write, long addr, int prgIndex, boolean last) {
    public static final int NO_PASID = -1;
}
