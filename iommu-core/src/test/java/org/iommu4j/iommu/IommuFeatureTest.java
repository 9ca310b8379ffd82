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
        assertThat(Iommu.iommu_dev_has_feature(d, IOMMU_DEV_FEAT_AUX)).isTrue();
        assertThat(Iommu.iommu_dev_feature_enabled(d, IOMMU_DEV_FEAT_AUX)).isFalse();
        assertThat(Iommu.iommu_dev_enable_feature(d, IOMMU_DEV_FEAT_AUX)).isZero();
        assertThat(Iommu.iommu_dev_enable_feature(d, IOMMU_DEV_FEAT_AUX)).isEqualTo(-EBUSY);
        assertThat(Iommu.iommu_dev_feature_enabled(d, IOMMU_DEV_FEAT_AUX)).isTrue();
        assertThat(Iommu.iommu_dev_disable_feature(d, IOMMU_DEV_FEAT_AUX)).isZero();
        assertThat(Iommu.iommu_dev_disable_feature(d, IOMMU_DEV_FEAT_AUX)).isEqualTo(-EINVAL);
        // No IOMMU: false/false/-ENODEV/-EBUSY.
        Device none = new Device("none");
        assertThat(Iommu.iommu_dev_has_feature(none, IOMMU_DEV_FEAT_SVA)).isFalse();
        assertThat(Iommu.iommu_dev_feature_enabled(none, IOMMU_DEV_FEAT_SVA)).isFalse();
        assertThat(Iommu.iommu_dev_enable_feature(none, IOMMU_DEV_FEAT_SVA)).isEqualTo(-ENODEV);
        assertThat(Iommu.iommu_dev_disable_feature(none, IOMMU_DEV_FEAT_SVA)).isEqualTo(-EBUSY);
        // Driver without the ops.
        MinimalOps min = new MinimalOps(w.pageAlloc);
        min.core = w.iommu;
        org.iommu4j.base.device.BusType b2 = new org.iommu4j.base.device.BusType("b2", (x, y) -> false);
        w.iommu.bus_set_iommu(b2, min);
        Device m = new Device("m");
        Iommu.iommu_fwspec_init(m, null, min);
        b2.device_add(m);
        assertThat(Iommu.iommu_dev_has_feature(m, IOMMU_DEV_FEAT_IOPF)).isFalse();
        assertThat(Iommu.iommu_dev_enable_feature(m, IOMMU_DEV_FEAT_IOPF)).isEqualTo(-ENODEV);
        assertThat(Iommu.iommu_dev_disable_feature(m, IOMMU_DEV_FEAT_IOPF)).isEqualTo(-EBUSY);
        assertThat(Iommu.iommu_dev_feature_enabled(m, IOMMU_DEV_FEAT_IOPF)).isFalse();
        IommuDomain md = w.iommu.iommu_domain_alloc(b2);
        assertThat(w.iommu.iommu_aux_attach_device(md, m)).isEqualTo(-ENODEV);
        assertThat(Iommu.iommu_aux_get_pasid(md, m)).isEqualTo(-ENODEV);
        w.iommu.iommu_aux_detach_device(md, m); // NULL op: nothing
        assertThatThrownBy(() -> Iommu.iommu_sva_bind_device(m, new Object(), null))
                .isInstanceOf(ErrnoException.class).extracting(e -> ((ErrnoException) e).err()).isEqualTo(-ENODEV);
        assertThat(Iommu.iommu_sva_get_pasid(new IommuSva(m))).isEqualTo(IOMMU_PASID_INVALID);
    }

    @Test
    void auxDomainsAndSeed001Adapters() {
        World w = new World();
        Device d = w.added("d", 1);
        IommuDomain aux = w.iommu.iommu_domain_alloc(w.bus);
        // AUX not enabled: the driver refuses.
        assertThat(w.iommu.iommu_aux_attach_device(aux, d)).isEqualTo(-EINVAL);
        int[] pasid = {0};
        assertThat(w.iommu.iommu_domain_get_attr(aux, DOMAIN_ATTR_AUXD_ID, pasid)).isEqualTo(-EINVAL);
        // Seed 001: iommu_sva_init_device(dev, IOMMU_SVA_FEAT_AUXD, min, max, NULL) enables AUX.
        assertThat(Iommu.iommu_sva_init_device(d, 1 << 5, 1, 100, null)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommu_sva_init_device(d, IOMMU_SVA_FEAT_AUXD, 1, (1 << 20) - 1, null)).isZero();
        boolean[] out = {false};
        assertThat(Iommu.iommu_get_dev_attr(d, IOMMU_DEV_ATTR_AUXD_ENABLED, out)).isZero();
        assertThat(out[0]).isTrue();
        try (var cap = Trace.capture("iommu:*")) {
            assertThat(w.iommu.iommu_aux_attach_device(aux, d)).isZero();
            assertThat(cap.of("iommu:attach_device_to_domain")).hasSize(1);
            assertThat(Iommu.iommu_aux_get_pasid(aux, d)).isEqualTo(100);
            assertThat(w.iommu.iommu_domain_get_attr(aux, DOMAIN_ATTR_AUXD_ID, pasid)).isZero();
            assertThat(pasid[0]).isEqualTo(100);
            assertThat(w.iommu.iommu_domain_get_attr(aux, 0, pasid)).isEqualTo(-EINVAL);
            // The aux domain sits beside the default domain.
            assertThat(Iommu.iommu_get_domain_for_dev(d)).isNotSameAs(aux);
            w.iommu.iommu_aux_detach_device(aux, d);
            assertThat(cap.of("iommu:detach_device_from_domain")).hasSize(1);
        }
        assertThat(w.iommu.iommu_domain_get_attr(aux, DOMAIN_ATTR_AUXD_ID, pasid)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommu_set_dev_attr(d, IOMMU_DEV_ATTR_AUXD_ENABLED, Boolean.FALSE)).isZero();
        assertThat(Iommu.iommu_set_dev_attr(d, IOMMU_DEV_ATTR_AUXD_CAPABILITY, Boolean.TRUE)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommu_get_dev_attr(d, IOMMU_DEV_ATTR_AUXD_CAPABILITY, out)).isZero();
        assertThat(out[0]).isTrue();
        assertThat(Iommu.iommu_get_dev_attr(d, 7, out)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommu_set_dev_attr(d, IOMMU_DEV_ATTR_AUXD_ENABLED, Boolean.TRUE)).isZero();
        assertThat(Iommu.iommu_sva_shutdown_device(d)).isZero();
        assertThat(Iommu.iommu_dev_feature_enabled(d, IOMMU_DEV_FEAT_AUX)).isFalse();
        assertThat(Iommu.iommu_sva_shutdown_device(d)).isZero();
        w.iommu.iommu_domain_free(aux);
    }

    @Test
    void svaBindWrappers() {
        World w = new World();
        Device d = w.added("d", 1);
        assertThatThrownBy(() -> Iommu.iommu_sva_bind_device(new Device("x"), null, null)).isInstanceOf(ErrnoException.class);
        assertThatThrownBy(() -> Iommu.iommu_sva_bind_device(d, new Object(), null))
                .isInstanceOf(ErrnoException.class).extracting(e -> ((ErrnoException) e).err()).isEqualTo(-ENODEV);
        Iommu.iommu_dev_enable_feature(d, IOMMU_DEV_FEAT_SVA);
        IommuSva h = Iommu.iommu_sva_bind_device(d, new Object(), null);
        assertThat(Iommu.iommu_sva_get_pasid(h)).isEqualTo(42);
        Iommu.iommu_sva_unbind_device(h);
        assertThat(w.mock.log).contains("sva_bind d", "sva_unbind d");
        // Groups of two: -EINVAL.
        w.mock.sharedGroup.add("g1");
        w.mock.sharedGroup.add("g2");
        Device g1 = w.added("g1", 2);
        w.added("g2", 3);
        assertThatThrownBy(() -> Iommu.iommu_sva_bind_device(g1, new Object(), null))
                .isInstanceOf(ErrnoException.class).extracting(e -> ((ErrnoException) e).err()).isEqualTo(-EINVAL);
    }

    @Test
    void seed003DmaPasid() {
        World w = new World();
        Device a = w.dev("a", 1);
        Iommu.dev_iommu_fwspec_get(a).numPasidBits = 8;
        w.iommu.bus_set_iommu(w.bus, w.mock);
        w.bus.device_add(a);
        IommuDomain def = Iommu.iommu_get_domain_for_dev(a);
        int[] pasid = {0};
        assertThat(w.iommu.iommu_attach_dma_pasid(a, pasid)).isZero();
        assertThat(pasid[0]).isBetween(1, 255);
        assertThat(def.pasid).isEqualTo(pasid[0]);
        assertThat(def.pasidUsers).isEqualTo(1);
        assertThat(MockIommu.to_mock_domain(def).pasids).containsEntry(a, pasid[0]);
        assertThat(w.ioasid.ioasid_find(null, pasid[0], null)).isSameAs(a);
        // Second attach on the same domain reuses the PASID.
        int[] again = {0};
        assertThat(w.iommu.iommu_enable_pasid_dma(a, again)).isZero();
        assertThat(again[0]).isEqualTo(pasid[0]);
        assertThat(def.pasidUsers).isEqualTo(2);
        w.iommu.iommu_disable_pasid_dma(a, pasid[0]);
        assertThat(def.pasid).isEqualTo(pasid[0]);
        w.iommu.iommu_detach_dma_pasid(a);
        assertThat(def.pasid).isZero();
        assertThat(w.mock.log).contains("detach_dev_pasid a " + pasid[0]);
        assertThatThrownBy(() -> w.ioasid.ioasid_find(null, pasid[0], null)).isInstanceOf(ErrnoException.class);
    }

    @Test
    void seed003Errors() {
        World w = new World();
        // No domain: -ENODEV.
        assertThat(w.iommu.iommu_attach_dma_pasid(new Device("x"), new int[1])).isEqualTo(-ENODEV);
        // Device without PASID bits: -EINVAL.
        Device np = w.added("np", 1);
        assertThat(w.iommu.iommu_attach_dma_pasid(np, new int[1])).isEqualTo(-EINVAL);
        // UNMANAGED domain: -EPERM.
        Device u = w.dev("u", 2);
        Iommu.dev_iommu_fwspec_get(u).numPasidBits = 4;
        w.bus.device_add(u);
        IommuDomain un = w.iommu.iommu_domain_alloc(w.bus);
        assertThat(w.iommu.iommu_attach_device(un, u)).isZero();
        assertThat(w.iommu.iommu_attach_dma_pasid(u, new int[1])).isEqualTo(-EPERM);
        w.iommu.iommu_detach_device(un, u);
        // Driver failure gives the PASID back.
        w.mock.attachPasidError = -EBUSY;
        assertThat(w.iommu.iommu_attach_dma_pasid(u, new int[1])).isEqualTo(-EBUSY);
        assertThat(Iommu.iommu_get_domain_for_dev(u).pasid).isZero();
        w.mock.attachPasidError = 0;
        // PASID space exhausted: -ENOMEM. (4 bits: 15 PASIDs, all taken.)
        for (int i = 1; i <= 15; i++) {
            assertThat(w.ioasid.ioasid_alloc(null, i, i, null)).isEqualTo(i);
        }
        assertThat(w.iommu.iommu_attach_dma_pasid(u, new int[1])).isEqualTo(-ENOMEM);
        // World without a PASID source: -ENOMEM.
        Iommu bare = new Iommu();
        assertThat(bare.dma()).isNull();
        // Driver without attach_dev_pasid: -ENODEV.
        MinimalOps min = new MinimalOps(w.pageAlloc);
        min.core = w.iommu;
        org.iommu4j.base.device.BusType b2 = new org.iommu4j.base.device.BusType("b2", (x, y) -> false);
        w.iommu.bus_set_iommu(b2, min);
        Device m = new Device("m");
        Iommu.iommu_fwspec_init(m, null, min);
        b2.device_add(m);
        IommuDomain md = w.iommu.iommu_domain_alloc(b2);
        w.iommu.iommu_attach_device(md, m);
        assertThat(w.iommu.iommu_attach_dma_pasid(m, new int[1])).isEqualTo(-ENODEV);
    }

    @Test
    void fwspec() {
        MockIommu ops = new MockIommu(null);
        MinimalOps other = new MinimalOps(null);
        Device d = new Device("d");
        assertThat(Iommu.iommu_fwspec_add_ids(d, new int[] {1}, 1)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommu_fwspec_init(d, "node", ops)).isZero();
        assertThat(Iommu.iommu_fwspec_init(d, "node", ops)).isZero();
        assertThat(Iommu.iommu_fwspec_init(d, "node", other)).isEqualTo(-EINVAL);
        assertThat(Iommu.iommu_fwspec_add_ids(d, new int[] {5}, 1)).isZero();
        assertThat(Iommu.iommu_fwspec_add_ids(d, new int[] {6, 7, 8}, 3)).isZero();
        IommuFwspec f = Iommu.dev_iommu_fwspec_get(d);
        assertThat(f.numIds).isEqualTo(4);
        assertThat(java.util.Arrays.copyOf(f.ids, f.numIds)).containsExactly(5, 6, 7, 8);
        assertThat(f.iommuFwnode).isEqualTo("node");
        assertThat(f.ops).isSameAs(ops);
        org.iommu4j.base.FaultInject.failNth(1);
        assertThat(Iommu.iommu_fwspec_add_ids(d, new int[] {9, 10}, 2)).isEqualTo(-ENOMEM);
        org.iommu4j.base.FaultInject.disarm();
        assertThat(f.numIds).isEqualTo(4);
        Iommu.iommu_fwspec_free(d);
        assertThat(Iommu.dev_iommu_fwspec_get(d)).isNull();
        Device e = new Device("e");
        org.iommu4j.base.FaultInject.failNth(1);
        assertThat(Iommu.iommu_fwspec_init(e, "node", ops)).isEqualTo(-ENOMEM);
        org.iommu4j.base.FaultInject.failNth(2);
        assertThat(Iommu.iommu_fwspec_init(e, "node", ops)).isEqualTo(-ENOMEM);
        org.iommu4j.base.FaultInject.disarm();
    }
}
