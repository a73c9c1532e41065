"""GPU peers for bench_kernels (issue 18), measured on the same GPU in the same device check:

  ssd       mamba-ssm's Triton SSD (mamba_chunk_scan_combined), forward and forward+backward, at bench_kernels'
            shape (B 4, L 4096, H 32, P 64, N 128, one group, chunk 256, bf16 x/B/C, fp32 dt/A/D). Its Python
            and Triton source comes from the mamba-ssm sdist (--mamba-ssm DIR, the unpacked sdist): only its
            ops/triton and utils modules are imported, under a package of their own, so no CUDA extension
            is built.
  hf-train  transformers' Mamba2ForCausalLM at the 370M shape (48 layers, d_model 1024, 32 heads of 64, state
            128) on its pure-PyTorch path: one AdamW training step under bf16 autocast, tokens/s.
  table     the comparison: bench_kernels' output (its markdown rows and "working memory" lines) and the
            peers' JSON, as a markdown table with ratios.

Times are medians of CUDA-event timings after warm-up; memory is the peak the timed call adds above what was
allocated before it (bench_kernels measures its rows the same way).

    python3 bench/peer_gpu.py ssd --mamba-ssm DIR --out ssd.json
    python3 bench/peer_gpu.py hf-train [--batch 2 --length 2048 --steps 3] --out hf.json
    python3 bench/peer_gpu.py table bench.txt ssd.json hf.json
Exit 77: skipped (no GPU). `table` exits 1 when a goal is missed (SSD fwd+bwd ≥ 1.0× mamba-ssm, 370M Diff-Mamba2
training ≥ 3× transformers, working memory no more than the peers'). The hf-train step also runs on the CPU with --device cpu and a smaller --layers/--d_model (a rehearsal).
"""
import argparse
import importlib
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time


def median_ms(fn, warmup, repeats, cuda):
    import torch
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def working_mib(fn, cuda):
    import torch
    if not cuda:
        return None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.max_memory_allocated()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - before) / 2**20


def import_mamba_ssd(sdist):
    """mamba_chunk_scan_combined from an unpacked mamba-ssm sdist, without its CUDA extensions: the package's own
    __init__ imports them, so its ops/triton and utils folders are copied under an empty package of that name."""
    src = os.path.join(sdist, "mamba_ssm")
    if not os.path.isfile(os.path.join(src, "ops", "triton", "ssd_combined.py")):
        sys.exit(f"{sdist} is not an unpacked mamba-ssm sdist (no mamba_ssm/ops/triton/ssd_combined.py)")
    root = tempfile.mkdtemp(prefix="mamba-ssm-triton-")
    pkg = os.path.join(root, "mamba_ssm")
    os.makedirs(os.path.join(pkg, "ops"))
    open(os.path.join(pkg, "__init__.py"), "w").close()
    open(os.path.join(pkg, "ops", "__init__.py"), "w").close()
    shutil.copytree(os.path.join(src, "ops", "triton"), os.path.join(pkg, "ops", "triton"))
    shutil.copytree(os.path.join(src, "utils"), os.path.join(pkg, "utils"))
    sys.path.insert(0, root)
    module = importlib.import_module("mamba_ssm.ops.triton.ssd_combined")
    version = re.search(r"mamba_ssm-([^/]+?)/?$", os.path.abspath(sdist))
    return module.mamba_chunk_scan_combined, version.group(1) if version else "unknown"


def run_ssd(args):
    import torch
    fn, version = import_mamba_ssd(args.mamba_ssm)
    if args.import_only:
        print(f"imported mamba_chunk_scan_combined from mamba-ssm {version} (Triton source only)")
        return {}
    if not torch.cuda.is_available():
        print("ssd: SKIPPED, no GPU (Triton's kernels need one)")
        sys.exit(77)
    torch.manual_seed(0)
    b, l, h, p, n, g, q = 4, 4096, 32, 64, 128, 1, 256
    dev, bf = "cuda", torch.bfloat16
    x = torch.randn(b, l, h, p, device=dev, dtype=bf)
    bm = torch.randn(b, l, g, n, device=dev, dtype=bf)
    cm = torch.randn(b, l, g, n, device=dev, dtype=bf)
    dt = torch.nn.functional.softplus(torch.randn(b, l, h, device=dev) - 1.0)
    a = -(torch.rand(h, device=dev) + 0.5)
    d = torch.randn(h, device=dev)
    dy = torch.randn(b, l, h, p, device=dev, dtype=bf)

    def forward():
        with torch.no_grad():
            return fn(x, dt, a, bm, cm, q, D=d)

    leaves = [t.clone().requires_grad_(True) for t in (x, dt, bm, cm)]

    def forward_backward():
        y = fn(leaves[0], leaves[1], a, leaves[2], leaves[3], q, D=d)
        torch.autograd.backward(y, dy)

    y = forward()
    if not torch.isfinite(y.float()).all():
        sys.exit("ssd: mamba_chunk_scan_combined gave non-finite outputs")
    shape = "B4 L4096 H32 P64 N128 bf16"
    result = {
        "peer": f"mamba-ssm {version} Triton (mamba_chunk_scan_combined)",
        "device": torch.cuda.get_device_name(0),
        "rows": {
            "ssd_chunked forward": {"shape": shape, "ms": median_ms(forward, 3, 10, True)},
            "ssd_chunked forward+backward": {"shape": shape, "ms": median_ms(forward_backward, 3, 10, True),
                                             "working_mib": working_mib(forward_backward, True)},
        },
    }
    return result


def run_hf_train(args):
    import torch
    import transformers
    from transformers import Mamba2Config, Mamba2ForCausalLM
    from transformers.models.mamba2 import modeling_mamba2
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        print("hf-train: SKIPPED, no GPU (pass --device cpu for a rehearsal)")
        sys.exit(77)
    torch.manual_seed(0)
    heads = 2 * args.d_model // 64
    cfg = Mamba2Config(vocab_size=args.vocab, hidden_size=args.d_model, num_hidden_layers=args.layers, expand=2,
                       head_dim=64, num_heads=heads, state_size=128, n_groups=1, conv_kernel=4, chunk_size=256,
                       tie_word_embeddings=True, use_bias=False, use_conv_bias=True, residual_in_fp32=True,
                       rms_norm=True)
    model = Mamba2ForCausalLM(cfg).to(args.device)
    model.train()
    fast = bool(getattr(modeling_mamba2, "is_fast_path_available", False))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = torch.randint(0, args.vocab, (args.batch, args.length + 1), device=args.device)
    x, y = ids[:, :-1].contiguous(), ids[:, 1:].contiguous()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=args.device, dtype=torch.bfloat16):
            logits = model(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    loss = step()
    if not torch.isfinite(loss):
        sys.exit("hf-train: the loss is not finite")
    ms = median_ms(step, 1, args.steps, cuda)
    tokens = args.batch * args.length
    return {
        "peer": f"transformers {transformers.__version__} Mamba2ForCausalLM, "
                f"{'its fast path (mamba-ssm kernels)' if fast else 'pure-PyTorch path'}",
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "fast_path": fast,
        "rows": {
            "training step mamba2": {
                "shape": f"{args.layers} layers, d_model {args.d_model}, batch {args.batch}, L {args.length}, bf16 autocast",
                "tokens_per_s": tokens / (ms * 1e-3),
                "working_mib": working_mib(step, cuda),
                "parameters": sum(t.numel() for t in model.parameters()),
            }
        },
    }


def parse_ours(path):
    """bench_kernels' output: its markdown rows and its working-memory lines."""
    ours = {"ssd": {}, "train": {}, "memory": {}}
    device = None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"## bench_kernels — (.+?), LibTorch", line)
        if m:
            device = m.group(1)
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) == 7 and cells[0].startswith("ssd_chunked"):
            ours["ssd"][cells[0]] = {"shape": cells[1], "ms": float(cells[2])}
        elif len(cells) == 4 and cells[0] in ("mamba2", "diffmamba2"):
            ours["train"][cells[0]] = float(cells[1])
        m = re.match(r"working memory, (.+): ([0-9.]+) MiB", line)
        if m:
            ours["memory"][m.group(1)] = float(m.group(2))
    ours["device"] = device
    return ours


def run_table(args):
    ours = parse_ours(args.ours)
    peers = [json.load(open(p)) for p in args.peers]
    out = [f"| comparison ({ours['device'] or 'device unknown'}) | ours | peer | ratio (goal) |", "|---|---:|---:|---:|"]
    failed = []

    def memory_of(prefix):
        return next((v for k, v in ours["memory"].items() if k.startswith(prefix)), None)

    for peer in peers:
        if peer.get("device") and ours["device"] and peer["device"] not in ours["device"] and ours["device"] not in peer["device"]:
            failed.append(f"{peer['peer']} ran on {peer['device']}, ours on {ours['device']}")
        for name, row in peer["rows"].items():
            if name.startswith("ssd_chunked") and name in ours["ssd"]:
                mine = ours["ssd"][name]["ms"]
                ratio = row["ms"] / mine
                goal = " (≥ 1.0×)" if name.endswith("forward+backward") else ""
                out.append(f"| {name}, {row['shape']}: time vs {peer['peer']} | {mine:.3f} ms | {row['ms']:.3f} ms | "
                           f"{ratio:.2f}×{goal} |")
                if goal and ratio < 1.0:
                    failed.append(f"{name}: {ratio:.2f}× of {peer['peer']} (goal ≥ 1.0×)")
                mem = memory_of("ssd_chunked forward+backward") if "working_mib" in row else None
                if mem is not None and row.get("working_mib") is not None:
                    out.append(f"| {name}: working memory | {mem:.0f} MiB | {row['working_mib']:.0f} MiB | "
                               f"{mem / max(row['working_mib'], 1e-9):.2f}× (≤ 1.0×) |")
                    if mem > row["working_mib"]:
                        failed.append(f"{name}: working memory {mem:.0f} MiB above the peer's {row['working_mib']:.0f} MiB")
            if name == "training step mamba2":
                for family in ("mamba2", "diffmamba2"):
                    if family not in ours["train"]:
                        continue
                    mine = ours["train"][family]
                    ratio = mine / row["tokens_per_s"]
                    goal = " (≥ 3×)" if family == "diffmamba2" else ""
                    out.append(f"| training {family}, {row['shape']}: tokens/s vs {peer['peer']} | {mine:.0f} | "
                               f"{row['tokens_per_s']:.0f} | {ratio:.2f}×{goal} |")
                    if goal and ratio < 3.0:
                        failed.append(f"training {family}: {ratio:.2f}× of {peer['peer']} (goal ≥ 3×)")
                    mem = memory_of(f"training step {family}")
                    if mem is not None and row.get("working_mib") is not None:
                        out.append(f"| training {family}: working memory | {mem:.0f} MiB | {row['working_mib']:.0f} MiB | "
                                   f"{mem / max(row['working_mib'], 1e-9):.2f}× (≤ 1.0×) |")
                        if mem > row["working_mib"]:
                            failed.append(f"training {family}: working memory above the peer's")
    print("\n".join(out))
    for f in failed:
        print(f"goal missed: {f}")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("ssd")
    s.add_argument("--mamba-ssm", required=True, help="the unpacked mamba-ssm sdist")
    s.add_argument("--import-only", action="store_true", help="only check that the Triton source imports")
    s.add_argument("--out")
    h = sub.add_parser("hf-train")
    h.add_argument("--device", default="cuda")
    h.add_argument("--layers", type=int, default=48)
    h.add_argument("--d_model", type=int, default=1024)
    h.add_argument("--vocab", type=int, default=50288)
    h.add_argument("--batch", type=int, default=2)
    h.add_argument("--length", type=int, default=2048)
    h.add_argument("--steps", type=int, default=3)
    h.add_argument("--out")
    t = sub.add_parser("table")
    t.add_argument("ours", help="bench_kernels' output")
    t.add_argument("peers", nargs="+", help="the peers' JSON")
    args = ap.parse_args()
    if args.mode == "table":
        sys.exit(run_table(args))
    result = run_ssd(args) if args.mode == "ssd" else run_hf_train(args)
    if result:
        print(json.dumps(result, indent=1))
        if args.out:
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
