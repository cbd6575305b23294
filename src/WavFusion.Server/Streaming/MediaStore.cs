using System.Buffers.Binary;
using System.Globalization;
using WavFusion.Api.V1;

namespace WavFusion.Server.Streaming;

/// <summary>
/// Keeps received media when retention.store_media says so (off by default: DESIGN.md §6): each stream's audio as
/// sent (a WAV of its interleaved channels at its rate) and its JPEG frames, in
/// <c>media_folder/yyyy-MM-dd/session-id/</c>; folders older than retention.media_days are deleted at start and hourly.
/// </summary>
public sealed class MediaStore(string folder, int days, TimeProvider time)
{
    public string Folder { get; } = folder;

    public Recording Begin(string sessionId, StreamPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        string day = time.GetUtcNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var dir = Directory.CreateDirectory(Path.Combine(Folder, day, sessionId)).FullName;
        return new Recording(dir, plan);
    }

    /// <summary>Deletes the day folders older than the retention period; returns how many it deleted.</summary>
    public int Sweep()
    {
        if (days <= 0 || !Directory.Exists(Folder)) return 0;
        var oldest = time.GetUtcNow().UtcDateTime.Date.AddDays(-days);
        int deleted = 0;
        foreach (var dir in Directory.GetDirectories(Folder))
        {
            if (!DateTime.TryParseExact(Path.GetFileName(dir), "yyyy-MM-dd", CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var date) || date >= oldest) continue;
            Directory.Delete(dir, recursive: true);
            deleted++;
        }
        return deleted;
    }

    /// <summary>One stream's stored media; the WAV header is completed when it is disposed.</summary>
    public sealed class Recording : IDisposable
    {
        private const int HeaderBytes = 44;
        private readonly FileStream _audio;
        private readonly string _dir;
        private long _dataBytes;
        private int _frames;

        internal Recording(string dir, StreamPlan plan)
        {
            _dir = dir;
            _audio = new FileStream(Path.Combine(dir, "audio.wav"), FileMode.Create, FileAccess.Write, FileShare.Read);
            _audio.Write(Header(plan, 0));
            Plan = plan;
        }

        private StreamPlan Plan { get; }

        public void Audio(ReadOnlySpan<byte> interleaved)
        {
            _audio.Write(interleaved);
            _dataBytes += interleaved.Length;
        }

        public void Frame(byte[] jpeg, long offsetMs)
        {
            ArgumentNullException.ThrowIfNull(jpeg);
            File.WriteAllBytes(Path.Combine(_dir, string.Create(CultureInfo.InvariantCulture, $"frame-{_frames++:D6}-{offsetMs}ms.jpg")), jpeg);
        }

        public void Dispose()
        {
            _audio.Position = 0;
            _audio.Write(Header(Plan, _dataBytes));
            _audio.Dispose();
        }

        private static byte[] Header(StreamPlan plan, long dataBytes)
        {
            var h = new byte[HeaderBytes];
            uint data = (uint)Math.Min(dataBytes, uint.MaxValue - HeaderBytes);
            "RIFF"u8.CopyTo(h);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), data + HeaderBytes - 8);
            "WAVEfmt "u8.CopyTo(h.AsSpan(8));
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), 16);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(20), (ushort)(plan.Encoding == AudioFormat.Types.Encoding.Float32 ? 3 : 1));
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(22), (ushort)plan.Channels);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(24), (uint)plan.SampleRate);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(28), (uint)(plan.SampleRate * plan.BytesPerFrame));
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(32), (ushort)plan.BytesPerFrame);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(34), (ushort)(plan.BytesPerSample * 8));
            "data"u8.CopyTo(h.AsSpan(36));
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(40), data);
            return h;
        }
    }
}
