using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using WavFusion.Api.V1;

namespace WavFusion.Client;

/// <summary>How to stream a media file: its channels and their roles, the rate and chunk length sent, pacing, and video.</summary>
public sealed record MediaFeedOptions
{
    /// <summary>Interleaved channels sent (ffmpeg mixes the file to this many).</summary>
    public int Channels { get; init; } = 1;

    /// <summary>Each channel's role, in channel order; empty for a mono stream that takes the server's default role.</summary>
    public IReadOnlyList<ChannelRole.Types.Role> Roles { get; init; } = [];

    /// <summary>Rate the audio is sent at (LINEAR16); the server resamples whatever it gets.</summary>
    public int SampleRate { get; init; } = 16_000;

    /// <summary>Audio per message.</summary>
    public int ChunkMs { get; init; } = 100;

    /// <summary>Send each chunk when its audio would have been captured, at this multiple of real time; 0 sends as fast as the server takes it.</summary>
    public double Speed { get; init; } = 1.0;

    /// <summary>A video file whose frames are sent as JPEG beside the audio (often the same file).</summary>
    public string? Video { get; init; }

    /// <summary>Video frames per second sent.</summary>
    public double VideoFps { get; init; } = 5;

    public string Label { get; init; } = "";

    public bool InterimResults { get; init; }

    /// <summary>The stream's config for these choices.</summary>
    public StreamConfig Config()
    {
        var config = new StreamConfig
        {
            SessionLabel = Label,
            AudioFormat = new AudioFormat
            {
                Encoding = AudioFormat.Types.Encoding.Linear16,
                SampleRateHz = (uint)SampleRate,
                ChannelCount = (uint)Channels,
            },
            InterimResults = InterimResults,
            SendVideo = Video is not null,
        };
        config.Channels.AddRange(Roles.Select((role, c) => new ChannelRole { Channel = (uint)c, Role = role }));
        return config;
    }
}

/// <summary>
/// A media file as the messages of a stream: ffmpeg decodes the audio to interleaved LINEAR16 at the chosen rate
/// and channel count, and the video (if any) to JPEG frames at the chosen rate; each frame goes before the audio
/// chunk that reaches its time, and with pacing each chunk leaves when its audio would have been captured.
/// </summary>
public static class MediaFeed
{
    public static async IAsyncEnumerable<StreamingRecognizeRequest> FromFile(string path, MediaFeedOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: media file not found", path);
        if (options.Video is not null && !File.Exists(options.Video)) throw new FileNotFoundException($"{options.Video}: video file not found", options.Video);
        using var audio = Ffmpeg(path, "-vn", "-ac", Invariant(options.Channels), "-ar", Invariant(options.SampleRate), "-f", "s16le", "-");
        using var video = options.Video is null ? null
            : Ffmpeg(options.Video, "-an", "-vf", $"fps={Invariant(options.VideoFps)}", "-f", "image2pipe", "-c:v", "mjpeg", "-q:v", "5", "-");
        var frames = video is null ? null : new JpegStream(video.Output);
        byte[]? nextFrame = frames is null ? null : await frames.NextAsync(cancellationToken).ConfigureAwait(false);
        long frameIndex = 0;

        int frameBytes = options.Channels * 2;
        var buffer = new byte[frameBytes * (options.SampleRate * options.ChunkMs / 1000)];
        var clock = Stopwatch.StartNew();
        long sentFrames = 0;
        var stdout = audio.Output;
        while (true)
        {
            int read = await stdout.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            read -= read % frameBytes;
            if (read == 0) break;
            long chunkEndMs = (sentFrames + read / frameBytes) * 1000 / options.SampleRate;
            while (nextFrame is not null && frameIndex * 1000 / options.VideoFps < chunkEndMs)
            {
                yield return new StreamingRecognizeRequest
                {
                    Frame = new VideoFrame { Jpeg = ByteString.CopyFrom(nextFrame), OffsetMs = (long)(frameIndex * 1000 / options.VideoFps) },
                };
                frameIndex++;
                nextFrame = await frames!.NextAsync(cancellationToken).ConfigureAwait(false);
            }
            if (options.Speed > 0)
            {
                // Chunk k leaves when its last sample would have been captured, on one clock, so waits do not add up.
                var due = TimeSpan.FromMilliseconds(chunkEndMs / options.Speed);
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
            yield return new StreamingRecognizeRequest { Audio = new AudioChunk { Data = ByteString.CopyFrom(buffer, 0, read) } };
            sentFrames += read / frameBytes;
            if (read < buffer.Length) break;
        }
        if (sentFrames == 0)
            throw new InvalidDataException($"{path}: no audio decoded ({(await audio.Errors.ConfigureAwait(false)).Trim()})");
    }

    private static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static FfmpegProcess Ffmpeg(string input, params string[] output) => new(input, output);

    /// <summary>An ffmpeg decoding to its stdout; its stderr is collected meanwhile (a full pipe would stall it); killed when disposed early.</summary>
    private sealed class FfmpegProcess : IDisposable
    {
        private readonly Process _process;

        public FfmpegProcess(string input, string[] output)
        {
            var psi = new ProcessStartInfo("ffmpeg")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { "-nostdin", "-hide_banner", "-loglevel", "error", "-i", input }.Concat(output)) psi.ArgumentList.Add(a);
            try
            {
                _process = Process.Start(psi) ?? throw new InvalidOperationException($"{input}: ffmpeg did not start");
            }
            catch (Win32Exception e)
            {
                throw new InvalidOperationException($"{input}: decoding needs ffmpeg on PATH: {e.Message}", e);
            }
            Errors = _process.StandardError.ReadToEndAsync();
        }

        public Stream Output => _process.StandardOutput.BaseStream;

        public Task<string> Errors { get; }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited) _process.Kill();
            }
            catch (InvalidOperationException)
            {
                // It exited between the check and the kill.
            }
            _process.Dispose();
        }
    }

    /// <summary>JPEG images back to back (ffmpeg's image2pipe of mjpeg), split at their end-of-image markers.</summary>
    private sealed class JpegStream(Stream stream)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        public async Task<byte[]?> NextAsync(CancellationToken cancellationToken)
        {
            using var image = new MemoryStream();
            while (true)
            {
                if (_start == _end)
                {
                    _start = 0;
                    _end = await stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
                    if (_end == 0) return null;
                }
                // Inside a JPEG's entropy-coded data a 0xFF byte is followed by 0x00 or a restart marker, never 0xD9.
                int i = _start;
                for (; i < _end; i++)
                {
                    bool previousFf = i > _start ? _buffer[i - 1] == 0xFF : image.Length > 0 && LastByte(image) == 0xFF;
                    if (previousFf && _buffer[i] == 0xD9) break;
                }
                if (i < _end)
                {
                    image.Write(_buffer, _start, i + 1 - _start);
                    _start = i + 1;
                    return image.ToArray();
                }
                image.Write(_buffer, _start, _end - _start);
                _start = _end;
            }
        }

        private static byte LastByte(MemoryStream s) => s.GetBuffer()[s.Length - 1];
    }
}
