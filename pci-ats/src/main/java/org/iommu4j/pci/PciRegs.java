package org.iommu4j.pci;

import org.iommu4j.base.Port;

/**
 * include/uapi/linux/pci_regs.h (the parts the PCI core and ats.c use), with the kernel's
 * names and values, in header order. The device model has its own coding ({@code PcieSpec}).
 */
@Port("include/uapi/linux/pci_regs.h:PCI_VENDOR_ID")
public final class PciRegs {
    private PciRegs() {}

    public static final int PCI_CFG_SPACE_SIZE = 256;
    public static final int PCI_CFG_SPACE_EXP_SIZE = 4096;

    public static final int PCI_VENDOR_ID = 0x00;
    public static final int PCI_DEVICE_ID = 0x02;
    public static final int PCI_COMMAND = 0x04;
    public static final int PCI_COMMAND_IO = 0x1;
    public static final int PCI_COMMAND_MEMORY = 0x2;
    public static final int PCI_COMMAND_MASTER = 0x4;
    public static final int PCI_COMMAND_PARITY = 0x40;
    public static final int PCI_COMMAND_SERR = 0x100;
    public static final int PCI_COMMAND_INTX_DISABLE = 0x400;
    /** {@code PCI_COMMAND_DECODE_ENABLE} (include/linux/pci.h): memory and I/O decode. */
    public static final int PCI_COMMAND_DECODE_ENABLE = PCI_COMMAND_MEMORY | PCI_COMMAND_IO;
    public static final int PCI_STATUS = 0x06;
    public static final int PCI_STATUS_INTERRUPT = 0x08;
    public static final int PCI_STATUS_CAP_LIST = 0x10;
    public static final int PCI_STATUS_DETECTED_PARITY = 0x8000;
    public static final int PCI_CLASS_REVISION = 0x08;
    public static final int PCI_REVISION_ID = 0x08;
    public static final int PCI_CLASS_PROG = 0x09;
    public static final int PCI_CLASS_DEVICE = 0x0a;
    public static final int PCI_CACHE_LINE_SIZE = 0x0c;
    public static final int PCI_LATENCY_TIMER = 0x0d;
    public static final int PCI_HEADER_TYPE = 0x0e;
    public static final int PCI_HEADER_TYPE_MASK = 0x7f;
    public static final int PCI_HEADER_TYPE_NORMAL = 0;
    public static final int PCI_BIST = 0x0f;
    public static final int PCI_BASE_ADDRESS_0 = 0x10;
    public static final int PCI_BASE_ADDRESS_SPACE = 0x01;
    public static final int PCI_BASE_ADDRESS_SPACE_IO = 0x01;
    public static final int PCI_BASE_ADDRESS_SPACE_MEMORY = 0x00;
    public static final int PCI_BASE_ADDRESS_MEM_TYPE_MASK = 0x06;
    public static final int PCI_BASE_ADDRESS_MEM_TYPE_32 = 0x00;
    public static final int PCI_BASE_ADDRESS_MEM_TYPE_1M = 0x02;
    public static final int PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x04;
    public static final int PCI_BASE_ADDRESS_MEM_PREFETCH = 0x08;
    /** {@code (~0x0fUL)}: an unsigned long in C, so 64 bits wide. */
    public static final long PCI_BASE_ADDRESS_MEM_MASK = ~0x0fL;
    public static final long PCI_BASE_ADDRESS_IO_MASK = ~0x03L;
    public static final int PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
    public static final int PCI_SUBSYSTEM_ID = 0x2e;
    public static final int PCI_ROM_ADDRESS = 0x30;
    public static final int PCI_ROM_ADDRESS_ENABLE = 0x01;
    /** {@code (~0x7ffU)}: 32 bits. */
    public static final int PCI_ROM_ADDRESS_MASK = ~0x7ff;
    public static final int PCI_CAPABILITY_LIST = 0x34;
    public static final int PCI_INTERRUPT_LINE = 0x3c;
    public static final int PCI_INTERRUPT_PIN = 0x3d;

    public static final int PCI_CAP_LIST_ID = 0;
    public static final int PCI_CAP_ID_MSI = 0x05;
    public static final int PCI_CAP_ID_VNDR = 0x09;
    public static final int PCI_CAP_ID_EXP = 0x10;
    public static final int PCI_CAP_ID_MSIX = 0x11;
    public static final int PCI_CAP_LIST_NEXT = 1;
    public static final int PCI_CAP_FLAGS = 2;

    /* Message Signalled Interrupts capability */
    public static final int PCI_MSI_FLAGS = 2;
    public static final int PCI_MSI_FLAGS_ENABLE = 0x0001;
    public static final int PCI_MSI_FLAGS_QMASK = 0x000e;
    public static final int PCI_MSI_FLAGS_QSIZE = 0x0070;
    public static final int PCI_MSI_FLAGS_64BIT = 0x0080;
    public static final int PCI_MSI_FLAGS_MASKBIT = 0x0100;
    public static final int PCI_MSI_RFU = 3;
    public static final int PCI_MSI_ADDRESS_LO = 4;
    public static final int PCI_MSI_ADDRESS_HI = 8;
    public static final int PCI_MSI_DATA_32 = 8;
    public static final int PCI_MSI_MASK_32 = 12;
    public static final int PCI_MSI_PENDING_32 = 16;
    public static final int PCI_MSI_DATA_64 = 12;
    public static final int PCI_MSI_MASK_64 = 16;
    public static final int PCI_MSI_PENDING_64 = 20;

    /* MSI-X registers (in MSI-X capability) */
    public static final int PCI_MSIX_FLAGS = 2;
    public static final int PCI_MSIX_FLAGS_QSIZE = 0x07FF;
    public static final int PCI_MSIX_FLAGS_MASKALL = 0x4000;
    public static final int PCI_MSIX_FLAGS_ENABLE = 0x8000;
    public static final int PCI_MSIX_TABLE = 4;
    public static final int PCI_MSIX_TABLE_BIR = 0x00000007;
    public static final int PCI_MSIX_TABLE_OFFSET = 0xfffffff8;
    public static final int PCI_MSIX_PBA = 8;
    public static final int PCI_MSIX_PBA_BIR = 0x00000007;
    public static final int PCI_MSIX_PBA_OFFSET = 0xfffffff8;
    /** {@code PCI_MSIX_FLAGS_BIRMASK}: {@code PCI_MSIX_PBA_BIR}. */
    public static final int PCI_MSIX_FLAGS_BIRMASK = PCI_MSIX_PBA_BIR;
    public static final int PCI_CAP_MSIX_SIZEOF = 12;
    /* MSI-X Table entry format (PCI 3.0 6.8.2) */
    public static final int PCI_MSIX_ENTRY_SIZE = 16;
    public static final int PCI_MSIX_ENTRY_LOWER_ADDR = 0x0;
    public static final int PCI_MSIX_ENTRY_UPPER_ADDR = 0x4;
    public static final int PCI_MSIX_ENTRY_DATA = 0x8;
    public static final int PCI_MSIX_ENTRY_VECTOR_CTRL = 0xc;
    public static final int PCI_MSIX_ENTRY_CTRL_MASKBIT = 0x00000001;

    /* PCIe capability structure: offsets and fields */
    public static final int PCI_EXP_FLAGS = 2;
    public static final int PCI_EXP_FLAGS_VERS = 0x000f;
    public static final int PCI_EXP_FLAGS_TYPE = 0x00f0;
    public static final int PCI_EXP_TYPE_ENDPOINT = 0x0;
    public static final int PCI_EXP_TYPE_LEG_END = 0x1;
    public static final int PCI_EXP_TYPE_ROOT_PORT = 0x4;
    public static final int PCI_EXP_TYPE_UPSTREAM = 0x5;
    public static final int PCI_EXP_TYPE_DOWNSTREAM = 0x6;
    public static final int PCI_EXP_TYPE_PCI_BRIDGE = 0x7;
    public static final int PCI_EXP_TYPE_PCIE_BRIDGE = 0x8;
    public static final int PCI_EXP_TYPE_RC_END = 0x9;
    public static final int PCI_EXP_TYPE_RC_EC = 0xa;
    public static final int PCI_EXP_FLAGS_SLOT = 0x0100;
    public static final int PCI_EXP_DEVCAP = 4;
    public static final int PCI_EXP_DEVCTL = 8;
    public static final int PCI_EXP_DEVSTA = 10;
    public static final int PCI_EXP_LNKCAP = 12;
    public static final int PCI_EXP_LNKCTL = 16;
    public static final int PCI_EXP_LNKSTA = 18;
    public static final int PCI_EXP_SLTCAP = 20;
    public static final int PCI_EXP_SLTCTL = 24;
    public static final int PCI_EXP_SLTSTA = 26;
    public static final int PCI_EXP_SLTSTA_PDS = 0x0040;
    public static final int PCI_EXP_RTCTL = 28;
    public static final int PCI_EXP_RTCAP = 30;
    public static final int PCI_EXP_RTSTA = 32;
    public static final int PCI_EXP_DEVCAP2 = 0x24;
    public static final int PCI_EXP_DEVCAP2_EE_PREFIX = 0x00200000;
    public static final int PCI_EXP_DEVCTL2 = 0x28;
    public static final int PCI_EXP_LNKCAP2 = 0x2c;
    public static final int PCI_EXP_LNKCTL2 = 0x30;
    public static final int PCI_EXP_LNKSTA2 = 0x32;

    /* Extended capability header (config space from 0x100) and IDs */
    public static int PCI_EXT_CAP_ID(int header) {
        return header & 0x0000ffff;
    }

    public static int PCI_EXT_CAP_VER(int header) {
        return (header >>> 16) & 0xf;
    }

    public static int PCI_EXT_CAP_NEXT(int header) {
        return (header >>> 20) & 0xffc;
    }

    public static final int PCI_EXT_CAP_ID_ACS = 0x0D;
    public static final int PCI_EXT_CAP_ID_ATS = 0x0F;
    public static final int PCI_EXT_CAP_ID_SRIOV = 0x10;
    public static final int PCI_EXT_CAP_ID_PRI = 0x13;
    public static final int PCI_EXT_CAP_ID_PASID = 0x1B;

    /* ATS extended capability */
    public static final int PCI_ATS_CAP = 0x04;

    public static int PCI_ATS_CAP_QDEP(int x) {
        return x & 0x1f;
    }

    public static final int PCI_ATS_MAX_QDEP = 32;
    public static final int PCI_ATS_CAP_PAGE_ALIGNED = 0x0020;
    public static final int PCI_ATS_CTRL = 0x06;
    public static final int PCI_ATS_CTRL_ENABLE = 0x8000;

    public static int PCI_ATS_CTRL_STU(int x) {
        return x & 0x1f;
    }

    public static final int PCI_ATS_MIN_STU = 12;
    public static final int PCI_EXT_CAP_ATS_SIZEOF = 8;

    /* PRI extended capability */
    public static final int PCI_PRI_CTRL = 0x04;
    public static final int PCI_PRI_CTRL_ENABLE = 0x0001;
    public static final int PCI_PRI_CTRL_RESET = 0x0002;
    public static final int PCI_PRI_STATUS = 0x06;
    public static final int PCI_PRI_STATUS_RF = 0x0001;
    public static final int PCI_PRI_STATUS_UPRGI = 0x0002;
    public static final int PCI_PRI_STATUS_STOPPED = 0x0100;
    public static final int PCI_PRI_STATUS_PASID = 0x8000;
    public static final int PCI_PRI_MAX_REQ = 0x08;
    public static final int PCI_PRI_ALLOC_REQ = 0x0c;
    public static final int PCI_EXT_CAP_PRI_SIZEOF = 16;

    /* PASID extended capability */
    public static final int PCI_PASID_CAP = 0x04;
    public static final int PCI_PASID_CAP_EXEC = 0x0002;
    public static final int PCI_PASID_CAP_PRIV = 0x0004;
    public static final int PCI_PASID_CAP_WIDTH = 0x1f00;
    public static final int PCI_PASID_CTRL = 0x06;
    public static final int PCI_PASID_CTRL_ENABLE = 0x0001;
    public static final int PCI_PASID_CTRL_EXEC = 0x0002;
    public static final int PCI_PASID_CTRL_PRIV = 0x0004;
    public static final int PCI_EXT_CAP_PASID_SIZEOF = 8;

    /* ACS extended capability */
    public static final int PCI_ACS_CAP = 0x04;
    public static final int PCI_ACS_SV = 0x0001;
    public static final int PCI_ACS_TB = 0x0002;
    public static final int PCI_ACS_RR = 0x0004;
    public static final int PCI_ACS_CR = 0x0008;
    public static final int PCI_ACS_UF = 0x0010;
    public static final int PCI_ACS_EC = 0x0020;
    public static final int PCI_ACS_DT = 0x0040;
    public static final int PCI_ACS_CTRL = 0x06;
}
