"""Writes the checked-in fixtures under tests/data/ with the reference Python stack.

    python3 tests/data/make_fixtures.py [torch_save] [tiny_mamba2] [tokenizer] [padded_batches] [published_head]
                                        [mamba1_mixer] [tiny_mamba1]

(no names: all of them).

Needs torch, safetensors and transformers (e.g. the set-up's venv plus `pip install transformers`).
The files are small (tens of KB) and committed, so the C++ tests never need Python; rerun this only to
refresh them. Every expected value the tests compare against is computed here, by PyTorch /
transformers, never by our C++ code.
"""
import collections
import json
import math
import os
import sys
import pathlib
import shutil

import torch
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).resolve().parent


class Evil:
    """An object whose unpickling would run a shell command: the reader must refuse it."""

    def __reduce__(self):
        return (os.system, ("echo this-must-never-run",))


def torch_save_files(out: pathlib.Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 10, bias=False))
    m[1].weight = m[0].weight  # tied: one storage, two names
    sd = m.state_dict()  # OrderedDict with a _metadata attribute
    sd["half"] = torch.randn(3, 2).half()
    sd["bf16"] = torch.randn(5).bfloat16()
    sd["int64"] = torch.arange(-3, 4, dtype=torch.int64)
    sd["view"] = torch.arange(20.0).reshape(4, 5)[:, 1:3]  # offset and strides into a bigger storage
    sd["scalar"] = torch.tensor(2.5, dtype=torch.float64)
    sd["param"] = torch.nn.Parameter(torch.randn(2, 3))
    sd["empty"] = torch.zeros(0, 3)
    sd["bool"] = torch.tensor([True, False, True])
    torch.save(sd, out / "state_dict.bin")
    save_file({k: v.detach().contiguous().clone() for k, v in sd.items()}, out / "state_dict.expected.safetensors")
    torch.save(dict(sd), out / "plain_dict.bin")
    torch.save(sd, out / "legacy.bin", _use_new_zipfile_serialization=False)
    torch.save({"x": Evil()}, out / "evil.bin")


def tiny_mamba2(out: pathlib.Path) -> None:
    from transformers import Mamba2Config, Mamba2ForCausalLM

    torch.manual_seed(1)
    cfg = Mamba2Config(vocab_size=112, hidden_size=32, num_hidden_layers=2, expand=2, head_dim=16, num_heads=4,
                       state_size=16, n_groups=2, conv_kernel=4, chunk_size=8, tie_word_embeddings=True,
                       residual_in_fp32=True, use_bias=False, use_conv_bias=True)
    model = Mamba2ForCausalLM(cfg).eval()
    with torch.no_grad():  # move the norms and the SSM parameters away from their trivial init values
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or name.endswith("norm_f.weight"):
                p.copy_(1 + 0.3 * torch.randn_like(p))
            elif name.endswith("D") or name.endswith("dt_bias"):
                p.add_(0.3 * torch.randn_like(p))
    ids = torch.tensor([[5, 17, 99, 3, 0, 42, 111, 8, 8, 64, 23, 1, 77, 30, 2, 9, 100, 56, 12, 4]])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].float()
    expected = {"ids": ids[0].clone(), "logits": logits.contiguous()}

    # transformers 5 writes only safetensors, so the .bin is written the way older transformers and
    # Diff-Mamba's Trainer (save_safetensors=False) did: torch.save of the state dict, HF names, the
    # tied head saved once (both names on one storage).
    hf_bin = out / "mamba2_tiny_bin"
    shutil.rmtree(hf_bin, ignore_errors=True)
    model.save_pretrained(hf_bin)
    (hf_bin / "generation_config.json").unlink(missing_ok=True)
    (hf_bin / "model.safetensors").unlink()
    torch.save(model.state_dict(), hf_bin / "pytorch_model.bin")
    save_file(expected, hf_bin / "expected_logits.safetensors")

    # The same weights as an original mamba_ssm checkpoint: its config keys and names, the embedding
    # and the head on one storage, an un-padded vocab_size with pad_vocab_size_multiple.
    ssm = out / "mamba2_tiny_mamba_ssm"
    shutil.rmtree(ssm, ignore_errors=True)
    ssm.mkdir(parents=True)
    sd = collections.OrderedDict()
    for k, v in model.state_dict().items():
        if k == "lm_head.weight":
            continue
        sd[k.replace("backbone.embeddings.", "backbone.embedding.")] = v.clone()
    sd["lm_head.weight"] = sd["backbone.embedding.weight"]
    torch.save(sd, ssm / "pytorch_model.bin")
    (ssm / "config.json").write_text(json.dumps({
        "d_model": 32, "d_intermediate": 0, "n_layer": 2, "vocab_size": 100,
        "ssm_cfg": {"layer": "Mamba2", "d_state": 16, "d_conv": 4, "expand": 2, "headdim": 16, "ngroups": 2,
                    "chunk_size": 8},
        "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": True, "residual_in_fp32": True,
        "fused_add_norm": True, "pad_vocab_size_multiple": 16, "tie_embeddings": True}, indent=2))
    save_file(expected, ssm / "expected_logits.safetensors")

    # Sharded torch.save files with pytorch_model.bin.index.json, in bf16, as older transformers
    # wrote large checkpoints. Expected logits: the bf16-rounded weights run in fp32.
    sh = out / "mamba2_tiny_sharded_bf16"
    shutil.rmtree(sh, ignore_errors=True)
    model.save_pretrained(sh)
    for f in sh.glob("*.safetensors"):
        f.unlink()
    (sh / "generation_config.json").unlink(missing_ok=True)
    names = [k for k in model.state_dict() if k != "lm_head.weight"]
    shards = [names[: len(names) // 2], names[len(names) // 2:]]
    bf = {k: v.to(torch.bfloat16) for k, v in model.state_dict().items()}
    weight_map, total = {}, 0
    for i, part in enumerate(shards):
        fname = f"pytorch_model-{i + 1:05d}-of-{len(shards):05d}.bin"
        torch.save({k: bf[k] for k in part}, sh / fname)
        for k in part:
            weight_map[k] = fname
            total += bf[k].numel() * 2
    (sh / "pytorch_model.bin.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))
    with torch.no_grad():
        model.load_state_dict({k: v.float() for k, v in bf.items()})
        ref = model(input_ids=ids).logits[0].float()
    save_file({"ids": ids[0].clone(), "logits": ref.contiguous()}, sh / "expected_logits.safetensors")


def _pad_left(rows, pad):
    """Left-pads token lists to the longest (the seed's padding_side = left): ids, attention mask, labels
    (-100 on padding and, in the second row, on the first real token too, as a needle prompt would)."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r):] = torch.tensor(r)
        mask[i, width - len(r):] = 1
        labels[i, width - len(r):] = torch.tensor(r)
    labels[1, width - len(rows[1])] = -100
    return ids, mask, labels


class _SubLN(torch.nn.Module):
    """Diff-Mamba's subln: RMSNorm with weight, eps 1e-5, normalised in fp32."""

    def __init__(self, d):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(d))

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-5)).to(x.dtype) * self.weight


class _DiffMixer(torch.nn.Module):
    """The HF DiffMamba2Block's sub-layer built from two transformers Mamba2Mixers (expand 1, head_dim / 2,
    same heads): subln(mixer_1(h) − λ·mixer_2(h))·(1 − λ_init), λ = sigmoid(Σ lambda_q1) + λ_init."""

    def __init__(self, half_cfg, d, layer_idx):
        super().__init__()
        from transformers.models.mamba2.modeling_mamba2 import Mamba2Mixer

        self.mixer_1 = Mamba2Mixer(half_cfg, layer_idx=layer_idx)
        self.mixer_2 = Mamba2Mixer(half_cfg, layer_idx=layer_idx)
        self.lambda_q1 = torch.nn.Parameter(0.05 * torch.randn(d))
        self.subln = _SubLN(d)
        self.lambda_init = 0.8 - 0.6 * math.exp(-0.3 * layer_idx)

    def forward(self, h, cache=None, attention_mask=None, **kwargs):
        lam = torch.sigmoid(self.lambda_q1.sum()) + self.lambda_init
        y1 = self.mixer_1(h, attention_mask=attention_mask)
        y2 = self.mixer_2(h, attention_mask=attention_mask)
        return self.subln(y1 - lam * y2) * (1 - self.lambda_init)


def padded_batches(out: pathlib.Path) -> None:
    """Left-padded batches with transformers' attention mask: a Mamba2ForCausalLM and a Diff-Mamba2 model
    (block 0 differential, block 1 Mamba2: diffmamba_settings "alternate") whose differential sub-layer is
    made of transformers' own Mamba2Mixers. Expected: logits at every position and the mean loss over
    the labels (-100 ignored), as transformers computes them with the mask."""
    from transformers import Mamba2Config, Mamba2ForCausalLM

    def config(expand, head_dim=16):
        return Mamba2Config(vocab_size=112, hidden_size=32, num_hidden_layers=2, expand=expand, head_dim=head_dim,
                            num_heads=4,
                            state_size=16, n_groups=2, conv_kernel=4, chunk_size=8, tie_word_embeddings=True,
                            residual_in_fp32=True, use_bias=False, use_conv_bias=True, pad_token_id=0)

    rows = [[5, 17, 99, 3, 21, 42, 111, 8, 8, 64, 23, 1, 77, 30, 2, 9],
            [100, 56, 12, 4, 71, 6, 33, 90, 15]]
    ids, mask, labels = _pad_left(rows, 0)
    for name, diff in (("mamba2_tiny_padded", False), ("mamba2_tiny_diff_padded", True)):
        torch.manual_seed(11)
        model = Mamba2ForCausalLM(config(expand=2)).eval()
        if diff:
            model.backbone.layers[0].mixer = _DiffMixer(config(expand=1, head_dim=8), 32, 0)
            model.eval()  # the new sub-modules too: training mode would take the fused path, unmasked after the conv
        with torch.no_grad():  # move the norms, D and dt_bias away from their trivial init values
            for pname, p in model.named_parameters():
                if pname.endswith("norm.weight") or pname.endswith("norm_f.weight") or pname.endswith("subln.weight"):
                    p.copy_(1 + 0.3 * torch.randn_like(p))
                elif pname.endswith(".D") or pname.endswith("dt_bias") or pname.endswith("conv1d.bias"):
                    p.add_(0.3 * torch.randn_like(p))
            res = model(input_ids=ids, attention_mask=mask, labels=labels)
            unmasked = model(input_ids=ids, labels=labels)
        d = out / name
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        cfg = model.config.to_dict()
        if diff:
            cfg["diffmamba"] = True
            cfg["diffmamba_settings"] = "alternate"
            cfg["architectures"] = ["DiffMamba2ForCausalLM"]
        else:
            cfg["architectures"] = ["Mamba2ForCausalLM"]
        keep = ("vocab_size", "hidden_size", "num_hidden_layers", "expand", "head_dim", "num_heads", "state_size",
                "n_groups", "conv_kernel", "chunk_size", "tie_word_embeddings", "residual_in_fp32", "use_bias",
                "use_conv_bias", "layer_norm_epsilon", "time_step_limit", "time_step_min", "time_step_max",
                "time_step_floor", "rms_norm", "norm_before_gate", "pad_token_id", "eos_token_id", "bos_token_id",
                "hidden_act", "architectures", "model_type", "diffmamba", "diffmamba_settings")
        (d / "config.json").write_text(json.dumps({k: v for k, v in cfg.items() if k in keep}, indent=2))
        sd = {k.replace(".mixer.mixer_", ".mixer_").replace(".mixer.lambda_q1", ".lambda_q1")
              .replace(".mixer.subln.", ".subln."): v.detach().contiguous().clone()
              for k, v in model.state_dict().items() if k != "lm_head.weight"}
        save_file(sd, d / "model.safetensors")
        save_file({"ids": ids, "mask": mask, "labels": labels, "logits": res.logits.float().contiguous(),
                   "loss": res.loss.double().reshape(1), "unmasked_loss": unmasked.loss.double().reshape(1)},
                  d / "expected_padded.safetensors")
        print(name, "loss with mask", res.loss.item(), "without", unmasked.loss.item())


def published_head(out: pathlib.Path) -> None:
    """The output layer of the published language_modeling code for div_val 1 (text8, enwik8), written from
    its formula (ProjectedAdaptiveLogSoftmax with cutoffs beyond the vocabulary): the head softmax runs over
    the V tokens (tied weight + per-token bias) and the 3 cluster logits, and every target is a head token,
    so log p(token) = log_softmax([h·Wᵀ + b, h·Cᵀ + c])[:V]. Also the bias-only softmax (no clusters)."""
    torch.manual_seed(7)
    v, d, n = 27, 16, 12
    h = torch.randn(n, d, dtype=torch.float64)
    w = 0.3 * torch.randn(v, d, dtype=torch.float64)
    b = (torch.rand(v, dtype=torch.float64) * 2 - 1) / math.sqrt(d)
    cw = 0.2 * torch.randn(3, d, dtype=torch.float64)
    cb = 0.5 * torch.randn(3, dtype=torch.float64)
    head_weight = torch.cat([w, cw], 0)  # weight[0:cutoffs[0]] is every row when cutoffs[0] >= V
    head_bias = torch.cat([b, cb], 0)
    faithful = torch.log_softmax(h @ head_weight.T + head_bias, 1)[:, :v]
    bias_only = torch.log_softmax(h @ w.T + b, 1)
    out.mkdir(parents=True, exist_ok=True)
    save_file({"h": h.float(), "weight": w.float(), "output_bias": b.float(), "cluster_weight": cw.float(),
               "cluster_bias": cb.float(), "logp_faithful": faithful.float(), "logp_bias_only": bias_only.float()},
              out / "published_head.safetensors")


TRICKY = [
    "Hello world! This is a test.",
    "The capital of France is",
    "don't you'll we've I'm she'd they're it's Don'T",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber \u00c5ngstr\u00f6m",
    "cafe\u0301 decomposed: e\u0301 a\u0308 n\u0303",
    "\u4e2d\u6587\u5b57\u7b26 \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \ud55c\uad6d\uc5b4",
    "emoji \U0001F600\U0001F680 flags \U0001F1EB\U0001F1F7 family \U0001F468\u200d\U0001F469\u200d\U0001F467",
    "a  b   c    d" + " " * 30 + "e",
    "tabs\tand\nnewlines\n\nand\r\nwindows\r\n",
    "trailing spaces   ",
    "   leading spaces",
    "numbers 3.14159 1,000,000 2026-11-30 \u0661\u0662\u0663 \u2167",
    "punctuation!!! ??? ... --- (brackets) [x] {y} <z> @#$%^&*",
    "<|endoftext|>special<|padding|> tokens <|endoftext|>",
    "mixed\u00a0nbsp\u2003em\u3000ideographic space",
    "",
    " ",
    "\n",
]


def tokenizer_fixture(out: pathlib.Path) -> None:
    """A byte-level BPE tokenizer.json laid out like GPT-NeoX's (NFC, ByteLevel, the two special tokens,
    the 23 space-run added tokens), trained by HF tokenizers on the fortunes text, and the ids HF
    tokenizers gives for English lines and for TRICKY (accents, CJK, emoji, whitespace, specials)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    import tokenizers

    src = pathlib.Path("/usr/share/games/fortunes")
    lines = []
    for f in sorted(src.glob("*")):
        if f.suffix in (".dat", ".u8") or f.is_dir():
            continue
        lines += [ln for ln in f.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip() != "%"]
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=4000, special_tokens=["<|endoftext|>", "<|padding|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer)
    tok.add_tokens([AddedToken(" " * n, normalized=True) for n in range(24, 1, -1)])
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    cases = [{"text": t, "ids": tok.encode(t).ids} for t in TRICKY + lines[:400]]
    (out / "expected_ids.json").write_text(json.dumps({
        "generator": f"tokenizers {tokenizers.__version__}", "cases": cases}, ensure_ascii=True, indent=0))


def mamba1_mixer(out: pathlib.Path) -> None:
    """transformers' MambaMixer (Mamba-1) on its torch path: weights (HF names), inputs and outputs, with
    and without a left-padding attention mask."""
    from transformers import MambaConfig
    from transformers.models.mamba.modeling_mamba import MambaMixer

    torch.manual_seed(3)
    cfg = MambaConfig(hidden_size=32, state_size=8, expand=2, conv_kernel=4, time_step_rank=5, use_bias=False,
                      use_conv_bias=True, use_mambapy=False)
    mixer = MambaMixer(cfg, layer_idx=0).eval()
    with torch.no_grad():  # away from the init's symmetric values: every channel different
        mixer.A_log.add_(0.3 * torch.randn_like(mixer.A_log))
        mixer.D.add_(0.3 * torch.randn_like(mixer.D))
        mixer.conv1d.bias.add_(0.1 * torch.randn_like(mixer.conv1d.bias))
    x = torch.randn(2, 37, 32)
    mask = torch.ones(2, 37, dtype=torch.long)
    mask[1, :9] = 0  # the second row left-padded by 9
    with torch.no_grad():
        y = mixer(x)
        y_masked = mixer(x, attention_mask=mask)
    tensors = {k: v.detach().contiguous() for k, v in mixer.state_dict().items()}
    tensors.update({"input": x, "output": y.contiguous(), "mask": mask.to(torch.float32),
                    "output_masked": y_masked.contiguous()})
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, out / "mamba1_mixer.safetensors",
              metadata={"d_model": "32", "d_state": "8", "expand": "2", "conv_kernel": "4", "dt_rank": "5"})


def tiny_mamba1(out: pathlib.Path) -> None:
    """A tiny transformers MambaForCausalLM (Mamba-1) saved as HF writes it, with its logits."""
    from transformers import MambaConfig, MambaForCausalLM

    torch.manual_seed(4)
    cfg = MambaConfig(vocab_size=96, hidden_size=32, num_hidden_layers=2, state_size=8, expand=2, conv_kernel=4,
                      time_step_rank="auto", use_bias=False, use_conv_bias=True, residual_in_fp32=True,
                      tie_word_embeddings=True, use_mambapy=False)
    model = MambaForCausalLM(cfg).eval()
    with torch.no_grad():  # away from the init's symmetric values
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or name.endswith("norm_f.weight"):
                p.copy_(1 + 0.3 * torch.randn_like(p))
            elif name.endswith("A_log") or name.endswith(".D"):
                p.add_(0.3 * torch.randn_like(p))
    ids = torch.tensor([[5, 17, 90, 3, 0, 42, 95, 8, 8, 64, 23, 1, 77, 30, 2, 9, 60, 56, 12, 4]])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].float()
    d = out / "mamba1_tiny"
    shutil.rmtree(d, ignore_errors=True)
    model.save_pretrained(d)
    (d / "generation_config.json").unlink(missing_ok=True)
    save_file({"ids": ids[0].clone(), "logits": logits.contiguous()}, d / "expected_logits.safetensors")


if __name__ == "__main__":
    makers = {"torch_save": lambda: torch_save_files(HERE / "torch_save"),
              "tiny_mamba2": lambda: tiny_mamba2(HERE / "checkpoints"),
              "tokenizer": lambda: tokenizer_fixture(HERE / "tokenizer"),
              "padded_batches": lambda: padded_batches(HERE / "checkpoints"),
              "published_head": lambda: published_head(HERE / "lm_head"),
              "mamba1_mixer": lambda: mamba1_mixer(HERE / "checkpoints"),
              "tiny_mamba1": lambda: tiny_mamba1(HERE / "checkpoints")}
    names = sys.argv[1:] or list(makers)
    for n in names:
        if n not in makers:
            sys.exit(f"unknown fixture {n!r}; choose from {', '.join(makers)}")
        makers[n]()
    print("fixtures written under", HERE)
