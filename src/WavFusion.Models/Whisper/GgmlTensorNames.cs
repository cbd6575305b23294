using System.Text.RegularExpressions;

namespace WavFusion.Models.Whisper;

/// <summary>Maps openai/whisper.cpp tensor names to the Hugging Face keys our modules use (convert_openai_to_hf.py's table).</summary>
public static partial class GgmlTensorNames
{
    private static readonly (string From, string To)[] Parts =
    [
        ("attn.query.", "self_attn.q_proj."), ("attn.key.", "self_attn.k_proj."),
        ("attn.value.", "self_attn.v_proj."), ("attn.out.", "self_attn.out_proj."),
        ("cross_attn.query.", "encoder_attn.q_proj."), ("cross_attn.key.", "encoder_attn.k_proj."),
        ("cross_attn.value.", "encoder_attn.v_proj."), ("cross_attn.out.", "encoder_attn.out_proj."),
        ("cross_attn_ln.", "encoder_attn_layer_norm."), ("attn_ln.", "self_attn_layer_norm."),
        ("mlp.0.", "fc1."), ("mlp.2.", "fc2."), ("mlp_ln.", "final_layer_norm."),
    ];

    /// <summary>The Hugging Face key of an openai tensor name, or null when the name is not part of Whisper.</summary>
    public static string? ToHuggingFace(string name)
    {
        switch (name)
        {
            case "encoder.positional_embedding": return "model.encoder.embed_positions.weight";
            case "decoder.positional_embedding": return "model.decoder.embed_positions.weight";
            case "decoder.token_embedding.weight": return "model.decoder.embed_tokens.weight";
        }
        var top = TopLevel().Match(name);
        if (top.Success)
        {
            string module = top.Groups[2].Value switch { "ln_post" or "ln" => "layer_norm", var m => m };
            return $"model.{top.Groups[1].Value}.{module}.{top.Groups[3].Value}";
        }
        var block = Block().Match(name);
        if (!block.Success) return null;
        string rest = block.Groups[3].Value;
        // Longest prefixes first: "cross_attn.query." must not be taken for "attn.query.".
        foreach (var (from, to) in Parts.OrderByDescending(p => p.From.Length))
        {
            if (rest.StartsWith(from, StringComparison.Ordinal))
                return $"model.{block.Groups[1].Value}.layers.{block.Groups[2].Value}.{to}{rest[from.Length..]}";
        }
        return null;
    }

    [GeneratedRegex(@"^(encoder|decoder)\.(conv1|conv2|ln_post|ln)\.(weight|bias)$")]
    private static partial Regex TopLevel();

    [GeneratedRegex(@"^(encoder|decoder)\.blocks\.(\d+)\.(.+)$")]
    private static partial Regex Block();
}
