using System.Text.Json;
using System.Text.Json.Nodes;
using WavFusion.Models.CrossModal;
using WavFusion.Models.Fusion;
using WavFusion.Models.Unimodal;
using WavFusion.Training.Features;
using WavFusion.Training.SynthEmo;
using WavFusion.Training.Trainer;

namespace WavFusion.Training.Experiments;

/// <summary>
/// Reads experiment configs. A file may name a base with <c>"extends": "relative/path.json"</c>; the base is
/// read first and the file merged over it: objects merge key by key, the child's value wins, arrays and
/// scalars are replaced whole (so an ablation is a few lines). Keys starting with <c>//</c> are comments.
/// Every path (<c>model.config_path</c>, <c>model.config.wav2vec2_config_path</c>, <c>encoders.*</c>,
/// <c>data.root</c>, <c>training.output_dir</c>, <c>training.feature_cache_dir</c>) is relative to the file
/// that states it. Errors name the file that set the offending field and the field.
/// </summary>
public static class ExperimentConfigLoader
{
    private static readonly string[] TopLevelKeys = ["extends", "name", "model", "encoders", "data", "modalities", "video", "training"];

    /// <summary>Path-valued fields, resolved against the file that states them before merging.</summary>
    private static readonly string[][] PathFields =
    [
        ["model", "config_path"], ["model", "config", "wav2vec2_config_path"],
        ["encoders", "wav2vec2"], ["encoders", "text"], ["encoders", "visual"],
        ["data", "root"], ["training", "output_dir"], ["training", "feature_cache_dir"],
    ];

    private static readonly JsonDocumentOptions DocumentOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static readonly JsonSerializerOptions Strict = new()
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Reads, merges and validates <paramref name="path"/>; throws <see cref="ArgumentException"/> naming file and field.</summary>
    public static ExperimentConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var merged = new JsonObject();
        var origin = new Dictionary<string, string>(StringComparer.Ordinal);
        var chain = new List<string>();
        Merge(Path.GetFullPath(path), merged, origin, chain, null);
        return Bind(merged, new Origins(origin, chain), chain);
    }

    /// <summary>The merged JSON of a file and its bases (paths absolute, comments dropped), before binding.</summary>
    public static JsonObject LoadMerged(string path)
    {
        var merged = new JsonObject();
        Merge(Path.GetFullPath(path), merged, new Dictionary<string, string>(StringComparer.Ordinal), [], null);
        return merged;
    }

    private static void Merge(string file, JsonObject into, Dictionary<string, string> origin, List<string> chain, string? extendedBy)
    {
        if (chain.Contains(file, StringComparer.Ordinal))
            throw new ArgumentException($"{extendedBy}: extends: '{file}' is already in the chain; extends must not loop");
        if (!File.Exists(file))
            throw new ArgumentException(extendedBy is null ? $"{file}: experiment config not found" : $"{extendedBy}: extends: '{file}' not found");
        chain.Insert(0, file);
        var self = ReadObject(file);
        Uncomment(self);
        ResolvePaths(self, Path.GetDirectoryName(file)!);
        if (self["extends"] is { } extends)
        {
            if (extends.GetValueKind() != JsonValueKind.String)
                throw new ArgumentException($"{file}: extends: must be a path string; got {extends.ToJsonString()}");
            Merge(Path.GetFullPath(extends.GetValue<string>(), Path.GetDirectoryName(file)!), into, origin, chain, file);
            self.Remove("extends");
        }
        DeepMerge(into, self, file, "", origin);
    }

    private static JsonObject ReadObject(string file)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(file), documentOptions: DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{file}: not valid JSON (line {e.LineNumber + 1}): {e.Message}", e);
        }
        return node as JsonObject ?? throw new ArgumentException($"{file}: an experiment config must be a JSON object");
    }

    /// <summary>Drops comment keys ("//", "// why") at every depth.</summary>
    private static void Uncomment(JsonNode? node)
    {
        if (node is JsonObject o)
        {
            foreach (var key in o.Select(kv => kv.Key).Where(k => k.StartsWith("//", StringComparison.Ordinal)).ToArray()) o.Remove(key);
            foreach (var (_, child) in o) Uncomment(child);
        }
        else if (node is JsonArray a)
        {
            foreach (var child in a) Uncomment(child);
        }
    }

    private static void ResolvePaths(JsonObject self, string dir)
    {
        foreach (var field in PathFields)
        {
            JsonObject? parent = self;
            for (int i = 0; i < field.Length - 1 && parent is not null; i++) parent = parent[field[i]] as JsonObject;
            if (parent?[field[^1]] is JsonValue value && value.GetValueKind() == JsonValueKind.String)
                parent[field[^1]] = Path.GetFullPath(value.GetValue<string>(), dir);
        }
    }

    private static void DeepMerge(JsonObject into, JsonObject from, string file, string prefix, Dictionary<string, string> origin)
    {
        foreach (var (key, value) in from)
        {
            string field = prefix.Length == 0 ? key : $"{prefix}.{key}";
            if (value is JsonObject child && into[key] is JsonObject existing)
            {
                origin.TryAdd(field, file);
                DeepMerge(existing, child, file, field, origin);
                continue;
            }
            foreach (var stale in origin.Keys.Where(k => k.StartsWith(field + ".", StringComparison.Ordinal)).ToArray()) origin.Remove(stale);
            origin[field] = file;
            into[key] = value?.DeepClone();
        }
    }

    /// <summary>Which file set a field: the deepest recorded prefix of it.</summary>
    private sealed record Origins(Dictionary<string, string> ByField, IReadOnlyList<string> Chain)
    {
        public string Top => Chain[^1];

        /// <summary>The last file of the chain that set <paramref name="field"/> or anything under it (for errors about a merged whole).</summary>
        public string LatestUnder(string field) =>
            Chain.LastOrDefault(file => ByField.Any(kv => kv.Value == file && (kv.Key == field || kv.Key.StartsWith(field, StringComparison.Ordinal)))) ?? Top;

        public ArgumentException ErrorIn(string file, string field, string message, Exception? inner = null) => new($"{file}: {field}: {message}", inner);

        public string Of(string field)
        {
            for (string f = field; f.Length > 0; f = f.Contains('.', StringComparison.Ordinal) ? f[..f.LastIndexOf('.')] : "")
                if (ByField.TryGetValue(f, out var file)) return file;
            return Top;
        }

        public ArgumentException Error(string field, string message, Exception? inner = null) => new($"{Of(field)}: {field}: {message}", inner);
    }

    private static ExperimentConfig Bind(JsonObject merged, Origins at, IReadOnlyList<string> chain)
    {
        foreach (var (key, _) in merged)
            if (!TopLevelKeys.Contains(key, StringComparer.Ordinal))
                throw at.Error(key, $"unknown field (expected one of {string.Join(", ", TopLevelKeys.Skip(1))})");

        string name = merged["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String && n.GetValue<string>().Length > 0
            ? n.GetValue<string>()
            : throw at.Error("name", "a non-empty string is required");

        var data = BindData(Section(merged, "data", at, required: true)!, at);
        var modalities = BindModalities(merged["modalities"], at);
        var video = Deserialize<VideoSampling>(merged["video"] ?? new JsonObject(), "video", at);
        if (video.FramesPerSecond is <= 0 or double.NaN) throw at.Error("video.frames_per_second", $"must be positive; got {video.FramesPerSecond}");
        if (video.Size <= 0) throw at.Error("video.size", $"must be positive; got {video.Size}");
        if (video.MaxFrames <= 0) throw at.Error("video.max_frames", $"must be positive; got {video.MaxFrames}");

        var training = Deserialize<TrainerOptions>(merged["training"] ?? new JsonObject(), "training", at);
        try
        {
            training.Validate();
        }
        catch (ArgumentException e)
        {
            throw at.Error("training", e.Message, e);
        }

        var encoders = Section(merged, "encoders", at, required: false) ?? new JsonObject();
        foreach (var (key, value) in encoders)
        {
            if (key is not ("wav2vec2" or "text" or "visual")) throw at.Error($"encoders.{key}", "unknown encoder (expected wav2vec2, text, visual)");
            if (value is not null && value.GetValueKind() != JsonValueKind.String) throw at.Error($"encoders.{key}", "must be a folder path or null");
        }
        var folders = new EncoderFolders(PathOf(encoders, "wav2vec2"), PathOf(encoders, "text"), PathOf(encoders, "visual"));

        var model = Section(merged, "model", at, required: true)!;
        var (kind, modelConfig) = BindModel(model, data, folders, at);
        CheckModalities(kind, modelConfig, modalities, folders, at);

        return new ExperimentConfig
        {
            Name = name, SourcePath = at.Top, Chain = chain, Kind = kind, ModelConfig = modelConfig, Encoders = folders,
            Data = data, Modalities = modalities, Video = video, Training = training,
        };
    }

    private static string? PathOf(JsonObject section, string key) => section[key]?.GetValue<string>();

    private static JsonObject? Section(JsonObject merged, string key, Origins at, bool required) => merged[key] switch
    {
        JsonObject o => o,
        null when !required => null,
        null => throw at.Error(key, "this section is required"),
        var other => throw at.Error(key, $"must be an object; got {other.ToJsonString()}"),
    };

    private static T Deserialize<T>(JsonNode node, string field, Origins at)
    {
        try
        {
            return node.Deserialize<T>(Strict) ?? throw at.Error(field, "must not be null");
        }
        catch (JsonException e)
        {
            string where = e.Path is { Length: > 1 } p ? field + p[1..] : field;
            throw at.Error(where, e.Message, e);
        }
    }

    private static DataSpec BindData(JsonObject data, Origins at)
    {
        foreach (var (key, _) in data)
            if (key is not ("corpus" or "root" or "protocol" or "folds")) throw at.Error($"data.{key}", "unknown field (expected corpus, root, protocol, folds)");
        var corpus = Deserialize<CorpusKind>(data["corpus"] ?? throw at.Error("data.corpus", "required (iemocap, meld or synthemo)"), "data.corpus", at);
        string root = data["root"] is JsonValue r && r.GetValueKind() == JsonValueKind.String
            ? r.GetValue<string>()
            : throw at.Error("data.root", "the corpus folder is required (or give --data-root)");
        var protocols = DataSpec.ProtocolsOf(corpus);
        string protocol = data["protocol"] is null ? protocols[0] : Deserialize<string>(data["protocol"]!, "data.protocol", at);
        if (!protocols.Contains(protocol, StringComparer.Ordinal))
            throw at.Error("data.protocol", $"'{protocol}' is not a protocol of {corpus.ToString().ToLowerInvariant()} (expected {string.Join(" or ", protocols)})");
        var folds = data["folds"] is null ? null : Deserialize<int[]>(data["folds"]!, "data.folds", at);
        var spec = new DataSpec(corpus, root, protocol, folds);
        if (folds is not null)
        {
            if (folds.Length == 0) throw at.Error("data.folds", "is empty; leave it out to run every fold");
            if (folds.Any(f => f < 1 || f > spec.FoldCount))
                throw at.Error("data.folds", $"[{string.Join(", ", folds)}]: folds run from 1 to {spec.FoldCount} for protocol {protocol}");
            if (folds.Distinct().Count() != folds.Length) throw at.Error("data.folds", $"[{string.Join(", ", folds)}] lists a fold twice");
        }
        return spec;
    }

    private static IReadOnlyList<Modality> BindModalities(JsonNode? node, Origins at)
    {
        if (node is null) throw at.Error("modalities", "required: a subset of [\"audio\", \"text\", \"visual\"]");
        var list = Deserialize<Modality[]>(node, "modalities", at);
        if (list.Length == 0) throw at.Error("modalities", "is empty");
        if (list.Distinct().Count() != list.Length) throw at.Error("modalities", "lists a modality twice");
        return list.Order().ToArray();
    }

    private static (ModelKind Kind, JsonObject Config) BindModel(JsonObject model, DataSpec data, EncoderFolders encoders, Origins at)
    {
        foreach (var (key, _) in model)
            if (key is not ("kind" or "config" or "config_path")) throw at.Error($"model.{key}", "unknown field (expected kind, config, config_path)");
        var kind = Deserialize<ModelKind>(model["kind"] ?? throw at.Error("model.kind", "required (wavfusion, crossmodal, text_only, visual_only)"), "model.kind", at);

        var config = new JsonObject();
        if (model["config_path"] is { } pathNode)
        {
            if (pathNode.GetValueKind() != JsonValueKind.String) throw at.Error("model.config_path", "must be a path string");
            string path = pathNode.GetValue<string>();
            if (!File.Exists(path)) throw at.Error("model.config_path", $"'{path}' not found");
            config = ReadObject(path);
            Uncomment(config);
            if (config["wav2vec2_config_path"] is JsonValue w && w.GetValueKind() == JsonValueKind.String)
                config["wav2vec2_config_path"] = Path.GetFullPath(w.GetValue<string>(), Path.GetDirectoryName(path)!);
        }
        if (model["config"] is { } inline)
        {
            if (inline is not JsonObject inlineObject) throw at.Error("model.config", "must be an object");
            DeepMerge(config, inlineObject, at.Of("model.config"), "", []);
        }

        var known = data.KnownLabels?.Names ?? (data.Corpus == CorpusKind.SynthEmo ? SynthEmoDesign.Classes.Select(c => c.Name).ToArray() : null);
        if (config["label_names"] is null && known is not null) config["label_names"] = new JsonArray(known.Select(l => (JsonNode)l).ToArray());
        if (kind is ModelKind.TextOnly or ModelKind.VisualOnly)
        {
            string stream = kind == ModelKind.TextOnly ? "text" : "visual";
            if (config["stream"] is { } s && s.ToJsonString() != $"\"{stream}\"")
                throw at.Error("model.config.stream", $"{s.ToJsonString()} contradicts model.kind {kind.ToString().ToLowerInvariant()}; leave it out");
            config["stream"] = stream;
        }

        string where = model["config_path"] is { } p ? $"model.config (over {p.GetValue<string>()})" : "model.config";
        var labels = BuildCheck(kind, config, encoders.Wav2Vec2, where, at);
        if (data.KnownLabels is { } protocolLabels && !labels.SequenceEqual(protocolLabels.Names, StringComparer.Ordinal))
            throw at.Error("model.config.label_names",
                $"[{string.Join(", ", labels)}] differ from the classes of {data.Corpus.ToString().ToLowerInvariant()} {data.Protocol} [{string.Join(", ", protocolLabels.Names)}]; leave label_names out to take the protocol's");
        return (kind, config);
    }

    /// <summary>Deserialises and validates the model configuration of <paramref name="kind"/>; returns its label names.</summary>
    private static IReadOnlyList<string> BuildCheck(ModelKind kind, JsonObject config, string? wav2vec2Folder, string where, Origins at)
    {
        try
        {
            switch (kind)
            {
                case ModelKind.WavFusion:
                    KnownKeys<WavFusionConfig>(config);
                    var wavFusion = ExperimentModels.WavFusionConfigOf(config, wav2vec2Folder);
                    if (wavFusion.Wav2Vec2 is null)
                        throw new ArgumentException("wav2vec2: give the wav2vec2 object, wav2vec2_config_path, or an existing encoders.wav2vec2 folder");
                    wavFusion.Validate();
                    return wavFusion.LabelNames;
                case ModelKind.CrossModal:
                    KnownKeys<CrossModalConfig>(config);
                    var crossModal = config.Deserialize<CrossModalConfig>()!;
                    crossModal.Validate();
                    return crossModal.LabelNames;
                default:
                    KnownKeys<UnimodalConfig>(config);
                    var unimodal = config.Deserialize<UnimodalConfig>()!;
                    unimodal.Validate();
                    return unimodal.LabelNames;
            }
        }
        catch (JsonException e)
        {
            throw at.ErrorIn(at.LatestUnder("model.config"), where, $"{e.Path}: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw at.ErrorIn(at.LatestUnder("model.config"), where, e.Message, e);
        }
    }

    /// <summary>Top-level keys of a model configuration must be fields of <typeparamref name="T"/> (nested objects such as an HF wav2vec2 config.json may carry extra keys).</summary>
    private static void KnownKeys<T>(JsonObject config)
    {
        var names = typeof(T).GetProperties()
            .Select(p => p.GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonPropertyNameAttribute), false)
                .Cast<System.Text.Json.Serialization.JsonPropertyNameAttribute>().FirstOrDefault()?.Name)
            .OfType<string>().ToHashSet(StringComparer.Ordinal);
        foreach (var (key, _) in config)
            if (!names.Contains(key)) throw new ArgumentException($"{key}: unknown field of a {typeof(T).Name}");
    }

    private static void CheckModalities(ModelKind kind, JsonObject config, IReadOnlyList<Modality> modalities, EncoderFolders encoders, Origins at)
    {
        string list = string.Join(", ", modalities).ToLowerInvariant();
        switch (kind)
        {
            case ModelKind.WavFusion when !modalities.Contains(Modality.Audio):
                throw at.Error("modalities", $"[{list}]: WavFusion needs audio (the T and V rows use model.kind text_only / visual_only)");
            case ModelKind.TextOnly when modalities is not [Modality.Text]:
                throw at.Error("modalities", $"[{list}]: a text_only model takes [\"text\"]");
            case ModelKind.VisualOnly when modalities is not [Modality.Visual]:
                throw at.Error("modalities", $"[{list}]: a visual_only model takes [\"visual\"]");
            case ModelKind.CrossModal:
                var mode = config.Deserialize<CrossModalConfig>()!;
                var wanted = new List<Modality>();
                if (mode.UsesAudio) wanted.Add(Modality.Audio);
                if (mode.UsesText) wanted.Add(Modality.Text);
                if (!modalities.SequenceEqual(wanted))
                    throw at.Error("modalities", $"[{list}] do not match the cross-modal mode {JsonSerializer.Serialize(mode.Mode)} (which takes [{string.Join(", ", wanted).ToLowerInvariant()}])");
                if (mode.UsesAudio && encoders.Wav2Vec2 is null)
                    throw at.Error("encoders.wav2vec2", "the cross-modal model takes frozen wav2vec2 frames; name a pretrained wav2vec2 folder");
                break;
        }
        if (modalities.Contains(Modality.Text) && encoders.Text is null) throw at.Error("encoders.text", "the text modality needs a text encoder folder");
        if (modalities.Contains(Modality.Visual) && encoders.Visual is null) throw at.Error("encoders.visual", "the visual modality needs a visual encoder folder");
    }
}
