#!/usr/bin/python3
"""Writes the real torch.save files the checkpoint tests read (run with Debian's python3-torch).

Values follow simple formulas so the C# tests can recompute them without a second file format.
"""
import os
import torch

torch.manual_seed(0)


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(4, 3)
        self.norm = torch.nn.BatchNorm1d(3)
        self.emb = torch.nn.Embedding(5, 4)
        self.head = torch.nn.Linear(4, 5, bias=False)
        self.head.weight = self.emb.weight  # tied: one storage, two keys


m = Tiny()
with torch.no_grad():
    m.proj.weight.copy_(torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7)
    m.proj.bias.copy_(torch.tensor([-1.0, 0.5, 2.0]))
    m.emb.weight.copy_(torch.arange(20, dtype=torch.float32).reshape(5, 4) * 0.25 - 1)
    m.norm.running_mean.copy_(torch.tensor([0.1, 0.2, 0.3]))
sd = m.state_dict()

base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
sd["extra.transposed"] = base.t()                      # non-contiguous view of a 4x6 storage
sd["extra.slice"] = base[1:3, 2:5]                      # view with a storage offset
sd["extra.half"] = (torch.arange(6, dtype=torch.float32) / 3).half()
sd["extra.bf16"] = (torch.arange(6, dtype=torch.float32) / 3).bfloat16()
sd["extra.int64"] = torch.arange(5, dtype=torch.int64) * 1000000007
sd["extra.int32"] = torch.tensor([-3, 0, 7], dtype=torch.int32)
sd["extra.bool"] = torch.tensor([True, False, True])
sd["extra.scalar"] = torch.tensor(3.5)
sd["extra.empty"] = torch.zeros(0, 3)

torch.save(sd, "state_dict_p2.bin")
torch.save(sd, "state_dict_p4.bin", pickle_protocol=4)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/wavfusion-pwned",))


torch.save({"weight": torch.zeros(2), "payload": Evil()}, "malicious.bin")
torch.save({"weight": torch.zeros(2), "nested": {"a": 1}}, "not_a_state_dict.bin")


def tiny_wav2vec2_pretraining_state_dict(hidden=16, layers=2, ffn=32, conv=16, pos_kernel=8, pos_groups=2):
    """Hugging Face Wav2Vec2ForPreTraining keys (group-norm family) with seeded random values."""
    g = torch.Generator().manual_seed(1)
    r = lambda *shape: torch.randn(*shape, generator=g) * 0.1
    kernels = [10, 3, 3, 3, 3, 2, 2]
    sd = {}
    for i, k in enumerate(kernels):
        sd[f"wav2vec2.feature_extractor.conv_layers.{i}.conv.weight"] = r(conv, 1 if i == 0 else conv, k)
    sd["wav2vec2.feature_extractor.conv_layers.0.layer_norm.weight"] = 1 + r(conv)
    sd["wav2vec2.feature_extractor.conv_layers.0.layer_norm.bias"] = r(conv)
    sd["wav2vec2.feature_projection.layer_norm.weight"] = 1 + r(conv)
    sd["wav2vec2.feature_projection.layer_norm.bias"] = r(conv)
    sd["wav2vec2.feature_projection.projection.weight"] = r(hidden, conv)
    sd["wav2vec2.feature_projection.projection.bias"] = r(hidden)
    sd["wav2vec2.masked_spec_embed"] = r(hidden)
    sd["wav2vec2.encoder.pos_conv_embed.conv.bias"] = r(hidden)
    sd["wav2vec2.encoder.pos_conv_embed.conv.weight_g"] = 1 + r(1, 1, pos_kernel).abs()
    sd["wav2vec2.encoder.pos_conv_embed.conv.weight_v"] = r(hidden, hidden // pos_groups, pos_kernel)
    sd["wav2vec2.encoder.layer_norm.weight"] = 1 + r(hidden)
    sd["wav2vec2.encoder.layer_norm.bias"] = r(hidden)
    for n in range(layers):
        p = f"wav2vec2.encoder.layers.{n}."
        for proj in ["q_proj", "k_proj", "v_proj", "out_proj"]:
            sd[p + f"attention.{proj}.weight"] = r(hidden, hidden)
            sd[p + f"attention.{proj}.bias"] = r(hidden)
        for norm in ["layer_norm", "final_layer_norm"]:
            sd[p + f"{norm}.weight"] = 1 + r(hidden)
            sd[p + f"{norm}.bias"] = r(hidden)
        sd[p + "feed_forward.intermediate_dense.weight"] = r(ffn, hidden)
        sd[p + "feed_forward.intermediate_dense.bias"] = r(ffn)
        sd[p + "feed_forward.output_dense.weight"] = r(hidden, ffn)
        sd[p + "feed_forward.output_dense.bias"] = r(hidden)
    sd["quantizer.codevectors"] = r(1, 8, 4)
    sd["project_q.weight"] = r(4, 4)
    return sd


os.makedirs("wav2vec2-tiny-bin", exist_ok=True)
torch.save(tiny_wav2vec2_pretraining_state_dict(), "wav2vec2-tiny-bin/pytorch_model.bin")
with open("wav2vec2-tiny-bin/config.json", "w") as f:
    f.write("""{
  "model_type": "wav2vec2", "architectures": ["Wav2Vec2ForPreTraining"],
  "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 32,
  "conv_dim": [16, 16, 16, 16, 16, 16, 16], "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2],
  "conv_bias": false, "feat_extract_norm": "group", "do_stable_layer_norm": false,
  "num_conv_pos_embeddings": 8, "num_conv_pos_embedding_groups": 2, "layer_norm_eps": 1e-05
}
""")
