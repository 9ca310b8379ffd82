package org.iommu4j.smmuv3;

import org.iommu4j.base.Port;
import org.iommu4j.base.device.Device;

/** struct arm_smmu_master: per-device driver state (seed 000 adds auxd_enabled). */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_master")
public final class ArmSmmuMaster {
    public ArmSmmuDevice smmu;
    public Device dev;
    /** The domain the master's STE points at; guarded by the group mutex in the core. */
    public volatile ArmSmmuDomain domain;
    public ArmSmmuStream[] streams = new ArmSmmuStream[0];
    public int numStreams;
    public volatile boolean atsEnabled;
    public boolean stallEnabled;
    public boolean svaEnabled;
    public boolean iopfEnabled;
    /** Seed 000: auxiliary domains enabled on this master. */
    @Port(value = "drivers/iommu/arm-smmu-v3.c:arm_smmu_master.auxd_enabled", seed = "000")
    public boolean auxdEnabled;
    public int ssidBits;
    /** Seed 004: a PCI master with the PRI capability (on an SMMU with a PRI queue). */
    @Port(value = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_master.pri_supported", seed = "004")
    public boolean priSupported;
    /** Seed 004: its PRG responses must carry the PASID (STE.PPAR). */
    @Port(value = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_master.prg_resp_needs_ssid", seed = "004")
    public boolean prgRespNeedsSsid;
    /** SVA: the master's bonds to mms. Guarded by sva_lock. */
    public final java.util.List<ArmSmmuV3Sva.ArmSmmuBond> bonds = new java.util.ArrayList<>();
}
