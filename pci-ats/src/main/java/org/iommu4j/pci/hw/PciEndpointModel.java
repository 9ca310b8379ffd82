package org.iommu4j.pci.hw;

import static org.iommu4j.base.Errno.EFAULT;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.EIO;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOSPC;
import static org.iommu4j.base.Errno.EPERM;
import static org.iommu4j.base.Errno.ETIMEDOUT;
import static org.iommu4j.base.hw.DmaTransaction.ACC_EXEC;
import static org.iommu4j.base.hw.DmaTransaction.ACC_PRIV;
import static org.iommu4j.base.hw.DmaTransaction.ACC_READ;
import static org.iommu4j.base.hw.DmaTransaction.ACC_WRITE;
import static org.iommu4j.base.hw.DmaTransaction.NO_SSID;
import static org.iommu4j.pci.hw.PcieSpec.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.iommu4j.base.Completion;
import org.iommu4j.base.hw.AtcInvalidation;
import org.iommu4j.base.hw.AtsEndpoint;
import org.iommu4j.base.hw.Board;
import org.iommu4j.base.hw.BusError;
import org.iommu4j.base.hw.DmaPort;
import org.iommu4j.base.hw.DmaResult;
import org.iommu4j.base.hw.DmaTransaction;
import org.iommu4j.base.hw.MmioBus;
import org.iommu4j.base.hw.MmioDevice;
import org.iommu4j.base.hw.PageRequest;
import org.iommu4j.base.hw.PageResponse;
import org.iommu4j.base.hw.PhysMem;
import org.iommu4j.base.hw.SystemBus;

/**
 * A PCI Express endpoint function: its configuration space (type-0 header, PCI Express
 * capability, PASID/ATS/PRI/ACS extended capabilities), a device-side ATC, a Page Request
 * Interface and a DMA engine that a test or scenario drives.
 *
 * <p>What it can do:
 * <ul>
 * <li>Config space with read-only, RW and RW1C bits and the reset values the spec lays out
 *     (Link registers only for an Endpoint with a Link); PRI Reset, Stopped, Response Failure
 *     (the interface disabled, later responses ignored until re-enabled) and Unexpected PRG
 *     Index behaviour; errors logged in Status and Device Status (UR/CA Translation
 *     Completions, Invalidate Requests to a function without ATS).</li>
 * <li>No request carries a PASID TLP Prefix, Execute or Privileged attribute unless the PASID
 *     Control bits allow it: DMA, Translation Requests, Page Requests and Stop Markers alike.</li>
 * <li>DMA of any length at an IOVA, with or without a PASID, split at 4 KiB boundaries; data
 *     moves to and from {@link PhysMem} at the address the upstream port returns.</li>
 * <li>With ATS enabled: Translation Requests upstream, ATC caching with permissions and span,
 *     Translated requests for later accesses, ATS Invalidate Requests with completion (the
 *     Global bit ignored: Global Invalidate Supported is clear).</li>
 * <li>With PRI enabled: a Page Request for a page the ATS completion denied, waiting for the PRG
 *     Response, retrying on Success; never more requests outstanding than allocated; explicit
 *     single-page and multi-page PRGs for scenarios ({@link #pageRequest},
 *     {@link #pageRequestGroup}, {@link #pageRequests}).</li>
 * <li>Stalled untranslated transactions: waits on the stall token, then retries, fails, or
 *     completes RAZ/WI.</li>
 * <li>Stop PASID Markers ({@link #stopMarker}).</li>
 * <li>An MSI capability (PCI 3.0 6.8.1) with 1 to 32 vectors, 32- or 64-bit addresses and
 *     optional per-vector masking; {@link #raiseMsi} sends vector N as an untranslated 32-bit
 *     memory write of the Message Data (low Multiple Message Enable bits replaced by N) to the
 *     Message Address, through the same upstream port as DMA, landing on the {@link SystemBus}
 *     (RAM or a device's registers such as an MSI doorbell). A masked vector sets its Pending
 *     bit and is sent when unmasked.</li>
 * <li>Memory (32- and 64-bit, prefetchable or not) and I/O BARs (PCI 3.0 6.2.5.1) with the
 *     sizing protocol (read-only type bits, address bits below the size hardwired to 0), decoded
 *     only while Memory or I/O Space Enable is set ({@link #barClaiming}); the host bridge
 *     routes its windows' accesses to the claiming BAR. A BAR's registers belong to a handler
 *     the function's user installs ({@link #setBarHandler}), RAZ/WI without one.</li>
 * <li>An MSI-X capability (PCI 3.0 6.8.2) with up to 2048 vectors, its Table and Pending Bit
 *     Array in memory BARs (DWORD and QWORD accesses), per-vector Mask bits and Function Mask;
 *     {@link #raiseMsix} sends a vector as the MSI write is sent, or sets its Pending bit while
 *     masked and sends it when unmasked.</li>
 * <li>A conventional PCI function ({@link PciEndpointCaps.Builder#conventional}): no PCI Express
 *     capability, 256 bytes of configuration space, as QEMU builds a virtio function on a PCIe
 *     root bus; vendor-specific capabilities ({@link PciVendorCap}) with their writable bits,
 *     chained after the ones above (their meaning belongs to the function's user).</li>
 * </ul>
 * What it can't do: an Expansion ROM, extended message data, SR-IOV, ATS
 * completions with the Global bit (Global Invalidate Supported is clear, so the ATC ignores the
 * Global bit of Invalidate Requests), the Priv/Exec distinction in ATC tags, invalidation queue
 * depth limits (an ATS Invalidate completes synchronously).
 *
 * <p>Locking: {@link #lock} guards the config space and the PRI state ({@link #priCond} waits
 * on it); {@link #atcLock} guards the ATC: a DMA access holds it shared while it uses a cached
 * translation, an invalidation holds it exclusive, so when {@link #atcInvalidate} returns no
 * access can still use a dropped entry (the completion's guarantee). Order: lock, then atcLock.
 * The DMA engine is serialised by the object's monitor (one engine per function).
 *
 * <p>DMA return codes (0 or negative errno, never an exception): {@code -EPERM} Bus Master
 * Enable clear; {@code -EINVAL} bad PASID (PASID not enabled or beyond Max PASID Width) or
 * exec/priv without the matching PASID control bit; {@code -EFAULT} the upstream port aborted
 * the request (UR/CA), the ATS completion denied access and PRI could not fix it, or the
 * address is not RAM; {@code -EIO} a stalled transaction was terminated, or the PRG Response was
 * a Failure; {@code -ENODEV} not plugged in.
 */
public final class PciEndpointModel implements AtsEndpoint {
    /** Retries of the translate / page-request cycle before giving up. */
    private static final int PRI_ROUNDS = 3;
    /** PRG indexes are 9 bits. */
    private static final int PRG_INDEXES = 512;

    private final String name;
    private final PciEndpointCaps caps;
    private final PciConfigSpace cfg = new PciConfigSpace();
    /** PCI Express capability at the start of the capability area; 0 = a conventional PCI function. */
    private final int pcieCap;
    /** Bytes of configuration space: 4 KiB with the PCI Express capability, else 256. */
    private final int cfgSize;
    /** Offsets of the vendor-specific capabilities, in {@link PciEndpointCaps#vendorCaps()} order. */
    private final int[] vendorCapOffs;
    private final int pasidCap;
    private final int atsCap;
    private final int priCap;
    private final int acsCap;
    /** MSI capability, chained after the PCI Express capability; 0 = absent. */
    private final int msiCap;
    /** MSI-X capability, after the MSI one (QEMU's virtio offset); 0 = absent. */
    private final int msixCap;
    private static final int MSIX_CAP_OFFSET = 0x98;
    /*
     * MSI-X Table and PBA (PCI 3.0 6.8.2), under lock. Invariant: a pending bit is set only for
     * a vector that was masked (its own Mask bit or Function Mask) when its event came.
     */
    private final long[] msixAddr;
    private final int[] msixData;
    private final int[] msixVectorCtrl;
    private final long[] msixPending;
    private volatile boolean msixEnabled;
    private volatile boolean msixFunctionMask;
    /** The implemented BARs by register index (the upper half of a 64-bit BAR stays null). */
    private final PciBar[] bars = new PciBar[BAR_COUNT];
    /** What answers a BAR's accesses outside the MSI-X structures; null: RAZ/WI. */
    private final MmioDevice[] barHandlers = new MmioDevice[BAR_COUNT];

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition priCond = lock.newCondition();
    private final ReentrantReadWriteLock atcLock = new ReentrantReadWriteLock();
    private final DeviceAtc atc;
    /** Bumped by every invalidation: a completion that raced with one is used once, not cached. */
    private volatile long atcGeneration;

    /* Routing. */
    private volatile int bus;
    private volatile int devfn;
    private volatile int sid;
    private volatile DmaPort upstream;
    private volatile PhysMem mem;
    /** Where an MSI write lands once translated: RAM or MMIO (the doorbell). */
    private volatile SystemBus sysbus;

    /* Control bits mirrored from config space for the DMA path (written under lock). */
    private volatile boolean busMaster;
    private volatile boolean pasidEnabled;
    private volatile int pasidCtrl;
    private volatile boolean atsEnabled;
    private volatile int atsStu;
    private volatile boolean msiEnabled;
    /** Vectors enabled: 1 << min(MME, MMC). */
    private volatile int msiVectors;
    private volatile long msiAddress;
    private volatile int msiData;

    /* PRI state, under lock. Invariant: outstanding == sum of prgCount over PENDING or ABANDONED slots. */
    private static final int SLOT_FREE = 0;
    private static final int SLOT_PENDING = 1;
    /** Waiter gave up (failure, reset); the response is still expected and frees the slot. */
    private static final int SLOT_ABANDONED = 2;
    private static final int SLOT_DONE = 3;
    private final int[] prgState = new int[PRG_INDEXES];
    private final int[] prgCode = new int[PRG_INDEXES];
    private final int[] prgPasid = new int[PRG_INDEXES];
    /** Page requests in the group (each counts against the allocation). */
    private final int[] prgCount = new int[PRG_INDEXES];
    private int prgNext;
    private int priOutstanding;
    private int priAllocated;
    private int priMaxOutstandingSeen;
    private long priEpoch;
    /**
     * A PRG Response with Response Failure came since PRI was last enabled (PCIe r5 10.4.2.1): the
     * interface is disabled though its Enable bit (RW, software's) still reads 1, and every
     * further PRG Response is ignored until software enables it again.
     */
    private boolean priFailed;
    private final List<Integer> unexpectedPrgIndexes = new ArrayList<>();
    private final List<String> specViolations = new ArrayList<>();
    private long prgTimeoutNanos = TimeUnit.SECONDS.toNanos(10);
    /** Completed each time a sender blocks for lack of page-request credit (for tests). */
    public final Completion priCreditStall = new Completion();

    /* Reused per engine (the engine is serialised). */
    private final DmaTransaction txn = new DmaTransaction();
    private final DmaResult res = new DmaResult();
    /* The MSI write's own transaction, serialised by its monitor (MSIs never wait for DMA). */
    private final DmaTransaction msiTxn = new DmaTransaction();
    private final DmaResult msiRes = new DmaResult();

    /* Statistics. */
    private final AtomicLong atsRequests = new AtomicLong();
    private final AtomicLong atcHits = new AtomicLong();
    private final AtomicLong atcInvalidations = new AtomicLong();
    private final AtomicLong pageRequests = new AtomicLong();
    private final AtomicLong stopMarkers = new AtomicLong();
    private final AtomicLong translatedRequests = new AtomicLong();
    private final AtomicLong untranslatedRequests = new AtomicLong();
    private final AtomicLong razWiCompletions = new AtomicLong();
    private final AtomicLong msiSent = new AtomicLong();
    private final AtomicLong msiFaults = new AtomicLong();
    private volatile long lastMsiFaultAddr;
    private volatile int lastMsiFaultReason;

    /* Last DMA's outcome. */
    private volatile int lastBytesDone;
    private volatile long lastFaultAddr;
    private volatile int lastFaultReason;

    public PciEndpointModel(String name, PciEndpointCaps caps) {
        this.name = name;
        this.caps = caps;
        this.atc = new DeviceAtc(caps.atcEntries());
        pcieCap = caps.pcieCapability() ? CFG_HEADER_SIZE : 0;
        cfgSize = caps.pcieCapability() ? CFG_SPACE_EXP_SIZE : CFG_SPACE_SIZE;
        int next = EXT_CAP_START;
        pasidCap = caps.pasid() ? next : 0;
        next += caps.pasid() ? PASID_CAP_SIZE : 0;
        atsCap = caps.ats() ? next : 0;
        next += caps.ats() ? ATS_CAP_SIZE : 0;
        priCap = caps.pri() ? next : 0;
        next += caps.pri() ? PRI_CAP_SIZE : 0;
        acsCap = caps.acs() ? next : 0;
        // after the PCI Express capability (0x40 + 0x3c), dword aligned, and before MSI-X
        msiCap = caps.msi() ? 0x80 : 0;
        msixCap = caps.msix() ? MSIX_CAP_OFFSET : 0;
        vendorCapOffs = layOutVendorCaps(caps, pcieCap, msiCap, msixCap);
        int nvec = caps.msix() ? caps.msixVectors() : 0;
        msixAddr = new long[nvec];
        msixData = new int[nvec];
        msixVectorCtrl = new int[nvec];
        msixPending = new long[(nvec + 63) / 64];
        for (PciBar b : caps.bars()) {
            bars[b.index()] = b;
        }
        reset();
    }

    /**
     * Where the vendor-specific capabilities go, one after the other as QEMU's pci_find_space
     * places them: in a conventional function from the end of the header up to the MSI or MSI-X
     * capability (QEMU's virtio layout: its capabilities fill 0x40..0x97 and MSI-X is at 0x98);
     * in a PCI Express function after the last capability this model lays out.
     */
    private static int[] layOutVendorCaps(PciEndpointCaps caps, int pcieCap, int msiCap, int msixCap) {
        int at;
        int limit = CFG_SPACE_SIZE;
        if (pcieCap == 0) {
            at = CFG_HEADER_SIZE;
            limit = msiCap != 0 ? msiCap : msixCap != 0 ? msixCap : limit;
        } else {
            at = MSIX_CAP_OFFSET + MSIX_CAP_SIZE; // after the slots of MSI and MSI-X, used or not
        }
        int[] offs = new int[caps.vendorCaps().size()];
        for (int i = 0; i < offs.length; i++) {
            offs[i] = at;
            at += caps.vendorCaps().get(i).length();
        }
        if (at > limit) {
            throw new IllegalArgumentException(String.format("vendor capabilities end at 0x%x, beyond 0x%x", at, limit));
        }
        return offs;
    }

    /* ---------------- identity and wiring ---------------- */

    public String name() {
        return name;
    }

    public PciEndpointCaps caps() {
        return caps;
    }

    /** Sets bus/device/function (done by the host bridge as it places the function). */
    void setLocation(int busNr, int dev, int fn) {
        this.bus = busNr;
        this.devfn = (dev & 0x1f) << 3 | (fn & 7);
    }

    public int bus() {
        return bus;
    }

    public int devfn() {
        return devfn;
    }

    /** Requester ID: bus[15:8], device[7:3], function[2:0]. */
    public int requesterId() {
        return PcieSpec.requesterId(bus, devfn >> 3, devfn & 7);
    }

    public int sid() {
        return sid;
    }

    /**
     * Connects the function to the machine: its DMA goes through {@code port} tagged with
     * {@code streamId}, data moves in {@code board.mem}, and the board's endpoint registry routes
     * ATC invalidations and PRG responses for {@code streamId} here.
     */
    public void plug(Board board, DmaPort port, int streamId) {
        plug(board.mem, port, streamId);
        this.sysbus = board.sysbus;
        board.endpoints.register(streamId, this);
    }

    /** As {@link #plug(Board, DmaPort, int)} without an endpoint registry (the caller routes). */
    public void plug(PhysMem memory, DmaPort port, int streamId) {
        this.mem = memory;
        this.sysbus = new SystemBus(memory, new MmioBus()); // RAM only; plug(Board) adds the MMIO space
        this.upstream = port;
        this.sid = streamId;
    }

    /* ---------------- config space ---------------- */

    /** Conventional reset: every register to its reset value, ATC empty, PRI stopped. */
    public void reset() {
        lock.lock();
        try {
            buildConfigSpace();
            mirrorControls();
            priFailed = false;
            for (int i = 0; i < PRG_INDEXES; i++) {
                if (prgState[i] == SLOT_PENDING) {
                    prgState[i] = SLOT_ABANDONED;
                }
            }
            dropOutstandingLocked();
        } finally {
            lock.unlock();
        }
        flushAtc();
    }

    private void buildConfigSpace() {
        PciConfigSpace c = cfg;
        for (int off = 0; off < CFG_SPACE_EXP_SIZE; off += 4) {
            c.set(off, 0, 4);
            c.setWmask(off, 0, 4);
            c.setW1cmask(off, 0, 4);
        }
        // type-0 header
        c.set(CFG_VENDOR_ID, caps.vendorId(), 2);
        c.set(CFG_DEVICE_ID, caps.deviceId(), 2);
        c.setWmask(CFG_COMMAND, CMD_IO | CMD_MEMORY | CMD_BUS_MASTER | CMD_PARITY | CMD_SERR | CMD_INTX_DISABLE, 2);
        c.setW1cmask(CFG_STATUS, STS_RW1C_MASK, 2);
        c.set(CFG_REVISION_ID, caps.revisionId(), 1);
        c.set(CFG_CLASS_PROG, caps.classCode(), 3);
        c.setWmask(CFG_CACHE_LINE_SIZE, 0xff, 1);
        c.set(CFG_HEADER_TYPE, 0x00, 1);
        for (PciBar b : bars) {
            if (b == null) {
                continue;
            }
            // PCI 3.0 6.2.5.1: the type bits are read-only, the address bits below the size
            // read 0 (hardwired), so writing all-ones reads back the size mask
            int reg = CFG_BAR0 + 4 * b.index();
            c.set(reg, b.typeBits(), 4);
            c.setWmask(reg, (int) b.addressMask(), 4);
            if (b.type() == PciBar.MEM64) {
                c.setWmask(reg + 4, (int) (b.addressMask() >>> 32), 4);
            }
        }
        c.set(CFG_SUBSYSTEM_VENDOR_ID, caps.subsystemVendorId(), 2);
        c.set(CFG_SUBSYSTEM_ID, caps.subsystemId(), 2);
        c.setWmask(CFG_INTERRUPT_LINE, 0xff, 1);
        c.set(CFG_INTERRUPT_PIN, caps.interruptPin(), 1);
        // the list: PCI Express, MSI, MSI-X, then the vendor-specific ones from the last laid
        // out to the first (QEMU adds each capability at the head of the list)
        int[] chain = new int[3 + vendorCapOffs.length];
        int n = 0;
        for (int off : new int[] {pcieCap, msiCap, msixCap}) {
            if (off != 0) {
                chain[n++] = off;
            }
        }
        for (int i = vendorCapOffs.length - 1; i >= 0; i--) {
            chain[n++] = vendorCapOffs[i];
        }
        c.set(CFG_CAP_PTR, n == 0 ? 0 : chain[0], 1);
        c.set(CFG_STATUS, n == 0 ? 0 : STS_CAP_LIST, 2);
        for (int i = 0; i < vendorCapOffs.length; i++) {
            byte[] b = caps.vendorCaps().get(i).bytes();
            byte[] w = caps.vendorCaps().get(i).wmask();
            for (int j = 0; j < b.length; j++) {
                c.set(vendorCapOffs[i] + j, b[j], 1);
                c.setWmask(vendorCapOffs[i] + j, w[j], 1);
            }
        }
        for (int i = 0; i < n; i++) {
            c.set(chain[i] + 1, i + 1 < n ? chain[i + 1] : 0, 1);
        }
        if (pcieCap != 0) {
            buildPcieCapability(c);
        }
        if (msixCap != 0) {
            c.set(msixCap, CAP_ID_MSIX, 1);
            c.set(msixCap + MSIX_CTRL, caps.msixVectors() - 1, 2);
            c.setWmask(msixCap + MSIX_CTRL, MSIX_CTRL_ENABLE | MSIX_CTRL_FUNCTION_MASK, 2);
            c.set(msixCap + MSIX_TABLE, (int) caps.msixTableOffset() | caps.msixTableBar(), 4);
            c.set(msixCap + MSIX_PBA, (int) caps.msixPbaOffset() | caps.msixPbaBar(), 4);
            // PCI 3.0 6.8.2.9: every vector is masked after reset; the rest of an entry is undefined (0 here)
            java.util.Arrays.fill(msixAddr, 0);
            java.util.Arrays.fill(msixData, 0);
            java.util.Arrays.fill(msixVectorCtrl, MSIX_ENTRY_CTRL_MASKBIT);
            java.util.Arrays.fill(msixPending, 0);
        }
        if (msiCap != 0) {
            c.set(msiCap, CAP_ID_MSI, 1);
            int ctrl = caps.msiMmc() << MSI_CTRL_MMC_SHIFT | (caps.msi64() ? MSI_CTRL_64BIT : 0)
                    | (caps.msiMask() ? MSI_CTRL_PVM : 0);
            c.set(msiCap + MSI_CTRL, ctrl, 2);
            c.setWmask(msiCap + MSI_CTRL, MSI_CTRL_ENABLE | MSI_CTRL_MME_MASK, 2);
            c.setWmask(msiCap + MSI_ADDR_LO, 0xfffffffc, 4);
            if (caps.msi64()) {
                c.setWmask(msiCap + MSI_ADDR_HI, 0xffffffff, 4);
            }
            c.setWmask(msiCap + msiDataOff(), 0xffff, 2);
            if (caps.msiMask()) {
                // one Mask bit per vector the function can use; Pending bits are read-only
                int vecs = 1 << caps.msiMmc();
                c.setWmask(msiCap + msiMaskOff(), vecs == 32 ? -1 : (1 << vecs) - 1, 4);
            }
        }
        buildExtendedCapabilities(c);
    }

    private void buildPcieCapability(PciConfigSpace c) {
        c.set(pcieCap, CAP_ID_PCIE, 1);
        c.set(pcieCap + PCIE_CAP_FLAGS, PCIE_FLAGS_VERSION_2 | caps.pcieType() << PCIE_FLAGS_TYPE_SHIFT, 2);
        c.set(pcieCap + PCIE_DEVCAP, 0x00008000, 4); // Role-Based Error Reporting, 128-byte MPS
        // PCIe r5 7.5.3.4: Relaxed Ordering and No Snoop enabled, 512-byte read requests at reset;
        // Phantom Functions, Extended Tag and Aux Power PM Enable are hardwired to 0 (none supported)
        c.set(pcieCap + PCIE_DEVCTL, DEVCTL_RELAX_EN | DEVCTL_NOSNOOP_EN | DEVCTL_READRQ_512B, 2);
        c.setWmask(pcieCap + PCIE_DEVCTL, 0x7cff & ~DEVCTL_AUX_PME, 2);
        c.setW1cmask(pcieCap + PCIE_DEVSTA, 0x000f, 2);
        if (caps.pcieType() != PCIE_TYPE_RC_INTEGRATED_ENDPOINT) {
            // an endpoint with a Link: one 2.5 GT/s lane, trained (PCIe r5 7.5.3.6-7.5.3.8)
            c.set(pcieCap + PCIE_LNKCAP, LNK_WIDTH_X1 | LNK_SPEED_2_5GT, 4);
            c.setWmask(pcieCap + PCIE_LNKCTL, LNKCTL_RW_MASK, 2);
            c.set(pcieCap + PCIE_LNKSTA, LNK_WIDTH_X1 | LNK_SPEED_2_5GT, 2);
            c.set(pcieCap + PCIE_LNKCAP2, LNKCAP2_SLS_2_5GT, 4);
            c.set(pcieCap + PCIE_LNKCTL2, LNK_SPEED_2_5GT, 2);
            c.setWmask(pcieCap + PCIE_LNKCTL2, 0xf, 2);
        }
        // PCIe r5 7.5.3.15: a function supporting End-End TLP Prefixes must support the 3-bit Fmt
        c.set(pcieCap + PCIE_DEVCAP2, caps.endEndPrefix() ? DEVCAP2_END_END_PREFIX | DEVCAP2_EXT_FMT : 0, 4);
    }

    private void buildExtendedCapabilities(PciConfigSpace c) {
        // extended capabilities, chained in the order they were laid out
        int[] offs = {pasidCap, atsCap, priCap, acsCap};
        int[] ids = {EXT_CAP_ID_PASID, EXT_CAP_ID_ATS, EXT_CAP_ID_PRI, EXT_CAP_ID_ACS};
        for (int i = 0; i < offs.length; i++) {
            if (offs[i] == 0) {
                continue;
            }
            int next = 0;
            for (int j = i + 1; j < offs.length; j++) {
                if (offs[j] != 0) {
                    next = offs[j];
                    break;
                }
            }
            c.set(offs[i], extCapHeader(ids[i], 1, next), 4);
        }
        if (pasidCap != 0) {
            int cap = caps.pasidWidth() << PASID_CAP_WIDTH_SHIFT;
            int ctrlMask = PASID_CTRL_ENABLE;
            if (caps.pasidExec()) {
                cap |= PASID_CAP_EXEC;
                ctrlMask |= PASID_CTRL_EXEC;
            }
            if (caps.pasidPriv()) {
                cap |= PASID_CAP_PRIV;
                ctrlMask |= PASID_CTRL_PRIV;
            }
            c.set(pasidCap + PASID_CAP, cap, 2);
            c.setWmask(pasidCap + PASID_CTRL, ctrlMask, 2);
        }
        if (atsCap != 0) {
            int cap = caps.atsQdep() & ATS_CAP_QDEP_MASK;
            if (caps.atsPageAligned()) {
                cap |= ATS_CAP_PAGE_ALIGNED;
            }
            c.set(atsCap + ATS_CAP, cap, 2);
            c.setWmask(atsCap + ATS_CTRL, ATS_CTRL_ENABLE | ATS_CTRL_STU_MASK, 2);
        }
        if (priCap != 0) {
            c.setWmask(priCap + PRI_CTRL, PRI_CTRL_ENABLE, 2);
            int sts = PRI_STATUS_STOPPED | (caps.priPasidRequired() ? PRI_STATUS_PRG_RESP_PASID : 0);
            c.set(priCap + PRI_STATUS, sts, 2);
            c.setW1cmask(priCap + PRI_STATUS, PRI_STATUS_RF | PRI_STATUS_UPRGI, 2);
            c.set(priCap + PRI_MAX_REQ, caps.priMaxReqs(), 4);
            c.setWmask(priCap + PRI_ALLOC_REQ, 0xffffffff, 4);
        }
        if (acsCap != 0) {
            int cap = caps.acsCap() & 0x7f;
            if ((cap & ACS_EC) != 0) {
                // PCIe r5 7.7.8.2/7.7.8.4: P2P Egress Control brings an Egress Control Vector;
                // without ARI a function's peers are Functions 0..7, so eight bits, all RW
                cap |= 8 << ACS_CAP_EGRESS_VECTOR_SIZE_SHIFT;
                c.setWmask(acsCap + ACS_EGRESS_CTL_V, 0xff, 4);
            }
            c.set(acsCap + ACS_CAP, cap, 2);
            c.setWmask(acsCap + ACS_CTRL, caps.acsCap() & 0x7f, 2);
        }
    }

    /** Offsets of the capabilities this model laid out (0 = absent). */
    public int pcieCapOffset() {
        return pcieCap;
    }

    public int pasidCapOffset() {
        return pasidCap;
    }

    public int atsCapOffset() {
        return atsCap;
    }

    public int priCapOffset() {
        return priCap;
    }

    public int acsCapOffset() {
        return acsCap;
    }

    public int msiCapOffset() {
        return msiCap;
    }

    public int msixCapOffset() {
        return msixCap;
    }

    private int msiDataOff() {
        return caps.msi64() ? MSI_DATA_64 : MSI_DATA_32;
    }

    private int msiMaskOff() {
        return caps.msi64() ? MSI_MASK_64 : MSI_MASK_32;
    }

    private int msiPendingOff() {
        return caps.msi64() ? MSI_PENDING_64 : MSI_PENDING_32;
    }

    /** Sets or clears the Multi-Function bit of the Header Type (the host bridge does it). */
    void setMultifunction(boolean on) {
        lock.lock();
        try {
            cfg.set(CFG_HEADER_TYPE, on ? HEADER_TYPE_MULTIFUNCTION : 0, 1);
        } finally {
            lock.unlock();
        }
    }

    /**
     * A configuration read of 1, 2 or 4 naturally aligned bytes; others read all-ones, as does
     * the extended space of a conventional function (QEMU answers beyond a function's config
     * size so, and Linux reads no further than 256 bytes of a function that is not PCIe).
     */
    public int configRead(int off, int size) {
        if (!validAccess(off, size)) {
            return size >= 4 || size <= 0 ? -1 : (1 << (8 * size)) - 1;
        }
        lock.lock();
        try {
            return cfg.read(off, size);
        } finally {
            lock.unlock();
        }
    }

    /** A configuration write; misaligned or out-of-range writes (beyond a conventional function's 256 bytes too) are dropped. */
    public void configWrite(int off, int val, int size) {
        if (!validAccess(off, size)) {
            return;
        }
        boolean flush;
        int unmaskedPending = 0;
        long[] msixUnmasked = null;
        lock.lock();
        try {
            if (PciHwTrace.CFG_WRITE.enabled()) {
                PciHwTrace.CFG_WRITE.emit(name, off, size, val);
            }
            int maskOld = msiCap != 0 && caps.msiMask() ? cfg.read(msiCap + msiMaskOff(), 4) : 0;
            boolean msixWasMasked = msixCap != 0 && (!msixEnabled || msixFunctionMask);
            int priCtrlOld = priCap != 0 ? cfg.read(priCap + PRI_CTRL, 2) : 0;
            boolean atsWasEnabled = atsEnabled;
            int pasidCtrlOld = pasidCtrl;
            cfg.write(off, val, size);
            if (priCap != 0) {
                priControlWritten(priCtrlOld, writtenByte(off, val, size, priCap + PRI_CTRL));
            }
            mirrorControls();
            if (msiCap != 0 && caps.msiMask()) {
                // PCI 3.0 6.8.1.8: a vector unmasked with its Pending bit set is sent now
                int pending = cfg.read(msiCap + msiPendingOff(), 4);
                unmaskedPending = maskOld & ~cfg.read(msiCap + msiMaskOff(), 4) & pending;
                if (msiEnabled && busMaster && unmaskedPending != 0) {
                    cfg.clearBits(msiCap + msiPendingOff(), unmaskedPending, 4);
                } else {
                    unmaskedPending = 0;
                }
            }
            if (msixWasMasked && msixEnabled && !msixFunctionMask) {
                msixUnmasked = msixTakeUnmaskedPendingLocked(0, msixAddr.length);
            }
            int pasidCtrlChanged = (pasidCtrlOld ^ pasidCtrl) & (PASID_CTRL_ENABLE | PASID_CTRL_EXEC | PASID_CTRL_PRIV);
            if (pasidCtrlChanged != 0 && atsWasEnabled) {
                // PCIe r5 10.5.1.3: undefined if PASID Enable, Execute Permission Enable or
                // Privileged Mode Enable changes while ATS Enable is set (cached translations
                // were requested under the old ones). CONSTRAINED UNPREDICTABLE here: the
                // change takes effect and is recorded.
                specViolations.add(String.format("PASID Control 0x%x -> 0x%x while ATS Enable was set",
                        pasidCtrlOld & 7, pasidCtrl & 7));
            }
            // PCIe r5 10.5.1.3: clearing ATS Enable leaves no usable ATC entry.
            flush = atsWasEnabled && !atsEnabled;
        } finally {
            lock.unlock();
        }
        if (flush) {
            flushAtc();
        }
        for (int v = 0; unmaskedPending != 0; v++, unmaskedPending >>>= 1) {
            if ((unmaskedPending & 1) != 0) {
                sendMsi(v);
            }
        }
        sendMsixVectors(msixUnmasked);
    }

    private boolean validAccess(int off, int size) {
        return (size == 1 || size == 2 || size == 4) && off >= 0 && off <= cfgSize - size
                && (off & (size - 1)) == 0;
    }

    /** The byte the write put at {@code at}, or -1 if the write did not cover it. */
    private static int writtenByte(int off, int val, int size, int at) {
        if (at < off || at >= off + size) {
            return -1;
        }
        return val >>> (8 * (at - off)) & 0xff;
    }

    private void mirrorControls() {
        busMaster = (cfg.read(CFG_COMMAND, 2) & CMD_BUS_MASTER) != 0;
        if (pasidCap != 0) {
            int ctrl = cfg.read(pasidCap + PASID_CTRL, 2);
            pasidCtrl = ctrl;
            pasidEnabled = (ctrl & PASID_CTRL_ENABLE) != 0;
        } else {
            pasidCtrl = 0;
            pasidEnabled = false;
        }
        if (atsCap != 0) {
            int ctrl = cfg.read(atsCap + ATS_CTRL, 2);
            atsEnabled = (ctrl & ATS_CTRL_ENABLE) != 0;
            atsStu = ctrl & ATS_CTRL_STU_MASK;
        } else {
            atsEnabled = false;
        }
        if (msiCap != 0) {
            int ctrl = cfg.read(msiCap + MSI_CTRL, 2);
            int mme = (ctrl & MSI_CTRL_MME_MASK) >>> MSI_CTRL_MME_SHIFT;
            // An MME above MMC is undefined (PCI 3.0 6.8.1.3); CONSTRAINED UNPREDICTABLE here:
            // the function uses only the vectors it is capable of.
            msiVectors = 1 << Math.min(mme, caps.msiMmc());
            msiAddress = Integer.toUnsignedLong(cfg.read(msiCap + MSI_ADDR_LO, 4))
                    | (caps.msi64() ? (long) cfg.read(msiCap + MSI_ADDR_HI, 4) << 32 : 0);
            msiData = cfg.read(msiCap + msiDataOff(), 2);
            msiEnabled = (ctrl & MSI_CTRL_ENABLE) != 0;
        } else {
            msiEnabled = false;
        }
        if (msixCap != 0) {
            int ctrl = cfg.read(msixCap + MSIX_CTRL, 2);
            msixEnabled = (ctrl & MSIX_CTRL_ENABLE) != 0;
            msixFunctionMask = (ctrl & MSIX_CTRL_FUNCTION_MASK) != 0;
        } else {
            msixEnabled = false;
        }
    }

    /**
     * PRI Control side effects (PCIe r5 10.5.2.2); {@code ctrlByte} is the low byte written, or
     * -1. Reset acts when Enable is clear after the write: already clear, or cleared by the same
     * write. Enabling clears the status flags (Stopped, Response Failure, Unexpected PRG Index).
     * Holds lock.
     */
    private void priControlWritten(int oldCtrl, int ctrlByte) {
        boolean wasEnabled = (oldCtrl & PRI_CTRL_ENABLE) != 0;
        boolean enabled = (cfg.read(priCap + PRI_CTRL, 2) & PRI_CTRL_ENABLE) != 0;
        if (ctrlByte >= 0 && (ctrlByte & PRI_CTRL_RESET) != 0 && !enabled) {
            // Reset clears the credit counter and pending-request state.
            for (int i = 0; i < PRG_INDEXES; i++) {
                prgState[i] = SLOT_FREE;
            }
            priOutstanding = 0;
            priEpoch++;
            priCond.signalAll();
        }
        if (!wasEnabled && enabled) {
            if ((cfg.read(priCap + PRI_STATUS, 2) & PRI_STATUS_STOPPED) == 0) {
                // PCIe r5 10.5.2.2: enabling an interface that has not Stopped is indeterminate.
                // CONSTRAINED UNPREDICTABLE here: the outstanding requests stay outstanding
                // (their responses are still accepted), and it is recorded.
                specViolations.add("PRI enabled while not Stopped (" + priOutstanding + " requests outstanding)");
            }
            priAllocated = cfg.read(priCap + PRI_ALLOC_REQ, 4);
            cfg.clearBits(priCap + PRI_STATUS, PRI_STATUS_RF | PRI_STATUS_UPRGI, 2);
            priFailed = false;
        }
        updatePriStoppedLocked();
    }

    /** Stopped = Enable clear and nothing outstanding; undefined (here: clear) while enabled. */
    private void updatePriStoppedLocked() {
        if (priCap == 0) {
            return;
        }
        boolean enabled = (cfg.read(priCap + PRI_CTRL, 2) & PRI_CTRL_ENABLE) != 0;
        if (!enabled && priOutstanding == 0) {
            cfg.setBits(priCap + PRI_STATUS, PRI_STATUS_STOPPED, 2);
        } else {
            cfg.clearBits(priCap + PRI_STATUS, PRI_STATUS_STOPPED, 2);
        }
    }

    private void dropOutstandingLocked() {
        for (int i = 0; i < PRG_INDEXES; i++) {
            prgState[i] = SLOT_FREE;
        }
        priOutstanding = 0;
        priEpoch++;
        priCond.signalAll();
        updatePriStoppedLocked();
    }

    /** Software actions the spec leaves undefined, in order (a driver-ordering bug shows here). */
    public List<String> specViolations() {
        lock.lock();
        try {
            return List.copyOf(specViolations);
        } finally {
            lock.unlock();
        }
    }

    /** The whole config space, for layout tests and dumps. */
    public byte[] configSnapshot() {
        lock.lock();
        try {
            return cfg.snapshot();
        } finally {
            lock.unlock();
        }
    }

    public boolean atsEnabled() {
        return atsEnabled;
    }

    /** The Smallest Translation Unit field as programmed. */
    public int atsStu() {
        return atsStu;
    }

    public boolean pasidEnabled() {
        return pasidEnabled;
    }

    /**
     * Whether the Page Request Interface may issue page requests: Enable set and no Response
     * Failure received since (the Enable bit alone stays set after a failure).
     */
    public boolean priEnabled() {
        lock.lock();
        try {
            return priEnabledLocked();
        } finally {
            lock.unlock();
        }
    }

    /* ---------------- BARs ---------------- */

    /** {@link #barAddress}: the BAR decodes nothing now. */
    public static final long BAR_UNMAPPED = -1;

    /**
     * The bus address BAR {@code bar} decodes now, or {@link #BAR_UNMAPPED}: no such BAR, its
     * space's decode (Memory Space or I/O Space Enable in Command) off, or an address the function
     * treats as unassigned. Which programmed addresses count as unassigned the specification
     * leaves to the platform; here, as QEMU's pci_bar_address does: address 0, and a range
     * reaching the top of the BAR's address space (2^32 for a 32-bit or I/O BAR, 2^64 for a
     * 64-bit one), which is also what the all-ones sizing write leaves, so sizing with decode on
     * never claims an address.
     */
    public long barAddress(int bar) {
        lock.lock();
        try {
            return barAddressLocked(bar);
        } finally {
            lock.unlock();
        }
    }

    private long barAddressLocked(int bar) {
        PciBar b = bar >= 0 && bar < BAR_COUNT ? bars[bar] : null;
        if (b == null) {
            return BAR_UNMAPPED;
        }
        int cmd = cfg.read(CFG_COMMAND, 2);
        if ((cmd & (b.isIo() ? CMD_IO : CMD_MEMORY)) == 0) {
            return BAR_UNMAPPED;
        }
        int reg = CFG_BAR0 + 4 * bar;
        long addr = Integer.toUnsignedLong(cfg.read(reg, 4)) & b.addressMask();
        if (b.type() == PciBar.MEM64) {
            addr |= Integer.toUnsignedLong(cfg.read(reg + 4, 4)) << 32;
            addr &= b.addressMask();
        }
        long last = addr + b.size() - 1;
        boolean top = b.type() == PciBar.MEM64 ? last == -1L : last >= 0xffff_ffffL;
        return addr == 0 || top ? BAR_UNMAPPED : addr;
    }

    /**
     * The BAR that claims an access of {@code size} bytes at bus address {@code addr} in I/O
     * space ({@code io}) or memory space, or -1: the access must lie wholly inside a BAR that
     * decodes now ({@link #barAddress}).
     */
    public int barClaiming(boolean io, long addr, int size) {
        lock.lock();
        try {
            for (int i = 0; i < BAR_COUNT; i++) {
                PciBar b = bars[i];
                if (b == null || b.isIo() != io) {
                    continue;
                }
                long base = barAddressLocked(i);
                long off = addr - base;
                if (base != BAR_UNMAPPED && Long.compareUnsigned(off, b.size()) < 0
                        && Long.compareUnsigned(size, b.size() - off) <= 0) {
                    return i;
                }
            }
            return -1;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Lets {@code regs} answer BAR {@code bar}'s accesses (offsets from the BAR's start), apart
     * from the MSI-X Table and PBA the function itself implements there. Without one, the rest
     * of the BAR reads as zero and ignores writes.
     */
    public void setBarHandler(int bar, MmioDevice regs) {
        if (bar < 0 || bar >= BAR_COUNT || bars[bar] == null) {
            throw new IllegalArgumentException(name + ": no BAR " + bar);
        }
        barHandlers[bar] = regs;
    }

    /** A read of {@code size} bytes at {@code offset} inside BAR {@code bar} (the host bridge routed it). */
    public long barRead(int bar, long offset, int size) {
        if (msixCap != 0) {
            if (bar == caps.msixTableBar() && inRegion(offset, caps.msixTableOffset(), msixAddr.length * (long) MSIX_ENTRY_SIZE)) {
                return msixTableRead(offset - caps.msixTableOffset(), size);
            }
            if (bar == caps.msixPbaBar() && inRegion(offset, caps.msixPbaOffset(), PciEndpointCaps.msixPbaBytes(msixAddr.length))) {
                return msixPbaRead(offset - caps.msixPbaOffset(), size);
            }
        }
        MmioDevice h = barHandlers[bar];
        return h != null ? h.mmioRead(offset, size) : 0;
    }

    public void barWrite(int bar, long offset, long value, int size) {
        if (msixCap != 0) {
            if (bar == caps.msixTableBar() && inRegion(offset, caps.msixTableOffset(), msixAddr.length * (long) MSIX_ENTRY_SIZE)) {
                msixTableWrite(offset - caps.msixTableOffset(), value, size);
                return;
            }
            if (bar == caps.msixPbaBar() && inRegion(offset, caps.msixPbaOffset(), PciEndpointCaps.msixPbaBytes(msixAddr.length))) {
                msixAccessOk(offset - caps.msixPbaOffset(), size, true); // PBA: read-only, writes ignored
                return;
            }
        }
        MmioDevice h = barHandlers[bar];
        if (h != null) {
            h.mmioWrite(offset, value, size);
        }
    }

    /* ---------------- MSI ---------------- */

    /** {@link #raiseMsi} return: the vector is masked; its Pending bit is set, nothing sent. */
    public static final int MSI_PENDING = 1;

    /**
     * Signals MSI vector {@code vector} (PCI 3.0 6.8.3.3): a DWORD memory write of the Message
     * Data, its low log2(vectors enabled) bits replaced by {@code vector} (so {@code data | N} for
     * data with those bits clear), upper 16 bits zero, to the Message Address. The write is an
     * untranslated request through the upstream port even with ATS enabled, so the IOMMU
     * translates it as any DMA write and a fault is a fault (with its event); then it lands on
     * the system bus at the translated address.
     *
     * @return 0 when written; {@link #MSI_PENDING} when the vector is masked; -EINVAL no MSI
     *     capability, or {@code vector} not among the vectors enabled; -EPERM MSI Enable or Bus
     *     Master Enable clear (nothing is written); -ENODEV not plugged; -EFAULT the upstream
     *     port aborted the write or nothing answers at the translated address
     *     ({@link #lastMsiFaultAddr()}, {@link #lastMsiFaultReason()}); -EIO stalled, then
     *     terminated
     */
    public int raiseMsi(int vector) {
        if (msiCap == 0) {
            return -EINVAL;
        }
        if (upstream == null || sysbus == null) {
            return -ENODEV;
        }
        lock.lock();
        try {
            if (!msiEnabled || !busMaster) {
                return -EPERM;
            }
            if (vector < 0 || vector >= msiVectors) {
                return -EINVAL;
            }
            if (caps.msiMask() && (cfg.read(msiCap + msiMaskOff(), 4) & 1 << vector) != 0) {
                cfg.setBits(msiCap + msiPendingOff(), 1 << vector, 4);
                return MSI_PENDING;
            }
        } finally {
            lock.unlock();
        }
        return sendMsi(vector);
    }

    /** The write itself, outside {@link #lock} (a stalled write must not block config accesses). */
    private int sendMsi(int vector) {
        return sendMessage(vector, msiAddress, (msiData & ~(msiVectors - 1) | vector) & 0xffff);
    }

    /** An MSI or MSI-X message: the write and its accounting, outside {@link #lock}. */
    private int sendMessage(int vector, long addr, int value) {
        int ret;
        synchronized (msiTxn) {
            ret = msiWrite(addr, value);
        }
        if (ret == 0) {
            msiSent.incrementAndGet();
        } else {
            msiFaults.incrementAndGet();
            lastMsiFaultAddr = addr;
        }
        if (PciHwTrace.MSI.enabled()) {
            PciHwTrace.MSI.emit(name, vector, addr, value, ret);
        }
        return ret;
    }

    private int msiWrite(long addr, int value) {
        msiTxn.set(sid, NO_SSID, addr, 4, ACC_WRITE);
        int x = translateUntranslated(msiTxn, msiRes);
        if (x != XLATE_OK) {
            lastMsiFaultReason = msiRes.faultReason;
            if (x != XLATE_RAZ_WI) {
                return x;
            }
            razWiCompletions.incrementAndGet();
            return 0; // completed without error, the write went nowhere
        }
        try {
            sysbus.write32(msiRes.pa, value);
            return 0;
        } catch (BusError e) {
            lastMsiFaultReason = 0;
            return -EFAULT; // completer abort: nothing answers there
        }
    }

    public boolean msiEnabled() {
        return msiEnabled;
    }

    /** Vectors the function may use now: 1 << min(Multiple Message Enable, Capable). */
    public int msiVectorsEnabled() {
        return msiVectors;
    }

    /** The Message Address as programmed. */
    public long msiAddress() {
        return msiAddress;
    }

    public int msiData() {
        return msiData;
    }

    /** MSI writes that completed. */
    public long msiSent() {
        return msiSent.get();
    }

    /** MSI writes that failed (aborted, stalled and terminated, or unanswered). */
    public long msiFaults() {
        return msiFaults.get();
    }

    public long lastMsiFaultAddr() {
        return lastMsiFaultAddr;
    }

    /** The IOMMU's reason for the last failed MSI write, 0 if none given. */
    public int lastMsiFaultReason() {
        return lastMsiFaultReason;
    }

    /* ---------------- MSI-X ---------------- */

    private static boolean inRegion(long off, long base, long len) {
        return Long.compareUnsigned(off - base, len) < 0;
    }

    /**
     * PCI 3.0 6.8.2: Table and PBA take aligned DWORD or QWORD accesses only; anything else is
     * undefined. CONSTRAINED UNPREDICTABLE here: a read returns all-ones, a write is dropped,
     * and it is recorded.
     */
    private boolean msixAccessOk(long off, int size, boolean write) {
        if ((size == 4 || size == 8) && (off & (size - 1)) == 0) {
            return true;
        }
        lock.lock();
        try {
            specViolations.add(String.format("MSI-X %s of %d bytes at structure offset 0x%x (not an aligned DWORD or"
                    + " QWORD)", write ? "write" : "read", size, off));
        } finally {
            lock.unlock();
        }
        return false;
    }

    private long msixTableRead(long off, int size) {
        if (!msixAccessOk(off, size, false)) {
            return size == 8 ? -1L : (1L << (8 * size)) - 1;
        }
        lock.lock();
        try {
            long lo = Integer.toUnsignedLong(msixEntryDwordLocked(off));
            return size == 8 ? lo | Integer.toUnsignedLong(msixEntryDwordLocked(off + 4)) << 32 : lo;
        } finally {
            lock.unlock();
        }
    }

    private int msixEntryDwordLocked(long off) {
        int v = (int) (off / MSIX_ENTRY_SIZE);
        return switch ((int) (off % MSIX_ENTRY_SIZE)) {
            case MSIX_ENTRY_ADDR_LO -> (int) msixAddr[v];
            case MSIX_ENTRY_ADDR_HI -> (int) (msixAddr[v] >>> 32);
            case MSIX_ENTRY_DATA -> msixData[v];
            default -> msixVectorCtrl[v];
        };
    }

    private void msixTableWrite(long off, long value, int size) {
        if (!msixAccessOk(off, size, true)) {
            return;
        }
        long[] send;
        lock.lock();
        try {
            int first = (int) (off / MSIX_ENTRY_SIZE);
            msixEntryDwordWriteLocked(off, (int) value);
            if (size == 8) {
                msixEntryDwordWriteLocked(off + 4, (int) (value >>> 32));
            }
            // PCI 3.0 6.8.2.9: a vector unmasked with its Pending bit set is sent now
            send = msixEnabled && !msixFunctionMask ? msixTakeUnmaskedPendingLocked(first, first + 1) : null;
        } finally {
            lock.unlock();
        }
        sendMsixVectors(send);
    }

    private void msixEntryDwordWriteLocked(long off, int value) {
        int v = (int) (off / MSIX_ENTRY_SIZE);
        switch ((int) (off % MSIX_ENTRY_SIZE)) {
            case MSIX_ENTRY_ADDR_LO -> msixAddr[v] = msixAddr[v] & ~0xffff_ffffL | Integer.toUnsignedLong(value) & ~3L;
            case MSIX_ENTRY_ADDR_HI -> msixAddr[v] = msixAddr[v] & 0xffff_ffffL | (long) value << 32;
            case MSIX_ENTRY_DATA -> msixData[v] = value;
            default -> msixVectorCtrl[v] = value & MSIX_ENTRY_CTRL_MASKBIT; // bits 31:1 reserved
        }
    }

    private long msixPbaRead(long off, int size) {
        if (!msixAccessOk(off, size, false)) {
            return size == 8 ? -1L : (1L << (8 * size)) - 1;
        }
        lock.lock();
        try {
            long q = msixPending[(int) (off / 8)];
            return size == 8 ? q : (q >>> (8 * (off & 4))) & 0xffff_ffffL;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Clears and returns (as a bitmap) the Pending bits of vectors in [from, to) that are no
     * longer masked, or null if none. Holds lock; the caller sends them after unlocking.
     */
    private long[] msixTakeUnmaskedPendingLocked(int from, int to) {
        long[] out = null;
        for (int v = from; v < to; v++) {
            long bit = 1L << (v & 63);
            if ((msixPending[v >> 6] & bit) != 0 && (msixVectorCtrl[v] & MSIX_ENTRY_CTRL_MASKBIT) == 0) {
                msixPending[v >> 6] &= ~bit;
                if (out == null) {
                    out = new long[msixPending.length];
                }
                out[v >> 6] |= bit;
            }
        }
        return out;
    }

    private void sendMsixVectors(long[] vectors) {
        if (vectors == null) {
            return;
        }
        for (int v = 0; v < msixAddr.length; v++) {
            if ((vectors[v >> 6] & 1L << (v & 63)) != 0) {
                sendMsixVector(v);
            }
        }
    }

    /**
     * Signals MSI-X vector {@code vector} (PCI 3.0 6.8.3.2): a DWORD memory write of the entry's
     * Message Data to its Message Address, sent as an MSI is (an untranslated write through the
     * upstream port, translated by the IOMMU like any DMA write). While the vector is masked (its
     * Mask bit or Function Mask) the Pending bit is set instead, and the message goes out when
     * it is unmasked.
     *
     * @return as {@link #raiseMsi}: 0 written; {@link #MSI_PENDING} masked; -EINVAL no MSI-X
     *     capability or {@code vector} beyond Table Size; -EPERM MSI-X Enable or Bus Master
     *     Enable clear; -ENODEV not plugged; -EFAULT / -EIO the write failed
     */
    public int raiseMsix(int vector) {
        if (msixCap == 0 || vector < 0 || vector >= msixAddr.length) {
            return -EINVAL;
        }
        if (upstream == null || sysbus == null) {
            return -ENODEV;
        }
        lock.lock();
        try {
            if (!msixEnabled || !busMaster) {
                return -EPERM;
            }
            if (msixFunctionMask || (msixVectorCtrl[vector] & MSIX_ENTRY_CTRL_MASKBIT) != 0) {
                msixPending[vector >> 6] |= 1L << (vector & 63);
                return MSI_PENDING;
            }
        } finally {
            lock.unlock();
        }
        return sendMsixVector(vector);
    }

    private int sendMsixVector(int vector) {
        long addr;
        int data;
        lock.lock();
        try {
            addr = msixAddr[vector];
            data = msixData[vector];
        } finally {
            lock.unlock();
        }
        return sendMessage(vector, addr, data);
    }

    public boolean msixEnabled() {
        return msixEnabled;
    }

    public boolean msixFunctionMasked() {
        return msixFunctionMask;
    }

    /** The Pending bit of MSI-X vector {@code vector}. */
    public boolean msixPending(int vector) {
        lock.lock();
        try {
            return (msixPending[vector >> 6] & 1L << (vector & 63)) != 0;
        } finally {
            lock.unlock();
        }
    }

    /* ---------------- ATC ---------------- */

    /**
     * Handles an ATS Invalidate Request; returns when the Invalidate Completion would be sent.
     * A function without the ATS capability does not support the Invalidate Request Message
     * and handles it as an Unsupported Request (PCIe r5 2.3.1): {@code INV_UNSUPPORTED}, no
     * completion.
     */
    @Override
    public int atcInvalidate(AtcInvalidation inv) {
        if (atsCap == 0) {
            // PCIe r5 7.5.3.5: logged whether or not error reporting is enabled
            lock.lock();
            try {
                if (pcieCap != 0) {
                    cfg.setBits(pcieCap + PCIE_DEVSTA, DEVSTA_URD, 2);
                }
            } finally {
                lock.unlock();
            }
            return INV_UNSUPPORTED;
        }
        int dropped;
        atcLock.writeLock().lock();
        try {
            atcGeneration++;
            dropped = atc.invalidate(inv);
        } finally {
            atcLock.writeLock().unlock();
        }
        atcInvalidations.incrementAndGet();
        if (PciHwTrace.ATC_INV.enabled()) {
            PciHwTrace.ATC_INV.emit(name, inv.pasidValid() ? inv.pasid() : -1, inv.addr(), inv.size(), inv.global(),
                    dropped);
        }
        return INV_OK;
    }

    private void flushAtc() {
        atcLock.writeLock().lock();
        try {
            atcGeneration++;
            atc.flush();
        } finally {
            atcLock.writeLock().unlock();
        }
    }

    /** Valid ATC entries now (for tests). */
    public int atcEntries() {
        atcLock.readLock().lock();
        try {
            return atc.validEntries();
        } finally {
            atcLock.readLock().unlock();
        }
    }

    /** True if the ATC holds a translation of {@code iova} for {@code pasid} (NO_SSID for none). */
    public boolean atcContains(int pasid, long iova) {
        atcLock.readLock().lock();
        try {
            return atc.lookup(pasid, iova) >= 0;
        } finally {
            atcLock.readLock().unlock();
        }
    }

    /** Untranslated requests the IOMMU terminated read-as-zero / write-ignored. */
    public long razWiCompletions() {
        return razWiCompletions.get();
    }

    public long atsRequests() {
        return atsRequests.get();
    }

    public long atcHits() {
        return atcHits.get();
    }

    public long atcInvalidations() {
        return atcInvalidations.get();
    }

    public long translatedRequests() {
        return translatedRequests.get();
    }

    public long untranslatedRequests() {
        return untranslatedRequests.get();
    }

    /* ---------------- Page Request Interface ---------------- */

    /**
     * Sends one Page Request (a one-page PRG with Last set) for the page holding {@code addr}
     * and waits for its PRG Response. Blocks while the outstanding allocation is used up.
     *
     * @return 0 on Success; -EFAULT on Invalid Request; -EIO on Response Failure or when PRI was
     *     reset under the request; -ENODEV if PRI is absent or disabled; -ENOSPC if nothing is
     *     allocated; -ETIMEDOUT if no response came in time; -EINVAL if {@code access} asks for
     *     neither read nor write, or the PASID, Execute or Privileged attribute could not be
     *     sent (PASID not enabled or beyond Max PASID Width, the matching PASID Control bit
     *     clear, or Execute/Privileged without a PASID)
     */
    public int pageRequest(int pasid, long addr, int access) {
        int[] idx = new int[1];
        int ret = sendPageRequest(pasid, new long[] {addr}, access, idx);
        if (ret != 0) {
            return ret;
        }
        return awaitPageResponse(idx[0]);
    }

    /**
     * Sends one Page Request Group: a request for each page of {@code addrs}, all with the same
     * PRG index, Last set on the final one; the group uses {@code addrs.length} of the
     * allocation until its single PRG Response. Returns as {@link #pageRequest}; -ENOSPC also
     * when the group is larger than the allocation.
     */
    public int pageRequestGroup(int pasid, long[] addrs, int access) {
        if (addrs.length == 0) {
            return 0;
        }
        int[] idx = new int[1];
        int ret = sendPageRequest(pasid, addrs, access, idx);
        if (ret != 0) {
            return ret;
        }
        return awaitPageResponse(idx[0]);
    }

    /**
     * Sends a Page Request for each page of {@code addrs}, each its own PRG, keeping at most the
     * allocated number outstanding, then waits for every response. Returns 0 if all succeeded,
     * otherwise the first error (as {@link #pageRequest}).
     */
    public int pageRequests(int pasid, long[] addrs, int access) {
        int[] idx = new int[addrs.length];
        int[] one = new int[1];
        long[] page = new long[1];
        int sent = 0;
        int ret = 0;
        for (; sent < addrs.length; sent++) {
            page[0] = addrs[sent];
            ret = sendPageRequest(pasid, page, access, one);
            if (ret != 0) {
                break;
            }
            idx[sent] = one[0];
        }
        for (int i = 0; i < sent; i++) {
            int r = awaitPageResponse(idx[i]);
            if (ret == 0) {
                ret = r;
            }
        }
        return ret;
    }

    /**
     * Sends a Stop PASID Marker (PCIe r5 10.4.1.2) for {@code pasid}: the function has stopped
     * using the PASID and sent every page request it had for it. A Page Request with Last set
     * and neither Read nor Write, which takes no PRG credit and gets no response.
     *
     * @return 0 when sent; -ENODEV if the function is unplugged, PRI is disabled or Bus Master
     *     Enable is clear; -EINVAL if the PASID is not enabled or beyond its width
     */
    public int stopMarker(int pasid) {
        DmaPort port = upstream;
        if (port == null) {
            return -ENODEV;
        }
        lock.lock();
        try {
            if (!priEnabledLocked() || !busMaster) {
                return -ENODEV;
            }
            if (pasid == NO_SSID || !pasidPrefixAllowed(pasid, 0)) {
                return -EINVAL;
            }
        } finally {
            lock.unlock();
        }
        stopMarkers.incrementAndGet();
        if (PciHwTrace.PRI_STOP_MARKER.enabled()) {
            PciHwTrace.PRI_STOP_MARKER.emit(name, pasid);
        }
        port.pageRequest(new PageRequest(sid, pasid, true, false, false, false, false, 0, 0, true));
        return 0;
    }

    /** Stop Markers sent. */
    public long stopMarkers() {
        return stopMarkers.get();
    }

    private boolean priEnabledLocked() {
        return priCap != 0 && !priFailed && (cfg.read(priCap + PRI_CTRL, 2) & PRI_CTRL_ENABLE) != 0;
    }

    /** Sends {@code addrs} as one PRG once the allocation has room for all of it. */
    private int sendPageRequest(int pasid, long[] addrs, int access, int[] idxOut) {
        int n = addrs.length;
        DmaPort port = upstream;
        if (port == null) {
            return -ENODEV;
        }
        int prgi;
        int outstanding;
        lock.lock();
        try {
            if (!priEnabledLocked() || !busMaster) {
                return -ENODEV;
            }
            // PCIe r5 10.4.1: a page request asks for read and/or write (execute implies read);
            // one asking for neither is a Stop Marker, sent only by stopMarker()
            if ((access & (ACC_READ | ACC_WRITE | ACC_EXEC)) == 0 || !pasidPrefixAllowed(pasid, access)) {
                return -EINVAL;
            }
            if (Integer.compareUnsigned(n, priAllocated) > 0) {
                return -ENOSPC;
            }
            long deadline = System.nanoTime() + prgTimeoutNanos;
            while (Integer.compareUnsigned(priOutstanding + n, priAllocated) > 0) {
                priCreditStall.complete();
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return -ETIMEDOUT;
                }
                priCond.awaitNanos(left);
                if (!priEnabledLocked()) {
                    return -EIO;
                }
            }
            prgi = -1;
            for (int i = 0; i < PRG_INDEXES; i++) {
                int c = (prgNext + i) % PRG_INDEXES;
                if (prgState[c] == SLOT_FREE) {
                    prgi = c;
                    break;
                }
            }
            if (prgi < 0) {
                return -ENOSPC;
            }
            prgNext = (prgi + 1) % PRG_INDEXES;
            prgState[prgi] = SLOT_PENDING;
            prgPasid[prgi] = pasid;
            prgCount[prgi] = n;
            priOutstanding += n;
            outstanding = priOutstanding;
            priMaxOutstandingSeen = Math.max(priMaxOutstandingSeen, priOutstanding);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -EIO;
        } finally {
            lock.unlock();
        }
        idxOut[0] = prgi;
        boolean pv = pasid != NO_SSID;
        for (int i = 0; i < n; i++) {
            long addr = addrs[i] & ~0xfffL;
            pageRequests.incrementAndGet();
            if (PciHwTrace.PRI_REQUEST.enabled()) {
                PciHwTrace.PRI_REQUEST.emit(name, pasid, addr, prgi, access, outstanding);
            }
            port.pageRequest(new PageRequest(sid, pv ? pasid : PageRequest.NO_PASID, pv, (access & ACC_PRIV) != 0,
                    (access & ACC_EXEC) != 0, (access & ACC_READ) != 0 || (access & ACC_EXEC) != 0,
                    (access & ACC_WRITE) != 0, addr, prgi, i == n - 1));
        }
        return 0;
    }

    private int awaitPageResponse(int prgi) {
        lock.lock();
        try {
            long epoch = priEpoch;
            long deadline = System.nanoTime() + prgTimeoutNanos;
            while (prgState[prgi] == SLOT_PENDING && priEpoch == epoch) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    prgState[prgi] = SLOT_ABANDONED; // its response still frees the credit
                    return -ETIMEDOUT;
                }
                try {
                    priCond.awaitNanos(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    prgState[prgi] = SLOT_ABANDONED;
                    return -EIO;
                }
            }
            if (priEpoch != epoch) {
                // PRI reset or a Response Failure: the slot is no longer ours
                return -EIO;
            }
            if (prgState[prgi] != SLOT_DONE) {
                return -EIO;
            }
            prgState[prgi] = SLOT_FREE;
            return switch (prgCode[prgi]) {
                case PageResponse.SUCCESS -> 0;
                case PageResponse.INVALID_REQUEST -> -EFAULT;
                default -> -EIO;
            };
        } finally {
            lock.unlock();
        }
    }

    /**
     * Receives a PRG Response (PCIe r5 10.4.2). A Response Failure (10.4.2.1) needs no matching
     * index (the host need not keep it): it sets Response Failure and disables the interface;
     * the function then expects no response for its outstanding requests, so their credit is
     * released, every waiter fails, and any later response is ignored until software enables
     * PRI again (10.5.2.3). Otherwise an index with no request outstanding, or a response
     * without the group's PASID when "PRG Response PASID Required" is set (undefined by the
     * spec; here, as unexpected), sets Unexpected PRG Index and the request stays outstanding.
     */
    @Override
    public void pageResponse(PageResponse resp) {
        int prgi = resp.prgIndex() & (PRG_INDEXES - 1);
        boolean expected;
        lock.lock();
        try {
            if (priFailed) {
                expected = false; // ignored: not even Unexpected PRG Index
            } else if (resp.code() == PageResponse.FAILURE && priCap != 0) {
                expected = true;
                priFailed = true;
                cfg.setBits(priCap + PRI_STATUS, PRI_STATUS_RF, 2);
                dropOutstandingLocked();
            } else {
                if (!caps.priPasidRequired() && resp.pasidValid()) {
                    // PCIe r5 10.5.2.3: undefined when PRG Response PASID Required is clear.
                    // CONSTRAINED UNPREDICTABLE here: the prefix is ignored, and it is recorded.
                    specViolations.add(String.format("PRG Response for index %d carries PASID %d though PRG Response"
                            + " PASID Required is clear", resp.prgIndex(), resp.pasid()));
                }
                int st = prgState[prgi];
                expected = st == SLOT_PENDING || st == SLOT_ABANDONED;
                if (expected && caps.priPasidRequired() && prgPasid[prgi] != NO_SSID
                        && (!resp.pasidValid() || resp.pasid() != prgPasid[prgi])) {
                    // PRG Response PASID Required: a response to a PASID-tagged group must carry it
                    expected = false;
                }
                if (!expected || resp.prgIndex() != prgi) {
                    expected = false;
                    if (priCap != 0) {
                        cfg.setBits(priCap + PRI_STATUS, PRI_STATUS_UPRGI, 2);
                    }
                    unexpectedPrgIndexes.add(resp.prgIndex());
                } else {
                    priOutstanding -= prgCount[prgi];
                    if (st == SLOT_ABANDONED) {
                        prgState[prgi] = SLOT_FREE;
                    } else {
                        prgState[prgi] = SLOT_DONE;
                        prgCode[prgi] = resp.code();
                    }
                    updatePriStoppedLocked();
                }
            }
            priCond.signalAll();
        } finally {
            lock.unlock();
        }
        if (PciHwTrace.PRI_RESPONSE.enabled()) {
            PciHwTrace.PRI_RESPONSE.emit(name, resp.pasidValid() ? resp.pasid() : -1, resp.prgIndex(), resp.code(),
                    expected);
        }
    }

    /** PRG indexes of responses that matched no outstanding request, in arrival order. */
    public List<Integer> unexpectedPrgIndexes() {
        lock.lock();
        try {
            return List.copyOf(unexpectedPrgIndexes);
        } finally {
            lock.unlock();
        }
    }

    public int priOutstanding() {
        lock.lock();
        try {
            return priOutstanding;
        } finally {
            lock.unlock();
        }
    }

    /** The highest number of page requests ever outstanding at once. */
    public int priMaxOutstandingSeen() {
        lock.lock();
        try {
            return priMaxOutstandingSeen;
        } finally {
            lock.unlock();
        }
    }

    public long pageRequestsSent() {
        return pageRequests.get();
    }

    /** How long a page request waits for credit or for its response before giving up. */
    public void setPrgResponseTimeout(long timeout, TimeUnit unit) {
        lock.lock();
        try {
            prgTimeoutNanos = unit.toNanos(timeout);
        } finally {
            lock.unlock();
        }
    }

    /* ---------------- DMA engine ---------------- */

    /** Writes {@code data} at {@code iova}; {@code pasid} is {@code NO_SSID} for none. 0 or -errno. */
    public int dmaWrite(int pasid, long iova, byte[] data) {
        return dma(pasid, iova, data, 0, data.length, ACC_WRITE);
    }

    /** Reads {@code dst.length} bytes at {@code iova} into {@code dst}. 0 or -errno. */
    public int dmaRead(int pasid, long iova, byte[] dst) {
        return dma(pasid, iova, dst, 0, dst.length, ACC_READ);
    }

    /** Without a PASID. */
    public int dmaWrite(long iova, byte[] data) {
        return dmaWrite(NO_SSID, iova, data);
    }

    public int dmaRead(long iova, byte[] dst) {
        return dmaRead(NO_SSID, iova, dst);
    }

    /**
     * Moves {@code len} bytes between {@code buf[off..]} and the I/O address space: {@code access}
     * is {@code ACC_READ} (memory to buf) or {@code ACC_WRITE} (buf to memory), optionally with
     * {@code ACC_EXEC}/{@code ACC_PRIV}. Stops at the first failing 4 KiB piece; {@link
     * #lastBytesDone()} tells how far it got.
     */
    public synchronized int dma(int pasid, long iova, byte[] buf, int off, int len, int access) {
        int ret = doDma(pasid, iova, buf, off, len, access);
        if (PciHwTrace.DMA.enabled()) {
            PciHwTrace.DMA.emit(name, pasid, iova, len, access, ret);
        }
        return ret;
    }

    private int doDma(int pasid, long iova, byte[] buf, int off, int len, int access) {
        lastBytesDone = 0;
        lastFaultAddr = 0;
        lastFaultReason = 0;
        if (buf == null || off < 0 || len < 0 || len > buf.length - off
                || ((access & ACC_WRITE) != 0) == ((access & ACC_READ) != 0)) {
            return -EINVAL;
        }
        if (len != 0 && Long.compareUnsigned(iova + len - 1, iova) < 0) {
            // a buffer running past the top of the 64-bit address space: no request is sent
            return -EINVAL;
        }
        if (upstream == null || mem == null) {
            return -ENODEV;
        }
        if (!busMaster) {
            return -EPERM;
        }
        if (!pasidPrefixAllowed(pasid, access)) {
            return -EINVAL;
        }
        int done = 0;
        while (done < len) {
            long a = iova + done;
            int chunk = (int) Math.min(len - done, 0x1000 - (a & 0xfff));
            int ret = atsEnabled ? atsChunk(pasid, a, buf, off + done, chunk, access)
                    : untranslatedChunk(pasid, a, buf, off + done, chunk, access);
            if (ret != 0) {
                lastFaultAddr = a;
                return ret;
            }
            done += chunk;
            lastBytesDone = done;
        }
        return 0;
    }

    /**
     * Whether a request for {@code pasid} ({@code NO_SSID}: none) with {@code access} may be
     * issued (PCIe r5 6.20.2): a PASID TLP Prefix only while PASID Enable is set and with a value
     * below 2^Max PASID Width; Execute Requested only with Execute Permission Enable,
     * Privileged Mode Requested only with Privileged Mode Enable, and neither without a prefix,
     * the only place they travel. Applies to memory requests, Translation Requests and Page
     * Requests alike.
     */
    private boolean pasidPrefixAllowed(int pasid, int access) {
        if (pasid == NO_SSID) {
            return (access & (ACC_EXEC | ACC_PRIV)) == 0;
        }
        if (!pasidEnabled || pasid < 0 || pasid >= 1 << caps.pasidWidth()) {
            return false;
        }
        int ctrl = pasidCtrl;
        return ((access & ACC_EXEC) == 0 || (ctrl & PASID_CTRL_EXEC) != 0)
                && ((access & ACC_PRIV) == 0 || (ctrl & PASID_CTRL_PRIV) != 0);
    }

    /** An untranslated request: the IOMMU translates and the data moves at its answer. */
    private int untranslatedChunk(int pasid, long iova, byte[] buf, int off, int len, int access) {
        txn.set(sid, pasid, iova, len, access);
        untranslatedRequests.incrementAndGet();
        int x = translateUntranslated(txn, res);
        if (x == XLATE_OK) {
            return move(res.pa, buf, off, len, access);
        }
        lastFaultReason = res.faultReason;
        return x == XLATE_RAZ_WI ? razWiCompletion(buf, off, len, access) : x;
    }

    /** {@link #translateUntranslated}: the access may go ahead at {@code pa}. */
    private static final int XLATE_OK = 0;
    /** {@link #translateUntranslated}: completed without error, but nothing is accessed. */
    private static final int XLATE_RAZ_WI = 1;

    /**
     * The IOMMU's answer to untranslated request {@code t}, a stall settled first: a stalled
     * request waits for its RESUME and is retried by the IOMMU when resumed (the same request:
     * the function sends nothing again). Returns {@link #XLATE_OK} with {@code r.pa},
     * {@link #XLATE_RAZ_WI} (a RAZ/WI completion, also one a RESUME gave), -EIO (a stall
     * terminated with an abort) or -EFAULT (aborted); the fault reason is in {@code r}.
     */
    private int translateUntranslated(DmaTransaction t, DmaResult r) {
        for (;;) {
            r.reset();
            upstream.translate(t, r);
            switch (r.status) {
                case DmaResult.OK:
                    return XLATE_OK;
                case DmaResult.RAZ_WI:
                    return XLATE_RAZ_WI;
                case DmaResult.STALLED:
                    DmaResult.StallToken tok = r.stall;
                    if (tok != null && tok.await()) {
                        continue;
                    }
                    return tok != null && tok.poll() == DmaResult.StallToken.TERMINATED_RAZ_WI ? XLATE_RAZ_WI : -EIO;
                default:
                    return -EFAULT;
            }
        }
    }

    /** A request terminated without an error: the read sees zeros, the write goes nowhere. */
    private int razWiCompletion(byte[] buf, int off, int len, int access) {
        razWiCompletions.incrementAndGet();
        if ((access & ACC_WRITE) == 0) {
            java.util.Arrays.fill(buf, off, off + len, (byte) 0);
        }
        return 0;
    }

    /** With ATS: ATC hit -> Translated request; miss -> Translation Request, maybe PRI, retry. */
    private int atsChunk(int pasid, long iova, byte[] buf, int off, int len, int access) {
        int need = ((access & ACC_READ) != 0 ? DmaResult.PERM_R : 0) | ((access & ACC_WRITE) != 0 ? DmaResult.PERM_W : 0)
                | ((access & ACC_EXEC) != 0 ? DmaResult.PERM_X : 0);
        int rounds = 0;
        boolean filled = false;
        for (;;) {
            // 1. cached translation, used under the shared ATC lock
            atcLock.readLock().lock();
            try {
                int idx = atc.lookup(pasid, iova);
                if (idx >= 0 && (atc.perm(idx) & need) == need) {
                    if (!filled) {
                        atcHits.incrementAndGet();
                    }
                    return translatedAccess(atc.translate(idx, iova), buf, off, len, access);
                }
            } finally {
                atcLock.readLock().unlock();
            }
            // 2. Translation Request
            long page = iova & ~0xfffL;
            long gen = atcGeneration;
            txn.set(sid, pasid, page, 0x1000, access);
            txn.ats = true;
            res.reset();
            atsRequests.incrementAndGet();
            upstream.translate(txn, res);
            if (PciHwTrace.ATS_TRANSLATE.enabled()) {
                PciHwTrace.ATS_TRANSLATE.emit(name, pasid, page, access, res.status, res.pa, res.perm);
            }
            switch (res.status) {
                case DmaResult.OK:
                    if ((res.perm & need) == need) {
                        long span = res.pageSize;
                        if (span < 0x1000 || Long.bitCount(span) != 1) {
                            span = 0x1000;
                        }
                        long base = iova & -span;
                        long paBase = res.pa - (page - base);
                        atcLock.writeLock().lock();
                        try {
                            if (gen == atcGeneration) {
                                atc.insert(pasid, base, span, paBase, res.perm);
                                filled = true;
                                continue; // use it from the ATC, under the shared lock
                            }
                        } finally {
                            atcLock.writeLock().unlock();
                        }
                        // an invalidation raced with the request: use the answer once
                        return translatedAccess(res.pa + (iova - page), buf, off, len, access);
                    }
                    break; // granted less than needed: like a fault, ask for the page
                case DmaResult.ATS_FAULT:
                    break;
                case DmaResult.STALLED:
                    DmaResult.StallToken tok = res.stall;
                    if (tok != null && tok.await()) {
                        continue;
                    }
                    lastFaultReason = res.faultReason;
                    return -EIO;
                default:
                    lastFaultReason = res.faultReason;
                    if (res.status == DmaResult.ATS_UR || res.status == DmaResult.ATS_CA) {
                        receivedAbort(res.status == DmaResult.ATS_UR ? STS_REC_MASTER_ABORT : STS_REC_TARGET_ABORT);
                    }
                    return -EFAULT;
            }
            // 3. Page Request
            lastFaultReason = res.faultReason;
            if (!priEnabled() || rounds++ >= PRI_ROUNDS) {
                return -EFAULT;
            }
            int ret = pageRequest(pasid, page, access);
            if (ret != 0) {
                return ret;
            }
        }
    }

    /**
     * Logs a Translation Completion with UR or CA status in the Status register (PCIe r5
     * 7.5.1.1.2: Received Master Abort for UR, Received Target Abort for CA; RW1C).
     */
    private void receivedAbort(int stsBit) {
        lock.lock();
        try {
            cfg.setBits(CFG_STATUS, stsBit, 2);
        } finally {
            lock.unlock();
        }
    }

    /** A Translated request at {@code pa}; the IOMMU may still refuse it (no ATS trust). */
    private int translatedAccess(long pa, byte[] buf, int off, int len, int access) {
        txn.set(sid, NO_SSID, pa, len, access);
        txn.translated = true;
        res.reset();
        translatedRequests.incrementAndGet();
        upstream.translate(txn, res);
        if (res.status != DmaResult.OK) {
            lastFaultReason = res.faultReason;
            return -EFAULT;
        }
        return move(res.pa, buf, off, len, access);
    }

    private int move(long pa, byte[] buf, int off, int len, int access) {
        try {
            if ((access & ACC_WRITE) != 0) {
                mem.write(pa, buf, off, len);
            } else {
                mem.read(pa, buf, off, len);
            }
            return 0;
        } catch (BusError e) {
            // completer abort: nothing answers at that physical address
            return -EFAULT;
        }
    }

    /** Bytes moved by the last DMA before it stopped (all of them on success). */
    public int lastBytesDone() {
        return lastBytesDone;
    }

    /** IOVA of the piece that failed in the last DMA. */
    public long lastFaultAddr() {
        return lastFaultAddr;
    }

    /** The IOMMU's fault reason for the last failure, 0 if none given. */
    public int lastFaultReason() {
        return lastFaultReason;
    }

    @Override
    public String toString() {
        return name + "@" + String.format("%02x:%02x.%d", bus, devfn >> 3, devfn & 7);
    }
}
