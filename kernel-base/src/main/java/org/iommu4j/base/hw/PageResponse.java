package org.iommu4j.base.hw;

/** A PCIe PRG Response Message (PCIe r5 10.4.2) sent downstream to a device. */
public record PageResponse(int sid, int pasid, boolean pasidValid, int prgIndex, int code) {
    public static final int SUCCESS = 0x0;
    public static final int INVALID_REQUEST = 0x1;
    public static final int FAILURE = 0xf;
}
