#!/usr/bin/env python3
"""The README is executable: every command in its ```sh blocks runs here as a user types it.

    python3 tests/app/tst_readme.py --build BUILD_DIR [--only TEXT] [--keep]

Each command line of README.md (continuations joined, the trailing comment dropped) must have an
entry in readme_spec.py keyed by its exact text, and every entry must still match a README line: the
two cannot drift apart silently. A command runs in its minimal form (optional [...] parts left out)
and its full form ([...] included, first alternative), with placeholders (DIR, ID, …) bound to
files and runs made earlier in the same sandbox, and only the size options listed in SIZE_OPTIONS
made small. It fails on a crash, a non-zero exit (unless the entry expects one), a missing promised
output or missing promised text. No --quiet is ever added. Standard library only.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import readme_spec  # noqa: E402

# Options that only set how long or how big a run is. They are documented in the README (or the
# command's --help) and are the only thing this suite may change in a README command.
SIZE_OPTIONS = {
    "--steps", "--samples", "--max_steps", "--num_steps", "--tokens_per_step", "--num_examples",
    "--batch_size", "--grad_accum_steps", "--eval_steps", "--save_steps", "--warmup",
    "trainer.max_steps", "trainer.max_epochs", "trainer.limit_val_batches", "loader.batch_size", "loader.l_max",
    "model.n_layers", "model.d_model",
    "--needle_steps", "--needle_samples", "--lens_steps", "--lens_tokens_per_step", "--lens_samples",
    "--epochs", "--train_examples", "--test_examples", "--n_layers",
}

PLACEHOLDER = re.compile(r"(?<![A-Za-z0-9_$])([A-Z][A-Z0-9_]*)(?![A-Za-z0-9_])")


def readme_commands(readme: Path):
    """[(block index, {var: value}, command text)] in README order."""
    out, in_block, block, env, pending = [], False, -1, {}, ""
    for raw in readme.read_text(encoding="utf-8").splitlines():
        line = raw.rstrip()
        if line.startswith("```"):
            if not in_block and line.strip() in ("```sh", "```bash", "```shell"):
                in_block, block, env, pending = True, block + 1, {}, ""
            elif in_block:
                in_block = False
            continue
        if not in_block:
            continue
        text = re.sub(r"(^|\s)#\s.*$", "", line).rstrip()  # a trailing "# comment"
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        text = " ".join((pending + text).split())
        pending = ""
        if not text:
            continue
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(\S+)", text)
        if m:
            env[m.group(1)] = m.group(2)
            continue
        out.append((block, dict(env), text))
    return out


def expand(text: str, full: bool, choice: int = 0) -> str:
    """Optional [...] groups dropped (minimal) or kept (full: alternative `choice` of `a | b`)."""
    def group(m):
        if not full:
            return " "
        alts = [a.strip() for a in m.group(1).split(" | ")]
        return " " + alts[min(choice, len(alts) - 1)] + " "
    text = re.sub(r"(?<!\S)\[([^\[\]]*)\]", group, text)
    words = []
    for w in text.split():
        if w == "…":
            continue
        if "|" in w and not w.startswith(("'", '"')):
            w = w.split("|")[min(choice, len(w.split("|")) - 1)]
        words.append(w)
    return " ".join(words)


def set_size(cmd: str, option: str, value) -> str:
    if option not in SIZE_OPTIONS:
        raise SystemExit(f"readme_spec: {option} is not a documented size option (SIZE_OPTIONS)")
    value = str(value)
    if "." in option and not option.startswith("-"):  # key=value override
        pat = re.compile(rf"(?<!\S){re.escape(option)}=\S+")
        return pat.sub(f"{option}={value}", cmd) if pat.search(cmd) else f"{cmd} {option}={value}"
    pat = re.compile(rf"(?<!\S){re.escape(option)}(=|\s+)(\S+)")
    return pat.sub(lambda m: f"{option}{m.group(1)}{value}", cmd) if pat.search(cmd) else f"{cmd} {option} {value}"


class Context:
    """The sandbox every README command runs in, and what earlier commands made."""

    def __init__(self, build: Path, source: Path, root: Path):
        self.build, self.source, self.root = build, source, root
        self.work, self.home = root / "work", root / "home"
        self.work.mkdir(parents=True)
        self.home.mkdir(parents=True)
        (self.work / "build").symlink_to(build)
        self.share = self.home / ".local" / "share" / "diffmamba-studio"
        self.ws = self.share / "workspace"
        self.vars = {}
        real_home = Path(os.environ.get("HOME", "/root"))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_DATA", "XDG_CONFIG", "DM_"))}
        self.env.update(HOME=str(self.home), QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="2",
                        DM_CACHE=os.environ.get("DM_CACHE", str(real_home / ".cache" / "diffmamba-studio")),
                        DM_BUILD_DIR=str(build))
        if "CCACHE_DIR" not in self.env:
            self.env["CCACHE_DIR"] = str(Path(self.env["DM_CACHE"]) / "ccache")
        self.cli = str(build / "app" / "diffmamba")

    def run_cli(self, *args, check=True, timeout=600):
        p = subprocess.run([self.cli, *map(str, args)], cwd=self.work, env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"set-up command failed ({p.returncode}): diffmamba {' '.join(map(str, args))}\n"
                                 f"{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
        return p

    def last_run(self, kind=None, name=None):
        """The newest run of the default workspace with that kind / name (via `runs list`)."""
        import sqlite3
        db = sqlite3.connect(self.ws / "runs.db")
        q, a = "SELECT id FROM runs WHERE 1", []
        if kind:
            q, a = q + " AND kind = ?", a + [kind]
        if name:
            q, a = q + " AND name = ?", a + [name]
        row = db.execute(q + " ORDER BY id DESC LIMIT 1", a).fetchone()
        db.close()
        if not row:
            raise AssertionError(f"no run of kind {kind} name {name} in {self.ws}")
        return row[0]

    def fmt(self, s: str) -> str:
        return s.format(work=self.work, home=self.home, ws=self.ws, share=self.share, source=self.source, **self.vars)


def run_one(ctx: Context, block_env: dict, text: str, entry: dict, variant_spec: str):
    variant, choice = (variant_spec.split(":") + ["0"])[:2]
    cmd = expand(text, full=(variant == "full"), choice=int(choice))
    for key, value in sorted(entry.get("bind", {}).items(), key=lambda kv: -len(kv[0])):
        value = value(ctx, variant_spec) if callable(value) else ctx.fmt(str(value))
        cmd = re.sub(rf"(?<![A-Za-z0-9_]){key}(?![A-Za-z0-9_])", lambda m: value, cmd)
    for option, value in entry.get("size", {}).items():
        cmd = set_size(cmd, option, value)
    unquoted = lambda t: re.sub(r"\"[^\"]*\"", "", t)
    names = set(PLACEHOLDER.findall(unquoted(text)))
    left = sorted(w for w in names if re.search(rf"(?<![A-Za-z0-9_$]){w}(?![A-Za-z0-9_])", unquoted(cmd)))
    if left:
        raise AssertionError(f"unbound placeholder(s) {left} in: {cmd}")
    prefix = "".join(f"{k}={v}; " for k, v in block_env.items())
    cwd = ctx.source if entry.get("cwd") == "source" else ctx.work
    shown = f"{prefix}{cmd}"
    print(f"--- [{variant_spec}] {shown}", flush=True)
    t0 = time.monotonic()
    if entry.get("gui"):
        p = subprocess.Popen(["bash", "-c", f"{prefix}exec {cmd}"], cwd=cwd, env=ctx.env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + entry.get("timeout", 60)
        up = [Path(ctx.fmt(w)) for w in entry.get("writes", [])]
        while time.monotonic() < deadline and p.poll() is None and not all(w.exists() for w in up):
            time.sleep(0.2)
        time.sleep(2)  # it keeps running with the workspace open
        alive = p.poll() is None
        if alive:
            p.send_signal(signal.SIGTERM)
        try:
            out, _ = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        if not alive:
            raise AssertionError(f"the window exited by itself ({p.returncode}):\n{out[-3000:]}")
        code, err = 0, ""
    else:
        p = subprocess.run(["bash", "-c", f"{prefix}{cmd}"], cwd=cwd, env=ctx.env, capture_output=True, text=True,
                           timeout=entry.get("timeout", 900))
        out, err, code = p.stdout, p.stderr, p.returncode
    secs = time.monotonic() - t0
    want = entry.get("exit", 0)
    tail = f"\nstdout:\n{out[-3000:]}\nstderr:\n{err[-3000:]}"
    if code < 0:
        raise AssertionError(f"crashed with signal {-code}: {shown}{tail}")
    if code != want:
        raise AssertionError(f"exit {code} (expected {want}): {shown}{tail}")
    for s in entry.get("stdout", []):
        if ctx.fmt(s) not in out:
            raise AssertionError(f"stdout lacks {ctx.fmt(s)!r}: {shown}{tail}")
    for w in entry.get("writes", []):
        path = Path(w(ctx) if callable(w) else ctx.fmt(w))
        if not path.is_absolute():
            path = cwd / path
        if not path.exists() or (path.is_file() and path.stat().st_size == 0) or (path.is_dir() and not any(path.iterdir())):
            raise AssertionError(f"did not write {path}: {shown}{tail}")
    print(f"    ok ({secs:.1f} s)", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, type=Path)
    ap.add_argument("--source", type=Path, default=HERE.parent.parent)
    ap.add_argument("--only", default="", help="run only the commands containing this text (after the checks)")
    ap.add_argument("--keep", action="store_true", help="keep the sandbox")
    a = ap.parse_args()
    build, source = a.build.resolve(), a.source.resolve()
    commands = readme_commands(source / "README.md")
    spec = readme_spec.SPEC
    texts = [t for _, _, t in commands]
    problems = [f"README command without an entry in readme_spec.py: {t!r}" for t in texts if t not in spec]
    problems += [f"readme_spec.py entry matches no README command (stale): {k!r}" for k in spec if k not in texts]
    if problems:
        print("\n".join(problems))
        return 1
    print(f"{len(commands)} README commands, all with an entry")
    root = Path(tempfile.mkdtemp(prefix="dm-readme-"))
    ctx = Context(build, source, root)
    failures, ran, skipped = [], 0, 0
    try:
        readme_spec.prepare(ctx)
        for block, env, text in commands:
            entry = spec[text]
            if a.only and a.only not in text:
                continue
            if entry.get("skip"):
                reason = entry["skip"](ctx) if callable(entry["skip"]) else entry["skip"]
                if reason:
                    print(f"SKIP {text}\n    {reason}")
                    skipped += 1
                    continue
            variants = entry.get("variants") or (["minimal", "full"] if "[" in text else ["full"])
            try:
                if "before" in entry:
                    entry["before"](ctx)
                for v in variants:
                    out = run_one(ctx, env, text, entry, v)
                    ran += 1
                if "after" in entry:
                    entry["after"](ctx, out)
            except (AssertionError, subprocess.TimeoutExpired) as e:
                print(f"FAIL {text}\n    {e}", flush=True)
                failures.append(text)
    finally:
        if a.keep or failures:
            print(f"sandbox kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"{ran} runs of {len(commands)} README commands; {skipped} skipped; {len(failures)} failed")
    for f in failures:
        print(f"  failed: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
