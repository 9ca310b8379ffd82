package org.iommu4j.smmuv3.hw;

import org.iommu4j.base.trace.Trace;
import org.iommu4j.base.trace.TraceEvent;

/**
 * The model's trace events, declared once (the image of QEMU's hw/arm/trace-events), system
 * "smmuv3". Call sites guard argument building with {@code enabled()} so the translation hit
 * path allocates nothing when tracing is off.
 */
public final class SmmuV3Trace {
    private SmmuV3Trace() {}

    private static TraceEvent ev(String name, String fmt, String... fields) {
        return Trace.event("smmuv3", name, fmt, fields);
    }

    public static final TraceEvent smmuv3_read_mmio = ev("smmuv3_read_mmio", "addr: 0x%x val:0x%x size: 0x%x", "addr", "val", "size");
    public static final TraceEvent smmuv3_write_mmio = ev("smmuv3_write_mmio", "addr: 0x%x val:0x%x size: 0x%x", "addr", "val", "size");
    public static final TraceEvent smmuv3_write_mmio_idr = ev("smmuv3_write_mmio_idr", "write to RO/Unimpl reg 0x%x val64:0x%x", "addr", "val");
    public static final TraceEvent smmuv3_unhandled_mmio = ev("smmuv3_unhandled_mmio", "RAZ/WI access at 0x%x (%s)", "addr", "dir");
    public static final TraceEvent smmuv3_guest_error = ev("smmuv3_guest_error", "LOG_GUEST_ERROR: %s", "msg");
    public static final TraceEvent smmuv3_unimp = ev("smmuv3_unimp", "LOG_UNIMP: %s", "msg");
    public static final TraceEvent smmuv3_update_cr0 = ev("smmuv3_update_cr0", "CR0=0x%x (was 0x%x)", "val", "old");
    public static final TraceEvent smmuv3_write_gbpa = ev("smmuv3_write_gbpa", "GBPA=0x%x", "val");
    public static final TraceEvent smmuv3_write_gerror = ev("smmuv3_write_gerror", "toggled 0x%x, new GERROR 0x%x", "toggled", "gerror");
    public static final TraceEvent smmuv3_write_gerrorn = ev("smmuv3_write_gerrorn", "acked 0x%x, old GERRORN 0x%x, new GERRORN 0x%x", "acked", "old", "new");
    public static final TraceEvent smmuv3_trigger_irq = ev("smmuv3_trigger_irq", "irq=%s msi=%d", "irq", "msi");
    public static final TraceEvent smmuv3_cmdq_consume = ev("smmuv3_cmdq_consume", "prod=%d cons=%d prod.wrap=%d cons.wrap=%d", "prod", "cons", "prod_wrap", "cons_wrap");
    public static final TraceEvent smmuv3_cmdq_opcode = ev("smmuv3_cmdq_opcode", "<--- %s", "cmd");
    public static final TraceEvent smmuv3_cmdq_consume_out = ev("smmuv3_cmdq_consume_out", "prod:%d, cons:%d, prod_wrap:%d, cons_wrap:%d", "prod", "cons", "prod_wrap", "cons_wrap");
    public static final TraceEvent smmuv3_cmdq_consume_error = ev("smmuv3_cmdq_consume_error", "Error on %s command execution: %d", "cmd", "error");
    public static final TraceEvent smmuv3_cmdq_cfgi_ste = ev("smmuv3_cmdq_cfgi_ste", "sid=0x%x", "sid");
    public static final TraceEvent smmuv3_cmdq_cfgi_ste_range = ev("smmuv3_cmdq_cfgi_ste_range", "start=0x%x - end=0x%x", "start", "end");
    public static final TraceEvent smmuv3_cmdq_cfgi_cd = ev("smmuv3_cmdq_cfgi_cd", "sid=0x%x ssid=0x%x all=%b", "sid", "ssid", "all");
    public static final TraceEvent smmuv3_cmdq_tlbi = ev("smmuv3_cmdq_tlbi", "%s vmid=%d asid=%d addr=0x%x pages=%d leaf=%b", "cmd", "vmid", "asid", "addr", "pages", "leaf");
    public static final TraceEvent smmuv3_cmdq_atc_inv = ev("smmuv3_cmdq_atc_inv", "sid=0x%x ssid=0x%x ssv=%b addr=0x%x size=0x%x result=%d", "sid", "ssid", "ssv", "addr", "size", "result");
    public static final TraceEvent smmuv3_cmdq_pri_resp = ev("smmuv3_cmdq_pri_resp", "sid=0x%x ssid=0x%x grpid=%d resp=%d", "sid", "ssid", "grpid", "resp");
    public static final TraceEvent smmuv3_cmdq_resume = ev("smmuv3_cmdq_resume", "sid=0x%x stag=%d retry=%b found=%b", "sid", "stag", "retry", "found");
    public static final TraceEvent smmuv3_cmdq_sync = ev("smmuv3_cmdq_sync", "cs=%d msiaddr=0x%x msidata=0x%x", "cs", "msiaddr", "msidata");
    public static final TraceEvent smmuv3_config_cache_hit = ev("smmuv3_config_cache_hit", "Config cache HIT for sid=0x%x (hits=%d, misses=%d)", "sid", "hits", "misses");
    public static final TraceEvent smmuv3_config_cache_miss = ev("smmuv3_config_cache_miss", "Config cache MISS for sid=0x%x (hits=%d, misses=%d)", "sid", "hits", "misses");
    public static final TraceEvent smmuv3_config_cache_inv = ev("smmuv3_config_cache_inv", "Config cache INV for sid=0x%x", "sid");
    public static final TraceEvent smmuv3_find_ste = ev("smmuv3_find_ste", "sid=0x%x features:0x%x, sid_split:0x%x", "sid", "features", "sid_split");
    public static final TraceEvent smmuv3_find_ste_2lvl = ev("smmuv3_find_ste_2lvl", "strtab_base:0x%x l1ptr:0x%x l1_off:0x%x, l2ptr:0x%x l2_off:0x%x max_l2_ste:%d", "strtab_base", "l1ptr", "l1_off", "l2ptr", "l2_off", "max_l2_ste");
    public static final TraceEvent smmuv3_get_ste = ev("smmuv3_get_ste", "STE addr: 0x%x", "addr");
    public static final TraceEvent smmuv3_get_cd = ev("smmuv3_get_cd", "CD addr: 0x%x", "addr");
    public static final TraceEvent smmuv3_decode_cd = ev("smmuv3_decode_cd", "asid=%d ttb0=0x%x t0sz=%d tg0=%d", "asid", "ttb", "t0sz", "tg");
    public static final TraceEvent smmuv3_translate_disable = ev("smmuv3_translate_disable", "%s sid=0x%x bypass (smmu disabled) iova:0x%x is_write=%b", "name", "sid", "iova", "is_write");
    public static final TraceEvent smmuv3_translate_bypass = ev("smmuv3_translate_bypass", "%s sid=0x%x STE bypass iova:0x%x is_write=%b", "name", "sid", "iova", "is_write");
    public static final TraceEvent smmuv3_translate_abort = ev("smmuv3_translate_abort", "%s sid=0x%x iova=0x%x is_write=%b - abort", "name", "sid", "iova", "is_write");
    public static final TraceEvent smmuv3_translate_success = ev("smmuv3_translate_success", "%s sid=0x%x iova=0x%x translated=0x%x perm=0x%x", "name", "sid", "iova", "translated", "perm");
    public static final TraceEvent smmuv3_record_event = ev("smmuv3_record_event", "%s id=0x%x sid=0x%x", "type", "id", "sid");
    public static final TraceEvent smmuv3_evtq_overflow = ev("smmuv3_evtq_overflow", "event queue full, %s lost (sid=0x%x)", "type", "sid");
    public static final TraceEvent smmuv3_stall = ev("smmuv3_stall", "sid=0x%x stag=%d iova=0x%x held", "sid", "stag", "iova");
    public static final TraceEvent smmuv3_pri_request = ev("smmuv3_pri_request", "sid=0x%x ssid=0x%x addr=0x%x grpid=%d last=%b queued=%b", "sid", "ssid", "addr", "grpid", "last", "queued");
    public static final TraceEvent smmuv3_pri_auto_response = ev("smmuv3_pri_auto_response", "sid=0x%x ssid=0x%x grpid=%d code=0x%x", "sid", "ssid", "grpid", "code");
    public static final TraceEvent smmuv3_cmdq_ignored = ev("smmuv3_cmdq_ignored", "%s sid=0x%x: SMMUEN=0", "cmd", "sid");
    public static final TraceEvent smmuv3_stall_unrecorded = ev("smmuv3_stall_unrecorded", "sid=0x%x stag=0x%x addr=0x%x: Event queue not writable", "sid", "stag", "addr");
    public static final TraceEvent smmuv3_stall_retry = ev("smmuv3_stall_retry", "sid=0x%x stag=0x%x: retried, its event never recorded", "sid", "stag");
    public static final TraceEvent smmuv3_btm = ev("smmuv3_btm", "broadcast %s asid=%d vmid=%d va=0x%x", "kind", "asid", "vmid", "va");
    public static final TraceEvent smmu_iotlb_lookup_hit = ev("smmu_iotlb_lookup_hit", "asid=%d vmid=%d addr=0x%x hit=%d miss=%d", "asid", "vmid", "addr", "hit", "miss");
    public static final TraceEvent smmu_iotlb_lookup_miss = ev("smmu_iotlb_lookup_miss", "asid=%d vmid=%d addr=0x%x hit=%d miss=%d", "asid", "vmid", "addr", "hit", "miss");
    public static final TraceEvent smmu_iotlb_insert = ev("smmu_iotlb_insert", "asid=%d vmid=%d addr=0x%x tg=%d level=%d", "asid", "vmid", "addr", "tg", "level");
    public static final TraceEvent smmu_iotlb_inv = ev("smmu_iotlb_inv", "%s removed=%d", "scope", "removed");
    public static final TraceEvent smmu_ptw_level = ev("smmu_ptw_level", "stage=%d level=%d iova=0x%x baseaddr=0x%x pteaddr=0x%x pte=0x%x", "stage", "level", "iova", "baseaddr", "pteaddr", "pte");
    public static final TraceEvent smmu_ptw_fault = ev("smmu_ptw_fault", "stage=%d level=%d iova=0x%x %s", "stage", "level", "iova", "fault");
    /*
     * Walk cache events (QEMU has no walk cache; named after smmu_iotlb_lookup_hit/miss): a walk
     * after a TLB miss that resumed below a cached table descriptor, one that started at the
     * start table, and an invalidation of walk entries with the command scope that made it.
     */
    public static final TraceEvent smmu_ptw_walk_cache_hit = ev("smmu_ptw_walk_cache_hit", "stage=%d level=%d iova=0x%x table=0x%x hit=%d miss=%d", "stage", "level", "iova", "table", "hit", "miss");
    public static final TraceEvent smmu_ptw_walk_cache_miss = ev("smmu_ptw_walk_cache_miss", "stage=%d iova=0x%x hit=%d miss=%d", "stage", "iova", "hit", "miss");
    public static final TraceEvent smmu_ptw_walk_cache_inv = ev("smmu_ptw_walk_cache_inv", "%s removed=%d", "scope", "removed");
    public static final TraceEvent smmu_ptw_leaf = ev("smmu_ptw_leaf", "stage=%d level=%d iova=0x%x pa=0x%x block=0x%x", "stage", "level", "iova", "pa", "size");
}
