using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using WavFusion.Training.Data;
using WavFusion.Training.Features;
using WavFusion.Training.Trainer;

namespace WavFusion.Training.Experiments;

/// <summary>Which model an experiment trains.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ModelKind>))]
public enum ModelKind
{
    /// <summary>WavFusion (<see cref="WavFusion.Models.Fusion.WavFusionModel"/>): wav2vec2 with gated cross-modal attention in the deep layers.</summary>
    [JsonStringEnumMemberName("wavfusion")] WavFusion,

    /// <summary>The cross-modal wav2vec2 + BERT model (<see cref="WavFusion.Models.CrossModal.CrossModalEmotionModel"/>) and its unimodal modes.</summary>
    [JsonStringEnumMemberName("crossmodal")] CrossModal,

    /// <summary>Table 3's T row: WavFusion's text branch + mean pooling + classifier.</summary>
    [JsonStringEnumMemberName("text_only")] TextOnly,

    /// <summary>Table 3's V row: the A-GRU-LVC visual block + mean pooling + classifier.</summary>
    [JsonStringEnumMemberName("visual_only")] VisualOnly,
}

[JsonConverter(typeof(JsonStringEnumConverter<CorpusKind>))]
public enum CorpusKind
{
    [JsonStringEnumMemberName("iemocap")] Iemocap,
    [JsonStringEnumMemberName("meld")] Meld,
    [JsonStringEnumMemberName("synthemo")] SynthEmo,
}

/// <summary>Pretrained folders (absolute once loaded); null: wav2vec2 starts from random weights, text/visual are not used.</summary>
public sealed record EncoderFolders(string? Wav2Vec2, string? Text, string? Visual);

/// <summary>
/// The corpus, its root folder, its protocol and (for cross-validation) the folds to run. IEMOCAP protocols:
/// <c>six_class_session5</c> (one partition) and <c>four_class_loso</c> (folds 1-5, fold K tests on session K);
/// MELD: <c>official</c>; SynthEmo: <c>manifest</c> (the splits its manifest names).
/// </summary>
public sealed record DataSpec(CorpusKind Corpus, string Root, string Protocol, IReadOnlyList<int>? Folds)
{
    public const string SixClassSession5 = "six_class_session5";
    public const string FourClassLoso = "four_class_loso";
    public const string MeldOfficial = "official";
    public const string SynthEmoManifest = "manifest";

    /// <summary>The protocols each corpus knows; the first is its default.</summary>
    public static IReadOnlyList<string> ProtocolsOf(CorpusKind corpus) => corpus switch
    {
        CorpusKind.Iemocap => [SixClassSession5, FourClassLoso],
        CorpusKind.Meld => [MeldOfficial],
        _ => [SynthEmoManifest],
    };

    public IemocapProtocol IemocapProtocol => Protocol == FourClassLoso ? IemocapProtocol.FourClassLeaveOneSessionOut : IemocapProtocol.SixClassSession5Test;

    /// <summary>Number of folds of the protocol (1 for a fixed split).</summary>
    public int FoldCount => Corpus == CorpusKind.Iemocap && Protocol == FourClassLoso ? 5 : 1;

    public bool IsCrossValidation => FoldCount > 1;

    /// <summary>The folds to run, 1-based: <see cref="Folds"/> or all of them.</summary>
    public IReadOnlyList<int> SelectedFolds => Folds ?? Enumerable.Range(1, FoldCount).ToArray();

    /// <summary>The class list the protocol fixes before any file is read; null for SynthEmo (its corpus.json says).</summary>
    public LabelSet? KnownLabels => Corpus switch
    {
        CorpusKind.Iemocap => IemocapReader.LabelsOf(IemocapProtocol),
        CorpusKind.Meld => MeldReader.Labels,
        _ => null,
    };
}

/// <summary>
/// One experiment, as <see cref="ExperimentConfigLoader.Load"/> reads it: the merged chain of <c>extends</c>
/// files, with every path absolute and the model configuration merged and checked for its kind.
/// </summary>
public sealed record ExperimentConfig
{
    public required string Name { get; init; }

    /// <summary>The file that was loaded (the end of the <c>extends</c> chain).</summary>
    public required string SourcePath { get; init; }

    /// <summary>The files merged, base first.</summary>
    public required IReadOnlyList<string> Chain { get; init; }

    public required ModelKind Kind { get; init; }

    /// <summary>The model configuration: <c>model.config_path</c>'s file with the inline <c>model.config</c> merged over it (comments dropped, label names filled in from the protocol).</summary>
    public required JsonObject ModelConfig { get; init; }

    public required EncoderFolders Encoders { get; init; }

    public required DataSpec Data { get; init; }

    /// <summary>The streams fed to the model (Table 3's subsets), in audio, text, visual order.</summary>
    public required IReadOnlyList<Modality> Modalities { get; init; }

    public required VideoSampling Video { get; init; }

    public required TrainerOptions Training { get; init; }

    public bool Uses(Modality modality) => Modalities.Contains(modality);

    /// <summary>The model's classes in output order (the loader fills them in from the protocol when the config leaves them out).</summary>
    public IReadOnlyList<string> LabelNames => ModelConfig["label_names"] is JsonArray names
        ? names.Select(n => n!.GetValue<string>()).ToArray()
        : throw new InvalidOperationException($"{SourcePath}: model.config.label_names is not set");
}
