using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using WavFusion.Core.Checkpoints;

namespace WavFusion.Cli;

/// <summary>An option whose value cannot be used; reported with the option's name and exit code 2, like a parse error.</summary>
internal sealed class OptionValueException(string option, string reason) : Exception($"{option}: {reason}")
{
    public string Option { get; } = option;
}

/// <summary>
/// The one place that turns what a command throws into the user's error line: `error: &lt;file or option&gt;: &lt;reason&gt;`
/// on one line of stderr, exit 2 for option values, 1 for files and data that cannot be used, 70 for our own bugs.
/// The trace is printed only with --verbose, since users act on the first line and a trace buries it.
/// </summary>
internal static class CommandErrors
{
    public const int BadOption = 2;
    public const int BadInput = 1;
    public const int Cancelled = 130;
    /// <summary>EX_SOFTWARE (sysexits.h): a bug in this program, not in what the user gave it.</summary>
    public const int InternalError = 70;

    public static Option<bool> Verbose { get; } = new("--verbose")
    {
        Description = "on an error, print the exception's stack trace after the error line",
        Recursive = true,
    };

    /// <summary>Parse errors as one line (System.CommandLine would print them with the whole help text).</summary>
    public static int ReportParseErrors(ParseResult parse, TextWriter stderr)
    {
        stderr.WriteLine($"error: {OneLine(string.Join("; ", parse.Errors.Select(e => e.Message)))}");
        return BadOption;
    }

    public static int Report(Exception exception, bool verbose, TextWriter stderr)
    {
        var e = Unwrap(exception);
        (int code, string message) = e switch
        {
            OperationCanceledException => (Cancelled, "cancelled"),
            OptionValueException => (BadOption, e.Message),
            // A server's refusal: its status and message are what the user acts on.
            Grpc.Core.RpcException rpc => (BadInput, $"server: {rpc.StatusCode}: {rpc.Status.Detail}"),
            CheckpointException or InvalidDataException or IOException or UnauthorizedAccessException or JsonException
                or InvalidOperationException or NotSupportedException => (BadInput, e.Message),
            ArgumentException a => (BadInput, WithoutParameterName(a)),
            // libtorch's errors carry its C++ trace after the first line; the first line is the reason.
            ExternalException => (BadInput, $"libtorch: {FirstLine(e.Message)}"),
            _ => (InternalError, $"internal error ({e.GetType().Name}): {FirstLine(e.Message)}{(verbose ? "" : " (rerun with --verbose for the stack trace)")}"),
        };
        stderr.WriteLine($"error: {OneLine(message)}");
        if (verbose) stderr.WriteLine(exception);
        return code;
    }

    private static Exception Unwrap(Exception e) => e switch
    {
        AggregateException { InnerExceptions.Count: 1 } a => Unwrap(a.InnerExceptions[0]),
        System.Reflection.TargetInvocationException { InnerException: { } inner } => Unwrap(inner),
        _ => e,
    };

    private static string WithoutParameterName(ArgumentException a)
    {
        string suffix = $" (Parameter '{a.ParamName}')";
        return a.ParamName is not null && a.Message.EndsWith(suffix, StringComparison.Ordinal) ? a.Message[..^suffix.Length] : a.Message;
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].TrimEnd('\r');

    private static string OneLine(string message) =>
        string.Join("; ", message.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));
}
