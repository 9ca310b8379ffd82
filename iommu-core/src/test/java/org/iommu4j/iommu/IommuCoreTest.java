package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.iommu.IommuH.*;

import java.util.ArrayList;
import java.util.List;
import org.iommu4j.base.FaultInject;
import org.iommu4j.base.NotifierBlock;
import org.iommu4j.base.Printk;
import org.iommu4j.base.device.BusType;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Probe, groups, default domains, attach/detach, bus notifier, command line. */
@ExtendWith(NoWarnings.class)
class IommuCoreTest {

    @Test
    void busSetIommuProbesExistingDevicesIntoDmaDefaultDomains() {
        World w = new World();
        Device a = w.dev("a", 1);
        Device b = w.dev("b", 2);
        Device nofw = new Device("nofw");
        w.bus.deviceAdd(a);
        w.bus.deviceAdd(b);
        w.bus.deviceAdd(nofw);
        try (var cap = Trace.capture("iommu:*")) {
            assertThat(w.iommu.busSetIommu(w.bus, w.mock)).isZero();
            assertThat(cap.of("iommu:add_device_to_group")).hasSize(2);
            assertThat(cap.of("iommu:attach_device_to_domain")).hasSize(2);
            assertThat(cap.of("iommu:add_device_to_group").get(0).field("device")).isEqualTo("a");
        }
        IommuGroup ga = Iommu.iommuGroupGet(a);
        IommuGroup gb = Iommu.iommuGroupGet(b);
        assertThat(ga).isNotNull().isNotSameAs(gb);
        assertThat(Iommu.iommuGroupGet(nofw)).isNull();
        assertThat(nofw.iommu).isNull(); // dev_iommu freed after the failed probe
        IommuDomain da = ga.defaultDomain();
        assertThat(da.type).isEqualTo(IOMMU_DOMAIN_DMA);
        assertThat(ga.domain()).isSameAs(da);
        assertThat(Iommu.iommuGetDomainForDev(a)).isSameAs(da);
        assertThat(Iommu.iommuGetDmaDomain(a)).isSameAs(da);
        assertThat(da.iovaCookie).isInstanceOf(IommuDmaCookie.class);
        assertThat(a.dmaOps).isSameAs(w.iommu.dma()); // dma-iommu installed
        assertThat(w.mock.log).contains("probe a", "attach a", "probe b", "attach b");
        assertThat(Printk.grep("Adding to iommu group " + ga.id)).isNotEmpty();
        assertThat(w.iommu.busSetIommu(w.bus, w.mock)).isEqualTo(-EBUSY);
        assertThat(Iommu.iommuPresent(w.bus)).isTrue();
        assertThat(Iommu.iommuCapable(w.bus, IOMMU_CAP_CACHE_COHERENCY)).isTrue();
        assertThat(Iommu.iommuCapable(w.bus, IOMMU_CAP_NOEXEC)).isFalse();
        Iommu.iommuGroupPut(ga);
        Iommu.iommuGroupPut(gb);
    }

    @Test
    void hotplugThroughBusNotifierAndRelease() {
        World w = new World();
        long base = w.pageAlloc.allocatedPages();
        w.iommu.busSetIommu(w.bus, w.mock);
        Device d = w.dev("hot", 5);
        List<Long> groupEvents = new ArrayList<>();
        try (var cap = Trace.capture("iommu:*")) {
            w.bus.deviceAdd(d);
            IommuGroup g = Iommu.iommuGroupGet(d);
            assertThat(g.refcount()).isEqualTo(2);
            Iommu.iommuGroupRegisterNotifier(g, NotifierBlock.of(0, (act, data) -> {
                groupEvents.add(act);
                return 0;
            }));
            Iommu.iommuGroupPut(g);
            w.bus.deviceDel(d);
            assertThat(cap.of("iommu:remove_device_from_group")).hasSize(1);
        }
        assertThat(groupEvents).containsExactly(IOMMU_GROUP_NOTIFY_DEL_DEVICE);
        assertThat(d.iommuGroup).isNull();
        assertThat(d.iommu).isNull();
        assertThat(d.dmaOps).isNull();
        assertThat(w.mock.log).endsWith("release hot", "tlb_flush_all", "domain_free");
        assertThat(w.pageAlloc.allocatedPages()).isEqualTo(base);
    }

    @Test
    void attachDetachUnmanagedDomain() {
        World w = new World();
        Device d = w.added("d", 1);
        IommuDomain def = Iommu.iommuGetDomainForDev(d);
        IommuDomain dom = w.iommu.iommuDomainAlloc(w.bus);
        try (var cap = Trace.capture("iommu:*")) {
            assertThat(w.iommu.iommuAttachDevice(dom, d)).isZero();
            assertThat(Iommu.iommuGetDomainForDev(d)).isSameAs(dom);
            // The group is off its default domain: another attach is -EBUSY.
            IommuDomain dom2 = w.iommu.iommuDomainAlloc(w.bus);
            assertThat(w.iommu.iommuAttachDevice(dom2, d)).isEqualTo(-EBUSY);
            w.iommu.iommuDetachDevice(dom, d);
            assertThat(Iommu.iommuGetDomainForDev(d)).isSameAs(def);
            // Detach re-attaches the default domain (v5.15: no detach_dev call).
            assertThat(cap.of("iommu:attach_device_to_domain")).hasSize(2);
            assertThat(cap.of("iommu:detach_device_from_domain")).isEmpty();
            w.iommu.iommuDomainFree(dom2);
        }
        w.iommu.iommuDomainFree(dom);
    }

    @Test
    void attachErrors() {
        World w = new World();
        // No group.
        IommuDomain dom;
        w.iommu.busSetIommu(w.bus, w.mock);
        dom = w.iommu.iommuDomainAlloc(w.bus);
        assertThat(w.iommu.iommuAttachDevice(dom, new Device("lonely"))).isEqualTo(-ENODEV);
        // Group of two devices.
        w.mock.sharedGroup.add("x");
        w.mock.sharedGroup.add("y");
        Device x = w.dev("x", 1);
        Device y = w.dev("y", 2);
        w.bus.deviceAdd(x);
        w.bus.deviceAdd(y);
        assertThat(x.iommuGroup).isSameAs(y.iommuGroup);
        assertThat(w.iommu.iommuAttachDevice(dom, x)).isEqualTo(-EINVAL);
        // ...but the group API works and attaches both.
        IommuGroup g = Iommu.iommuGroupGet(x);
        assertThat(g.devices()).containsExactly(x, y);
        assertThat(Iommu.iommuAttachGroup(dom, g)).isZero();
        assertThat(MockIommu.toMockDomain(dom).devices).containsExactlyInAnyOrder(x, y);
        Iommu.iommuDetachGroup(dom, g);
        assertThat(g.domain()).isSameAs(g.defaultDomain());
        Iommu.iommuGroupPut(g);
        // Driver refusal propagates.
        Device z = w.added("z", 3);
        w.mock.attachError = -EINVAL;
        assertThat(w.iommu.iommuAttachDevice(dom, z)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuGetDomainForDev(z)).isNotSameAs(dom);
        w.mock.attachError = 0;
        // Driver without attach_dev: -ENODEV.
        MinimalOps min = new MinimalOps(w.pageAlloc);
        min.core = w.iommu;
        BusType bus2 = new BusType("min", (d, drv) -> false);
        w.iommu.busSetIommu(bus2, min);
        Device m = new Device("m");
        Iommu.iommuFwspecInit(m, null, min);
        bus2.deviceAdd(m); // probe: no default domain (only UNMANAGED supported), group exists
        assertThat(m.iommuGroup).isNotNull();
        assertThat(Iommu.iommuGetDomainForDev(m)).isNull();
        IommuDomain md = w.iommu.iommuDomainAlloc(bus2);
        assertThat(w.iommu.iommuAttachDevice(md, m)).isEqualTo(-ENODEV);
        assertThat(w.iommu.iommuDomainAlloc(new BusType("none", (d, drv) -> false))).isNull();
    }

    /**
     * v5.15's iommu_detach_device does not compare {@code domain} with the group's current
     * domain: on the default domain it does nothing, otherwise the default domain comes back
     * whichever domain was named. No WARN either way.
     */
    @Test
    void detachRestoresTheDefaultDomainWhicheverDomainIsNamed() {
        World w = new World();
        Device d = w.added("d", 1);
        IommuDomain def = Iommu.iommuGetDomainForDev(d);
        IommuDomain dom = w.iommu.iommuDomainAlloc(w.bus);
        IommuDomain other = w.iommu.iommuDomainAlloc(w.bus);
        w.mock.log.clear();
        w.iommu.iommuDetachDevice(dom, d); // on the default domain: nothing happens
        assertThat(w.mock.log).isEmpty();
        assertThat(Iommu.iommuGetDomainForDev(d)).isSameAs(def);

        assertThat(w.iommu.iommuAttachDevice(dom, d)).isZero();
        w.iommu.iommuDetachDevice(other, d); // names a domain that is not attached
        assertThat(Iommu.iommuGetDomainForDev(d)).isSameAs(def);
        assertThat(MockIommu.toMockDomain(dom).devices).isEmpty();
        assertThat(MockIommu.toMockDomain(def).devices).containsExactly(d);
        assertThat(org.iommu4j.base.Warn.drain()).isEmpty();
        w.iommu.iommuDomainFree(other);
        w.iommu.iommuDomainFree(dom);
    }

    /**
     * is_attach_deferred only defers the implicit attaches (a device joining a group that has a
     * domain, the bus-probe attach of the default domain); iommu_attach_device and the
     * re-attach of the default domain on detach call attach_dev regardless.
     */
    @Test
    void explicitAttachAndDetachAreNeverDeferred() {
        World w = new World();
        Device d = w.added("d", 1);
        IommuDomain def = Iommu.iommuGetDomainForDev(d);
        IommuDomain dom = w.iommu.iommuDomainAlloc(w.bus);
        w.mock.deferredAttach.add("d");
        w.mock.log.clear();
        assertThat(w.iommu.iommuAttachDevice(dom, d)).isZero();
        assertThat(MockIommu.toMockDomain(dom).devices).containsExactly(d);
        w.iommu.iommuDetachDevice(dom, d);
        assertThat(MockIommu.toMockDomain(def).devices).containsExactly(d);
        assertThat(w.mock.log).containsExactly("attach d", "attach d");
        w.iommu.iommuDomainFree(dom);
    }

    /** The driver is asked for a DMA_FQ domain as such; one that refuses it gets a DMA domain. */
    @Test
    void lazyDefaultDomainIsAllocatedAsDmaFq() {
        World lazy = new World("iommu.strict=0");
        Device l = lazy.added("l", 1);
        assertThat(lazy.mock.allocTypes).containsExactly(IOMMU_DOMAIN_DMA_FQ);
        assertThat(Iommu.iommuGetDomainForDev(l).type).isEqualTo(IOMMU_DOMAIN_DMA_FQ);

        World old = new World("iommu.strict=0");
        old.mock.supportedTypes.remove(IOMMU_DOMAIN_DMA_FQ);
        Printk.clear();
        Device o = old.added("o", 1);
        assertThat(old.mock.allocTypes).containsExactly(IOMMU_DOMAIN_DMA_FQ, IOMMU_DOMAIN_DMA);
        assertThat(Iommu.iommuGetDomainForDev(o).type).isEqualTo(IOMMU_DOMAIN_DMA);
        assertThat(Printk.grep("Falling back to IOMMU_DOMAIN_DMA")).hasSize(1);
        // After boot, iommu_set_default_translated() asks for DMA (strict); only the command
        // line's iommu.strict=0 at subsys init makes the default lazy.
        old.iommu.iommuSetDefaultTranslated(false);
        assertThat(old.iommu.iommuDefDomainType()).isEqualTo(IOMMU_DOMAIN_DMA);
    }

    /**
     * iommu.passthrough= and iommu.strict= are read by v5.15's kstrtobool: the first character
     * decides ("yes" is true, "off" false), and a value it cannot read changes nothing (not even
     * the "set via kernel command line" mark) and is reported as a malformed early option.
     */
    @Test
    void commandLineBooleansAreReadAsKstrtoboolReadsThem() {
        World yes = new World("iommu.passthrough=yes");
        assertThat(yes.iommu.iommuDefaultPassthrough()).isTrue();

        World off = new World("iommu.strict=OFF");
        assertThat(off.iommu.iommuDmaStrict()).isFalse();
        assertThat(off.iommu.iommuDefDomainType()).isEqualTo(IOMMU_DOMAIN_DMA_FQ);

        Printk.clear();
        World bad = new World("iommu.strict=maybe iommu.passthrough=true");
        assertThat(bad.iommu.iommuDmaStrict()).isTrue();
        assertThat(bad.iommu.iommuDefDomainType()).isEqualTo(IOMMU_DOMAIN_DMA);
        assertThat(Printk.grep("Malformed early option 'iommu.strict'")).hasSize(1);
        assertThat(Printk.grep("Malformed early option 'iommu.passthrough'")).hasSize(1);
        assertThat(Printk.grep("Default domain type: Translated (set via kernel command line)")).isEmpty();
        assertThat(Printk.grep("lazy mode")).isEmpty();
        assertThat(Printk.grep("strict mode (set via kernel command line)")).isEmpty();
        Device d = bad.added("d", 1);
        assertThat(Iommu.iommuGetDomainForDev(d).type).isEqualTo(IOMMU_DOMAIN_DMA);
    }

    @Test
    void defaultDomainPolicy() {
        World pt = new World("iommu.passthrough=1");
        assertThat(pt.iommu.iommuDefaultPassthrough()).isTrue();
        Device d = pt.added("d", 1);
        assertThat(Iommu.iommuGetDomainForDev(d).type).isEqualTo(IOMMU_DOMAIN_IDENTITY);
        assertThat(d.dmaOps).isNull(); // dma-direct

        World lazy = new World("iommu.strict=0");
        assertThat(lazy.iommu.iommuDmaStrict()).isFalse();
        assertThat(lazy.iommu.iommuDefDomainType()).isEqualTo(IOMMU_DOMAIN_DMA_FQ);
        Device l = lazy.added("l", 1);
        assertThat(Iommu.iommuGetDomainForDev(l).type).isEqualTo(IOMMU_DOMAIN_DMA_FQ);
        assertThat(Printk.grep("DMA domain TLB invalidation policy: lazy mode")).isNotEmpty();

        // Driver preference (def_domain_type) wins.
        World pref = new World();
        pref.mock.defDomainType.put("ident", IOMMU_DOMAIN_IDENTITY);
        Device i = pref.added("ident", 1);
        assertThat(Iommu.iommuGetDomainForDev(i).type).isEqualTo(IOMMU_DOMAIN_IDENTITY);

        // Unsupported type falls back to DMA with a warning.
        World fb = new World("iommu.passthrough=1");
        fb.mock.supportedTypes.remove(IOMMU_DOMAIN_IDENTITY);
        Printk.clear();
        Device f = fb.added("f", 1);
        assertThat(Iommu.iommuGetDomainForDev(f).type).isEqualTo(IOMMU_DOMAIN_DMA);
        assertThat(Printk.grep("Falling back to IOMMU_DOMAIN_DMA")).hasSize(1);
    }

    /**
     * An untrusted (external-facing) PCI function gets a DMA domain even with
     * iommu.passthrough=1 and a driver preferring identity; a trusted one beside it follows the
     * command line.
     */
    @Test
    void untrustedPciDeviceAlwaysGetsADmaDomain() {
        World w = new World("iommu.passthrough=1");
        PciBed bed = new PciBed(w, hb -> {
            hb.add(1, "ext", org.iommu4j.pci.hw.PciEndpointCaps.builder().build());
            hb.add(2, "int", org.iommu4j.pci.hw.PciEndpointCaps.builder().build());
        });
        bed.scan();
        org.iommu4j.pci.PciDev ext = bed.fn(1, 0);
        org.iommu4j.pci.PciDev in = bed.fn(2, 0);
        ext.untrusted = true;
        w.mock.defDomainType.put(ext.devName(), IOMMU_DOMAIN_IDENTITY);
        bed.probe(ext, 8);
        bed.probe(in, 9);
        assertThat(Iommu.iommuGetDomainForDev(ext).type).isEqualTo(IOMMU_DOMAIN_DMA);
        assertThat(ext.dmaOps).isSameAs(w.iommu.dma());
        assertThat(Iommu.iommuGetDomainForDev(in).type).isEqualTo(IOMMU_DOMAIN_IDENTITY);
    }

    @Test
    void conflictingDefDomainTypesInOneGroupUseTheDefault() {
        World w = new World();
        w.mock.sharedGroup.add("p");
        w.mock.sharedGroup.add("q");
        w.mock.defDomainType.put("p", IOMMU_DOMAIN_IDENTITY);
        w.mock.defDomainType.put("q", IOMMU_DOMAIN_DMA);
        Device p = w.dev("p", 1);
        Device q = w.dev("q", 2);
        w.bus.deviceAdd(p);
        w.bus.deviceAdd(q);
        Printk.clear();
        assertThat(w.iommu.busSetIommu(w.bus, w.mock)).isZero();
        assertThat(Iommu.iommuGetDomainForDev(p).type).isEqualTo(IOMMU_DOMAIN_DMA);
        assertThat(Printk.grep("in the same iommu group requires type")).hasSize(1);
    }

    @Test
    void probeErrors() {
        World w = new World();
        // No IOMMU on the bus.
        Device d = w.dev("d", 1);
        assertThat(w.iommu.iommuProbeDevice(d)).isEqualTo(-ENODEV);
        w.iommu.busSetIommu(w.bus, w.mock);
        d.bus = w.bus;
        // Driver refuses (no fwspec for it).
        Device other = new Device("other");
        other.bus = w.bus;
        assertThat(w.iommu.iommuProbeDevice(other)).isEqualTo(-ENODEV);
        // Default domain attach failure releases the device.
        w.mock.attachError = -EINVAL;
        assertThat(w.iommu.iommuProbeDevice(d)).isEqualTo(-EINVAL);
        assertThat(d.iommuGroup).isNull();
        assertThat(d.iommu).isNull();
        w.mock.attachError = 0;
    }

    @Test
    void failNthSweepOverProbeAndAttachLeaksNothing() {
        World w = new World();
        w.iommu.busSetIommu(w.bus, w.mock);
        long base = w.pageAlloc.allocatedPages();
        for (int n = 1; ; n++) {
            Device d = w.dev("f" + n, n);
            d.bus = w.bus;
            FaultInject.failNth(n);
            int ret = w.iommu.iommuProbeDevice(d);
            IommuDomain dom = ret == 0 ? w.iommu.iommuDomainAlloc(w.bus) : null;
            int aret = dom != null ? w.iommu.iommuAttachDevice(dom, d) : -ENOMEM;
            boolean fired = FaultInject.disarm();
            if (ret == 0) {
                assertThat(Iommu.iommuGetDomainForDev(d)).isNotNull();
                if (dom != null) {
                    if (aret == 0) {
                        w.iommu.iommuDetachDevice(dom, d);
                    }
                    w.iommu.iommuDomainFree(dom);
                }
                w.iommu.iommuReleaseDevice(d);
            } else {
                assertThat(ret).isIn(-ENOMEM, -ENODEV);
                assertThat(d.iommuGroup).isNull();
            }
            assertThat(w.pageAlloc.allocatedPages()).isEqualTo(base);
            if (!fired) {
                assertThat(ret).isZero();
                assertThat(aret).isZero();
                break;
            }
        }
    }

    @Test
    void iommuDeviceRegistry() {
        World w = new World();
        assertThat(w.iommu.iommuDevices()).containsExactly(w.mock.iommuDev);
        assertThat(w.iommu.iommuOpsFromFwnode("nowhere")).isNull();
        IommuDevice other = new IommuDevice();
        Device hw = new Device("smmu2");
        hw.fwnode = "node2";
        assertThat(w.iommu.iommuDeviceRegister(other, w.mock, hw)).isZero();
        assertThat(w.iommu.iommuOpsFromFwnode("node2")).isSameAs(w.mock);
        w.iommu.iommuDeviceUnregister(other);
        assertThat(w.iommu.iommuOpsFromFwnode("node2")).isNull();
    }

    /**
     * Direct regions are mapped run by run (a 2M region is one block, not 512 pages), pages
     * already mapped by an overlapping region are skipped, and ALIGN() rounds an unaligned
     * start up, leaving its head page out.
     */
    @Test
    void directMappingsMapRunsAndRoundTheStartUp() {
        World w = new World();
        int rw = IOMMU_READ | IOMMU_WRITE;
        w.mock.resvRegions.add(new IommuResvRegion(0x200000L, 0x200000L, rw, IOMMU_RESV_DIRECT));
        w.mock.resvRegions.add(new IommuResvRegion(0x3ff000L, 0x3000L, rw, IOMMU_RESV_DIRECT_RELAXABLE));
        w.mock.resvRegions.add(new IommuResvRegion(0x600800L, 0x1000L, rw, IOMMU_RESV_DIRECT));
        Device d = w.added("d", 1);
        IommuDomain def = Iommu.iommuGetDomainForDev(d);
        assertThat(w.mock.log.stream().filter(l -> l.startsWith("map_pages")).toList()).containsExactly(
                "map_pages 0x200000->0x200000 0x200000*1",
                "map_pages 0x400000->0x400000 0x1000*2",
                "map_pages 0x601000->0x601000 0x1000*1");
        assertThat(Iommu.iommuIovaToPhys(def, 0x3ff123L)).isEqualTo(0x3ff123L);
        assertThat(Iommu.iommuIovaToPhys(def, 0x401fffL)).isEqualTo(0x401fffL);
        assertThat(Iommu.iommuIovaToPhys(def, 0x600800L)).isZero();
        assertThat(Iommu.iommuIovaToPhys(def, 0x601800L)).isEqualTo(0x601800L);
    }

    @Test
    void directMappingsFromReservedRegions() {
        World w = new World();
        w.mock.resvRegions.add(new IommuResvRegion(0x8000000L, 0x2000, IOMMU_READ | IOMMU_WRITE, IOMMU_RESV_DIRECT));
        w.mock.resvRegions.add(new IommuResvRegion(0x9000000L, 0x1000, 0, IOMMU_RESV_RESERVED));
        Device d = w.added("d", 1);
        IommuDomain def = Iommu.iommuGetDomainForDev(d);
        assertThat(Iommu.iommuIovaToPhys(def, 0x8001000L)).isEqualTo(0x8001000L);
        IovaDomain iovad = ((IommuDmaCookie) def.iovaCookie).iovad;
        assertThat(iovad.findIova(iovad.iovaPfn(0x8000000L))).isNotNull();
        assertThat(iovad.findIova(iovad.iovaPfn(0x9000000L))).isNotNull();
    }

    /** iommu_enable_nesting: -EINVAL for a domain that is not UNMANAGED and for a driver without the op. */
    @Test
    void enableNestingNeedsAnUnmanagedDomainAndTheOp() {
        World w = new World();
        assertThat(w.iommu.busSetIommu(w.bus, w.mock)).isZero();
        IommuDomain dma = w.iommu.iommuDomainAllocType(w.bus, IOMMU_DOMAIN_DMA);
        assertThat(Iommu.iommuEnableNesting(dma)).isEqualTo(-EINVAL);
        w.iommu.iommuDomainFree(dma);
        /* The mock IOMMU, like MinimalOps, has no enable_nesting. */
        assertThat(w.mock.hasEnableNesting()).isFalse();
        IommuDomain unmanaged = w.iommu.iommuDomainAlloc(w.bus);
        assertThat(unmanaged.type).isEqualTo(IOMMU_DOMAIN_UNMANAGED);
        assertThat(Iommu.iommuEnableNesting(unmanaged)).isEqualTo(-EINVAL);
        w.iommu.iommuDomainFree(unmanaged);
    }
}
