package org.iommu4j.sva;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.iommu4j.base.hw.Board;
import org.iommu4j.ioasid.Ioasid;
import org.iommu4j.mm.Mm;
import org.iommu4j.mm.MmWorld;

/**
 * Any sequence of binds (PASID allocations) and unbinds (releases) over a few processes keeps
 * the v5.11-v5.17 rule: a process has a PASID exactly while it has binds, one PASID for all of
 * them, held by as many references, and distinct processes have distinct PASIDs.
 */
class SvaPasidProperties {
    @Property(tries = 200, seed = "20261203")
    void referencesFollowBinds(@ForAll @Size(max = 60) List<@IntRange(min = 0, max = 7) Integer> ops) {
        MmWorld w = MmWorld.create(Board.withRam(16L << 20));
        Ioasid ioasid = new Ioasid();
        IommuSvaLib sva = new IommuSvaLib(ioasid, 3);
        Mm[] mms = {w.mmAlloc(), w.mmAlloc(), w.mmAlloc(), w.mmAlloc()};
        int[] binds = new int[mms.length];
        for (int op : ops) {
            int i = op % mms.length;
            if (op < mms.length) {
                int live = 0;
                for (int b : binds) {
                    live += b > 0 ? 1 : 0;
                }
                int ret = sva.iommuSvaAllocPasid(mms[i], 1, 1000);
                // The set's quota (3) bounds the processes bound at once.
                if (binds[i] == 0 && live == 3) {
                    assertThat(ret).isEqualTo(-org.iommu4j.base.Errno.ENOMEM);
                } else {
                    assertThat(ret).isZero();
                    binds[i]++;
                }
            } else if (binds[i] > 0) {
                sva.iommuSvaFreePasid(mms[i]);
                binds[i]--;
            }
            for (int k = 0; k < mms.length; k++) {
                if (binds[k] == 0) {
                    assertThat(mms[k].pasid).isZero();
                } else {
                    assertThat(ioasid.ioasidRefcount(mms[k].pasid)).isEqualTo(binds[k]);
                    for (int j = 0; j < k; j++) {
                        if (binds[j] > 0) {
                            assertThat(mms[j].pasid).isNotEqualTo(mms[k].pasid);
                        }
                    }
                }
            }
        }
    }
}
