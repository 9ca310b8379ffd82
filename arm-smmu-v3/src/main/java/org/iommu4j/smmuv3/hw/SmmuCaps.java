package org.iommu4j.smmuv3.hw;

import static org.iommu4j.smmuv3.hw.SmmuV3Internal.*;

/**
 * The capabilities of one simulated SMMU: every field of SMMU_IDR0..IDR5, IIDR and AIDR that
 * the model implements, as an immutable value. {@link #idr0()} .. {@link #aidr()} assemble the
 * ID registers field by field. Tests vary a capability with {@link #toBuilder()}.
 *
 * @param sidSize   IDR1.SIDSIZE: StreamID bits (0..32)
 * @param ssidSize  IDR1.SSIDSIZE: SubstreamID bits (0..20)
 * @param oas       IDR5.OAS encoding (0 = 32 bits .. 5 = 48 bits, 6 = 52 bits)
 * @param stallMax  IDR5.STALL_MAX: the most transactions held stalled at once
 * @param pps       IDR3.PPS: an automatic PRG Response to a PASID-tagged Page Request lost to
 *                  PRI queue overflow carries the PASID without consulting STE.PPAR
 * @param ns1ats    IDR0.NS1ATS: split-stage ATS (STE.EATS = 0b10) is not supported; the model
 *                  does not implement it, so an SMMU with ATS must set this
 */
public record SmmuCaps(
        boolean s1p, boolean s2p, int ttf, boolean cohacc, boolean btm, int httu, boolean hyp, boolean ats,
        boolean asid16, boolean msi, boolean sev, boolean pri, boolean vmid16, boolean cd2l, int ttendian,
        int stallModel, boolean termModel, int stLevel,
        int sidSize, int ssidSize, int priqs, int eventqs, int cmdqs, boolean attrPermsOvr, boolean attrTypesOvr,
        boolean had, boolean xnx, boolean ril, int bbml, boolean pps, boolean ns1ats,
        int oas, boolean gran4k, boolean gran16k, boolean gran64k, int vax, int stallMax,
        int iidr, int aidr) {

    public SmmuCaps {
        if (sidSize < 0 || sidSize > 32 || ssidSize < 0 || ssidSize > 20 || cmdqs > 19 || eventqs > 19 || priqs > 19
                || oas < 0 || oas > 6 || stallModel < 0 || stallModel > 2 || (!s1p && !s2p)) {
            throw new IllegalArgumentException("inconsistent SMMU capabilities");
        }
        if (ats && !ns1ats) {
            throw new IllegalArgumentException("split-stage ATS (IDR0.NS1ATS = 0 with ATS) is not modelled");
        }
    }

    /** These capabilities with IDR0.BTM (broadcast TLB maintenance) set or clear. */
    public SmmuCaps withBtm(boolean b) {
        return new SmmuCaps(s1p, s2p, ttf, cohacc, b, httu, hyp, ats, asid16, msi, sev, pri, vmid16, cd2l, ttendian,
                stallModel, termModel, stLevel, sidSize, ssidSize, priqs, eventqs, cmdqs, attrPermsOvr, attrTypesOvr,
                had, xnx, ril, bbml, pps, ns1ats, oas, gran4k, gran16k, gran64k, vax, stallMax, iidr, aidr);
    }

    /** These capabilities with IDR3.PPS set or clear. */
    public SmmuCaps withPps(boolean b) {
        return new SmmuCaps(s1p, s2p, ttf, cohacc, btm, httu, hyp, ats, asid16, msi, sev, pri, vmid16, cd2l, ttendian,
                stallModel, termModel, stLevel, sidSize, ssidSize, priqs, eventqs, cmdqs, attrPermsOvr, attrTypesOvr,
                had, xnx, ril, bbml, b, ns1ats, oas, gran4k, gran16k, gran64k, vax, stallMax, iidr, aidr);
    }

    /** HTTU encodings of IDR0.HTTU. */
    public static final int HTTU_NONE = 0, HTTU_ACCESS = 1, HTTU_ACCESS_DIRTY = 2;

    /**
     * What QEMU 7.2's virt machine reports with the default {@code stage=1}: IDR0 0x0d40101a,
     * IDR1 0x02730010, IDR3 0x1404, IDR5 0x74, AIDR 1 (SMMUv3.1).
     */
    public static SmmuCaps qemu() {
        return new SmmuCaps(
                /* s1p */ true, /* s2p */ false, /* ttf: AArch64 */ 2, /* cohacc */ true, /* btm */ false,
                /* httu */ HTTU_NONE, /* hyp */ false, /* ats */ false, /* asid16 */ true, /* msi */ false,
                /* sev */ false, /* pri */ false, /* vmid16 (QEMU < 8.1 lacks it) */ false, /* cd2l */ false,
                /* ttendian */ TTENDIAN_LE, /* stall model: terminate only */ STALL_MODEL_TERMINATE,
                /* termModel */ true, /* stLevel: 2-level stream table */ 1,
                /* sidSize */ 16, /* ssidSize */ 0, /* priqs */ 0, /* eventqs */ 19, /* cmdqs */ 19,
                false, false,
                /* had */ true, /* xnx */ false, /* ril */ true, /* bbml */ 2, /* pps */ false, /* ns1ats */ false,
                /* oas: 44 bits */ 4, true, true, true, /* vax */ 0, /* stallMax */ 0,
                /* iidr */ 0, /* aidr: v3.1 */ 1);
    }

    /** Every feature the model implements. */
    public static SmmuCaps full() {
        return new SmmuCaps(
                true, true, 2, true, /* btm */ true, HTTU_ACCESS_DIRTY, /* hyp */ true, /* ats */ true,
                true, /* msi */ true, /* sev */ true, /* pri */ true, /* vmid16 */ true, /* cd2l */ true,
                TTENDIAN_LE, STALL_MODEL_STALL, /* termModel: CD.A chooses */ false, 1,
                /* sidSize */ 16, /* ssidSize */ 20, /* priqs */ 19, 19, 19, false, true,
                true, true, true, 2, /* pps: STE.PPAR decides */ false, /* ns1ats: no split-stage ATS */ true,
                /* oas: 48 bits */ 5, true, true, true, 0, /* stallMax */ 64,
                /* iidr: implementer 0x43b (Arm) */ 0x43b, /* aidr: v3.2 */ 2);
    }

    public int idr0() {
        long v = 0;
        v = FIELD_DP64(v, R_IDR0_S2P_SHIFT, 1, s2p ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_S1P_SHIFT, 1, s1p ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_TTF_SHIFT, R_IDR0_TTF_LENGTH, ttf);
        v = FIELD_DP64(v, R_IDR0_COHACC_SHIFT, 1, cohacc ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_BTM_SHIFT, 1, btm ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_HTTU_SHIFT, R_IDR0_HTTU_LENGTH, httu);
        v = FIELD_DP64(v, R_IDR0_HYP_SHIFT, 1, hyp ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_ATS_SHIFT, 1, ats ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_NS1ATS_SHIFT, 1, ns1ats ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_ASID16_SHIFT, 1, asid16 ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_MSI_SHIFT, 1, msi ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_SEV_SHIFT, 1, sev ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_PRI_SHIFT, 1, pri ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_VMID16_SHIFT, 1, vmid16 ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_CD2L_SHIFT, 1, cd2l ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_TTENDIAN_SHIFT, R_IDR0_TTENDIAN_LENGTH, ttendian);
        v = FIELD_DP64(v, R_IDR0_STALL_MODEL_SHIFT, R_IDR0_STALL_MODEL_LENGTH, stallModel);
        v = FIELD_DP64(v, R_IDR0_TERM_MODEL_SHIFT, 1, termModel ? 1 : 0);
        v = FIELD_DP64(v, R_IDR0_STLEVEL_SHIFT, R_IDR0_STLEVEL_LENGTH, stLevel);
        return (int) v;
    }

    public int idr1() {
        long v = 0;
        v = FIELD_DP64(v, R_IDR1_SIDSIZE_SHIFT, R_IDR1_SIDSIZE_LENGTH, sidSize);
        v = FIELD_DP64(v, R_IDR1_SSIDSIZE_SHIFT, R_IDR1_SSIDSIZE_LENGTH, ssidSize);
        v = FIELD_DP64(v, R_IDR1_PRIQS_SHIFT, R_IDR1_PRIQS_LENGTH, priqs);
        v = FIELD_DP64(v, R_IDR1_EVENTQS_SHIFT, R_IDR1_EVENTQS_LENGTH, eventqs);
        v = FIELD_DP64(v, R_IDR1_CMDQS_SHIFT, R_IDR1_CMDQS_LENGTH, cmdqs);
        v = FIELD_DP64(v, R_IDR1_ATTR_PERMS_OVR_SHIFT, 1, attrPermsOvr ? 1 : 0);
        v = FIELD_DP64(v, R_IDR1_ATTR_TYPES_OVR_SHIFT, 1, attrTypesOvr ? 1 : 0);
        // REL, QUEUES_PRESET, TABLES_PRESET: 0 (tables and queues live in memory software chose)
        return (int) v;
    }

    /** IDR2: no VATOS. */
    public int idr2() {
        return 0;
    }

    public int idr3() {
        long v = 0;
        v = FIELD_DP64(v, R_IDR3_HAD_SHIFT, 1, had ? 1 : 0);
        v = FIELD_DP64(v, R_IDR3_XNX_SHIFT, 1, xnx ? 1 : 0);
        v = FIELD_DP64(v, R_IDR3_PPS_SHIFT, 1, pps ? 1 : 0);
        v = FIELD_DP64(v, R_IDR3_RIL_SHIFT, 1, ril ? 1 : 0);
        v = FIELD_DP64(v, R_IDR3_BBML_SHIFT, R_IDR3_BBML_LENGTH, bbml);
        return (int) v;
    }

    /** IDR4: IMPLEMENTATION DEFINED, zero. */
    public int idr4() {
        return 0;
    }

    public int idr5() {
        long v = 0;
        v = FIELD_DP64(v, R_IDR5_OAS_SHIFT, R_IDR5_OAS_LENGTH, oas);
        v = FIELD_DP64(v, R_IDR5_GRAN4K_SHIFT, 1, gran4k ? 1 : 0);
        v = FIELD_DP64(v, R_IDR5_GRAN16K_SHIFT, 1, gran16k ? 1 : 0);
        v = FIELD_DP64(v, R_IDR5_GRAN64K_SHIFT, 1, gran64k ? 1 : 0);
        v = FIELD_DP64(v, R_IDR5_VAX_SHIFT, R_IDR5_VAX_LENGTH, vax);
        v = FIELD_DP64(v, R_IDR5_STALL_MAX_SHIFT, R_IDR5_STALL_MAX_LENGTH, stallMax);
        return (int) v;
    }

    /** Output address bits. */
    public int oasBits() {
        return oas2bits(oas);
    }

    /** True if the granule of {@code granuleShift} (12, 14, 16) is implemented. */
    public boolean granule(int granuleShift) {
        return switch (granuleShift) {
            case 12 -> gran4k;
            case 14 -> gran16k;
            case 16 -> gran64k;
            default -> false;
        };
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** A mutable copy for building variants: {@code var b = caps.toBuilder(); b.ats = false; b.build()}. */
    public static final class Builder {
        public boolean s1p, s2p, cohacc, btm, hyp, ats, asid16, msi, sev, pri, vmid16, cd2l, termModel;
        public int ttf, httu, ttendian, stallModel, stLevel;
        public int sidSize, ssidSize, priqs, eventqs, cmdqs;
        public boolean attrPermsOvr, attrTypesOvr, had, xnx, ril, pps, ns1ats;
        public int bbml, oas, vax, stallMax, iidr, aidr;
        public boolean gran4k, gran16k, gran64k;

        Builder(SmmuCaps c) {
            s1p = c.s1p; s2p = c.s2p; ttf = c.ttf; cohacc = c.cohacc; btm = c.btm; httu = c.httu; hyp = c.hyp;
            ats = c.ats; asid16 = c.asid16; msi = c.msi; sev = c.sev; pri = c.pri; vmid16 = c.vmid16; cd2l = c.cd2l;
            ttendian = c.ttendian; stallModel = c.stallModel; termModel = c.termModel; stLevel = c.stLevel;
            sidSize = c.sidSize; ssidSize = c.ssidSize; priqs = c.priqs; eventqs = c.eventqs; cmdqs = c.cmdqs;
            attrPermsOvr = c.attrPermsOvr; attrTypesOvr = c.attrTypesOvr; had = c.had; xnx = c.xnx; ril = c.ril;
            pps = c.pps; ns1ats = c.ns1ats; bbml = c.bbml; oas = c.oas; gran4k = c.gran4k; gran16k = c.gran16k;
            gran64k = c.gran64k;
            vax = c.vax;
            stallMax = c.stallMax; iidr = c.iidr; aidr = c.aidr;
        }

        public SmmuCaps build() {
            return new SmmuCaps(s1p, s2p, ttf, cohacc, btm, httu, hyp, ats, asid16, msi, sev, pri, vmid16, cd2l,
                    ttendian, stallModel, termModel, stLevel, sidSize, ssidSize, priqs, eventqs, cmdqs, attrPermsOvr,
                    attrTypesOvr, had, xnx, ril, bbml, pps, ns1ats, oas, gran4k, gran16k, gran64k, vax, stallMax, iidr,
                    aidr);
        }
    }
}
