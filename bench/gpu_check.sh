#!/usr/bin/env bash
# The device checks for a GPU box, in one call (records under $OUT, default runs/gpu_check):
#   1. Stage 2 speed: the batched distillation loop vs one chip at a time, peak GPU memory (bench/bench_migrate_speed.py);
#   2. `sar-xsensor reproduce --preset tiny` end to end on the GPU, with its time;
#   3. the unit tests that run models (Stage 1, Stage 2, classifier, GANs, CLI) on the GPU;
#   4. the Stage 1 adapter sweep (bench/stage1_variants.py), one process per variant in parallel on the one GPU; needs the
#      bench source chips carried as runs/bench_stage1/benchmark/tsx_like. VARIANTS="a b" picks them.
# Packages the box lacks travel as wheels in .whl/ (see README "Checks on a GPU box"). CHECKS="1 3" runs a subset.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu_check}; mkdir -p "$OUT"
PY=${PYTHON:-python3}
if ls .whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
mkdir -p /tmp/bin && printf '#!/bin/sh\nexec %s -c "from sar_xsensor.cli import main; main()" "$@"\n' "$(command -v $PY)" > /tmp/bin/sar-xsensor
chmod +x /tmp/bin/sar-xsensor; export PATH=/tmp/bin:$PATH PYTHONUNBUFFERED=1 MPLBACKEND=Agg
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
$PY -c "import torch, diffusers, transformers, peft, accelerate; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'diffusers', diffusers.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'accelerate', accelerate.__version__)" | tee -a "$OUT/gpu.txt"

CHECKS=${CHECKS:-1 2 3}
if [[ " $CHECKS " == *" 1 "* ]]; then
echo "== 1. Stage 2 speed"
timeout 120 $PY bench/bench_migrate_speed.py --batches 1,8,32,64 --steps 10 --threads 8 --out "$OUT/migrate_speed_gpu.json" 2>&1 | grep -v Loading | tail -8

fi
if [[ " $CHECKS " == *" 2 "* ]]; then
echo "== 2. reproduce --preset tiny on the GPU"
rm -rf /tmp/rt_gpu; t0=$(date +%s)
timeout 200 sar-xsensor reproduce --preset tiny --out /tmp/rt_gpu --quiet > "$OUT/reproduce_tiny_gpu.log" 2>&1; rc=$?
echo "reproduce rc=$rc in $(( $(date +%s) - t0 )) s"; tail -5 "$OUT/reproduce_tiny_gpu.log"
cp /tmp/rt_gpu/records/run.json "$OUT/reproduce_tiny_gpu_run.json" 2>/dev/null
for t in 2 3 4; do cat /tmp/rt_gpu/tables/table$t.csv 2>/dev/null; done > "$OUT/reproduce_tiny_gpu_tables.csv"

fi
if [[ " $CHECKS " == *" 3 "* ]]; then
echo "== 3. unit tests on the GPU"
timeout 240 $PY -m pytest -q -p no:cacheprovider tests/test_stage2.py tests/test_stage1.py tests/test_classify.py tests/test_baselines.py tests/test_cli.py \
  -k "${TESTS:-not shares_the_work}" > "$OUT/pytest_gpu.log" 2>&1; echo "pytest rc=$?"; tail -4 "$OUT/pytest_gpu.log"
fi
if [[ " $CHECKS " == *" 4 "* ]]; then
echo "== 4. Stage 1 adapter sweep"
mkdir -p runs/s1 && ln -sfn "$PWD/runs/bench_stage1/benchmark" runs/s1/benchmark
for v in ${VARIANTS:-bench_te8 bench_te8_6000 bench_te8_lr1e-3 bench_te32 qkv_ffn_te8 qkv_adaln_te8 all_attention_r32_te8 everything_r32_te16_6000}; do
  timeout ${SWEEP_TIMEOUT:-480} $PY bench/stage1_variants.py --work runs/s1 --variants $v --n-per-class 50 --threads 2 \
    --out "$OUT/stage1_$v.json" > "$OUT/stage1_$v.log" 2>&1 &
done
wait; grep -h -v "Loading\|it/s" "$OUT"/stage1_*.log | tail -40
for d in runs/s1/adapter_*; do cp "$d/checkpoint/log.json" "$OUT/lora_log_${d##*adapter_}.json" 2>/dev/null; done   # losses and step times, also of a run cut short
fi
