package org.iommu4j.pci.hw;

/**
 * What an endpoint model implements: identity, PCIe port type and the PASID, ATS, PRI and ACS
 * capabilities with their read-only fields. Immutable; build one with {@link #builder()}.
 *
 * @param vendorId        Vendor ID register
 * @param deviceId        Device ID register
 * @param classCode       24-bit class code (base, sub, prog-if)
 * @param pcieType        Device/Port Type in the PCI Express Capabilities register
 * @param endEndPrefix    Device Capabilities 2 "End-End TLP Prefix Supported"
 * @param pasid           PASID extended capability present
 * @param pasidWidth      Max PASID Width (0..20): PASIDs 0 .. 2^width - 1
 * @param pasidExec       Execute Permission Supported
 * @param pasidPriv       Privileged Mode Supported
 * @param ats             ATS extended capability present
 * @param atsQdep         Invalidate Queue Depth field (0 encodes 32)
 * @param atsPageAligned  Page Aligned Request bit
 * @param pri             Page Request extended capability present
 * @param priMaxReqs      Outstanding Page Request Capacity
 * @param priPasidRequired PRG Response PASID Required
 * @param acs             ACS extended capability present
 * @param acsCap          ACS Capability register bits (ACS_SV ... ACS_DT)
 * @param atcEntries      device-side ATC capacity (entries)
 * @param msi             MSI capability present
 * @param msiMmc          Multiple Message Capable: log2 of the vectors the function can use (0..5)
 * @param msi64           64 bit Address Capable
 * @param msiMask         Per-Vector Masking Capable
 */
public record PciEndpointCaps(int vendorId, int deviceId, int classCode, int pcieType, boolean endEndPrefix,
                              boolean pasid, int pasidWidth, boolean pasidExec, boolean pasidPriv,
                              boolean ats, int atsQdep, boolean atsPageAligned,
                              boolean pri, int priMaxReqs, boolean priPasidRequired,
                              boolean acs, int acsCap, int atcEntries,
                              boolean msi, int msiMmc, boolean msi64, boolean msiMask) {

    public PciEndpointCaps {
        if (pasidWidth < 0 || pasidWidth > 20) {
            throw new IllegalArgumentException("PASID width " + pasidWidth + " not in 0..20");
        }
        if (atsQdep < 0 || atsQdep > 31) {
            throw new IllegalArgumentException("ATS queue depth field " + atsQdep + " not in 0..31");
        }
        if (msiMmc < 0 || msiMmc > 5) {
            throw new IllegalArgumentException("MSI Multiple Message Capable " + msiMmc + " not in 0..5");
        }
        if (atcEntries < 1) {
            throw new IllegalArgumentException("ATC needs at least one entry");
        }
    }

    /** A device with every capability: 20-bit PASIDs with exec and priv, ATS, PRI for 32 requests. */
    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.vendorId = vendorId;
        b.deviceId = deviceId;
        b.classCode = classCode;
        b.pcieType = pcieType;
        b.endEndPrefix = endEndPrefix;
        b.pasid = pasid;
        b.pasidWidth = pasidWidth;
        b.pasidExec = pasidExec;
        b.pasidPriv = pasidPriv;
        b.ats = ats;
        b.atsQdep = atsQdep;
        b.atsPageAligned = atsPageAligned;
        b.pri = pri;
        b.priMaxReqs = priMaxReqs;
        b.priPasidRequired = priPasidRequired;
        b.acs = acs;
        b.acsCap = acsCap;
        b.atcEntries = atcEntries;
        b.msi = msi;
        b.msiMmc = msiMmc;
        b.msi64 = msi64;
        b.msiMask = msiMask;
        return b;
    }

    /** Mutable builder; defaults describe a fully capable RC-integrated endpoint. */
    public static final class Builder {
        int vendorId = 0x1b36;
        int deviceId = 0x0101;
        int classCode = 0x088000;
        int pcieType = PcieSpec.PCIE_TYPE_RC_INTEGRATED_ENDPOINT;
        boolean endEndPrefix = true;
        boolean pasid = true;
        int pasidWidth = 20;
        boolean pasidExec = true;
        boolean pasidPriv = true;
        boolean ats = true;
        int atsQdep = 0;
        boolean atsPageAligned = true;
        boolean pri = true;
        int priMaxReqs = 32;
        boolean priPasidRequired = true;
        boolean acs = false;
        int acsCap = 0;
        int atcEntries = 32;
        boolean msi = false;
        int msiMmc = 0;
        boolean msi64 = false;
        boolean msiMask = false;

        public Builder ids(int vendor, int device) {
            this.vendorId = vendor;
            this.deviceId = device;
            return this;
        }

        public Builder classCode(int cc) {
            this.classCode = cc;
            return this;
        }

        public Builder pcieType(int type) {
            this.pcieType = type;
            return this;
        }

        public Builder endEndPrefix(boolean on) {
            this.endEndPrefix = on;
            return this;
        }

        /** PASID capability with {@code width} bits and the exec/priv support bits. */
        public Builder pasid(int width, boolean exec, boolean priv) {
            this.pasid = true;
            this.pasidWidth = width;
            this.pasidExec = exec;
            this.pasidPriv = priv;
            return this;
        }

        public Builder noPasid() {
            this.pasid = false;
            this.pasidWidth = 0;
            this.pasidExec = false;
            this.pasidPriv = false;
            return this;
        }

        public Builder ats(int qdepField, boolean pageAligned) {
            this.ats = true;
            this.atsQdep = qdepField;
            this.atsPageAligned = pageAligned;
            return this;
        }

        public Builder noAts() {
            this.ats = false;
            return this;
        }

        public Builder pri(int maxReqs, boolean pasidRequired) {
            this.pri = true;
            this.priMaxReqs = maxReqs;
            this.priPasidRequired = pasidRequired;
            return this;
        }

        public Builder noPri() {
            this.pri = false;
            return this;
        }

        public Builder acs(int capBits) {
            this.acs = true;
            this.acsCap = capBits;
            return this;
        }

        public Builder atcEntries(int n) {
            this.atcEntries = n;
            return this;
        }

        /**
         * An MSI capability for {@code 1 << mmc} vectors, with 64-bit addresses and per-vector
         * masking as asked. Without this call the function has no MSI capability.
         */
        public Builder msi(int mmc, boolean addr64, boolean perVectorMask) {
            this.msi = true;
            this.msiMmc = mmc;
            this.msi64 = addr64;
            this.msiMask = perVectorMask;
            return this;
        }

        public Builder noMsi() {
            this.msi = false;
            this.msiMmc = 0;
            this.msi64 = false;
            this.msiMask = false;
            return this;
        }

        /**
         * @throws IllegalArgumentException for ACS Source Validation, Translation Blocking or
         *         Upstream Forwarding: PCIe r5 7.7.8.2 requires them of Root Ports and Switch
         *         Downstream Ports and hardwires them to 0 in every other function, so an
         *         endpoint (the only kind this model is) cannot offer them
         */
        public PciEndpointCaps build() {
            int portOnly = PcieSpec.ACS_SV | PcieSpec.ACS_TB | PcieSpec.ACS_UF;
            if (acs && (acsCap & portOnly) != 0) {
                throw new IllegalArgumentException(String.format(
                        "ACS capability 0x%x: SV, TB and UF are for ports and read 0 in an endpoint", acsCap));
            }
            return new PciEndpointCaps(vendorId, deviceId, classCode, pcieType, endEndPrefix, pasid, pasidWidth,
                    pasidExec, pasidPriv, ats, atsQdep, atsPageAligned, pri, priMaxReqs, priPasidRequired, acs, acsCap,
                    atcEntries, msi, msiMmc, msi64, msiMask);
        }
    }
}
