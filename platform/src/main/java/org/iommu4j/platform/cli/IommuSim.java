package org.iommu4j.platform.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code iommu-sim} command: the simulated machine's front door. */
@Command(name = "iommu-sim", mixinStandardHelpOptions = true, version = "iommu-sim 0.1.0",
        description = "iommu4j: the Linux IOMMU PASID stack on a simulated Arm machine with an SMMUv3.",
        subcommands = {XrefCommand.class, BootCommand.class, DemoCommand.class, WalkCommand.class, CommandLine.HelpCommand.class})
public final class IommuSim implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Runs the command line and returns the exit code (tests call this). */
    public static int execute(String... args) {
        return new CommandLine(new IommuSim()).execute(args);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }
}
