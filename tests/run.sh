#!/usr/bin/env bash
# Set up a virtual environment and run every check: export/clean in sync, nbdev_test, pytest (unit tests and
# papermill re-execution of the notebooks at preset "tiny"), and the docs pre-processing.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip setuptools wheel   # the packaging test builds an sdist and a wheel
.venv/bin/python -m pip install -q torch==2.13.0          # the CPU wheel first, or pip fetches a CUDA build
.venv/bin/python -m pip install -q -e ".[dev]"
export PATH="$PWD/.venv/bin:$PATH"
echo "== setup done in $(( $(date +%s) - start )) s"

echo "== nbdev_export / nbdev_clean leave no diff"
nbdev_export
nbdev_clean
if git rev-parse --git-dir >/dev/null 2>&1; then
  changed=$(git status --porcelain -- sar_xsensor nbs)
  if [ -n "$changed" ]; then echo "export/clean changed files:"; echo "$changed"; git diff --stat; exit 1; fi
fi

echo "== nbdev_test"
nbdev_test --n_workers 2

echo "== pytest (unit tests + papermill notebooks at preset tiny)"
pytest -q tests

echo "== docs pre-processing (nbdev_proc_nbs with a stub quarto)"
PATH="$PWD/.ci/stub:$PATH" nbdev_proc_nbs >/dev/null
test -f _proc/index.ipynb
.venv/bin/python tests/test_site.py _proc

echo "== all checks passed in $(( $(date +%s) - start )) s"
