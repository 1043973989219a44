"""Export our tasks for lmms-eval: `lmms-eval --include_path DIR --tasks vgpo_mathvista ...`.

For each task, DIR gets `vgpo_<task>.jsonl` (the converted Samples, image paths included),
`vgpo_<task>.yaml` (an lmms-eval task reading that file through `datasets`' json loader) and one
shared `vgpo_utils.py` whose hooks call our prompt builder and checker, so lmms-eval's scores are
our scores. lmms-eval calls `process_results` from threads: our checker's time limits work there.
lmms-eval exits 0 even when a task fails, so read its results file, not its exit code.

lmms-eval 0.7.3 pins antlr4 4.7.2 (through latex2sympy2), which math-verify's LaTeX parser does
not accept: install lmms-eval in its own environment, then this package with `--no-deps`.
"""

from __future__ import annotations

import json
from pathlib import Path

from vgpo_eval.prompts import MAX_PIXELS, MIN_PIXELS
from vgpo_eval.types import Sample

UTILS = '''"""lmms-eval hooks for vgpo tasks (written by `python -m vgpo_eval export-lmms-eval`)."""

from vgpo_eval.lmms import aggregate, doc_to_text, doc_to_visual, process_results  # noqa: F401
'''

YAML = """task: vgpo_{task}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_visual: !function vgpo_utils.doc_to_visual
doc_to_text: !function vgpo_utils.doc_to_text
doc_to_target: answer
generation_kwargs:
  max_new_tokens: {max_new_tokens}
  temperature: 0
  do_sample: false
process_results: !function vgpo_utils.process_results
metric_list:
  - metric: vgpo_{protocol}
    aggregation: !function vgpo_utils.aggregate
    higher_is_better: true
metadata:
  version: 1
  protocol: {protocol}
  prompt: {prompt}
  min_pixels: {min_pixels}
  max_pixels: {max_pixels}
"""


def export(
    out_dir: str | Path,
    samples: dict[str, list[Sample]],
    protocol: str = "strict",
    prompt: str = "lookback",
    max_new_tokens: int = 2048,
) -> list[str]:
    """Write the task files for `samples` ({task: [Sample, ...]}); return the lmms-eval task names."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "vgpo_utils.py").write_text(UTILS, encoding="utf-8")
    names = []
    for task, rows in samples.items():
        data = out / f"vgpo_{task}.jsonl"
        with open(data, "w", encoding="utf-8") as f:
            for sample in rows:
                doc = sample.to_dict() | {"protocol": protocol, "prompt": prompt}
                f.write(
                    json.dumps(
                        doc | {"meta": json.dumps(sample.meta, ensure_ascii=False)}, ensure_ascii=False
                    )
                    + "\n"
                )
        yaml = YAML.format(
            task=task, data=data, protocol=protocol, prompt=prompt, max_new_tokens=max_new_tokens,
            min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS,
        )  # fmt: skip
        (out / f"vgpo_{task}.yaml").write_text(yaml, encoding="utf-8")
        names.append(f"vgpo_{task}")
    return names


def _sample(doc: dict) -> Sample:
    meta = doc.get("meta")
    return Sample.from_dict(doc | {"meta": json.loads(meta) if isinstance(meta, str) else meta or {}})


def doc_to_visual(doc: dict) -> list:
    """The item's images, resized into the evaluation pixel bounds."""
    from vgpo_eval.prompts import load_images

    return load_images(_sample(doc))


def doc_to_text(doc: dict, lmms_eval_specific_kwargs: dict | None = None) -> str:
    """The question and the instruction (the model class adds the images and its chat template)."""
    from vgpo_eval.prompts import user_text

    return user_text(_sample(doc), doc.get("prompt") or "lookback")


def process_results(doc: dict, results: list[str]) -> dict[str, float]:
    """Our checker's score of the response, under the protocol the export named."""
    from vgpo_eval.checker.protocols import check

    protocol = doc.get("protocol") or "strict"
    return {f"vgpo_{protocol}": check(results[0], _sample(doc), protocol).score}


def aggregate(scores: list[float]) -> float:
    """Accuracy in percent."""
    return 100.0 * sum(scores) / len(scores) if scores else 0.0
