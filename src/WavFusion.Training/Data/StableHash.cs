namespace WavFusion.Training.Data;

/// <summary>FNV-1a over UTF-16 code units: unlike string.GetHashCode, the same on every run and machine.</summary>
internal static class StableHash
{
    public static uint Of(string text, int seed = 0)
    {
        uint h = 2166136261u ^ (uint)seed;
        foreach (char c in text)
        {
            h = (h ^ (c & 0xFFu)) * 16777619u;
            h = (h ^ (uint)(c >> 8)) * 16777619u;
        }
        return h;
    }
}
