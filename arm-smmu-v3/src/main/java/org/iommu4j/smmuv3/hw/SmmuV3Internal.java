package org.iommu4j.smmuv3.hw;

/**
 * The SMMUv3 architecture as the model reads it (Arm IHI 0070): register offsets, register
 * fields, STE/CD/command/event/PRI-entry layouts and the queue pointer arithmetic. Written from
 * the specification in QEMU's naming style ({@code A_CR0}, {@code R_CR0_SMMUEN_SHIFT},
 * {@code STE_CONFIG(ste)}); it deliberately shares nothing with the driver's arm-smmu-v3.h
 * constants, so the driver's encoding and the model's decoding are two independent codings of
 * one format.
 *
 * <p>Field accessors take the structure as its little-endian 64-bit doublewords and return the
 * field; {@code (dw, lo, len)} positions are relative to a doubleword. Nothing here allocates.
 */
public final class SmmuV3Internal {
    private SmmuV3Internal() {}

    /* ---------------- field helpers (FIELD_EX64 / FIELD_DP64) ---------------- */

    /** Extracts {@code len} bits at {@code shift} of {@code v}. */
    public static long FIELD_EX64(long v, int shift, int len) {
        return len == 64 ? v : (v >>> shift) & ((1L << len) - 1);
    }

    /** Deposits {@code val} into bits [shift + len - 1 : shift] of {@code v}. */
    public static long FIELD_DP64(long v, int shift, int len, long val) {
        long mask = (len == 64 ? -1L : (1L << len) - 1) << shift;
        return (v & ~mask) | ((val << shift) & mask);
    }

    static int ex32(long v, int shift, int len) {
        return (int) FIELD_EX64(v, shift, len);
    }

    static boolean bit(long v, int n) {
        return ((v >>> n) & 1) != 0;
    }

    /** Bits [hi:lo] of v kept in place (an in-place address field). */
    static long addr(long v, int hi, int lo) {
        return v & (((hi == 63 ? -1L : (1L << (hi + 1)) - 1)) & ~((1L << lo) - 1));
    }

    /* ---------------- MMIO register map (6.2) ---------------- */

    public static final int A_IDR0 = 0x00;
    public static final int A_IDR1 = 0x04;
    public static final int A_IDR2 = 0x08;
    public static final int A_IDR3 = 0x0c;
    public static final int A_IDR4 = 0x10;
    public static final int A_IDR5 = 0x14;
    public static final int A_IIDR = 0x18;
    public static final int A_AIDR = 0x1c;
    public static final int A_CR0 = 0x20;
    public static final int A_CR0ACK = 0x24;
    public static final int A_CR1 = 0x28;
    public static final int A_CR2 = 0x2c;
    public static final int A_STATUSR = 0x40;
    public static final int A_GBPA = 0x44;
    public static final int A_AGBPA = 0x48;
    public static final int A_IRQ_CTRL = 0x50;
    public static final int A_IRQ_CTRLACK = 0x54;
    public static final int A_GERROR = 0x60;
    public static final int A_GERRORN = 0x64;
    public static final int A_GERROR_IRQ_CFG0 = 0x68;
    public static final int A_GERROR_IRQ_CFG1 = 0x70;
    public static final int A_GERROR_IRQ_CFG2 = 0x74;
    public static final int A_STRTAB_BASE = 0x80;
    public static final int A_STRTAB_BASE_CFG = 0x88;
    public static final int A_CMDQ_BASE = 0x90;
    public static final int A_CMDQ_PROD = 0x98;
    public static final int A_CMDQ_CONS = 0x9c;
    public static final int A_EVENTQ_BASE = 0xa0;
    /** Page 1 (offset 0x10000 + this). */
    public static final int A_EVENTQ_PROD = 0xa8;
    /** Page 1. */
    public static final int A_EVENTQ_CONS = 0xac;
    public static final int A_EVENTQ_IRQ_CFG0 = 0xb0;
    public static final int A_EVENTQ_IRQ_CFG1 = 0xb8;
    public static final int A_EVENTQ_IRQ_CFG2 = 0xbc;
    public static final int A_PRIQ_BASE = 0xc0;
    /** Page 1. */
    public static final int A_PRIQ_PROD = 0xc8;
    /** Page 1. */
    public static final int A_PRIQ_CONS = 0xcc;
    public static final int A_PRIQ_IRQ_CFG0 = 0xd0;
    public static final int A_PRIQ_IRQ_CFG1 = 0xd8;
    public static final int A_PRIQ_IRQ_CFG2 = 0xdc;
    public static final int A_IDREGS = 0xfd0;
    public static final int PAGE1 = 0x10000;
    public static final int MMIO_SIZE = 0x20000;

    /* IDR0 */
    public static final int R_IDR0_S2P_SHIFT = 0;
    public static final int R_IDR0_S1P_SHIFT = 1;
    public static final int R_IDR0_TTF_SHIFT = 2, R_IDR0_TTF_LENGTH = 2;
    public static final int R_IDR0_COHACC_SHIFT = 4;
    public static final int R_IDR0_BTM_SHIFT = 5;
    public static final int R_IDR0_HTTU_SHIFT = 6, R_IDR0_HTTU_LENGTH = 2;
    public static final int R_IDR0_DORMHINT_SHIFT = 8;
    public static final int R_IDR0_HYP_SHIFT = 9;
    public static final int R_IDR0_ATS_SHIFT = 10;
    public static final int R_IDR0_NS1ATS_SHIFT = 11;
    public static final int R_IDR0_ASID16_SHIFT = 12;
    public static final int R_IDR0_MSI_SHIFT = 13;
    public static final int R_IDR0_SEV_SHIFT = 14;
    public static final int R_IDR0_ATOS_SHIFT = 15;
    public static final int R_IDR0_PRI_SHIFT = 16;
    public static final int R_IDR0_VMW_SHIFT = 17;
    public static final int R_IDR0_VMID16_SHIFT = 18;
    public static final int R_IDR0_CD2L_SHIFT = 19;
    public static final int R_IDR0_VATOS_SHIFT = 20;
    public static final int R_IDR0_TTENDIAN_SHIFT = 21, R_IDR0_TTENDIAN_LENGTH = 2;
    public static final int R_IDR0_STALL_MODEL_SHIFT = 24, R_IDR0_STALL_MODEL_LENGTH = 2;
    public static final int R_IDR0_TERM_MODEL_SHIFT = 26;
    public static final int R_IDR0_STLEVEL_SHIFT = 27, R_IDR0_STLEVEL_LENGTH = 2;
    public static final int STALL_MODEL_STALL = 0, STALL_MODEL_TERMINATE = 1, STALL_MODEL_FORCE = 2;
    public static final int TTENDIAN_MIXED = 0, TTENDIAN_LE = 2, TTENDIAN_BE = 3;

    /* IDR1 */
    public static final int R_IDR1_SIDSIZE_SHIFT = 0, R_IDR1_SIDSIZE_LENGTH = 6;
    public static final int R_IDR1_SSIDSIZE_SHIFT = 6, R_IDR1_SSIDSIZE_LENGTH = 5;
    public static final int R_IDR1_PRIQS_SHIFT = 11, R_IDR1_PRIQS_LENGTH = 5;
    public static final int R_IDR1_EVENTQS_SHIFT = 16, R_IDR1_EVENTQS_LENGTH = 5;
    public static final int R_IDR1_CMDQS_SHIFT = 21, R_IDR1_CMDQS_LENGTH = 5;
    public static final int R_IDR1_ATTR_PERMS_OVR_SHIFT = 26;
    public static final int R_IDR1_ATTR_TYPES_OVR_SHIFT = 27;
    public static final int R_IDR1_REL_SHIFT = 28;
    public static final int R_IDR1_QUEUES_PRESET_SHIFT = 29;
    public static final int R_IDR1_TABLES_PRESET_SHIFT = 30;

    /* IDR3 */
    public static final int R_IDR3_HAD_SHIFT = 2;
    public static final int R_IDR3_XNX_SHIFT = 4;
    public static final int R_IDR3_PPS_SHIFT = 5;
    public static final int R_IDR3_FWB_SHIFT = 8;
    public static final int R_IDR3_RIL_SHIFT = 10;
    public static final int R_IDR3_BBML_SHIFT = 11, R_IDR3_BBML_LENGTH = 2;

    /* IDR5 */
    public static final int R_IDR5_OAS_SHIFT = 0, R_IDR5_OAS_LENGTH = 3;
    public static final int R_IDR5_GRAN4K_SHIFT = 4;
    public static final int R_IDR5_GRAN16K_SHIFT = 5;
    public static final int R_IDR5_GRAN64K_SHIFT = 6;
    public static final int R_IDR5_VAX_SHIFT = 10, R_IDR5_VAX_LENGTH = 2;
    public static final int R_IDR5_STALL_MAX_SHIFT = 16, R_IDR5_STALL_MAX_LENGTH = 16;

    /** OAS / IPS / S2PS encoding to a number of address bits. */
    public static int oas2bits(int oas) {
        return switch (oas) {
            case 0 -> 32;
            case 1 -> 36;
            case 2 -> 40;
            case 3 -> 42;
            case 4 -> 44;
            case 5 -> 48;
            default -> 52;
        };
    }

    /* CR0 / CR0ACK */
    public static final int R_CR0_SMMUEN = 1 << 0;
    public static final int R_CR0_PRIQEN = 1 << 1;
    public static final int R_CR0_EVENTQEN = 1 << 2;
    public static final int R_CR0_CMDQEN = 1 << 3;
    public static final int R_CR0_ATSCHK = 1 << 4;
    public static final int R_CR0_VMW_SHIFT = 6, R_CR0_VMW_LENGTH = 3;

    /* CR2 */
    public static final int R_CR2_E2H = 1 << 0;
    public static final int R_CR2_RECINVSID = 1 << 1;
    public static final int R_CR2_PTM = 1 << 2;

    /* GBPA */
    public static final int R_GBPA_ABORT = 1 << 20;
    public static final int R_GBPA_UPDATE = 1 << 31;
    /** MemAttr, MTCFG, ALLOCCFG, SHCFG, PRIVCFG, INSTCFG, ABORT. */
    public static final int R_GBPA_WRITABLE = 0x1f3f1f;
    public static final int GBPA_RESET = 0x1000;

    /* IRQ_CTRL */
    public static final int R_IRQ_CTRL_GERROR_IRQEN = 1 << 0;
    public static final int R_IRQ_CTRL_PRI_IRQEN = 1 << 1;
    public static final int R_IRQ_CTRL_EVENTQ_IRQEN = 1 << 2;

    /* GERROR / GERRORN */
    public static final int R_GERROR_CMDQ_ERR = 1 << 0;
    public static final int R_GERROR_EVENTQ_ABT_ERR = 1 << 2;
    public static final int R_GERROR_PRIQ_ABT_ERR = 1 << 3;
    public static final int R_GERROR_MSI_CMDQ_ABT_ERR = 1 << 4;
    public static final int R_GERROR_MSI_EVENTQ_ABT_ERR = 1 << 5;
    public static final int R_GERROR_MSI_PRIQ_ABT_ERR = 1 << 6;
    public static final int R_GERROR_MSI_GERROR_ABT_ERR = 1 << 7;
    public static final int R_GERROR_SFM_ERR = 1 << 8;
    public static final int R_GERROR_MASK = 0x1fd;

    /* *_IRQ_CFG0 / CFG2 */
    public static final long IRQ_CFG0_ADDR_MASK = 0x00ff_ffff_ffff_fffcL;

    /* STRTAB_BASE / _CFG */
    public static final long STRTAB_BASE_RA = 1L << 62;
    public static final long STRTAB_BASE_ADDR_MASK = 0x00ff_ffff_ffff_ffc0L;
    public static final int R_STRTAB_BASE_CFG_LOG2SIZE_SHIFT = 0, R_STRTAB_BASE_CFG_LOG2SIZE_LENGTH = 6;
    public static final int R_STRTAB_BASE_CFG_SPLIT_SHIFT = 6, R_STRTAB_BASE_CFG_SPLIT_LENGTH = 5;
    public static final int R_STRTAB_BASE_CFG_FMT_SHIFT = 16, R_STRTAB_BASE_CFG_FMT_LENGTH = 2;
    public static final int STRTAB_BASE_CFG_WRITABLE = 0x307ff;
    public static final int ST_FMT_LINEAR = 0, ST_FMT_2LVL = 1;

    /* queue base registers */
    public static final long Q_BASE_WA = 1L << 62;
    public static final long Q_BASE_ADDR_MASK = 0x00ff_ffff_ffff_ffe0L;
    public static final int R_Q_BASE_LOG2SIZE_LENGTH = 5;
    public static final long Q_BASE_WRITABLE = Q_BASE_WA | Q_BASE_ADDR_MASK | 0x1f;
    /** PROD.WR / CONS.RD: index and wrap bit, at most 20 bits. */
    public static final int Q_PTR_MASK = 0xfffff;
    public static final int Q_OVF_FLAG = 1 << 31;
    public static final int R_CMDQ_CONS_ERR_SHIFT = 24, R_CMDQ_CONS_ERR_LENGTH = 7;

    public static final int CMDQ_ENTRY_SIZE = 16;
    public static final int EVTQ_ENTRY_SIZE = 32;
    public static final int PRIQ_ENTRY_SIZE = 16;

    /* CMDQ_CONS.ERR */
    public static final int CERROR_NONE = 0;
    public static final int CERROR_ILL = 1;
    public static final int CERROR_ABT = 2;
    public static final int CERROR_ATC_INV_SYNC = 3;

    /* ---------------- queue pointer arithmetic (3.5) ---------------- */

    /** Index part of a pointer for a queue of 2^log2size entries. */
    public static int Q_IDX(int ptr, int log2size) {
        return ptr & ((1 << log2size) - 1);
    }

    /** Wrap bit of a pointer. */
    public static int Q_WRAP(int ptr, int log2size) {
        return (ptr >>> log2size) & 1;
    }

    /** Index and wrap bit. */
    public static int Q_PTR(int ptr, int log2size) {
        return ptr & ((2 << log2size) - 1);
    }

    public static boolean Q_EMPTY(int prod, int cons, int log2size) {
        return Q_PTR(prod, log2size) == Q_PTR(cons, log2size);
    }

    public static boolean Q_FULL(int prod, int cons, int log2size) {
        return Q_IDX(prod, log2size) == Q_IDX(cons, log2size) && Q_WRAP(prod, log2size) != Q_WRAP(cons, log2size);
    }

    /** The pointer after {@code ptr}: index + 1, wrap toggles on the lap. */
    public static int Q_INCR(int ptr, int log2size) {
        return (Q_PTR(ptr, log2size) + 1) & ((2 << log2size) - 1);
    }

    /* ---------------- Stream Table Entry (5.2) ---------------- */

    public static final int STE_DWORDS = 8;
    public static final int STE_SIZE = 64;
    public static final int STE_CFG_ABORT = 0, STE_CFG_BYPASS = 4, STE_CFG_S1 = 5, STE_CFG_S2 = 6, STE_CFG_NESTED = 7;
    public static final int STE_S1FMT_LINEAR = 0, STE_S1FMT_4K_L2 = 1, STE_S1FMT_64K_L2 = 2;
    public static final int STE_S1DSS_TERMINATE = 0, STE_S1DSS_BYPASS = 1, STE_S1DSS_SSID0 = 2;
    public static final int STE_EATS_ABT = 0, STE_EATS_TRANS = 1, STE_EATS_S1CHK = 2;
    public static final int STE_STRW_NSEL1 = 0, STE_STRW_EL3 = 1, STE_STRW_EL2 = 2;

    static boolean STE_VALID(long[] s) { return bit(s[0], 0); }
    static int STE_CONFIG(long[] s) { return ex32(s[0], 1, 3); }
    static int STE_S1FMT(long[] s) { return ex32(s[0], 4, 2); }
    static long STE_CTXPTR(long[] s) { return addr(s[0], 55, 6); }
    static int STE_S1CDMAX(long[] s) { return ex32(s[0], 59, 5); }
    static int STE_S1DSS(long[] s) { return ex32(s[1], 0, 2); }
    static int STE_S1CIR(long[] s) { return ex32(s[1], 2, 2); }
    static int STE_S1COR(long[] s) { return ex32(s[1], 4, 2); }
    static int STE_S1CSH(long[] s) { return ex32(s[1], 6, 2); }
    /** PASID on automatic PRG Responses (PRI queue overflow) when IDR3.PPS is 0. */
    static boolean STE_PPAR(long[] s) { return bit(s[1], 18); }
    static boolean STE_MEV(long[] s) { return bit(s[1], 19); }
    static boolean STE_S2FWB(long[] s) { return bit(s[1], 25); }
    static boolean STE_S1STALLD(long[] s) { return bit(s[1], 27); }
    static int STE_EATS(long[] s) { return ex32(s[1], 28, 2); }
    static int STE_STRW(long[] s) { return ex32(s[1], 30, 2); }
    static int STE_SHCFG(long[] s) { return ex32(s[1], 44, 2); }
    static int STE_PRIVCFG(long[] s) { return ex32(s[1], 48, 2); }
    static int STE_INSTCFG(long[] s) { return ex32(s[1], 50, 2); }
    static int STE_S2VMID(long[] s) { return ex32(s[2], 0, 16); }
    static int STE_S2T0SZ(long[] s) { return ex32(s[2], 32, 6); }
    static int STE_S2SL0(long[] s) { return ex32(s[2], 38, 2); }
    static int STE_S2TG(long[] s) { return ex32(s[2], 46, 2); }
    static int STE_S2PS(long[] s) { return ex32(s[2], 48, 3); }
    static boolean STE_S2AA64(long[] s) { return bit(s[2], 51); }
    static boolean STE_S2ENDI(long[] s) { return bit(s[2], 52); }
    static boolean STE_S2AFFD(long[] s) { return bit(s[2], 53); }
    static boolean STE_S2PTW(long[] s) { return bit(s[2], 54); }
    static boolean STE_S2HD(long[] s) { return bit(s[2], 55); }
    static boolean STE_S2HA(long[] s) { return bit(s[2], 56); }
    static boolean STE_S2S(long[] s) { return bit(s[2], 57); }
    static boolean STE_S2R(long[] s) { return bit(s[2], 58); }
    static long STE_S2TTB(long[] s) { return addr(s[3], 55, 4); }

    /* Level-1 stream table descriptor */
    static int STRTAB_L1_SPAN(long d) { return ex32(d, 0, 5); }
    static long STRTAB_L1_L2PTR(long d) { return addr(d, 55, 6); }

    /* ---------------- Context Descriptor (5.4) ---------------- */

    public static final int CD_DWORDS = 8;
    public static final int CD_SIZE = 64;
    /** TG0 encoding: 0 4K, 1 64K, 2 16K. */
    public static final int TG0_4K = 0, TG0_64K = 1, TG0_16K = 2;

    static int CD_T0SZ(long[] c) { return ex32(c[0], 0, 6); }
    static int CD_TG0(long[] c) { return ex32(c[0], 6, 2); }
    static boolean CD_EPD0(long[] c) { return bit(c[0], 14); }
    static boolean CD_ENDI(long[] c) { return bit(c[0], 15); }
    static int CD_T1SZ(long[] c) { return ex32(c[0], 16, 6); }
    /** TG1 encoding: 1 16K, 2 4K, 3 64K (0 reserved). */
    public static final int TG1_16K = 1, TG1_4K = 2, TG1_64K = 3;
    static int CD_TG1(long[] c) { return ex32(c[0], 22, 2); }
    static boolean CD_EPD1(long[] c) { return bit(c[0], 30); }
    static boolean CD_VALID(long[] c) { return bit(c[0], 31); }
    static int CD_IPS(long[] c) { return ex32(c[0], 32, 3); }
    static boolean CD_AFFD(long[] c) { return bit(c[0], 35); }
    static boolean CD_WXN(long[] c) { return bit(c[0], 36); }
    static boolean CD_UWXN(long[] c) { return bit(c[0], 37); }
    static boolean CD_TBI0(long[] c) { return bit(c[0], 38); }
    static boolean CD_TBI1(long[] c) { return bit(c[0], 39); }
    static boolean CD_PAN(long[] c) { return bit(c[0], 40); }
    static boolean CD_AA64(long[] c) { return bit(c[0], 41); }
    static boolean CD_HD(long[] c) { return bit(c[0], 42); }
    static boolean CD_HA(long[] c) { return bit(c[0], 43); }
    static boolean CD_S(long[] c) { return bit(c[0], 44); }
    static boolean CD_R(long[] c) { return bit(c[0], 45); }
    static boolean CD_A(long[] c) { return bit(c[0], 46); }
    static boolean CD_ASET(long[] c) { return bit(c[0], 47); }
    static int CD_ASID(long[] c) { return ex32(c[0], 48, 16); }
    /** Hierarchical attributes disabled for TTB0's tables (with IDR3.HAD; RES0 without). */
    static boolean CD_HAD0(long[] c) { return bit(c[1], 1); }
    /** Hierarchical attributes disabled for TTB1's tables (with IDR3.HAD; RES0 without). */
    static boolean CD_HAD1(long[] c) { return bit(c[2], 1); }
    static long CD_TTB0(long[] c) { return addr(c[1], 55, 4); }
    static long CD_TTB1(long[] c) { return addr(c[2], 55, 4); }
    static long CD_MAIR(long[] c) { return c[3]; }

    /* L1 CD descriptor */
    static boolean CD_L1_VALID(long d) { return bit(d, 0); }
    static long CD_L1_L2PTR(long d) { return addr(d, 55, 12); }

    /* ---------------- commands (4.1) ---------------- */

    public static final int CMD_PREFETCH_CONFIG = 0x01;
    public static final int CMD_PREFETCH_ADDR = 0x02;
    public static final int CMD_CFGI_STE = 0x03;
    public static final int CMD_CFGI_STE_RANGE = 0x04;
    public static final int CMD_CFGI_CD = 0x05;
    public static final int CMD_CFGI_CD_ALL = 0x06;
    public static final int CMD_CFGI_VMS_PIDM = 0x07;
    public static final int CMD_TLBI_NH_ALL = 0x10;
    public static final int CMD_TLBI_NH_ASID = 0x11;
    public static final int CMD_TLBI_NH_VA = 0x12;
    public static final int CMD_TLBI_NH_VAA = 0x13;
    public static final int CMD_TLBI_EL3_ALL = 0x18;
    public static final int CMD_TLBI_EL3_VA = 0x1a;
    public static final int CMD_TLBI_EL2_ALL = 0x20;
    public static final int CMD_TLBI_EL2_ASID = 0x21;
    public static final int CMD_TLBI_EL2_VA = 0x22;
    public static final int CMD_TLBI_EL2_VAA = 0x23;
    public static final int CMD_TLBI_S12_VMALL = 0x28;
    public static final int CMD_TLBI_S2_IPA = 0x2a;
    public static final int CMD_TLBI_NSNH_ALL = 0x30;
    public static final int CMD_ATC_INV = 0x40;
    public static final int CMD_PRI_RESP = 0x41;
    public static final int CMD_RESUME = 0x44;
    public static final int CMD_STALL_TERM = 0x45;
    public static final int CMD_SYNC = 0x46;

    /** The command's name as the spec and QEMU's trace print it. */
    public static String cmdName(int op) {
        return switch (op) {
            case CMD_PREFETCH_CONFIG -> "CMD_PREFETCH_CONFIG";
            case CMD_PREFETCH_ADDR -> "CMD_PREFETCH_ADDR";
            case CMD_CFGI_STE -> "CMD_CFGI_STE";
            case CMD_CFGI_STE_RANGE -> "CMD_CFGI_STE_RANGE";
            case CMD_CFGI_CD -> "CMD_CFGI_CD";
            case CMD_CFGI_CD_ALL -> "CMD_CFGI_CD_ALL";
            case CMD_CFGI_VMS_PIDM -> "CMD_CFGI_VMS_PIDM";
            case CMD_TLBI_NH_ALL -> "CMD_TLBI_NH_ALL";
            case CMD_TLBI_NH_ASID -> "CMD_TLBI_NH_ASID";
            case CMD_TLBI_NH_VA -> "CMD_TLBI_NH_VA";
            case CMD_TLBI_NH_VAA -> "CMD_TLBI_NH_VAA";
            case CMD_TLBI_EL3_ALL -> "CMD_TLBI_EL3_ALL";
            case CMD_TLBI_EL3_VA -> "CMD_TLBI_EL3_VA";
            case CMD_TLBI_EL2_ALL -> "CMD_TLBI_EL2_ALL";
            case CMD_TLBI_EL2_ASID -> "CMD_TLBI_EL2_ASID";
            case CMD_TLBI_EL2_VA -> "CMD_TLBI_EL2_VA";
            case CMD_TLBI_EL2_VAA -> "CMD_TLBI_EL2_VAA";
            case CMD_TLBI_S12_VMALL -> "CMD_TLBI_S12_VMALL";
            case CMD_TLBI_S2_IPA -> "CMD_TLBI_S2_IPA";
            case CMD_TLBI_NSNH_ALL -> "CMD_TLBI_NSNH_ALL";
            case CMD_ATC_INV -> "CMD_ATC_INV";
            case CMD_PRI_RESP -> "CMD_PRI_RESP";
            case CMD_RESUME -> "CMD_RESUME";
            case CMD_STALL_TERM -> "CMD_STALL_TERM";
            case CMD_SYNC -> "CMD_SYNC";
            default -> "UNKNOWN(0x" + Integer.toHexString(op) + ")";
        };
    }

    static int CMD_OP(long dw0) { return ex32(dw0, 0, 8); }
    static boolean CMD_SSEC(long dw0) { return bit(dw0, 10); }
    static boolean CMD_SSV(long dw0) { return bit(dw0, 11); }
    static int CMD_SSID(long dw0) { return ex32(dw0, 12, 20); }
    static int CMD_SID(long dw0) { return (int) (dw0 >>> 32); }
    static boolean CMD_LEAF(long dw1) { return bit(dw1, 0); }
    static int CMD_STE_RANGE(long dw1) { return ex32(dw1, 0, 5); }
    static int CMD_NUM(long dw0) { return ex32(dw0, 12, 5); }
    static int CMD_SCALE(long dw0) { return ex32(dw0, 20, 5); }
    static int CMD_VMID(long dw0) { return ex32(dw0, 32, 16); }
    static int CMD_ASID(long dw0) { return ex32(dw0, 48, 16); }
    static int CMD_TTL(long dw1) { return ex32(dw1, 8, 2); }
    static int CMD_TG(long dw1) { return ex32(dw1, 10, 2); }
    static long CMD_VA(long dw1) { return dw1 & ~0xfffL; }
    static long CMD_IPA(long dw1) { return addr(dw1, 55, 12); }
    static boolean CMD_ATC_GLOBAL(long dw0) { return bit(dw0, 9); }
    static int CMD_ATC_SIZE(long dw1) { return ex32(dw1, 0, 6); }
    static int CMD_PRI_PRGIDX(long dw1) { return ex32(dw1, 0, 9); }
    static int CMD_PRI_RESP(long dw1) { return ex32(dw1, 12, 2); }
    static boolean CMD_RESUME_AC(long dw0) { return bit(dw0, 12); }
    static boolean CMD_RESUME_AB(long dw0) { return bit(dw0, 13); }
    static int CMD_RESUME_STAG(long dw1) { return ex32(dw1, 0, 16); }
    static int CMD_SYNC_CS(long dw0) { return ex32(dw0, 12, 2); }
    static int CMD_SYNC_MSIDATA(long dw0) { return (int) (dw0 >>> 32); }
    static long CMD_SYNC_MSIADDR(long dw1) { return addr(dw1, 55, 2); }
    public static final int SYNC_CS_NONE = 0, SYNC_CS_IRQ = 1, SYNC_CS_SEV = 2;
    public static final int PRI_RESP_FAILURE = 0, PRI_RESP_INVALID = 1, PRI_RESP_SUCCESS = 2;

    /* ---------------- event records (7.3) ---------------- */

    public static final int EVT_F_UUT = 0x01;
    public static final int EVT_C_BAD_STREAMID = 0x02;
    public static final int EVT_F_STE_FETCH = 0x03;
    public static final int EVT_C_BAD_STE = 0x04;
    public static final int EVT_F_BAD_ATS_TREQ = 0x05;
    public static final int EVT_F_STREAM_DISABLED = 0x06;
    public static final int EVT_F_TRANSL_FORBIDDEN = 0x07;
    public static final int EVT_C_BAD_SUBSTREAMID = 0x08;
    public static final int EVT_F_CD_FETCH = 0x09;
    public static final int EVT_C_BAD_CD = 0x0a;
    public static final int EVT_F_WALK_EABT = 0x0b;
    public static final int EVT_F_TRANSLATION = 0x10;
    public static final int EVT_F_ADDR_SIZE = 0x11;
    public static final int EVT_F_ACCESS = 0x12;
    public static final int EVT_F_PERMISSION = 0x13;
    public static final int EVT_F_TLB_CONFLICT = 0x20;
    public static final int EVT_F_CFG_CONFLICT = 0x21;
    public static final int EVT_E_PAGE_REQUEST = 0x24;

    /** CLASS of a translation fault: the access that faulted. */
    public static final int EVT_CLASS_CD = 0, EVT_CLASS_TT = 1, EVT_CLASS_IN = 2;

    public static String eventName(int id) {
        return switch (id) {
            case EVT_F_UUT -> "F_UUT";
            case EVT_C_BAD_STREAMID -> "C_BAD_STREAMID";
            case EVT_F_STE_FETCH -> "F_STE_FETCH";
            case EVT_C_BAD_STE -> "C_BAD_STE";
            case EVT_F_BAD_ATS_TREQ -> "F_BAD_ATS_TREQ";
            case EVT_F_STREAM_DISABLED -> "F_STREAM_DISABLED";
            case EVT_F_TRANSL_FORBIDDEN -> "F_TRANSL_FORBIDDEN";
            case EVT_C_BAD_SUBSTREAMID -> "C_BAD_SUBSTREAMID";
            case EVT_F_CD_FETCH -> "F_CD_FETCH";
            case EVT_C_BAD_CD -> "C_BAD_CD";
            case EVT_F_WALK_EABT -> "F_WALK_EABT";
            case EVT_F_TRANSLATION -> "F_TRANSLATION";
            case EVT_F_ADDR_SIZE -> "F_ADDR_SIZE";
            case EVT_F_ACCESS -> "F_ACCESS";
            case EVT_F_PERMISSION -> "F_PERMISSION";
            case EVT_F_TLB_CONFLICT -> "F_TLB_CONFLICT";
            case EVT_F_CFG_CONFLICT -> "F_CFG_CONFLICT";
            case EVT_E_PAGE_REQUEST -> "E_PAGE_REQUEST";
            default -> "EVT(0x" + Integer.toHexString(id) + ")";
        };
    }

    /* ---------------- translation table descriptors (VMSAv8-64) ---------------- */

    static final long PTE_VALID = 1L;
    static final long PTE_TABLE = 2L;
    static final int PTE_AP1 = 6;
    static final int PTE_AP2 = 7;
    static final int PTE_AF = 10;
    static final int PTE_NG = 11;
    static final int PTE_DBM = 51;
    static final int PTE_PXN = 53;
    static final int PTE_UXN = 54;
    static final int PTE_XN = 54;
    /** Stage 2 XN[0] (with XN at bit 54 as XN[1]: IDR3.XNX's execute-never per privilege). */
    static final int PTE_S2_XN0 = 53;
    static final int PTE_PXNTABLE = 59;
    static final int PTE_UXNTABLE = 60;
    static final int PTE_APTABLE0 = 61;
    static final int PTE_APTABLE1 = 62;
    /** Stage 2: S2AP[0] read, S2AP[1] write. */
    static final int PTE_S2AP_R = 6;
    static final int PTE_S2AP_W = 7;
}
