using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Core.Checkpoints;

/// <summary>
/// Reads a PyTorch zip checkpoint (<c>pytorch_model.bin</c>, torch ≥ 1.6) into a state dict without
/// executing anything: data.pkl is interpreted by a pickle machine that knows only the opcodes and the
/// handful of globals a state dict needs (OrderedDict, the tensor/parameter rebuild functions and the
/// typed storages). Any other global or opcode is refused with an error naming it.
/// </summary>
public static class TorchPickleReader
{
    private static readonly Dictionary<string, ScalarType> StorageTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = ScalarType.Float32,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["DoubleStorage"] = ScalarType.Float64,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    private static readonly HashSet<string> AllowedGlobals = new(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "builtins.dict",
    };

    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: file not found");
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointException(
                $"{path}: not a PyTorch zip checkpoint ({e.Message}); files saved by torch < 1.6 (legacy format) must be re-saved with a current torch", e);
        }
        using (zip)
        {
            // The central directory and local headers are read lazily, so damage there surfaces on any later access.
            try
            {
                return Read(path, zip, new FileInfo(path).Length);
            }
            catch (InvalidDataException e)
            {
                throw new CheckpointException($"{path}: damaged PyTorch zip checkpoint: {e.Message}", e);
            }
        }
    }

    private static Dictionary<string, Tensor> Read(string path, ZipArchive zip, long fileLength)
    {
        var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal)
                                                  && e.FullName.Count(c => c == '/') == 1)
            ?? throw new CheckpointException($"{path}: zip archive has no <root>/data.pkl entry; not a torch.save file");
        string root = pkl.FullName[..pkl.FullName.IndexOf('/', StringComparison.Ordinal)];
        byte[] program = ReadEntry(pkl, path, fileLength, "data.pkl");
        var machine = new Machine(path, program, key => ReadStorage(zip, root, path, key, fileLength));
        try
        {
            object result = machine.Run();
            var dict = result as Dictionary<object, object?>
                ?? throw new CheckpointException($"{path}: the pickled object is a {Describe(result)}, not a state dict");
            var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (k, v) in dict)
            {
                if (k is not string name) throw new CheckpointException($"{path}: state dict has a non-string key {Describe(k)}");
                if (v is Tensor t) state[name] = t;
                else if (name == "_metadata") continue;
                else throw new CheckpointException($"{path}: state dict entry '{name}' is a {Describe(v)}, not a tensor");
            }
            return state;
        }
        finally
        {
            machine.DisposeStorages();
        }
    }

    private static byte[] ReadStorage(ZipArchive zip, string root, string path, string key, long fileLength)
    {
        var entry = zip.GetEntry($"{root}/data/{key}")
            ?? throw new CheckpointException($"{path}: storage '{key}' referenced by data.pkl is missing from the archive ({root}/data/{key})");
        return ReadEntry(entry, path, fileLength, $"storage '{key}'");
    }

    /// <summary>
    /// An entry's bytes, after checking its declared size against the file: torch.save stores entries uncompressed,
    /// so an entry larger than the file is a lie, and believing it would allocate whatever the header claims.
    /// </summary>
    private static byte[] ReadEntry(ZipArchiveEntry entry, string path, long fileLength, string what)
    {
        if (entry.Length > fileLength || entry.Length > Array.MaxLength)
            throw new CheckpointException($"{path}: {what} declares {entry.Length} bytes, more than the file's {fileLength}; the archive is damaged or compressed (torch.save stores entries uncompressed)");
        try
        {
            using var s = entry.Open();
            var bytes = new byte[entry.Length];
            s.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new CheckpointException($"{path}: {what} is truncated or damaged: {e.Message}", e);
        }
    }

    private static string Describe(object? o) => o switch
    {
        null => "None",
        string s => $"string '{s}'",
        Global g => $"global {g.Name}",
        _ => o.GetType().Name,
    };

    private sealed record Global(string Name);
    private sealed record StorageRef(ScalarType Type, string Key, long Numel);
    private sealed class Mark;

    private sealed class Machine(string path, byte[] program, Func<string, byte[]> loadStorage)
    {
        private const int MaxMemo = 10_000_000;
        private readonly List<object?> _stack = [];
        private readonly Dictionary<long, object?> _memo = [];
        private readonly Dictionary<string, Tensor> _storages = new(StringComparer.Ordinal);
        private int _pos;

        public void DisposeStorages()
        {
            foreach (var t in _storages.Values) t.Dispose();
            _storages.Clear();
        }

        private CheckpointException Error(string what) => new($"{path}: data.pkl at byte {_pos}: {what}");

        private byte Byte() => _pos < program.Length ? program[_pos++] : throw Error("unexpected end of pickle");

        private ReadOnlySpan<byte> Bytes(long n)
        {
            if (n < 0 || n > program.Length - _pos) throw Error($"a {n}-byte field runs past the end of the pickle");
            var span = program.AsSpan(_pos, (int)n);
            _pos += (int)n;
            return span;
        }

        private string Line()
        {
            int end = Array.IndexOf(program, (byte)'\n', _pos);
            if (end < 0) throw Error("unterminated text line");
            string s = Encoding.ASCII.GetString(program, _pos, end - _pos);
            _pos = end + 1;
            return s;
        }

        private object? Pop()
        {
            if (_stack.Count == 0) throw Error("stack underflow");
            var o = _stack[^1];
            _stack.RemoveAt(_stack.Count - 1);
            return o;
        }

        private List<object?> PopToMark()
        {
            int i = _stack.FindLastIndex(o => o is Mark);
            if (i < 0) throw Error("no MARK on the stack");
            var items = _stack.GetRange(i + 1, _stack.Count - i - 1);
            _stack.RemoveRange(i, _stack.Count - i);
            return items;
        }

        private void Push(object? o) => _stack.Add(o);

        private void Memoize(long key, object? value)
        {
            if (_memo.Count >= MaxMemo) throw Error("memo exceeds its limit");
            _memo[key] = value;
        }

        private object? Get(long key) => _memo.TryGetValue(key, out var v) ? v : throw Error($"memo key {key} was never stored");

        public object Run()
        {
            while (true)
            {
                byte op = Byte();
                switch (op)
                {
                    case 0x80: Byte(); break;                                   // PROTO
                    case 0x95: Bytes(8); break;                                 // FRAME
                    case (byte)'}': Push(new Dictionary<object, object?>()); break;
                    case (byte)']': Push(new List<object?>()); break;
                    case (byte)')': Push(Array.Empty<object?>()); break;
                    case (byte)'(': Push(new Mark()); break;
                    case (byte)'q': Memoize(Byte(), Peek()); break;
                    case (byte)'r': Memoize(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)), Peek()); break;
                    case 0x94: Memoize(_memo.Count, Peek()); break;             // MEMOIZE
                    case (byte)'h': Push(Get(Byte())); break;
                    case (byte)'j': Push(Get(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)))); break;
                    case (byte)'X': Push(Encoding.UTF8.GetString(Bytes(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4))))); break;
                    case 0x8c: Push(Encoding.UTF8.GetString(Bytes(Byte()))); break;
                    case 0x8d: Push(Encoding.UTF8.GetString(Bytes((long)BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8))))); break;
                    case (byte)'c': Push(ResolveGlobal(Line(), Line())); break;
                    case 0x93:                                                  // STACK_GLOBAL
                    {
                        var name = Pop() as string ?? throw Error("STACK_GLOBAL needs a string name");
                        var module = Pop() as string ?? throw Error("STACK_GLOBAL needs a string module");
                        Push(ResolveGlobal(module, name));
                        break;
                    }
                    case (byte)'Q': Push(PersistentLoad(Pop())); break;
                    case (byte)'K': Push((long)Byte()); break;
                    case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2))); break;
                    case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))); break;
                    case 0x8a: Push(ReadLong1(Bytes(Byte()))); break;
                    case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break;
                    case 0x88: Push(true); break;
                    case 0x89: Push(false); break;
                    case (byte)'N': Push(null); break;
                    case (byte)'t': Push(PopToMark().ToArray()); break;
                    case 0x85: Push(new[] { Pop() }); break;
                    case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; }
                    case (byte)'R': { var args = Pop(); var fn = Pop(); Push(Reduce(fn, args)); break; }
                    case (byte)'s': { var v = Pop(); var k = Pop(); SetItems(Peek(), [k, v]); break; }
                    case (byte)'u': { var items = PopToMark(); SetItems(Peek(), items); break; }
                    case (byte)'a': { var v = Pop(); AsList(Peek()).Add(v); break; }
                    case (byte)'e': { var items = PopToMark(); AsList(Peek()).AddRange(items); break; }
                    case (byte)'b': Pop(); break;                              // BUILD: state of an OrderedDict/Parameter, not needed
                    case (byte)'.': return Pop() ?? throw Error("pickle result is None");
                    default:
                        throw Error($"opcode 0x{op:x2} ('{(char)op}') is not allowed in a state dict; refusing to execute it");
                }
            }
        }

        private object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Error("stack underflow");

        private List<object?> AsList(object? o) => o as List<object?> ?? throw Error($"APPEND to a {Describe(o)}");

        private void SetItems(object? target, List<object?> items)
        {
            var dict = target as Dictionary<object, object?> ?? throw Error($"SETITEM on a {Describe(target)}");
            if (items.Count % 2 != 0) throw Error("SETITEMS with an odd number of items");
            for (int i = 0; i < items.Count; i += 2)
                dict[items[i] ?? throw Error("None as a dict key")] = items[i + 1];
        }

        private long ReadLong1(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length == 0) return 0;
            if (bytes.Length > 8) throw Error($"a {bytes.Length}-byte integer is wider than any size or offset in a state dict");
            long v = 0;
            for (int i = bytes.Length - 1; i >= 0; i--) v = (v << 8) | bytes[i];
            int shift = 64 - 8 * bytes.Length;
            return shift == 0 ? v : (v << shift) >> shift;
        }

        private Global ResolveGlobal(string module, string name)
        {
            string full = $"{module}.{name}";
            if (module == "torch" && StorageTypes.ContainsKey(name)) return new Global(full);
            if (!AllowedGlobals.Contains(full))
                throw Error($"refused global '{full}': it is not part of a state dict (only tensors, storages and OrderedDict are loaded; nothing is executed)");
            return new Global(full);
        }

        private StorageRef PersistentLoad(object? pid)
        {
            if (pid is not object?[] { Length: 5 } t || t[0] is not "storage")
                throw Error($"unsupported persistent id {Describe(pid)}; expected ('storage', type, key, location, numel)");
            if (t[1] is not Global g || !StorageTypes.TryGetValue(g.Name["torch.".Length..], out var type))
                throw Error($"unsupported storage type {Describe(t[1])}");
            string key = t[2] as string ?? throw Error("storage key is not a string");
            long numel = t[4] is long n ? n : throw Error("storage size is not an integer");
            return new StorageRef(type, key, numel);
        }

        private object? Reduce(object? fn, object? args)
        {
            if (fn is not Global g) throw Error($"REDUCE on a {Describe(fn)}");
            var a = args as object?[] ?? throw Error($"arguments of {g.Name} are not a tuple");
            switch (g.Name)
            {
                case "collections.OrderedDict":
                case "builtins.dict":
                    if (a.Length != 0) throw Error($"{g.Name} with arguments is not supported");
                    return new Dictionary<object, object?>();
                case "torch._utils._rebuild_tensor_v2":
                    return RebuildTensor(a);
                case "torch._utils._rebuild_parameter":
                case "torch._utils._rebuild_parameter_with_state":
                    return a.Length >= 1 && a[0] is Tensor p ? p : throw Error("_rebuild_parameter without a tensor");
                default:
                    throw Error($"refused call of '{g.Name}'");
            }
        }

        private Tensor RebuildTensor(object?[] a)
        {
            if (a.Length < 4 || a[0] is not StorageRef storage || a[1] is not long offset
                || a[2] is not object?[] sizeObj || a[3] is not object?[] strideObj)
                throw Error("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, ...)");
            long[] size = sizeObj.Select(x => x is long l ? l : throw Error("tensor size is not an integer")).ToArray();
            long[] stride = strideObj.Select(x => x is long l ? l : throw Error("tensor stride is not an integer")).ToArray();
            if (size.Length != stride.Length) throw Error($"tensor size [{string.Join(", ", size)}] and stride [{string.Join(", ", stride)}] differ in rank");
            var flat = Storage(storage);
            string layout = $"tensor [{string.Join(", ", size)}] at offset {offset} with stride [{string.Join(", ", stride)}]";
            if (offset < 0 || size.Any(s => s < 0) || stride.Any(s => s < 0))
                throw Error($"{layout} has a negative size, stride or offset");
            if (size.Contains(0)) return torch.empty(size, storage.Type);
            // The view is copied, so its element count is an allocation: no more than the storage it reads
            // (a real state dict never stores an expanded view), and the arithmetic must not wrap.
            long numel, last;
            try
            {
                numel = size.Aggregate(1L, (x, y) => checked(x * y));
                last = checked(offset + size.Zip(stride).Sum(p => checked((p.First - 1) * p.Second)));
            }
            catch (OverflowException)
            {
                throw Error($"{layout} overflows a 64-bit element count");
            }
            if (last >= storage.Numel || numel > storage.Numel)
                throw Error($"{layout} exceeds its storage '{storage.Key}' of {storage.Numel} elements");
            using var view = flat.as_strided(size, stride, offset);
            return view.clone();
        }

        private Tensor Storage(StorageRef s)
        {
            if (_storages.TryGetValue(s.Key, out var t))
            {
                if (t.dtype != s.Type || t.numel() != s.Numel)
                    throw Error($"storage '{s.Key}' is referenced as {s.Numel} x {s.Type} but was first read as {t.numel()} x {t.dtype}");
                return t;
            }
            byte[] bytes = loadStorage(s.Key);
            int elementSize = SafeTensorsDType.ElementSize(SafeTensorsDType.FromTorch(s.Type))!.Value;
            if (s.Numel < 0 || s.Numel > bytes.LongLength || bytes.LongLength != s.Numel * elementSize)
                throw new CheckpointException($"{path}: storage '{s.Key}' has {bytes.LongLength} bytes, expected {s.Numel} × {elementSize} for {s.Type}");
            t = torch.empty(s.Numel, s.Type);
            if (bytes.Length > 0) t.bytes = bytes;
            _storages[s.Key] = t;
            return t;
        }
    }
}
