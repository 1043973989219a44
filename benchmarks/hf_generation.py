"""Samples per second of the hf backend on the tiny random Qwen2.5-VL (CPU here; GPU if present).

    python benchmarks/hf_generation.py [--items 32] [--batch-size 8] [--max-new-tokens 64]

Prints samples/s and generated tokens/s; the model and images are built offline first.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from PIL import Image

from vgpo_eval.backends import Decoding, Request
from vgpo_eval.backends.hf import HFBackend
from vgpo_eval.prompts import fit_pixels
from vgpo_eval.tiny import build_tiny_qwen2_5_vl
from vgpo_eval.types import Sample


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args()
    model = build_tiny_qwen2_5_vl(Path(tempfile.mkdtemp()) / "tiny")
    size = fit_pixels(96, 96)
    requests = [
        Request(Sample(id=f"b/{i}", task="b", question=f"How many shapes? ({i})", answer="1"),
                [Image.new("RGB", size, (i * 7 % 255, 90, 160))])
        for i in range(args.items)
    ]  # fmt: skip
    backend = HFBackend(str(model), batch_size=args.batch_size)
    decoding = Decoding(max_new_tokens=args.max_new_tokens)
    list(backend.generate(requests[: args.batch_size], decoding))  # warm-up: load, first batch
    start = time.perf_counter()
    responses = list(backend.generate(requests, decoding))
    took = time.perf_counter() - start
    tokens = sum(r.tokens or 0 for r in responses)
    print(
        f"hf backend, tiny model on {backend.device} ({backend.dtype}), batch {args.batch_size}: "
        f"{len(responses) / took:.1f} samples/s, {tokens / took:.0f} generated tokens/s "
        f"({len(responses)} samples, {took:.2f} s)"
    )


if __name__ == "__main__":
    main()
