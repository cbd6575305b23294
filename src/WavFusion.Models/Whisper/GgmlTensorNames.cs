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

    /// <summary>The openai (whisper.cpp) name of a Hugging Face key: the inverse of <see cref="ToHuggingFace"/>; null outside Whisper.</summary>
    public static string? FromHuggingFace(string key)
    {
        switch (key)
        {
            case "model.encoder.embed_positions.weight": return "encoder.positional_embedding";
            case "model.decoder.embed_positions.weight": return "decoder.positional_embedding";
            case "model.decoder.embed_tokens.weight": return "decoder.token_embedding.weight";
        }
        var top = HfTopLevel().Match(key);
        if (top.Success)
        {
            string side = top.Groups[1].Value;
            string module = top.Groups[2].Value == "layer_norm" ? side == "encoder" ? "ln_post" : "ln" : top.Groups[2].Value;
            return $"{side}.{module}.{top.Groups[3].Value}";
        }
        var block = HfBlock().Match(key);
        if (!block.Success) return null;
        string rest = block.Groups[3].Value;
        foreach (var (from, to) in Parts.OrderByDescending(p => p.To.Length))
        {
            if (rest.StartsWith(to, StringComparison.Ordinal))
                return $"{block.Groups[1].Value}.blocks.{block.Groups[2].Value}.{from}{rest[to.Length..]}";
        }
        return null;
    }

    [GeneratedRegex(@"^model\.(encoder|decoder)\.(conv1|conv2|layer_norm)\.(weight|bias)$")]
    private static partial Regex HfTopLevel();

    [GeneratedRegex(@"^model\.(encoder|decoder)\.layers\.(\d+)\.(.+)$")]
    private static partial Regex HfBlock();

    [GeneratedRegex(@"^(encoder|decoder)\.(conv1|conv2|ln_post|ln)\.(weight|bias)$")]
    private static partial Regex TopLevel();

    [GeneratedRegex(@"^(encoder|decoder)\.blocks\.(\d+)\.(.+)$")]
    private static partial Regex Block();
}
