package org.iommu4j.ioasid;

import org.iommu4j.base.Port;

/**
 * {@code struct ioasid_nb_args}: what an IOASID notifier receives as its data argument.
 *
 * @param id    the system-wide IOASID
 * @param spid  its set-private ID, or INVALID_IOASID
 * @param set   the owning set (null for an ID allocated without a set)
 * @param pdata the private data attached to the IOASID
 */
@Port(value = "include/linux/ioasid.h:ioasid_nb_args", seed = "002")
public record IoasidNbArgs(int id, int spid, IoasidSet set, Object pdata) {}
