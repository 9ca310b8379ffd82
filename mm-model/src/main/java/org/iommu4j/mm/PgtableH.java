package org.iommu4j.mm;

import static org.iommu4j.base.Bits.BIT;
import static org.iommu4j.base.Bits.GENMASK;

import org.iommu4j.base.Port;

/**
 * arm64 stage-1 descriptor bits: arch/arm64/include/asm/pgtable-hwdef.h (hardware bits) and
 * pgtable-prot.h (software bits and the user protections), v5.15 values.
 *
 * <p>Hardware view (VMSAv8-64, stage 1, EL1&amp;0 regime): bits [1:0] type (0b11 table at levels
 * 0-2 / page at level 3, 0b01 block at levels 1-2), AttrIndx [4:2], AP[2:1] = bits [7:6] (AP[1]
 * = EL0 access, AP[2] = read-only), SH [9:8], AF 10, nG 11, output address [47:PAGE_SHIFT],
 * GP 50, DBM 51, Contiguous 52, PXN 53, UXN 54; bits 55-58 are ignored by hardware and hold Linux's
 * software bits.
 */
@Port("arch/arm64/include/asm/pgtable-hwdef.h:PTE_VALID")
public final class PgtableH {
    private PgtableH() {}

    /* ---- level descriptors: table / block / page ---- */
    public static final long PTE_VALID = BIT(0);
    public static final long PTE_TYPE_MASK = 3L;
    public static final long PTE_TYPE_PAGE = 3L;
    public static final long PTE_TABLE_BIT = BIT(1);
    public static final long PMD_TYPE_MASK = 3L;
    public static final long PMD_TYPE_FAULT = 0L;
    public static final long PMD_TYPE_TABLE = 3L;
    public static final long PMD_TYPE_SECT = 1L;
    public static final long PMD_TABLE_BIT = BIT(1);
    public static final long PUD_TYPE_TABLE = 3L;
    public static final long PUD_TYPE_SECT = 1L;
    public static final long PUD_TABLE_BIT = BIT(1);

    /* ---- lower attributes (page and block alike) ---- */
    /** AttrIndx[2:0]: index into MAIR_EL1. */
    public static final long PTE_ATTRINDX_MASK = GENMASK(4, 2);
    /** AP[1]: EL0 (user) access. */
    public static final long PTE_USER = BIT(6);
    /** AP[2]: read-only. */
    public static final long PTE_RDONLY = BIT(7);
    /** SH[1:0]: 0b11 inner shareable. */
    public static final long PTE_SHARED = 3L << 8;
    public static final long PTE_SH_MASK = GENMASK(9, 8);
    /** Access flag. */
    public static final long PTE_AF = BIT(10);
    /** Not global: the entry is tagged with the ASID. */
    public static final long PTE_NG = BIT(11);
    /* ---- upper attributes ---- */
    /** Guarded Page (FEAT_BTI): branch targets in an executable page must be BTI landing pads. */
    public static final long PTE_GP = BIT(50);
    /** Dirty Bit Modifier: hardware may clear AP[2] on a write (FEAT_HAFDBS). */
    public static final long PTE_DBM = BIT(51);
    /** Contiguous hint (this port never sets it). */
    public static final long PTE_CONT = BIT(52);
    public static final long PTE_PXN = BIT(53);
    public static final long PTE_UXN = BIT(54);

    /** Output address bits for a 48-bit PA with 4K/16K/64K pages: [47:12], narrowed by PAGE_MASK. */
    public static final long PTE_ADDR_LOW = GENMASK(47, 12);
    public static final long PTE_ADDR_MASK = PTE_ADDR_LOW;

    /** Table descriptor attributes (APTable, XNTable...) are left zero by Linux. */
    public static final long PMD_SECT_VALID = BIT(0);
    public static final long PMD_SECT_USER = BIT(6);
    public static final long PMD_SECT_RDONLY = BIT(7);
    public static final long PMD_SECT_S = 3L << 8;
    public static final long PMD_SECT_AF = BIT(10);
    public static final long PMD_SECT_NG = BIT(11);
    public static final long PMD_SECT_CONT = BIT(52);
    public static final long PMD_SECT_PXN = BIT(53);
    public static final long PMD_SECT_UXN = BIT(54);

    /* ---- software bits (pgtable-prot.h) ---- */
    /** Linux's "writable": the same bit as DBM so a writable clean PTE is hardware-dirtiable. */
    @Port("arch/arm64/include/asm/pgtable-prot.h:PTE_WRITE")
    public static final long PTE_WRITE = PTE_DBM;
    public static final long PTE_DIRTY = BIT(55);
    public static final long PTE_SPECIAL = BIT(56);
    public static final long PTE_DEVMAP = BIT(57);
    /** Only when !PTE_VALID: present but inaccessible (PROT_NONE). */
    public static final long PTE_PROT_NONE = BIT(58);

    /* ---- memory types (MAIR_EL1 indices, asm/memory.h v5.15) ---- */
    public static final int MT_NORMAL = 0;
    public static final int MT_NORMAL_TAGGED = 1;
    public static final int MT_NORMAL_NC = 2;
    public static final int MT_DEVICE_nGnRnE = 3;
    public static final int MT_DEVICE_nGnRE = 4;

    public static final long MAIR_ATTR_DEVICE_nGnRnE = 0x00;
    public static final long MAIR_ATTR_DEVICE_nGnRE = 0x04;
    public static final long MAIR_ATTR_NORMAL_NC = 0x44;
    public static final long MAIR_ATTR_NORMAL_TAGGED = 0xf0;
    public static final long MAIR_ATTR_NORMAL = 0xff;

    /** MAIR_EL1 as proc.S programs it (MAIR_EL1_SET): what an SVA context descriptor copies. */
    @Port("arch/arm64/mm/proc.S:MAIR_EL1_SET")
    public static final long MAIR_EL1_SET = MAIR_ATTRIDX(MAIR_ATTR_DEVICE_nGnRnE, MT_DEVICE_nGnRnE)
            | MAIR_ATTRIDX(MAIR_ATTR_DEVICE_nGnRE, MT_DEVICE_nGnRE)
            | MAIR_ATTRIDX(MAIR_ATTR_NORMAL_NC, MT_NORMAL_NC)
            | MAIR_ATTRIDX(MAIR_ATTR_NORMAL, MT_NORMAL)
            | MAIR_ATTRIDX(MAIR_ATTR_NORMAL_TAGGED, MT_NORMAL_TAGGED);

    @Port("arch/arm64/include/asm/sysreg.h:MAIR_ATTRIDX")
    public static long MAIR_ATTRIDX(long attr, int idx) {
        return attr << (idx * 8);
    }

    @Port("arch/arm64/include/asm/pgtable-hwdef.h:PTE_ATTRINDX")
    public static long PTE_ATTRINDX(int t) {
        return (long) t << 2;
    }

    /* ---- default protections (pgtable-prot.h; PTE_MAYBE_NG = PTE_NG, user mappings) ---- */
    public static final long _PROT_DEFAULT = PTE_TYPE_PAGE | PTE_AF | PTE_SHARED;
    public static final long PROT_DEFAULT = _PROT_DEFAULT | PTE_NG;
    public static final long PROT_SECT_DEFAULT = PMD_TYPE_SECT | PMD_SECT_AF | PMD_SECT_S;
    public static final long PROT_NORMAL = PROT_DEFAULT | PTE_PXN | PTE_UXN | PTE_WRITE | PTE_ATTRINDX(MT_NORMAL);
    public static final long PROT_SECT_NORMAL = PROT_SECT_DEFAULT | PMD_SECT_PXN | PMD_SECT_UXN | PTE_ATTRINDX(MT_NORMAL);
    public static final long _PAGE_DEFAULT = _PROT_DEFAULT | PTE_ATTRINDX(MT_NORMAL);

    public static final long PAGE_KERNEL = PROT_NORMAL & ~PTE_NG;
    @Port("arch/arm64/include/asm/pgtable-prot.h:PAGE_NONE")
    public static final long PAGE_NONE = (_PAGE_DEFAULT & ~PTE_VALID) | PTE_PROT_NONE | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN;
    @Port("arch/arm64/include/asm/pgtable-prot.h:PAGE_SHARED")
    public static final long PAGE_SHARED = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN | PTE_WRITE;
    @Port("arch/arm64/include/asm/pgtable-prot.h:PAGE_SHARED_EXEC")
    public static final long PAGE_SHARED_EXEC = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_WRITE;
    @Port("arch/arm64/include/asm/pgtable-prot.h:PAGE_READONLY")
    public static final long PAGE_READONLY = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN;
    @Port("arch/arm64/include/asm/pgtable-prot.h:PAGE_READONLY_EXEC")
    public static final long PAGE_READONLY_EXEC = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN;
    @Port("arch/arm64/include/asm/pgtable-prot.h:PAGE_EXECONLY")
    public static final long PAGE_EXECONLY = _PAGE_DEFAULT | PTE_RDONLY | PTE_NG | PTE_PXN;

    /**
     * protection_map[16] (mm/mmap.c with the arm64 __P/__S values): index = VM_READ | VM_WRITE |
     * VM_EXEC | VM_SHARED. Private writable mappings start read-only (copy-on-write).
     */
    @Port("mm/mmap.c:protection_map")
    static final long[] PROTECTION_MAP = {
        PAGE_NONE, PAGE_READONLY, PAGE_READONLY, PAGE_READONLY,
        PAGE_EXECONLY, PAGE_READONLY_EXEC, PAGE_READONLY_EXEC, PAGE_READONLY_EXEC,
        PAGE_NONE, PAGE_READONLY, PAGE_SHARED, PAGE_SHARED,
        PAGE_EXECONLY, PAGE_READONLY_EXEC, PAGE_SHARED_EXEC, PAGE_SHARED_EXEC,
    };

    /* ---- TCR_EL1 fields an SMMU context descriptor copies (pgtable-hwdef.h) ---- */
    public static final long TCR_T0SZ_MASK = GENMASK(5, 0);
    public static final long TCR_IRGN0_MASK = GENMASK(9, 8);
    public static final long TCR_ORGN0_MASK = GENMASK(11, 10);
    public static final long TCR_SH0_MASK = GENMASK(13, 12);
    public static final long TCR_TG0_MASK = GENMASK(15, 14);
    public static final long TCR_TG0_4K = 0;
    public static final long TCR_TG0_64K = 1;
    public static final long TCR_TG0_16K = 2;
    public static final long TCR_A1 = BIT(22);
    public static final long TCR_IPS_MASK = GENMASK(34, 32);
    public static final long TCR_ASID16 = BIT(36);
    public static final long TCR_HA = BIT(39);
    public static final long TCR_HD = BIT(40);

    /** TTBRx_EL1.ASID (TCR.A1 = 0: TTBR0 carries the ASID). */
    public static final long TTBR_ASID_MASK = GENMASK(63, 48);
    public static final long TTBR_BADDR_MASK = GENMASK(47, 1);

    /** ID_AA64MMFR0_EL1 fields read by the ASID allocator and SVA. */
    public static final long ID_AA64MMFR0_PARANGE_MASK = GENMASK(3, 0);
    public static final long ID_AA64MMFR0_ASID_MASK = GENMASK(7, 4);
    public static final long ID_AA64MMFR0_PARANGE_48 = 5;
}
