using System.CommandLine;
using WavFusion.Cli.Bench;

namespace WavFusion.Cli.Commands;

/// <summary>`wavfusion bench ...`: speed and memory measurements that print numbers (never asserted in tests).</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure speed and memory (prints numbers; nothing is asserted)");
        command.Subcommands.Add(ModelBenchmark.CreateCommand());
        command.Subcommands.Add(AsrBenchmark.CreateCommand());
        command.Subcommands.Add(TrainBenchmark.CreateCommand());
        command.Subcommands.Add(LiveBenchmark.CreateCommand());
        command.Subcommands.Add(GrpcBenchmark.CreateCommand());
        command.Subcommands.Add(BusBenchmark.CreateCommand());
        return command;
    }
}
