#!/usr/bin/env bash
# lmms-eval end to end on CPU: lmms-eval in its own environment (its antlr4 pin conflicts with
# math-verify's), this project installed there without dependencies, then the opt-in test.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VGPO_LMMS_VENV:-/tmp/vgpo-lmms-venv}"
if [ ! -x "$venv/bin/lmms-eval" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "torch==2.14.1" "torchvision==0.29.1" "transformers==5.23.*" "lmms-eval==0.7.3" decord "filelock<4"
fi
"$venv/bin/pip" install -q --no-deps -e . "mathruler==0.1.0"
# lmms-eval 0.7.3 imports filelock._api, which filelock 4 removed
"$venv/bin/pip" install -q pylatexenc "filelock<4"
VGPO_LMMS_PYTHON="$venv/bin/python" python -m pytest -q tests/test_lmms.py
