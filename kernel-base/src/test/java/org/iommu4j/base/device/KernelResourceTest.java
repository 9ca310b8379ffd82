package org.iommu4j.base.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.iommu4j.base.Errno.EBUSY;
import static org.iommu4j.base.Errno.EINVAL;
import static org.iommu4j.base.device.KernelResource.*;
import static org.iommu4j.base.device.Resource.*;

import org.junit.jupiter.api.Test;

/** kernel/resource.c's tree: first fit in address order, alignment, bounds, collisions; and %pR. */
class KernelResourceTest {
    final Resource window = new Resource("win", 0x1000_0000L, 0x3efe_ffffL, IORESOURCE_MEM);

    private Resource bar(long size, long flags) {
        return new Resource("bar", 0, size - 1, flags | IORESOURCE_SIZEALIGN);
    }

    @Test
    void allocationsTakeTheFirstAlignedGapInAddressOrder() {
        Resource a = bar(0x1000, IORESOURCE_MEM);
        Resource b = bar(0x4000, IORESOURCE_MEM);
        Resource c = bar(0x1000, IORESOURCE_MEM);
        assertThat(allocateResource(window, a, 0x1000, 0, -1L, 0x1000, null, null)).isZero();
        assertThat(allocateResource(window, b, 0x4000, 0, -1L, 0x4000, null, null)).isZero();
        assertThat(allocateResource(window, c, 0x1000, 0, -1L, 0x1000, null, null)).isZero();
        assertThat(a.start).isEqualTo(0x1000_0000L);
        assertThat(b.start).isEqualTo(0x1000_4000L);      // aligned past a
        assertThat(c.start).isEqualTo(0x1000_1000L);      // the gap a and b left
        assertThat(c.end).isEqualTo(0x1000_1fffL);
        assertThat(window.child).isSameAs(a);
        assertThat(a.sibling).isSameAs(c);
        assertThat(c.sibling).isSameAs(b);
        assertThat(b.parent).isSameAs(window);
    }

    @Test
    void minMaxAndAlignfBoundTheSearch() {
        Resource io = new Resource("io", 0, 0xffff, IORESOURCE_IO);
        Resource a = bar(0x80, IORESOURCE_IO);
        assertThat(allocateResource(io, a, 0x80, 0x1000, 0xffff, 0x80, null, null)).isZero();
        assertThat(a.start).isEqualTo(0x1000);
        Resource b = bar(0x20, IORESOURCE_IO);
        assertThat(allocateResource(io, b, 0x20, 0x1000, 0xffff, 0x20, (d, avail, size, al) -> avail.start + 0x100, null))
                .isZero();
        assertThat(b.start).isEqualTo(0x1180);
        Resource big = bar(0x10000, IORESOURCE_IO);
        assertThat(allocateResource(io, big, 0x10000, 0x1000, 0xffff, 0x10000, null, null)).isEqualTo(-EBUSY);
        assertThat(big.parent).isNull();
        Resource high = bar(0x1000, IORESOURCE_MEM);
        assertThat(allocateResource(window, high, 0x1000, 0, 0x0fff_ffffL, 0x1000, null, null)).isEqualTo(-EBUSY);
    }

    @Test
    void requestAndReleaseKeepTheTreeConsistent() {
        Resource a = new Resource("a", 0x1000_0000L, 0x1000_0fffL, IORESOURCE_MEM);
        Resource overlap = new Resource("o", 0x1000_0800L, 0x1000_17ffL, IORESOURCE_MEM);
        Resource outside = new Resource("x", 0x0fff_f000L, 0x1000_0fffL, IORESOURCE_MEM);
        assertThat(requestResource(window, a)).isZero();
        assertThat(requestResource(window, overlap)).isEqualTo(-EBUSY);
        assertThat(requestResource(window, outside)).isEqualTo(-EBUSY);
        assertThat(overlap.parent).isNull();
        assertThat(releaseResource(a)).isZero();
        assertThat(window.child).isNull();
        assertThat(releaseResource(a)).isEqualTo(-EINVAL);
        assertThat(requestResource(window, overlap)).isZero();
    }

    @Test
    void alignmentFollowsTheFlags() {
        assertThat(resourceAlignment(bar(0x4000, IORESOURCE_MEM))).isEqualTo(0x4000);
        assertThat(resourceAlignment(new Resource("w", 0x100000, 0x1fffff, IORESOURCE_MEM | IORESOURCE_STARTALIGN)))
                .isEqualTo(0x100000);
        assertThat(resourceAlignment(new Resource("w", 0, 0xfff, IORESOURCE_MEM))).isZero();
    }

    @Test
    void percentPRPrintsAsTheKernel() {
        assertThat(resourceString(new Resource("b", 0, 0x1f, IORESOURCE_IO))).isEqualTo("[io  0x0000-0x001f]");
        assertThat(resourceString(new Resource("b", 0, 0xfff, IORESOURCE_MEM))).isEqualTo("[mem 0x00000000-0x00000fff]");
        assertThat(resourceString(new Resource("b", 0x80_0000_0000L, 0x80_0000_3fffL,
                IORESOURCE_MEM | IORESOURCE_MEM_64 | IORESOURCE_PREFETCH)))
                .isEqualTo("[mem 0x8000000000-0x8000003fff 64bit pref]");
        assertThat(resourceString(new Resource("b", 0, 0xff, IORESOURCE_BUS))).isEqualTo("[bus 00-ff]");
        assertThat(resourceString(new Resource("b", 0x10, 0xfff, IORESOURCE_MEM | IORESOURCE_UNSET)))
                .isEqualTo("[mem size 0x00000ff0]");
        assertThat(resourceString(new Resource("b", 5, 5, IORESOURCE_IRQ))).isEqualTo("[irq 5]");
        assertThat(resourceString(new Resource("b", 1, 2, 0))).isEqualTo("[??? 0x00000001-0x00000002 flags 0x0]");
    }

    /**
     * __request_region descends through non-busy resources (window, then the BAR) and hangs a
     * busy one there; a second claim of the range collides with it; __release_region takes it
     * out again, and releasing it twice only logs.
     */
    @Test
    void regionsGoBelowTheBarTheyFallInAndCollideWhileHeld() {
        Resource b = bar(0x4000, IORESOURCE_MEM);
        assertThat(allocateResource(window, b, 0x4000, 0, -1L, 0x4000, null, null)).isZero();
        Resource r = __requestRegion(window, b.start, 0x4000, "virtio-pci-modern", 0);
        assertThat(r).isNotNull();
        assertThat(r.parent).isSameAs(b);
        assertThat(b.child).isSameAs(r);
        assertThat(r.flags).isEqualTo(IORESOURCE_MEM | IORESOURCE_BUSY);
        assertThat(r.name).isEqualTo("virtio-pci-modern");
        assertThat(__requestRegion(window, b.start + 0x1000, 0x1000, "other", 0)).isNull();
        // a range straddling the BAR's end does not fit in it: it collides with the BAR itself
        assertThat(__requestRegion(window, b.start + 0x3000, 0x2000, "other", 0)).isNull();
        __releaseRegion(window, b.start, 0x4000);
        assertThat(b.child).isNull();
        assertThat(r.parent).isNull();
        java.util.List<String> log = new java.util.ArrayList<>();
        try (AutoCloseable follow = org.iommu4j.base.Printk.follow(l -> log.add(l.text()))) {
            __releaseRegion(window, b.start, 0x4000);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        assertThat(log).containsExactly("Trying to free nonexistent resource <0x0000000010000000-0x0000000010003fff>");
        assertThat(__requestRegion(window, b.start + 0x1000, 0x1000, "other", 0)).isNotNull();
    }
}
