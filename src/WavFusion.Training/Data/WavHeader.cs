namespace WavFusion.Training.Data;

/// <summary>What the corpus readers and the featurizer check of a WAV file before trusting it.</summary>
internal static class WavHeader
{
    /// <summary>Reads only the RIFF header: enough to catch missing, empty and truncated downloads cheaply; null when it looks like audio.</summary>
    public static string? Problem(string path)
    {
        if (!File.Exists(path)) return "file missing";
        Span<byte> head = stackalloc byte[12];
        using var f = File.OpenRead(path);
        if (f.Length <= 44) return $"only {f.Length} bytes: no audio";
        f.ReadExactly(head);
        return head[..4].SequenceEqual("RIFF"u8) && head[8..].SequenceEqual("WAVE"u8) ? null : "not a RIFF/WAVE file";
    }
}
