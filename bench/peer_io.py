"""Peer for bench_io: the same checkpoint loads and tokenizer encodes in the Python stack.

    python3 bench/peer_io.py tobin SAFETENSORS_DIR BIN_DIR     # same weights as pytorch_model.bin
    python3 bench/peer_io.py load DIR                          # transformers from_pretrained
    python3 bench/peer_io.py tokenize TOKENIZER_JSON TEXT REPEATS
Each timing prints one RESULT line.
"""
import os
import resource
import shutil
import statistics
import sys
import time


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    cmd = sys.argv[1]
    if cmd == "tobin":
        import torch
        from safetensors.torch import load_file
        src, dst = sys.argv[2], sys.argv[3]
        os.makedirs(dst, exist_ok=True)
        shutil.copy(os.path.join(src, "config.json"), dst)
        torch.save(load_file(os.path.join(src, "model.safetensors")), os.path.join(dst, "pytorch_model.bin"))
    elif cmd == "load":
        import torch
        import transformers
        torch.set_num_threads(2)
        base = rss_mb()
        t0 = time.perf_counter()
        model = transformers.Mamba2ForCausalLM.from_pretrained(sys.argv[2])
        s = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
        n = sum(p.numel() for p in model.parameters())
        print(f"RESULT seconds={s:.3f} peak_mb={peak:.0f} params={n} transformers={transformers.__version__}")
    elif cmd == "tokenize":
        import tokenizers
        tok = tokenizers.Tokenizer.from_file(sys.argv[2])
        text = open(sys.argv[3], encoding="utf-8").read()
        reps = int(sys.argv[4])
        tok.encode(text)
        times, n = [], 0
        for _ in range(reps):
            t0 = time.perf_counter()
            n = len(tok.encode(text).ids)
            times.append(time.perf_counter() - t0)
        s = statistics.median(times)
        size = len(text.encode("utf-8"))
        print(f"RESULT seconds={s:.4f} mb_per_s={size / s / 1e6:.2f} tokens={n} bytes={size} "
              f"tokenizers={tokenizers.__version__}")
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
