using Microsoft.Extensions.Logging;

namespace WavFusion.Server.Sessions.Bus;

/// <summary>
/// The loggers NATS.Net writes through. While NATS is unreachable the client logs every reconnect attempt with its
/// exception, and a console logger prints each one as a full stack trace: a replica's log fills with the same trace
/// every few seconds. Through this factory an entry keeps its level and message and gains the exception's innermost
/// message on the same line; the stack trace is kept only when the category logs at Debug.
/// </summary>
internal sealed class OneLineLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new OneLineLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    /// <summary>The inner factory belongs to the host, which disposes it.</summary>
    public void Dispose()
    {
    }

    private sealed class OneLineLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is null || inner.IsEnabled(LogLevel.Debug))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }
            string reason = exception.GetBaseException().Message;
            inner.Log(logLevel, eventId, state, null, (s, _) => $"{formatter(s, exception)} ({reason})");
        }
    }
}
