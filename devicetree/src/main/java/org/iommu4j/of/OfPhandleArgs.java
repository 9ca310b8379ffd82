package org.iommu4j.of;

import java.util.Arrays;
import org.iommu4j.base.Port;

/**
 * {@code struct of_phandle_args}: the node a phandle list entry points at and the argument
 * cells that follow it ({@code iommus = <&smmu 0x10>} gives np = smmu, args_count = 1,
 * args[0] = 0x10). Filled in place by the parsing functions, like the kernel's out-parameter.
 */
@Port("include/linux/of.h:of_phandle_args")
public final class OfPhandleArgs {
    @Port("include/linux/of.h:MAX_PHANDLE_ARGS")
    public static final int MAX_PHANDLE_ARGS = 16;

    public DeviceNode np;
    public int argsCount;
    public final int[] args = new int[MAX_PHANDLE_ARGS];

    public OfPhandleArgs() {}

    /** Builds filled-in args (for tests and callers that construct specifiers). */
    public OfPhandleArgs(DeviceNode np, int... a) {
        if (a.length > MAX_PHANDLE_ARGS) {
            throw new IllegalArgumentException("more than " + MAX_PHANDLE_ARGS + " args");
        }
        this.np = np;
        this.argsCount = a.length;
        System.arraycopy(a, 0, args, 0, a.length);
    }

    /** The used args as a fresh array. */
    public int[] argsCopy() {
        return Arrays.copyOf(args, argsCount);
    }

    @Override
    public String toString() {
        return (np == null ? "null" : np.path()) + Arrays.toString(argsCopy());
    }
}
