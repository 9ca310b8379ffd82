package org.iommu4j.base.hw;

import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceEvent;

/**
 * A GICv2m MSI frame (Arm SBSA, "GICv2m" appendix; QEMU's {@code arm-gicv2m}, hw/intc/arm_gicv2m.c,
 * whose behaviour this follows): a 4 KiB register frame that turns a 32-bit write of an SPI number
 * into an edge on that SPI, a wired line of the board's GIC ({@link IrqController#raiseLine}).
 *
 * <p>What it can do: MSI_TYPER (read-only: first SPI and SPI count), MSI_SETSPI_NS (write the
 * INTID of one of the frame's SPIs: that SPI pulses), MSI_IIDR (QEMU's value: ProductID 'Q',
 * no implementer, revision 0), the identification block 0xFD0-0xFFC reading as zero. What it
 * can't do: the Secure frame (MSI_SETSPI_S), and the GIC's own pending state for a line the
 * kernel never enabled (such an edge is dropped and counted by the controller).
 *
 * <p>Accesses as QEMU takes them: reads must be 32-bit, writes 16- or 32-bit; anything else, and
 * every other offset, is RAZ/WI with a LOG_GUEST_ERROR trace. A write to MSI_SETSPI_NS whose
 * SPI (bits [9:0]) is outside the frame's range is ignored, as the architecture requires.
 */
public final class GicV2mFrame implements MmioDevice {
    /* The frame's registers (byte offsets). */
    public static final int A_MSI_TYPER = 0x008;
    /** MSI_TYPER.BASE_SPI [25:16]: INTID of the first SPI; .NUMBER_SPIS [9:0]. */
    public static final int R_MSI_TYPER_BASE_SHIFT = 16;
    public static final int R_MSI_TYPER_FIELD_MASK = 0x3ff;
    public static final int A_MSI_SETSPI_NS = 0x040;
    public static final int A_MSI_IIDR = 0xfcc;
    public static final int A_IIDR0 = 0xfd0;
    public static final int A_IIDR11 = 0xffc;
    /** The frame's size: one 4 KiB page. */
    public static final int FRAME_SIZE = 0x1000;

    /** QEMU's MSI_IIDR: ProductID [31:20] = 'Q', implementer and revision zero. */
    public static final int QEMU_MSI_IIDR = 0x51 << 20;
    /** QEMU's limit on a frame's SPIs (GICV2M_NUM_SPI_MAX). */
    public static final int NUM_SPI_MAX = 128;
    /**
     * QEMU 7.2's virt machine: the frame's {@code base-spi} property, an SPI index (a15irqmap's
     * VIRT_GIC_V2M = 48, so INTID 80), and its {@code num-spi} (NUM_GICV2M_SPIS).
     */
    public static final int QEMU_VIRT_BASE_SPI = 48;
    public static final int QEMU_VIRT_NUM_SPIS = 64;

    private static final TraceEvent gicv2m_set_spi = Trace.event("gicv2m", "gicv2m_set_spi",
            "MSI_SETSPI_NS: SPI %d (INTID %d)", "spi", "intid");
    private static final TraceEvent gicv2m_guest_error = Trace.event("gicv2m", "gicv2m_guest_error",
            "LOG_GUEST_ERROR: %s", "msg");

    private final IrqController gic;
    /** INTID of the first SPI (base-spi + 32), as MSI_TYPER reports it. */
    private final int firstIntid;
    private final int numSpi;
    /** Writes to MSI_SETSPI_NS naming an SPI outside the frame. */
    private long ignoredSetSpi;

    /**
     * @param baseSpi the first SPI's index (QEMU's {@code base-spi}: INTID - 32)
     * @param numSpi how many SPIs the frame owns, 1 to {@link #NUM_SPI_MAX}
     * @throws IllegalArgumentException for a range QEMU's realize refuses
     */
    public GicV2mFrame(IrqController gic, int baseSpi, int numSpi) {
        if (numSpi < 1 || numSpi > NUM_SPI_MAX) {
            throw new IllegalArgumentException("GICv2m: " + numSpi + " SPIs (want 1 to " + NUM_SPI_MAX + ")");
        }
        if (baseSpi < 0 || baseSpi + 32 > 1020 - numSpi) {
            throw new IllegalArgumentException("GICv2m: base SPI " + baseSpi + "+32 with " + numSpi
                    + " SPIs exceeds INTID 1020");
        }
        this.gic = gic;
        this.firstIntid = baseSpi + 32;
        this.numSpi = numSpi;
    }

    /** INTID of the frame's first SPI. */
    public int firstIntid() {
        return firstIntid;
    }

    public int numSpi() {
        return numSpi;
    }

    /** Writes to MSI_SETSPI_NS that named no SPI of this frame. */
    public synchronized long ignoredSetSpi() {
        return ignoredSetSpi;
    }

    @Override
    public long mmioRead(long offset, int size) {
        if (size != 4) {
            guestError(String.format("%d-byte read at 0x%x (32-bit only)", size, offset));
            return 0;
        }
        if (offset == A_MSI_TYPER) {
            return Integer.toUnsignedLong(firstIntid << R_MSI_TYPER_BASE_SHIFT | numSpi);
        }
        if (offset == A_MSI_IIDR) {
            return Integer.toUnsignedLong(QEMU_MSI_IIDR);
        }
        if (offset >= A_IIDR0 && offset <= A_IIDR11) {
            return 0; // the identification block is optional: QEMU's frame reads it as zero (MSI_PIDR2 too)
        }
        guestError(String.format("read of unknown offset 0x%x", offset));
        return 0;
    }

    @Override
    public void mmioWrite(long offset, long value, int size) {
        if (size != 2 && size != 4) {
            guestError(String.format("%d-byte write at 0x%x (16- or 32-bit only)", size, offset));
            return;
        }
        if (offset != A_MSI_SETSPI_NS) {
            guestError(String.format("write of 0x%x to offset 0x%x (read-only or unknown)", value, offset));
            return;
        }
        int intid = (int) (value & R_MSI_TYPER_FIELD_MASK);
        int spi = intid - firstIntid;
        if (spi < 0 || spi >= numSpi) {
            synchronized (this) {
                ignoredSetSpi++;
            }
            guestError(String.format("MSI_SETSPI_NS = 0x%x: INTID %d outside [%d, %d], ignored", value, intid,
                    firstIntid, firstIntid + numSpi - 1));
            return;
        }
        if (gicv2m_set_spi.enabled()) {
            gicv2m_set_spi.emit(spi, intid);
        }
        gic.raiseLine(intid);
    }

    private static void guestError(String msg) {
        if (gicv2m_guest_error.enabled()) {
            gicv2m_guest_error.emit(msg);
        }
    }
}
