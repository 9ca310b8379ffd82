package org.iommu4j.base.hw;

/**
 * One upstream bus transaction as an IOMMU sees it: StreamID, optional SubstreamID (PASID),
 * input address, size, and the access attributes. Mutable and reusable so a device model's DMA
 * loop allocates nothing; a transaction must not cross a 4 KiB boundary (PCIe forbids it; device
 * models split bursts).
 *
 * <p>{@link #ats} marks a PCIe ATS Translation Request instead of an access: the IOMMU then
 * answers with a translation (address, permissions) and never records a fault event for it, so
 * the device can use PRI.
 */
public final class DmaTransaction {
    public static final int ACC_READ = 1;
    public static final int ACC_WRITE = 2;
    /** Instruction fetch (InD = 1). */
    public static final int ACC_EXEC = 4;
    /** Privileged (PnU = 1). */
    public static final int ACC_PRIV = 8;

    /** No SubstreamID on the transaction. */
    public static final int NO_SSID = -1;

    public int sid;
    public int ssid = NO_SSID;
    public long addr;
    public int size;
    public int access;
    /** ATS Translation Request. */
    public boolean ats;
    /** Address already translated by the device's ATC (PCIe AT = Translated). */
    public boolean translated;

    public DmaTransaction set(int sid, int ssid, long addr, int size, int access) {
        this.sid = sid;
        this.ssid = ssid;
        this.addr = addr;
        this.size = size;
        this.access = access;
        this.ats = false;
        this.translated = false;
        return this;
    }

    public boolean ssidValid() {
        return ssid != NO_SSID;
    }

    public boolean isWrite() {
        return (access & ACC_WRITE) != 0;
    }

    public boolean isExec() {
        return (access & ACC_EXEC) != 0;
    }

    public boolean isPriv() {
        return (access & ACC_PRIV) != 0;
    }

    @Override
    public String toString() {
        return "txn{sid=0x" + Integer.toHexString(sid) + (ssidValid() ? " ssid=0x" + Integer.toHexString(ssid) : "")
                + " addr=0x" + Long.toHexString(addr) + " size=" + size + " " + (isWrite() ? "W" : "R")
                + (isExec() ? "X" : "") + (isPriv() ? "P" : "") + (ats ? " ATS" : "") + (translated ? " AT" : "") + "}";
    }
}
