using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace WavFusion.Server.Security;

/// <summary>What a key may do: push media (EmotionRecognizer) and/or watch sessions (SessionMonitor).</summary>
[Flags]
public enum Rights
{
    None = 0,
    Push = 1,
    Watch = 2,
}

/// <summary>A caller: the key's name (for limits and logs; the key itself is never kept in clear) and its rights.</summary>
public sealed record Caller(string Name, Rights Rights)
{
    /// <summary>Every caller of a server without a keys file (loopback only): one name, so they share the per-key limits.</summary>
    public static Caller Anonymous { get; } = new("anonymous", Rights.Push | Rights.Watch);
}

/// <summary>
/// The keys file, <c>{"keys":[{"name":"...","key":"...","rights":["push","watch"]}]}</c>. Keys are held as SHA-256
/// hashes and a presented key is compared with every one in constant time (<see cref="CryptographicOperations.FixedTimeEquals"/>
/// over equal-length hashes, no early exit), so neither a key's bytes nor which key matched leak through timing. Keys
/// never appear in errors or logs; names do.
/// </summary>
public sealed class ApiKeySet
{
    /// <summary>Shorter keys are refused at load: a guessable key is no key.</summary>
    public const int MinKeyLength = 16;

    private readonly (byte[] Hash, Caller Caller)[] _keys;

    private ApiKeySet((byte[] Hash, Caller Caller)[] keys) => _keys = keys;

    public int Count => _keys.Length;

    public IEnumerable<Caller> Callers => _keys.Select(k => k.Caller);

    private sealed record KeysFile([property: JsonPropertyName("keys")] List<KeyEntry>? Keys);

    private sealed record KeyEntry(
        [property: JsonPropertyName("name")] string? Name,
        [property: JsonPropertyName("key")] string? Key,
        [property: JsonPropertyName("rights")] List<string>? Rights);

    private static readonly JsonSerializerOptions Json = new()
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads and checks a keys file; errors name the file and the entry (by name or index, never by key).</summary>
    public static ApiKeySet Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: API keys file not found", path);
        KeysFile? file;
        try
        {
            file = JsonSerializer.Deserialize<KeysFile>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            // The parser's message quotes no values, only paths and positions, so no key leaks through it.
            throw new InvalidDataException($"{path}: not a keys file ({{\"keys\":[{{\"name\",\"key\",\"rights\"}}]}}): {e.Message}", e);
        }
        return Parse(file?.Keys, path);
    }

    private static ApiKeySet Parse(List<KeyEntry>? entries, string path)
    {
        if (entries is null || entries.Count == 0) throw new InvalidDataException($"{path}: no keys (\"keys\" is missing or empty)");
        var keys = new List<(byte[], Caller)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < entries.Count; i++)
        {
            var entry = entries[i] ?? throw new InvalidDataException($"{path}: keys[{i}] is null");
            if (string.IsNullOrWhiteSpace(entry.Name)) throw new InvalidDataException($"{path}: keys[{i}] has no name");
            string at = $"{path}: key '{entry.Name}'";
            if (!names.Add(entry.Name)) throw new InvalidDataException($"{at} appears twice");
            if (entry.Key is null || entry.Key.Length < MinKeyLength)
                throw new InvalidDataException($"{at}: the key must have at least {MinKeyLength} characters");
            var rights = Rights.None;
            foreach (var right in entry.Rights ?? [])
            {
                rights |= right switch
                {
                    "push" => Rights.Push,
                    "watch" => Rights.Watch,
                    _ => throw new InvalidDataException($"{at}: unknown right '{right}' (rights are push and watch)"),
                };
            }
            if (rights == Rights.None) throw new InvalidDataException($"{at} has no rights (push, watch)");
            var hash = Hash(entry.Key);
            if (keys.Any(k => CryptographicOperations.FixedTimeEquals(k.Item1, hash)))
                throw new InvalidDataException($"{at} has the same key as another entry");
            keys.Add((hash, new Caller(entry.Name, rights)));
        }
        return new ApiKeySet([.. keys]);
    }

    /// <summary>The caller whose key is <paramref name="presented"/>, or null for a missing or unknown key.</summary>
    public Caller? Find(string? presented)
    {
        if (string.IsNullOrEmpty(presented)) return null;
        var hash = Hash(presented);
        Caller? found = null;
        // Every key is compared, whatever matched, so the time taken says nothing about which one did.
        foreach (var (keyHash, caller) in _keys)
            if (CryptographicOperations.FixedTimeEquals(keyHash, hash)) found = caller;
        return found;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
