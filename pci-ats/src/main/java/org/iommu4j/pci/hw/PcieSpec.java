package org.iommu4j.pci.hw;

/**
 * The device model's own coding of the PCI Express configuration-space layout (PCI Local Bus 3.0
 * ch. 6, PCIe r5.0 ch. 7 and 10.5). Written from the specifications independently of the PCI
 * core's {@code PciRegs}: the two codings meeting in a test is what catches a wrong offset or
 * bit. Names follow the spec, without the kernel's {@code PCI_} prefix, so grepping
 * {@code PCI_ATS_} finds only the software side.
 */
public final class PcieSpec {
    private PcieSpec() {}

    public static final int CFG_SPACE_SIZE = 256;
    public static final int CFG_SPACE_EXP_SIZE = 4096;

    /* Type-0 header (PCI 3.0 6.1). */
    public static final int CFG_VENDOR_ID = 0x00;
    public static final int CFG_DEVICE_ID = 0x02;
    public static final int CFG_COMMAND = 0x04;
    public static final int CMD_IO = 1 << 0;
    public static final int CMD_MEMORY = 1 << 1;
    /** Bus Master Enable: without it the function issues no memory requests (and no ATS/PRI). */
    public static final int CMD_BUS_MASTER = 1 << 2;
    public static final int CMD_PARITY = 1 << 6;
    public static final int CMD_SERR = 1 << 8;
    public static final int CMD_INTX_DISABLE = 1 << 10;
    public static final int CFG_STATUS = 0x06;
    public static final int STS_INTX = 1 << 3;
    public static final int STS_CAP_LIST = 1 << 4;
    /** Error bits of the Status register: master data parity .. detected parity error, all RW1C. */
    public static final int STS_RW1C_MASK = 0xf900;
    /** Received Target Abort: a completion with Completer Abort status came back. */
    public static final int STS_REC_TARGET_ABORT = 1 << 12;
    /** Received Master Abort: a completion with Unsupported Request status came back. */
    public static final int STS_REC_MASTER_ABORT = 1 << 13;
    public static final int CFG_REVISION_ID = 0x08;
    public static final int CFG_CLASS_PROG = 0x09;
    public static final int CFG_CLASS_DEVICE = 0x0a;
    public static final int CFG_CACHE_LINE_SIZE = 0x0c;
    public static final int CFG_LATENCY_TIMER = 0x0d;
    public static final int CFG_HEADER_TYPE = 0x0e;
    public static final int HEADER_TYPE_MULTIFUNCTION = 0x80;
    public static final int CFG_BIST = 0x0f;
    public static final int CFG_BAR0 = 0x10;
    /** Base Address Registers 0..5, one dword each (PCI 3.0 6.2.5.1). */
    public static final int BAR_COUNT = 6;
    /** Bit 0, RO: Memory Space (0) or I/O Space (1) indicator. */
    public static final int BAR_SPACE_IO = 1 << 0;
    /** Memory BAR bits [2:1], RO: 00b locate anywhere in 32-bit space, 10b anywhere in 64-bit space. */
    public static final int BAR_MEM_TYPE_MASK = 0x3 << 1;
    public static final int BAR_MEM_TYPE_64 = 0x2 << 1;
    /** Memory BAR bit 3, RO: Prefetchable. */
    public static final int BAR_MEM_PREFETCH = 1 << 3;
    /** Base address bits of a memory BAR (bits 3:0 are the RO type bits). */
    public static final int BAR_MEM_ADDR_MASK = 0xfffffff0;
    /** Base address bits of an I/O BAR (bit 1 is reserved, bit 0 the RO space bit). */
    public static final int BAR_IO_ADDR_MASK = 0xfffffffc;
    public static final int CFG_SUBSYSTEM_VENDOR_ID = 0x2c;
    public static final int CFG_SUBSYSTEM_ID = 0x2e;
    /** Expansion ROM Base Address: the modelled functions have no expansion ROM, so it reads 0 (PCI 3.0 6.2.5.2). */
    public static final int CFG_ROM_ADDRESS = 0x30;
    public static final int CFG_CAP_PTR = 0x34;
    public static final int CFG_INTERRUPT_LINE = 0x3c;
    public static final int CFG_INTERRUPT_PIN = 0x3d;

    /* Capability list (PCI 3.0 6.7). */
    public static final int CAP_ID_PCIE = 0x10;
    /** Vendor-specific capability: ID, Next, Capability Length, vendor data. */
    public static final int CAP_ID_VNDR = 0x09;
    /** First byte after the type-0 header, where capabilities may start. */
    public static final int CFG_HEADER_SIZE = 0x40;

    /* MSI capability (PCI 3.0 6.8.1, PCIe r5 7.7.1), offsets from the capability. */
    public static final int CAP_ID_MSI = 0x05;
    /** Message Control (16 bits). */
    public static final int MSI_CTRL = 0x02;
    public static final int MSI_CTRL_ENABLE = 1 << 0;
    /** Multiple Message Capable [3:1], RO: log2 of the vectors requested. */
    public static final int MSI_CTRL_MMC_SHIFT = 1;
    public static final int MSI_CTRL_MMC_MASK = 0x7 << MSI_CTRL_MMC_SHIFT;
    /** Multiple Message Enable [6:4], RW: log2 of the vectors allocated. */
    public static final int MSI_CTRL_MME_SHIFT = 4;
    public static final int MSI_CTRL_MME_MASK = 0x7 << MSI_CTRL_MME_SHIFT;
    public static final int MSI_CTRL_64BIT = 1 << 7;
    public static final int MSI_CTRL_PVM = 1 << 8;
    /** Message Address [31:2] (bits 1:0 reserved, read as zero). */
    public static final int MSI_ADDR_LO = 0x04;
    /** Message Upper Address, 64-bit layout only. */
    public static final int MSI_ADDR_HI = 0x08;
    /** Message Data (16 bits) at 0x08 in the 32-bit layout, 0x0c in the 64-bit one. */
    public static final int MSI_DATA_32 = 0x08;
    public static final int MSI_DATA_64 = 0x0c;
    /** Mask Bits and Pending Bits, with per-vector masking only. */
    public static final int MSI_MASK_32 = 0x0c;
    public static final int MSI_PENDING_32 = 0x10;
    public static final int MSI_MASK_64 = 0x10;
    public static final int MSI_PENDING_64 = 0x14;

    /** Size of an MSI capability: {@code 64-bit}, {@code per-vector masking}. */
    public static int msiCapSize(boolean addr64, boolean pvm) {
        return (addr64 ? 0x0e : 0x0a) + (pvm ? 0x0a : 0);
    }

    /* MSI-X capability (PCI 3.0 6.8.2, PCIe r5 7.7.2), offsets from the capability. */
    public static final int CAP_ID_MSIX = 0x11;
    /** Message Control (16 bits). */
    public static final int MSIX_CTRL = 0x02;
    /** Table Size [10:0], RO: vectors - 1. */
    public static final int MSIX_CTRL_TABLE_SIZE_MASK = 0x07ff;
    /** Function Mask, RW: every vector masked, whatever its own Mask bit says. */
    public static final int MSIX_CTRL_FUNCTION_MASK = 1 << 14;
    /** MSI-X Enable, RW. */
    public static final int MSIX_CTRL_ENABLE = 1 << 15;
    /** Table Offset/Table BIR: BIR [2:0] names the BAR, the offset [31:3] is QWORD aligned. */
    public static final int MSIX_TABLE = 0x04;
    /** PBA Offset/PBA BIR, laid out as the table's. */
    public static final int MSIX_PBA = 0x08;
    public static final int MSIX_BIR_MASK = 0x7;
    public static final int MSIX_OFFSET_MASK = 0xfffffff8;
    public static final int MSIX_CAP_SIZE = 12;
    /** One MSI-X Table entry: Message Address, Upper Address, Data, Vector Control (16 bytes). */
    public static final int MSIX_ENTRY_SIZE = 16;
    public static final int MSIX_ENTRY_ADDR_LO = 0x0;
    public static final int MSIX_ENTRY_ADDR_HI = 0x4;
    public static final int MSIX_ENTRY_DATA = 0x8;
    public static final int MSIX_ENTRY_VECTOR_CTRL = 0xc;
    /** Vector Control bit 0, RW: the vector is masked; set at reset (bits 31:1 reserved). */
    public static final int MSIX_ENTRY_CTRL_MASKBIT = 1 << 0;
    /** Most vectors an MSI-X capability can offer (Table Size is 11 bits). */
    public static final int MSIX_MAX_VECTORS = 2048;

    /* PCI Express capability (PCIe r5 7.5.3), offsets from the capability. */
    public static final int PCIE_CAP_FLAGS = 0x02;
    public static final int PCIE_FLAGS_VERSION_2 = 0x2;
    public static final int PCIE_FLAGS_TYPE_SHIFT = 4;
    public static final int PCIE_TYPE_ENDPOINT = 0x0;
    public static final int PCIE_TYPE_RC_INTEGRATED_ENDPOINT = 0x9;
    public static final int PCIE_DEVCAP = 0x04;
    public static final int PCIE_DEVCTL = 0x08;
    /** Enable Relaxed Ordering, default 1 (PCIe r5 7.5.3.4). */
    public static final int DEVCTL_RELAX_EN = 1 << 4;
    /** Aux Power PM Enable: hardwired to 0 by a function without aux power. */
    public static final int DEVCTL_AUX_PME = 1 << 10;
    /** Enable No Snoop, default 1. */
    public static final int DEVCTL_NOSNOOP_EN = 1 << 11;
    /** Max_Read_Request_Size [14:12], default 010b (512 bytes). */
    public static final int DEVCTL_READRQ_SHIFT = 12;
    public static final int DEVCTL_READRQ_512B = 0x2 << DEVCTL_READRQ_SHIFT;
    public static final int PCIE_DEVSTA = 0x0a;
    /** Device Status bit 3, RW1C: the function received an Unsupported Request. */
    public static final int DEVSTA_URD = 1 << 3;
    /*
     * Link registers (PCIe r5 7.5.3.6-7.5.3.8, 7.5.3.18-19): required of every function with a
     * Link, reserved in an RC integrated endpoint (which has none).
     */
    public static final int PCIE_LNKCAP = 0x0c;
    /** Max Link Speed [3:0] and Current Link Speed [3:0]: 1 = bit 0 of the speeds vector, 2.5 GT/s. */
    public static final int LNK_SPEED_2_5GT = 0x1;
    /** Maximum Link Width [9:4] and Negotiated Link Width [9:4]: x1. */
    public static final int LNK_WIDTH_X1 = 0x1 << 4;
    public static final int PCIE_LNKCTL = 0x10;
    /** Link Control bits an endpoint implements as RW: ASPM Control, RCB, Common Clock, Extended Synch. */
    public static final int LNKCTL_RW_MASK = 0x3 | 1 << 3 | 1 << 6 | 1 << 7;
    public static final int PCIE_LNKSTA = 0x12;
    /** Link Capabilities 2: Supported Link Speeds Vector [7:1]; bit 1 = 2.5 GT/s. */
    public static final int PCIE_LNKCAP2 = 0x2c;
    public static final int LNKCAP2_SLS_2_5GT = 1 << 1;
    /** Link Control 2: Target Link Speed [3:0], RWS, defaults to the highest supported speed. */
    public static final int PCIE_LNKCTL2 = 0x30;
    public static final int PCIE_DEVCAP2 = 0x24;
    /** Device Capabilities 2 bit 20: Extended Fmt Field Supported (3-bit Fmt, needed for prefixes). */
    public static final int DEVCAP2_EXT_FMT = 1 << 20;
    /** Device Capabilities 2 bit 21: End-End TLP Prefix Supported (PASID travels in one). */
    public static final int DEVCAP2_END_END_PREFIX = 1 << 21;
    public static final int PCIE_DEVCTL2 = 0x28;
    /** Size of a v2 endpoint's PCI Express capability. */
    public static final int PCIE_CAP_SIZE = 0x3c;

    /* Extended capability header (PCIe r5 7.6.3): ID [15:0], version [19:16], next [31:20]. */
    public static final int EXT_CAP_START = 0x100;
    public static final int EXT_CAP_ID_ACS = 0x000d;
    public static final int EXT_CAP_ID_ATS = 0x000f;
    public static final int EXT_CAP_ID_PRI = 0x0013;
    public static final int EXT_CAP_ID_PASID = 0x001b;

    public static int extCapHeader(int id, int version, int next) {
        return (id & 0xffff) | (version & 0xf) << 16 | (next & 0xffc) << 20;
    }

    /* PASID extended capability (PCIe r5 7.8.9): capability word at +4, control word at +6. */
    public static final int PASID_CAP = 0x04;
    public static final int PASID_CAP_EXEC = 1 << 1;
    public static final int PASID_CAP_PRIV = 1 << 2;
    public static final int PASID_CAP_WIDTH_SHIFT = 8;
    public static final int PASID_CAP_WIDTH_MASK = 0x1f << PASID_CAP_WIDTH_SHIFT;
    public static final int PASID_CTRL = 0x06;
    public static final int PASID_CTRL_ENABLE = 1 << 0;
    public static final int PASID_CTRL_EXEC = 1 << 1;
    public static final int PASID_CTRL_PRIV = 1 << 2;
    public static final int PASID_CAP_SIZE = 8;

    /* ATS extended capability (PCIe r5 10.5.1). */
    public static final int ATS_CAP = 0x04;
    /** Invalidate Queue Depth [4:0]; 0 encodes 32. */
    public static final int ATS_CAP_QDEP_MASK = 0x1f;
    public static final int ATS_CAP_PAGE_ALIGNED = 1 << 5;
    /** Global Invalidate Supported; clear: the Global bit of Invalidate Requests is ignored. */
    public static final int ATS_CAP_GLOBAL_INV = 1 << 6;
    public static final int ATS_CTRL = 0x06;
    /** Smallest Translation Unit [4:0]: 2^(STU + 12) bytes. */
    public static final int ATS_CTRL_STU_MASK = 0x1f;
    public static final int ATS_CTRL_ENABLE = 1 << 15;
    public static final int ATS_CAP_SIZE = 8;

    /* Page Request extended capability (PCIe r5 10.5.2). */
    public static final int PRI_CTRL = 0x04;
    public static final int PRI_CTRL_ENABLE = 1 << 0;
    /** Write-only: clears the outstanding-request state while Enable is clear; reads 0. */
    public static final int PRI_CTRL_RESET = 1 << 1;
    public static final int PRI_STATUS = 0x06;
    /** Response Failure, RW1C. */
    public static final int PRI_STATUS_RF = 1 << 0;
    /** Unexpected Page Request Group Index, RW1C. */
    public static final int PRI_STATUS_UPRGI = 1 << 1;
    /** Stopped, RO: Enable clear and no request outstanding. */
    public static final int PRI_STATUS_STOPPED = 1 << 8;
    /** PRG Response PASID Required, RO. */
    public static final int PRI_STATUS_PRG_RESP_PASID = 1 << 15;
    public static final int PRI_MAX_REQ = 0x08;
    public static final int PRI_ALLOC_REQ = 0x0c;
    public static final int PRI_CAP_SIZE = 16;

    /* ACS extended capability (PCIe r5 7.7.8). */
    public static final int ACS_CAP = 0x04;
    public static final int ACS_CTRL = 0x06;
    public static final int ACS_SV = 1 << 0;
    public static final int ACS_TB = 1 << 1;
    public static final int ACS_RR = 1 << 2;
    public static final int ACS_CR = 1 << 3;
    public static final int ACS_UF = 1 << 4;
    public static final int ACS_EC = 1 << 5;
    public static final int ACS_DT = 1 << 6;
    /** ACS Capability [15:8], RO: bits in the Egress Control Vector (00h encodes 256). */
    public static final int ACS_CAP_EGRESS_VECTOR_SIZE_SHIFT = 8;
    /**
     * Egress Control Vector (PCIe r5 7.7.8.4), RW: present only with P2P Egress Control; in a
     * multi-function device's function bit N stands for Function N.
     */
    public static final int ACS_EGRESS_CTL_V = 0x08;
    public static final int ACS_CAP_SIZE = 8;

    /* Routing ID (PCIe r5 2.2.6.2) and ECAM (PCIe r5 7.2.2). */
    public static int requesterId(int bus, int dev, int fn) {
        return (bus & 0xff) << 8 | (dev & 0x1f) << 3 | (fn & 0x7);
    }

    public static long ecamOffset(int bus, int dev, int fn, int reg) {
        return (long) (bus & 0xff) << 20 | (long) (dev & 0x1f) << 15 | (long) (fn & 0x7) << 12 | (reg & 0xfff);
    }
}
