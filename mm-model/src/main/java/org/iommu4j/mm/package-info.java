/**
 * mm-model: the CPU side of Shared Virtual Addressing (mm/ and arch/arm64/mm of Linux v5.15).
 *
 * <p>What it can do:
 * <ul>
 *   <li>{@link org.iommu4j.mm.PageAlloc}: pages of simulated RAM, orders, GFP zeroing, fault
 *       injection, leak accounting.</li>
 *   <li>{@link org.iommu4j.mm.Pgtable}: bit-exact VMSAv8-64 stage-1 tables in PhysMem for 4K, 16K
 *       and 64K granules and 25..48-bit VAs; page and block descriptors; release-ordered
 *       updates; atomic clears against hardware AF/DBM updates.</li>
 *   <li>{@link org.iommu4j.mm.Mm} / {@link org.iommu4j.mm.Mmap} / {@link org.iommu4j.mm.MmFault}:
 *       mm_struct lifetime, VMAs, anonymous mmap/munmap/mprotect, exit, demand-zero and
 *       write-protect faults with the zero page, young/dirty as arm64 keeps them.</li>
 *   <li>{@link org.iommu4j.mm.Cpu} / {@link org.iommu4j.mm.Task}: EL0 loads, stores and fetches
 *       through an ASID-tagged TLB and a hardware walker with optional HA/HD; TLBI broadcast on
 *       the board's Interconnect (for an SMMU with BTM).</li>
 *   <li>{@link org.iommu4j.mm.ArmContext}: the arm64 ASID allocator with rollover and pinning.</li>
 *   <li>{@link org.iommu4j.mm.MmuNotifier}: register/unregister, get/put (and the seed 004
 *       privdata variant), invalidate_range_start/end, invalidate_range, release, over SRCU.</li>
 * </ul>
 *
 * <p>What it can't do: file mappings, fork/COW sharing (every anonymous page is exclusive),
 * swap, THP or hugetlb in user mappings (blocks only via __create_pgd_mapping), VMA merging,
 * stack growth, interval notifiers, 52-bit VAs/PAs, a walk cache in the CPU model, the window
 * where an access that already hit the TLB completes after a TLBI on another thread.
 */
package org.iommu4j.mm;
