package org.iommu4j.smmuv3;

import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceEvent;

/** The driver's trace events (system "arm_smmu"), declared once. */
public final class ArmSmmuV3Trace {
    private ArmSmmuV3Trace() {}

    /** One command written into the command queue (raw dwords as the SMMU will read them). */
    public static final TraceEvent CMD = Trace.event("arm_smmu", "cmdq_cmd",
            "prod=0x%x op=%s cmd0=0x%016x cmd1=0x%016x", "prod", "op", "cmd0", "cmd1");
    /** The hardware PROD register advanced by an owner. */
    public static final TraceEvent CMDQ_PROD = Trace.event("arm_smmu", "cmdq_prod", "prod=0x%x", "prod");
    /** A decoded event record from the event queue. */
    public static final TraceEvent EVT = Trace.event("arm_smmu", "evt",
            "id=0x%02x %s sid=0x%x ssv=%d ssid=0x%x addr=0x%x rnw=%d", "id", "name", "sid", "ssv", "ssid", "addr", "rnw");
    /** Active GERROR bits seen by the handler. */
    public static final TraceEvent GERROR = Trace.event("arm_smmu", "gerror", "active=0x%08x", "active");
    /** A context descriptor written (dword0 after the write). */
    public static final TraceEvent CD_WRITE = Trace.event("arm_smmu", "write_cd",
            "ssid=%d cdptr=0x%x cd0=0x%016x", "ssid", "cdptr", "cd0");
    /** A stream table entry written (dword0/1 after the write). */
    public static final TraceEvent STE_WRITE = Trace.event("arm_smmu", "write_ste",
            "sid=0x%x ste0=0x%016x ste1=0x%016x", "sid", "ste0", "ste1");

    /**
     * One 64-bit store into a stream table entry (a test hook: the KUnit-style hitless checks
     * decode the entry after every store, the moment the SMMU could fetch it).
     */
    public static final TraceEvent STE_STORE = Trace.event("arm_smmu", "ste_store",
            "sid=0x%x addr=0x%x val=0x%016x", "sid", "addr", "val");
    /** One 64-bit store into a context descriptor (the same hook for CDs). */
    public static final TraceEvent CD_STORE = Trace.event("arm_smmu", "cd_store",
            "ssid=%d addr=0x%x val=0x%016x", "ssid", "addr", "val");
}
