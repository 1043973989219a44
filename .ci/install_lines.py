"""Every install line the docs give must resolve: `pip install --dry-run` of each, ignoring what is installed.

    python .ci/install_lines.py            # README.md and docs/*.md
    python .ci/install_lines.py FILE ...

Finds each `pip install ...` command in the files' fenced code blocks (the command up to `&&`, `;`, `|`
or a comment) and asks pip to resolve it from the repository root without installing anything
(`--dry-run --ignore-installed --report`). Prints one line per command, `resolved` with the versions
it picked of the packages that decide compatibility, or `DOES NOT RESOLVE` followed by pip's
explanation (a pin conflict: `ResolutionImpossible`), and exits 1 if any did not resolve. It needs the
package index (the lines' packages are looked up, not downloaded where the index serves metadata).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOWN = ("torch", "torchvision", "transformers", "trl", "accelerate", "vllm", "deepspeed", "datasets",
         "lmms-eval", "math-verify")  # fmt: skip
_FENCE = re.compile(r"^\s*(```|~~~)")


def install_lines(text: str) -> list[str]:
    """The `pip install` commands in the fenced code blocks of a markdown text, in order."""
    lines, inside, pending = [], False, ""
    for raw in text.splitlines():
        if _FENCE.match(raw):
            inside, pending = not inside, ""
            continue
        if not inside:
            continue
        line = pending + raw.strip()
        if line.endswith("\\"):  # a continued command
            pending = line[:-1] + " "
            continue
        pending = ""
        for command in re.split(r"&&|;|\|", line.split(" #")[0]):
            words = command.strip().split()
            if words[:2] == ["pip", "install"] or words[:4] == ["python", "-m", "pip", "install"]:
                lines.append(" ".join(words))
    return lines


def resolve(line: str, cwd: Path = ROOT) -> tuple[bool, str]:
    """(resolved, what pip picked or why it could not) for one `pip install ...` line."""
    words = shlex.split(line)
    args = words[words.index("install") + 1 :]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
             "--report", str(report), *args],
            cwd=cwd, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode or not report.exists():
            why = [x for x in (done.stderr + done.stdout).splitlines() if x.strip() and "is ignored" not in x]
            return False, "\n".join(why[-25:]) or f"pip exited {done.returncode}"
        picked = {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
                  for item in json.loads(report.read_text())["install"]}  # fmt: skip
    return True, ", ".join(f"{name} {picked[name]}" for name in SHOWN if name in picked)


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    lines = list(dict.fromkeys(line for f in files for line in install_lines(f.read_text(encoding="utf-8"))))
    if not lines:
        print("no install line found in " + ", ".join(map(str, files)))
        return 1
    failed = 0
    for line in lines:
        start = time.monotonic()
        ok, detail = resolve(line)
        seconds = f"{time.monotonic() - start:.0f} s"
        if ok:
            print(f"resolved: {line}  ({detail}; {seconds})", flush=True)
        else:
            failed += 1
            print(f"DOES NOT RESOLVE: {line}  ({seconds})\n" + "\n".join("    " + x for x in detail.splitlines()),
                  flush=True)  # fmt: skip
    print(f"{len(lines) - failed} of {len(lines)} install lines resolve")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
