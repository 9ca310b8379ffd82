package org.iommu4j.iommu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.Errno.ENODEV;
import static org.iommu4j.base.Errno.ENOMEM;
import static org.iommu4j.base.Errno.EPERM;
import static org.iommu4j.iommu.IommuH.*;

import org.iommu4j.base.ErrnoException;
import org.iommu4j.base.Warn;
import org.iommu4j.base.device.Device;
import org.iommu4j.base.test.NoWarnings;
import org.iommu4j.base.trace.Trace;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Features, aux domains (seed 000), seed 001 adapters, SVA wrappers, seed 003 DMA PASID, fwspec. */
@ExtendWith(NoWarnings.class)
class IommuFeatureTest {

    @Test
    void features() {
        World w = new World();
        Device d = w.added("d", 1);
        assertThat(Iommu.iommuDevHasFeature(d, IOMMU_DEV_FEAT_AUX)).isTrue();
        assertThat(Iommu.iommuDevFeatureEnabled(d, IOMMU_DEV_FEAT_AUX)).isFalse();
        assertThat(Iommu.iommuDevEnableFeature(d, IOMMU_DEV_FEAT_AUX)).isZero();
        assertThat(Iommu.iommuDevEnableFeature(d, IOMMU_DEV_FEAT_AUX)).isEqualTo(-EBUSY);
        assertThat(Iommu.iommuDevFeatureEnabled(d, IOMMU_DEV_FEAT_AUX)).isTrue();
        assertThat(Iommu.iommuDevDisableFeature(d, IOMMU_DEV_FEAT_AUX)).isZero();
        assertThat(Iommu.iommuDevDisableFeature(d, IOMMU_DEV_FEAT_AUX)).isEqualTo(-EINVAL);
        // No IOMMU: false/false/-ENODEV/-EBUSY.
        Device none = new Device("none");
        assertThat(Iommu.iommuDevHasFeature(none, IOMMU_DEV_FEAT_SVA)).isFalse();
        assertThat(Iommu.iommuDevFeatureEnabled(none, IOMMU_DEV_FEAT_SVA)).isFalse();
        assertThat(Iommu.iommuDevEnableFeature(none, IOMMU_DEV_FEAT_SVA)).isEqualTo(-ENODEV);
        assertThat(Iommu.iommuDevDisableFeature(none, IOMMU_DEV_FEAT_SVA)).isEqualTo(-EBUSY);
        // Driver without the ops.
        MinimalOps min = new MinimalOps(w.pageAlloc);
        min.core = w.iommu;
        org.iommu4j.base.device.BusType b2 = new org.iommu4j.base.device.BusType("b2", (x, y) -> false);
        w.iommu.busSetIommu(b2, min);
        Device m = new Device("m");
        Iommu.iommuFwspecInit(m, null, min);
        b2.deviceAdd(m);
        assertThat(Iommu.iommuDevHasFeature(m, IOMMU_DEV_FEAT_IOPF)).isFalse();
        assertThat(Iommu.iommuDevEnableFeature(m, IOMMU_DEV_FEAT_IOPF)).isEqualTo(-ENODEV);
        assertThat(Iommu.iommuDevDisableFeature(m, IOMMU_DEV_FEAT_IOPF)).isEqualTo(-EBUSY);
        assertThat(Iommu.iommuDevFeatureEnabled(m, IOMMU_DEV_FEAT_IOPF)).isFalse();
        IommuDomain md = w.iommu.iommuDomainAlloc(b2);
        assertThat(w.iommu.iommuAuxAttachDevice(md, m)).isEqualTo(-ENODEV);
        assertThat(Iommu.iommuAuxGetPasid(md, m)).isEqualTo(-ENODEV);
        w.iommu.iommuAuxDetachDevice(md, m); // NULL op: nothing
        assertThatThrownBy(() -> Iommu.iommuSvaBindDevice(m, new Object(), null))
                .isInstanceOf(ErrnoException.class).extracting(e -> ((ErrnoException) e).err()).isEqualTo(-ENODEV);
        assertThat(Iommu.iommuSvaGetPasid(new IommuSva(m))).isEqualTo(IOMMU_PASID_INVALID);
    }

    @Test
    void auxDomainsAndSeed001Adapters() {
        World w = new World();
        Device d = w.added("d", 1);
        IommuDomain aux = w.iommu.iommuDomainAlloc(w.bus);
        // AUX not enabled: the driver refuses.
        assertThat(w.iommu.iommuAuxAttachDevice(aux, d)).isEqualTo(-EINVAL);
        int[] pasid = {0};
        assertThat(w.iommu.iommuDomainGetAttr(aux, DOMAIN_ATTR_AUXD_ID, pasid)).isEqualTo(-EINVAL);
        // Seed 001: iommu_sva_init_device(dev, IOMMU_SVA_FEAT_AUXD, min, max, NULL) enables AUX.
        assertThat(Iommu.iommuSvaInitDevice(d, 1 << 5, 1, 100, null)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuSvaInitDevice(d, IOMMU_SVA_FEAT_AUXD, 1, (1 << 20) - 1, null)).isZero();
        boolean[] out = {false};
        assertThat(Iommu.iommuGetDevAttr(d, IOMMU_DEV_ATTR_AUXD_ENABLED, out)).isZero();
        assertThat(out[0]).isTrue();
        try (var cap = Trace.capture("iommu:*")) {
            assertThat(w.iommu.iommuAuxAttachDevice(aux, d)).isZero();
            assertThat(cap.of("iommu:attach_device_to_domain")).hasSize(1);
            assertThat(Iommu.iommuAuxGetPasid(aux, d)).isEqualTo(100);
            assertThat(w.iommu.iommuDomainGetAttr(aux, DOMAIN_ATTR_AUXD_ID, pasid)).isZero();
            assertThat(pasid[0]).isEqualTo(100);
            assertThat(w.iommu.iommuDomainGetAttr(aux, 0, pasid)).isEqualTo(-EINVAL);
            // The aux domain sits beside the default domain.
            assertThat(Iommu.iommuGetDomainForDev(d)).isNotSameAs(aux);
            w.iommu.iommuAuxDetachDevice(aux, d);
            assertThat(cap.of("iommu:detach_device_from_domain")).hasSize(1);
        }
        assertThat(w.iommu.iommuDomainGetAttr(aux, DOMAIN_ATTR_AUXD_ID, pasid)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuSetDevAttr(d, IOMMU_DEV_ATTR_AUXD_ENABLED, Boolean.FALSE)).isZero();
        assertThat(Iommu.iommuSetDevAttr(d, IOMMU_DEV_ATTR_AUXD_CAPABILITY, Boolean.TRUE)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuGetDevAttr(d, IOMMU_DEV_ATTR_AUXD_CAPABILITY, out)).isZero();
        assertThat(out[0]).isTrue();
        assertThat(Iommu.iommuGetDevAttr(d, 7, out)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuSetDevAttr(d, IOMMU_DEV_ATTR_AUXD_ENABLED, Boolean.TRUE)).isZero();
        assertThat(Iommu.iommuSvaShutdownDevice(d)).isZero();
        assertThat(Iommu.iommuDevFeatureEnabled(d, IOMMU_DEV_FEAT_AUX)).isFalse();
        assertThat(Iommu.iommuSvaShutdownDevice(d)).isZero();
        w.iommu.iommuDomainFree(aux);
    }

    @Test
    void svaBindWrappers() {
        World w = new World();
        Device d = w.added("d", 1);
        assertThatThrownBy(() -> Iommu.iommuSvaBindDevice(new Device("x"), null, null)).isInstanceOf(ErrnoException.class);
        assertThatThrownBy(() -> Iommu.iommuSvaBindDevice(d, new Object(), null))
                .isInstanceOf(ErrnoException.class).extracting(e -> ((ErrnoException) e).err()).isEqualTo(-ENODEV);
        Iommu.iommuDevEnableFeature(d, IOMMU_DEV_FEAT_SVA);
        IommuSva h = Iommu.iommuSvaBindDevice(d, new Object(), null);
        assertThat(Iommu.iommuSvaGetPasid(h)).isEqualTo(42);
        Iommu.iommuSvaUnbindDevice(h);
        assertThat(w.mock.log).contains("sva_bind d", "sva_unbind d");
        // Groups of two: -EINVAL.
        w.mock.sharedGroup.add("g1");
        w.mock.sharedGroup.add("g2");
        Device g1 = w.added("g1", 2);
        w.added("g2", 3);
        assertThatThrownBy(() -> Iommu.iommuSvaBindDevice(g1, new Object(), null))
                .isInstanceOf(ErrnoException.class).extracting(e -> ((ErrnoException) e).err()).isEqualTo(-EINVAL);
    }

    @Test
    void seed003DmaPasid() {
        World w = new World();
        Device a = w.dev("a", 1);
        DevIommu.devIommuFwspecGet(a).numPasidBits = 8;
        w.iommu.busSetIommu(w.bus, w.mock);
        w.bus.deviceAdd(a);
        IommuDomain def = Iommu.iommuGetDomainForDev(a);
        int[] pasid = {0};
        assertThat(w.iommu.iommuAttachDmaPasid(a, pasid)).isZero();
        assertThat(pasid[0]).isBetween(1, 255);
        assertThat(def.pasid).isEqualTo(pasid[0]);
        assertThat(def.pasidUsers).isEqualTo(1);
        assertThat(MockIommu.toMockDomain(def).pasids).containsEntry(a, pasid[0]);
        assertThat(w.ioasid.ioasidFind(null, pasid[0], null)).isSameAs(a);
        // Second attach on the same domain reuses the PASID.
        int[] again = {0};
        assertThat(w.iommu.iommuEnablePasidDma(a, again)).isZero();
        assertThat(again[0]).isEqualTo(pasid[0]);
        assertThat(def.pasidUsers).isEqualTo(2);
        w.iommu.iommuDisablePasidDma(a, pasid[0]);
        assertThat(def.pasid).isEqualTo(pasid[0]);
        w.iommu.iommuDetachDmaPasid(a);
        assertThat(def.pasid).isZero();
        assertThat(w.mock.log).contains("detach_dev_pasid a " + pasid[0]);
        assertThatThrownBy(() -> w.ioasid.ioasidFind(null, pasid[0], null)).isInstanceOf(ErrnoException.class);
    }

    /**
     * Seed 003 v2: iommu_set_dev_pasid_max records the driver's value as given and
     * iommu_get_dev_pasid_max returns it, so iommu_enable_pasid_dma allocates in [1, max] and
     * not in a range rounded up to a power of two. Either call on a device without dev_iommu
     * WARNs.
     */
    @Test
    void seed003V2PasidMaxIsKeptAsGiven() {
        World w = new World();
        Device v = w.added("v", 1);
        Iommu.iommuSetDevPasidMax(v, 100);
        assertThat(Iommu.iommuGetDevPasidMax(v)).isEqualTo(100);
        Iommu.iommuSetDevPasidMax(v, 1 << 20); // pci_max_pasids() of a 20-bit function
        assertThat(Iommu.iommuGetDevPasidMax(v)).isEqualTo(1 << 20);

        Iommu.iommuSetDevPasidMax(v, 4);
        for (int i = 1; i <= 4; i++) {
            assertThat(w.ioasid.ioasidAlloc(null, i, i, null)).isEqualTo(i);
        }
        int[] pasid = {0};
        assertThat(w.iommu.iommuEnablePasidDma(v, pasid)).isEqualTo(-ENOMEM);
        assertThat(pasid[0]).isZero();
        assertThat(Iommu.iommuGetDomainForDev(v).pasid).isZero();
        w.ioasid.ioasidFree(null, 3);
        assertThat(w.iommu.iommuEnablePasidDma(v, pasid)).isZero();
        assertThat(pasid[0]).isEqualTo(3);
        w.iommu.iommuDisablePasidDma(v, 3);

        Device bare = new Device("bare");
        Iommu.iommuSetDevPasidMax(bare, 8);
        assertThat(Iommu.iommuGetDevPasidMax(bare)).isZero();
        assertThat(Warn.drain()).hasSize(2);
    }

    @Test
    void seed003Errors() {
        World w = new World();
        // No domain: -ENODEV.
        assertThat(w.iommu.iommuAttachDmaPasid(new Device("x"), new int[1])).isEqualTo(-ENODEV);
        // Device without PASID bits: -EINVAL.
        Device np = w.added("np", 1);
        assertThat(w.iommu.iommuAttachDmaPasid(np, new int[1])).isEqualTo(-EINVAL);
        // UNMANAGED domain: -EPERM.
        Device u = w.dev("u", 2);
        DevIommu.devIommuFwspecGet(u).numPasidBits = 4;
        w.bus.deviceAdd(u);
        IommuDomain un = w.iommu.iommuDomainAlloc(w.bus);
        assertThat(w.iommu.iommuAttachDevice(un, u)).isZero();
        assertThat(w.iommu.iommuAttachDmaPasid(u, new int[1])).isEqualTo(-EPERM);
        w.iommu.iommuDetachDevice(un, u);
        // Driver failure gives the PASID back.
        w.mock.attachPasidError = -EBUSY;
        assertThat(w.iommu.iommuAttachDmaPasid(u, new int[1])).isEqualTo(-EBUSY);
        assertThat(Iommu.iommuGetDomainForDev(u).pasid).isZero();
        w.mock.attachPasidError = 0;
        // PASID space exhausted: -ENOMEM. (4 bits: 15 PASIDs, all taken.)
        for (int i = 1; i <= 15; i++) {
            assertThat(w.ioasid.ioasidAlloc(null, i, i, null)).isEqualTo(i);
        }
        assertThat(w.iommu.iommuAttachDmaPasid(u, new int[1])).isEqualTo(-ENOMEM);
        // World without a PASID source: -ENOMEM.
        Iommu bare = new Iommu();
        assertThat(bare.dma()).isNull();
        // Driver without attach_dev_pasid: -ENODEV.
        MinimalOps min = new MinimalOps(w.pageAlloc);
        min.core = w.iommu;
        org.iommu4j.base.device.BusType b2 = new org.iommu4j.base.device.BusType("b2", (x, y) -> false);
        w.iommu.busSetIommu(b2, min);
        Device m = new Device("m");
        Iommu.iommuFwspecInit(m, null, min);
        b2.deviceAdd(m);
        IommuDomain md = w.iommu.iommuDomainAlloc(b2);
        w.iommu.iommuAttachDevice(md, m);
        assertThat(w.iommu.iommuAttachDmaPasid(m, new int[1])).isEqualTo(-ENODEV);
    }

    @Test
    void fwspec() {
        MockIommu ops = new MockIommu(null);
        MinimalOps other = new MinimalOps(null);
        Device d = new Device("d");
        assertThat(Iommu.iommuFwspecAddIds(d, new int[] {1}, 1)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuFwspecInit(d, "node", ops)).isZero();
        assertThat(Iommu.iommuFwspecInit(d, "node", ops)).isZero();
        assertThat(Iommu.iommuFwspecInit(d, "node", other)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommuFwspecAddIds(d, new int[] {5}, 1)).isZero();
        assertThat(Iommu.iommuFwspecAddIds(d, new int[] {6, 7, 8}, 3)).isZero();
        IommuFwspec f = DevIommu.devIommuFwspecGet(d);
        assertThat(f.numIds).isEqualTo(4);
        assertThat(java.util.Arrays.copyOf(f.ids, f.numIds)).containsExactly(5, 6, 7, 8);
        assertThat(f.iommuFwnode).isEqualTo("node");
        assertThat(f.ops).isSameAs(ops);
        org.iommu4j.base.FaultInject.failNth(1);
        assertThat(Iommu.iommuFwspecAddIds(d, new int[] {9, 10}, 2)).isEqualTo(-ENOMEM);
        org.iommu4j.base.FaultInject.disarm();
        assertThat(f.numIds).isEqualTo(4);
        Iommu.iommuFwspecFree(d);
        assertThat(DevIommu.devIommuFwspecGet(d)).isNull();
        Device e = new Device("e");
        org.iommu4j.base.FaultInject.failNth(1);
        assertThat(Iommu.iommuFwspecInit(e, "node", ops)).isEqualTo(-ENOMEM);
        org.iommu4j.base.FaultInject.failNth(2);
        assertThat(Iommu.iommuFwspecInit(e, "node", ops)).isEqualTo(-ENOMEM);
        org.iommu4j.base.FaultInject.disarm();
    }
}
