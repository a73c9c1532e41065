"""Checks `diffmamba logits` against HuggingFace transformers on the same Mamba2 directory.

    python3 scripts/compare-with-transformers.py DIR LOGITS.npy 1,2,3

Needs a python with torch and transformers (not installed by the set-up; e.g. the set-up's venv plus
`pip install transformers`). Prints the largest relative difference; exits 1 above 1e-4.
"""
import sys

import numpy as np
import torch
from transformers import Mamba2ForCausalLM


def main() -> int:
    directory, npy, ids = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split(",")]
    model = Mamba2ForCausalLM.from_pretrained(directory).eval()
    with torch.no_grad():
        ref = model(input_ids=torch.tensor([ids])).logits[0].float().numpy()
    ours = np.load(npy)
    rel = float(np.abs(ref - ours).max() / np.abs(ref).max())
    print(f"tokens {len(ids)}, vocab {ref.shape[1]}, max relative difference {rel:.3e}")
    return 0 if rel <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
