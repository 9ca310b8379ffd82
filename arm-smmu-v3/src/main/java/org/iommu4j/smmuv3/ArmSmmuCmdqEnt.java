package org.iommu4j.smmuv3;

import org.iommu4j.base.Port;

/**
 * struct arm_smmu_cmdq_ent: a decoded command. The C union's arms are flattened into one field
 * set; each opcode reads only the fields its arm has (see arm_smmu_cmdq_build_cmd).
 */
@Port("drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:arm_smmu_cmdq_ent")
public final class ArmSmmuCmdqEnt {
    public int opcode;
    public boolean substreamValid;

    /* prefetch, cfgi, atc, pri, resume */
    public int sid;
    public int ssid;
    /* cfgi: leaf or span */
    public boolean leaf;
    public int span;
    /* tlbi */
    public int num;
    public int scale;
    public int asid;
    public int vmid;
    public int ttl;
    public int tg;
    public long addr;
    /* atc */
    public int size;
    public boolean global;
    /* pri */
    public int grpid;
    public int resp;
    /* resume */
    public int stag;
    /* sync */
    public long msiaddr;

    public ArmSmmuCmdqEnt() {}

    public ArmSmmuCmdqEnt(int opcode) {
        this.opcode = opcode;
    }

    public ArmSmmuCmdqEnt copy() {
        ArmSmmuCmdqEnt c = new ArmSmmuCmdqEnt(opcode);
        c.substreamValid = substreamValid;
        c.sid = sid;
        c.ssid = ssid;
        c.leaf = leaf;
        c.span = span;
        c.num = num;
        c.scale = scale;
        c.asid = asid;
        c.vmid = vmid;
        c.ttl = ttl;
        c.tg = tg;
        c.addr = addr;
        c.size = size;
        c.global = global;
        c.grpid = grpid;
        c.resp = resp;
        c.stag = stag;
        c.msiaddr = msiaddr;
        return c;
    }
}
