"""Differential check of our byte-level BPE tokenizer against HuggingFace `tokenizers`.

    python3 scripts/compare-tokenizer.py [--tokenizer tokenizer.json] [--work DIR] [--count N] [--seed S]
        [--cmd "diffmamba tokenize --tokenizer {tokenizer} --file {input} --lines"]
        [--whole-cmd "diffmamba tokenize --tokenizer {tokenizer} --file {input}"]
        [--nospecial-cmd "... {tokenizer} ... {input} ..."] [--train FILE ...]

Needs a python with `tokenizers` (e.g. the set-up's venv plus `pip install tokenizers`).

Without --tokenizer it trains a small tokenizer in the GPT-NeoX layout (BpeTrainer, vocab --vocab = 3000,
NFC normalizer, ByteLevel pre-tokenizer / post-processor / decoder, added tokens <|endoftext|> and
<|padding|> (special, normalized false) and runs of 24 down to 2 spaces (normalized true)) on the fortune
files under /usr/share/games/fortunes (or the --train files) plus generated multilingual text, and saves it
twice in --work: tokenizer.json (merges as [a, b] pairs) and tokenizer-legacy.json (merges as "a b").

It then writes test strings (English lines of the training text, random Unicode from code points whose
category is the same in Unicode 3.2 and in Python's Unicode, random code points of any kind, decomposed
accents, whitespace runs of every kind, contractions, digits, punctuation, special tokens) and compares the
ids that HF `Tokenizer.encode(text).ids` gives with the driver's.

The driver is an external command given as a template; {tokenizer} and {input} are replaced by paths:
  --cmd        reads a UTF-8 file of lines separated by "\\n" (a "\\r" stays in its line) and prints one line
               per input line: the ids, comma-separated (an empty line for no ids). Default:
               `diffmamba tokenize --tokenizer {tokenizer} --file {input} --lines` (the project's CLI).
  --whole-cmd  encodes the whole file as one text (newlines included) and prints its ids comma-separated;
               run on a few dozen multi-line documents. Default: the CLI without --lines.
  --nospecial-cmd  (optional) like --cmd with special tokens treated as plain text; compared with HF's
               `encode_special_tokens = True`.

Prints the number of strings compared and mismatches per group (with the first few differences); exits 1
when any group other than "any-codepoint" differs. Differences in "any-codepoint" can come from the
different Unicode versions of the two sides (utf8proc's tables vs Oniguruma's) for recently assigned
characters; they are listed but tolerated.
"""
import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import unicodedata

from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

FORTUNES = "/usr/share/games/fortunes"


def multilingual_words(rng, count):
    scripts = [
        "abcdefghijklmnopqrstuvwxyzéèêàçöüäßñø",
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "αβγδεζηθικλμνξοπρστυφχψω",
        "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年",
        "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめも",
        "가나다라마바사아자차카타파하한국어",
        "אבגדהוזחטיכלמנסעפצקרשת",
        "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    ]
    out = []
    for _ in range(count):
        s = rng.choice(scripts)
        out.append("".join(rng.choice(s) for _ in range(rng.randint(1, 8))))
    return out


def train(texts, vocab, work):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        special_tokens=[AddedToken("<|endoftext|>", special=True, normalized=False),
                        AddedToken("<|padding|>", special=True, normalized=False)],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.add_tokens([AddedToken(" " * n, normalized=True, special=False) for n in range(24, 1, -1)])
    path = os.path.join(work, "tokenizer.json")
    tok.save(path)
    j = json.load(open(path, encoding="utf-8"))
    merges = j["model"]["merges"]
    if merges and isinstance(merges[0], list):
        j["model"]["merges"] = [a + " " + b for a, b in merges]
    legacy = os.path.join(work, "tokenizer-legacy.json")
    with open(legacy, "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=True)
    return [path, legacy]


def stable_codepoints():
    """Code points (no surrogates/controls except whitespace) whose category is unchanged since 3.2."""
    old = unicodedata.ucd_3_2_0
    cps = []
    for cp in range(0x20, 0x30000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        cat = unicodedata.category(c)
        if cat in ("Cn", "Cs", "Co") or old.category(c) != cat:
            continue
        cps.append(cp)
    return cps


def random_string(rng, pool, n):
    return "".join(chr(rng.choice(pool)) for _ in range(n))


def make_cases(rng, english, count):
    groups = {}
    groups["english"] = [l for l in english if l.strip()][:count]
    pool = stable_codepoints()
    ws = [" ", " ", " ", "\t", "\r", "\x0b", "\x0c", "\u00a0", "\u3000", "\u2028", "\u2029", "\u0085", "\u2003",
          "\u1680", "\u202f", "\u205f", "\u180e", "\u200b", "\x1c", "\x1f"]
    groups["unicode"] = [random_string(rng, pool, rng.randint(1, 12)) for _ in range(count)]
    mixed = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 8)):
            r = rng.random()
            if r < 0.3:
                parts.append(rng.choice(english).strip()[: rng.randint(1, 30)])
            elif r < 0.5:
                parts.append(random_string(rng, pool, rng.randint(1, 4)))
            elif r < 0.8:
                parts.append("".join(rng.choice(ws) for _ in range(rng.randint(1, 30))))
            else:
                parts.append(rng.choice(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'x", "''", " 's", "12345",
                                         " 42", "3.14", "٣٤", "Ⅻ", "½", "<|endoftext|>", "<|padding|>", "<|endof",
                                         "!!", " ...", "—", "😀", "👍🏽", "e\u0301", "n\u0303", "\u0301",
                                         "한\u1100", "\u1100\u1161\u11a8", "Å", "A\u030a"]))
        mixed.append("".join(parts))
    groups["mixed"] = mixed
    nfd = []
    for l in english[: count // 4] + multilingual_words(rng, count // 4):
        nfd.append(unicodedata.normalize("NFD", l + " éàüñøÅǅ ḱṓ ĳ Ω"))
    groups["decomposed"] = nfd
    anycp = []
    for _ in range(count):
        s = []
        for _ in range(rng.randint(1, 10)):
            cp = rng.randint(0x20, 0x10FFFF) if rng.random() < 0.5 else rng.randint(0x80, 0xFFFF)
            if 0xD800 <= cp <= 0xDFFF:
                cp = 0x41
            s.append(chr(cp))
        anycp.append("".join(s))
    groups["any-codepoint"] = anycp
    for g in groups:  # lines cannot contain "\n"
        groups[g] = [s.replace("\n", " ") for s in groups[g]]
    return groups


def run_driver(template, tokenizer, input_path):
    cmd = template.format(tokenizer=shlex.quote(tokenizer), input=shlex.quote(input_path))
    res = subprocess.run(cmd, shell=True, capture_output=True)
    if res.returncode != 0:
        sys.exit(f"driver failed ({res.returncode}): {cmd}\n{res.stderr.decode(errors='replace')}")
    return res.stdout.decode("utf-8")


def parse_ids(line):
    line = line.strip()
    return [int(x) for x in line.split(",")] if line else []


def compare_lines(template, tokenizer, hf, texts, work, tag):
    path = os.path.join(work, f"input-{tag}.txt")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(t + "\n" for t in texts))
    out = run_driver(template, tokenizer, path).split("\n")
    if out and out[-1] == "":
        out.pop()
    if len(out) != len(texts):
        sys.exit(f"{tag}: driver printed {len(out)} lines for {len(texts)} inputs")
    bad = []
    for text, line in zip(texts, out):
        want = hf.encode(text).ids
        try:
            got = parse_ids(line)
        except ValueError:
            got = line
        if got != want:
            bad.append((text, want, got))
    return bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer", help="compare on this tokenizer.json instead of training one")
    ap.add_argument("--train", nargs="*", help="text files to train on (default: the fortune files)")
    ap.add_argument("--work", default="/tmp/compare-tokenizer")
    ap.add_argument("--vocab", type=int, default=3000)
    ap.add_argument("--count", type=int, default=2000, help="strings per group")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cmd", default="diffmamba tokenize --tokenizer {tokenizer} --file {input} --lines")
    ap.add_argument("--whole-cmd", default="diffmamba tokenize --tokenizer {tokenizer} --file {input}")
    ap.add_argument("--nospecial-cmd")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = random.Random(args.seed)

    files = args.train
    if not files:
        files = [os.path.join(FORTUNES, f) for f in sorted(os.listdir(FORTUNES))] if os.path.isdir(FORTUNES) else []
        files = [f for f in files if not f.endswith((".dat", ".u8")) and os.path.isfile(f)]
    english = []
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            english.extend(fh.read().split("\n"))
    if not english:
        sys.exit("no training text: install the fortunes packages or pass --train FILE")
    if args.tokenizer:
        tokenizers_ = [args.tokenizer]
    else:
        texts = english + multilingual_words(rng, 20000) + [" ".join(multilingual_words(rng, 12)) for _ in range(2000)]
        tokenizers_ = train(texts, args.vocab, args.work)

    groups = make_cases(rng, english, args.count)
    docs = []
    for _ in range(40):
        start = rng.randrange(max(1, len(english) - 60))
        doc = "\n".join(english[start:start + rng.randint(1, 60)])
        doc += rng.choice(["", "\n", "\n\n", "  \n", " \t\n ", "\r\n", "   "])
        docs.append(doc)
    docs += ["\n".join(groups["mixed"][i:i + 20]) for i in range(0, 200, 20)]

    failed = False
    total = 0
    for tokpath in tokenizers_:
        hf = Tokenizer.from_file(tokpath)
        print(f"== {tokpath} (vocab {hf.get_vocab_size()})")
        for name, texts in groups.items():
            bad = compare_lines(args.cmd, tokpath, hf, texts, args.work, name)
            total += len(texts)
            print(f"{name:14s} {len(texts):6d} strings, {len(bad):4d} mismatches")
            for text, want, got in bad[:5]:
                print(f"    {text!r}\n      hf  {want}\n      ours {got}")
            if bad and name != "any-codepoint":
                failed = True
        if args.nospecial_cmd:
            hf.encode_special_tokens = True
            texts = groups["mixed"]
            bad = compare_lines(args.nospecial_cmd, tokpath, hf, texts, args.work, "nospecial")
            hf.encode_special_tokens = False
            total += len(texts)
            print(f"{'no-special':14s} {len(texts):6d} strings, {len(bad):4d} mismatches")
            for text, want, got in bad[:5]:
                print(f"    {text!r}\n      hf  {want}\n      ours {got}")
            failed |= bool(bad)
        nbad = 0
        for i, doc in enumerate(docs):
            path = os.path.join(args.work, f"doc{i}.txt")
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(doc)
            got = parse_ids(run_driver(args.whole_cmd, tokpath, path))
            if got != hf.encode(doc).ids:
                nbad += 1
                if nbad <= 3:
                    print(f"    document {i} differs: {doc[:80]!r}")
        total += len(docs)
        print(f"{'documents':14s} {len(docs):6d} texts,   {nbad:4d} mismatches")
        failed |= nbad > 0
    print(f"compared {total} strings in all: {'FAILED' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
