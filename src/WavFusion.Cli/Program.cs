using System.CommandLine;
using WavFusion.Cli;
using WavFusion.Cli.Commands;
using WavFusion.Core.Runtime;

// Before libtorch loads: its OpenMP threads spin only briefly, since other work shares the cores (see OpenMpWaitPolicy).
OpenMpWaitPolicy.PreferShortSpin();
// libtorch's activations come from malloc: keep freed memory for the next forward instead of re-faulting it (see NativeMemoryPolicy).
NativeMemoryPolicy.RetainFreedMemory();

var root = new RootCommand("WavFusion.Live — real-time multimodal emotion recognition (wav2vec 2.0 + gated cross-modal attention)");
// One line per command group; each group lives in Commands/<Name>Command.cs.
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(LiveCommand.Create());
root.Subcommands.Add(TranscribeCommand.Create());
root.Subcommands.Add(SynthCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(ClientCommand.Create());

root.Options.Add(CommandErrors.Verbose);

var parse = root.Parse(args);
if (parse.Errors.Count > 0) return CommandErrors.ReportParseErrors(parse, Console.Error);
try
{
    // Exceptions reach the handler below, so every command reports errors the same way.
    // `serve` shuts down gracefully on SIGTERM within its configured grace period, through the host's own signal
    // handling; every other command gets System.CommandLine's cancellation (and its 2 s limit) on Ctrl+C.
    var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
    if (parse.CommandResult.Command.Name == ServeCommand.Name) invocation.ProcessTerminationTimeout = null;
    return await parse.InvokeAsync(invocation).ConfigureAwait(false);
}
catch (Exception e)
{
    return CommandErrors.Report(e, parse.GetValue(CommandErrors.Verbose), Console.Error);
}
