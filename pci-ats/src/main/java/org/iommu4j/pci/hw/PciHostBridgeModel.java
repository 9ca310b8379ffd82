package org.iommu4j.pci.hw;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.iommu4j.base.hw.MmioBus;
import org.iommu4j.base.hw.MmioDevice;

/**
 * A PCIe host bridge with one root bus of endpoint functions and an ECAM configuration window
 * (PCIe r5 7.2.2): offset = (bus - busStart) &lt;&lt; 20 | device &lt;&lt; 15 | function &lt;&lt; 12 | register.
 * A read of a function that does not exist returns all-ones (how software detects absence);
 * writes to it are dropped. ECAM accesses are 1, 2 or 4 bytes; an 8-byte access is split into
 * two 4-byte ones, low first.
 *
 * <p>Its memory and I/O windows ({@link #mapWindow}) turn a CPU access into a request at a bus
 * address, which the function whose BAR decodes that address claims. A request no function
 * claims ends as an Unsupported Request (PCIe r5 2.3.1): the read completes with all-ones (what
 * the root complex returns for a failed non-posted request, the same answer as a config read of
 * an absent function), the write is dropped; both are counted ({@link #unsupportedRequests}).
 */
public final class PciHostBridgeModel implements MmioDevice {
    private final String name;
    private final int busStart;
    private final int busEnd;
    /** [dev * 8 + fn] on the root bus; written at board construction, then read-only. */
    private final PciEndpointModel[] functions = new PciEndpointModel[256];

    /** A bridge decoding buses [busStart, busEnd] whose root bus is {@code busStart}. */
    public PciHostBridgeModel(String name, int busStart, int busEnd) {
        if (busStart < 0 || busEnd > 255 || busEnd < busStart) {
            throw new IllegalArgumentException("bad bus range " + busStart + ".." + busEnd);
        }
        this.name = name;
        this.busStart = busStart;
        this.busEnd = busEnd;
    }

    public PciHostBridgeModel(String name) {
        this(name, 0, 0);
    }

    public String name() {
        return name;
    }

    public int busStart() {
        return busStart;
    }

    public int busEnd() {
        return busEnd;
    }

    /** Bytes of ECAM space the bus range needs (1 MiB per bus). */
    public long ecamSize() {
        return (long) (busEnd - busStart + 1) << 20;
    }

    /**
     * Places {@code ep} at {@code dev}.{@code fn} of the root bus. A function other than 0 needs
     * function 0 present and makes the device multi-function (Header Type bit 7 in all its functions).
     */
    public synchronized PciEndpointModel add(int dev, int fn, PciEndpointModel ep) {
        if (dev < 0 || dev > 31 || fn < 0 || fn > 7) {
            throw new IllegalArgumentException("bad device/function " + dev + "." + fn);
        }
        int slot = dev << 3 | fn;
        if (functions[slot] != null) {
            throw new IllegalArgumentException(String.format("%02x.%d already populated", dev, fn));
        }
        if (fn != 0 && functions[dev << 3] == null) {
            throw new IllegalArgumentException(String.format("%02x.%d without function 0", dev, fn));
        }
        ep.setLocation(busStart, dev, fn);
        functions[slot] = ep;
        if (fn != 0) {
            // every function of a multi-function device reports it (as QEMU does)
            for (int f = 0; f < 8; f++) {
                if (functions[dev << 3 | f] != null) {
                    functions[dev << 3 | f].setMultifunction(true);
                }
            }
        }
        return ep;
    }

    /** Adds a new endpoint built from {@code caps} at {@code dev}.0. */
    public PciEndpointModel add(int dev, String epName, PciEndpointCaps caps) {
        return add(dev, 0, new PciEndpointModel(epName, caps));
    }

    /** The function at bus/dev/fn, or null. */
    public PciEndpointModel function(int bus, int dev, int fn) {
        if (bus != busStart || dev < 0 || dev > 31 || fn < 0 || fn > 7) {
            return null;
        }
        return functions[dev << 3 | fn];
    }

    /** Every function, in bus/device/function order. */
    public synchronized List<PciEndpointModel> endpoints() {
        List<PciEndpointModel> l = new ArrayList<>();
        for (PciEndpointModel ep : functions) {
            if (ep != null) {
                l.add(ep);
            }
        }
        return l;
    }

    private final AtomicLong unsupportedRequests = new AtomicLong();

    /**
     * Maps a window of {@code size} bytes at CPU address {@code cpuBase} on {@code mmio}: its
     * offset {@code o} is bus address {@code busBase + o} in I/O space ({@code io}) or memory
     * space. The windows are what the device tree's {@code ranges} describe.
     */
    public MmioBus.Region mapWindow(MmioBus mmio, long cpuBase, long size, long busBase, boolean io) {
        return mmio.map(name + (io ? "-io@" : "-mem@") + Long.toHexString(cpuBase), cpuBase, size, new Window(busBase, io));
    }

    /** Window accesses no function claimed (each answered as an Unsupported Request). */
    public long unsupportedRequests() {
        return unsupportedRequests.get();
    }

    /** The function whose BAR claims the access, or null. */
    private PciEndpointModel claiming(boolean io, long addr, int size, int[] bar) {
        for (PciEndpointModel ep : functions) {
            if (ep != null) {
                int i = ep.barClaiming(io, addr, size);
                if (i >= 0) {
                    bar[0] = i;
                    return ep;
                }
            }
        }
        return null;
    }

    /** One address window: routes by bus address to the claiming BAR. */
    private final class Window implements MmioDevice {
        private final long busBase;
        private final boolean io;
        /** The claiming BAR's index; accesses are serialised by the window's monitor. */
        private final int[] bar = new int[1];

        Window(long busBase, boolean io) {
            this.busBase = busBase;
            this.io = io;
        }

        @Override
        public synchronized long mmioRead(long offset, int size) {
            long addr = busBase + offset;
            PciEndpointModel ep = claiming(io, addr, size, bar);
            if (ep == null) {
                unsupported(addr, size, false);
                return size == 8 ? -1L : (1L << (8 * size)) - 1;
            }
            return ep.barRead(bar[0], addr - ep.barAddress(bar[0]), size);
        }

        @Override
        public synchronized void mmioWrite(long offset, long value, int size) {
            long addr = busBase + offset;
            PciEndpointModel ep = claiming(io, addr, size, bar);
            if (ep == null) {
                unsupported(addr, size, true);
                return;
            }
            ep.barWrite(bar[0], addr - ep.barAddress(bar[0]), value, size);
        }

        private void unsupported(long addr, int size, boolean write) {
            unsupportedRequests.incrementAndGet();
            if (PciHwTrace.UNSUPPORTED_REQUEST.enabled()) {
                PciHwTrace.UNSUPPORTED_REQUEST.emit(name, io ? "io" : "mem", addr, size, write);
            }
        }
    }

    /** Maps the ECAM window at {@code base} on {@code mmio}. */
    public MmioBus.Region mapEcam(MmioBus mmio, long base) {
        return mmio.map(name + "-ecam", base, ecamSize(), this);
    }

    private PciEndpointModel decode(long offset) {
        int bus = busStart + (int) (offset >>> 20);
        return function(bus, (int) (offset >>> 15) & 0x1f, (int) (offset >>> 12) & 7);
    }

    @Override
    public long mmioRead(long offset, int size) {
        if (size == 8) {
            return (mmioRead(offset, 4) & 0xffffffffL) | mmioRead(offset + 4, 4) << 32;
        }
        PciEndpointModel ep = decode(offset);
        if (ep == null) {
            return size == 4 ? 0xffffffffL : (1L << (8 * size)) - 1;
        }
        int v = ep.configRead((int) (offset & 0xfff), size);
        return size == 4 ? v & 0xffffffffL : v;
    }

    @Override
    public void mmioWrite(long offset, long value, int size) {
        if (size == 8) {
            mmioWrite(offset, value & 0xffffffffL, 4);
            mmioWrite(offset + 4, value >>> 32, 4);
            return;
        }
        PciEndpointModel ep = decode(offset);
        if (ep != null) {
            ep.configWrite((int) (offset & 0xfff), (int) value, size);
        }
    }
}
