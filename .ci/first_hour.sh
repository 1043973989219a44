#!/usr/bin/env bash
# The README's first path, as a new user takes it: a fresh clone of the committed tree (no ../shared
# beside it), a fresh venv, the README's install-and-demo line exactly as written, then the demo's run
# folder read from another directory (focus, status, score, table, show). Every command must exit 0.
#   bash .ci/first_hour.sh        (about 5 minutes on 2 cores, most of it pip)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/clone/vgpo"
python3 -m venv "$work/venv"
# shellcheck disable=SC1091
source "$work/venv/bin/activate"
# the first line of the README's first bash block: the install-and-demo command
line="$(python3 - "$work/clone/vgpo/README.md" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
print(re.search(r"```bash\n(.*?)\n", text).group(1))
EOF
)"
echo "README: $line"
case "$line" in *"vgpo-eval demo"*) ;; *) echo "the README's first command is not the demo: $line"; exit 1;; esac
(cd "$work/clone/vgpo" && eval "$line")
run="$work/clone/vgpo/runs/demo/run"
elsewhere="$work/elsewhere"
mkdir -p "$elsewhere" && cd "$elsewhere"
step() { echo "+ $*"; "$@" > "$work/out.txt" 2>&1 || { cat "$work/out.txt"; echo "FAILED: $*"; exit 1; }; tail -n 3 "$work/out.txt"; }
step vgpo-eval status "$run"
step vgpo-eval score --run "$run" --protocol papo
step vgpo-eval table "$run" --protocol strict
step vgpo-eval show counting --source local --data-dir "$work/clone/vgpo/runs/demo/data"
step vgpo-eval focus --run "$run"
test -s "$run/focus/focus.json" || { echo "focus wrote no $run/focus/focus.json"; exit 1; }
test -z "$(ls -A "$elsewhere")" || { echo "a command wrote into the directory it ran from: $(ls -A "$elsewhere")"; exit 1; }
echo "first hour: every command exited 0"
