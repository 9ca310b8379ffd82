package org.iommu4j.smmuv3.hw;

import static org.iommu4j.smmuv3.hw.SmmuV3Internal.*;

/**
 * An event record (IHI 0070 7.3): one record type per architected event the model raises,
 * encoded into the 32-byte queue format by {@link #encode} and nowhere else.
 */
public sealed interface SmmuEvent {
    /** Architected EventID. */
    int id();

    int sid();

    /**
     * The fields common to the translation-fault records (F_TRANSLATION, F_ADDR_SIZE, F_ACCESS,
     * F_PERMISSION, F_WALK_EABT).
     *
     * @param ssid   SubstreamID, valid iff {@code ssv}
     * @param stall  the transaction is held; {@code stag} is its RESUME token
     * @param rnw    read (1) or write (0)
     * @param s2     the fault came from stage 2 ({@code ipa} valid)
     * @param clazz  {@link SmmuV3Internal#EVT_CLASS_CD}, {@code _TT} or {@code _IN}
     * @param ttrnw  the faulting table access was a read (CLASS TT)
     */
    record Fault(int sid, int ssid, boolean ssv, int stag, boolean stall, boolean pnu, boolean ind, boolean rnw,
                 boolean s2, int clazz, boolean ttrnw, long addr, long ipa) {}

    record BadStreamId(int sid, int ssid, boolean ssv) implements SmmuEvent {
        public int id() { return EVT_C_BAD_STREAMID; }
    }

    record SteFetch(int sid, int ssid, boolean ssv, long fetchAddr) implements SmmuEvent {
        public int id() { return EVT_F_STE_FETCH; }
    }

    record BadSte(int sid, int ssid, boolean ssv) implements SmmuEvent {
        public int id() { return EVT_C_BAD_STE; }
    }

    record BadAtsTreq(int sid, int ssid, boolean ssv, long addr, boolean rnw, boolean ind, boolean pnu)
            implements SmmuEvent {
        public int id() { return EVT_F_BAD_ATS_TREQ; }
    }

    record StreamDisabled(int sid) implements SmmuEvent {
        public int id() { return EVT_F_STREAM_DISABLED; }
    }

    record TranslForbidden(int sid, long addr, boolean rnw) implements SmmuEvent {
        public int id() { return EVT_F_TRANSL_FORBIDDEN; }
    }

    record BadSubstreamId(int sid, int ssid) implements SmmuEvent {
        public int id() { return EVT_C_BAD_SUBSTREAMID; }
    }

    record CdFetch(int sid, int ssid, boolean ssv, long fetchAddr) implements SmmuEvent {
        public int id() { return EVT_F_CD_FETCH; }
    }

    record BadCd(int sid, int ssid, boolean ssv) implements SmmuEvent {
        public int id() { return EVT_C_BAD_CD; }
    }

    record WalkEabt(Fault f, long fetchAddr) implements SmmuEvent {
        public int id() { return EVT_F_WALK_EABT; }
        public int sid() { return f.sid(); }
    }

    record Translation(Fault f) implements SmmuEvent {
        public int id() { return EVT_F_TRANSLATION; }
        public int sid() { return f.sid(); }
    }

    record AddrSize(Fault f) implements SmmuEvent {
        public int id() { return EVT_F_ADDR_SIZE; }
        public int sid() { return f.sid(); }
    }

    record Access(Fault f) implements SmmuEvent {
        public int id() { return EVT_F_ACCESS; }
        public int sid() { return f.sid(); }
    }

    record Permission(Fault f) implements SmmuEvent {
        public int id() { return EVT_F_PERMISSION; }
        public int sid() { return f.sid(); }
    }

    /** The four doublewords of the record. */
    static long[] encode(SmmuEvent e) {
        long[] d = new long[4];
        d[0] = FIELD_DP64(d[0], 0, 8, e.id());
        d[0] = FIELD_DP64(d[0], 32, 32, e.sid() & 0xffffffffL);
        if (e instanceof BadStreamId x) {
            ssid(d, x.ssid(), x.ssv());
        } else if (e instanceof SteFetch x) {
            ssid(d, x.ssid(), x.ssv());
            d[3] = x.fetchAddr() & 0x00ff_ffff_ffff_fff8L;
        } else if (e instanceof BadSte x) {
            ssid(d, x.ssid(), x.ssv());
        } else if (e instanceof BadAtsTreq x) {
            ssid(d, x.ssid(), x.ssv());
            d[1] = access(x.rnw(), x.ind(), x.pnu());
            d[2] = x.addr();
        } else if (e instanceof StreamDisabled) {
            // StreamID only
        } else if (e instanceof TranslForbidden x) {
            d[1] = access(x.rnw(), false, false);
            d[2] = x.addr();
        } else if (e instanceof BadSubstreamId x) {
            d[0] = FIELD_DP64(d[0], 12, 20, x.ssid());
        } else if (e instanceof CdFetch x) {
            ssid(d, x.ssid(), x.ssv());
            d[3] = x.fetchAddr() & 0x00ff_ffff_ffff_fff8L;
        } else if (e instanceof BadCd x) {
            ssid(d, x.ssid(), x.ssv());
        } else if (e instanceof WalkEabt x) {
            fault(d, x.f());
            d[3] = x.fetchAddr() & 0x00ff_ffff_ffff_fff8L;
        } else if (e instanceof Translation x) {
            fault(d, x.f());
        } else if (e instanceof AddrSize x) {
            fault(d, x.f());
        } else if (e instanceof Access x) {
            fault(d, x.f());
        } else if (e instanceof Permission x) {
            fault(d, x.f());
        } else {
            throw new AssertionError("unknown event " + e);
        }
        return d;
    }

    private static void ssid(long[] d, int ssid, boolean ssv) {
        if (ssv) {
            d[0] = FIELD_DP64(d[0], 11, 1, 1);
            d[0] = FIELD_DP64(d[0], 12, 20, ssid);
        }
    }

    private static long access(boolean rnw, boolean ind, boolean pnu) {
        long v = 0;
        v = FIELD_DP64(v, 33, 1, pnu ? 1 : 0);
        v = FIELD_DP64(v, 34, 1, ind ? 1 : 0);
        v = FIELD_DP64(v, 35, 1, rnw ? 1 : 0);
        return v;
    }

    private static void fault(long[] d, Fault f) {
        ssid(d, f.ssid(), f.ssv());
        long v = access(f.rnw(), f.ind(), f.pnu());
        if (f.stall()) {
            v = FIELD_DP64(v, 0, 16, f.stag());
            v = FIELD_DP64(v, 31, 1, 1);
        }
        v = FIELD_DP64(v, 39, 1, f.s2() ? 1 : 0);
        v = FIELD_DP64(v, 40, 2, f.clazz());
        if (f.clazz() == EVT_CLASS_TT) {
            v = FIELD_DP64(v, 44, 1, f.ttrnw() ? 1 : 0);
        }
        d[1] = v;
        d[2] = f.addr();
        if (f.s2()) {
            d[3] = f.ipa() & 0x00ff_ffff_ffff_f000L;
        }
    }
}
