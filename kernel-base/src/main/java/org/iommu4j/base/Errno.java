package org.iommu4j.base;

/**
 * Kernel errno values (include/uapi/asm-generic/errno-base.h, errno.h and the kernel-internal
 * linux/errno.h). Ported functions return {@code -EINVAL} etc. exactly as the kernel does.
 */
@Port("include/uapi/asm-generic/errno-base.h:EPERM")
public final class Errno {
    private Errno() {}

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int E2BIG = 7;
    public static final int ENOEXEC = 8;
    public static final int EBADF = 9;
    public static final int ECHILD = 10;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EXDEV = 18;
    public static final int ENODEV = 19;
    public static final int ENOTDIR = 20;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int ENOTTY = 25;
    public static final int EFBIG = 27;
    public static final int ENOSPC = 28;
    public static final int ESPIPE = 29;
    public static final int EROFS = 30;
    public static final int EPIPE = 32;
    public static final int EDOM = 33;
    public static final int ERANGE = 34;
    public static final int EDEADLK = 35;
    public static final int ENAMETOOLONG = 36;
    public static final int ENOLCK = 37;
    public static final int ENOSYS = 38;
    public static final int ENOTEMPTY = 39;
    public static final int ELOOP = 40;
    public static final int ENOMSG = 42;
    public static final int ENODATA = 61;
    public static final int ETIME = 62;
    public static final int ENOLINK = 67;
    public static final int EPROTO = 71;
    public static final int EBADMSG = 74;
    public static final int EOVERFLOW = 75;
    public static final int EILSEQ = 84;
    public static final int EMSGSIZE = 90;
    public static final int EPROTONOSUPPORT = 93;
    public static final int EOPNOTSUPP = 95;
    public static final int EADDRINUSE = 98;
    public static final int EADDRNOTAVAIL = 99;
    public static final int ENOBUFS = 105;
    public static final int ENOTCONN = 107;
    public static final int ESHUTDOWN = 108;
    public static final int ETIMEDOUT = 110;
    public static final int EALREADY = 114;
    public static final int EINPROGRESS = 115;
    public static final int ECANCELED = 125;
    /* kernel-internal, include/linux/errno.h */
    public static final int ERESTARTSYS = 512;
    public static final int EPROBE_DEFER = 517;
    public static final int ENOTSUPP = 524;

    /** The largest errno an ERR_PTR may carry (include/linux/err.h MAX_ERRNO). */
    public static final int MAX_ERRNO = 4095;

    /** Symbolic name of an errno (positive or negative), e.g. "EINVAL"; "E?%d" if unknown. */
    public static String name(int errno) {
        int e = Math.abs(errno);
        for (var f : Errno.class.getFields()) {
            if (f.getType() == int.class && f.getName().startsWith("E") && !f.getName().equals("MAX_ERRNO")) {
                try {
                    if (f.getInt(null) == e) {
                        return f.getName();
                    }
                } catch (IllegalAccessException ignored) {
                    // public static fields are always accessible
                }
            }
        }
        return "E?" + e;
    }

    /** {@code IS_ERR_VALUE}: true for values in [-MAX_ERRNO, -1]. */
    @Port("include/linux/err.h:IS_ERR_VALUE")
    public static boolean IS_ERR_VALUE(long x) {
        return x < 0 && x >= -MAX_ERRNO;
    }
}
