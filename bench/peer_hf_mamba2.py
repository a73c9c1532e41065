"""Peer for bench_core: one training step of HuggingFace transformers' Mamba2ForCausalLM on CPU (its
pure-PyTorch path), with the geometry of bench_core's `train_hf` case. Prints a RESULT line.

    python3 bench/peer_hf_mamba2.py LAYERS D_MODEL BATCH LENGTH REPEATS
"""
import resource
import statistics
import sys
import time

import torch
from transformers import Mamba2Config, Mamba2ForCausalLM


def main() -> None:
    layers, d_model, batch, length, repeats = (int(a) for a in sys.argv[1:6])
    torch.set_num_threads(2)
    torch.manual_seed(0)
    head_dim = 128
    cfg = Mamba2Config(vocab_size=256, hidden_size=d_model, num_hidden_layers=layers, expand=2, head_dim=head_dim,
                       num_heads=2 * d_model // head_dim, state_size=64, n_groups=1, conv_kernel=4, chunk_size=256,
                       tie_word_embeddings=True, use_bias=False, use_conv_bias=True, residual_in_fp32=True,
                       rms_norm=True)
    model = Mamba2ForCausalLM(cfg)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.1)
    ids = torch.randint(0, 256, (batch, length + 1))
    x = ids[:, :-1].contiguous()
    y = ids[:, 1:].contiguous()
    params = sum(p.numel() for p in model.parameters())

    def step() -> None:
        opt.zero_grad()
        logits = model(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        loss.backward()
        opt.step()

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    step()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    s = statistics.median(times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0 - base
    print(f"RESULT seconds={s:.6f} tokens_per_s={batch * length / s:.1f} peak_mb={peak:.1f} params={params} "
          f"transformers={__import__('transformers').__version__}")


if __name__ == "__main__":
    main()
