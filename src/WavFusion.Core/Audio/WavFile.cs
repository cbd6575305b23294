using System.Buffers.Binary;
using System.Text;

namespace WavFusion.Core.Audio;

/// <summary>RIFF/WAVE reader and writer: PCM 8/16/24/32-bit and IEEE float 32/64, any channel count (averaged to mono).</summary>
public static class WavFile
{
    public static AudioClip Read(string path)
    {
        byte[] data = File.ReadAllBytes(path);
        return Parse(data, path);
    }

    public static AudioClip Parse(ReadOnlySpan<byte> data, string source)
    {
        if (data.Length < 12 || !data[..4].SequenceEqual("RIFF"u8) || !data.Slice(8, 4).SequenceEqual("WAVE"u8))
            throw new InvalidDataException($"{source}: not a RIFF/WAVE file");
        int pos = 12;
        int format = 0, channels = 0, rate = 0, bits = 0;
        ReadOnlySpan<byte> pcm = default;
        bool haveFmt = false, haveData = false;
        // Chunk sizes are read as declared and may point far past the end, so positions are longs until checked.
        while ((long)pos + 8 <= data.Length)
        {
            var id = Encoding.ASCII.GetString(data.Slice(pos, 4));
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(pos + 4, 4));
            int body = pos + 8;
            int available = (int)Math.Min(size, (long)data.Length - body);
            if (id == "fmt ")
            {
                if (available < 16) throw new InvalidDataException($"{source}: fmt chunk is {available} bytes, needs 16");
                format = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(body, 2));
                channels = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(body + 2, 2));
                rate = BinaryPrimitives.ReadInt32LittleEndian(data.Slice(body + 4, 4));
                bits = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(body + 14, 2));
                if (format == 0xFFFE && available >= 26) format = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(body + 24, 2));
                haveFmt = true;
            }
            else if (id == "data")
            {
                // A streaming writer may leave the size at 0 or 0xFFFFFFFF; take what is there.
                pcm = size == 0 || size == uint.MaxValue ? data[body..] : data.Slice(body, available);
                haveData = true;
            }
            long next = body + (long)size + (size & 1);
            if (size == uint.MaxValue || next > data.Length) break;
            pos = (int)next;
        }
        if (!haveFmt) throw new InvalidDataException($"{source}: WAVE file has no fmt chunk");
        if (!haveData) throw new InvalidDataException($"{source}: WAVE file has no data chunk");
        if (channels <= 0 || rate <= 0) throw new InvalidDataException($"{source}: WAVE fmt has {channels} channels at {rate} Hz");
        bool isFloat = format == 3;
        if (!(format == 1 && bits is 8 or 16 or 24 or 32) && !(isFloat && bits is 32 or 64))
            throw new InvalidDataException($"{source}: unsupported WAVE encoding (format {format}, {bits} bits); use PCM 8/16/24/32 or float 32/64");

        int bytesPerSample = bits / 8;
        int frames = pcm.Length / (bytesPerSample * channels);
        var samples = new float[frames];
        for (int f = 0; f < frames; f++)
        {
            double sum = 0;
            for (int c = 0; c < channels; c++)
            {
                var s = pcm.Slice((f * channels + c) * bytesPerSample, bytesPerSample);
                sum += (bits, isFloat) switch
                {
                    (8, false) => (s[0] - 128) / 128.0,
                    (16, false) => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768.0,
                    (24, false) => ((s[0] | (s[1] << 8) | ((sbyte)s[2] << 16))) / 8388608.0,
                    (32, false) => BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648.0,
                    (32, true) => BinaryPrimitives.ReadSingleLittleEndian(s),
                    _ => BinaryPrimitives.ReadDoubleLittleEndian(s),
                };
            }
            samples[f] = (float)(sum / channels);
        }
        return new AudioClip(samples, rate);
    }

    /// <summary>
    /// Writes 16-bit PCM with one channel per array, interleaved (a stereo call: the customer on one channel, the agent
    /// on the other); the channels must be equally long.
    /// </summary>
    public static void WriteChannels(string path, int sampleRate, params float[][] channels)
    {
        ArgumentNullException.ThrowIfNull(channels);
        if (channels.Length is < 1 or > ushort.MaxValue) throw new ArgumentException($"{path}: {channels.Length} channels", nameof(channels));
        int frames = channels[0].Length;
        if (channels.Any(c => c.Length != frames)) throw new ArgumentException($"{path}: channels differ in length", nameof(channels));
        int n = channels.Length;
        int dataBytes = checked(frames * n * 2);
        var bytes = new byte[44 + dataBytes];
        var header = bytes.AsSpan();
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], 36 + dataBytes);
        "WAVEfmt "u8.CopyTo(header[8..]);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], 16);
        BinaryPrimitives.WriteInt16LittleEndian(header[20..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(header[22..], (short)n);
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], sampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(header[28..], sampleRate * n * 2);
        BinaryPrimitives.WriteInt16LittleEndian(header[32..], (short)(n * 2));
        BinaryPrimitives.WriteInt16LittleEndian(header[34..], 16);
        "data"u8.CopyTo(header[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(header[40..], dataBytes);
        for (int f = 0; f < frames; f++)
            for (int c = 0; c < n; c++)
                BinaryPrimitives.WriteInt16LittleEndian(header[(44 + (f * n + c) * 2)..],
                    (short)Math.Clamp(Math.Round(channels[c][f] * 32767.0), short.MinValue, short.MaxValue));
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>Writes 16-bit PCM mono.</summary>
    public static void Write(string path, AudioClip clip)
    {
        using var stream = File.Create(path);
        Write(stream, clip);
    }

    public static void Write(Stream stream, AudioClip clip)
    {
        int dataBytes = clip.Samples.Length * 2;
        Span<byte> header = stackalloc byte[44];
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], 36 + dataBytes);
        "WAVEfmt "u8.CopyTo(header[8..]);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], 16);
        BinaryPrimitives.WriteInt16LittleEndian(header[20..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(header[22..], 1);
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], clip.SampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(header[28..], clip.SampleRate * 2);
        BinaryPrimitives.WriteInt16LittleEndian(header[32..], 2);
        BinaryPrimitives.WriteInt16LittleEndian(header[34..], 16);
        "data"u8.CopyTo(header[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(header[40..], dataBytes);
        stream.Write(header);
        var body = new byte[dataBytes];
        for (int i = 0; i < clip.Samples.Length; i++)
            BinaryPrimitives.WriteInt16LittleEndian(body.AsSpan(i * 2), (short)Math.Clamp(Math.Round(clip.Samples[i] * 32767.0), short.MinValue, short.MaxValue));
        stream.Write(body);
    }
}
