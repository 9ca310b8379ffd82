package org.iommu4j.base.hw;

/**
 * The IOMMU's answer to a {@link DmaTransaction}, filled in place (allocation-free).
 *
 * <ul>
 * <li>{@link #OK}: {@link #pa} is the output address; {@link #perm} the permissions granted
 *     (for ATS completions: {@link #PERM_R}/{@link #PERM_W}/{@link #PERM_X}/{@link #PERM_PRIV}),
 *     {@link #pageSize} the translation's span (for ATC caching).</li>
 * <li>{@link #ABORT}: the transaction was terminated (an event may have been recorded);
 *     {@link #faultReason} says why, for the device's log.</li>
 * <li>{@link #STALLED}: held by the IOMMU until software resumes it; the device waits on
 *     {@link #stall} and then retries or gives up as it says.</li>
 * <li>{@link #ATS_FAULT}: answer to an ATS request that the address is not mapped with the
 *     requested access (the device may issue a PRI page request).</li>
 * <li>{@link #RAZ_WI}: the transaction was terminated but completes without an error to the
 *     requester: a read returns zeros, a write is dropped (an SMMU's CD.A = 0 behaviour);
 *     {@link #faultReason} says why.</li>
 * <li>{@link #ATS_UR}: an ATS Translation Request answered with Unsupported Request status
 *     (ATS is not enabled for the stream); {@link #faultReason} the event recorded, if any.</li>
 * <li>{@link #ATS_CA}: an ATS Translation Request answered with Completer Abort status (its
 *     configuration is in error); {@link #faultReason} the error an ordinary transaction
 *     would have raised.</li>
 * </ul>
 */
public final class DmaResult {
    public static final int OK = 0;
    public static final int ABORT = 1;
    public static final int STALLED = 2;
    public static final int ATS_FAULT = 3;
    public static final int RAZ_WI = 4;
    public static final int ATS_UR = 5;
    public static final int ATS_CA = 6;

    public static final int PERM_R = 1;
    public static final int PERM_W = 2;
    public static final int PERM_X = 4;
    public static final int PERM_PRIV = 8;

    public int status;
    public long pa;
    public int perm;
    public long pageSize = 4096;
    /** Architected event id or another model-defined code for the fault, 0 if none. */
    public int faultReason;
    public StallToken stall;
    /**
     * Scratch space owned by the port that translates into this result, kept across
     * transactions (the image of {@code sk_buff->cb}, the control buffer each layer may use for
     * its own state): an IOMMU model keeps its per-requester walk state here, so a translation
     * allocates nothing and needs no thread-local lookup. Never read by the requester; not
     * cleared by {@link #reset()}. A result object serves one requester thread at a time.
     */
    public Object cb;

    /** A held (stalled) transaction's handle. */
    public interface StallToken {
        /** {@link #poll()}: not resolved yet. */
        int PENDING = -1;
        /** Terminated with an abort towards the requester. */
        int TERMINATED = 0;
        /** To be presented again, as a new transaction. */
        int RETRY = 1;
        /** Terminated, but completes without an error: reads return zeros, writes are dropped. */
        int TERMINATED_RAZ_WI = 2;

        /** Blocks until software resolves the stall; true = retry, false = terminated (see {@link #poll()}). */
        boolean await();

        /** Non-blocking check: {@link #PENDING}, {@link #RETRY}, {@link #TERMINATED} or {@link #TERMINATED_RAZ_WI}. */
        int poll();
    }

    public DmaResult reset() {
        status = OK;
        pa = 0;
        perm = 0;
        pageSize = 4096;
        faultReason = 0;
        if (stall != null) {
            stall = null; // as in translated(): no reference store when there is nothing to clear
        }
        return this;
    }

    /**
     * A complete successful answer in one step, as {@code reset()} then {@code ok(pa, perm)} and
     * {@code pageSize}: for an IOMMU's hit path, where the separate calls cost measurably.
     */
    public DmaResult translated(long pa, int perm, long pageSize) {
        this.status = OK;
        this.pa = pa;
        this.perm = perm;
        this.pageSize = pageSize;
        this.faultReason = 0;
        if (stall != null) {
            stall = null; // a reference store (and its GC barrier) only when there is one to clear
        }
        return this;
    }

    public DmaResult ok(long pa, int perm) {
        this.status = OK;
        this.pa = pa;
        this.perm = perm;
        return this;
    }

    public DmaResult abort(int reason) {
        this.status = ABORT;
        this.faultReason = reason;
        return this;
    }

    /** An ATS Translation Completion with Unsupported Request status. */
    public DmaResult atsUr(int reason) {
        this.status = ATS_UR;
        this.faultReason = reason;
        return this;
    }

    /** An ATS Translation Completion with Completer Abort status. */
    public DmaResult atsCa(int reason) {
        this.status = ATS_CA;
        this.faultReason = reason;
        return this;
    }

    /** Terminated, but read-as-zero / writes-ignored towards the requester. */
    public DmaResult razWi(int reason) {
        this.status = RAZ_WI;
        this.faultReason = reason;
        return this;
    }

    @Override
    public String toString() {
        return switch (status) {
            case OK -> "ok(pa=0x" + Long.toHexString(pa) + " perm=" + perm + ")";
            case ABORT -> "abort(0x" + Integer.toHexString(faultReason) + ")";
            case STALLED -> "stalled";
            case ATS_FAULT -> "ats-fault(0x" + Integer.toHexString(faultReason) + ")";
            case RAZ_WI -> "raz/wi(0x" + Integer.toHexString(faultReason) + ")";
            case ATS_UR -> "ats-ur(0x" + Integer.toHexString(faultReason) + ")";
            case ATS_CA -> "ats-ca(0x" + Integer.toHexString(faultReason) + ")";
            default -> "status " + status;
        };
    }
}
