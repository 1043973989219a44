"""Peak memory of VGPO's hidden-state capture: a hook on the final norm vs `output_hidden_states=True`,
beside a plain forward that captures nothing.

The hook is how the trainer and `vgpo-eval focus` get the last-layer states; the target is that
it costs no more than the plain forward plus the (B, T) scores it keeps. Each mode runs in a fresh
process on a tiny random Qwen2.5-VL with 12 layers (no-grad forward of B sequences of S tokens);
the figure is that process's peak resident memory during the forward, above what it held before,
plus the bytes each mode keeps (nothing; (B, T) scores; all layers' states).

    python benchmarks/hidden_state_memory.py [--layers 12] [--batch 8] [--seq 2048]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def measure(model_dir: str, mode: str, batch: int, seq: int) -> dict:
    import torch
    from transformers import AutoModelForImageTextToText

    from vgpo_eval.focus import final_norm, focus_scores

    cuda = torch.cuda.is_available()  # on a GPU the allocator's own peak is exact; on CPU, RSS is noisy
    model = AutoModelForImageTextToText.from_pretrained(model_dir).eval().to("cuda" if cuda else "cpu")
    ids = torch.randint(20, 300, (batch, seq), device=model.device)  # (B, S) text tokens
    ids[:, 10:74] = model.config.image_token_id  # stands in for an image's positions (no pixels needed)
    image_mask = ids == model.config.image_token_id  # (B, S)
    response = torch.ones(batch, seq // 2, dtype=torch.bool, device=model.device)  # (B, T)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    with torch.no_grad():
        if mode == "plain":
            model.model.language_model(input_ids=ids)
            kept_bytes = 0
        elif mode == "hook":
            kept = []
            hook = final_norm(model).register_forward_hook(
                lambda m, a, out: kept.append(focus_scores(out, image_mask, response))
            )
            model.model.language_model(input_ids=ids)
            hook.remove()
            kept_bytes = sum(t.numel() * t.element_size() for t in kept)
        else:
            out = model.model.language_model(input_ids=ids, output_hidden_states=True)
            scores = focus_scores(out.hidden_states[-1], image_mask, response)
            kept_bytes = sum(h.numel() * h.element_size() for h in out.hidden_states) + scores.numel() * 4
    if cuda:
        return {
            "mode": mode,
            "peak_mib": (torch.cuda.max_memory_allocated() - base) / 2**20,
            "kept_mib": kept_bytes / 2**20,
        }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"mode": mode, "peak_mib": (peak - before) / 1024, "kept_mib": kept_bytes / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], args.child[1], args.batch, args.seq)))
        return
    from vgpo_eval.tiny import build_tiny_qwen2_5_vl

    model = str(build_tiny_qwen2_5_vl(Path(tempfile.mkdtemp()) / "tiny", layers=args.layers))
    results = {}
    for mode in ("plain", "hook", "output_hidden_states"):
        cmd = [
            sys.executable,
            __file__,
            "--child",
            model,
            mode,
            "--batch",
            str(args.batch),
            "--seq",
            str(args.seq),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    plain, hook, full = results["plain"], results["hook"], results["output_hidden_states"]
    print(
        f"tiny Qwen2.5-VL, {args.layers} layers, batch {args.batch} x {args.seq} tokens, no-grad forward on CPU:"
    )
    for r in (plain, hook, full):
        print(f"  {r['mode']:<21} peak +{r['peak_mib']:7.1f} MiB   kept {r['kept_mib']:8.2f} MiB")
    print(
        f"  the hook keeps {full['kept_mib'] / hook['kept_mib']:.0f}x less; peak ratio {full['peak_mib'] / max(hook['peak_mib'], 1e-9):.1f}x"
    )
    print(
        f"  hook vs plain forward: peak +{hook['peak_mib'] - plain['peak_mib']:.1f} MiB "
        f"(the scores it keeps: {hook['kept_mib']:.2f} MiB)"
    )


if __name__ == "__main__":
    main()
