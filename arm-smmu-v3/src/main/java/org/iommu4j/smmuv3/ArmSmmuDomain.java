package org.iommu4j.smmuv3;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.iommu4j.base.Port;

/**
 * struct arm_smmu_domain (v5.15 + seed 000 aux fields). {@code container_of} from the core's
 * domain is a checked cast ({@link ArmSmmuV3#toSmmuDomain}).
 */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_domain")
public class ArmSmmuDomain extends org.iommu4j.iommu.IommuDomain {
    /** Set once at first attach (finalise); protected by init_mutex. */
    public volatile ArmSmmuDevice smmu;
    public final ReentrantLock initMutex = new ReentrantLock();

    /** The io-pgtable ops, null until finalised. */
    public org.iommu4j.iommu.pgtable.IoPgtableOps pgtblOps;
    public boolean stallEnabled;
    public final AtomicInteger nrAtsMasters = new AtomicInteger();

    /** ARM_SMMU_DOMAIN_S1/S2/NESTED/BYPASS. */
    public int stage;
    public ArmSmmuS1Cfg s1Cfg;
    public ArmSmmuS2Cfg s2Cfg;

    /**
     * Masters attached to this domain, newest first (list_add), which is the order CFGI_CD and
     * ATC_INV batches name them in; protected by devices_lock (a spinlock in the kernel).
     */
    public final List<ArmSmmuMaster> devices = new ArrayList<>();
    public final ReentrantLock devicesLock = new ReentrantLock();

    /* Seed 000 (aux domains): the parent domain whose CD table holds our CD, our SSID. */
    public ArmSmmuDomain parent;
    public int ssid;
    public int auxNrDevs;

    /** SVA: the MMU notifiers of the mms bound through this domain. Guarded by sva_lock. */
    public final List<ArmSmmuV3Sva.ArmSmmuMmuNotifier> mmuNotifiers = new ArrayList<>();

}
