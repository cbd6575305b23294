using System.CommandLine;
using TorchSharp;

namespace WavFusion.Cli.Commands;

/// <summary>`wavfusion info`: the runtime this build uses (libtorch backend, threads, devices).</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Show the libtorch backend, CPU threads and available devices");
        command.SetAction(_ =>
        {
            Console.WriteLine($"TorchSharp      {typeof(torch).Assembly.GetName().Version}");
            Console.WriteLine($"libtorch        {torch.__version__}");
            Console.WriteLine($"CPU threads     {torch.get_num_threads()}");
            Console.WriteLine($"CUDA available  {torch.cuda.is_available()} ({(torch.cuda.is_available() ? torch.cuda.device_count() : 0)} device(s))");
            return 0;
        });
        return command;
    }
}
