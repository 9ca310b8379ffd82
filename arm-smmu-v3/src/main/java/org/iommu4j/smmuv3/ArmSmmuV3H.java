package org.iommu4j.smmuv3;

import static org.iommu4j.base.Bits.GENMASK;
import static org.iommu4j.base.Bits.GENMASK_ULL;

import org.iommu4j.base.Port;

/**
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h: the driver's own encoding of the SMMUv3 registers,
 * queues, stream table entries and context descriptors, in header order. Each multi-bit field is
 * followed by its values; address fields are {@code *_MASK} applied with {@code &}.
 *
 * <p>The hardware model decodes the same formats from its own definitions; nothing here is shared
 * with it (two independent codings catch encoding bugs).
 */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h")
public final class ArmSmmuV3H {
    private ArmSmmuV3H() {}

    /* Register offsets within the SMMU's MMIO pages */
    public static final long ARM_SMMU_IDR0 = 0x0;
    public static final long IDR0_ST_LVL = GENMASK(28, 27);
    public static final long IDR0_ST_LVL_2LVL = 1;
    public static final long IDR0_STALL_MODEL = GENMASK(25, 24);
    public static final long IDR0_STALL_MODEL_STALL = 0;
    public static final long IDR0_STALL_MODEL_FORCE = 2;
    public static final long IDR0_TTENDIAN = GENMASK(22, 21);
    public static final long IDR0_TTENDIAN_MIXED = 0;
    public static final long IDR0_TTENDIAN_LE = 2;
    public static final long IDR0_TTENDIAN_BE = 3;
    public static final long IDR0_CD2L = 1L << 19;
    public static final long IDR0_VMID16 = 1L << 18;
    public static final long IDR0_PRI = 1L << 16;
    public static final long IDR0_SEV = 1L << 14;
    public static final long IDR0_MSI = 1L << 13;
    public static final long IDR0_ASID16 = 1L << 12;
    public static final long IDR0_ATS = 1L << 10;
    public static final long IDR0_HYP = 1L << 9;
    public static final long IDR0_BTM = 1L << 5;
    /** Hardware translation table updates: 1 access flag, 2 access flag and dirty state. */
    public static final long IDR0_HTTU = GENMASK_ULL(7, 6);
    public static final long IDR0_HTTU_ACCESS = 1;
    public static final long IDR0_HTTU_ACCESS_DIRTY = 2;
    public static final long IDR0_COHACC = 1L << 4;
    public static final long IDR0_TTF = GENMASK(3, 2);
    public static final long IDR0_TTF_AARCH64 = 2;
    public static final long IDR0_TTF_AARCH32_64 = 3;
    public static final long IDR0_S1P = 1L << 1;
    public static final long IDR0_S2P = 1L << 0;

    public static final long ARM_SMMU_IDR1 = 0x4;
    public static final long IDR1_TABLES_PRESET = 1L << 30;
    public static final long IDR1_QUEUES_PRESET = 1L << 29;
    public static final long IDR1_REL = 1L << 28;
    public static final long IDR1_CMDQS = GENMASK(25, 21);
    public static final long IDR1_EVTQS = GENMASK(20, 16);
    public static final long IDR1_PRIQS = GENMASK(15, 11);
    public static final long IDR1_SSIDSIZE = GENMASK(10, 6);
    public static final long IDR1_SIDSIZE = GENMASK(5, 0);

    public static final long ARM_SMMU_IDR3 = 0xc;
    public static final long IDR3_RIL = 1L << 10;

    public static final long ARM_SMMU_IDR5 = 0x14;
    public static final long IDR5_STALL_MAX = GENMASK(31, 16);
    public static final long IDR5_GRAN64K = 1L << 6;
    public static final long IDR5_GRAN16K = 1L << 5;
    public static final long IDR5_GRAN4K = 1L << 4;
    public static final long IDR5_OAS = GENMASK(2, 0);
    public static final long IDR5_OAS_32_BIT = 0;
    public static final long IDR5_OAS_36_BIT = 1;
    public static final long IDR5_OAS_40_BIT = 2;
    public static final long IDR5_OAS_42_BIT = 3;
    public static final long IDR5_OAS_44_BIT = 4;
    public static final long IDR5_OAS_48_BIT = 5;
    public static final long IDR5_OAS_52_BIT = 6;
    public static final long IDR5_VAX = GENMASK(11, 10);
    public static final long IDR5_VAX_52_BIT = 1;

    public static final long ARM_SMMU_IIDR = 0x18;

    public static final long ARM_SMMU_CR0 = 0x20;
    public static final long CR0_ATSCHK = 1L << 4;
    public static final long CR0_CMDQEN = 1L << 3;
    public static final long CR0_EVTQEN = 1L << 2;
    public static final long CR0_PRIQEN = 1L << 1;
    public static final long CR0_SMMUEN = 1L << 0;

    public static final long ARM_SMMU_CR0ACK = 0x24;

    public static final long ARM_SMMU_CR1 = 0x28;
    public static final long CR1_TABLE_SH = GENMASK(11, 10);
    public static final long CR1_TABLE_OC = GENMASK(9, 8);
    public static final long CR1_TABLE_IC = GENMASK(7, 6);
    public static final long CR1_QUEUE_SH = GENMASK(5, 4);
    public static final long CR1_QUEUE_OC = GENMASK(3, 2);
    public static final long CR1_QUEUE_IC = GENMASK(1, 0);
    /** CR1 cacheability values (not the TCR encoding). */
    public static final long CR1_CACHE_NC = 0;
    public static final long CR1_CACHE_WB = 1;
    public static final long CR1_CACHE_WT = 2;

    public static final long ARM_SMMU_CR2 = 0x2c;
    public static final long CR2_PTM = 1L << 2;
    public static final long CR2_RECINVSID = 1L << 1;
    public static final long CR2_E2H = 1L << 0;

    public static final long ARM_SMMU_GBPA = 0x44;
    public static final long GBPA_UPDATE = 1L << 31;
    public static final long GBPA_ABORT = 1L << 20;

    public static final long ARM_SMMU_IRQ_CTRL = 0x50;
    public static final long IRQ_CTRL_EVTQ_IRQEN = 1L << 2;
    public static final long IRQ_CTRL_PRIQ_IRQEN = 1L << 1;
    public static final long IRQ_CTRL_GERROR_IRQEN = 1L << 0;

    public static final long ARM_SMMU_IRQ_CTRLACK = 0x54;

    public static final long ARM_SMMU_GERROR = 0x60;
    public static final long GERROR_SFM_ERR = 1L << 8;
    public static final long GERROR_MSI_GERROR_ABT_ERR = 1L << 7;
    public static final long GERROR_MSI_PRIQ_ABT_ERR = 1L << 6;
    public static final long GERROR_MSI_EVTQ_ABT_ERR = 1L << 5;
    public static final long GERROR_MSI_CMDQ_ABT_ERR = 1L << 4;
    public static final long GERROR_PRIQ_ABT_ERR = 1L << 3;
    public static final long GERROR_EVTQ_ABT_ERR = 1L << 2;
    public static final long GERROR_CMDQ_ERR = 1L << 0;
    public static final long GERROR_ERR_MASK = 0x1fd;

    public static final long ARM_SMMU_GERRORN = 0x64;

    public static final long ARM_SMMU_GERROR_IRQ_CFG0 = 0x68;
    public static final long ARM_SMMU_GERROR_IRQ_CFG1 = 0x70;
    public static final long ARM_SMMU_GERROR_IRQ_CFG2 = 0x74;

    public static final long ARM_SMMU_STRTAB_BASE = 0x80;
    public static final long STRTAB_BASE_RA = 1L << 62;
    public static final long STRTAB_BASE_ADDR_MASK = GENMASK_ULL(51, 6);

    public static final long ARM_SMMU_STRTAB_BASE_CFG = 0x88;
    public static final long STRTAB_BASE_CFG_FMT = GENMASK(17, 16);
    public static final long STRTAB_BASE_CFG_FMT_LINEAR = 0;
    public static final long STRTAB_BASE_CFG_FMT_2LVL = 1;
    public static final long STRTAB_BASE_CFG_SPLIT = GENMASK(10, 6);
    public static final long STRTAB_BASE_CFG_LOG2SIZE = GENMASK(5, 0);

    public static final long ARM_SMMU_CMDQ_BASE = 0x90;
    public static final long ARM_SMMU_CMDQ_PROD = 0x98;
    public static final long ARM_SMMU_CMDQ_CONS = 0x9c;

    public static final long ARM_SMMU_EVTQ_BASE = 0xa0;
    public static final long ARM_SMMU_EVTQ_PROD = 0xa8;
    public static final long ARM_SMMU_EVTQ_CONS = 0xac;
    public static final long ARM_SMMU_EVTQ_IRQ_CFG0 = 0xb0;
    public static final long ARM_SMMU_EVTQ_IRQ_CFG1 = 0xb8;
    public static final long ARM_SMMU_EVTQ_IRQ_CFG2 = 0xbc;

    public static final long ARM_SMMU_PRIQ_BASE = 0xc0;
    public static final long ARM_SMMU_PRIQ_PROD = 0xc8;
    public static final long ARM_SMMU_PRIQ_CONS = 0xcc;
    public static final long ARM_SMMU_PRIQ_IRQ_CFG0 = 0xd0;
    public static final long ARM_SMMU_PRIQ_IRQ_CFG1 = 0xd8;
    public static final long ARM_SMMU_PRIQ_IRQ_CFG2 = 0xdc;

    public static final long ARM_SMMU_REG_SZ = 0xe00;

    /* *_IRQ_CFG0/2 fields, laid out alike for every MSI source */
    public static final long MSI_CFG0_ADDR_MASK = GENMASK_ULL(51, 2);
    public static final long MSI_CFG2_SH = GENMASK(5, 4);
    public static final long MSI_CFG2_MEMATTR = GENMASK(3, 0);

    /* Shareability and cacheability encodings used across registers */
    public static final long ARM_SMMU_SH_NSH = 0;
    public static final long ARM_SMMU_SH_OSH = 2;
    public static final long ARM_SMMU_SH_ISH = 3;
    public static final long ARM_SMMU_MEMATTR_DEVICE_nGnRE = 0x1;
    public static final long ARM_SMMU_MEMATTR_OIWB = 0xf;

    /** {@code Q_IDX(llq, p)}: the slot index part of a prod/cons value. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:Q_IDX")
    public static int Q_IDX(ArmSmmuLlQueue llq, int p) {
        return p & ((1 << llq.maxNShift) - 1);
    }

    /** {@code Q_WRP(llq, p)}: the wrap bit just above the index. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:Q_WRP")
    public static int Q_WRP(ArmSmmuLlQueue llq, int p) {
        return p & (1 << llq.maxNShift);
    }

    public static final int Q_OVERFLOW_FLAG = 1 << 31;

    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:Q_OVF")
    public static int Q_OVF(int p) {
        return p & Q_OVERFLOW_FLAG;
    }

    /** {@code Q_ENT(q, p)}: physical address of the entry at {@code p}. */
    @Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:Q_ENT")
    public static long Q_ENT(ArmSmmuQueue q, int p) {
        return q.base + (long) Q_IDX(q.llq, p) * q.entDwords * 8L;
    }

    public static final long Q_BASE_RWA = 1L << 62;
    public static final long Q_BASE_ADDR_MASK = GENMASK_ULL(51, 5);
    public static final long Q_BASE_LOG2SIZE = GENMASK(4, 0);

    /**
     * Queues are capped at 2^(PAGE_SHIFT + CONFIG_CMA_ALIGNMENT) bytes. v5.15 without CMA uses
     * PAGE_SHIFT + MAX_ORDER - 1; the reference kernel (Debian 6.1, CMA_ALIGNMENT=8) gives 1 MiB,
     * which is what we follow.
     */
    public static final int Q_MAX_SZ_SHIFT = 12 + 8;

    /* Stream table: linear covers 1 << SIDSIZE entries; 2-level has 256 lazily allocated STEs per L2. */
    public static final int STRTAB_L1_SZ_SHIFT = 20;
    public static final int STRTAB_SPLIT = 8;

    public static final int STRTAB_L1_DESC_DWORDS = 1;
    public static final long STRTAB_L1_DESC_SPAN = GENMASK_ULL(4, 0);
    public static final long STRTAB_L1_DESC_L2PTR_MASK = GENMASK_ULL(51, 6);

    public static final int STRTAB_STE_DWORDS = 8;
    public static final long STRTAB_STE_0_V = 1L << 0;
    public static final long STRTAB_STE_0_CFG = GENMASK_ULL(3, 1);
    public static final long STRTAB_STE_0_CFG_ABORT = 0;
    public static final long STRTAB_STE_0_CFG_BYPASS = 4;
    public static final long STRTAB_STE_0_CFG_S1_TRANS = 5;
    public static final long STRTAB_STE_0_CFG_S2_TRANS = 6;

    public static final long STRTAB_STE_0_S1FMT = GENMASK_ULL(5, 4);
    public static final long STRTAB_STE_0_S1FMT_LINEAR = 0;
    public static final long STRTAB_STE_0_S1FMT_64K_L2 = 2;
    public static final long STRTAB_STE_0_S1CTXPTR_MASK = GENMASK_ULL(51, 6);
    public static final long STRTAB_STE_0_S1CDMAX = GENMASK_ULL(63, 59);

    public static final long STRTAB_STE_1_S1DSS = GENMASK_ULL(1, 0);
    public static final long STRTAB_STE_1_S1DSS_TERMINATE = 0x0;
    public static final long STRTAB_STE_1_S1DSS_BYPASS = 0x1;
    public static final long STRTAB_STE_1_S1DSS_SSID0 = 0x2;

    public static final long STRTAB_STE_1_S1C_CACHE_NC = 0;
    public static final long STRTAB_STE_1_S1C_CACHE_WBRA = 1;
    public static final long STRTAB_STE_1_S1C_CACHE_WT = 2;
    public static final long STRTAB_STE_1_S1C_CACHE_WB = 3;
    public static final long STRTAB_STE_1_S1CIR = GENMASK_ULL(3, 2);
    public static final long STRTAB_STE_1_S1COR = GENMASK_ULL(5, 4);
    public static final long STRTAB_STE_1_S1CSH = GENMASK_ULL(7, 6);

    public static final long STRTAB_STE_1_PPAR = 1L << 18;
    public static final long STRTAB_STE_1_S1STALLD = 1L << 27;

    public static final long STRTAB_STE_1_EATS = GENMASK_ULL(29, 28);
    public static final long STRTAB_STE_1_EATS_ABT = 0;
    public static final long STRTAB_STE_1_EATS_TRANS = 1;
    public static final long STRTAB_STE_1_EATS_S1CHK = 2;

    public static final long STRTAB_STE_1_STRW = GENMASK_ULL(31, 30);
    public static final long STRTAB_STE_1_STRW_NSEL1 = 0;
    public static final long STRTAB_STE_1_STRW_EL2 = 2;

    public static final long STRTAB_STE_1_SHCFG = GENMASK_ULL(45, 44);
    public static final long STRTAB_STE_1_SHCFG_INCOMING = 1;

    public static final long STRTAB_STE_2_S2VMID = GENMASK_ULL(15, 0);
    public static final long STRTAB_STE_2_VTCR = GENMASK_ULL(50, 32);
    public static final long STRTAB_STE_2_VTCR_S2T0SZ = GENMASK_ULL(5, 0);
    public static final long STRTAB_STE_2_VTCR_S2SL0 = GENMASK_ULL(7, 6);
    public static final long STRTAB_STE_2_VTCR_S2IR0 = GENMASK_ULL(9, 8);
    public static final long STRTAB_STE_2_VTCR_S2OR0 = GENMASK_ULL(11, 10);
    public static final long STRTAB_STE_2_VTCR_S2SH0 = GENMASK_ULL(13, 12);
    public static final long STRTAB_STE_2_VTCR_S2TG = GENMASK_ULL(15, 14);
    public static final long STRTAB_STE_2_VTCR_S2PS = GENMASK_ULL(18, 16);
    public static final long STRTAB_STE_2_S2AA64 = 1L << 51;
    public static final long STRTAB_STE_2_S2ENDI = 1L << 52;
    public static final long STRTAB_STE_2_S2PTW = 1L << 54;
    public static final long STRTAB_STE_2_S2R = 1L << 58;

    public static final long STRTAB_STE_3_S2TTB_MASK = GENMASK_ULL(51, 4);

    /* Context descriptors: linear below 1024 SSIDs, else at most 1024 L1 entries of 1024 lazy CDs. */
    public static final int CTXDESC_SPLIT = 10;
    public static final int CTXDESC_L2_ENTRIES = 1 << CTXDESC_SPLIT;

    public static final int CTXDESC_L1_DESC_DWORDS = 1;
    public static final long CTXDESC_L1_DESC_V = 1L << 0;
    public static final long CTXDESC_L1_DESC_L2PTR_MASK = GENMASK_ULL(51, 12);

    public static final int CTXDESC_CD_DWORDS = 8;
    public static final long CTXDESC_CD_0_TCR_T0SZ = GENMASK_ULL(5, 0);
    public static final long CTXDESC_CD_0_TCR_TG0 = GENMASK_ULL(7, 6);
    public static final long CTXDESC_CD_0_TCR_IRGN0 = GENMASK_ULL(9, 8);
    public static final long CTXDESC_CD_0_TCR_ORGN0 = GENMASK_ULL(11, 10);
    public static final long CTXDESC_CD_0_TCR_SH0 = GENMASK_ULL(13, 12);
    public static final long CTXDESC_CD_0_TCR_EPD0 = 1L << 14;
    public static final long CTXDESC_CD_0_TCR_EPD1 = 1L << 30;

    public static final long CTXDESC_CD_0_ENDI = 1L << 15;
    public static final long CTXDESC_CD_0_V = 1L << 31;

    public static final long CTXDESC_CD_0_TCR_IPS = GENMASK_ULL(34, 32);
    /** Seed 004 HTTU: the SMMU sets dirty state (HD) and the access flag (HA) in the tables. */
    @Port(value = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:CTXDESC_CD_0_TCR_HD", seed = "004")
    public static final long CTXDESC_CD_0_TCR_HD = 1L << 42;
    @Port(value = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:CTXDESC_CD_0_TCR_HA", seed = "004")
    public static final long CTXDESC_CD_0_TCR_HA = 1L << 43;
    public static final long CTXDESC_CD_0_TCR_TBI0 = 1L << 38;

    public static final long CTXDESC_CD_0_AA64 = 1L << 41;
    public static final long CTXDESC_CD_0_S = 1L << 44;
    public static final long CTXDESC_CD_0_R = 1L << 45;
    public static final long CTXDESC_CD_0_A = 1L << 46;
    public static final long CTXDESC_CD_0_ASET = 1L << 47;
    public static final long CTXDESC_CD_0_ASID = GENMASK_ULL(63, 48);

    public static final long CTXDESC_CD_1_TTB0_MASK = GENMASK_ULL(51, 4);

    /** Linear CD tables are capped at 64 KiB: ilog2(SZ_64K / 64) = 10 SSID bits. */
    public static final int CTXDESC_LINEAR_CDMAX = 10;

    /* Command queue: size cap and command layouts */
    public static final int CMDQ_ENT_SZ_SHIFT = 4;
    public static final int CMDQ_ENT_DWORDS = (1 << CMDQ_ENT_SZ_SHIFT) >> 3;
    public static final int CMDQ_MAX_SZ_SHIFT = Q_MAX_SZ_SHIFT - CMDQ_ENT_SZ_SHIFT;

    public static final long CMDQ_CONS_ERR = GENMASK(30, 24);
    public static final int CMDQ_ERR_CERROR_NONE_IDX = 0;
    public static final int CMDQ_ERR_CERROR_ILL_IDX = 1;
    public static final int CMDQ_ERR_CERROR_ABT_IDX = 2;
    public static final int CMDQ_ERR_CERROR_ATC_INV_IDX = 3;

    public static final int CMDQ_PROD_OWNED_FLAG = Q_OVERFLOW_FLAG;

    /** Sizes the command queue; a multiple of BITS_PER_LONG so that valid_map words line up. */
    public static final int CMDQ_BATCH_ENTRIES = 64;

    public static final long CMDQ_0_OP = GENMASK_ULL(7, 0);
    public static final long CMDQ_0_SSV = 1L << 11;

    public static final long CMDQ_PREFETCH_0_SID = GENMASK_ULL(63, 32);
    public static final long CMDQ_PREFETCH_1_SIZE = GENMASK_ULL(4, 0);
    public static final long CMDQ_PREFETCH_1_ADDR_MASK = GENMASK_ULL(63, 12);

    public static final long CMDQ_CFGI_0_SSID = GENMASK_ULL(31, 12);
    public static final long CMDQ_CFGI_0_SID = GENMASK_ULL(63, 32);
    public static final long CMDQ_CFGI_1_LEAF = 1L << 0;
    public static final long CMDQ_CFGI_1_RANGE = GENMASK_ULL(4, 0);

    public static final long CMDQ_TLBI_0_NUM = GENMASK_ULL(16, 12);
    public static final int CMDQ_TLBI_RANGE_NUM_MAX = 31;
    public static final long CMDQ_TLBI_0_SCALE = GENMASK_ULL(24, 20);
    public static final long CMDQ_TLBI_0_VMID = GENMASK_ULL(47, 32);
    public static final long CMDQ_TLBI_0_ASID = GENMASK_ULL(63, 48);
    public static final long CMDQ_TLBI_1_LEAF = 1L << 0;
    public static final long CMDQ_TLBI_1_TTL = GENMASK_ULL(9, 8);
    public static final long CMDQ_TLBI_1_TG = GENMASK_ULL(11, 10);
    public static final long CMDQ_TLBI_1_VA_MASK = GENMASK_ULL(63, 12);
    public static final long CMDQ_TLBI_1_IPA_MASK = GENMASK_ULL(51, 12);

    public static final long CMDQ_ATC_0_SSID = GENMASK_ULL(31, 12);
    public static final long CMDQ_ATC_0_SID = GENMASK_ULL(63, 32);
    public static final long CMDQ_ATC_0_GLOBAL = 1L << 9;
    public static final long CMDQ_ATC_1_SIZE = GENMASK_ULL(5, 0);
    public static final long CMDQ_ATC_1_ADDR_MASK = GENMASK_ULL(63, 12);

    public static final long CMDQ_PRI_0_SSID = GENMASK_ULL(31, 12);
    public static final long CMDQ_PRI_0_SID = GENMASK_ULL(63, 32);
    public static final long CMDQ_PRI_1_GRPID = GENMASK_ULL(8, 0);
    public static final long CMDQ_PRI_1_RESP = GENMASK_ULL(13, 12);

    public static final long CMDQ_RESUME_0_RESP_TERM = 0;
    public static final long CMDQ_RESUME_0_RESP_RETRY = 1;
    public static final long CMDQ_RESUME_0_RESP_ABORT = 2;
    public static final long CMDQ_RESUME_0_RESP = GENMASK_ULL(13, 12);
    public static final long CMDQ_RESUME_0_SID = GENMASK_ULL(63, 32);
    public static final long CMDQ_RESUME_1_STAG = GENMASK_ULL(15, 0);

    public static final long CMDQ_SYNC_0_CS = GENMASK_ULL(13, 12);
    public static final long CMDQ_SYNC_0_CS_NONE = 0;
    public static final long CMDQ_SYNC_0_CS_IRQ = 1;
    public static final long CMDQ_SYNC_0_CS_SEV = 2;
    public static final long CMDQ_SYNC_0_MSH = GENMASK_ULL(23, 22);
    public static final long CMDQ_SYNC_0_MSIATTR = GENMASK_ULL(27, 24);
    public static final long CMDQ_SYNC_0_MSIDATA = GENMASK_ULL(63, 32);
    public static final long CMDQ_SYNC_1_MSIADDR_MASK = GENMASK_ULL(51, 2);

    /* Event queue: size cap and record layout */
    public static final int EVTQ_ENT_SZ_SHIFT = 5;
    public static final int EVTQ_ENT_DWORDS = (1 << EVTQ_ENT_SZ_SHIFT) >> 3;
    public static final int EVTQ_MAX_SZ_SHIFT = Q_MAX_SZ_SHIFT - EVTQ_ENT_SZ_SHIFT;

    public static final long EVTQ_0_ID = GENMASK_ULL(7, 0);

    public static final int EVT_ID_TRANSLATION_FAULT = 0x10;
    public static final int EVT_ID_ADDR_SIZE_FAULT = 0x11;
    public static final int EVT_ID_ACCESS_FAULT = 0x12;
    public static final int EVT_ID_PERMISSION_FAULT = 0x13;

    public static final long EVTQ_0_SSV = 1L << 11;
    public static final long EVTQ_0_SSID = GENMASK_ULL(31, 12);
    public static final long EVTQ_0_SID = GENMASK_ULL(63, 32);
    public static final long EVTQ_1_STAG = GENMASK_ULL(15, 0);
    public static final long EVTQ_1_STALL = 1L << 31;
    public static final long EVTQ_1_PnU = 1L << 33;
    public static final long EVTQ_1_InD = 1L << 34;
    public static final long EVTQ_1_RnW = 1L << 35;
    public static final long EVTQ_1_S2 = 1L << 39;
    public static final long EVTQ_1_CLASS = GENMASK_ULL(41, 40);
    public static final long EVTQ_1_TT_READ = 1L << 44;
    public static final long EVTQ_2_ADDR = GENMASK_ULL(63, 0);
    public static final long EVTQ_3_IPA = GENMASK_ULL(51, 12);

    /* PRI queue: size cap and record layout */
    public static final int PRIQ_ENT_SZ_SHIFT = 4;
    public static final int PRIQ_ENT_DWORDS = (1 << PRIQ_ENT_SZ_SHIFT) >> 3;
    public static final int PRIQ_MAX_SZ_SHIFT = Q_MAX_SZ_SHIFT - PRIQ_ENT_SZ_SHIFT;

    public static final long PRIQ_0_SID = GENMASK_ULL(31, 0);
    public static final long PRIQ_0_SSID = GENMASK_ULL(51, 32);
    public static final long PRIQ_0_PERM_PRIV = 1L << 58;
    public static final long PRIQ_0_PERM_EXEC = 1L << 59;
    public static final long PRIQ_0_PERM_READ = 1L << 60;
    public static final long PRIQ_0_PERM_WRITE = 1L << 61;
    public static final long PRIQ_0_PRG_LAST = 1L << 62;
    public static final long PRIQ_0_SSID_V = 1L << 63;

    public static final long PRIQ_1_PRG_IDX = GENMASK_ULL(8, 0);
    public static final long PRIQ_1_ADDR_MASK = GENMASK_ULL(63, 12);

    /* Poll limits, and the IOVA window reserved for software-managed MSIs */
    public static final long ARM_SMMU_POLL_TIMEOUT_US = 1_000_000;
    public static final int ARM_SMMU_POLL_SPIN_COUNT = 10;

    public static final long MSI_IOVA_BASE = 0x8000000;
    public static final long MSI_IOVA_LENGTH = 0x100000;

    /* enum pri_resp */
    public static final int PRI_RESP_DENY = 0;
    public static final int PRI_RESP_FAIL = 1;
    public static final int PRI_RESP_SUCC = 2;
    /**
     * Seed 004: CMD_PRI_RESP.Resp by the architecture's names (the enum above names 0 "deny",
     * but the SMMU sends 0 to the device as Response Failure, which disables its PRI).
     */
    @Port(value = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:CMDQ_PRI_1_RESP_FAILURE", seed = "004")
    public static final int CMDQ_PRI_1_RESP_FAILURE = 0;
    @Port(value = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:CMDQ_PRI_1_RESP_INVALID", seed = "004")
    public static final int CMDQ_PRI_1_RESP_INVALID = 1;
    @Port(value = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:CMDQ_PRI_1_RESP_SUCCESS", seed = "004")
    public static final int CMDQ_PRI_1_RESP_SUCCESS = 2;

    /* Opcodes, from the arms of struct arm_smmu_cmdq_ent */
    public static final int CMDQ_OP_PREFETCH_CFG = 0x1;
    public static final int CMDQ_OP_CFGI_STE = 0x3;
    public static final int CMDQ_OP_CFGI_ALL = 0x4;
    public static final int CMDQ_OP_CFGI_CD = 0x5;
    public static final int CMDQ_OP_CFGI_CD_ALL = 0x6;
    public static final int CMDQ_OP_TLBI_NH_ASID = 0x11;
    public static final int CMDQ_OP_TLBI_NH_VA = 0x12;
    public static final int CMDQ_OP_TLBI_EL2_ALL = 0x20;
    public static final int CMDQ_OP_TLBI_EL2_ASID = 0x21;
    public static final int CMDQ_OP_TLBI_EL2_VA = 0x22;
    public static final int CMDQ_OP_TLBI_S12_VMALL = 0x28;
    public static final int CMDQ_OP_TLBI_S2_IPA = 0x2a;
    public static final int CMDQ_OP_TLBI_NSNH_ALL = 0x30;
    public static final int CMDQ_OP_ATC_INV = 0x40;
    public static final int ATC_INV_SIZE_ALL = 52;
    public static final int CMDQ_OP_PRI_RESP = 0x41;
    public static final int CMDQ_OP_RESUME = 0x44;
    public static final int CMDQ_OP_CMD_SYNC = 0x46;

    /* struct arm_smmu_device: features */
    public static final int ARM_SMMU_FEAT_2_LVL_STRTAB = 1 << 0;
    public static final int ARM_SMMU_FEAT_2_LVL_CDTAB = 1 << 1;
    public static final int ARM_SMMU_FEAT_TT_LE = 1 << 2;
    public static final int ARM_SMMU_FEAT_TT_BE = 1 << 3;
    public static final int ARM_SMMU_FEAT_PRI = 1 << 4;
    public static final int ARM_SMMU_FEAT_ATS = 1 << 5;
    public static final int ARM_SMMU_FEAT_SEV = 1 << 6;
    public static final int ARM_SMMU_FEAT_MSI = 1 << 7;
    public static final int ARM_SMMU_FEAT_COHERENCY = 1 << 8;
    public static final int ARM_SMMU_FEAT_TRANS_S1 = 1 << 9;
    public static final int ARM_SMMU_FEAT_TRANS_S2 = 1 << 10;
    public static final int ARM_SMMU_FEAT_STALLS = 1 << 11;
    public static final int ARM_SMMU_FEAT_HYP = 1 << 12;
    public static final int ARM_SMMU_FEAT_STALL_FORCE = 1 << 13;
    public static final int ARM_SMMU_FEAT_VAX = 1 << 14;
    public static final int ARM_SMMU_FEAT_RANGE_INV = 1 << 15;
    public static final int ARM_SMMU_FEAT_BTM = 1 << 16;
    public static final int ARM_SMMU_FEAT_SVA = 1 << 17;
    public static final int ARM_SMMU_FEAT_E2H = 1 << 18;
    /** Hardware access flag and dirty state updates (the bit numbers mainline gave them in v6.11). */
    public static final int ARM_SMMU_FEAT_HA = 1 << 21;
    public static final int ARM_SMMU_FEAT_HD = 1 << 22;

    /* struct arm_smmu_device: options */
    public static final int ARM_SMMU_OPT_SKIP_PREFETCH = 1 << 0;
    public static final int ARM_SMMU_OPT_PAGE0_REGS_ONLY = 1 << 1;
    public static final int ARM_SMMU_OPT_MSIPOLL = 1 << 2;

    public static final int ARM_SMMU_MAX_ASIDS = 1 << 16;
    public static final int ARM_SMMU_MAX_VMIDS = 1 << 16;

    /* enum arm_smmu_domain_stage */
    public static final int ARM_SMMU_DOMAIN_S1 = 0;
    public static final int ARM_SMMU_DOMAIN_S2 = 1;
    public static final int ARM_SMMU_DOMAIN_NESTED = 2;
    public static final int ARM_SMMU_DOMAIN_BYPASS = 3;
}
