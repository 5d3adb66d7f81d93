#!/usr/bin/env bash
# Screenshots of the rendered pages in headless Chromium (Debian's `chromium`), committed under results/site/.
# Quarto cannot be installed offline here, so the pages are the pre-processed notebooks (nbdev_proc_nbs, as for the
# site) rendered by nbconvert without code inputs: the same outputs (tables, figures) the site shows, in a plainer theme.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.ci/stub:$PWD/.venv/bin:$PATH"
nbdev_proc_nbs >/dev/null
html=$(mktemp -d); mkdir -p results/site
for page in index 20_table2; do
  jupyter nbconvert --to html --no-input --output-dir "$html" "_proc/$page.ipynb" >/dev/null 2>&1
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,2600 \
           --screenshot="results/site/$page.png" "file://$html/$page.html" 2>/dev/null
  echo "results/site/$page.png"
done
