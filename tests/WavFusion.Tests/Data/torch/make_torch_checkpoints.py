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
