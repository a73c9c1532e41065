#!/usr/bin/env bash
# The jobs end to end on the GPU (issue 18), called by scripts/device-check.sh after the kernel checks:
#  1. a demo Diff-Mamba2 (HF backbone) trained 120 steps with our kernels, then with DM_CUDA_KERNELS=0
#     (LibTorch ops): the two loss trajectories, compared step by step (max relative difference);
#  2. finetune-needle on qa1 from that model (fp32 training, bf16 evaluation: the defaults on a GPU);
#  3. eval-babilong of the fine-tuned model on the GPU (bf16, the default) and on the CPU (fp32): both
#     accuracy tables, and how many answers agree;
#  4. lens train and lens eval on the GPU;
#  5. decoding memory: a random 370M-shaped Diff-Mamba2 (text8 characters) evaluated at 16k and 64k tokens
#     with answers of 4 and of 64 tokens: the peak GPU memory per cell, flat in the answer length.
# Without a usable GPU it exits 77 (skipped) unless DM_DEVICE_JOBS_ON_CPU=1 (a rehearsal of the commands on
# the CPU, with fewer steps). Every run record says its device and precision (`runs show`).
#
# Usage: scripts/device-jobs.sh DIFFMAMBA FORTUNES_DIR OUT_DIR
set -uo pipefail

DM=$1 FORT=$2 OUT=$3
if ! "$DM" doctor 2>/dev/null | grep -q "^CUDA available *yes"; then
  if [ "${DM_DEVICE_JOBS_ON_CPU:-0}" != 1 ]; then
    echo "no GPU: the GPU jobs are not run"
    exit 77
  fi
  echo "no GPU: rehearsing the commands on the CPU (DM_DEVICE_JOBS_ON_CPU=1)"
  STEPS=12 NEEDLE=4 LENS=2 SHAPE=demo LENGTHS="1k 2k"
else
  STEPS=120 NEEDLE=60 LENS=10 SHAPE=370m LENGTHS="16k 64k"
fi
[ -d "$FORT" ] || { echo "no fortunes text at $FORT"; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT/books"
for f in "$FORT"/*; do
  [ -f "$f" ] && case "$f" in *.dat | *.u8) ;; *) cp "$f" "$OUT/books/$(basename "$f").txt" ;; esac
done
WS=$OUT/ws
set -e
TRAIN=(experiment=demo/diffmamba2-fortunes model.backbone=hf "dataset.data_dir=$FORT" "trainer.max_steps=$STEPS"
       trainer.val_check_interval=1000 trainer.log_every_n_steps=1)
echo "== train, our kernels"
"$DM" train --workspace "$WS" --quiet "${TRAIN[@]}"
echo "== train, DM_CUDA_KERNELS=0 (LibTorch ops)"
DM_CUDA_KERNELS=0 "$DM" train --workspace "$WS" --quiet "${TRAIN[@]}"
"$DM" runs --workspace "$WS" export 1 --csv "$OUT/train-kernels.csv" >/dev/null
"$DM" runs --workspace "$WS" export 2 --csv "$OUT/train-libtorch.csv" >/dev/null
python3 - "$OUT/train-kernels.csv" "$OUT/train-libtorch.csv" <<'PY'
import csv, sys
def losses(path):
    return {int(r["step"]): float(r["value"]) for r in csv.DictReader(open(path)) if r["name"] == "train/loss"}
a, b = losses(sys.argv[1]), losses(sys.argv[2])
steps = sorted(set(a) & set(b))
worst = max(abs(a[s] - b[s]) / max(abs(b[s]), 1e-12) for s in steps)
print(f"train/loss, kernels vs LibTorch ops: {len(steps)} steps, first {a[steps[0]]:.5f} / {b[steps[0]]:.5f}, "
      f"last {a[steps[-1]]:.5f} / {b[steps[-1]]:.5f}, max relative difference {worst:.2e}")
sys.exit(0 if worst < 2e-2 else 1)
PY
"$DM" runs --workspace "$WS" show 1 | grep -E "device|precision" | head -n 3
MODEL=$WS/runs/1/model.safetensors
echo "== finetune-needle (fp32 training, evaluation under the default precision)"
"$DM" finetune-needle --ckpt_path "$MODEL" --tasks qa1 --samples 400 --max_steps "$NEEDLE" --batch_size 16 \
  --max_length 512 --lr 3e-3 --warmup 5 --eval_steps "$NEEDLE" --save_steps "$NEEDLE" --pg19 "$OUT/books" \
  --output_dir "$OUT/needle" --workspace "$WS" --quiet
echo "== eval-babilong: default device and precision, then --device cpu --precision 32"
EVAL=(--ckpt_path "$OUT/needle-seed0" --tasks qa1 qa2 --lengths 0k 1k --samples 20 --answer_cue --pg19 "$OUT/books"
      --workspace "$WS" --quiet)
"$DM" eval-babilong "${EVAL[@]}" --name eval-default
"$DM" eval-babilong "${EVAL[@]}" --name eval-cpu-fp32 --device cpu --precision 32
python3 - "$WS/runs.db" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
runs = dict(db.execute("SELECT name, id FROM runs WHERE name IN ('eval-default', 'eval-cpu-fp32')"))
for name, run in sorted(runs.items()):
    device, config = db.execute("SELECT device, config FROM runs WHERE id = ?", (run,)).fetchone()
    print(f"{name}: run {run} on {device}, precision {json.loads(config)['precision']}")
rows = db.execute("""SELECT a.output = b.output, a.correct, b.correct FROM eval_samples a JOIN eval_samples b
                     ON a.task = b.task AND a.length = b.length AND a.idx = b.idx
                     WHERE a.run_id = ? AND b.run_id = ?""", (runs["eval-default"], runs["eval-cpu-fp32"])).fetchall()
same = sum(r[0] for r in rows)
print(f"answers equal on the two runs: {same}/{len(rows)}; correct {sum(r[1] for r in rows)} vs {sum(r[2] for r in rows)}")
PY
echo "== lens train / eval"
"$DM" lens train --model.name "$OUT/needle-seed0" --data "$OUT/books/$(ls "$OUT/books" | head -n1)" \
  --output "$OUT/lens" --num_steps "$LENS" --tokens_per_step 8192 --max_seq_len 256 --workspace "$WS" --quiet
"$DM" lens eval --ckpt_path "$OUT/needle-seed0" --lens "$OUT/lens" --samples 10 --output "$OUT/lens_eval.txt" \
  --workspace "$WS" --quiet | tail -n 3
echo "== decoding memory: random $SHAPE Diff-Mamba2 at $LENGTHS tokens, answers of 4 and 64 tokens"
"$DM" init-model --family diffmamba2 --shape "$SHAPE" --vocab 27 --out "$OUT/random-$SHAPE"
for n in 4 64; do
  "$DM" eval-babilong --ckpt_path "$OUT/random-$SHAPE" --tasks qa1 --lengths $LENGTHS --samples 2 \
    --max_new_tokens "$n" --pg19 "$OUT/books" --name "decode-$n" --workspace "$WS" --quiet >/dev/null
done
python3 - "$WS/runs.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
runs = dict(db.execute("SELECT name, id FROM runs WHERE name IN ('decode-4', 'decode-64')"))
cells = {}
for name, run in runs.items():
    for length, metric, value in db.execute("SELECT length, metric, value FROM eval_cells WHERE run_id = ?", (run,)):
        cells[(name, length, metric)] = value
lengths = sorted({k[1] for k in cells}, key=lambda l: int(l[:-1]))
print("| length | answer tokens | prompt tokens/s (decoding included) | peak GPU memory (MiB) |")
print("|---|---|---|---|")
for l in lengths:
    for name in ("decode-4", "decode-64"):
        mem = cells.get((name, l, "peak_memory_mb"))
        print(f"| {l} | {name[7:]} | {cells[(name, l, 'prompt_tokens_per_s')]:.0f} | "
              f"{'n/a (CPU)' if mem is None else f'{mem:.0f}'} |")
    a, b = cells.get(("decode-4", l, "peak_memory_mb")), cells.get(("decode-64", l, "peak_memory_mb"))
    if a is not None and b is not None:
        print(f"|   | 64 vs 4 | | {b - a:+.1f} MiB ({(b - a) / a:+.2%}) |")
        if abs(b - a) > 0.02 * a + 16:
            sys.exit("peak memory grows with the answer length")
PY
"$DM" runs --workspace "$WS" list
