#!/usr/bin/env bash
# The darts space on one CUDA GPU, in about five minutes: search and training speed (bf16,
# with and without channels-last), then one real epoch of `run` and of `train`, and the
# same `train` command again (it must report the finished run, not rerun it).
#   DATA=../shared/data OUT=/tmp/gpu_check PYTHON=python scripts/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
DATA=${DATA:-../shared/data}
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
$PY -c "import torch; print(torch.__version__, torch.cuda.get_device_name())" | tee "$OUT/device.txt"
{
  $PY scripts/speed.py search --device cuda --data-dir "$DATA" --warmup 3 --steps 10
  $PY scripts/speed.py search --device cuda --data-dir "$DATA" --warmup 3 --steps 10 --channels-last
  $PY scripts/speed.py train --device cuda --data-dir "$DATA" --warmup 5 --steps 20
  $PY scripts/speed.py train --device cuda --data-dir "$DATA" --warmup 5 --steps 20 --channels-last
} | tee "$OUT/speed.jsonl"
$PY -m nasbench_suite run --method pr_darts --space darts --epochs 1 --device cuda --data-dir "$DATA" --out "$OUT/runs" 2>&1 | tail -4
TRAIN=(train --space darts --genotype pr_darts --epochs 1 --device cuda --data-dir "$DATA" --out "$OUT/train")
$PY -m nasbench_suite "${TRAIN[@]}" 2>&1 | tail -3
$PY -m nasbench_suite "${TRAIN[@]}" 2>&1 | tail -1
