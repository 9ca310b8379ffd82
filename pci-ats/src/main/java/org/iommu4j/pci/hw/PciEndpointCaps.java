package org.iommu4j.pci.hw;

import java.util.List;

/**
 * What an endpoint model implements: identity, PCIe port type and the PASID, ATS, PRI and ACS
 * capabilities with their read-only fields, its BARs, MSI and MSI-X, and vendor-specific
 * capabilities. Immutable; build one with {@link #builder()}.
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
 * @param bars            the BARs the function implements, by index (none: an empty list)
 * @param msix            MSI-X capability present
 * @param msixVectors     MSI-X Table entries (1..2048; Table Size + 1)
 * @param msixTableBar    BIR of the MSI-X Table (a memory BAR of {@code bars})
 * @param msixTableOffset offset of the Table in that BAR (QWORD aligned)
 * @param msixPbaBar      BIR of the Pending Bit Array
 * @param msixPbaOffset   offset of the PBA in its BAR (QWORD aligned)
 * @param revisionId      Revision ID register
 * @param subsystemVendorId Subsystem Vendor ID register
 * @param subsystemId     Subsystem ID register
 * @param interruptPin    Interrupt Pin register: 0 none, 1..4 INTA..INTD
 * @param pcieCapability  a PCI Express capability (and the extended configuration space behind it);
 *                        false: a conventional PCI function, as QEMU builds a virtio function on
 *                        a PCIe root bus, with no extended capabilities
 * @param vendorCaps      vendor-specific capabilities (PCI 3.0 6.7, ID 09h), laid out in this order
 */
public record PciEndpointCaps(int vendorId, int deviceId, int classCode, int pcieType, boolean endEndPrefix,
                              boolean pasid, int pasidWidth, boolean pasidExec, boolean pasidPriv,
                              boolean ats, int atsQdep, boolean atsPageAligned,
                              boolean pri, int priMaxReqs, boolean priPasidRequired,
                              boolean acs, int acsCap, int atcEntries,
                              boolean msi, int msiMmc, boolean msi64, boolean msiMask, List<PciBar> bars,
                              boolean msix, int msixVectors, int msixTableBar, long msixTableOffset, int msixPbaBar,
                              long msixPbaOffset, int revisionId, int subsystemVendorId, int subsystemId,
                              int interruptPin, boolean pcieCapability, List<PciVendorCap> vendorCaps) {

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
        bars = List.copyOf(bars);
        vendorCaps = List.copyOf(vendorCaps);
        if (interruptPin < 0 || interruptPin > 4) {
            throw new IllegalArgumentException("Interrupt Pin " + interruptPin + " not in 0..4");
        }
        if (!pcieCapability && (pasid || ats || pri || acs)) {
            // PCIe r5 7.9: extended capabilities live in the extended configuration space,
            // which only a PCI Express function has
            throw new IllegalArgumentException("PASID, ATS, PRI and ACS need the PCI Express capability");
        }
        boolean[] used = new boolean[PcieSpec.BAR_COUNT];
        for (PciBar b : bars) {
            int slots = b.type() == PciBar.MEM64 ? 2 : 1;
            for (int i = b.index(); i < b.index() + slots; i++) {
                if (used[i]) {
                    throw new IllegalArgumentException("BAR register " + i + " used twice");
                }
                used[i] = true;
            }
        }
        if (msix) {
            if (msixVectors < 1 || msixVectors > PcieSpec.MSIX_MAX_VECTORS) {
                throw new IllegalArgumentException("MSI-X vectors " + msixVectors + " not in 1..2048");
            }
            long tableLen = (long) msixVectors * PcieSpec.MSIX_ENTRY_SIZE;
            long pbaLen = msixPbaBytes(msixVectors);
            checkMsixRegion(bars, "Table", msixTableBar, msixTableOffset, tableLen);
            checkMsixRegion(bars, "PBA", msixPbaBar, msixPbaOffset, pbaLen);
            if (msixTableBar == msixPbaBar && msixTableOffset < msixPbaOffset + pbaLen
                    && msixPbaOffset < msixTableOffset + tableLen) {
                throw new IllegalArgumentException("MSI-X Table and PBA overlap");
            }
        }
    }

    /** Bytes of a Pending Bit Array for {@code vectors}: whole QWORDs (PCI 3.0 6.8.2.10). */
    public static long msixPbaBytes(int vectors) {
        return (vectors + 63L) / 64 * 8;
    }

    private static void checkMsixRegion(List<PciBar> bars, String what, int bir, long off, long len) {
        PciBar bar = null;
        for (PciBar b : bars) {
            if (b.index() == bir) {
                bar = b;
            }
        }
        if (bar == null || bar.isIo()) {
            throw new IllegalArgumentException("MSI-X " + what + " in BAR " + bir + ", which is no memory BAR");
        }
        if ((off & 7) != 0 || off < 0 || off + len > bar.size()) {
            throw new IllegalArgumentException(String.format("MSI-X %s at 0x%x (+0x%x) is not a QWORD-aligned"
                    + " region inside BAR %d (0x%x bytes)", what, off, len, bir, bar.size()));
        }
    }

    /** The BAR at register {@code index}, or null. */
    public PciBar bar(int index) {
        for (PciBar b : bars) {
            if (b.index() == index) {
                return b;
            }
        }
        return null;
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
        b.bars = new java.util.ArrayList<>(bars);
        b.msix = msix;
        b.msixVectors = msixVectors;
        b.msixTableBar = msixTableBar;
        b.msixTableOffset = msixTableOffset;
        b.msixPbaBar = msixPbaBar;
        b.msixPbaOffset = msixPbaOffset;
        b.revisionId = revisionId;
        b.subsystemVendorId = subsystemVendorId;
        b.subsystemId = subsystemId;
        b.interruptPin = interruptPin;
        b.pcieCapability = pcieCapability;
        b.vendorCaps = new java.util.ArrayList<>(vendorCaps);
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
        List<PciBar> bars = new java.util.ArrayList<>();
        boolean msix = false;
        int msixVectors = 0;
        int msixTableBar = 0;
        long msixTableOffset = 0;
        int msixPbaBar = 0;
        long msixPbaOffset = 0;
        int revisionId = 0x01;
        /** -1: the Vendor ID (QEMU's default subsystem IDs are its own vendor's). */
        int subsystemVendorId = -1;
        int subsystemId = 0x1100;
        int interruptPin = 0;
        boolean pcieCapability = true;
        List<PciVendorCap> vendorCaps = new java.util.ArrayList<>();

        public Builder revision(int rev) {
            this.revisionId = rev;
            return this;
        }

        public Builder subsystem(int vendor, int device) {
            this.subsystemVendorId = vendor;
            this.subsystemId = device;
            return this;
        }

        /** Interrupt Pin: 1..4 for INTA..INTD (the pin is reported, INTx messages are not modelled). */
        public Builder interruptPin(int pin) {
            this.interruptPin = pin;
            return this;
        }

        /**
         * A conventional PCI function: no PCI Express capability, no PASID, ATS, PRI or ACS (what
         * QEMU builds for a virtio function on a PCIe root bus).
         */
        public Builder conventional() {
            this.pcieCapability = false;
            return noPasid().noAts().noPri().noAcs();
        }

        /** With or without the PCI Express capability (without it, add no extended capability). */
        public Builder pcieCapability(boolean on) {
            this.pcieCapability = on;
            return this;
        }

        public Builder noAcs() {
            this.acs = false;
            this.acsCap = 0;
            return this;
        }

        /** Appends a vendor-specific capability. */
        public Builder vendorCap(PciVendorCap cap) {
            vendorCaps.add(cap);
            return this;
        }

        /** Adds a BAR (replacing one at the same register). */
        public Builder bar(PciBar bar) {
            bars.removeIf(b -> b.index() == bar.index());
            bars.add(bar);
            return this;
        }

        public Builder noBars() {
            bars.clear();
            return this;
        }

        /**
         * An MSI-X capability with {@code vectors} Table entries, the Table at
         * {@code tableOffset} of BAR {@code tableBar} and the PBA at {@code pbaOffset} of BAR
         * {@code pbaBar} (the BARs added with {@link #bar}).
         */
        public Builder msix(int vectors, int tableBar, long tableOffset, int pbaBar, long pbaOffset) {
            this.msix = true;
            this.msixVectors = vectors;
            this.msixTableBar = tableBar;
            this.msixTableOffset = tableOffset;
            this.msixPbaBar = pbaBar;
            this.msixPbaOffset = pbaOffset;
            return this;
        }

        public Builder noMsix() {
            this.msix = false;
            this.msixVectors = 0;
            return this;
        }

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
                    atcEntries, msi, msiMmc, msi64, msiMask, bars, msix, msixVectors, msixTableBar, msixTableOffset,
                    msixPbaBar, msixPbaOffset, revisionId, subsystemVendorId < 0 ? vendorId : subsystemVendorId,
                    subsystemId, interruptPin, pcieCapability, vendorCaps);
        }
    }
}
