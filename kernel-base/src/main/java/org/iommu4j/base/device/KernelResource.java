package org.iommu4j.base.device;

import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.device.Resource.*;

import org.iommu4j.base.Port;

/**
 * kernel/resource.c (v5.15), the resource-tree part a bus uses to hand out address space:
 * claiming a range under a parent ({@link #requestResource}), releasing it, and finding a free,
 * aligned range for a new resource ({@link #allocateResource}); plus lib/vsprintf.c's
 * {@code %pR} ({@link #resourceString}). The roots are whatever the caller owns (a host
 * bridge's windows), not the kernel's global {@code iomem_resource}.
 *
 * <p>Locking: {@code resource_lock} (a rwlock in the kernel) is this class's monitor; it guards
 * every tree's parent/child/sibling links.
 */
public final class KernelResource {
    private KernelResource() {}

    /** {@code resource_lock}. */
    private static final Object resource_lock = new Object();

    /** The caller's alignment hook ({@code alignf}): where in {@code avail} the range may start. */
    @FunctionalInterface
    public interface AlignF {
        long align(Object data, Resource avail, long size, long align);
    }

    @Port("kernel/resource.c:resource_constraint")
    private record ResourceConstraint(long min, long max, long align, AlignF alignf, Object alignfData) {}

    @Port("include/linux/ioport.h:resource_contains")
    public static boolean resourceContains(Resource r1, Resource r2) {
        if (r1.type() != r2.type()) {
            return false;
        }
        if ((r1.flags & IORESOURCE_UNSET) != 0 || (r2.flags & IORESOURCE_UNSET) != 0) {
            return false;
        }
        return Long.compareUnsigned(r1.start, r2.start) <= 0 && Long.compareUnsigned(r1.end, r2.end) >= 0;
    }

    /** Links {@code new_} under {@code root}; returns null, or the child it collides with (or root). */
    @Port("kernel/resource.c:__request_resource")
    private static Resource __requestResource(Resource root, Resource new_) {
        long start = new_.start;
        long end = new_.end;
        if (Long.compareUnsigned(end, start) < 0) {
            return root;
        }
        if (Long.compareUnsigned(start, root.start) < 0) {
            return root;
        }
        if (Long.compareUnsigned(end, root.end) > 0) {
            return root;
        }
        Resource prev = null; // null: the link is root.child
        for (;;) {
            Resource tmp = prev == null ? root.child : prev.sibling;
            if (tmp == null || Long.compareUnsigned(tmp.start, end) > 0) {
                new_.sibling = tmp;
                if (prev == null) {
                    root.child = new_;
                } else {
                    prev.sibling = new_;
                }
                new_.parent = root;
                return null;
            }
            prev = tmp;
            if (Long.compareUnsigned(tmp.end, start) < 0) {
                continue;
            }
            return tmp;
        }
    }

    /** Claims {@code new_}'s range under {@code root}: 0, or -EBUSY if it does not fit or collides. */
    @Port("kernel/resource.c:request_resource")
    public static int requestResource(Resource root, Resource new_) {
        Resource conflict;
        synchronized (resource_lock) {
            conflict = __requestResource(root, new_);
        }
        return conflict != null ? -EBUSY : 0;
    }

    @Port("kernel/resource.c:__release_resource")
    private static int __releaseResource(Resource old) {
        Resource parent = old.parent;
        if (parent == null) {
            return -EINVAL;
        }
        Resource prev = null;
        for (Resource tmp = parent.child; tmp != null; prev = tmp, tmp = tmp.sibling) {
            if (tmp == old) {
                // v5.15 with release_child = true: the children go with it
                if (prev == null) {
                    parent.child = tmp.sibling;
                } else {
                    prev.sibling = tmp.sibling;
                }
                old.parent = null;
                return 0;
            }
        }
        return -EINVAL;
    }

    /** Unlinks {@code old} from its tree: 0, or -EINVAL if it is not in one. */
    @Port("kernel/resource.c:release_resource")
    public static int releaseResource(Resource old) {
        synchronized (resource_lock) {
            return __releaseResource(old);
        }
    }

    /**
     * Claims [start, start + n - 1] for a driver ({@code request_region} and
     * {@code request_mem_region} with {@code parent} the root): a new IORESOURCE_BUSY resource
     * of the parent's type, put as deep in the tree as it goes (a range inside a non-busy
     * resource, a BAR inside a bridge window, goes below it). The new resource, or null when the
     * range collides with a busy one or does not fit (the kernel's "Uhhuh, that didn't work
     * out"). IORESOURCE_MUXED waiting and the iomem revocation are not modelled.
     */
    @Port("kernel/resource.c:__request_region")
    public static Resource __requestRegion(Resource parent, long start, long n, String name, long flags) {
        Resource res = new Resource(name, start, start + n - 1, 0);
        synchronized (resource_lock) {
            // __request_region_locked
            for (;;) {
                res.flags = parent.type() | IORESOURCE_BUSY | flags;
                Resource conflict = __requestResource(parent, res);
                if (conflict == null) {
                    return res;
                }
                if (conflict != parent && (conflict.flags & IORESOURCE_BUSY) == 0) {
                    parent = conflict;
                    continue;
                }
                return null;
            }
        }
    }

    /**
     * Gives back a range {@link #__requestRegion} claimed: the busy resource of exactly that
     * range, found by descending through the non-busy ones holding it, leaves the tree. Releasing
     * a range nobody holds logs "Trying to free nonexistent resource" and changes nothing.
     */
    @Port("kernel/resource.c:__release_region")
    public static void __releaseRegion(Resource parent, long start, long n) {
        long end = start + n - 1;
        synchronized (resource_lock) {
            Resource prev = null; // null: the link is parent.child
            Resource res = parent.child;
            while (res != null) {
                if (Long.compareUnsigned(res.start, start) <= 0 && Long.compareUnsigned(res.end, end) >= 0) {
                    if ((res.flags & IORESOURCE_BUSY) == 0) {
                        parent = res;
                        prev = null;
                        res = res.child;
                        continue;
                    }
                    if (res.start != start || res.end != end) {
                        break;
                    }
                    if (prev == null) {
                        parent.child = res.sibling;
                    } else {
                        prev.sibling = res.sibling;
                    }
                    res.parent = null;
                    return;
                }
                prev = res;
                res = res.sibling;
            }
        }
        org.iommu4j.base.Printk.prWarn("Trying to free nonexistent resource <%#018x-%#018x>", start, end);
    }

    @Port("kernel/resource.c:simple_align_resource")
    private static long simpleAlignResource(Object data, Resource avail, long size, long align) {
        return avail.start;
    }

    @Port("kernel/resource.c:resource_clip")
    private static void resourceClip(Resource res, long min, long max) {
        if (Long.compareUnsigned(res.start, min) < 0) {
            res.start = min;
        }
        if (Long.compareUnsigned(res.end, max) > 0) {
            res.end = max;
        }
    }

    /** {@code ALIGN(x, a)} for a power-of-two {@code a}; wraps as C does. */
    private static long ALIGN(long x, long a) {
        return (x + a - 1) & -a;
    }

    /**
     * Finds the first gap among {@code root}'s children (in address order) that, clipped to the
     * constraint's [min, max] and aligned, holds {@code size} bytes; sets {@code new_}'s range.
     */
    @Port("kernel/resource.c:__find_resource")
    private static int __findResource(Resource root, Resource old, Resource new_, long size, ResourceConstraint c) {
        Resource this_ = root.child;
        Resource tmp = new Resource(new_.name, root.start, 0, new_.flags);
        // a child at root's very start: begin after it (this->start - 1 would underflow)
        if (this_ != null && this_.start == root.start) {
            tmp.start = this_ == old ? old.start : this_.end + 1;
            this_ = this_.sibling;
        }
        for (;;) {
            tmp.end = this_ != null ? (this_ == old ? this_.end : this_.start - 1) : root.end;
            if (Long.compareUnsigned(tmp.end, tmp.start) >= 0) {
                resourceClip(tmp, c.min(), c.max());
                // an ALIGN that wrapped past 2^64 leaves avail.start below tmp.start
                Resource avail = new Resource(null, ALIGN(tmp.start, c.align()), tmp.end, new_.flags & ~IORESOURCE_UNSET);
                if (Long.compareUnsigned(avail.start, tmp.start) >= 0) {
                    long s = c.alignf().align(c.alignfData(), avail, size, c.align());
                    Resource alloc = new Resource(null, s, s + size - 1, avail.flags);
                    if (Long.compareUnsigned(alloc.start, alloc.end) <= 0 && resourceContains(avail, alloc)) {
                        new_.start = alloc.start;
                        new_.end = alloc.end;
                        return 0;
                    }
                }
            }
            if (this_ == null || this_.end == root.end) {
                break;
            }
            if (this_ != old) {
                tmp.start = this_.end + 1;
            }
            this_ = this_.sibling;
        }
        return -EBUSY;
    }

    @Port("kernel/resource.c:find_resource")
    private static int findResource(Resource root, Resource new_, long size, ResourceConstraint c) {
        return __findResource(root, null, new_, size, c);
    }

    /**
     * Allocates a range of {@code size} bytes for {@code new_} under {@code root}, between
     * {@code min} and {@code max}, starting at a multiple of {@code align} (a power of two) as
     * {@code alignf} (null: as is) adjusts it: the first fit in address order. 0, or -EBUSY when
     * nothing fits. A resource already in a tree is not moved here (v5.15 reallocates it; no
     * caller of this port does that): -EBUSY.
     */
    @Port("kernel/resource.c:allocate_resource")
    public static int allocateResource(Resource root, Resource new_, long size, long min, long max, long align,
                                        AlignF alignf, Object alignfData) {
        if (alignf == null) {
            alignf = KernelResource::simpleAlignResource;
        }
        ResourceConstraint constraint = new ResourceConstraint(min, max, align, alignf, alignfData);
        if (new_.parent != null) {
            return -EBUSY;
        }
        synchronized (resource_lock) {
            int err = findResource(root, new_, size, constraint);
            if (err >= 0 && __requestResource(root, new_) != null) {
                err = -EBUSY;
            }
            return err;
        }
    }

    /** The alignment a resource needs: its size, its start, or 0 (unknown), as its flags say. */
    @Port("kernel/resource.c:resource_alignment")
    public static long resourceAlignment(Resource res) {
        long f = res.flags & (IORESOURCE_SIZEALIGN | IORESOURCE_STARTALIGN);
        if (f == IORESOURCE_SIZEALIGN) {
            return res.resourceSize();
        }
        if (f == IORESOURCE_STARTALIGN) {
            return res.start;
        }
        return 0;
    }

    /* ---------------- lib/vsprintf.c: %pR ---------------- */

    /** {@code IO_RSRC_PRINTK_SIZE} and {@code MEM_RSRC_PRINTK_SIZE}: field widths with the "0x". */
    private static final int IO_RSRC_PRINTK_SIZE = 6;
    private static final int MEM_RSRC_PRINTK_SIZE = 10;

    /**
     * {@code %pR}: "[mem 0x10000000-0x10000fff 64bit pref]" — the type, the range (or "size N"
     * while IORESOURCE_UNSET), then the decoded flags; a one-address range prints once.
     */
    @Port("lib/vsprintf.c:resource_string")
    public static String resourceString(Resource res) {
        if (res == null) {
            return "(null)";
        }
        StringBuilder p = new StringBuilder("[");
        int width;
        boolean decode = true;
        boolean hex = true;
        if ((res.flags & IORESOURCE_IO) != 0) {
            p.append("io  ");
            width = IO_RSRC_PRINTK_SIZE;
        } else if ((res.flags & IORESOURCE_MEM) != 0) {
            p.append("mem ");
            width = MEM_RSRC_PRINTK_SIZE;
        } else if ((res.flags & IORESOURCE_IRQ) != 0) {
            p.append("irq ");
            width = 0;
            hex = false;
        } else if ((res.flags & IORESOURCE_DMA) != 0) {
            p.append("dma ");
            width = 0;
            hex = false;
        } else if ((res.flags & IORESOURCE_BUS) != 0) {
            p.append("bus ");
            width = -2; // two hex digits, no "0x"
        } else {
            p.append("??? ");
            width = MEM_RSRC_PRINTK_SIZE;
            decode = false;
        }
        if (decode && (res.flags & IORESOURCE_UNSET) != 0) {
            p.append("size ").append(number(res.resourceSize(), width, hex));
        } else {
            p.append(number(res.start, width, hex));
            if (res.start != res.end) {
                p.append('-').append(number(res.end, width, hex));
            }
        }
        if (decode) {
            if ((res.flags & IORESOURCE_MEM_64) != 0) {
                p.append(" 64bit");
            }
            if ((res.flags & IORESOURCE_PREFETCH) != 0) {
                p.append(" pref");
            }
            if ((res.flags & IORESOURCE_WINDOW) != 0) {
                p.append(" window");
            }
            if ((res.flags & IORESOURCE_DISABLED) != 0) {
                p.append(" disabled");
            }
        } else {
            p.append(" flags ").append(String.format("%#x", res.flags));
        }
        return p.append(']').toString();
    }

    /** vsprintf's number(): "0x" and zero padding to the field width (SPECIAL|SMALL|ZEROPAD). */
    private static String number(long v, int width, boolean hex) {
        if (!hex) {
            return Long.toUnsignedString(v);
        }
        String digits = Long.toHexString(v);
        if (width < 0) {
            return "0".repeat(Math.max(0, -width - digits.length())) + digits;
        }
        return "0x" + "0".repeat(Math.max(0, width - 2 - digits.length())) + digits;
    }
}
