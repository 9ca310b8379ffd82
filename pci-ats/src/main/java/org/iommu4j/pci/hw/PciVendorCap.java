package org.iommu4j.pci.hw;

/**
 * A vendor-specific capability (PCI 3.0 6.7, Capability ID 09h): the ID, the Next pointer (the
 * function fills it in as it chains its capabilities), a Capability Length byte giving the
 * whole capability's size, then vendor data. {@code wmask} says which bits software may write
 * (the header bytes never); everything else is read-only.
 */
public record PciVendorCap(byte[] bytes, byte[] wmask) {
    public PciVendorCap {
        if (bytes.length < 3 || bytes.length > 0xc0) {
            throw new IllegalArgumentException("vendor capability of " + bytes.length + " bytes");
        }
        if ((bytes[0] & 0xff) != PcieSpec.CAP_ID_VNDR) {
            throw new IllegalArgumentException(String.format("capability ID 0x%02x is not vendor-specific", bytes[0] & 0xff));
        }
        if ((bytes[2] & 0xff) != bytes.length) {
            throw new IllegalArgumentException(String.format("Capability Length 0x%02x for %d bytes", bytes[2] & 0xff,
                    bytes.length));
        }
        if (wmask.length != bytes.length || wmask[0] != 0 || wmask[1] != 0 || wmask[2] != 0) {
            throw new IllegalArgumentException("write mask must cover the capability and spare its header");
        }
        bytes = bytes.clone();
        wmask = wmask.clone();
    }

    /** A read-only capability. */
    public PciVendorCap(byte[] bytes) {
        this(bytes, new byte[bytes.length]);
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public byte[] wmask() {
        return wmask.clone();
    }

    public int length() {
        return bytes.length;
    }
}
