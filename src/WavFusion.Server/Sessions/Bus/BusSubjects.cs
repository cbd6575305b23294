using System.Globalization;
using WavFusion.Api.V1;

namespace WavFusion.Server.Sessions.Bus;

/// <summary>
/// The subject scheme and wire format on NATS (README, "Scaling out"). Every subject starts with the configured prefix
/// and the schema's major version, so replicas of an incompatible release never read each other's bytes:
///
///     {prefix}.v1.session.{session}.started             SessionInfo                (a session opened on a replica)
///     {prefix}.v1.session.{session}.ended               SessionInfo                (it closed; after its summary event)
///     {prefix}.v1.session.{session}.event.{kind}        StreamingRecognizeResponse (kind: interim, final, speech, summary)
///     {prefix}.v1.replica.{replica}.heartbeat           BusHeartbeat               (every heartbeat_seconds: the replica's open sessions)
///     {prefix}.v1.hello                                 (empty)                    (a replica joined or reconnected: heartbeat now)
///
/// Payloads are the proto messages' binary encoding; headers say what they are: <c>wf-schema</c> (1), <c>wf-type</c>
/// (the proto message's full name), <c>wf-replica</c> (the sender) and, on events, <c>wf-seq</c> (the event's number
/// within its session, from 1). No media is ever published: only events and session metadata.
/// </summary>
public sealed class BusSubjects
{
    /// <summary>The bus schema version, in every message's <c>wf-schema</c> header and (as v1) in every subject.</summary>
    public const string SchemaVersion = "1";

    public const string SchemaHeader = "wf-schema";
    public const string TypeHeader = "wf-type";
    public const string ReplicaHeader = "wf-replica";
    public const string SequenceHeader = "wf-seq";

    public BusSubjects(string prefix)
    {
        if (!BusOptions.IsToken(prefix)) throw new ArgumentException($"'{prefix}' is not one subject token", nameof(prefix));
        Root = $"{prefix}.v{SchemaVersion}";
    }

    /// <summary><c>{prefix}.v1</c>: the replicas subscribe to everything under it.</summary>
    public string Root { get; }

    public string All => Root + ".>";

    public string Hello => Root + ".hello";

    /// <summary>Every session's events (what a JetStream stream for retention captures, and analytics consumers filter).</summary>
    public string AllEvents => Root + ".session.*.event.>";

    public string Events(string sessionId) => $"{Root}.session.{sessionId}.event.>";

    /// <summary>Every final result, for a durable analytics consumer.</summary>
    public string AllFinals => Root + ".session.*.event.final";

    public string Started(string sessionId) => $"{Root}.session.{sessionId}.started";

    public string Ended(string sessionId) => $"{Root}.session.{sessionId}.ended";

    public string Event(string sessionId, StreamingRecognizeResponse e) => $"{Root}.session.{sessionId}.event.{Kind(e)}";

    public string Heartbeat(string replicaId) => $"{Root}.replica.{replicaId}.heartbeat";

    /// <summary>The last token of an event's subject: what it is, so consumers can filter without decoding.</summary>
    public static string Kind(StreamingRecognizeResponse e) => e.EventCase switch
    {
        StreamingRecognizeResponse.EventOneofCase.Result => e.Result.IsFinal ? "final" : "interim",
        StreamingRecognizeResponse.EventOneofCase.SpeechEvent => "speech",
        StreamingRecognizeResponse.EventOneofCase.Summary => "summary",
        _ => "other",
    };

    /// <summary>What a received subject is, or null for one this version does not know (ignored, so newer replicas may add subjects).</summary>
    public Parsed? Parse(string subject)
    {
        if (!subject.StartsWith(Root, StringComparison.Ordinal) || subject.Length <= Root.Length || subject[Root.Length] != '.') return null;
        var parts = subject[(Root.Length + 1)..].Split('.');
        return parts switch
        {
            ["hello"] => new Parsed(MessageKind.Hello, ""),
            ["replica", var replica, "heartbeat"] => new Parsed(MessageKind.Heartbeat, replica),
            ["session", var session, "started"] => new Parsed(MessageKind.Started, session),
            ["session", var session, "ended"] => new Parsed(MessageKind.Ended, session),
            ["session", var session, "event", _] => new Parsed(MessageKind.Event, session),
            _ => null,
        };
    }

    public static string Format(ulong sequence) => sequence.ToString(CultureInfo.InvariantCulture);

    public enum MessageKind
    {
        Hello,
        Heartbeat,
        Started,
        Ended,
        Event,
    }

    /// <summary>A subject's kind and its id (the session's, or the replica's for a heartbeat).</summary>
    public sealed record Parsed(MessageKind Kind, string Id);
}
