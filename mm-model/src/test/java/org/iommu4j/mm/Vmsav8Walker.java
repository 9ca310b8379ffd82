package org.iommu4j.mm;

import org.iommu4j.base.hw.PhysMem;

/**
 * An independent VMSAv8-64 stage-1 translation-table walker written from the Arm ARM (D5.2,
 * "The VMSAv8-64 address translation system"), sharing no code or constants with the port: the
 * second reader that checks the tables the port writes.
 *
 * <p>Inputs are what TTBR0_EL1/TCR_EL1 would hold: table base, granule (TG0 as log2 of the
 * granule size), T0SZ. Output: the final descriptor, its level, the output address, or the
 * fault (translation / address size).
 */
final class Vmsav8Walker {
    enum Fault { NONE, TRANSLATION, ADDRESS_SIZE }

    record Result(Fault fault, int level, long descriptor, long pa) {
        boolean ok() {
            return fault == Fault.NONE;
        }

        /** AP[2:1] from descriptor bits 7:6. */
        int ap() {
            return (int) ((descriptor >>> 6) & 3);
        }

        boolean uxn() {
            return ((descriptor >>> 54) & 1) != 0;
        }

        boolean pxn() {
            return ((descriptor >>> 53) & 1) != 0;
        }

        boolean af() {
            return ((descriptor >>> 10) & 1) != 0;
        }

        boolean ng() {
            return ((descriptor >>> 11) & 1) != 0;
        }

        int sh() {
            return (int) ((descriptor >>> 8) & 3);
        }

        int attrIndx() {
            return (int) ((descriptor >>> 2) & 7);
        }

        boolean dbm() {
            return ((descriptor >>> 51) & 1) != 0;
        }

        boolean contiguous() {
            return ((descriptor >>> 52) & 1) != 0;
        }
    }

    private final PhysMem mem;
    private final int granuleBits;
    private final int t0sz;

    Vmsav8Walker(PhysMem mem, int granuleBits, int t0sz) {
        this.mem = mem;
        this.granuleBits = granuleBits;
        this.t0sz = t0sz;
    }

    Result walk(long ttbr, long va) {
        int inputBits = 64 - t0sz;
        if (inputBits < 64 && (va >>> inputBits) != 0) {
            return new Result(Fault.TRANSLATION, 0, 0, 0); // TTBR0 region exceeded
        }
        int stride = granuleBits - 3;
        // Number of levels needed to resolve (inputBits - granuleBits) bits, stride per level.
        int levels = (inputBits - granuleBits + stride - 1) / stride;
        int level = 4 - levels;
        long tableBase = ttbr & 0x0000_FFFF_FFFF_FFFEL & ~((1L << granuleBits) - 1) & ((1L << 48) - 1);
        // Bits of the input address resolved at the start level.
        int topBits = inputBits - (granuleBits + (3 - level) * stride);
        while (true) {
            int lsb = granuleBits + (3 - level) * stride;
            int width = level == 4 - levels ? topBits : stride;
            long index = (va >>> lsb) & ((1L << width) - 1);
            long desc = mem.readq(tableBase + index * 8);
            if ((desc & 1) == 0) {
                return new Result(Fault.TRANSLATION, level, desc, 0);
            }
            boolean tableOrPage = (desc & 2) != 0;
            long oaMask = ((1L << 48) - 1) & ~((1L << granuleBits) - 1);
            if (level == 3) {
                if (!tableOrPage) {
                    return new Result(Fault.TRANSLATION, level, desc, 0); // reserved encoding
                }
                long pa = (desc & oaMask) | (va & ((1L << granuleBits) - 1));
                return new Result(Fault.NONE, level, desc, pa);
            }
            if (!tableOrPage) {
                // Block: allowed at level 1 (4K granule) and level 2.
                boolean allowed = level == 2 || (level == 1 && granuleBits == 12);
                if (!allowed) {
                    return new Result(Fault.TRANSLATION, level, desc, 0);
                }
                long blockMask = ((1L << 48) - 1) & ~((1L << lsb) - 1);
                long pa = (desc & blockMask) | (va & ((1L << lsb) - 1));
                return new Result(Fault.NONE, level, desc, pa);
            }
            if (((desc >>> 48) & 0xf) != 0) {
                return new Result(Fault.ADDRESS_SIZE, level, desc, 0);
            }
            tableBase = desc & oaMask;
            level++;
        }
    }
}
