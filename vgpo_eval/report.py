"""Scoring a run folder and reporting it: per task, per suite, per protocol. CPU only.

`score_run(run_dir, protocol)` reads `<task>.samples.jsonl` and `<task>.responses.jsonl`, checks
every response in worker processes, writes `<task>.scored.<protocol>.jsonl` and
`report.<protocol>.json`; `markdown(reports)` renders the tables people read: benchmarks as
columns in the paper's order with suite means, then breakdowns, WeMath's own metrics, failures.

    python -m vgpo_eval score --run runs/my-run --protocol strict
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from vgpo_eval.metrics import task_metrics
from vgpo_eval.run import (
    MISSING_IMAGE,
    RunFolderError,
    read_json,
    read_run_responses,
    read_samples,
    shard_count,
    shard_owner,
    write_jsonl,
)
from vgpo_eval.score import _map
from vgpo_eval.types import UNJUDGED
from vgpo_tasks import SUITES, TASKS


def score_run(
    run_dir: str | Path, protocol: str = "strict", workers: int | None = None, verifier: Any = None
) -> dict[str, Any]:
    """Score every task of a run under one protocol; write the scored files and report.<protocol>.json. The
    `verifier` protocol takes its model from `verifier` (vgpo_eval.verifier.Settings; None: the default)."""
    run_dir = Path(run_dir)
    load_errors = _json(run_dir / "load_errors.json") or {}
    tasks: dict[str, Any] = {}
    config = _config(run_dir)
    policy = config.get("run", {}).get("missing_image", "wrong")
    for name in task_names(run_dir):
        samples = read_samples(run_dir / f"{name}.samples.jsonl")
        responses = read_run_responses(run_dir, name)
        if protocol == "verifier":
            scored = _verified(samples, responses, workers, run_dir, verifier)
        else:
            scored = _score(samples, responses, protocol, workers)
        write_jsonl(run_dir / f"{name}.scored.{protocol}.jsonl", scored)
        tasks[name] = _summary(name, samples, responses, scored, load_errors.get(name, []), policy)
        tasks[name]["missing_by_shard"] = missing_by_shard(samples, responses, shard_count(run_dir))
    report = {
        "protocol": protocol,
        "model": config.get("run", {}).get("model"),
        "source": config.get("run", {}).get("source"),
        "sharegpt": config.get("run", {}).get("sharegpt"),
        "prompt": config.get("run", {}).get("decoding", {}).get("prompt"),
        "run": str(run_dir),
        "not_run": _json(run_dir / "not_run.json") or {},
        "tasks": tasks,
        "suites": suite_means({k: v["accuracy"] for k, v in tasks.items() if v["complete"]}),
    }
    if protocol == "verifier":
        from vgpo_eval.verifier import Settings

        report["verifier"] = (verifier or Settings()).describe()
    write_jsonl(run_dir / f"report.{protocol}.json", [report], indent=True)
    return report


def _verified(
    samples: list, responses: dict, workers: int | None, run_dir: Path, settings: Any
) -> list[dict]:
    """strict's records, then the verifier's decisions on them (cached in RUN/verifier.cache.jsonl)."""
    from vgpo_eval.verifier import Cache, Settings, decide

    by_id = {s.id: s for s in samples}
    strict = [r | {"question": by_id[r["id"]].question, "response": responses[(r["id"], r["index"])].text}
              for r in _score(samples, responses, "strict", workers)]  # fmt: skip
    return decide(strict, settings or Settings(), Cache(run_dir / "verifier.cache.jsonl"))


def task_names(run_dir: Path) -> list[str]:
    present = {p.name.split(".")[0] for p in run_dir.glob("*.samples.jsonl")}
    return [n for n in TASKS if n in present] + sorted(present - set(TASKS))


def _score(samples: list, responses: dict, protocol: str, workers: int | None) -> list[dict]:
    records, out, by_item = [], [], {}
    for (sample_id, index), response in sorted(responses.items()):
        by_item.setdefault(sample_id, []).append((index, response))
    for sample in samples:
        for index, response in by_item.get(sample.id, []):
            base = {"id": sample.id, "index": index, "task": sample.task, "answer": sample.answer}
            if response.error is not None:
                out.append(
                    base
                    | {
                        "correct": False,
                        "extracted": None,
                        "rule": "generation_error",
                        "error": response.error,
                    }
                )
                continue
            hints = {
                "choices": list(sample.choices) if sample.choices else None,
                "answer_type": sample.answer_type,
            }
            records.append(
                (len(records), base | hints | {"precision": sample.precision, "response": response.text})
            )
    workers = 1 if len(records) < 64 else workers or os.cpu_count() or 1  # small runs: no process start-up
    size = max(1, min(32, len(records) // (4 * workers) or 1))
    chunks = [records[i : i + size] for i in range(0, len(records), size)]
    for chunk in _map(chunks, protocol, workers):
        out.extend({k: v for k, v in r.items() if k not in ("response", "choices")} for r in chunk)
    order = {s.id: i for i, s in enumerate(samples)}
    return sorted(out, key=lambda r: (order.get(r.get("id"), -1), r.get("index", 0)))


def _summary(
    name: str,
    samples: list,
    responses: dict,
    scored: list[dict],
    load_errors: list[str],
    policy: str = "wrong",
) -> dict:
    """A task's metrics and counts. Items whose image could not be read are counted wrong, or with
    `policy` "drop" left out of the denominator (Look-Back's rule); listed either way."""
    unreadable = sorted({r["id"] for r in scored if str(r.get("error") or "").startswith(MISSING_IMAGE)})
    dropped = set(unreadable) if policy == "drop" else set()
    correct = {
        (r["id"], r["index"]): bool(r.get("correct")) for r in scored if "id" in r and r["id"] not in dropped
    }
    by_id = {s.id: s for s in samples}
    pairs = [(by_id[i], c) for (i, _), c in correct.items() if i in by_id]
    metrics = task_metrics(TASKS[name], pairs) if name in TASKS else {"accuracy": 0.0, "n": len(pairs)}
    answered = {sample_id for sample_id, _ in responses}
    missing = sum(1 for s in samples if s.id not in answered)
    errors = sorted({r["id"] for r in scored if r.get("rule") == "generation_error"} - set(unreadable))
    # checks that could not judge: a CPU limit ("timeout:") or an exception inside the checker ("error:")
    timeouts = [f"{r['id']}#{r['index']}" for r in scored if str(r.get("rule", "")).startswith(UNJUDGED)]
    return (
        metrics
        | {
            "items": len(samples),
            "missing": missing,
            "complete": missing == 0 and bool(samples),
            "generation_errors": errors,
            "load_errors": load_errors,
            "timeouts": timeouts,
            "rules": dict(Counter(r.get("rule") for r in scored).most_common()),
            "missing_images": unreadable,
            "missing_image_policy": policy,
        }
        | ({"verifier": _verifier_counts(scored)} if any("strict_rule" in r for r in scored) else {})
    )


def _verifier_counts(scored: list[dict]) -> dict:
    """Under the verifier protocol: how many verdicts the model decided, how many it flipped from strict, and the
    responses it could not judge (errors: retried on the next scoring) or whose reply was no judgment."""
    from vgpo_eval.verifier import DECIDED, ERROR, UNPARSED

    rules = [str(r.get("rule")) for r in scored]
    return {
        "decided": sum(r in DECIDED for r in rules),
        "flipped": sum("strict_correct" in r and bool(r["correct"]) != r["strict_correct"] for r in scored),
        "unparsed": rules.count(UNPARSED),
        "errors": [f"{r['id']}#{r['index']}" for r in scored if r.get("rule") == ERROR],
    }


def missing_by_shard(samples: list, responses: dict, shards: int | None) -> dict[str, list[str]]:
    """The items that still lack a response, by the shard that owns them ("-" for an unsharded run)."""
    answered = {sample_id for sample_id, _ in responses}
    owners: dict[str, list[str]] = {}
    for s in samples:
        if s.id not in answered:
            owners.setdefault(str(shard_owner(s.id, shards)) if shards else "-", []).append(s.id)
    return dict(sorted(owners.items()))


def suite_means(accuracy: dict[str, float]) -> dict[str, float | None]:
    """Mean accuracy of each suite; None when one of its tasks has no complete result."""
    return {
        suite: (
            sum(accuracy[t] for t in members) / len(members) if all(t in accuracy for t in members) else None
        )
        for suite, members in SUITES.items()
    }


CSV_FIELDS = ("model", "revision", "source", "sharegpt", "prompt", "temperature", "top_p", "samples", "max_new_tokens",
              "checker", "protocol", "task", "metric", "value", "n")  # fmt: skip


def write_results_csv(run_dir: Path, reports: list[dict]) -> Path:
    """results.csv: one row per task (and suite) x protocol x metric, with what the numbers depend on,
    so `pandas.read_csv` of many runs' files is a whole leaderboard."""
    import csv

    config = _config(run_dir)
    run, decoding = config.get("run", {}), config.get("run", {}).get("decoding", {})
    fixed = {"model": run.get("model"), "revision": run.get("revision"), "source": run.get("source"), "sharegpt": run.get("sharegpt"),
             "prompt": decoding.get("prompt"), "temperature": decoding.get("temperature"),
             "top_p": decoding.get("top_p"), "samples": decoding.get("samples"),
             "max_new_tokens": decoding.get("max_new_tokens"), "checker": config.get("checker")}  # fmt: skip
    path = run_dir / "results.csv"
    with open(path, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:  # ids are data
        writer = csv.DictWriter(f, CSV_FIELDS)
        writer.writeheader()
        for report in reports:
            for row in _metric_rows(report):
                writer.writerow(fixed | {"protocol": report["protocol"]} | row)
    return path


def _metric_rows(report: dict) -> list[dict]:
    rows = []
    for name, task in report["tasks"].items():
        rows.append({"task": name, "metric": "accuracy", "value": round(task["accuracy"], 4), "n": task["n"]})
        for key, values in task.get("breakdowns", {}).items():
            rows += [{"task": name, "metric": f"accuracy[{key}={v}]", "value": round(m["accuracy"], 4), "n": m["n"]}
                     for v, m in values.items()]  # fmt: skip
        for key, value in (task.get("wemath") or {}).items():
            if isinstance(value, int | float):
                rows.append({"task": name, "metric": f"wemath_{key}", "value": value, "n": task["n"]})
        if verifier := task.get("verifier"):  # what the model decided, beside the accuracy it gave
            rows += [{"task": name, "metric": f"verifier_{key}", "value": len(value) if key == "errors" else value,
                      "n": task["n"]} for key, value in verifier.items()]  # fmt: skip
    for suite, value in report["suites"].items():
        if value is not None:
            rows.append(
                {"task": suite, "metric": "accuracy (suite mean)", "value": round(value, 4), "n": None}
            )
    return rows


def _json(path: Path) -> Any:
    """A run folder's JSON file, None if absent; RunFolderError naming it if damaged (never a traceback)."""
    return read_json(path)


def _config(run_dir: Path) -> dict:
    """config.json ({} if absent); RunFolderError naming it if its run settings are not what `run` writes."""
    config = _json(run_dir / "config.json") or {}
    settings = config.get("run", {})
    if not isinstance(settings, dict) or not isinstance(settings.get("decoding", {}), dict):
        raise RunFolderError(f"{run_dir / 'config.json'} is damaged: its run settings are not a JSON object")
    return config


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main_table(reports: list[dict]) -> str:
    """Benchmarks as columns (the paper's order), suite means after each suite; one row per report."""
    columns = [*SUITES["general"], "general", *SUITES["vision_dependent"], "vision_dependent"]
    titles = [TASKS[c].title if c in TASKS else f"{c.replace('_', '-')} avg" for c in columns]
    lines = ["| run | protocol | " + " | ".join(titles) + " |", "|---|---|" + "---|" * len(columns)]
    for report in reports:
        cells = []
        for column in columns:
            task = report["tasks"].get(column)
            value = report["suites"].get(column) if column in SUITES else (task or {}).get("accuracy")
            mark = "*" if task and not task["complete"] else ""
            cells.append(_cell(value if column in SUITES or task else None) + mark)
        lines.append(f"| {Path(report['run']).name} | {report['protocol']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _missing_text(by_shard: dict | None) -> str:
    if not by_shard:
        return ""
    if list(by_shard) == ["-"]:
        ids = by_shard["-"]
        return f" (INCOMPLETE: {', '.join(ids[:5])}{' ...' if len(ids) > 5 else ''}; re-run the command to finish)"
    owners = "; ".join(
        f"shard {shard}: {len(ids)} ({', '.join(ids[:5])}{' ...' if len(ids) > 5 else ''})"
        for shard, ids in by_shard.items()
    )
    return f" (INCOMPLETE, by owner: {owners}; re-run those shards)"


def _timeout_line(reports: list[dict]) -> str:
    """How many checks could not judge (a CPU limit or an error inside the checker), per protocol (0 is normal)."""
    counts = [
        f"{r['protocol']} {sum(len(t.get('timeouts', [])) for t in r['tasks'].values())}" for r in reports
    ]
    return (
        "Checks that reached the CPU time limit or failed inside the checker (counted wrong, listed per task below): "
        + ", ".join(counts)
        + "."
    )


RULES_SHOWN = 8  # rules listed per protocol and task, the most frequent first


def _protocol_lines(protocol: str, task: dict | None) -> list[str]:
    """A task's breakdowns and WeMath metrics under one protocol, and how many verdicts each rule decided
    (so credit from, say, the paper protocol's letter-anywhere rule is visible)."""
    if not task:
        return []
    lines = [
        f"- {key} ({protocol}): "
        + "; ".join(f"{v} {m['accuracy']:.1f}% (n={m['n']})" for v, m in values.items())
        for key, values in task.get("breakdowns", {}).items()
    ]
    if "wemath" in task:
        lines.append(f"- WeMath ({protocol}): " + ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                                                            for k, v in task["wemath"].items()))  # fmt: skip
    if "verifier" in task:
        v = task["verifier"]
        lines.append(f"- the verifier model decided {v['decided']} verdict(s) and flipped {v['flipped']} from strict; "
                     f"{v['unparsed']} reply(ies) were no judgment (strict's verdict kept)"
                     + (f"; {len(v['errors'])} could not be judged (verifier errors, counted as strict judged "
                        f"them and retried on the next scoring): " + ", ".join(v["errors"][:20]) if v["errors"] else ""))  # fmt: skip
    rules = task.get("rules") or {}
    if rules:
        shown = list(rules.items())[:RULES_SHOWN]
        rest = sum(rules.values()) - sum(count for _, count in shown)
        lines.append(f"- verdicts by rule ({protocol}): " + ", ".join(f"{rule} {count}" for rule, count in shown)
                     + (f", other rules {rest}" if rest else ""))  # fmt: skip
    return lines


def markdown(reports: list[dict]) -> str:
    """The whole report.md: the main table, then per-task breakdowns and failures."""
    out = [
        "# Results",
        "",
        main_table(reports),
        "",
        "`*`: task incomplete (items missing); `-`: not run. "
        + "Data: "
        + ", ".join(f"{k} {reports[0].get(k)}" for k in ("source", "sharegpt", "prompt") if reports[0].get(k))
        + ".",
        _timeout_line(reports),
        *[
            f"Verifier ({r['protocol']}): {v['model']} (revision {v.get('revision') or 'latest'}, "
            f"{v.get('urls') or v.get('backend')}), verify {v.get('verify')}."
            for r in reports
            if (v := r.get("verifier"))
        ],
        "Every item (image, prompt, response, verdicts): [view.html](view.html), written or refreshed by "
        f"`vgpo-eval view {reports[0].get('run') or 'RUN'}`.",
        "",
    ]
    for name, reason in reports[0].get("not_run", {}).items():
        out.append(f"- not run: {TASKS[name].title if name in TASKS else name}: {reason}")
    if reports[0].get("not_run"):
        out.append("")
    first = reports[0]
    for name, task in first["tasks"].items():
        out.append(f"## {TASKS[name].title if name in TASKS else name}")
        out.append(f"{task['n']} responses for {task['items']} items, {task['missing']} missing"
                   + _missing_text(task.get("missing_by_shard")) + ". "
                   + ", ".join(f"{r['protocol']}: {r['tasks'][name]['accuracy']:.1f}%" for r in reports))  # fmt: skip
        for report in reports:  # every protocol's own breakdowns, labelled, and what decided its verdicts
            out.extend(_protocol_lines(report["protocol"], report["tasks"].get(name)))
        timeouts = [
            (r["protocol"], r["tasks"][name].get("timeouts", [])) for r in reports if name in r["tasks"]
        ]
        if task.get("missing_images"):
            how = ("dropped from the denominator (--missing-image drop, Look-Back's rule)"
                   if task.get("missing_image_policy") == "drop" else "counted wrong (--missing-image wrong)")  # fmt: skip
            ids = task["missing_images"]
            out.append(f"- items whose image could not be read ({len(ids)}), {how}: "
                       + ", ".join(ids[:20]) + (" ..." if len(ids) > 20 else ""))  # fmt: skip
        for label, items in (
            ("generation errors", task["generation_errors"]),
            ("bad rows", task["load_errors"]),
            *(
                (f"checks that reached the CPU time limit or failed under {p}, counted wrong", ids)
                for p, ids in timeouts
            ),
        ):
            if items:
                out.append(
                    f"- {label} ({len(items)}): "
                    + ", ".join(map(str, items[:20]))
                    + (" ..." if len(items) > 20 else "")
                )
        out.append("")
    return "\n".join(out)
