using Microsoft.Extensions.Logging;
using WavFusion.Server.Sessions.Bus;

namespace WavFusion.Tests.Server.Bus;

/// <summary>What NATS.Net logs through the hub's logger factory: one line per entry unless the category logs at Debug.</summary>
public sealed class OneLineLoggerFactoryTests
{
    private sealed record Entry(LogLevel Level, string Message, Exception? Exception);

    private sealed class Capture(LogLevel minimum) : ILoggerProvider, ILogger
    {
        public List<Entry> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add(new Entry(logLevel, formatter(state, exception), exception));

        public void Dispose()
        {
        }
    }

    private static Exception Refused()
    {
        try
        {
            try { throw new System.Net.Sockets.SocketException(111); }
            catch (Exception inner) { throw new InvalidOperationException("can not connect uris: nats://127.0.0.1:4222", inner); }
        }
        catch (Exception e)
        {
            return e;
        }
    }

    [Fact]
    public void An_exception_becomes_its_innermost_message_on_the_same_line_and_the_stack_trace_stays_for_debug()
    {
        var capture = new Capture(LogLevel.Information);
        using var factory = new OneLineLoggerFactory(LoggerFactory.Create(b => b.AddProvider(capture).SetMinimumLevel(LogLevel.Trace)));
        var log = factory.CreateLogger("NATS.Client.Core.NatsConnection");
        log.LogWarning(Refused(), "Failed to connect NATS {Url}", "nats://127.0.0.1:4222");
        log.LogInformation("Connect succeed");

        Assert.Equal(2, capture.Entries.Count);
        var failed = capture.Entries[0];
        Assert.Equal(LogLevel.Warning, failed.Level);
        Assert.Null(failed.Exception);
        Assert.StartsWith("Failed to connect NATS nats://127.0.0.1:4222 (", failed.Message, StringComparison.Ordinal);
        Assert.Contains(new System.Net.Sockets.SocketException(111).Message, failed.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failed.Message);
        Assert.Equal("Connect succeed", capture.Entries[1].Message);

        var debug = new Capture(LogLevel.Debug);
        using var verbose = new OneLineLoggerFactory(LoggerFactory.Create(b => b.AddProvider(debug).SetMinimumLevel(LogLevel.Trace)));
        verbose.CreateLogger("NATS").LogWarning(Refused(), "Failed to connect");
        Assert.IsType<InvalidOperationException>(Assert.Single(debug.Entries).Exception);
    }
}
