package org.iommu4j.mm;

import static org.iommu4j.base.Errno.EFAULT;

import org.iommu4j.base.Port;

/**
 * A user task: an mm running on a CPU. Wraps {@link Cpu} accesses in the kernel's uaccess
 * contract: {@code get_user}/{@code put_user} return 0 or -EFAULT, {@code copy_*_user} return the
 * number of bytes NOT copied; a fault the kernel cannot resolve never escapes as an exception.
 *
 * <p>Threads: use a Task from one thread at a time (it drives its CPU).
 */
public final class Task {
    public final Mm mm;
    private Cpu cpu;

    /** A task owning an mm_users reference on {@code mm} (dropped by {@link #exit}). */
    public Task(Mm mm) {
        this.mm = mm;
    }

    /** Schedules the task on {@code cpu} (context switch to its mm). */
    public Task runOn(Cpu c) {
        if (cpu != null && cpu != c) {
            cpu.switchToIdle();
        }
        cpu = c;
        c.switchMm(mm);
        return this;
    }

    public Cpu cpu() {
        return cpu;
    }

    private Cpu need() {
        if (cpu == null) {
            throw new IllegalStateException("task not running on a CPU");
        }
        return cpu;
    }

    /** Reads {@code size} bytes at {@code va} into {@code out[0]}. Return: 0 or -EFAULT. */
    @Port("arch/arm64/include/asm/uaccess.h:get_user")
    public int getUser(long va, int size, long[] out) {
        try {
            out[0] = need().load(va, size);
            return 0;
        } catch (Cpu.UserFault f) {
            out[0] = 0;
            return -EFAULT;
        }
    }

    /** Writes {@code size} bytes of {@code value} at {@code va}. Return: 0 or -EFAULT. */
    @Port("arch/arm64/include/asm/uaccess.h:put_user")
    public int putUser(long value, long va, int size) {
        try {
            need().store(va, value, size);
            return 0;
        } catch (Cpu.UserFault f) {
            return -EFAULT;
        }
    }

    /** Return: bytes not copied (0 on success). */
    @Port("include/linux/uaccess.h:copy_to_user")
    public long copyToUser(long to, byte[] from, int off, int n) {
        Cpu c = need();
        for (int i = 0; i < n; i++) {
            try {
                c.strb(to + i, from[off + i]);
            } catch (Cpu.UserFault f) {
                return n - i;
            }
        }
        return 0;
    }

    /** Return: bytes not copied (0 on success); the uncopied tail of {@code to} is zeroed. */
    @Port("include/linux/uaccess.h:copy_from_user")
    public long copyFromUser(byte[] to, int off, long from, int n) {
        Cpu c = need();
        for (int i = 0; i < n; i++) {
            try {
                to[off + i] = (byte) c.ldrb(from + i);
            } catch (Cpu.UserFault f) {
                java.util.Arrays.fill(to, off + i, off + n, (byte) 0);
                return n - i;
            }
        }
        return 0;
    }

    /** do_exit's mm part: leaves the CPU and drops the task's mm_users reference. */
    @Port("kernel/exit.c:exit_mm")
    public void exit() {
        if (cpu != null) {
            cpu.switchToIdle();
            cpu = null;
        }
        mm.mmput();
    }
}
