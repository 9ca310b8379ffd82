package org.iommu4j.base;

/**
 * The Java image of {@code ERR_PTR(-errno)}: thrown by ported functions that return a pointer in
 * C. Carries the positive errno; {@link #errno()} returns it, {@link #err()} the negative
 * {@code PTR_ERR} value.
 */
@Port("include/linux/err.h:ERR_PTR")
public class ErrnoException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int errno;

    /** @param errno positive or negative errno; stored positive. */
    public ErrnoException(int errno) {
        this(errno, null);
    }

    public ErrnoException(int errno, String message) {
        super(Errno.name(errno) + (message == null ? "" : ": " + message));
        if (errno == 0) {
            throw new IllegalArgumentException("ERR_PTR(0) is not an error");
        }
        this.errno = Math.abs(errno);
    }

    /** The positive errno. */
    public int errno() {
        return errno;
    }

    /** {@code PTR_ERR}: the negative errno. */
    @Port("include/linux/err.h:PTR_ERR")
    public int err() {
        return -errno;
    }
}
