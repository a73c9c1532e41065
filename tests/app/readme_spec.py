"""What tst_readme.py needs to run each README command: placeholder bindings, the size options made
small, what it must print and write, and the small data made for it. Keyed by the README's exact
command text (continuations joined, trailing comment dropped): change a README command and its entry
here must change with it, or the suite fails.

Bindings may be strings ({work}, {ws}, {share} and ctx.vars expand) or functions of (ctx, variant).
"""
import array
import json
import os
import random
import signal
import sqlite3
import struct
import subprocess
import time
from pathlib import Path

TASKS = ["qa1", "qa2", "qa3", "qa4", "qa5"]
SEED_LENGTHS = ["0k", "1k", "2k", "4k", "8k", "16k", "32k", "64k"]
PROMPT = "instruction_no_examples_no_post_prompt_no_chat_template_no_system_prompt_no"
NEEDLE = "diffmamba2-370m-needle-finetune"


def english(source: Path, chars: int) -> str:
    """English prose for corpora: the fortunes text when installed, else this project's docs."""
    parts = []
    fortunes = Path("/usr/share/games/fortunes")
    if fortunes.is_dir():
        for f in sorted(fortunes.iterdir()):
            if f.is_file() and not f.suffix:
                parts.append(f.read_text(encoding="utf-8", errors="replace").replace("%\n", " "))
    parts.append((source / "README.md").read_text(encoding="utf-8"))
    text = " ".join(" ".join(parts).split())
    return (text * (chars // max(len(text), 1) + 1))[:chars]


def write_safetensors(path: Path, tensors: dict):
    header, blobs, offset = {}, [], 0
    for name, (shape, values) in tensors.items():
        data = array.array("f", values).tobytes()
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def hf_mamba2(source: Path, out: Path):
    """A tiny random HuggingFace Mamba2 directory whose vocabulary fits the test tokenizer."""
    out.mkdir(parents=True, exist_ok=True)
    cfg = json.loads((source / "tests/data/checkpoints/mamba2_tiny_bin/config.json").read_text())
    cfg["vocab_size"] = 4100
    (out / "config.json").write_text(json.dumps(cfg, indent=1))
    (out / "tokenizer.json").write_bytes((source / "tests/data/tokenizer/tokenizer.json").read_bytes())
    rng = random.Random(0)
    h, v, L = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    inner, g, n, heads, k = cfg["expand"] * h, cfg["n_groups"], cfg["state_size"], cfg["num_heads"], cfg["conv_kernel"]
    rnd = lambda *shape: (shape, [rng.gauss(0, 0.1) for _ in range(_numel(shape))])
    ones = lambda m: ((m,), [1.0] * m)
    t = {"backbone.embeddings.weight": rnd(v, h), "backbone.norm_f.weight": ones(h)}
    for i in range(L):
        p = f"backbone.layers.{i}."
        t[p + "norm.weight"] = ones(h)
        t[p + "mixer.in_proj.weight"] = rnd(2 * inner + 2 * g * n + heads, h)
        t[p + "mixer.conv1d.weight"] = rnd(inner + 2 * g * n, 1, k)
        t[p + "mixer.conv1d.bias"] = rnd(inner + 2 * g * n)
        t[p + "mixer.dt_bias"] = ((heads,), [-2.0 + 0.1 * j for j in range(heads)])
        t[p + "mixer.A_log"] = ((heads,), [__import__("math").log(j + 1) for j in range(heads)])
        t[p + "mixer.D"] = ones(heads)
        t[p + "mixer.norm.weight"] = ones(inner)
        t[p + "mixer.out_proj.weight"] = rnd(h, inner)
    write_safetensors(out / "model.safetensors", t)


def per_token_runs(ctx):
    """The ids of the default workspace's finished per-token-loss runs, newest first."""
    db = sqlite3.connect(ctx.ws / "runs.db")
    rows = db.execute("SELECT id FROM runs WHERE kind = 'per-token-loss' AND status = 'finished' ORDER BY id DESC").fetchall()
    db.close()
    return [r[0] for r in rows]


def second_per_token_run(ctx):
    """Mamba2's per-token loss beside Diff-Mamba2's (the README's per-token-loss command made that one)."""
    if len(per_token_runs(ctx)) < 2:
        ctx.run_cli("per-token-loss", "--ckpt_path", ctx.vars["mamba_demo"], "--data", ctx.work / "pg19", "--eval_len",
                    "65536", "--eval_tokens", "65536", "--output_dir", ctx.work / "per-token-mamba2", "--quiet")


def last_sweep(ctx, kind):
    """The newest sweep of that kind in the default workspace."""
    db = sqlite3.connect(ctx.ws / "runs.db")
    row = db.execute("SELECT id FROM sweeps WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)).fetchone()
    db.close()
    if not row:
        raise AssertionError(f"no {kind} sweep in {ctx.ws}")
    return row[0]


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def babilong_files(out: Path, lengths):
    """Files in the published BABILong layout (<length>/<task>.jsonl with input, question, target)."""
    people, places = ["Mary", "John", "Daniel", "Sandra"], ["kitchen", "garden", "office", "hallway", "bathroom"]
    rng = random.Random(1)
    for length in lengths:
        (out / length).mkdir(parents=True, exist_ok=True)
        for task in TASKS:
            rows = []
            for _ in range(4):
                who, where = rng.choice(people), rng.choice(places)
                rows.append({"input": f"The sun rose. {who} went to the {where}. The day went on.",
                             "question": f"Where is {who}?", "target": where})
            (out / length / f"{task}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def seed_csvs(folder: Path, name: str, seed: int):
    """A model's per-cell CSVs in the seed's format, answers right with a probability that depends on the cell."""
    rng = random.Random(seed)
    d = folder / name
    d.mkdir(parents=True, exist_ok=True)
    for ti, task in enumerate(TASKS):
        for li, length in enumerate(SEED_LENGTHS):
            lines = [",target,output,question"]
            for i in range(10):
                right = rng.random() < 0.9 - 0.1 * li + (0.05 if "diff" in name else 0)
                out = "kitchen" if right else "garden"
                lines.append(f"{i},kitchen,{out},Where is Mary?")
            (d / f"{task}_{length}_{PROMPT}.csv").write_text("\n".join(lines) + "\n")


def seed_lens_file(path: Path, offset: float):
    path.parent.mkdir(parents=True, exist_ok=True)
    body = ", ".join(f"{k}: {{'sum': {k * offset:.4f}, 'total': 100, 'avg': {k * offset / 100:.6f}}}" for k in range(1, 49))
    path.write_text("{" + body + "}\n")


def prepare(ctx):
    w = ctx.work
    hf_mamba2(ctx.source, w / "hf-mamba2")
    (w / "books").mkdir()
    for i in range(3):
        (w / "books" / f"book{i}.txt").write_text(english(ctx.source, 60000 + 5000 * i)[5000 * i:])
    (w / "valid.txt").write_text(english(ctx.source, 40000))
    text8 = ctx.ws / "data" / "text8"
    text8.mkdir(parents=True)
    letters = "".join(c if c.isalpha() or c == " " else " " for c in english(ctx.source, 400000).lower())
    (text8 / "text8").write_text(" ".join(letters.split()))
    babilong_files(w / "babilong", ["0k", "1k", "2k", "4k"])
    ctx.vars.update(hf=str(w / "hf-mamba2"), mamba_demo=str(ctx.share / "demo" / "mamba2-demo.safetensors"),
                    diff_demo=str(ctx.share / "demo" / "diffmamba2-demo.safetensors"))


def start_and_kill(ctx):
    """A training run killed with SIGKILL after its first checkpoint: it must show as crashed."""
    p = subprocess.Popen([ctx.cli, "train", "experiment=demo/mamba2-fortunes", "trainer.max_steps=300",
                          "trainer.checkpoint_every_n_steps=2", "trainer.val_check_interval=100", "--name", "killed"],
                         cwd=ctx.work, env=ctx.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    run = None
    while time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.2)
        try:
            db = sqlite3.connect(ctx.ws / "runs.db", timeout=5)
            row = db.execute("SELECT r.id, MAX(m.step) FROM runs r JOIN metrics m ON m.run_id = r.id "
                             "WHERE r.name = 'killed' GROUP BY r.id").fetchone()
            db.close()
        except sqlite3.Error:
            continue
        if row and row[1] is not None and row[1] >= 3:
            run = row[0]
            break
    alive = p.poll() is None
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert run is not None, "the run to kill never reached step 3"
    assert alive, "the run to kill finished before it could be killed (make it longer)"
    ctx.vars["crashed"] = run


def throwaway_runs(ctx):
    seed_lens_file(ctx.work / "throwaway.txt", 0.5)
    for name in ("throwaway-a", "throwaway-b"):
        ctx.run_cli("lens", "import", "--results", ctx.work / "throwaway.txt", "--family", "mamba2", "--name", name)
    ctx.vars["throwaway"] = [ctx.last_run(name="throwaway-a"), ctx.last_run(name="throwaway-b")]


def remember(key, kind, name=None):
    def after(ctx, out):
        ctx.vars[key] = ctx.last_run(kind=kind, name=name)
    return after


def plot_seed_files(ctx):
    evals = ctx.work / "scripts" / "babilong_evals"
    for fam in ("diffmamba2", "mamba2"):
        for seed in (0, 42, 77):
            seed_csvs(evals, f"{fam}-370m-needle-finetune-seed{seed}", seed + (1 if fam == "mamba2" else 0))


def third_eval(ctx):
    ctx.run_cli("eval-babilong", "--ckpt_path", ctx.vars["diff_demo"], "--tasks", *TASKS, "--lengths", "0k", "1k", "2k",
                "4k", "--samples", "1", "--seed", "3", "--name", "third")
    ctx.vars["eval3"] = ctx.last_run(kind="eval-babilong", name="third")


def paired_evals(ctx):
    """Both demo models on the same questions (same seed, tasks, lengths): runs a paired interval can compare."""
    for name, model in (("pair_diff", "diff_demo"), ("pair_mamba", "mamba_demo")):
        ctx.run_cli("eval-babilong", "--ckpt_path", ctx.vars[model], "--tasks", "qa1", "qa2", "--lengths", "0k", "1k",
                    "--samples", "6", "--seed", "5", "--answer_cue", "--name", name)
        ctx.vars[name] = ctx.last_run(kind="eval-babilong", name=name)


def no_transformers(ctx):
    py = os.environ.get("DM_PEER_PYTHON", "python3")
    ok = subprocess.run([py, "-c", "import torch, transformers"], capture_output=True).returncode == 0
    if ok:
        ctx.env["PATH"] = str(Path(py).parent) + os.pathsep + ctx.env.get("PATH", "")
        ctx.run_cli("logits", "--ckpt_path", ctx.vars["hf"], "--ids", "1,2,3", "--out", "logits.npy")
        return ""
    return f"needs torch + transformers in {py} (set DM_PEER_PYTHON to a python that has them)"


by_variant = lambda minimal, full, full1=None: (lambda ctx, v: ctx.fmt(minimal if v == "minimal" else
                                                                          (full if v == "full" or full1 is None else full1)))
FT_SIZES = {"--max_steps": 2, "--batch_size": 2, "--grad_accum_steps": 1, "--eval_steps": 1, "--save_steps": 1,
            "--warmup": 1}

SPEC = {
    # --- the two commands
    "./scripts/run.sh": dict(cwd="source", size={"--steps": 20},
                             writes=["{share}/demo/mamba2-demo.safetensors", "{share}/demo/diffmamba2-demo.safetensors"],
                             stdout=["mamba2", "diffmamba2"]),
    "./scripts/test.sh": dict(skip="the whole suite, which CI runs (and this suite is one of its tests)"),
    # --- training
    "$D train experiment=lm/diffmamba2-text8 trainer.devices=[0] model.dropout=0.5 loader.l_max=512 train.seed=0 "
    "trainer.accumulate_grad_batches=1 loader.batch_size=50 model.n_layers=12 model.d_model=1024 "
    "trainer.max_epochs=40 trainer.precision=32": dict(
        size={"loader.l_max": 32, "loader.batch_size": 2, "model.n_layers": 1, "model.d_model": 64,
              "trainer.max_epochs": 1, "trainer.max_steps": 3, "trainer.limit_val_batches": 2},
        stdout=["finished"]),
    "$D train experiment=demo/diffmamba2-fortunes": dict(size={"trainer.max_steps": 6}, stdout=["finished"],
                                                         after=remember("train", "train")),
    "$D train experiment=lm/mamba2-text8 --print-config": dict(stdout=['"config"', '"hash"']),
    "$D train --help": dict(stdout=["trainer.max_steps", "experiment=NAME"]),
    "$D runs list [--all]": dict(before=start_and_kill, stdout=["crashed", "killed"]),
    "$D runs show ID": dict(bind={"ID": "{crashed}"}, stdout=["crashed", "last step", "resume with"]),
    "$D runs export ID --csv m.csv": dict(bind={"ID": "{train}"}, writes=["m.csv"]),
    "$D train --resume ID": dict(bind={"ID": "{crashed}"}, stdout=["resumed at step", "finished"]),
    "$D runs delete ID [--files]": dict(before=throwaway_runs,
                                        bind={"ID": lambda ctx, v: str(ctx.vars["throwaway"][0 if v == "minimal" else 1])}),
    # --- data-parallel
    "$D train experiment=demo/diffmamba2-fortunes trainer.accelerator=cpu trainer.devices=2": dict(
        size={"trainer.max_steps": 6}, stdout=["starting 2 processes", "finished"]),
    "$VENV/bin/torchrun --no-python --nproc_per_node=2 build/app/diffmamba train experiment=demo/diffmamba2-fortunes": dict(
        size={"trainer.max_steps": 6}, stdout=["finished"]),
    "srun --ntasks=8 --ntasks-per-node=4 --gpus-per-task=1 build/app/diffmamba train experiment=lm/diffmamba2-text8": dict(
        skip="needs a Slurm cluster; tst_dist starts the tasks with srun's environment instead"),
    # --- checkpoints and the tokenizer
    "build/app/diffmamba convert --from DIR --to OUT [--settings alternate|all|quarter|K]": dict(
        bind={"DIR": "{hf}", "OUT": by_variant("{work}/converted", "{work}/converted-alternate")},
        writes=["converted/model.safetensors", "converted/config.json"]),
    "build/app/diffmamba logits --ckpt_path DIR --ids 1,2,3 --out logits.npy": dict(bind={"DIR": "{hf}"},
                                                                                   writes=["logits.npy"]),
    'build/app/diffmamba logits --ckpt_path DIR --text "The capital of France is" --out logits.npy': dict(
        bind={"DIR": "{hf}"}, writes=["logits.npy"]),
    'build/app/diffmamba logits --ckpt_path MODEL --text "the cat sat on the mat" --out logits.npy': dict(
        bind={"MODEL": "{diff_demo}"}, writes=["logits.npy"], stdout=["tokens (22)"]),
    'build/app/diffmamba tokenize --tokenizer DIR/tokenizer.json --text "Hello world"': dict(bind={"DIR": "{hf}"}),
    "python3 scripts/compare-with-transformers.py DIR logits.npy 1,2,3": dict(
        skip=no_transformers, cwd="source", bind={"DIR": "{hf}"}),
    # --- BABILong
    "build/app/diffmamba babilong generate --task qa2 --length 4k --samples 100 --seed 0 --out samples.jsonl "
    "[--tokenizer DIR/tokenizer.json] [--pg19 BOOKS_DIR]": dict(
        bind={"DIR": "{hf}", "BOOKS_DIR": "{work}/books"}, size={"--samples": 3}, writes=["samples.jsonl"]),
    "build/app/diffmamba eval-babilong --ckpt_path DIR --tasks qa1 qa2 qa3 qa4 qa5 --lengths 0k 1k 2k 4k "
    "--samples 100 [--data_dir BABILONG_DIR] [--pg19 BOOKS_DIR] [--results_folder F --model_name M]": dict(
        bind={"DIR": by_variant("{mamba_demo}", "{diff_demo}"), "BABILONG_DIR": "{work}/babilong",
              "BOOKS_DIR": "{work}/books", "F": "scripts/babilong_evals", "M": NEEDLE + "-seed0"},
        size={"--samples": 2}, stdout=["accuracy"],
        writes=[f"scripts/babilong_evals/{NEEDLE}-seed0/acc_{NEEDLE}-seed0.npy",
                f"scripts/babilong_evals/{NEEDLE}-seed0/qa1_0k_{PROMPT}.csv"],
        variants=["full", "minimal"], after=lambda ctx, out: ctx.vars.update(
            eval_mamba=ctx.last_run(kind="eval-babilong"), eval_diff=ctx.last_run(kind="eval-babilong") - 1)),
    "build/app/diffmamba babilong score --results_folder F --model_name M": dict(
        before=lambda ctx: (ctx.work / f"scripts/babilong_evals/{NEEDLE}-seed0/acc_{NEEDLE}-seed0.npy").unlink(),
        bind={"F": "scripts/babilong_evals", "M": NEEDLE + "-seed0"},
        writes=[f"scripts/babilong_evals/{NEEDLE}-seed0/acc_{NEEDLE}-seed0.npy"]),
    # --- fine-tuning and the tuned lens
    "build/app/diffmamba finetune-pg19 --ckpt_path DIR [--diffmamba] --pg19 BOOKS_DIR --output_dir OUT "
    "[--lr 3e-4 --batch_size 6 --grad_accum_steps 9 --max_steps 4000 --warmup 400 --save_steps 500 --eval_steps 500]": dict(
        # --diffmamba converts an HF-backbone Mamba2 checkpoint (the demo models use the LM backbone)
        bind={"DIR": by_variant("{mamba_demo}", "{hf}"), "BOOKS_DIR": "{work}/books",
              "OUT": by_variant("pg19-plain", "pg19-diff")},
        size=FT_SIZES, writes=["pg19-plain/checkpoint-2", "pg19-plain/model.safetensors"]),
    "build/app/diffmamba finetune-needle --ckpt_path DIR [--diffmamba] --output_dir OUT --seed 0 "
    "[--tasks qa1 … --length 0k --samples 1000 | --data_dir BABILONG_DIR]": dict(
        bind={"DIR": by_variant("{mamba_demo}", "{hf}"), "BABILONG_DIR": "{work}/babilong",
              "OUT": by_variant("needle", "needle-diff", "needle-files")},
        size=dict(FT_SIZES, **{"--samples": 8}), variants=["minimal", "full", "full:1"],
        writes=["needle-seed0/model.safetensors", "needle-seed0/checkpoint-1"]),
    "build/app/diffmamba lens train --model.name DIR --data.name valid.txt --per_gpu_batch_size=1 --ssm "
    "--output my_lenses/NAME [--num_steps 250 --tokens_per_step 262144]": dict(
        bind={"DIR": "needle-seed0", "NAME": "needle-seed0"}, size={"--num_steps": 2, "--tokens_per_step": 512},
        writes=["my_lenses/needle-seed0"], after=remember("lens_train", "lens-train")),
    "build/app/diffmamba lens eval --ckpt_path DIR [--num_examples N]": dict(
        bind={"DIR": "needle-seed0", "N": "4"}, size={"--samples": 2}, writes=["needle-seed0-lens_eval.txt"]),
    "build/app/diffmamba lens import --results FILE --family mamba2|diffmamba2": dict(
        bind={"FILE": "needle-seed0-lens_eval.txt"}, variants=["full:0", "full:1"], stdout=["imported"],
        after=lambda ctx, out: ctx.vars.update(lens_diff=ctx.last_run(kind="lens-import"),
                                               lens_mamba=ctx.last_run(kind="lens-import") - 1)),
    # --- the window
    "build/app/diffmamba-studio [--workspace DIR]": dict(gui=True, bind={"DIR": "{work}/gui-ws"},
                                                         writes=["{work}/gui-ws/runs.db"], variants=["full"]),
    "./scripts/run.sh --window": dict(gui=True, cwd="source", writes=["{ws}/runs.db"], timeout=300),
    # --- plots
    f"build/app/diffmamba plot heatmap --model_name {NEEDLE}-seed0 --results_folder scripts/babilong_evals": dict(
        before=plot_seed_files, stdout=["wrote"]),
    f"build/app/diffmamba plot compare --model_name {NEEDLE} [--ratio] [--std]": dict(stdout=["wrote"]),
    f"build/app/diffmamba plot lens --diff_results_path results/{NEEDLE}-lens_eval.txt --mamba_results_path "
    "results/mamba2-370m-needle-finetune-lens_eval.txt [--log] [--start-layer 1 --end-layer 48] [--lines]": dict(
        before=lambda ctx: (seed_lens_file(ctx.work / f"results/{NEEDLE}-lens_eval.txt", 0.9),
                            seed_lens_file(ctx.work / "results/mamba2-370m-needle-finetune-lens_eval.txt", 0.7)),
        stdout=["wrote"]),
    "$D sweep train experiment=demo/mamba2-fortunes optimizer.lr=[1e-3,3e-3] optimizer.weight_decay=[0,0.1]": dict(
        size={"trainer.max_steps": 3, "model.d_model": 16, "model.n_layers": 1, "loader.batch_size": 4},
        stdout=["sweep of 4 runs over 2 axes", "best val/loss"]),
    "$D sweep list": dict(stdout=["optimizer.lr × optimizer.weight_decay"]),
    "$D sweep show ID": dict(bind={"ID": lambda ctx, v: str(last_sweep(ctx, "train"))},
                             stdout=["optimizer.weight_decay", "finished", "best val/loss"]),
    "$D mad generate --list": dict(stdout=["memorization", "vocab_size=8192", "in-context-recall"]),
    "$D mad generate --task in-context-recall --split test --out cr-test.jsonl": dict(
        writes=["{work}/cr-test.jsonl"], stdout=["wrote 1280 test instances of in-context-recall"]),
    "$D mad run --quick": dict(
        size={"--epochs": 1, "--train_examples": 64, "--test_examples": 32},
        writes=[lambda ctx: f"{ctx.ws}/mad/mad_scores-sweep{last_sweep(ctx, 'mad')}.csv"],
        stdout=["MAD scores", "selective-copying", "diffmamba2"]),
    "$D per-token-loss --ckpt_path DIR --data FILES --eval_len 65536 [--eval_tokens N] [--output_dir OUT]": dict(
        before=lambda ctx: [(ctx.work / "pg19").mkdir(exist_ok=True)] + [
            (ctx.work / "pg19" / f"book{i}.txt").write_text(english(ctx.source, 80000 + 1000 * i)) for i in (1, 2)],
        # OUT is the default folder too: whichever variant runs second finds the results and reports them.
        bind={"DIR": "{diff_demo}", "FILES": "{work}/pg19", "N": "65536",
              "OUT": "{ws}/per-token-loss/diffmamba2-demo-L65536"},
        writes=["{ws}/per-token-loss/diffmamba2-demo-L65536/results.json",
                "{ws}/per-token-loss/diffmamba2-demo-L65536/results.npz"],
        stdout=["sequences of 65536 tokens", "perplexity", "results.npz"]),
    # --- GPU: a random model of the published shape (2 of its 48 blocks here), decoded at 16k and 64k tokens
    "build/app/diffmamba init-model --family diffmamba2 --shape 370m --vocab 27 --out random-370m": dict(
        size={"--n_layers": 2}, writes=["random-370m/config.json", "random-370m/model.safetensors"],
        stdout=["randomly initialised Diff-Mamba2", "d_model 1024", "vocabulary 27"]),
    "build/app/diffmamba eval-babilong --ckpt_path random-370m --tasks qa1 --lengths 16k 64k --samples 2 "
    "[--device cpu --precision bf16-mixed]": dict(
        size={"--samples": 1}, stdout=["qa1 16k", "qa1 64k", "accuracy"]),
    "$D babilong generate --task qa1 --length 1k --samples 5 --out needles.jsonl": dict(
        writes=["needles.jsonl"], stdout=["wrote 5 qa1 samples"]),
    "$D attention --ckpt_path DIR --babilong-sample needles.jsonl --index 0 --out diff.npz [--layers 0 1] [--heads 0] [--float16]": dict(
        bind={"DIR": "{diff_demo}"}, writes=["diff.npz"], stdout=["needles.jsonl #0", "(facts)", "Diff-Mamba2", "wrote"]),
    "$D attention --ckpt_path DIR2 --babilong-sample needles.jsonl --index 0 --out mamba.npz": dict(
        bind={"DIR2": "{mamba_demo}"}, writes=["mamba.npz"], stdout=["Mamba2", "needle_mass", "wrote"]),
    "$D plot attention --maps mamba.npz diff.npz [--block B] [--head 0] [--range 0:512] [--log-abs]": dict(
        bind={"B": "1"}, stdout=["snr per block", "mamba2-demo", "diffmamba2-demo", "wrote"]),
    "$D plot compare --run ID --baseline-run ID2 --ci": dict(
        before=paired_evals, bind={"ID": "{pair_diff}", "ID2": "{pair_mamba}"},
        stdout=["95 % intervals", "paired bootstrap over samples", "wrote"]),
    "build/app/diffmamba quick-comparison [--workspace DIR]": dict(
        bind={"DIR": "{ws}"},  # both variants write to the default workspace
        size={"model.d_model": 32, "model.n_layers": 1, "trainer.max_steps": 6, "--needle_steps": 2,
              "--needle_samples": 20, "--samples": 2, "--lens_steps": 2, "--lens_tokens_per_step": 256,
              "--lens_samples": 2},
        writes=["{ws}/figures/quick-comparison/compare-diffmamba2-vs-mamba2.pdf",
                "{ws}/figures/quick-comparison/lens-diffmamba2-vs-mamba2.png"],
        stdout=["BABILong accuracy %", "mean over 10 cells", "Newcombe"]),
    "build/app/diffmamba quick-comparison --ablation [--workspace DIR]": dict(
        bind={"DIR": "{ws}"},
        size={"model.d_model": 32, "model.n_layers": 1, "trainer.max_steps": 6, "--needle_steps": 2,
              "--needle_samples": 20, "--samples": 2, "--lens_steps": 2, "--lens_tokens_per_step": 256,
              "--lens_samples": 2},
        writes=["{ws}/figures/quick-comparison/compare-diffmamba2E-vs-mamba2.pdf",
                "{ws}/figures/quick-comparison/lens-diffs6mamba2-vs-mamba2.png"],
        stdout=["difference = Diff-S6-Mamba2 − Mamba2", "mean over 10 cells"]),
    "build/app/diffmamba plot per-token-loss --run ID [ID2] [--training-length 2048]": dict(
        before=second_per_token_run,
        bind={"ID": lambda ctx, v: str(per_token_runs(ctx)[0]), "ID2": lambda ctx, v: str(per_token_runs(ctx)[1])},
        stdout=["wrote"]),
    "build/app/diffmamba plot mad [--sweep ID]": dict(
        bind={"ID": lambda ctx, v: str(last_sweep(ctx, "mad"))},
        stdout=["Diff-Mamba2", "in-context-recall", "wrote"]),
    "build/app/diffmamba plot heatmap --run ID [ID2 ID3]": dict(
        before=third_eval, bind={"ID": "{eval_diff}", "ID2": "{eval_mamba}", "ID3": "{eval3}"}, stdout=["wrote"]),
    "build/app/diffmamba plot compare --run ID --baseline-run ID2": dict(
        bind={"ID": "{eval_diff}", "ID2": "{eval_mamba}"}, stdout=["wrote"]),
    "build/app/diffmamba plot lens --diff-run ID --mamba-run ID2": dict(
        bind={"ID": "{lens_diff}", "ID2": "{lens_mamba}"}, stdout=["wrote"]),
    "build/app/diffmamba plot curves --run ID ID2 --metric loss [--x time] [--smoothing 0.6] [--log-y]": dict(
        bind={"ID": "{train}", "ID2": "{crashed}"}, stdout=["wrote"]),
    "build/app/diffmamba plot curves --run ID ID2 --metric loss --band sd": dict(
        bind={"ID": "{train}", "ID2": "{crashed}"}, stdout=["seed(s)", "common steps", "wrote"]),
}
